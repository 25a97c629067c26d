//! Any Linux framebuffer: `/dev/fb0` of a DRM driver's fbdev emulation, or
//! `/dev/bochsfb0`, which answers the same ioctls. Pans between two frames
//! where the driver allows it.
//!
//! `cargo run -p bochsfb-renderer --example fbdev -- /dev/fb0`

use bochsfb_renderer::backend::{Backend, FbdevBackend};
use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;

fn main() -> Result<(), bochsfb_renderer::Error> {
    let device = std::env::args().nth(1).unwrap_or_else(|| "/dev/fb0".into());
    let mut fb = FbdevBackend::open(&device)?;
    println!(
        "{device}: {} ({}) via {}",
        fb.mode(),
        fb.surface().format(),
        fb.presentation()
    );
    for shade in (0..=255u8).step_by(5) {
        fb.will_redraw_all();
        fb.surface()
            .clear(Rgb888::new(shade, 0, 255 - shade))
            .unwrap();
        fb.present()?;
    }
    Ok(())
}
