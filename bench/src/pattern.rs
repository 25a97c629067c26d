//! The test image each path draws last. Every pixel depends on its position
//! and on a per-path seed, so a screenshot shows both that the path's bytes
//! landed in the right place and that they came from that path, not from the
//! one before it.

use bochsfb_renderer::Mode;

/// The colour of pixel `(x, y)` for `seed`, as `[r, g, b]`.
pub fn rgb(x: u32, y: u32, seed: u32) -> [u8; 3] {
    let s = seed.wrapping_mul(0x9e37_79b9) >> 8;
    [
        (x.wrapping_add(s) & 0xff) as u8,
        (y.wrapping_add(s >> 8) & 0xff) as u8,
        (((x >> 3) ^ (y >> 3)).wrapping_add(s >> 16) & 0xff) as u8,
    ]
}

/// One pixel in the device's byte order: XRGB8888 / RGB888 little endian
/// (`B, G, R[, X]`) or RGB565 little endian.
pub fn encode(rgb: [u8; 3], bpp: u32) -> Vec<u8> {
    let [r, g, b] = rgb;
    match bpp {
        32 => vec![b, g, r, 0],
        24 => vec![b, g, r],
        16 => rgb565(rgb).to_le_bytes().to_vec(),
        _ => panic!("unsupported bpp {bpp}"),
    }
}

fn rgb565([r, g, b]: [u8; 3]) -> u16 {
    (u16::from(r >> 3) << 11) | (u16::from(g >> 2) << 5) | u16::from(b >> 3)
}

/// The whole frame for `seed`, laid out as the device lays it out
/// (`stride` bytes per row; padding bytes are zero).
pub fn frame(geometry: &Mode, seed: u32) -> Vec<u8> {
    let mut frame = vec![0; geometry.frame_len()];
    let bytes = geometry.bytes_per_pixel();
    for y in 0..geometry.height {
        let row = &mut frame[y as usize * geometry.stride as usize..][..geometry.row_len()];
        for (x, pixel) in (0..).zip(row.chunks_exact_mut(bytes)) {
            pixel.copy_from_slice(&encode(rgb(x, y, seed), geometry.bpp));
        }
    }
    frame
}

/// Checks a screenshot (`width * height` RGB triples, as QEMU's screendump
/// gives them) against the frame for `seed`. At 16 bpp colours are compared
/// after reducing both to RGB565, whatever way the screendump widened them.
pub fn check_screenshot(
    rgb_pixels: &[u8],
    (width, height): (u32, u32),
    geometry: &Mode,
    seed: u32,
) -> Result<(), String> {
    if (width, height) != (geometry.width, geometry.height) {
        return Err(format!(
            "screenshot is {width}x{height}, the mode is {}x{}",
            geometry.width, geometry.height
        ));
    }
    let same = |a: [u8; 3], b: [u8; 3]| match geometry.bpp {
        16 => rgb565(a) == rgb565(b),
        _ => a == b,
    };
    let mut wrong = 0usize;
    let mut first = None;
    for (i, pixel) in rgb_pixels.chunks_exact(3).enumerate() {
        let (x, y) = (i as u32 % width, i as u32 / width);
        let (actual, expected) = ([pixel[0], pixel[1], pixel[2]], rgb(x, y, seed));
        if !same(actual, expected) {
            wrong += 1;
            first.get_or_insert(format!("({x},{y}) is {actual:?}, expected {expected:?}"));
        }
    }
    match first {
        None => Ok(()),
        Some(first) => Err(format!(
            "{wrong} of {} pixels differ from test image {seed}; first: {first}",
            width * height
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GEOMETRY: Mode = Mode {
        width: 64,
        height: 48,
        bpp: 32,
        stride: 64 * 4 + 16,
    };

    fn screenshot(geometry: &Mode, seed: u32) -> Vec<u8> {
        (0..geometry.height)
            .flat_map(|y| (0..geometry.width).flat_map(move |x| rgb(x, y, seed)))
            .collect()
    }

    #[test]
    fn frame_encodes_every_pixel_at_its_place() {
        let frame = frame(&GEOMETRY, 3);
        let at = |x: usize, y: usize| &frame[y * GEOMETRY.stride as usize + x * 4..][..4];
        let [r, g, b] = rgb(5, 7, 3);
        assert_eq!(at(5, 7), [b, g, r, 0]);
        assert_eq!(frame[GEOMETRY.row_len()..GEOMETRY.stride as usize], [0; 16]);
    }

    #[test]
    fn seeds_give_different_images() {
        assert_ne!(frame(&GEOMETRY, 1), frame(&GEOMETRY, 2));
    }

    #[test]
    fn matching_screenshot_passes_and_a_wrong_pixel_is_named() {
        let mut shot = screenshot(&GEOMETRY, 4);
        let size = (GEOMETRY.width, GEOMETRY.height);
        check_screenshot(&shot, size, &GEOMETRY, 4).unwrap();
        shot[3 * (2 * 64 + 1)] ^= 0x80;
        let err = check_screenshot(&shot, size, &GEOMETRY, 4).unwrap_err();
        assert!(err.contains("1 of 3072") && err.contains("(1,2)"), "{err}");
        assert!(check_screenshot(&screenshot(&GEOMETRY, 5), size, &GEOMETRY, 4).is_err());
    }

    #[test]
    fn rgb565_screenshots_compare_in_565() {
        let geometry = Mode {
            bpp: 16,
            stride: 128,
            ..GEOMETRY
        };
        // A screendump widens 565 to 888 by replicating high bits.
        let widened: Vec<u8> = screenshot(&geometry, 9)
            .chunks(3)
            .flat_map(|p| {
                [
                    p[0] & 0xf8 | p[0] >> 5,
                    p[1] & 0xfc | p[1] >> 6,
                    p[2] & 0xf8 | p[2] >> 5,
                ]
            })
            .collect();
        check_screenshot(&widened, (64, 48), &geometry, 9).unwrap();
        assert_eq!(encode([0xff, 0, 0], 16), [0x00, 0xf8]);
    }
}
