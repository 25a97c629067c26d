//! Pixel formats: how a colour becomes bytes in a frame, and back.

use embedded_graphics::pixelcolor::{IntoStorage, Rgb888, RgbColor};

use crate::simd::{self, vectorized};

/// The pixel formats the renderer draws, each little endian as on x86 and as
/// QEMU's bochs VGA scans them out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PixelFormat {
    /// 32 bpp, bytes `B, G, R, X` (the X byte is written as 0).
    Xrgb8888,
    /// 24 bpp, bytes `B, G, R`.
    Rgb888,
    /// 16 bpp, `rrrrrggg gggbbbbb` stored as a little-endian `u16`.
    Rgb565,
    /// 8 bpp, one byte `rrrgggbb` (RGB332). On palette hardware (bochs 8 bpp)
    /// this is the palette index, so the palette must map RGB332.
    Rgb332,
}

impl PixelFormat {
    /// The format drawn for `bpp` bits per pixel, if the renderer knows one.
    pub const fn from_bpp(bpp: u32) -> Option<PixelFormat> {
        match bpp {
            32 => Some(PixelFormat::Xrgb8888),
            24 => Some(PixelFormat::Rgb888),
            16 => Some(PixelFormat::Rgb565),
            8 => Some(PixelFormat::Rgb332),
            _ => None,
        }
    }

    /// Bits per pixel.
    pub const fn bpp(self) -> u32 {
        self.bytes_per_pixel() as u32 * 8
    }

    /// Bytes per pixel.
    pub const fn bytes_per_pixel(self) -> usize {
        match self {
            PixelFormat::Xrgb8888 => 4,
            PixelFormat::Rgb888 => 3,
            PixelFormat::Rgb565 => 2,
            PixelFormat::Rgb332 => 1,
        }
    }

    /// The bytes of `color` in this format; only the first
    /// [`bytes_per_pixel`](Self::bytes_per_pixel) are meaningful.
    #[inline]
    pub fn encode(self, color: Rgb888) -> [u8; 4] {
        let (r, g, b) = (color.r(), color.g(), color.b());
        match self {
            PixelFormat::Xrgb8888 => [b, g, r, 0],
            PixelFormat::Rgb888 => [b, g, r, 0],
            PixelFormat::Rgb565 => {
                let [lo, hi] = rgb565_bytes(r, g, b);
                [lo, hi, 0, 0]
            }
            PixelFormat::Rgb332 => [rgb332(r, g, b), 0, 0, 0],
        }
    }

    /// The colour stored in `bytes` (at least one pixel long). Narrow
    /// channels are widened by repeating their high bits (5-bit `0x1f`
    /// becomes `0xff`), as QEMU's screendump shows them, so a decoded frame
    /// compares equal to a screenshot of the guest.
    #[inline(always)]
    pub fn decode(self, bytes: &[u8]) -> Rgb888 {
        match self {
            PixelFormat::Xrgb8888 | PixelFormat::Rgb888 => {
                Rgb888::new(bytes[2], bytes[1], bytes[0])
            }
            PixelFormat::Rgb565 => {
                let v = u16::from_le_bytes([bytes[0], bytes[1]]);
                let (r, g, b) = ((v >> 11) as u8, ((v >> 5) & 0x3f) as u8, (v & 0x1f) as u8);
                Rgb888::new(
                    (r << 3) | (r >> 2),
                    (g << 2) | (g >> 4),
                    (b << 3) | (b >> 2),
                )
            }
            PixelFormat::Rgb332 => {
                let v = bytes[0];
                let three = |c: u8| (c << 5) | (c << 2) | (c >> 1);
                Rgb888::new(three(v >> 5), three((v >> 2) & 7), (v & 3) * 0x55)
            }
        }
    }

    /// `color` as this format would store and show it (the lossy round trip).
    pub fn quantize(self, color: Rgb888) -> Rgb888 {
        self.decode(&self.encode(color))
    }

    /// Fills `row` (a whole number of pixels) with `color`, never reading it (it may be
    /// video memory); the crate fills many rows with one `RowFill` instead.
    pub fn fill_row(self, row: &mut [u8], color: Rgb888) {
        RowFill::new(self, color, row.len()).fill(row);
    }

