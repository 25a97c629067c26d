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

pub mod apt;
pub mod artifacts;
pub mod bench;
pub mod cpio;
pub mod debian_tools;
pub mod fuzz;
pub mod guest_programs;
pub mod initramfs;
pub mod kernel_build;
pub mod kernel_source;
pub mod live_view;
pub mod module;
pub mod paths;
pub mod peer_modules;
pub mod prereqs;
pub mod protocol;
pub mod qmp;
pub mod record;
pub mod steps;
pub mod style;
pub mod vm;

pub use artifacts::{build_all, Artifacts, BuildOptions};
pub use protocol::GuestDriver;
pub use vm::{Accel, Display, RunOutput, Vm, VmConfig};
