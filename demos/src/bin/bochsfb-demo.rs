//! Runs one of the demos on any backend and prints its fps when it ends.

use std::io::{self, BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use bochsfb_demos::Clock;
use bochsfb_renderer::backend::{self, Backend, Kind, Options, Selection};
use bochsfb_renderer::clock::Pacer;
use bochsfb_renderer::{Error, Mode};
use clap::{Parser, ValueEnum};
use image::ImageFormat;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ClockArg {
    /// Time from the frame number (deterministic).
    Frame,
    /// The system clock.
    Wall,
}

/// Run a bochsfb renderer demo.
#[derive(Debug, Parser)]
#[command(name = "bochsfb-demo", version)]
struct Args {
    /// The demo; `q` or Escape ends any of them, where the backend has a keyboard.
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(bochsfb_demos::names()))]
    demo: String,
    /// Where frames go: mmap, write, shadow, fbdev, drm, window, memory, or
    /// `auto` (the first of mmap, shadow, write, fbdev, drm that opens).
    #[arg(long, default_value = "auto")]
    backend: String,
    /// The device node [default: the backend's, e.g. /dev/bochsfb0, /dev/fb0, /dev/dri/card0].
    #[arg(long)]
    device: Option<PathBuf>,
    /// Mode to set, `WIDTHxHEIGHT[xBPP]` [default: the device's; memory and window 1024x768].
    #[arg(long)]
    mode: Option<Mode>,
    /// Frames to draw; 0 runs until interrupted (Ctrl-C, SIGTERM, `q`).
    #[arg(long, default_value_t = 300)]
    frames: u64,
    /// Target frames per second; 0 draws as fast as it can.
    #[arg(long, default_value_t = 30.0)]
    fps: f64,
    /// Draw straight into the visible frame (mmap, fbdev) instead of double buffering.
    #[arg(long)]
    single_buffer: bool,
    /// Where the console demo's clock takes the time from.
    #[arg(long, value_enum, default_value_t = ClockArg::Wall)]
    clock: ClockArg,
    /// Once the last frame is shown, ask the host harness for a screenshot NAME.png.
    #[arg(long, value_name = "NAME")]
    screendump: Option<String>,
    /// Milliseconds to wait after the last frame before the screenshot (a
    /// driver with deferred I/O copies to the screen a little later).
    #[arg(long, default_value_t = 0)]
    settle_ms: u64,
    /// Save the last frame as a PNG file (any backend; `memory` is the PNG backend).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// The backends `auto` tries, in order: the library's, without the window and memory (a demo
/// in the guest has no window, and memory shows nothing).
const AUTO: &[Kind] = backend::BEST_FIRST.split_at(5).0;

fn open(args: &Args) -> Result<Box<dyn Backend>, Box<dyn std::error::Error>> {
    let options = Options {
        device: args.device.clone(),
        mode: args.mode,
        single_buffer: args.single_buffer,
        title: Some(format!("bochsfb-demo {}", args.demo)),
    };
    let opened = match args.backend.parse::<Selection>()? {
        Selection::Auto => backend::open_best(AUTO, &options)?,
        only => backend::open_selected(only, &options)?,
    };
    for (kind, why) in &opened.passed_over {
        eprintln!("bochsfb-demo: {kind}: {why}; tried the next backend");
    }
    Ok(opened.backend)
}

/// Prints the screenshot request and waits for the host's empty line.
fn request_screendump(name: &str) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "@@bochsfb:screendump {name}")?;
    stdout.flush()?;
    io::stdin().lock().read_line(&mut String::new())?;
    Ok(())
}

/// Exit status when the backend cannot open here (another one might):
/// missing device, driver without the feature, mode not available.
const EXIT_UNAVAILABLE: u8 = 3;

/// A backend that cannot open here, as opposed to a failure while drawing.
#[derive(Debug)]
struct Unavailable(Box<dyn std::error::Error>);

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (backend unavailable here)", self.0)
    }
}

impl std::error::Error for Unavailable {}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let mut backend = open(args).map_err(|e| {
        let fall_back = e
            .downcast_ref::<Error>()
            .is_none_or(|e| e.can_fall_back() || matches!(e, Error::NoBackend { .. }));
        if fall_back {
            Box::new(Unavailable(e))
        } else {
            e
        }
    })?;
    let mode = backend.mode();
    let clock = match args.clock {
        ClockArg::Frame => Clock::Frame,
        ClockArg::Wall => Clock::Wall,
    };
    let info = bochsfb_demos::find(&args.demo).ok_or("unknown demo")?;
    let mut demo = (info.new)(&mode, clock);
    let frames = (args.frames > 0).then_some(args.frames);
    let mut pacer = Pacer::new((args.fps > 0.0).then_some(args.fps));
    let stats = bochsfb_demos::run(demo.as_mut(), backend.as_mut(), frames, &mut pacer, |_| {})?;
    println!(
        "{}: {} via {} ({}): {stats}",
        args.demo,
        mode,
        backend.name(),
        backend.presentation()
    );
    if let Some(path) = &args.out {
        backend
            .surface()
            .to_rgb_image()
            .save_with_format(path, ImageFormat::Png)
            .map_err(|e| format!("saving {}: {e}", path.display()))?;
    }
    if let Some(name) = &args.screendump {
        std::thread::sleep(std::time::Duration::from_millis(args.settle_ms));
        request_screendump(name)?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    // Ctrl-C or SIGTERM ends the frame loop, so the backend's drop gives the screen back.
    if let Err(e) = bochsfb_renderer::stop_on_signals() {
        eprintln!("bochsfb-demo: cannot catch SIGINT/SIGTERM ({e}); they will kill it");
    }
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bochsfb-demo {}: {e}", args.demo);
            if e.is::<Unavailable>() {
                ExitCode::from(EXIT_UNAVAILABLE)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
