//! PNG and JPEG images, each scaled to fit the screen, with a wipe between them.

use bochsfb_renderer::{decode_image, Mode, Rect, Surface};
use embedded_graphics::prelude::Point;
use image::imageops::{self, FilterType};
use image::RgbImage;

use crate::Demo;

/// The slides, shown in this order (PNG first: it decodes identically
/// everywhere, and the tests compare early frames).
const SLIDES: [&[u8]; 4] = [
    include_bytes!("../assets/slide-mandelbrot.png"),
    include_bytes!("../assets/slide-sunset.jpg"),
    include_bytes!("../assets/slide-wheel.png"),
    include_bytes!("../assets/slide-aurora.jpg"),
];
/// Frames each slide stays up, then frames of wipe to the next.
const HOLD: u64 = 30;
const WIPE: u64 = 10;

pub struct Slideshow {
    /// Each slide scaled to fit, centred on black, screen-sized.
    slides: Vec<RgbImage>,
    mode: Mode,
}

impl Slideshow {
    pub fn new(mode: Mode) -> Slideshow {
        let (w, h) = (mode.width, mode.height);
        let slides = SLIDES
            .iter()
            .map(|bytes| {
                let image = decode_image(bytes).expect("embedded images decode");
                let area = embedded_graphics::primitives::Rectangle::new(
                    Point::zero(),
                    embedded_graphics::prelude::Size::new(w, h),
                );
                let fit = bochsfb_renderer::fit(image.dimensions(), &area);
                let scaled = imageops::resize(
                    &image,
                    fit.size.width.max(1),
                    fit.size.height.max(1),
                    FilterType::Triangle,
                );
                let mut slide = RgbImage::new(w, h);
                let rgb = image::DynamicImage::ImageRgba8(scaled).to_rgb8();
                imageops::replace(
                    &mut slide,
                    &rgb,
                    i64::from(fit.top_left.x),
                    i64::from(fit.top_left.y),
                );
                slide
            })
            .collect();
        Slideshow { slides, mode }
    }
}

impl Demo for Slideshow {
    fn redraws_all(&self) -> bool {
        false
    }

    fn draw(&mut self, surface: &mut Surface<'_>, frame: u64) {
        let n = self.slides.len() as u64;
        let period = HOLD + WIPE;
        let (slide, phase) = ((frame / period) % n, frame % period);
        if frame == 0 {
            surface.blit(&self.slides[0], Point::zero());
            return;
        }
        if phase < HOLD {
            return;
        }
        // Wipe left to right: reveal the next slide's columns for this step.
        let next = &self.slides[((slide + 1) % n) as usize];
        let w = u64::from(self.mode.width);
        let step = phase - HOLD;
        let (from, to) = (w * step / WIPE, w * (step + 1) / WIPE);
        let strip = Rect::new(from as u32, 0, (to - from) as u32, self.mode.height);
        surface.blit_region(next, strip, Point::new(from as i32, 0));
    }
}
