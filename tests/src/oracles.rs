//! Independent expectations for the demos: a handful of pixels per demo whose colours are
//! computed here from each demo's definition (its formula, constants and seeds, restated), not
//! by drawing through the renderer. The pixel-for-pixel comparison with the memory backend
//! cannot see a bug that the renderer or a demo makes on both sides; these probes can.
//!
//! Only the demos' integer sine table and random generator (`bochsfb_demos::math`) are shared:
//! they are the definition of the numbers, not a drawing path.

use bochsfb_demos::math::{bounce, sine_table, Rng};
use image::RgbImage;

/// One pixel the screen must show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub x: u32,
    pub y: u32,
    /// The colour, or the range of colours (`low..=high` per channel) the pixel may have.
    pub low: [u8; 3],
    pub high: [u8; 3],
    pub what: String,
}

impl Probe {
    fn exact(x: u32, y: u32, rgb: [u8; 3], what: impl Into<String>) -> Probe {
        Probe {
            x,
            y,
            low: rgb,
            high: rgb,
            what: what.into(),
        }
    }
}

/// How far a format's quantisation may move a channel: 16 bpp keeps 5 or 6 bits.
pub fn slack(bits_per_pixel: u32) -> u8 {
    match bits_per_pixel {
        16 => 8,
        8 => 36,
        _ => 0,
    }
}

/// The probes of demo `name` after frames `0..=frame` in a `width x height` mode; `None` for a
/// demo this module does not know (a new demo must add its probes).
pub fn probes(name: &str, width: u32, height: u32, frame: u64) -> Option<Vec<Probe>> {
    Some(match name {
        "testcard" => testcard(width, height),
        "plasma" => plasma(width, height, frame),
        "mandelbrot" => mandelbrot(width, height, frame),
        "sprites" => sprites(width, height, frame),
        "starfield" => starfield(width, height, frame),
        "console" => console(width, height, frame),
        "slideshow" => slideshow(width, height, frame),
        "paint" => paint(width, height),
        _ => return None,
    })
}

/// Fails naming every probe that `screen` misses; `slack` widens each probe's range per
/// channel (the quantisation of a 16 bpp mode).
pub fn check(screen: &RgbImage, probes: &[Probe], slack: u8) -> Result<(), String> {
    let misses: Vec<String> = probes
        .iter()
        .filter_map(|p| {
            let got = screen.get_pixel(p.x, p.y).0;
            let inside = (0..3).all(|c| {
                got[c] >= p.low[c].saturating_sub(slack)
                    && got[c] <= p.high[c].saturating_add(slack)
            });
            (!inside).then(|| {
                format!(
                    "{} at ({},{}) is {got:?}, expected {:?}..={:?}",
                    p.what, p.x, p.y, p.low, p.high
                )
            })
        })
        .collect();
    if misses.is_empty() {
        Ok(())
    } else {
        Err(misses.join("; "))
    }
}

/// The test card's bars, left to right: its definition restated (demos/src/lib.rs).
pub const TESTCARD_BARS: [(&str, [u8; 3]); 8] = [
    ("white bar", [255, 255, 255]),
    ("yellow bar", [255, 255, 0]),
    ("cyan bar", [0, 255, 255]),
    ("green bar", [0, 255, 0]),
    ("magenta bar", [255, 0, 255]),
    ("red bar", [255, 0, 0]),
    ("blue bar", [0, 0, 255]),
    ("black bar", [0, 0, 0]),
];

/// Bars over the top two thirds, a marker in each corner, grid lines every 32 pixels below.
fn testcard(w: u32, h: u32) -> Vec<Probe> {
    let bars_height = h * 2 / 3;
    let mut probes: Vec<Probe> = TESTCARD_BARS
        .iter()
        .enumerate()
        .map(|(i, &(what, rgb))| {
            let centre = w * (2 * i as u32 + 1) / 16;
            Probe::exact(centre, bars_height / 2, rgb, what)
        })
        .collect();
    for (x, y, rgb, what) in [
        (0, 0, [255, 128, 0], "orange top-left marker"),
        (w - 1, 0, [128, 0, 255], "violet top-right marker"),
        (0, h - 1, [0, 255, 128], "spring-green bottom-left marker"),
        (w - 1, h - 1, [255, 128, 192], "pink bottom-right marker"),
    ] {
        probes.push(Probe::exact(x, y, rgb, what));
    }
    // Just below the bars, away from the horizontal lines: the vertical line at x = 32 is
    // grey, the next column black.
    let y = bars_height + 5;
    if !y.is_multiple_of(32) {
        probes.push(Probe::exact(32, y, [128, 128, 128], "grid line at x = 32"));
        probes.push(Probe::exact(33, y, [0, 0, 0], "black between grid lines"));
    }
    probes
}

