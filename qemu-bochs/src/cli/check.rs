//! `qemu-bochs check`.

use std::process::ExitCode;

use anyhow::Result;
use qemu_bochs::{steps, style};

/// The style phase alone, with its time.
pub fn run() -> Result<ExitCode> {
    let result = steps::phase("style", style::run);
    eprintln!("\n==> phases\n{}", steps::phase_summary());
    result.map(|()| ExitCode::SUCCESS)
}
