//! Any Linux framebuffer, `/dev/fbN`, through the standard fbdev ioctls.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use crate::backend::scanout::Scanout;
use crate::backend::{failed, Backend, Presentation};
use crate::device::{self, GraphicsConsole, Mapping};
use crate::fb_abi::{FbVarScreeninfo, FB_ACTIVATE_NOW};
use crate::{Error, Mode, PixelFormat, Surface, Syscall};

/// The pixel format an fbdev mode describes, if the renderer draws it
/// (truecolour, red above green above blue).
fn format_of(var: &FbVarScreeninfo) -> Option<PixelFormat> {
    let format = PixelFormat::from_bpp(var.bits_per_pixel)?;
    let rgb = (var.red.offset, var.green.offset, var.blue.offset);
    let expected = match format {
        PixelFormat::Xrgb8888 | PixelFormat::Rgb888 => (16, 8, 0),
        PixelFormat::Rgb565 => (11, 5, 0),
        // Palette modes report no bitfields that matter.
        PixelFormat::Rgb332 => rgb,
    };
    (rgb == expected).then_some(format)
}

/// Draws on a Linux framebuffer device: the kernel's fbdev emulation of a
/// DRM driver, a native fbdev driver, or `/dev/bochsfbN`, which speaks the
/// same ioctls. Double buffered by panning (`FBIOPUT_VSCREENINFO` with a
/// virtual height of two frames, then `FBIOPAN_DISPLAY`) where the driver
/// allows it, else through a RAM frame whose damage is copied.
///
/// ```no_run
/// # use bochsfb_renderer::backend::{Backend, FbdevBackend};
/// use embedded_graphics::{pixelcolor::Rgb888, prelude::*};
/// let mut fb = FbdevBackend::open("/dev/fb0")?;
/// println!("{} via {}", fb.mode(), fb.presentation());
/// fb.surface().clear(Rgb888::CSS_TEAL).unwrap();
/// fb.present()?;
/// # Ok::<(), bochsfb_renderer::Error>(())
/// ```
#[derive(Debug)]
pub struct FbdevBackend {
    file: File,
    path: PathBuf,
    var: FbVarScreeninfo,
    /// The mode at open, put back on drop if the backend changed it.
    original: FbVarScreeninfo,
    scanout: Scanout,
    _console: GraphicsConsole,
}

