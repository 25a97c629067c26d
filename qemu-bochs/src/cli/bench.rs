//! `qemu-bochs bench`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use qemu_bochs::bench::{self, BenchOptions};
use qemu_bochs::{vm, Artifacts, KernelVariant};

use super::args::GuestArgs;

#[derive(Args)]
#[command(
    mut_arg("kernel", |a| a
        .help("The guest kernel to measure (the debug kernel's checks distort every figure)")
        .display_order(8)),
    mut_arg("accel", |a| a
        .help(
            "CPU accelerator: auto tries KVM with a short boot and falls back to TCG (KVM hangs \
             on the project's nested-PVM build machines); the report names the one that ran"
        )
        .display_order(3)),
)]
pub struct BenchArgs {
    /// One mode, one boot, short runs: proves every path works (minutes, not tens).
    #[arg(display_order = 0, long)]
    quick: bool,
    /// Boots per driver (runs pool over them); default 2, 1 with --quick.
    #[arg(display_order = 1, long)]
    boots: Option<usize>,
    /// Mode WIDTHxHEIGHTxBPP (repeatable); default 1024x768x32, 640x480x32 with --quick.
    #[arg(display_order = 2, long = "mode", value_name = "WxHxBPP", value_parser = bench::parse_mode)]
    modes: Vec<bochsfb_renderer::Mode>,
    // The help lists `--accel` after `--mode` and `--kernel` last (the display orders).
    #[command(flatten)]
    guest: GuestArgs,
    /// Where results go.
    #[arg(display_order = 4, long, default_value = "bench-results")]
    out: PathBuf,
    /// Timed runs per path and workload.
    #[arg(display_order = 5, long, default_value_t = bench::DEFAULT_RUNS)]
    runs: usize,
    /// Minimum length of one run, in milliseconds.
    #[arg(display_order = 6, long, default_value_t = bench::DEFAULT_RUN_MS)]
    run_ms: u64,
    /// Boot nothing: redraw results.md and the charts from `<out>/results.json`.
    #[arg(display_order = 7, long)]
    redraw: bool,
}

impl BenchArgs {
    pub fn run(self) -> Result<ExitCode> {
        if self.redraw {
            return redraw(&self.out).map(|()| ExitCode::SUCCESS);
        }
        let options = BenchOptions {
            quick: self.quick,
            accel: self.guest.accel,
            runs: self.runs,
            run_ms: self.run_ms,
            boots: self
                .boots
                .unwrap_or(if self.quick { 1 } else { bench::FULL_BOOTS }),
            modes: self.modes,
        };
        measure(self.guest.kernel, &options, &self.out)?;
        Ok(ExitCode::SUCCESS)
    }
}

fn measure(kernel: KernelVariant, options: &BenchOptions, out: &Path) -> Result<()> {
    let artifacts = Artifacts::for_variant(kernel)?;
    // Resolved once, so every guest runs on the same accelerator and the report names it.
    let options = &BenchOptions {
        accel: vm::resolve_accel(options.accel, &artifacts)?,
        ..options.clone()
    };
    let results = bench::run(&artifacts, options, out)?;
    for path in bench::write_results(&results, out)? {
        println!("{}", path.display());
    }
    eprintln!("bench: done in {:.0} s", results.seconds);
    bench::check_pixels(&results)
}

fn redraw(out: &Path) -> Result<()> {
    let json = out.join("results.json");
    let text = std::fs::read_to_string(&json)
        .with_context(|| format!("cannot read {}", json.display()))?;
    let mut results: bench::BenchResults =
        serde_json::from_str(&text).with_context(|| format!("bad {}", json.display()))?;
    // The statistics again from the runs, so a redraw picks up changes to the analysis.
    results.analyse();
    for path in bench::write_results(&results, out)? {
        println!("{}", path.display());
    }
    Ok(())
}
