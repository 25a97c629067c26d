// SPDX-License-Identifier: GPL-2.0

//! The shadow buffer: kernel RAM that userspace draws into, copied to VRAM on request.
//!
//! This is how modern DRM drivers for simple hardware work (GEM shmem buffers plus damage
//! clips): drawing touches only RAM, and an explicit flush with the damaged rectangles copies just
//! those to the device. The buffer mirrors VRAM byte for byte, so a rectangle's rows sit at the
//! same offsets in both. Its pages are allocated zeroed when first faulted in (nothing of the
//! kernel's can leak through them) and inserted into the caller with `vm_insert_page`; they
//! live until the card's last file is closed.

use crate::card::vram::Fault;
use kernel::{
    alloc::KVVec,
    page::{Page, PAGE_SIZE},
    prelude::*,
};

pub(crate) struct Shadow {
    /// One slot per page of VRAM; `None` until the page is first mapped. Sized by VRAM (4096
    /// slots for 16 MiB), so it may come from vmalloc.
    pages: KVVec<Option<Page>>,
}

impl Shadow {
    pub(crate) fn new(vram_size: usize) -> Result<Self> {
        let count = vram_size.div_ceil(PAGE_SIZE);
        let mut pages = KVVec::with_capacity(count, GFP_KERNEL)?;
        for _ in 0..count {
            pages.push(None, GFP_KERNEL)?;
        }
        Ok(Self { pages })
    }

    /// Maps shadow bytes `offsets` (page aligned, inside the shadow) at the file offsets
    /// `file_base + offset` of the faulting vma, allocating missing pages.
    pub(crate) fn fill(
        &mut self,
        fault: &Fault<'_>,
        file_base: u64,
        offsets: core::ops::Range<usize>,
    ) -> Result {
        for offset in offsets.step_by(PAGE_SIZE) {
            let slot = self.pages.get_mut(offset / PAGE_SIZE).ok_or(EFAULT)?;
            let page = match slot {
                Some(page) => page,
                None => slot.insert(Page::alloc_page(GFP_KERNEL | __GFP_ZERO)?),
            };
            // `offset` is inside VRAM (below 2^32): the sum does not saturate.
            fault.insert_page(file_base.saturating_add(offset as u64), page)?;
        }
        Ok(())
    }

    /// Shadow page `index`, if it was ever mapped (a page never mapped holds nothing drawn).
    pub(crate) fn page(&self, index: usize) -> Option<&Page> {
        self.pages.get(index)?.as_ref()
    }

    /// Frees every page: the next mapping starts from zeroed ones. Only when nothing maps them
    /// (the card's last file is closed), so no process keeps a page this forgets.
    pub(crate) fn clear(&mut self) {
        for slot in self.pages.iter_mut() {
            *slot = None;
        }
    }
}
