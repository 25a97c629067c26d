//! KMS through the `drm` crate: a dumb buffer on the first connected
//! connector, damage sent with `DIRTYFB`. Runs on the kernel's C bochs
//! driver (`qemu-bochs run --driver bochs-drm`) and on real KMS devices.
//!
//! `cargo run -p bochsfb-renderer --example drm -- /dev/dri/card0`

use bochsfb_renderer::backend::{Backend, DrmBackend};
use bochsfb_renderer::decode_image;
use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;

fn main() -> Result<(), bochsfb_renderer::Error> {
    let device = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/dev/dri/card0".into());
    let mut fb = DrmBackend::open(&device)?;
    let sprite = decode_image(include_bytes!("../../demos/assets/ball.png"))?;
    let mut surface = fb.surface();
    surface.clear(Rgb888::CSS_DARK_SLATE_GRAY).unwrap();
    surface.blit(&sprite, Point::new(100, 100)); // alpha-blended
    fb.present()?; // DIRTYFB with two clips
    std::thread::sleep(std::time::Duration::from_secs(2));
    Ok(())
}
