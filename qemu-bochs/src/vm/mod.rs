//! Boots the guest in QEMU and talks to its `/init` over the serial console: [`Vm`] runs
//! commands and takes screenshots. The configuration and QEMU's command line are in
//! `config`, the serial log and console readers in `console`, the QEMU process and its
//! private directory in `process`.

mod accel;
mod config;
mod console;
mod input;
pub mod live_view;
mod process;
pub mod protocol;
pub(crate) mod qmp;
pub mod record;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

pub use accel::resolve as resolve_accel;
pub use config::{free_vnc_display, qemu_args, window_display, Accel, Display, VmConfig, QEMU};
use console::{default_log_path, read_console, read_qemu_stderr, SerialLog};
pub use input::{absolute, ABS_MAX};
use process::{QemuProcess, RunDir};

use crate::build::artifacts::Artifacts;
use crate::paths;
use crate::steps::tail_lines;
use protocol::GuestEvent;
use qmp::Qmp;

/// Lines of serial log shown with every failure.
const TAIL_LINES: usize = 40;

/// The result of one guest command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutput {
    /// Exit status as the guest shell reports it (128+N for signal N).
    pub status: i32,
    /// Console lines between the command and its status, each ending in `\n`.
    /// Kernel messages printed meanwhile are included.
    pub output: String,
    /// Screenshots the command asked for, in order.
    pub screenshots: Vec<PathBuf>,
}

/// A running guest whose `/init` has printed `@@bochsfb:ready`. QEMU is killed on drop.
pub struct Vm {
    qemu: Mutex<QemuProcess>,
    /// Held for the whole of a command, so commands from several threads do not mix.
    console: Mutex<Console>,
    serial: Arc<SerialLog>,
    qmp: Mutex<Option<Qmp>>,
    screenshot_dir: PathBuf,
    readers: Mutex<Vec<JoinHandle<()>>>,
    _run_dir: RunDir,
}

struct Console {
    stdin: ChildStdin,
    lines: Receiver<String>,
}

impl Vm {
    /// Starts QEMU and waits for the guest to load the driver.
    pub fn boot(artifacts: &Artifacts, config: &VmConfig) -> Result<Vm> {
        let resolved;
        let config = if config.accel == Accel::Auto {
            resolved = VmConfig {
                accel: accel::resolve(Accel::Auto, artifacts)?,
                ..config.clone()
            };
            &resolved
        } else {
            config
        };
        let run_dir = RunDir::create()?;
        let log_path = match &config.log_path {
            Some(path) => path.clone(),
            None => default_log_path(),
        };
        let serial = Arc::new(SerialLog::create(&log_path)?);
        let screenshot_dir = match &config.screenshot_dir {
            Some(dir) => paths::absolute(dir)?,
            None => paths::out_dir().join("screenshots"),
        };
        let qmp_socket = run_dir.0.join("qmp.sock");
        let args = qemu_args(artifacts, config, &qmp_socket)?;
        serial.note(&format!("{QEMU} {}", args.join(" ")));
        eprintln!(
            "vm: booting ({}, vgamem {} MiB), serial log {}",
            config.accel.name(),
            config.vgamem_mb,
            log_path.display()
        );

        let mut qemu = Command::new(QEMU);
        if config.own_process_group {
            std::os::unix::process::CommandExt::process_group(&mut qemu, 0);
        }
        let mut child = qemu
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {QEMU} (is qemu-system-x86 installed?)"))?;
        let (stdin, stdout, stderr) = (
            child.stdin.take().unwrap(),
            child.stdout.take().unwrap(),
            child.stderr.take().unwrap(),
        );
        let (tx, rx) = mpsc::channel();
        let readers = vec![
            read_console(stdout, serial.clone(), tx, config.echo_console),
            read_qemu_stderr(stderr, serial.clone()),
        ];
        let vm = Vm {
            qemu: Mutex::new(QemuProcess(child)),
            console: Mutex::new(Console { stdin, lines: rx }),
            serial,
            qmp: Mutex::new(None),
            screenshot_dir,
            readers: Mutex::new(readers),
            _run_dir: run_dir,
        };

        let start = Instant::now();
        let deadline = start + config.boot_timeout;
        *vm.qmp.lock().unwrap() = Some(vm.connect_qmp(&qmp_socket, deadline)?);
        let waiting_for = match config.accel {
            Accel::Tcg | Accel::Auto => "@@bochsfb:ready",
            // Seen on nested-PVM hosts: /dev/kvm works for SeaBIOS, then Linux hangs silently.
            Accel::Kvm => "@@bochsfb:ready (if KVM hangs on this host, use --accel tcg)",
        };
        let console = vm.console.lock().unwrap();
        loop {
            let line = vm.next_line(&console, deadline, config.boot_timeout, waiting_for)?;
            match protocol::parse_guest_line(&line) {
                Some(GuestEvent::Ready) => break,
                Some(GuestEvent::InsmodFailed(status)) => {
                    return Err(vm.fail(format!(
                        "loading the {} driver failed with status {status}",
                        config.driver.name()
                    )))
                }
                _ => {}
            }
        }
        drop(console);
        eprintln!("vm: ready in {:.1} s", start.elapsed().as_secs_f64());
        Ok(vm)
    }

