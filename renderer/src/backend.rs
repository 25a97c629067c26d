//! Where a frame lives and how it reaches the screen.
//!
//! Every backend implements [`Backend`]: draw on [`Backend::surface`] (which
//! always holds the last presented frame, so a frame may redraw only what
//! changed), then [`Backend::present`] it. Each drawing call is recorded as
//! damage, and presenting sends only the damaged parts.
//!
//! | backend | device | back buffer | present |
//! | --- | --- | --- | --- |
//! | [`MmapBackend`] | `/dev/bochsfbN` | second half of VRAM, or RAM | `PAN` (flip), or row copies of the damage |
//! | [`WriteBackend`] | `/dev/bochsfbN` | RAM | `pwrite` of the damaged spans |
//! | [`ShadowBackend`] | `/dev/bochsfbN` | the driver's shadow (mmap region 2) | `BOCHSFB_IOCTL_FLUSH` of the damage |
//! | [`FbdevBackend`] | `/dev/fbN` (any fbdev) | second half of the framebuffer, or RAM | `FBIOPAN_DISPLAY`, or row copies |
//! | `DrmBackend` (feature `drm`) | `/dev/dri/cardN` | a dumb buffer | `DIRTYFB` with the damage clips |
//! | `WindowBackend` (feature `window`) | a minifb window on the host | RAM | `update_with_buffer` |
//! | [`MemoryBackend`] | none | RAM | nothing (tests, PNG output) |
//!
//! [`open`] opens any of them by [`Kind`]; errors for which
//! [`Error::can_fall_back`] is true mean another backend may work. Examples,
//! one per backend, are in `renderer/examples/`.

use std::io;
use std::path::Path;

use crate::{Damage, Error, Mode, Surface, Syscall};

mod bochsfb;
#[cfg(feature = "drm")]
mod drm;
mod fbdev;
mod memory;
mod scanout;
#[cfg(feature = "window")]
mod window;

pub use bochsfb::{MmapBackend, ShadowBackend, WriteBackend};
#[cfg(feature = "drm")]
pub use drm::DrmBackend;
pub use fbdev::FbdevBackend;
pub use memory::MemoryBackend;
#[cfg(feature = "window")]
pub use window::WindowBackend;

/// How presented frames reach the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presentation {
    /// Drawing goes to what is scanned out, or to a buffer the device copies
    /// from on request (shadow flush, `DIRTYFB`, a window).
    Direct,
    /// Double buffered in video memory; presenting pans the display to the
    /// back buffer (a hardware flip).
    Flip,
    /// Double buffered in RAM; presenting copies the damage to the device.
    Copy,
    /// Nothing is shown (memory).
    None,
}

impl std::fmt::Display for Presentation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Presentation::Direct => "direct",
            Presentation::Flip => "flip",
            Presentation::Copy => "copy",
            Presentation::None => "none",
        })
    }
}

/// A frame to draw on and a way to show it.
pub trait Backend {
    /// A short name: `mmap`, `write`, `shadow`, `fbdev`, `drm`, `window`, `memory`.
    fn name(&self) -> &'static str;
    /// The mode of the frame.
    fn mode(&self) -> Mode;
    /// How frames reach the screen.
    fn presentation(&self) -> Presentation;
    /// The frame to draw on. It holds the last presented frame, unless
    /// [`Backend::will_redraw_all`] was called for this frame.
    fn surface(&mut self) -> Surface<'_>;
    /// A promise that the coming frame redraws every visible pixel, so a
    /// flipping backend need not bring its back buffer up to date first.
    fn will_redraw_all(&mut self) {}
    /// Makes what was drawn visible, sending only the damage.
    fn present(&mut self) -> Result<(), Error>;
    /// Waits for the next vertical blank, where the device has one.
    fn wait_vsync(&mut self) -> Result<(), Error> {
        Err(Error::Unsupported {
            backend: self.name(),
            reason: "no vertical blank to wait for".into(),
        })
    }
}

