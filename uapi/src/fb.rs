//! The Linux fbdev ABI (`include/uapi/linux/fb.h`) as far as this project uses
//! it, and `KDSETMODE` (`linux/kd.h`). Any `/dev/fbN` speaks it, and so does
//! `/dev/bochsfbN`. The kernel's own definition of these structs is its
//! `include/uapi/linux/fb.h`; the module uses that, through the kernel crate.

/// `FBIOGET_VSCREENINFO`: read [`FbVarScreeninfo`].
pub const FBIOGET_VSCREENINFO: u32 = 0x4600;
/// `FBIOPUT_VSCREENINFO`: set [`FbVarScreeninfo`] (mode, virtual size).
pub const FBIOPUT_VSCREENINFO: u32 = 0x4601;
/// `FBIOGET_FSCREENINFO`: read [`FbFixScreeninfo`].
pub const FBIOGET_FSCREENINFO: u32 = 0x4602;
/// `FBIOPAN_DISPLAY`: show the virtual screen from `xoffset, yoffset`.
pub const FBIOPAN_DISPLAY: u32 = 0x4606;
/// `FBIO_WAITFORVSYNC`: `_IOW('F', 0x20, __u32)`, wait for a vertical blank.
pub const FBIO_WAITFORVSYNC: u32 = 0x4004_4620;

/// `struct fb_bitfield`: where a colour channel sits in a pixel.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FbBitfield {
    /// Lowest bit of the channel.
    pub offset: u32,
    /// Bits in the channel.
    pub length: u32,
    /// Nonzero if the most significant bit is on the right.
    pub msb_right: u32,
}

/// `struct fb_var_screeninfo` (160 bytes).
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct FbVarScreeninfo {
    pub xres: u32,
    pub yres: u32,
    pub xres_virtual: u32,
    pub yres_virtual: u32,
    pub xoffset: u32,
    pub yoffset: u32,
    pub bits_per_pixel: u32,
    pub grayscale: u32,
    pub red: FbBitfield,
    pub green: FbBitfield,
    pub blue: FbBitfield,
    pub transp: FbBitfield,
    pub nonstd: u32,
    pub activate: u32,
    pub height: u32,
    pub width: u32,
    pub accel_flags: u32,
    pub pixclock: u32,
    pub left_margin: u32,
    pub right_margin: u32,
    pub upper_margin: u32,
    pub lower_margin: u32,
    pub hsync_len: u32,
    pub vsync_len: u32,
    pub sync: u32,
    pub vmode: u32,
    pub rotate: u32,
    pub colorspace: u32,
    pub reserved: [u32; 4],
}

/// `struct fb_fix_screeninfo` (80 bytes on 64-bit, 68 on 32-bit).
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct FbFixScreeninfo {
    pub id: [u8; 16],
    /// `unsigned long`: 4 bytes on 32-bit ABIs, which shifts every field after it.
    pub smem_start: core::ffi::c_ulong,
    pub smem_len: u32,
    pub type_: u32,
    pub type_aux: u32,
    pub visual: u32,
    pub xpanstep: u16,
    pub ypanstep: u16,
    pub ywrapstep: u16,
    pub line_length: u32,
    pub mmio_start: core::ffi::c_ulong,
    pub mmio_len: u32,
    pub accel: u32,
    pub capabilities: u16,
    pub reserved: [u16; 2],
}

const _: () = assert!(core::mem::size_of::<FbVarScreeninfo>() == 160);
const _: () = assert!(core::mem::offset_of!(FbVarScreeninfo, bits_per_pixel) == 24);
#[cfg(target_pointer_width = "64")]
const _: () = assert!(core::mem::size_of::<FbFixScreeninfo>() == 80);
#[cfg(target_pointer_width = "64")]
const _: () = assert!(core::mem::offset_of!(FbFixScreeninfo, line_length) == 48);
#[cfg(target_pointer_width = "32")]
const _: () = assert!(core::mem::size_of::<FbFixScreeninfo>() == 68);
#[cfg(target_pointer_width = "32")]
const _: () = assert!(core::mem::offset_of!(FbFixScreeninfo, line_length) == 40);

/// `FB_ACTIVATE_NOW`: apply a `FBIOPUT_VSCREENINFO` at once.
pub const FB_ACTIVATE_NOW: u32 = 0;
/// `FB_ACTIVATE_TEST`: only check a `FBIOPUT_VSCREENINFO`, change nothing.
pub const FB_ACTIVATE_TEST: u32 = 2;

/// linux/kd.h `KDSETMODE` and its modes: an fbdev program puts the virtual
/// terminal in graphics mode so fbcon stops drawing into the framebuffer.
pub const KDSETMODE: u32 = 0x4b3a;
/// `KD_TEXT`.
pub const KD_TEXT: u32 = 0;
/// `KD_GRAPHICS`.
pub const KD_GRAPHICS: u32 = 1;
