//! `qemu-bochs bench`: mmap versus write. Boots one guest per driver and
//! mode, runs `bochsfb-bench` in it, checks each path's final frame on the
//! screen, and writes `results.json`, `results.md` and PNG charts.

pub mod chart;
pub mod report;
pub mod stats;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use bochsfb_bench::{pattern, Driver, GuestReport};
use serde::{Deserialize, Serialize};

use crate::steps::output_of;
use crate::vm::QEMU;
use crate::{Accel, Artifacts, GuestDriver, Vm, VmConfig};

/// A display mode the benchmark runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mode {
    pub width: u32,
    pub height: u32,
    pub bpp: u32,
}

impl Mode {
    pub const fn new(width: u32, height: u32, bpp: u32) -> Mode {
        Mode { width, height, bpp }
    }

    /// `1024x768x32`, as [`bochsfb_bench::Geometry::label`] writes it.
    pub fn label(&self) -> String {
        format!("{}x{}x{}", self.width, self.height, self.bpp)
    }
}

/// The modes of the full benchmark (issue 5).
pub const FULL_MODES: &[Mode] = &[
    Mode::new(640, 480, 32),
    Mode::new(1024, 768, 32),
    Mode::new(1920, 1080, 32),
    Mode::new(1024, 768, 16),
];
/// `--quick`: one small mode, enough to prove every path works.
pub const QUICK_MODES: &[Mode] = &[Mode::new(640, 480, 32)];
/// Both drivers: ours, and the kernel's C driver it is compared with.
pub const DRIVERS: [Driver; 2] = [Driver::Bochsfb, Driver::BochsDrm];

/// What `qemu-bochs bench` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BenchOptions {
    pub quick: bool,
    #[serde(skip)]
    pub accel: Accel,
    /// Timed runs per path and workload (the guest's `--runs`).
    pub runs: usize,
    /// Minimum length of one run in ms (the guest's `--run-ms`).
    pub run_ms: u64,
}

impl BenchOptions {
    pub fn modes(&self) -> &'static [Mode] {
        if self.quick {
            QUICK_MODES
        } else {
            FULL_MODES
        }
    }

    /// The guest command line for `driver`.
    pub fn guest_command(&self, driver: Driver) -> String {
        let budget = if self.quick {
            "--quick".to_string()
        } else {
            format!("--runs {} --run-ms {}", self.runs, self.run_ms)
        };
        format!("bochsfb-bench --driver {} {budget}", driver.name())
    }
}

/// How to boot a guest for `driver` in `mode`; `None` where the driver
/// cannot show the mode (the C driver does 32 bpp only).
pub fn vm_config(driver: Driver, mode: Mode, accel: Accel) -> Option<VmConfig> {
    let config = VmConfig {
        accel,
        // 1920x1080x32 is 8 MiB; room to spare.
        vgamem_mb: 16,
        ..VmConfig::default()
    };
    match driver {
        Driver::Bochsfb => Some(VmConfig {
            driver: GuestDriver::Bochsfb,
            module_params: [
                ("width", mode.width),
                ("height", mode.height),
                ("bpp", mode.bpp),
            ]
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .to_vec(),
            ..config
        }),
        Driver::BochsDrm if mode.bpp == 32 => Some(VmConfig {
            driver: GuestDriver::BochsDrm,
            // The fbdev emulation takes this mode; the DRM path keeps it.
            kernel_args: vec![format!("video={}x{}", mode.width, mode.height)],
            ..config
        }),
        Driver::BochsDrm => None,
    }
}

/// Whether a path's final frame on screen was its test image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PixelCheck {
    pub path: String,
    pub screenshot: PathBuf,
    /// `None` when every pixel matched.
    pub error: Option<String>,
}

/// One guest boot: a driver in a mode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuestRun {
    pub mode: Mode,
    pub report: GuestReport,
    pub pixel_checks: Vec<PixelCheck>,
}

