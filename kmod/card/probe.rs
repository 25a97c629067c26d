// SPDX-License-Identifier: GPL-2.0

//! Bringing a card up at probe, in the order every face needs: take it over from the firmware,
//! check that it is a Bochs DISPI card, find out which one and how much VRAM it has, read its
//! EDID, show the first mode, then map VRAM write-combined and clear it.
//!
//! [`Found::probe`] does everything up to the mode; the face chooses the mode (usually
//! [`Found::initial_mode`]), [`Found::show`]s it, and [`Found::into_hardware`] maps VRAM and
//! hands over the [`Hardware`] the face keeps while the card is bound.

use super::{
    dispi::{self, Dispi, MmioBar},
    edid,
    mode::Mode,
    vram, CardKind, Hardware,
};
use kernel::{device::Core, pci, pci::UserMappedBar, prelude::*};

/// BAR0 is VRAM, BAR2 the MMIO registers (QEMU hw/display/vga-pci.c).
const VRAM_BAR: u32 = 0;
const MMIO_BAR: u32 = 2;

/// The mode when neither EDID nor the caller gives one.
const FALLBACK_WIDTH: u32 = 1024;
const FALLBACK_HEIGHT: u32 = 768;

/// The mode a face asks for at probe; 0 leaves a dimension to the EDID.
pub(crate) struct Request {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) bpp: u32,
}

/// A card taken over from the firmware, its registers mapped and checked; VRAM not mapped yet.
pub(crate) struct Found<'bound> {
    mmio: MmioBar<'bound>,
    kind: CardKind,
    id: u16,
    vram_size: usize,
    edid_mode: Option<(u32, u32)>,
}

impl<'bound> Found<'bound> {
    /// Takes the card over and identifies it; `ENODEV` if it is not one this driver drives (or
    /// the kernel was booted with `nomodeset`).
    pub(crate) fn probe(pdev: &'bound pci::Device<Core<'_>>) -> Result<Self> {
        if kernel::video::firmware_drivers_only() {
            dev_info!(
                pdev,
                "nomodeset: leaving the display to the firmware's framebuffer\n"
            );
            return Err(ENODEV);
        }
        // A firmware framebuffer (vesafb after `vga=`, efifb, simpledrm) may hold VRAM: take the
        // card over from it before requesting any BAR, as the C bochs driver does.
        pdev.remove_conflicting_framebuffers(c"bochsfb")
            .inspect_err(|e| dev_err!(pdev, "cannot remove the firmware framebuffer: {:?}\n", e))?;
        pdev.enable_device_mem()?;

        if pdev.resource_len(MMIO_BAR)? == 0 {
            dev_err!(
                pdev,
                "no MMIO registers in BAR{}: only QEMU cards with mmio=on are supported\n",
                MMIO_BAR
            );
            return Err(ENODEV);
        }
        let mmio = pdev
            .iomap_region_sized::<{ dispi::MMIO_BAR_SIZE }>(MMIO_BAR, c"bochsfb-mmio")
            .inspect_err(|e| dev_err!(pdev, "cannot map MMIO BAR{}: {:?}\n", MMIO_BAR, e))?;
        let dispi = Dispi::new(&mmio);

        let id = dispi
            .check_id()
            .inspect_err(|_| dev_err!(pdev, "no Bochs DISPI interface found\n"))?;

        // std VGA is a VGA-class device; secondary-vga and bochs-display are "other display"
        // devices, told apart by whether the legacy VGA registers answer.
        let kind = if pdev.pci_class().as_raw() >> 8 == pci::Class::DISPLAY_VGA.as_raw() >> 8 {
            CardKind::StdVga
        } else if dispi.has_vga_ports() {
            CardKind::SecondaryVga
        } else {
            CardKind::BochsDisplay
        };

        // VRAM size: what the card reports, never more than BAR0 really maps.
        let reported = dispi.vram_size();
        let bar_len = usize::try_from(pdev.resource_len(VRAM_BAR)?)?;
        if reported != bar_len {
            dev_warn!(
                pdev,
                "card reports {} KiB VRAM but BAR{} is {} KiB; using the smaller\n",
                reported / 1024,
                VRAM_BAR,
                bar_len / 1024
            );
        }
        let vram_size = reported.min(bar_len);

        let edid_mode = edid::preferred_mode(&dispi.read_edid()?);
        Ok(Self {
            mmio,
            kind,
            id,
            vram_size,
            edid_mode,
        })
    }

