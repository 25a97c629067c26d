// SPDX-License-Identifier: GPL-2.0

//! Revoking userspace mappings of VRAM when a card is unbound.
//!
//! `Devres` revokes the kernel's access to VRAM at unbind, but page table entries that `mmap`
//! installed in processes stay until they are zapped. The DRM core's answer
//! (drivers/gpu/drm/drm_file.c, drm_drv.c) is used here: every file opened on a card maps
//! through one `address_space`, so one `unmap_mapping_range()` reaches every mapping of the
//! card, in every process, whichever device node it was opened through. After the zap an
//! access gets `SIGBUS`, since the mapping has no fault handler to bring pages back.
//!
//! A mutex orders `mmap` against the revocation, so no mapping can be created after it.
//!
//! The `address_space` is that of the first inode the card was opened through, kept alive by
//! an inode reference (`ihold`). The kernel crate has no wrapper for any of this, so this module
//! uses the C calls directly; each has a SAFETY comment.

use crate::vram::UserWindow;
use kernel::{
    bindings,
    fs::File,
    mm::virt::VmaNew,
    new_mutex,
    prelude::*,
    sync::Mutex,
};

/// The shared `address_space` of a card's files, and whether the card is gone.
///
/// # Invariants
///
/// `inode` is null or an inode this struct holds a reference on (taken with `ihold`).
struct State {
    inode: *mut bindings::inode,
    revoked: bool,
}

// SAFETY: The inode pointer is only used under the mutex, and inode references may be taken
// and dropped from any thread.
unsafe impl Send for State {}

/// Tracks and revokes the user mappings of one card.
#[pin_data(PinnedDrop)]
pub(crate) struct UserMappings {
    #[pin]
    state: Mutex<State>,
}

impl UserMappings {
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            state <- new_mutex!(State {
                inode: core::ptr::null_mut(),
                revoked: false,
            }),
        })
    }

    /// Makes `file` map through the card's shared `address_space` (called from `open`).
    pub(crate) fn attach(&self, file: &File) -> Result {
        let mut state = self.state.lock();
        if state.revoked {
            return Err(ENODEV);
        }
        let raw = file.as_ptr();
        if state.inode.is_null() {
            // SAFETY: `raw` is a file being opened, so `f_inode` is valid; `ihold` takes the
            // reference that the type invariant requires.
            unsafe { bindings::ihold((*raw).f_inode) };
            // SAFETY: As above; we hold a reference on the inode from now on.
            state.inode = unsafe { (*raw).f_inode };
        }
        // SAFETY: `raw` is undergoing `open`, before any other use of the file, so nothing reads
        // `f_mapping` concurrently; `state.inode` is valid by the type invariant and its mapping
        // lives as long as the inode (as drm_open_helper does with its anonymous inode).
        unsafe { (*raw).f_mapping = (*state.inode).i_mapping };
        Ok(())
    }

    /// Maps VRAM into `vma`, unless the card has been revoked.
    pub(crate) fn map(&self, vma: &VmaNew, window: UserWindow) -> Result {
        let state = self.state.lock();
        if state.revoked {
            return Err(ENODEV);
        }
        window.map_write_combined(vma)
    }

    /// Zaps every user mapping of the card; later `mmap` and `open` calls fail with `ENODEV`.
    pub(crate) fn revoke(&self) {
        let mut state = self.state.lock();
        state.revoked = true;
        if !state.inode.is_null() {
            // SAFETY: `state.inode` is valid by the type invariant. Offset 0 with length 0 means
            // "to the end"; `even_cows` = 1 also zaps private copies (none exist: mmap refuses
            // MAP_PRIVATE).
            unsafe { bindings::unmap_mapping_range((*state.inode).i_mapping, 0, 0, 1) };
        }
    }
}

#[pinned_drop]
impl PinnedDrop for UserMappings {
    fn drop(self: Pin<&mut Self>) {
        let inode = self.state.lock().inode;
        if !inode.is_null() {
            // SAFETY: We hold a reference on `inode` (type invariant) and drop it exactly once,
            // here, when no file of the card remains (each holds the card alive).
            unsafe { bindings::iput(inode) };
        }
    }
}
