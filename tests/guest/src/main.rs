//! Checks of a bochsfb device from inside the guest: one `ok`/`FAIL` line per
//! check, then `N passed, M failed`; the exit status is non-zero on any failure.

mod badinput;
mod device;
mod drm_abi;
mod dumb;
mod faultcost;
mod fuzz;
mod holes;
mod kfuzz;
mod kmsholes;
mod maprace;
mod modes;
mod raw;
mod regions;
mod report;
mod rng;
mod roundtrip;
mod security;
mod sharedpos;
mod stress;
mod uevent;
mod unbind;
mod writesrc;

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
    /// Seeded random system calls on the device; it must still work afterwards.
    Fuzz(FuzzArgs),
    /// Coverage-guided fuzzing of the whole user surface, driven by KCOV (debug kernel);
    /// `--replay FILE` runs one program file, `--minimize FILE` minimises one.
    Kfuzz(KfuzzArgs),
    /// Processes map, write, set modes and flip at once (optionally while the card is
    /// unbound and rebound); the final state must be consistent.
    Stress(StressArgs),
    /// Processes mmap in a tight loop while the mode shrinks and the card is unbound; every
    /// mapping past the frame (after a shrink) or at all (after unbind) must raise SIGBUS.
    Maprace(RaceArgs),
    /// Processes sharing one open file read it page by page: each page must be read once.
    Sharedpos {
        #[command(flatten)]
        target: Target,
        /// Reader processes.
        #[arg(long, default_value_t = 4)]
        readers: u32,
        /// Rounds over the whole frame.
        #[arg(long, default_value_t = 3)]
        rounds: u32,
    },
    /// The module cannot be unloaded while a file or mapping is open; then it can, and reloads.
    Lifetime(Target),
    /// Permissions, and nothing past the frame reachable (MMIO, kernel memory); fresh boot.
    Security(Target),
    /// The five holes an adversarial review found (mremap across regions, FLUSH holding the card,
    /// a read-only file changing the display, one client's bytes shown to the next,
    /// READ_IMPLIES_EXEC): one check each, risky ones in children with timeouts.
    Holes(Target),
    /// A node's sysfs attributes exist when its `add` uevent arrives; its parent is the card.
    Uevent,
    /// The DRM face (`face=1`): dumb buffers are VRAM, sized as documented, ENOMEM when it is
    /// full, and SIGBUS/ENODEV after unbind; binding again works.
    Dumb {
        /// The DRM device node.
        #[arg(long, default_value = "/dev/dri/card0")]
        device: std::path::PathBuf,
    },
    /// What the adversarial reviews of the DRM face found (`face=1`): the probe mode left
    /// scanning, a freed buffer's pixels in a new one, lines QEMU clamps, vblank rates out of
    /// bounds (clock, vscan, frame durations past an `int`), PRIME export, clipped and
    /// off-screen planes; fails while a hole is open.
    KmsHoles {
        /// The DRM device node.
        #[arg(long, default_value = "/dev/dri/card0")]
        device: std::path::PathBuf,
        /// Runs only the checks whose name contains this (`probe-scanout`, `clip`, ...).
        #[arg(long)]
        only: Option<String>,
    },
    /// Times first and second touches of every page of a whole-frame mapping, all at once
    /// (region 0) against one fault per page (region 1), and checks the fault counts.
    Faultcost {
        #[command(flatten)]
        target: Target,
        /// Runs counted (after one warm-up run).
        #[arg(long, default_value_t = 21)]
        runs: u32,
        /// The TSC's rate in MHz (under TCG: the host's); counted against the guest's clock
        /// if not given.
        #[arg(long)]
        tsc_mhz: Option<f64>,
    },
    /// write() whose source is the card's own VRAM or shadow mapping, a read-only file's
    /// mapping, or ends in a PROT_NONE page (review of the one-copy write path).
    Writesrc(Target),
    /// Workers write to one card from mappings of another (or the same) while that one is
    /// unbound and bound in a loop.
    Writerace {
        /// The card written to.
        #[arg(long, default_value = "/dev/bochsfb0")]
        target: PathBuf,
        /// The card whose mappings are the source, unbound and bound.
        #[arg(long, default_value = "/dev/bochsfb0")]
        source: PathBuf,
        #[arg(long, default_value_t = 3)]
        workers: u32,
        #[arg(long, default_value_t = 30)]
        cycles: u32,
        /// Map the source's shadow region instead of its VRAM.
        #[arg(long)]
        shadow: bool,
    },
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
struct FuzzArgs {
    #[command(flatten)]
    target: Target,
    /// Seed of the run (printed; default: from the clock).
    #[arg(long)]
    seed: Option<u64>,
    /// Operations per process.
    #[arg(long, default_value_t = 2000)]
    ops: u64,
    /// Processes fuzzing at once (seeds seed, seed+1, ...).
    #[arg(long, default_value_t = 1)]
    procs: u32,
    /// Stop after this many seconds even if operations remain.
    #[arg(long)]
    max_seconds: Option<u64>,
    /// Print each operation before it runs.
    #[arg(long)]
    trace: bool,
}

