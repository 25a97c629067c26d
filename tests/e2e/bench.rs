//! The benchmark works: `bochsfb-bench --quick` runs every path of both drivers (bochsfb, and
//! the kernel's C bochs driver it is compared with), every figure is positive, and each path's
//! last frame is on screen pixel for pixel. Speed is never asserted: TCG is no place for that.

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
    };
    let screenshots = out_dir()
        .join("screenshots")
        .join(format!("bench-{}", driver.name()));
    let run = bench::run_guest(&artifacts, &options, driver, QUICK_MODES[0], &screenshots)?;

    let expected: Vec<&str> = paths::of_driver(driver).map(|p| p.name).collect();
    let ran: Vec<&str> = run.report.paths.iter().map(|p| p.path.as_str()).collect();
    ensure!(ran == expected, "paths ran: {ran:?}, expected {expected:?}");
    let rows = stats::rows(&run);
    ensure!(
        rows.len() == expected.len() * bochsfb_bench::WORKLOADS.len(),
        "{} rows",
        rows.len()
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
fn quick_benchmark_of_the_c_bochs_drm_driver() -> Result<()> {
    quick_run_is_complete_and_on_screen(Driver::BochsDrm)
}
