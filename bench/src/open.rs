//! Opens the paths of [`bochsfb_bench::paths::PATHS`] and lends out a canvas.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::fs::OpenOptionsExt;

use bochsfb_bench::paths::{Device, Path};
use bochsfb_bench::Access;
use bochsfb_renderer::abi::{
    mmap_region, BochsfbDamage, BochsfbRect, BOCHSFB_IOCTL_FLUSH, BOCHSFB_MAX_DAMAGE_RECTS,
};
use bochsfb_renderer::fb_abi::{
    FbFixScreeninfo, FbVarScreeninfo, FBIOGET_FSCREENINFO, FBIOGET_VSCREENINFO,
};
use bochsfb_renderer::Mode;
use drm::buffer::{Buffer, DrmFourcc};
use drm::control::{connector, ClipRect, Device as _};

use crate::canvas::{Canvas, MmapCanvas, Rect, WriteCall, WriteCanvas};

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
        .custom_flags(if path.direct { libc::O_DIRECT } else { 0 })
        .open(path.device.node())?;
    let (geometry, _console) = match path.device {
        Device::Bochsfb => (bochsfb_geometry(&file)?, None),
        _ => (fbdev_geometry(&file)?, Some(GraphicsConsole::enter()?)),
    };
    let region = match path.access {
        Access::MmapOnDemand => mmap_region::ON_DEMAND,
        Access::MmapUncached => mmap_region::UNCACHED,
        Access::MmapShadow => mmap_region::SHADOW,
        _ => mmap_region::WRITE_COMBINED,
    };
    match path.access {
        Access::Mmap | Access::MmapOnDemand | Access::MmapUncached | Access::MmapShadow => {
            // SAFETY: a MAP_SHARED mapping of device memory (or of the driver's
            // shadow pages). Nothing in this process truncates or otherwise
            // changes it behind the slice's back: the write paths run only
            // after this mapping is gone.
            let map = unsafe {
                memmap2::MmapOptions::new()
                    .offset(region)
                    .len(geometry.frame_len())
                    .map_mut(&file)?
            };
            if path.access == Access::MmapShadow {
                let flush = |damage: &[Rect]| flush_shadow(&file, damage);
                draw(&mut MmapCanvas::new(map, geometry, flush))
            } else {
                draw(&mut MmapCanvas::new(map, geometry, |_: &[Rect]| Ok(0)))
            }
        }
        Access::Write => draw(&mut WriteCanvas::new(file, WriteCall::LseekWrite, geometry)),
        Access::Pwrite => draw(&mut WriteCanvas::new(file, WriteCall::Pwrite, geometry)),
    }
}

/// Copies the damaged rectangles of bochsfb's shadow buffer to VRAM, at most
/// [`BOCHSFB_MAX_DAMAGE_RECTS`] per `BOCHSFB_IOCTL_FLUSH`; returns the calls made.
fn flush_shadow(file: &File, damage: &[Rect]) -> io::Result<u64> {
    let mut calls = 0;
    for chunk in damage.chunks(BOCHSFB_MAX_DAMAGE_RECTS as usize) {
        let rects: Vec<BochsfbRect> = chunk
            .iter()
            .map(|r| BochsfbRect {
                x: r.x,
                y: r.y,
                width: r.w,
                height: r.h,
            })
            .collect();
        let mut request = BochsfbDamage {
            rects: rects.as_ptr() as u64,
            count: rects.len() as u32,
            flags: 0,
        };
        // SAFETY: the request reads one `BochsfbDamage` and, through it,
        // `count` rectangles from `rects`, both alive through the call.
        unsafe {
            ioctl(
                file.as_fd(),
                libc::c_ulong::from(BOCHSFB_IOCTL_FLUSH),
                std::ptr::from_mut(&mut request).cast(),
            )?;
        }
        calls += 1;
    }
    Ok(calls)
}

fn bochsfb_geometry(file: &File) -> io::Result<Mode> {
    let mode = bochsfb_renderer::device::get_mode(file)?;
    Ok(Mode {
        width: mode.width,
        height: mode.height,
        bpp: mode.bpp,
        stride: mode.stride,
    })
}

fn fbdev_geometry(file: &File) -> io::Result<Mode> {
    let mut var = FbVarScreeninfo::default();
    let mut fix = FbFixScreeninfo::default();
    // SAFETY: each request fills exactly its struct (bochsfb_uapi::fb has the kernel's
    // layout), and each lives, writable, through the call.
    unsafe {
        ioctl(
            file.as_fd(),
            FBIOGET_VSCREENINFO.into(),
            (&mut var as *mut FbVarScreeninfo).cast(),
        )?;
        ioctl(
            file.as_fd(),
            FBIOGET_FSCREENINFO.into(),
            (&mut fix as *mut FbFixScreeninfo).cast(),
        )?;
    }
    Ok(Mode {
        width: var.xres,
        height: var.yres,
        bpp: var.bits_per_pixel,
        stride: fix.line_length,
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

/// linux/kd.h
const KDSETMODE: libc::c_ulong = 0x4b3a;
const KD_TEXT: libc::c_ulong = 0;
const KD_GRAPHICS: libc::c_ulong = 1;

/// The virtual terminal in graphics mode, as any fbdev program sets it:
/// otherwise fbcon keeps drawing its text console and blinking cursor into
/// `/dev/fb0`. Back to text mode on drop.
struct GraphicsConsole(Option<File>);

impl GraphicsConsole {
    fn enter() -> io::Result<GraphicsConsole> {
        let tty = match OpenOptions::new().read(true).write(true).open("/dev/tty0") {
            Ok(tty) => tty,
            // No virtual terminals, so no fbcon either.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(GraphicsConsole(None)),
            Err(e) => return Err(e),
        };
        set_kd_mode(&tty, KD_GRAPHICS)?;
        Ok(GraphicsConsole(Some(tty)))
    }
}

impl Drop for GraphicsConsole {
    fn drop(&mut self) {
        if let Some(tty) = &self.0 {
            let _ = set_kd_mode(tty, KD_TEXT);
        }
    }
}

fn set_kd_mode(tty: &File, mode: libc::c_ulong) -> io::Result<()> {
    // SAFETY: KDSETMODE takes its argument by value; no memory is passed.
    if unsafe { libc::ioctl(tty.as_raw_fd(), KDSETMODE, mode) } < 0 {
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
    let geometry = Mode {
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
