//! Real userland tools from Debian packages for the guest: `fbset` and friends,
//! to test the drivers' fbdev ABI, and libdrm's `modetest` and the `kmscon` terminal for their
//! DRM/KMS ABI, with the programs people actually use.
//!
//! For each package in [`TOOLS`], the harness asks apt which version the host's
//! release offers, downloads that `.deb` once into `<cache>/debs/` (keyed by
//! version), unpacks it with `dpkg-deb -x`, and hands the chosen files to the
//! initramfs. Dynamically linked programs bring the shared libraries `ldd`
//! resolves for them on the host, and the dynamic loader, at the same paths.
//! That is only sound if the package was built for the host's Debian release,
//! so the packages come from the host's own apt lists (or, if those lack
//! them, from a private apt state directory for the host's release; the
//! system's sources are never touched), and the package's `libc6` dependency
//! is checked against the host's libc.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::build::apt::{self, PrivateApt};
use crate::cache::{self, CacheLock};
use crate::paths::path_safe;
use crate::steps::{output_of, run_logged};

/// A Debian package and the files the guest needs from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DebianTool {
    /// Binary package name, e.g. `fbset`.
    pub package: &'static str,
    /// Paths inside the package (as `dpkg-deb -c` lists them, without `./`).
    /// ELF programs bring their shared libraries; programs outside `bin/` also
    /// get a `/bin/<name>` symlink, the guest's only `PATH` entry.
    pub files: &'static [&'static str],
}

/// What goes into every guest.
pub const TOOLS: &[DebianTool] = &[
    DebianTool {
        package: "fbset",
        // fb.modes is fbset's mode database: `fbset 800x600-60` looks modes up there.
        files: &["bin/fbset", "etc/fb.modes"],
    },
    DebianTool {
        package: "fbcat",
        // fbcat dumps a framebuffer device as a PPM image (the face's `/dev/fb0`, tests/e2e/kms.rs).
        files: &["usr/bin/fbcat"],
    },
    DebianTool {
        package: "libdrm-tests",
        // modetest, libdrm's KMS test client: lists connectors, CRTCs and planes, sets a mode
        // with a test pattern in a dumb buffer, and page-flips (tests/e2e/drm_clients.rs). It
        // loads libdrm.so.2, which ldd finds on the host: libdrm2 comes with QEMU (through
        // libgbm1), and libdrm-tests wants exactly the libdrm2 of its own source version.
        files: &["usr/bin/modetest"],
    },
    // kmscon, a terminal drawn with DRM dumb buffers (tests/e2e/drm_clients.rs), and the
    // libraries it links that QEMU's dependencies do not already put on the host (it links
    // EGL and GLES but uses neither without --hwaccel). A library is listed by its soname and
    // found there by the programs of later packages.
    DebianTool {
        package: "libglvnd0",
        files: &["usr/lib/x86_64-linux-gnu/libGLdispatch.so.0"],
    },
    DebianTool {
        package: "libegl1",
        files: &["usr/lib/x86_64-linux-gnu/libEGL.so.1"],
    },
    DebianTool {
        package: "libgles2",
        files: &["usr/lib/x86_64-linux-gnu/libGLESv2.so.2"],
    },
    DebianTool {
        package: "libxkbcommon0",
        files: &["usr/lib/x86_64-linux-gnu/libxkbcommon.so.0"],
    },
    DebianTool {
        package: "libtsm4",
        files: &["usr/lib/x86_64-linux-gnu/libtsm.so.4"],
    },
    DebianTool {
        package: "kmscon",
        // The program, its bitmap font (GNU Unifont, built in) and its plain renderer; both
        // modules are loaded from this directory by name.
        files: &[
            "usr/libexec/kmscon/kmscon",
            "usr/lib/x86_64-linux-gnu/kmscon/mod-unifont.so",
            "usr/lib/x86_64-linux-gnu/kmscon/mod-bbulk.so",
        ],
    },
    // Weston, the reference Wayland compositor, on its DRM backend with the pixman renderer,
    // and its `weston-simple-shm` client (tests/e2e/drm_clients.rs), with the libraries the
    // compositor links that the host lacks: libinput and what it loads, and libva for the DRM
    // backend. No input device is used (`require-input=false`).
    DebianTool {
        package: "libgudev-1.0-0",
        files: &["usr/lib/x86_64-linux-gnu/libgudev-1.0.so.0"],
    },
    DebianTool {
        package: "libwacom9",
        files: &["usr/lib/x86_64-linux-gnu/libwacom.so.9"],
    },
    DebianTool {
        package: "libmtdev1",
        files: &["usr/lib/x86_64-linux-gnu/libmtdev.so.1"],
    },
    DebianTool {
        package: "libevdev2",
        files: &["usr/lib/x86_64-linux-gnu/libevdev.so.2"],
    },
    DebianTool {
        package: "libinput10",
        files: &["usr/lib/x86_64-linux-gnu/libinput.so.10"],
    },
    DebianTool {
        package: "libva2",
        files: &["usr/lib/x86_64-linux-gnu/libva.so.2"],
    },
    DebianTool {
        package: "libva-drm2",
        files: &["usr/lib/x86_64-linux-gnu/libva-drm.so.2"],
    },
    DebianTool {
        package: "libweston-10-0",
        // libweston, and the DRM backend it loads by name from its module directory (the
        // pixman renderer is built into libweston).
        files: &[
            "usr/lib/x86_64-linux-gnu/libweston-10.so.0",
            "usr/lib/x86_64-linux-gnu/libweston-desktop-10.so.0",
            "usr/lib/x86_64-linux-gnu/libweston-10/drm-backend.so",
        ],
    },
    DebianTool {
        package: "weston",
        // The compositor (its code is in libexec_weston.so.0, found through its RUNPATH, the
        // weston/ directory), fullscreen-shell, which shows one client centred on black and,
        // unlike kiosk-shell, maps it with no input seat, and the client.
        files: &[
            "usr/bin/weston",
            "usr/lib/x86_64-linux-gnu/weston/fullscreen-shell.so",
            "usr/bin/weston-simple-shm",
        ],
    },
];