#[derive(Debug, Args)]
struct KfuzzArgs {
    #[command(flatten)]
    target: Target,
    /// Seed of the run (printed; default: from the clock).
    #[arg(long)]
    seed: Option<u64>,
    /// Stop after this many seconds...
    #[arg(long, conflicts_with = "minutes")]
    seconds: Option<u64>,
    /// ...or minutes...
    #[arg(long)]
    minutes: Option<u64>,
    /// ...or this many programs (default: 60 seconds if neither is given).
    #[arg(long)]
    execs: Option<u64>,
    /// A directory of program files to start from, besides the seed corpus (repeatable).
    #[arg(long)]
    corpus: Vec<PathBuf>,
    /// Leave out the built-in seed corpus (tests/guest/kfuzz-seeds/).
    #[arg(long)]
    no_seeds: bool,
    /// Print the corpus at the end, between markers, for the host to keep.
    #[arg(long)]
    print_corpus: bool,
    /// The latency probe's call (GET_MODE; GETCRTC on the DRM face) waiting longer than this is
    /// a finding [default: 250; 3000 on the DRM face, where a blocking commit waits for a
    /// vblank with the CRTC's locks held, and the slowest mode the face accepts is 1 Hz].
    #[arg(long)]
    latency_ms: Option<u64>,
    /// A call running longer than this is stuck (a finding).
    #[arg(long, default_value_t = 20)]
    stuck_seconds: u64,
    /// Seconds between progress lines.
    #[arg(long, default_value_t = 5)]
    progress_seconds: u64,
    /// `__sanitizer_cov_trace_pc` call sites in bochsfb.ko outside its KUnit suites (which run
    /// at load, not from a call), for the coverage figure.
    #[arg(long)]
    pc_sites: Option<u64>,
    /// Seconds minimising a finding may take.
    #[arg(long, default_value_t = 180)]
    minimize_seconds: u64,
    /// Run this program file once; fail if it finds something.
    #[arg(long, conflicts_with = "minimize")]
    replay: Option<PathBuf>,
    /// Minimise this program file.
    #[arg(long)]
    minimize: Option<PathBuf>,
    /// With --minimize: what it found in an earlier boot (it is not replayed first).
    #[arg(long, requires = "minimize")]
    kind: Option<String>,
    /// Count findings of this kind and go on (repeatable): to look past a known bug.
    #[arg(long, value_parser = kfuzz::parse_kind)]
    ignore: Vec<kfuzz::Kind>,
    /// The card's face to fuzz: misc (`/dev/bochsfb0`) or drm (`bochsfb.ko face=1`:
    /// `/dev/dri/card0`, unless --device names another node).
    #[arg(long, default_value = "misc", value_parser = kfuzz::Face::parse)]
    face: kfuzz::Face,
}

#[derive(Debug, Args)]
struct StressArgs {
    #[command(flatten)]
    target: Target,
    /// Worker processes.
    #[arg(long, default_value_t = 4)]
    workers: u32,
    /// How long the workers run.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Unbind/bind cycles meanwhile.
    #[arg(long, default_value_t = 0)]
    unbind_cycles: u32,
    /// Seed of the workers' choices.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The card is hot-unplugged meanwhile: check only that its node went away.
    #[arg(long)]
    removed: bool,
}

