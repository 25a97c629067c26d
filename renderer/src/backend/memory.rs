//! Frames in plain memory: tests, reference images, PNG output.

use std::path::Path;

use image::{ImageFormat, RgbImage};

use crate::backend::{Backend, Presentation};
use crate::{Damage, Error, Mode, Surface};

/// A frame in plain memory, in any pixel format. It remembers the damage of
/// the last presented frame, so tests can check what a device backend would
/// have sent.
///
/// ```
/// # use bochsfb_renderer::backend::{Backend, MemoryBackend};
/// # use bochsfb_renderer::Mode;
/// use embedded_graphics::{pixelcolor::Rgb888, prelude::*};
/// let mut memory = MemoryBackend::new(Mode::xrgb8888(64, 48))?;
/// memory.surface().clear(Rgb888::RED).unwrap();
/// memory.present()?;
/// assert_eq!(memory.to_rgb_image().get_pixel(5, 5).0, [255, 0, 0]);
/// # let path = std::env::temp_dir().join(format!("doc-{}.png", std::process::id()));
/// memory.save_png(&path)?;
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), bochsfb_renderer::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct MemoryBackend {
    frame: Vec<u8>,
    mode: Mode,
    drawn: Damage,
    presented: Damage,
}

impl MemoryBackend {
    /// A black frame in `mode`.
    pub fn new(mode: Mode) -> Result<Self, Error> {
        mode.validate(mode.frame_len())?;
        Ok(MemoryBackend {
            frame: vec![0; mode.frame_len()],
            mode,
            drawn: Damage::new(),
            presented: Damage::new(),
        })
    }

    /// The raw frame: `stride * height` bytes in the mode's pixel format.
    pub fn frame(&self) -> &[u8] {
        &self.frame
    }

    /// The damage of the last presented frame.
    pub fn presented_damage(&self) -> &Damage {
        &self.presented
    }

    /// The visible area as an RGB image (as QEMU would show the format).
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
    fn name(&self) -> &'static str {
        "memory"
    }

    fn mode(&self) -> Mode {
        self.mode
    }

    fn presentation(&self) -> Presentation {
        Presentation::None
    }

    fn surface(&mut self) -> Surface<'_> {
        Surface::new_validated(&mut self.frame, self.mode, Some(&mut self.drawn))
    }

    /// Nothing to show: remembers the frame's damage and starts a new list.
    fn present(&mut self) -> Result<(), Error> {
        self.presented = std::mem::take(&mut self.drawn);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Rect, Syscall};
    use embedded_graphics::pixelcolor::Rgb888;
    use embedded_graphics::prelude::{DrawTarget, Point, Size};
    use embedded_graphics::primitives::Rectangle;
    use std::io;

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
    fn a_raw_frame_drawn_by_hand_presents_the_damage_it_is_given() {
        // 3x2 RGB565 with 2 bytes of padding per row (stride 8).
        let mode = Mode {
            width: 3,
            height: 2,
            bpp: 16,
            stride: 8,
        };
        let mut memory = MemoryBackend::new(mode).unwrap();
        let mut surface = memory.surface();
        let mut raw = surface.raw();
        assert_eq!(
            (raw.width, raw.height, raw.stride, raw.format),
            (3, 2, 8, crate::PixelFormat::Rgb565)
        );
        let mut rows = 0;
        for (y, row) in raw.rows_mut().enumerate() {
            assert_eq!(row.len(), 6, "visible bytes only");
            // Pure red (0xf800) in the second row's last pixel, little endian.
            if y == 1 {
                row[4..6].copy_from_slice(&[0x00, 0xf8]);
            }
            rows += 1;
        }
        assert_eq!(rows, 2);
        drop(surface);
        // A rectangle hanging off the frame is clipped to it.
        memory
            .present_with_damage(&[Rect::new(2, 1, 5, 5)])
            .unwrap();
        assert_eq!(memory.presented_damage().rects(), &[Rect::new(2, 1, 1, 1)]);
        assert_eq!(memory.frame()[8 + 4..8 + 6], [0x00, 0xf8]);
        assert_eq!(memory.to_rgb_image().get_pixel(2, 1).0, [255, 0, 0]);
        // Nothing drawn and nothing given: nothing presented.
        memory.present_with_damage(&[]).unwrap();
        assert!(memory.presented_damage().is_empty());
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
            bpp: 12,
            ..Mode::xrgb8888(4, 4)
        };
        assert!(matches!(
            MemoryBackend::new(mode),
            Err(Error::UnsupportedBpp { bpp: 12 })
        ));
    }

    #[test]
    fn syscall_errors_name_the_call_the_path_and_the_os_error() {
        let error = crate::backend::failed(Syscall::Mmap, Path::new("/dev/bochsfb0"))(
            io::Error::from_raw_os_error(libc::EINVAL),
        );
        let message = error.to_string();
        assert!(
            message.starts_with("mmap /dev/bochsfb0: Invalid argument"),
            "{message}"
        );
    }
}
