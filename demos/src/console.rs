//! A scrolling text console with a clock.

use std::time::{SystemTime, UNIX_EPOCH};

use bochsfb_renderer::{Mode, Surface};
use embedded_graphics::mono_font::ascii::{FONT_10X20, FONT_8X13};
use embedded_graphics::mono_font::{MonoTextStyle, MonoTextStyleBuilder};
use embedded_graphics::pixelcolor::{Rgb888, RgbColor};
use embedded_graphics::prelude::{DrawTarget, Point, Size};
use embedded_graphics::primitives::Rectangle;
use embedded_graphics::text::{Alignment, Baseline, Text, TextStyleBuilder};
use embedded_graphics::Drawable;

use crate::math::Rng;
use crate::Demo;

/// Where the console's clock takes the time from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Clock {
    /// From the frame number: 12:00:00.0 at frame 0, a tenth of a second
    /// per frame. Deterministic: what tests and reference images use.
    #[default]
    Frame,
    /// The system's clock (UTC).
    Wall,
}

const BAR: u32 = 28;
const LINE: u32 = 14;
/// A new console line every this many frames.
const FRAMES_PER_LINE: u64 = 3;
const BACKGROUND: Rgb888 = Rgb888::new(8, 16, 8);
const BAR_COLOR: Rgb888 = Rgb888::new(30, 60, 120);
const TEXT: Rgb888 = Rgb888::new(120, 230, 120);

pub struct Console {
    mode: Mode,
    clock: Clock,
}

impl Console {
    pub fn new(mode: Mode, clock: Clock) -> Console {
        Console { mode, clock }
    }

    fn rows(&self) -> u64 {
        u64::from(self.mode.height.saturating_sub(BAR + 4) / LINE).max(1)
    }
}

/// Console line `n`: a made-up kernel log line, the same for every run.
fn line(n: u64) -> String {
    const WHO: [&str; 6] = [
        "bochsfb",
        "pci 0000:00:02.0",
        "drm",
        "fbcon",
        "renderer",
        "demo",
    ];
    const WHAT: [&str; 8] = [
        "mode 1024x768 32bpp, stride 4096",
        "flip to y_offset 768",
        "damage: 3 rects, 18432 bytes",
        "vblank",
        "mapped 6 MiB write-combined",
        "frame presented",
        "flush of 12 rectangles",
        "hello from the guest",
    ];
    let mut rng = Rng(0x9e37_79b9 ^ (n as u32).wrapping_mul(0x85eb_ca6b) | 1);
    let (who, what) = (WHO[rng.below(6) as usize], WHAT[rng.below(8) as usize]);
    format!(
        "[{:5}.{:06}] {who}: {what} (#{n})",
        n / 4,
        (n % 4) * 250_000 + u64::from(rng.below(1000))
    )
}

/// `HH:MM:SS.t` for `tenths` of a second since midnight.
fn clock_text(tenths: u64) -> String {
    let s = tenths / 10;
    format!(
        "{:02}:{:02}:{:02}.{}",
        (s / 3600) % 24,
        (s / 60) % 60,
        s % 60,
        tenths % 10
    )
}

impl Demo for Console {
    fn redraws_all(&self) -> bool {
        false
    }

    fn draw(&mut self, surface: &mut Surface<'_>, frame: u64) {
        let (w, h) = (self.mode.width, self.mode.height);
        let fill = |s: &mut Surface<'_>, x: u32, y: u32, w: u32, h: u32, c: Rgb888| {
            s.fill_solid(
                &Rectangle::new(Point::new(x as i32, y as i32), Size::new(w, h)),
                c,
            )
            .expect("never fails");
        };
        let big = MonoTextStyleBuilder::new()
            .font(&FONT_10X20)
            .text_color(Rgb888::WHITE)
            .background_color(BAR_COLOR)
            .build();
        if frame == 0 {
            fill(surface, 0, 0, w, BAR, BAR_COLOR);
            Text::with_baseline("bochsfb console", Point::new(8, 4), big, Baseline::Top)
                .draw(surface)
                .expect("never fails");
        }
        let rows = self.rows();
        let text = MonoTextStyle::new(&FONT_8X13, TEXT);
        let newest = frame / FRAMES_PER_LINE;
        if frame.is_multiple_of(FRAMES_PER_LINE) {
            // A new line: scroll by redrawing the text area.
            fill(surface, 0, BAR, w, h - BAR, BACKGROUND);
            let first = (newest + 1).saturating_sub(rows);
            for (row, n) in (first..=newest).enumerate() {
                let at = Point::new(6, (BAR + 4 + row as u32 * LINE) as i32);
                Text::with_baseline(&line(n), at, text, Baseline::Top)
                    .draw(surface)
                    .expect("never fails");
            }
        }
        // A blinking block cursor on the line after the newest.
        let row = (newest + 1).min(rows - 1) as u32;
        let on = (frame / 4).is_multiple_of(2);
        fill(
            surface,
            6,
            BAR + 4 + row * LINE,
            8,
            13,
            if on { TEXT } else { BACKGROUND },
        );

        let tenths = match self.clock {
            Clock::Frame => 12 * 36_000 + frame,
            Clock::Wall => {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default();
                (now.as_millis() / 100) as u64 % (24 * 36_000)
            }
        };
        let right = TextStyleBuilder::new()
            .alignment(Alignment::Right)
            .baseline(Baseline::Top)
            .build();
        Text::with_text_style(&clock_text(tenths), Point::new(w as i32 - 8, 4), big, right)
            .draw(surface)
            .expect("never fails");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_text_counts_tenths() {
        assert_eq!(clock_text(12 * 36_000), "12:00:00.0");
        assert_eq!(clock_text(12 * 36_000 + 615), "12:01:01.5");
    }

    #[test]
    fn lines_are_reproducible() {
        assert_eq!(line(7), line(7));
        assert_ne!(line(7), line(8));
    }
}
