//! The benchmark works: `bochsfb-bench --quick` runs every path of every driver (bochsfb, its
//! DRM face, the classic fbdev driver vesafb, and the kernel's C bochs driver), every workload
//! of the call-size sweep gives one figure per path, the cost model fits every path, every
//! figure is positive, every DRM path times its page flips, and each path's last frame is on
//! screen pixel for pixel. Speed is never asserted: TCG is no place for that.

use anyhow::{ensure, Result};
use bochsfb_bench::{paths, Driver};
use qemu_bochs::bench::{self, stats, BenchOptions, QUICK_MODES};
use qemu_bochs::{paths::out_dir, Accel, Artifacts};

fn quick_run_is_complete_and_on_screen(driver: Driver) -> Result<()> {
    let artifacts = Artifacts::from_manifest_env()?;
    let options = BenchOptions {
        quick: true,
        accel: Accel::Tcg,
        runs: 3,
        run_ms: 20,
        boots: 1,
        modes: Vec::new(),
    };
    let screenshots = out_dir()
        .join("screenshots")
        .join(format!("bench-{}", driver.name()));
    let run = bench::run_guest(
        &artifacts,
        &options,
        driver,
        QUICK_MODES[0],
        0,
        &screenshots,
    )?;

    let expected: Vec<&str> = paths::of_driver(driver).map(|p| p.name).collect();
    let ran: Vec<&str> = run.report.paths.iter().map(|p| p.path.as_str()).collect();
    ensure!(ran == expected, "paths ran: {ran:?}, expected {expected:?}");
    let guests = [run];
    let rows = stats::rows(&guests);
    let flips = stats::flip_rows(&guests);
    let [run] = guests;
    let flipping: Vec<&str> = paths::of_driver(driver)
        .filter(|p| p.flips())
        .map(|p| p.name)
        .collect();
    let flipped: Vec<&str> = flips.iter().map(|f| f.path.as_str()).collect();
    ensure!(
        flipped == flipping,
        "flips timed on {flipped:?}, expected {flipping:?}"
    );
    for f in &flips {
        ensure!(
            f.runs == 3 && f.latency_ms.p10 > 0.0 && f.flips_per_s.min > 0.0,
            "{}: {f:?}",
            f.path
        );
    }
    ensure!(
        rows.len() == expected.len() * bochsfb_bench::WORKLOADS.len(),
        "{} rows",
        rows.len()
    );
    // The sweep: one figure per path and size, each call moving exactly its size.
    let geometry = run.report.paths[0].geometry;
    for path in &expected {
        for size in bochsfb_bench::sweep() {
            let workload = bochsfb_bench::Workload::Calls(size).name();
            let row = stats::find(&rows, &run.mode.label(), path, &workload);
            let row = row.ok_or_else(|| anyhow::anyhow!("{path}: no figure for {workload}"))?;
            let bytes = row.bytes_per_op();
            ensure!(
                (bytes - size.bytes(&geometry) as f64).abs() < 0.5,
                "{path} {workload}: {bytes} bytes per call"
            );
            ensure!(row.runs == 3, "{path} {workload}: {} runs", row.runs);
        }
    }
    let models = qemu_bochs::bench::curve::models(&rows);
    let modelled: Vec<&str> = models.iter().map(|m| m.path.as_str()).collect();
    ensure!(
        modelled == expected,
        "cost models for {modelled:?}, expected {expected:?}"
    );
    for row in &rows {
        ensure!(
            row.mb_per_s.min > 0.0 && row.ops_per_s.min > 0.0 && row.memcpy_fraction.min > 0.0,
            "{} {}: {row:?}",
            row.path,
            row.workload
        );
    }
    ensure!(
        run.pixel_checks.len() == expected.len(),
        "{:?}",
        run.pixel_checks
    );
    for check in &run.pixel_checks {
        ensure!(
            check.error.is_none(),
            "{}: {}",
            check.path,
            check.error.as_deref().unwrap_or("")
        );
    }
    Ok(())
}

#[test]
fn quick_benchmark_of_bochsfb() -> Result<()> {
    quick_run_is_complete_and_on_screen(Driver::Bochsfb)
}

#[test]
fn quick_benchmark_of_bochsfbs_drm_face() -> Result<()> {
    quick_run_is_complete_and_on_screen(Driver::BochsfbDrm)
}

#[test]
fn quick_benchmark_of_the_c_bochs_drm_driver() -> Result<()> {
    quick_run_is_complete_and_on_screen(Driver::BochsDrm)
}

#[test]
fn quick_benchmark_of_the_classic_peer_vesafb() -> Result<()> {
    quick_run_is_complete_and_on_screen(Driver::Vesafb)
}
