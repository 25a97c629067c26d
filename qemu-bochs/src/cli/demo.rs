//! `qemu-bochs demo`: one demo in the guest (or on the host), with its screenshot, and
//! optionally a live view, a window or a recording.

use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::builder::PossibleValuesParser;
use clap::Args;
use qemu_bochs::vm::{self, record};
use qemu_bochs::{paths, steps, Artifacts, Display, Vm, VmConfig};

use super::args::{cargo, wait_for_ctrl_c, VmArgs};

#[derive(Args)]
pub struct DemoArgs {
    #[command(flatten)]
    vm: VmArgs,
    /// The demo (`qemu-bochs demos` lists them).
    #[arg(long, default_value = "testcard", value_parser = PossibleValuesParser::new(bochsfb_demos::names()))]
    demo: String,
    /// How the demo reaches the screen (`drm` and `fbdev` with `--driver bochs-drm`; `auto`:
    /// the first that opens).
    #[arg(long, default_value = "mmap", value_parser = PossibleValuesParser::new(guest_backends()))]
    backend: String,
    /// Frames to draw [default: 150; 1 for a still picture (`testcard`); with `--vnc` or
    /// `--web`, and for `paint` with `--host`, 0]. 0 draws until Ctrl-C (or `q`) while the
    /// live view or window shows it.
    #[arg(long)]
    frames: Option<u64>,
    /// Run the demo on the host in a minifb window instead of in the guest.
    #[arg(long)]
    host: bool,
    /// No window, even if one is available.
    #[arg(long, conflicts_with = "window")]
    headless: bool,
    /// Show the screen in a window (fails without a graphical session).
    #[arg(long)]
    window: bool,
    /// How long the window stays up.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// After the demo, keep the guest (and its window or `--vnc` view) up until Ctrl-C.
    #[arg(long)]
    keep: bool,
    /// Record the guest's screen while the demo runs: FILE.gif, or FILE.png for an
    /// animated PNG.
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// Screendumps per second of the recording.
    #[arg(long, default_value_t = 10.0, requires = "record")]
    record_fps: f64,
    /// Scale the recording to this width (the gallery uses 320).
    #[arg(long, value_name = "PIXELS", requires = "record")]
    record_width: Option<u32>,
}

/// The backends a guest demo can use: the renderer's, without the host window and memory
/// (nothing on the guest's screen), and `auto`.
fn guest_backends() -> Vec<&'static str> {
    use bochsfb_renderer::backend::Kind;
    let mut names: Vec<&str> = Kind::ALL
        .into_iter()
        .filter(|k| !matches!(k, Kind::Window | Kind::Memory))
        .map(Kind::name)
        .collect();
    names.push("auto");
    names
}

impl DemoArgs {
    pub fn run(self) -> Result<ExitCode> {
        let name = self.demo.as_str();
        let info = bochsfb_demos::find(name).context("the value parser knows the demos")?;
        // Endless where someone can watch, and on the host window for a demo that waits
        // for input; one frame of a still picture.
        let endless = (self.vm.live() && self.record.is_none()) || (self.host && info.interactive);
        let frames = self.frames.unwrap_or(match (endless, info.still) {
            (true, _) => 0,
            (false, true) => 1,
            (false, false) => 150,
        });
        if self.host {
            return host_demo(name, frames);
        }
        let record = match &self.record {
            Some(_) if frames == 0 => bail!("--record needs a number of frames (`--frames N`)"),
            Some(path) => Some((
                record::output_path(path)?,
                record::Options {
                    fps: self.record_fps,
                    width: self.record_width,
                },
            )),
            None => None,
        };
        let backend = &self.backend;
        if frames == 0 {
            // Endless: the demo runs in the background of the guest while the live view (or
            // window) shows it, until Ctrl-C.
            let command = format!(
                "bochsfb-demo {name} --backend {backend} --frames 0 > /tmp/demo.log 2>&1 &"
            );
            self.live_demo(&command)?;
            return Ok(ExitCode::SUCCESS);
        }
        let command = format!(
            "bochsfb-demo {name} --backend {backend} --frames {frames} --screendump {name}"
        );
        self.guest_demo(&command, record)?;
        Ok(ExitCode::SUCCESS)
    }

