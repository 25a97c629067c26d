//! The guest's screen in a browser: Debian's noVNC (the page) and websockify (which serves
//! it and bridges the page's WebSocket to QEMU's VNC server), both on 127.0.0.1 only,
//! installed on first use. Keyboard and mouse from the page reach QEMU through VNC.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::build::prereqs;

/// Debian packages of the web view.
pub(crate) const PACKAGES: &[&str] = &["novnc", "websockify"];
/// Where Debian's noVNC package puts the page.
pub(crate) const NOVNC_DIR: &str = "/usr/share/novnc";

/// A running websockify serving noVNC for one VNC display; stopped on drop.
pub struct WebView {
    child: Child,
    /// The page to open: connects at once and scales the screen to the window.
    pub url: String,
}

impl WebView {
    /// Serves noVNC on a free 127.0.0.1 port, bridged to the VNC server on `127.0.0.1:vnc_port`,
    /// and waits until it answers.
    pub fn start(vnc_port: u16) -> Result<WebView> {
        prereqs::ensure_debian_packages(PACKAGES)?;
        let port = free_port().context("no free TCP port on 127.0.0.1 for the web view")?;
        let child = Command::new("websockify")
            .arg("--web")
            .arg(NOVNC_DIR)
            .arg(format!("127.0.0.1:{port}"))
            .arg(format!("127.0.0.1:{vnc_port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start websockify (Debian package websockify)")?;
        let mut view = WebView {
            child,
            url: format!("http://127.0.0.1:{port}/vnc.html?autoconnect=true&resize=scale"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = view.child.try_wait()? {
                bail!("websockify exited ({status}) before it served 127.0.0.1:{port}");
            }
            if Instant::now() > deadline {
                bail!("websockify did not answer on 127.0.0.1:{port} within 20 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(view)
    }
}

impl Drop for WebView {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP port free on 127.0.0.1 now (the kernel picks it).
fn free_port() -> Option<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).ok()?;
    listener.local_addr().ok().map(|a| a.port())
}
