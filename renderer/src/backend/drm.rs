//! DRM/KMS through the `drm` crate: two dumb buffers scanned out in turn by page flips at
//! vertical blank (tear-free), or one with its damage sent by `DIRTYFB` where the driver
//! cannot flip. Runs on the kernel's C bochs driver and on real KMS devices.

use std::fs::{File, OpenOptions};
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};

use drm::buffer::{Buffer, DrmFourcc};
use drm::control::{
    connector, crtc, dumbbuffer::DumbBuffer, framebuffer, ClipRect, Device as _, Event,
    ModeTypeFlags, PageFlipFlags,
};

use crate::backend::{copy_damage, failed, Backend, Presentation};
use crate::device::Mapping;
use crate::{Damage, Error, Mode, Surface, Syscall};

/// A DRM device node as a `drm` crate device.
#[derive(Debug)]
struct Card(File);

impl AsFd for Card {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}
impl drm::Device for Card {}
impl drm::control::Device for Card {}

/// Draws into DRM dumb buffers (XRGB8888) that a CRTC scans out. Where the driver flips
/// pages (bochs does, as most KMS drivers), there are two: drawing goes to the hidden one,
/// brought up to date first with what the shown one has that it lacks, and `present` flips
/// to it at the next vertical blank and waits for the flip: the screen never shows a frame
/// half drawn. Otherwise there is one buffer, scanned out as it is drawn, and `present`
/// reports the damage with `DIRTYFB` (drivers such as bochs copy only the clips to the
/// screen); a driver without `DIRTYFB` (`ENOSYS`, or `EINVAL` from some) gets no more calls
/// after its first such answer, as modesetting clients do. Opening sets the mode on the first
/// connected connector, so the process must be allowed to (DRM master, or no other master).
/// Closing puts the CRTC back as it was (fbdev emulation's framebuffer and mode, say).
///
/// ```no_run
/// # use bochsfb_renderer::backend::{Backend, DrmBackend};
/// use embedded_graphics::{pixelcolor::Rgb888, prelude::*};
/// let mut fb = DrmBackend::open("/dev/dri/card0")?;
/// fb.surface().clear(Rgb888::CSS_ORANGE).unwrap();
/// fb.present()?; // a page flip, or one DIRTYFB
/// # Ok::<(), bochsfb_renderer::Error>(())
/// ```
#[derive(Debug)]
pub struct DrmBackend {
    /// One buffer, or two to flip between; dropped (unmapped) after `Drop` destroyed them.
    frames: Vec<DumbFrame>,
    /// The buffer on screen.
    shown: usize,
    /// What the hidden buffer lacks of the shown one: the damage of the last frame presented.
    stale: Damage,
    card: Card,
    path: PathBuf,
    crtc: crtc::Handle,
    mode: Mode,
    drawn: Damage,
    /// Whether the driver takes `DIRTYFB`; false after it said it does not.
    dirtyfb: bool,
    /// The CRTC as it was at open (fbdev emulation's framebuffer and mode, say) and the
    /// connector, put back on drop.
    saved: Option<crtc::Info>,
    connector: connector::Handle,
}

/// A dumb buffer, its framebuffer and its mapping.
#[derive(Debug)]
struct DumbFrame {
    map: Mapping,
    buffer: Option<DumbBuffer>,
    fb: framebuffer::Handle,
}

/// How long a page flip may take before `present` gives up: many frames at any refresh rate.
const FLIP_TIMEOUT_MS: i32 = 1000;

/// Whether a `DIRTYFB` errno means the driver has no such call (so the buffer is scanned out
/// directly and no call is needed), rather than a failure.
fn dirtyfb_unsupported(error: &std::io::Error) -> bool {
    matches!(error.raw_os_error(), Some(libc::ENOSYS | libc::EINVAL))
}