    /// Runs one shell command line in the guest and waits for its status.
    pub fn run(&self, command: &str, timeout: Duration) -> Result<RunOutput> {
        self.run_with(command, timeout, |_| {})
    }

    /// Like [`Vm::run`], calling `on_line` with each output line as it arrives.
    pub fn run_with(
        &self,
        command: &str,
        timeout: Duration,
        mut on_line: impl FnMut(&str),
    ) -> Result<RunOutput> {
        if command.contains(['\n', '\r']) || ["", "poweroff"].contains(&command.trim()) {
            bail!("a guest command must be one non-empty line, not `poweroff` (use Vm::shutdown): {command:?}");
        }
        let mut console = self.console.lock().unwrap();
        // Lines that arrived between commands (kernel messages) are already in the log.
        while console.lines.try_recv().is_ok() {}
        self.serial.note(&format!(">>> {command}"));
        self.send(&mut console, command)?;

        let deadline = Instant::now() + timeout;
        let waiting_for = format!("`{command}` to finish");
        let mut output = String::new();
        let mut screenshots = Vec::new();
        let mut screenshot_error = None;
        let mut push = |text: &str, output: &mut String| {
            output.push_str(text);
            output.push('\n');
            on_line(text);
        };
        loop {
            let line = self.next_line(&console, deadline, timeout, &waiting_for)?;
            match protocol::parse_guest_line(&line) {
                Some(GuestEvent::Status { status, before }) => {
                    if !before.is_empty() {
                        push(before, &mut output);
                    }
                    if let Some(error) = screenshot_error {
                        return Err(error);
                    }
                    return Ok(RunOutput {
                        status,
                        output,
                        screenshots,
                    });
                }
                Some(GuestEvent::Screendump { name, before }) => {
                    if !before.is_empty() {
                        push(before, &mut output);
                    }
                    match self.guest_screendump(name) {
                        Ok(path) => screenshots.push(path),
                        Err(e) => screenshot_error = Some(e),
                    }
                    // Always answer: the guest program waits for this line.
                    self.send(&mut console, "")?;
                }
                _ => push(&line, &mut output),
            }
        }
    }

    /// Saves the guest's screen (the first card's) as a PNG.
    pub fn screendump(&self, path: &Path) -> Result<()> {
        self.screendump_of(path, None)
    }

    /// Saves the screen of the card with qdev id `device` (`-device ...,id=NAME`) as a PNG.
    pub fn screendump_of(&self, path: &Path, device: Option<&str>) -> Result<()> {
        let path = paths::absolute(path)?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut qmp = self.qmp.lock().unwrap();
        qmp.as_mut()
            .context("no QMP connection")?
            .screendump(&path, device)?;
        self.serial.note(&format!("screendump {}", path.display()));
        Ok(())
    }

    /// Runs a QMP command (e.g. `device_del` for hot-unplug) and returns its result.
    pub fn qmp(&self, command: &str, arguments: serde_json::Value) -> Result<serde_json::Value> {
        let mut qmp = self.qmp.lock().unwrap();
        qmp.as_mut()
            .context("no QMP connection")?
            .execute(command, arguments)
    }

    /// Serial-log lines that report kernel bugs, warnings or crashes, each once (the console
    /// and the `dmesg` read at shutdown show the same lines).
    pub fn kernel_reports(&self) -> Vec<String> {
        let lines = self.serial.lines.lock().unwrap();
        let mut reports: Vec<String> = Vec::new();
        for line in lines.iter().filter(|l| protocol::is_kernel_report(l)) {
            if !reports.contains(line) {
                reports.push(line.clone());
            }
        }
        reports
    }

