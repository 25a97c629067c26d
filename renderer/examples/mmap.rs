//! Draws into mapped VRAM of `/dev/bochsfb0`, double buffered by page flips
//! where the driver can pan (else a RAM copy), for 60 frames.
//!
//! `cargo run -p bochsfb-renderer --example mmap` (in the guest: any program
//! built like the demos).

use bochsfb_renderer::backend::{Backend, MmapBackend};
use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::{Circle, PrimitiveStyle};

fn main() -> Result<(), bochsfb_renderer::Error> {
    let mut fb = MmapBackend::open("/dev/bochsfb0")?;
    println!("{} via {}", fb.mode(), fb.presentation());
    for frame in 0..60 {
        let mut surface = fb.surface();
        surface.clear(Rgb888::BLACK).unwrap();
        Circle::new(Point::new(frame * 8, 100), 64)
            .into_styled(PrimitiveStyle::with_fill(Rgb888::YELLOW))
            .draw(&mut surface)
            .unwrap();
        fb.present()?; // PAN to the frame just drawn
    }
    Ok(())
}
