// SPDX-License-Identifier: GPL-2.0

//! VRAM ranges for the buffers a face hands out (the DRM face's dumb buffers).
//!
//! First fit over `0..size`, page-aligned ranges, a sorted vector of the used ones under a
//! mutex: a few dozen buffers at most, so a linear scan is cheap and the kernel's `drm_mm` would
//! be overkill. Buffers are placed as low as they fit, which is also what the card's scanout
//! wants (QEMU clamps the Y offset to 12000 rows, see docs/drm.md "Flips"). A full VRAM is
//! `ENOMEM`: nothing is evicted.

use core::ops::Range;
use kernel::{
    new_mutex,
    page::PAGE_SIZE,
    prelude::*,
    sync::Mutex, //
};

/// The first gap of at least `len` bytes among `used` (sorted, disjoint) within `0..size`,
/// with its start a multiple of `align`: the index to insert it at, and the range.
fn first_fit(
    used: &[Range<usize>],
    size: usize,
    len: usize,
    align: usize,
) -> Option<(usize, Range<usize>)> {
    if len == 0 || align == 0 {
        return None;
    }
    let mut start = 0usize;
    for index in 0..=used.len() {
        let gap_end = used.get(index).map_or(size, |range| range.start);
        let aligned = start.checked_next_multiple_of(align)?;
        if let Some(end) = aligned.checked_add(len) {
            if end <= gap_end {
                return Some((index, aligned..end));
            }
        }
        if let Some(range) = used.get(index) {
            start = range.end;
        }
    }
    None
}

/// Page-aligned ranges of `0..size`, handed out first fit.
#[pin_data]
pub(crate) struct RangeAllocator {
    size: usize,
    #[pin]
    used: Mutex<KVec<Range<usize>>>,
}

impl RangeAllocator {
    /// An allocator of `0..size`, all free.
    pub(crate) fn new(size: usize) -> impl PinInit<Self> {
        pin_init!(Self {
            size,
            used <- new_mutex!(KVec::new()),
        })
    }

    /// A free range of `len` bytes rounded up to whole pages, page-aligned; `ENOMEM` when no gap
    /// is large enough, `EINVAL` for 0 bytes.
    pub(crate) fn alloc(&self, len: usize) -> Result<Range<usize>> {
        let len = len.checked_next_multiple_of(PAGE_SIZE).ok_or(ENOMEM)?;
        if len == 0 {
            return Err(EINVAL);
        }
        let mut used = self.used.lock();
        let (index, range) = first_fit(&used, self.size, len, PAGE_SIZE).ok_or(ENOMEM)?;
        used.insert_within_capacity(index, range.clone())
            .or_else(|_| {
                used.reserve(1, GFP_KERNEL)?;
                used.insert_within_capacity(index, range.clone())
                    .map_err(|_| ENOMEM)
            })?;
        Ok(range)
    }

    /// Gives `range`, from [`RangeAllocator::alloc`], back.
    pub(crate) fn free(&self, range: &Range<usize>) {
        let mut used = self.used.lock();
        if let Some(index) = used.iter().position(|r| r == range) {
            // Cannot fail: `index` is in bounds.
            let _ = used.remove(index);
        }
    }
}

#[kunit_tests(bochsfb_alloc)]
#[allow(clippy::single_range_in_vec_init)]
mod tests {
    use super::*;

    const P: usize = PAGE_SIZE;

    #[test]
    fn empty_gives_the_start() {
        assert_eq!(first_fit(&[], 16 * P, 3 * P, P), Some((0, 0..3 * P)));
    }

    #[test]
    fn fills_the_first_gap_that_fits() {
        let used = [0..P, 2 * P..3 * P, 5 * P..6 * P];
        assert_eq!(first_fit(&used, 8 * P, P, P), Some((1, P..2 * P)));
        assert_eq!(first_fit(&used, 8 * P, 2 * P, P), Some((2, 3 * P..5 * P)));
        assert_eq!(first_fit(&used, 8 * P, 3 * P, P), None);
        assert_eq!(first_fit(&used, 9 * P, 3 * P, P), Some((3, 6 * P..9 * P)));
    }

    #[test]
    fn full_is_none() {
        assert_eq!(first_fit(&[0..4 * P], 4 * P, P, P), None);
        assert_eq!(first_fit(&[], 4 * P, 5 * P, P), None);
        assert_eq!(first_fit(&[], 4 * P, usize::MAX, P), None);
        assert_eq!(first_fit(&[0..P], usize::MAX, usize::MAX, P), None);
        assert_eq!(first_fit(&[], 4 * P, 0, P), None);
    }

    #[test]
    fn aligns_the_start() {
        assert_eq!(first_fit(&[0..1], 16 * P, P, P), Some((1, P..2 * P)));
        assert_eq!(
            first_fit(&[0..P], 16 * P, 3 * P, 3 * P),
            Some((1, 3 * P..6 * P))
        );
    }

    #[test]
    fn allocator_reuses_freed_ranges() -> Result {
        let alloc = KBox::pin_init(RangeAllocator::new(4 * P), GFP_KERNEL)?;
        let a = alloc.alloc(P)?;
        let b = alloc.alloc(P + 1)?;
        assert_eq!((a.clone(), b.clone()), (0..P, P..3 * P));
        assert_eq!(alloc.alloc(2 * P), Err(ENOMEM));
        alloc.free(&a);
        assert_eq!(alloc.alloc(P)?, 0..P);
        assert_eq!(alloc.alloc(P)?, 3 * P..4 * P);
        assert_eq!(alloc.alloc(0), Err(EINVAL));
        Ok(())
    }
}
