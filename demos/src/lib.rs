//! Demos for the bochsfb renderer: testcard, plasma, mandelbrot zoom,
//! bouncing alpha-blended sprites (one steered with the arrow keys), starfield,
//! a text console with a clock, an image slideshow, and `paint`, driven by the
//! pointer and keys. In every demo `q` or Escape quits.
//!
//! Without input every demo is deterministic: frame N depends only on the mode and N (time
//! is the frame number, randomness is seeded; the console clock reads the
//! wall clock only when asked to), so the memory backend renders exactly
//! what a guest shows on any backend, and reference images stay valid.
//! [`draw_testcard`] draws the static test card.
#![deny(missing_docs)]

mod console;
mod mandelbrot;
pub mod math;
mod paint;
mod plasma;
mod slideshow;
mod sprites;
mod starfield;
mod testcard;

use bochsfb_renderer::backend::{Backend, MemoryBackend};
use bochsfb_renderer::clock::{FrameCounter, FrameStats, Pacer};
use bochsfb_renderer::input::{Event, InputState, Key};
use bochsfb_renderer::{Error, Surface};

pub use console::Clock;

/// Every demo's name, in the order the gallery shows them.
pub const DEMOS: [&str; 8] = [
    "testcard",
    "plasma",
    "mandelbrot",
    "sprites",
    "starfield",
    "console",
    "slideshow",
    "paint",
];

/// One line about demo `name` (for `qemu-bochs demos` and `--help`); `None` for an unknown name.
pub fn about(name: &str) -> Option<&'static str> {
    Some(match name {
        "testcard" => "colour bars, a one-pixel grid, corner markers, the mode, a frame counter",
        "plasma" => "the classic plasma: sums of sines through a cycling palette",
        "mandelbrot" => "a zoom into the Mandelbrot set's seahorse valley",
        "sprites" => "alpha-blended PNG balls bouncing over a checkerboard (partial redraws); arrows steer the first",
        "starfield" => "flying through a field of 500 stars",
        "console" => "a scrolling text console with a clock (partial redraws)",
        "slideshow" => "PNG and JPEG images scaled to fit, with a wipe between them",
        "paint" => "draw with the pointer while the button is held; 1-8 colour, - and = brush size, c clears",
        _ => return None,
    })
}

/// Whether demo `name` waits for input rather than animating (it should run until `q`, not
/// for a number of frames).
pub fn is_interactive(name: &str) -> bool {
    name == "paint"
}

/// A demo: draws frame after frame onto a surface.
pub trait Demo {
    /// Whether every frame redraws every pixel (a flipping backend then
    /// skips bringing its back buffer up to date).
    fn redraws_all(&self) -> bool;
    /// Draws frame `frame` onto `surface`, which holds frame `frame - 1`
    /// as this demo drew it (or anything, for frame 0).
    fn draw(&mut self, surface: &mut Surface<'_>, frame: u64);
    /// Takes an input event, before the next frame is drawn; `input` already includes it.
    fn on_event(&mut self, _event: &Event, _input: &InputState) {}
}

/// The demo called `name` for `mode`; `None` for an unknown name.
pub fn demo(name: &str, mode: &Mode, clock: Clock) -> Option<Box<dyn Demo>> {
    Some(match name {
        "testcard" => Box::new(testcard::TestcardDemo::new(*mode)),
        "plasma" => Box::new(plasma::Plasma::new(*mode)),
        "mandelbrot" => Box::new(mandelbrot::Mandelbrot::new(*mode)),
        "sprites" => Box::new(sprites::Sprites::new(*mode)),
        "starfield" => Box::new(starfield::Starfield::new(*mode)),
        "console" => Box::new(console::Console::new(*mode, clock)),
        "slideshow" => Box::new(slideshow::Slideshow::new(*mode)),
        "paint" => Box::new(paint::Paint::new(*mode)),
        _ => return None,
    })
}

/// Runs `demo` on `backend` for frames `0..frames` (`None`: until an error, `q` or
/// Escape, or, after [`bochsfb_renderer::stop_on_signals`], a SIGINT or SIGTERM), paced by
/// `pacer`, presenting each; the backend's input events reach the demo before each frame.
/// `after_frame` sees each frame number once presented. Returns the frame statistics.
pub fn run(
    demo: &mut dyn Demo,
    backend: &mut dyn Backend,
    frames: Option<u64>,
    pacer: &mut Pacer,
    mut after_frame: impl FnMut(u64),
) -> Result<FrameStats, Error> {
    let mut counter = FrameCounter::new();
    let mut frame = 0;
    let mut input = InputState::default();
    'frames: while frames.is_none_or(|n| frame < n) && !bochsfb_renderer::stop_requested() {
        pacer.wait();
        for event in backend.poll_events()? {
            if matches!(event, Event::KeyDown(Key::Q | Key::Escape)) {
                break 'frames;
            }
            input.apply(&event);
            demo.on_event(&event, &input);
        }
        if demo.redraws_all() {
            backend.will_redraw_all();
        }
        demo.draw(&mut backend.surface(), frame);
        backend.present()?;
        counter.tick();
        after_frame(frame);
        frame += 1;
    }
    Ok(counter.stats())
}

/// Frame `last` of demo `name` as the memory backend renders it, after
/// frames `0..=last` (what any backend shows after `--frames last+1`).
pub fn render(name: &str, mode: Mode, last: u64) -> Result<MemoryBackend, Error> {
    let mut memory = MemoryBackend::new(mode)?;
    let mut demo = demo(name, &mode, Clock::Frame).ok_or_else(|| Error::Unsupported {
        backend: "memory",
        reason: format!("no demo called {name}"),
    })?;
    run(
        demo.as_mut(),
        &mut memory,
        Some(last + 1),
        &mut Pacer::new(None),
        |_| {},
    )?;
    Ok(memory)
}

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

#[cfg(test)]
mod tests {
    #[test]
    fn every_demo_has_a_line_about_it() {
        for name in super::DEMOS {
            assert!(super::about(name).is_some_and(|s| !s.is_empty()), "{name}");
        }
        assert_eq!(super::about("nope"), None);
    }
}