/// Boots a guest for `driver` in `mode`, runs the benchmark, checks that it
/// ran every path of the driver in that mode, and checks the screenshots.
pub fn run_guest(
    artifacts: &Artifacts,
    options: &BenchOptions,
    driver: Driver,
    mode: Mode,
    screenshot_dir: &Path,
) -> Result<GuestRun> {
    let config = vm_config(driver, mode, options.accel)
        .with_context(|| format!("{} cannot run {}", driver.name(), mode.label()))?;
    let config = VmConfig {
        screenshot_dir: Some(screenshot_dir.to_path_buf()),
        ..config
    };
    let vm = Vm::boot(artifacts, &config)?;
    let command = options.guest_command(driver);
    let timeout = Duration::from_secs(if options.quick { 120 } else { 900 });
    let out = vm.run_with(&command, timeout, |line| {
        if line.starts_with("bench: ") {
            eprintln!("guest| {line}");
        }
    })?;
    let log = vm.serial_log_path().to_path_buf();
    vm.shutdown()?;
    ensure!(
        out.status == 0,
        "`{command}` exited with {} (serial log {}):\n{}",
        out.status,
        log.display(),
        out.output
    );
    let report = bochsfb_bench::parse_guest_output(&out.output)
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("serial log {}", log.display()))?;
    check_complete(&report, driver, mode)?;
    let pixel_checks = report
        .paths
        .iter()
        .map(|path| {
            let screenshot = screenshot_dir.join(format!("{}.png", path.screenshot));
            let error = check_screenshot(&screenshot, path)
                .err()
                .map(|e| format!("{e:#}"));
            PixelCheck {
                path: path.path.clone(),
                screenshot,
                error,
            }
        })
        .collect();
    Ok(GuestRun {
        mode,
        report,
        pixel_checks,
    })
}

/// Every path of the driver ran every workload in `mode`, and every figure
/// is positive.
pub fn check_complete(report: &GuestReport, driver: Driver, mode: Mode) -> Result<()> {
    let expected: Vec<&str> = bochsfb_bench::paths::of_driver(driver)
        .map(|p| p.name)
        .collect();
    let ran: Vec<&str> = report.paths.iter().map(|p| p.path.as_str()).collect();
    ensure!(ran == expected, "paths ran: {ran:?}, expected {expected:?}");
    ensure!(report.driver == driver, "the guest ran {:?}", report.driver);
    let positive = |runs: &[bochsfb_bench::Run]| {
        !runs.is_empty()
            && runs
                .iter()
                .all(|r| r.seconds > 0.0 && r.frames > 0 && r.ops > 0 && r.bytes > 0)
    };
    ensure!(positive(&report.memcpy), "memcpy measured nothing");
    for path in &report.paths {
        ensure!(
            path.geometry.label() == mode.label(),
            "{} drew in {}, not {}",
            path.path,
            path.geometry.label(),
            mode.label()
        );
        let workloads: Vec<&str> = path
            .measurements
            .iter()
            .map(|m| m.workload.as_str())
            .collect();
        let expected: Vec<String> = bochsfb_bench::WORKLOADS.iter().map(|w| w.name()).collect();
        ensure!(
            workloads == expected,
            "{} ran {workloads:?}, expected {expected:?}",
            path.path
        );
        for m in &path.measurements {
            ensure!(
                positive(&m.runs),
                "{} {}: a run measured nothing",
                m.path,
                m.workload
            );
        }
    }
    Ok(())
}

/// Compares a screenshot with the test image the path drew last.
pub fn check_screenshot(png: &Path, path: &bochsfb_bench::PathReport) -> Result<()> {
    let image = image::open(png)
        .with_context(|| format!("cannot read screenshot {}", png.display()))?
        .to_rgb8();
    pattern::check_screenshot(
        image.as_raw(),
        image.dimensions(),
        &path.geometry,
        path.final_pattern,
    )
    .map_err(anyhow::Error::msg)
    .with_context(|| format!("{} ({})", path.path, png.display()))
}