/// One entry of the guest's root filesystem; paths have no leading `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuestEntry {
    /// A regular file copied from `host` (symlinks on the host are followed).
    File {
        path: String,
        host: PathBuf,
        mode: u32,
    },
    Symlink {
        path: String,
        target: String,
    },
}

impl GuestEntry {
    pub fn path(&self) -> &str {
        match self {
            GuestEntry::File { path, .. } | GuestEntry::Symlink { path, .. } => path,
        }
    }
}

/// The unpacked packages and the guest entries taken from them.
#[derive(Debug, Clone, Default)]
pub struct PreparedTools {
    /// `(package, version)`, in [`TOOLS`] order.
    pub packages: Vec<(String, String)>,
    pub entries: Vec<GuestEntry>,
}

/// Downloads (once), unpacks and resolves `tools`; see the module documentation.
pub fn prepare(cache: &Path, tools: &[DebianTool]) -> Result<PreparedTools> {
    let release = host_release();
    eprintln!("==> Debian tools for the guest (host: Debian {release})");
    let debs = cache.join("debs");
    std::fs::create_dir_all(&debs)?;
    let _lock = CacheLock::acquire(debs.join("debs.lock"))?;
    let host_libc = output_of(Command::new("dpkg-query").args(["-W", "-f=${Version}", "libc6"]))
        .context("cannot ask dpkg for the host's libc6 version")?;

    let mut prepared = PreparedTools::default();
    let mut private_apt: Option<PrivateApt> = None;
    // Every package unpacked so far: a program may load a library from an earlier package of
    // TOOLS (kmscon loads libtsm.so.4 from libtsm4).
    let mut roots: Vec<PathBuf> = Vec::new();
    for tool in tools {
        let mut version = apt::candidate_version(&mut Command::new("apt-cache"), tool.package);
        if version.is_none() {
            // The host's lists lack it: private lists for the host's own release, fetched
            // once (a run with the cache filled needs no network).
            if private_apt.is_none() {
                private_apt = Some(host_release_apt(&debs.join("apt"))?);
            }
            version = private_apt.as_ref().unwrap().candidate(tool.package);
        }
        let Some(version) = version else {
            bail!(
                "no Debian package {} for this host's release ({release}) in the host's apt \
                 lists or in {}; check the name in TOOLS (qemu-bochs/src/build/debian_tools.rs)",
                tool.package,
                debs.join("apt").display()
            );
        };
        let root = unpacked(&debs, tool.package, &version, private_apt.as_ref())?;
        let depends = std::fs::read_to_string(root.with_file_name("depends"))
            .context("the unpacked package lacks its Depends field")?;
        if let Some(needed) = libc_requirement(&depends) {
            let ok = Command::new("dpkg")
                .args(["--compare-versions", host_libc.trim(), "ge", &needed])
                .status()
                .context("cannot run dpkg --compare-versions")?
                .success();
            if !ok {
                bail!(
                    "{} {version} needs libc6 >= {needed}, the host has {}: the guest gets the \
                     host's libraries, so the package must come from the host's release",
                    tool.package,
                    host_libc.trim()
                );
            }
        }
        eprintln!(
            "    {} {version}: {} (libc6 {})",
            tool.package,
            tool.files.join(", "),
            host_libc.trim()
        );
        roots.insert(0, root);
        for file in tool.files {
            add_file(&roots, file, tool.package, &mut prepared.entries)?;
        }
        prepared
            .packages
            .push((tool.package.to_string(), version.clone()));
    }
    Ok(prepared)
}

