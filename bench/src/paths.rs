//! The paths to the frame: one table row each. A new path that reuses a way
//! in (mmap, write, pwrite of some device, a DRM dumb buffer) is one new row.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::time::Duration;

use bochsfb_bench::{Access, Driver, Geometry};
use drm::buffer::{Buffer, DrmFourcc};
use drm::control::{connector, ClipRect, Device as _};

use crate::canvas::{Canvas, MmapCanvas, Rect, WriteCall, WriteCanvas};

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

/// The device node a path opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    /// `/dev/bochsfb0`: VRAM itself.
    Bochsfb,
    /// `/dev/fb0` of the C driver: its fbdev emulation (RAM + deferred I/O).
    Fbdev,
    /// `/dev/dri/card0` of the C driver: a dumb buffer, DIRTYFB per frame.
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
pub const PATHS: &[Path] = &[
    Path {
        name: "bochsfb mmap",
        driver: Driver::Bochsfb,
        access: Access::Mmap,
        device: Device::Bochsfb,
        settle: NOW,
    },
    Path {
        name: "bochsfb write",
        driver: Driver::Bochsfb,
        access: Access::Write,
        device: Device::Bochsfb,
        settle: NOW,
    },
    Path {
        name: "bochsfb pwrite",
        driver: Driver::Bochsfb,
        access: Access::Pwrite,
        device: Device::Bochsfb,
        settle: NOW,
    },
    Path {
        name: "fbdev mmap",
        driver: Driver::BochsDrm,
        access: Access::Mmap,
        device: Device::Fbdev,
        settle: DEFERRED_IO,
    },
    Path {
        name: "fbdev write",
        driver: Driver::BochsDrm,
        access: Access::Write,
        device: Device::Fbdev,
        settle: DEFERRED_IO,
    },
    Path {
        name: "fbdev pwrite",
        driver: Driver::BochsDrm,
        access: Access::Pwrite,
        device: Device::Fbdev,
        settle: DEFERRED_IO,
    },
    Path {
        name: "drm dumb mmap",
        driver: Driver::BochsDrm,
        access: Access::Mmap,
        device: Device::DrmDumb,
        settle: NOW,
    },
];

/// Opens `path` and lends its canvas to `draw`; closes it afterwards.
pub fn with_canvas(
    path: &Path,
    draw: &mut dyn FnMut(&mut dyn Canvas) -> io::Result<()>,
) -> io::Result<()> {
    if path.device == Device::DrmDumb {
        return with_dumb_buffer(draw);
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path.device.node())?;
    let geometry = match path.device {
        Device::Bochsfb => bochsfb_geometry(&file)?,
        _ => fbdev_geometry(&file)?,
    };
    match path.access {
        Access::Mmap => {
            // SAFETY: a MAP_SHARED mapping of device memory. Nothing in this
            // process truncates or otherwise changes it behind the slice's
            // back: the write paths run only after this mapping is gone.
            let map = unsafe {
                memmap2::MmapOptions::new()
                    .len(geometry.frame_bytes())
                    .map_mut(&file)?
            };
            draw(&mut MmapCanvas::new(map, geometry, |_: &[Rect]| Ok(0)))
        }
        Access::Write => draw(&mut WriteCanvas::new(file, WriteCall::LseekWrite, geometry)),
        Access::Pwrite => draw(&mut WriteCanvas::new(file, WriteCall::Pwrite, geometry)),
    }
}

fn bochsfb_geometry(file: &File) -> io::Result<Geometry> {
    let mode = bochsfb_renderer::abi::get_mode(file)?;
    Ok(Geometry {
        width: mode.width,
        height: mode.height,
        bpp: mode.bpp,
        stride: mode.stride,
    })
}

/// include/uapi/linux/fb.h
const FBIOGET_VSCREENINFO: libc::c_ulong = 0x4600;
const FBIOGET_FSCREENINFO: libc::c_ulong = 0x4602;
/// `struct fb_var_screeninfo` is 40 u32s: xres, yres, .., bits_per_pixel at 6.
const VAR_XRES: usize = 0;
const VAR_YRES: usize = 1;
const VAR_BITS_PER_PIXEL: usize = 6;
/// `struct fb_fix_screeninfo` is 80 bytes on x86-64; `line_length` is at byte 48.
const FIX_LINE_LENGTH: usize = 48;

