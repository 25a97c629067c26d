//! Builds everything a guest needs and records it in a small JSON manifest,
//! so test processes can boot without rebuilding.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

pub use crate::build::guest_programs::GuestSet;
use crate::build::kernel_build::KernelVariant;
use crate::build::{
    debian_tools, guest_programs, initramfs, kernel_build, kernel_source, module, peer_modules,
    prereqs,
};
use crate::cache::{self, CacheLock};
use crate::paths;
use crate::steps::phase;

/// Names the manifest written by `qemu-bochs build` / `qemu-bochs test`.
pub const MANIFEST_ENV: &str = "BOCHSFB_ARTIFACTS";

/// Everything needed to boot a guest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Artifacts {
    pub bzimage: PathBuf,
    pub initramfs: PathBuf,
    pub module: PathBuf,
    /// Debian `linux-source-7.3` version the kernel was built from.
    pub kernel_package_version: String,
    /// `uname -r` of the guest kernel.
    pub kernel_release: String,
    /// The kernel's `O=` build directory (for building modules against it).
    pub kernel_build_dir: PathBuf,
    /// Which guest kernel (manifests from before variants existed are standard).
    #[serde(default)]
    pub kernel_variant: KernelVariant,
}

/// Options for [`build_all`].
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Which guest kernel to build (each has its own cache entry and manifest).
    pub kernel: KernelVariant,
    /// Which guest programs go into the initramfs: all, or only what `demo` runs (its own
    /// initramfs and manifest, `*-demo`), so a first demo boots without building the rest.
    pub guest: GuestSet,
}

impl Artifacts {
    /// Reads the manifest named by `$BOCHSFB_ARTIFACTS`; if that is unset,
    /// builds everything (once per process).
    pub fn from_manifest_env() -> Result<Artifacts> {
        if let Some(path) = std::env::var_os(MANIFEST_ENV) {
            return Artifacts::load(Path::new(&path));
        }
        static BUILT: OnceLock<Artifacts> = OnceLock::new();
        static BUILDING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        // Tests run in parallel threads: only the first one builds.
        let _guard = BUILDING.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(artifacts) = BUILT.get() {
            return Ok(artifacts.clone());
        }
        let artifacts = build_all(&BuildOptions::default())?;
        Ok(BUILT.get_or_init(|| artifacts).clone())
    }

    /// The manifest named by `$BOCHSFB_ARTIFACTS` if it is of `variant`;
    /// otherwise builds `variant` (once per process and variant).
    pub fn for_variant(variant: KernelVariant) -> Result<Artifacts> {
        if let Some(path) = std::env::var_os(MANIFEST_ENV) {
            let artifacts = Artifacts::load(Path::new(&path))?;
            if artifacts.kernel_variant == variant {
                return Ok(artifacts);
            }
        }
        static BUILT: std::sync::Mutex<Vec<Artifacts>> = std::sync::Mutex::new(Vec::new());
        let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(artifacts) = built.iter().find(|a| a.kernel_variant == variant) {
            return Ok(artifacts.clone());
        }
        let artifacts = build_all(&BuildOptions {
            kernel: variant,
            guest: GuestSet::All,
        })?;
        built.push(artifacts.clone());
        Ok(artifacts)
    }

    /// What `demo` boots: `variant`'s kernel, the module and the demo programs only. Reuses
    /// the manifest named by `$BOCHSFB_ARTIFACTS` if it is of `variant` (it has every
    /// program).
    pub fn for_demo(variant: KernelVariant) -> Result<Artifacts> {
        if let Some(path) = std::env::var_os(MANIFEST_ENV) {
            let artifacts = Artifacts::load(Path::new(&path))?;
            if artifacts.kernel_variant == variant {
                return Ok(artifacts);
            }
        }
        build_all(&BuildOptions {
            kernel: variant,
            guest: GuestSet::Demo,
        })
    }

    pub fn load(path: &Path) -> Result<Artifacts> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read artifacts manifest {}", path.display()))?;
        let artifacts: Artifacts = serde_json::from_str(&text)
            .with_context(|| format!("bad artifacts manifest {}", path.display()))?;
        for file in [&artifacts.bzimage, &artifacts.initramfs, &artifacts.module] {
            if !file.exists() {
                anyhow::bail!(
                    "{} (from {}) does not exist: run `qemu-bochs build`",
                    file.display(),
                    path.display()
                );
            }
        }
        Ok(artifacts)
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        cache::write_atomically(path, serde_json::to_string_pretty(self)? + "\n")
    }
}

/// `artifacts.json` for the standard kernel, `artifacts-debug.json` for the debug one.
pub fn manifest_path_for(variant: KernelVariant) -> PathBuf {
    manifest_path_of(variant, GuestSet::All)
}

/// [`manifest_path_for`], and `artifacts-demo.json` (`artifacts-debug-demo.json`) for a
/// demo's build.
pub(crate) fn manifest_path_of(variant: KernelVariant, guest: GuestSet) -> PathBuf {
    paths::harness_dir().join(format!("artifacts{}.json", suffix(variant, guest)))
}

/// `""` or `"-debug"`: tells the files of the two variants apart.
fn variant_suffix(variant: KernelVariant) -> String {
    match variant {
        KernelVariant::Standard => String::new(),
        other => format!("-{}", other.name()),
    }
}

