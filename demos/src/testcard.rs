//! The test card, with a frame counter so presenting is visible.

use bochsfb_renderer::{Mode, Surface};
use embedded_graphics::mono_font::ascii::FONT_10X20;
use embedded_graphics::mono_font::MonoTextStyleBuilder;
use embedded_graphics::pixelcolor::{Rgb888, RgbColor};
use embedded_graphics::prelude::Point;
use embedded_graphics::text::{Baseline, Text};
use embedded_graphics::Drawable;

use crate::{draw_testcard, Demo, MARKER_SIZE};

pub struct TestcardDemo {
    mode: Mode,
}

impl TestcardDemo {
    pub fn new(mode: Mode) -> TestcardDemo {
        TestcardDemo { mode }
    }
}

impl Demo for TestcardDemo {
    fn redraws_all(&self) -> bool {
        false
    }

    fn draw(&mut self, surface: &mut Surface<'_>, frame: u64) {
        if frame == 0 {
            draw_testcard(surface, &self.mode).expect("surfaces never fail");
        }
        // Bottom left, right of the corner marker, over the grid.
        let style = MonoTextStyleBuilder::new()
            .font(&FONT_10X20)
            .text_color(Rgb888::WHITE)
            .background_color(Rgb888::BLACK)
            .build();
        let at = Point::new(MARKER_SIZE as i32 + 8, self.mode.height as i32 - 24);
        Text::with_baseline(&format!("frame {frame:06}"), at, style, Baseline::Top)
            .draw(surface)
            .expect("surfaces never fail");
    }
}