fn fbdev_geometry(file: &File) -> io::Result<Geometry> {
    let mut var = [0u32; 40];
    let mut fix = [0u8; 80];
    // SAFETY: each request fills exactly its struct (160 and 80 bytes on
    // x86-64), and each buffer is that large, writable and lives through the call.
    unsafe {
        ioctl(file.as_fd(), FBIOGET_VSCREENINFO, var.as_mut_ptr().cast())?;
        ioctl(file.as_fd(), FBIOGET_FSCREENINFO, fix.as_mut_ptr())?;
    }
    let line_length = u32::from_ne_bytes(fix[FIX_LINE_LENGTH..][..4].try_into().unwrap());
    Ok(Geometry {
        width: var[VAR_XRES],
        height: var[VAR_YRES],
        bpp: var[VAR_BITS_PER_PIXEL],
        stride: line_length,
    })
}

/// # Safety
/// `arg` must be valid for whatever `request` reads or writes.
unsafe fn ioctl(fd: BorrowedFd<'_>, request: libc::c_ulong, arg: *mut u8) -> io::Result<()> {
    // SAFETY: the caller vouches for arg; the fd is open while borrowed.
    if unsafe { libc::ioctl(fd.as_raw_fd(), request, arg) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `/dev/dri/card0` as a `drm` crate device.
struct Card(File);

impl AsFd for Card {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}
impl drm::Device for Card {}
impl drm::control::Device for Card {}

/// Takes the CRTC from the fbdev emulation with a dumb buffer in the same
/// mode (the one `video=WxH` chose), and draws into its mapping with one
/// DIRTYFB per frame. Closing the card gives the screen back to fbdev.
fn with_dumb_buffer(draw: &mut dyn FnMut(&mut dyn Canvas) -> io::Result<()>) -> io::Result<()> {
    let not_found = |what: &str| io::Error::new(io::ErrorKind::NotFound, format!("no {what}"));
    let card = Card(
        OpenOptions::new()
            .read(true)
            .write(true)
            .open(Device::DrmDumb.node())?,
    );
    let resources = card.resource_handles()?;
    let connector = resources
        .connectors()
        .iter()
        .map(|&c| card.get_connector(c, false))
        .collect::<io::Result<Vec<_>>>()?
        .into_iter()
        .find(|c| c.state() == connector::State::Connected)
        .ok_or_else(|| not_found("connected connector"))?;
    let crtc = resources
        .crtcs()
        .iter()
        .map(|&c| card.get_crtc(c))
        .collect::<io::Result<Vec<_>>>()?
        .into_iter()
        .find(|c| c.mode().is_some())
        .ok_or_else(|| not_found("CRTC with a mode"))?;
    let mode = crtc.mode().expect("filtered on it");
    let (width, height) = mode.size();
    let mut buffer =
        card.create_dumb_buffer((width.into(), height.into()), DrmFourcc::Xrgb8888, 32)?;
    let fb = card.add_framebuffer(&buffer, 24, 32)?;
    let geometry = Geometry {
        width: width.into(),
        height: height.into(),
        bpp: 32,
        stride: buffer.pitch(),
    };
    let drawn = card
        .set_crtc(
            crtc.handle(),
            Some(fb),
            (0, 0),
            &[connector.handle()],
            Some(mode),
        )
        .and_then(|()| {
            let mapping = card.map_dumb_buffer(&mut buffer)?;
            let dirty = |damage: &[Rect]| {
                let clips: Vec<ClipRect> = damage.iter().map(clip).collect();
                card.dirty_framebuffer(fb, &clips).map(|()| 1)
            };
            draw(&mut MmapCanvas::new(mapping, geometry, dirty))
        });
    // Best effort: closing the card frees both anyway.
    let _ = card.destroy_framebuffer(fb);
    let _ = card.destroy_dumb_buffer(buffer);
    drawn
}

fn clip(r: &Rect) -> ClipRect {
    // CAST: modes are at most 8192x8192 (bochs), well inside u16.
    ClipRect::new(
        r.x as u16,
        r.y as u16,
        (r.x + r.w) as u16,
        (r.y + r.h) as u16,
    )
}
