//! Builds the static guest programs that go into the initramfs.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::steps::run_logged;

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

/// Which guest programs a build makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GuestSet {
    /// Every program (what the tests, `run`, `shell` and `bench` need).
    #[default]
    All,
    /// What `demo` runs: the `bochsfb-demos` package (`bochsfb-demo`); no C
    /// programs.
    Demo,
}

impl GuestSet {
    /// The Rust programs of this set.
    pub fn programs(self) -> Vec<GuestProgram> {
        GUEST_PROGRAMS
            .iter()
            .copied()
            .filter(|p| self == GuestSet::All || p.package == "bochsfb-demos")
            .collect()
    }

    /// The C programs of this set.
    pub fn c_programs(self) -> &'static [CProgram] {
        match self {
            GuestSet::All => C_PROGRAMS,
            GuestSet::Demo => &[],
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            GuestSet::All => "all",
            GuestSet::Demo => "demo",
        }
    }
}

fn target_dir(repo: &Path) -> PathBuf {
    repo.join("target").join("guest")
}

/// `cargo build --release` of the Rust programs of `set` into `<repo>/target/guest`
/// (a separate target dir, so the static RUSTFLAGS do not invalidate host builds), its output
/// in `log`. Returns `(binary name, path)` pairs.
pub fn build(repo: &Path, set: GuestSet, log: &Path) -> Result<Vec<(String, PathBuf)>> {
    let target_dir = target_dir(repo);
    let programs = set.programs();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(repo)
        .args(["build", "--release", "--target", GUEST_TARGET])
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env("CARGO_TARGET_DIR", &target_dir);
    for package in unique_packages(&programs) {
        cmd.args(["-p", package]);
    }
    let _ = std::fs::remove_file(log);
    run_logged(
        &format!(
            "guest programs ({}): cargo build --release --target {GUEST_TARGET}",
            set.name()
        ),
        &mut cmd,
        log,
        40,
    )?;
    let release = target_dir.join(GUEST_TARGET).join("release");
    rust_programs(&release, &programs)
}

/// `gcc -static` (and `-m32` where asked) of each C program of `set` into
/// `<repo>/target/guest/c/`.
pub fn build_c_programs(repo: &Path, set: GuestSet) -> Result<Vec<(String, PathBuf)>> {
    let out_dir = target_dir(repo).join("c");
    std::fs::create_dir_all(&out_dir)?;
    set.c_programs()
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

fn rust_programs(release: &Path, programs: &[GuestProgram]) -> Result<Vec<(String, PathBuf)>> {
    programs
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

fn unique_packages(programs: &[GuestProgram]) -> Vec<&'static str> {
    let mut packages: Vec<&'static str> = programs.iter().map(|p| p.package).collect();
    packages.sort_unstable();
    packages.dedup();
    packages
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_set_is_the_demo_package_alone() {
        let demo: Vec<&str> = GuestSet::Demo.programs().iter().map(|p| p.binary).collect();
        assert_eq!(demo, ["bochsfb-demo"]);
        assert!(GuestSet::Demo.c_programs().is_empty());
        assert_eq!(GuestSet::All.programs().len(), GUEST_PROGRAMS.len());
        assert_eq!(
            unique_packages(&GuestSet::All.programs()),
            ["bochsfb-bench", "bochsfb-check", "bochsfb-demos"]
        );
    }
}
