//! Fetches the Debian `linux-source-7.3` package through a private apt state
//! directory (the system's apt sources stay untouched), unpacks it once per
//! version and patch set, and applies the project's kernel patches.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::paths::{path_safe, CacheKey, CacheLock};
use crate::steps::{output_of, run_logged};

/// The Debian package holding the kernel tarball.
pub const PACKAGE: &str = "linux-source-7.3";
/// The suite that carries it (the build machines run bookworm).
pub const SUITE: &str = "trixie-backports";
const DEFAULT_MIRROR: &str = "http://deb.debian.org/debian";
const KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

/// An unpacked, patched kernel tree.
#[derive(Debug, Clone)]
pub struct KernelSource {
    /// Debian package version, e.g. `7.3.4-1~bpo13+1`.
    pub version: String,
    /// The tree (top-level `Makefile` inside).
    pub dir: PathBuf,
    /// Applied patches, in order.
    pub patches: Vec<PathBuf>,
    /// Hash of the patch names and contents.
    pub patch_hash: String,
}

/// Makes sure a patched tree exists under `<cache>/src/`.
///
/// Reuses a `.deb` already in `<cache>/apt/` unless `refresh` asks apt for the newest one.
pub fn prepare(cache: &Path, patch_dir: &Path, refresh: bool) -> Result<KernelSource> {
    let apt_dir = cache.join("apt");
    std::fs::create_dir_all(&apt_dir)?;
    let apt_lock = CacheLock::acquire(apt_dir.join("download.lock"))?;
    let deb = match newest_downloaded_deb(&apt_dir)? {
        Some(deb) if !refresh => deb,
        _ => download(&apt_dir)?,
    };
    drop(apt_lock);
    let version = output_of(
        Command::new("dpkg-deb")
            .args(["-f"])
            .arg(&deb)
            .arg("Version"),
    )?
    .trim()
    .to_string();
    eprintln!("kernel source: {PACKAGE} {version} ({})", deb.display());

    let patches = list_patches(patch_dir)?;
    let patch_hash = hash_patches(&patches)?;
    let src_root = cache.join("src");
    let dir = src_root.join(format!("{}-{patch_hash}", path_safe(&version)));
    let stamp = src_root.join(format!(
        "{}.stamp",
        dir.file_name().unwrap().to_string_lossy()
    ));
    let source = KernelSource {
        version,
        dir: dir.clone(),
        patches,
        patch_hash,
    };
    std::fs::create_dir_all(&src_root)?;
    let _lock = CacheLock::acquire(src_root.join(format!(
        "{}.lock",
        dir.file_name().unwrap().to_string_lossy()
    )))?;
    if stamp.exists() {
        eprintln!("kernel source: cached {}", dir.display());
        return Ok(source);
    }

    // No stamp: whatever is there is a half-done earlier attempt.
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .with_context(|| format!("cannot remove {}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir)?;
    let log = src_root.join(format!(
        "{}.log",
        dir.file_name().unwrap().to_string_lossy()
    ));
    let _ = std::fs::remove_file(&log);
    // The .deb holds usr/src/linux-source-7.3.tar.xz, which holds linux-source-7.3/.
    let script = format!(
        "set -euo pipefail; dpkg-deb --fsys-tarfile \"$1\" \
         | tar -xO --wildcards '*usr/src/{PACKAGE}.tar.xz' \
         | tar -xJ --strip-components=1 -C \"$2\""
    );
    run_logged(
        &format!("extract {PACKAGE} into {}", dir.display()),
        Command::new("bash")
            .args(["-c", &script, "extract"])
            .arg(&deb)
            .arg(&dir),
        &log,
        20,
    )?;
    if !dir.join("Makefile").exists() {
        bail!(
            "{} holds no kernel tree after extraction (see {})",
            dir.display(),
            log.display()
        );
    }
    for patch in &source.patches {
        let name = patch.file_name().unwrap().to_string_lossy();
        run_logged(
            &format!("apply kernel patch {name}"),
            Command::new("patch")
                .args(["-p1", "--forward", "--batch", "-d"])
                .arg(&dir)
                .arg("-i")
                .arg(patch),
            &log,
            40,
        )?;
    }
    std::fs::write(&stamp, format!("{PACKAGE} {}\n", source.version))?;
    Ok(source)
}

/// `kmod/kernel-patches/*.patch` in name order; none if the directory is missing.
pub fn list_patches(patch_dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(patch_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).context(format!("cannot list {}", patch_dir.display())),
    };
    let mut patches = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "patch") && path.is_file() {
            patches.push(path);
        }
    }
    patches.sort();
    Ok(patches)
}

