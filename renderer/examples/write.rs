//! Draws into RAM and sends only the changed spans to `/dev/bochsfb0` with
//! `pwrite`: a moving square costs a few short writes per frame.
//!
//! `cargo run -p bochsfb-renderer --example write`

use bochsfb_renderer::backend::{Backend, WriteBackend};
use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::{PrimitiveStyle, Rectangle};

fn main() -> Result<(), bochsfb_renderer::Error> {
    let mut fb = WriteBackend::open("/dev/bochsfb0")?;
    let square = |x| Rectangle::new(Point::new(x, 50), Size::new(32, 32));
    for x in 0..100 {
        let mut surface = fb.surface();
        square(x - 1)
            .into_styled(PrimitiveStyle::with_fill(Rgb888::BLACK))
            .draw(&mut surface)
            .unwrap();
        square(x)
            .into_styled(PrimitiveStyle::with_fill(Rgb888::RED))
            .draw(&mut surface)
            .unwrap();
        fb.present()?;
    }
    println!("{} write(2) calls for 100 frames", fb.writes());
    Ok(())
}
