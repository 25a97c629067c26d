// SPDX-License-Identifier: GPL-2.0

//! The Bochs DISPI (display interface) registers, reached through the MMIO BAR.
//!
//! QEMU's std VGA, `secondary-vga` and `bochs-display` expose the DISPI registers as 16-bit
//! registers at `0x500 + (index << 1)` in BAR2 (`VBE_DISPI_INDEX_*` in QEMU's
//! include/hw/display/bochs-vbe.h), and the legacy VGA ports at `0x400 + (port - 0x3c0)`
//! (hw/display/vga-pci.c, bochs-display.c). The BAR's type carries its size, so every access
//! at these fixed offsets is checked at compile time and cannot fail.

use super::{
    edid::{EDID_AREA, EDID_LEN},
    mode::Mode,
};
use kernel::{
    io::{register, Io},
    pci,
    prelude::*,
};

/// Size of the MMIO BAR (BAR2) that holds the registers.
pub(crate) const MMIO_BAR_SIZE: usize = 0x1000;

/// The MMIO BAR, typed with its size so fixed offsets are checked at compile time.
pub(crate) type MmioBar<'bound> = pci::Bar<'bound, MMIO_BAR_SIZE>;

register! {
    /// The interface version: 0xB0C0..=0xB0C5 are the ones QEMU implements.
    DISPI_ID(u16) @ 0x500 {
        15:4 signature;
        3:0 version;
    }
    DISPI_XRES(u16) @ 0x502 {
        15:0 pixels;
    }
    DISPI_YRES(u16) @ 0x504 {
        15:0 pixels;
    }
    DISPI_BPP(u16) @ 0x506 {
        15:0 bits;
    }
    DISPI_ENABLE(u16) @ 0x508 {
        /// `VBE_DISPI_NOCLEARMEM`: enabling keeps VRAM as it is (QEMU clears the start of it
        /// otherwise).
        7:7 keep_vram;
        /// `VBE_DISPI_LFB_ENABLED`: the linear framebuffer in BAR0 is used (no banking).
        6:6 linear_framebuffer;
        /// `VBE_DISPI_ENABLED`: the DISPI mode is active.
        0:0 enabled;
    }
    DISPI_BANK(u16) @ 0x50a {
        15:0 bank;
    }
    DISPI_VIRT_WIDTH(u16) @ 0x50c {
        15:0 pixels;
    }
    DISPI_VIRT_HEIGHT(u16) @ 0x50e {
        15:0 rows;
    }
    DISPI_X_OFFSET(u16) @ 0x510 {
        15:0 pixels;
    }
    DISPI_Y_OFFSET(u16) @ 0x512 {
        15:0 rows;
    }
    /// VRAM size in units of 64 KiB.
    DISPI_VIDEO_MEMORY_64K(u16) @ 0x514 {
        15:0 blocks;
    }
}

/// `DISPI_ID.signature` of every version.
const ID_SIGNATURE: u16 = 0xb0c;

/// VGA attribute controller index port, and the input status port whose read resets its flip-flop.
const VGA_ATTR_INDEX: usize = 0x400;
const VGA_INPUT_STATUS_1: usize = 0x400 + (0x3da - 0x3c0);
/// Attribute index bit "palette address source": while it is clear, QEMU blanks the display.
const VGA_ATTR_PAS: u8 = 0x20;
/// Sequencer index port: a VGA reads back the index written; an unassigned port reads 0xff.
const VGA_SEQ_INDEX: usize = 0x400 + (0x3c4 - 0x3c0);
/// DAC write index and data ports: three 6-bit components per palette entry.
const VGA_DAC_WRITE_INDEX: usize = 0x400 + (0x3c8 - 0x3c0);
const VGA_DAC_DATA: usize = 0x400 + (0x3c9 - 0x3c0);

/// The RGB332 palette as the DAC takes it: red, green and blue of each of the 256 entries,
/// scaled to 6 bits. Computed at compile time, where an overflow fails the build.
const RGB332_DAC: [u8; 3 * 256] = {
    let mut dac = [0; 3 * 256];
    let mut pixel = 0;
    while pixel < 256 {
        // Components of 3, 3 and 2 bits: `value * 63 / max` spreads each over 0..=63.
        dac[3 * pixel] = ((pixel >> 5) * 63 / 7) as u8;
        dac[3 * pixel + 1] = (((pixel >> 2) & 7) * 63 / 7) as u8;
        dac[3 * pixel + 2] = ((pixel & 3) * 63 / 3) as u8;
        pixel += 1;
    }
    dac
};

/// Register access for one card.
pub(crate) struct Dispi<'a, 'bound> {
    bar: &'a MmioBar<'bound>,
}

