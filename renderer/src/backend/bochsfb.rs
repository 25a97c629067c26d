//! The three ways into `/dev/bochsfbN`: mmap of VRAM, `write(2)`, and the
//! driver's RAM shadow with `FLUSH`.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::abi::{mmap_region, BochsfbMode, BochsfbRect, BOCHSFB_MAX_DAMAGE_RECTS};
use crate::backend::scanout::Scanout;
use crate::backend::{failed, Backend, Presentation};
use crate::device::{self, Mapping};
use crate::{Damage, Error, Mode, Surface, Syscall};

fn enotty(e: &std::io::Error) -> bool {
    e.raw_os_error() == Some(libc::ENOTTY)
}

/// An open `/dev/bochsfbN` in the mode asked for.
struct Device {
    file: File,
    path: PathBuf,
    raw: BochsfbMode,
    mode: Mode,
}

impl Device {
    /// Opens `path`; sets `wanted` if it differs from the current mode, and
    /// asks for a virtual screen of two frames if `two_frames`. A driver
    /// without SET_MODE (`ENOTTY`) keeps its mode: fine unless another one
    /// was asked for.
    fn open(
        backend: &'static str,
        path: &Path,
        wanted: Option<Mode>,
        two_frames: bool,
    ) -> Result<Device, Error> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(failed(Syscall::Open, path))?;
        let mut raw = device::get_mode(&file).map_err(failed(Syscall::GetMode, path))?;
        let current = Mode::from(raw);
        let target = wanted.unwrap_or(current);
        let other_mode = (target.width, target.height, target.bpp)
            != (current.width, current.height, current.bpp);
        if other_mode || (two_frames && raw.virtual_height < 2 * raw.height) {
            let ask = BochsfbMode {
                width: target.width,
                height: target.height,
                bpp: target.bpp,
                virtual_height: 0,
                ..BochsfbMode::default()
            };
            match device::set_mode(&file, &ask) {
                Ok(set) => raw = set,
                Err(e) if other_mode => {
                    return Err(Error::ModeNotAvailable {
                        backend,
                        wanted: target,
                        reason: if enotty(&e) {
                            format!("the driver cannot change modes (SET_MODE: {e}); it is in {current}, load it with width=, height=, bpp=")
                        } else {
                            format!("SET_MODE: {e}")
                        },
                    })
                }
                // Only the virtual screen was wanted: flip falls back to copy.
                Err(_) => {}
            }
        }
        // Show the first frame: a previous program may have left the display
        // panned to its back buffer, where writes from offset 0 would not show.
        if raw.y_offset != 0 && device::pan(&file, 0).is_ok() {
            raw.y_offset = 0;
        }
        let mode = Mode::from(raw);
        mode.validate(usize::try_from(raw.fb_size).unwrap_or(usize::MAX))?;
        Ok(Device {
            file,
            path: path.to_owned(),
            raw,
            mode,
        })
    }
}

/// Draws into mapped VRAM. Double buffered by default: with a virtual screen
/// of two frames (`SET_MODE`), it draws into the hidden one and `PAN`s to it;
/// on a driver that cannot, it draws into RAM and copies the damage into
/// VRAM. `single_buffer` draws straight into the visible frame.
///
/// ```no_run
/// # use bochsfb_renderer::backend::{Backend, MmapBackend};
/// use embedded_graphics::{pixelcolor::Rgb888, prelude::*};
/// let mut fb = MmapBackend::open("/dev/bochsfb0")?;
/// fb.surface().clear(Rgb888::BLUE).unwrap();
/// fb.present()?;
/// # Ok::<(), bochsfb_renderer::Error>(())
/// ```
#[derive(Debug)]
pub struct MmapBackend {
    file: File,
    path: PathBuf,
    scanout: Scanout,
}

impl MmapBackend {
    /// Opens `path` in its current mode, double buffered.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        MmapBackend::open_with(path.as_ref(), None, true)
    }

    /// Opens `path`, sets `mode` if given, double buffers if `double_buffer`.
    pub fn open_with(path: &Path, mode: Option<Mode>, double_buffer: bool) -> Result<Self, Error> {
        let dev = Device::open("mmap", path, mode, double_buffer)?;
        let (mode, raw) = (dev.mode, dev.raw);
        let map = |len| {
            Mapping::new(&dev.file, len, mmap_region::WRITE_COMBINED)
                .map_err(failed(Syscall::Mmap, path))
        };
        let can_flip = double_buffer
            && u64::from(raw.virtual_height) >= 2 * u64::from(raw.height)
            && raw.fb_size >= 2 * mode.frame_len() as u64
            // A driver without PAN answers ENOTTY; fall back to copying.
            && device::pan(&dev.file, raw.y_offset).is_ok();
        let scanout = if can_flip {
            let shown = usize::from(raw.y_offset >= raw.height);
            Scanout::flip(map(2 * mode.frame_len())?, mode, shown)
        } else if double_buffer {
            Scanout::copy(map(mode.frame_len())?, mode)
        } else {
            Scanout::direct(map(mode.frame_len())?, mode)
        };
        Ok(MmapBackend {
            file: dev.file,
            path: dev.path,
            scanout,
        })
    }
}

