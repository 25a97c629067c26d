// SPDX-License-Identifier: GPL-2.0

//! The fbdev ioctl ABI on `/dev/bochsfbN`, so tools written for `/dev/fbN` (fbset, fbi, ...)
//! work unmodified. The structs are the kernel crate's bindings of include/uapi/linux/fb.h
//! ([`kernel::video::fb`]): `struct fb_var_screeninfo` is read and written whole, and `struct
//! fb_fix_screeninfo`, which has padding, is encoded field by field into zeroed bytes at the
//! offsets the header gives, so padding never carries kernel memory.

use super::abi::{put_u16, put_u32};
use crate::card::mode::Mode;
use core::mem::{offset_of, size_of};
use kernel::video::fb::{
    fb_bitfield, fb_fix_screeninfo, fb_var_screeninfo, FB_ACTIVATE_MASK, FB_ACTIVATE_TEST,
    FB_TYPE_PACKED_PIXELS, FB_VISUAL_TRUECOLOR,
};

pub(crate) use kernel::video::fb::{
    FBIOGET_FSCREENINFO, FBIOGET_VSCREENINFO, FBIOPAN_DISPLAY, FBIOPUT_VSCREENINFO,
};
/// `_IOW('F', 0x20, __u32)` (a function-like macro, which the bindings cannot carry).
pub(crate) const FBIO_WAITFORVSYNC: u32 = 0x4004_4620;

pub(crate) const FIX_SIZE: usize = size_of::<fb_fix_screeninfo>();
/// `struct fb_fix_screeninfo` of a 32-bit process (the kernel's `fb_fix_screeninfo32` in
/// drivers/video/fbdev/core/fb_chrdev.c): `unsigned long` is 4 bytes there, which moves every
/// field after `smem_start`.
#[cfg(CONFIG_COMPAT)]
pub(crate) const FIX_SIZE_COMPAT: usize = 68;

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

/// The current mode as `struct fb_var_screeninfo`, with CVT-like 60 Hz timings so tools that
/// print them show something sensible.
pub(crate) fn var_screeninfo(mode: &Mode, y_offset: u32) -> fb_var_screeninfo {
    let [red, green, blue] = channels(mode.bpp).map(|(offset, length)| fb_bitfield {
        offset,
        length,
        msb_right: 0,
    });
    fb_var_screeninfo {
        xres: mode.width,
        yres: mode.height,
        xres_virtual: mode.width,
        yres_virtual: mode.virtual_height,
        yoffset: y_offset,
        bits_per_pixel: mode.bpp,
        red,
        green,
        blue,
        height: u32::MAX,
        width: u32::MAX,
        pixclock: pixclock_ps(mode),
        left_margin: BLANKING.left,
        right_margin: BLANKING.right,
        upper_margin: BLANKING.upper,
        lower_margin: BLANKING.lower,
        hsync_len: BLANKING.hsync,
        vsync_len: BLANKING.vsync,
        ..Default::default()
    }
}

/// Margins and sync lengths around the visible area, in pixels and rows.
struct Blanking {
    left: u32,
    right: u32,
    hsync: u32,
    upper: u32,
    lower: u32,
    vsync: u32,
}

/// The blanking every mode gets (CVT-like).
const BLANKING: Blanking = Blanking {
    left: 64,
    right: 32,
    hsync: 64,
    upper: 20,
    lower: 3,
    vsync: 5,
};

/// Picoseconds per pixel for `mode` with [`BLANKING`] to refresh at [`REFRESH_HZ`].
#[expect(
    clippy::arithmetic_side_effects,
    reason = "`Mode::new` keeps width <= 16000 and height <= 12000: the totals stay below 2^15, \
              the product of both and the rate below 2^36"
)]
fn pixclock_ps(mode: &Mode) -> u32 {
    let b = &BLANKING;
    let htotal = u64::from(mode.width + b.left + b.right + b.hsync);
    let vtotal = u64::from(mode.height + b.upper + b.lower + b.vsync);
    1_000_000_000_000u64
        .checked_div(htotal * vtotal * u64::from(REFRESH_HZ))
        .unwrap_or(0) as u32
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
    pub(crate) fn parse(var: &fb_var_screeninfo) -> Self {
        Self {
            width: var.xres,
            height: var.yres,
            bpp: var.bits_per_pixel,
            virtual_height: if var.yres_virtual < var.yres {
                0
            } else {
                var.yres_virtual
            },
            y_offset: var.yoffset,
            x_offset: var.xoffset,
            test_only: var.activate & FB_ACTIVATE_MASK == FB_ACTIVATE_TEST,
        }
    }
}