impl<'a, 'bound> Dispi<'a, 'bound> {
    pub(crate) fn new(bar: &'a MmioBar<'bound>) -> Self {
        Self { bar }
    }

    /// Returns the DISPI interface ID if it is one this driver knows.
    pub(crate) fn check_id(&self) -> Result<u16> {
        let id = self.bar.read(DISPI_ID);
        if id.signature().get() != ID_SIGNATURE {
            return Err(ENODEV);
        }
        Ok(id.into())
    }

    /// VRAM size in bytes, as the card reports it.
    #[expect(
        clippy::arithmetic_side_effects,
        reason = "a 16-bit count of 64 KiB blocks is below 4 GiB, which a usize holds on every \
                  target (32 bits and up)"
    )]
    pub(crate) fn vram_size(&self) -> usize {
        let blocks: u16 = self.bar.read(DISPI_VIDEO_MEMORY_64K).into();
        usize::from(blocks) * 64 * 1024
    }

    /// Programs `mode` (already validated) and enables the linear framebuffer; QEMU clears the
    /// start of VRAM.
    pub(crate) fn set_mode(&self, mode: &Mode) -> Result {
        self.set_mode_clearing(mode, true)
    }

    /// Programs `mode` as [`Dispi::set_mode`] does, but leaves VRAM as it is
    /// (`VBE_DISPI_NOCLEARMEM`): it holds other buffers than the one shown.
    #[cfg_attr(not(CONFIG_DRM = "y"), allow(dead_code))]
    pub(crate) fn set_mode_keeping_vram(&self, mode: &Mode) -> Result {
        self.set_mode_clearing(mode, false)
    }

    /// Programs `mode` (already validated) and enables the linear framebuffer, clearing VRAM if
    /// `clear`.
    ///
    /// The order follows the C bochs driver: disable, set geometry, enable.
    fn set_mode_clearing(&self, mode: &Mode, clear: bool) -> Result {
        let bar = self.bar;
        bar.write_reg(DISPI_ENABLE::zeroed());
        bar.write_reg(DISPI_BPP::from(mode.bpp_u16()));
        bar.write_reg(DISPI_XRES::from(mode.width_u16()));
        bar.write_reg(DISPI_YRES::from(mode.height_u16()));
        bar.write_reg(DISPI_BANK::zeroed());
        bar.write_reg(DISPI_VIRT_WIDTH::from(mode.width_u16()));
        bar.write_reg(DISPI_VIRT_HEIGHT::from(mode.virtual_height_u16()));
        bar.write_reg(DISPI_X_OFFSET::zeroed());
        bar.write_reg(DISPI_Y_OFFSET::zeroed());
        bar.write_reg(
            DISPI_ENABLE::zeroed()
                .with_enabled(true)
                .with_linear_framebuffer(true)
                .with_keep_vram(!clear),
        );

        // QEMU silently adjusts values it cannot honour; read back what it took.
        let took: (u16, u16, u16) = (
            bar.read(DISPI_XRES).into(),
            bar.read(DISPI_YRES).into(),
            bar.read(DISPI_BPP).into(),
        );
        if took != (mode.width_u16(), mode.height_u16(), mode.bpp_u16()) {
            return Err(EINVAL);
        }
        Ok(())
    }

    /// Programs `mode` as [`Dispi::set_mode`] does, then loads the RGB332 palette if the mode
    /// is 8 bpp (which only cards with the VGA DAC accept).
    pub(crate) fn show(&self, mode: &Mode) -> Result {
        self.set_mode(mode)?;
        if mode.bpp == 8 {
            self.load_rgb332_palette();
        }
        Ok(())
    }

    /// Shows the virtual screen from row `y_offset` on (already checked against the mode).
    pub(crate) fn pan(&self, y_offset: u16) {
        self.bar.write_reg(DISPI_Y_OFFSET::from(y_offset));
    }

    /// Starts the scanout at `scanout` (a flip: three register writes, no copy).
    #[cfg_attr(not(CONFIG_DRM = "y"), allow(dead_code))]
    pub(crate) fn set_scanout(&self, scanout: &Scanout) {
        let bar = self.bar;
        bar.write_reg(DISPI_VIRT_WIDTH::from(scanout.virtual_width));
        bar.write_reg(DISPI_X_OFFSET::from(scanout.x_offset));
        bar.write_reg(DISPI_Y_OFFSET::from(scanout.y_offset));
    }

    /// The programmed `(width, height, bpp)`, and whether the DISPI mode is on.
    #[cfg_attr(not(CONFIG_DRM = "y"), allow(dead_code))]
    pub(crate) fn current(&self) -> ((u16, u16, u16), bool) {
        let bar = self.bar;
        let enable = bar.read(DISPI_ENABLE);
        (
            (
                bar.read(DISPI_XRES).into(),
                bar.read(DISPI_YRES).into(),
                bar.read(DISPI_BPP).into(),
            ),
            enable.enabled().get() != 0,
        )
    }

    /// Whether the legacy VGA registers exist (std VGA, secondary-vga; not bochs-display).
    pub(crate) fn has_vga_ports(&self) -> bool {
        const PROBE: u8 = 0x02;
        self.bar.write(VGA_SEQ_INDEX, PROBE);
        self.bar.read::<u8, _>(VGA_SEQ_INDEX) == PROBE
    }

    /// Loads the fixed 8 bpp palette: pixel bits `RRRGGGBB` (RGB332).
    pub(crate) fn load_rgb332_palette(&self) {
        self.bar.write(VGA_DAC_WRITE_INDEX, 0u8);
        for level in RGB332_DAC {
            self.bar.write(VGA_DAC_DATA, level);
        }
    }

    /// Copies the EDID base block from the start of the MMIO BAR (all `0xff`/`0` without one).
    pub(crate) fn read_edid(&self) -> Result<[u8; EDID_LEN]> {
        let mut edid = [0u8; EDID_LEN];
        for (offset, byte) in edid.iter_mut().enumerate() {
            *byte = self.bar.try_read8(offset)?;
        }
        Ok(edid)
    }

    /// Copies the start of the EDID area into `edid` (at most QEMU's whole area).
    #[cfg_attr(not(CONFIG_DRM = "y"), allow(dead_code))]
    pub(crate) fn read_edid_into(&self, edid: &mut [u8]) -> Result {
        for (offset, byte) in edid.iter_mut().enumerate().take(EDID_AREA) {
            *byte = self.bar.try_read8(offset)?;
        }
        Ok(())
    }

    /// Turns the VGA output on (std VGA and secondary-vga only; bochs-display has no VGA ports).
    pub(crate) fn unblank_vga(&self) {
        // Reading input status 1 makes the next attribute port write an index write.
        let _: u8 = self.bar.read(VGA_INPUT_STATUS_1);
        self.bar.write(VGA_ATTR_INDEX, VGA_ATTR_PAS);
    }

    /// Blanks the VGA output (std VGA and secondary-vga only): the attribute controller's
    /// palette address source bit cleared, which QEMU shows as a black screen.
    pub(crate) fn blank_vga(&self) {
        // As in `unblank_vga`: the next attribute port write is an index write.
        let _: u8 = self.bar.read(VGA_INPUT_STATUS_1);
        self.bar.write(VGA_ATTR_INDEX, 0u8);
    }

    /// Switches the DISPI mode off, giving the display back to VGA.
    pub(crate) fn disable(&self) {
        self.bar.write_reg(DISPI_ENABLE::zeroed());
    }
}

