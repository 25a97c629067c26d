//! Flying through a field of stars.

use bochsfb_renderer::{Mode, Surface};
use embedded_graphics::pixelcolor::{Rgb888, RgbColor};
use embedded_graphics::prelude::{DrawTarget, Point, Size};
use embedded_graphics::primitives::Rectangle;

use crate::math::Rng;
use crate::Demo;

const STARS: usize = 500;
const DEPTH: i64 = 1024;
const SPEED: i64 = 9;

pub struct Starfield {
    stars: Vec<(i64, i64, i64)>,
    mode: Mode,
}

impl Starfield {
    pub fn new(mode: Mode) -> Starfield {
        let mut rng = Rng(0x0005_7a25);
        let stars = (0..STARS)
            .map(|_| {
                let x = i64::from(rng.below(4000)) - 2000;
                let y = i64::from(rng.below(3000)) - 1500;
                (x, y, i64::from(rng.below(DEPTH as u32)))
            })
            .collect();
        Starfield { stars, mode }
    }
}

impl Demo for Starfield {
    fn redraws_all(&self) -> bool {
        true
    }

    fn draw(&mut self, surface: &mut Surface<'_>, frame: u64) {
        surface.clear(Rgb888::BLACK).expect("surfaces never fail");
        let (cx, cy) = (
            i64::from(self.mode.width / 2),
            i64::from(self.mode.height / 2),
        );
        let focal = i64::from(self.mode.width) / 4;
        let t = frame as i64;
        for &(x, y, z0) in &self.stars {
            // Depth 1..=DEPTH, coming closer every frame, wrapping to the back.
            let z = (z0 - SPEED * t).rem_euclid(DEPTH) + 1;
            let (sx, sy) = (cx + x * focal / z, cy + y * focal / z);
            let near = (DEPTH - z) * 255 / DEPTH;
            let size = 1 + (3 * near / 255) as u32;
            let v = (40 + near * 215 / 255) as u8;
            let color = Rgb888::new(v, v, (v as u16 + 30).min(255) as u8);
            let star = Rectangle::new(Point::new(sx as i32, sy as i32), Size::new(size, size));
            surface
                .fill_solid(&star, color)
                .expect("surfaces never fail");
        }
    }
}
