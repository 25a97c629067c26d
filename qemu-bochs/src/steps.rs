//! Runs long external commands with their output in a log file and a progress
//! line every few seconds, so a 5-minute kernel build is neither silent nor noisy.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// How often a running step reports its elapsed time.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// Runs `cmd` with stdout and stderr appended to `log_path`.
///
/// Prints `label` first, then every 10 s the elapsed time and the last Kbuild
/// line (`CC`, `RUSTC`, `LD`, ...) or cargo line (`Compiling foo v1.0`). On failure prints the last `tail_lines`
/// lines of the log and returns an error naming the log.
pub fn run_logged(
    label: &str,
    cmd: &mut Command,
    log_path: &Path,
    tail_lines: usize,
) -> Result<()> {
    eprintln!("==> {label}");
    let start = Instant::now();
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path)
        .with_context(|| format!("cannot open log {}", log_path.display()))?;
    let log = Arc::new(Mutex::new(log));
    writeln!(log.lock().unwrap(), "\n$ {cmd:?}")?;

    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {:?}", cmd.get_program()))?;
    let last_progress = Arc::new(Mutex::new(None::<String>));
    let readers = [
        copy_lines(child.stdout.take().unwrap(), &log, &last_progress),
        copy_lines(child.stderr.take().unwrap(), &log, &last_progress),
    ];

    let mut next_report = start + PROGRESS_EVERY;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() >= next_report {
            let last = last_progress.lock().unwrap().clone().unwrap_or_default();
            eprintln!("    {label}: {:>4} s  {last}", start.elapsed().as_secs());
            next_report += PROGRESS_EVERY;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    for reader in readers {
        let _ = reader.join();
    }

    if !status.success() {
        eprintln!("--- last {tail_lines} lines of {} ---", log_path.display());
        eprintln!("{}", tail_of_file(log_path, tail_lines));
        bail!(
            "{label} failed ({status}); full log: {}",
            log_path.display()
        );
    }
    eprintln!("    {label}: done in {} s", start.elapsed().as_secs());
    Ok(())
}

/// Runs a quick command and returns its stdout, failing with its stderr.
pub(crate) fn output_of(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot start {:?}", cmd.get_program()))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn copy_lines(
    stream: impl Read + Send + 'static,
    log: &Arc<Mutex<File>>,
    last_progress: &Arc<Mutex<Option<String>>>,
) -> std::thread::JoinHandle<()> {
    let (log, last_progress) = (log.clone(), last_progress.clone());
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut buf = Vec::new();
        while matches!(reader.read_until(b'\n', &mut buf), Ok(n) if n > 0) {
            let line = String::from_utf8_lossy(&buf);
            let _ = log.lock().unwrap().write_all(line.as_bytes());
            if let Some(progress) = kbuild_progress(&line).or_else(|| cargo_progress(&line)) {
                *last_progress.lock().unwrap() = Some(progress.to_string());
            }
            buf.clear();
        }
    })
}

/// One phase: its name, when it started (from the first phase's start), how long it took,
/// whether it succeeded.
#[derive(Debug, Clone)]
pub struct Phase {
    pub name: String,
    pub start: Duration,
    pub took: Duration,
    pub ok: bool,
}

/// The phases this process ran, for the summary `qemu-bochs test` and a first `demo` print
/// at the end. Phases may run at once on several threads.
static PHASES: Mutex<Vec<Phase>> = Mutex::new(Vec::new());
static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

/// Runs `f` as the phase `name`, recording when it started, its wall time and whether it
/// succeeded.
pub fn phase<T>(name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let start = Instant::now();
    let origin = *ORIGIN.get_or_init(|| start);
    let result = f();
    PHASES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(Phase {
            name: name.to_string(),
            start: start - origin,
            took: start.elapsed(),
            ok: result.is_ok(),
        });
    result
}

/// The phases recorded so far, in the order they started.
pub fn phases() -> Vec<Phase> {
    let mut phases = PHASES.lock().unwrap_or_else(|e| e.into_inner()).clone();
    phases.sort_by_key(|p| p.start);
    phases
}

/// One line per phase recorded so far (`+ 0.4 min   5.5 min  ok      kernel build (debug)`:
/// start, duration), and the wall time from the first start to the last end.
pub fn phase_summary() -> String {
    format_phases(&phases())
}

