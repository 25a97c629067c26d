//! Builds the out-of-tree `bochsfb.ko` from `kmod/` against the guest kernel.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::build::kernel_build::KernelBuild;
use crate::steps::run_logged;

/// Copies the sources of `kmod_dir` into `output`, runs `make -C <kernel build>
/// M=<output> CLIPPY=1 modules` there (incremental, ~2 s) and returns the path of
/// `bochsfb.ko`. The log goes to `log_path`. Building from a copy keeps objects
/// out of the source tree, so modules for two kernels, or a `make` in `kmod/`,
/// do not overwrite each other's objects (Kbuild's `MO=` refuses a source tree
/// that has objects).
///
/// `CLIPPY=1` compiles the module with `clippy-driver` instead of `rustc`: the
/// same object, plus the kernel's lints and the module's own. The module denies
/// `clippy::arithmetic_side_effects` (a Rust panic in the kernel is BUG()), so
/// an unchecked `+` on a value from userspace fails this build.
pub fn build(
    kernel: &KernelBuild,
    kmod_dir: &Path,
    output: &Path,
    log_path: &Path,
) -> Result<PathBuf> {
    if !kmod_dir.join("Kbuild").exists() {
        bail!(
            "{} has no Kbuild yet: the kernel module is not written (expected `obj-m := bochsfb.o`)",
            kmod_dir.display()
        );
    }
    let _ = std::fs::remove_file(log_path);
    copy_sources(kmod_dir, output)?;
    let dir = output;
    run_logged(
        "module: make M=kmod CLIPPY=1 modules",
        kernel
            .make()
            .arg(format!("M={}", dir.display()))
            .arg("CLIPPY=1")
            .arg("modules"),
        log_path,
        80,
    )?;
    let ko = dir.join("bochsfb.ko");
    if !ko.exists() {
        bail!("module build succeeded but left no {}", ko.display());
    }
    Ok(ko)
}

/// `rustfmt` arguments with the kernel's `.rustfmt.toml` settings (edition 2021, Unix
/// newlines): `make rustfmtcheck` needs a kernel tree, these check the module's sources
/// directly (`rustfmt ARGS --check kmod/*.rs`).
pub const RUSTFMT_ARGS: [&str; 4] = ["--edition", "2021", "--config", "newline_style=Unix"];

/// The module's `.rs` files in `kmod_dir` and its subdirectories (the card core in `card/`, each
/// face in its own), sorted.
pub fn sources(kmod_dir: &Path) -> Result<Vec<PathBuf>> {
    let mut sources = Vec::new();
    collect_sources(kmod_dir, Path::new(""), &mut sources)?;
    let mut sources: Vec<PathBuf> = sources.into_iter().map(|p| kmod_dir.join(p)).collect();
    sources.sort();
    if sources.is_empty() {
        bail!("no .rs files in {}", kmod_dir.display());
    }
    Ok(sources)
}

/// Adds the `.rs` files under `root/relative` to `out`, as paths relative to `root`.
fn collect_sources(root: &Path, relative: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let dir = root.join(relative);
    for entry in
        std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?
    {
        let entry = entry?;
        let name = relative.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            collect_sources(root, &name, out)?;
        } else if name.extension().is_some_and(|x| x == "rs") {
            out.push(name);
        }
    }
    Ok(())
}

/// Copies `Kbuild`, `Makefile` and the `.rs` files of `from` (with its subdirectories) into
/// `to`, rewriting only files that changed (so Kbuild's incremental build holds).
fn copy_sources(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    let mut files = vec![PathBuf::from("Kbuild"), PathBuf::from("Makefile")];
    collect_sources(from, Path::new(""), &mut files)?;
    for name in files {
        let path = from.join(&name);
        if !path.is_file() {
            continue;
        }
        let bytes = std::fs::read(&path)?;
        let target = to.join(&name);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        if std::fs::read(&target).ok().as_deref() != Some(&bytes[..]) {
            std::fs::write(&target, &bytes)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    /// The lint that `CLIPPY=1` builds enforce is switched on in the module itself.
    #[test]
    fn the_module_denies_unchecked_arithmetic() {
        let root = crate::paths::repo_root().join("kmod/bochsfb.rs");
        let source = std::fs::read_to_string(&root).expect("kmod/bochsfb.rs exists");
        assert!(
            source
                .lines()
                .any(|l| l.trim() == "#![deny(clippy::arithmetic_side_effects)]"),
            "{} no longer denies clippy::arithmetic_side_effects",
            root.display()
        );
    }

    /// The card core and each face live in subdirectories: they are built and checked too.
    #[test]
    fn sources_reach_into_the_card_core_and_the_faces() {
        let kmod = crate::paths::repo_root().join("kmod");
        let sources = super::sources(&kmod).unwrap();
        for file in [
            "bochsfb.rs",
            "card.rs",
            "card/dispi.rs",
            "misc.rs",
            "misc/chardev.rs",
        ] {
            assert!(
                sources.contains(&kmod.join(file)),
                "kmod/{file} missing from {sources:?}"
            );
        }
    }

    /// `make rustfmtcheck` needs a kernel tree; this applies the same settings as the kernel's
    /// `.rustfmt.toml` (edition 2021, Unix newlines) to the module's sources directly.
    #[test]
    fn kmod_is_formatted_with_the_kernels_rustfmt_settings() {
        let kmod = crate::paths::repo_root().join("kmod");
        let sources = super::sources(&kmod).unwrap();
        let out = Command::new("rustfmt")
            .args(super::RUSTFMT_ARGS)
            .arg("--check")
            .args(&sources)
            .output()
            .expect("rustfmt is part of the toolchain (rustup component add rustfmt)");
        assert!(
            out.status.success(),
            "kmod/ is not formatted (run rustfmt --edition 2021 kmod/*.rs, which formats the modules \
             under it too):\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}
