//! Draws into the driver's RAM shadow of VRAM and flushes the damaged
//! rectangles with one `BOCHSFB_IOCTL_FLUSH` per frame; falls back to mmap
//! on a driver without a shadow buffer.
//!
//! `cargo run -p bochsfb-renderer --example shadow`

use bochsfb_renderer::backend::{self, Kind, Options};
use embedded_graphics::mono_font::{ascii::FONT_10X20, MonoTextStyle};
use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::text::Text;

fn main() -> Result<(), bochsfb_renderer::Error> {
    let options = Options::default();
    let mut fb = match backend::open(Kind::Shadow, &options) {
        Err(e) if e.can_fall_back() => {
            eprintln!("{e}; falling back to mmap");
            backend::open(Kind::Mmap, &options)?
        }
        other => other?,
    };
    let style = MonoTextStyle::new(&FONT_10X20, Rgb888::WHITE);
    Text::new("hello from the shadow buffer", Point::new(20, 40), style)
        .draw(&mut fb.surface())
        .unwrap();
    fb.present()
}
