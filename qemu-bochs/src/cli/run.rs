//! `qemu-bochs run`.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use qemu_bochs::vm::protocol;
use qemu_bochs::{Artifacts, Display, Vm};

use super::args::VmArgs;

#[derive(Args)]
pub struct RunArgs {
    #[command(flatten)]
    vm: VmArgs,
    /// Seconds the command may take.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
    /// The guest command, after `--`: one argument is a shell command line as it is
    /// (`-- 'bochsfb-check badinput | tail -1'`); several are quoted one by one, so
    /// `-- echo 'a  b'` prints `a  b`.
    #[arg(last = true, required = true)]
    command: Vec<String>,
}

impl RunArgs {
    /// Boots, runs the command, prints its output; exits with its status.
    pub fn run(self) -> Result<ExitCode> {
        let command = protocol::shell_command(&self.command);
        let timeout = Duration::from_secs(self.timeout);
        let artifacts = Artifacts::for_variant(self.vm.kernel())?;
        let config = self.vm.config(Display::Headless)?;
        let vm = Vm::boot(&artifacts, &config)?;
        let _view = self.vm.live_view(&config)?;
        let out = vm.run_with(&command, timeout, |line| println!("{line}"))?;
        vm.shutdown()?;
        eprintln!("guest: exit status {}", out.status);
        // Exit codes are 0..=255; a guest status outside that still means failure.
        Ok(ExitCode::from(u8::try_from(out.status).unwrap_or(1)))
    }
}
