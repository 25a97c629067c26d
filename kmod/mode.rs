// SPDX-License-Identifier: GPL-2.0

//! Video modes: validation against QEMU's rules and the card's VRAM, and the userspace ABI
//! (`struct bochsfb_mode`, docs/architecture.md).

use kernel::{
    ioctl::{_IO, _IOR, _IOW, _IOWR},
    prelude::*,
};

/// Largest resolution the DISPI interface accepts (`VBE_DISPI_MAX_XRES`/`_YRES` in QEMU).
const MAX_XRES: u32 = 16000;
const MAX_YRES: u32 = 12000;
/// The DISPI virtual-height register is 16 bits wide.
const MAX_VIRTUAL_HEIGHT: u32 = u16::MAX as u32;

/// What a card can display; `bochs-display` lacks the VGA palette and 24 bpp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Caps {
    /// 8 bpp needs the VGA DAC palette (std VGA and secondary-vga only).
    pub(crate) palette: bool,
    /// 24 bpp is rendered by the VGA emulation, not by `bochs-display`.
    pub(crate) rgb888: bool,
    /// `bochs-display` shows nothing below 64x64.
    pub(crate) min_size: u32,
}

/// A validated video mode. Pixels: RGB332 through a fixed palette at 8 bpp, RGB565 at 16,
/// RGB888 at 24, XRGB8888 at 32 (all little endian); rows start `stride()` bytes apart; the
/// virtual screen has `virtual_height` rows, of which `height` are visible from the pan offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Mode {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) bpp: u32,
    pub(crate) virtual_height: u32,
}

impl Mode {
    /// Checks a requested mode against QEMU's rules, the card's capabilities and its VRAM.
    /// `virtual_height` 0 asks for as many rows as VRAM holds.
    ///
    /// QEMU rounds the width down to a multiple of 8 and clamps what does not fit; rather than
    /// end up in a mode nobody asked for, such requests are refused with `EINVAL`.
    pub(crate) fn new(
        width: u32,
        height: u32,
        bpp: u32,
        virtual_height: u32,
        vram_size: usize,
        caps: Caps,
    ) -> Result<Self> {
        let bpp_ok = match bpp {
            8 => caps.palette,
            16 | 32 => true,
            24 => caps.rgb888,
            _ => false,
        };
        let size_ok = width >= caps.min_size.max(8)
            && height >= caps.min_size.max(1)
            && width % 8 == 0
            && width <= MAX_XRES
            && height <= MAX_YRES;
        if !bpp_ok || !size_ok {
            return Err(EINVAL);
        }
        let stride = width as usize * (bpp as usize / 8);
        // `checked_div`: the checks above keep `stride` non-zero, but the compiler cannot see it.
        let rows_in_vram = vram_size
            .checked_div(stride)
            .ok_or(EINVAL)?
            .min(MAX_VIRTUAL_HEIGHT as usize) as u32;
        let virtual_height = match virtual_height {
            0 => rows_in_vram,
            rows => rows,
        };
        if virtual_height < height || virtual_height > rows_in_vram {
            return Err(EINVAL);
        }
        Ok(Self {
            width,
            height,
            bpp,
            virtual_height,
        })
    }

    /// Bytes from one row to the next.
    pub(crate) fn stride(&self) -> usize {
        self.width as usize * (self.bpp as usize / 8)
    }

    /// Bytes that userspace can reach in this mode: the whole virtual screen.
    pub(crate) fn fb_size(&self) -> usize {
        self.stride() * self.virtual_height as usize
    }

    /// Whether the visible window may start at row `y_offset`.
    pub(crate) fn can_pan_to(&self, y_offset: u32) -> bool {
        y_offset
            .checked_add(self.height)
            .is_some_and(|end| end <= self.virtual_height)
    }

    // The DISPI registers are 16 bits wide; `new` keeps every field below 2^16.
    pub(crate) fn width_u16(&self) -> u16 {
        self.width as u16
    }
    pub(crate) fn height_u16(&self) -> u16 {
        self.height as u16
    }
    pub(crate) fn bpp_u16(&self) -> u16 {
        self.bpp as u16
    }
    pub(crate) fn virtual_height_u16(&self) -> u16 {
        self.virtual_height as u16
    }
}

/// `struct bochsfb_mode` as userspace sees it: 40 bytes.
pub(crate) const MODE_ABI_SIZE: usize = 40;

