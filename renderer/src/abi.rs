//! The kernel ABI of `/dev/bochsfbN`: defined once in the `bochsfb-uapi` crate
//! (the file the kernel module compiles too), re-exported here; [`crate::device`]
//! makes the calls.

pub use bochsfb_uapi::*;
