// SPDX-License-Identifier: GPL-2.0

//! One `address_space` for all user mappings of a card, so they can be zapped together.
//!
//! Page table entries that `mmap` installed stay in processes until they are zapped: at unbind
//! (the card and its BAR go away) and when a mode change shrinks the frame. The DRM core's answer
//! (drivers/gpu/drm/drm_file.c, drm_drv.c) is used here: every file opened on a card maps through
//! one `address_space`, so one `unmap_mapping_range()` reaches every mapping of the card, in
//! every process, whichever device node it was opened through. After the zap an access faults:
//! mappings without a fault handler get `SIGBUS`, the on-demand mapping asks the card again.
//!
//! The `address_space` is that of the first inode the card was opened through, kept alive by an
//! inode reference (`ihold`). The card's state mutex serialises every use of this type, so mmap,
//! faults, mode changes and unbind are ordered. The kernel crate has no wrapper for any of this,
//! so this module uses the C calls directly; each has a SAFETY comment.

use kernel::{bindings, fs::File};

/// The shared `address_space` of a card's files.
///
/// # Invariants
///
/// `inode` is null or an inode this struct holds a reference on (taken with `ihold`).
pub(crate) struct SharedMapping {
    inode: *mut bindings::inode,
}

// SAFETY: The inode pointer is only used under the card's mutex, and inode references may be
// taken and dropped from any thread.
unsafe impl Send for SharedMapping {}

impl SharedMapping {
    pub(crate) const fn new() -> Self {
        Self {
            inode: core::ptr::null_mut(),
        }
    }

    /// Makes `file` map through the card's shared `address_space` (called from `open`).
    pub(crate) fn attach(&mut self, file: &File) {
        let raw = file.as_ptr();
        if self.inode.is_null() {
            // SAFETY: `raw` is a file being opened, so `f_inode` is valid; `ihold` takes the
            // reference that the type invariant requires.
            unsafe { bindings::ihold((*raw).f_inode) };
            // SAFETY: As above; we hold a reference on the inode from now on.
            self.inode = unsafe { (*raw).f_inode };
        }
        // SAFETY: `raw` is undergoing `open`, before any other use of the file, so nothing reads
        // `f_mapping` concurrently; `self.inode` is valid by the type invariant and its mapping
        // lives as long as the inode (as drm_open_helper does with its anonymous inode).
        unsafe { (*raw).f_mapping = (*self.inode).i_mapping };
    }

    /// Zaps every user mapping of file bytes `start .. start + len` (`len` 0: to the end).
    pub(crate) fn zap(&self, start: u64, len: u64) {
        if self.inode.is_null() {
            return;
        }
        // SAFETY: `self.inode` is valid by the type invariant. `even_cows` = 1 also zaps private
        // copies (none exist: mmap refuses MAP_PRIVATE).
        unsafe {
            bindings::unmap_mapping_range(
                (*self.inode).i_mapping,
                start as bindings::loff_t,
                len as bindings::loff_t,
                1,
            )
        };
    }
}

impl Drop for SharedMapping {
    fn drop(&mut self) {
        if !self.inode.is_null() {
            // SAFETY: We hold a reference on `inode` (type invariant) and drop it exactly once,
            // here, when no file of the card remains (each holds the card alive).
            unsafe { bindings::iput(self.inode) };
        }
    }
}
