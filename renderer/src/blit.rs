//! What [`Surface::blit`](crate::Surface::blit) draws from, and the row loops it draws with:
//! scaling (byte shuffles or gathers by a column table) and alpha blending, over whole rows.

use embedded_graphics::pixelcolor::raw::RawU24;
use embedded_graphics::pixelcolor::{IntoStorage, Rgb888};
use embedded_graphics::prelude::{Point, Size};
use embedded_graphics::primitives::Rectangle;
use image::{RgbImage, RgbaImage};

use crate::simd::{self, vectorized};

/// An image the surface can blit: RGB (opaque) or RGBA (alpha-blended).
pub trait BlitSource {
    /// Whether every pixel is opaque (the destination need not be read).
    const OPAQUE: bool;
    /// Width and height in pixels.
    fn dimensions(&self) -> (u32, u32);
    /// The colour and alpha at `(x, y)`, inside the image.
    fn rgba(&self, x: u32, y: u32) -> (Rgb888, u8);
    /// Row `y` as R, G, B bytes per pixel, for images stored that way: blits then encode
    /// whole rows without a colour per pixel in between.
    fn rgb_row(&self, _y: u32) -> Option<&[u8]> {
        None
    }
    /// Row `y` as R, G, B, A bytes per pixel (straight, not premultiplied alpha), for images
    /// stored that way: blits then blend whole rows.
    fn rgba_row(&self, _y: u32) -> Option<&[u8]> {
        None
    }
}

impl BlitSource for RgbImage {
    const OPAQUE: bool = true;
    fn dimensions(&self) -> (u32, u32) {
        image::ImageBuffer::dimensions(self)
    }
    fn rgb_row(&self, y: u32) -> Option<&[u8]> {
        let row = self.width() as usize * 3;
        self.as_raw().get(y as usize * row..(y as usize + 1) * row)
    }
    #[inline]
    fn rgba(&self, x: u32, y: u32) -> (Rgb888, u8) {
        let at = (y as usize * self.width() as usize + x as usize) * 3;
        let p = &self.as_raw()[at..at + 3];
        (Rgb888::new(p[0], p[1], p[2]), 255)
    }
}

impl BlitSource for RgbaImage {
    const OPAQUE: bool = false;
    fn dimensions(&self) -> (u32, u32) {
        image::ImageBuffer::dimensions(self)
    }
    fn rgba_row(&self, y: u32) -> Option<&[u8]> {
        let row = self.width() as usize * 4;
        self.as_raw().get(y as usize * row..(y as usize + 1) * row)
    }
    #[inline]
    fn rgba(&self, x: u32, y: u32) -> (Rgb888, u8) {
        let at = (y as usize * self.width() as usize + x as usize) * 4;
        let p = &self.as_raw()[at..at + 4];
        (Rgb888::new(p[0], p[1], p[2]), p[3])
    }
}

/// The largest rectangle with `image`'s aspect ratio that fits `area`,
/// centred in it: where [`Surface::blit_scaled`](crate::Surface::blit_scaled) puts an image
/// "scaled to fit".
pub fn fit(image: (u32, u32), area: &Rectangle) -> Rectangle {
    let (iw, ih) = (u64::from(image.0.max(1)), u64::from(image.1.max(1)));
    let (aw, ah) = (u64::from(area.size.width), u64::from(area.size.height));
    let (w, h) = if aw * ih <= ah * iw {
        (aw, aw * ih / iw)
    } else {
        (ah * iw / ih, ah)
    };
    let x = area.top_left.x + ((aw - w) / 2) as i32;
    let y = area.top_left.y + ((ah - h) / 2) as i32;
    Rectangle::new(Point::new(x, y), Size::new(w as u32, h as u32))
}

