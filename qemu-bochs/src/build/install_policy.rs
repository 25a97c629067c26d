//! Installs missing Debian packages without taking anything away from the machine.
//!
//! Two rules, in this order:
//!
//! 1. **The suite follows what is installed.** A missing package built from the same source
//!    as packages the machine already has (say `qemu-system-x86` beside `qemu-utils`) is
//!    installed at their version when that is newer than what the machine's apt would pick:
//!    `qemu-utils` 10.0 from bookworm-backports brings `qemu-system-x86` 10.0 from
//!    bookworm-backports, not 7.2 from bookworm. If the machine's own lists do not offer that
//!    version, a private apt state (the machine's sources plus the release's backports suite,
//!    its lists under the harness cache; [`PrivateApt::beside_system`]) is asked; the
//!    system's sources are never edited.
//! 2. **Nothing is removed or downgraded.** Every `apt-get install` is simulated first
//!    (`apt-get -s`); if apt would remove (`Remv`, `Purg`) or downgrade anything, nothing is
//!    installed and the harness prints the command that would do it and what it would take
//!    away. The real install also runs with `--no-remove` and without `--allow-downgrades`.
//!
//! `BOCHSFB_DPKG_ADMINDIR` points dpkg and apt at another dpkg database (a directory with a
//! `status` file), to try the policy against a made-up machine; docs/testing.md shows how.

use std::cmp::Ordering;
use std::fmt;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::build::apt::{self, PrivateApt};
use crate::cache::{self, CacheLock};

/// Names another dpkg database (a directory holding `status`) for dpkg-query and apt.
pub const ADMINDIR_ENV: &str = "BOCHSFB_DPKG_ADMINDIR";

/// The machine's package state: the real one, or the database `BOCHSFB_DPKG_ADMINDIR` names.
#[derive(Debug, Clone, Default)]
pub struct Host {
    admindir: Option<PathBuf>,
}

impl Host {
    pub fn from_env() -> Host {
        Host {
            admindir: std::env::var_os(ADMINDIR_ENV)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
        }
    }

    /// `dpkg-query` on this state.
    pub fn dpkg_query(&self) -> Command {
        let mut cmd = Command::new("dpkg-query");
        if let Some(dir) = &self.admindir {
            cmd.arg(format!("--admindir={}", dir.display()));
        }
        cmd
    }

    /// `apt-get` or `apt-cache` on this state, with the machine's sources and lists or those
    /// of `private`; messages in English, so they can be parsed.
    pub fn apt(&self, program: &str, private: Option<&PrivateApt>) -> Command {
        let mut cmd = match private {
            Some(private) => private.command(program),
            None => Command::new(program),
        };
        if let Some(dir) = &self.admindir {
            cmd.arg("-o").arg(format!(
                "Dir::State::status={}",
                dir.join("status").display()
            ));
        }
        cmd.env("LC_ALL", "C")
            .env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    }

    /// Whether `package` is installed (`ii`).
    pub fn installed(&self, package: &str) -> bool {
        self.dpkg_query()
            .args(["-W", "-f=${Status}", package])
            .output()
            .is_ok_and(|out| out.status.success() && out.stdout.ends_with(b" installed"))
    }

    /// Every installed package with its version and source package.
    pub fn installed_packages(&self) -> Result<Vec<InstalledPackage>> {
        let out = crate::steps::output_of(
            self.dpkg_query()
                .args(["-W", &format!("-f={DPKG_QUERY_FORMAT}")]),
        )?;
        Ok(parse_installed(&out))
    }
}

/// What [`Host::installed_packages`] asks dpkg-query for.
pub const DPKG_QUERY_FORMAT: &str =
    "${db:Status-Abbrev}|${binary:Package}|${Version}|${source:Package}\\n";

/// One installed package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledPackage {
    /// Without the `:amd64` that dpkg-query adds to `Multi-Arch: same` packages.
    pub name: String,
    pub version: String,
    /// The source package it was built from.
    pub source: String,
}