/// Largest `VIRT_WIDTH`, `X_OFFSET` and `Y_OFFSET` QEMU keeps (`VBE_DISPI_MAX_XRES`,
/// `VBE_DISPI_MAX_YRES`); larger ones are clamped.
#[cfg_attr(not(CONFIG_DRM = "y"), allow(dead_code))]
const MAX_X_OFFSET: u32 = 16000;
#[cfg_attr(not(CONFIG_DRM = "y"), allow(dead_code))]
const MAX_Y_OFFSET: u32 = 12000;

/// Where the card starts scanning out: a buffer at VRAM byte `offset` with lines `pitch` bytes
/// apart, in the registers' terms. QEMU shows from byte `Y_OFFSET * VIRT_WIDTH * cpp + X_OFFSET *
/// cpp` (hw/display/vga.c, `vbe_fixup_regs` and `vga_get_params`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(not(CONFIG_DRM = "y"), allow(dead_code))]
pub(crate) struct Scanout {
    virtual_width: u16,
    x_offset: u16,
    y_offset: u16,
}

#[cfg_attr(not(CONFIG_DRM = "y"), allow(dead_code))]
impl Scanout {
    /// The registers that show `height` lines of a buffer at VRAM byte `offset` with lines
    /// `pitch` bytes apart and `cpp` bytes per pixel, in `vram_size` bytes of VRAM; `EINVAL`
    /// for what QEMU would silently change instead (docs/drm.md "Flips"): a pitch that is not a
    /// whole multiple of 8 pixels, a start not in whole pixels of its line or not a multiple of
    /// 4 bytes, offsets past QEMU's clamps, a frame ending past VRAM.
    pub(crate) fn new(
        offset: usize,
        pitch: u32,
        cpp: u32,
        height: u32,
        vram_size: usize,
    ) -> Result<Self> {
        let pixels_per_line = pitch.checked_div(cpp).ok_or(EINVAL)?;
        let whole_pixels = pitch.checked_rem(cpp) == Some(0);
        // QEMU clamps `VIRT_WIDTH` to `VBE_DISPI_MAX_XRES` as it does `X_OFFSET`.
        if !whole_pixels
            || pixels_per_line.checked_rem(8) != Some(0)
            || pixels_per_line > MAX_X_OFFSET
            || offset.checked_rem(4) != Some(0)
        {
            return Err(EINVAL);
        }
        let pitch_bytes = usize::try_from(pitch)?;
        let cpp_bytes = usize::try_from(cpp)?;
        let y_offset = offset.checked_div(pitch_bytes).ok_or(EINVAL)?;
        let in_line = offset.checked_rem(pitch_bytes).ok_or(EINVAL)?;
        if in_line.checked_rem(cpp_bytes) != Some(0) {
            return Err(EINVAL);
        }
        let x_offset = in_line.checked_div(cpp_bytes).ok_or(EINVAL)?;
        let (x_offset, y_offset) = (u32::try_from(x_offset)?, u32::try_from(y_offset)?);
        if x_offset > MAX_X_OFFSET || y_offset > MAX_Y_OFFSET {
            return Err(EINVAL);
        }
        let frame = usize::try_from(height)?
            .checked_mul(pitch_bytes)
            .ok_or(EINVAL)?;
        if offset.checked_add(frame).ok_or(EINVAL)? > vram_size {
            return Err(EINVAL);
        }
        Ok(Self {
            virtual_width: u16::try_from(pixels_per_line)?,
            x_offset: u16::try_from(x_offset)?,
            y_offset: u16::try_from(y_offset)?,
        })
    }
}

