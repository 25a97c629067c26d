//! `qemu-bochs`: build the guest, boot it, run the demo or the tests.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::builder::PossibleValuesParser;
use clap::{Args, Parser, Subcommand};
use qemu_bochs::bench::BenchOptions;
use qemu_bochs::kernel_build::KernelVariant;
use qemu_bochs::{
    artifacts, paths, protocol, steps, style, vm, Accel, Artifacts, BuildOptions, Display,
    GuestDriver, Vm, VmConfig,
};

#[derive(Parser)]
#[command(
    name = "qemu-bochs",
    version,
    about = "Build the bochsfb guest and run it in QEMU"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Install prerequisites; build the kernel, module, guest programs and initramfs.
    Build {
        /// Which guest kernel: standard, or debug (KASAN, lockdep, DEBUG_VM, ...).
        #[arg(long, value_enum, default_value_t = KernelVariant::Standard)]
        kernel: KernelVariant,
    },
    /// Build, boot, run a demo (default: the test card) and save out/demo/<demo>.png.
    Demo {
        #[command(flatten)]
        vm: VmArgs,
        /// The demo (`qemu-bochs demos` lists them).
        #[arg(long, default_value = "testcard", value_parser = PossibleValuesParser::new(bochsfb_demos::DEMOS))]
        demo: String,
        /// How the demo reaches the screen (`drm` and `fbdev` with `--driver bochs-drm`; `auto`:
        /// the first that opens).
        #[arg(long, default_value = "mmap", value_parser = PossibleValuesParser::new(guest_backends()))]
        backend: String,
        /// Frames to draw [default: 150; with `--vnc` or `--web`, and for `paint` with
        /// `--host`, 0]. 0 draws until Ctrl-C (or `q`) while the live view or window shows it.
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
    },
    /// List the demos, one line each.
    Demos,
    /// Record every demo in one guest as an animated GIF for the README gallery
    /// (docs/gallery/NAME.gif, scaled down to stay small).
    Gallery {
        #[command(flatten)]
        vm: VmArgs,
        /// Where the recordings go.
        #[arg(long, default_value = "docs/gallery")]
        out: PathBuf,
        /// Frames each demo draws (at 30 fps).
        #[arg(long, default_value_t = 75)]
        frames: u64,
        /// Width of the recordings.
        #[arg(long, default_value_t = 256)]
        width: u32,
        /// Screendumps per second.
        #[arg(long, default_value_t = 8.0)]
        fps: f64,
    },
    /// Boot the guest with the driver loaded and give a prompt: each line typed runs in the
    /// guest (as its own shell command line); Ctrl-D ends it.
    Shell {
        #[command(flatten)]
        vm: VmArgs,
        /// Seconds one command may take.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
    /// Boot, run one guest shell command, print its output; exits with its status.
    Run {
        #[command(flatten)]
        vm: VmArgs,
        /// Seconds the command may take.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
        /// The guest command, after `--`: one argument is a shell command line as it is
        /// (`-- 'bochsfb-check badinput | tail -1'`); several are quoted one by one, so
        /// `-- echo 'a  b'` prints `a  b`.
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// mmap versus write: benchmark bochsfb, vesafb and the C bochs DRM driver, the
    /// call-size sweep and its cost model; writes results.json, results.md and PNG charts.
    Bench {
        /// One mode, one boot, short runs: proves every path works (minutes, not tens).
        #[arg(long)]
        quick: bool,
        /// Boots per driver (runs pool over them); default 2, 1 with --quick.
        #[arg(long)]
        boots: Option<usize>,
        /// Mode WIDTHxHEIGHTxBPP (repeatable); default 1024x768x32, 640x480x32 with --quick.
        #[arg(long = "mode", value_name = "WxHxBPP")]
        modes: Vec<qemu_bochs::bench::Mode>,
        /// CPU accelerator: auto tries KVM with a short boot and falls back to TCG (KVM hangs
        /// on the project's nested-PVM build machines); the report names the one that ran.
        #[arg(long, value_enum, default_value_t = Accel::Auto)]
        accel: Accel,
        /// Where results go.
        #[arg(long, default_value = "bench-results")]
        out: PathBuf,
        /// Timed runs per path and workload.
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Minimum length of one run, in milliseconds.
        #[arg(long, default_value_t = 250)]
        run_ms: u64,
        /// Boot nothing: redraw results.md and the charts from `<out>/results.json`.
        #[arg(long)]
        redraw: bool,
        /// The guest kernel to measure (the debug kernel's checks distort every figure).
        #[arg(long, value_enum, default_value_t = KernelVariant::Standard)]
        kernel: KernelVariant,
    },
    /// Coverage-guided fuzzing of the driver (`bochsfb-check kfuzz`, KCOV on the debug kernel):
    /// one boot; the corpus is kept in the cache for the next run; a finding fails the command
    /// with its minimised reproducer (across boots if it wedges the card) in out/fuzz/.
    Fuzz {
        /// Minutes of fuzzing in the guest.
        #[arg(long, default_value_t = 10)]
        minutes: u64,
        /// Seed (printed; default: from the clock).
        #[arg(long)]
        seed: Option<u64>,
        /// Guest kernel (the standard one has no KCOV: unguided).
        #[arg(long, value_enum, default_value_t = KernelVariant::Debug)]
        kernel: KernelVariant,
        /// Corpus directory [default: <cache>/fuzz-corpus].
        #[arg(long)]
        corpus: Option<PathBuf>,
        /// Start from the seed corpus alone and keep nothing.
        #[arg(long, conflicts_with = "corpus")]
        no_corpus: bool,
        /// Boots to spend minimising a finding that wedges the card.
        #[arg(long, default_value_t = 8)]
        minimize_boots: u32,
        /// Seconds the guest may spend minimising in one boot.
        #[arg(long, default_value_t = 180)]
        minimize_seconds: u64,
        /// CPU accelerator (see `run --help`).
        #[arg(long, value_enum, default_value_t = Accel::Tcg)]
        accel: Accel,
        /// Copy the guest console to stderr as it arrives.
        #[arg(long, short)]
        verbose: bool,
        /// More `bochsfb-check kfuzz` arguments, after `--` (`--ignore shadow-leak`, `--no-seeds`).
        #[arg(last = true)]
        guest_args: Vec<String>,
    },
    /// Build everything, then `cargo test` with BOCHSFB_ARTIFACTS set. Without `--kernel` and
    /// arguments: the style phase (`check`) first, every suite on the standard kernel, then the
    /// robustness suite (its ignored, debug-only tests included) and the harness's protocol
    /// tests on the debug kernel, with the time of each phase at the end. This is what CI runs.
    Test {
        /// Only this guest kernel: `standard` runs `cargo test --workspace [ARGS]`, `debug` the
        /// debug suite (or `cargo test --workspace ARGS`). With ARGS and no `--kernel`: standard.
        #[arg(long, value_enum)]
        kernel: Option<KernelVariant>,
        /// Extra arguments for `cargo test`, after `--`.
        #[arg(last = true)]
        cargo_args: Vec<String>,
    },
    /// The style phase alone, which `test` runs first (no kernel, well under a minute with
    /// warm caches): `cargo fmt --check`, rustfmt on `kmod/`, clippy and rustdoc with warnings
    /// denied, and the renderer without default features.
    Check,
}

#[derive(Args)]
struct VmArgs {
    /// Guest kernel: standard, or debug (KASAN, lockdep, DEBUG_VM, ...; built on first use).
    #[arg(long, value_enum, default_value_t = KernelVariant::Standard)]
    kernel: KernelVariant,
    /// CPU accelerator: auto tries KVM with a short boot (once per host kernel) and falls back
    /// to TCG (KVM hangs on the project's nested-PVM build machines).
    #[arg(long, value_enum, default_value_t = Accel::Auto)]
    accel: Accel,
    /// VRAM of the VGA card in MiB (power of two).
    #[arg(long, default_value_t = 16)]
    vgamem_mb: u32,
    /// Display driver the guest loads: bochsfb, or the kernel's C DRM driver to compare with.
    #[arg(long, value_enum, default_value_t = GuestDriver::Bochsfb)]
    driver: GuestDriver,
    /// Extra kernel command line word (repeatable), e.g. `video=640x480` for bochs-drm.
    #[arg(long = "kernel-arg", value_name = "WORD")]
    kernel_args: Vec<String>,
    /// Module parameter for bochsfb.ko (repeatable).
    #[arg(long = "param", value_name = "NAME=VALUE", value_parser = protocol::parse_module_param)]
    params: Vec<(String, String)>,
    /// Seconds from starting QEMU until the driver is loaded.
    #[arg(long, default_value_t = 120)]
    boot_timeout: u64,
    /// Copy the guest console to stderr as it arrives.
    #[arg(long, short)]
    verbose: bool,
    /// Serve the guest's screen over VNC on 127.0.0.1 (this machine only) and print how to
    /// connect.
    #[arg(long)]
    vnc: bool,
    /// Show the guest's screen in a browser (noVNC, on 127.0.0.1 only; implies `--vnc`) and
    /// print the URL.
    #[arg(long)]
    web: bool,
}

impl VmArgs {
    fn config(&self, display: Display) -> Result<VmConfig> {
        let vnc_display = match self.vnc || self.web {
            true => Some(
                vm::free_vnc_display().context("no free VNC port in 5901..5999 on 127.0.0.1")?,
            ),
            false => None,
        };
        Ok(VmConfig {
            vgamem_mb: self.vgamem_mb,
            accel: self.accel,
            display,
            driver: self.driver,
            module_params: self.params.clone(),
            kernel_args: self.kernel_args.clone(),
            echo_console: self.verbose,
            boot_timeout: Duration::from_secs(self.boot_timeout),
            vnc_display,
            ..VmConfig::default()
        })
    }
}

/// Starts the web view if asked, and tells the user how to watch the guest; the returned guard
/// keeps the web view up.
fn live_view(args: &VmArgs, config: &VmConfig) -> Result<Option<qemu_bochs::live_view::WebView>> {
    announce_vnc(config);
    match (args.web, config.vnc_display) {
        (true, Some(n)) => {
            let view = qemu_bochs::live_view::WebView::start(5900 + n)?;
            eprintln!(
                "web: open {} in a browser on this machine (from elsewhere: `ssh -L` to its port); \
                 keyboard and mouse there reach the guest",
                view.url
            );
            Ok(Some(view))
        }
        _ => Ok(None),
    }
}

/// Tells the user how to watch a guest served over VNC.
fn announce_vnc(config: &VmConfig) {
    if let Some(n) = config.vnc_display {
        let port = 5900 + u32::from(n);
        eprintln!(
            "vnc: the guest's screen is on 127.0.0.1:{port} (display :{n}), reachable from this \
             machine only. Connect a VNC client here (`vncviewer 127.0.0.1:{n}`, `gvncviewer \
             127.0.0.1:{n}`), or from another machine through `ssh -L {port}:127.0.0.1:{port} THIS-HOST` \
             and then `vncviewer 127.0.0.1:{n}` there."
        );
    }
}

/// Waits until Ctrl-C (or SIGTERM): the guest and its live view stay up meanwhile.
fn wait_for_ctrl_c(what: &str) -> Result<()> {
    bochsfb_renderer::stop_on_signals().context("cannot catch Ctrl-C")?;
    eprintln!("{what}: the guest stays up; Ctrl-C ends it");
    while !bochsfb_renderer::stop_requested() {
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("{what}: shutting the guest down");
    Ok(())
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

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Cmd::Build { kernel } => {
            qemu_bochs::build_all(&BuildOptions { kernel })?;
            println!("{}", artifacts::manifest_path_for(kernel).display());
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Demo {
            vm,
            demo: name,
            backend,
            frames,
            host,
            headless,
            window,
            seconds,
            keep,
            record,
            record_fps,
            record_width,
        } => {
            let live = vm.vnc || vm.web;
            // Endless where someone can watch, and on the host window for a demo that waits
            // for input.
            let endless =
                (live && record.is_none()) || (host && bochsfb_demos::is_interactive(&name));
            let frames = frames.unwrap_or(if endless { 0 } else { 150 });
            if host {
                return host_demo(&name, frames);
            }
            let record = match record {
                Some(_) if frames == 0 => bail!("--record needs a number of frames (`--frames N`)"),
                Some(path) => Some((
                    qemu_bochs::record::output_path(&path)?,
                    qemu_bochs::record::Options {
                        fps: record_fps,
                        width: record_width,
                    },
                )),
                None => None,
            };
            if frames == 0 {
                // Endless: the demo runs in the background of the guest while the live view (or
                // window) shows it, until Ctrl-C.
                let command = format!(
                    "bochsfb-demo {name} --backend {backend} --frames 0 > /tmp/demo.log 2>&1 &"
                );
                live_demo(&vm, &command, headless, window)?;
                return Ok(ExitCode::SUCCESS);
            }
            // The `testcard` program (mmap or write, and its draw time); any other backend
            // draws the same card through bochsfb-demo.
            let command = if name == "testcard" && matches!(backend.as_str(), "mmap" | "write") {
                format!("testcard --backend {backend} --screendump testcard")
            } else {
                format!(
                    "bochsfb-demo {name} --backend {backend} --frames {frames} --screendump {name}"
                )
            };
            demo(
                &vm,
                GuestDemo {
                    name: &name,
                    command,
                    headless,
                    window,
                    seconds: Duration::from_secs(seconds),
                    keep,
                    record,
                },
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Demos => {
            for name in bochsfb_demos::DEMOS {
                println!(
                    "{name:<11} {}",
                    bochsfb_demos::about(name).unwrap_or_default()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Gallery {
            vm,
            out,
            frames,
            width,
            fps,
        } => {
            gallery(
                &vm,
                &out,
                frames,
                &qemu_bochs::record::Options {
                    fps,
                    width: Some(width),
                },
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Shell { vm, timeout } => shell(&vm, Duration::from_secs(timeout)),
        Cmd::Run {
            vm,
            timeout,
            command,
        } => run_command(
            &vm,
            &protocol::shell_command(&command),
            Duration::from_secs(timeout),
        ),
        Cmd::Bench {
            quick,
            boots,
            modes,
            accel,
            out,
            runs,
            run_ms,
            redraw,
            kernel,
        } => {
            if redraw {
                return redraw_bench(&out).map(|()| ExitCode::SUCCESS);
            }
            let options = BenchOptions {
                quick,
                accel,
                runs,
                run_ms,
                boots: boots.unwrap_or(if quick {
                    1
                } else {
                    qemu_bochs::bench::FULL_BOOTS
                }),
                modes,
            };
            bench(kernel, &options, &out)?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Fuzz {
            minutes,
            seed,
            kernel,
            corpus,
            no_corpus,
            minimize_boots,
            minimize_seconds,
            accel,
            verbose,
            guest_args,
        } => {
            let artifacts = Artifacts::for_variant(kernel)?;
            let options = qemu_bochs::fuzz::FuzzOptions {
                seconds: minutes * 60,
                seed: seed.unwrap_or_else(clock_seed),
                corpus_dir: match (no_corpus, corpus) {
                    (true, _) => None,
                    (false, Some(dir)) => Some(dir),
                    (false, None) => Some(qemu_bochs::fuzz::default_corpus_dir()?),
                },
                guest_args,
                minimize_boots,
                minimize_seconds,
                vm: VmConfig {
                    accel,
                    echo_console: verbose,
                    ..VmConfig::default()
                },
                out_dir: paths::out_dir().join("fuzz"),
            };
            let clean = qemu_bochs::fuzz::command(&artifacts, &options)?;
            Ok(if clean {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Cmd::Test { kernel, cargo_args } => test(kernel, &cargo_args),
        Cmd::Check => {
            let result = steps::phase("style", style::run);
            eprintln!("\n==> phases\n{}", steps::phase_summary());
            result.map(|()| ExitCode::SUCCESS)
        }
    }
}

/// Runs `bochsfb-demo NAME --backend window` on the host (feature `window`).
fn host_demo(name: &str, frames: u64) -> Result<ExitCode> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
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

/// Runs `command` (which starts the demo in the background) and keeps the guest up until Ctrl-C,
/// then shows what the demo printed and shuts down.
fn live_demo(args: &VmArgs, command: &str, headless: bool, window: bool) -> Result<()> {
    let display = if window || (!headless && vm::window_display().is_some()) {
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
    let artifacts = Artifacts::for_variant(args.kernel)?;
    let vm = Vm::boot(&artifacts, &config)?;
    let _view = live_view(args, &config)?;
    let out = vm.run(command, Duration::from_secs(60))?;
    if out.status != 0 {
        bail!("`{command}` failed with status {}", out.status);
    }
    wait_for_ctrl_c("demo")?;
    // Each guest command is its own shell: stop the demo by name (it ends its loop on SIGINT).
    let log = vm.run(
        "killall -INT bochsfb-demo; sleep 1; cat /tmp/demo.log",
        Duration::from_secs(60),
    )?;
    eprint!("{}", log.output);
    vm.shutdown()
}

/// A finite demo run in the guest, and what happens around it.
struct GuestDemo<'a> {
    name: &'a str,
    command: String,
    headless: bool,
    window: bool,
    /// How long a window stays up after the demo.
    seconds: Duration,
    /// Keep the guest up after the demo until Ctrl-C.
    keep: bool,
    /// Record the screen to this file while the demo runs.
    record: Option<(PathBuf, qemu_bochs::record::Options)>,
}

fn demo(args: &VmArgs, run: GuestDemo<'_>) -> Result<()> {
    let GuestDemo {
        name,
        command,
        headless,
        window,
        seconds,
        keep,
        record,
    } = run;
    let command = command.as_str();
    let display = if headless {
        Display::Headless
    } else if window || vm::window_display().is_some() {
        Display::Window
    } else {
        eprintln!("demo: no graphical session or QEMU UI module, running headless");
        Display::Headless
    };
    let artifacts = Artifacts::for_variant(args.kernel)?;
    let demo_dir = paths::out_dir().join("demo");
    let config = VmConfig {
        screenshot_dir: Some(demo_dir.clone()),
        own_process_group: keep,
        ..args.config(display)?
    };
    let vm = Vm::boot(&artifacts, &config)?;
    let _view = live_view(args, &config)?;

    let run = || {
        vm.run_with(command, Duration::from_secs(600), |line| {
            eprintln!("guest| {line}")
        })
    };
    let out = match &record {
        Some((path, options)) => {
            let (out, frames) = qemu_bochs::record::record_while(&vm, options, run)?;
            qemu_bochs::record::save(&frames, path)?;
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
    vm.shutdown()
}

/// Most bytes one gallery recording and all of them may take (README's budget).
const GALLERY_LIMITS: (u64, u64) = (1 << 20, 5 << 20);

/// Records every demo at 640x480 in one guest, one GIF each, and checks the size budget.
fn gallery(
    args: &VmArgs,
    out: &Path,
    frames: u64,
    options: &qemu_bochs::record::Options,
) -> Result<()> {
    let artifacts = Artifacts::for_variant(args.kernel)?;
    let config = VmConfig {
        module_params: vec![
            ("width".into(), "640".into()),
            ("height".into(), "480".into()),
        ],
        ..args.config(Display::Headless)?
    };
    let vm = Vm::boot(&artifacts, &config)?;
    let mut total = 0;
    let mut too_big = Vec::new();
    for (i, name) in bochsfb_demos::DEMOS.iter().enumerate() {
        eprintln!("gallery: [{}/{}] {name}", i + 1, bochsfb_demos::DEMOS.len());
        let command = format!("bochsfb-demo {name} --backend mmap --frames {frames} --clock frame");
        let (run, recorded) = qemu_bochs::record::record_while(&vm, options, || {
            if *name == "paint" {
                return paint_for_the_gallery(&vm);
            }
            vm.run(&command, Duration::from_secs(300))
        })?;
        if run.status != 0 {
            bail!(
                "`{command}` failed with status {}:\n{}",
                run.status,
                run.output
            );
        }
        let size = qemu_bochs::record::save(&recorded, &out.join(format!("{name}.gif")))?;
        if size > GALLERY_LIMITS.0 {
            too_big.push(format!("{name} ({} KiB)", size / 1024));
        }
        total += size;
    }
    vm.shutdown()?;
    eprintln!("gallery: {} KiB in all", total / 1024);
    if !too_big.is_empty() || total > GALLERY_LIMITS.1 {
        bail!(
            "over the budget of 1 MiB each and 5 MiB in all ({} KiB): {}; try a smaller --width or fewer --frames",
            total / 1024,
            too_big.join(", ")
        );
    }
    Ok(())
}

/// Runs `paint` in the guest and draws a spiral in three colours with QMP pointer events.
fn paint_for_the_gallery(vm: &Vm) -> Result<qemu_bochs::RunOutput> {
    let screen = (640, 480);
    vm.run(
        "bochsfb-demo paint --backend mmap --frames 0 > /tmp/paint.log 2>&1 & sleep 1",
        Duration::from_secs(60),
    )?;
    for (turn, key) in ["1", "2", "4"].into_iter().enumerate() {
        vm.tap_key(key)?;
        vm.tap_key("equal")?;
        let point = |step: u32| {
            let angle = f64::from(step) * 0.2;
            let radius = 20.0 + 6.0 * (f64::from(step) * 0.2 + turn as f64 * 10.0);
            (
                (320.0 + radius * angle.cos()) as u32,
                (256.0 + radius * angle.sin()).clamp(40.0, 479.0) as u32,
            )
        };
        let (x, y) = point(0);
        vm.point_at(x, y, screen)?;
        vm.left_button(true)?;
        for step in 1..=32 {
            let (x, y) = point(step);
            vm.point_at(x, y, screen)?;
            std::thread::sleep(Duration::from_millis(40));
        }
        vm.left_button(false)?;
    }
    std::thread::sleep(Duration::from_millis(500));
    vm.tap_key("q")?;
    vm.run("sleep 1; cat /tmp/paint.log", Duration::from_secs(60))
}

/// The guest shell: one guest command per line of stdin until end of input.
fn shell(args: &VmArgs, timeout: Duration) -> Result<ExitCode> {
    use std::io::{BufRead, Write};
    let artifacts = Artifacts::for_variant(args.kernel)?;
    let config = args.config(Display::Headless)?;
    let vm = Vm::boot(&artifacts, &config)?;
    let _view = live_view(args, &config)?;
    eprintln!(
        "shell: each line runs in the guest (its own shell: `cd` does not carry over); Ctrl-D ends"
    );
    let mut last = 0;
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    loop {
        eprint!("guest$ ");
        std::io::stderr().flush()?;
        let Some(line) = lines.next().transpose()? else {
            eprintln!();
            break;
        };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if line == "poweroff" || line == "exit" {
            break;
        }
        let out = vm.run_with(line, timeout, |l| println!("{l}"))?;
        if out.status != 0 {
            eprintln!("[exit status {}]", out.status);
        }
        last = out.status;
    }
    vm.shutdown()?;
    Ok(ExitCode::from(u8::try_from(last).unwrap_or(1)))
}

fn run_command(args: &VmArgs, command: &str, timeout: Duration) -> Result<ExitCode> {
    let artifacts = Artifacts::for_variant(args.kernel)?;
    let config = args.config(Display::Headless)?;
    let vm = Vm::boot(&artifacts, &config)?;
    let _view = live_view(args, &config)?;
    let out = vm.run_with(command, timeout, |line| println!("{line}"))?;
    vm.shutdown()?;
    eprintln!("guest: exit status {}", out.status);
    // Exit codes are 0..=255; a guest status outside that still means failure.
    Ok(ExitCode::from(u8::try_from(out.status).unwrap_or(1)))
}

fn bench(kernel: KernelVariant, options: &BenchOptions, out: &std::path::Path) -> Result<()> {
    let artifacts = Artifacts::for_variant(kernel)?;
    // Resolved once, so every guest runs on the same accelerator and the report names it.
    let options = &BenchOptions {
        accel: vm::resolve_accel(options.accel, &artifacts)?,
        ..options.clone()
    };
    let results = qemu_bochs::bench::run(&artifacts, options, out)?;
    for path in qemu_bochs::bench::write_results(&results, out)? {
        println!("{}", path.display());
    }
    eprintln!("bench: done in {:.0} s", results.seconds);
    qemu_bochs::bench::check_pixels(&results)
}

fn redraw_bench(out: &std::path::Path) -> Result<()> {
    let json = out.join("results.json");
    let text = std::fs::read_to_string(&json)
        .with_context(|| format!("cannot read {}", json.display()))?;
    let mut results: qemu_bochs::bench::BenchResults =
        serde_json::from_str(&text).with_context(|| format!("bad {}", json.display()))?;
    // The statistics again from the runs, so a redraw picks up changes to the analysis.
    results.analyse();
    for path in qemu_bochs::bench::write_results(&results, out)? {
        println!("{}", path.display());
    }
    Ok(())
}

/// The debug kernel's suite: the robustness tests, those that need the debug kernel included
/// (hot-unplug, the detectors' reports, and three minutes of the KCOV-guided `kfuzz`), and the
/// harness's report-scan tests.
const DEBUG_SUITE: &[&str] = &[
    "--test",
    "robustness",
    "--test",
    "guest_protocol",
    "--",
    "--include-ignored",
];

/// One phase of `qemu-bochs test`.
#[derive(Debug, PartialEq)]
enum Phase {
    /// The fast checks (`qemu-bochs check`), before anything builds a kernel.
    Style,
    /// Build this kernel's guest, then `cargo test --workspace ARGS` against it.
    Tests(KernelVariant, Vec<String>),
}

/// What `test` runs: the full run (CI's) starts with the style phase; `--kernel` or
/// arguments pick one kernel's tests and nothing else.
fn plan(kernel: Option<KernelVariant>, cargo_args: &[String]) -> Vec<Phase> {
    match kernel {
        None if cargo_args.is_empty() => vec![
            Phase::Style,
            Phase::Tests(KernelVariant::Standard, Vec::new()),
            Phase::Tests(KernelVariant::Debug, strings(DEBUG_SUITE)),
        ],
        None | Some(KernelVariant::Standard) => {
            vec![Phase::Tests(KernelVariant::Standard, cargo_args.to_vec())]
        }
        Some(KernelVariant::Debug) if cargo_args.is_empty() => {
            vec![Phase::Tests(KernelVariant::Debug, strings(DEBUG_SUITE))]
        }
        Some(KernelVariant::Debug) => vec![Phase::Tests(KernelVariant::Debug, cargo_args.to_vec())],
    }
}

fn test(kernel: Option<KernelVariant>, cargo_args: &[String]) -> Result<ExitCode> {
    // Every phase runs even after one fails, so CI shows every failure at once.
    let mut failed = Vec::new();
    for phase in plan(kernel, cargo_args) {
        let result = match phase {
            Phase::Style => steps::phase("style", style::run),
            Phase::Tests(variant, args) => {
                let name = variant.name();
                qemu_bochs::build_all(&BuildOptions { kernel: variant })
                    .with_context(|| format!("building the {name} kernel's guest"))
                    .and_then(|_| {
                        steps::phase(&format!("tests ({name} kernel)"), || {
                            cargo_test(variant, &args)
                        })
                    })
            }
        };
        if let Err(e) = result {
            eprintln!("error: {e:#}");
            failed.push(format!("{e}"));
        }
    }
    eprintln!("\n==> phases\n{}", steps::phase_summary());
    if failed.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("failed: {}", failed.join(", "));
        Ok(ExitCode::FAILURE)
    }
}

/// A seed for runs that name none: nanoseconds of the clock.
fn clock_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
}

fn strings(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

/// `cargo test --workspace ARGS` against `kernel`'s manifest; fails if any test failed.
fn cargo_test(kernel: KernelVariant, cargo_args: &[String]) -> Result<()> {
    let manifest: PathBuf = artifacts::manifest_path_for(kernel);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!(
        "==> cargo test --workspace {} ({} kernel)",
        cargo_args.join(" "),
        kernel.name()
    );
    let status = Command::new(cargo)
        .current_dir(paths::repo_root())
        .args(["test", "--workspace"])
        .args(cargo_args)
        .env(artifacts::MANIFEST_ENV, &manifest)
        .status()
        .context("cannot run cargo test")?;
    if !status.success() {
        bail!("tests failed on the {} kernel ({status})", kernel.name());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_full_run_starts_with_the_style_phase() {
        let debug_suite = || strings(DEBUG_SUITE);
        assert_eq!(
            plan(None, &[]),
            [
                Phase::Style,
                Phase::Tests(KernelVariant::Standard, Vec::new()),
                Phase::Tests(KernelVariant::Debug, debug_suite()),
            ]
        );
        let lib = strings(&["--lib"]);
        assert_eq!(
            plan(None, &lib),
            [Phase::Tests(KernelVariant::Standard, lib.clone())]
        );
        assert_eq!(
            plan(Some(KernelVariant::Standard), &[]),
            [Phase::Tests(KernelVariant::Standard, Vec::new())]
        );
        assert_eq!(
            plan(Some(KernelVariant::Debug), &[]),
            [Phase::Tests(KernelVariant::Debug, debug_suite())]
        );
        assert_eq!(
            plan(Some(KernelVariant::Debug), &lib),
            [Phase::Tests(KernelVariant::Debug, lib.clone())]
        );
    }
}
