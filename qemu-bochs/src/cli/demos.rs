//! `qemu-bochs demos`.

use std::process::ExitCode;

use anyhow::Result;

/// Lists the demos, one line each.
pub fn run() -> Result<ExitCode> {
    for demo in bochsfb_demos::DEMOS {
        println!("{:<11} {}", demo.name, demo.about);
    }
    Ok(ExitCode::SUCCESS)
}
