//! `bochsfb-bench`: mmap versus write, measured inside the guest.
//!
//! Runs every workload through every path of one driver, in rounds that
//! interleave the paths, measures the guest's RAM-to-RAM memcpy as the
//! physical limit in the same rounds, and prints a JSON
//! report between `@@bench:json-begin` / `@@bench:json-end` lines. After each
//! path it leaves that path's test image on screen and asks the host for a
//! screendump (`@@bochsfb:screendump NAME`), so the host can check the pixels. On a DRM
//! path each round also times page flips, from the request to its event, and the last round
//! counts the dumb buffers of each size the card gives before it refuses one.

mod buffers;
mod canvas;
mod flips;
mod measure;
mod open;
mod workloads;

use std::io::{self, BufRead, Write};
use std::process::ExitCode;
use std::time::Duration;

use bochsfb_bench::paths::{Path, PATHS};
use bochsfb_bench::{
    Driver, GuestReport, Measurement, PathReport, JSON_BEGIN, JSON_END, WORKLOADS,
};
use bochsfb_renderer::Mode;
use clap::Parser;

use crate::measure::{Budget, Memcpy};
use crate::workloads::Scene;

/// mmap versus write: time every workload through every path of one driver.
#[derive(Debug, Parser)]
#[command(name = "bochsfb-bench", version)]
struct Cli {
    /// The driver the guest loaded.
    #[arg(long, value_enum, default_value_t = Driver::Bochsfb)]
    driver: Driver,
    /// A short run that proves every path works (3 runs of 20 ms).
    #[arg(long)]
    quick: bool,
    /// Timed runs per path and workload.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Minimum length of one run, in milliseconds.
    #[arg(long, default_value_t = 250)]
    run_ms: u64,
    /// Page flips per flip run of a DRM path (one run per round).
    #[arg(long, default_value_t = 120)]
    flips: usize,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(report) => {
            let json = serde_json::to_string_pretty(&report).expect("reports serialise");
            println!("{JSON_BEGIN}\n{json}\n{JSON_END}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bochsfb-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: &Cli) -> io::Result<GuestReport> {
    let budget = if cli.quick {
        Budget {
            runs: 3,
            run_time: Duration::from_millis(20),
            flips: 20,
        }
    } else {
        Budget {
            runs: cli.runs.max(1),
            run_time: Duration::from_millis(cli.run_ms),
            flips: cli.flips.max(1),
        }
    };
    let paths: Vec<(usize, &Path)> = PATHS
        .iter()
        .enumerate()
        .filter(|(_, p)| p.driver == cli.driver)
        .collect();
    let mut reports: Vec<Option<PathReport>> = vec![None; paths.len()];
    let mut memcpy: Option<Memcpy> = None;
    let (mut memcpy_runs, mut null_syscall) = (Vec::new(), Vec::new());
    // Interleaved: every round runs every path once (A B C … A B C …), so drift over the boot
    // (host load, guest caches) spreads over all paths alike instead of favouring the first.
    for round in 0..budget.runs {
        let last_round = round + 1 == budget.runs;
        for (&(index, path), report) in paths.iter().zip(&mut reports) {
            eprintln!("bench: round {}/{} {}", round + 1, budget.runs, path.name);
            // Seeds differ per path, so a path that drew nothing is caught.
            let seed = index as u32 + 1;
            run_path(path, seed, &budget, last_round, report)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.name)))?;
        }
        let memcpy = memcpy.get_or_insert_with(|| {
            let bytes = reports
                .iter()
                .flatten()
                .next()
                .map_or(1 << 20, |r| r.geometry.frame_len());
            Memcpy::new(bytes)
        });
        memcpy_runs.push(memcpy.run(budget.run_time));
        null_syscall.push(measure::null_syscall(budget.run_time));
    }
    Ok(GuestReport {
        driver: cli.driver,
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")?
            .trim()
            .to_string(),
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        quick: cli.quick,
        clock_resolution_ns: measure::clock_resolution_ns(),
        memcpy_bytes: memcpy.map_or(0, |m| m.bytes() as u64),
        memcpy: memcpy_runs,
        null_syscall,
        paths: reports.into_iter().flatten().collect(),
    })
}

/// One round of `path`: opens it, runs every workload once, and after the last round leaves
/// the test image on screen and asks for a screendump; then, on a DRM path, one flip run.
fn run_path(
    path: &Path,
    seed: u32,
    budget: &Budget,
    last_round: bool,
    report: &mut Option<PathReport>,
) -> io::Result<()> {
    open::with_canvas(path, &mut |canvas| {
        let g = canvas.geometry();
        let report = report.get_or_insert_with(|| PathReport {
            path: path.name.into(),
            access: path.access,
            device: path.device.node().into(),
            screenshot: screenshot_name(path, &g),
            geometry: g,
            final_pattern: seed,
            measurements: WORKLOADS
                .iter()
                .map(|w| Measurement {
                    path: path.name.into(),
                    workload: w.name(),
                    runs: Vec::new(),
                })
                .collect(),
            flips: Vec::new(),
            buffers: Vec::new(),
        });
        if report.geometry != g {
            return Err(io::Error::other(format!(
                "the mode changed between rounds: {} then {}",
                report.geometry.label(),
                g.label()
            )));
        }
        for (workload, measurement) in WORKLOADS.iter().zip(&mut report.measurements) {
            let scene = Scene::new(*workload, g, seed);
            measurement
                .runs
                .push(measure::measure(canvas, &scene, budget.run_time)?);
        }
        if last_round {
            // Frame copy ran last: the test image must be on screen now.
            std::thread::sleep(path.settle);
            screendump(&report.screenshot)?;
        }
        Ok(())
    })?;
    if path.flips() {
        // After the screendump, in a session of its own: the flips show two blank buffers.
        let flips = flips::run(budget.flips)?;
        // Once: the count is the card's, and the same every round.
        let buffers = if last_round {
            buffers::run(&open::Pipe::open()?.card)?
        } else {
            Vec::new()
        };
        if let Some(report) = report {
            report.flips.push(flips);
            report.buffers = buffers;
        }
    }
    Ok(())
}

fn screenshot_name(path: &Path, geometry: &Mode) -> String {
    format!("bench-{}-{}", geometry.label(), path.name.replace(' ', "-"))
}

/// The screendump handshake of docs/architecture.md: ask, then wait for the
/// host's empty line.
fn screendump(name: &str) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "@@bochsfb:screendump {name}")?;
    stdout.flush()?;
    io::stdin().lock().read_line(&mut String::new())?;
    Ok(())
}
