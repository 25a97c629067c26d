//! Builds the small guest kernel (tinyconfig + our fragment, Rust enabled)
//! out of tree, once per kernel version, fragment and patch set.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::build::kernel_source::KernelSource;
use crate::cache::{self, CacheKey};
use crate::paths;
use crate::steps::{output_of, run_logged};

/// The kernel config fragment, relative to the repository root.
pub const FRAGMENT: &str = "qemu-bochs/guest-kernel.config";
/// Merged after [`FRAGMENT`] for [`KernelVariant::Debug`].
pub const DEBUG_FRAGMENT: &str = "qemu-bochs/guest-kernel-debug.config";
/// The LLVM toolchain (`LLVM=<dir>/`) of the debug kernel: KASAN with Rust needs Clang.
pub const LLVM_DIR: &str = "/usr/lib/llvm-19/bin/";
/// Debian packages only the debug kernel needs (Clang, lld, llvm-ar/nm/objcopy).
pub const LLVM_PACKAGES: &[&str] = &["clang-19", "lld-19", "llvm-19"];
/// Bookworm's libclang 19 (7.3's bindgen needs libclang >= 17).
pub const LIBCLANG_PATH: &str = "/usr/lib/llvm-19/lib";
const STAMP: &str = "bochsfb-kernel.stamp";

/// Which guest kernel to build and boot.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum KernelVariant {
    /// tinyconfig + `guest-kernel.config`, built with GCC.
    #[default]
    Standard,
    /// Plus `guest-kernel-debug.config`: KASAN, lockdep, DEBUG_VM, DEBUG_LIST,
    /// UBSAN, Rust debug assertions; built with Clang (LLVM=1).
    Debug,
}

impl KernelVariant {
    /// Config fragments, relative to the repository root, merged in order.
    pub fn fragments(self) -> &'static [&'static str] {
        match self {
            KernelVariant::Standard => &[FRAGMENT],
            KernelVariant::Debug => &[FRAGMENT, DEBUG_FRAGMENT],
        }
    }

    /// `LLVM=` for every make of this kernel and its modules, if it is built with Clang.
    pub fn llvm(self) -> Option<&'static str> {
        match self {
            KernelVariant::Standard => None,
            KernelVariant::Debug => Some(LLVM_DIR),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            KernelVariant::Standard => "standard",
            KernelVariant::Debug => "debug",
        }
    }
}

/// A finished kernel build directory (`O=`), usable for out-of-tree modules.
#[derive(Debug, Clone)]
pub struct KernelBuild {
    pub dir: PathBuf,
    pub bzimage: PathBuf,
    /// `make kernelrelease`, e.g. `7.3.4`.
    pub release: String,
    /// `LLVM=` the kernel was built with; modules must use the same.
    pub llvm: Option<String>,
}

impl KernelBuild {
    /// `make -C <build dir>` with the toolchain this kernel was built with.
    pub fn make(&self) -> Command {
        let mut cmd = kernel_make(&self.dir);
        if let Some(llvm) = &self.llvm {
            cmd.arg(format!("LLVM={llvm}"));
        }
        cmd
    }
}

/// Cache key of a build: kernel version, config fragments, patches, the
/// toolchain's identity ([`toolchain_identity`]) and, for Clang builds, the LLVM
/// directory. A new rustc must rebuild: Rust objects are tied to the exact compiler.
pub fn build_key(
    version: &str,
    fragment: &[u8],
    patch_hash: &str,
    toolchain: &str,
    llvm: Option<&str>,
) -> String {
    let key = CacheKey::new()
        .part("version", version)
        .part("fragment", fragment)
        .part("patches", patch_hash)
        .part("toolchain", toolchain);
    match llvm {
        Some(llvm) => key.part("llvm", llvm),
        None => key,
    }
    .finish()
}

