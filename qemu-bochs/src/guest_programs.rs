//! Builds the static guest programs that go into the initramfs.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

/// A binary installed as `/bin/<binary>` in the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuestProgram {
    pub package: &'static str,
    pub binary: &'static str,
}

/// Every guest program; add new ones here.
pub const GUEST_PROGRAMS: &[GuestProgram] = &[
    GuestProgram {
        package: "bochsfb-demos",
        binary: "testcard",
    },
    GuestProgram {
        package: "bochsfb-demos",
        binary: "bochsfb-demo",
    },
    GuestProgram {
        package: "bochsfb-check",
        binary: "bochsfb-check",
    },
    GuestProgram {
        package: "bochsfb-bench",
        binary: "bochsfb-bench",
    },
];

/// A C program built for the guest's 32-bit (i386) compat ABI, installed as `/bin/<binary>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compat32Program {
    pub binary: &'static str,
    /// Its one source file, relative to the repository root.
    pub source: &'static str,
}

/// Programs that check what 32-bit processes see (the guest kernel has `IA32_EMULATION`).
pub const COMPAT32_PROGRAMS: &[Compat32Program] = &[Compat32Program {
    binary: "compat32",
    source: "tests/guest/compat32/compat32.c",
}];

/// The guest is x86-64 Linux; programs are linked statically (no libc in the initramfs).
pub const GUEST_TARGET: &str = "x86_64-unknown-linux-gnu";

/// `cargo build --release` of [`GUEST_PROGRAMS`] into `<repo>/target/guest`
/// (a separate target dir, so the static RUSTFLAGS do not invalidate host builds).
/// Returns `(binary name, path)` pairs.
pub fn build(repo: &Path) -> Result<Vec<(String, PathBuf)>> {
    let target_dir = repo.join("target").join("guest");
    eprintln!("==> guest programs: cargo build --release --target {GUEST_TARGET}");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(repo)
        .args(["build", "--release", "--target", GUEST_TARGET])
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env("CARGO_TARGET_DIR", &target_dir);
    for package in unique_packages() {
        cmd.args(["-p", package]);
    }
    let status = cmd.status().context("cannot run cargo")?;
    if !status.success() {
        bail!("building the guest programs failed ({status})");
    }
    let release = target_dir.join(GUEST_TARGET).join("release");
    let mut programs = rust_programs(&release)?;
    programs.extend(build_compat32(repo, &target_dir)?);
    Ok(programs)
}

/// `gcc -m32 -static` of each of [`COMPAT32_PROGRAMS`] into `<target_dir>/compat32/`.
fn build_compat32(repo: &Path, target_dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let out_dir = target_dir.join("compat32");
    std::fs::create_dir_all(&out_dir)?;
    COMPAT32_PROGRAMS
        .iter()
        .map(|p| {
            eprintln!("==> guest programs: gcc -m32 -static {}", p.source);
            let out = out_dir.join(p.binary);
            let status = Command::new("gcc")
                .args(["-m32", "-static", "-O2", "-Wall", "-Wextra", "-Werror", "-o"])
                .arg(&out)
                .arg(repo.join(p.source))
                .status()
                .context("cannot run gcc")?;
            if !status.success() {
                bail!("gcc -m32 {} failed ({status}); is gcc-multilib installed?", p.source);
            }
            Ok((p.binary.to_string(), out))
        })
        .collect()
}

fn rust_programs(release: &Path) -> Result<Vec<(String, PathBuf)>> {
    GUEST_PROGRAMS
        .iter()
        .map(|p| {
            let path = release.join(p.binary);
            if !path.exists() {
                bail!(
                    "cargo built package {} but {} is missing",
                    p.package,
                    path.display()
                );
            }
            Ok((p.binary.to_string(), path))
        })
        .collect()
}

fn unique_packages() -> Vec<&'static str> {
    let mut packages: Vec<&str> = GUEST_PROGRAMS.iter().map(|p| p.package).collect();
    packages.sort_unstable();
    packages.dedup();
    packages
}