/// Byte offsets of the `struct fb_fix_screeninfo` fields the driver fills, in one ABI.
struct FixLayout {
    smem_len: usize,
    type_: usize,
    visual: usize,
    ypanstep: usize,
    line_length: usize,
}

/// The native layout, from the C header.
const FIX_LAYOUT: FixLayout = FixLayout {
    smem_len: offset_of!(fb_fix_screeninfo, smem_len),
    type_: offset_of!(fb_fix_screeninfo, type_),
    visual: offset_of!(fb_fix_screeninfo, visual),
    ypanstep: offset_of!(fb_fix_screeninfo, ypanstep),
    line_length: offset_of!(fb_fix_screeninfo, line_length),
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
    put_u32(&mut fix, layout.type_, FB_TYPE_PACKED_PIXELS);
    // Truecolor at every depth: 8 bpp too, as its palette is fixed to RGB332.
    put_u32(&mut fix, layout.visual, FB_VISUAL_TRUECOLOR);
    // ypanstep: any row.
    put_u16(&mut fix, layout.ypanstep, 1);
    put_u32(&mut fix, layout.line_length, mode.stride() as u32);
    fix
}

/// `struct fb_fix_screeninfo` for a caller of the kernel's own word size.
pub(crate) fn fix_bytes(mode: &Mode) -> [u8; FIX_SIZE] {
    encode_fix(mode, &FIX_LAYOUT)
}

/// `struct fb_fix_screeninfo` for a 32-bit caller (through `compat_ioctl`).
#[cfg(CONFIG_COMPAT)]
pub(crate) fn fix_bytes_compat(mode: &Mode) -> [u8; FIX_SIZE_COMPAT] {
    encode_fix(mode, &FIX_LAYOUT_COMPAT)
}

#[kernel::prelude::kunit_tests(bochsfb_fbdev)]
mod tests {
    use super::*;
    use crate::{card::mode::Caps, misc::abi::u32_at};
    use kernel::{
        prelude::*,
        transmute::{AsBytes, FromBytes},
    };

    const VGA: Caps = Caps {
        palette: true,
        rgb888: true,
        min_size: 8,
    };

    fn mode(width: u32, height: u32, bpp: u32, virtual_height: u32) -> Result<Mode> {
        Mode::new(width, height, bpp, virtual_height, 16 << 20, VGA)
    }

    // Offsets in include/uapi/linux/fb.h, counted by hand: `struct fb_var_screeninfo` is 40
    // `__u32`s (`struct fb_bitfield` is 3 of them), `struct fb_fix_screeninfo` starts with
    // `char id[16]` and an `unsigned long`.

    #[test]
    fn var_describes_the_mode_and_its_pixel_format() -> Result {
        let var = var_screeninfo(&mode(800, 600, 16, 1200)?, 600);
        let var = var.as_bytes();
        assert_eq!(var.len(), 160);
        assert_eq!(u32_at(var, 0), 800); // xres
        assert_eq!(u32_at(var, 4), 600); // yres
        assert_eq!(u32_at(var, 8), 800); // xres_virtual
        assert_eq!(u32_at(var, 12), 1200); // yres_virtual
        assert_eq!(u32_at(var, 20), 600); // yoffset
        assert_eq!(u32_at(var, 24), 16); // bits_per_pixel

        // RGB565: red 11/5, green 5/6, blue 0/5 (offset, length).
        let fields: [u32; 6] = [32, 36, 44, 48, 56, 60].map(|at| u32_at(var, at));
        assert_eq!(fields, [11, 5, 5, 6, 0, 5]);
        // 32 bpp is XRGB8888, 8 bpp RGB332.
        let xrgb = var_screeninfo(&mode(640, 480, 32, 480)?, 0);
        let fields = [32, 36, 44, 48, 56, 60].map(|at| u32_at(xrgb.as_bytes(), at));
        assert_eq!(fields, [16, 8, 8, 8, 0, 8]);
        let rgb332 = var_screeninfo(&mode(640, 480, 8, 480)?, 0);
        let fields = [32, 36, 44, 48, 56, 60].map(|at| u32_at(rgb332.as_bytes(), at));
        assert_eq!(fields, [5, 3, 2, 3, 0, 2]);
        Ok(())
    }

