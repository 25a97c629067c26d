// SPDX-License-Identifier: GPL-2.0

//! The card: what every face of the driver needs from a QEMU Bochs-compatible display card,
//! written once.
//!
//! A face is how userspace reaches the card: today `/dev/bochsfbN` (`crate::misc`), later a
//! DRM/KMS device (docs/drm.md). Both sit on the same core:
//! - [`probe`]: taking the card over from the firmware, identifying it, sizing its VRAM,
//!   reading its EDID, choosing the mode at probe, mapping VRAM write-combined;
//! - [`Hardware`]: the bound card's registers and VRAM, both revoked at unbind;
//! - [`dispi`] (registers), [`edid`], [`mode`] (what the card can show), [`vram`] (copies into
//!   VRAM, and user mappings filled at fault time).
//!
//! Nothing here knows about device nodes, ioctls or mmap offsets: those are a face's.

// Used by the DRM face only, which needs `CONFIG_DRM=y`; its KUnit tests run on every kernel.
#[cfg_attr(not(CONFIG_DRM = "y"), allow(dead_code))]
pub(crate) mod alloc;
pub(crate) mod dispi;
pub(crate) mod edid;
pub(crate) mod mode;
pub(crate) mod probe;
pub(crate) mod vram;

use dispi::{Dispi, MmioBar, MMIO_BAR_SIZE};
use kernel::{
    device::Device,
    fs::DeviceAddressSpace,
    pci::{DevresBar, IoRange, KernelWcMapping, UserMappedBar, UserMappedFrames},
    prelude::*,
    sync::{aref::ARef, rcu, Arc},
};
use mode::{Caps, Mode};
use vram::Vram;

/// Which QEMU device this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CardKind {
    StdVga,
    SecondaryVga,
    BochsDisplay,
}

impl CardKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::StdVga => "std-vga",
            Self::SecondaryVga => "secondary-vga",
            Self::BochsDisplay => "bochs-display",
        }
    }

    pub(crate) fn has_vga_ports(self) -> bool {
        self != Self::BochsDisplay
    }

    pub(crate) fn caps(self) -> Caps {
        Caps {
            palette: self.has_vga_ports(),
            rgb888: self.has_vga_ports(),
            min_size: if self == Self::BochsDisplay { 64 } else { 8 },
        }
    }
}

/// A bound card's hardware: its registers and its VRAM, each revoked when the card is unbound,
/// and what was learnt about it at probe ([`probe::Found::into_hardware`]).
///
/// It holds no state a face defines (the current mode, the pan offset, open files): a face keeps
/// its own, under its own lock, and programs the card through this.
pub(crate) struct Hardware {
    pub(crate) kind: CardKind,
    /// The DISPI interface ID the card reported.
    pub(crate) id: u16,
    /// Bytes of VRAM on the card.
    pub(crate) vram_size: usize,
    /// The `(width, height)` the card's EDID prefers, if it has a valid one.
    pub(crate) edid_mode: Option<(u32, u32)>,
    /// VRAM, write-combined, with the address space every user mapping of it goes through; its
    /// frames and mappings are taken back when the card is unbound, before the BAR is released.
    vram: Arc<UserMappedBar>,
    /// The DISPI registers; revoked when the card is unbound.
    regs: DevresBar<MMIO_BAR_SIZE>,
    pub(crate) dev: ARef<Device>,
}

impl Hardware {
    /// `ENODEV`, logged at debug level: the card was unbound.
    pub(crate) fn gone(&self) -> Error {
        dev_dbg!(self.dev, "card was unbound; refusing access\n");
        ENODEV
    }

    /// Runs `f` on the registers, or `ENODEV` once the card is unbound. `f` runs in an RCU
    /// read-side section: it must not sleep (no allocations that may, no user copies).
    pub(crate) fn with_dispi<R>(&self, f: impl FnOnce(&Dispi<'_, '_>) -> Result<R>) -> Result<R> {
        let regs = self.regs.try_access().ok_or_else(|| self.gone())?;
        let bar: &MmioBar<'_> = &regs;
        f(&Dispi::new(bar))
    }

