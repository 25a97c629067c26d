//! A window on the host, through `minifb`.

use minifb::{Window, WindowOptions};

use crate::backend::{Backend, Presentation};
use crate::{Damage, Error, Mode, Surface};

/// Draws into RAM and shows it in a `minifb` window (its pixel encoding,
/// `0RGB` in a `u32`, is XRGB8888, so frames are handed over as they are).
/// Needs a graphical session; without one, opening fails with a
/// [fall-back](Error::can_fall_back) error.
///
/// ```no_run
/// # use bochsfb_renderer::backend::{Backend, WindowBackend};
/// # use bochsfb_renderer::Mode;
/// use embedded_graphics::{pixelcolor::Rgb888, prelude::*};
/// let mut window = WindowBackend::open("demo", Mode::xrgb8888(640, 480))?;
/// while window.is_open() {
///     window.surface().clear(Rgb888::CSS_NAVY).unwrap();
///     window.present()?;
/// }
/// # Ok::<(), bochsfb_renderer::Error>(())
/// ```
pub struct WindowBackend {
    window: Window,
    pixels: Vec<u32>,
    mode: Mode,
    drawn: Damage,
}

impl std::fmt::Debug for WindowBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WindowBackend").field("mode", &self.mode).finish_non_exhaustive()
    }
}

impl WindowBackend {
    /// Opens a window of `mode`'s size (drawn in XRGB8888 whatever its bpp).
    pub fn open(title: &str, mode: Mode) -> Result<Self, Error> {
        let mode = Mode::xrgb8888(mode.width, mode.height);
        let window = Window::new(title, mode.width as usize, mode.height as usize, WindowOptions::default())
            .map_err(|e| Error::Unsupported { backend: "window", reason: e.to_string() })?;
        Ok(WindowBackend {
            window,
            pixels: vec![0; mode.width as usize * mode.height as usize],
            mode,
            drawn: Damage::new(),
        })
    }

    /// Whether the window is still open (not closed by the user).
    pub fn is_open(&self) -> bool {
        self.window.is_open()
    }
}

impl Backend for WindowBackend {
    fn name(&self) -> &'static str {
        "window"
    }
    fn mode(&self) -> Mode {
        self.mode
    }
    fn presentation(&self) -> Presentation {
        Presentation::Direct
    }
    fn surface(&mut self) -> Surface<'_> {
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut self.pixels);
        Surface::new_validated(bytes, self.mode, Some(&mut self.drawn))
    }
    fn present(&mut self) -> Result<(), Error> {
        self.drawn.clear();
        if !self.window.is_open() {
            return Err(Error::Closed { backend: "window" });
        }
        self.window
            .update_with_buffer(&self.pixels, self.mode.width as usize, self.mode.height as usize)
            .map_err(|e| Error::Present { backend: "window", reason: e.to_string() })
    }
}
