use std::convert::Infallible;

use embedded_graphics::pixelcolor::{Rgb888, RgbColor};
use embedded_graphics::prelude::{Dimensions, DrawTarget, OriginDimensions, Point, Size};
use embedded_graphics::primitives::Rectangle;
use embedded_graphics::Pixel;
use image::RgbImage;

use crate::mode::BYTES_PER_PIXEL;
use crate::{Error, Mode};

/// An XRGB8888 frame in a byte buffer (VRAM or memory) that
/// embedded-graphics can draw on. Everything outside the visible
/// `width x height` area is clipped, including the row padding up to `stride`.
#[derive(Debug)]
pub struct Surface<'a> {
    buf: &'a mut [u8],
    mode: Mode,
}

/// The bytes of one pixel: `B, G, R, X` (XRGB8888, little endian).
fn encode(color: Rgb888) -> [u8; BYTES_PER_PIXEL] {
    [color.b(), color.g(), color.r(), 0]
}

/// The colour of the pixel whose bytes are `bytes`.
fn decode(bytes: &[u8]) -> Rgb888 {
    Rgb888::new(bytes[2], bytes[1], bytes[0])
}

/// How far `inner` starts after `outer`, for `inner >= outer` (no i32 overflow).
fn distance(outer: i32, inner: i32) -> usize {
    (i64::from(inner) - i64::from(outer)) as usize
}

/// The visible area of an XRGB8888 frame as an RGB image.
pub(crate) fn rgb_image(frame: &[u8], mode: Mode) -> RgbImage {
    RgbImage::from_fn(mode.width, mode.height, |x, y| {
        let at = mode.stride as usize * y as usize + x as usize * BYTES_PER_PIXEL;
        let color = decode(&frame[at..at + BYTES_PER_PIXEL]);
        image::Rgb([color.r(), color.g(), color.b()])
    })
}

/// Advances `iter` by `n` items.
fn skip<I: Iterator>(iter: &mut I, n: usize) {
    if n > 0 {
        iter.nth(n - 1);
    }
}

impl<'a> Surface<'a> {
    /// A surface over `buf`, which must hold at least `mode.frame_len()` bytes.
    pub fn new(buf: &'a mut [u8], mode: Mode) -> Result<Self, Error> {
        mode.validate(buf.len())?;
        Ok(Surface { buf, mode })
    }

    /// For backends whose buffer was checked with [`Mode::validate`] already.
    pub(crate) fn new_validated(buf: &'a mut [u8], mode: Mode) -> Self {
        debug_assert!(mode.validate(buf.len()).is_ok());
        Surface { buf, mode }
    }

    /// The mode this surface draws in.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The colour at `point`, or `None` outside the visible area.
    pub fn pixel(&self, point: Point) -> Option<Rgb888> {
        let at = self.offset(point)?;
        Some(decode(&self.buf[at..at + BYTES_PER_PIXEL]))
    }

    /// Copies the visible area into an RGB image.
    pub fn to_rgb_image(&self) -> RgbImage {
        rgb_image(self.buf, self.mode)
    }

    /// Byte offset of a visible pixel.
    fn offset(&self, point: Point) -> Option<usize> {
        let x = u32::try_from(point.x)
            .ok()
            .filter(|&x| x < self.mode.width)?;
        let y = u32::try_from(point.y)
            .ok()
            .filter(|&y| y < self.mode.height)?;
        Some(self.mode.stride as usize * y as usize + x as usize * BYTES_PER_PIXEL)
    }

    /// The bytes of `width` pixels starting at a visible `(x, y)`.
    fn run_mut(&mut self, x: i32, y: i32, width: u32) -> &mut [u8] {
        let start = self.offset(Point::new(x, y)).expect("run starts on screen");
        &mut self.buf[start..start + width as usize * BYTES_PER_PIXEL]
    }

    /// `area` clipped to the visible area, as (top-left, size); `None` if nothing is visible.
    fn clip(&self, area: &Rectangle) -> Option<(Point, Size)> {
        let visible = area.intersection(&self.bounding_box());
        (!visible.is_zero_sized()).then_some((visible.top_left, visible.size))
    }
}

impl OriginDimensions for Surface<'_> {
    fn size(&self) -> Size {
        Size::new(self.mode.width, self.mode.height)
    }
}