impl FbdevBackend {
    /// Opens `path` in its current mode, double buffered.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        FbdevBackend::open_with(path.as_ref(), None, true)
    }

    /// Opens `path`, sets `mode` if given, double buffers if `double_buffer`.
    pub fn open_with(path: &Path, mode: Option<Mode>, double_buffer: bool) -> Result<Self, Error> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(failed(Syscall::Open, path))?;
        let info = failed(Syscall::FbGetInfo, path);
        let mut var = device::fb_get_var(&file).map_err(info)?;
        let original = var;
        if let Some(wanted) = mode {
            if (wanted.width, wanted.height, wanted.bpp) != (var.xres, var.yres, var.bits_per_pixel)
            {
                let ask = FbVarScreeninfo {
                    xres: wanted.width,
                    yres: wanted.height,
                    xres_virtual: wanted.width,
                    yres_virtual: wanted.height,
                    xoffset: 0,
                    yoffset: 0,
                    bits_per_pixel: wanted.bpp,
                    activate: FB_ACTIVATE_NOW,
                    ..var
                };
                var = device::fb_put_var(&file, &ask).map_err(|e| Error::ModeNotAvailable {
                    backend: "fbdev",
                    wanted,
                    reason: format!("FBIOPUT_VSCREENINFO: {e}"),
                })?;
            }
        }
        // No virtual terminal (or no permission): nothing draws over us then.
        let console = GraphicsConsole::enter().unwrap_or_default();
        let mut backend = FbdevBackend::with_file(file, path, var, double_buffer)?;
        backend._console = console;
        backend.original = original;
        Ok(backend)
    }

    fn with_file(
        file: File,
        path: &Path,
        mut var: FbVarScreeninfo,
        double_buffer: bool,
    ) -> Result<Self, Error> {
        let fix = device::fb_get_fix(&file).map_err(failed(Syscall::FbGetInfo, path))?;
        let format = format_of(&var).ok_or_else(|| Error::Unsupported {
            backend: "fbdev",
            reason: format!(
                "{} bpp with red/green/blue at bits {}/{}/{} is not a format the renderer draws",
                var.bits_per_pixel, var.red.offset, var.green.offset, var.blue.offset
            ),
        })?;
        // Show the first frame, whatever a previous program panned to.
        if var.yoffset != 0 || var.xoffset != 0 {
            let home = FbVarScreeninfo {
                xoffset: 0,
                yoffset: 0,
                ..var
            };
            if device::fb_pan(&file, &home).is_ok() {
                var = home;
            }
        }
        let mode = Mode {
            width: var.xres,
            height: var.yres,
            bpp: format.bpp(),
            stride: fix.line_length,
        };
        let frame_len = mode.frame_len();
        mode.validate(fix.smem_len as usize)?;

        let mut can_flip =
            double_buffer && fix.ypanstep != 0 && fix.smem_len as usize >= 2 * frame_len;
        if can_flip && var.yres_virtual < 2 * var.yres {
            let ask = FbVarScreeninfo {
                yres_virtual: 2 * var.yres,
                yoffset: 0,
                activate: FB_ACTIVATE_NOW,
                ..var
            };
            match device::fb_put_var(&file, &ask) {
                Ok(set)
                    if set.yres_virtual >= 2 * set.yres
                        && (set.xres, set.yres) == (var.xres, var.yres) =>
                {
                    var = set
                }
                _ => can_flip = false,
            }
        }
        can_flip = can_flip && device::fb_pan(&file, &var).is_ok();
        let map = |len| Mapping::new(&file, len, 0).map_err(failed(Syscall::Mmap, path));
        let scanout = if can_flip {
            let shown = usize::from(var.yoffset >= var.yres);
            Scanout::flip(map(2 * frame_len)?, mode, shown)
        } else if double_buffer {
            Scanout::copy(map(frame_len)?, mode)
        } else {
            Scanout::direct(map(frame_len)?, mode)
        };
        Ok(FbdevBackend {
            file,
            path: path.to_owned(),
            var,
            original: var,
            scanout,
            _console: GraphicsConsole::default(),
        })
    }
}

/// Gives the screen back as it was: the last frame at row 0, the mode (resolution, depth,
/// virtual size) of before, then (dropping the console guard) the console in text mode.
impl Drop for FbdevBackend {
    fn drop(&mut self) {
        let (file, var) = (&self.file, &mut self.var);
        // Best effort throughout: the device may be gone.
        let _ = self.scanout.settle(|y| {
            var.yoffset = y;
            var.xoffset = 0;
            device::fb_pan(file, var)
        });
        let geometry = |v: &FbVarScreeninfo| {
            (
                v.xres,
                v.yres,
                v.xres_virtual,
                v.yres_virtual,
                v.bits_per_pixel,
            )
        };
        if geometry(&self.var) != geometry(&self.original) {
            let back = FbVarScreeninfo {
                xoffset: 0,
                yoffset: 0,
                activate: FB_ACTIVATE_NOW,
                ..self.original
            };
            let _ = device::fb_put_var(&self.file, &back);
        }
    }
}

impl Backend for FbdevBackend {
    fn name(&self) -> &'static str {
        "fbdev"
    }
    fn mode(&self) -> Mode {
        self.scanout.mode()
    }
    fn presentation(&self) -> Presentation {
        self.scanout.presentation()
    }
    fn surface(&mut self) -> Surface<'_> {
        self.scanout.surface()
    }
    fn will_redraw_all(&mut self) {
        self.scanout.will_redraw_all();
    }
    fn present(&mut self) -> Result<(), Error> {
        let (file, var) = (&self.file, &mut self.var);
        self.scanout
            .present(|y| -> io::Result<()> {
                var.yoffset = y;
                var.xoffset = 0;
                device::fb_pan(file, var)
            })
            .map_err(failed(Syscall::FbPan, &self.path))
    }
    fn wait_vsync(&mut self) -> Result<(), Error> {
        device::fb_wait_vsync(&self.file, 0).map_err(failed(Syscall::WaitVsync, &self.path))
    }
}
