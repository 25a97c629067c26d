//! The cache shared by all checkouts: where it is, keys for its entries, the lock that lets one
//! process fill an entry, and atomic writes for the stamps that say an entry is complete.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

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

/// Keeps two processes (say, a test run and someone's `build`) from filling the
/// same cache directory at once: an exclusive `flock` on a lock file, which the
/// kernel releases when the holder exits, however it exits. Released on drop.
/// The file itself stays (deleting a lock file races with a process opening it).
pub struct CacheLock(#[allow(dead_code)] std::fs::File);

impl CacheLock {
    pub fn acquire(path: PathBuf) -> Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open lock {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                eprintln!(
                    "waiting for another qemu-bochs to release {}",
                    path.display()
                );
                file.lock()
                    .with_context(|| format!("cannot lock {}", path.display()))?;
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {}", path.display()))
            }
        }
        Ok(Self(file))
    }
}

/// The one way the harness fills a cache directory: under an exclusive lock
/// (`<dir>.lock`), reuse `dir` if its stamp exists; otherwise remove whatever an
/// interrupted earlier attempt left there, run `fill`, and write the stamp (with
/// the text `fill` returns) last, atomically. Returns whether `fill` ran. `what`
/// names the entry in messages.
pub fn fill_once(
    dir: &Path,
    stamp: &Path,
    what: &str,
    fill: impl FnOnce() -> Result<String>,
) -> Result<bool> {
    let name = dir
        .file_name()
        .with_context(|| format!("{} has no file name", dir.display()))?
        .to_string_lossy();
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let _lock = CacheLock::acquire(dir.with_file_name(format!("{name}.lock")))?;
    if stamp.exists() {
        eprintln!("{what}: cached {}", dir.display());
        return Ok(false);
    }
    if dir.exists() {
        eprintln!(
            "{what}: {} holds an unfinished earlier attempt (no stamp); removing it and starting over",
            dir.display()
        );
        std::fs::remove_dir_all(dir).with_context(|| format!("cannot remove {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let contents = fill()?;
    write_atomically(stamp, contents)?;
    Ok(true)
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a
/// rename, so a reader (or a run killed halfway) never sees a partial file.
pub fn write_atomically(path: &Path, bytes: impl AsRef<[u8]>) -> Result<()> {
    let name = path
        .file_name()
        .with_context(|| format!("{} has no file name", path.display()))?;
    let mut tmp_name = OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))
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
    fn cache_lock_is_exclusive_and_released_on_drop() {
        let path = std::env::temp_dir().join(format!("qemu-bochs-lock-{}", std::process::id()));
        let lock = CacheLock::acquire(path.clone()).unwrap();
        // A second open file description cannot take the lock while the first holds it.
        let other = std::fs::File::open(&path).unwrap();
        assert!(matches!(
            other.try_lock(),
            Err(std::fs::TryLockError::WouldBlock)
        ));
        drop(lock);
        other.try_lock().unwrap();
        drop(other);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn fill_once_fills_once_and_redoes_an_interrupted_attempt() {
        let root = std::env::temp_dir().join(format!("qemu-bochs-fill-{}", std::process::id()));
        let dir = root.join("entry");
        let stamp = root.join("entry.stamp");
        // An interrupted attempt: files, no stamp.
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("half.o"), "truncated").unwrap();
        let mut runs = 0;
        let mut fill = || {
            runs += 1;
            assert!(
                !dir.join("half.o").exists(),
                "the old attempt was not removed"
            );
            std::fs::write(dir.join("whole.o"), "ok").unwrap();
            Ok("v1".to_string())
        };
        assert!(fill_once(&dir, &stamp, "test", &mut fill).unwrap());
        assert!(!fill_once(&dir, &stamp, "test", &mut fill).unwrap());
        assert_eq!(runs, 1);
        assert_eq!(std::fs::read_to_string(&stamp).unwrap(), "v1");
        // A failing fill leaves no stamp, so the next run starts over.
        let dir2 = root.join("failing");
        let stamp2 = root.join("failing.stamp");
        assert!(fill_once(&dir2, &stamp2, "test", || anyhow::bail!("no")).is_err());
        assert!(!stamp2.exists());
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn atomic_write_replaces_the_file_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("qemu-bochs-atomic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("manifest.json");
        write_atomically(&path, "one").unwrap();
        write_atomically(&path, "two").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