/// [`variant_suffix`], then `-demo` for the demo's guest set.
fn suffix(variant: KernelVariant, guest: GuestSet) -> String {
    match guest {
        GuestSet::All => variant_suffix(variant),
        GuestSet::Demo => format!("{}-demo", variant_suffix(variant)),
    }
}

/// Prerequisites, kernel source, kernel, module, guest programs and initramfs;
/// writes the manifest and prints where everything is. Steps that do not depend on each
/// other run at once (see the comment inside).
pub fn build_all(options: &BuildOptions) -> Result<Artifacts> {
    let start = Instant::now();
    let repo = paths::repo_root();
    let cache = cache::cache_root()?;
    let harness = paths::harness_dir();
    std::fs::create_dir_all(&harness)?;

    let variant = options.kernel;
    let guest = options.guest;
    let suffix = variant_suffix(variant);
    // Two harness runs on one checkout (say, `test` and `bench`) build one at a time into
    // target/bochsfb; readers see whole files only (written to a temporary, then renamed).
    let _lock = CacheLock::acquire(harness.join(format!("build{suffix}.lock")))?;
    let name = variant.name();
    let set = guest.name();
    // Independent steps run at once: bindgen-cli (needs only cargo) and the guest programs
    // (cargo and the C linker that built this harness) beside the Debian packages, the kernel
    // source and the kernel build, which needs bindgen.
    let built = std::thread::scope(|s| -> Result<_> {
        let bindgen = s.spawn(|| phase("bindgen-cli", prereqs::ensure_bindgen));
        let programs = s.spawn(|| {
            phase(&format!("guest programs ({set})"), || {
                guest_programs::build(&repo, guest, &harness.join(format!("guest-{set}.log")))
            })
        });
        let kernel_side = || -> Result<_> {
            phase("prerequisites", || {
                prereqs::ensure_system()?;
                if variant.llvm().is_some() {
                    prereqs::ensure_debian_packages(kernel_build::LLVM_PACKAGES)?;
                }
                Ok(())
            })?;
            let source = phase("kernel source", || {
                kernel_source::prepare(&cache, &repo.join("kmod/kernel-patches"))
            })?;
            join(bindgen)?;
            let kernel = phase(&format!("kernel build ({name})"), || {
                kernel_build::build(&cache, &source, &repo, variant)
            })?;
            // Out of the source tree, one directory per variant: kmod/ holds sources only.
            let module = phase(&format!("module ({name})"), || {
                module::build(
                    &kernel,
                    &repo.join("kmod"),
                    &harness.join(format!("kmod{suffix}")),
                    &harness.join(format!("module{suffix}.log")),
                )
            })?;
            // gcc-multilib (for -m32) comes with the Debian packages.
            let c_programs = match guest.c_programs() {
                [] => Vec::new(),
                _ => phase("guest C programs", || {
                    guest_programs::build_c_programs(&repo, guest)
                })?,
            };
            let tools = match guest {
                GuestSet::All => phase("Debian tools", || {
                    debian_tools::prepare(&cache, debian_tools::TOOLS)
                })?,
                GuestSet::Demo => debian_tools::PreparedTools::default(),
            };
            Ok((source, kernel, module, c_programs, tools))
        };
        let kernel_side = kernel_side();
        let programs = join(programs);
        let (source, kernel, module, c_programs, tools) = kernel_side?;
        let mut programs = programs?;
        programs.extend(c_programs);
        Ok((source, kernel, module, programs, tools))
    })?;
    let (source, kernel, module, programs, tools) = built;

    let suffix = self::suffix(variant, guest);
    let initramfs = harness.join(format!("initramfs{suffix}.cpio.gz"));
    eprintln!("==> initramfs");
    phase(&format!("initramfs ({name}, {set})"), || {
        initramfs::write(
            &initramfs,
            &initramfs::Contents {
                busybox: Path::new(initramfs::HOST_BUSYBOX),
                module: &module,
                programs: &programs,
                kernel_release: &kernel.release,
                peer_modules: &peer_modules::guest_modules(&kernel.dir)?,
                debian_files: &tools.entries,
            },
        )
    })?;

    let artifacts = Artifacts {
        bzimage: kernel.bzimage,
        initramfs,
        module,
        kernel_package_version: source.version,
        kernel_release: kernel.release,
        kernel_build_dir: kernel.dir,
        kernel_variant: variant,
    };
    let manifest = manifest_path_of(variant, guest);
    artifacts.save(&manifest)?;
    eprintln!("build: done in {} s", start.elapsed().as_secs());
    eprintln!(
        "  kernel      {} ({}, {} kernel, linux-source-7.3 {})",
        artifacts.bzimage.display(),
        artifacts.kernel_release,
        variant.name(),
        artifacts.kernel_package_version
    );
    eprintln!("  module      {}", artifacts.module.display());
    eprintln!("  initramfs   {}", artifacts.initramfs.display());
    for (package, version) in &tools.packages {
        eprintln!("  debian      {package} {version}");
    }
    eprintln!("  manifest    {}", manifest.display());
    Ok(artifacts)
}

/// The result of a scoped thread, its panic passed on.
fn join<T>(handle: std::thread::ScopedJoinHandle<'_, Result<T>>) -> Result<T> {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}