/// `rustc -vV`, `bindgen --version` and the C compiler's `--version` (GCC, or
/// the Clang of `llvm`), as one text: everything that compiles the kernel.
pub fn toolchain_identity(llvm: Option<&str>) -> Result<String> {
    let version = |program: &str, args: &[&str]| {
        output_of(
            Command::new(program)
                .args(args)
                .env("PATH", paths::tool_path()),
        )
        .with_context(|| format!("cannot ask {program} for its version"))
    };
    let cc = match llvm {
        Some(dir) => format!("{dir}clang"),
        None => "gcc".to_string(),
    };
    Ok(format!(
        "{}{}{}",
        version("rustc", &["-vV"])?,
        version("bindgen", &["--version"])?,
        version(&cc, &["--version"])?
    ))
}

/// The fragments' contents as one text, each after the first headed by its
/// repository-relative name (one fragment is returned as it is, so the
/// standard kernel's cache key does not depend on how many variants exist).
fn joined_fragments(repo: &Path, names: &[&str]) -> Result<Vec<u8>> {
    let mut joined = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let path = repo.join(name);
        let bytes = std::fs::read(&path)
            .with_context(|| format!("cannot read kernel config fragment {}", path.display()))?;
        if i > 0 {
            joined.extend_from_slice(format!("\n# --- {name} ---\n").as_bytes());
        }
        joined.extend_from_slice(&bytes);
    }
    Ok(joined)
}

/// Builds `bzImage` and in-tree modules of `variant` in `<cache>/build/<key>/`, or reuses it.
pub fn build(
    cache: &Path,
    source: &KernelSource,
    repo: &Path,
    variant: KernelVariant,
) -> Result<KernelBuild> {
    let names = variant.fragments();
    let fragment_paths: Vec<PathBuf> = names.iter().map(|f| repo.join(f)).collect();
    let fragment = joined_fragments(repo, names)?;
    let llvm = variant.llvm();
    let toolchain = toolchain_identity(llvm)?;
    let dir = cache.join("build").join(build_key(
        &source.version,
        &fragment,
        &source.patch_hash,
        &toolchain,
        llvm,
    ));
    let finished = |dir: PathBuf| -> Result<KernelBuild> {
        let release = std::fs::read_to_string(dir.join("include/config/kernel.release"))
            .context("kernel build has no include/config/kernel.release")?
            .trim()
            .to_string();
        Ok(KernelBuild {
            bzimage: dir.join("arch/x86/boot/bzImage"),
            dir,
            release,
            llvm: llvm.map(str::to_string),
        })
    };
    let stamp = dir.join(STAMP);
    cache::fill_once(&dir, &stamp, "kernel", || {
        compile(source, &dir, &fragment, &fragment_paths, names, llvm)?;
        let build = finished(dir.clone())?;
        if !build.bzimage.exists() {
            bail!("kernel build finished without {}", build.bzimage.display());
        }
        eprintln!(
            "kernel: built {} ({})",
            build.bzimage.display(),
            build.release
        );
        Ok(format!("{} {}\n{toolchain}", source.version, build.release))
    })?;
    // Also for builds cached before the check existed: it stamps the build dir once passed.
    crate::build::bindings_layout::check_once(&dir)?;
    finished(dir)
}

