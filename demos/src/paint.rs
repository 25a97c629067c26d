//! A paint program: the pointer draws while the left button is held, keys pick the colour and
//! the brush, `c` clears (and `q` quits, as in every demo).

use bochsfb_renderer::input::{Button, Event, InputState, Key};
use bochsfb_renderer::{Mode, Surface};
use embedded_graphics::mono_font::ascii::FONT_6X10;
use embedded_graphics::mono_font::MonoTextStyle;
use embedded_graphics::pixelcolor::{Rgb888, RgbColor};
use embedded_graphics::prelude::{DrawTarget, DrawTargetExt, Point, Size};
use embedded_graphics::primitives::Rectangle;
use embedded_graphics::text::{Baseline, Text};
use embedded_graphics::Drawable;

use crate::Demo;

/// The colours keys 1 to 8 choose.
pub const PALETTE: [Rgb888; 8] = [
    Rgb888::BLACK,
    Rgb888::RED,
    Rgb888::new(0, 160, 0),
    Rgb888::BLUE,
    Rgb888::new(255, 200, 0),
    Rgb888::MAGENTA,
    Rgb888::CYAN,
    Rgb888::new(255, 128, 0),
];
/// The brush sides `-` and `=` step through, in pixels; [`DEFAULT_BRUSH`] is the first.
pub const BRUSHES: [u32; 5] = [2, 4, 8, 16, 32];
/// The brush side a run starts with.
pub const DEFAULT_BRUSH: u32 = 8;
/// Rows at the top that show the palette, not the canvas.
pub const TOOLBAR_HEIGHT: u32 = 32;
/// The canvas before anything is drawn on it.
pub const CANVAS: Rgb888 = Rgb888::WHITE;
/// Behind the palette.
pub const TOOLBAR: Rgb888 = Rgb888::new(48, 48, 48);
/// Swatch `i` is `SWATCH` square at `(SWATCH_LEFT + i * SWATCH_PITCH, 4)`.
pub const SWATCH: u32 = 24;
/// See [`SWATCH`].
pub const SWATCH_LEFT: u32 = 8;
/// See [`SWATCH`].
pub const SWATCH_PITCH: u32 = 36;

/// Something to paint at the next frame.
#[derive(Debug, Clone, Copy)]
enum Stroke {
    /// The brush dragged from one point to another (a dab where they are the same).
    Line {
        from: Point,
        to: Point,
        color: Rgb888,
        brush: u32,
    },
    Clear,
}

pub struct Paint {
    mode: Mode,
    color: usize,
    brush: usize,
    /// Where the pointer was at the last event.
    last: Option<Point>,
    strokes: Vec<Stroke>,
    toolbar_changed: bool,
}

impl Paint {
    pub fn new(mode: Mode) -> Paint {
        let brush = BRUSHES
            .iter()
            .position(|&b| b == DEFAULT_BRUSH)
            .expect("a listed size");
        Paint {
            mode,
            color: 0,
            brush,
            last: None,
            strokes: Vec::new(),
            toolbar_changed: true,
        }
    }

    fn canvas(&self) -> Rectangle {
        let height = self.mode.height.saturating_sub(TOOLBAR_HEIGHT);
        Rectangle::new(
            Point::new(0, TOOLBAR_HEIGHT as i32),
            Size::new(self.mode.width, height),
        )
    }

