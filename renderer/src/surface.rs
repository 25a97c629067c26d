use std::convert::Infallible;

use embedded_graphics::pixelcolor::raw::RawU24;
use embedded_graphics::pixelcolor::{IntoStorage, Rgb888, RgbColor};
use embedded_graphics::prelude::{Dimensions, DrawTarget, OriginDimensions, Point, Size};
use embedded_graphics::primitives::Rectangle;
use embedded_graphics::Pixel;
use image::RgbImage;

use crate::blit::{self, BlitSource};
use crate::damage::{Damage, Rect};
use crate::format::RowFill;
use crate::{Error, Mode, PixelFormat};

/// A frame in a byte buffer (VRAM, a shadow or memory) that embedded-graphics
/// can draw on, in any [`PixelFormat`]. Everything outside the visible
/// `width x height` area is clipped, including the row padding up to
/// `stride`. Fills, clears and image blits compose whole rows and copy them,
/// never one call per pixel; every call records the rectangle it changed in
/// the surface's [`Damage`] when it has one.
#[derive(Debug)]
pub struct Surface<'a> {
    buf: &'a mut [u8],
    mode: Mode,
    format: PixelFormat,
    damage: Option<&'a mut Damage>,
    /// One encoded row, reused by fills and blits.
    scratch: Vec<u8>,
    /// One row of colours, reused by blits and [`Surface::paint`].
    colors: Vec<Rgb888>,
    /// One source row encoded in the frame's format, reused by scaled blits.
    encoded: Vec<u8>,
    /// The source column of each destination column of a blit, computed once per blit.
    columns: Vec<u32>,
}

/// A frame's pixels as bytes (see [`Surface::raw`]).
pub struct RawFrame<'s> {
    /// Visible pixels per row.
    pub width: u32,
    /// Visible rows.
    pub height: u32,
    /// Bytes from the start of one row to the next (at least `width` pixels).
    pub stride: usize,
    /// How each pixel is stored (little endian: XRGB8888 is `B, G, R, X` in memory).
    pub format: PixelFormat,
    /// `height` rows of `stride` bytes (the last row may end right after its pixels).
    pub bytes: &'s mut [u8],
}

impl RawFrame<'_> {
    /// The visible bytes of each row, top to bottom (without the padding up to `stride`).
    pub fn rows_mut(&mut self) -> impl Iterator<Item = &mut [u8]> {
        let visible = self.width as usize * self.format.bytes_per_pixel();
        self.bytes
            .chunks_mut(self.stride)
            .take(self.height as usize)
            .map(move |row| &mut row[..visible])
    }
}

/// The visible area of a frame as an RGB image.
pub(crate) fn rgb_image(frame: &[u8], mode: Mode) -> RgbImage {
    let format = mode.format().expect("validated mode");
    let bpp = format.bytes_per_pixel();
    RgbImage::from_fn(mode.width, mode.height, |x, y| {
        let at = mode.stride as usize * y as usize + x as usize * bpp;
        let color = format.decode(&frame[at..at + bpp]);
        image::Rgb([color.r(), color.g(), color.b()])
    })
}

/// How far `inner` starts after `outer`, for `inner >= outer` (no i32 overflow).
fn distance(outer: i32, inner: i32) -> usize {
    (i64::from(inner) - i64::from(outer)) as usize
}

/// Advances `iter` by `n` items.
fn skip<I: Iterator>(iter: &mut I, n: usize) {
    if n > 0 {
        iter.nth(n - 1);
    }
}

impl<'a> Surface<'a> {
    /// A surface over `buf`, which must hold at least `mode.frame_len()`
    /// bytes; it keeps no damage list.
    pub fn new(buf: &'a mut [u8], mode: Mode) -> Result<Self, Error> {
        mode.validate(buf.len())?;
        Ok(Surface::new_validated(buf, mode, None))
    }

    /// A surface that records what each drawing call changes in `damage`.
    pub fn with_damage(
        buf: &'a mut [u8],
        mode: Mode,
        damage: &'a mut Damage,
    ) -> Result<Self, Error> {
        mode.validate(buf.len())?;
        Ok(Surface::new_validated(buf, mode, Some(damage)))
    }

    /// For backends whose buffer was checked with [`Mode::validate`] already.
    pub(crate) fn new_validated(
        buf: &'a mut [u8],
        mode: Mode,
        damage: Option<&'a mut Damage>,
    ) -> Self {
        debug_assert!(mode.validate(buf.len()).is_ok());
        let format = mode.format().expect("validated mode has a format");
        Surface {
            buf,
            mode,
            format,
            damage,
            scratch: Vec::new(),
            colors: Vec::new(),
            encoded: Vec::new(),
            columns: Vec::new(),
        }
    }

