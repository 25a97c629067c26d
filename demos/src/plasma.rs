//! The classic plasma: sums of sines through a cycling palette.

use bochsfb_renderer::{Mode, Surface};
use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::{Dimensions, Point};

use crate::math::sine_table;
use crate::Demo;

pub struct Plasma {
    sin: [i32; 256],
    palette: [Rgb888; 256],
    columns: Vec<i32>,
    mode: Mode,
}

impl Plasma {
    pub fn new(mode: Mode) -> Plasma {
        let sin = sine_table();
        let channel = |i: usize| (128 + sin[i & 255]).clamp(0, 255) as u8;
        let palette =
            std::array::from_fn(|i| Rgb888::new(channel(i), channel(i + 85), channel(i + 170)));
        Plasma {
            sin,
            palette,
            columns: vec![0; mode.width as usize],
            mode,
        }
    }
}

impl Demo for Plasma {
    fn redraws_all(&self) -> bool {
        true
    }

    fn draw(&mut self, surface: &mut Surface<'_>, frame: u64) {
        let t = frame as usize;
        let s = &self.sin;
        // Scale so one period spans about a third of the screen.
        let k = (256 * 3 * 256 / self.mode.width.max(1) as usize).max(1);
        let (w, h) = (self.mode.width as usize, self.mode.height as usize);
        for (x, c) in self.columns.iter_mut().enumerate() {
            *c = s[(x * k / 256 + t * 3) & 255] + s[(x * k / 128 + 2 * t) & 255] / 2;
        }
        let columns = &self.columns;
        let palette = &self.palette;
        surface.paint(&surface.bounding_box(), |at: Point, row| {
            let y = at.y as usize;
            let ry = s[(y * k / 256 + 5 * t) & 255];
            let ry2 = (y * k / 192 + t) & 255;
            for (x, c) in row.iter_mut().enumerate() {
                let diag = s[(((x + w) * k / 384) + ry2 + (h - y) * k / 512) & 255];
                let v = columns[x] + ry + diag;
                *c = palette[((v / 4) + 2 * t as i32).rem_euclid(256) as usize];
            }
        });
    }
}