/// Everything `results.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchResults {
    /// The command that produced these results.
    pub command: String,
    /// `TCG` or `KVM`.
    pub accel: String,
    pub qemu_version: String,
    pub host_cpu: String,
    pub options: BenchOptions,
    /// Wall time of the whole benchmark.
    pub seconds: f64,
    pub guests: Vec<GuestRun>,
    /// Medians, minima and maxima per mode, path and workload.
    pub summary: Vec<stats::Row>,
}

/// Runs the benchmark in every mode for both drivers.
pub fn run(artifacts: &Artifacts, options: &BenchOptions, out: &Path) -> Result<BenchResults> {
    let start = Instant::now();
    let screenshot_dir = out.join("screenshots");
    std::fs::create_dir_all(&screenshot_dir)
        .with_context(|| format!("cannot create {}", screenshot_dir.display()))?;
    let mut guests = Vec::new();
    for &mode in options.modes() {
        for driver in DRIVERS {
            if vm_config(driver, mode, options.accel).is_none() {
                eprintln!(
                    "bench: {} cannot show {}, skipped",
                    driver.name(),
                    mode.label()
                );
                continue;
            }
            eprintln!("bench: {} in {}", driver.name(), mode.label());
            guests.push(run_guest(
                artifacts,
                options,
                driver,
                mode,
                &screenshot_dir,
            )?);
        }
    }
    let summary = guests.iter().flat_map(stats::rows).collect();
    Ok(BenchResults {
        command: command_line(options),
        accel: options.accel.name().into(),
        qemu_version: qemu_version(),
        host_cpu: host_cpu(),
        options: options.clone(),
        seconds: start.elapsed().as_secs_f64(),
        guests,
        summary,
    })
}

/// Writes `results.json`, `results.md` and the charts into `out`; returns their paths.
pub fn write_results(results: &BenchResults, out: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let json = out.join("results.json");
    std::fs::write(&json, serde_json::to_string_pretty(results)? + "\n")
        .with_context(|| format!("cannot write {}", json.display()))?;
    let mut written = vec![json];
    written.extend(chart::draw_all(results, out)?);
    let markdown = out.join("results.md");
    let charts: Vec<String> = written[1..]
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    std::fs::write(&markdown, report::markdown(results, &charts))
        .with_context(|| format!("cannot write {}", markdown.display()))?;
    written.push(markdown);
    Ok(written)
}

/// Fails, naming them, if any screenshot did not show its path's test image.
pub fn check_pixels(results: &BenchResults) -> Result<()> {
    let failed: Vec<String> = results
        .guests
        .iter()
        .flat_map(|g| &g.pixel_checks)
        .filter_map(|c| c.error.clone())
        .collect();
    if !failed.is_empty() {
        bail!(
            "final frames on screen were wrong:\n  {}",
            failed.join("\n  ")
        );
    }
    Ok(())
}

fn command_line(options: &BenchOptions) -> String {
    let mut command = String::from("cargo run -p qemu-bochs -- bench");
    if options.quick {
        command.push_str(" --quick");
    }
    if options.accel != Accel::Auto {
        command.push_str(&format!(" --accel {}", options.accel.name().to_lowercase()));
    }
    command
}

fn qemu_version() -> String {
    output_of(Command::new(QEMU).arg("--version"))
        .map(|v| v.lines().next().unwrap_or_default().to_string())
        .unwrap_or_else(|e| format!("unknown ({e:#})"))
}

fn host_cpu() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown", |(_, name)| name.trim());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{model}, {cores} cores")
}

#[cfg(test)]
mod tests {
    use super::*;
    use bochsfb_bench::paths::PATHS;
    use bochsfb_bench::{Geometry, Measurement, PathReport, Run, WORKLOADS};

    const MODE: Mode = Mode::new(640, 480, 32);

    fn run(bytes: u64) -> Run {
        Run {
            seconds: 0.02,
            frames: 2,
            ops: 2,
            bytes,
            syscalls: 0,
        }
    }

