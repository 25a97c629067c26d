//! Boots the guest in QEMU and talks to its `/init` over the serial console.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{anyhow, bail, Context, Result};

use crate::artifacts::Artifacts;
use crate::paths;
use crate::protocol::{self, GuestDriver, GuestEvent};
use crate::qmp::Qmp;
use crate::steps::{output_of, tail_lines};

pub const QEMU: &str = "qemu-system-x86_64";
/// Lines of serial log shown with every failure.
const TAIL_LINES: usize = 40;

/// How QEMU runs the guest's CPUs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Accel {
    /// Software emulation; works everywhere (multi-threaded TCG).
    #[default]
    Tcg,
    /// Hardware virtualisation. On the project's nested-PVM build machines
    /// `/dev/kvm` exists but standard kernels hang after "Booting from ROM".
    Kvm,
}

/// Whether the guest's screen is shown in a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Display {
    #[default]
    Headless,
    /// A GTK (or SDL) window; fails if none is available.
    Window,
    /// A window when one is available, else headless.
    Auto,
}

/// How to boot a guest. `VmConfig::default()` suits tests.
#[derive(Debug, Clone)]
pub struct VmConfig {
    /// VRAM of the std VGA card (power of two, 1..=512).
    pub vgamem_mb: u32,
    pub accel: Accel,
    pub display: Display,
    /// Which display driver `/init` loads.
    pub driver: GuestDriver,
    /// `(name, value)` module parameters, passed as `bochsfb.name=value`.
    pub module_params: Vec<(String, String)>,
    /// More kernel command line words (e.g. `video=1024x768` for the C driver).
    pub kernel_args: Vec<String>,
    pub memory_mb: u32,
    pub cpus: u32,
    /// Time from starting QEMU to `@@bochsfb:ready`.
    pub boot_timeout: Duration,
    /// Serial log; default `out/logs/vm-<time>-<pid>-<n>.log`.
    pub log_path: Option<PathBuf>,
    /// Where `@@bochsfb:screendump NAME` saves `NAME.png`; default `out/screenshots`.
    pub screenshot_dir: Option<PathBuf>,
    /// Copy each console line to stderr as it arrives.
    pub echo_console: bool,
    /// Appended to QEMU's command line (e.g. `-device secondary-vga` for a second card).
    pub extra_qemu_args: Vec<String>,
    /// QEMU device of the first card: `VGA`, `secondary-vga` or `bochs-display`.
    pub card: String,
    /// The preferred mode in the card's EDID (its `xres`/`yres`), which bochsfb uses when no
    /// module parameter says otherwise; `None` keeps QEMU's default.
    pub edid_mode: Option<(u32, u32)>,
}

impl Default for VmConfig {
    fn default() -> Self {
        Self {
            vgamem_mb: 16,
            accel: Accel::Tcg,
            display: Display::Headless,
            driver: GuestDriver::Bochsfb,
            module_params: Vec::new(),
            kernel_args: Vec::new(),
            memory_mb: 512,
            cpus: 2,
            boot_timeout: Duration::from_secs(120),
            log_path: None,
            screenshot_dir: None,
            echo_console: false,
            extra_qemu_args: Vec::new(),
            card: "VGA".into(),
            edid_mode: Some((1024, 768)),
        }
    }
}

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
            "vm: booting ({:?}, vgamem {} MiB), serial log {}",
            config.accel,
            config.vgamem_mb,
            log_path.display()
        );

        let mut child = Command::new(QEMU)
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
            Accel::Tcg => "@@bochsfb:ready",
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
        qmp.as_mut().context("no QMP connection")?.execute(command, arguments)
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

/// The `-device` value of the first card. `bochs-display` sizes VRAM with `vgamem` (bytes),
/// the VGA devices with `vgamem_mb`.
fn card_device(config: &VmConfig) -> String {
    let mut device = if config.card == "bochs-display" {
        format!("{},vgamem={}M", config.card, config.vgamem_mb)
    } else {
        format!("{},vgamem_mb={}", config.card, config.vgamem_mb)
    };
    if let Some((xres, yres)) = config.edid_mode {
        device.push_str(&format!(",xres={xres},yres={yres}"));
    }
    device
}