/// `struct bochsfb_damage` (`__u64 rects; __u32 count; __u32 flags;`): 16 bytes.
pub(crate) const DAMAGE_ABI_SIZE: usize = 16;
/// `struct bochsfb_rect` (`__u32 x, y, width, height;`): 16 bytes.
pub(crate) const RECT_ABI_SIZE: usize = 16;
/// Most rectangles one flush accepts; bounds the kernel's copy of the list.
pub(crate) const MAX_DAMAGE_RECTS: usize = 256;

pub(crate) const IOCTL_GET_MODE: u32 = _IOR::<[u8; MODE_ABI_SIZE]>(b'B' as u32, 0x01);
pub(crate) const IOCTL_SET_MODE: u32 = _IOWR::<[u8; MODE_ABI_SIZE]>(b'B' as u32, 0x02);
pub(crate) const IOCTL_PAN: u32 = _IOW::<u32>(b'B' as u32, 0x03);
pub(crate) const IOCTL_WAIT_VSYNC: u32 = _IO(b'B' as u32, 0x04);
pub(crate) const IOCTL_FLUSH: u32 = _IOW::<[u8; DAMAGE_ABI_SIZE]>(b'B' as u32, 0x05);

/// Reads the little-endian `u32` at byte `at` of an ABI struct.
pub(crate) fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut field = [0u8; 4];
    field.copy_from_slice(&bytes[at..at + 4]);
    u32::from_ne_bytes(field)
}

/// Reads the little-endian `u64` at byte `at` of an ABI struct.
pub(crate) fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut field = [0u8; 8];
    field.copy_from_slice(&bytes[at..at + 8]);
    u64::from_ne_bytes(field)
}

/// Writes `value` at byte `at` of an ABI struct.
pub(crate) fn put_u32(bytes: &mut [u8], at: usize, value: u32) {
    bytes[at..at + 4].copy_from_slice(&value.to_ne_bytes());
}

/// Encodes `struct bochsfb_mode`, field by field, so there is no padding to leak.
pub(crate) fn mode_abi_bytes(mode: &Mode, y_offset: u32, vram_size: usize) -> [u8; MODE_ABI_SIZE] {
    let mut out = [0u8; MODE_ABI_SIZE];
    let fields = [
        mode.width,
        mode.height,
        mode.bpp,
        mode.stride() as u32,
        mode.virtual_height,
        y_offset,
    ];
    for (i, field) in fields.iter().enumerate() {
        put_u32(&mut out, i * 4, *field);
    }
    out[24..32].copy_from_slice(&(mode.fb_size() as u64).to_ne_bytes());
    out[32..40].copy_from_slice(&(vram_size as u64).to_ne_bytes());
    out
}

/// What `BOCHSFB_IOCTL_SET_MODE` asks for: `(width, height, bpp, virtual_height)`.
pub(crate) fn mode_request(bytes: &[u8; MODE_ABI_SIZE]) -> (u32, u32, u32, u32) {
    (
        u32_at(bytes, 0),
        u32_at(bytes, 4),
        u32_at(bytes, 8),
        u32_at(bytes, 16),
    )
}

/// A damaged rectangle of the virtual screen, checked against the mode.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rect {
    pub(crate) x: u32,
    pub(crate) y: u32,
    pub(crate) width: u32,
    pub(crate) height: u32,
}

impl Rect {
    /// The whole virtual screen.
    pub(crate) fn full(mode: &Mode) -> Self {
        Self {
            x: 0,
            y: 0,
            width: mode.width,
            height: mode.virtual_height,
        }
    }

    /// Decodes `struct bochsfb_rect`; `EINVAL` unless it lies inside the virtual screen.
    pub(crate) fn from_abi(bytes: &[u8], mode: &Mode) -> Result<Self> {
        let rect = Self {
            x: u32_at(bytes, 0),
            y: u32_at(bytes, 4),
            width: u32_at(bytes, 8),
            height: u32_at(bytes, 12),
        };
        let inside = |start: u32, len: u32, limit: u32| {
            start.checked_add(len).is_some_and(|end| end <= limit)
        };
        if inside(rect.x, rect.width, mode.width)
            && inside(rect.y, rect.height, mode.virtual_height)
        {
            Ok(rect)
        } else {
            Err(EINVAL)
        }
    }

    /// The byte ranges `(offset, len)` of VRAM this rectangle covers, one per row.
    pub(crate) fn rows(self, mode: &Mode) -> impl Iterator<Item = (usize, usize)> {
        let bytes_pp = mode.bpp as usize / 8;
        let stride = mode.stride();
        let (x, width) = (self.x as usize * bytes_pp, self.width as usize * bytes_pp);
        (self.y..self.y + self.height).map(move |row| (row as usize * stride + x, width))
    }
}
