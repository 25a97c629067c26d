//! Where a frame lives and how it reaches the screen.
//!
//! Every backend implements [`Backend`]: draw on [`Backend::surface`] (which
//! always holds the last presented frame, so a frame may redraw only what
//! changed), then [`Backend::present`] it. Each drawing call is recorded as
//! damage, and presenting sends only the damaged parts.
//!
//! The [crate documentation](crate#backends) has a table of what each one draws into and what
//! presenting sends: [`MmapBackend`], [`WriteBackend`], [`ShadowBackend`], [`FbdevBackend`],
//! `DrmBackend` (feature `drm`), `WindowBackend` (feature `window`) and [`MemoryBackend`].
//!
//! [`open`] opens any of them by [`Kind`]; [`open_best`] opens the first of a
//! list that works here ([`BEST_FIRST`] by default, or `"auto"` parsed as a
//! [`Selection`]), saying which it chose and why the others did not. Errors for
//! which [`Error::can_fall_back`] is true mean another backend may work.
//! [`Backend::poll_events`] gives keyboard and pointer input: a backend that [`open`]
//! opens on a device reads the kernel's evdev nodes ([`Evdev`]), the window its own.
//! Examples, one per backend, are in `renderer/examples/`.

use std::io;
use std::path::Path;

use crate::input::{Evdev, Event};
use crate::{Damage, Error, Mode, Rect, Surface, Syscall};

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
    /// [`Backend::present`], with `damage` added to what the surface recorded: for frames
    /// drawn through [`Surface::raw`], which records nothing. Rectangles are clipped to the
    /// frame.
    fn present_with_damage(&mut self, damage: &[Rect]) -> Result<(), Error> {
        let mut surface = self.surface();
        for &rect in damage {
            surface.add_damage(rect);
        }
        drop(surface);
        self.present()
    }
    /// Waits for the next vertical blank, where the device has one.
    fn wait_vsync(&mut self) -> Result<(), Error> {
        Err(Error::Unsupported {
            backend: self.name(),
            reason: "no vertical blank to wait for".into(),
        })
    }
    /// The keyboard and pointer events since the last call, oldest first, without waiting
    /// (see [`crate::input`]); pointer positions are pixels of [`Backend::mode`]. A backend
    /// without input gives none.
    fn poll_events(&mut self) -> Result<Vec<Event>, Error> {
        Ok(Vec::new())
    }
}

/// A backend on a device, with the kernel's evdev nodes as its input: opened and grabbed at
/// the first [`Backend::poll_events`], so a program that never asks for input leaves the
/// keyboard to the console.
struct WithEvdev {
    display: Box<dyn Backend>,
    evdev: Option<Evdev>,
}

impl Backend for WithEvdev {
    fn name(&self) -> &'static str {
        self.display.name()
    }
    fn mode(&self) -> Mode {
        self.display.mode()
    }
    fn presentation(&self) -> Presentation {
        self.display.presentation()
    }
    fn surface(&mut self) -> Surface<'_> {
        self.display.surface()
    }
    fn will_redraw_all(&mut self) {
        self.display.will_redraw_all()
    }
    fn present(&mut self) -> Result<(), Error> {
        self.display.present()
    }
    fn wait_vsync(&mut self) -> Result<(), Error> {
        self.display.wait_vsync()
    }
    fn poll_events(&mut self) -> Result<Vec<Event>, Error> {
        let mode = self.display.mode();
        let mut events = Vec::new();
        self.evdev
            .get_or_insert_with(Evdev::open)
            .poll(mode.width, mode.height, &mut events)?;
        Ok(events)
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
            .ok_or_else(|| {
                let names: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
                format!(
                    "unknown backend `{s}`: one of {} (`auto` is a `Selection`)",
                    names.join(", ")
                )
            })
    }
}

/// One backend, or the best that opens here ([`open_selected`]); parses from `auto` or a
/// [`Kind`]'s name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// The first of [`BEST_FIRST`] that opens.
    Auto,
    /// Exactly this backend.
    Only(Kind),
}

impl std::str::FromStr for Selection {
    type Err = String;
    fn from_str(s: &str) -> Result<Selection, String> {
        match s {
            "auto" => Ok(Selection::Auto),
            other => other
                .parse()
                .map(Selection::Only)
                .map_err(|e: String| e.replace("(`auto` is a `Selection`)", "or auto")),
        }
    }
}

/// The order [`open_best`] tries backends in by default: the device's mapping, its shadow
/// buffer, its write path; any fbdev; DRM dumb buffers; a host window; memory (always opens,
/// shows nothing). Callers narrow it by passing a part of it (a guest program without a
/// window: the first five).
pub const BEST_FIRST: [Kind; 7] = [
    Kind::Mmap,
    Kind::Shadow,
    Kind::Write,
    Kind::Fbdev,
    Kind::Drm,
    Kind::Window,
    Kind::Memory,
];

