//! The guest's serial console: the log file, the lines read from QEMU's stdout, QEMU's stderr.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::SystemTime;

use anyhow::{Context, Result};

use crate::paths;

pub(super) fn default_log_path() -> PathBuf {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let secs = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    paths::out_dir()
        .join("logs")
        .join(format!("vm-{secs}-{}-{n}.log", std::process::id()))
}

/// The serial log: a file (with host notes and QEMU's stderr) and the guest's lines.
pub(super) struct SerialLog {
    pub(super) path: PathBuf,
    file: Mutex<File>,
    /// Every line the guest printed, in order.
    pub(super) lines: Mutex<Vec<String>>,
}

impl SerialLog {
    pub(super) fn create(path: &Path) -> Result<Self> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let file = File::create(path)
            .with_context(|| format!("cannot create serial log {}", path.display()))?;
        Ok(Self {
            path: paths::absolute(path)?,
            file: Mutex::new(file),
            lines: Mutex::new(Vec::new()),
        })
    }

    pub(super) fn guest_line(&self, line: &str) {
        let _ = writeln!(self.file.lock().unwrap(), "{line}");
        self.lines.lock().unwrap().push(line.to_string());
    }

    /// Host-side lines are marked, so they are never mistaken for guest output.
    pub(super) fn note(&self, text: &str) {
        let _ = writeln!(self.file.lock().unwrap(), "[host] {text}");
    }
}

/// Splits QEMU's stdout (the guest console) into lines for the log and the channel.
pub(super) fn read_console(
    stdout: impl Read + Send + 'static,
    serial: Arc<SerialLog>,
    tx: mpsc::Sender<String>,
    echo: bool,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut buf = Vec::new();
        while matches!(reader.read_until(b'\n', &mut buf), Ok(n) if n > 0) {
            // The tty turns \n into \r\n; drop every \r.
            let line: String = String::from_utf8_lossy(&buf)
                .chars()
                .filter(|&c| c != '\r' && c != '\n')
                .collect();
            buf.clear();
            if echo {
                eprintln!("guest| {line}");
            }
            serial.guest_line(&line);
            let _ = tx.send(line);
        }
    })
}

pub(super) fn read_qemu_stderr(
    stderr: impl Read + Send + 'static,
    serial: Arc<SerialLog>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            serial.note(&format!("qemu: {line}"));
        }
    })
}