/// Hash of the patch set (names and contents): part of every cache key downstream.
pub fn hash_patches(patches: &[PathBuf]) -> Result<String> {
    let mut key = CacheKey::new();
    for patch in patches {
        let bytes =
            std::fs::read(patch).with_context(|| format!("cannot read {}", patch.display()))?;
        key = key
            .part(
                "name",
                patch.file_name().unwrap().to_string_lossy().as_bytes(),
            )
            .part("contents", bytes);
    }
    Ok(key.finish())
}

fn newest_downloaded_deb(apt_dir: &Path) -> Result<Option<PathBuf>> {
    let Ok(entries) = std::fs::read_dir(apt_dir) else {
        return Ok(None);
    };
    let prefix = format!("{PACKAGE}_");
    let mut newest: Option<(std::time::SystemTime, PathBuf)> = None;
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(&prefix) && name.ends_with(".deb") {
            let modified = entry.metadata()?.modified()?;
            if newest.as_ref().is_none_or(|(t, _)| modified > *t) {
                newest = Some((modified, entry.path()));
            }
        }
    }
    Ok(newest.map(|(_, path)| path))
}

/// `apt-get update` + `apt-get download` with a private state directory.
fn download(apt_dir: &Path) -> Result<PathBuf> {
    for sub in ["lists/partial", "parts", "cache/archives/partial"] {
        std::fs::create_dir_all(apt_dir.join(sub))?;
    }
    let mirror = system_debian_mirror();
    let sources = apt_dir.join("sources.list");
    std::fs::write(
        &sources,
        format!("deb [signed-by={KEYRING}] {mirror} {SUITE} main\n"),
    )?;
    let apt = |program: &str, args: &[&str]| {
        let mut cmd = Command::new(program);
        cmd.arg("-o")
            .arg(format!(
                "Dir::State::Lists={}",
                apt_dir.join("lists").display()
            ))
            .arg("-o")
            .arg(format!("Dir::Etc::SourceList={}", sources.display()))
            .arg("-o")
            .arg(format!(
                "Dir::Etc::SourceParts={}",
                apt_dir.join("parts").display()
            ))
            .arg("-o")
            .arg(format!("Dir::Cache={}", apt_dir.join("cache").display()))
            .args(args)
            .current_dir(apt_dir);
        cmd
    };
    let log = apt_dir.join("apt.log");
    run_logged(
        &format!("apt-get update ({mirror} {SUITE})"),
        &mut apt("apt-get", &["update"]),
        &log,
        30,
    )?;
    let found = output_of(&mut apt("apt-cache", &["show", PACKAGE]));
    if found.is_err() {
        bail!(
            "package {PACKAGE} not found in {mirror} {SUITE}: Debian may have dropped it; \
             see {} and update PACKAGE in qemu-bochs/src/kernel_source.rs",
            log.display()
        );
    }
    // apt-get download writes to the current directory; as root it warns that
    // the `_apt` sandbox user cannot write there, which is harmless.
    run_logged(
        &format!("apt-get download {PACKAGE}"),
        &mut apt("apt-get", &["download", PACKAGE]),
        &log,
        30,
    )?;
    newest_downloaded_deb(apt_dir)?.with_context(|| {
        format!(
            "apt-get download left no {PACKAGE}_*.deb in {}",
            apt_dir.display()
        )
    })
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
    fn patch_hash_depends_on_names_and_contents() {
        let dir = std::env::temp_dir().join(format!("qemu-bochs-patches-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert!(list_patches(&dir).unwrap().is_empty());
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("0002-b.patch"), "b").unwrap();
        std::fs::write(dir.join("0001-a.patch"), "a").unwrap();
        std::fs::write(dir.join("notes.txt"), "not a patch").unwrap();
        let patches = list_patches(&dir).unwrap();
        let names: Vec<_> = patches
            .iter()
            .map(|p| p.file_name().unwrap().to_owned())
            .collect();
        assert_eq!(names, ["0001-a.patch", "0002-b.patch"]);

        let before = hash_patches(&patches).unwrap();
        std::fs::write(dir.join("0002-b.patch"), "b2").unwrap();
        assert_ne!(before, hash_patches(&patches).unwrap());
        assert_ne!(hash_patches(&[]).unwrap(), before);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