/// `<debs>/<package>_<version>/root`, downloading and unpacking it unless a stamp says it is done.
fn unpacked(
    debs: &Path,
    package: &str,
    version: &str,
    private_apt: Option<&PrivateApt>,
) -> Result<PathBuf> {
    let dir = debs.join(format!("{package}_{}", path_safe(version)));
    let root = dir.join("root");
    let stamp = dir.join("done");
    cache::fill_once(&dir, &stamp, &format!("    {package} {version}"), || {
        let log = dir.join("download.log");
        let mut apt_get = match private_apt {
            Some(apt) => apt.command("apt-get"),
            None => Command::new("apt-get"),
        };
        let deb = apt::download_into(&mut apt_get, package, version, &dir, &log)?;
        std::fs::write(dir.join("depends"), apt::deb_field(&deb, "Depends")?)?;
        run_logged(
            &format!("dpkg-deb -x {}", deb.file_name().unwrap().to_string_lossy()),
            Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root),
            &log,
            20,
        )?;
        Ok(format!("{package} {version}\n"))
    })?;
    Ok(root)
}

/// Adds `file` of the unpacked package at `roots[0]`, and for an ELF program (or library) its
/// libraries and, for a program outside `bin/`, a `/bin` symlink, to `entries` (each guest path
/// once). Libraries are looked for in every package of `roots`, then on the host.
fn add_file(
    roots: &[PathBuf],
    file: &str,
    package: &str,
    entries: &mut Vec<GuestEntry>,
) -> Result<()> {
    let root = &roots[0];
    let file = file.trim_start_matches("./").trim_start_matches('/');
    let host = root.join(file);
    let bytes = std::fs::read(&host).with_context(|| {
        format!(
            "{package} has no {file} (at {}): see `dpkg-deb -c` of its .deb",
            host.display()
        )
    })?;
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&host)?.permissions());
    push(
        entries,
        GuestEntry::File {
            path: file.to_string(),
            host: host.clone(),
            mode: mode & 0o7777,
        },
    );
    if !bytes.starts_with(b"\x7fELF") {
        return Ok(());
    }
    let library = file.rsplit('/').next().unwrap().contains(".so");
    if !file.starts_with("bin/") && !library {
        let name = file.rsplit('/').next().unwrap();
        push(
            entries,
            GuestEntry::Symlink {
                path: format!("bin/{name}"),
                target: format!("/{file}"),
            },
        );
    }
    for library in shared_libraries(roots, &host)? {
        let path = guest_path_of_library(roots, &library);
        push(
            entries,
            GuestEntry::File {
                path,
                host: library,
                mode: 0o755,
            },
        );
    }
    Ok(())
}

