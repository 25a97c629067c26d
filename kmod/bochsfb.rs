// SPDX-License-Identifier: GPL-2.0

//! bochsfb: a display driver for QEMU's Bochs-compatible VGA cards, with VRAM exposed to
//! userspace through `mmap` (write-combined) and `lseek`/`read`/`write`.
//!
//! Binds PCI 1234:1111: QEMU's `-device VGA` (std VGA), `secondary-vga` and `bochs-display`.
//! Each card gets `/dev/bochsfbN`; see `chardev.rs` for its file operations and
//! docs/architecture.md for the userspace ABI.
//!
//! The mode set at probe time is the card's EDID preferred mode (QEMU's `xres`/`yres` device
//! properties), else 1024x768; module parameters `width`, `height` and `bpp` override it.
//! Userspace changes it later with `BOCHSFB_IOCTL_SET_MODE` or `FBIOPUT_VSCREENINFO`.

// A panic in the kernel is BUG(): no arithmetic may overflow, least of all on a value that came
// from userspace. Every operation is checked, saturating or wrapping, or carries an `expect` with
// the bound that keeps it in range.
#![deny(clippy::arithmetic_side_effects)]

mod card;
mod chardev;
mod dispi;
mod edid;
mod fbdev;
mod mode;
mod shadow;
mod sysfs;
// The userspace ABI, one file shared with the `bochsfb-uapi` crate (this is a link to
// uapi/src/bochsfb.rs), whose items are `pub` for userspace. The driver uses most of it.
#[allow(dead_code, unreachable_pub)]
mod uapi;
mod vram;

use card::{Card, CardKind};
use chardev::CardFile;
use dispi::Dispi;
use kernel::{
    device::Core,
    miscdevice::{MiscDeviceOptions, MiscDeviceRegistration},
    pci::{self, UserMappedBar},
    prelude::*,
    sync::{
        atomic::{Atomic, Full, Relaxed},
        Arc,
    },
};
use mode::Mode;

/// QEMU's vendor ID for its Bochs-compatible display devices (not in `pci_ids.h`).
const QEMU_VGA_VENDOR: pci::Vendor = match pci::Vendor::new(0x1234) {
    Some(vendor) => vendor,
    None => panic!("not a PCI vendor ID"),
};
const QEMU_VGA_DEVICE: u32 = 0x1111;

/// BAR0 is VRAM, BAR2 the MMIO registers (QEMU hw/display/vga-pci.c).
const VRAM_BAR: u32 = 0;
const MMIO_BAR: u32 = 2;

/// The mode when neither EDID nor the module parameters give one.
const FALLBACK_WIDTH: u32 = 1024;
const FALLBACK_HEIGHT: u32 = 768;

/// Device node names, one per card. Eight QEMU display cards is already a lot.
const NODE_NAMES: [&CStr; 8] = [
    c"bochsfb0",
    c"bochsfb1",
    c"bochsfb2",
    c"bochsfb3",
    c"bochsfb4",
    c"bochsfb5",
    c"bochsfb6",
    c"bochsfb7",
];

/// Which node numbers are taken, one bit each.
static NODES_IN_USE: Atomic<u32> = Atomic::new(0);

/// Replaces the taken-nodes bitmap by `change(bitmap)` atomically, unless `change` refuses;
/// returns the bitmap it changed.
fn update_nodes(change: impl Fn(u32) -> Result<u32>) -> Result<u32> {
    let mut used = NODES_IN_USE.load(Relaxed);
    loop {
        match NODES_IN_USE.cmpxchg(used, change(used)?, Full) {
            Ok(old) => return Ok(old),
            Err(now) => used = now,
        }
    }
}

/// A claimed node number; released when the card goes away.
struct NodeNumber(usize);

impl NodeNumber {
    fn claim() -> Result<Self> {
        let first_free = |used: u32| (!used).trailing_zeros() as usize;
        let old = update_nodes(|used| match first_free(used) {
            free if free < NODE_NAMES.len() => Ok(used | (1 << free)),
            _ => Err(ENOSPC),
        })?;
        Ok(Self(first_free(old)))
    }

    fn name(&self) -> &'static CStr {
        NODE_NAMES[self.0]
    }
}

impl Drop for NodeNumber {
    fn drop(&mut self) {
        // Clearing a bit never fails.
        let _ = update_nodes(|used| Ok(used & !(1 << self.0)));
    }
}

/// Per-card driver data, alive while the card is bound.
#[pin_data]
struct BochsfbDevice {
    // Fields drop in order: the device node goes first, then its name is freed.
    #[pin]
    misc: MiscDeviceRegistration<CardFile>,
    node: NodeNumber,
}

