#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod abi;
pub mod backend;
mod blit;
pub mod clock;
mod damage;
pub mod device;
mod error;
pub mod fb_abi;
mod format;
pub mod input;
mod mode;
mod simd;
mod surface;
mod sys;

pub use backend::{Backend, Presentation};
pub use blit::{fit, BlitSource};
pub use damage::{Damage, Rect, MAX_DAMAGE_RECTS};
pub use error::{Error, Syscall};
pub use format::PixelFormat;
pub use mode::Mode;
pub use surface::{RawFrame, Surface};
pub use sys::{stop_on_signals, stop_requested};

/// Decodes a PNG or JPEG (whatever `image` was built with) from memory into RGBA.
pub fn decode_image(bytes: &[u8]) -> Result<image::RgbaImage, Error> {
    Ok(image::load_from_memory(bytes)
        .map_err(Error::Image)?
        .to_rgba8())
}
