//! The command line: [`Cli`] and its subcommands, one file each; [`Cmd::run`] runs one.

use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

mod args;
mod bench;
mod build;
mod check;
mod demo;
mod demos;
mod fuzz;
mod gallery;
mod prereqs;
mod run;
mod shell;
mod test;

#[derive(Parser)]
#[command(
    name = "qemu-bochs",
    version,
    about = "Build the bochsfb guest and run it in QEMU"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Subcommand)]
pub enum Cmd {
    /// Install prerequisites; build the kernel, module, guest programs and initramfs.
    Build(build::BuildArgs),
    /// Install what the build needs (Debian packages, rust-src, clippy, bindgen-cli); never
    /// removes or downgrades a package.
    Prereqs(prereqs::PrereqsArgs),
    /// Build, boot, run a demo (default: the test card) and save out/demo/<demo>.png.
    Demo(demo::DemoArgs),
    /// List the demos, one line each.
    Demos,
    /// Record every demo in one guest as an animated GIF for the README gallery
    /// (docs/gallery/NAME.gif, scaled down to stay small).
    Gallery(gallery::GalleryArgs),
    /// Boot the guest with the driver loaded and give a prompt: each line typed runs in the
    /// guest (as its own shell command line); Ctrl-D ends it.
    Shell(shell::ShellArgs),
    /// Boot, run one guest shell command, print its output; exits with its status.
    Run(run::RunArgs),
    /// mmap versus write: benchmark bochsfb, vesafb and the C bochs DRM driver, the
    /// call-size sweep and its cost model; writes results.json, results.md and PNG charts.
    Bench(bench::BenchArgs),
    /// Coverage-guided fuzzing of the driver (`bochsfb-check kfuzz`, KCOV on the debug kernel):
    /// one boot; the corpus is kept in the cache for the next run; a finding fails the command
    /// with its minimised reproducer (across boots if it wedges the card) in out/fuzz/.
    Fuzz(fuzz::FuzzArgs),
    /// Build everything, then `cargo test` with BOCHSFB_ARTIFACTS set. Without `--kernel` and
    /// arguments: the style phase (`check`) first, every suite on the standard kernel, then the
    /// robustness suite (its ignored, debug-only tests included), the harness's protocol tests
    /// and bochsfb's DRM face with its clients on the debug kernel, with the time of each phase
    /// at the end. This is what CI runs.
    Test(test::TestArgs),
    /// The style phase alone, which `test` runs first (no kernel, well under a minute with
    /// warm caches): `cargo fmt --check`, rustfmt on `kmod/`, clippy and rustdoc with warnings
    /// denied, and the renderer without default features.
    Check,
}

impl Cmd {
    /// Runs the subcommand; its exit code, or the error to print.
    pub fn run(self) -> Result<ExitCode> {
        match self {
            Cmd::Build(args) => args.run(),
            Cmd::Prereqs(args) => args.run(),
            Cmd::Demo(args) => args.run(),
            Cmd::Demos => demos::run(),
            Cmd::Gallery(args) => args.run(),
            Cmd::Shell(args) => args.run(),
            Cmd::Run(args) => args.run(),
            Cmd::Bench(args) => args.run(),
            Cmd::Fuzz(args) => args.run(),
            Cmd::Test(args) => args.run(),
            Cmd::Check => check::run(),
        }
    }
}
