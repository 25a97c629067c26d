// SPDX-License-Identifier: GPL-2.0

//! The shadow buffer: kernel RAM that userspace draws into, copied to VRAM on request.
//!
//! This is how modern DRM drivers for simple hardware work (GEM shmem buffers plus damage
//! clips): drawing touches only RAM, and an explicit flush with the damaged rectangles copies just
//! those to the device. The buffer mirrors VRAM byte for byte, so a rectangle's rows sit at the
//! same offsets in both. Its pages are allocated zeroed when first mapped (nothing of the
//! kernel's can leak through them) and inserted into the caller one by one with
//! `vm_insert_page`; they live until the card's last file is closed.

use crate::vram::Vram;
use kernel::{
    mm::virt::VmaNew,
    page::{Page, PAGE_SIZE},
    prelude::*,
};

pub(crate) struct Shadow {
    /// One slot per page of VRAM; `None` until the page is first mapped.
    pages: KVec<Option<Page>>,
}

impl Shadow {
    pub(crate) fn new(vram_size: usize) -> Result<Self> {
        let count = vram_size.div_ceil(PAGE_SIZE);
        let mut pages = KVec::with_capacity(count, GFP_KERNEL)?;
        for _ in 0..count {
            pages.push(None, GFP_KERNEL)?;
        }
        Ok(Self { pages })
    }

    /// Maps shadow bytes `offset .. offset + len(vma)` into `vma`, allocating missing pages.
    ///
    /// `EINVAL` unless `offset` is page aligned and the range ends at or before `limit`.
    pub(crate) fn map(&mut self, vma: &VmaNew, offset: usize, limit: usize) -> Result {
        let len = vma.end() - vma.start();
        let in_bounds = offset
            .checked_add(len)
            .is_some_and(|end| end <= limit && end <= self.pages.len() * PAGE_SIZE);
        if offset % PAGE_SIZE != 0 || !in_bounds {
            return Err(EINVAL);
        }
        let mixed = vma.set_mixedmap();
        vma.set_dontexpand();
        let first = offset / PAGE_SIZE;
        for (i, slot) in self.pages[first..first + len / PAGE_SIZE].iter_mut().enumerate() {
            let page = match slot {
                Some(page) => page,
                None => slot.insert(Page::alloc_page(GFP_KERNEL | __GFP_ZERO)?),
            };
            mixed.vm_insert_page(vma.start() + i * PAGE_SIZE, page)?;
        }
        Ok(())
    }

    /// Copies the byte ranges `(offset, len)` from the shadow to VRAM. Pages never mapped hold
    /// nothing drawn and are skipped.
    pub(crate) fn flush(
        &self,
        vram: &Vram,
        ranges: impl Iterator<Item = (usize, usize)>,
    ) -> Result {
        for (start, len) in ranges {
            let mut offset = start;
            let end = start + len;
            while offset < end {
                let in_page = offset % PAGE_SIZE;
                let chunk = (PAGE_SIZE - in_page).min(end - offset);
                if let Some(Some(page)) = self.pages.get(offset / PAGE_SIZE) {
                    vram.write_from_page(offset, page, in_page, chunk)?;
                }
                offset += chunk;
            }
        }
        Ok(())
    }
}