fn sine_channel(s: &[i32; 256], i: usize, bias: i32) -> u8 {
    (bias + s[i & 255]).clamp(0, 255) as u8
}

/// The plasma's formula (demos/src/plasma.rs) at a few points.
fn plasma(w: u32, h: u32, frame: u64) -> Vec<Probe> {
    let s = sine_table();
    let t = frame as usize;
    let (wu, hu) = (w as usize, h as usize);
    let k = (256 * 3 * 256 / wu.max(1)).max(1);
    let colour = |x: usize, y: usize| {
        let v = s[(x * k / 256 + t * 3) & 255]
            + s[(x * k / 128 + 2 * t) & 255] / 2
            + s[(y * k / 256 + 5 * t) & 255]
            + s[(((x + wu) * k / 384) + ((y * k / 192 + t) & 255) + (hu - y) * k / 512) & 255];
        let i = ((v / 4) + 2 * t as i32).rem_euclid(256) as usize;
        [
            sine_channel(&s, i, 128),
            sine_channel(&s, i + 85, 128),
            sine_channel(&s, i + 170, 128),
        ]
    };
    [
        (0, 0),
        (w / 3, h / 5),
        (w / 2, h / 2),
        (w - 1, h - 1),
        (w * 7 / 8, h / 3),
    ]
    .into_iter()
    .map(|(x, y)| Probe::exact(x, y, colour(x as usize, y as usize), "plasma formula"))
    .collect()
}

/// The seahorse-valley zoom (demos/src/mandelbrot.rs): escape counts at a few points.
fn mandelbrot(w: u32, h: u32, frame: u64) -> Vec<Probe> {
    let s = sine_table();
    let mut scale = 3.2 / f64::from(w);
    for _ in 0..frame % 240 {
        scale *= 0.95;
    }
    let max_iter = 48 + 3 * (frame % 240) as u32;
    let (cx, cy) = (f64::from(w) / 2.0, f64::from(h) / 2.0);
    let escape = |x: u32, y: u32| {
        let cr = -0.743_643_887_037_151 + (f64::from(x) - cx) * scale;
        let ci = 0.131_825_904_205_33 + (f64::from(y) - cy) * scale;
        let (mut zr, mut zi) = (0.0f64, 0.0f64);
        for i in 0..max_iter {
            if zr * zr + zi * zi > 4.0 {
                return Some(i);
            }
            (zr, zi) = (zr * zr - zi * zi + cr, 2.0 * zr * zi + ci);
        }
        None
    };
    let colour = |escaped: Option<u32>| match escaped {
        Some(i) => {
            let p = (i as usize * 4) & 255;
            [
                sine_channel(&s, p * 3, 128),
                sine_channel(&s, p * 5 + 40, 110),
                sine_channel(&s, p * 7 + 90, 150),
            ]
        }
        None => [0, 0, 0],
    };
    let mut points = vec![(0, 0), (w / 2, h / 2), (w / 4, h * 3 / 4), (w - 1, h / 2)];
    // The grid points that escape last, nearest the set's edge: there a wrong iteration
    // limit or zoom shows.
    let mut edge: Vec<(u32, (u32, u32))> = (0..h)
        .step_by(5)
        .flat_map(|y| (0..w).step_by(5).map(move |x| (x, y)))
        .filter_map(|(x, y)| escape(x, y).map(|i| (i, (x, y))))
        .collect();
    edge.sort_by_key(|&(i, _)| std::cmp::Reverse(i));
    points.extend(edge.iter().take(4).map(|&(_, at)| at));
    points
        .into_iter()
        .map(|(x, y)| Probe::exact(x, y, colour(escape(x, y)), "escape count colour"))
        .collect()
}

