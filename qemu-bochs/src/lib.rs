//! Host-side harness for bochsfb: builds a small Rust-enabled guest kernel,
//! the `bochsfb` module, the guest programs and an initramfs, then boots them
//! in QEMU and runs commands over the serial console (docs/architecture.md).
//!
//! ```no_run
//! use std::time::Duration;
//! use qemu_bochs::{Artifacts, Vm, VmConfig};
//!
//! let artifacts = Artifacts::from_manifest_env()?;
//! let vm = Vm::boot(&artifacts, &VmConfig::default())?;
//! let out = vm.run("bochsfb-check", Duration::from_secs(60))?;
//! assert_eq!(out.status, 0, "{}", out.output);
//! vm.shutdown()?; // fails if the kernel log shows a BUG, WARNING, Oops or panic
//! # anyhow::Ok(())
//! ```

pub mod bench;
pub mod build;
pub(crate) mod cache;
pub mod fuzz;
pub mod paths;
pub mod steps;
pub mod style;
pub mod vm;

pub use bochsfb_bench::Driver;
pub use build::artifacts::{build_all, Artifacts, BuildOptions};
pub use build::kernel_build::KernelVariant;
pub use vm::{Accel, Display, RunOutput, Vm, VmConfig};
