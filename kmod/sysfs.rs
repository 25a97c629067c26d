// SPDX-License-Identifier: GPL-2.0

//! Read-only sysfs attributes of `/dev/bochsfbN`: `/sys/class/misc/bochsfbN/{card,mode,
//! virtual_height,y_offset,vram_size}`.
//!
//! The 7.3 kernel crate has no sysfs attribute abstraction, so this module holds the C side: a
//! static `device_attribute` table added to the misc device after registration. The values come
//! from a per-node snapshot that the card publishes on every mode change and pan, so a `show`
//! callback needs no pointer back into the card (whose lifetime sysfs knows nothing about).

use crate::{card::CardKind, mode::Mode};
use core::{cell::UnsafeCell, ffi::CStr, fmt::Write};
use kernel::{
    bindings,
    ffi::c_char,
    prelude::*,
    sync::atomic::{Atomic, Relaxed},
};

/// How many device nodes there can be (`bochsfb0` .. `bochsfb7`).
pub(crate) const MAX_NODES: usize = 8;

struct Snapshot {
    kind: Atomic<u32>,
    width: Atomic<u32>,
    height: Atomic<u32>,
    bpp: Atomic<u32>,
    virtual_height: Atomic<u32>,
    y_offset: Atomic<u32>,
    vram_size: Atomic<usize>,
}

impl Snapshot {
    const fn new() -> Self {
        Self {
            kind: Atomic::new(0),
            width: Atomic::new(0),
            height: Atomic::new(0),
            bpp: Atomic::new(0),
            virtual_height: Atomic::new(0),
            y_offset: Atomic::new(0),
            vram_size: Atomic::new(0),
        }
    }
}

static SNAPSHOTS: [Snapshot; MAX_NODES] = [const { Snapshot::new() }; MAX_NODES];

/// Records what node `node` shows now.
pub(crate) fn publish(node: usize, kind: CardKind, mode: &Mode, y_offset: u32, vram_size: usize) {
    let Some(s) = SNAPSHOTS.get(node) else { return };
    s.kind.store(kind as u32, Relaxed);
    s.width.store(mode.width, Relaxed);
    s.height.store(mode.height, Relaxed);
    s.bpp.store(mode.bpp, Relaxed);
    s.virtual_height.store(mode.virtual_height, Relaxed);
    s.y_offset.store(y_offset, Relaxed);
    s.vram_size.store(vram_size, Relaxed);
}

/// One line of sysfs output for `snapshot`.
type Show = fn(&Snapshot, &mut LineBuf) -> core::fmt::Result;

const SHOW_CARD: Show = |s, out| {
    let name = match s.kind.load(Relaxed) {
        k if k == CardKind::StdVga as u32 => CardKind::StdVga.name(),
        k if k == CardKind::SecondaryVga as u32 => CardKind::SecondaryVga.name(),
        _ => CardKind::BochsDisplay.name(),
    };
    writeln!(out, "{name}")
};
const SHOW_MODE: Show = |s, out| {
    let (w, h, bpp) = (
        s.width.load(Relaxed),
        s.height.load(Relaxed),
        s.bpp.load(Relaxed),
    );
    writeln!(out, "{w}x{h}-{bpp}")
};
const SHOW_VIRTUAL_HEIGHT: Show = |s, out| writeln!(out, "{}", s.virtual_height.load(Relaxed));
const SHOW_Y_OFFSET: Show = |s, out| writeln!(out, "{}", s.y_offset.load(Relaxed));
const SHOW_VRAM_SIZE: Show = |s, out| writeln!(out, "{}", s.vram_size.load(Relaxed));

const ATTR_COUNT: usize = 5;
const NAMES: [&CStr; ATTR_COUNT] = [
    c"card",
    c"mode",
    c"virtual_height",
    c"y_offset",
    c"vram_size",
];
const SHOWS: [Show; ATTR_COUNT] = [
    SHOW_CARD,
    SHOW_MODE,
    SHOW_VIRTUAL_HEIGHT,
    SHOW_Y_OFFSET,
    SHOW_VRAM_SIZE,
];