    /// Encodes `rgb` (R, G, B bytes per pixel, as an `image::RgbImage` row holds them) into
    /// `row`, which holds `rgb.len() / 3` pixels: a blit's fast path, without a colour per
    /// pixel in between.
    #[inline]
    pub fn encode_rgb_row(self, rgb: &[u8], row: &mut [u8]) {
        match self {
            PixelFormat::Xrgb8888 => rgb_to_xrgb8888(rgb, row),
            PixelFormat::Rgb888 => rgb_to_rgb888(rgb, row),
            PixelFormat::Rgb565 => rgb_to_rgb565(rgb, row),
            PixelFormat::Rgb332 => rgb_to_rgb332(rgb, row),
        }
    }

    /// Encodes `colors` into `row`, which holds `colors.len()` pixels.
    #[inline]
    pub fn encode_row(self, colors: &[Rgb888], row: &mut [u8]) {
        match self {
            PixelFormat::Xrgb8888 => colors_to_xrgb8888(colors, row),
            PixelFormat::Rgb888 => colors_to_rgb888(colors, row),
            PixelFormat::Rgb565 => colors_to_rgb565(colors, row),
            PixelFormat::Rgb332 => colors_to_rgb332(colors, row),
        }
    }

    /// Decodes `row` into `colors` (as many as both hold), as [`decode`](Self::decode) does
    /// each pixel.
    pub fn decode_row(self, row: &[u8], colors: &mut [Rgb888]) {
        match self {
            PixelFormat::Xrgb8888 => xrgb8888_to_colors(row, colors),
            PixelFormat::Rgb888 => rgb888_to_colors(row, colors),
            PixelFormat::Rgb565 => rgb565_to_colors(row, colors),
            PixelFormat::Rgb332 => rgb332_to_colors(row, colors),
        }
    }
}

// One loop per format with the packing written out: no per-pixel format switch, and whole
// pixels the compiler can vectorise, or byte shuffles (see `simd`). From R, G, B bytes, RGB565
// and RGB332 are packed byte by byte, which vectorises better than building a `u16`.

/// The `pshufb` mask that turns four R, G, B pixels into B, G, R, 0 (0x80: a zero byte).
const RGB_TO_XRGB8888: [u8; 16] = [2, 1, 0, 0x80, 5, 4, 3, 0x80, 8, 7, 6, 0x80, 11, 10, 9, 0x80];

fn rgb_to_xrgb8888(rgb: &[u8], row: &mut [u8]) {
    // Four pixels per shuffle: twelve bytes in, sixteen out; the rest one by one.
    let done = 4 * simd::shuffle_chunks::<12, 16>(rgb, row, RGB_TO_XRGB8888);
    for (px, s) in row[4 * done..]
        .chunks_exact_mut(4)
        .zip(rgb[3 * done..].chunks_exact(3))
    {
        px.copy_from_slice(&[s[2], s[1], s[0], 0]);
    }
}

vectorized! {
    fn rgb_to_rgb888(rgb: &[u8], row: &mut [u8]) {
        for (px, s) in row.chunks_exact_mut(3).zip(rgb.chunks_exact(3)) {
            px.copy_from_slice(&[s[2], s[1], s[0]]);
        }
    }
}

vectorized! {
    fn rgb_to_rgb565(rgb: &[u8], row: &mut [u8]) {
        for (px, s) in row.chunks_exact_mut(2).zip(rgb.chunks_exact(3)) {
            px.copy_from_slice(&rgb565_bytes(s[0], s[1], s[2]));
        }
    }
}

vectorized! {
    fn rgb_to_rgb332(rgb: &[u8], row: &mut [u8]) {
        for (px, s) in row.iter_mut().zip(rgb.chunks_exact(3)) {
            *px = rgb332(s[0], s[1], s[2]);
        }
    }
}

// Colours as embedded-graphics stores them, `0x00RRGGBB` in a `u32`: packing whole words
// vectorises where three byte accessors per pixel do not.
vectorized! {
    fn colors_to_xrgb8888(colors: &[Rgb888], row: &mut [u8]) {
        for (px, &c) in row.chunks_exact_mut(4).zip(colors) {
            px.copy_from_slice(&c.into_storage().to_le_bytes());
        }
    }
}

fn colors_to_rgb888(colors: &[Rgb888], row: &mut [u8]) {
    let done = simd::pack_rgb888(colors, row);
    for (px, &c) in row[3 * done..].chunks_exact_mut(3).zip(&colors[done..]) {
        px.copy_from_slice(&c.into_storage().to_le_bytes()[..3]);
    }
}

vectorized! {
    fn colors_to_rgb565(colors: &[Rgb888], row: &mut [u8]) {
        for (px, &c) in row.chunks_exact_mut(2).zip(colors) {
            let v = c.into_storage();
            let packed = ((v >> 8) & 0xf800) | ((v >> 5) & 0x07e0) | ((v >> 3) & 0x001f);
            px.copy_from_slice(&(packed as u16).to_le_bytes());
        }
    }
}