/// Twelve 48x48 balls bouncing over a checkerboard (demos/src/sprites.rs): the top ball's
/// centre, and the checkerboard where no ball is.
/// The paint demo's layout (demos/src/paint.rs), restated: a 32-row toolbar of dark grey with
/// eight 24-pixel swatches from x = 8, 36 apart, at y = 4, the first (black) framed in white;
/// below it a white canvas.
pub mod paint_layout {
    pub const TOOLBAR_HEIGHT: u32 = 32;
    pub const TOOLBAR: [u8; 3] = [48, 48, 48];
    pub const CANVAS: [u8; 3] = [255, 255, 255];
    /// Key `i + 1` chooses `SWATCHES[i]`.
    pub const SWATCHES: [[u8; 3]; 8] = [
        [0, 0, 0],
        [255, 0, 0],
        [0, 160, 0],
        [0, 0, 255],
        [255, 200, 0],
        [255, 0, 255],
        [0, 255, 255],
        [255, 128, 0],
    ];
    /// The centre of swatch `i`.
    pub fn swatch_centre(i: u32) -> (u32, u32) {
        (8 + 36 * i + 12, 4 + 12)
    }
    /// A point of the white frame around the chosen swatch `i` (left of it).
    pub fn chosen_frame(i: u32) -> (u32, u32) {
        (8 + 36 * i - 2, 16)
    }
    /// The brush's side until `-` or `=` change it.
    pub const BRUSH: u32 = 8;
}

/// Paint before any input: the toolbar with black chosen, the canvas white.
fn paint(w: u32, h: u32) -> Vec<Probe> {
    use paint_layout::*;
    let mut probes = Vec::new();
    for (i, &rgb) in SWATCHES.iter().enumerate().take(((w - 8) / 36) as usize) {
        let (x, y) = swatch_centre(i as u32);
        probes.push(Probe::exact(x, y, rgb, format!("swatch {}", i + 1)));
    }
    let (x, y) = chosen_frame(0);
    probes.push(Probe::exact(
        x,
        y,
        [255, 255, 255],
        "the frame of the chosen swatch",
    ));
    let (x, y) = chosen_frame(1);
    probes.push(Probe::exact(
        x,
        y,
        TOOLBAR,
        "toolbar beside an unchosen swatch",
    ));
    for (x, y) in [
        (0, TOOLBAR_HEIGHT),
        (w / 2, h / 2),
        (w - 1, h - 1),
        (w / 3, TOOLBAR_HEIGHT + 1),
    ] {
        probes.push(Probe::exact(x, y, CANVAS, "white canvas"));
    }
    probes
}

fn sprites(w: u32, h: u32, frame: u64) -> Vec<Probe> {
    const BALL: u32 = 48;
    const TINTS: [[u32; 3]; 5] = [
        [255, 255, 255],
        [255, 120, 120],
        [120, 255, 140],
        [130, 160, 255],
        [255, 230, 90],
    ];
    let mut rng = Rng(0x5eed_5eed);
    let t = frame as i64;
    let balls: Vec<(u32, u32, usize)> = (0..12)
        .map(|i| {
            let start = (i64::from(rng.below(w)), i64::from(rng.below(h)));
            let velocity = (i64::from(rng.below(13)) + 3, i64::from(rng.below(11)) + 2);
            let x = bounce(start.0 + velocity.0 * t, i64::from(w - BALL));
            let y = bounce(start.1 + velocity.1 * t, i64::from(h - BALL));
            (x as u32, y as u32, i % TINTS.len())
        })
        .collect();
    let ball = image::load_from_memory(include_bytes!("../../demos/assets/ball.png"))
        .expect("the ball decodes")
        .to_rgba8();
    let covered_by = |px: u32, py: u32, (bx, by): (u32, u32)| {
        px >= bx && px < bx + BALL && py >= by && py < by + BALL
    };
    let covered = |px: u32, py: u32| {
        balls
            .iter()
            .any(|&(bx, by, _)| covered_by(px, py, (bx, by)))
    };
    let background = |x: u32, y: u32| {
        let base = (y * 96 / h) as u8;
        if ((x / 32) + (y / 32)).is_multiple_of(2) {
            [20 + base / 2, 30 + base / 2, 60 + base]
        } else {
            [10 + base / 3, 15 + base / 3, 35 + base / 2]
        }
    };
    let mut probes = Vec::new();
    // Each ball whose centre no other ball covers: there the ball (translucent: alpha 230 at
    // most) is blended over the checkerboard. Rounding may differ by one either way.
    let alone = balls.iter().enumerate().filter(|&(i, &(x, y, _))| {
        let (cx, cy) = (x + BALL / 2, y + BALL / 2);
        !balls
            .iter()
            .enumerate()
            .any(|(j, &(bx, by, _))| j != i && covered_by(cx, cy, (bx, by)))
    });
    for (_, &(x, y, tint)) in alone {
        let (cx, cy) = (x + BALL / 2, y + BALL / 2);
        let src = ball.get_pixel(BALL / 2, BALL / 2).0;
        let dst = background(cx, cy);
        let alpha = u32::from(src[3]);
        let (mut low, mut high) = ([0u8; 3], [0u8; 3]);
        for c in 0..3 {
            let tinted = u32::from(src[c]) * TINTS[tint][c] / 255;
            let blend = tinted * alpha + u32::from(dst[c]) * (255 - alpha);
            low[c] = (blend / 255).saturating_sub(1) as u8;
            high[c] = (blend.div_ceil(255) + 1).min(255) as u8;
        }
        probes.push(Probe {
            x: cx,
            y: cy,
            low,
            high,
            what: "centre of a ball over the checkerboard".into(),
        });
    }
    let free = (0..h)
        .step_by(17)
        .flat_map(|y| (0..w).step_by(23).map(move |x| (x, y)))
        .filter(|&(x, y)| !covered(x, y));
    for (x, y) in free.step_by(37).take(4) {
        probes.push(Probe::exact(x, y, background(x, y), "checkerboard"));
    }
    probes
}