/// A `device_attribute` in writable static memory (sysfs and lockdep use its address).
#[repr(transparent)]
struct Attr(UnsafeCell<bindings::device_attribute>);

// SAFETY: After initialisation the attributes are only read, by sysfs.
unsafe impl Sync for Attr {}

impl Attr {
    const fn new(index: usize) -> Self {
        let mut attr: bindings::device_attribute = pin_init::zeroed();
        attr.attr.name = NAMES[index].as_ptr().cast();
        attr.attr.mode = 0o444;
        attr.__bindgen_anon_1.show = Some(show);
        Self(UnsafeCell::new(attr))
    }

    fn as_ptr(&self) -> *const bindings::device_attribute {
        self.0.get()
    }
}

static ATTRS: [Attr; ATTR_COUNT] = [
    Attr::new(0),
    Attr::new(1),
    Attr::new(2),
    Attr::new(3),
    Attr::new(4),
];

/// A small line buffer for `show`.
struct LineBuf {
    bytes: [u8; 64],
    len: usize,
}

impl Write for LineBuf {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len + s.len();
        if end > self.bytes.len() {
            return Err(core::fmt::Error);
        }
        self.bytes[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// The node number in a device name `bochsfbN`.
fn node_of(name: &CStr) -> Option<usize> {
    let digit = *name.to_bytes().strip_prefix(b"bochsfb")?.first()?;
    let node = usize::from(digit.checked_sub(b'0')?);
    (node < MAX_NODES).then_some(node)
}

/// # Safety
///
/// Called by sysfs for one of [`ATTRS`] of a device added by [`add`], with a `PAGE_SIZE` buffer.
unsafe extern "C" fn show(
    dev: *mut bindings::device,
    attr: *mut bindings::device_attribute,
    buf: *mut c_char,
) -> isize {
    // SAFETY: sysfs passes the live device the attribute belongs to; its kobject name is a
    // valid C string while the device is registered.
    let name = unsafe { CStr::from_ptr((*dev).kobj.name.cast()) };
    let Some(snapshot) = node_of(name).map(|node| &SNAPSHOTS[node]) else {
        return EINVAL.to_errno() as isize;
    };
    let Some(index) = ATTRS.iter().position(|a| a.as_ptr() == attr.cast_const()) else {
        return EINVAL.to_errno() as isize;
    };
    let mut line = LineBuf {
        bytes: [0; 64],
        len: 0,
    };
    if SHOWS[index](snapshot, &mut line).is_err() {
        return EINVAL.to_errno() as isize;
    }
    // SAFETY: `buf` has room for `PAGE_SIZE` bytes and `line.len <= 64`.
    unsafe { core::ptr::copy_nonoverlapping(line.bytes.as_ptr(), buf.cast::<u8>(), line.len) };
    line.len as isize
}

/// Adds the attributes to the misc device `dev` (`/sys/class/misc/bochsfbN`).
pub(crate) fn add(dev: &kernel::device::Device) -> Result {
    let raw = raw_device(dev);
    for (i, attr) in ATTRS.iter().enumerate() {
        // SAFETY: `raw` is a registered device and `attr` a static attribute that outlives it.
        let ret = unsafe { bindings::device_create_file(raw, attr.as_ptr()) };
        if ret != 0 {
            remove_first(dev, i);
            return Err(Error::from_errno(ret));
        }
    }
    Ok(())
}

/// Removes the attributes [`add`] added.
pub(crate) fn remove(dev: &kernel::device::Device) {
    remove_first(dev, ATTR_COUNT);
}

fn remove_first(dev: &kernel::device::Device, count: usize) {
    let raw = raw_device(dev);
    for attr in &ATTRS[..count] {
        // SAFETY: `raw` is a registered device; removing an attribute it has is always fine.
        unsafe { bindings::device_remove_file(raw, attr.as_ptr()) };
    }
}

/// The C `struct device` behind `dev`: `Device` is a `#[repr(transparent)]` wrapper of
/// `Opaque<bindings::device>`, and the kernel crate keeps `as_raw` private.
fn raw_device(dev: &kernel::device::Device) -> *mut bindings::device {
    core::ptr::from_ref(dev).cast_mut().cast()
}
