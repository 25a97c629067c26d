//! Draws the test card on a bochsfb device (or into memory) and reports the time.

use std::io::{self, BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use bochsfb_demos::draw_testcard;
use bochsfb_renderer::backend::{Backend, MemoryBackend, MmapBackend, WriteBackend};
use bochsfb_renderer::{Error, Mode};
use clap::{CommandFactory, Parser, ValueEnum};
use image::ImageFormat;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BackendKind {
    /// Draw straight into mapped VRAM.
    Mmap,
    /// Draw into memory, then lseek + write the frame to the device.
    Write,
    /// Draw into memory only (no device needed).
    Memory,
}

/// Draw the bochsfb test card.
#[derive(Debug, Parser)]
#[command(name = "testcard", version)]
struct Args {
    /// How the frame reaches the screen.
    #[arg(long, value_enum, default_value_t = BackendKind::Mmap)]
    backend: BackendKind,
    /// The bochsfb device (mmap and write backends).
    #[arg(long, default_value = "/dev/bochsfb0")]
    device: PathBuf,
    /// Also save the drawn frame as a PNG file.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Frame width for the memory backend [default: 1024].
    #[arg(long)]
    width: Option<u32>,
    /// Frame height for the memory backend [default: 768].
    #[arg(long)]
    height: Option<u32>,
    /// Ask the host harness for a screenshot NAME.png once the frame is shown.
    #[arg(long, value_name = "NAME")]
    screendump: Option<String>,
}

fn open(args: &Args) -> Result<Box<dyn Backend>, Error> {
    Ok(match args.backend {
        BackendKind::Mmap => Box::new(MmapBackend::open(&args.device)?),
        BackendKind::Write => Box::new(WriteBackend::open(&args.device)?),
        BackendKind::Memory => Box::new(MemoryBackend::new(Mode::xrgb8888(
            args.width.unwrap_or(1024),
            args.height.unwrap_or(768),
        ))?),
    })
}

/// Prints the screenshot request and waits for the host's empty line.
fn request_screendump(name: &str) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "@@bochsfb:screendump {name}")?;
    stdout.flush()?;
    io::stdin().lock().read_line(&mut String::new())?;
    Ok(())
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let mut backend = open(args)?;
    let mode = backend.mode();

    let start = Instant::now();
    draw_testcard(&mut backend.surface(), &mode)?;
    backend.present()?;
    let elapsed = start.elapsed();

    let backend_name = args
        .backend
        .to_possible_value()
        .expect("no skipped variants");
    println!(
        "testcard: {}x{} {}bpp via {} in {:.1} ms",
        mode.width,
        mode.height,
        mode.bpp,
        backend_name.get_name(),
        elapsed.as_secs_f64() * 1000.0
    );

    if let Some(path) = &args.out {
        backend
            .surface()
            .to_rgb_image()
            .save_with_format(path, ImageFormat::Png)
            .map_err(|e| format!("saving {}: {e}", path.display()))?;
    }
    if let Some(name) = &args.screendump {
        request_screendump(name)?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.backend != BackendKind::Memory && (args.width.is_some() || args.height.is_some()) {
        Args::command()
            .error(
                clap::error::ErrorKind::ArgumentConflict,
                "--width/--height only apply to --backend memory; a device reports its own mode",
            )
            .exit();
    }
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("testcard: {e}");
            ExitCode::FAILURE
        }
    }
}
