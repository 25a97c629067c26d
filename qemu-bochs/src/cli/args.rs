//! What the subcommands that boot a guest share: the guest ([`GuestArgs`]: kernel and
//! accelerator), the VM around it ([`VmArgs`]), and how the user watches it.

use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use qemu_bochs::vm::{self, live_view::WebView};
use qemu_bochs::{Accel, Display, Driver, KernelVariant, VmConfig};

/// The guest kernel and the CPU accelerator that runs it.
#[derive(Args)]
pub struct GuestArgs {
    /// Guest kernel: standard, or debug (KASAN, lockdep, DEBUG_VM, ...; built on first use).
    #[arg(long, value_enum, default_value_t = KernelVariant::Standard)]
    pub kernel: KernelVariant,
    /// CPU accelerator: auto tries KVM with a short boot (once per host kernel) and falls back
    /// to TCG (KVM hangs on the project's nested-PVM build machines).
    #[arg(long, value_enum, default_value_t = Accel::Auto)]
    pub accel: Accel,
}

/// One booted guest: its kernel and accelerator, the VGA card, the driver and how to watch it.
#[derive(Args)]
pub struct VmArgs {
    #[command(flatten)]
    pub guest: GuestArgs,
    /// VRAM of the VGA card in MiB (power of two).
    #[arg(long, default_value_t = 16)]
    vgamem_mb: u32,
    /// Display driver the guest loads: bochsfb, its DRM face (`face=1`), or the kernel's C DRM
    /// driver or vesafb to compare with.
    #[arg(long, value_enum, default_value_t = Driver::Bochsfb)]
    driver: Driver,
    /// Extra kernel command line word (repeatable), e.g. `video=640x480` for bochs-drm.
    #[arg(long = "kernel-arg", value_name = "WORD")]
    kernel_args: Vec<String>,
    /// Module parameter for bochsfb.ko (repeatable).
    #[arg(long = "param", value_name = "NAME=VALUE", value_parser = vm::protocol::parse_module_param)]
    params: Vec<(String, String)>,
    /// Seconds from starting QEMU until the driver is loaded.
    #[arg(long, default_value_t = 300)]
    boot_timeout: u64,
    /// Copy the guest console to stderr as it arrives.
    #[arg(long, short)]
    verbose: bool,
    /// Serve the guest's screen over VNC on 127.0.0.1 (this machine only) and print how to
    /// connect.
    #[arg(long)]
    pub vnc: bool,
    /// Show the guest's screen in a browser (noVNC, on 127.0.0.1 only; implies `--vnc`) and
    /// print the URL.
    #[arg(long)]
    pub web: bool,
}

impl VmArgs {
    /// The guest kernel.
    pub fn kernel(&self) -> KernelVariant {
        self.guest.kernel
    }

    /// Whether someone watches the guest live (`--vnc` or `--web`).
    pub fn live(&self) -> bool {
        self.vnc || self.web
    }

    pub fn config(&self, display: Display) -> Result<VmConfig> {
        let vnc_display = match self.live() {
            true => Some(
                vm::free_vnc_display().context("no free VNC port in 5901..5999 on 127.0.0.1")?,
            ),
            false => None,
        };
        Ok(VmConfig {
            vgamem_mb: self.vgamem_mb,
            accel: self.guest.accel,
            display,
            driver: self.driver,
            module_params: self.params.clone(),
            kernel_args: self.kernel_args.clone(),
            echo_console: self.verbose,
            boot_timeout: Duration::from_secs(self.boot_timeout),
            vnc_display,
            ..VmConfig::default()
        })
    }

    /// Starts the web view if asked, and tells the user how to watch the guest; the returned
    /// guard keeps the web view up.
    pub fn live_view(&self, config: &VmConfig) -> Result<Option<WebView>> {
        announce_vnc(config);
        match (self.web, config.vnc_display) {
            (true, Some(n)) => {
                let view = WebView::start(5900 + n)?;
                eprintln!(
                    "web: open {} in a browser on this machine (from elsewhere: `ssh -L` to its port); \
                     keyboard and mouse there reach the guest",
                    view.url
                );
                Ok(Some(view))
            }
            _ => Ok(None),
        }
    }
}

/// Tells the user how to watch a guest served over VNC.
fn announce_vnc(config: &VmConfig) {
    if let Some(n) = config.vnc_display {
        let port = 5900 + u32::from(n);
        eprintln!(
            "vnc: the guest's screen is on 127.0.0.1:{port} (display :{n}), reachable from this \
             machine only. Connect a VNC client here (`vncviewer 127.0.0.1:{n}`, `gvncviewer \
             127.0.0.1:{n}`), or from another machine through `ssh -L {port}:127.0.0.1:{port} THIS-HOST` \
             and then `vncviewer 127.0.0.1:{n}` there."
        );
    }
}

/// Waits until Ctrl-C (or SIGTERM): the guest and its live view stay up meanwhile.
pub fn wait_for_ctrl_c(what: &str) -> Result<()> {
    bochsfb_renderer::stop_on_signals().context("cannot catch Ctrl-C")?;
    eprintln!("{what}: the guest stays up; Ctrl-C ends it");
    while !bochsfb_renderer::stop_requested() {
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("{what}: shutting the guest down");
    Ok(())
}

/// `$CARGO`, else `cargo`: the cargo that runs the harness runs the builds it starts.
pub fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}