/// 500 stars flying closer (demos/src/starfield.rs): the star drawn last, and black space.
fn starfield(w: u32, h: u32, frame: u64) -> Vec<Probe> {
    const DEPTH: i64 = 1024;
    let mut rng = Rng(0x0005_7a25);
    let (cx, cy, focal) = (i64::from(w / 2), i64::from(h / 2), i64::from(w) / 4);
    let t = frame as i64;
    // (x, y, size, colour) of each star, in drawing order.
    let stars: Vec<(i64, i64, i64, [u8; 3])> = (0..500)
        .map(|_| {
            let x = i64::from(rng.below(4000)) - 2000;
            let y = i64::from(rng.below(3000)) - 1500;
            let z0 = i64::from(rng.below(DEPTH as u32));
            let z = (z0 - 9 * t).rem_euclid(DEPTH) + 1;
            let near = (DEPTH - z) * 255 / DEPTH;
            let v = (40 + near * 215 / 255) as u8;
            let colour = [v, v, (u16::from(v) + 30).min(255) as u8];
            (
                cx + x * focal / z,
                cy + y * focal / z,
                1 + 3 * near / 255,
                colour,
            )
        })
        .collect();
    let covers = |&(sx, sy, size, _): &(i64, i64, i64, [u8; 3]), x: i64, y: i64| {
        x >= sx && x < sx + size && y >= sy && y < sy + size
    };
    let on_screen = |x: i64, y: i64| x >= 0 && y >= 0 && x < i64::from(w) && y < i64::from(h);
    let mut probes = Vec::new();
    if let Some(star) = stars.iter().rev().find(|s| on_screen(s.0, s.1)) {
        probes.push(Probe::exact(
            star.0 as u32,
            star.1 as u32,
            star.3,
            "top-left pixel of the last star on screen",
        ));
    }
    let dark = (0..i64::from(h))
        .step_by(19)
        .flat_map(|y| (0..i64::from(w)).step_by(29).map(move |x| (x, y)))
        .filter(|&(x, y)| !stars.iter().any(|s| covers(s, x, y)));
    for (x, y) in dark.step_by(41).take(4) {
        probes.push(Probe::exact(x as u32, y as u32, [0, 0, 0], "black space"));
    }
    probes
}

/// The console (demos/src/console.rs): its title bar, the background right of the text, and
/// the blinking cursor's cell.
fn console(w: u32, h: u32, frame: u64) -> Vec<Probe> {
    const BAR: u32 = 28;
    const LINE: u32 = 14;
    const BACKGROUND: [u8; 3] = [8, 16, 8];
    const TEXT: [u8; 3] = [120, 230, 120];
    let rows = u64::from((h - BAR - 4) / LINE).max(1);
    let row = (frame / 3 + 1).min(rows - 1) as u32;
    let cursor = if (frame / 4).is_multiple_of(2) {
        TEXT
    } else {
        BACKGROUND
    };
    vec![
        Probe::exact(w / 2, 1, [30, 60, 120], "title bar"),
        Probe::exact(w - 3, h - 3, BACKGROUND, "console background"),
        Probe::exact(6 + 4, BAR + 4 + row * LINE + 6, cursor, "cursor cell"),
    ]
}

