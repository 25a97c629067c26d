//! Demo pictures for the bochsfb renderer.
//!
//! [`draw_testcard`] draws a deterministic test card: the same mode always
//! gives the same pixels, so a host-side rendering can be compared pixel for
//! pixel with a screenshot of the guest drawing it on the real device.
#![deny(missing_docs)]

use bochsfb_renderer::Mode;
use embedded_graphics::mono_font::ascii::FONT_10X20;
use embedded_graphics::mono_font::MonoTextStyleBuilder;
use embedded_graphics::pixelcolor::{Rgb888, RgbColor, WebColors};
use embedded_graphics::prelude::{DrawTarget, Point, Primitive, Size};
use embedded_graphics::primitives::{PrimitiveStyle, Rectangle};
use embedded_graphics::text::{Alignment, Baseline, Text, TextStyleBuilder};
use embedded_graphics::Drawable;

/// The colour bars, left to right.
pub const BAR_COLORS: [Rgb888; 8] = [
    Rgb888::WHITE,
    Rgb888::YELLOW,
    Rgb888::CYAN,
    Rgb888::GREEN,
    Rgb888::MAGENTA,
    Rgb888::RED,
    Rgb888::BLUE,
    Rgb888::BLACK,
];

/// Side of the square corner markers, in pixels.
pub const MARKER_SIZE: u32 = 16;

/// Corner marker colours: top left, top right, bottom left, bottom right.
/// None is a bar colour, and none turns into another when red and blue are
/// swapped, so a wrong byte order is visible too.
pub const CORNER_COLORS: [Rgb888; 4] = [
    Rgb888::new(255, 128, 0),   // orange
    Rgb888::new(128, 0, 255),   // violet
    Rgb888::new(0, 255, 128),   // spring green
    Rgb888::new(255, 128, 192), // pink
];

/// Distance between grid lines, in pixels.
pub const GRID_SPACING: u32 = 32;

/// Colour of the grid lines.
pub const GRID_COLOR: Rgb888 = Rgb888::CSS_GRAY;

/// Draws the test card for `mode` onto `target`, which should be
/// `mode.width x mode.height` pixels: colour bars over the top two thirds, a
/// grid below with the mode as text, and a marker exactly in each corner.
pub fn draw_testcard<D>(target: &mut D, mode: &Mode) -> Result<(), D::Error>
where
    D: DrawTarget<Color = Rgb888>,
{
    let (width, height) = (mode.width, mode.height);
    let bars_height = height * 2 / 3;
    let fill = |x, y, w, h, color| {
        Rectangle::new(Point::new(x as i32, y as i32), Size::new(w, h))
            .into_styled(PrimitiveStyle::with_fill(color))
    };

    target.clear(Rgb888::BLACK)?;

    // Integer edges so the eight bars cover every column exactly once.
    let bars = BAR_COLORS.len() as u32;
    for (i, &color) in (0..).zip(BAR_COLORS.iter()) {
        let (left, right) = (width * i / bars, width * (i + 1) / bars);
        fill(left, 0, right - left, bars_height, color).draw(target)?;
    }

    // Grid lines sit at multiples of the spacing in screen coordinates.
    let grid_height = height - bars_height;
    for x in (0..width).step_by(GRID_SPACING as usize) {
        fill(x, bars_height, 1, grid_height, GRID_COLOR).draw(target)?;
    }
    for y in (bars_height.next_multiple_of(GRID_SPACING)..height).step_by(GRID_SPACING as usize) {
        fill(0, y, width, 1, GRID_COLOR).draw(target)?;
    }

    let label_style = MonoTextStyleBuilder::new()
        .font(&FONT_10X20)
        .text_color(Rgb888::WHITE)
        .background_color(Rgb888::BLACK)
        .build();
    let centered = TextStyleBuilder::new()
        .alignment(Alignment::Center)
        .baseline(Baseline::Middle)
        .build();
    let label_at = Point::new((width / 2) as i32, (bars_height + grid_height / 2) as i32);
    Text::with_text_style(&mode.to_string(), label_at, label_style, centered).draw(target)?;

    // Markers last, so nothing covers them.
    let size = MARKER_SIZE.min(width).min(height);
    let corners = [
        (0, 0),
        (width - size, 0),
        (0, height - size),
        (width - size, height - size),
    ];
    for ((x, y), color) in corners.into_iter().zip(CORNER_COLORS) {
        fill(x, y, size, size, color).draw(target)?;
    }
    Ok(())
}
