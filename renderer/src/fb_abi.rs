//! The Linux fbdev ABI (`include/uapi/linux/fb.h`) and `KDSETMODE`: defined
//! once in `bochsfb_uapi::fb`, re-exported here.

pub use bochsfb_uapi::fb::*;
