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
use drm::control::dumbbuffer::DumbBuffer;
use drm::control::{self, connector, crtc, framebuffer, ClipRect, Device as _, ModeTypeFlags};

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
pub struct Card(File);

impl AsFd for Card {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}
impl drm::Device for Card {}
impl drm::control::Device for Card {}

/// The card's one display pipe, as a DRM client takes it: the first connected connector, a
/// CRTC and the mode to show.
pub struct Pipe {
    pub card: Card,
    connector: connector::Handle,
    pub crtc: crtc::Handle,
    mode: control::Mode,
}

impl Pipe {
    /// Opens `/dev/dri/card0`. The mode is the one on the CRTC (the C driver's fbdev
    /// emulation set the one `video=WxH` chose) or, where the output is off (bochsfb's DRM
    /// face has no console), the connector's preferred one (the EDID's, which the harness
    /// makes the benchmark's mode).
    pub fn open() -> io::Result<Pipe> {
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
        let crtcs = resources
            .crtcs()
            .iter()
            .map(|&c| card.get_crtc(c))
            .collect::<io::Result<Vec<_>>>()?;
        let on = crtcs.iter().find(|c| c.mode().is_some());
        let crtc = on.or(crtcs.first()).ok_or_else(|| not_found("CRTC"))?;
        let preferred = || {
            connector
                .modes()
                .iter()
                .find(|m| m.mode_type().contains(ModeTypeFlags::PREFERRED))
                .copied()
        };
        let mode = crtc
            .mode()
            .or_else(preferred)
            .ok_or_else(|| not_found("mode on the CRTC or preferred by the connector"))?;
        Ok(Pipe {
            crtc: crtc.handle(),
            connector: connector.handle(),
            mode,
            card,
        })
    }

    /// The mode's width and height.
    pub fn size(&self) -> (u32, u32) {
        let (width, height) = self.mode.size();
        (width.into(), height.into())
    }

    /// A new XRGB8888 dumb buffer of the mode's size, and a framebuffer of it.
    pub fn framebuffer(&self) -> io::Result<(DumbBuffer, framebuffer::Handle)> {
        let buffer = self
            .card
            .create_dumb_buffer(self.size(), DrmFourcc::Xrgb8888, 32)?;
        let fb = self.card.add_framebuffer(&buffer, 24, 32)?;
        Ok((buffer, fb))
    }

    /// Shows `fb` on the connector in the mode (a modeset: taken from the fbdev emulation on
    /// the C driver, the output turned on on bochsfb's face).
    pub fn show(&self, fb: framebuffer::Handle) -> io::Result<()> {
        self.card.set_crtc(
            self.crtc,
            Some(fb),
            (0, 0),
            &[self.connector],
            Some(self.mode),
        )
    }

    /// Best effort: closing the card frees both anyway.
    pub fn release(&self, buffer: DumbBuffer, fb: framebuffer::Handle) {
        let _ = self.card.destroy_framebuffer(fb);
        let _ = self.card.destroy_dumb_buffer(buffer);
    }
}

/// Shows a dumb buffer in the pipe's mode and draws into its mapping with one DIRTYFB per
/// frame. Closing the card gives the screen back (to the fbdev emulation on the C driver).
fn with_dumb_buffer(draw: &mut dyn FnMut(&mut dyn Canvas) -> io::Result<()>) -> io::Result<()> {
    let pipe = Pipe::open()?;
    let (mut buffer, fb) = pipe.framebuffer()?;
    let (width, height) = pipe.size();
    let frame = Mode {
        width,
        height,
        bpp: 32,
        stride: buffer.pitch(),
    };
    let card = &pipe.card;
    let drawn = pipe.show(fb).and_then(|()| {
        let mapping = card.map_dumb_buffer(&mut buffer)?;
        let dirty = |damage: &[Rect]| {
            let clips: Vec<ClipRect> = damage.iter().map(clip).collect();
            card.dirty_framebuffer(fb, &clips).map(|()| 1)
        };
        draw(&mut MmapCanvas::new(mapping, frame, dirty))
    });
    pipe.release(buffer, fb);
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
