//! Fetches the Debian `linux-source-7.3` package at the pinned [`VERSION`]
//! through a private apt state directory (the system's apt sources stay
//! untouched), unpacks it once per version and patch set, and applies the
//! project's kernel patches.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::build::apt::{self, PrivateApt};
use crate::cache::{self, CacheKey, CacheLock};
use crate::paths::path_safe;
use crate::steps::run_logged;

/// The Debian package holding the kernel tarball.
pub const PACKAGE: &str = "linux-source-7.3";
/// The package version every build uses: moving to another kernel release is this one line
/// (the cache keys follow). When Debian's archive drops it, the build says which versions it
/// has.
pub const VERSION: &str = "7.3.4-1~bpo13+1";
/// The suite that carries it (the build machines run bookworm).
pub const SUITE: &str = "trixie-backports";

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

/// Makes sure a patched tree of [`VERSION`] exists under `<cache>/src/`. The `.deb` is
/// downloaded once into `<cache>/apt/`; later runs need no network.
pub fn prepare(cache: &Path, patch_dir: &Path) -> Result<KernelSource> {
    let apt_dir = cache.join("apt");
    std::fs::create_dir_all(&apt_dir)?;
    let apt_lock = CacheLock::acquire(apt_dir.join("download.lock"))?;
    let deb = match apt::find_deb(&apt_dir, PACKAGE, VERSION)? {
        Some(deb) => deb,
        None => download(&apt_dir)?,
    };
    drop(apt_lock);
    let version = VERSION.to_string();
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
    cache::fill_once(&dir, &stamp, "kernel source", || {
        extract_and_patch(&deb, &source, &src_root)?;
        Ok(format!("{PACKAGE} {}\n", source.version))
    })?;
    Ok(source)
}

/// Unpacks the kernel tarball of `deb` into `source.dir` and applies the patches.
fn extract_and_patch(deb: &Path, source: &KernelSource, src_root: &Path) -> Result<()> {
    let dir = &source.dir;
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
            .arg(deb)
            .arg(dir),
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
                .arg(dir)
                .arg("-i")
                .arg(patch),
            &log,
            40,
        )?;
    }
    Ok(())
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

/// Downloads [`VERSION`] with a private apt state in `apt_dir`, or fails naming the
/// versions the archive has.
fn download(apt_dir: &Path) -> Result<PathBuf> {
    let apt = PrivateApt::open(apt_dir, &[SUITE])?;
    apt.update()?;
    let versions = apt.versions(PACKAGE)?;
    if !versions.iter().any(|v| v == VERSION) {
        let offered = if versions.is_empty() {
            format!("no {PACKAGE} at all (Debian may have moved on to another 7.x series)")
        } else {
            versions.join(", ")
        };
        bail!(
            "Debian's {SUITE} no longer has {PACKAGE} {VERSION}; it has: {offered}.\n\
             To move to one of them, set VERSION in qemu-bochs/src/build/kernel_source.rs \
             (the kernel patches in kmod/kernel-patches/ must still apply)."
        );
    }
    apt.download(PACKAGE, VERSION, apt_dir)
}

#[cfg(test)]
mod tests {
    use super::*;

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
