//! `qemu-bochs bench`: mmap versus write. Boots one guest per driver and
//! mode, runs `bochsfb-bench` in it, checks each path's final frame on the
//! screen, and writes `results.json`, `results.md` and PNG charts.

pub mod chart;
pub mod curve;
pub mod report;
pub mod stats;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use bochsfb_bench::{pattern, Driver, GuestReport};
use bochsfb_renderer::Mode;
use serde::{Deserialize, Serialize};

use crate::steps::output_of;
use crate::vm::QEMU;
use crate::{Accel, Artifacts, Vm, VmConfig};

/// `--mode`: `WIDTHxHEIGHTxBPP` (all three; 16, 24 or 32 bpp), rows packed.
pub fn parse_mode(s: &str) -> Result<Mode, String> {
    let [_, _, bpp] = s.split('x').collect::<Vec<_>>()[..] else {
        return Err(format!("`{s}` is not WIDTHxHEIGHTxBPP"));
    };
    match bpp.parse::<u32>() {
        Ok(16 | 24 | 32) => s.parse(),
        Ok(bpp) => Err(format!("{bpp} bpp: the benchmark runs 16, 24 or 32")),
        Err(_) => Err(format!("`{s}` is not WIDTHxHEIGHTxBPP")),
    }
}

/// The mode of the full benchmark, where the sweep and its cost model are measured.
pub const FULL_MODES: &[Mode] = &[Mode::xrgb8888(1024, 768)];
/// `--quick`: one small mode, enough to prove every path works.
pub const QUICK_MODES: &[Mode] = &[Mode::xrgb8888(640, 480)];
/// Every driver: ours (both faces), the kernel's C DRM driver, and the classic fbdev driver
/// vesafb.
pub const DRIVERS: [Driver; 4] = [
    Driver::Bochsfb,
    Driver::BochsfbDrm,
    Driver::BochsDrm,
    Driver::Vesafb,
];
/// Boots per driver of the full benchmark: the spread between boots is part of the noise.
pub const FULL_BOOTS: usize = 2;
/// Timed runs per path and workload, and the least length of one, unless asked otherwise.
pub const DEFAULT_RUNS: usize = 5;
pub const DEFAULT_RUN_MS: u64 = 250;

/// The VBE mode number (SeaBIOS's VGA BIOS for the bochs card) that `vga=` asks for, plus
/// the 0x200 that marks a VESA mode on the Linux command line.
pub fn vga_parameter(mode: Mode) -> Option<String> {
    let vbe = match (mode.width, mode.height, mode.bpp) {
        (640, 480, 16) => 0x111,
        (800, 600, 16) => 0x114,
        (1024, 768, 16) => 0x117,
        (640, 480, 32) => 0x142,
        (800, 600, 32) => 0x143,
        (1024, 768, 32) => 0x144,
        (1280, 1024, 32) => 0x145,
        _ => return None,
    };
    Some(format!("vga=0x{:x}", vbe + 0x200))
}

/// What `qemu-bochs bench` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BenchOptions {
    pub quick: bool,
    #[serde(skip)]
    pub accel: Accel,
    /// Timed runs per path and workload per boot (the guest's `--runs`), in interleaved rounds.
    pub runs: usize,
    /// Minimum length of one run in ms (the guest's `--run-ms`).
    pub run_ms: u64,
    /// Boots per driver and mode.
    #[serde(default = "one")]
    pub boots: usize,
    /// The modes; empty for the default ([`FULL_MODES`], or [`QUICK_MODES`] with `quick`).
    #[serde(default)]
    pub modes: Vec<Mode>,
}

fn one() -> usize {
    1
}

