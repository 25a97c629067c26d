//! apt with a private state directory: its own sources, lists and cache under
//! one directory, signed by Debian's archive keyring, on the mirror the host
//! already uses. The system's apt configuration is never touched. Used by the
//! kernel source ([`crate::build::kernel_source`]) and the guest's Debian tools
//! ([`crate::build::debian_tools`]).

use std::cmp::Ordering;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::steps::{output_of, run_logged};

/// Debian's archive keyring (package `debian-archive-keyring`).
pub const KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";
const DEFAULT_MIRROR: &str = "http://deb.debian.org/debian";
/// The system's apt sources (read, never written).
const SYSTEM_SOURCE_LIST: &str = "/etc/apt/sources.list";
const SYSTEM_SOURCE_PARTS: &str = "/etc/apt/sources.list.d";

/// A private apt state directory for some suites of the host's mirror.
#[derive(Debug, Clone)]
pub struct PrivateApt {
    dir: PathBuf,
    /// `Dir::Etc::SourceParts`: `<dir>/parts` (empty), or the system's `sources.list.d`.
    parts: PathBuf,
    /// `mirror suite`, for messages.
    describes: String,
}

impl PrivateApt {
    /// Sets up `dir` for `suites` (e.g. `["trixie-backports"]`) of the host's mirror, main
    /// component. Nothing is downloaded: lists already there from an earlier run are used
    /// until [`PrivateApt::update`] refreshes them, so a run with a full cache needs no network.
    pub fn open(dir: &Path, suites: &[&str]) -> Result<PrivateApt> {
        for sub in ["lists/partial", "parts", "cache/archives/partial"] {
            std::fs::create_dir_all(dir.join(sub))
                .with_context(|| format!("cannot create {}", dir.join(sub).display()))?;
        }
        let mirror = system_debian_mirror();
        let sources: String = suites
            .iter()
            .map(|suite| format!("deb [signed-by={KEYRING}] {mirror} {suite} main\n"))
            .collect();
        // Rewritten only when it changes, so the lists stay valid for the same sources.
        let path = dir.join("sources.list");
        if std::fs::read_to_string(&path).ok().as_deref() != Some(sources.as_str()) {
            std::fs::write(&path, &sources)?;
            // Lists of other sources would answer for these.
            for entry in std::fs::read_dir(dir.join("lists"))? {
                let entry = entry?;
                if entry.file_type()?.is_file() {
                    std::fs::remove_file(entry.path())?;
                }
            }
        }
        Ok(PrivateApt {
            dir: dir.to_path_buf(),
            parts: dir.join("parts"),
            describes: format!("{mirror} {}", suites.join(" ")),
        })
    }

    /// Sets up `dir` for the machine's own sources (read where they are, never changed) plus
    /// `suites` of its mirror: what apt would see if those lines were added to the system's
    /// sources, with the lists and downloaded archives under `dir`. Call
    /// [`PrivateApt::update`] before asking it anything.
    pub fn beside_system(dir: &Path, suites: &[&str]) -> Result<PrivateApt> {
        for sub in ["lists/partial", "cache/archives/partial"] {
            std::fs::create_dir_all(dir.join(sub))
                .with_context(|| format!("cannot create {}", dir.join(sub).display()))?;
        }
        let mirror = system_debian_mirror();
        let mut sources = std::fs::read_to_string(SYSTEM_SOURCE_LIST).unwrap_or_default();
        if !sources.is_empty() && !sources.ends_with('\n') {
            sources.push('\n');
        }
        for suite in suites {
            sources.push_str(&format!(
                "deb [signed-by={KEYRING}] {mirror} {suite} main\n"
            ));
        }
        let path = dir.join("sources.list");
        if std::fs::read_to_string(&path).ok().as_deref() != Some(sources.as_str()) {
            std::fs::write(&path, &sources)?;
        }
        Ok(PrivateApt {
            dir: dir.to_path_buf(),
            parts: PathBuf::from(SYSTEM_SOURCE_PARTS),
            describes: format!("{mirror} {}", suites.join(" ")),
        })
    }

    /// Its sources, for messages.
    pub fn describes(&self) -> &str {
        &self.describes
    }

    /// Whether an earlier [`PrivateApt::update`] left package lists here.
    pub fn has_lists(&self) -> bool {
        std::fs::read_dir(self.dir.join("lists")).is_ok_and(|entries| {
            entries
                .filter_map(|e| e.ok())
                .any(|e| e.file_name().to_string_lossy().ends_with("_Packages"))
        })
    }

    /// `apt-get update` into the private lists (needs the network).
    pub fn update(&self) -> Result<()> {
        run_logged(
            &format!(
                "apt-get update ({}, private lists in {})",
                self.describes,
                self.dir.display()
            ),
            self.command("apt-get").arg("update"),
            &self.log(),
            30,
        )
    }

    /// The versions of `package` the lists offer, newest first (dpkg's ordering).
    pub fn versions(&self, package: &str) -> Result<Vec<String>> {
        let out = output_of(self.command("apt-cache").args(["madison", package]))?;
        sort_newest_first(parse_madison(&out))
    }

