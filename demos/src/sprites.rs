//! Alpha-blended PNG sprites bouncing over a background.

use bochsfb_renderer::input::{Event, InputState, Key};
use bochsfb_renderer::{decode_image, Mode, Rect, Surface};
use embedded_graphics::prelude::Point;
use image::{RgbImage, RgbaImage};

use crate::math::{bounce, Rng};
use crate::Demo;

/// The sprite: a shaded ball with soft, translucent edges (RGBA PNG).
const BALL_PNG: &[u8] = include_bytes!("../assets/ball.png");
const SPRITES: usize = 12;
/// Pixels per frame an arrow key moves the first sprite.
const STEER_SPEED: i64 = 8;

struct Sprite {
    start: (i64, i64),
    velocity: (i64, i64),
    image: usize,
}

pub struct Sprites {
    background: RgbImage,
    images: Vec<RgbaImage>,
    sprites: Vec<Sprite>,
    /// Where each sprite was drawn last frame.
    previous: Vec<Rect>,
    mode: Mode,
    /// The arrow keys held, and how far they moved the first sprite off its path.
    input: InputState,
    steer: (i64, i64),
}

/// A tinted copy of `ball` (channels multiplied by `tint`/255).
fn tinted(ball: &RgbaImage, tint: [u32; 3]) -> RgbaImage {
    let mut out = ball.clone();
    for p in out.pixels_mut() {
        // Red, green and blue; alpha stays.
        for (channel, t) in p.0.iter_mut().zip(tint) {
            *channel = (u32::from(*channel) * t / 255) as u8;
        }
    }
    out
}

impl Sprites {
    pub fn new(mode: Mode) -> Sprites {
        let ball = decode_image(BALL_PNG).expect("the embedded PNG decodes");
        let tints = [
            [255, 255, 255],
            [255, 120, 120],
            [120, 255, 140],
            [130, 160, 255],
            [255, 230, 90],
        ];
        let images: Vec<RgbaImage> = tints.iter().map(|&t| tinted(&ball, t)).collect();
        let (w, h) = (mode.width, mode.height);
        let background = RgbImage::from_fn(w, h, |x, y| {
            let checker = ((x / 32) + (y / 32)) % 2 == 0;
            let base = (y * 96 / h.max(1)) as u8;
            if checker {
                image::Rgb([20 + base / 2, 30 + base / 2, 60 + base])
            } else {
                image::Rgb([10 + base / 3, 15 + base / 3, 35 + base / 2])
            }
        });
        let mut rng = Rng(0x5eed_5eed);
        let sprites = (0..SPRITES)
            .map(|i| Sprite {
                start: (
                    i64::from(rng.below(w.max(1))),
                    i64::from(rng.below(h.max(1))),
                ),
                velocity: (i64::from(rng.below(13)) + 3, i64::from(rng.below(11)) + 2),
                image: i % images.len(),
            })
            .collect();
        Sprites {
            background,
            images,
            sprites,
            previous: Vec::new(),
            mode,
            input: InputState::default(),
            steer: (0, 0),
        }
    }
}

impl Demo for Sprites {
    fn redraws_all(&self) -> bool {
        false
    }

    fn on_event(&mut self, event: &Event, _input: &InputState) {
        self.input.apply(event);
    }

    fn draw(&mut self, surface: &mut Surface<'_>, frame: u64) {
        if frame == 0 {
            surface.blit(&self.background, Point::zero());
        } else {
            // Put the background back where the sprites were.
            for r in &self.previous {
                surface.blit_region(&self.background, *r, Point::new(r.x as i32, r.y as i32));
            }
        }
        self.previous.clear();
        let held = |key| i64::from(self.input.is_down(key));
        self.steer.0 += STEER_SPEED * (held(Key::Right) - held(Key::Left));
        self.steer.1 += STEER_SPEED * (held(Key::Down) - held(Key::Up));
        let t = frame as i64;
        for (i, s) in self.sprites.iter().enumerate() {
            let image = &self.images[s.image];
            let (iw, ih) = (i64::from(image.width()), i64::from(image.height()));
            let steer = if i == 0 { self.steer } else { (0, 0) };
            let x = bounce(
                s.start.0 + steer.0 + s.velocity.0 * t,
                i64::from(self.mode.width) - iw,
            );
            let y = bounce(
                s.start.1 + steer.1 + s.velocity.1 * t,
                i64::from(self.mode.height) - ih,
            );
            surface.blit(image, Point::new(x as i32, y as i32));
            self.previous
                .push(Rect::new(x as u32, y as u32, iw as u32, ih as u32));
        }
    }
}
