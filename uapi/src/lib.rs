//! `bochsfb-uapi`: the userspace ABI of the bochsfb driver in one place, for
//! every crate that talks to it (the renderer, the benchmark, the guest test
//! programs) and, through `include/uapi/bochsfb.h`, for C.
//!
//! - the crate root: `/dev/bochsfbN`'s structs, ioctl numbers and mmap regions
//!   (`src/bochsfb.rs`, the very file the kernel module compiles as its ABI);
//! - [`fb`]: the Linux fbdev structs and ioctls that `/dev/fbN` and
//!   `/dev/bochsfbN` both speak;
//! - [`input`]: the evdev records and ioctls of `/dev/input/eventN`, which the
//!   renderer reads keyboard and pointer events from.
//!
//! Plain data and numbers: no system calls, `no_std`.
#![no_std]
#![deny(missing_docs)]

mod bochsfb;
pub mod fb;
pub mod input;

pub use bochsfb::*;

#[cfg(test)]
mod tests {
    use super::*;

    /// The numbers docs/architecture.md gives, computed by hand from `_IOC`.
    #[test]
    fn ioctl_numbers_match_the_documented_values() {
        assert_eq!(BOCHSFB_IOCTL_GET_MODE, 0x8028_4201);
        assert_eq!(BOCHSFB_IOCTL_SET_MODE, 0xc028_4202);
        assert_eq!(BOCHSFB_IOCTL_PAN, 0x4004_4203);
        assert_eq!(BOCHSFB_IOCTL_WAIT_VSYNC, 0x0000_4204);
        assert_eq!(BOCHSFB_IOCTL_FLUSH, 0x4010_4205);
        assert_eq!(fb::FBIO_WAITFORVSYNC, iow(b'F', 0x20, 4));
    }

    #[test]
    fn ior_encodes_direction_size_type_and_number() {
        assert_eq!(ior(b'B', 0x7f, 4), 0x8004_427f);
    }
}
