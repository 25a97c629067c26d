// SPDX-License-Identifier: GPL-2.0

//! The misc device's userspace ABI (`struct bochsfb_mode`, damage rectangles; docs/architecture.md):
//! the ioctl numbers, and each struct encoded and decoded field by field.

use core::mem::{offset_of, size_of};

use kernel::prelude::*;

use crate::{
    card::mode::Mode,
    uapi::{self, BochsfbDamage, BochsfbMode, BochsfbRect},
};

/// `struct bochsfb_mode` as userspace sees it: 40 bytes.
pub(crate) const MODE_ABI_SIZE: usize = size_of::<BochsfbMode>();
/// `struct bochsfb_damage`: 16 bytes.
pub(crate) const DAMAGE_ABI_SIZE: usize = size_of::<BochsfbDamage>();
/// `struct bochsfb_rect`: 16 bytes.
pub(crate) const RECT_ABI_SIZE: usize = size_of::<BochsfbRect>();
/// Most rectangles one flush accepts; bounds the kernel's copy of the list.
pub(crate) const MAX_DAMAGE_RECTS: usize = uapi::BOCHSFB_MAX_DAMAGE_RECTS as usize;

pub(crate) const IOCTL_GET_MODE: u32 = uapi::BOCHSFB_IOCTL_GET_MODE;
pub(crate) const IOCTL_SET_MODE: u32 = uapi::BOCHSFB_IOCTL_SET_MODE;
pub(crate) const IOCTL_PAN: u32 = uapi::BOCHSFB_IOCTL_PAN;
pub(crate) const IOCTL_WAIT_VSYNC: u32 = uapi::BOCHSFB_IOCTL_WAIT_VSYNC;
pub(crate) const IOCTL_FLUSH: u32 = uapi::BOCHSFB_IOCTL_FLUSH;

// ABI fields are sliced as `[at..][..size]`: the same bytes as `[at..at + size]`, with no sum
// that could overflow.

/// Reads the little-endian `u32` at byte `at` of an ABI struct.
pub(crate) fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut field = [0u8; 4];
    field.copy_from_slice(&bytes[at..][..4]);
    u32::from_ne_bytes(field)
}

/// Reads the little-endian `u64` at byte `at` of an ABI struct.
pub(crate) fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut field = [0u8; 8];
    field.copy_from_slice(&bytes[at..][..8]);
    u64::from_ne_bytes(field)
}

/// Writes `value` at byte `at` of an ABI struct.
pub(crate) fn put_u32(bytes: &mut [u8], at: usize, value: u32) {
    bytes[at..][..4].copy_from_slice(&value.to_ne_bytes());
}

/// Writes `value` at byte `at` of an ABI struct.
pub(crate) fn put_u16(bytes: &mut [u8], at: usize, value: u16) {
    bytes[at..][..2].copy_from_slice(&value.to_ne_bytes());
}

/// Encodes `struct bochsfb_mode`, field by field, so there is no padding to leak.
pub(crate) fn mode_abi_bytes(mode: &Mode, y_offset: u32, vram_size: usize) -> [u8; MODE_ABI_SIZE] {
    let mut out = [0u8; MODE_ABI_SIZE];
    let fields = [
        (offset_of!(BochsfbMode, width), mode.width),
        (offset_of!(BochsfbMode, height), mode.height),
        (offset_of!(BochsfbMode, bpp), mode.bpp),
        (offset_of!(BochsfbMode, stride), mode.stride() as u32),
        (offset_of!(BochsfbMode, virtual_height), mode.virtual_height),
        (offset_of!(BochsfbMode, y_offset), y_offset),
    ];
    for (at, field) in fields {
        put_u32(&mut out, at, field);
    }
    let wide = [
        (offset_of!(BochsfbMode, fb_size), mode.fb_size() as u64),
        (offset_of!(BochsfbMode, vram_size), vram_size as u64),
    ];
    for (at, field) in wide {
        out[at..][..8].copy_from_slice(&field.to_ne_bytes());
    }
    out
}

