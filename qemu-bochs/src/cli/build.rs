//! `qemu-bochs build`.

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use qemu_bochs::build::artifacts;
use qemu_bochs::{BuildOptions, KernelVariant};

#[derive(Args)]
pub struct BuildArgs {
    /// Which guest kernel: standard, or debug (KASAN, lockdep, DEBUG_VM, ...).
    #[arg(long, value_enum, default_value_t = KernelVariant::Standard)]
    kernel: KernelVariant,
}

impl BuildArgs {
    pub fn run(self) -> Result<ExitCode> {
        qemu_bochs::build_all(&BuildOptions {
            kernel: self.kernel,
            ..BuildOptions::default()
        })?;
        println!("{}", artifacts::manifest_path_for(self.kernel).display());
        Ok(ExitCode::SUCCESS)
    }
}