vectorized! {
    fn colors_to_rgb332(colors: &[Rgb888], row: &mut [u8]) {
        for (px, &c) in row.iter_mut().zip(colors) {
            let v = c.into_storage();
            *px = (((v >> 16) & 0xe0) | ((v >> 11) & 0x1c) | ((v >> 6) & 0x03)) as u8;
        }
    }
}

/// `rrrrrggg gggbbbbb` as little-endian bytes: the top 5, 6 and 5 bits.
#[inline(always)]
fn rgb565_bytes(r: u8, g: u8, b: u8) -> [u8; 2] {
    [((g << 3) & 0xe0) | (b >> 3), (r & 0xf8) | (g >> 5)]
}

/// `rrrgggbb`: the top 3, 3 and 2 bits.
#[inline(always)]
fn rgb332(r: u8, g: u8, b: u8) -> u8 {
    (r & 0xe0) | ((g >> 3) & 0x1c) | (b >> 6)
}

#[inline(always)]
fn decode_row_of<const BPP: usize>(row: &[u8], colors: &mut [Rgb888], format: PixelFormat) {
    for (c, px) in colors.iter_mut().zip(row.chunks_exact(BPP)) {
        *c = format.decode(px);
    }
}

vectorized! {
    fn xrgb8888_to_colors(row: &[u8], colors: &mut [Rgb888]) {
        decode_row_of::<4>(row, colors, PixelFormat::Xrgb8888)
    }
}

vectorized! {
    fn rgb888_to_colors(row: &[u8], colors: &mut [Rgb888]) {
        decode_row_of::<3>(row, colors, PixelFormat::Rgb888)
    }
}

vectorized! {
    fn rgb565_to_colors(row: &[u8], colors: &mut [Rgb888]) {
        decode_row_of::<2>(row, colors, PixelFormat::Rgb565)
    }
}

vectorized! {
    fn rgb332_to_colors(row: &[u8], colors: &mut [Rgb888]) {
        decode_row_of::<1>(row, colors, PixelFormat::Rgb332)
    }
}

/// A colour encoded once to fill rows of up to a given length with, never reading them:
/// `memset` for one-byte pixels, the four-byte `wmemset` for two and four (a pair of two-byte
/// pixels is four bytes), and for three copies of a block of up to 256 pixels built once.
// It lives on the stack for one fill call: boxing the block would allocate per call.
#[allow(clippy::large_enum_variant)]
pub(crate) enum RowFill {
    Byte(u8),
    Word([u8; 4]),
    /// The pixel repeated over the first `len` bytes of `block`.
    Block {
        block: [u8; 768],
        len: usize,
    },
}

impl RowFill {
    /// Ready to fill rows of up to `row_len` bytes with `color` in `format`.
    pub(crate) fn new(format: PixelFormat, color: Rgb888, row_len: usize) -> RowFill {
        let p = format.encode(color);
        match format.bytes_per_pixel() {
            1 => RowFill::Byte(p[0]),
            2 => RowFill::Word([p[0], p[1], p[0], p[1]]),
            3 => {
                // 768 bytes: long copies, and still in L1 (in a trial it beat 192, 3072 and 48 Ki).
                let len = row_len.min(768) / 3 * 3;
                let mut block = [0; 768];
                let mut filled = 3.min(len);
                block[..filled].copy_from_slice(&p[..filled]);
                while filled < len {
                    let n = filled.min(len - filled);
                    block.copy_within(..n, filled);
                    filled += n;
                }
                RowFill::Block { block, len }
            }
            _ => RowFill::Word(p),
        }
    }

    /// Fills `row`, a whole number of pixels.
    pub(crate) fn fill(&self, row: &mut [u8]) {
        match self {
            RowFill::Byte(b) => row.fill(*b),
            RowFill::Word(pattern) => crate::sys::fill_repeating(row, *pattern),
            RowFill::Block { block, len } => {
                let block = &block[..*len];
                if block.is_empty() {
                    return;
                }
                let mut blocks = row.chunks_exact_mut(block.len());
                blocks.by_ref().for_each(|b| b.copy_from_slice(block));
                let rest = blocks.into_remainder();
                let n = rest.len();
                rest.copy_from_slice(&block[..n]);
            }
        }
    }
}

