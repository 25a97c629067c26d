// SPDX-License-Identifier: GPL-2.0

//! Video modes: validation against QEMU's rules, what the card can show and its VRAM. Every face
//! of the card checks a mode here before the registers see it.

use kernel::prelude::*;

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
        let stride = Self::row_bytes(width, bpp);
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

    /// Bytes of a row of `width` pixels of `bpp` bits, for a width and depth that [`Mode::new`]
    /// has checked.
    #[expect(
        clippy::arithmetic_side_effects,
        reason = "checked width <= MAX_XRES (16000), bpp <= 32: at most 64000 bytes"
    )]
    fn row_bytes(width: u32, bpp: u32) -> usize {
        width as usize * (bpp as usize / 8)
    }

    /// Bytes from one row to the next.
    pub(crate) fn stride(&self) -> usize {
        Self::row_bytes(self.width, self.bpp)
    }

    /// Bytes that userspace can reach in this mode: the whole virtual screen.
    #[expect(
        clippy::arithmetic_side_effects,
        reason = "`Mode::new` (the only constructor) keeps virtual_height <= vram_size / stride: \
                  the product is at most the VRAM size, a usize"
    )]
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

#[kunit_tests(bochsfb_mode)]
mod tests {
    use super::*;

    /// std VGA and secondary-vga.
    const VGA: Caps = Caps {
        palette: true,
        rgb888: true,
        min_size: 8,
    };
    /// bochs-display.
    const DISPLAY: Caps = Caps {
        palette: false,
        rgb888: false,
        min_size: 64,
    };
    const MIB_16: usize = 16 << 20;

    #[test]
    fn virtual_height_0_asks_for_every_row_vram_holds() {
        // 16 MiB / (1024 px * 4 bytes) = 4096 rows.
        assert_eq!(rows(1024, 768, 32, 0, VGA), Ok(4096));
        // 16 MiB / (640 * 2) = 13107 rows (13107.2, rounded down).
        assert_eq!(rows(640, 480, 16, 0, VGA), Ok(13107));
        // 8x8 at 8 bpp would be 2 Mi rows: the 16-bit register caps it.
        assert_eq!(rows(8, 8, 8, 0, VGA), Ok(65535));
    }

    #[test]
    fn a_virtual_height_must_hold_the_screen_and_fit_in_vram() {
        assert_eq!(rows(1024, 768, 32, 768, VGA), Ok(768));
        assert_eq!(rows(1024, 768, 32, 4096, VGA), Ok(4096));
        assert_eq!(rows(1024, 768, 32, 767, VGA), Err(EINVAL));
        assert_eq!(rows(1024, 768, 32, 4097, VGA), Err(EINVAL));
    }

    #[test]
    fn widths_are_multiples_of_8_within_qemus_limits() {
        assert_eq!(rows(1020, 768, 32, 768, VGA), Err(EINVAL));
        assert_eq!(rows(0, 768, 32, 768, VGA), Err(EINVAL));
        assert_eq!(rows(16008, 8, 8, 8, VGA), Err(EINVAL));
        assert_eq!(rows(8, 12001, 8, 12001, VGA), Err(EINVAL));
        assert_eq!(rows(16000, 8, 8, 8, VGA), Ok(8));
        // Nothing below 8x8 on any card.
        assert_eq!(rows(8, 7, 32, 7, VGA), Err(EINVAL));
    }

    #[test]
    fn each_card_takes_only_the_depths_it_can_show() {
        for bpp in [8, 16, 24, 32] {
            assert_eq!(rows(640, 480, bpp, 480, VGA), Ok(480));
        }
        assert_eq!(rows(640, 480, 8, 480, DISPLAY), Err(EINVAL));
        assert_eq!(rows(640, 480, 24, 480, DISPLAY), Err(EINVAL));
        assert_eq!(rows(640, 480, 16, 480, DISPLAY), Ok(480));
        assert_eq!(rows(640, 480, 15, 480, VGA), Err(EINVAL));
        // bochs-display shows nothing below 64x64.
        assert_eq!(rows(56, 64, 32, 64, DISPLAY), Err(EINVAL));
        assert_eq!(rows(64, 63, 32, 63, DISPLAY), Err(EINVAL));
        assert_eq!(rows(64, 64, 32, 64, DISPLAY), Ok(64));
    }

    #[test]
    fn sizes_and_pan_limits_follow_the_geometry() -> Result {
        let mode = Mode::new(640, 480, 16, 960, MIB_16, VGA)?;
        assert_eq!(mode.stride(), 1280);
        assert_eq!(mode.fb_size(), 1280 * 960);
        assert!(mode.can_pan_to(0));
        assert!(mode.can_pan_to(480));
        assert!(!mode.can_pan_to(481));
        assert!(!mode.can_pan_to(u32::MAX));
        Ok(())
    }

    fn rows(width: u32, height: u32, bpp: u32, vheight: u32, caps: Caps) -> Result<u32> {
        Mode::new(width, height, bpp, vheight, MIB_16, caps).map(|m| m.virtual_height)
    }
}