fn push(entries: &mut Vec<GuestEntry>, entry: GuestEntry) {
    if !entries.iter().any(|e| e.path() == entry.path()) {
        entries.push(entry);
    }
}

/// Host paths of the libraries (and the dynamic loader) that `program` loads,
/// resolved by the host's `ldd`, with the packages' own library directories searched first.
fn shared_libraries(roots: &[PathBuf], program: &Path) -> Result<Vec<PathBuf>> {
    let package_dirs: Vec<PathBuf> = roots
        .iter()
        .flat_map(|root| {
            [
                "lib/x86_64-linux-gnu",
                "usr/lib/x86_64-linux-gnu",
                // Weston's programs find their private library here through an absolute
                // RUNPATH, which ldd would look up on the host.
                "usr/lib/x86_64-linux-gnu/weston",
                "lib",
                "usr/lib",
            ]
            .map(|d| root.join(d))
        })
        .filter(|d| d.is_dir())
        .collect();
    let out = Command::new("ldd")
        .arg(program)
        .env("LD_LIBRARY_PATH", std::env::join_paths(&package_dirs)?)
        .output()
        .context("cannot run ldd (Debian package libc-bin)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        // A static program: nothing to bring along.
        if text.contains("not a dynamic executable")
            || String::from_utf8_lossy(&out.stderr).contains("not a dynamic executable")
        {
            return Ok(Vec::new());
        }
        bail!(
            "ldd {} failed: {}",
            program.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let parsed = parse_ldd(&text);
    if let Some(missing) = parsed.iter().find_map(|l| match l {
        LddLine::NotFound(name) => Some(name),
        _ => None,
    }) {
        bail!(
            "{} needs {missing}, which is not installed on the host: install the Debian \
             package that ships it, or add that package to TOOLS",
            program.display()
        );
    }
    Ok(parsed
        .into_iter()
        .filter_map(|l| match l {
            LddLine::Library(path) => Some(path),
            _ => None,
        })
        .collect())
}

/// Where a library found at `host` goes in the guest: its package path if it
/// came from one of the packages at `roots`, else the same path as on the host.
fn guest_path_of_library(roots: &[PathBuf], host: &Path) -> String {
    let relative = roots
        .iter()
        .find_map(|root| host.strip_prefix(root).ok())
        .unwrap_or(host);
    relative
        .to_string_lossy()
        .trim_start_matches('/')
        .to_string()
}

/// One line of `ldd` output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LddLine {
    /// A file to copy: `libc.so.6 => /lib/.../libc.so.6 (0x..)` or the loader `/lib64/ld-linux-x86-64.so.2 (0x..)`.
    Library(PathBuf),
    /// `libfoo.so.1 => not found`.
    NotFound(String),
}

/// Parses `ldd` output; the kernel's vDSO (no file) is left out.
pub fn parse_ldd(text: &str) -> Vec<LddLine> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            if let Some((name, target)) = line.split_once("=>") {
                let target = target.trim();
                if target.starts_with("not found") {
                    return Some(LddLine::NotFound(name.trim().to_string()));
                }
                let path = target.split_whitespace().next()?;
                return path
                    .starts_with('/')
                    .then(|| LddLine::Library(PathBuf::from(path)));
            }
            // The loader: an absolute path with no `=>`.
            let path = line.split_whitespace().next()?;
            path.starts_with('/')
                .then(|| LddLine::Library(PathBuf::from(path)))
        })
        .collect()
}

