// SPDX-License-Identifier: GPL-2.0

//! The Bochs DISPI (display interface) registers, reached through the MMIO BAR.
//!
//! QEMU's std VGA, `secondary-vga` and `bochs-display` expose the DISPI registers as 16-bit
//! registers at `0x500 + (index << 1)` in BAR2 (`VBE_DISPI_INDEX_*` in QEMU's
//! include/hw/display/bochs-vbe.h), and the legacy VGA ports at `0x400 + (port - 0x3c0)`
//! (hw/display/vga-pci.c, bochs-display.c). The BAR's type carries its size, so every access
//! at these fixed offsets is checked at compile time and cannot fail.

use super::{edid::EDID_LEN, mode::Mode};
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

    /// Programs `mode` (already validated) and enables the linear framebuffer.
    ///
    /// The order follows the C bochs driver: disable, set geometry, enable.
    pub(crate) fn set_mode(&self, mode: &Mode) -> Result {
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
                .with_linear_framebuffer(true),
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

    /// Turns the VGA output on (std VGA and secondary-vga only; bochs-display has no VGA ports).
    pub(crate) fn unblank_vga(&self) {
        // Reading input status 1 makes the next attribute port write an index write.
        let _: u8 = self.bar.read(VGA_INPUT_STATUS_1);
        self.bar.write(VGA_ATTR_INDEX, VGA_ATTR_PAS);
    }

    /// Switches the DISPI mode off, giving the display back to VGA.
    pub(crate) fn disable(&self) {
        self.bar.write_reg(DISPI_ENABLE::zeroed());
    }
}
