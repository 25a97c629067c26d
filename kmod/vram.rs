// SPDX-License-Identifier: GPL-2.0

//! Write-combined VRAM: the one place in this driver that calls C directly.
//!
//! The 7.3 kernel crate maps PCI BARs only with `pci_iomap()`, which is uncached (UC-) on x86.
//! Mapping the VRAM BAR that way would not just make kernel copies slow: x86 PAT remembers the
//! first caching type of a physical range, and a later write-combining user mapping of the same
//! range is silently downgraded to UC- (arch/x86/mm/pat/memtype.c). So VRAM is never touched
//! through `pci::Bar`; this module maps it write-combined for the kernel (`pci_iomap_wc`) and
//! for userspace (`pgprot_writecombine` + `vm_iomap_memory`), like the C bochs driver's
//! `devm_ioremap_wc` and fbdev's `vm_iomap_memory`.
//!
//! Everything here is small and bounds-checked; the rest of the driver is safe Rust.

use kernel::{
    bindings,
    device::{self, Bound},
    ffi::c_int,
    mm::virt::VmaNew,
    pci,
    prelude::*,
    sync::aref::ARef,
};

/// A PCI memory BAR, requested for this driver and mapped write-combined into the kernel.
///
/// # Invariants
///
/// - `base` is the address returned by `pci_iomap_wc()` for BAR `bar` of `pdev`, mapping `len`
///   bytes, and stays mapped until `drop`.
/// - The BAR's region is requested (`pci_request_region()`) until `drop`.
pub(crate) struct Vram {
    pdev: ARef<pci::Device>,
    bar: c_int,
    base: *mut c_void,
    phys: u64,
    len: usize,
}

// SAFETY: `Vram` owns an I/O mapping and a region request; both may be used and released from any
// thread. The raw `base` pointer is only dereferenced through `memcpy_{to,from}io`.
unsafe impl Send for Vram {}
// SAFETY: All `&self` methods only copy to or from the mapping, which is safe to do concurrently
// (the bytes are plain device memory, not registers).
unsafe impl Sync for Vram {}

impl Vram {
    /// Requests BAR `bar` of `pdev` and maps its first `len` bytes write-combined.
    pub(crate) fn new(
        pdev: &pci::Device<Bound>,
        bar: u32,
        len: usize,
        name: &'static CStr,
    ) -> Result<Self> {
        let bar_len = usize::try_from(pdev.resource_len(bar)?)?;
        if len == 0 || len > bar_len {
            return Err(EINVAL);
        }
        let phys = pdev.resource_start(bar)?;
        let bar = c_int::try_from(bar)?;
        let raw = raw_pci_dev(pdev);

        // SAFETY: `raw` is a valid, bound `struct pci_dev` (see `raw_pci_dev`), `bar` was validated
        // by `resource_len` above, and `name` is a static C string.
        let ret = unsafe { bindings::pci_request_region(raw, bar, name.as_char_ptr()) };
        if ret != 0 {
            return Err(EBUSY);
        }

        // SAFETY: As above; the region is now requested by us. `len <= bar_len` (checked above).
        let base = unsafe { bindings::pci_iomap_wc(raw, bar, len as _) };
        if base.is_null() {
            // SAFETY: We requested this region just above and nothing else uses it.
            unsafe { bindings::pci_release_region(raw, bar) };
            return Err(ENOMEM);
        }

        // INVARIANT: `base` maps `len` bytes of the requested BAR `bar`.
        Ok(Self {
            pdev: pdev.into(),
            bar,
            base,
            phys,
            len,
        })
    }

    /// Copies `src` into VRAM at `offset`.
    pub(crate) fn write(&self, offset: usize, src: &[u8]) -> Result {
        self.check_range(offset, src.len())?;
        // SAFETY: `offset + src.len() <= self.len` (checked above), so the destination lies
        // within the mapping, which is valid by the type invariants; `src` is a valid slice.
        unsafe {
            bindings::memcpy_toio(self.base.add(offset), src.as_ptr().cast(), src.len());
        }
        Ok(())
    }

    /// Copies VRAM at `offset` into `dst`.
    pub(crate) fn read(&self, offset: usize, dst: &mut [u8]) -> Result {
        self.check_range(offset, dst.len())?;
        // SAFETY: `offset + dst.len() <= self.len` (checked above), so the source lies within the
        // mapping, which is valid by the type invariants; `dst` is a valid mutable slice.
        unsafe {
            bindings::memcpy_fromio(dst.as_mut_ptr().cast(), self.base.add(offset), dst.len());
        }
        Ok(())
    }

    fn check_range(&self, offset: usize, count: usize) -> Result {
        match offset.checked_add(count) {
            Some(end) if end <= self.len => Ok(()),
            _ => Err(EINVAL),
        }
    }

    /// Returns what userspace mappings of this VRAM need, usable without holding the mapping.
    ///
    /// Creating a user mapping may sleep, so it cannot happen while the `Devres` guard that
    /// protects `self` is held (that guard is an RCU read-side critical section).
    pub(crate) fn user_window(&self) -> UserWindow {
        UserWindow {
            phys: self.phys,
            len: self.len,
        }
    }
}

impl Drop for Vram {
    fn drop(&mut self) {
        let raw = raw_pci_dev(&self.pdev);
        // SAFETY: By the type invariants `base` is our `pci_iomap_wc` mapping of BAR `bar` and the
        // region is requested by us; neither is used after this point.
        unsafe {
            bindings::pci_iounmap(raw, self.base);
            bindings::pci_release_region(raw, self.bar);
        }
    }
}

/// The physical VRAM range that a user mapping may cover.
///
/// Only [`Vram::user_window`] creates one, so it always describes a BAR this driver owns.
#[derive(Clone, Copy)]
pub(crate) struct UserWindow {
    phys: u64,
    len: usize,
}

impl UserWindow {
    /// Maps the part of VRAM selected by the mmap offset and length of `vma`, write-combined.
    ///
    /// `vm_iomap_memory()` checks the request against the window: if `vm_pgoff` plus the length
    /// of `vma` reaches past `len` bytes it fails with `EINVAL`. It also marks the vma
    /// `VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP`.
    pub(crate) fn map_write_combined(&self, vma: &VmaNew) -> Result {
        let vma = vma.as_ptr();
        // SAFETY: `vma` is undergoing initial setup in our mmap hook (the `VmaNew` invariant), so
        // nothing else reads `vm_page_prot` concurrently. `pgprot_writecombine` only computes a
        // new protection value.
        unsafe { (*vma).vm_page_prot = bindings::pgprot_writecombine((*vma).vm_page_prot) };

        // SAFETY: `vma` is a vma in its mmap hook, as `vm_iomap_memory` requires; the physical
        // range `phys..phys + len` is a PCI memory BAR requested by this driver (see
        // `Vram::user_window`), so mapping it exposes nothing but VRAM.
        let ret = unsafe { bindings::vm_iomap_memory(vma, self.phys, self.len as _) };
        if ret != 0 {
            return Err(Error::from_errno(ret));
        }
        Ok(())
    }
}

/// Returns the C `struct pci_dev` behind `pdev`.
///
/// The kernel crate keeps `pci::Device::as_raw` private; `pci::Device` is a
/// `#[repr(transparent)]` wrapper of `Opaque<bindings::pci_dev>`, so the cast is exact.
fn raw_pci_dev<Ctx: device::DeviceContext>(pdev: &pci::Device<Ctx>) -> *mut bindings::pci_dev {
    core::ptr::from_ref(pdev).cast_mut().cast()
}
