//! How a guest is booted: its configuration and QEMU's command line.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::build::artifacts::Artifacts;
use crate::paths;
use crate::steps::output_of;
use crate::vm::protocol;
use crate::Driver;

/// The QEMU binary (Debian package qemu-system-x86).
pub const QEMU: &str = "qemu-system-x86_64";

/// How QEMU runs the guest's CPUs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Accel {
    /// Software emulation; works everywhere (multi-threaded TCG).
    #[default]
    Tcg,
    /// Hardware virtualisation. On the project's nested-PVM build machines
    /// `/dev/kvm` exists but standard kernels hang after "Booting from ROM".
    Kvm,
    /// KVM if a short guest boot under it works on this host (cached per host kernel and
    /// QEMU), else TCG with one line saying why.
    Auto,
}

impl Accel {
    /// How reports name it.
    pub fn name(self) -> &'static str {
        match self {
            Accel::Tcg => "TCG",
            Accel::Kvm => "KVM",
            Accel::Auto => "auto",
        }
    }
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
    pub driver: Driver,
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
    /// Serve the screen over VNC on `127.0.0.1:5900 + N` (display `:N`), loopback only.
    pub vnc_display: Option<u16>,
    /// Start QEMU in its own process group, so Ctrl-C on the terminal reaches only the harness,
    /// which catches it and shuts the guest down (`demo --keep`). Off by default: then Ctrl-C
    /// ends QEMU with the harness, and nothing is left running.
    pub own_process_group: bool,
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
            driver: Driver::Bochsfb,
            module_params: Vec::new(),
            kernel_args: Vec::new(),
            memory_mb: 512,
            cpus: 2,
            // A debug-kernel boot with the console on the DRM face has taken 106 s on a
            // shared 2-CPU machine while kernels built beside it (its serial output drains
            // slowly); a boot that hangs is still caught.
            boot_timeout: Duration::from_secs(300),
            log_path: None,
            screenshot_dir: None,
            echo_console: false,
            extra_qemu_args: Vec::new(),
            card: "VGA".into(),
            vnc_display: None,
            own_process_group: false,
            edid_mode: Some((1024, 768)),
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
        Accel::Auto => anyhow::bail!(
            "--accel auto must be resolved before QEMU's command line is made (vm::resolve_accel)"
        ),
    };
    let display = match config.display {
        Display::Headless => "none".to_string(),
        Display::Window => ensure_window_display()?,
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
        // A keyboard and an absolute pointer for the guest's evdev (the renderer's input);
        // QMP's `input-send-event` and the live view's keys and mouse reach it through them.
        "-device",
        "virtio-keyboard-pci,id=keyboard",
        "-device",
        "virtio-tablet-pci,id=tablet",
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
    if let Some(n) = config.vnc_display {
        // Loopback only: QEMU's VNC server has no password here.
        args.extend(["-vnc".to_string(), format!("127.0.0.1:{n}")]);
    }
    args.extend(config.extra_qemu_args.iter().cloned());
    Ok(args)
}

/// A VNC display number `N` whose port `5900 + N` is free on 127.0.0.1 now and was not handed
/// out before in this process (tests boot guests in parallel). Another program may still take
/// it before QEMU does; QEMU then fails to start and says so.
pub fn free_vnc_display() -> Option<u16> {
    static HANDED_OUT: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    let n = (1..100).find(|n| {
        !handed_out.contains(n) && std::net::TcpListener::bind(("127.0.0.1", 5900 + n)).is_ok()
    })?;
    handed_out.push(n);
    Some(n)
}

/// The Debian package with QEMU's GTK and SDL UI modules.
pub const QEMU_GUI_PACKAGE: &str = "qemu-system-gui";

/// For `--window`: if a graphical session exists but QEMU has no UI module for it, installs
/// [`QEMU_GUI_PACKAGE`] (as root; otherwise the error says what to run). Fails without a session.
pub fn ensure_window_display() -> Result<String> {
    if let Some(ui) = window_display() {
        return Ok(ui);
    }
    if !has_graphical_session() {
        anyhow::bail!(
            "--window needs a graphical session ($DISPLAY or $WAYLAND_DISPLAY); try --vnc or --web"
        );
    }
    eprintln!("window: QEMU has no gtk or sdl UI here; installing {QEMU_GUI_PACKAGE}");
    crate::build::prereqs::ensure_debian_packages(&[QEMU_GUI_PACKAGE])?;
    window_display().with_context(|| {
        format!("{QEMU_GUI_PACKAGE} is installed but QEMU still lists no gtk or sdl display")
    })
}

fn has_graphical_session() -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|v| !v.is_empty()))
}

/// `gtk` or `sdl` if a graphical session exists and QEMU has that UI module.
pub fn window_display() -> Option<String> {
    if !has_graphical_session() {
        return None;
    }
    let available = output_of(Command::new(QEMU).args(["-display", "help"])).ok()?;
    ["gtk", "sdl"]
        .into_iter()
        .find(|ui| available.lines().any(|l| l.trim() == *ui))
        .map(str::to_string)
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
        assert_eq!(
            card_device(&config),
            "bochs-display,vgamem=16M,xres=800,yres=600"
        );
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
            "-append console=ttyS0 panic=-1 tsc=unstable bochsfb.vram_limit=4096",
            "-no-reboot",
            "-vga none -device VGA,vgamem_mb=32,xres=1024,yres=768",
            "-device virtio-keyboard-pci,id=keyboard -device virtio-tablet-pci,id=tablet",
            "-chardev stdio,id=ser0,signal=off -serial chardev:ser0",
            "-qmp unix:/run/q.sock,server=on,wait=off",
            "-display none",
        ] {
            assert!(args.contains(expected), "{expected:?} missing from {args}");
        }
        assert!(args.ends_with("-device secondary-vga"));
        assert!(!args.contains("-vnc"));
        let vnc = VmConfig {
            vnc_display: Some(7),
            ..VmConfig::default()
        };
        let args = qemu_args(&artifacts, &vnc, Path::new("/q"))
            .unwrap()
            .join(" ");
        assert!(
            args.contains("-display none") && args.contains("-vnc 127.0.0.1:7"),
            "{args}"
        );
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
