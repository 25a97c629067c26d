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
use bochsfb_renderer::{Error, Mode, Surface};

pub use console::Clock;

/// A demo as the CLI, the harness and the tests know it: one row of [`DEMOS`].
#[derive(Debug, Clone, Copy)]
pub struct DemoInfo {
    /// Its name on command lines (`bochsfb-demo NAME`, `qemu-bochs demo --demo NAME`).
    pub name: &'static str,
    /// One line about it (`qemu-bochs demos`, `--help`).
    pub about: &'static str,
    /// Waits for input rather than animating: it should run until `q`, not for a number of
    /// frames.
    pub interactive: bool,
    /// A still picture: one frame shows all of it (`qemu-bochs demo` draws one unless asked
    /// for more).
    pub still: bool,
    /// Makes the demo for a mode.
    pub new: fn(&Mode, Clock) -> Box<dyn Demo>,
}

/// Every demo, in the order the gallery shows them.
pub const DEMOS: [DemoInfo; 8] = [
    DemoInfo {
        name: "testcard",
        about: "colour bars, a one-pixel grid, corner markers, the mode, a frame counter",
        interactive: false,
        still: true,
        new: |mode, _| Box::new(testcard::TestcardDemo::new(*mode)),
    },
    DemoInfo {
        name: "plasma",
        about: "the classic plasma: sums of sines through a cycling palette",
        interactive: false,
        still: false,
        new: |mode, _| Box::new(plasma::Plasma::new(*mode)),
    },
    DemoInfo {
        name: "mandelbrot",
        about: "a zoom into the Mandelbrot set's seahorse valley",
        interactive: false,
        still: false,
        new: |mode, _| Box::new(mandelbrot::Mandelbrot::new(*mode)),
    },
    DemoInfo {
        name: "sprites",
        about: "alpha-blended PNG balls bouncing over a checkerboard (partial redraws); arrows steer the first",
        interactive: false,
        still: false,
        new: |mode, _| Box::new(sprites::Sprites::new(*mode)),
    },
    DemoInfo {
        name: "starfield",
        about: "flying through a field of 500 stars",
        interactive: false,
        still: false,
        new: |mode, _| Box::new(starfield::Starfield::new(*mode)),
    },
    DemoInfo {
        name: "console",
        about: "a scrolling text console with a clock (partial redraws)",
        interactive: false,
        still: false,
        new: |mode, clock| Box::new(console::Console::new(*mode, clock)),
    },
    DemoInfo {
        name: "slideshow",
        about: "PNG and JPEG images scaled to fit, with a wipe between them",
        interactive: false,
        still: false,
        new: |mode, _| Box::new(slideshow::Slideshow::new(*mode)),
    },
    DemoInfo {
        name: "paint",
        about: "draw with the pointer while the button is held; 1-8 colour, - and = brush size, c clears",
        interactive: true,
        still: false,
        new: |mode, _| Box::new(paint::Paint::new(*mode)),
    },
];

/// The demo called `name`; `None` for an unknown name.
pub fn find(name: &str) -> Option<&'static DemoInfo> {
    DEMOS.iter().find(|d| d.name == name)
}

/// Every demo's name, in table order (for a command line's possible values).
pub fn names() -> impl Iterator<Item = &'static str> {
    DEMOS.iter().map(|d| d.name)
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
    let info = find(name).ok_or_else(|| Error::Unsupported {
        backend: "memory",
        reason: format!("no demo called {name}"),
    })?;
    let mut demo = (info.new)(&mode, Clock::Frame);
    run(
        demo.as_mut(),
        &mut memory,
        Some(last + 1),
        &mut Pacer::new(None),
        |_| {},
    )?;
    Ok(memory)
}

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
    use super::*;

    #[test]
    fn every_demo_has_a_line_about_it_and_one_name() {
        for (i, demo) in DEMOS.iter().enumerate() {
            assert!(!demo.about.is_empty(), "{}", demo.name);
            assert_eq!(
                find(demo.name).map(|d| d.name),
                Some(demo.name),
                "{} is found by its name",
                demo.name
            );
            assert!(
                DEMOS[..i].iter().all(|d| d.name != demo.name),
                "{} twice",
                demo.name
            );
        }
        assert!(find("nope").is_none());
    }
}
