//! `qemu-bochs fuzz`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use qemu_bochs::fuzz::{self, FuzzOptions};
use qemu_bochs::{paths, Artifacts, VmConfig};

use super::args::GuestArgs;

#[derive(Args)]
#[command(mut_arg("kernel", |a| a
    // KCOV is only in the debug kernel; on the standard one the fuzzer runs unguided.
    .default_value("debug")
    .help("Guest kernel: debug (KCOV guides the fuzzer) or standard (no KCOV: unguided)")))]
pub struct FuzzArgs {
    /// Minutes of fuzzing in the guest.
    #[arg(long, default_value_t = 10)]
    minutes: u64,
    /// Seed (printed; default: from the clock).
    #[arg(long)]
    seed: Option<u64>,
    #[command(flatten)]
    guest: GuestArgs,
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
    /// The card's face to fuzz: misc (`/dev/bochsfb0`) or drm (`bochsfb.ko face=1`, its
    /// DRM/KMS ioctls and dumb buffers; corpus in <cache>/fuzz-corpus-drm).
    #[arg(long, default_value = "misc", value_parser = ["misc", "drm"])]
    face: String,
    /// Copy the guest console to stderr as it arrives.
    #[arg(long, short)]
    verbose: bool,
    /// More `bochsfb-check kfuzz` arguments, after `--` (`--ignore shadow-leak`, `--no-seeds`).
    #[arg(last = true)]
    guest_args: Vec<String>,
}

impl FuzzArgs {
    /// One boot of fuzzing (more to minimise a finding that wedges the card); fails if it found
    /// something.
    pub fn run(self) -> Result<ExitCode> {
        let artifacts = Artifacts::for_variant(self.guest.kernel)?;
        let drm_face = self.face == "drm";
        let corpus_dir = match (self.no_corpus, self.corpus) {
            (true, _) => None,
            (false, Some(dir)) => Some(dir),
            (false, None) => Some(fuzz::default_corpus_dir(drm_face)?),
        };
        let options = FuzzOptions {
            seconds: self.minutes * 60,
            seed: self.seed.unwrap_or_else(clock_seed),
            corpus_dir,
            guest_args: self.guest_args,
            drm_face,
            minimize_boots: self.minimize_boots,
            minimize_seconds: self.minimize_seconds,
            vm: VmConfig {
                accel: self.guest.accel,
                echo_console: self.verbose,
                ..VmConfig::default()
            },
            out_dir: paths::out_dir().join("fuzz"),
        };
        Ok(match report(&artifacts, &options)? {
            true => ExitCode::SUCCESS,
            false => ExitCode::FAILURE,
        })
    }
}

/// Runs, prints the summary and any finding with its reproducer; whether nothing was found.
fn report(artifacts: &Artifacts, options: &FuzzOptions) -> Result<bool> {
    let report = fuzz::run(artifacts, options)?;
    println!("{}", report.summary.trim_start_matches("kfuzz: "));
    if let Some(dir) = &options.corpus_dir {
        println!(
            "corpus: {} programs came back, {} new, kept in {}",
            report.corpus_returned,
            report.corpus_new,
            dir.display()
        );
    }
    match &report.finding {
        None => Ok(true),
        Some(f) => {
            println!("FINDING {}", fuzz::describe(f, &options.out_dir));
            let logs: Vec<String> = report
                .logs
                .iter()
                .map(|l| l.display().to_string())
                .collect();
            println!("serial logs: {}", logs.join(", "));
            Ok(false)
        }
    }
}

/// A seed for runs that name none: nanoseconds of the clock.
fn clock_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
}
