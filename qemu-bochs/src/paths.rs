//! Where things live: the repository, the per-repo outputs, the tools.
//! The shared cache is in `cache.rs`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

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

/// `~/.cargo/bin` (or `$CARGO_HOME/bin`): where rustup and `cargo install` put tools.
pub(crate) fn cargo_bin_dir() -> Option<PathBuf> {
    if let Some(cargo_home) = std::env::var_os("CARGO_HOME").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(cargo_home).join("bin"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo").join("bin"))
}

/// `PATH` with the cargo bin dir first, so the kernel build finds rustc and bindgen
/// from rustup/cargo rather than an older Debian `bindgen`.
pub(crate) fn tool_path() -> OsString {
    let mut dirs: Vec<PathBuf> = cargo_bin_dir().into_iter().collect();
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(dirs).unwrap_or_else(|_| std::env::var_os("PATH").unwrap_or_default())
}

/// Makes a string safe as one path component for Kbuild (no `~`, `+`, `:` or spaces).
pub(crate) fn path_safe(s: &str) -> String {
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
pub(crate) fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).with_context(|| format!("cannot make {} absolute", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_safe_replaces_debian_version_punctuation() {
        assert_eq!(path_safe("7.3.4-1~bpo13+1"), "7.3.4-1_bpo13_1");
    }
}
