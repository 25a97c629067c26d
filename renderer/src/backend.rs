//! Where a frame lives and how it reaches the screen.
//!
//! - [`MmapBackend`] draws straight into mapped VRAM.
//! - [`WriteBackend`] draws into memory and copies the frame with `lseek` + `write`.
//! - [`MemoryBackend`] only draws into memory (tests, PNG output).

use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use image::{ImageFormat, RgbImage};

use crate::sys::Mapping;
use crate::{abi, Error, Mode, Surface, Syscall};

/// A frame to draw on and a way to show it.
pub trait Backend {
    /// The mode of the frame.
    fn mode(&self) -> Mode;
    /// The frame to draw on.
    fn surface(&mut self) -> Surface<'_>;
    /// Makes what was drawn visible.
    fn present(&mut self) -> Result<(), Error>;
}

/// Turns an `io::Error` of `syscall` on `path` into an [`Error`].
fn failed(syscall: Syscall, path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |source| Error::Syscall {
        syscall,
        path: path.to_owned(),
        source,
    }
}

/// Opens the device read/write and reads a mode this crate can draw.
fn open_device(path: &Path) -> Result<(File, Mode), Error> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(failed(Syscall::Open, path))?;
    let raw = abi::get_mode(&file).map_err(failed(Syscall::GetMode, path))?;
    let mode = Mode::from(raw);
    mode.validate(usize::try_from(raw.fb_size).unwrap_or(usize::MAX))?;
    Ok((file, mode))
}

/// Draws directly into VRAM through a shared mapping of the device.
#[derive(Debug)]
pub struct MmapBackend {
    vram: Mapping,
    mode: Mode,
}

impl MmapBackend {
    /// Opens `path` and maps `stride * height` bytes of its VRAM.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let (file, mode) = open_device(path)?;
        // The mapping stays valid after `file` is closed.
        let vram = Mapping::new(&file, mode.frame_len()).map_err(failed(Syscall::Mmap, path))?;
        Ok(MmapBackend { vram, mode })
    }
}

impl Backend for MmapBackend {
    fn mode(&self) -> Mode {
        self.mode
    }

    fn surface(&mut self) -> Surface<'_> {
        Surface::new_validated(self.vram.as_mut_slice(), self.mode)
    }

    /// Nothing to do: every pixel was stored in VRAM as it was drawn.
    fn present(&mut self) -> Result<(), Error> {
        Ok(())
    }
}

/// Draws into memory and writes the frame to the device (`lseek` + `write`).
#[derive(Debug)]
pub struct WriteBackend {
    file: File,
    path: PathBuf,
    frame: Vec<u8>,
    mode: Mode,
}

impl WriteBackend {
    /// Opens `path` and allocates a `stride * height` byte frame.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let (file, mode) = open_device(path)?;
        let frame = vec![0; mode.frame_len()];
        Ok(WriteBackend {
            file,
            path: path.to_owned(),
            frame,
            mode,
        })
    }
}

impl Backend for WriteBackend {
    fn mode(&self) -> Mode {
        self.mode
    }

    fn surface(&mut self) -> Surface<'_> {
        Surface::new_validated(&mut self.frame, self.mode)
    }

    /// `lseek(fd, 0, SEEK_SET)`, then `write(2)` until the whole frame is out.
    fn present(&mut self) -> Result<(), Error> {
        self.file
            .seek(SeekFrom::Start(0))
            .map_err(failed(Syscall::Lseek, &self.path))?;
        // write_all is the write(2) loop: it resumes after short writes and EINTR.
        self.file
            .write_all(&self.frame)
            .map_err(failed(Syscall::Write, &self.path))
    }
}

/// A frame in plain memory, for tests and PNG output.
#[derive(Debug, Clone)]
pub struct MemoryBackend {
    frame: Vec<u8>,
    mode: Mode,
}

impl MemoryBackend {
    /// A black frame in `mode`.
    pub fn new(mode: Mode) -> Result<Self, Error> {
        mode.validate(mode.frame_len())?;
        Ok(MemoryBackend {
            frame: vec![0; mode.frame_len()],
            mode,
        })
    }

    /// The raw frame: `stride * height` bytes of XRGB8888.
    pub fn frame(&self) -> &[u8] {
        &self.frame
    }

    /// The visible area as an RGB image.
    pub fn to_rgb_image(&self) -> RgbImage {
        crate::surface::rgb_image(&self.frame, self.mode)
    }

    /// Saves the visible area as a PNG file.
    pub fn save_png(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        let path = path.as_ref();
        self.to_rgb_image()
            .save_with_format(path, ImageFormat::Png)
            .map_err(|source| Error::Png {
                path: path.to_owned(),
                source,
            })
    }
}

impl Backend for MemoryBackend {
    fn mode(&self) -> Mode {
        self.mode
    }

    fn surface(&mut self) -> Surface<'_> {
        Surface::new_validated(&mut self.frame, self.mode)
    }

    /// Nothing to do: the frame is only kept in memory.
    fn present(&mut self) -> Result<(), Error> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_graphics::pixelcolor::Rgb888;
    use embedded_graphics::prelude::{DrawTarget, Point, Size};
    use embedded_graphics::primitives::Rectangle;

    #[test]
    fn memory_backend_converts_to_an_rgb_image() {
        let mut memory = MemoryBackend::new(Mode::xrgb8888(3, 2)).unwrap();
        let mut surface = memory.surface();
        surface.clear(Rgb888::new(1, 2, 3)).unwrap();
        surface
            .fill_solid(
                &Rectangle::new(Point::new(2, 1), Size::new(1, 1)),
                Rgb888::new(200, 100, 50),
            )
            .unwrap();
        memory.present().unwrap();

        assert_eq!(&memory.frame()[..4], &[3, 2, 1, 0]);
        let image = memory.to_rgb_image();
        assert_eq!(image.dimensions(), (3, 2));
        assert_eq!(image.get_pixel(0, 0).0, [1, 2, 3]);
        assert_eq!(image.get_pixel(2, 1).0, [200, 100, 50]);
    }

    #[test]
    fn memory_backend_saves_a_png_that_reads_back() {
        let mut memory = MemoryBackend::new(Mode::xrgb8888(5, 4)).unwrap();
        memory.surface().clear(Rgb888::new(10, 20, 30)).unwrap();
        let path =
            std::env::temp_dir().join(format!("bochsfb-renderer-test-{}.png", std::process::id()));
        memory.save_png(&path).unwrap();
        let decoded = image::open(&path).unwrap().to_rgb8();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(decoded, memory.to_rgb_image());
    }

    #[test]
    fn memory_backend_rejects_other_pixel_formats() {
        let mode = Mode {
            bpp: 24,
            ..Mode::xrgb8888(4, 4)
        };
        assert!(matches!(
            MemoryBackend::new(mode),
            Err(Error::UnsupportedBpp { bpp: 24 })
        ));
    }

    #[test]
    fn syscall_errors_name_the_call_the_path_and_the_os_error() {
        let error = failed(Syscall::Mmap, Path::new("/dev/bochsfb0"))(
            io::Error::from_raw_os_error(libc::EINVAL),
        );
        let message = error.to_string();
        assert!(
            message.starts_with("mmap /dev/bochsfb0: Invalid argument"),
            "{message}"
        );
    }
}
