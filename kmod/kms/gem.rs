// SPDX-License-Identifier: GPL-2.0

//! Dumb buffers that are VRAM: a GEM object owns a range of VRAM, its user mappings are
//! write-combined VRAM filled by the fault handler, and a flip shows it where it is.

use super::{KmsDevice, KmsDriver};
use crate::card::{
    alloc::RangeAllocator,
    vram::{self, Backing},
};
use core::ops::Range;
use kernel::{
    drm::gem::{self, io},
    mm::virt::{IoCaching, VmaNew},
    page::PAGE_SIZE,
    pci::KernelWcMapping,
    prelude::*,
    sync::{aref::ARef, Arc},
};

/// A range of VRAM, given back to its allocator when dropped.
pub(crate) struct VramRange {
    range: Range<usize>,
    alloc: Arc<RangeAllocator>,
}

impl VramRange {
    /// Allocates `len` bytes of VRAM from `alloc`; `ENOMEM` when VRAM is full.
    pub(crate) fn new(alloc: &Arc<RangeAllocator>, len: usize) -> Result<Self> {
        Ok(Self {
            range: alloc.alloc(len)?,
            alloc: alloc.clone(),
        })
    }
}

impl Drop for VramRange {
    fn drop(&mut self) {
        self.alloc.free(&self.range);
    }
}

/// Zeroes `range` of VRAM, a page at a time (each page in its own access of the BAR, so that a
/// large buffer does not hold one long RCU read-side section); `ENODEV` once the card is unbound.
fn zero(dev: &KmsDevice, range: Range<usize>) -> Result {
    let zeros = KVec::from_elem(0u8, PAGE_SIZE, GFP_KERNEL)?;
    for piece in vram::page_pieces(range) {
        dev.hw
            .with_vram(|vram| vram.try_copy_from_slice(piece.start, &zeros[..piece.len()]))?;
    }
    Ok(())
}

/// The driver data of a dumb buffer's GEM object: its VRAM.
#[pin_data]
pub(crate) struct VramBuffer {
    vram: VramRange,
}

/// A dumb buffer's GEM object.
pub(crate) type Object = io::Object<VramBuffer>;

impl VramBuffer {
    /// VRAM byte offset of the buffer's first byte.
    pub(crate) fn vram_offset(&self) -> usize {
        self.vram.range.start
    }

    /// The buffer's bytes of VRAM.
    pub(crate) fn vram_range(&self) -> Range<usize> {
        self.vram.range.clone()
    }
}

impl gem::DriverObject for VramBuffer {
    type Driver = KmsDriver;
    type Args = VramRange;

    fn new(_dev: &KmsDevice, _size: usize, vram: VramRange) -> impl PinInit<Self, Error> {
        try_pin_init!(Self { vram })
    }
}

impl io::DriverObject for VramBuffer {
    fn dumb_create(dev: &KmsDevice, buffer: &mut io::DumbBuffer<'_>) -> Result<ARef<Object>> {
        // The formats the plane scans out: XRGB8888 and RGB565.
        // QEMU's line length is a whole multiple of 8 pixels (docs/drm.md "Flips"): 8 * cpp.
        let pitch_align = match buffer.bpp() {
            32 => 8 * 4,
            16 => 8 * 2,
            _ => return Err(EINVAL),
        };
        let (_pitch, size) = buffer.size(pitch_align)?;
        let vram = VramRange::new(&dev.alloc, size)?;
        // The range holds what its last owner (another client, the console) left there: a
        // new buffer must not show it, as a shmem one would not.
        zero(dev, vram.range.clone())?;
        let len = vram.range.len();
        Object::new(dev, len, vram)
    }

    fn mmap(_obj: &Object, vma: &VmaNew) -> Result {
        // The same rules as `/dev/bochsfbN`'s mappings: shared, never executable.
        vram::check_user_mapping(vma)?;
        vram::prepare(
            vma,
            Backing::Vram {
                caching: IoCaching::WriteCombined,
                growable: false,
            },
        )
    }

    fn vmap(obj: &Object) -> Result<KernelWcMapping> {
        // The fbdev emulation blits its shadow's damage through this (`drm_fbdev_ttm`).
        obj.dev().hw.map_vram_wc(obj.vram_range())
    }

    fn fault(obj: &Object, fault: &io::ObjectFault<'_>) -> Result {
        let dev: &KmsDevice = obj.dev();
        // `None` once the card is unbound: the access gets `SIGBUS`.
        let frames = dev.hw.frames().ok_or(EFAULT)?;
        let first_frame = obj.vram_offset() / PAGE_SIZE;
        // The whole mapping at once, as the misc face's region 0 and TTM do.
        for page in fault.vma_pages() {
            let frame = first_frame.checked_add(page).ok_or(EFAULT)?;
            fault.insert_io_page(page, &frames, frame)?;
        }
        Ok(())
    }
}
