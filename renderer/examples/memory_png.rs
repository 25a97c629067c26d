//! Renders into memory in RGB565 and saves a PNG: no device needed (tests,
//! reference images, previews).
//!
//! `cargo run -p bochsfb-renderer --example memory_png -- out.png`

use bochsfb_renderer::backend::{Backend, MemoryBackend};
use bochsfb_renderer::{Mode, PixelFormat};
use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::Rectangle;

fn main() -> Result<(), bochsfb_renderer::Error> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "memory.png".into());
    let mut memory = MemoryBackend::new(Mode::packed(320, 240, PixelFormat::Rgb565))?;
    memory.surface().paint(
        &Rectangle::new(Point::zero(), Size::new(320, 240)),
        |at, row| {
            for (i, c) in row.iter_mut().enumerate() {
                *c = Rgb888::new((at.x as usize + i) as u8, at.y as u8, 128);
            }
        },
    );
    memory.present()?;
    println!("damage: {:?}", memory.presented_damage().rects());
    memory.save_png(&path)
}