    /// `Candidate:` of `apt-cache policy`: the version apt would install.
    pub fn candidate(&self, package: &str) -> Option<String> {
        candidate_version(&mut self.command("apt-cache"), package)
    }

    /// Downloads `package=version` into `into` and returns the `.deb`, checked to be that
    /// version.
    pub fn download(&self, package: &str, version: &str, into: &Path) -> Result<PathBuf> {
        download_into(
            &mut self.command("apt-get"),
            package,
            version,
            into,
            &self.log(),
        )
    }

    /// `program` (apt-get, apt-cache) with this directory's state.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        let dir = &self.dir;
        for (key, path) in [
            ("Dir::State::Lists", dir.join("lists")),
            ("Dir::Etc::SourceList", dir.join("sources.list")),
            ("Dir::Etc::SourceParts", self.parts.clone()),
            ("Dir::Cache", dir.join("cache")),
        ] {
            cmd.arg("-o").arg(format!("{key}={}", path.display()));
        }
        cmd
    }

    fn log(&self) -> PathBuf {
        self.dir.join("apt.log")
    }
}

/// `apt-get download package=version` (with the host's apt state, or a private one through
/// `apt_get`) into `into`; returns the `.deb`, checked to be that version.
pub fn download_into(
    apt_get: &mut Command,
    package: &str,
    version: &str,
    into: &Path,
    log: &Path,
) -> Result<PathBuf> {
    std::fs::create_dir_all(into)?;
    // apt-get download writes to the current directory; as root it warns that
    // the `_apt` sandbox user cannot write there, which is harmless.
    run_logged(
        &format!("apt-get download {package}={version}"),
        apt_get
            .args(["download", &format!("{package}={version}")])
            .current_dir(into),
        log,
        20,
    )?;
    let deb = find_deb(into, package, version)?.with_context(|| {
        format!(
            "apt-get download left no {package} {version} .deb in {}",
            into.display()
        )
    })?;
    Ok(deb)
}

/// The `.deb` of `package` at exactly `version` in `dir`, by its control fields (not its name
/// or its modification time).
pub fn find_deb(dir: &Path, package: &str, version: &str) -> Result<Option<PathBuf>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(None);
    };
    for entry in entries {
        let path = entry?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if !(name.starts_with(&format!("{package}_")) && name.ends_with(".deb")) {
            continue;
        }
        if deb_field(&path, "Version").ok().as_deref() == Some(version) {
            return Ok(Some(path));
        }
    }
    Ok(None)
}

/// One control field of a `.deb` (`dpkg-deb -f`).
pub fn deb_field(deb: &Path, field: &str) -> Result<String> {
    Ok(
        output_of(Command::new("dpkg-deb").arg("-f").arg(deb).arg(field))?
            .trim()
            .to_string(),
    )
}

/// `Candidate:` of `apt-cache policy <package>`, if apt knows a version to install.
pub fn candidate_version(apt_cache: &mut Command, package: &str) -> Option<String> {
    let out = output_of(apt_cache.args(["policy", package])).ok()?;
    parse_candidate(&out)
}

/// The `Candidate:` version in `apt-cache policy` output (`(none)` is none).
pub fn parse_candidate(policy: &str) -> Option<String> {
    policy.lines().find_map(|line| {
        let version = line.trim().strip_prefix("Candidate:")?.trim();
        (!version.is_empty() && version != "(none)").then(|| version.to_string())
    })
}