    /// Everything the guest printed so far, one entry per line.
    pub fn console_lines(&self) -> Vec<String> {
        self.serial.lines.lock().unwrap().clone()
    }

    pub fn serial_log_path(&self) -> &Path {
        &self.serial.path
    }

    /// Reads the guest's `dmesg`, asks the guest to power off and waits for QEMU to exit;
    /// kills it after 30 s.
    ///
    /// Fails if this boot's kernel log holds any kernel report (BUG, WARNING, Oops, panic,
    /// ...): every boot that ends here is checked, whoever started it. The console shows only
    /// messages above the console log level, so the whole `dmesg` is read into the log first.
    pub fn shutdown(self) -> Result<()> {
        let dmesg = self.run("dmesg", Duration::from_secs(60));
        let powered_off = self.power_off();
        let reports = self.kernel_reports();
        if !reports.is_empty() {
            bail!(
                "the kernel reported problems (serial log {}):\n  {}",
                self.serial.path.display(),
                reports.join("\n  ")
            );
        }
        dmesg.context("cannot read the guest's dmesg before powering off")?;
        powered_off
    }

    fn power_off(&self) -> Result<()> {
        let timeout = Duration::from_secs(30);
        {
            let mut console = self.console.lock().unwrap();
            self.serial.note(">>> poweroff");
            // QEMU may already be gone; the wait below reports that.
            let _ = self.send(&mut console, "poweroff");
        }
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.qemu.lock().unwrap().0.try_wait()? {
                self.join_readers();
                self.serial.note(&format!("QEMU exited ({status})"));
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(self.fail(format!(
                    "QEMU did not exit within {} s of poweroff; killed it",
                    timeout.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn send(&self, console: &mut Console, line: &str) -> Result<()> {
        writeln!(console.stdin, "{line}")
            .and_then(|_| console.stdin.flush())
            .map_err(|e| self.fail(format!("cannot write to the guest console: {e}")))
    }

    fn next_line(
        &self,
        console: &Console,
        deadline: Instant,
        timeout: Duration,
        waiting_for: &str,
    ) -> Result<String> {
        match console
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            Ok(line) => Ok(line),
            Err(RecvTimeoutError::Timeout) => Err(self.fail(format!(
                "timed out after {} s waiting for {waiting_for}",
                timeout.as_secs()
            ))),
            Err(RecvTimeoutError::Disconnected) => {
                let status = match self.wait_for_exit(Duration::from_secs(5)) {
                    Some(status) => status.to_string(),
                    None => "closed its console".into(),
                };
                Err(self.fail(format!(
                    "QEMU exited ({status}) while waiting for {waiting_for}"
                )))
            }
        }
    }

    fn connect_qmp(&self, socket: &Path, deadline: Instant) -> Result<Qmp> {
        while !socket.exists() {
            if let Ok(Some(status)) = self.qemu.lock().unwrap().0.try_wait() {
                return Err(self.fail(format!("QEMU exited ({status}) while starting")));
            }
            if Instant::now() >= deadline {
                return Err(self.fail("QEMU did not create its QMP socket"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Qmp::connect(socket, Duration::from_secs(5)).map_err(|e| {
            // Usually QEMU rejected its command line right after creating the socket.
            match self.wait_for_exit(Duration::from_secs(1)) {
                Some(status) => self.fail(format!("QEMU exited ({status}) while starting")),
                None => self.fail(format!("cannot talk to QEMU over QMP: {e:#}")),
            }
        })
    }

    fn guest_screendump(&self, name: &str) -> Result<PathBuf> {
        if !protocol::is_valid_screenshot_name(name) {
            bail!("the guest asked for a screenshot with a bad name: {name:?}");
        }
        let path = self.screenshot_dir.join(format!("{name}.png"));
        self.screendump(&path)?;
        Ok(path)
    }

    fn wait_for_exit(&self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.qemu.lock().unwrap().0.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Kills QEMU and builds an error with the end of the serial log.
    fn fail(&self, what: impl std::fmt::Display) -> anyhow::Error {
        self.qemu.lock().unwrap().kill();
        // The readers finish once QEMU is gone, so its last words are in the log.
        self.join_readers();
        let log = &self.serial.path;
        let text = std::fs::read(log)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        anyhow!(
            "{what}\n--- last {TAIL_LINES} lines of {} ---\n{}",
            log.display(),
            tail_lines(&text, TAIL_LINES)
        )
    }

    fn join_readers(&self) {
        for reader in self.readers.lock().unwrap().drain(..) {
            let _ = reader.join();
        }
    }
}