#[kunit_tests(bochsfb_scanout)]
mod tests {
    use super::*;

    const MIB: usize = 1 << 20;

    fn regs(scanout: Scanout) -> (u16, u16, u16) {
        (scanout.virtual_width, scanout.x_offset, scanout.y_offset)
    }

    #[test]
    fn a_buffer_is_shown_from_its_row_and_column() -> Result {
        assert_eq!(regs(Scanout::new(0, 4096, 4, 768, 16 * MIB)?), (1024, 0, 0));
        // The second 1024x768x32 buffer starts 3 MiB in: row 768.
        assert_eq!(
            regs(Scanout::new(3 * MIB, 4096, 4, 768, 16 * MIB)?),
            (1024, 0, 768)
        );
        // A start inside a line: column 1 of row 1.
        assert_eq!(
            regs(Scanout::new(4100, 4096, 4, 768, 16 * MIB)?),
            (1024, 1, 1)
        );
        // RGB565, 640 pixels: 1280 bytes a line.
        assert_eq!(
            regs(Scanout::new(12800, 1280, 2, 480, 16 * MIB)?),
            (640, 0, 10)
        );
        Ok(())
    }

    #[test]
    fn what_qemu_would_change_is_refused() {
        // A line that is not a whole multiple of 8 pixels (QEMU rounds VIRT_WIDTH down).
        assert_eq!(Scanout::new(0, 4004, 4, 768, 16 * MIB), Err(EINVAL));
        // A start that is not a multiple of 4 bytes, or not a whole pixel of its line.
        assert_eq!(Scanout::new(2, 1280, 2, 480, 16 * MIB), Err(EINVAL));
        assert_eq!(Scanout::new(4098, 4096, 4, 768, 16 * MIB), Err(EINVAL));
        // A frame that ends past VRAM (QEMU would show offset 0 instead).
        assert_eq!(Scanout::new(15 * MIB, 4096, 4, 768, 16 * MIB), Err(EINVAL));
        // Lines longer than QEMU's VIRT_WIDTH clamp of 16000 pixels.
        assert!(Scanout::new(0, 16000 * 2, 2, 480, 16 * MIB).is_ok());
        assert_eq!(Scanout::new(0, 16008 * 2, 2, 480, 16 * MIB), Err(EINVAL));
        // Past QEMU's Y_OFFSET clamp of 12000 rows.
        assert!(Scanout::new(12000 * 1280, 1280, 2, 480, 64 * MIB).is_ok());
        assert_eq!(
            Scanout::new(12001 * 1280, 1280, 2, 480, 64 * MIB),
            Err(EINVAL)
        );
        // Nonsense sizes.
        assert_eq!(Scanout::new(0, 4096, 0, 768, 16 * MIB), Err(EINVAL));
        assert_eq!(Scanout::new(0, 0, 4, 768, 16 * MIB), Err(EINVAL));
        assert_eq!(
            Scanout::new(usize::MAX - 3, 4096, 4, 768, 16 * MIB),
            Err(EINVAL)
        );
    }
}