/// The versions in `apt-cache madison` output (`pkg | 7.3.4-1~bpo13+1 | http://... Packages`),
/// each once, in the order given.
pub fn parse_madison(text: &str) -> Vec<String> {
    let mut versions: Vec<String> = Vec::new();
    for line in text.lines() {
        let mut fields = line.split('|').map(str::trim);
        let (Some(_), Some(version), Some(_)) = (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if !version.is_empty() && !versions.iter().any(|v| v == version) {
            versions.push(version.to_string());
        }
    }
    versions
}

/// `a` compared with `b` by dpkg's rules (`dpkg --compare-versions`): `7.3.10` is newer
/// than `7.3.9`, `7.3.4-1~bpo13+1` older than `7.3.4-1`.
pub fn compare_versions(a: &str, b: &str) -> Result<Ordering> {
    let holds = |op: &str| -> Result<bool> {
        Ok(Command::new("dpkg")
            .args(["--compare-versions", a, op, b])
            .status()
            .context("cannot run dpkg --compare-versions")?
            .success())
    };
    Ok(if holds("lt")? {
        Ordering::Less
    } else if holds("gt")? {
        Ordering::Greater
    } else {
        Ordering::Equal
    })
}

/// `versions` sorted newest first by [`compare_versions`].
pub fn sort_newest_first(mut versions: Vec<String>) -> Result<Vec<String>> {
    // Insertion sort: a handful of versions, and the comparison can fail.
    let mut sorted: Vec<String> = Vec::with_capacity(versions.len());
    for version in versions.drain(..) {
        let mut at = sorted.len();
        for (i, other) in sorted.iter().enumerate() {
            if compare_versions(&version, other)? == Ordering::Greater {
                at = i;
                break;
            }
        }
        sorted.insert(at, version);
    }
    Ok(sorted)
}

/// The Debian mirror the system already uses, so proxies and local mirrors keep working.
pub fn system_debian_mirror() -> String {
    let deb822 = std::fs::read_to_string("/etc/apt/sources.list.d/debian.sources").ok();
    let one_line = std::fs::read_to_string("/etc/apt/sources.list").ok();
    deb822
        .as_deref()
        .and_then(mirror_from_deb822)
        .or_else(|| one_line.as_deref().and_then(mirror_from_one_line))
        .unwrap_or_else(|| DEFAULT_MIRROR.to_string())
}

/// First `URIs:` of a deb822 stanza with `Types: deb` that is not the security archive.
pub fn mirror_from_deb822(text: &str) -> Option<String> {
    text.split("\n\n").find_map(|stanza| {
        let field = |name: &str| {
            stanza.lines().find_map(|l| {
                let (key, value) = l.split_once(':')?;
                key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
            })
        };
        let is_deb = field("Types")?.split_whitespace().any(|t| t == "deb");
        let suites = field("Suites").unwrap_or("");
        let uri = field("URIs")?.split_whitespace().next()?;
        (is_deb && !suites.contains("security") && !uri.contains("security"))
            .then(|| uri.trim_end_matches('/').to_string())
    })
}

/// The URI of the first non-security `deb` line of a one-line-style sources.list.
pub fn mirror_from_one_line(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        if words.next()? != "deb" {
            return None;
        }
        let mut uri = words.next()?;
        if uri.starts_with('[') {
            // Skip the `[option=value ...]` block.
            while !uri.ends_with(']') {
                uri = words.next()?;
            }
            uri = words.next()?;
        }
        let suite = words.next().unwrap_or("");
        (!suite.contains("security") && !uri.contains("security"))
            .then(|| uri.trim_end_matches('/').to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_mirror_in_deb822_sources() {
        let text = "Types: deb\n# comment\nURIs: http://mirror.example/debian-security\n\
                    Suites: bookworm-security\n\n\
                    Types: deb deb-src\nURIs: http://mirror.example/debian/\nSuites: bookworm\n";
        assert_eq!(
            mirror_from_deb822(text).as_deref(),
            Some("http://mirror.example/debian")
        );
    }

    #[test]
    fn finds_mirror_in_one_line_sources() {
        let text = "# deb http://old/ x main\n\
                    deb http://security.debian.org/debian-security bookworm-security main\n\
                    deb [arch=amd64 signed-by=/k.gpg] http://ftp.example/debian bookworm main\n";
        assert_eq!(
            mirror_from_one_line(text).as_deref(),
            Some("http://ftp.example/debian")
        );
        assert_eq!(
            mirror_from_one_line("deb-src http://x/debian bookworm main"),
            None
        );
    }

    #[test]
    fn parses_apt_cache_policy_candidate() {
        let policy = "fbset:\n  Installed: (none)\n  Candidate: 2.1-33\n  Version table:\n     \
                      2.1-33 500\n        500 http://deb.debian.org/debian bookworm/main amd64 Packages\n";
        assert_eq!(parse_candidate(policy).as_deref(), Some("2.1-33"));
        assert_eq!(
            parse_candidate("x:\n  Installed: (none)\n  Candidate: (none)\n"),
            None
        );
        assert_eq!(parse_candidate(""), None);
    }

    #[test]
    fn parses_madison_versions_once_each() {
        let text = "linux-source-7.3 | 7.3.9-1~bpo13+1 | http://m/debian trixie-backports/main all Packages\n\
                    linux-source-7.3 | 7.3.10-1~bpo13+1 | http://m/debian trixie-backports/main all Packages\n\
                    linux-source-7.3 | 7.3.9-1~bpo13+1 | http://m/debian trixie-backports/main Sources\n";
        assert_eq!(parse_madison(text), ["7.3.9-1~bpo13+1", "7.3.10-1~bpo13+1"]);
        assert!(parse_madison("N: Unable to locate package x\n").is_empty());
    }

    #[test]
    fn versions_sort_by_dpkg_rules_not_as_text() {
        let sorted = sort_newest_first(vec![
            "7.3.9-1~bpo13+1".into(),
            "7.3.10-1~bpo13+1".into(),
            "7.3.10-1".into(),
            "7.3.4-2".into(),
        ])
        .unwrap();
        // As text, 7.3.9 would sort above 7.3.10; `~` sorts before everything.
        assert_eq!(
            sorted,
            ["7.3.10-1", "7.3.10-1~bpo13+1", "7.3.9-1~bpo13+1", "7.3.4-2"]
        );
        assert_eq!(compare_versions("1.0", "1.0").unwrap(), Ordering::Equal);
    }
}
