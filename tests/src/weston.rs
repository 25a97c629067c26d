//! The screen of Weston's fullscreen-shell showing `weston-simple-shm`, computed here from
//! Weston 10.0.1's own definitions (Debian's `weston` 10.0.1-1), not from Weston:
//!
//! - fullscreen-shell (`fullscreen-shell/fullscreen-shell.c`) puts a black surface under each
//!   output and, for `PRESENT_METHOD_DEFAULT`, centres the client's surface
//!   (`fs_output_center_view`: `(output - surface) / 2`, integer division);
//! - simple-shm (`clients/simple-shm.c`), given zwp_fullscreen_shell_v1 and no xdg_wm_base,
//!   presents a 250x250 XRGB8888 buffer: a 20-pixel frame of `0xff` bytes (white), and inside
//!   `paint_pixels(padding 20, time)`: rings around the centre whose colours move with the
//!   frame callback's `time` in milliseconds, `(n * 0x0080401) & 0xffffff` with
//!   `n = x + time / 16` outside the outer circle, `y + time / 32` in the ring and
//!   `r2 / 32 + time / 64` inside. Its alpha byte (a cross) is ignored: the format is XRGB.
//!
//! The one free parameter is the time of the frame on screen. It is read from one pixel of the
//! frame's corner (outside the circles), [`time_step`]; every other pixel of the screen must
//! then be what that time gives.

use image::{Rgb, RgbImage};

/// simple-shm's window size and frame (`create_window(display, 250, 250)`, padding 20).
pub const WINDOW: u32 = 250;
pub const PADDING: u32 = 20;

/// simple-shm's colour multiplier.
const STEP: u32 = 0x0080401;

/// `time / 16`, all `paint_pixels` depends on: `time / 32` and `time / 64` are this halved
/// and quartered (integer division).
pub type TimeStep = u32;

fn colour(n: u32) -> Rgb<u8> {
    let v = n.wrapping_mul(STEP) & 0x00ff_ffff;
    Rgb([(v >> 16) as u8, (v >> 8) as u8, v as u8])
}

/// The pixel of simple-shm's buffer at `(x, y)` for time step `q`, as `paint_pixels` draws it
/// into a buffer first filled with `0xff` bytes.
pub fn simple_shm_pixel(x: u32, y: u32, q: TimeStep) -> Rgb<u8> {
    let (w, h, p) = (WINDOW as i64, WINDOW as i64, PADDING as i64);
    let (x, y) = (x as i64, y as i64);
    if x < p || y < p || x >= w - p || y >= h - p {
        return Rgb([0xff, 0xff, 0xff]);
    }
    let halfh = p + (h - p * 2) / 2;
    let halfw = p + (w - p * 2) / 2;
    let outer = halfw.min(halfh) - 8;
    let inner = outer - 32;
    let (outer, inner) = (outer * outer, inner * inner);
    let r2 = (x - halfw) * (x - halfw) + (y - halfh) * (y - halfh);
    let n = if r2 < inner {
        (r2 / 32) as u32 + q / 4
    } else if r2 < outer {
        y as u32 + q / 2
    } else {
        x as u32 + q
    };
    colour(n)
}

/// The inverse of [`STEP`] modulo 2^24 (it is odd).
fn step_inverse() -> u32 {
    // Newton's iteration for the inverse modulo 2^32: each step doubles the correct bits.
    let mut inv: u32 = STEP;
    for _ in 0..5 {
        inv = inv.wrapping_mul(2u32.wrapping_sub(STEP.wrapping_mul(inv)));
    }
    inv
}

/// The time step (modulo 2^24) whose frame has `colour` at the buffer's `(PADDING, PADDING)`,
/// a pixel outside the circles: `colour = (PADDING + q) * STEP`.
pub fn time_step(corner: Rgb<u8>) -> TimeStep {
    let v = (u32::from(corner[0]) << 16) | (u32::from(corner[1]) << 8) | u32::from(corner[2]);
    v.wrapping_mul(step_inverse()).wrapping_sub(PADDING) & 0x00ff_ffff
}

/// Where fullscreen-shell puts the window on a `width` x `height` output.
pub fn window_origin(width: u32, height: u32) -> (u32, u32) {
    ((width - WINDOW) / 2, (height - WINDOW) / 2)
}

/// The whole screen: `background` (`0xRRGGBB`, fullscreen-shell's is black) with simple-shm's frame for step `q` centred.
pub fn screen(width: u32, height: u32, background: u32, q: TimeStep) -> RgbImage {
    let bg = Rgb([
        (background >> 16) as u8,
        (background >> 8) as u8,
        background as u8,
    ]);
    let (ox, oy) = window_origin(width, height);
    RgbImage::from_fn(width, height, |x, y| {
        if (ox..ox + WINDOW).contains(&x) && (oy..oy + WINDOW).contains(&y) {
            simple_shm_pixel(x - ox, y - oy, q)
        } else {
            bg
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_step_is_read_back_from_the_corner() {
        assert_eq!(step_inverse().wrapping_mul(STEP), 1);
        for q in [0, 1, 7, 1234, 37_500, 0x00ff_ffff] {
            assert_eq!(time_step(simple_shm_pixel(PADDING, PADDING, q)), q);
        }
    }

    #[test]
    fn frame_rings_and_centre() {
        // The frame is white, whatever the time.
        assert_eq!(simple_shm_pixel(0, 0, 99), Rgb([255, 255, 255]));
        assert_eq!(simple_shm_pixel(249, 125, 99), Rgb([255, 255, 255]));
        // Time 0: outside the circles n = x; (20 * 0x80401) & 0xffffff = 0xa05014.
        assert_eq!(simple_shm_pixel(20, 20, 0), Rgb([0xa0, 0x50, 0x14]));
        // The centre (125, 125): r2 = 0, n = q / 4.
        assert_eq!(simple_shm_pixel(125, 125, 8), colour(2));
        // In the ring (r2 between 85^2 and 117^2): n = y + q / 2.
        assert_eq!(simple_shm_pixel(125, 125 - 100, 6), colour(25 + 3));
    }

    #[test]
    fn the_window_is_centred() {
        assert_eq!(window_origin(1024, 768), (387, 259));
        let s = screen(1024, 768, 0x336699, 0);
        assert_eq!(*s.get_pixel(386, 300), Rgb([0x33, 0x66, 0x99]));
        assert_eq!(*s.get_pixel(387, 259), Rgb([255, 255, 255]));
        assert_eq!(*s.get_pixel(636, 508), Rgb([255, 255, 255]));
        assert_eq!(*s.get_pixel(637, 508), Rgb([0x33, 0x66, 0x99]));
    }
}