/// Leaves the last frame on screen at row 0 (a flip may have left the display on the second
/// frame, where a `write(2)` from offset 0 or the next program would not show). The mode stays:
/// bochsfb has no console to give the screen back to, and a restored mode would show a stale
/// frame in another layout.
impl Drop for MmapBackend {
    fn drop(&mut self) {
        let file = &self.file;
        // Best effort: the card may be gone (ENODEV).
        let _ = self.scanout.settle(|y| device::pan(file, y));
    }
}

impl Backend for MmapBackend {
    fn name(&self) -> &'static str {
        "mmap"
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
        let file = &self.file;
        self.scanout
            .present(|y| device::pan(file, y))
            .map_err(failed(Syscall::Pan, &self.path))
    }
    fn wait_vsync(&mut self) -> Result<(), Error> {
        device::wait_vsync(&self.file).map_err(failed(Syscall::WaitVsync, &self.path))
    }
}

/// Draws into RAM and writes the damaged spans to the device with
/// `pwrite(2)` (a damaged rectangle at least half a row wide goes out as
/// one write of all its rows; narrower ones one write per row). bochsfb copies
/// each write once, from this frame straight into VRAM, where the pages are
/// present (docs/bench/).
///
/// ```no_run
/// # use bochsfb_renderer::backend::{Backend, WriteBackend};
/// use embedded_graphics::{pixelcolor::Rgb888, prelude::*, primitives::*};
/// let mut fb = WriteBackend::open("/dev/bochsfb0")?;
/// Rectangle::new(Point::new(10, 10), Size::new(64, 64))
///     .into_styled(PrimitiveStyle::with_fill(Rgb888::RED))
///     .draw(&mut fb.surface())
///     .unwrap();
/// fb.present()?; // 64 writes of one row each
/// # Ok::<(), bochsfb_renderer::Error>(())
/// ```
#[derive(Debug)]
pub struct WriteBackend {
    file: File,
    path: PathBuf,
    frame: Vec<u8>,
    mode: Mode,
    drawn: Damage,
    writes: u64,
}

impl WriteBackend {
    /// Opens `path` in its current mode.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        WriteBackend::open_with(path.as_ref(), None)
    }

    /// Opens `path` and sets `mode` if given. The RAM frame starts as what
    /// the device shows (read with `pread`), so partial redraws keep it.
    pub fn open_with(path: &Path, mode: Option<Mode>) -> Result<Self, Error> {
        let dev = Device::open("write", path, mode, false)?;
        let mut frame = vec![0; dev.mode.frame_len()];
        dev.file
            .read_exact_at(&mut frame, 0)
            .map_err(failed(Syscall::Read, path))?;
        Ok(WriteBackend {
            file: dev.file,
            path: dev.path,
            frame,
            mode: dev.mode,
            drawn: Damage::new(),
            writes: 0,
        })
    }

    /// `write(2)` calls made so far.
    pub fn writes(&self) -> u64 {
        self.writes
    }
}

impl Backend for WriteBackend {
    fn name(&self) -> &'static str {
        "write"
    }
    fn mode(&self) -> Mode {
        self.mode
    }
    fn presentation(&self) -> Presentation {
        Presentation::Copy
    }
    fn surface(&mut self) -> Surface<'_> {
        Surface::new_validated(&mut self.frame, self.mode, Some(&mut self.drawn))
    }
    fn present(&mut self) -> Result<(), Error> {
        for span in write_spans(&self.drawn, self.mode) {
            self.writes += 1;
            self.file
                .write_all_at(&self.frame[span.clone()], span.start as u64)
                .map_err(failed(Syscall::Write, &self.path))?;
        }
        self.drawn.clear();
        Ok(())
    }
}

/// The byte ranges of a frame in `mode` that [`WriteBackend::present`] writes for `damage`: a
/// rectangle at least half a row wide as one range from its first row to its last (the bytes
/// between its rows come along; the frame in RAM is the truth, so rewriting them is harmless),
/// a narrower one as one range per row.
fn write_spans(damage: &Damage, mode: Mode) -> Vec<std::ops::Range<usize>> {
    let bpp = mode.format().expect("validated").bytes_per_pixel();
    let stride = mode.stride as usize;
    let mut spans = Vec::new();
    for r in damage.rects() {
        let (x0, x1) = (r.x as usize * bpp, r.right() as usize * bpp);
        let (y0, y1) = (r.y as usize, r.bottom() as usize);
        if 2 * (x1 - x0) >= mode.width as usize * bpp {
            spans.push(y0 * stride + x0..(y1 - 1) * stride + x1);
        } else {
            spans.extend((y0..y1).map(|y| y * stride + x0..y * stride + x1));
        }
    }
    spans
}

