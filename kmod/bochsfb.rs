// SPDX-License-Identifier: GPL-2.0

//! bochsfb: a display driver for QEMU's Bochs-compatible VGA cards, with VRAM exposed to
//! userspace through `mmap` (write-combined) and `lseek`/`read`/`write`.
//!
//! Binds PCI 1234:1111: QEMU's `-device VGA` (std VGA), `secondary-vga` and `bochs-display`.
//! Each card gets `/dev/bochsfbN`; see `misc/chardev.rs` for its file operations and
//! docs/architecture.md for the userspace ABI. The card code (`card.rs`, `card/`) knows nothing of
//! that device node, so a second face (DRM/KMS, docs/drm.md) can drive a card with it.
//!
//! The mode set at probe time is the card's EDID preferred mode (QEMU's `xres`/`yres` device
//! properties), else 1024x768; module parameters `width`, `height` and `bpp` override it.
//! Userspace changes it later with `BOCHSFB_IOCTL_SET_MODE` or `FBIOPUT_VSCREENINFO`.

// A panic in the kernel is BUG(): no arithmetic may overflow, least of all on a value that came
// from userspace. Every operation is checked, saturating or wrapping, or carries an `expect` with
// the bound that keeps it in range.
#![deny(clippy::arithmetic_side_effects)]

// The card, written once for every face (docs/drm.md): registers, EDID, modes, VRAM, probe.
mod card;
// The DRM face: `/dev/dri/cardN`, dumb buffers in VRAM (docs/drm.md). The kernel crate
// has DRM only when DRM is built in.
#[cfg(CONFIG_DRM = "y")]
mod kms;
// The misc face: `/dev/bochsfbN`.
mod misc;
// The userspace ABI, one file shared with the `bochsfb-uapi` crate (this is a link to
// uapi/src/bochsfb.rs), whose items are `pub` for userspace. The driver uses most of it.
#[allow(dead_code, unreachable_pub)]
mod uapi;

use card::probe::{Found, Request};
use kernel::{device::Core, pci, prelude::*};
use misc::MiscFace;

/// How userspace reaches a bound card: the face chosen by the `face` parameter at probe.
enum Face {
    /// `/dev/bochsfbN` (`face=0`).
    Misc(Pin<KBox<MiscFace>>),
    /// `/dev/dri/cardN` (`face=1`).
    #[cfg(CONFIG_DRM = "y")]
    Kms(kms::KmsFace),
}

/// QEMU's vendor ID for its Bochs-compatible display devices (not in `pci_ids.h`).
const QEMU_VGA_VENDOR: pci::Vendor = match pci::Vendor::new(0x1234) {
    Some(vendor) => vendor,
    None => panic!("not a PCI vendor ID"),
};
const QEMU_VGA_DEVICE: u32 = 0x1111;

struct BochsfbDriver;

kernel::pci_device_table!(
    PCI_TABLE,
    <BochsfbDriver as pci::Driver>::IdInfo,
    [(pci::DeviceId::from_id(QEMU_VGA_VENDOR, QEMU_VGA_DEVICE), ())]
);

impl pci::Driver for BochsfbDriver {
    type IdInfo = ();
    type Data<'bound> = Face;

    const ID_TABLE: pci::IdTable<Self::IdInfo> = &PCI_TABLE;

    fn probe<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        _info: Option<&'bound Self::IdInfo>,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        Self::setup(pdev)
    }

    fn unbind<'bound>(pdev: &'bound pci::Device<Core<'_>>, this: Pin<&Self::Data<'bound>>) {
        match &*this {
            Face::Misc(misc) => misc.unbind(),
            #[cfg(CONFIG_DRM = "y")]
            Face::Kms(kms) => kms.unbind(pdev),
        }
    }
}

impl BochsfbDriver {
    /// Brings the card up with the mode the module parameters ask for and gives it its face.
    fn setup(pdev: &pci::Device<Core<'_>>) -> Result<Face> {
        let face = module_parameters::face.value();
        if face > 1 || (face == 1 && cfg!(not(CONFIG_DRM = "y"))) {
            dev_err!(
                pdev,
                "face={}: not offered (0: /dev/bochsfbN; 1: DRM, needs CONFIG_DRM=y)\n",
                face
            );
            return Err(EINVAL);
        }
        let found = Found::probe(pdev)?;
        let mode = found.initial_mode(
            pdev,
            &Request {
                width: module_parameters::width.value(),
                height: module_parameters::height.value(),
                bpp: module_parameters::bpp.value(),
            },
        )?;
        found.show(pdev, &mode)?;
        let hw = found.into_hardware(pdev)?;
        #[cfg(CONFIG_DRM = "y")]
        if face == 1 {
            return Ok(Face::Kms(kms::KmsFace::new(pdev, hw)?));
        }
        Ok(Face::Misc(KBox::pin_init(
            MiscFace::new(pdev, hw, mode)?,
            GFP_KERNEL,
        )?))
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
        face: u32 {
            default: 0,
            description: "How userspace reaches the card: 0 /dev/bochsfbN, 1 DRM (/dev/dri/cardN)",
        },
    },
}