#[derive(Debug, Args)]
struct RaceArgs {
    #[command(flatten)]
    target: Target,
    /// Worker processes mapping.
    #[arg(long, default_value_t = 4)]
    workers: u32,
    /// Mode shrinks (each followed by a check and a grow).
    #[arg(long, default_value_t = 20)]
    shrinks: u32,
    /// Unbinds (each followed by a check and a bind).
    #[arg(long, default_value_t = 20)]
    unbinds: u32,
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
    let mut report = Report::default();
    let target = match &cli.command {
        Command::Roundtrip(target)
        | Command::Badinput(target)
        | Command::Unbind(target)
        | Command::Modes(target)
        | Command::Regions(target)
        | Command::Faultcost { target, .. }
        | Command::SetMode { target, .. } => target,
        Command::Fuzz(args) => {
            let options = fuzz::FuzzOptions {
                seed: args.seed.unwrap_or_else(clock_seed),
                ops: args.ops,
                procs: args.procs,
                max_time: args.max_seconds.map(std::time::Duration::from_secs),
                trace: args.trace,
            };
            fuzz::run(&args.target.device, &options, &mut report);
            return report.finish();
        }
        Command::Kfuzz(args) => {
            let seed = args.seed.unwrap_or_else(clock_seed);
            let seconds = args.seconds.or(args.minutes.map(|m| m * 60));
            let duration = match (seconds, args.execs) {
                (None, None) => Some(60),
                (seconds, _) => seconds,
            };
            // The default device is the misc face's.
            let device = match args.face {
                kfuzz::Face::Drm if args.target.device == Path::new("/dev/bochsfb0") => {
                    PathBuf::from(args.face.default_device())
                }
                _ => args.target.device.clone(),
            };
            let options = kfuzz::Options {
                device,
                face: args.face,
                seed,
                duration: duration.map(std::time::Duration::from_secs),
                execs: args.execs,
                corpus: args.corpus.clone(),
                no_seeds: args.no_seeds,
                print_corpus: args.print_corpus,
                latency: std::time::Duration::from_millis(args.latency_ms.unwrap_or(
                    match args.face {
                        kfuzz::Face::Misc => 250,
                        kfuzz::Face::Drm => 3000,
                    },
                )),
                stuck: std::time::Duration::from_secs(args.stuck_seconds),
                progress: std::time::Duration::from_secs(args.progress_seconds),
                pc_sites: args.pc_sites,
                minimize_time: std::time::Duration::from_secs(args.minimize_seconds),
                replay: args.replay.clone(),
                minimize: args.minimize.clone(),
                kind: args.kind.clone(),
                ignore: args.ignore.clone(),
            };
            return kfuzz::run(&options);
        }
        Command::Stress(args) => {
            let options = stress::StressOptions {
                workers: args.workers,
                duration: std::time::Duration::from_secs(args.seconds),
                unbind_cycles: args.unbind_cycles,
                seed: args.seed,
                removed: args.removed,
            };
            stress::run(&args.target.device, &options, &mut report);
            return report.finish();
        }
        Command::Maprace(args) => {
            let options = maprace::RaceOptions {
                workers: args.workers,
                shrinks: args.shrinks,
                unbinds: args.unbinds,
            };
            maprace::run(&args.target.device, &options, &mut report);
            return report.finish();
        }
        Command::Sharedpos {
            target,
            readers,
            rounds,
        } => {
            sharedpos::run(&target.device, *readers, *rounds, &mut report);
            return report.finish();
        }
        Command::Lifetime(target) => {
            stress::lifetime(&target.device, &mut report);
            return report.finish();
        }
        Command::Security(target) => {
            security::run(&target.device, &mut report);
            return report.finish();
        }
        Command::Uevent => {
            uevent::run(&mut report);
            return report.finish();
        }
        Command::Dumb { device } => {
            dumb::run(device, &mut report);
            return report.finish();
        }
        Command::KmsHoles { device, only } => {
            kmsholes::run(device, only.as_deref(), &mut report);
            return report.finish();
        }
        Command::Writesrc(target) => {
            writesrc::run(&target.device, &mut report);
            return report.finish();
        }
        Command::Writerace {
            target,
            source,
            workers,
            cycles,
            shadow,
        } => {
            let options = writesrc::RaceOptions {
                target: target.clone(),
                source: source.clone(),
                workers: *workers,
                cycles: *cycles,
                shadow: *shadow,
            };
            writesrc::race(&options, &mut report);
            return report.finish();
        }
        // Opens nothing here: one check needs every file of the card closed.
        Command::Holes(target) => {
            holes::run(&target.device, &mut report);
            return report.finish();
        }
    };
    let name = format!("open {} + GET_MODE", target.device.display());
    match open(&target.device) {
        Ok((device, mode)) => {
            let mode_text = format!("{}, fb_size {}", Mode::from(mode), mode.fb_size);
            report.check(&format!("{name} ({mode_text})"), Ok(()));
            match cli.command {
                Command::Roundtrip(_) => {
                    roundtrip::run(&device, &target.device, mode.fb_size, &mut report)
                }
                Command::Badinput(_) => badinput::run(&device, &target.device, &mode, &mut report),
                Command::Unbind(_) => unbind::run(&device, &target.device, &mut report),
                Command::Modes(_) => modes::run(&device, &mut report),
                Command::Regions(_) => regions::run(&device, &mut report),
                Command::Faultcost { runs, tsc_mhz, .. } => {
                    faultcost::run(&device, &mode, runs, tsc_mhz, &mut report)
                }
                Command::Fuzz(_)
                | Command::Kfuzz(_)
                | Command::Stress(_)
                | Command::Lifetime(_)
                | Command::Maprace(_)
                | Command::Sharedpos { .. }
                | Command::Security(_)
                | Command::Holes(_)
                | Command::Writesrc(_)
                | Command::Writerace { .. }
                | Command::Uevent
                | Command::Dumb { .. }
                | Command::KmsHoles { .. } => {
                    unreachable!("handled above")
                }
                Command::SetMode {
                    width, height, bpp, ..
                } => {
                    return match device::set_mode(&device, width, height, bpp, 0) {
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

/// A seed for runs that name none: nanoseconds of the clock.
fn clock_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
}