/// QEMU's command line.
pub fn qemu_args(
    artifacts: &Artifacts,
    config: &VmConfig,
    qmp_socket: &Path,
) -> Result<Vec<String>> {
    let path = |p: &Path| -> Result<String> {
        Ok(paths::absolute(p)?
            .to_str()
            .context("non-UTF-8 path")?
            .to_string())
    };
    let accel = match config.accel {
        Accel::Tcg => "tcg,thread=multi",
        Accel::Kvm => "kvm",
    };
    let display = match config.display {
        Display::Headless => "none".to_string(),
        Display::Window => window_display().context("no window display: needs $DISPLAY or $WAYLAND_DISPLAY and QEMU's gtk or sdl UI (package qemu-system-gui)")?,
        Display::Auto => window_display().unwrap_or_else(|| "none".into()),
    };
    let mut args: Vec<String> = [
        "-nodefaults",
        "-machine",
        "pc",
        "-accel",
        accel,
        "-m",
        &config.memory_mb.to_string(),
        "-smp",
        &config.cpus.to_string(),
        "-kernel",
        &path(&artifacts.bzimage)?,
        "-initrd",
        &path(&artifacts.initramfs)?,
        "-append",
        &protocol::kernel_cmdline(config.driver, &config.module_params, &config.kernel_args),
        "-no-reboot",
        "-vga",
        "none",
        "-device",
        &card_device(config),
        "-chardev",
        "stdio,id=ser0,signal=off",
        "-serial",
        "chardev:ser0",
        "-monitor",
        "none",
        "-qmp",
        &format!("unix:{},server=on,wait=off", path(qmp_socket)?),
        "-display",
        &display,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(config.extra_qemu_args.iter().cloned());
    Ok(args)
}

/// `gtk` or `sdl` if a graphical session exists and QEMU has that UI module.
pub fn window_display() -> Option<String> {
    let has_session = ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|v| !v.is_empty()));
    if !has_session {
        return None;
    }
    let available = output_of(Command::new(QEMU).args(["-display", "help"])).ok()?;
    ["gtk", "sdl"]
        .into_iter()
        .find(|ui| available.lines().any(|l| l.trim() == *ui))
        .map(str::to_string)
}

fn default_log_path() -> PathBuf {
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
struct SerialLog {
    path: PathBuf,
    file: Mutex<File>,
    lines: Mutex<Vec<String>>,
}

impl SerialLog {
    fn create(path: &Path) -> Result<Self> {
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

    fn guest_line(&self, line: &str) {
        let _ = writeln!(self.file.lock().unwrap(), "{line}");
        self.lines.lock().unwrap().push(line.to_string());
    }

    /// Host-side lines are marked, so they are never mistaken for guest output.
    fn note(&self, text: &str) {
        let _ = writeln!(self.file.lock().unwrap(), "[host] {text}");
    }
}

/// Splits QEMU's stdout (the guest console) into lines for the log and the channel.
fn read_console(
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

fn read_qemu_stderr(stderr: impl Read + Send + 'static, serial: Arc<SerialLog>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            serial.note(&format!("qemu: {line}"));
        }
    })
}

/// The QEMU child; killed when dropped.
struct QemuProcess(Child);

impl QemuProcess {
    fn kill(&mut self) -> Option<ExitStatus> {
        if let Ok(Some(status)) = self.0.try_wait() {
            return Some(status);
        }
        let _ = self.0.kill();
        self.0.wait().ok()
    }
}

impl Drop for QemuProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A private temporary directory for the QMP socket (short path: unix sockets
/// are limited to ~108 bytes); removed on drop.
struct RunDir(PathBuf);

impl RunDir {
    fn create() -> Result<Self> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("qemu-bochs-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Self(dir))
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_device_carries_vram_and_edid_mode() {
        let config = VmConfig {
            card: "bochs-display".into(),
            edid_mode: Some((800, 600)),
            ..VmConfig::default()
        };
        assert_eq!(card_device(&config), "bochs-display,vgamem=16M,xres=800,yres=600");
        let config = VmConfig {
            edid_mode: None,
            ..VmConfig::default()
        };
        assert_eq!(card_device(&config), "VGA,vgamem_mb=16");
    }

    #[test]
    fn qemu_command_line_has_the_contract() {
        let artifacts = Artifacts {
            bzimage: "/k/bzImage".into(),
            initramfs: "/k/initramfs.cpio.gz".into(),
            module: "/k/bochsfb.ko".into(),
            kernel_package_version: "7.3.4-1~bpo13+1".into(),
            kernel_release: "7.3.4".into(),
            kernel_build_dir: "/k".into(),
            kernel_variant: Default::default(),
        };
        let config = VmConfig {
            vgamem_mb: 32,
            module_params: vec![("vram_limit".into(), "4096".into())],
            extra_qemu_args: vec!["-device".into(), "secondary-vga".into()],
            ..VmConfig::default()
        };
        let args = qemu_args(&artifacts, &config, Path::new("/run/q.sock"))
            .unwrap()
            .join(" ");
        for expected in [
            "-accel tcg,thread=multi",
            "-kernel /k/bzImage -initrd /k/initramfs.cpio.gz",
            "-append console=ttyS0 panic=-1 bochsfb.vram_limit=4096",
            "-no-reboot",
            "-vga none -device VGA,vgamem_mb=32,xres=1024,yres=768",
            "-chardev stdio,id=ser0,signal=off -serial chardev:ser0",
            "-qmp unix:/run/q.sock,server=on,wait=off",
            "-display none",
        ] {
            assert!(args.contains(expected), "{expected:?} missing from {args}");
        }
        assert!(args.ends_with("-device secondary-vga"));
        let kvm = VmConfig {
            accel: Accel::Kvm,
            ..VmConfig::default()
        };
        assert!(qemu_args(&artifacts, &kvm, Path::new("/q"))
            .unwrap()
            .join(" ")
            .contains("-accel kvm "));
    }
}
