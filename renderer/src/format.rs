//! Pixel formats: how a colour becomes bytes in a frame, and back.

use embedded_graphics::pixelcolor::{Rgb888, RgbColor};

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
                let v = (u16::from(r >> 3) << 11) | (u16::from(g >> 2) << 5) | u16::from(b >> 3);
                let [lo, hi] = v.to_le_bytes();
                [lo, hi, 0, 0]
            }
            PixelFormat::Rgb332 => [(r & 0xe0) | ((g >> 3) & 0x1c) | (b >> 6), 0, 0, 0],
        }
    }

    /// The colour stored in `bytes` (at least one pixel long). Narrow
    /// channels are widened by repeating their high bits (5-bit `0x1f`
    /// becomes `0xff`), as QEMU's screendump shows them, so a decoded frame
    /// compares equal to a screenshot of the guest.
    #[inline]
    pub fn decode(self, bytes: &[u8]) -> Rgb888 {
        match self {
            PixelFormat::Xrgb8888 | PixelFormat::Rgb888 => Rgb888::new(bytes[2], bytes[1], bytes[0]),
            PixelFormat::Rgb565 => {
                let v = u16::from_le_bytes([bytes[0], bytes[1]]);
                let (r, g, b) = ((v >> 11) as u8, ((v >> 5) & 0x3f) as u8, (v & 0x1f) as u8);
                Rgb888::new((r << 3) | (r >> 2), (g << 2) | (g >> 4), (b << 3) | (b >> 2))
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

    /// Fills `row` (a whole number of pixels) with `color`: the first pixel
    /// is encoded once, then copied in doubling chunks (no per-pixel calls).
    pub fn fill_row(self, row: &mut [u8], color: Rgb888) {
        let p = self.encode(color);
        // `memset` itself for one byte; fixed-size stores of whole pixels, which the compiler
        // widens, for two and four (every pixel is the same, so a pattern of two pixels fits
        // wherever the row starts); three-byte pixels by doubling what is filled, which beat
        // every store pattern of them measured (benches/pixels.rs).
        match self.bytes_per_pixel() {
            1 => row.fill(p[0]),
            2 => store_pattern(row, [p[0], p[1], p[0], p[1]], 2),
            3 => fill_by_doubling(row, &p[..3]),
            _ => store_pattern(row, [p[0], p[1], p[2], p[3]], 4),
        }
    }

    /// Encodes `rgb` (R, G, B bytes per pixel, as an `image::RgbImage` row holds them) into
    /// `row`, which holds `rgb.len() / 3` pixels: a blit's fast path, without a colour per
    /// pixel in between.
    #[inline]
    pub fn encode_rgb_row(self, rgb: &[u8], row: &mut [u8]) {
        let pixels = rgb.chunks_exact(3);
        match self {
            PixelFormat::Xrgb8888 => {
                for (px, s) in row.chunks_exact_mut(4).zip(pixels) {
                    px.copy_from_slice(&[s[2], s[1], s[0], 0]);
                }
            }
            PixelFormat::Rgb888 => {
                for (px, s) in row.chunks_exact_mut(3).zip(pixels) {
                    px.copy_from_slice(&[s[2], s[1], s[0]]);
                }
            }
            PixelFormat::Rgb565 => {
                for (px, s) in row.chunks_exact_mut(2).zip(pixels) {
                    let v = (u16::from(s[0] >> 3) << 11) | (u16::from(s[1] >> 2) << 5) | u16::from(s[2] >> 3);
                    px.copy_from_slice(&v.to_le_bytes());
                }
            }
            PixelFormat::Rgb332 => {
                for (px, s) in row.iter_mut().zip(pixels) {
                    *px = (s[0] & 0xe0) | ((s[1] >> 3) & 0x1c) | (s[2] >> 6);
                }
            }
        }
    }

    /// Encodes `colors` into `row`, which holds `colors.len()` pixels.
    #[inline]
    pub fn encode_row(self, colors: &[Rgb888], row: &mut [u8]) {
        match self {
            PixelFormat::Xrgb8888 => {
                for (px, &c) in row.chunks_exact_mut(4).zip(colors) {
                    px.copy_from_slice(&[c.b(), c.g(), c.r(), 0]);
                }
            }
            // One loop per format, with the packing written out: no per-pixel format match
            // and fixed-size stores the compiler can vectorise.
            PixelFormat::Rgb888 => {
                for (px, &c) in row.chunks_exact_mut(3).zip(colors) {
                    px.copy_from_slice(&[c.b(), c.g(), c.r()]);
                }
            }
            PixelFormat::Rgb565 => {
                for (px, &c) in row.chunks_exact_mut(2).zip(colors) {
                    let v = (u16::from(c.r() >> 3) << 11) | (u16::from(c.g() >> 2) << 5) | u16::from(c.b() >> 3);
                    px.copy_from_slice(&v.to_le_bytes());
                }
            }
            PixelFormat::Rgb332 => {
                for (px, &c) in row.iter_mut().zip(colors) {
                    *px = (c.r() & 0xe0) | ((c.g() >> 3) & 0x1c) | (c.b() >> 6);
                }
            }
        }
    }
}

/// Fills `row` with `pixel` by copying what is already filled after itself, doubling each time.
fn fill_by_doubling(row: &mut [u8], pixel: &[u8]) {
    if row.len() < pixel.len() {
        return;
    }
    row[..pixel.len()].copy_from_slice(pixel);
    let mut filled = pixel.len();
    while filled < row.len() {
        let n = filled.min(row.len() - filled);
        row.copy_within(..n, filled);
        filled += n;
    }
}

/// Stores `pattern` (a whole number of `bpp`-byte pixels) over `row`, then the pixels left.
#[inline]
fn store_pattern<const N: usize>(row: &mut [u8], pattern: [u8; N], bpp: usize) {
    let mut blocks = row.chunks_exact_mut(N);
    blocks.by_ref().for_each(|block| block.copy_from_slice(&pattern));
    for px in blocks.into_remainder().chunks_exact_mut(bpp) {
        px.copy_from_slice(&pattern[..bpp]);
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
        assert_eq!(PixelFormat::Rgb332.encode(Rgb888::new(0xff, 0, 0x40))[0], 0xe1);
    }

    #[test]
    fn decode_keeps_the_bits_each_format_stores() {
        let white = Rgb888::new(255, 255, 255);
        assert_eq!(PixelFormat::Rgb565.quantize(white), white);
        assert_eq!(PixelFormat::Rgb332.quantize(white), white);
        // QEMU shows 565 green 0b100000 as 0x80 | 0x02 (seen in a screendump).
        assert_eq!(PixelFormat::Rgb565.quantize(Rgb888::new(0, 0x80, 0)), Rgb888::new(0, 130, 0));
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
        let colours = [Rgb888::new(0x9c, 0x5a, 0x3c), Rgb888::new(0x12, 0xab, 0xef), Rgb888::new(0x80, 0x7f, 0x41)];
        let expected: [(PixelFormat, &[u8]); 4] = [
            (PixelFormat::Xrgb8888, &[0x3c, 0x5a, 0x9c, 0, 0xef, 0xab, 0x12, 0, 0x41, 0x7f, 0x80, 0]),
            (PixelFormat::Rgb888, &[0x3c, 0x5a, 0x9c, 0xef, 0xab, 0x12, 0x41, 0x7f, 0x80]),
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
                assert_eq!(&format.encode(c)[..bpp], &bytes[i * bpp..][..bpp], "{format} encode");
            }
        }
        // Decoding widens by repeating the top bits: 0x9ac7 -> 0x9c, 0x59, 0x39.
        assert_eq!(PixelFormat::Rgb565.decode(&[0xc7, 0x9a]), Rgb888::new(0x9c, 0x59, 0x39));
        assert_eq!(PixelFormat::Rgb565.decode(&[0x5d, 0x15]), Rgb888::new(0x10, 0xaa, 0xef));
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

    #[test]
    fn rgb_rows_encode_as_their_colours_do() {
        // Mid-range and edge values in every channel, in an order that repeats no triple.
        let rgb: Vec<u8> = (0..64u32).flat_map(|i| [(i * 37) as u8, (i * 91 + 5) as u8, 255u8.wrapping_sub((i * 13) as u8)]).collect();
        let colors: Vec<Rgb888> = rgb.chunks_exact(3).map(|s| Rgb888::new(s[0], s[1], s[2])).collect();
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
