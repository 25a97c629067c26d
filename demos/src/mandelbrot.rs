//! A zoom into the Mandelbrot set's seahorse valley.

use bochsfb_renderer::{Mode, Surface};
use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::Dimensions;

use crate::math::sine_table;
use crate::Demo;

/// Where the zoom goes.
const CENTER: (f64, f64) = (-0.743_643_887_037_151, 0.131_825_904_205_33);

pub struct Mandelbrot {
    palette: [Rgb888; 256],
    mode: Mode,
}

impl Mandelbrot {
    pub fn new(mode: Mode) -> Mandelbrot {
        let sin = sine_table();
        let channel = |i: usize, bias: i32| (bias + sin[i & 255]).clamp(0, 255) as u8;
        let palette = std::array::from_fn(|i| {
            Rgb888::new(
                channel(i * 3, 128),
                channel(i * 5 + 40, 110),
                channel(i * 7 + 90, 150),
            )
        });
        Mandelbrot { palette, mode }
    }
}

/// Iterations before `c` escapes, `None` if it stays within `max`.
fn escape(cr: f64, ci: f64, max: u32) -> Option<u32> {
    let (mut zr, mut zi) = (0.0f64, 0.0f64);
    for i in 0..max {
        let (zr2, zi2) = (zr * zr, zi * zi);
        if zr2 + zi2 > 4.0 {
            return Some(i);
        }
        zi = 2.0 * zr * zi + ci;
        zr = zr2 - zi2 + cr;
    }
    None
}

impl Demo for Mandelbrot {
    fn redraws_all(&self) -> bool {
        true
    }

    fn draw(&mut self, surface: &mut Surface<'_>, frame: u64) {
        // Plain IEEE arithmetic only (no libm), so every machine agrees.
        let mut scale = 3.2 / f64::from(self.mode.width);
        for _ in 0..frame % 240 {
            scale *= 0.95;
        }
        let max_iter = 48 + 3 * (frame % 240) as u32;
        let (cx, cy) = (
            f64::from(self.mode.width) / 2.0,
            f64::from(self.mode.height) / 2.0,
        );
        let palette = &self.palette;
        surface.paint(&surface.bounding_box(), |at, row| {
            let ci = CENTER.1 + (f64::from(at.y) - cy) * scale;
            for (x, c) in row.iter_mut().enumerate() {
                let cr = CENTER.0 + (x as f64 - cx) * scale;
                *c = match escape(cr, ci, max_iter) {
                    Some(i) => palette[(i as usize * 4) & 255],
                    None => Rgb888::new(0, 0, 0),
                };
            }
        });
    }
}