    /// The mode to show at probe: `request`'s dimensions, a dimension it leaves at 0 from the
    /// EDID, else 1024x768. When nothing was requested and the EDID's mode does not fit the card
    /// (a width not a multiple of 8, more than its VRAM holds), 1024x768 or 640x480 instead; a
    /// requested mode that does not fit is refused with a message.
    pub(crate) fn initial_mode(
        &self,
        pdev: &pci::Device<Core<'_>>,
        request: &Request,
    ) -> Result<Mode> {
        let (kind, vram_size, edid) = (self.kind, self.vram_size, self.edid_mode);
        let (width, height) = match (request.width, request.height) {
            (0, 0) => edid.unwrap_or((FALLBACK_WIDTH, FALLBACK_HEIGHT)),
            (0, h) => (edid.map_or(FALLBACK_WIDTH, |e| e.0), h),
            (w, 0) => (w, edid.map_or(FALLBACK_HEIGHT, |e| e.1)),
            (w, h) => (w, h),
        };
        let bpp = request.bpp;
        let invalid = |width, height| {
            dev_err!(
                pdev,
                "mode {}x{} {}bpp is invalid for a {} with {} KiB VRAM (width a multiple of 8; bpp 8, 16, 24 or 32, bochs-display 16 or 32)\n",
                width,
                height,
                bpp,
                kind.name(),
                vram_size / 1024
            )
        };
        let automatic = request.width == 0 && request.height == 0;
        match Mode::new(width, height, bpp, 0, vram_size, kind.caps()) {
            Ok(mode) => Ok(mode),
            // The card's own EDID may name a mode it cannot show (a width not a multiple of 8,
            // more than its VRAM holds); the firmware console is gone by now, so show something.
            Err(_) if automatic => {
                let fallback = [(FALLBACK_WIDTH, FALLBACK_HEIGHT), (640, 480)]
                    .into_iter()
                    .find_map(|(w, h)| Mode::new(w, h, bpp, 0, vram_size, kind.caps()).ok());
                let Some(mode) = fallback else {
                    invalid(width, height);
                    return Err(EINVAL);
                };
                dev_warn!(
                    pdev,
                    "preferred mode {}x{} does not fit this card; using {}x{}\n",
                    width,
                    height,
                    mode.width,
                    mode.height
                );
                Ok(mode)
            }
            Err(e) => {
                invalid(width, height);
                Err(e)
            }
        }
    }

    /// Programs `mode` (checked for this card) and turns the VGA output on where there is one.
    pub(crate) fn show(&self, pdev: &pci::Device<Core<'_>>, mode: &Mode) -> Result {
        let dispi = Dispi::new(&self.mmio);
        dispi
            .show(mode)
            .inspect_err(|_| dev_err!(pdev, "the card did not accept mode {:?}\n", mode))?;
        if self.kind.has_vga_ports() {
            dispi.unblank_vga();
        }
        Ok(())
    }

    /// Maps VRAM write-combined, clears it, and hands the card's registers and VRAM over as
    /// device resources, revoked at unbind.
    pub(crate) fn into_hardware(self, pdev: &'bound pci::Device<Core<'_>>) -> Result<Hardware> {
        let vram = pdev
            .iomap_region_wc(VRAM_BAR, c"bochsfb-vram")
            .inspect_err(|e| {
                dev_err!(
                    pdev,
                    "cannot map VRAM (BAR{}) write-combined: {:?}\n",
                    VRAM_BAR,
                    e
                )
            })?;
        // Whatever an earlier driver or client left in VRAM is not for the next one to read.
        vram::clear(&vram, self.vram_size)?;
        // User mappings of VRAM go through one address space, zapped at unbind before the BAR
        // is released.
        let vram = UserMappedBar::new(pdev, vram.into_devres()?, c"bochsfb")?;
        Ok(Hardware {
            kind: self.kind,
            id: self.id,
            vram_size: self.vram_size,
            edid_mode: self.edid_mode,
            vram,
            regs: self.mmio.into_devres()?,
            dev: pdev.as_ref().into(),
        })
    }
}
