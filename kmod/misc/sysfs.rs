// SPDX-License-Identifier: GPL-2.0

//! Read-only sysfs attributes of `/dev/bochsfbN`: `/sys/class/misc/bochsfbN/{card,mode,
//! virtual_height,y_offset,vram_size}`.
//!
//! They are the misc device's attributes ([`MiscDevice::ATTRIBUTES`]), so the driver core creates
//! them with the device, before the `KOBJ_ADD` uevent that udev rules (`60-bochsfb.rules`) act
//! on, and removes them before the card's data goes away. Each `show` reads the card's state
//! under its mutex; on a card being unbound it fails with `ENODEV`.
//!
//! [`MiscDevice::ATTRIBUTES`]: kernel::miscdevice::MiscDevice::ATTRIBUTES

use super::{chardev::CardFile, fbcard::FbCard};
use core::fmt::Write;
use kernel::{miscdevice::MiscDeviceAttribute, prelude::*, str::Formatter, sync::Arc};

/// Writes one line; a line never fills sysfs's page, so a formatting error cannot happen.
fn line(out: &mut Formatter<'_>, value: core::fmt::Arguments<'_>) -> Result {
    writeln!(out, "{value}").map_err(|_| EINVAL)
}

/// The attributes, created in this order.
pub(crate) const ATTRIBUTES: [MiscDeviceAttribute<CardFile>; 5] = [
    MiscDeviceAttribute {
        name: c"card",
        show: |card: &Arc<FbCard>, out| line(out, format_args!("{}", card.hw.kind.name())),
    },
    MiscDeviceAttribute {
        name: c"mode",
        show: |card: &Arc<FbCard>, out| {
            let (mode, _) = card.mode()?;
            line(
                out,
                format_args!("{}x{}-{}", mode.width, mode.height, mode.bpp),
            )
        },
    },
    MiscDeviceAttribute {
        name: c"virtual_height",
        show: |card: &Arc<FbCard>, out| {
            line(out, format_args!("{}", card.mode()?.0.virtual_height))
        },
    },
    MiscDeviceAttribute {
        name: c"y_offset",
        show: |card: &Arc<FbCard>, out| line(out, format_args!("{}", card.mode()?.1)),
    },
    MiscDeviceAttribute {
        name: c"vram_size",
        show: |card: &Arc<FbCard>, out| line(out, format_args!("{}", card.hw.vram_size)),
    },
];