    /// The mode this surface draws in.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The pixel format of the frame.
    pub fn format(&self) -> PixelFormat {
        self.format
    }

    /// The colour at `point` as stored, or `None` outside the visible area.
    pub fn pixel(&self, point: Point) -> Option<Rgb888> {
        let at = self.offset(point)?;
        Some(self.format.decode(&self.buf[at..]))
    }

    /// Copies the visible area into an RGB image.
    pub fn to_rgb_image(&self) -> RgbImage {
        rgb_image(self.buf, self.mode)
    }

    /// Records a change of `area`, which is already clipped to the screen.
    fn damaged(&mut self, top_left: Point, size: Size) {
        if let Some(damage) = self.damage.as_deref_mut() {
            damage.add(Rect::new(
                top_left.x as u32,
                top_left.y as u32,
                size.width,
                size.height,
            ));
        }
    }

    /// Marks all of the visible area as changed (after writing to the frame
    /// by other means).
    pub fn damage_all(&mut self) {
        self.damaged(Point::zero(), self.size());
    }

    /// Marks `rect` (clipped to the visible area) as changed, after writing to the frame by
    /// other means, such as [`Surface::raw`].
    pub fn add_damage(&mut self, rect: Rect) {
        let area = Rectangle::new(
            Point::new(
                rect.x.min(i32::MAX as u32) as i32,
                rect.y.min(i32::MAX as u32) as i32,
            ),
            Size::new(rect.width, rect.height),
        );
        if let Some((top_left, size)) = self.clip(&area) {
            self.damaged(top_left, size);
        }
    }