/// What [`open_best`] opened, and why each backend before it did not.
pub struct Opened {
    /// The backend.
    pub backend: Box<dyn Backend>,
    /// Which one it is.
    pub kind: Kind,
    /// The backends tried first, each with the error that made [`open_best`] move on.
    pub passed_over: Vec<(Kind, Error)>,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("kind", &self.kind)
            .field("passed_over", &self.passed_over)
            .finish_non_exhaustive()
    }
}

/// Opens the first of `kinds` that works here. A backend that fails with an error for which
/// [`Error::can_fall_back`] is true is passed over; any other error stops the search (the
/// device is there but broken: reported, not hidden). If none opens, [`Error::NoBackend`]
/// carries every backend's reason. `options.device`, if set, is used for every kind.
pub fn open_best(kinds: &[Kind], options: &Options) -> Result<Opened, Error> {
    let mut passed_over = Vec::new();
    for &kind in kinds {
        match open(kind, options) {
            Ok(backend) => {
                return Ok(Opened {
                    backend,
                    kind,
                    passed_over,
                })
            }
            Err(e) if e.can_fall_back() => passed_over.push((kind, e)),
            Err(e) => return Err(e),
        }
    }
    Err(Error::NoBackend { tried: passed_over })
}

/// [`open`] for [`Selection::Only`], [`open_best`] over [`BEST_FIRST`] for [`Selection::Auto`].
pub fn open_selected(selection: Selection, options: &Options) -> Result<Opened, Error> {
    match selection {
        Selection::Only(kind) => Ok(Opened {
            backend: open(kind, options)?,
            kind,
            passed_over: Vec::new(),
        }),
        Selection::Auto => open_best(&BEST_FIRST, options),
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

/// Opens a backend of `kind`. Backends on a device read input from the kernel's evdev nodes
/// once asked for it ([`Backend::poll_events`]).
pub fn open(kind: Kind, options: &Options) -> Result<Box<dyn Backend>, Error> {
    let display = open_display(kind, options)?;
    Ok(match kind {
        Kind::Window | Kind::Memory => display,
        _ => Box::new(WithEvdev {
            display,
            evdev: None,
        }),
    })
}

fn open_display(kind: Kind, options: &Options) -> Result<Box<dyn Backend>, Error> {
    let device = options
        .device
        .clone()
        .unwrap_or_else(|| kind.default_device().into());
    Ok(match kind {
        Kind::Mmap => Box::new(MmapBackend::open_with(
            &device,
            options.mode,
            !options.single_buffer,
        )?),
        Kind::Write => Box::new(WriteBackend::open_with(&device, options.mode)?),
        Kind::Shadow => Box::new(ShadowBackend::open_with(&device, options.mode)?),
        Kind::Fbdev => Box::new(FbdevBackend::open_with(
            &device,
            options.mode,
            !options.single_buffer,
        )?),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn nowhere() -> Options {
        Options {
            device: Some("/nonexistent/bochsfb0".into()),
            ..Options::default()
        }
    }

    #[test]
    fn open_best_passes_over_missing_devices_and_says_why() {
        let opened = open_best(&BEST_FIRST, &nowhere()).unwrap();
        assert_eq!(opened.kind, Kind::Memory);
        assert_eq!(opened.backend.name(), "memory");
        let kinds: Vec<Kind> = opened.passed_over.iter().map(|(k, _)| *k).collect();
        // Headless (or built without `window`), the window backend is passed over too.
        assert_eq!(kinds, BEST_FIRST[..6]);
        for (kind, e) in &opened.passed_over {
            assert!(e.can_fall_back(), "{kind}: {e}");
        }
    }

    #[test]
    fn open_best_names_every_backend_when_none_opens() {
        let err = open_best(&[Kind::Mmap, Kind::Fbdev], &nowhere()).unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(&err, Error::NoBackend { tried } if tried.len() == 2),
            "{err:?}"
        );
        assert!(
            text.starts_with("no backend opens here: mmap: ") && text.contains("; fbdev: "),
            "{text}"
        );
    }

    #[test]
    fn a_real_failure_stops_the_search() {
        // A mode that cannot exist: memory refuses it with an error that is not a fall-back.
        let options = Options {
            mode: Some(Mode {
                width: 0,
                height: 0,
                bpp: 32,
                stride: 0,
            }),
            ..nowhere()
        };
        let err = open_best(&[Kind::Memory, Kind::Mmap], &options).unwrap_err();
        assert!(
            !err.can_fall_back() && !matches!(err, Error::NoBackend { .. }),
            "{err:?}"
        );
    }

    #[test]
    fn selections_parse_auto_and_every_kind() {
        assert_eq!("auto".parse::<Selection>(), Ok(Selection::Auto));
        for kind in Kind::ALL {
            assert_eq!(kind.name().parse::<Selection>(), Ok(Selection::Only(kind)));
        }
        let err = "nope".parse::<Selection>().unwrap_err();
        assert!(
            err.contains("mmap, write") && err.ends_with("or auto"),
            "{err}"
        );
        assert!("auto".parse::<Kind>().unwrap_err().contains("Selection"));
    }
}
