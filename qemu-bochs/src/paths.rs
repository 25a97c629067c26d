//! Where things live: the repository, the shared cache, the per-repo outputs.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

/// Root of the project repository (the workspace this crate belongs to).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("qemu-bochs lives inside the workspace")
        .to_path_buf()
}

/// Per-checkout build outputs of the harness (initramfs, manifest, module log).
pub fn harness_dir() -> PathBuf {
    repo_root().join("target").join("bochsfb")
}

/// Files meant for people: screenshots, serial logs (`out/`, gitignored).
pub fn out_dir() -> PathBuf {
    repo_root().join("out")
}

/// Cache shared by all checkouts: downloaded kernel source, kernel builds.
///
/// `$BOCHSFB_CACHE`, else `$XDG_CACHE_HOME/bochsfb`, else `~/.cache/bochsfb`.
pub fn cache_root() -> Result<PathBuf> {
    cache_root_from(
        std::env::var_os("BOCHSFB_CACHE"),
        std::env::var_os("XDG_CACHE_HOME"),
        std::env::var_os("HOME"),
    )
    .context("cannot find a cache directory: set BOCHSFB_CACHE or HOME")
}

/// Pure part of [`cache_root`], for tests.
pub fn cache_root_from(
    bochsfb_cache: Option<OsString>,
    xdg_cache_home: Option<OsString>,
    home: Option<OsString>,
) -> Option<PathBuf> {
    let non_empty = |v: Option<OsString>| v.filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = non_empty(bochsfb_cache) {
        return Some(dir);
    }
    if let Some(dir) = non_empty(xdg_cache_home) {
        return Some(dir.join("bochsfb"));
    }
    non_empty(home).map(|h| h.join(".cache").join("bochsfb"))
}

/// `~/.cargo/bin` (or `$CARGO_HOME/bin`): where rustup and `cargo install` put tools.
pub fn cargo_bin_dir() -> Option<PathBuf> {
    if let Some(cargo_home) = std::env::var_os("CARGO_HOME").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(cargo_home).join("bin"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo").join("bin"))
}

/// `PATH` with the cargo bin dir first, so the kernel build finds rustc and bindgen
/// from rustup/cargo rather than an older Debian `bindgen`.
pub fn tool_path() -> OsString {
    let mut dirs: Vec<PathBuf> = cargo_bin_dir().into_iter().collect();
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(dirs).unwrap_or_else(|_| std::env::var_os("PATH").unwrap_or_default())
}

/// Hashes labelled inputs into a short hex key for cache directory names.
///
/// Each part is length-prefixed, so moving bytes between parts changes the key.
#[derive(Default)]
pub struct CacheKey(Sha256);

impl CacheKey {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn part(mut self, label: &str, bytes: impl AsRef<[u8]>) -> Self {
        for chunk in [label.as_bytes(), bytes.as_ref()] {
            self.0.update((chunk.len() as u64).to_le_bytes());
            self.0.update(chunk);
        }
        self
    }

    /// First 16 hex digits of the SHA-256: plenty to tell builds apart.
    pub fn finish(self) -> String {
        self.0.finalize()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// Makes a string safe as one path component for Kbuild (no `~`, `+`, `:` or spaces).
pub fn path_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Absolute form of `path` (relative to the current directory), without touching the disk.
pub fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).with_context(|| format!("cannot make {} absolute", path.display()))
}

/// Keeps two processes (say, a test run and someone's `build`) from filling the
/// same cache directory at once. A lock file holds the owner's pid; a lock whose
/// owner is gone is taken over. Released on drop.
pub struct CacheLock(PathBuf);

impl CacheLock {
    pub fn acquire(path: PathBuf) -> Result<Self> {
        let mut announced = false;
        loop {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut file) => {
                    std::io::Write::write_all(
                        &mut file,
                        std::process::id().to_string().as_bytes(),
                    )?;
                    return Ok(Self(path));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let owner = std::fs::read_to_string(&path).unwrap_or_default();
                    let alive =
                        !owner.trim().is_empty() && Path::new("/proc").join(owner.trim()).exists();
                    if !alive {
                        // The owner died (or is still writing its pid: then retry shortly).
                        std::thread::sleep(std::time::Duration::from_millis(200));
                        if std::fs::read_to_string(&path).unwrap_or_default() == owner {
                            let _ = std::fs::remove_file(&path);
                        }
                        continue;
                    }
                    if !announced {
                        eprintln!(
                            "waiting for process {} to release {}",
                            owner.trim(),
                            path.display()
                        );
                        announced = true;
                    }
                    std::thread::sleep(std::time::Duration::from_secs(1));
                }
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot create lock {}", path.display()))
                }
            }
        }
    }
}

impl Drop for CacheLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_root_prefers_override_then_xdg_then_home() {
        let s = |v: &str| Some(OsString::from(v));
        assert_eq!(
            cache_root_from(s("/c"), s("/x"), s("/h")),
            Some("/c".into())
        );
        assert_eq!(
            cache_root_from(None, s("/x"), s("/h")),
            Some("/x/bochsfb".into())
        );
        assert_eq!(
            cache_root_from(s(""), s(""), s("/h")),
            Some("/h/.cache/bochsfb".into())
        );
        assert_eq!(cache_root_from(None, None, None), None);
    }

    #[test]
    fn cache_key_changes_with_any_input() {
        let key = |v: &str, f: &str| {
            CacheKey::new()
                .part("version", v)
                .part("fragment", f)
                .finish()
        };
        let base = key("7.3.4-1", "CONFIG_RUST=y\n");
        assert_eq!(base.len(), 16);
        assert_eq!(base, key("7.3.4-1", "CONFIG_RUST=y\n"));
        assert_ne!(base, key("7.3.4-2", "CONFIG_RUST=y\n"));
        assert_ne!(base, key("7.3.4-1", "CONFIG_RUST=y\nCONFIG_X=y\n"));
        // Bytes moved from one part to the next must not give the same key.
        assert_ne!(key("ab", "c"), key("a", "bc"));
    }

    #[test]
    fn cache_lock_is_exclusive_and_taken_over_from_dead_owners() {
        let path = std::env::temp_dir().join(format!("qemu-bochs-lock-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let lock = CacheLock::acquire(path.clone()).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            std::process::id().to_string()
        );
        drop(lock);
        assert!(!path.exists());
        // A pid that cannot exist: the lock is stale.
        std::fs::write(&path, "4194305").unwrap();
        let lock = CacheLock::acquire(path.clone()).unwrap();
        drop(lock);
    }

    #[test]
    fn path_safe_replaces_debian_version_punctuation() {
        assert_eq!(path_safe("7.3.4-1~bpo13+1"), "7.3.4-1_bpo13_1");
    }
}
