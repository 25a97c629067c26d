// SPDX-License-Identifier: GPL-2.0

//! Video modes: validation against QEMU's rules and the userspace ABI (`BOCHSFB_IOCTL_GET_MODE`).

use kernel::{ioctl::_IOR, prelude::*};

/// Largest resolution the DISPI interface accepts (`VBE_DISPI_MAX_XRES`/`_YRES` in QEMU).
const MAX_XRES: u32 = 16000;
const MAX_YRES: u32 = 12000;

/// A validated video mode: RGB565 at 16 bpp, RGB888 at 24, XRGB8888 at 32 (all little endian);
/// rows start `stride` bytes apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Mode {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) bpp: u32,
}

impl Mode {
    /// Checks a requested mode against QEMU's rules and the card's VRAM.
    ///
    /// QEMU rounds the width down to a multiple of 8 and clamps what does not fit; rather than
    /// end up in a mode nobody asked for, such requests are refused with `EINVAL`.
    pub(crate) fn new(width: u32, height: u32, bpp: u32, vram_size: usize) -> Result<Self> {
        let mode = Self { width, height, bpp };
        let fits = width != 0
            && height != 0
            && width % 8 == 0
            && width <= MAX_XRES
            && height <= MAX_YRES
            // RGB565, RGB888 and XRGB8888. 8 bpp needs a palette, which this driver does not
            // program yet.
            && matches!(bpp, 16 | 24 | 32)
            && mode.frame_size() <= vram_size;
        if fits {
            Ok(mode)
        } else {
            Err(EINVAL)
        }
    }

    /// Bytes from one row to the next.
    pub(crate) fn stride(&self) -> usize {
        self.width as usize * (self.bpp as usize / 8)
    }

    /// Bytes of one visible frame.
    pub(crate) fn frame_size(&self) -> usize {
        self.stride() * self.height as usize
    }

    /// How many rows VRAM holds at this stride (the DISPI "virtual height").
    pub(crate) fn virtual_height(&self, vram_size: usize) -> u16 {
        let rows = vram_size / self.stride();
        u16::try_from(rows).unwrap_or(u16::MAX)
    }

    // The DISPI registers are 16 bits wide; `new` keeps every field below `MAX_XRES`.
    pub(crate) fn width_u16(&self) -> u16 {
        self.width as u16
    }
    pub(crate) fn height_u16(&self) -> u16 {
        self.height as u16
    }
    pub(crate) fn bpp_u16(&self) -> u16 {
        self.bpp as u16
    }
}

/// `struct bochsfb_mode` as userspace sees it (docs/architecture.md): 24 bytes.
pub(crate) const MODE_ABI_SIZE: usize = 24;

/// `_IOR('B', 0x01, struct bochsfb_mode)`.
pub(crate) const IOCTL_GET_MODE: u32 = _IOR::<[u8; MODE_ABI_SIZE]>(b'B' as u32, 0x01);

/// Encodes `mode` as `struct bochsfb_mode`, field by field, so there is no padding to leak.
pub(crate) fn mode_abi_bytes(mode: &Mode, vram_size: usize) -> [u8; MODE_ABI_SIZE] {
    let mut out = [0u8; MODE_ABI_SIZE];
    let stride = mode.stride() as u32;
    for (i, field) in [mode.width, mode.height, mode.bpp, stride].iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&field.to_ne_bytes());
    }
    out[16..24].copy_from_slice(&(vram_size as u64).to_ne_bytes());
    out
}