    #[test]
    fn var_timings_add_up_to_60_hz() -> Result {
        let var = var_screeninfo(&mode(1024, 768, 32, 768)?, 0);
        let var = var.as_bytes();
        let pixclock_ps = u64::from(u32_at(var, 100));
        let htotal: u64 = [0, 104, 108, 120]
            .iter()
            .map(|&at| u64::from(u32_at(var, at)))
            .sum::<u64>();
        let vtotal: u64 = [4, 112, 116, 124]
            .iter()
            .map(|&at| u64::from(u32_at(var, at)))
            .sum::<u64>();
        // Frame time in picoseconds, within rounding of 1/60 s.
        let frame_ps = pixclock_ps
            .checked_mul(htotal)
            .and_then(|ps| ps.checked_mul(vtotal))
            .ok_or(EINVAL)?;
        assert!(frame_ps <= 16_666_666_667 && frame_ps > 16_600_000_000);
        Ok(())
    }

    #[test]
    fn a_var_request_is_read_as_fbdev_drivers_round_it() -> Result {
        let mut var = [0u8; 160];
        for (at, value) in [
            (0, 640),
            (4, 480),
            (12, 100),
            (16, 8),
            (20, 2),
            (24, 16),
            (84, 2),
        ] {
            put_u32(&mut var, at, value);
        }
        let parse =
            |bytes: &[u8]| fb_var_screeninfo::from_bytes_copy(bytes).map(|v| VarRequest::parse(&v));
        let request = parse(&var).ok_or(EINVAL)?;
        assert_eq!((request.width, request.height, request.bpp), (640, 480, 16));
        // yres_virtual below yres: as many rows as VRAM holds.
        assert_eq!(request.virtual_height, 0);
        assert_eq!((request.x_offset, request.y_offset), (8, 2));
        assert!(request.test_only); // FB_ACTIVATE_TEST
        put_u32(&mut var, 84, 0x80); // FB_ACTIVATE_FORCE: not a test
        put_u32(&mut var, 12, 960);
        let request = parse(&var).ok_or(EINVAL)?;
        assert!(!request.test_only);
        assert_eq!(request.virtual_height, 960);
        Ok(())
    }

    #[test]
    fn fix_is_laid_out_for_a_64_bit_caller() -> Result {
        let fix = fix_bytes(&mode(800, 600, 16, 1200)?);
        assert_eq!(fix.len(), 80);
        assert_eq!(&fix[..8], b"bochsfb\0");
        assert_eq!(u32_at(&fix, 16), 0); // smem_start: not exposed
        assert_eq!(u32_at(&fix, 24), 1600 * 1200); // smem_len
        assert_eq!(u32_at(&fix, 36), 2); // visual: FB_VISUAL_TRUECOLOR
        assert_eq!(u16::from_ne_bytes([fix[42], fix[43]]), 1); // ypanstep
        assert_eq!(u32_at(&fix, 48), 1600); // line_length
        Ok(())
    }

    #[cfg(CONFIG_COMPAT)]
    #[test]
    fn fix_is_laid_out_for_a_32_bit_caller() -> Result {
        // fb_fix_screeninfo32: `unsigned long` fields are 4 bytes, 68 bytes in all.
        let fix = fix_bytes_compat(&mode(800, 600, 16, 1200)?);
        assert_eq!(fix.len(), 68);
        assert_eq!(u32_at(&fix, 20), 1600 * 1200); // smem_len
        assert_eq!(u32_at(&fix, 32), 2); // visual
        assert_eq!(u16::from_ne_bytes([fix[38], fix[39]]), 1); // ypanstep
        assert_eq!(u32_at(&fix, 44), 1600); // line_length
        Ok(())
    }
}
