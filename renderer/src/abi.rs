//! The kernel ABI of `/dev/bochsfbN`: defined once in the `bochsfb-uapi` crate
//! (the file the kernel module compiles too), re-exported here with the
//! renderer's `GET_MODE` call.

pub use bochsfb_uapi::*;

pub use crate::sys::get_mode;