/// The R, G, B, A pixel `rgba` (its bytes as a little-endian `u32`) over the colour `dst`
/// (`0x00RRGGBB`, as XRGB8888 and embedded-graphics store it), each channel
/// `(src * a + dst * (255 - a)) / 255` rounded to nearest. Red and blue share one `u32` as two
/// 16-bit lanes (`255 * 255 + 127` fits in 16 bits), so a pixel is a few word operations and
/// the compiler blends eight pixels per AVX2 step.
#[inline(always)]
pub(crate) fn blend_word(rgba: u32, dst: u32) -> u32 {
    /// `x / 255` in each 16-bit lane, exact for lanes up to 65534.
    #[inline(always)]
    fn div255(x: u32) -> u32 {
        ((x + 0x0001_0001 + ((x >> 8) & 0x00ff_00ff)) >> 8) & 0x00ff_00ff
    }
    let (a, keep) = (rgba >> 24, 255 - (rgba >> 24));
    // The source has red in the low lane and blue in the high one; the destination the other
    // way round: swapping its lanes lines them up.
    let red_blue =
        (rgba & 0x00ff_00ff) * a + (dst & 0x00ff_00ff).rotate_left(16) * keep + 0x007f_007f;
    let green = ((rgba >> 8) & 0xff) * a + ((dst >> 8) & 0xff) * keep + 127;
    div255(red_blue).rotate_left(16) | (div255(green) << 8)
}

/// `dst[i] = src[columns[i]]` for pixels of `bpp` bytes: a scaled row, from a column table
/// built once per blit, where [`RowShuffle`] has none.
pub(crate) fn gather(bpp: usize, src: &[u8], columns: &[u32], dst: &mut [u8]) {
    fn pixels<const BPP: usize>(src: &[u8], columns: &[u32], dst: &mut [u8]) {
        for (px, &c) in dst.chunks_exact_mut(BPP).zip(columns) {
            let at = c as usize * BPP;
            px.copy_from_slice(&src[at..at + BPP]);
        }
    }
    match bpp {
        1 => pixels::<1>(src, columns, dst),
        2 => pixels::<2>(src, columns, dst),
        3 => pixels::<3>(src, columns, dst),
        _ => pixels::<4>(src, columns, dst),
    }
}

/// A scaled row as byte shuffles: for each 16 bytes of the destination row, the 16 source
/// bytes they come from and which of them goes where. Built once per blit from the column
/// table, it scales a row with one `pshufb` per 16 bytes (4 to 16 pixels; two per instruction
/// with AVX2) instead of a load and a store per pixel.
pub(crate) struct RowShuffle {
    /// Per 16 destination bytes (the last block may be shorter): the first source byte of
    /// their window, and the window byte each of them takes.
    froms: Vec<usize>,
    masks: Vec<[u8; 16]>,
    /// Bytes of the destination row.
    len: usize,
}

/// Where each byte of a destination pixel comes from in its source pixel: a byte of it, or 0.
pub(crate) type Channels = [Option<u8>];

/// The channels of a pixel copied as they are.
pub(crate) const SAME: [&Channels; 4] = [
    &[Some(0)],
    &[Some(0), Some(1)],
    &[Some(0), Some(1), Some(2)],
    &[Some(0), Some(1), Some(2), Some(3)],
];

impl RowShuffle {
    /// The shuffle that puts source pixel `columns[i]` (of `source_bpp` bytes) at destination
    /// pixel `i`, its bytes taken as `channels` says (one entry per destination byte); `None`
    /// where 16 destination bytes take source bytes more than 16 apart (shrinking a row).
    pub(crate) fn new(
        columns: &[u32],
        source_bpp: usize,
        channels: &Channels,
    ) -> Option<RowShuffle> {
        /// A destination byte that is zero.
        const ZERO: usize = usize::MAX;
        // The source byte of each destination byte, pixel by pixel (no division per byte).
        let sources: Vec<usize> = columns
            .iter()
            .flat_map(|&c| {
                channels
                    .iter()
                    .map(move |ch| ch.map_or(ZERO, |ch| c as usize * source_bpp + usize::from(ch)))
            })
            .collect();
        let (froms, masks) = sources
            .chunks(16)
            .map(|block| {
                let from = block
                    .iter()
                    .copied()
                    .filter(|&b| b != ZERO)
                    .min()
                    .unwrap_or(0);
                // 0x80 makes `pshufb` write a zero.
                let mut mask = [0x80u8; 16];
                for (m, &at) in mask.iter_mut().zip(block) {
                    if at != ZERO {
                        *m = u8::try_from(at - from).ok().filter(|&m| m < 16)?;
                    }
                }
                Some((from, mask))
            })
            .collect::<Option<_>>()?;
        Some(RowShuffle {
            froms,
            masks,
            len: sources.len(),
        })
    }