    fn report(driver: Driver) -> GuestReport {
        let paths = bochsfb_bench::paths::of_driver(driver)
            .enumerate()
            .map(|(i, p)| PathReport {
                path: p.name.into(),
                access: p.access,
                device: p.device.node().into(),
                geometry: Geometry {
                    width: 640,
                    height: 480,
                    bpp: 32,
                    stride: 2560,
                },
                final_pattern: i as u32 + 1,
                screenshot: format!("shot-{i}"),
                measurements: WORKLOADS
                    .iter()
                    .map(|w| Measurement {
                        path: p.name.into(),
                        workload: w.name(),
                        runs: vec![run(1_000_000); 3],
                    })
                    .collect(),
            })
            .collect();
        GuestReport {
            driver,
            kernel: "7.3.4".into(),
            quick: true,
            memcpy_bytes: 100,
            memcpy: vec![run(200); 3],
            null_syscall: vec![run(0); 3],
            paths,
        }
    }

    #[test]
    fn complete_reports_pass_and_gaps_are_named() {
        for driver in DRIVERS {
            check_complete(&report(driver), driver, MODE).unwrap();
        }
        let mut missing = report(Driver::Bochsfb);
        missing.paths.remove(1);
        let err = check_complete(&missing, Driver::Bochsfb, MODE).unwrap_err();
        assert!(err.to_string().contains("bochsfb write"), "{err}");

        let mut zero = report(Driver::BochsDrm);
        zero.paths[3].measurements[2].runs[1].bytes = 0;
        let err = check_complete(&zero, Driver::BochsDrm, MODE).unwrap_err();
        assert!(
            err.to_string().contains("drm dumb mmap sprite 8x8"),
            "{err}"
        );

        let err = check_complete(&report(Driver::Bochsfb), Driver::Bochsfb, QUICK_MODES[0]);
        assert!(err.is_ok());
        let other = Mode::new(1024, 768, 32);
        assert!(check_complete(&report(Driver::Bochsfb), Driver::Bochsfb, other).is_err());
    }

    #[test]
    fn the_c_driver_runs_32_bpp_modes_only_at_their_size() {
        let config = vm_config(Driver::BochsDrm, MODE, Accel::Tcg).unwrap();
        assert_eq!(config.driver, GuestDriver::BochsDrm);
        assert_eq!(config.kernel_args, ["video=640x480"]);
        assert!(vm_config(Driver::BochsDrm, Mode::new(1024, 768, 16), Accel::Tcg).is_none());
        let ours = vm_config(Driver::Bochsfb, Mode::new(1024, 768, 16), Accel::Tcg).unwrap();
        assert!(ours.module_params.contains(&("bpp".into(), "16".into())));
    }

    #[test]
    fn summary_and_report_cover_every_path_and_target() {
        let guests: Vec<GuestRun> = DRIVERS
            .map(|driver| GuestRun {
                mode: MODE,
                report: report(driver),
                pixel_checks: Vec::new(),
            })
            .to_vec();
        let summary: Vec<stats::Row> = guests.iter().flat_map(stats::rows).collect();
        assert_eq!(summary.len(), PATHS.len() * WORKLOADS.len());
        let results = BenchResults {
            command: "cargo run -p qemu-bochs -- bench --quick".into(),
            accel: "TCG".into(),
            qemu_version: "QEMU 7.2".into(),
            host_cpu: "cpu".into(),
            options: BenchOptions {
                quick: true,
                accel: Accel::Tcg,
                runs: 3,
                run_ms: 20,
            },
            seconds: 1.0,
            guests,
            summary,
        };
        let md = report::markdown(&results, &["chart.png".into()]);
        for needle in [
            "![chart.png](chart.png)",
            "| frame copy | 50.0 | 50.0 | 50.0 | 50.0 | 50.0 | 50.0 | 50.0 | 50.0 | 50.0 | 50.0 | 1.00× |",
            "mmap ≥ 20 × write, sprite 8x8",
            "our write() ≥ C fbdev write()",
            "Accelerator: **TCG**",
        ] {
            assert!(md.contains(needle), "{needle} missing from\n{md}");
        }
        check_pixels(&results).unwrap();
    }
}