impl DrmBackend {
    /// Opens `path` in the connector's current (or preferred) mode.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        DrmBackend::open_with(path.as_ref(), None)
    }

    /// Opens `path` and picks a connector mode of `wanted`'s size (32 bpp only).
    pub fn open_with(path: &Path, wanted: Option<Mode>) -> Result<Self, Error> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(failed(Syscall::Open, path))?;
        let card = Card(file);
        let drm_err = |call: &'static str| failed(Syscall::Drm(call), path);
        let unsupported = |reason: String| Error::Unsupported {
            backend: "drm",
            reason,
        };
        let resources = card
            .resource_handles()
            .map_err(drm_err("DRM_IOCTL_MODE_GETRESOURCES"))?;
        let connector = resources
            .connectors()
            .iter()
            .filter_map(|&c| card.get_connector(c, false).ok())
            .find(|c| c.state() == connector::State::Connected)
            .ok_or_else(|| unsupported(format!("no connected connector on {}", path.display())))?;
        let encoder = connector
            .current_encoder()
            .or_else(|| connector.encoders().first().copied());
        let crtc = encoder
            .and_then(|e| card.get_encoder(e).ok())
            .and_then(|e| {
                e.crtc()
                    .or_else(|| resources.filter_crtcs(e.possible_crtcs()).first().copied())
            })
            .or_else(|| resources.crtcs().first().copied())
            .ok_or_else(|| unsupported("no CRTC".into()))?;
        let saved = card.get_crtc(crtc).ok();
        let current = saved.as_ref().and_then(|c| c.mode());
        let drm_mode = match wanted {
            Some(w) => {
                if w.bpp != 32 {
                    return Err(Error::ModeNotAvailable {
                        backend: "drm",
                        wanted: w,
                        reason: "dumb buffers are drawn in XRGB8888 (32 bpp) only".into(),
                    });
                }
                connector
                    .modes()
                    .iter()
                    .find(|m| m.size() == (w.width as u16, w.height as u16))
                    .copied()
                    .ok_or_else(|| Error::ModeNotAvailable {
                        backend: "drm",
                        wanted: w,
                        reason: "the connector lists no mode of that size".into(),
                    })?
            }
            None => current
                .or_else(|| {
                    connector
                        .modes()
                        .iter()
                        .find(|m| m.mode_type().contains(ModeTypeFlags::PREFERRED))
                        .copied()
                })
                .or_else(|| connector.modes().first().copied())
                .ok_or_else(|| unsupported("the connector lists no modes".into()))?,
        };
        let (width, height) = drm_mode.size();
        let (width, height) = (u32::from(width), u32::from(height));
        let new_frame = |card: &Card| -> Result<(DumbFrame, u32), Error> {
            let buffer = card
                .create_dumb_buffer((width, height), DrmFourcc::Xrgb8888, 32)
                .map_err(drm_err("DRM_IOCTL_MODE_CREATE_DUMB"))?;
            let pitch = buffer.pitch();
            let fb = card
                .add_framebuffer(&buffer, 24, 32)
                .map_err(drm_err("DRM_IOCTL_MODE_ADDFB"))?;
            let offset = drm_ffi::mode::dumbbuffer::map(card.as_fd(), buffer.handle().into(), 0, 0)
                .map_err(drm_err("DRM_IOCTL_MODE_MAP_DUMB"))?
                .offset;
            let len = pitch as usize * height as usize;
            let map = Mapping::new(card, len, offset).map_err(failed(Syscall::Mmap, path))?;
            Ok((
                DumbFrame {
                    map,
                    buffer: Some(buffer),
                    fb,
                },
                pitch,
            ))
        };
        let (first, pitch) = new_frame(&card)?;
        let mode = Mode {
            width,
            height,
            bpp: 32,
            stride: pitch,
        };
        let mut backend = DrmBackend {
            frames: vec![first],
            shown: 0,
            stale: Damage::new(),
            card,
            path: path.to_owned(),
            crtc,
            mode,
            drawn: Damage::new(),
            dirtyfb: true,
            saved,
            connector: connector.handle(),
        };
        // Dumb buffers start zeroed: black, like the damage-free state.
        backend
            .card
            .set_crtc(
                crtc,
                Some(backend.frames[0].fb),
                (0, 0),
                &[connector.handle()],
                Some(drm_mode),
            )
            .map_err(drm_err("DRM_IOCTL_MODE_SETCRTC"))?;
        // A second (also black) buffer, flipped to once: if that works the driver flips.
        let (second, _) = new_frame(&backend.card)?;
        backend.frames.push(second);
        if backend.flip_to(1).is_ok() {
            backend.shown = 1;
        } else {
            backend.destroy_frame(1);
        }
        Ok(backend)
    }

    /// Whether frames are flipped (two buffers) rather than drawn in place.
    fn flips(&self) -> bool {
        self.frames.len() == 2
    }

    /// Flips the CRTC to frame `index` at the next vertical blank and waits until it did.
    fn flip_to(&mut self, index: usize) -> std::io::Result<()> {
        self.card
            .page_flip(self.crtc, self.frames[index].fb, PageFlipFlags::EVENT, None)?;
        loop {
            if !crate::device::wait_readable(self.card.as_fd(), FLIP_TIMEOUT_MS)? {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "no page-flip event within a second",
                ));
            }
            for event in self.card.receive_events()? {
                if matches!(event, Event::PageFlip(flip) if flip.crtc == self.crtc) {
                    return Ok(());
                }
            }
        }
    }

    /// Destroys frame `index` (best effort) and forgets it.
    fn destroy_frame(&mut self, index: usize) {
        let mut frame = self.frames.remove(index);
        let _ = self.card.destroy_framebuffer(frame.fb);
        if let Some(buffer) = frame.buffer.take() {
            let _ = self.card.destroy_dumb_buffer(buffer);
        }
    }
}

