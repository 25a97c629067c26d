//! The kernel ABI of `/dev/bochsfbN`, shared with the kernel module
//! (`kmod/mode.rs`, `kmod/chardev.rs`); docs/architecture.md is the reference.

use std::mem::size_of;

pub use crate::sys::get_mode;

/// `struct bochsfb_mode`: read by [`BOCHSFB_IOCTL_GET_MODE`], written and
/// read back by [`BOCHSFB_IOCTL_SET_MODE`].
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BochsfbMode {
    /// Visible pixels per row (a multiple of 8).
    pub width: u32,
    /// Visible rows.
    pub height: u32,
    /// Bits per pixel: 8 (palette), 16 (RGB565), 24 (RGB888) or 32 (XRGB8888).
    pub bpp: u32,
    /// Bytes from one row to the next (set: ignored).
    pub stride: u32,
    /// Rows of the virtual screen, `>= height`; pan moves the visible window
    /// down it (set: 0 asks for as many rows as VRAM holds).
    pub virtual_height: u32,
    /// First visible row of the virtual screen (set: ignored, reset to 0).
    pub y_offset: u32,
    /// Bytes that mmap, read and write can reach in this mode:
    /// `stride * virtual_height` (set: ignored).
    pub fb_size: u64,
    /// Bytes of VRAM on the card (set: ignored).
    pub vram_size: u64,
}

// The layout is ABI: it must match the kernel's 40-byte struct exactly.
const _: () = assert!(size_of::<BochsfbMode>() == 40);

/// `struct bochsfb_rect`: a damaged rectangle of the virtual screen, in pixels.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BochsfbRect {
    /// Left column.
    pub x: u32,
    /// Top row of the virtual screen (pan offsets are not added).
    pub y: u32,
    /// Columns, `x + width <= mode width`.
    pub width: u32,
    /// Rows, `y + height <= virtual_height`.
    pub height: u32,
}

/// `struct bochsfb_damage`: the argument of [`BOCHSFB_IOCTL_FLUSH`].
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BochsfbDamage {
    /// User pointer to `count` [`BochsfbRect`]s.
    pub rects: u64,
    /// Number of rectangles, at most [`BOCHSFB_MAX_DAMAGE_RECTS`]; 0 flushes the whole frame.
    pub count: u32,
    /// Must be 0.
    pub flags: u32,
}

const _: () = assert!(size_of::<BochsfbRect>() == 16);
const _: () = assert!(size_of::<BochsfbDamage>() == 16);

/// Most rectangles one [`BOCHSFB_IOCTL_FLUSH`] accepts.
pub const BOCHSFB_MAX_DAMAGE_RECTS: u32 = 256;

const IOC_WRITE: u32 = 1;
const IOC_READ: u32 = 2;

/// Linux `_IOC(dir, ty, nr, size)`.
pub const fn ioc(dir: u32, ty: u8, nr: u8, size: usize) -> u32 {
    assert!(size < 1 << 14, "the ioctl size field is 14 bits");
    (dir << 30) | ((size as u32) << 16) | ((ty as u32) << 8) | nr as u32
}

/// Linux `_IOR(ty, nr, size)`: the kernel writes `size` bytes to the argument.
pub const fn ior(ty: u8, nr: u8, size: usize) -> u32 {
    ioc(IOC_READ, ty, nr, size)
}

/// Linux `_IOW(ty, nr, size)`: the kernel reads `size` bytes from the argument.
pub const fn iow(ty: u8, nr: u8, size: usize) -> u32 {
    ioc(IOC_WRITE, ty, nr, size)
}

/// Linux `_IOWR(ty, nr, size)`.
pub const fn iowr(ty: u8, nr: u8, size: usize) -> u32 {
    ioc(IOC_READ | IOC_WRITE, ty, nr, size)
}

/// `_IOR('B', 0x01, struct bochsfb_mode)`: read the current mode.
pub const BOCHSFB_IOCTL_GET_MODE: u32 = ior(b'B', 0x01, size_of::<BochsfbMode>());
/// `_IOWR('B', 0x02, struct bochsfb_mode)`: set width, height, bpp and
/// virtual_height; the full new mode is written back. `EINVAL` leaves the
/// current mode as it was.
pub const BOCHSFB_IOCTL_SET_MODE: u32 = iowr(b'B', 0x02, size_of::<BochsfbMode>());
/// `_IOW('B', 0x03, __u32)`: show the virtual screen from this row on
/// (`y_offset + height <= virtual_height`, else `EINVAL`).
pub const BOCHSFB_IOCTL_PAN: u32 = iow(b'B', 0x03, size_of::<u32>());
/// `_IO('B', 0x04)`: sleep until the next (emulated) vertical blank.
pub const BOCHSFB_IOCTL_WAIT_VSYNC: u32 = ioc(0, b'B', 0x04, 0);
/// `_IOW('B', 0x05, struct bochsfb_damage)`: copy damaged rectangles of the
/// shadow buffer into VRAM.
pub const BOCHSFB_IOCTL_FLUSH: u32 = iow(b'B', 0x05, size_of::<BochsfbDamage>());

/// mmap offsets choose how VRAM is mapped: `region + byte offset`, where the
/// byte offset is page aligned and below `fb_size`.
pub mod mmap_region {
    /// All at once, write-combined (`vm_iomap_memory` in `mmap`).
    pub const WRITE_COMBINED: u64 = 0;
    /// On demand: a fault handler inserts one write-combined page at a time.
    pub const ON_DEMAND: u64 = 1 << 32;
    /// A kernel RAM shadow of VRAM; [`super::BOCHSFB_IOCTL_FLUSH`] copies it to VRAM.
    pub const SHADOW: u64 = 2 << 32;
    /// All at once, uncached (for comparison only).
    pub const UNCACHED: u64 = 3 << 32;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ioctl_numbers_match_the_documented_values() {
        assert_eq!(BOCHSFB_IOCTL_GET_MODE, 0x8028_4201);
        assert_eq!(BOCHSFB_IOCTL_SET_MODE, 0xc028_4202);
        assert_eq!(BOCHSFB_IOCTL_PAN, 0x4004_4203);
        assert_eq!(BOCHSFB_IOCTL_WAIT_VSYNC, 0x0000_4204);
        assert_eq!(BOCHSFB_IOCTL_FLUSH, 0x4010_4205);
    }

    #[test]
    fn ior_encodes_direction_size_type_and_number() {
        assert_eq!(ior(b'B', 0x7f, 4), 0x8004_427f);
    }
}