impl DrawTarget for Surface<'_> {
    type Color = Rgb888;
    type Error = Infallible;

    fn draw_iter<I>(&mut self, pixels: I) -> Result<(), Self::Error>
    where
        I: IntoIterator<Item = Pixel<Self::Color>>,
    {
        for Pixel(point, color) in pixels {
            if let Some(at) = self.offset(point) {
                self.buf[at..at + BYTES_PER_PIXEL].copy_from_slice(&encode(color));
            }
        }
        Ok(())
    }

    /// Colours come in row-major order over all of `area`; the ones that fall
    /// off-screen are consumed and dropped so the rest stay in step.
    fn fill_contiguous<I>(&mut self, area: &Rectangle, colors: I) -> Result<(), Self::Error>
    where
        I: IntoIterator<Item = Self::Color>,
    {
        let Some((top_left, size)) = self.clip(area) else {
            return Ok(());
        };
        let area_width = area.size.width as usize;
        let skip_left = distance(area.top_left.x, top_left.x);
        let skip_right = area_width - skip_left - size.width as usize;
        let mut colors = colors.into_iter();
        skip(
            &mut colors,
            distance(area.top_left.y, top_left.y) * area_width,
        );
        for y in top_left.y..top_left.y + size.height as i32 {
            skip(&mut colors, skip_left);
            let run = self.run_mut(top_left.x, y, size.width);
            for (pixel, color) in run.chunks_exact_mut(BYTES_PER_PIXEL).zip(colors.by_ref()) {
                pixel.copy_from_slice(&encode(color));
            }
            skip(&mut colors, skip_right);
        }
        Ok(())
    }

    fn fill_solid(&mut self, area: &Rectangle, color: Self::Color) -> Result<(), Self::Error> {
        let Some((top_left, size)) = self.clip(area) else {
            return Ok(());
        };
        let bytes = encode(color);
        for y in top_left.y..top_left.y + size.height as i32 {
            for pixel in self
                .run_mut(top_left.x, y, size.width)
                .chunks_exact_mut(BYTES_PER_PIXEL)
            {
                pixel.copy_from_slice(&bytes);
            }
        }
        Ok(())
    }

    fn clear(&mut self, color: Self::Color) -> Result<(), Self::Error> {
        self.fill_solid(&self.bounding_box(), color)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_graphics::prelude::PointsIter;

    /// 8x6 visible pixels, with 8 bytes of row padding that must never be touched.
    const MODE: Mode = Mode {
        width: 8,
        height: 6,
        bpp: 32,
        stride: 40,
    };
    const UNTOUCHED: u8 = 0xAA;
    const RED: Rgb888 = Rgb888::new(0xFF, 0x00, 0x00);

    fn frame() -> Vec<u8> {
        vec![UNTOUCHED; MODE.frame_len()]
    }

    /// A colour that differs for every index, so misplaced pixels show.
    fn nth_color(i: usize) -> Rgb888 {
        Rgb888::new(i as u8, (i * 7) as u8, (i * 13) as u8 ^ 0x80)
    }

    /// Asserts the pixels inside `[x0, x1) x [y0, y1)` are `color` and every
    /// other byte of the frame (other pixels, row padding) is untouched.
    fn assert_only_rect(
        buf: &[u8],
        (x0, x1): (usize, usize),
        (y0, y1): (usize, usize),
        color: Rgb888,
    ) {
        for (i, &byte) in buf.iter().enumerate() {
            let (y, x, channel) = (i / 40, (i % 40) / 4, i % 4);
            let expected = if x < 8 && (x0..x1).contains(&x) && (y0..y1).contains(&y) {
                [color.b(), color.g(), color.r(), 0][channel]
            } else {
                UNTOUCHED
            };
            assert_eq!(byte, expected, "byte {i} (x {x}, y {y}, channel {channel})");
        }
    }

    #[test]
    fn pixels_are_stored_as_b_g_r_x() {
        let mut buf = frame();
        let mut surface = Surface::new(&mut buf, MODE).unwrap();
        surface
            .draw_iter([Pixel(Point::new(1, 2), Rgb888::new(0x11, 0x22, 0x33))])
            .unwrap();
        assert_eq!(
            surface.pixel(Point::new(1, 2)),
            Some(Rgb888::new(0x11, 0x22, 0x33))
        );
        assert_eq!(buf[2 * 40 + 4..2 * 40 + 8], [0x33, 0x22, 0x11, 0x00]);
    }

    #[test]
    fn draw_iter_drops_pixels_outside_the_visible_area() {
        let mut buf = frame();
        let mut surface = Surface::new(&mut buf, MODE).unwrap();
        let outside = [
            (-1, 0),
            (0, -1),
            (8, 0),
            (9, 5),
            (0, 6),
            (i32::MIN, i32::MAX),
        ];
        let inside = Pixel(Point::new(7, 5), RED);
        surface
            .draw_iter(
                outside
                    .map(|(x, y)| Pixel(Point::new(x, y), RED))
                    .into_iter()
                    .chain([inside]),
            )
            .unwrap();
        assert_only_rect(&buf, (7, 8), (5, 6), RED);
    }

    #[test]
    fn fill_solid_clips_a_rectangle_partly_off_screen() {
        let mut buf = frame();
        let mut surface = Surface::new(&mut buf, MODE).unwrap();
        surface
            .fill_solid(&Rectangle::new(Point::new(-2, -1), Size::new(5, 3)), RED)
            .unwrap();
        assert_only_rect(&buf, (0, 3), (0, 2), RED);

        let mut buf = frame();
        let mut surface = Surface::new(&mut buf, MODE).unwrap();
        surface
            .fill_solid(&Rectangle::new(Point::new(6, 4), Size::new(100, 100)), RED)
            .unwrap();
        assert_only_rect(&buf, (6, 8), (4, 6), RED);
    }

    #[test]
    fn fill_solid_off_screen_or_empty_draws_nothing() {
        let mut buf = frame();
        let mut surface = Surface::new(&mut buf, MODE).unwrap();
        for (x, y, w, h) in [(8, 0, 3, 3), (-3, 0, 3, 3), (0, 6, 1, 1), (2, 2, 0, 4)] {
            surface
                .fill_solid(&Rectangle::new(Point::new(x, y), Size::new(w, h)), RED)
                .unwrap();
        }
        assert_only_rect(&buf, (0, 0), (0, 0), RED);
    }

    #[test]
    fn clear_fills_the_visible_area_only() {
        let mut buf = frame();
        Surface::new(&mut buf, MODE).unwrap().clear(RED).unwrap();
        assert_only_rect(&buf, (0, 8), (0, 6), RED);
    }

    #[test]
    fn fill_contiguous_matches_draw_iter_also_when_clipped() {
        let areas = [
            (1, 1, 3, 2),     // inside
            (-2, 1, 5, 3),    // off the left
            (6, 0, 4, 2),     // off the right
            (2, -3, 2, 5),    // off the top
            (3, 4, 2, 4),     // off the bottom
            (-3, -2, 14, 10), // larger than the screen
            (9, 9, 2, 2),     // entirely off-screen
        ];
        for (x, y, w, h) in areas {
            let area = Rectangle::new(Point::new(x, y), Size::new(w, h));
            let colors = || (0..).map(nth_color);

            let mut expected = frame();
            let mut surface = Surface::new(&mut expected, MODE).unwrap();
            surface
                .draw_iter(area.points().zip(colors()).map(|(p, c)| Pixel(p, c)))
                .unwrap();

            let mut actual = frame();
            let mut surface = Surface::new(&mut actual, MODE).unwrap();
            surface
                .fill_contiguous(&area, colors().take((w * h) as usize))
                .unwrap();

            assert_eq!(actual, expected, "area {area:?}");
        }
    }

    #[test]
    fn fill_contiguous_stops_when_colours_run_out() {
        let mut buf = frame();
        let mut surface = Surface::new(&mut buf, MODE).unwrap();
        let area = Rectangle::new(Point::new(-1, 0), Size::new(3, 2));
        // Colour 0 is clipped, 1 and 2 land on row 0, and then there are no more.
        surface.fill_contiguous(&area, [RED; 3]).unwrap();
        assert_only_rect(&buf, (0, 2), (0, 1), RED);
    }

    #[test]
    fn new_rejects_buffers_and_formats_it_cannot_draw() {
        let mut short = vec![0; MODE.frame_len() - 1];
        assert!(matches!(
            Surface::new(&mut short, MODE),
            Err(Error::InvalidMode { .. })
        ));
        let mut buf = frame();
        let rgb565 = Mode { bpp: 16, ..MODE };
        assert!(matches!(
            Surface::new(&mut buf, rgb565),
            Err(Error::UnsupportedBpp { bpp: 16 })
        ));
    }
}