    /// The frame as bytes, for a rasteriser of the caller's own (tiny-skia, a software 3D
    /// renderer): rows `stride` bytes apart, each `width` pixels in `format`. Writing through
    /// it records no damage: say what changed with [`Surface::add_damage`], or present with
    /// [`crate::Backend::present_with_damage`].
    pub fn raw(&mut self) -> RawFrame<'_> {
        RawFrame {
            width: self.mode.width,
            height: self.mode.height,
            stride: self.mode.stride as usize,
            format: self.format,
            bytes: &mut self.buf[..self.mode.frame_len()],
        }
    }

    /// Byte offset of a visible pixel.
    fn offset(&self, point: Point) -> Option<usize> {
        let x = u32::try_from(point.x)
            .ok()
            .filter(|&x| x < self.mode.width)?;
        let y = u32::try_from(point.y)
            .ok()
            .filter(|&y| y < self.mode.height)?;
        Some(self.mode.stride as usize * y as usize + x as usize * self.format.bytes_per_pixel())
    }

    /// The byte range of `width` pixels starting at a visible `(x, y)`.
    fn run(&self, x: i32, y: i32, width: u32) -> std::ops::Range<usize> {
        let start = self.offset(Point::new(x, y)).expect("run starts on screen");
        start..start + width as usize * self.format.bytes_per_pixel()
    }

    /// `area` clipped to the visible area, as (top-left, size); `None` if nothing is visible.
    fn clip(&self, area: &Rectangle) -> Option<(Point, Size)> {
        let visible = area.intersection(&self.bounding_box());
        (!visible.is_zero_sized()).then_some((visible.top_left, visible.size))
    }

    /// Writes the colours of each visible row of `area`, one row at a time:
    /// `paint` gets the screen position of the row's first visible pixel and
    /// the row's visible colours to fill in; each row is then encoded and
    /// copied into the frame at once. The fast path for whole-screen effects.
    pub fn paint(&mut self, area: &Rectangle, mut paint: impl FnMut(Point, &mut [Rgb888])) {
        let Some((top_left, size)) = self.clip(area) else {
            return;
        };
        let mut colors = std::mem::take(&mut self.colors);
        colors.resize(size.width as usize, Rgb888::BLACK);
        for y in top_left.y..top_left.y + size.height as i32 {
            paint(Point::new(top_left.x, y), &mut colors);
            let run = self.run(top_left.x, y, size.width);
            self.format.encode_row(&colors, &mut self.buf[run]);
        }
        self.colors = colors;
        self.damaged(top_left, size);
    }

    /// Draws `image` with its top-left corner at `at`, clipped at the
    /// screen's edges; RGBA images are alpha-blended over what is there.
    pub fn blit<S: BlitSource>(&mut self, image: &S, at: Point) {
        let (w, h) = image.dimensions();
        self.blit_region(image, Rect::new(0, 0, w, h), at);
    }

    /// Draws the part `src` of `image` (clipped to the image) at `at`.
    pub fn blit_region<S: BlitSource>(&mut self, image: &S, src: Rect, at: Point) {
        let (w, h) = image.dimensions();
        let src = Rect::new(
            src.x.min(w),
            src.y.min(h),
            src.width.min(w.saturating_sub(src.x)),
            src.height.min(h.saturating_sub(src.y)),
        );
        let dest = Rectangle::new(at, Size::new(src.width, src.height));
        self.blit_impl(image, src, &dest);
    }

    /// Draws all of `image` scaled (nearest neighbour) to cover `dest`; use
    /// [`fit`](crate::fit) for a `dest` that keeps the aspect ratio.
    pub fn blit_scaled<S: BlitSource>(&mut self, image: &S, dest: &Rectangle) {
        let (w, h) = image.dimensions();
        self.blit_impl(image, Rect::new(0, 0, w, h), dest);
    }

    fn blit_impl<S: BlitSource>(&mut self, image: &S, src: Rect, dest: &Rectangle) {
        if src.is_empty() {
            return;
        }
        let Some((top_left, size)) = self.clip(dest) else {
            return;
        };
        let (dw, dh) = (i64::from(dest.size.width), i64::from(dest.size.height));
        let unscaled = dw == i64::from(src.width) && dh == i64::from(src.height);
        // The source column of each visible column, counted from the first one: computed once
        // per blit, not a division per pixel.
        let mut columns = std::mem::take(&mut self.columns);
        let dx0 = i64::from(top_left.x) - i64::from(dest.top_left.x);
        let column = |i: i64| {
            src.x
                + if unscaled {
                    dx0 + i
                } else {
                    (dx0 + i) * i64::from(src.width) / dw
                } as u32
        };
        let first = column(0);
        columns.clear();
        columns.extend((0..i64::from(size.width)).map(|i| column(i) - first));
        let blit = Blit {
            top_left,
            size,
            unscaled,
            first: first as usize,
            end: (first + columns[columns.len() - 1] + 1) as usize,
            columns: &columns,
            src_y: src.y,
            dest_y: dest.top_left.y,
            rows_ratio: (i64::from(src.height), dh),
        };
        if S::OPAQUE && image.rgb_row(src.y).is_some() {
            self.blit_rgb_rows(image, &blit);
        } else if image.rgba_row(src.y).is_some() {
            self.blit_rgba_rows(image, &blit);
        } else {
            self.blit_pixels(image, &blit);
        }
        self.columns = columns;
        self.damaged(top_left, size);
    }

    /// Opaque images stored as R, G, B rows: whole rows converted.
    fn blit_rgb_rows<S: BlitSource>(&mut self, image: &S, blit: &Blit<'_>) {
        let source = |sy: u32| {
            &image.rgb_row(sy).expect("rows of an RGB image")[blit.first * 3..blit.end * 3]
        };
        if blit.unscaled {
            for (y, sy) in blit.rows() {
                let run = self.run(blit.top_left.x, y, blit.size.width);
                self.format.encode_rgb_row(source(sy), &mut self.buf[run]);
            }
            return;
        }
        // 32 and 24 bpp are the image's bytes reordered: one shuffle scales and converts. The
        // others, and shrinks (which have no shuffle), are encoded first, then scaled.
        let bpp = self.format.bytes_per_pixel();
        let reorder: Option<&blit::Channels> = match self.format {
            PixelFormat::Xrgb8888 => Some(&[Some(2), Some(1), Some(0), None]),
            PixelFormat::Rgb888 => Some(&[Some(2), Some(1), Some(0)]),
            _ => None,
        };
        let from_image =
            reorder.and_then(|channels| blit::RowShuffle::new(blit.columns, 3, channels));
        let from_encoded = if from_image.is_some() {
            None
        } else {
            blit::RowShuffle::new(blit.columns, bpp, blit::SAME[bpp - 1])
        };
        let (mut line, mut encoded) = (
            std::mem::take(&mut self.scratch),
            std::mem::take(&mut self.encoded),
        );
        let mut last_sy = None;
        for (y, sy) in blit.rows() {
            let run = self.run(blit.top_left.x, y, blit.size.width);
            // Each source row is scaled once, into a line that stays in cache, however many
            // rows show it; the frame gets copies of the line (`memcpy`'s stores, which need
            // not read the frame's cache lines first).
            if last_sy != Some(sy) {
                last_sy = Some(sy);
                line.resize(run.len(), 0);
                if let Some(shuffle) = &from_image {
                    shuffle.apply(source(sy), &mut line);
                } else {
                    encoded.resize((blit.end - blit.first) * bpp, 0);
                    self.format.encode_rgb_row(source(sy), &mut encoded);
                    match &from_encoded {
                        Some(shuffle) => shuffle.apply(&encoded, &mut line),
                        None => blit::gather(bpp, &encoded, blit.columns, &mut line),
                    }
                }
            }
            self.buf[run].copy_from_slice(&line);
        }
        (self.scratch, self.encoded) = (line, encoded);
    }

    /// Images stored as R, G, B, A rows: whole rows blended.
    fn blit_rgba_rows<S: BlitSource>(&mut self, image: &S, blit: &Blit<'_>) {
        let source = |sy: u32| {
            &image.rgba_row(sy).expect("rows of an RGBA image")[blit.first * 4..blit.end * 4]
        };
        let shuffle = (!blit.unscaled)
            .then(|| blit::RowShuffle::new(blit.columns, 4, blit::SAME[3]))
            .flatten();
        let (mut line, mut colors) = (
            std::mem::take(&mut self.scratch),
            std::mem::take(&mut self.colors),
        );
        colors.resize(blit.size.width as usize, Rgb888::BLACK);
        let mut last_sy = None;
        for (y, sy) in blit.rows() {
            let run = self.run(blit.top_left.x, y, blit.size.width);
            let rgba = if blit.unscaled {
                source(sy)
            } else {
                if last_sy != Some(sy) {
                    last_sy = Some(sy);
                    line.resize(blit.columns.len() * 4, 0);
                    match &shuffle {
                        Some(shuffle) => shuffle.apply(source(sy), &mut line),
                        None => blit::gather(4, source(sy), blit.columns, &mut line),
                    }
                }
                &line[..]
            };
            if self.format == PixelFormat::Xrgb8888 {
                blit::blend_over_xrgb8888(rgba, &mut self.buf[run]);
            } else {
                self.format.decode_row(&self.buf[run.clone()], &mut colors);
                blit::blend_over_colors(rgba, &mut colors);
                self.format.encode_row(&colors, &mut self.buf[run]);
            }
        }
        (self.scratch, self.colors) = (line, colors);
    }

    /// Any other source, a pixel at a time.
    fn blit_pixels<S: BlitSource>(&mut self, image: &S, blit: &Blit<'_>) {
        let mut colors = std::mem::take(&mut self.colors);
        colors.resize(blit.size.width as usize, Rgb888::BLACK);
        for (y, sy) in blit.rows() {
            let run = self.run(blit.top_left.x, y, blit.size.width);
            if !S::OPAQUE {
                self.format.decode_row(&self.buf[run.clone()], &mut colors);
            }
            for (c, &sx) in colors.iter_mut().zip(blit.columns) {
                let (color, alpha) = image.rgba(blit.first as u32 + sx, sy);
                let rgba = u32::from_le_bytes([color.r(), color.g(), color.b(), alpha]);
                *c = RawU24::new(blit::blend_word(rgba, c.into_storage())).into();
            }
            self.format.encode_row(&colors, &mut self.buf[run]);
        }
        self.colors = colors;
    }
}

