// SPDX-License-Identifier: GPL-2.0

//! VRAM and its user mappings: how a vma is set up in `mmap`, and how its fault fills it.
//!
//! VRAM is BAR0, mapped write-combined into the kernel (`pci::Device::iomap_region_wc`, kernel
//! patch 0012). The kernel crate's plain `iomap_region` is uncached (UC-) on x86, and that would
//! not just make kernel copies slow: x86 PAT remembers the first caching type of a physical
//! range, and a later write-combining user mapping of the same range is silently downgraded to
//! UC- (arch/x86/mm/pat/memtype.c). User mappings are write-combined too, and every page of them
//! is inserted by the fault handler (`MiscDevice::fault`, kernel patches 0010, 0011), never in `mmap`
//! (docs/mapping.md says why), like the C bochs driver's `devm_ioremap_wc` and TTM's fault
//! handler.

use core::ops::Range;
use kernel::{
    iov::IovIterSource,
    mm::virt::{IoCaching, IoFrames, VmFault, VmaNew, VmaRef},
    page::{Page, PAGE_SIZE},
    pci,
    prelude::*,
};

/// VRAM: the card's write-combined memory BAR.
pub(crate) type Vram<'a> = pci::Bar<'a>;

/// A write's one copy: up to `len` bytes from the caller's pages straight into VRAM at
/// `offset`, with page faults disabled (kernel patch 0018), so it may run under the revocation
/// guard; returns the bytes copied, fewer at a page that is not present. Only x86 lets ordinary
/// stores write a BAR's mapping: elsewhere this copies nothing and the write bounces through a
/// kernel buffer.
#[cfg(CONFIG_X86)]
pub(crate) fn copy_from_user_nofault(
    vram: &Vram<'_>,
    offset: usize,
    source: &mut IovIterSource<'_>,
    len: usize,
) -> Result<usize> {
    vram.try_copy_from_iter_nofault(offset, source, len)
}

/// See the x86 version: nothing is copied directly here.
#[cfg(not(CONFIG_X86))]
pub(crate) fn copy_from_user_nofault(
    _vram: &Vram<'_>,
    _offset: usize,
    _source: &mut IovIterSource<'_>,
    _len: usize,
) -> Result<usize> {
    Ok(0)
}

/// File offsets as `u64`, page by page.
const PAGE_BYTES: u64 = PAGE_SIZE as u64;

/// Splits the byte range `bytes` into pieces that do not cross a page boundary, in order: a page
/// at a time, with a shorter piece where the range starts or ends inside a page.
pub(crate) fn page_pieces(bytes: Range<usize>) -> impl Iterator<Item = Range<usize>> {
    let Range { mut start, end } = bytes;
    core::iter::from_fn(move || {
        if start >= end {
            return None;
        }
        // `start % PAGE_SIZE < PAGE_SIZE`: every piece holds at least one byte.
        let to_page_end = PAGE_SIZE.saturating_sub(start % PAGE_SIZE);
        let piece = start..start.saturating_add(to_page_end).min(end);
        start = piece.end;
        Some(piece)
    })
}

/// Zeroes the first `len` bytes of VRAM, a page at a time.
pub(crate) fn clear(vram: &Vram<'_>, len: usize) -> Result {
    let zeros = KVec::from_elem(0u8, PAGE_SIZE, GFP_KERNEL)?;
    for piece in page_pieces(0..len) {
        vram.try_copy_from_slice(piece.start, &zeros[..piece.len()])?;
    }
    Ok(())
}

/// What a user mapping shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Backing {
    /// VRAM pages; `growable` mappings may be enlarged with `mremap`.
    Vram { caching: IoCaching, growable: bool },
    /// Kernel RAM pages (the shadow buffer).
    Ram,
}