impl std::fmt::Display for PixelFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PixelFormat::Xrgb8888 => "XRGB8888",
            PixelFormat::Rgb888 => "RGB888",
            PixelFormat::Rgb565 => "RGB565",
            PixelFormat::Rgb332 => "RGB332",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [PixelFormat; 4] = [
        PixelFormat::Xrgb8888,
        PixelFormat::Rgb888,
        PixelFormat::Rgb565,
        PixelFormat::Rgb332,
    ];

    #[test]
    fn bytes_in_memory_are_little_endian() {
        let c = Rgb888::new(0x12, 0x34, 0x56);
        assert_eq!(PixelFormat::Xrgb8888.encode(c), [0x56, 0x34, 0x12, 0]);
        assert_eq!(PixelFormat::Rgb888.encode(c)[..3], [0x56, 0x34, 0x12]);
        // r 0x12>>3 = 2, g 0x34>>2 = 13, b 0x56>>3 = 10: 0b00010_001101_01010 = 0x11aa
        assert_eq!(PixelFormat::Rgb565.encode(c)[..2], [0xaa, 0x11]);
        assert_eq!(
            PixelFormat::Rgb332.encode(Rgb888::new(0xff, 0, 0x40))[0],
            0xe1
        );
    }

    #[test]
    fn decode_keeps_the_bits_each_format_stores() {
        let white = Rgb888::new(255, 255, 255);
        assert_eq!(PixelFormat::Rgb565.quantize(white), white);
        assert_eq!(PixelFormat::Rgb332.quantize(white), white);
        // QEMU shows 565 green 0b100000 as 0x80 | 0x02 (seen in a screendump).
        assert_eq!(
            PixelFormat::Rgb565.quantize(Rgb888::new(0, 0x80, 0)),
            Rgb888::new(0, 130, 0)
        );
        for format in ALL {
            for c in [Rgb888::new(0, 0, 0), Rgb888::new(200, 100, 50), white] {
                let q = format.quantize(c);
                assert_eq!(format.quantize(q), q, "{format}: quantizing is idempotent");
            }
        }
    }

    /// Mid-range colours, packed by hand (not by `encode`): RGB565 keeps the top 5/6/5 bits,
    /// RGB332 the top 3/3/2, both with red highest; memory order is little-endian.
    #[test]
    fn encoders_pack_mid_range_colours_as_worked_out_by_hand() {
        let colours = [
            Rgb888::new(0x9c, 0x5a, 0x3c),
            Rgb888::new(0x12, 0xab, 0xef),
            Rgb888::new(0x80, 0x7f, 0x41),
        ];
        let expected: [(PixelFormat, &[u8]); 4] = [
            (
                PixelFormat::Xrgb8888,
                &[
                    0x3c, 0x5a, 0x9c, 0, 0xef, 0xab, 0x12, 0, 0x41, 0x7f, 0x80, 0,
                ],
            ),
            (
                PixelFormat::Rgb888,
                &[0x3c, 0x5a, 0x9c, 0xef, 0xab, 0x12, 0x41, 0x7f, 0x80],
            ),
            // 0x9c,0x5a,0x3c -> 10011 010110 00111 = 0x9ac7; 0x12,0xab,0xef -> 0x155d; 0x80,0x7f,0x41 -> 0x83e8.
            (PixelFormat::Rgb565, &[0xc7, 0x9a, 0x5d, 0x15, 0xe8, 0x83]),
            // 100 010 00 = 0x88; 000 101 11 = 0x17; 100 011 01 = 0x8d.
            (PixelFormat::Rgb332, &[0x88, 0x17, 0x8d]),
        ];
        for (format, bytes) in expected {
            let mut row = vec![0xa5; bytes.len()];
            format.encode_row(&colours, &mut row);
            assert_eq!(row, bytes, "{format} encode_row");
            let bpp = format.bytes_per_pixel();
            for (i, &c) in colours.iter().enumerate() {
                assert_eq!(
                    &format.encode(c)[..bpp],
                    &bytes[i * bpp..][..bpp],
                    "{format} encode"
                );
            }
        }
        // Decoding widens by repeating the top bits: 0x9ac7 -> 0x9c, 0x59, 0x39.
        assert_eq!(
            PixelFormat::Rgb565.decode(&[0xc7, 0x9a]),
            Rgb888::new(0x9c, 0x59, 0x39)
        );
        assert_eq!(
            PixelFormat::Rgb565.decode(&[0x5d, 0x15]),
            Rgb888::new(0x10, 0xaa, 0xef)
        );
    }

    #[test]
    fn fill_row_repeats_the_encoded_pixel() {
        for format in ALL {
            let bpp = format.bytes_per_pixel();
            let mut row = vec![0xaa; bpp * 13];
            let c = Rgb888::new(1, 128, 250);
            format.fill_row(&mut row, c);
            for px in row.chunks_exact(bpp) {
                assert_eq!(px, &format.encode(c)[..bpp], "{format}");
            }
        }
    }

    /// Every start alignment and length, around the aligned middle `wmemset` writes and the
    /// 768-byte blocks of 24 bpp: each pixel is the colour, nothing beside the row is touched.
    #[test]
    fn fill_row_is_exact_at_every_alignment_and_length() {
        let c = Rgb888::new(0x12, 0x9a, 0xf0);
        for format in ALL {
            let bpp = format.bytes_per_pixel();
            let pixel = &format.encode(c)[..bpp];
            for start in 0..8 {
                for pixels in (0..40).chain([255, 256, 257, 600]) {
                    let mut buf = vec![0xa5u8; start + pixels * bpp + 8];
                    format.fill_row(&mut buf[start..start + pixels * bpp], c);
                    assert!(
                        buf[..start].iter().all(|&b| b == 0xa5),
                        "{format} before, at {start}"
                    );
                    assert!(
                        buf[start + pixels * bpp..].iter().all(|&b| b == 0xa5),
                        "{format} after, at {start}"
                    );
                    for (i, px) in buf[start..start + pixels * bpp]
                        .chunks_exact(bpp)
                        .enumerate()
                    {
                        assert_eq!(px, pixel, "{format}: pixel {i} of {pixels} at {start}");
                    }
                }
            }
        }
    }

    /// Rows long enough for every SIMD path (16 and more pixels) and every tail after it.
    #[test]
    fn encode_row_matches_encode_at_every_length() {
        let colors: Vec<Rgb888> = (0..100u32)
            .map(|i| Rgb888::new((i * 37) as u8, (i * 91 + 5) as u8, (i * 13) as u8 ^ 0xa5))
            .collect();
        for format in ALL {
            let bpp = format.bytes_per_pixel();
            for len in [0, 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100] {
                let mut row = vec![0x5au8; len * bpp + 7];
                format.encode_row(&colors[..len], &mut row[..len * bpp]);
                for (i, c) in colors[..len].iter().enumerate() {
                    assert_eq!(
                        &row[i * bpp..][..bpp],
                        &format.encode(*c)[..bpp],
                        "{format}: pixel {i} of {len}"
                    );
                }
                assert!(
                    row[len * bpp..].iter().all(|&b| b == 0x5a),
                    "{format}: past {len} pixels"
                );
            }
        }
    }

    #[test]
    fn decode_row_matches_decode() {
        let bytes: Vec<u8> = (0..64u32).map(|i| (i * 53 + 7) as u8).collect();
        for format in ALL {
            let bpp = format.bytes_per_pixel();
            let mut colors = vec![Rgb888::BLACK; 64 / bpp];
            format.decode_row(&bytes, &mut colors);
            for (i, c) in colors.iter().enumerate() {
                assert_eq!(*c, format.decode(&bytes[i * bpp..]), "{format} pixel {i}");
            }
        }
    }

    #[test]
    fn rgb_rows_encode_as_their_colours_do() {
        // Mid-range and edge values in every channel, in an order that repeats no triple.
        let rgb: Vec<u8> = (0..64u32)
            .flat_map(|i| {
                [
                    (i * 37) as u8,
                    (i * 91 + 5) as u8,
                    255u8.wrapping_sub((i * 13) as u8),
                ]
            })
            .collect();
        let colors: Vec<Rgb888> = rgb
            .chunks_exact(3)
            .map(|s| Rgb888::new(s[0], s[1], s[2]))
            .collect();
        for format in ALL {
            let bpp = format.bytes_per_pixel();
            let (mut fast, mut slow) = (vec![0xaa; 64 * bpp + 1], vec![0xaa; 64 * bpp + 1]);
            format.encode_rgb_row(&rgb, &mut fast[..64 * bpp]);
            format.encode_row(&colors, &mut slow[..64 * bpp]);
            assert_eq!(fast, slow, "{format}");
            assert_eq!(fast[64 * bpp], 0xaa, "{format}: no byte past the row");
        }
    }

    #[test]
    fn from_bpp_round_trips() {
        for format in ALL {
            assert_eq!(PixelFormat::from_bpp(format.bpp()), Some(format));
        }
        assert_eq!(PixelFormat::from_bpp(15), None);
    }
}
