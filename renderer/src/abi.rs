//! The kernel ABI of `/dev/bochsfbN`, shared with the kernel module.

use std::mem::size_of;

pub use crate::sys::get_mode;

/// `struct bochsfb_mode` as returned by [`BOCHSFB_IOCTL_GET_MODE`].
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BochsfbMode {
    /// Visible pixels per row.
    pub width: u32,
    /// Visible rows.
    pub height: u32,
    /// Bits per pixel (32 by default).
    pub bpp: u32,
    /// Bytes from one row to the next.
    pub stride: u32,
    /// Bytes of VRAM that mmap/read/write can reach.
    pub vram_size: u64,
}

// The layout is ABI: it must match the kernel's 24-byte struct exactly.
const _: () = assert!(size_of::<BochsfbMode>() == 24);

/// Linux `_IOR(ty, nr, size)`: an ioctl number for a call that reads `size`
/// bytes from the kernel.
pub const fn ior(ty: u8, nr: u8, size: usize) -> u32 {
    const IOC_READ: u32 = 2;
    assert!(size < 1 << 14, "the ioctl size field is 14 bits");
    (IOC_READ << 30) | ((size as u32) << 16) | ((ty as u32) << 8) | nr as u32
}

/// `_IOR('B', 0x01, struct bochsfb_mode)`: read the current mode.
pub const BOCHSFB_IOCTL_GET_MODE: u32 = ior(b'B', 0x01, size_of::<BochsfbMode>());

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_mode_ioctl_number_matches_the_documented_value() {
        assert_eq!(BOCHSFB_IOCTL_GET_MODE, 0x8018_4201);
    }

    #[test]
    fn ior_encodes_direction_size_type_and_number() {
        assert_eq!(ior(b'B', 0x7f, 4), 0x8004_427f);
    }
}
