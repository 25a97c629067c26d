//! The paths to the frame: one table row each. A new path that reuses a way
//! in (mmap, write or pwrite of a device, a DRM dumb buffer) is one new row.

use std::time::Duration;

use crate::{Access, Driver};

/// A way into a frame buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Path {
    pub name: &'static str,
    pub driver: Driver,
    pub access: Access,
    pub device: Device,
    /// How long after the last frame the screen shows it: the fbdev
    /// emulation copies its RAM frame to VRAM 50 ms (HZ/20) after a write.
    pub settle: Duration,
}

impl Path {
    /// Whether the path moves bytes with system calls (`write`, `pwrite`).
    pub fn is_write_style(&self) -> bool {
        matches!(self.access, Access::Write | Access::Pwrite)
    }

    /// Whether the path also times page flips ([`crate::FlipRun`]): DRM dumb buffers.
    pub fn flips(&self) -> bool {
        self.device == Device::DrmDumb
    }

    /// For a write-style path, the plain-mmap path of the same driver and device: the other
    /// side of its mmap-over-write ratio.
    pub fn mmap_counterpart(&self) -> Option<&'static Path> {
        if !self.is_write_style() {
            return None;
        }
        PATHS.iter().find(|p| {
            p.access == Access::Mmap && p.driver == self.driver && p.device == self.device
        })
    }
}

/// The device node a path opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    /// `/dev/bochsfb0`: VRAM itself.
    Bochsfb,
    /// `/dev/fb0`: the C driver's fbdev emulation (RAM + deferred I/O), or vesafb (VRAM).
    Fbdev,
    /// `/dev/dri/card0`: a dumb buffer, DIRTYFB per frame (the C driver copies the damage from
    /// its shmem buffer to VRAM; bochsfb's DRM face, whose buffer is VRAM, returns at once).
    DrmDumb,
}

impl Device {
    pub fn node(self) -> &'static str {
        match self {
            Device::Bochsfb => "/dev/bochsfb0",
            Device::Fbdev => "/dev/fb0",
            Device::DrmDumb => "/dev/dri/card0",
        }
    }
}

const NOW: Duration = Duration::ZERO;
const DEFERRED_IO: Duration = Duration::from_millis(300);

/// Every path, in the order they run (the DRM one last: taking the CRTC
/// from the fbdev emulation would hide what the fbdev paths drew).
#[rustfmt::skip]
pub const PATHS: &[Path] = &[
    Path { name: "bochsfb mmap", driver: Driver::Bochsfb, access: Access::Mmap, device: Device::Bochsfb, settle: NOW },
    Path { name: "bochsfb write", driver: Driver::Bochsfb, access: Access::Write, device: Device::Bochsfb, settle: NOW },
    Path { name: "bochsfb pwrite", driver: Driver::Bochsfb, access: Access::Pwrite, device: Device::Bochsfb, settle: NOW },
    Path { name: "bochsfb on-demand", driver: Driver::Bochsfb, access: Access::MmapOnDemand, device: Device::Bochsfb, settle: NOW },
    Path { name: "bochsfb uncached", driver: Driver::Bochsfb, access: Access::MmapUncached, device: Device::Bochsfb, settle: NOW },
    Path { name: "bochsfb shadow", driver: Driver::Bochsfb, access: Access::MmapShadow, device: Device::Bochsfb, settle: NOW },
    Path { name: "bochsfb dumb mmap", driver: Driver::BochsfbDrm, access: Access::Mmap, device: Device::DrmDumb, settle: NOW },
    Path { name: "vesafb mmap", driver: Driver::Vesafb, access: Access::Mmap, device: Device::Fbdev, settle: NOW },
    Path { name: "vesafb write", driver: Driver::Vesafb, access: Access::Write, device: Device::Fbdev, settle: NOW },
    Path { name: "vesafb pwrite", driver: Driver::Vesafb, access: Access::Pwrite, device: Device::Fbdev, settle: NOW },
    Path { name: "fbdev mmap", driver: Driver::BochsDrm, access: Access::Mmap, device: Device::Fbdev, settle: DEFERRED_IO },
    Path { name: "fbdev write", driver: Driver::BochsDrm, access: Access::Write, device: Device::Fbdev, settle: DEFERRED_IO },
    Path { name: "fbdev pwrite", driver: Driver::BochsDrm, access: Access::Pwrite, device: Device::Fbdev, settle: DEFERRED_IO },
    Path { name: "drm dumb mmap", driver: Driver::BochsDrm, access: Access::Mmap, device: Device::DrmDumb, settle: NOW },
];

/// The paths of one driver, in order.
pub fn of_driver(driver: Driver) -> impl Iterator<Item = &'static Path> {
    PATHS.iter().filter(move |p| p.driver == driver)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_write_style_path_has_its_mmap_counterpart() {
        let pairs: Vec<(&str, &str)> = PATHS
            .iter()
            .filter(|p| p.is_write_style())
            .map(|p| (p.name, p.mmap_counterpart().map_or("none", |m| m.name)))
            .collect();
        assert_eq!(
            pairs,
            [
                ("bochsfb write", "bochsfb mmap"),
                ("bochsfb pwrite", "bochsfb mmap"),
                ("vesafb write", "vesafb mmap"),
                ("vesafb pwrite", "vesafb mmap"),
                ("fbdev write", "fbdev mmap"),
                ("fbdev pwrite", "fbdev mmap"),
            ]
        );
        assert_eq!(PATHS[0].mmap_counterpart(), None, "mmap paths have none");
    }
}
