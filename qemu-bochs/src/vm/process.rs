//! What a running guest owns on the host: the QEMU process and a private directory.

use std::path::PathBuf;
use std::process::{Child, ExitStatus};
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Context, Result};

/// The QEMU child; killed when dropped.
pub(super) struct QemuProcess(pub(super) Child);

impl QemuProcess {
    pub(super) fn kill(&mut self) -> Option<ExitStatus> {
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
pub(super) struct RunDir(pub(super) PathBuf);

impl RunDir {
    pub(super) fn create() -> Result<Self> {
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
