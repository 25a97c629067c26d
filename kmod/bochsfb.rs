// SPDX-License-Identifier: GPL-2.0

//! bochsfb: a display driver for QEMU's Bochs-compatible VGA cards, with VRAM exposed to
//! userspace through `mmap` (write-combined) and `lseek`/`read`/`write`.
//!
//! Binds PCI 1234:1111: QEMU's `-device VGA` (std VGA), `secondary-vga` and `bochs-display`.
//! Each card gets `/dev/bochsfbN`; see `chardev.rs` for its file operations and
//! docs/architecture.md for the userspace ABI.
//!
//! Module parameters `width`, `height` and `bpp` choose the mode set at probe time
//! (default 1024x768, 32 bpp).

mod chardev;
mod dispi;
mod mode;
mod user_mappings;
mod vram;

use chardev::{Card, CardFile};
use core::sync::atomic::{AtomicU32, Ordering};
use dispi::{Dispi, MmioBar};
use kernel::{
    device::Core,
    devres::Devres,
    miscdevice::{MiscDeviceOptions, MiscDeviceRegistration},
    pci,
    prelude::*,
    sync::Arc,
};
use mode::Mode;
use user_mappings::UserMappings;
use vram::Vram;

/// QEMU's vendor ID for its Bochs-compatible display devices (not in `pci_ids.h`).
const QEMU_VGA_VENDOR: u16 = 0x1234;
const QEMU_VGA_DEVICE: u32 = 0x1111;

/// BAR0 is VRAM, BAR2 the MMIO registers (QEMU hw/display/vga-pci.c).
const VRAM_BAR: u32 = 0;
const MMIO_BAR: u32 = 2;

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
static NODES_IN_USE: AtomicU32 = AtomicU32::new(0);

/// A claimed node number; released when the card goes away.
struct NodeNumber(usize);

impl NodeNumber {
    fn claim() -> Result<Self> {
        let mut used = NODES_IN_USE.load(Ordering::Relaxed);
        loop {
            let free = (!used).trailing_zeros() as usize;
            if free >= NODE_NAMES.len() {
                return Err(ENOSPC);
            }
            match NODES_IN_USE.compare_exchange(
                used,
                used | (1 << free),
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(Self(free)),
                Err(now) => used = now,
            }
        }
    }

    fn name(&self) -> &'static CStr {
        NODE_NAMES[self.0]
    }
}

impl Drop for NodeNumber {
    fn drop(&mut self) {
        NODES_IN_USE.fetch_and(!(1 << self.0), Ordering::AcqRel);
    }
}

/// Per-card driver data, alive while the card is bound.
#[pin_data]
struct BochsfbDevice<'bound> {
    // Fields drop in order: the device node goes first, then its name is freed, then the
    // registers are unmapped.
    #[pin]
    misc: MiscDeviceRegistration<CardFile>,
    node: NodeNumber,
    mmio: MmioBar<'bound>,
    has_vga_ports: bool,
}

struct BochsfbDriver;

kernel::pci_device_table!(
    PCI_TABLE,
    <BochsfbDriver as pci::Driver>::IdInfo,
    [(
        pci::DeviceId::from_id(pci::Vendor::from_id(QEMU_VGA_VENDOR), QEMU_VGA_DEVICE),
        ()
    )]
);

impl pci::Driver for BochsfbDriver {
    type IdInfo = ();
    type Data<'bound> = BochsfbDevice<'bound>;

    const ID_TABLE: pci::IdTable<Self::IdInfo> = &PCI_TABLE;

    fn probe<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        _info: Option<&'bound Self::IdInfo>,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        pin_init::pin_init_scope(move || Self::setup(pdev))
    }

    fn unbind<'bound>(_pdev: &'bound pci::Device<Core<'_>>, this: Pin<&Self::Data<'bound>>) {
        // Processes may still have VRAM mapped: take it away before the BAR is released.
        this.misc.data().user_mappings.revoke();
        // Hand the screen back to VGA text mode where there is one.
        if this.has_vga_ports {
            let _ = Dispi::new(&this.mmio).disable();
        }
    }
}

impl BochsfbDriver {
    /// Checks the card, sets the mode and prepares the device node.
    fn setup<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
    ) -> Result<impl PinInit<BochsfbDevice<'bound>, Error> + 'bound> {
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

        // VRAM size: what the card reports, never more than BAR0 really maps.
        let reported = dispi.vram_size()?;
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

        let (width, height, bpp) = (
            module_parameters::width.value(),
            module_parameters::height.value(),
            module_parameters::bpp.value(),
        );
        let mode = Mode::new(width, height, bpp, vram_size).inspect_err(|_| {
            dev_err!(
                pdev,
                "mode {}x{} {}bpp is invalid for {} KiB VRAM (width a multiple of 8; 16, 24 or 32 bpp)\n",
                width,
                height,
                bpp,
                vram_size / 1024
            )
        })?;
        dispi
            .set_mode(&mode, mode.virtual_height(vram_size))
            .inspect_err(|_| dev_err!(pdev, "the card did not accept mode {:?}\n", mode))?;

        let has_vga_ports = pdev.pci_class().as_raw() >> 8 == pci::Class::DISPLAY_VGA.as_raw() >> 8;
        if has_vga_ports {
            dispi.unblank_vga()?;
        }

        let vram = Devres::new(
            pdev.as_ref(),
            Vram::new(pdev, VRAM_BAR, vram_size, c"bochsfb-vram")?,
        )?;
        let card = Arc::pin_init(
            try_pin_init!(Card {
                mode,
                vram_size,
                vram,
                dev: pdev.as_ref().into(),
                user_mappings <- UserMappings::new(),
            }),
            GFP_KERNEL,
        )?;
        let node = NodeNumber::claim()
            .inspect_err(|_| dev_err!(pdev, "all {} device nodes in use\n", NODE_NAMES.len()))?;

        dev_info!(
            pdev,
            "/dev/{}: DISPI {:#x}, {} KiB VRAM, mode {}x{} {}bpp\n",
            node.name().to_str().unwrap_or("?"),
            id,
            vram_size / 1024,
            mode.width,
            mode.height,
            mode.bpp
        );

        Ok(try_pin_init!(BochsfbDevice {
            misc <- MiscDeviceRegistration::register(
                MiscDeviceOptions { name: node.name() },
                card,
            ),
            node,
            mmio,
            has_vga_ports,
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
            default: 1024,
            description: "Horizontal resolution set at probe (multiple of 8)",
        },
        height: u32 {
            default: 768,
            description: "Vertical resolution set at probe",
        },
        bpp: u32 {
            default: 32,
            description: "Bits per pixel set at probe (16, 24 or 32)",
        },
    },
}
