//! One session of the `paint` demo, driven by any input source (QMP into the guest, xdotool
//! into a host window): the strokes and keys to send, and the pixels each stage must leave,
//! from the paint layout restated in [`crate::oracles::paint_layout`].

use anyhow::Result;

use crate::oracles::paint_layout::{chosen_frame, BRUSH, CANVAS, SWATCHES, TOOLBAR};

/// The screen the script draws on.
pub const WIDTH: u32 = 640;
/// See [`WIDTH`].
pub const HEIGHT: u32 = 480;

const BLACK: [u8; 3] = SWATCHES[0];
const RED: [u8; 3] = SWATCHES[1];
const WHITE: [u8; 3] = [255, 255, 255];

/// Sends input the way a user would.
pub trait Driver {
    /// Moves the pointer to pixel `(x, y)`.
    fn point_at(&mut self, x: u32, y: u32) -> Result<()>;
    /// Presses (`true`) or releases the left button.
    fn button(&mut self, down: bool) -> Result<()>;
    /// Presses and releases a key, named as QEMU's qcodes and X keysyms both name it
    /// (`2`, `equal`, `c`, `q`).
    fn tap(&mut self, key: &str) -> Result<()>;
}

/// Drags with the button held through `points` (the first is where the button goes down).
fn drag(driver: &mut dyn Driver, points: &[(u32, u32)]) -> Result<()> {
    driver.point_at(points[0].0, points[0].1)?;
    driver.button(true)?;
    for &(x, y) in &points[1..] {
        driver.point_at(x, y)?;
    }
    driver.button(false)
}

/// A pixel the screen must show after a stage.
#[derive(Debug, Clone)]
pub struct Expect {
    pub x: u32,
    pub y: u32,
    pub rgb: [u8; 3],
    pub what: &'static str,
}

const fn expect(x: u32, y: u32, rgb: [u8; 3], what: &'static str) -> Expect {
    Expect { x, y, rgb, what }
}

/// One step of the session.
pub struct Stage {
    pub name: &'static str,
    /// Sends the stage's input.
    pub run: fn(&mut dyn Driver) -> Result<()>,
    /// What the screen shows once the stage's input is drawn; it stays true through the
    /// later stages of [`drawing`].
    pub shows: Vec<Expect>,
}

/// What paint shows before any input (the first frame is presented after its input devices
/// are open).
pub fn started() -> Vec<Expect> {
    let (x, y) = chosen_frame(0);
    vec![
        expect(x, y, WHITE, "the frame of the first swatch"),
        expect(WIDTH / 2, HEIGHT / 2, CANVAS, "the canvas"),
    ]
}

/// The drawing stages: a black stroke, a red one after key 2, a big dab after `=`. The
/// 8-pixel brush covers 4 pixels before each point to 3 after, the 16-pixel one 8 before to 7.
pub fn drawing() -> Vec<Stage> {
    let half = BRUSH / 2;
    let (frame_x, frame_y) = chosen_frame(1);
    let (old_frame_x, old_frame_y) = chosen_frame(0);
    vec![
        Stage {
            name: "black-stroke",
            run: |d| drag(d, &[(100, 200), (300, 200), (300, 300)]),
            shows: vec![
                expect(100, 200, BLACK, "where the button went down"),
                expect(200, 200, BLACK, "along the stroke"),
                expect(300, 250, BLACK, "down the stroke's second leg"),
                expect(300, 300, BLACK, "where the button came up"),
                expect(
                    100 - half,
                    200 - half,
                    BLACK,
                    "the first dab's top-left pixel",
                ),
                expect(100 - half - 1, 200, WHITE, "left of the first dab"),
                expect(200, 200 - half - 1, WHITE, "above the stroke"),
                expect(200, 200 + half, WHITE, "below the stroke"),
                expect(
                    300 + half - 1,
                    300 + half - 1,
                    BLACK,
                    "the last dab's bottom-right pixel",
                ),
                expect(300, 300 + half, WHITE, "below where the button came up"),
                expect(200, 250, WHITE, "inside the corner the stroke turned"),
            ],
        },
        Stage {
            name: "red-stroke",
            run: |d| {
                d.tap("2")?;
                drag(d, &[(100, 400), (500, 400)])
            },
            shows: vec![
                expect(frame_x, frame_y, WHITE, "the frame of the second swatch"),
                expect(
                    old_frame_x,
                    old_frame_y,
                    TOOLBAR,
                    "the first swatch's frame, gone",
                ),
                expect(100, 400, RED, "the red stroke's start"),
                expect(300, 400, RED, "along the red stroke"),
                expect(500, 400, RED, "the red stroke's end"),
                expect(
                    200,
                    350,
                    WHITE,
                    "between the strokes (a lost button-up would draw here)",
                ),
                expect(300, 200, BLACK, "the black stroke, kept"),
            ],
        },
        Stage {
            name: "big-brush",
            run: |d| {
                d.tap("equal")?;
                drag(d, &[(560, 100)])
            },
            shows: vec![
                expect(552, 92, RED, "the big dab's top-left pixel"),
                expect(567, 107, RED, "the big dab's bottom-right pixel"),
                expect(551, 100, WHITE, "left of the big dab"),
                expect(568, 100, WHITE, "right of the big dab"),
            ],
        },
    ]
}

/// After [`drawing`]: `c` clears the canvas.
pub fn clear(driver: &mut dyn Driver) -> Result<Vec<Expect>> {
    driver.tap("c")?;
    Ok(vec![
        expect(200, 200, CANVAS, "the black stroke, cleared"),
        expect(300, 400, CANVAS, "the red stroke, cleared"),
        expect(560, 100, CANVAS, "the big dab, cleared"),
    ])
}

/// The expectations `screen` misses, one line each.
pub fn misses(screen: &image::RgbImage, pixels: &[Expect]) -> Vec<String> {
    pixels
        .iter()
        .filter(|e| screen.get_pixel(e.x, e.y).0 != e.rgb)
        .map(|e| {
            format!(
                "{} ({},{}) is {:?}, expected {:?}",
                e.what,
                e.x,
                e.y,
                screen.get_pixel(e.x, e.y).0,
                e.rgb
            )
        })
        .collect()
}