    fn draw_toolbar(&self, surface: &mut Surface<'_>) {
        let bar = Rectangle::new(
            Point::zero(),
            Size::new(self.mode.width, TOOLBAR_HEIGHT.min(self.mode.height)),
        );
        let mut bar_area = surface.clipped(&bar);
        let mut square = |x: u32, y: u32, side: u32, color| {
            let at = Rectangle::new(Point::new(x as i32, y as i32), Size::new(side, side));
            bar_area
                .fill_solid(&at, color)
                .expect("surfaces never fail");
        };
        square(0, 0, self.mode.width.max(TOOLBAR_HEIGHT), TOOLBAR);
        for (i, &color) in PALETTE.iter().enumerate() {
            let x = SWATCH_LEFT + i as u32 * SWATCH_PITCH;
            if i == self.color {
                square(x - 3, 1, SWATCH + 6, Rgb888::WHITE);
            }
            square(x, 4, SWATCH, color);
        }
        // The brush, at its size (up to the bar's height), at the right end.
        let side = BRUSHES[self.brush].min(SWATCH);
        let centre = self.mode.width.saturating_sub(20);
        square(
            centre.saturating_sub(side / 2),
            16 - side / 2,
            side,
            PALETTE[self.color],
        );
        let help = "1-8 colour  - = brush  c clear  q quit";
        let at = Point::new((SWATCH_LEFT + 8 * SWATCH_PITCH + 4) as i32, 11);
        Text::with_baseline(
            help,
            at,
            MonoTextStyle::new(&FONT_6X10, Rgb888::new(200, 200, 200)),
            Baseline::Top,
        )
        .draw(&mut bar_area)
        .expect("surfaces never fail");
    }
}

/// The square brush of side `brush` centred on `at`.
pub fn dab(at: Point, brush: u32) -> Rectangle {
    let half = (brush / 2) as i32;
    Rectangle::new(at - Point::new(half, half), Size::new(brush, brush))
}

/// The points from `from` to `to`, one pixel apart along the longer axis.
fn line(from: Point, to: Point) -> impl Iterator<Item = Point> {
    let d = to - from;
    let steps = d.x.abs().max(d.y.abs());
    (0..=steps).map(move |i| {
        let along = |a: i32, b: i32| {
            if steps == 0 {
                a
            } else {
                a + ((b - a) * i + steps / 2 * (b - a).signum()) / steps
            }
        };
        Point::new(along(from.x, to.x), along(from.y, to.y))
    })
}

impl Demo for Paint {
    fn redraws_all(&self) -> bool {
        false
    }

    fn on_event(&mut self, event: &Event, input: &InputState) {
        let (color, brush) = (PALETTE[self.color], BRUSHES[self.brush]);
        let chosen = (self.color, self.brush);
        match *event {
            Event::PointerMoved(to) => {
                if let (Some(from), true) = (self.last, input.is_pressed(Button::Left)) {
                    self.strokes.push(Stroke::Line {
                        from,
                        to,
                        color,
                        brush,
                    });
                }
                self.last = Some(to);
            }
            Event::ButtonDown(Button::Left) => {
                if let Some(at) = input.pointer() {
                    self.strokes.push(Stroke::Line {
                        from: at,
                        to: at,
                        color,
                        brush,
                    });
                }
            }
            Event::KeyDown(Key::C) => self.strokes.push(Stroke::Clear),
            Event::KeyDown(Key::Minus) => self.brush = self.brush.saturating_sub(1),
            Event::KeyDown(Key::Equal) => self.brush = (self.brush + 1).min(BRUSHES.len() - 1),
            Event::KeyDown(key) => {
                if let Some(d @ 1..=8) = key.digit() {
                    self.color = usize::from(d - 1);
                }
            }
            _ => {}
        }
        self.toolbar_changed |= chosen != (self.color, self.brush);
    }