struct BochsfbDriver;

kernel::pci_device_table!(
    PCI_TABLE,
    <BochsfbDriver as pci::Driver>::IdInfo,
    [(pci::DeviceId::from_id(QEMU_VGA_VENDOR, QEMU_VGA_DEVICE), ())]
);

impl pci::Driver for BochsfbDriver {
    type IdInfo = ();
    type Data<'bound> = BochsfbDevice;

    const ID_TABLE: pci::IdTable<Self::IdInfo> = &PCI_TABLE;

    fn probe<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        _info: Option<&'bound Self::IdInfo>,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        pin_init::pin_init_scope(move || Self::setup(pdev))
    }

    fn unbind<'bound>(_pdev: &'bound pci::Device<Core<'_>>, this: Pin<&Self::Data<'bound>>) {
        let card = this.misc.data();
        // Processes may still have VRAM mapped: take it away before the BAR is released.
        card.revoke();
        // Hand the screen back to VGA text mode where there is one.
        card.disable_output();
    }
}

impl BochsfbDriver {
    /// Checks the card, sets the mode and prepares the device node.
    fn setup<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
    ) -> Result<impl PinInit<BochsfbDevice, Error> + 'bound> {
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

        let edid = edid::preferred_mode(&dispi.read_edid()?);
        let (width, height) = match (
            module_parameters::width.value(),
            module_parameters::height.value(),
        ) {
            (0, 0) => edid.unwrap_or((FALLBACK_WIDTH, FALLBACK_HEIGHT)),
            (0, h) => (edid.map_or(FALLBACK_WIDTH, |e| e.0), h),
            (w, 0) => (w, edid.map_or(FALLBACK_HEIGHT, |e| e.1)),
            (w, h) => (w, h),
        };
        let bpp = module_parameters::bpp.value();
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
        let automatic =
            module_parameters::width.value() == 0 && module_parameters::height.value() == 0;
        let mode = match Mode::new(width, height, bpp, 0, vram_size, kind.caps()) {
            Ok(mode) => mode,
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
                mode
            }
            Err(e) => {
                invalid(width, height);
                return Err(e);
            }
        };
        dispi
            .set_mode(&mode)
            .inspect_err(|_| dev_err!(pdev, "the card did not accept mode {:?}\n", mode))?;
        if kind.has_vga_ports() {
            if mode.bpp == 8 {
                dispi.load_rgb332_palette();
            }
            dispi.unblank_vga();
        }

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
        vram::clear(&vram, vram_size)?;
        // User mappings of VRAM go through one address space, zapped at unbind before the BAR
        // is released.
        let vram = UserMappedBar::new(pdev, vram.into_devres()?, c"bochsfb")?;
        let node = NodeNumber::claim()
            .inspect_err(|_| dev_err!(pdev, "all {} device nodes in use\n", NODE_NAMES.len()))?;
        let card = Arc::pin_init(
            Card::new(
                kind,
                mode,
                vram_size,
                vram,
                mmio.into_devres()?,
                pdev.as_ref().into(),
            )?,
            GFP_KERNEL,
        )?;

        dev_info!(
            pdev,
            "/dev/{}: {}, DISPI {:#x}, {} KiB VRAM, mode {}x{} {}bpp{}\n",
            node.name().to_str().unwrap_or("?"),
            kind.name(),
            id,
            vram_size / 1024,
            mode.width,
            mode.height,
            mode.bpp,
            if edid.is_some() { " (EDID)" } else { "" }
        );

        // The PCI device is the node's parent: `/sys/class/misc/bochsfbN/device`.
        let pci_dev: &'bound kernel::device::Device<Core<'_>> = pdev.as_ref();
        let parent: &'bound kernel::device::Device<kernel::device::Bound> = pci_dev;
        Ok(try_pin_init!(BochsfbDevice {
            misc <- MiscDeviceRegistration::register(
                MiscDeviceOptions {
                    name: node.name(),
                    parent: Some(parent),
                },
                card,
            ),
            node,
        }))
    }
}

kernel::module_pci_driver! {
    type: BochsfbDriver,
    name: "bochsfb",
    authors: ["bochsfb developers"],
    description: "QEMU Bochs VGA framebuffer with mmap and read/write access to VRAM",
    license: "GPL",
    params: {
        width: u32 {
            default: 0,
            description: "Horizontal resolution set at probe (multiple of 8; 0: EDID, else 1024)",
        },
        height: u32 {
            default: 0,
            description: "Vertical resolution set at probe (0: EDID, else 768)",
        },
        bpp: u32 {
            default: 32,
            description: "Bits per pixel set at probe (8, 16, 24 or 32; bochs-display 16 or 32)",
        },
    },
}