/// The version in a `libc6 (>= X)` clause of a `Depends:` field.
pub fn libc_requirement(depends: &str) -> Option<String> {
    depends
        .split(',')
        .flat_map(|clause| clause.split('|'))
        .find_map(|alt| {
            let alt = alt.trim();
            let rest = alt.strip_prefix("libc6")?.trim_start();
            let rest = rest.strip_prefix('(')?.trim_start();
            let rest = rest.strip_prefix(">=")?;
            Some(rest.trim_end_matches(')').trim().to_string())
        })
}

/// `/etc/debian_version` and the codename from `/etc/os-release`, for messages.
fn host_release() -> String {
    let version = std::fs::read_to_string("/etc/debian_version").unwrap_or_default();
    let codename = host_codename().unwrap_or_else(|| "unknown".into());
    format!("{} {codename}", version.trim())
}

/// `VERSION_CODENAME` of the host (`bookworm`).
pub fn host_codename() -> Option<String> {
    let text = std::fs::read_to_string("/etc/os-release").ok()?;
    os_release_codename(&text)
}

/// `VERSION_CODENAME` of an os-release file.
pub fn os_release_codename(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let value = line.trim().strip_prefix("VERSION_CODENAME=")?;
        let value = value.trim_matches('"').trim();
        (!value.is_empty()).then(|| value.to_string())
    })
}