/// tinyconfig, the fragments, olddefconfig (checked), then `bzImage modules`, into `dir`.
fn compile(
    source: &KernelSource,
    dir: &Path,
    fragment: &[u8],
    fragment_paths: &[PathBuf],
    names: &[&str],
    llvm: Option<&str>,
) -> Result<()> {
    let log = dir.join("build.log");
    eprintln!(
        "kernel: building in {} (log: {})",
        dir.display(),
        log.display()
    );
    let make = |args: &[&str]| {
        let mut cmd = kernel_make(&source.dir);
        cmd.arg(format!("O={}", dir.display()));
        if let Some(llvm) = llvm {
            cmd.arg(format!("LLVM={llvm}"));
        }
        cmd.args(args);
        cmd
    };

    run_logged(
        "kernel: make rustavailable",
        &mut make(&["rustavailable"]),
        &log,
        30,
    )
    .context("Rust is not available for the kernel build (see the log above)")?;
    run_logged(
        "kernel: make tinyconfig",
        &mut make(&["tinyconfig"]),
        &log,
        30,
    )?;
    let config = dir.join(".config");
    run_logged(
        "kernel: merge config fragment",
        Command::new(source.dir.join("scripts/kconfig/merge_config.sh"))
            .args(["-m", "-O"])
            .arg(dir)
            .arg(&config)
            .args(
                fragment_paths
                    .iter()
                    .map(|p| paths::absolute(p))
                    .collect::<Result<Vec<_>>>()?,
            )
            .current_dir(&source.dir),
        &log,
        30,
    )?;
    run_logged(
        "kernel: make olddefconfig",
        &mut make(&["olddefconfig"]),
        &log,
        30,
    )?;

    let final_config = std::fs::read_to_string(&config)?;
    let lost = missing_config_lines(&String::from_utf8_lossy(fragment), &final_config);
    if !lost.is_empty() {
        bail!(
            "these lines of {} did not survive `make olddefconfig` (usually a missing dependency):\n  {}",
            names.join(" + "),
            lost.join("\n  ")
        );
    }

    let jobs = std::thread::available_parallelism().map_or(2, |n| n.get());
    run_logged(
        &format!("kernel: make -j{jobs} bzImage modules"),
        &mut make(&[&format!("-j{jobs}"), "bzImage", "modules"]),
        &log,
        40,
    )?;
    Ok(())
}

/// `make -C <dir>` with the environment a Rust-enabled kernel build needs.
pub fn kernel_make(dir: &Path) -> Command {
    let mut cmd = Command::new("make");
    cmd.arg("-C")
        .arg(dir)
        .env("LIBCLANG_PATH", LIBCLANG_PATH)
        .env("PATH", paths::tool_path())
        // Keep a caller's cargo/rustc settings (e.g. from `cargo run`) out of Kbuild.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTC_WRAPPER");
    cmd
}

/// `CONFIG_..=y`/`=m` lines of `fragment` that are not in the final `.config`.
pub fn missing_config_lines(fragment: &str, config: &str) -> Vec<String> {
    let present: std::collections::HashSet<&str> = config.lines().map(str::trim).collect();
    fragment
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("CONFIG_") && (l.ends_with("=y") || l.ends_with("=m")))
        .filter(|l| !present.contains(l))
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_fragment_lines_lost_by_olddefconfig() {
        let fragment = "# comment\nCONFIG_RUST=y\nCONFIG_DRM=m\nCONFIG_FOO=y\n# CONFIG_BAR is not set\nCONFIG_LOG=17\n";
        let config = "CONFIG_RUST=y\nCONFIG_DRM=y\n# CONFIG_FOO is not set\nCONFIG_LOG=12\n";
        assert_eq!(
            missing_config_lines(fragment, config),
            ["CONFIG_DRM=m", "CONFIG_FOO=y"]
        );
        assert!(missing_config_lines("CONFIG_A=y\n", "CONFIG_A=y\n").is_empty());
    }

    #[test]
    fn build_key_changes_with_each_input() {
        let key = |version, fragment, patches, toolchain, llvm| {
            build_key(version, fragment, patches, toolchain, llvm)
        };
        let base = key("7.3.4-1", b"CONFIG_RUST=y\n", "p0", "rustc 1.95", None);
        assert_eq!(
            base,
            key("7.3.4-1", b"CONFIG_RUST=y\n", "p0", "rustc 1.95", None)
        );
        assert_ne!(
            base,
            key("7.3.4-2", b"CONFIG_RUST=y\n", "p0", "rustc 1.95", None)
        );
        assert_ne!(
            base,
            key("7.3.4-1", b"CONFIG_RUST=m\n", "p0", "rustc 1.95", None)
        );
        assert_ne!(
            base,
            key("7.3.4-1", b"CONFIG_RUST=y\n", "p1", "rustc 1.95", None)
        );
        assert_ne!(
            base,
            key("7.3.4-1", b"CONFIG_RUST=y\n", "p0", "rustc 1.96", None)
        );
        assert_ne!(
            base,
            key(
                "7.3.4-1",
                b"CONFIG_RUST=y\n",
                "p0",
                "rustc 1.95",
                Some("/l/")
            )
        );
    }
}