impl Drop for DrmBackend {
    fn drop(&mut self) {
        // Best effort throughout. The CRTC first, so our framebuffer is no longer scanned out
        // when it goes; the kernel would restore fbdev emulation when the last client closes,
        // but only then.
        if let Some(saved) = self.saved.take().filter(|s| s.framebuffer().is_some()) {
            let _ = self.card.set_crtc(
                self.crtc,
                saved.framebuffer(),
                saved.position(),
                &[self.connector],
                saved.mode(),
            );
        }
        while !self.frames.is_empty() {
            self.destroy_frame(0);
        }
    }
}

/// DRM clip rectangles are 16-bit; modes are far smaller.
fn clip(r: &crate::Rect) -> ClipRect {
    let c = |v: u32| v.min(u32::from(u16::MAX)) as u16;
    ClipRect::new(c(r.x), c(r.y), c(r.right()), c(r.bottom()))
}

impl Backend for DrmBackend {
    fn name(&self) -> &'static str {
        "drm"
    }
    fn mode(&self) -> Mode {
        self.mode
    }
    fn presentation(&self) -> Presentation {
        if self.flips() {
            Presentation::Flip
        } else {
            Presentation::Direct
        }
    }
    fn surface(&mut self) -> Surface<'_> {
        let len = self.mode.frame_len();
        let back = if self.flips() {
            1 - self.shown
        } else {
            self.shown
        };
        if self.flips() && !self.stale.is_empty() {
            let (low, high) = self.frames.split_at_mut(1);
            let (shown, hidden) = if back == 1 {
                (&mut low[0], &mut high[0])
            } else {
                (&mut high[0], &mut low[0])
            };
            copy_damage(
                &self.stale,
                &shown.map.as_mut_slice()[..len],
                &mut hidden.map.as_mut_slice()[..len],
                self.mode,
            );
            self.stale.clear();
        }
        Surface::new_validated(
            &mut self.frames[back].map.as_mut_slice()[..len],
            self.mode,
            Some(&mut self.drawn),
        )
    }
    fn will_redraw_all(&mut self) {
        self.stale.clear();
    }
    fn present(&mut self) -> Result<(), Error> {
        if self.drawn.is_empty() {
            return Ok(());
        }
        if self.flips() {
            let back = 1 - self.shown;
            self.flip_to(back)
                .map_err(failed(Syscall::DrmPageFlip, &self.path))?;
            self.shown = back;
            // The buffer now hidden lacks what this frame drew.
            self.stale = std::mem::take(&mut self.drawn);
            return Ok(());
        }
        if !self.dirtyfb {
            self.drawn.clear();
            return Ok(());
        }
        let clips: Vec<ClipRect> = self.drawn.rects().iter().map(clip).collect();
        match self
            .card
            .dirty_framebuffer(self.frames[self.shown].fb, &clips)
        {
            Ok(()) => {}
            Err(e) if dirtyfb_unsupported(&e) => self.dirtyfb = false,
            Err(e) => return Err(failed(Syscall::DrmDirtyFb, &self.path)(e)),
        }
        self.drawn.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_no_such_call_answers_stop_dirtyfb() {
        let errno = std::io::Error::from_raw_os_error;
        assert!(dirtyfb_unsupported(&errno(libc::ENOSYS)));
        assert!(dirtyfb_unsupported(&errno(libc::EINVAL)));
        assert!(!dirtyfb_unsupported(&errno(libc::ENODEV)));
        assert!(!dirtyfb_unsupported(&errno(libc::EACCES)));
    }
}