impl BenchOptions {
    pub fn modes(&self) -> &[Mode] {
        if !self.modes.is_empty() {
            &self.modes
        } else if self.quick {
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
/// cannot show the mode (the DRM paths draw XRGB8888 only).
pub fn vm_config(driver: Driver, mode: Mode, accel: Accel) -> Option<VmConfig> {
    let config = VmConfig {
        accel,
        driver,
        // 1920x1080x32 is 8 MiB; room to spare.
        vgamem_mb: 16,
        ..VmConfig::default()
    };
    match driver {
        Driver::Bochsfb => Some(VmConfig {
            module_params: [
                ("width", mode.width),
                ("height", mode.height),
                ("bpp", mode.bpp),
            ]
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .to_vec(),
            ..config
        }),
        Driver::BochsfbDrm if mode.bpp == 32 => Some(VmConfig {
            // No console turns the output on: the DRM path takes the EDID's preferred mode.
            edid_mode: Some((mode.width, mode.height)),
            ..config
        }),
        Driver::BochsDrm if mode.bpp == 32 => Some(VmConfig {
            // The fbdev emulation takes this mode; the DRM path keeps it.
            kernel_args: vec![format!("video={}x{}", mode.width, mode.height)],
            ..config
        }),
        Driver::BochsfbDrm | Driver::BochsDrm => None,
        Driver::Vesafb => Some(VmConfig {
            kernel_args: vec![vga_parameter(mode)?],
            ..config
        }),
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
    /// 0 for the first boot of this driver in this mode, 1 for the second…
    #[serde(default)]
    pub boot: usize,
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
    boot: usize,
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
            // The next boot's screenshots must not overwrite this one's.
            let kept = screenshot_dir.join(format!("{}-boot{}.png", path.screenshot, boot + 1));
            let screenshot = match std::fs::rename(&screenshot, &kept) {
                Ok(()) => kept,
                Err(_) => screenshot,
            };
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
        boot,
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
        let flips = bochsfb_bench::paths::PATHS
            .iter()
            .any(|p| p.name == path.path && p.flips());
        let flipped = !path.flips.is_empty()
            && path.flips.iter().all(|f| {
                f.seconds > 0.0
                    && !f.latencies_us.is_empty()
                    && f.latencies_us.iter().all(|&us| us > 0.0)
            });
        ensure!(
            flipped == flips,
            "{}: {}",
            path.path,
            if flips {
                "a flip run measured nothing"
            } else {
                "flip runs on a path that has no flips"
            }
        );
        // Every size counted, in order, each to its refusal or the cap.
        let sizes: Vec<(u32, u32)> = path.buffers.iter().map(|b| (b.width, b.height)).collect();
        let counted = sizes == bochsfb_bench::BUFFER_SIZES
            && path.buffers.iter().all(|b| {
                (b.refused_errno.is_some() || b.given == bochsfb_bench::BUFFER_CAP) && b.rounds > 0
            });
        ensure!(
            if flips {
                counted
            } else {
                path.buffers.is_empty()
            },
            "{}: {}",
            path.path,
            if flips {
                "the dumb buffer count is not of every size, or stopped short of a refusal"
            } else {
                "dumb buffers counted on a path that has none"
            }
        );
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
    // Derived from `guests` by `analyse`: written for readers, never read back.
    /// Medians, minima and maxima per mode, path and workload, every boot pooled.
    #[serde(default, skip_deserializing)]
    pub summary: Vec<stats::Row>,
    /// mmap over write per call size, for every write-style path, with intervals.
    #[serde(default, skip_deserializing)]
    pub curve: Vec<curve::CurvePoint>,
    /// The per-call cost model of every path.
    #[serde(default, skip_deserializing)]
    pub models: Vec<stats::CostModel>,
    /// Every ratio the report shows (mmap over write per workload, ours over the peers), with
    /// its interval.
    #[serde(default, skip_deserializing)]
    pub ratios: Vec<curve::NamedRatio>,
    /// Page flips of every DRM path: request-to-event latency and flip rate.
    #[serde(default, skip_deserializing)]
    pub flips: Vec<stats::FlipRow>,
    /// Dumb buffers per size of every DRM path, until its refusal.
    #[serde(default, skip_deserializing)]
    pub buffers: Vec<stats::BufferRow>,
}

impl BenchResults {
    /// Puts the summary, the curve and the models together from the guests' runs.
    pub fn analyse(&mut self) {
        self.summary = stats::rows(&self.guests);
        self.curve = curve::points(&self.summary);
        self.models = curve::models(&self.summary);
        self.flips = stats::flip_rows(&self.guests);
        self.buffers = stats::buffer_rows(&self.guests);
        self.ratios = curve::ratios(&self.summary, &self.flips);
    }
}

/// Runs the benchmark in every mode for both drivers.
pub fn run(artifacts: &Artifacts, options: &BenchOptions, out: &Path) -> Result<BenchResults> {
    let start = Instant::now();
    let screenshot_dir = out.join("screenshots");
    std::fs::create_dir_all(&screenshot_dir)
        .with_context(|| format!("cannot create {}", screenshot_dir.display()))?;
    let mut guests = Vec::new();
    // Boots interleave too: every driver once, then every driver again.
    for boot in 0..options.boots.max(1) {
        for &mode in options.modes() {
            for driver in DRIVERS {
                if vm_config(driver, mode, options.accel).is_none() {
                    if boot == 0 {
                        eprintln!(
                            "bench: {} cannot show {}, skipped",
                            driver.name(),
                            mode.label()
                        );
                    }
                    continue;
                }
                eprintln!(
                    "bench: {} in {}, boot {}/{} ({:.0} s so far)",
                    driver.name(),
                    mode.label(),
                    boot + 1,
                    options.boots.max(1),
                    start.elapsed().as_secs_f64()
                );
                guests.push(run_guest(
                    artifacts,
                    options,
                    driver,
                    mode,
                    boot,
                    &screenshot_dir,
                )?);
            }
        }
    }
    let mut results = BenchResults {
        command: command_line(options),
        accel: options.accel.name().into(),
        qemu_version: qemu_version(),
        host_cpu: host_cpu(),
        options: options.clone(),
        seconds: start.elapsed().as_secs_f64(),
        guests,
        summary: Vec::new(),
        curve: Vec::new(),
        models: Vec::new(),
        ratios: Vec::new(),
        flips: Vec::new(),
        buffers: Vec::new(),
    };
    results.analyse();
    Ok(results)
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
        if options.boots != 1 {
            command.push_str(&format!(" --boots {}", options.boots));
        }
    } else {
        // `--quick` sets its own runs; otherwise every figure that is not the default.
        if options.boots != FULL_BOOTS {
            command.push_str(&format!(" --boots {}", options.boots));
        }
        if options.runs != DEFAULT_RUNS {
            command.push_str(&format!(" --runs {}", options.runs));
        }
        if options.run_ms != DEFAULT_RUN_MS {
            command.push_str(&format!(" --run-ms {}", options.run_ms));
        }
    }
    if options.accel != Accel::Auto {
        command.push_str(&format!(" --accel {}", options.accel.name().to_lowercase()));
    }
    for mode in &options.modes {
        command.push_str(&format!(" --mode {}", mode.label()));
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
    use bochsfb_bench::{BufferCount, FlipRun, Measurement, PathReport, Run, WORKLOADS};
    use bochsfb_renderer::PixelFormat;

    const MODE: Mode = Mode::xrgb8888(640, 480);
    /// What the guest reports for [`MODE`]: the same, with the driver's stride.
    const GEOMETRY: Mode = Mode {
        stride: 2560,
        ..MODE
    };

    /// 100 ops of `bytes` each at `fixed_us + bytes / 1000` µs per op (1 ns per byte), with
    /// `jitter` spreading the runs.
    fn run(bytes: u64, fixed_us: f64, jitter: f64) -> Run {
        let seconds = 100.0 * (fixed_us + bytes as f64 / 1000.0) * 1e-6 * (1.0 + jitter);
        Run {
            seconds,
            frames: 10,
            ops: 100,
            bytes: 100 * bytes,
            syscalls: 0,
            cpu_seconds: seconds,
            present_seconds: 0.0,
        }
    }

    /// Ten flips, each `ms` ± 10%.
    fn flip_run(ms: f64) -> FlipRun {
        let latencies_us: Vec<f64> = (0..10)
            .map(|i| ms * (0.9 + 0.02 * i as f64) * 1e3)
            .collect();
        FlipRun {
            seconds: latencies_us.iter().sum::<f64>() / 1e6,
            latencies_us,
            cpu_seconds: 0.01,
        }
    }

    /// Buffers per size: bochsfb's face 4 of each, then ENOMEM, 300 µs a call; the C driver up
    /// to the cap, 40 µs a call; ten rounds each.
    fn buffer_counts(driver: Driver) -> Vec<BufferCount> {
        let ours = driver == Driver::BochsfbDrm;
        let (given, us) = if ours {
            (4, 300.0)
        } else {
            (bochsfb_bench::BUFFER_CAP, 40.0)
        };
        bochsfb_bench::BUFFER_SIZES
            .map(|(width, height)| BufferCount {
                width,
                height,
                given,
                rounds: 10,
                create_seconds: 10.0 * given as f64 * us * 1e-6,
                refused_errno: ours.then_some(12),
            })
            .to_vec()
    }

    /// A report in which write-style paths pay 3 µs per call and mmap paths 0.1 µs.
    fn report(driver: Driver) -> GuestReport {
        let paths = bochsfb_bench::paths::of_driver(driver)
            .enumerate()
            .map(|(i, p)| PathReport {
                path: p.name.into(),
                access: p.access,
                device: p.device.node().into(),
                geometry: GEOMETRY,
                final_pattern: i as u32 + 1,
                screenshot: format!("shot-{i}"),
                measurements: WORKLOADS
                    .iter()
                    .map(|w| {
                        let bytes = w.call_size().map_or(10_000, |s| s.bytes(&GEOMETRY)) as u64;
                        let fixed = if p.is_write_style() { 3.0 } else { 0.1 };
                        Measurement {
                            path: p.name.into(),
                            workload: w.name(),
                            runs: [-0.01, 0.0, 0.01].map(|j| run(bytes, fixed, j)).to_vec(),
                        }
                    })
                    .collect(),
                // DRM paths: a flip every 16 ms, the C driver's 20% later.
                flips: if p.flips() {
                    let ms = if p.driver == Driver::BochsDrm {
                        20.0
                    } else {
                        16.0
                    };
                    vec![flip_run(ms); 3]
                } else {
                    Vec::new()
                },
                buffers: if p.flips() {
                    buffer_counts(p.driver)
                } else {
                    Vec::new()
                },
            })
            .collect();
        GuestReport {
            driver,
            kernel: "7.3.4".into(),
            cpus: 1,
            quick: true,
            clock_resolution_ns: 4_000_000,
            memcpy_bytes: 100,
            memcpy: vec![run(1_000_000, 0.0, 0.0); 3],
            null_syscall: vec![
                Run {
                    bytes: 0,
                    ..run(0, 1.0, 0.0)
                };
                3
            ],
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

        let other = Mode::xrgb8888(1024, 768);
        assert!(check_complete(&report(Driver::Bochsfb), Driver::Bochsfb, other).is_err());

        let mut unflipped = report(Driver::BochsfbDrm);
        unflipped.paths[0].flips.clear();
        let err = check_complete(&unflipped, Driver::BochsfbDrm, MODE).unwrap_err();
        assert!(
            err.to_string().contains("bochsfb dumb mmap: a flip run"),
            "{err}"
        );
        let mut empty = report(Driver::BochsDrm);
        empty.paths[3].flips[1].latencies_us.clear();
        assert!(check_complete(&empty, Driver::BochsDrm, MODE).is_err());
        let mut stray = report(Driver::Bochsfb);
        stray.paths[0].flips.push(flip_run(16.0));
        assert!(check_complete(&stray, Driver::Bochsfb, MODE).is_err());
        let mut short = report(Driver::BochsfbDrm);
        short.paths[0].buffers.pop();
        let err = check_complete(&short, Driver::BochsfbDrm, MODE).unwrap_err();
        assert!(err.to_string().contains("dumb buffer count"), "{err}");
        let mut unrefused = report(Driver::BochsfbDrm);
        unrefused.paths[0].buffers[2].refused_errno = None;
        assert!(check_complete(&unrefused, Driver::BochsfbDrm, MODE).is_err());
        let mut stray = report(Driver::Bochsfb);
        stray.paths[0].buffers = buffer_counts(Driver::BochsfbDrm);
        assert!(check_complete(&stray, Driver::Bochsfb, MODE).is_err());
    }

    #[test]
    fn the_reproduce_line_names_every_option_that_is_not_the_default() {
        let options = |quick, boots, runs, run_ms| BenchOptions {
            quick,
            accel: Accel::Tcg,
            runs,
            run_ms,
            boots,
            modes: Vec::new(),
        };
        assert_eq!(
            command_line(&options(false, FULL_BOOTS, DEFAULT_RUNS, DEFAULT_RUN_MS)),
            "cargo run -p qemu-bochs -- bench --accel tcg"
        );
        assert_eq!(
            command_line(&options(false, 1, 3, 100)),
            "cargo run -p qemu-bochs -- bench --boots 1 --runs 3 --run-ms 100 --accel tcg"
        );
        assert_eq!(
            command_line(&options(true, 1, DEFAULT_RUNS, DEFAULT_RUN_MS)),
            "cargo run -p qemu-bochs -- bench --quick --accel tcg"
        );
    }

    #[test]
    fn each_driver_boots_as_it_must_for_its_mode() {
        let config = vm_config(Driver::BochsDrm, MODE, Accel::Tcg).unwrap();
        assert_eq!(config.driver, Driver::BochsDrm);
        assert_eq!(config.kernel_args, ["video=640x480"]);
        let face = vm_config(Driver::BochsfbDrm, MODE, Accel::Tcg).unwrap();
        assert_eq!(
            (face.driver, face.edid_mode),
            (Driver::BochsfbDrm, Some((640, 480)))
        );
        assert!(vm_config(
            Driver::BochsfbDrm,
            Mode::packed(640, 480, PixelFormat::Rgb565),
            Accel::Tcg
        )
        .is_none());
        assert!(vm_config(
            Driver::BochsDrm,
            Mode::packed(1024, 768, PixelFormat::Rgb565),
            Accel::Tcg
        )
        .is_none());
        let ours = vm_config(
            Driver::Bochsfb,
            Mode::packed(1024, 768, PixelFormat::Rgb565),
            Accel::Tcg,
        )
        .unwrap();
        assert!(ours.module_params.contains(&("bpp".into(), "16".into())));
        // VBE 0x144 is 1024x768x32 in SeaBIOS's bochs VGA BIOS; vga= adds 0x200.
        let vesa = vm_config(Driver::Vesafb, Mode::xrgb8888(1024, 768), Accel::Tcg).unwrap();
        assert_eq!(
            (vesa.driver, vesa.kernel_args),
            (Driver::Vesafb, vec!["vga=0x344".into()])
        );
        assert!(vm_config(Driver::Vesafb, Mode::xrgb8888(1000, 700), Accel::Tcg).is_none());
        assert_eq!(parse_mode("1024x768x32"), Ok(Mode::xrgb8888(1024, 768)));
        assert!(parse_mode("1024x768").is_err());
        assert!(parse_mode("1024x768x8").unwrap_err().contains("8 bpp"));
    }

    #[test]
    fn boots_pool_and_the_report_gives_curve_model_and_targets() {
        let guests: Vec<GuestRun> = (0..2)
            .flat_map(|boot| {
                DRIVERS.map(|driver| GuestRun {
                    mode: MODE,
                    boot,
                    report: report(driver),
                    pixel_checks: Vec::new(),
                })
            })
            .collect();
        let mut results = BenchResults {
            command: "cargo run -p qemu-bochs -- bench --quick".into(),
            accel: "TCG".into(),
            qemu_version: "QEMU 7.2".into(),
            host_cpu: "cpu".into(),
            options: BenchOptions {
                quick: true,
                accel: Accel::Tcg,
                runs: 3,
                run_ms: 20,
                boots: 2,
                modes: Vec::new(),
            },
            seconds: 1.0,
            guests,
            summary: Vec::new(),
            curve: Vec::new(),
            models: Vec::new(),
            ratios: Vec::new(),
            flips: Vec::new(),
            buffers: Vec::new(),
        };
        results.analyse();
        // Buffers: every size of both DRM paths, two boots pooled.
        assert_eq!(results.buffers.len(), 2 * bochsfb_bench::BUFFER_SIZES.len());
        let counted: Vec<(&str, f64, Option<i32>, usize)> = results
            .buffers
            .iter()
            .filter(|b| b.width == 640)
            .map(|b| (b.path.as_str(), b.given.median, b.refused_errno, b.boots))
            .collect();
        assert_eq!(
            counted,
            [
                ("bochsfb dumb mmap", 4.0, Some(12), 2),
                ("drm dumb mmap", 64.0, None, 2)
            ]
        );
        // Flips: both DRM paths, two boots of three runs of ten pooled; ours 0.8× the C
        // driver's latency and 1.25× its rate.
        let flipped: Vec<(&str, usize, usize)> = results
            .flips
            .iter()
            .map(|f| (f.path.as_str(), f.runs, f.flips))
            .collect();
        assert_eq!(
            flipped,
            [("bochsfb dumb mmap", 6, 60), ("drm dumb mmap", 6, 60)]
        );
        let ours = &results.flips[0];
        assert!(
            (ours.latency_ms.median - 16.0 * 1.0).abs() < 0.2,
            "{ours:?}"
        );
        assert!(
            ours.latency_ms.p10 < ours.latency_ms.median
                && ours.latency_ms.median < ours.latency_ms.p90
        );
        let flip_ratio = |workload: &str| {
            results
                .ratios
                .iter()
                .find(|r| r.workload == workload && r.path == "bochsfb dumb mmap")
                .map(|r| r.ratio.value)
                .unwrap()
        };
        assert!((flip_ratio(curve::FLIP_LATENCY) - 0.8).abs() < 1e-9);
        assert!((flip_ratio(curve::FLIP_RATE) - 1.25).abs() < 1e-9);
        assert!((flip_ratio(curve::FLIP_CPU) - 1.0).abs() < 1e-9);
        assert!(results
            .ratios
            .iter()
            .any(|r| r.path == "bochsfb mmap" && r.over == "vesafb mmap"));
        assert!(results.ratios.iter().any(|r| r.path == "bochsfb mmap"
            && r.over == "bochsfb write"
            && r.workload == "frame copy"));
        assert_eq!(results.summary.len(), PATHS.len() * WORKLOADS.len());
        assert!(results.summary.iter().all(|r| r.boots == 2 && r.runs == 6));
        // The model recovers what the fake runs were built from.
        assert_eq!(results.models.len(), PATHS.len());
        for model in &results.models {
            let fixed = if model.path.contains("write") {
                3.0
            } else {
                0.1
            };
            assert!(
                (model.fixed_us.value - fixed).abs() < 0.05 * fixed,
                "{model:?}"
            );
            assert!((model.ns_per_byte.value - 1.0).abs() < 0.02, "{model:?}");
        }
        // One point per write-style path and size; 4-byte calls: (3 + 0.004) / (0.1 + 0.004).
        let write_paths = PATHS.iter().filter(|p| p.is_write_style()).count();
        assert_eq!(
            results.curve.len(),
            write_paths * bochsfb_bench::sweep().count()
        );
        let four = &results.curve[0];
        assert_eq!(
            (four.path.as_str(), four.workload.as_str()),
            ("bochsfb write", "calls of 4 B")
        );
        assert!((four.ratio.value - 3.004 / 0.104).abs() < 0.01, "{four:?}");
        let md = report::markdown(&results, &["chart.png".into()]);
        for needle in [
            "![chart.png](chart.png)",
            "bochsfb write: bochsfb mmap wins 29× at 4 B calls",
            "| 4 B | 29× [",
            "| bochsfb write | 3.00 [",
            "full-frame `bochsfb write` ≥ 0.8 × our mmap full-frame copy",
            "4-byte `bochsfb pwrite` minus a null syscall ≤ vesafb's",
            "Accelerator: **TCG**",
            "booted 2 time(s)",
            "| bochsfb dumb mmap | 6 | 60 | 15.84 [",
            "bochsfb dumb mmap ÷ drm dumb mmap (95% bootstrap interval): median latency 0.80×",
            "advances in steps of 4.000 ms",
            "| bochsfb dumb mmap | 640x480 | 4 (4–4) | 300 (300–300) | ENOMEM |",
            "| drm dumb mmap | 640x480 | 64 (64–64) | 40.0 (40.0–40.0) | none up to 64 |",
        ] {
            assert!(md.contains(needle), "{needle} missing from\n{md}");
        }
        assert!(!md.contains("NaN") && !md.contains("inf"), "{md}");
        check_pixels(&results).unwrap();
    }
}
