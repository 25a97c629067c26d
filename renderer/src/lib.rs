//! Userspace renderer for bochsfb and any other Linux display.
//!
//! Drawing goes through [`Surface`], an [`embedded_graphics`] draw target
//! over a frame in one of the [`PixelFormat`]s (XRGB8888, RGB888, RGB565,
//! RGB332), with row-copy fast paths for fills, clears and image blits
//! (clipped, converted, alpha-blended, scaled). Each drawing call records its
//! [`Damage`]. The [`backend`] module decides where the frame lives and how
//! it reaches the screen (mmap, write, shadow + flush, fbdev, DRM, a window,
//! memory); [`input`] gives keyboard and pointer events on every backend;
//! [`clock`] paces frames and counts fps.
#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod abi;
pub mod backend;
mod blit;
pub mod clock;
mod damage;
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
