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
/// line (`CC`, `RUSTC`, `LD`, ...). On failure prints the last `tail_lines`
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
pub fn output_of(cmd: &mut Command) -> Result<String> {
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
            if let Some(progress) = kbuild_progress(&line) {
                *last_progress.lock().unwrap() = Some(progress.to_string());
            }
            buf.clear();
        }
    })
}

/// The phases this process ran and how long each took, for the summary `qemu-bochs test`
/// prints at the end.
static PHASES: Mutex<Vec<(String, Duration, bool)>> = Mutex::new(Vec::new());

/// Runs `f` as the phase `name`, recording its wall time and whether it succeeded.
pub fn phase<T>(name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let start = Instant::now();
    let result = f();
    PHASES.lock().unwrap_or_else(|e| e.into_inner()).push((
        name.to_string(),
        start.elapsed(),
        result.is_ok(),
    ));
    result
}

/// One line per phase recorded so far (`  12.3 min  ok      kernel build (debug)`), and the
/// total.
pub fn phase_summary() -> String {
    let phases = PHASES.lock().unwrap_or_else(|e| e.into_inner());
    format_phases(&phases)
}

fn format_phases(phases: &[(String, Duration, bool)]) -> String {
    let mut text = String::new();
    let mut total = Duration::ZERO;
    for (name, took, ok) in phases {
        total += *took;
        let state = if *ok { "ok" } else { "FAILED" };
        text.push_str(&format!(
            "{:>7.1} min  {state:<7} {name}\n",
            took.as_secs_f64() / 60.0
        ));
    }
    text.push_str(&format!("{:>7.1} min  total\n", total.as_secs_f64() / 60.0));
    text
}

/// Kbuild's quiet lines look like `  CC      kernel/fork.o` or `  RUSTC L rust/core.o`.
pub fn kbuild_progress(line: &str) -> Option<&str> {
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
pub fn tail_of_file(path: &Path, n: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => tail_lines(&String::from_utf8_lossy(&bytes), n),
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

/// The last `n` lines of `text`.
pub fn tail_lines(text: &str, n: usize) -> String {
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
    fn phases_are_listed_with_minutes_state_and_total() {
        let text = format_phases(&[
            (
                "kernel build (standard)".into(),
                Duration::from_secs(330),
                true,
            ),
            (
                "tests (debug kernel)".into(),
                Duration::from_secs(90),
                false,
            ),
        ]);
        assert_eq!(
            text,
            "    5.5 min  ok      kernel build (standard)\n\
             \x20   1.5 min  FAILED  tests (debug kernel)\n\
             \x20   7.0 min  total\n"
        );
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