/// The backends [`open`] knows, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// [`MmapBackend`].
    Mmap,
    /// [`WriteBackend`].
    Write,
    /// [`ShadowBackend`].
    Shadow,
    /// [`FbdevBackend`].
    Fbdev,
    /// `DrmBackend` (feature `drm`).
    Drm,
    /// `WindowBackend` (feature `window`).
    Window,
    /// [`MemoryBackend`].
    Memory,
}

impl Kind {
    /// Every kind, in the order of the table above.
    pub const ALL: [Kind; 7] = [
        Kind::Mmap,
        Kind::Write,
        Kind::Shadow,
        Kind::Fbdev,
        Kind::Drm,
        Kind::Window,
        Kind::Memory,
    ];

    /// The name used on command lines.
    pub const fn name(self) -> &'static str {
        match self {
            Kind::Mmap => "mmap",
            Kind::Write => "write",
            Kind::Shadow => "shadow",
            Kind::Fbdev => "fbdev",
            Kind::Drm => "drm",
            Kind::Window => "window",
            Kind::Memory => "memory",
        }
    }

    /// The device opened when none is named.
    pub const fn default_device(self) -> &'static str {
        match self {
            Kind::Mmap | Kind::Write | Kind::Shadow => "/dev/bochsfb0",
            Kind::Fbdev => "/dev/fb0",
            Kind::Drm => "/dev/dri/card0",
            Kind::Window | Kind::Memory => "",
        }
    }
}

impl std::str::FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Kind, String> {
        Kind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| format!("unknown backend `{s}`"))
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What [`open`] should open.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The device node; `None` takes [`Kind::default_device`].
    pub device: Option<std::path::PathBuf>,
    /// The mode to set; `None` keeps the device's (memory and window: 1024x768x32).
    pub mode: Option<Mode>,
    /// Draw straight into what is scanned out (mmap, fbdev) instead of double buffering.
    pub single_buffer: bool,
    /// Window title (window backend).
    pub title: Option<String>,
}

/// The mode memory and window backends use when none is asked for.
pub const DEFAULT_MODE: Mode = Mode::xrgb8888(1024, 768);

/// Opens a backend of `kind`.
pub fn open(kind: Kind, options: &Options) -> Result<Box<dyn Backend>, Error> {
    let device = options
        .device
        .clone()
        .unwrap_or_else(|| kind.default_device().into());
    Ok(match kind {
        Kind::Mmap => Box::new(MmapBackend::open_with(&device, options.mode, !options.single_buffer)?),
        Kind::Write => Box::new(WriteBackend::open_with(&device, options.mode)?),
        Kind::Shadow => Box::new(ShadowBackend::open_with(&device, options.mode)?),
        Kind::Fbdev => Box::new(FbdevBackend::open_with(&device, options.mode, !options.single_buffer)?),
        #[cfg(feature = "drm")]
        Kind::Drm => Box::new(DrmBackend::open_with(&device, options.mode)?),
        #[cfg(feature = "window")]
        Kind::Window => Box::new(WindowBackend::open(
            options.title.as_deref().unwrap_or("bochsfb"),
            options.mode.unwrap_or(DEFAULT_MODE),
        )?),
        Kind::Memory => Box::new(MemoryBackend::new(options.mode.unwrap_or(DEFAULT_MODE))?),
        #[allow(unreachable_patterns)]
        other => {
            return Err(Error::Unsupported {
                backend: other.name(),
                reason: format!("built without the `{}` feature", other.name()),
            })
        }
    })
}

/// Turns an `io::Error` of `syscall` on `path` into an [`Error`].
pub(crate) fn failed(syscall: Syscall, path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |source| Error::Syscall {
        syscall,
        path: path.to_owned(),
        source,
    }
}

/// Copies the damaged rectangles of `src` into `dst`, row span by row span;
/// both are frames in `mode`.
pub(crate) fn copy_damage(damage: &Damage, src: &[u8], dst: &mut [u8], mode: Mode) {
    let bpp = mode.format().expect("validated mode").bytes_per_pixel();
    let stride = mode.stride as usize;
    for r in damage.rects() {
        for y in r.y as usize..r.bottom() as usize {
            let start = y * stride + r.x as usize * bpp;
            let end = start + r.width as usize * bpp;
            dst[start..end].copy_from_slice(&src[start..end]);
        }
    }
}