/// The installed (`ii`) packages in dpkg-query output of [`DPKG_QUERY_FORMAT`].
pub fn parse_installed(text: &str) -> Vec<InstalledPackage> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split('|');
            let (status, name, version, source) = (
                fields.next()?,
                fields.next()?,
                fields.next()?,
                fields.next()?,
            );
            if status.trim() != "ii" || version.is_empty() {
                return None;
            }
            let name = name.split(':').next().unwrap_or(name);
            Some(InstalledPackage {
                name: name.to_string(),
                version: version.to_string(),
                source: if source.is_empty() { name } else { source }.to_string(),
            })
        })
        .collect()
}

/// The source package named by the first stanza of `apt-cache show` (`Source: qemu
/// (1:7.2+dfsg-7+deb12u18)`); a package without a `Source:` field is its own source.
pub fn parse_source(show: &str) -> Option<String> {
    let stanza = show.split("\n\n").next()?;
    let field = |name: &str| {
        stanza
            .lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
    };
    let source = field("Source:").or_else(|| field("Package:"))?;
    source.split_whitespace().next().map(str::to_string)
}

/// A version of a package and the suite that offers it, from `apt-cache madison`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub version: String,
    /// `bookworm-backports`, from `http://deb.debian.org/debian bookworm-backports/main amd64
    /// Packages`.
    pub suite: String,
}

/// Every binary offer in `apt-cache madison` output (source lines left out).
pub fn parse_offers(madison: &str) -> Vec<Offer> {
    madison
        .lines()
        .filter_map(|line| {
            let mut fields = line.split('|').map(str::trim);
            let (_, version, origin) = (fields.next()?, fields.next()?, fields.next()?);
            if !origin.ends_with("Packages") {
                return None;
            }
            let suite = origin.split_whitespace().nth(1)?.split('/').next()?;
            Some(Offer {
                version: version.to_string(),
                suite: suite.to_string(),
            })
        })
        .collect()
}

/// One action of `apt-get -s install` output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimAction {
    /// `Inst name [installed version] (new version release [arch])`.
    Install {
        package: String,
        from: Option<String>,
        to: String,
        /// How apt names the archive, e.g. `Debian Backports:oldstable-backports`.
        release: String,
    },
    /// `Remv name [version]` or `Purg name [version]`.
    Remove {
        package: String,
        version: Option<String>,
    },
}

/// The `Inst`, `Remv` and `Purg` lines of `apt-get -s` output (`Conf` lines repeat `Inst`).
pub fn parse_simulation(text: &str) -> Vec<SimAction> {
    text.lines()
        .filter_map(|line| {
            let (verb, rest) = line.split_once(' ')?;
            let (package, rest) = rest.split_once(' ').unwrap_or((rest, ""));
            let rest = rest.trim();
            let installed = rest
                .strip_prefix('[')
                .and_then(|r| r.split_once(']'))
                .map(|(version, after)| (version.to_string(), after.trim()));
            match verb {
                "Remv" | "Purg" => Some(SimAction::Remove {
                    package: package.to_string(),
                    version: installed.map(|(v, _)| v),
                }),
                "Inst" => {
                    let (from, after) = match installed {
                        Some((v, after)) => (Some(v), after),
                        None => (None, rest),
                    };
                    let inner = after.strip_prefix('(')?;
                    let inner = &inner[..inner.find(')')?];
                    let (to, release) = inner.split_once(' ').unwrap_or((inner, ""));
                    let release = match release.rfind(" [") {
                        Some(at) => &release[..at],
                        None => release,
                    };
                    Some(SimAction::Install {
                        package: package.to_string(),
                        from,
                        to: to.to_string(),
                        release: release.to_string(),
                    })
                }
                _ => None,
            }
        })
        .collect()
}

/// What an install would take away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TakenAway {
    Removed {
        package: String,
        version: Option<String>,
    },
    Downgraded {
        package: String,
        from: String,
        to: String,
    },
}

