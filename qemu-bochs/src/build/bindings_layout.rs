//! Checks that the Rust bindings of a built guest kernel have C's struct layouts.
//!
//! The kernel generates `rust/bindings/bindings_generated.rs` with `--no-layout-tests`, so
//! nothing checks that bindgen's structs have the sizes, alignments and field offsets clang
//! computed. When they differ, safe-looking kernel-crate code reads the wrong bytes: an empty
//! cacheline-aligned `struct sched_statistics` once moved every later `task_struct` field
//! 0x30 bytes (kernel patch 0001). This reruns the kernel's own bindgen command *with* layout
//! tests (compile-time assertions) and compiles the result: every mismatch fails to compile.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::build::kernel_build::LIBCLANG_PATH;
use crate::cache;
use crate::paths;

/// Written into the build directory once its bindings passed.
const STAMP: &str = "bochsfb-layout.stamp";

/// Checks the bindings of the kernel built in `build_dir`, once per build.
pub fn check_once(build_dir: &Path) -> Result<()> {
    let stamp = build_dir.join(STAMP);
    if stamp.exists() {
        return Ok(());
    }
    eprintln!("==> kernel: bindgen layouts against C (bindgen with layout tests, then rustc)");
    check(build_dir)?;
    cache::write_atomically(&stamp, "bindgen agrees with C\n")
}

/// Reruns the bindgen command of `build_dir` with layout tests and compiles its output.
pub fn check(build_dir: &Path) -> Result<()> {
    let cmd_file = build_dir.join("rust/bindings/.bindings_generated.rs.cmd");
    let saved = std::fs::read_to_string(&cmd_file)
        .with_context(|| format!("cannot read {}", cmd_file.display()))?;
    let scratch = tempfile_dir(build_dir)?;
    let generated = scratch.join("bindings.rs");
    let args = bindgen_args(&saved, &generated)?;
    let status = Command::new(&args[0])
        .args(&args[1..])
        .current_dir(build_dir)
        .env("LIBCLANG_PATH", LIBCLANG_PATH)
        .env("PATH", paths::tool_path())
        .status()
        .context("cannot run bindgen")?;
    if !status.success() {
        bail!("bindgen with layout tests failed ({status})");
    }
    let source = std::fs::read_to_string(&generated)?;
    let crate_source = scratch.join("layout.rs");
    std::fs::write(&crate_source, standalone_crate(&source))?;
    let out = Command::new("rustc")
        .args([
            "--edition",
            "2021",
            "--crate-type",
            "lib",
            "--emit=metadata",
            "-o",
        ])
        .arg(scratch.join("layout.rmeta"))
        .arg(&crate_source)
        .env("PATH", paths::tool_path())
        .output()
        .context("cannot run rustc")?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let _ = std::fs::remove_dir_all(&scratch);
    if !out.status.success() {
        let mismatches = layout_mismatches(&stderr);
        if mismatches.is_empty() {
            bail!("the bindings with layout tests do not compile:\n{stderr}");
        }
        bail!(
            "the kernel's Rust bindings disagree with C on {} layout(s) (first per struct):\n  {}",
            mismatches.len(),
            mismatches.join("\n  ")
        );
    }
    Ok(())
}

