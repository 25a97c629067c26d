//! The guest kernel's own 8x16 console font, read from its source (`lib/fonts/font_8x16.c`):
//! what fbcon and drm_panic draw text with on screens of 400 lines or more. An oracle for text
//! on screen that the driver under test never sees.

use anyhow::{ensure, Result};
use image::{Rgb, RgbImage};

/// Glyph width and height in pixels.
pub const WIDTH: u32 = 8;
pub const HEIGHT: u32 = 16;

/// The 256 glyphs of the kernel's 8x16 font, 16 rows of 8 pixels each (the top bit leftmost).
pub struct Font8x16 {
    rows: Vec<u8>,
}

impl Font8x16 {
    /// The font of the guest kernel the harness built (`BOCHSFB_MANIFEST`).
    pub fn of_guest_kernel() -> Result<Self> {
        let artifacts = qemu_bochs::Artifacts::from_manifest_env()?;
        let path = artifacts
            .kernel_build_dir
            .join("source/lib/fonts/font_8x16.c");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        Self::parse(&text)
    }

    /// Parses the C source: each glyph row is a line `\t0x7e, /* 01111110 */`.
    fn parse(source: &str) -> Result<Self> {
        let rows: Vec<u8> = source
            .lines()
            .filter_map(|line| line.trim().strip_prefix("0x")?.get(..2))
            .map(|hex| u8::from_str_radix(hex, 16))
            .collect::<std::result::Result<_, _>>()?;
        ensure!(
            rows.len() == 256 * HEIGHT as usize,
            "font_8x16.c: {} glyph rows, expected 4096",
            rows.len()
        );
        Ok(Self { rows })
    }

    /// Whether pixel (`x`, `y`) of the glyph of `byte` is set.
    fn lit(&self, byte: u8, x: u32, y: u32) -> bool {
        self.rows[usize::from(byte) * HEIGHT as usize + y as usize] & (0x80 >> x) != 0
    }

    /// Draws `text` with its top left corner at (`x`, `y`): `fg` where a glyph is set, and
    /// nothing elsewhere.
    pub fn draw(&self, image: &mut RgbImage, x: u32, y: u32, text: &str, fg: Rgb<u8>) {
        for (column, byte) in (0u32..).zip(text.bytes()) {
            for gy in 0..HEIGHT {
                for gx in 0..WIDTH {
                    if self.lit(byte, gx, gy) {
                        image.put_pixel(x + column * WIDTH + gx, y + gy, fg);
                    }
                }
            }
        }
    }

    /// Where `text` is on `image` in `fg` on `bg`, each of its glyphs' pixels exactly: the top
    /// left corner of its first place, if any.
    pub fn find(
        &self,
        image: &RgbImage,
        text: &str,
        fg: Rgb<u8>,
        bg: Rgb<u8>,
    ) -> Option<(u32, u32)> {
        let width = WIDTH.checked_mul(u32::try_from(text.len()).ok()?)?;
        let (w, h) = image.dimensions();
        let matches = |x0: u32, y0: u32| {
            (0u32..).zip(text.bytes()).all(|(column, byte)| {
                (0..HEIGHT).all(|gy| {
                    (0..WIDTH).all(|gx| {
                        let want = if self.lit(byte, gx, gy) { fg } else { bg };
                        *image.get_pixel(x0 + column * WIDTH + gx, y0 + gy) == want
                    })
                })
            })
        };
        (0..=h.checked_sub(HEIGHT)?)
            .flat_map(|y| (0..=w.saturating_sub(width)).map(move |x| (x, y)))
            .find(|&(x, y)| w >= width && matches(x, y))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A font whose glyph of `A` is a diagonal line and every other glyph is empty.
    fn diagonal_font() -> Font8x16 {
        let mut rows = vec![0u8; 256 * 16];
        for y in 0..8 {
            rows[usize::from(b'A') * 16 + y] = 0x80 >> y;
        }
        Font8x16 { rows }
    }

    #[test]
    fn parses_the_c_source_layout() {
        let mut source = String::from("static const unsigned char fontdata_8x16[] = {\n");
        for i in 0..4096u32 {
            source.push_str(&format!("\t0x{:02x}, /* row */\n", i % 251));
        }
        let font = Font8x16::parse(&source).unwrap();
        assert!(!font.lit(0, 0, 0));
        assert_eq!((font.rows[1], font.rows[4095]), (1, (4095 % 251) as u8));
        assert!(Font8x16::parse("\t0x00,\n").is_err());
    }

    #[test]
    fn finds_what_it_draws_and_nothing_else() {
        let font = diagonal_font();
        let (fg, bg) = (Rgb([255, 255, 255]), Rgb([0, 0, 0]));
        let mut image = RgbImage::new(64, 40);
        font.draw(&mut image, 13, 7, "AA", fg);
        assert_eq!(font.find(&image, "AA", fg, bg), Some((13, 7)));
        assert_eq!(font.find(&image, "AAA", fg, bg), None);
        // One pixel off breaks the match.
        image.put_pixel(13 + 8 + 3, 7 + 3, bg);
        assert_eq!(font.find(&image, "AA", fg, bg), None);
        assert_eq!(font.find(&image, "A", fg, bg), Some((13, 7)));
    }
}