/// Private apt lists for the host's own release (and its `-updates`), updated only when
/// there are none yet.
fn host_release_apt(dir: &Path) -> Result<PrivateApt> {
    let codename = host_codename().context(
        "cannot tell the host's Debian release (no VERSION_CODENAME in /etc/os-release)",
    )?;
    let apt = PrivateApt::open(dir, &[&codename, &format!("{codename}-updates")])?;
    if !apt.has_lists() {
        apt.update()?;
    }
    Ok(apt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ldd_output() {
        let text = "\tlinux-vdso.so.1 (0x00007ffd1a9e4000)\n\
                    \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f0c8a000000)\n\
                    \tlibfoo.so.2 => not found\n\
                    \t/lib64/ld-linux-x86-64.so.2 (0x00007f0c8a3f0000)\n";
        assert_eq!(
            parse_ldd(text),
            [
                LddLine::Library("/lib/x86_64-linux-gnu/libc.so.6".into()),
                LddLine::NotFound("libfoo.so.2".into()),
                LddLine::Library("/lib64/ld-linux-x86-64.so.2".into()),
            ]
        );
        assert!(parse_ldd("\tstatically linked\n").is_empty());
    }

    #[test]
    fn finds_the_libc_requirement() {
        assert_eq!(
            libc_requirement("libc6 (>= 2.34), udev | makedev (>= 2.3.1-24)").as_deref(),
            Some("2.34")
        );
        assert_eq!(
            libc_requirement("libc6-dev, zlib1g | libc6 (>= 2.36)").as_deref(),
            Some("2.36")
        );
        assert_eq!(libc_requirement("libc6-dev (>= 2.1)"), None);
        assert_eq!(libc_requirement(""), None);
    }

    #[test]
    fn reads_codename_from_os_release() {
        let text = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nVERSION_CODENAME=bookworm\n";
        assert_eq!(os_release_codename(text).as_deref(), Some("bookworm"));
        assert_eq!(
            os_release_codename("VERSION_CODENAME=\"trixie\"\n").as_deref(),
            Some("trixie")
        );
        assert_eq!(os_release_codename("ID=debian\n"), None);
    }

    #[test]
    fn library_paths_map_into_the_guest() {
        let roots = [
            PathBuf::from("/cache/debs/x_1/root"),
            PathBuf::from("/cache/debs/y_2/root"),
        ];
        assert_eq!(
            guest_path_of_library(
                &roots,
                Path::new("/cache/debs/x_1/root/usr/lib/x86_64-linux-gnu/libx.so.1")
            ),
            "usr/lib/x86_64-linux-gnu/libx.so.1"
        );
        assert_eq!(
            guest_path_of_library(
                &roots,
                Path::new("/cache/debs/y_2/root/usr/lib/x86_64-linux-gnu/liby.so.2")
            ),
            "usr/lib/x86_64-linux-gnu/liby.so.2"
        );
        assert_eq!(
            guest_path_of_library(&roots, Path::new("/lib64/ld-linux-x86-64.so.2")),
            "lib64/ld-linux-x86-64.so.2"
        );
    }

    /// A host program, for tests that need a dynamic ELF file.
    fn host_program() -> Option<&'static Path> {
        ["/usr/bin/true", "/bin/true"]
            .iter()
            .map(Path::new)
            .find(|p| p.exists())
    }

    #[test]
    fn libraries_come_from_earlier_packages_and_need_no_bin_link() {
        let Some(program) = host_program() else {
            return;
        };
        let Some(libc) = shared_libraries(&[], program)
            .unwrap()
            .into_iter()
            .find(|l| l.ends_with("libc.so.6"))
        else {
            return;
        };
        let base = std::env::temp_dir().join(format!("qemu-bochs-debtools-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        // An earlier package ships the library, a later one the program and a module.
        let (lib_root, prog_root) = (base.join("lib/root"), base.join("prog/root"));
        std::fs::create_dir_all(lib_root.join("usr/lib/x86_64-linux-gnu")).unwrap();
        std::fs::create_dir_all(prog_root.join("usr/libexec/prog")).unwrap();
        std::fs::copy(&libc, lib_root.join("usr/lib/x86_64-linux-gnu/libc.so.6")).unwrap();
        std::fs::copy(program, prog_root.join("usr/libexec/prog/prog")).unwrap();
        std::fs::copy(&libc, prog_root.join("usr/libexec/prog/mod-x.so")).unwrap();
        let roots = [prog_root.clone(), lib_root.clone()];
        let mut entries = Vec::new();
        add_file(&roots, "usr/libexec/prog/prog", "prog", &mut entries).unwrap();
        add_file(&roots, "usr/libexec/prog/mod-x.so", "prog", &mut entries).unwrap();
        let libc_entry = entries
            .iter()
            .find(|e| e.path().ends_with("libc.so.6"))
            .expect("libc");
        assert_eq!(
            libc_entry,
            &GuestEntry::File {
                path: "usr/lib/x86_64-linux-gnu/libc.so.6".into(),
                host: lib_root.join("usr/lib/x86_64-linux-gnu/libc.so.6"),
                mode: 0o755,
            }
        );
        let links: Vec<&str> = entries
            .iter()
            .filter(|e| matches!(e, GuestEntry::Symlink { .. }))
            .map(GuestEntry::path)
            .collect();
        assert_eq!(links, ["bin/prog"]);
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn programs_bring_libraries_and_get_a_bin_link() {
        // A fake package holding a copy of a dynamic host program, outside bin/.
        let Some(program) = host_program() else {
            return;
        };
        let root = std::env::temp_dir().join(format!("qemu-bochs-debtool-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("usr/sbin")).unwrap();
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::copy(program, root.join("usr/sbin/tool")).unwrap();
        std::fs::write(root.join("etc/tool.conf"), "x\n").unwrap();
        let mut entries = Vec::new();
        let roots = [root.clone()];
        add_file(&roots, "etc/tool.conf", "tool", &mut entries).unwrap();
        add_file(&roots, "./usr/sbin/tool", "tool", &mut entries).unwrap();
        let paths: Vec<&str> = entries.iter().map(GuestEntry::path).collect();
        assert_eq!(paths[..3], ["etc/tool.conf", "usr/sbin/tool", "bin/tool"]);
        assert!(
            paths.iter().any(|p| p.ends_with("/libc.so.6")),
            "no libc in {paths:?}"
        );
        assert!(
            paths.iter().any(|p| p.contains("ld-linux")),
            "no loader in {paths:?}"
        );
        assert!(add_file(&roots, "bin/missing", "tool", &mut entries).is_err());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