/// What `BOCHSFB_IOCTL_SET_MODE` asks for: `(width, height, bpp, virtual_height)`.
pub(crate) fn mode_request(bytes: &[u8; MODE_ABI_SIZE]) -> (u32, u32, u32, u32) {
    (
        u32_at(bytes, offset_of!(BochsfbMode, width)),
        u32_at(bytes, offset_of!(BochsfbMode, height)),
        u32_at(bytes, offset_of!(BochsfbMode, bpp)),
        u32_at(bytes, offset_of!(BochsfbMode, virtual_height)),
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
            x: u32_at(bytes, offset_of!(BochsfbRect, x)),
            y: u32_at(bytes, offset_of!(BochsfbRect, y)),
            width: u32_at(bytes, offset_of!(BochsfbRect, width)),
            height: u32_at(bytes, offset_of!(BochsfbRect, height)),
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

    fn area(&self) -> u64 {
        // Two u32s: the product is below 2^64, it never saturates.
        u64::from(self.width).saturating_mul(u64::from(self.height))
    }

    // Ends of the rectangle. `from_abi` keeps them inside the virtual screen, so they never
    // saturate; the fields come from userspace, so the sums are checked all the same.
    fn right(&self) -> u32 {
        self.x.saturating_add(self.width)
    }
    fn bottom(&self) -> u32 {
        self.y.saturating_add(self.height)
    }

    /// Bounds what one flush copies to one frame: rectangles (each inside the virtual screen,
    /// as `from_abi` checks) whose areas add up to more than the virtual screen's, or whose rows
    /// add up to more than its height, are replaced by the one rectangle that bounds them all,
    /// which lies inside it too. Without this, 256
    /// whole-screen rectangles would copy 256 frames.
    pub(crate) fn coalesce(rects: &mut KVec<Rect>, mode: &Mode) {
        let screen = Rect::full(mode);
        // At most `MAX_DAMAGE_RECTS` areas below 2^32 each: the sums cannot overflow a u64.
        let area = rects.iter().map(Rect::area).fold(0u64, u64::saturating_add);
        // Rows bound the copy's pieces (and its lock round trips) as the area bounds its bytes:
        // 256 one-pixel columns of an 8 bpp screen are one screen of bytes in 256 times its rows.
        let rows = rects
            .iter()
            .map(|rect| u64::from(rect.height))
            .fold(0u64, u64::saturating_add);
        if area <= screen.area() && rows <= u64::from(screen.height) {
            return;
        }
        let bound = |rect: &Rect| (rect.x, rect.y, rect.right(), rect.bottom());
        let Some((x0, y0, x1, y1)) = rects
            .iter()
            .map(bound)
            .reduce(|a, b| (a.0.min(b.0), a.1.min(b.1), a.2.max(b.2), a.3.max(b.3)))
        else {
            return;
        };
        rects.truncate(1);
        // Every rectangle's end is at or past its start: `x1 >= x0`, `y1 >= y0`.
        rects[0] = Rect {
            x: x0,
            y: y0,
            width: x1.saturating_sub(x0),
            height: y1.saturating_sub(y0),
        };
    }

    /// The byte ranges `(offset, len)` of VRAM this rectangle covers, one per row.
    ///
    /// The rectangle lies inside `mode`'s virtual screen (`from_abi`), so every offset is inside
    /// the frame and nothing saturates; were one to, it would point past VRAM, where no copy
    /// reaches.
    pub(crate) fn rows(self, mode: &Mode) -> impl Iterator<Item = (usize, usize)> {
        let bytes_pp = mode.bpp as usize / 8;
        let stride = mode.stride();
        let x = (self.x as usize).saturating_mul(bytes_pp);
        let width = (self.width as usize).saturating_mul(bytes_pp);
        (self.y..self.bottom()).map(move |row| {
            (
                (row as usize).saturating_mul(stride).saturating_add(x),
                width,
            )
        })
    }
}

#[kunit_tests(bochsfb_abi)]
mod tests {
    use super::*;
    use crate::card::mode::Caps;

    /// std VGA and secondary-vga.
    const VGA: Caps = Caps {
        palette: true,
        rgb888: true,
        min_size: 8,
    };
    const MIB_16: usize = 16 << 20;

    #[test]
    fn damage_past_one_screen_is_coalesced_into_its_bounds() -> Result {
        let mode = Mode::new(64, 48, 32, 96, 1 << 20, VGA)?;
        let rect = |x, y, width, height| Rect {
            x,
            y,
            width,
            height,
        };
        // Two small rectangles: kept as they are.
        let mut rects = KVec::new();
        rects.push(rect(0, 0, 8, 8), GFP_KERNEL)?;
        rects.push(rect(32, 40, 8, 8), GFP_KERNEL)?;
        Rect::coalesce(&mut rects, &mode);
        assert_eq!(rects.len(), 2);
        // The whole virtual screen three times, and a corner: one screen's bounds.
        let mut rects = KVec::new();
        for _ in 0..3 {
            rects.push(rect(0, 0, 64, 96), GFP_KERNEL)?;
        }
        rects.push(rect(8, 8, 8, 8), GFP_KERNEL)?;
        Rect::coalesce(&mut rects, &mode);
        assert_eq!(rects.len(), 1);
        assert_eq!(
            (rects[0].x, rects[0].y, rects[0].width, rects[0].height),
            (0, 0, 64, 96)
        );
        // Overlapping halves past one screen in all: their bounding box, not the screen.
        let mut rects = KVec::new();
        for _ in 0..2 {
            rects.push(rect(8, 16, 56, 60), GFP_KERNEL)?;
            rects.push(rect(0, 10, 40, 80), GFP_KERNEL)?;
        }
        Rect::coalesce(&mut rects, &mode);
        assert_eq!(rects.len(), 1);
        assert_eq!(
            (rects[0].x, rects[0].y, rects[0].width, rects[0].height),
            (0, 10, 64, 80)
        );
        // One-pixel columns the whole virtual height: one eighth of the screen's area, but
        // eight times its rows.
        let mut rects = KVec::new();
        for x in [0, 8, 16, 24, 32, 40, 48, 56] {
            rects.push(rect(x, 0, 1, 96), GFP_KERNEL)?;
        }
        Rect::coalesce(&mut rects, &mode);
        assert_eq!(rects.len(), 1);
        assert_eq!(
            (rects[0].x, rects[0].y, rects[0].width, rects[0].height),
            (0, 0, 57, 96)
        );
        Ok(())
    }

    /// The shared ABI file computes its ioctl numbers by hand; they must be the kernel's own.
    #[test]
    fn ioctl_numbers_are_the_kernels_own() -> Result {
        use kernel::ioctl::{_IO, _IOR, _IOW, _IOWR};
        let ty = u32::from(b'B');
        assert_eq!(IOCTL_GET_MODE, _IOR::<[u8; 40]>(ty, 0x01));
        assert_eq!(IOCTL_SET_MODE, _IOWR::<[u8; 40]>(ty, 0x02));
        assert_eq!(IOCTL_PAN, _IOW::<u32>(ty, 0x03));
        assert_eq!(IOCTL_WAIT_VSYNC, _IO(ty, 0x04));
        assert_eq!(IOCTL_FLUSH, _IOW::<[u8; 16]>(ty, 0x05));
        Ok(())
    }

    #[test]
    fn damage_rectangles_must_lie_inside_the_virtual_screen() -> Result {
        let mode = Mode::new(640, 480, 32, 960, MIB_16, VGA)?;
        let rect = |x: u32, y: u32, w: u32, h: u32| {
            let mut bytes = [0u8; RECT_ABI_SIZE];
            let fields = [
                (offset_of!(BochsfbRect, x), x),
                (offset_of!(BochsfbRect, y), y),
                (offset_of!(BochsfbRect, width), w),
                (offset_of!(BochsfbRect, height), h),
            ];
            for (at, v) in fields {
                put_u32(&mut bytes, at, v);
            }
            Rect::from_abi(&bytes, &mode).map(|r| (r.x, r.y, r.width, r.height))
        };
        assert_eq!(rect(0, 0, 640, 960), Ok((0, 0, 640, 960)));
        assert_eq!(rect(639, 959, 1, 1), Ok((639, 959, 1, 1)));
        assert_eq!(rect(1, 0, 640, 1), Err(EINVAL));
        assert_eq!(rect(0, 960, 1, 1), Err(EINVAL));
        // x + width overflows u32: still refused.
        assert_eq!(rect(u32::MAX, 0, 2, 1), Err(EINVAL));
        assert_eq!(rect(0, u32::MAX, 1, 2), Err(EINVAL));
        Ok(())
    }

    #[test]
    fn a_rectangle_covers_one_byte_range_per_row() -> Result {
        let mode = Mode::new(8, 8, 32, 8, MIB_16, VGA)?;
        let rect = Rect {
            x: 1,
            y: 2,
            width: 3,
            height: 2,
        };
        // Rows are 32 bytes; x = 1 is byte 4; 3 pixels are 12 bytes.
        let mut ranges = rect.rows(&mode);
        assert_eq!(ranges.next(), Some((2 * 32 + 4, 12)));
        assert_eq!(ranges.next(), Some((3 * 32 + 4, 12)));
        assert_eq!(ranges.next(), None);
        Ok(())
    }

    #[test]
    fn the_mode_struct_is_laid_out_as_the_abi_says() -> Result {
        let mode = Mode::new(800, 600, 16, 1200, MIB_16, VGA)?;
        let bytes = mode_abi_bytes(&mode, 600, MIB_16);
        // struct bochsfb_mode: __u32 width, height, bpp, stride, virtual_height, y_offset;
        // __u64 fb_size, vram_size (docs/architecture.md).
        assert_eq!(u32_at(&bytes, 0), 800);
        assert_eq!(u32_at(&bytes, 4), 600);
        assert_eq!(u32_at(&bytes, 8), 16);
        assert_eq!(u32_at(&bytes, 12), 1600);
        assert_eq!(u32_at(&bytes, 16), 1200);
        assert_eq!(u32_at(&bytes, 20), 600);
        assert_eq!(u64_at(&bytes, 24), 1600 * 1200);
        assert_eq!(u64_at(&bytes, 32), MIB_16 as u64);
        assert_eq!(mode_request(&bytes), (800, 600, 16, 1200));
        Ok(())
    }
}