    /// Writes the scaled row `dst` (the destination's bytes, exactly) from the source row `src`.
    pub(crate) fn apply(&self, src: &[u8], dst: &mut [u8]) {
        assert_eq!(dst.len(), self.len, "a row as long as the column table");
        simd::shuffle_blocks(src, &self.froms, &self.masks, dst);
    }
}

vectorized! {
    /// Blends R, G, B, A pixels over an XRGB8888 row (B, G, R, X) in place.
    pub(crate) fn blend_over_xrgb8888(rgba: &[u8], row: &mut [u8]) {
        for (d, s) in row.chunks_exact_mut(4).zip(rgba.chunks_exact(4)) {
            let word = |b: &[u8]| u32::from_le_bytes(b.try_into().expect("four bytes"));
            let blended = blend_word(word(s), word(d));
            d.copy_from_slice(&blended.to_le_bytes());
        }
    }
}

vectorized! {
    /// Blends R, G, B, A pixels over decoded colours in place.
    pub(crate) fn blend_over_colors(rgba: &[u8], colors: &mut [Rgb888]) {
        for (c, s) in colors.iter_mut().zip(rgba.chunks_exact(4)) {
            let s = u32::from_le_bytes(s.try_into().expect("four bytes"));
            *c = RawU24::new(blend_word(s, c.into_storage())).into();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_graphics::pixelcolor::RgbColor;

    /// Every source channel value and alpha over a spread of destination values, in every
    /// channel position: each channel is the exact blend, rounded to nearest.
    #[test]
    fn blend_word_rounds_every_channel_to_nearest() {
        let channel = |word: u32, shift: u32| (word >> shift) & 0xff;
        for a in 0..=255u32 {
            for s in 0..=255u32 {
                for d in [0u32, 1, 77, 128, 200, 254, 255] {
                    // The value under test in red and blue, its complement in green.
                    let rgba = (a << 24) | (s << 16) | ((255 - s) << 8) | s;
                    let dst = (d << 16) | (d << 8) | (255 - d);
                    let got = blend_word(rgba, dst);
                    // Source red (byte 0) blends into bits 16-23, blue (byte 2) into bits 0-7.
                    for (shift, src, old) in [(0, s, 255 - d), (8, 255 - s, d), (16, s, d)] {
                        let exact = (f64::from(src * a) + f64::from(old * (255 - a))) / 255.0;
                        let got = channel(got, shift);
                        assert!(
                            (f64::from(got) - exact).abs() <= 0.5,
                            "a {a}, src {src} over {old}: {got}, exact {exact}"
                        );
                    }
                    assert_eq!(got >> 24, 0, "no X byte");
                }
            }
        }
        assert_eq!(
            blend_word(0xff_03_02_01, 0x00_aa_bb_cc),
            0x00_01_02_03,
            "opaque: the source"
        );
        assert_eq!(
            blend_word(0x00_03_02_01, 0x00_aa_bb_cc),
            0x00_aa_bb_cc,
            "transparent: the destination"
        );
    }

    #[test]
    fn row_blends_match_the_per_pixel_blend() {
        let rgba: Vec<u8> = (0..40u32)
            .flat_map(|i| {
                [
                    (i * 37) as u8,
                    (i * 91) as u8,
                    (i * 13) as u8,
                    (i * 29) as u8,
                ]
            })
            .collect();
        let mut row: Vec<u8> = (0..160u32).map(|i| (i * 7 + 3) as u8).collect();
        let mut colors: Vec<Rgb888> = row
            .chunks_exact(4)
            .map(|p| Rgb888::new(p[2], p[1], p[0]))
            .collect();
        blend_over_xrgb8888(&rgba, &mut row);
        blend_over_colors(&rgba, &mut colors);
        for (i, (d, c)) in row.chunks_exact(4).zip(&colors).enumerate() {
            assert_eq!(
                [d[2], d[1], d[0], d[3]],
                [c.r(), c.g(), c.b(), 0],
                "pixel {i}"
            );
        }
        // Pixel 1 by the textbook formula: red 37 at alpha 29 over red 45 (byte 6 of the row),
        // 44.09 rounded.
        assert_eq!(colors[1].r(), 44);
    }

    #[test]
    fn fit_keeps_the_aspect_ratio_and_centres() {
        let area = Rectangle::new(Point::new(10, 0), Size::new(400, 300));
        assert_eq!(
            fit((800, 400), &area),
            Rectangle::new(Point::new(10, 50), Size::new(400, 200))
        );
        assert_eq!(
            fit((100, 300), &area),
            Rectangle::new(Point::new(160, 0), Size::new(100, 300))
        );
    }

    /// Scaling up, down and by odd factors, in every pixel size: the shuffle (SSSE3 on this
    /// machine) and its scalar blocks pick what `gather` picks.
    #[test]
    fn row_shuffles_match_the_column_gather() {
        let src: Vec<u8> = (0..400u32).map(|i| (i * 7 + 1) as u8).collect();
        for bpp in 1..=4 {
            let pixels = src.len() / bpp;
            for (from, to) in [
                (7, 7),
                (5, 8),
                (40, 64),
                (64, 40),
                (33, 100),
                (100, 99),
                (90, 61),
                (3, 17),
            ] {
                let columns: Vec<u32> = (0..to).map(|i| (i * from / to) as u32).collect();
                assert!(pixels >= from as usize);
                let mut expected = vec![0u8; to as usize * bpp];
                gather(bpp, &src, &columns, &mut expected);
                let Some(shuffle) = RowShuffle::new(&columns, bpp, SAME[bpp - 1]) else {
                    assert!(
                        from > to,
                        "{from}->{to} at {bpp} bytes: only shrinks lack a shuffle"
                    );
                    continue;
                };
                let mut got = vec![0xa5u8; expected.len()];
                // The source row exactly as long as the pixels it has: no window may read past it.
                shuffle.apply(&src[..from as usize * bpp], &mut got);
                assert_eq!(got, expected, "{from}->{to} at {bpp} bytes");
            }
        }
    }

    /// RGB to B, G, R, X and to B, G, R while scaling: the shuffle reorders and zeroes bytes.
    #[test]
    fn row_shuffles_reorder_channels() {
        let rgb: Vec<u8> = (0..90u32).map(|i| (i * 11 + 5) as u8).collect();
        let columns: Vec<u32> = (0..47).map(|i| i * 30 / 47).collect();
        for channels in [
            &[Some(2), Some(1), Some(0), None][..],
            &[Some(2), Some(1), Some(0)][..],
        ] {
            let bpp = channels.len();
            let shuffle = RowShuffle::new(&columns, 3, channels).expect("scaling up");
            let mut got = vec![0xa5u8; columns.len() * bpp];
            shuffle.apply(&rgb, &mut got);
            for (i, px) in got.chunks_exact(bpp).enumerate() {
                let s = &rgb[columns[i] as usize * 3..][..3];
                assert_eq!(px[..3], [s[2], s[1], s[0]], "pixel {i} of {bpp} bytes");
                if bpp == 4 {
                    assert_eq!(px[3], 0, "pixel {i}: X is 0");
                }
            }
        }
    }

    #[test]
    fn gather_picks_columns() {
        let src = [10u8, 11, 20, 21, 30, 31];
        let mut dst = [0u8; 8];
        gather(2, &src, &[0, 2, 2, 1], &mut dst);
        assert_eq!(dst, [10, 11, 30, 31, 30, 31, 20, 21]);
    }
}
