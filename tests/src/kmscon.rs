//! The screen Debian's `kmscon` (a terminal drawn with DRM/KMS dumb buffers) shows with its
//! built-in bitmap font (`--font-engine=unifont`), computed here from GNU Unifont's own glyph
//! data, not from kmscon: a cell grid of 8x16 pixels from the top left corner, each glyph
//! pixel in the foreground colour and every other pixel in the background colour (the glyphs
//! are one bit deep, so there is nothing in between).

use anyhow::{bail, ensure, Result};
use image::{Rgb, RgbImage};

/// Width and height of a cell of the 8x16 glyphs.
pub const CELL: (u32, u32) = (8, 16);

/// The glyphs the tests print, restated from GNU Unifont 15.1.05, `font/plane00/
/// unifont-base.hex` (`CODEPOINT:ROWS`, one byte per row, top row first, the leftmost pixel
/// in the top bit); Unifont's space is blank.
const GLYPHS: &[(char, &str)] = &[
    (' ', "00000000000000000000000000000000"),
    ('/', "00000000020204080810102040400000"),
    ('0', "00000000182442464A52624224180000"),
    ('1', "000000000818280808080808083E0000"),
    ('2', "000000003C4242020C102040407E0000"),
    ('3', "000000003C4242021C020242423C0000"),
    ('4', "00000000040C142444447E0404040000"),
    ('5', "000000007E4040407C020202423C0000"),
    ('6', "000000001C2040407C424242423C0000"),
    ('7', "000000007E0202040404080808080000"),
    ('8', "000000003C4242423C424242423C0000"),
    ('9', "000000003C4242423E02020204380000"),
    (':', "00000000000018180000001818000000"),
    ('D', "00000000784442424242424244780000"),
    ('K', "00000000424448506060504844420000"),
    ('M', "00000000424266665A5A424242420000"),
    ('R', "000000007C4242427C48444442420000"),
    ('S', "000000003C424240300C0242423C0000"),
    ('c', "0000000000003C4240404040423C0000"),
    ('k', "00000040404044485060504844420000"),
    ('m', "00000000000076494949494949490000"),
    ('n', "0000000000005C624242424242420000"),
    ('o', "0000000000003C4242424242423C0000"),
    ('s', "0000000000003C4240300C02423C0000"),
];

/// The 16 rows of `c`'s glyph.
pub fn glyph(c: char) -> Result<[u8; 16]> {
    let Some((_, hex)) = GLYPHS.iter().find(|(g, _)| *g == c) else {
        bail!("no Unifont glyph for {c:?} in tests/src/kmscon.rs: add its line");
    };
    let mut rows = [0u8; 16];
    for (i, row) in rows.iter_mut().enumerate() {
        *row = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)?;
    }
    Ok(rows)
}

/// A `width x height` terminal in `background` with each `(column, row, text)` written in
/// `foreground` (columns and rows from 0).
pub fn screen(
    width: u32,
    height: u32,
    background: [u8; 3],
    foreground: [u8; 3],
    texts: &[(u32, u32, &str)],
) -> Result<RgbImage> {
    let mut image = RgbImage::from_pixel(width, height, Rgb(background));
    for &(column, row, text) in texts {
        for (i, c) in text.chars().enumerate() {
            let (x0, y0) = ((column + i as u32) * CELL.0, row * CELL.1);
            ensure!(
                x0 + CELL.0 <= width && y0 + CELL.1 <= height,
                "{text:?} at column {column}, row {row} does not fit {width}x{height}"
            );
            for (dy, bits) in glyph(c)?.into_iter().enumerate() {
                for dx in 0..CELL.0 {
                    if bits & (0x80 >> dx) != 0 {
                        image.put_pixel(x0 + dx, y0 + dy as u32, Rgb(foreground));
                    }
                }
            }
        }
    }
    Ok(image)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glyphs_are_drawn_bit_by_bit_in_their_cells() {
        // 'D': rows 4..14 hold 78 44 42 42 42 42 42 42 44 78.
        assert_eq!(glyph('D').unwrap()[4], 0x78);
        let bg = [1, 2, 3];
        let fg = [200, 100, 50];
        let image = screen(32, 48, bg, fg, &[(1, 2, "D")]).unwrap();
        // Cell (1, 2) starts at (8, 32); 0x78 = .####... in row 4.
        assert_eq!(image.get_pixel(8, 36).0, bg);
        assert_eq!(image.get_pixel(9, 36).0, fg);
        assert_eq!(image.get_pixel(12, 36).0, fg);
        assert_eq!(image.get_pixel(13, 36).0, bg);
        let lit = image.pixels().filter(|p| p.0 == fg).count();
        // 4 + 2 + 2 * 6 + 2 + 4 set bits.
        assert_eq!(lit, 24);
        assert!(screen(32, 48, bg, fg, &[(0, 0, "?")]).is_err());
        assert!(screen(32, 48, bg, fg, &[(3, 0, "DD")]).is_err());
    }
}
