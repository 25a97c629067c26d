// SPDX-License-Identifier: GPL-2.0

//! The fbdev ioctl ABI on `/dev/bochsfbN`, so tools written for `/dev/fbN` (fbset, fbi, ...)
//! work unmodified: `struct fb_var_screeninfo` (160 bytes) and `struct fb_fix_screeninfo`
//! (80 bytes on 64-bit), laid out exactly as include/uapi/linux/fb.h. Encoded field by field, so
//! padding never carries kernel memory.

use crate::mode::{put_u32, u32_at, Mode};

pub(crate) const FBIOGET_VSCREENINFO: u32 = 0x4600;
pub(crate) const FBIOPUT_VSCREENINFO: u32 = 0x4601;
pub(crate) const FBIOGET_FSCREENINFO: u32 = 0x4602;
pub(crate) const FBIOPAN_DISPLAY: u32 = 0x4606;
/// `_IOW('F', 0x20, __u32)`.
pub(crate) const FBIO_WAITFORVSYNC: u32 = 0x4004_4620;

pub(crate) const VAR_SIZE: usize = 160;
pub(crate) const FIX_SIZE: usize = 80;
/// `struct fb_fix_screeninfo` of a 32-bit process (the kernel's `fb_fix_screeninfo32`):
/// `unsigned long` is 4 bytes there, which moves every field after `smem_start`.
#[cfg(CONFIG_COMPAT)]
pub(crate) const FIX_SIZE_COMPAT: usize = 68;

// Byte offsets in `struct fb_var_screeninfo`.
const XRES: usize = 0;
const YRES: usize = 4;
const XRES_VIRTUAL: usize = 8;
const YRES_VIRTUAL: usize = 12;
const XOFFSET: usize = 16;
const YOFFSET: usize = 20;
const BITS_PER_PIXEL: usize = 24;
const RED: usize = 32;
const GREEN: usize = 44;
const BLUE: usize = 56;
const ACTIVATE: usize = 84;
const HEIGHT_MM: usize = 88;
const WIDTH_MM: usize = 92;
const PIXCLOCK: usize = 100;
const LEFT_MARGIN: usize = 104;
const RIGHT_MARGIN: usize = 108;
const UPPER_MARGIN: usize = 112;
const LOWER_MARGIN: usize = 116;
const HSYNC_LEN: usize = 120;
const VSYNC_LEN: usize = 124;

/// `FB_ACTIVATE_TEST`: check and round the request, change nothing.
const FB_ACTIVATE_TEST: u32 = 2;
const FB_ACTIVATE_MASK: u32 = 0xf;
/// `FB_VISUAL_TRUECOLOR`: pixels are split into the colour bitfields (8 bpp included: the
/// palette is fixed to RGB332).
const FB_VISUAL_TRUECOLOR: u32 = 2;

/// The emulated refresh rate, also used for the vblank timer.
pub(crate) const REFRESH_HZ: u32 = 60;

/// `(offset, length)` of red, green and blue in a pixel of `bpp` bits.
fn channels(bpp: u32) -> [(u32, u32); 3] {
    match bpp {
        8 => [(5, 3), (2, 3), (0, 2)],
        16 => [(11, 5), (5, 6), (0, 5)],
        _ => [(16, 8), (8, 8), (0, 8)],
    }
}

/// Encodes the current mode as `struct fb_var_screeninfo`, with CVT-like 60 Hz timings so
/// tools that print them show something sensible.
pub(crate) fn var_bytes(mode: &Mode, y_offset: u32) -> [u8; VAR_SIZE] {
    let mut var = [0u8; VAR_SIZE];
    for (at, value) in [
        (XRES, mode.width),
        (YRES, mode.height),
        (XRES_VIRTUAL, mode.width),
        (YRES_VIRTUAL, mode.virtual_height),
        (XOFFSET, 0),
        (YOFFSET, y_offset),
        (BITS_PER_PIXEL, mode.bpp),
        (HEIGHT_MM, u32::MAX),
        (WIDTH_MM, u32::MAX),
    ] {
        put_u32(&mut var, at, value);
    }
    for ((offset, length), at) in channels(mode.bpp).into_iter().zip([RED, GREEN, BLUE]) {
        put_u32(&mut var, at, offset);
        put_u32(&mut var, at + 4, length);
    }
    let (left, right, hsync, upper, lower, vsync) = (64, 32, 64, 20, 3, 5);
    let htotal = u64::from(mode.width) + left + right + hsync;
    let vtotal = u64::from(mode.height) + upper + lower + vsync;
    let pixclock_ps = 1_000_000_000_000u64
        .checked_div(htotal * vtotal * u64::from(REFRESH_HZ))
        .unwrap_or(0);
    for (at, value) in [
        (PIXCLOCK, pixclock_ps),
        (LEFT_MARGIN, left),
        (RIGHT_MARGIN, right),
        (UPPER_MARGIN, upper),
        (LOWER_MARGIN, lower),
        (HSYNC_LEN, hsync),
        (VSYNC_LEN, vsync),
    ] {
        put_u32(&mut var, at, value as u32);
    }
    var
}

