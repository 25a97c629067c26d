// SPDX-License-Identifier: GPL-2.0

//! The misc face: `/dev/bochsfbN`, a character device per card that maps VRAM into processes
//! (four mmap regions), reads and writes it (`lseek`/`read`/`write`), and speaks the bochsfb and
//! fbdev ioctls. See `chardev.rs` for its file operations and docs/architecture.md for the ABI.
//!
//! It sits on the card core (`crate::card`): the PCI driver probes the card there and hands the
//! [`Hardware`] and the mode it showed to [`MiscFace::new`].

mod abi;
mod chardev;
mod fbcard;
mod fbdev;
mod shadow;
mod sysfs;

use crate::card::{mode::Mode, Hardware};
use chardev::CardFile;
use fbcard::FbCard;
use kernel::{
    device::Core,
    miscdevice::{MiscDeviceOptions, MiscDeviceRegistration},
    pci,
    prelude::*,
    sync::{
        atomic::{Atomic, Full, Relaxed},
        Arc,
    },
};

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

/// The misc face's driver data for one card, alive while the card is bound.
#[pin_data]
pub(crate) struct MiscFace {
    // Fields drop in order: the device node goes first, then its name is freed.
    #[pin]
    misc: MiscDeviceRegistration<CardFile>,
    node: NodeNumber,
}

impl MiscFace {
    /// Registers `/dev/bochsfbN` for a card that shows `mode`.
    pub(crate) fn new<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        hw: Hardware,
        mode: Mode,
    ) -> Result<impl PinInit<Self, Error> + 'bound> {
        let node = NodeNumber::claim()
            .inspect_err(|_| dev_err!(pdev, "all {} device nodes in use\n", NODE_NAMES.len()))?;
        let (kind, id, vram_size, edid) = (hw.kind, hw.id, hw.vram_size, hw.edid_mode);
        let card = Arc::pin_init(FbCard::new(hw, mode)?, GFP_KERNEL)?;

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
        Ok(try_pin_init!(MiscFace {
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

    /// At unbind, before the card's resources are released.
    pub(crate) fn unbind(&self) {
        let card = self.misc.data();
        // Processes may still have VRAM mapped: take it away before the BAR is released.
        card.revoke();
        // Hand the screen back to VGA text mode where there is one.
        card.hw.disable_output();
    }
}