/// The first slide (demos/src/slideshow.rs; the tests stop before the first wipe): a
/// 480x360 PNG scaled to fit. A scaled pixel is a blend of the source pixels around its
/// position, so each probe allows the range of those.
fn slideshow(w: u32, h: u32, _frame: u64) -> Vec<Probe> {
    let slide = image::load_from_memory(include_bytes!("../../demos/assets/slide-mandelbrot.png"))
        .expect("the slide decodes")
        .to_rgb8();
    let (sw, sh) = slide.dimensions();
    // Fit: as large as the screen allows, aspect kept, centred.
    let (fw, fh) = if u64::from(w) * u64::from(sh) <= u64::from(h) * u64::from(sw) {
        (w, (u64::from(w) * u64::from(sh) / u64::from(sw)) as u32)
    } else {
        ((u64::from(h) * u64::from(sw) / u64::from(sh)) as u32, h)
    };
    let (ox, oy) = ((w - fw) / 2, (h - fh) / 2);
    [(fw / 2, fh / 2), (fw / 5, fh / 3), (fw * 4 / 5, fh * 2 / 3)]
        .into_iter()
        .map(|(x, y)| {
            let (sx, sy) = (x * sw / fw, y * sh / fh);
            let (mut low, mut high) = ([255u8; 3], [0u8; 3]);
            for ny in sy.saturating_sub(2)..(sy + 3).min(sh) {
                for nx in sx.saturating_sub(2)..(sx + 3).min(sw) {
                    let p = slide.get_pixel(nx, ny).0;
                    for c in 0..3 {
                        low[c] = low[c].min(p[c]);
                        high[c] = high[c].max(p[c]);
                    }
                }
            }
            Probe {
                x: ox + x,
                y: oy + y,
                low,
                high,
                what: "scaled slide pixel".into(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_demo_has_probes_inside_the_screen() {
        for demo in bochsfb_demos::names() {
            for (w, h) in [(640, 480), (320, 240)] {
                let probes =
                    probes(demo, w, h, 4).unwrap_or_else(|| panic!("no probes for {demo}"));
                assert!(probes.len() >= 3, "{demo}: {} probes", probes.len());
                assert!(
                    probes.iter().all(|p| p.x < w && p.y < h),
                    "{demo}: {probes:?}"
                );
            }
        }
    }

    /// The probes and the renderer agree on the host, in every format the e2e tests use: a
    /// disagreement means one of them draws the demo wrong.
    #[test]
    fn probes_agree_with_the_memory_backend() {
        use bochsfb_renderer::{Mode, PixelFormat};
        assert_eq!(slack(PixelFormat::Rgb565.bpp()), 8);
        for mode in [
            Mode::xrgb8888(640, 480),
            Mode::packed(320, 240, PixelFormat::Rgb565),
            Mode::packed(320, 240, PixelFormat::Rgb888),
        ] {
            for demo in bochsfb_demos::names() {
                let screen = bochsfb_demos::render(demo, mode, 4).unwrap().to_rgb_image();
                let probes = probes(demo, mode.width, mode.height, 4).unwrap();
                check(&screen, &probes, slack(mode.bpp))
                    .unwrap_or_else(|e| panic!("{demo} in {mode}: {e}"));
            }
        }
    }

    #[test]
    fn a_probe_outside_its_range_is_named() {
        let mut screen = RgbImage::new(4, 4);
        screen.put_pixel(1, 2, image::Rgb([10, 20, 30]));
        let probe = Probe::exact(1, 2, [10, 20, 30], "dot");
        assert!(check(&screen, std::slice::from_ref(&probe), 0).is_ok());
        let err = check(&screen, &[Probe::exact(1, 2, [10, 20, 40], "dot")], 0).unwrap_err();
        assert!(err.contains("dot at (1,2)"), "{err}");
        assert!(check(&screen, &[Probe::exact(1, 2, [10, 20, 38], "dot")], 8).is_ok());
    }
}