/// Draws into the driver's RAM shadow of VRAM (mmap region
/// `SHADOW`) and asks the driver to copy the damaged rectangles into VRAM
/// (`BOCHSFB_IOCTL_FLUSH`). A driver without the shadow region fails to
/// open with a [fall-back](Error::can_fall_back) error.
///
/// ```no_run
/// # use bochsfb_renderer::backend::{Backend, ShadowBackend};
/// use embedded_graphics::{pixelcolor::Rgb888, prelude::*};
/// let mut fb = ShadowBackend::open("/dev/bochsfb0")?;
/// fb.surface().clear(Rgb888::GREEN).unwrap();
/// fb.present()?; // one FLUSH ioctl
/// # Ok::<(), bochsfb_renderer::Error>(())
/// ```
#[derive(Debug)]
pub struct ShadowBackend {
    file: File,
    path: PathBuf,
    shadow: Mapping,
    mode: Mode,
    drawn: Damage,
}

impl ShadowBackend {
    /// Opens `path` in its current mode.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        ShadowBackend::open_with(path.as_ref(), None)
    }

    /// Opens `path` and sets `mode` if given.
    pub fn open_with(path: &Path, mode: Option<Mode>) -> Result<Self, Error> {
        let dev = Device::open("shadow", path, mode, false)?;
        // Both keep the errno: Syscall errors made while opening fall back (Error::can_fall_back).
        let shadow = Mapping::new(&dev.file, dev.mode.frame_len(), mmap_region::SHADOW)
            .map_err(failed(Syscall::Mmap, path))?;
        let mut backend = ShadowBackend {
            file: dev.file,
            path: dev.path,
            shadow,
            mode: dev.mode,
            drawn: Damage::new(),
        };
        // Probe FLUSH with no damage rectangle... which means "all": flush
        // once so the shadow (zeroed) and the screen agree from the start.
        device::flush(&backend.file, &[]).map_err(failed(Syscall::Flush, path))?;
        backend.drawn.clear();
        Ok(backend)
    }
}

impl Backend for ShadowBackend {
    fn name(&self) -> &'static str {
        "shadow"
    }
    fn mode(&self) -> Mode {
        self.mode
    }
    fn presentation(&self) -> Presentation {
        Presentation::Direct
    }
    fn surface(&mut self) -> Surface<'_> {
        let len = self.mode.frame_len();
        Surface::new_validated(
            &mut self.shadow.as_mut_slice()[..len],
            self.mode,
            Some(&mut self.drawn),
        )
    }
    fn present(&mut self) -> Result<(), Error> {
        if self.drawn.is_empty() {
            return Ok(());
        }
        let rects: Vec<BochsfbRect> = self
            .drawn
            .rects()
            .iter()
            .map(|r| BochsfbRect {
                x: r.x,
                y: r.y,
                width: r.width,
                height: r.height,
            })
            .collect();
        debug_assert!(rects.len() <= BOCHSFB_MAX_DAMAGE_RECTS as usize);
        device::flush(&self.file, &rects).map_err(failed(Syscall::Flush, &self.path))?;
        self.drawn.clear();
        Ok(())
    }
    fn wait_vsync(&mut self) -> Result<(), Error> {
        device::wait_vsync(&self.file).map_err(failed(Syscall::WaitVsync, &self.path))
    }
}

#[cfg(test)]
mod tests {
    use super::write_spans;
    use crate::{Damage, Mode, Rect};

    /// 8x6 at 32 bpp with rows padded to 40 bytes.
    const MODE: Mode = Mode {
        width: 8,
        height: 6,
        bpp: 32,
        stride: 40,
    };

    fn spans(rect: Rect) -> Vec<std::ops::Range<usize>> {
        let mut damage = Damage::new();
        damage.add(rect);
        write_spans(&damage, MODE)
    }

    #[test]
    fn a_narrow_rectangle_goes_out_row_by_row() {
        // Columns 1..3 are bytes 4..12 of each row; rows 1, 2 and 3 start at 40, 80, 120.
        assert_eq!(spans(Rect::new(1, 1, 2, 3)), [44..52, 84..92, 124..132]);
    }

    #[test]
    fn a_rectangle_half_a_row_wide_goes_out_in_one_write() {
        // Columns 2..6 of rows 2..4: from byte 2 * 40 + 8 to the end of column 5 in row 3.
        assert_eq!(spans(Rect::new(2, 2, 4, 2)), vec![(88..144)]);
        assert_eq!(spans(Rect::new(0, 0, 8, 6)), vec![(0..5 * 40 + 32)]);
    }

    #[test]
    fn no_damage_writes_nothing() {
        assert!(write_spans(&Damage::new(), MODE).is_empty());
    }
}
