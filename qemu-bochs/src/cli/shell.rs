//! `qemu-bochs shell`.

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use qemu_bochs::{Artifacts, Display, Vm};

use super::args::VmArgs;

#[derive(Args)]
pub struct ShellArgs {
    #[command(flatten)]
    vm: VmArgs,
    /// Seconds one command may take.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
}

impl ShellArgs {
    /// The guest shell: one guest command per line of stdin until end of input.
    pub fn run(self) -> Result<ExitCode> {
        let timeout = Duration::from_secs(self.timeout);
        let artifacts = Artifacts::for_variant(self.vm.kernel())?;
        let config = self.vm.config(Display::Headless)?;
        let vm = Vm::boot(&artifacts, &config)?;
        let _view = self.vm.live_view(&config)?;
        eprintln!(
            "shell: each line runs in the guest (its own shell: `cd` does not carry over); Ctrl-D ends"
        );
        let mut last = 0;
        let stdin = std::io::stdin();
        let mut lines = stdin.lock().lines();
        loop {
            eprint!("guest$ ");
            std::io::stderr().flush()?;
            let Some(line) = lines.next().transpose()? else {
                eprintln!();
                break;
            };
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            if line == "poweroff" || line == "exit" {
                break;
            }
            let out = vm.run_with(line, timeout, |l| println!("{l}"))?;
            if out.status != 0 {
                eprintln!("[exit status {}]", out.status);
            }
            last = out.status;
        }
        vm.shutdown()?;
        Ok(ExitCode::from(u8::try_from(last).unwrap_or(1)))
    }
}