fn format_phases(phases: &[Phase]) -> String {
    let minutes = |d: Duration| d.as_secs_f64() / 60.0;
    let mut text = String::from("  start    took  state   phase\n");
    let mut end = Duration::ZERO;
    for p in phases {
        end = end.max(p.start + p.took);
        let state = if p.ok { "ok" } else { "FAILED" };
        text.push_str(&format!(
            "{:>+7.1} {:>7.1}  {state:<7} {}\n",
            minutes(p.start),
            minutes(p.took),
            p.name
        ));
    }
    text.push_str(&format!(
        "{:>15.1}  total (wall, minutes; phases that overlap ran at once)\n",
        minutes(end)
    ));
    text
}

/// Cargo's lines look like `   Compiling serde v1.0.219` (and `Finished`, `Installing`).
pub(crate) fn cargo_progress(line: &str) -> Option<&str> {
    let rest = line.trim();
    let verb = rest.split(' ').next()?;
    matches!(
        verb,
        "Compiling" | "Installing" | "Finished" | "Downloaded" | "Building"
    )
    .then_some(rest)
}

/// Kbuild's quiet lines look like `  CC      kernel/fork.o` or `  RUSTC L rust/core.o`.
pub(crate) fn kbuild_progress(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("  ")?;
    let tag = rest.split(char::is_whitespace).next()?;
    let is_tag = tag.len() >= 2
        && tag
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        && rest[tag.len()..].starts_with(char::is_whitespace);
    is_tag.then(|| rest.trim_end())
}

/// The last `n` lines of a text file (lossy UTF-8), or a note if it cannot be read.
pub(crate) fn tail_of_file(path: &Path, n: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => tail_lines(&String::from_utf8_lossy(&bytes), n),
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

/// The last `n` lines of `text`.
pub(crate) fn tail_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_kbuild_lines() {
        assert_eq!(
            kbuild_progress("  CC      kernel/fork.o\n"),
            Some("CC      kernel/fork.o")
        );
        assert_eq!(
            kbuild_progress("  RUSTC L rust/core.o"),
            Some("RUSTC L rust/core.o")
        );
        assert_eq!(
            kbuild_progress("  LD      vmlinux"),
            Some("LD      vmlinux")
        );
        assert_eq!(kbuild_progress("make[1]: Entering directory"), None);
        assert_eq!(
            kbuild_progress("  Kernel: arch/x86/boot/bzImage is ready"),
            None
        );
        assert_eq!(kbuild_progress("  X"), None);
    }

    #[test]
    fn phases_are_listed_with_start_minutes_state_and_wall_total() {
        let phase = |name: &str, start: u64, took: u64, ok: bool| Phase {
            name: name.into(),
            start: Duration::from_secs(start),
            took: Duration::from_secs(took),
            ok,
        };
        let text = format_phases(&[
            phase("bindgen-cli", 0, 120, true),
            phase("guest programs (demo)", 0, 60, true),
            phase("kernel build (standard)", 120, 330, true),
            phase("tests (debug kernel)", 450, 90, false),
        ]);
        assert_eq!(
            text,
            "  start    took  state   phase\n\
             \x20  +0.0     2.0  ok      bindgen-cli\n\
             \x20  +0.0     1.0  ok      guest programs (demo)\n\
             \x20  +2.0     5.5  ok      kernel build (standard)\n\
             \x20  +7.5     1.5  FAILED  tests (debug kernel)\n\
             \x20           9.0  total (wall, minutes; phases that overlap ran at once)\n"
        );
    }

    #[test]
    fn recognises_cargo_lines() {
        assert_eq!(
            cargo_progress("   Compiling serde v1.0.219\n"),
            Some("Compiling serde v1.0.219")
        );
        assert_eq!(cargo_progress("warning: unused"), None);
    }

    #[test]
    fn tail_keeps_last_lines() {
        assert_eq!(tail_lines("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail_lines("a", 5), "a");
    }

    #[test]
    fn failing_command_reports_log_tail() {
        let dir = std::env::temp_dir().join(format!("qemu-bochs-steps-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("log");
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo '  CC      a.o'; echo oops >&2; exit 3"]);
        let err = run_logged("test step", &mut cmd, &log, 10).unwrap_err();
        assert!(err.to_string().contains("test step failed"), "{err}");
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(
            text.contains("CC      a.o") && text.contains("oops"),
            "{text}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
