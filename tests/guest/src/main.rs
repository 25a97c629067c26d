//! Checks of a bochsfb device from inside the guest: one `ok`/`FAIL` line per
//! check, then `N passed, M failed`; the exit status is non-zero on any failure.

mod badinput;
mod device;
mod modes;
mod regions;
mod report;
mod roundtrip;
mod unbind;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bochsfb_renderer::abi::BochsfbMode;
use bochsfb_renderer::Mode;
use clap::{Args, Parser, Subcommand};

use crate::device::Device;
use crate::report::{describe, Report};

/// Exercise a bochsfb device and check it behaves as docs/architecture.md says.
#[derive(Debug, Parser)]
#[command(name = "bochsfb-check", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Bytes written with write/pwrite read back through mmap, and the other way round.
    Roundtrip(Target),
    /// Every bad input gets its documented errno, and the device still works afterwards.
    Badinput(Target),
    /// Unbinding the card while it is open and mapped revokes access; binding it again works.
    Unbind(Target),
    /// Set-mode, pan, vsync, the fbdev ioctls and sysfs (std VGA, 16 MiB, 1024x768x32).
    Modes(Target),
    /// Every mmap region (write-combined, on demand, shadow, uncached), pan and 8/16 bpp,
    /// with screendumps for the host to check.
    Regions(Target),
    /// Asks for one mode with SET_MODE and prints `mode WxH-BPP` or `refused ERRNO`.
    SetMode {
        #[command(flatten)]
        target: Target,
        width: u32,
        height: u32,
        bpp: u32,
    },
}

#[derive(Debug, Args)]
struct Target {
    /// The device to check.
    #[arg(long, default_value = "/dev/bochsfb0")]
    device: PathBuf,
}

/// Opens the device and reads its mode.
fn open(path: &Path) -> Result<(Device, BochsfbMode), String> {
    let device = Device::open(path).map_err(|e| format!("open: {}", describe(&e)))?;
    let mode = device
        .mode()
        .map_err(|e| format!("GET_MODE: {}", describe(&e)))?;
    Ok((device, mode))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (Command::Roundtrip(target)
    | Command::Badinput(target)
    | Command::Unbind(target)
    | Command::Modes(target)
    | Command::Regions(target)
    | Command::SetMode { target, .. }) = &cli.command;
    let mut report = Report::default();
    let name = format!("open {} + GET_MODE", target.device.display());
    match open(&target.device) {
        Ok((device, mode)) => {
            let mode_text = format!("{}, fb_size {}", Mode::from(mode), mode.fb_size);
            report.check(&format!("{name} ({mode_text})"), Ok(()));
            match cli.command {
                Command::Roundtrip(_) => roundtrip::run(&device, mode.fb_size, &mut report),
                Command::Badinput(_) => badinput::run(&device, &mode, &mut report),
                Command::Unbind(_) => unbind::run(&device, &target.device, &mut report),
                Command::Modes(_) => modes::run(&device, &mut report),
                Command::Regions(_) => regions::run(&device, &mut report),
                Command::SetMode {
                    width, height, bpp, ..
                } => {
                    return match modes::set_mode(&device, width, height, bpp, 0) {
                        Ok(m) => {
                            println!("mode {}x{}-{}", m.width, m.height, m.bpp);
                            ExitCode::SUCCESS
                        }
                        Err(e) => {
                            println!("refused {}", describe(&e));
                            ExitCode::from(2)
                        }
                    };
                }
            }
        }
        Err(why) => {
            report.check(&name, Err(why));
        }
    }
    report.finish()
}