    /// The whole EDID: the base block and the extension blocks it announces (QEMU adds a CTA
    /// block for its large modes), cut at the end of QEMU's EDID area. A blob cut short or with
    /// a bad block is refused by whoever parses it. Allocated between two register accesses:
    /// not inside one, which must not sleep.
    #[cfg_attr(not(CONFIG_DRM = "y"), allow(dead_code))]
    pub(crate) fn read_edid_blocks(&self) -> Result<KVec<u8>> {
        let base = self.with_dispi(|dispi| dispi.read_edid())?;
        let mut edid = KVec::from_elem(0u8, edid::announced_len(&base), GFP_KERNEL)?;
        self.with_dispi(|dispi| dispi.read_edid_into(&mut edid))?;
        Ok(edid)
    }

    /// Runs `f` on VRAM, or `ENODEV` once the card is unbound. `f` runs in an RCU read-side
    /// section: it must not sleep (no user copies).
    pub(crate) fn with_vram<R>(&self, f: impl FnOnce(&Vram<'_>) -> Result<R>) -> Result<R> {
        let vram = self.vram.bar().try_access().ok_or_else(|| self.gone())?;
        let vram: &Vram<'_> = &vram;
        f(vram)
    }

    /// The address space every user mapping of VRAM goes through: one zap of it reaches them
    /// all, in every process.
    pub(crate) fn address_space(&self) -> &DeviceAddressSpace {
        self.vram.address_space()
    }

    /// From now on, lends VRAM's frames to `space` (the address space of a face's files that
    /// another subsystem owns, such as DRM's) instead of [`Hardware::address_space`]; `space`
    /// is zapped and given back when the card is unbound.
    #[cfg(CONFIG_DRM = "y")]
    pub(crate) fn lend_frames_to(
        &self,
        space: impl kernel::fs::BorrowedAddressSpace + 'static,
    ) -> Result {
        self.vram.lend_to(space)
    }

    /// VRAM's page frames, lent for a fault handler to insert while the guard lives; `None`
    /// once the card is unbound (its mappings are zapped by then).
    pub(crate) fn frames(&self) -> Option<UserMappedFrames<'_>> {
        self.vram.frames()
    }

    /// Maps `range` of VRAM (page aligned) write-combined into the kernel for one blit of an
    /// in-kernel DRM client; `ENODEV` once the card is unbound (see `map_kernel_wc`).
    #[cfg_attr(not(CONFIG_DRM = "y"), allow(dead_code))]
    pub(crate) fn map_vram_wc(&self, range: core::ops::Range<usize>) -> Result<KernelWcMapping> {
        self.vram.map_kernel_wc(range.start, range.len())
    }

    /// `range` of VRAM as the kernel maps it, lent for `guard`'s RCU read-side section without
    /// sleeping or locking: where drm_panic draws the panic screen. `None` once the card is
    /// unbound, or for a range outside VRAM.
    #[cfg_attr(not(CONFIG_DRM = "y"), allow(dead_code))]
    pub(crate) fn vram_for_panic<'a>(
        &'a self,
        range: core::ops::Range<usize>,
        guard: &'a rcu::Guard,
    ) -> Option<IoRange<'a>> {
        self.vram.try_io_range(range.start, range.len(), guard)
    }

    /// Validates a mode for this card and its VRAM (see [`Mode::new`]).
    pub(crate) fn check_mode(
        &self,
        width: u32,
        height: u32,
        bpp: u32,
        virtual_height: u32,
    ) -> Result<Mode> {
        Mode::new(
            width,
            height,
            bpp,
            virtual_height,
            self.vram_size,
            self.kind.caps(),
        )
    }

    /// Programs `mode` (from [`Hardware::check_mode`]), with the RGB332 palette at 8 bpp. The
    /// scanout starts at VRAM offset 0 (programming a mode resets the pan offset).
    pub(crate) fn program(&self, mode: &Mode) -> Result {
        self.with_dispi(|dispi| dispi.show(mode))
    }

    /// Shows nothing, on every kind of card: the DISPI mode off, and on cards with VGA the VGA
    /// output blanked as well, or legacy VGA goes on showing VRAM from offset 0 (as text or
    /// planar pixels), where any client's buffer may be.
    pub(crate) fn scanout_off(&self) -> Result {
        self.with_dispi(|dispi| {
            dispi.disable();
            if self.kind.has_vga_ports() {
                dispi.blank_vga();
            }
            Ok(())
        })
    }

    /// Switches the DISPI mode off at unbind, handing the screen back to VGA text mode where
    /// there is one (a card without VGA keeps showing its last picture).
    pub(crate) fn disable_output(&self) {
        if self.kind.has_vga_ports() {
            let _ = self.with_dispi(|dispi| {
                dispi.disable();
                Ok(())
            });
        }
    }
}
