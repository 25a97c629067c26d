//! `qemu-bochs test`: what CI runs. [`plan`] says which phases run; [`TestArgs::run`] runs them.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use anyhow::{bail, Context, Result};
use clap::Args;
use qemu_bochs::build::artifacts;
use qemu_bochs::{paths, steps, style, BuildOptions, KernelVariant};

use super::args::cargo;

#[derive(Args)]
pub struct TestArgs {
    /// Only this guest kernel: `standard` runs `cargo test --workspace [ARGS]`, `debug` the
    /// debug suite (or `cargo test --workspace ARGS`). With ARGS and no `--kernel`: standard.
    #[arg(long, value_enum)]
    kernel: Option<KernelVariant>,
    /// Extra arguments for `cargo test`, after `--`.
    #[arg(last = true)]
    cargo_args: Vec<String>,
}

impl TestArgs {
    pub fn run(self) -> Result<ExitCode> {
        test(self.kernel, &self.cargo_args)
    }
}

/// The debug kernel's suite: the robustness tests, those that need the debug kernel included
/// (hot-unplug, the detectors' reports, and three minutes of the KCOV-guided `kfuzz`), the
/// harness's report-scan tests, and bochsfb's DRM face with the clients that use it (`kms`,
/// `drm_clients` but for the C driver's face: that one is the peer, not under test; and the
/// demos through the renderer's `drm` and `fbdev` backends on the face, not the other drivers').
const DEBUG_SUITE: &[&str] = &[
    "--test",
    "robustness",
    "--test",
    "guest_protocol",
    "--test",
    "kms",
    "--test",
    "drm_clients",
    "--test",
    "demos",
    "--",
    "--include-ignored",
    "--skip",
    "c_bochs::",
    "--skip",
    "demos_on_bochsfb_match",
    "--skip",
    "demos_on_the_c_bochs_driver",
    "--skip",
    "a_demo_stopped_by_sigterm",
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
    // The host's test binaries build beside the first guest build, after the style phase
    // (`cargo test` then finds them built); a compile error shows again in the test phase.
    let mut host_build = None;
    let mut host_build_started = false;
    for phase in plan(kernel, cargo_args) {
        let result = match phase {
            Phase::Style => steps::phase("style", style::run),
            Phase::Tests(variant, args) => {
                if !host_build_started {
                    host_build_started = true;
                    host_build = Some(spawn_host_test_build(&args));
                }
                let name = variant.name();
                qemu_bochs::build_all(&BuildOptions {
                    kernel: variant,
                    ..BuildOptions::default()
                })
                .with_context(|| format!("building the {name} kernel's guest"))
                .and_then(|_| {
                    if let Some(handle) = host_build.take() {
                        if let Err(e) = handle
                            .join()
                            .unwrap_or_else(|p| std::panic::resume_unwind(p))
                        {
                            eprintln!("note: {e:#}");
                        }
                    }
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
    if let Some(handle) = host_build.take() {
        let _ = handle.join();
    }
    eprintln!("\n==> phases\n{}", steps::phase_summary());
    if failed.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("failed: {}", failed.join(", "));
        Ok(ExitCode::FAILURE)
    }
}

/// `cargo test --workspace --no-run` with the cargo options of `args` (those before `--`),
/// as the phase "host test build", on a thread of its own.
fn spawn_host_test_build(args: &[String]) -> std::thread::JoinHandle<Result<()>> {
    let before_dashes: Vec<String> = args.iter().take_while(|a| *a != "--").cloned().collect();
    std::thread::spawn(move || {
        steps::phase("host test build (cargo test --no-run)", || {
            cargo_test_no_run(&before_dashes)
        })
    })
}

fn strings(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

/// `cargo test --workspace --no-run ARGS`, its output in `target/bochsfb/host-tests.log`.
fn cargo_test_no_run(cargo_args: &[String]) -> Result<()> {
    let cargo = cargo();
    let log = paths::harness_dir().join("host-tests.log");
    std::fs::create_dir_all(paths::harness_dir())?;
    let _ = std::fs::remove_file(&log);
    steps::run_logged(
        "host tests: cargo test --workspace --no-run",
        Command::new(cargo)
            .current_dir(paths::repo_root())
            .args(["test", "--workspace", "--no-run"])
            .args(cargo_args),
        &log,
        40,
    )
}

/// `cargo test --workspace ARGS` against `kernel`'s manifest; fails if any test failed.
fn cargo_test(kernel: KernelVariant, cargo_args: &[String]) -> Result<()> {
    let manifest: PathBuf = artifacts::manifest_path_for(kernel);
    let cargo = cargo();
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