/// What `FBIOPUT_VSCREENINFO` asks for.
pub(crate) struct VarRequest {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) bpp: u32,
    /// 0 when the caller asked for fewer rows than visible: the driver then gives all VRAM holds.
    pub(crate) virtual_height: u32,
    pub(crate) y_offset: u32,
    pub(crate) x_offset: u32,
    /// `FB_ACTIVATE_TEST`: only check.
    pub(crate) test_only: bool,
}

impl VarRequest {
    /// Reads a request. As fbdev drivers do, the driver rounds what it cannot honour instead of
    /// refusing it: a virtual height below the visible one becomes all rows VRAM holds, and
    /// `xres_virtual` is always `xres` (rows are never wider than the screen; fbset keeps the
    /// old virtual width when only `-xres` changes).
    pub(crate) fn parse(var: &[u8; VAR_SIZE]) -> Self {
        let height = u32_at(var, YRES);
        let virtual_height = u32_at(var, YRES_VIRTUAL);
        Self {
            width: u32_at(var, XRES),
            height,
            bpp: u32_at(var, BITS_PER_PIXEL),
            virtual_height: if virtual_height < height {
                0
            } else {
                virtual_height
            },
            y_offset: u32_at(var, YOFFSET),
            x_offset: u32_at(var, XOFFSET),
            test_only: u32_at(var, ACTIVATE) & FB_ACTIVATE_MASK == FB_ACTIVATE_TEST,
        }
    }
}

/// The `(x, y)` offsets of a `FBIOPAN_DISPLAY` request.
pub(crate) fn pan_request(var: &[u8; VAR_SIZE]) -> (u32, u32) {
    (u32_at(var, XOFFSET), u32_at(var, YOFFSET))
}

/// Byte offsets of the `struct fb_fix_screeninfo` fields the driver fills, in one ABI.
struct FixLayout {
    smem_len: usize,
    type_: usize,
    visual: usize,
    ypanstep: usize,
    line_length: usize,
}

/// The 64-bit layout (`unsigned long smem_start` at 16 is 8 bytes).
const FIX_LAYOUT: FixLayout = FixLayout {
    smem_len: 24,
    type_: 28,
    visual: 36,
    ypanstep: 42,
    line_length: 48,
};

/// The 32-bit layout (`smem_start` is 4 bytes).
#[cfg(CONFIG_COMPAT)]
const FIX_LAYOUT_COMPAT: FixLayout = FixLayout {
    smem_len: 20,
    type_: 24,
    visual: 32,
    ypanstep: 38,
    line_length: 44,
};

/// Encodes `struct fb_fix_screeninfo` as `layout` places its fields. The physical addresses
/// (`smem_start`, `mmio_start`) are left 0: mmap at offset 0 reaches the framebuffer, and the
/// registers are never exposed.
fn encode_fix<const N: usize>(mode: &Mode, layout: &FixLayout) -> [u8; N] {
    let mut fix = [0u8; N];
    fix[..7].copy_from_slice(b"bochsfb");
    put_u32(&mut fix, layout.smem_len, mode.fb_size() as u32);
    put_u32(&mut fix, layout.type_, 0); // FB_TYPE_PACKED_PIXELS
    put_u32(&mut fix, layout.visual, FB_VISUAL_TRUECOLOR);
    // ypanstep: any row.
    fix[layout.ypanstep..layout.ypanstep + 2].copy_from_slice(&1u16.to_ne_bytes());
    put_u32(&mut fix, layout.line_length, mode.stride() as u32);
    fix
}

/// `struct fb_fix_screeninfo` for a 64-bit caller.
pub(crate) fn fix_bytes(mode: &Mode) -> [u8; FIX_SIZE] {
    encode_fix(mode, &FIX_LAYOUT)
}

/// `struct fb_fix_screeninfo` for a 32-bit caller (through `compat_ioctl`).
#[cfg(CONFIG_COMPAT)]
pub(crate) fn fix_bytes_compat(mode: &Mode) -> [u8; FIX_SIZE_COMPAT] {
    encode_fix(mode, &FIX_LAYOUT_COMPAT)
}
