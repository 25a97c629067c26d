// SPDX-License-Identifier: GPL-2.0

//! The Bochs DISPI (display interface) registers, reached through the MMIO BAR.
//!
//! QEMU's std VGA, `secondary-vga` and `bochs-display` expose the DISPI registers as 16-bit
//! registers at `0x500 + (index << 1)` in BAR2, and the legacy VGA ports at `0x400 + (port -
//! 0x3c0)` (hw/display/vga-pci.c, bochs-display.c).

use crate::edid::EDID_LEN;
use crate::mode::Mode;
use kernel::{io::Io, pci, prelude::*};

/// Size of the MMIO BAR (BAR2) that holds the registers.
pub(crate) const MMIO_BAR_SIZE: usize = 0x1000;

/// The MMIO BAR, typed with its size so fixed offsets are checked at compile time.
pub(crate) type MmioBar<'bound> = pci::Bar<'bound, MMIO_BAR_SIZE>;

/// DISPI register indices (`VBE_DISPI_INDEX_*` in QEMU's include/hw/display/bochs-vbe.h).
#[derive(Clone, Copy)]
#[repr(usize)]
enum Index {
    Id = 0x0,
    Xres = 0x1,
    Yres = 0x2,
    Bpp = 0x3,
    Enable = 0x4,
    Bank = 0x5,
    VirtWidth = 0x6,
    VirtHeight = 0x7,
    XOffset = 0x8,
    YOffset = 0x9,
    VideoMemory64k = 0xa,
}

/// IDs 0xB0C0..=0xB0C5 are the DISPI interface versions QEMU implements.
const ID_MASK: u16 = 0xfff0;
const ID_BASE: u16 = 0xb0c0;

/// `VBE_DISPI_ENABLED`: the DISPI mode is active.
const ENABLE_ENABLED: u16 = 0x01;
/// `VBE_DISPI_LFB_ENABLED`: the linear framebuffer in BAR0 is used (no banking).
const ENABLE_LFB: u16 = 0x40;

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

/// Register access for one card.
pub(crate) struct Dispi<'a, 'bound> {
    bar: &'a MmioBar<'bound>,
}

impl<'a, 'bound> Dispi<'a, 'bound> {
    pub(crate) fn new(bar: &'a MmioBar<'bound>) -> Self {
        Self { bar }
    }

    fn read(&self, index: Index) -> Result<u16> {
        self.bar.try_read16(0x500 + ((index as usize) << 1))
    }

    fn write(&self, index: Index, value: u16) -> Result {
        self.bar.try_write16(value, 0x500 + ((index as usize) << 1))
    }

    /// Returns the DISPI interface ID if it is one this driver knows.
    pub(crate) fn check_id(&self) -> Result<u16> {
        let id = self.read(Index::Id)?;
        if id & ID_MASK != ID_BASE {
            return Err(ENODEV);
        }
        Ok(id)
    }

    /// VRAM size in bytes, as the card reports it.
    pub(crate) fn vram_size(&self) -> Result<usize> {
        Ok(usize::from(self.read(Index::VideoMemory64k)?) * 64 * 1024)
    }

    /// Programs `mode` (already validated) and enables the linear framebuffer.
    ///
    /// The order follows the C bochs driver: disable, set geometry, enable.
    pub(crate) fn set_mode(&self, mode: &Mode) -> Result {
        self.write(Index::Enable, 0)?;
        self.write(Index::Bpp, mode.bpp_u16())?;
        self.write(Index::Xres, mode.width_u16())?;
        self.write(Index::Yres, mode.height_u16())?;
        self.write(Index::Bank, 0)?;
        self.write(Index::VirtWidth, mode.width_u16())?;
        self.write(Index::VirtHeight, mode.virtual_height_u16())?;
        self.write(Index::XOffset, 0)?;
        self.write(Index::YOffset, 0)?;
        self.write(Index::Enable, ENABLE_ENABLED | ENABLE_LFB)?;

        // QEMU silently adjusts values it cannot honour; read back what it took.
        let (xres, yres, bpp) = (
            self.read(Index::Xres)?,
            self.read(Index::Yres)?,
            self.read(Index::Bpp)?,
        );
        if (xres, yres, bpp) != (mode.width_u16(), mode.height_u16(), mode.bpp_u16()) {
            return Err(EINVAL);
        }
        Ok(())
    }

    /// Shows the virtual screen from row `y_offset` on (already checked against the mode).
    pub(crate) fn pan(&self, y_offset: u16) -> Result {
        self.write(Index::YOffset, y_offset)
    }

    /// Whether the legacy VGA registers exist (std VGA, secondary-vga; not bochs-display).
    pub(crate) fn has_vga_ports(&self) -> Result<bool> {
        const PROBE: u8 = 0x02;
        self.bar.try_write8(PROBE, VGA_SEQ_INDEX)?;
        Ok(self.bar.try_read8(VGA_SEQ_INDEX)? == PROBE)
    }

    /// Loads the fixed 8 bpp palette: pixel bits `RRRGGGBB` (RGB332).
    pub(crate) fn load_rgb332_palette(&self) -> Result {
        let scale = |value: u32, max: u32| (value * 63 / max) as u8;
        self.bar.try_write8(0, VGA_DAC_WRITE_INDEX)?;
        for pixel in 0..=255u32 {
            self.bar.try_write8(scale(pixel >> 5, 7), VGA_DAC_DATA)?;
            self.bar
                .try_write8(scale((pixel >> 2) & 7, 7), VGA_DAC_DATA)?;
            self.bar.try_write8(scale(pixel & 3, 3), VGA_DAC_DATA)?;
        }
        Ok(())
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
    pub(crate) fn unblank_vga(&self) -> Result {
        // Reading input status 1 makes the next attribute port write an index write.
        self.bar.try_read8(VGA_INPUT_STATUS_1)?;
        self.bar.try_write8(VGA_ATTR_PAS, VGA_ATTR_INDEX)
    }

    /// Switches the DISPI mode off, giving the display back to VGA.
    pub(crate) fn disable(&self) -> Result {
        self.write(Index::Enable, 0)
    }
}
