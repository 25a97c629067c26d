//! Opens the paths of [`bochsfb_bench::paths::PATHS`] and lends out a canvas.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsFd, BorrowedFd};

use bochsfb_bench::paths::{Device, Path};
use bochsfb_bench::Access;
use bochsfb_renderer::abi::{mmap_region, BochsfbRect, BOCHSFB_MAX_DAMAGE_RECTS};
use bochsfb_renderer::device::{self, GraphicsConsole, Mapping};
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
        .open(path.device.node())?;
    let (mode, _console) = match path.device {
        Device::Bochsfb => (Mode::from(device::get_mode(&file)?), None),
        _ => (fbdev_mode(&file)?, Some(GraphicsConsole::enter()?)),
    };
    let region = match path.access {
        Access::MmapOnDemand => mmap_region::ON_DEMAND,
        Access::MmapUncached => mmap_region::UNCACHED,
        Access::MmapShadow => mmap_region::SHADOW,
        _ => mmap_region::WRITE_COMBINED,
    };
    match path.access {
        Access::Mmap | Access::MmapOnDemand | Access::MmapUncached | Access::MmapShadow => {
            // Device memory (or the driver's shadow pages), shared; the write paths run only
            // after this mapping is gone.
            let map = Mapping::new(&file, mode.frame_len(), region)?;
            if path.access == Access::MmapShadow {
                let flush = |damage: &[Rect]| flush_shadow(&file, damage);
                draw(&mut MmapCanvas::new(map, mode, flush))
            } else {
                draw(&mut MmapCanvas::new(map, mode, |_: &[Rect]| Ok(0)))
            }
        }
        Access::Write => draw(&mut WriteCanvas::new(file, WriteCall::LseekWrite, mode)),
        Access::Pwrite => draw(&mut WriteCanvas::new(file, WriteCall::Pwrite, mode)),
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
        device::flush(file, &rects)?;
        calls += 1;
    }
    Ok(calls)
}

/// The mode of an fbdev device: size and depth from its variable screen info, the stride from
/// its fixed one.
fn fbdev_mode(file: &File) -> io::Result<Mode> {
    let var = device::fb_get_var(file)?;
    let fix = device::fb_get_fix(file)?;
    Ok(Mode {
        width: var.xres,
        height: var.yres,
        bpp: var.bits_per_pixel,
        stride: fix.line_length,
    })
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
    let frame = Mode {
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
            draw(&mut MmapCanvas::new(mapping, frame, dirty))
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
