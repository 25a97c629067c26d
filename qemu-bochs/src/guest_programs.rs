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

/// A C program for the guest, built against `include/uapi/bochsfb.h` with `gcc -static`,
/// installed as `/bin/<binary>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CProgram {
    pub binary: &'static str,
    /// Its one source file, relative to the repository root.
    pub source: &'static str,
    /// Built for the 32-bit (i386) compat ABI (`-m32`; the guest kernel has `IA32_EMULATION`).
    pub m32: bool,
}

/// The C programs: what 32-bit processes see, and a program that draws through the header.
pub const C_PROGRAMS: &[CProgram] = &[
    CProgram {
        binary: "compat32",
        source: "tests/guest/c/compat32.c",
        m32: true,
    },
    CProgram {
        binary: "bochsfb-draw-c",
        source: "tests/guest/c/draw.c",
        m32: false,
    },
];

/// Where the C header of the driver's ABI lives, relative to the repository root.
pub const UAPI_INCLUDE: &str = "include/uapi";

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
    programs.extend(build_c_programs(repo, &target_dir)?);
    Ok(programs)
}

/// `gcc -static` (and `-m32` where asked) of each of [`C_PROGRAMS`] into `<target_dir>/c/`.
fn build_c_programs(repo: &Path, target_dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let out_dir = target_dir.join("c");
    std::fs::create_dir_all(&out_dir)?;
    C_PROGRAMS
        .iter()
        .map(|p| {
            let abi = if p.m32 {
                ["-m32"].as_slice()
            } else {
                [].as_slice()
            };
            eprintln!(
                "==> guest programs: gcc {}-static {}",
                if p.m32 { "-m32 " } else { "" },
                p.source
            );
            let out = out_dir.join(p.binary);
            let status = Command::new("gcc")
                .args(abi)
                .args([
                    "-static",
                    "-O2",
                    "-std=gnu11",
                    "-Wall",
                    "-Wextra",
                    "-Werror",
                    "-I",
                ])
                .arg(repo.join(UAPI_INCLUDE))
                .arg("-o")
                .arg(&out)
                .arg(repo.join(p.source))
                .status()
                .context("cannot run gcc")?;
            if !status.success() {
                let hint = if p.m32 {
                    "; is gcc-multilib installed?"
                } else {
                    ""
                };
                bail!("gcc {} failed ({status}){hint}", p.source);
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