    /// Runs `command` (which starts the demo in the background) and keeps the guest up until
    /// Ctrl-C, then shows what the demo printed and shuts down.
    fn live_demo(&self, command: &str) -> Result<()> {
        let args = &self.vm;
        let display = if self.window || (!self.headless && vm::window_display().is_some()) {
            Display::Window
        } else {
            Display::Headless
        };
        let config = VmConfig {
            own_process_group: true,
            ..args.config(display)?
        };
        if config.vnc_display.is_none() && display == Display::Headless {
            bail!(
                "`--frames 0` draws until Ctrl-C: give it a live view (`--web`, `--vnc`) or a window"
            );
        }
        let artifacts = Artifacts::for_demo(args.kernel())?;
        let vm = Vm::boot(&artifacts, &config)?;
        let _view = args.live_view(&config)?;
        let out = vm.run(command, Duration::from_secs(60))?;
        if out.status != 0 {
            bail!("`{command}` failed with status {}", out.status);
        }
        wait_for_ctrl_c("demo")?;
        // Each guest command is its own shell: stop the demo by name (it ends its loop on
        // SIGINT).
        let log = vm.run(
            "killall -INT bochsfb-demo; sleep 1; cat /tmp/demo.log",
            Duration::from_secs(60),
        )?;
        eprint!("{}", log.output);
        vm.shutdown()
    }

    /// A finite demo run in the guest (`command`), and what happens around it: the screenshot,
    /// the window, `--keep`, the recording (to this file, with these options).
    fn guest_demo(&self, command: &str, record: Option<(PathBuf, record::Options)>) -> Result<()> {
        let args = &self.vm;
        let name = self.demo.as_str();
        let seconds = Duration::from_secs(self.seconds);
        let keep = self.keep;
        let display = if self.headless {
            Display::Headless
        } else if self.window || vm::window_display().is_some() {
            Display::Window
        } else {
            eprintln!("demo: no graphical session or QEMU UI module, running headless");
            Display::Headless
        };
        let started = Instant::now();
        let artifacts = Artifacts::for_demo(args.kernel())?;
        // A first run: say where the time went.
        let first_run = started.elapsed() > Duration::from_secs(60);
        let demo_dir = paths::out_dir().join("demo");
        let config = VmConfig {
            screenshot_dir: Some(demo_dir.clone()),
            own_process_group: keep,
            ..args.config(display)?
        };
        let boot_started = Instant::now();
        let vm = steps::phase("demo: boot", || Vm::boot(&artifacts, &config))?;
        let _view = args.live_view(&config)?;

        let run = || {
            vm.run_with(command, Duration::from_secs(600), |line| {
                eprintln!("guest| {line}")
            })
        };
        let out = match &record {
            Some((path, options)) => {
                let (out, frames) = record::record_while(&vm, options, run)?;
                record::save(&frames, path)?;
                out
            }
            None => run()?,
        };
        if out.status != 0 {
            bail!("`{command}` failed with status {}", out.status);
        }
        let png = demo_dir.join(format!("{name}.png"));
        if !out.screenshots.contains(&png) || !png.exists() {
            bail!("{name} did not ask for the `{name}` screenshot");
        }
        println!("{}", png.display());

        if keep {
            wait_for_ctrl_c("demo")?;
        } else if display == Display::Window {
            eprintln!("demo: window stays up for {} s", seconds.as_secs());
            std::thread::sleep(seconds);
        }
        // Fails on any kernel report in the serial log.
        vm.shutdown()?;
        if first_run {
            eprintln!(
                "\n==> phases (the demo itself, boot to shutdown: {} s)\n{}",
                boot_started.elapsed().as_secs(),
                steps::phase_summary()
            );
            eprintln!(
                "demo: {} s from start to screenshot",
                started.elapsed().as_secs()
            );
        }
        Ok(())
    }
}

/// Runs `bochsfb-demo NAME --backend window` on the host (feature `window`).
fn host_demo(name: &str, frames: u64) -> Result<ExitCode> {
    let status = Command::new(cargo())
        .current_dir(paths::repo_root())
        .args([
            "run",
            "--release",
            "-p",
            "bochsfb-demos",
            "--features",
            "window",
            "--bin",
            "bochsfb-demo",
            "--",
        ])
        .args([name, "--backend", "window", "--frames", &frames.to_string()])
        .status()
        .context("cannot run cargo")?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
