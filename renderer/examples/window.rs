//! A minifb window on the host, the same drawing code as on a device.
//!
//! `cargo run -p bochsfb-renderer --features window --example window`

use bochsfb_renderer::backend::{Backend, WindowBackend};
use bochsfb_renderer::clock::{FrameCounter, Pacer};
use bochsfb_renderer::Mode;
use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::{PrimitiveStyle, Rectangle};

fn main() -> Result<(), bochsfb_renderer::Error> {
    let mut window = WindowBackend::open("bochsfb renderer", Mode::xrgb8888(640, 480))?;
    let (mut pacer, mut counter) = (Pacer::new(Some(60.0)), FrameCounter::new());
    let mut x = 0;
    while window.is_open() && counter.stats().frames < 600 {
        pacer.wait();
        let mut surface = window.surface();
        surface.clear(Rgb888::BLACK).unwrap();
        Rectangle::new(Point::new(x % 600, 200), Size::new(40, 40))
            .into_styled(PrimitiveStyle::with_fill(Rgb888::GREEN))
            .draw(&mut surface)
            .unwrap();
        window.present()?;
        counter.tick();
        x += 4;
    }
    println!("{}", counter.stats());
    Ok(())
}