impl fmt::Display for TakenAway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TakenAway::Removed {
                package,
                version: Some(v),
            } => write!(f, "remove {package} {v}"),
            TakenAway::Removed {
                package,
                version: None,
            } => write!(f, "remove {package}"),
            TakenAway::Downgraded { package, from, to } => {
                write!(f, "downgrade {package} from {from} to {to}")
            }
        }
    }
}

/// The removals and downgrades among `actions`; `compare` orders two versions (dpkg's rules).
pub fn taken_away(
    actions: &[SimAction],
    compare: impl Fn(&str, &str) -> Result<Ordering>,
) -> Result<Vec<TakenAway>> {
    let mut away = Vec::new();
    for action in actions {
        match action {
            SimAction::Remove { package, version } => away.push(TakenAway::Removed {
                package: package.clone(),
                version: version.clone(),
            }),
            SimAction::Install {
                package,
                from: Some(from),
                to,
                ..
            } if compare(to, from)? == Ordering::Less => away.push(TakenAway::Downgraded {
                package: package.clone(),
                from: from.clone(),
                to: to.clone(),
            }),
            SimAction::Install { .. } => {}
        }
    }
    Ok(away)
}

/// Which version of a missing package to install.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// What apt picks (no installed package of the same source is newer).
    Candidate,
    /// The version of `sibling`, installed from the same source and newer than apt's pick.
    Match { version: String, sibling: String },
}

/// [`Choice`] for a package whose apt candidate is `candidate`, given the installed packages
/// of the same source (`siblings`).
pub fn choose(
    candidate: Option<&str>,
    siblings: &[&InstalledPackage],
    compare: impl Fn(&str, &str) -> Result<Ordering>,
) -> Result<Choice> {
    let mut newest: Option<&InstalledPackage> = None;
    for sibling in siblings {
        if newest.is_none_or(|n| compare(&sibling.version, &n.version).is_ok_and(|o| o.is_gt())) {
            newest = Some(sibling);
        }
    }
    let Some(newest) = newest else {
        return Ok(Choice::Candidate);
    };
    // No candidate: apt knows no version (no lists yet); installing fails and the caller
    // updates the lists and plans again.
    let newer = match candidate {
        Some(candidate) => compare(&newest.version, candidate)? == Ordering::Greater,
        None => false,
    };
    Ok(if newer {
        Choice::Match {
            version: newest.version.clone(),
            sibling: newest.name.clone(),
        }
    } else {
        Choice::Candidate
    })
}

/// One `apt-get install` of the plan.
#[derive(Debug)]
pub struct Install {
    /// `name` or `name=version`.
    pub packages: Vec<String>,
    /// `-t <suite>`: the suite the matched versions come from, so their dependencies may too.
    pub target_release: Option<String>,
    /// The private apt state it needs (sources beside the machine's), if any.
    pub private: Option<PrivateApt>,
    /// Why, for the messages (`qemu-system-x86 1:10.0... to match qemu-utils`).
    pub because: Vec<String>,
}

impl Install {
    /// `apt-get [private state] <action> --no-install-recommends [-t suite] packages`.
    fn command(&self, host: &Host, action: &[&str]) -> Command {
        let mut cmd = host.apt("apt-get", self.private.as_ref());
        cmd.args(action).arg("--no-install-recommends");
        if let Some(suite) = &self.target_release {
            cmd.args(["-t", suite]);
        }
        cmd.args(&self.packages);
        cmd
    }

