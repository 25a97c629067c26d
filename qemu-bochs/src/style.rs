//! The style phase: the fast checks `qemu-bochs test` runs before anything builds a kernel, and
//! `qemu-bochs check` runs alone. Formatting (the workspace with `rustfmt.toml`, `kmod/` with
//! the kernel's settings), clippy and rustdoc with warnings denied, and the renderer without
//! its default features. Every check runs even after one fails, so one run shows them all.

use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::build::{module, prereqs};
use crate::paths;

/// One check: a command run from the repository root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Check {
    /// What the summary calls it.
    pub name: &'static str,
    /// `cargo` (whichever runs this harness) or `rustfmt`.
    pub program: Program,
    pub args: Vec<OsString>,
    /// Extra environment variables.
    pub env: Vec<(&'static str, OsString)>,
}

/// The program a [`Check`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Program {
    Cargo,
    Rustfmt,
}

/// The checks, quickest first, for the module sources `kmod_sources` (`module::sources`).
/// `rustdocflags` is the caller's `RUSTDOCFLAGS`, which the doc check extends.
pub(crate) fn checks(
    kmod_sources: &[impl AsRef<Path>],
    rustdocflags: Option<OsString>,
) -> Vec<Check> {
    let words = |w: &[&str]| w.iter().map(OsString::from).collect::<Vec<_>>();
    let mut kmod = words(&module::RUSTFMT_ARGS);
    kmod.push("--check".into());
    kmod.extend(
        kmod_sources
            .iter()
            .map(|p| p.as_ref().as_os_str().to_owned()),
    );
    let mut doc_flags = rustdocflags.unwrap_or_default();
    if !doc_flags.is_empty() {
        doc_flags.push(" ");
    }
    doc_flags.push("-Dwarnings");
    vec![
        Check {
            name: "cargo fmt --all --check",
            program: Program::Cargo,
            args: words(&["fmt", "--all", "--check"]),
            env: Vec::new(),
        },
        Check {
            name: "rustfmt --check kmod/**/*.rs (the kernel's settings)",
            program: Program::Rustfmt,
            args: kmod,
            env: Vec::new(),
        },
        Check {
            name: "cargo clippy --workspace --all-targets -- -D warnings",
            program: Program::Cargo,
            args: words(&[
                "clippy",
                "--quiet",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]),
            env: Vec::new(),
        },
        Check {
            name: "RUSTDOCFLAGS=-Dwarnings cargo doc --workspace --no-deps",
            program: Program::Cargo,
            args: words(&["doc", "--quiet", "--workspace", "--no-deps"]),
            env: vec![("RUSTDOCFLAGS", doc_flags)],
        },
        // Clippy rather than a build: it also shows that the code without DRM compiles, and
        // denies the warnings only that configuration has (an import used by DRM alone).
        Check {
            name: "cargo clippy -p bochsfb-renderer --no-default-features --all-targets -- -D warnings",
            program: Program::Cargo,
            args: words(&[
                "clippy",
                "--quiet",
                "-p",
                "bochsfb-renderer",
                "--no-default-features",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]),
            env: Vec::new(),
        },
    ]
}

/// Runs every check from the repository root, output as it comes, and fails naming those that
/// failed.
pub fn run() -> Result<()> {
    prereqs::ensure_style_tools()?;
    let root = paths::repo_root();
    let sources = module::sources(&root.join("kmod"))?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut failed = Vec::new();
    for check in checks(&sources, std::env::var_os("RUSTDOCFLAGS")) {
        eprintln!("==> style: {}", check.name);
        let start = Instant::now();
        let program = match check.program {
            Program::Cargo => cargo.clone(),
            Program::Rustfmt => "rustfmt".into(),
        };
        let status = Command::new(&program)
            .current_dir(&root)
            .args(&check.args)
            .envs(check.env.iter().cloned())
            .env("PATH", paths::tool_path())
            .stdin(Stdio::null())
            .status()
            .with_context(|| format!("cannot run {}", program.to_string_lossy()))?;
        let state = if status.success() { "ok" } else { "FAILED" };
        eprintln!(
            "    style: {state} in {:.1} s",
            start.elapsed().as_secs_f64()
        );
        if !status.success() {
            failed.push(check.name);
        }
    }
    if !failed.is_empty() {
        bail!(
            "style: {} failed (`cargo fmt --all` and `rustfmt --edition 2021 kmod/*.rs` fix \
             the formatting)",
            failed.join("; ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_comes_first_and_every_lint_check_denies_warnings() {
        let checks = checks(&["kmod/a.rs", "kmod/b.rs"], None);
        assert_eq!(checks[0].args, ["fmt", "--all", "--check"]);
        assert_eq!(checks[1].program, Program::Rustfmt);
        assert!(checks[1].args.ends_with(&[
            "--check".into(),
            "kmod/a.rs".into(),
            "kmod/b.rs".into()
        ]));
        for check in checks.iter().filter(|c| c.args.contains(&"clippy".into())) {
            assert!(
                check.args.ends_with(&["-D".into(), "warnings".into()]),
                "{check:?}"
            );
        }
        assert!(checks
            .iter()
            .any(|c| c.args.contains(&"--no-default-features".into())));
    }

    #[test]
    fn rustdoc_flags_are_extended_not_replaced() {
        let doc = |flags: Option<&str>| {
            checks(&["kmod/a.rs"], flags.map(OsString::from))
                .into_iter()
                .find(|c| c.args.first().is_some_and(|a| a == "doc"))
                .unwrap()
                .env
        };
        assert_eq!(doc(None), [("RUSTDOCFLAGS", OsString::from("-Dwarnings"))]);
        assert_eq!(
            doc(Some("--cfg docsrs")),
            [("RUSTDOCFLAGS", OsString::from("--cfg docsrs -Dwarnings"))]
        );
    }
}
