//! `bochsfb-bench`: mmap versus write, measured inside the guest.
//!
//! Runs every workload through every path of one driver, measures the
//! guest's RAM-to-RAM memcpy as the physical limit, and prints a JSON
//! report between `@@bench:json-begin` / `@@bench:json-end` lines. After each
//! path it leaves that path's test image on screen and asks the host for a
//! screendump (`@@bochsfb:screendump NAME`), so the host can check the pixels.

mod canvas;
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
use clap::Parser;

use crate::measure::Budget;
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
        }
    } else {
        Budget {
            runs: cli.runs.max(1),
            run_time: Duration::from_millis(cli.run_ms),
        }
    };
    let mut reports = Vec::new();
    for (index, path) in PATHS.iter().enumerate() {
        if path.driver == cli.driver {
            // Seeds differ per path, so a path that drew nothing is caught.
            let seed = index as u32 + 1;
            reports.push(
                run_path(path, seed, budget)
                    .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.name)))?,
            );
        }
    }
    let memcpy_bytes = reports
        .first()
        .map_or(1 << 20, |r| r.geometry.frame_bytes());
    eprintln!("bench: memcpy of {memcpy_bytes} bytes, RAM to RAM");
    let memcpy = measure::memcpy(memcpy_bytes, budget);
    eprintln!("bench: null system call (getppid)");
    let null_syscall = measure::null_syscall(budget);
    Ok(GuestReport {
        driver: cli.driver,
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")?
            .trim()
            .to_string(),
        quick: cli.quick,
        memcpy_bytes: memcpy_bytes as u64,
        memcpy,
        null_syscall,
        paths: reports,
    })
}

fn run_path(path: &Path, seed: u32, budget: Budget) -> io::Result<PathReport> {
    let mut measurements = Vec::new();
    let mut geometry = None;
    open::with_canvas(path, &mut |canvas| {
        let g = canvas.geometry();
        geometry = Some(g);
        for workload in WORKLOADS {
            eprintln!("bench: {} {} {}", path.name, g.label(), workload.name());
            let scene = Scene::new(workload, g, seed);
            measurements.push(Measurement {
                path: path.name.into(),
                workload: workload.name(),
                runs: measure::measure(canvas, &scene, budget)?,
            });
        }
        // Frame copy ran last: the test image must be on screen now.
        std::thread::sleep(path.settle);
        screendump(&screenshot_name(path, &g))
    })?;
    let geometry = geometry.expect("with_canvas lends a canvas or fails");
    Ok(PathReport {
        path: path.name.into(),
        access: path.access,
        device: path.device.node().into(),
        screenshot: screenshot_name(path, &geometry),
        geometry,
        final_pattern: seed,
        measurements,
    })
}

fn screenshot_name(path: &Path, geometry: &bochsfb_bench::Geometry) -> String {
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