    /// The command as a person would type it (as root).
    pub fn command_line(&self, host: &Host) -> String {
        let cmd = self.command(host, &["install"]);
        std::iter::once(cmd.get_program().to_string_lossy().into_owned())
            .chain(cmd.get_args().map(|a| a.to_string_lossy().into_owned()))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Groups `missing` into installs: first what apt picks from the machine's lists, then one
/// install per suite a matched version comes from.
pub fn plan(host: &Host, missing: &[&str]) -> Result<Vec<Install>> {
    let installed = host.installed_packages()?;
    let mut plain = Install {
        packages: Vec::new(),
        target_release: None,
        private: None,
        because: Vec::new(),
    };
    let mut matched: Vec<Install> = Vec::new();
    let mut beside: Option<PrivateApt> = None;
    for &package in missing {
        let show = crate::steps::output_of(host.apt("apt-cache", None).args([
            "show",
            "--no-all-versions",
            package,
        ]))
        .unwrap_or_default();
        let source = parse_source(&show).unwrap_or_else(|| package.to_string());
        let siblings: Vec<&InstalledPackage> =
            installed.iter().filter(|p| p.source == source).collect();
        let candidate = apt::candidate_version(&mut host.apt("apt-cache", None), package);
        let Choice::Match { version, sibling } =
            choose(candidate.as_deref(), &siblings, apt::compare_versions)?
        else {
            plain.packages.push(package.to_string());
            continue;
        };
        let because = format!("{package} {version}, the version of the installed {sibling}");
        // The machine's own lists first, then its sources beside the release's backports.
        let own = madison(host, None, package)?;
        let (offer, private) = match own.into_iter().find(|o| o.version == version) {
            Some(offer) => (offer, None),
            None => {
                if beside.is_none() {
                    beside = Some(backports_beside_system()?);
                }
                let private = beside.as_ref().unwrap();
                let offers = madison(host, Some(private), package)?;
                let Some(offer) = offers.into_iter().find(|o| o.version == version) else {
                    bail!(
                        "this machine has {sibling} {version}, newer than the {package} {} its apt \
                         offers, and no suite of its sources or {} has {package} {version}. \
                         Installing {package} from another suite could remove {sibling}; install \
                         {package} {version} from where {sibling} came from:\n  \
                         {}apt-get install {package}={version}",
                        candidate.as_deref().unwrap_or("(none)"),
                        private.describes(),
                        sudo(),
                    );
                };
                (offer, Some(private.clone()))
            }
        };
        match matched.iter_mut().find(|i| {
            i.target_release.as_deref() == Some(offer.suite.as_str())
                && i.private.is_some() == private.is_some()
        }) {
            Some(install) => {
                install.packages.push(format!("{package}={version}"));
                install.because.push(because);
            }
            None => matched.push(Install {
                packages: vec![format!("{package}={version}")],
                target_release: Some(offer.suite),
                private,
                because: vec![because],
            }),
        }
    }
    let mut installs = Vec::new();
    if !plain.packages.is_empty() {
        installs.push(plain);
    }
    installs.extend(matched);
    Ok(installs)
}

fn madison(host: &Host, private: Option<&PrivateApt>, package: &str) -> Result<Vec<Offer>> {
    let out = crate::steps::output_of(host.apt("apt-cache", private).args(["madison", package]))?;
    Ok(parse_offers(&out))
}

/// The machine's sources plus `<codename>-backports`, in `<cache>/apt-host/`, with fresh lists.
fn backports_beside_system() -> Result<PrivateApt> {
    let codename = crate::build::debian_tools::host_codename().context(
        "cannot tell the host's Debian release (no VERSION_CODENAME in /etc/os-release)",
    )?;
    let dir = cache::cache_root()?.join("apt-host");
    std::fs::create_dir_all(&dir)?;
    let _lock = CacheLock::acquire(dir.join("update.lock"))?;
    let private = PrivateApt::beside_system(&dir, &[&format!("{codename}-backports")])?;
    private.update()?;
    Ok(private)
}

/// The error of an install [`check`] refused: apt would remove or downgrade something.
#[derive(Debug)]
pub struct Refused(pub String);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// Simulates each install of `installs`; fails, printing the command that would do it and
/// what it would take away, if one would remove or downgrade anything. Returns the
/// simulations' actions, one list per install.
pub fn check(host: &Host, installs: &[Install]) -> Result<Vec<Vec<SimAction>>> {
    let mut all = Vec::new();
    for install in installs {
        let mut cmd = install.command(host, &["-s", "install"]);
        let out = cmd.output().context("cannot run apt-get -s")?;
        let text = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            bail!(
                "`apt-get -s install {}` fails (no package lists yet? `apt-get update` fetches \
                 them): {}",
                install.packages.join(" "),
                crate::steps::tail_lines(&String::from_utf8_lossy(&out.stderr), 5)
            );
        }
        let actions = parse_simulation(&text);
        let away = taken_away(&actions, apt::compare_versions)?;
        if !away.is_empty() {
            let list: Vec<String> = away.iter().map(|a| a.to_string()).collect();
            eprintln!(
                "prereqs: not installing {}: apt would {} (`apt-get -s` says so).\n\
                 prereqs: this harness never removes or downgrades a package. The command that \
                 would do it, if you accept that:\n  {}{}",
                install.packages.join(" "),
                list.join(", "),
                sudo(),
                install.command_line(host)
            );
            return Err(Refused(format!(
                "installing {} would {}",
                install.packages.join(" "),
                list.join(", ")
            ))
            .into());
        }
        all.push(actions);
    }
    Ok(all)
}

/// Installs `installs`, already [`check`]ed, with `--no-remove`.
pub fn run(host: &Host, installs: &[Install]) -> Result<()> {
    for install in installs {
        for because in &install.because {
            eprintln!("prereqs: installing {because}");
        }
        let line = install.command_line(host);
        eprintln!("prereqs: {line}");
        let status = install
            .command(host, &["install", "-y", "--no-remove"])
            .status()
            .context("cannot run apt-get")?;
        if !status.success() {
            bail!("`{line}` failed ({status})");
        }
    }
    Ok(())
}

/// One line per install: the command, and what it brings.
pub fn describe(host: &Host, installs: &[Install], actions: &[Vec<SimAction>]) -> String {
    let mut text = String::new();
    for (install, actions) in installs.iter().zip(actions) {
        text.push_str(&format!("{}{}\n", sudo(), install.command_line(host)));
        for because in &install.because {
            text.push_str(&format!("  # {because}\n"));
        }
        for action in actions {
            if let SimAction::Install {
                package,
                from,
                to,
                release,
            } = action
            {
                let from = from
                    .as_deref()
                    .map(|f| format!("{f} -> "))
                    .unwrap_or_default();
                text.push_str(&format!("  {package} {from}{to} ({release})\n"));
            }
        }
    }
    text
}

fn sudo() -> &'static str {
    if crate::build::prereqs::is_root() {
        ""
    } else {
        "sudo "
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REMOVES: &str = include_str!("../../testdata/apt/simulate-removes-qemu-utils.txt");
    const BACKPORTS: &str = include_str!("../../testdata/apt/simulate-backports-qemu.txt");
    const DOWNGRADE: &str = include_str!("../../testdata/apt/simulate-downgrade.txt");
    const NOTHING: &str = include_str!("../../testdata/apt/simulate-nothing-to-do.txt");
    const MADISON: &str =
        include_str!("../../testdata/apt/madison-qemu-system-x86-with-backports.txt");
    const DPKG_QUERY: &str = include_str!("../../testdata/apt/dpkg-query-qemu-utils-10.txt");
    const QEMU_10: &str = "1:10.0.2+ds-2+deb13u1~bpo12+1";

    #[test]
    fn bookworms_qemu_beside_backports_qemu_utils_is_a_removal() {
        // `apt-get -s install qemu-system-x86` on bookworm with qemu-utils 10.0 installed:
        // what the first run did for real.
        let actions = parse_simulation(REMOVES);
        assert_eq!(
            actions[0],
            SimAction::Remove {
                package: "qemu-utils".into(),
                version: Some(QEMU_10.into())
            }
        );
        assert_eq!(actions.len(), 4, "{actions:?}");
        let away = taken_away(&actions, apt::compare_versions).unwrap();
        assert_eq!(away.len(), 1);
        assert_eq!(away[0].to_string(), format!("remove qemu-utils {QEMU_10}"));
    }

    #[test]
    fn backports_qemu_beside_backports_qemu_utils_takes_nothing_away() {
        let actions = parse_simulation(BACKPORTS);
        assert_eq!(actions.len(), 4, "{actions:?}");
        assert!(actions.contains(&SimAction::Install {
            package: "seabios".into(),
            from: Some("1.16.2-1".into()),
            to: "1.16.3-2~bpo12+1".into(),
            release: "Debian Backports:oldstable-backports".into(),
        }));
        assert!(actions.contains(&SimAction::Install {
            package: "qemu-system-x86".into(),
            from: None,
            to: QEMU_10.into(),
            release: "Debian Backports:oldstable-backports".into(),
        }));
        // An upgrade (seabios) is not taken away.
        assert!(taken_away(&actions, apt::compare_versions)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn older_versions_over_installed_ones_are_downgrades() {
        let actions = parse_simulation(DOWNGRADE);
        let away = taken_away(&actions, apt::compare_versions).unwrap();
        assert_eq!(away.len(), 3, "{away:?}");
        assert_eq!(
            away[0],
            TakenAway::Downgraded {
                package: "qemu-system-x86".into(),
                from: "1:7.2+dfsg-7+deb12u18+b2".into(),
                to: "1:7.2+dfsg-7+deb12u15".into(),
            }
        );
        assert!(parse_simulation(NOTHING).is_empty());
    }

    #[test]
    fn offers_name_their_suite() {
        let offers = parse_offers(MADISON);
        assert_eq!(
            offers[0],
            Offer {
                version: QEMU_10.into(),
                suite: "bookworm-backports".into()
            }
        );
        assert_eq!(offers[1].suite, "bookworm");
        assert_eq!(offers[2].suite, "bookworm-security");
        assert!(parse_offers("qemu | 1:7.2 | http://m/debian bookworm/main Sources\n").is_empty());
    }

    #[test]
    fn installed_packages_and_their_sources() {
        let installed = parse_installed(DPKG_QUERY);
        assert_eq!(
            installed,
            [
                InstalledPackage {
                    name: "libc6".into(),
                    version: "2.36-9+deb12u14".into(),
                    source: "glibc".into()
                },
                InstalledPackage {
                    name: "qemu-utils".into(),
                    version: QEMU_10.into(),
                    source: "qemu".into()
                },
            ]
        );
        let show = "Package: qemu-system-x86\nSource: qemu (1:7.2+dfsg-7+deb12u18)\n\
                    Version: 1:7.2+dfsg-7+deb12u18+b2\n\nPackage: qemu-system-x86\nSource: other\n";
        assert_eq!(parse_source(show).as_deref(), Some("qemu"));
        assert_eq!(
            parse_source("Package: flex\nVersion: 2.6.4-8.2\n").as_deref(),
            Some("flex")
        );
    }

    #[test]
    fn the_version_follows_a_newer_installed_sibling() {
        let installed = parse_installed(DPKG_QUERY);
        let qemu: Vec<&InstalledPackage> =
            installed.iter().filter(|p| p.source == "qemu").collect();
        let bookworm = "1:7.2+dfsg-7+deb12u18+b2";
        assert_eq!(
            choose(Some(bookworm), &qemu, apt::compare_versions).unwrap(),
            Choice::Match {
                version: QEMU_10.into(),
                sibling: "qemu-utils".into()
            }
        );
        // No sibling, or one no newer than apt's pick: what apt picks.
        assert_eq!(
            choose(Some(bookworm), &[], apt::compare_versions).unwrap(),
            Choice::Candidate
        );
        assert_eq!(
            choose(Some(QEMU_10), &qemu, apt::compare_versions).unwrap(),
            Choice::Candidate
        );
        assert_eq!(
            choose(None, &qemu, apt::compare_versions).unwrap(),
            Choice::Candidate
        );
        let older = InstalledPackage {
            name: "qemu-utils".into(),
            version: "1:7.2+dfsg-7+deb12u15".into(),
            source: "qemu".into(),
        };
        assert_eq!(
            choose(Some(bookworm), &[&older], apt::compare_versions).unwrap(),
            Choice::Candidate
        );
    }
}
