//! `qemu-bochs prereqs`.

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use qemu_bochs::build::prereqs;

#[derive(Args)]
pub struct PrereqsArgs {
    /// Install nothing: print the apt commands for the missing Debian packages (each
    /// simulated with `apt-get -s`) and what they would bring.
    #[arg(long)]
    dry_run: bool,
}

impl PrereqsArgs {
    pub fn run(self) -> Result<ExitCode> {
        if self.dry_run {
            print!("{}", prereqs::dry_run()?);
        } else {
            prereqs::ensure()?;
        }
        Ok(ExitCode::SUCCESS)
    }
}