    fn draw(&mut self, surface: &mut Surface<'_>, frame: u64) {
        let canvas = self.canvas();
        if frame == 0 {
            surface
                .fill_solid(&canvas, CANVAS)
                .expect("surfaces never fail");
        }
        let mut area = surface.clipped(&canvas);
        for stroke in self.strokes.drain(..) {
            match stroke {
                Stroke::Clear => area.fill_solid(&canvas, CANVAS),
                Stroke::Line {
                    from,
                    to,
                    color,
                    brush,
                } => line(from, to).try_for_each(|at| area.fill_solid(&dab(at, brush), color)),
            }
            .expect("surfaces never fail");
        }
        if frame == 0 || std::mem::take(&mut self.toolbar_changed) {
            self.draw_toolbar(surface);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bochsfb_renderer::backend::{Backend, MemoryBackend};

    /// Paints `events` (each after its own frame) on a 320x240 memory frame.
    fn paint(events: &[Event]) -> MemoryBackend {
        let mode = Mode::xrgb8888(320, 240);
        let mut memory = MemoryBackend::new(mode).unwrap();
        let mut paint = Paint::new(mode);
        let mut input = InputState::default();
        paint.draw(&mut memory.surface(), 0);
        for (frame, event) in (1..).zip(events) {
            input.apply(event);
            paint.on_event(event, &input);
            paint.draw(&mut memory.surface(), frame);
        }
        memory
    }

    fn at(memory: &mut MemoryBackend, x: i32, y: i32) -> Rgb888 {
        memory.surface().pixel(Point::new(x, y)).unwrap()
    }

    #[test]
    fn a_drag_paints_a_band_of_the_brush_width_and_keys_change_the_colour() {
        use Event::*;
        let mut m = paint(&[
            PointerMoved(Point::new(40, 100)),
            ButtonDown(Button::Left),
            PointerMoved(Point::new(200, 100)),
            ButtonUp(Button::Left),
            PointerMoved(Point::new(40, 180)),
            KeyDown(Key::Num2),
            ButtonDown(Button::Left),
            PointerMoved(Point::new(40, 220)),
        ]);
        // The 8-pixel brush centred on row 100 covers rows 96..104, columns 36..204.
        for (x, y) in [(36, 96), (120, 100), (203, 103), (40, 100)] {
            assert_eq!(at(&mut m, x, y), Rgb888::BLACK, "({x},{y})");
        }
        for (x, y) in [(35, 100), (204, 100), (120, 95), (120, 104), (120, 150)] {
            assert_eq!(at(&mut m, x, y), CANVAS, "({x},{y})");
        }
        assert_eq!(at(&mut m, 40, 200), Rgb888::RED);
        // The palette marks the second swatch as chosen.
        assert_eq!(
            at(&mut m, (SWATCH_LEFT + SWATCH_PITCH - 2) as i32, 10),
            Rgb888::WHITE
        );
        assert_eq!(at(&mut m, (SWATCH_LEFT - 2) as i32, 10), TOOLBAR);
    }

    #[test]
    fn moving_without_the_button_paints_nothing_and_c_clears() {
        use Event::*;
        let mut m = paint(&[
            PointerMoved(Point::new(10, 50)),
            PointerMoved(Point::new(300, 200)),
        ]);
        assert!(m
            .surface()
            .to_rgb_image()
            .pixels()
            .skip(320 * 32)
            .all(|p| p.0 == [255, 255, 255]));
        let mut m = paint(&[
            PointerMoved(Point::new(10, 50)),
            ButtonDown(Button::Left),
            KeyDown(Key::C),
        ]);
        assert_eq!(at(&mut m, 10, 50), CANVAS);
        // Strokes stop at the toolbar.
        let mut m = paint(&[PointerMoved(Point::new(100, 33)), ButtonDown(Button::Left)]);
        assert_eq!(at(&mut m, 100, 33), Rgb888::BLACK);
        assert_eq!(at(&mut m, 100, 30), TOOLBAR);
    }

    #[test]
    fn lines_step_one_pixel_at_a_time_and_end_on_their_points() {
        let points: Vec<Point> = line(Point::new(0, 0), Point::new(5, -2)).collect();
        assert_eq!(points.len(), 6);
        assert_eq!(
            (points[0], points[5]),
            (Point::new(0, 0), Point::new(5, -2))
        );
        assert!(points
            .windows(2)
            .all(|w| (w[1] - w[0]).x == 1 && (w[1] - w[0]).y.abs() <= 1));
    }
}