/// A fresh scratch directory inside the build directory (same filesystem, removed after).
fn tempfile_dir(build_dir: &Path) -> Result<std::path::PathBuf> {
    let dir = build_dir.join(format!("bochsfb-layout.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// The bindgen command saved by Kbuild (`savedcmd_... := bindgen ...; sed ...`), with layout
/// tests on, its output to `output`, and the options that only make sense inside the kernel
/// crate (custom derives, the `ffi` ctypes prefix, the dependency file) taken out.
fn bindgen_args(saved: &str, output: &Path) -> Result<Vec<String>> {
    let first = saved.lines().next().unwrap_or_default();
    let (_, command) = first
        .split_once(":=")
        .context("no `:=` in the saved bindgen command")?;
    let command = command.split(';').next().unwrap_or_default();
    let words = shlex::split(&command.replace("$(pound)", "#"))
        .context("cannot split the saved bindgen command")?;
    let mut args = Vec::new();
    let mut words = words.into_iter();
    while let Some(word) = words.next() {
        match word.as_str() {
            "--no-layout-tests" => {}
            "--with-derive-custom-struct" | "--with-derive-custom-union" => {
                words.next();
            }
            "-o" => {
                words.next();
                args.extend(["-o".to_string(), output.display().to_string()]);
            }
            "--ctypes-prefix" => {
                words.next();
                args.extend(["--ctypes-prefix".to_string(), "core::ffi".to_string()]);
            }
            w if w.starts_with("-Wp,") => {}
            _ => args.push(word),
        }
    }
    if args.first().map(String::as_str) != Some("bindgen") {
        bail!("the saved command does not run bindgen: {first}");
    }
    Ok(args)
}

/// bindgen's output as a crate of its own: the types the kernel maps by hand, no CFI attributes.
fn standalone_crate(generated: &str) -> String {
    let mut out = String::from(
        "#![no_std]\n#![allow(warnings)]\npub type __kernel_size_t = usize;\n\
         pub type __kernel_ssize_t = isize;\npub type __kernel_ptrdiff_t = isize;\n",
    );
    for line in generated.lines().filter(|l| !l.contains("cfi_encoding")) {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The failed layout assertions in rustc's output, e.g. `Offset of field: task_struct::pid`.
fn layout_mismatches(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|line| {
            let start = line.find("[\"")? + 2;
            let rest = &line[start..];
            let end = rest.find('"')?;
            let what = &rest[..end];
            ["Size of", "Alignment of", "Offset of"]
                .iter()
                .any(|p| what.starts_with(p))
                .then(|| what.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_saved_command_gets_layout_tests_and_loses_kernel_only_options() {
        let saved = "savedcmd_rust/bindings/bindings_generated.rs := bindgen h.h \
            --opaque-type sched_statistics \
            --with-attribute-custom-enum=irqreturn='$(pound)[cfi_encoding=\"9irqreturn\"]' \
            --no-layout-tests --with-derive-custom-struct '.*=MaybeZeroable' \
            --ctypes-prefix ffi -o rust/bindings/bindings_generated.rs -- -Wp,-MMD,x.d -DX; \
            sed -Ei 's/x/y/' rust/bindings/bindings_generated.rs\n";
        let args = bindgen_args(saved, Path::new("/tmp/b.rs")).unwrap();
        assert_eq!(
            args,
            [
                "bindgen",
                "h.h",
                "--opaque-type",
                "sched_statistics",
                "--with-attribute-custom-enum=irqreturn=#[cfi_encoding=\"9irqreturn\"]",
                "--ctypes-prefix",
                "core::ffi",
                "-o",
                "/tmp/b.rs",
                "--",
                "-DX",
            ]
        );
    }

    /// By hand, on a real build: `BOCHSFB_LAYOUT_BUILD=~/.cache/bochsfb/build/<key> cargo test
    /// -p qemu-bochs --lib bindings_layout -- --ignored` (a build without kernel patch 0001
    /// fails with `task_struct`).
    #[test]
    #[ignore = "needs a built guest kernel named by BOCHSFB_LAYOUT_BUILD"]
    fn a_built_kernel_named_by_the_environment() {
        let dir = std::env::var_os("BOCHSFB_LAYOUT_BUILD").expect("BOCHSFB_LAYOUT_BUILD");
        check(Path::new(&dir)).unwrap();
    }

    #[test]
    fn mismatches_are_read_from_rustc_errors() {
        let stderr = "error[E0080]: evaluation of constant value failed\n  \
            [\"Offset of field: task_struct::pid\"][::core::mem::offset_of!(task_struct, pid) - 2432usize];\n\
            note: something else [\"not a layout\"]\n";
        assert_eq!(
            layout_mismatches(stderr),
            ["Offset of field: task_struct::pid"]
        );
    }
}
