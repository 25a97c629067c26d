//! Userspace renderer for the bochsfb character device.
//!
//! Drawing goes through [`Surface`], an [`embedded_graphics`] draw target over
//! a 32 bpp XRGB8888 frame (bytes `B, G, R, X`, rows `stride` bytes apart, as
//! fixed in `docs/architecture.md`). The [`backend`] module decides where that
//! frame lives: mapped VRAM, a buffer written with `write(2)`, or plain memory.
#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod abi;
pub mod backend;
mod error;
mod mode;
mod surface;
mod sys;

pub use error::{Error, Syscall};
pub use mode::Mode;
pub use surface::Surface;
