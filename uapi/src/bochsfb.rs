// SPDX-License-Identifier: GPL-2.0-only OR MIT

//! The userspace ABI of `/dev/bochsfbN`: its structs, ioctl numbers and mmap
//! regions (docs/architecture.md explains them).
//!
//! This one file is the definition. The kernel module compiles it as
//! `kmod/uapi.rs` (a link to this file) and encodes and decodes its ioctls with
//! these sizes and offsets; the `bochsfb-uapi` crate exports it to userspace;
//! `include/uapi/bochsfb.h`, for C, is checked against it field by field. It
//! uses `core` only, so it builds in the kernel and in `no_std` programs.

use core::mem::size_of;

/// `struct bochsfb_mode`: read by [`BOCHSFB_IOCTL_GET_MODE`], written and read
/// back by [`BOCHSFB_IOCTL_SET_MODE`]. 40 bytes, no padding, on every ABI.
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
    /// Number of rectangles, at most [`BOCHSFB_MAX_DAMAGE_RECTS`]; 0 flushes the
    /// whole frame.
    pub count: u32,
    /// Must be 0.
    pub flags: u32,
}

// The layouts are ABI: no padding anywhere, the same on 32- and 64-bit.
const _: () = assert!(size_of::<BochsfbMode>() == 40);
const _: () = assert!(size_of::<BochsfbRect>() == 16);
const _: () = assert!(size_of::<BochsfbDamage>() == 16);

/// Most rectangles one [`BOCHSFB_IOCTL_FLUSH`] accepts.
pub const BOCHSFB_MAX_DAMAGE_RECTS: u32 = 256;

const IOC_NONE: u32 = 0;
const IOC_WRITE: u32 = 1;
const IOC_READ: u32 = 2;

/// Linux `_IOC(dir, type, nr, size)` (asm-generic/ioctl.h; x86 and arm use it).
/// Written out here because the kernel's `_IOR` and userspace's ioctl helpers
/// are not both available to one file; a KUnit test in the module checks these
/// numbers against the kernel's own macros.
pub const fn ioc(dir: u32, ty: u8, nr: u8, size: usize) -> u32 {
    assert!(size < 1 << 14, "the ioctl size field is 14 bits");
    (dir << 30) | ((size as u32) << 16) | ((ty as u32) << 8) | nr as u32
}

/// Linux `_IOR(type, nr, size)`: the kernel writes `size` bytes to the argument.
pub const fn ior(ty: u8, nr: u8, size: usize) -> u32 {
    ioc(IOC_READ, ty, nr, size)
}

/// Linux `_IOW(type, nr, size)`: the kernel reads `size` bytes from the argument.
pub const fn iow(ty: u8, nr: u8, size: usize) -> u32 {
    ioc(IOC_WRITE, ty, nr, size)
}

/// Linux `_IOWR(type, nr, size)`.
pub const fn iowr(ty: u8, nr: u8, size: usize) -> u32 {
    ioc(IOC_READ | IOC_WRITE, ty, nr, size)
}

/// Linux `_IO(type, nr)`: no argument.
pub const fn io(ty: u8, nr: u8) -> u32 {
    ioc(IOC_NONE, ty, nr, 0)
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
pub const BOCHSFB_IOCTL_WAIT_VSYNC: u32 = io(b'B', 0x04);
/// `_IOW('B', 0x05, struct bochsfb_damage)`: copy damaged rectangles of the
/// shadow buffer into VRAM.
pub const BOCHSFB_IOCTL_FLUSH: u32 = iow(b'B', 0x05, size_of::<BochsfbDamage>());

/// mmap offsets choose how VRAM is mapped: `region + byte offset`, where the
/// byte offset is page aligned and below `fb_size`.
pub mod mmap_region {
    /// The region is the file offset's bits from here up.
    pub const SHIFT: u32 = 32;
    /// All at once, write-combined.
    pub const WRITE_COMBINED: u64 = 0 << SHIFT;
    /// On demand: a fault inserts one write-combined page at a time.
    pub const ON_DEMAND: u64 = 1 << SHIFT;
    /// A kernel RAM shadow of VRAM; [`super::BOCHSFB_IOCTL_FLUSH`] copies it to VRAM.
    pub const SHADOW: u64 = 2 << SHIFT;
    /// All at once, uncached (for comparison only).
    pub const UNCACHED: u64 = 3 << SHIFT;
}