/// Sets `vma` up to be filled by the fault handler; nothing is mapped now.
///
/// The vma is `VM_MIXEDMAP`, so RAM and VRAM pages can both be inserted from a fault handler.
/// VRAM mappings are also `VM_IO` (no `get_user_pages`, no core dumps of device memory), and
/// their caching is set before `VM_MIXEDMAP` (`set_io_caching` refuses it after, and refuses
/// copy-on-write mappings; `CardFile::mmap` refuses every private one before).
pub(crate) fn prepare(vma: &VmaNew, backing: Backing) -> Result {
    match backing {
        Backing::Vram { caching, growable } => {
            vma.set_io_caching(caching)?;
            vma.set_dontdump();
            if !growable {
                vma.set_dontexpand();
            }
        }
        Backing::Ram => vma.set_dontexpand(),
    }
    vma.set_mixedmap();
    Ok(())
}

/// The file offset `vma` maps from, in bytes.
pub(crate) fn file_offset(vma: &VmaNew) -> u64 {
    page_to_bytes(vma.pgoff())
}

/// Byte offset of file page `pgoff`. A vma's offset comes from an `off_t` (`mmap` refuses
/// negative ones), so in bytes it stays below 2^63; saturating keeps any other value out of
/// every region instead of wrapping into one.
fn page_to_bytes(pgoff: usize) -> u64 {
    (pgoff as u64).saturating_mul(PAGE_BYTES)
}

/// Bytes of user addresses `vma` spans. The mm core keeps `end > start` for every vma;
/// saturating makes that a bound this code does not have to trust.
pub(crate) fn vma_len(vma: &VmaRef) -> usize {
    vma.end().saturating_sub(vma.start())
}

/// The file offsets `vma` maps; `EFAULT` past the largest file offset.
pub(crate) fn file_range(vma: &VmaRef) -> Result<Range<u64>> {
    let start = page_to_bytes(vma.pgoff());
    let len = u64::try_from(vma_len(vma))?;
    Ok(start..start.checked_add(len).ok_or(EFAULT)?)
}

/// A page fault in one of the card's mappings (all are `VM_MIXEDMAP`, see [`prepare`]), in file
/// offsets.
pub(crate) struct Fault<'a> {
    fault: &'a VmFault<'a>,
}

impl<'a> Fault<'a> {
    /// `EFAULT` (the access gets `SIGBUS`) for a vma that [`prepare`] did not set up.
    pub(crate) fn new(fault: &'a VmFault<'a>) -> Result<Self> {
        fault.vma().as_mixedmap_vma().ok_or(EFAULT)?;
        Ok(Self { fault })
    }

    /// File offset of the faulting page.
    pub(crate) fn file_offset(&self) -> u64 {
        page_to_bytes(self.fault.pgoff())
    }

    /// File offsets the whole vma maps.
    pub(crate) fn vma_file_range(&self) -> Result<Range<u64>> {
        file_range(self.fault.vma())
    }

    /// User address of file offset `file_offset`, if the vma maps it.
    fn address(&self, file_offset: u64) -> Result<usize> {
        let range = self.vma_file_range()?;
        if !range.contains(&file_offset) || file_offset % PAGE_BYTES != 0 {
            return Err(EFAULT);
        }
        // `range.start <= file_offset < range.end`: below the vma's length, never `EFAULT`.
        let into_vma = usize::try_from(file_offset.checked_sub(range.start).ok_or(EFAULT)?)?;
        self.fault.vma().start().checked_add(into_vma).ok_or(EFAULT)
    }

    /// Maps VRAM byte `vram_offset` (a page boundary) at file offset `file_offset` of the vma.
    /// A page that is already mapped is left as it is.
    pub(crate) fn insert_vram(
        &self,
        file_offset: u64,
        vram: &IoFrames<'_>,
        vram_offset: usize,
    ) -> Result {
        self.fault
            .insert_io_page(self.address(file_offset)?, vram, vram_offset / PAGE_SIZE)
    }

    /// Maps RAM page `page` at file offset `file_offset` of the vma. A page that is already
    /// mapped is left as it is.
    pub(crate) fn insert_page(&self, file_offset: u64, page: &Page) -> Result {
        self.fault.insert_page(self.address(file_offset)?, page)
    }
}
