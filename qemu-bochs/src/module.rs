//! Builds the out-of-tree `bochsfb.ko` from `kmod/` against the guest kernel.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use crate::kernel_build::KernelBuild;
use crate::steps::run_logged;

/// Runs `make -C <kernel build> M=<kmod> modules` (incremental, ~2 s) and
/// returns the path of `bochsfb.ko`. The log goes to `log_path`. With
/// `output`, objects go there (`MO=`) instead of into `kmod_dir`, so modules
/// for two kernels do not overwrite each other's objects.
pub fn build(
    kernel: &KernelBuild,
    kmod_dir: &Path,
    output: Option<&Path>,
    log_path: &Path,
) -> Result<PathBuf> {
    if !kmod_dir.join("Kbuild").exists() {
        bail!(
            "{} has no Kbuild yet: the kernel module is not written (expected `obj-m := bochsfb.o`)",
            kmod_dir.display()
        );
    }
    let _ = std::fs::remove_file(log_path);
    let mut make = kernel.make();
    make.arg(format!("M={}", kmod_dir.display()));
    if let Some(output) = output {
        std::fs::create_dir_all(output)?;
        make.arg(format!("MO={}", output.display()));
    }
    run_logged(
        "module: make M=kmod modules",
        make.arg("modules"),
        log_path,
        80,
    )?;
    let ko = output.unwrap_or(kmod_dir).join("bochsfb.ko");
    if !ko.exists() {
        bail!("module build succeeded but left no {}", ko.display());
    }
    Ok(ko)
}