/// What a blit draws, worked out once: the visible destination rectangle, and for it the
/// source columns (`columns`, counted from `first`; `first..end` are the source pixels it
/// reads) and rows.
struct Blit<'c> {
    top_left: Point,
    size: Size,
    unscaled: bool,
    first: usize,
    end: usize,
    columns: &'c [u32],
    src_y: u32,
    dest_y: i32,
    /// Source rows per destination rows.
    rows_ratio: (i64, i64),
}

impl Blit<'_> {
    /// Each visible destination row and the source row it shows.
    fn rows(&self) -> impl Iterator<Item = (i32, u32)> + '_ {
        (self.top_left.y..self.top_left.y + self.size.height as i32).map(|y| {
            let dy = i64::from(y) - i64::from(self.dest_y);
            let (sh, dh) = self.rows_ratio;
            (
                y,
                self.src_y + if self.unscaled { dy } else { dy * sh / dh } as u32,
            )
        })
    }
}

/// Reads back what is stored: the frame's format decoded, so a 16 bpp surface gives the colour
/// rounded to 5-6-5 bits. On a device surface this reads video memory.
impl embedded_graphics::image::GetPixel for Surface<'_> {
    type Color = Rgb888;
    fn pixel(&self, point: Point) -> Option<Rgb888> {
        Surface::pixel(self, point)
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
        let bpp = self.format.bytes_per_pixel();
        let (mut min, mut max) = (
            Point::new(i32::MAX, i32::MAX),
            Point::new(i32::MIN, i32::MIN),
        );
        for Pixel(point, color) in pixels {
            if let Some(at) = self.offset(point) {
                self.buf[at..at + bpp].copy_from_slice(&self.format.encode(color)[..bpp]);
                min = min.component_min(point);
                max = max.component_max(point);
            }
        }
        if min.x <= max.x {
            let size = Size::new((max.x - min.x + 1) as u32, (max.y - min.y + 1) as u32);
            self.damaged(min, size);
        }
        Ok(())
    }

    /// Colours come in row-major order over all of `area`; the ones that fall
    /// off-screen are consumed and dropped so the rest stay in step. Each row
    /// is encoded into a scratch row and copied into the frame at once.
    fn fill_contiguous<I>(&mut self, area: &Rectangle, colors: I) -> Result<(), Self::Error>
    where
        I: IntoIterator<Item = Self::Color>,
    {
        let Some((top_left, size)) = self.clip(area) else {
            return Ok(());
        };
        let bpp = self.format.bytes_per_pixel();
        let area_width = area.size.width as usize;
        let skip_left = distance(area.top_left.x, top_left.x);
        let skip_right = area_width - skip_left - size.width as usize;
        let mut colors = colors.into_iter();
        skip(
            &mut colors,
            distance(area.top_left.y, top_left.y) * area_width,
        );
        let mut row = std::mem::take(&mut self.colors);
        for y in top_left.y..top_left.y + size.height as i32 {
            skip(&mut colors, skip_left);
            // Only the pixels that get a colour are written, and the row is never read (a read
            // of VRAM, on device surfaces).
            row.clear();
            row.extend(colors.by_ref().take(size.width as usize));
            let start = self.run(top_left.x, y, size.width).start;
            self.format
                .encode_row(&row, &mut self.buf[start..start + row.len() * bpp]);
            if row.len() < size.width as usize {
                break;
            }
            skip(&mut colors, skip_right);
        }
        self.colors = row;
        self.damaged(top_left, size);
        Ok(())
    }

    fn fill_solid(&mut self, area: &Rectangle, color: Self::Color) -> Result<(), Self::Error> {
        let Some((top_left, size)) = self.clip(area) else {
            return Ok(());
        };
        let row_bytes = size.width as usize * self.format.bytes_per_pixel();
        if row_bytes == self.mode.stride as usize {
            // Whole rows without padding: one run over all of them.
            let start = self.run(top_left.x, top_left.y, size.width).start;
            let end = start + row_bytes * size.height as usize;
            RowFill::new(self.format, color, end - start).fill(&mut self.buf[start..end]);
        } else {
            let fill = RowFill::new(self.format, color, row_bytes);
            for y in top_left.y..top_left.y + size.height as i32 {
                let run = self.run(top_left.x, y, size.width);
                fill.fill(&mut self.buf[run]);
            }
        }
        self.damaged(top_left, size);
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
    use image::RgbaImage;

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
    fn fill_solid_of_whole_packed_rows_stays_in_them() {
        // No row padding: full-width fills take the one-run path.
        for format in [
            PixelFormat::Xrgb8888,
            PixelFormat::Rgb888,
            PixelFormat::Rgb565,
            PixelFormat::Rgb332,
        ] {
            let mode = Mode::packed(4, 3, format);
            let mut buf = vec![UNTOUCHED; mode.frame_len()];
            let mut surface = Surface::new(&mut buf, mode).unwrap();
            surface
                .fill_solid(&Rectangle::new(Point::new(-5, 1), Size::new(20, 1)), RED)
                .unwrap();
            let red = format.encode(RED);
            let row = mode.stride as usize;
            assert!(
                buf[..row].iter().all(|&b| b == UNTOUCHED),
                "{format}: row 0"
            );
            assert!(
                buf[2 * row..].iter().all(|&b| b == UNTOUCHED),
                "{format}: row 2"
            );
            for px in buf[row..2 * row].chunks_exact(format.bytes_per_pixel()) {
                assert_eq!(px, &red[..format.bytes_per_pixel()], "{format}: row 1");
            }
        }
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
    fn get_pixel_reads_back_the_stored_colour_rounded_to_the_format() {
        use embedded_graphics::image::GetPixel;
        let mut buf = vec![0u8; 16 * 4 * 2];
        let mode = Mode::packed(16, 4, PixelFormat::Rgb565);
        let mut surface = Surface::new(&mut buf, mode).unwrap();
        surface
            .fill_solid(
                &Rectangle::new(Point::new(2, 1), Size::new(1, 1)),
                Rgb888::new(200, 100, 50),
            )
            .unwrap();
        // 200 -> 25 of 31 -> 206; 100 -> 25 of 63 -> 101; 50 -> 6 of 31 -> 49 (bits replicated).
        assert_eq!(
            GetPixel::pixel(&surface, Point::new(2, 1)),
            Some(Rgb888::new(206, 101, 49))
        );
        assert_eq!(
            GetPixel::pixel(&surface, Point::new(3, 1)),
            Some(Rgb888::BLACK)
        );
        assert_eq!(GetPixel::pixel(&surface, Point::new(16, 0)), None);
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
        let rgb555 = Mode { bpp: 15, ..MODE };
        assert!(matches!(
            Surface::new(&mut buf, rgb555),
            Err(Error::UnsupportedBpp { bpp: 15 })
        ));
    }

    #[test]
    fn every_format_fills_clips_and_reads_back() {
        for format in [
            PixelFormat::Xrgb8888,
            PixelFormat::Rgb888,
            PixelFormat::Rgb565,
            PixelFormat::Rgb332,
        ] {
            let mode = Mode {
                stride: 8 * format.bytes_per_pixel() as u32 + 5,
                ..Mode::packed(8, 6, format)
            };
            let mut buf = vec![UNTOUCHED; mode.frame_len()];
            let mut surface = Surface::new(&mut buf, mode).unwrap();
            let color = Rgb888::new(200, 100, 50);
            surface
                .fill_solid(&Rectangle::new(Point::new(-2, 4), Size::new(4, 9)), color)
                .unwrap();
            for y in 0..6 {
                for x in 0..8 {
                    let expected = (x < 2 && y >= 4).then(|| format.quantize(color));
                    let got = surface.pixel(Point::new(x, y));
                    if let Some(e) = expected {
                        assert_eq!(got, Some(e), "{format} ({x},{y})");
                    } else {
                        assert_ne!(got, Some(format.quantize(color)), "{format} ({x},{y})");
                    }
                }
            }
            // Row padding is never written.
            for y in 0..6 {
                let pad = &buf[y * mode.stride as usize + 8 * format.bytes_per_pixel()
                    ..(y + 1) * mode.stride as usize];
                assert!(
                    pad.iter().all(|&b| b == UNTOUCHED),
                    "{format} row {y} padding"
                );
            }
        }
    }

    #[test]
    fn drawing_records_the_clipped_damage() {
        let mut buf = frame();
        let mut damage = Damage::new();
        let mut surface = Surface::with_damage(&mut buf, MODE, &mut damage).unwrap();
        surface
            .fill_solid(&Rectangle::new(Point::new(-2, -1), Size::new(5, 3)), RED)
            .unwrap();
        surface
            .draw_iter([
                Pixel(Point::new(7, 5), RED),
                Pixel(Point::new(6, 4), RED),
                Pixel(Point::new(50, 50), RED),
            ])
            .unwrap();
        assert_eq!(
            damage.rects(),
            &[Rect::new(0, 0, 3, 2), Rect::new(6, 4, 2, 2)]
        );
    }

    #[test]
    fn blits_convert_blend_clip_and_scale() {
        let mut buf = frame();
        let mut surface = Surface::new(&mut buf, MODE).unwrap();
        surface.clear(Rgb888::new(0, 0, 200)).unwrap();
        // A 3x2 RGB image at (6, 5): only its top-left 2x1 is visible.
        let rgb = RgbImage::from_fn(3, 2, |x, y| image::Rgb([x as u8 * 10, y as u8 * 10, 7]));
        surface.blit(&rgb, Point::new(6, 5));
        assert_eq!(surface.pixel(Point::new(6, 5)), Some(Rgb888::new(0, 0, 7)));
        assert_eq!(surface.pixel(Point::new(7, 5)), Some(Rgb888::new(10, 0, 7)));
        // Clipped on the left: the visible part starts at the image's second column.
        surface.blit(&rgb, Point::new(-1, 3));
        assert_eq!(surface.pixel(Point::new(0, 3)), Some(Rgb888::new(10, 0, 7)));
        assert_eq!(
            surface.pixel(Point::new(1, 4)),
            Some(Rgb888::new(20, 10, 7))
        );
        // RGBA: opaque, transparent and half-transparent pixels.
        let rgba =
            RgbaImage::from_raw(3, 1, vec![255, 0, 0, 255, 255, 0, 0, 0, 255, 0, 0, 128]).unwrap();
        surface.blit(&rgba, Point::new(-1, 0));
        assert_eq!(
            surface.pixel(Point::new(0, 0)),
            Some(Rgb888::new(0, 0, 200))
        );
        assert_eq!(
            surface.pixel(Point::new(1, 0)),
            Some(Rgb888::new(128, 0, 100))
        );
        // Scaled 2x by nearest neighbour.
        let dot = RgbImage::from_fn(2, 2, |x, y| {
            image::Rgb([(x * 100) as u8, (y * 100) as u8, 1])
        });
        surface.blit_scaled(&dot, &Rectangle::new(Point::new(2, 2), Size::new(4, 4)));
        assert_eq!(surface.pixel(Point::new(3, 3)), Some(Rgb888::new(0, 0, 1)));
        assert_eq!(
            surface.pixel(Point::new(4, 3)),
            Some(Rgb888::new(100, 0, 1))
        );
        assert_eq!(
            surface.pixel(Point::new(5, 5)),
            Some(Rgb888::new(100, 100, 1))
        );
    }

    /// An image seen only through `rgba()`: blits take the pixel-at-a-time path for it.
    struct PerPixel<'i>(&'i RgbaImage);

    impl BlitSource for PerPixel<'_> {
        const OPAQUE: bool = false;
        fn dimensions(&self) -> (u32, u32) {
            self.0.dimensions()
        }
        fn rgba(&self, x: u32, y: u32) -> (Rgb888, u8) {
            let p = self.0.get_pixel(x, y).0;
            (Rgb888::new(p[0], p[1], p[2]), p[3])
        }
    }

    /// Every format, RGB and RGBA, unscaled and scaled, clipped on two sides: each pixel is
    /// worked out without the surface (nearest source pixel by `floor(d * source / dest)`,
    /// the blend in floating point, rounded, then stored in the format), and the
    /// pixel-at-a-time path agrees byte for byte.
    #[test]
    fn blits_in_every_format_match_independently_computed_pixels() {
        let rgb = RgbImage::from_fn(7, 5, |x, y| {
            image::Rgb([
                (x * 37 + 3) as u8,
                (y * 51 + 9) as u8,
                (x * y * 11 + 100) as u8,
            ])
        });
        let rgba = RgbaImage::from_fn(7, 5, |x, y| {
            image::Rgba([
                (x * 29) as u8,
                (y * 61) as u8,
                200,
                [0, 255, 1, 128, 254, 77, 200][x as usize],
            ])
        });
        let dests = [
            Rectangle::new(Point::new(-2, 3), Size::new(7, 5)), // unscaled, off the left and bottom
            Rectangle::new(Point::new(-5, -4), Size::new(17, 12)), // scaled up, off every side
            Rectangle::new(Point::new(1, 1), Size::new(4, 3)),  // scaled down
        ];
        for format in [
            PixelFormat::Xrgb8888,
            PixelFormat::Rgb888,
            PixelFormat::Rgb565,
            PixelFormat::Rgb332,
        ] {
            let mode = Mode {
                stride: 12 * format.bytes_per_pixel() as u32 + 3,
                ..Mode::packed(12, 9, format)
            };
            let background = |x: i32, y: i32| Rgb888::new((x * 20) as u8, (y * 25) as u8, 90);
            for dest in dests {
                let mut buf = vec![UNTOUCHED; mode.frame_len()];
                let mut surface = Surface::new(&mut buf, mode).unwrap();
                let all = Rectangle::new(Point::zero(), Size::new(12, 9));
                surface
                    .fill_contiguous(&all, all.points().map(|p| background(p.x, p.y)))
                    .unwrap();
                let before: Vec<Rgb888> = all.points().map(|p| surface.pixel(p).unwrap()).collect();
                surface.blit_scaled(&rgb, &dest);
                let after_rgb: Vec<Rgb888> =
                    all.points().map(|p| surface.pixel(p).unwrap()).collect();
                surface.blit_scaled(&rgba, &dest);
                for (i, p) in all.points().enumerate() {
                    let (dx, dy) = (p.x - dest.top_left.x, p.y - dest.top_left.y);
                    let inside = (0..dest.size.width as i32).contains(&dx)
                        && (0..dest.size.height as i32).contains(&dy);
                    let (sx, sy) = (
                        dx.max(0) as u32 * 7 / dest.size.width,
                        dy.max(0) as u32 * 5 / dest.size.height,
                    );
                    let expected_rgb = if inside {
                        let c = rgb.get_pixel(sx, sy).0;
                        format.quantize(Rgb888::new(c[0], c[1], c[2]))
                    } else {
                        before[i]
                    };
                    assert_eq!(
                        after_rgb[i], expected_rgb,
                        "{format} RGB onto {dest:?} at {p:?}"
                    );
                    let expected = if inside {
                        let s = rgba.get_pixel(sx, sy).0;
                        let a = f64::from(s[3]) / 255.0;
                        let d = expected_rgb;
                        let mix = |s: u8, d: u8| {
                            (f64::from(s) * a + f64::from(d) * (1.0 - a)).round() as u8
                        };
                        format.quantize(Rgb888::new(
                            mix(s[0], d.r()),
                            mix(s[1], d.g()),
                            mix(s[2], d.b()),
                        ))
                    } else {
                        before[i]
                    };
                    assert_eq!(
                        surface.pixel(p),
                        Some(expected),
                        "{format} RGBA onto {dest:?} at {p:?}"
                    );
                }
                // The pixel-at-a-time path draws the same bytes.
                let mut other = vec![UNTOUCHED; mode.frame_len()];
                let mut surface = Surface::new(&mut other, mode).unwrap();
                surface
                    .fill_contiguous(&all, all.points().map(|p| background(p.x, p.y)))
                    .unwrap();
                surface.blit_scaled(&rgb, &dest);
                surface.blit_scaled(&PerPixel(&rgba), &dest);
                assert_eq!(other, buf, "{format} onto {dest:?}: per-pixel path");
                for y in 0..9 {
                    let pad = &buf[y * mode.stride as usize + 12 * format.bytes_per_pixel()..][..3];
                    assert!(
                        pad.iter().all(|&b| b == UNTOUCHED),
                        "{format} row {y} padding"
                    );
                }
            }
        }
    }

    #[test]
    fn scaled_blits_pick_the_nearest_source_pixel_even_when_clipped() {
        let mut buf = frame();
        let mut surface = Surface::new(&mut buf, MODE).unwrap();
        let image = RgbImage::from_fn(3, 2, |x, y| {
            image::Rgb([x as u8 * 50 + 1, y as u8 * 50 + 1, 3])
        });
        // 3x2 stretched to 7x5, starting off the left edge: columns 0..=2 of the destination
        // are clipped, so the first visible column is destination column 3.
        let dest = Rectangle::new(Point::new(-3, 1), Size::new(7, 5));
        let beside = surface.pixel(Point::new(4, 1));
        surface.blit_scaled(&image, &dest);
        for y in 1..6 {
            for x in 0..4 {
                let (dx, dy) = ((x + 3) as u32, (y - 1) as u32);
                // Nearest neighbour, worked out without the surface: floor(d * source / dest).
                let expected = image.get_pixel(dx * 3 / 7, dy * 2 / 5).0;
                let expected = Rgb888::new(expected[0], expected[1], expected[2]);
                assert_eq!(
                    surface.pixel(Point::new(x, y)),
                    Some(expected),
                    "({x}, {y})"
                );
            }
        }
        assert_eq!(
            surface.pixel(Point::new(4, 1)),
            beside,
            "right of the image: untouched"
        );
    }

    #[test]
    fn paint_fills_rows_in_order() {
        let mut buf = frame();
        let mut surface = Surface::new(&mut buf, MODE).unwrap();
        surface.paint(
            &Rectangle::new(Point::new(6, -1), Size::new(4, 3)),
            |at, row| {
                for (i, c) in row.iter_mut().enumerate() {
                    *c = Rgb888::new(at.x as u8 + i as u8, at.y as u8, 9);
                }
            },
        );
        assert_eq!(surface.pixel(Point::new(7, 1)), Some(Rgb888::new(7, 1, 9)));
        assert_eq!(surface.pixel(Point::new(6, 0)), Some(Rgb888::new(6, 0, 9)));
        assert_eq!(
            surface.pixel(Point::new(5, 0)),
            Some(Rgb888::new(0xAA, 0xAA, 0xAA))
        );
    }
}
