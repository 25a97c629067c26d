// SPDX-License-Identifier: GPL-2.0

//! Write-combined VRAM: the C calls that reach video memory (kernel and user mappings, the
//! fault handler that fills every user mapping). The only other C calls are in `sysfs.rs`
//! (attributes), which documents why.
//!
//! The 7.3 kernel crate maps PCI BARs only with `pci_iomap()`, which is uncached (UC-) on x86.
//! Mapping the VRAM BAR that way would not just make kernel copies slow: x86 PAT remembers the
//! first caching type of a physical range, and a later write-combining user mapping of the same
//! range is silently downgraded to UC- (arch/x86/mm/pat/memtype.c). So VRAM is never touched
//! through `pci::Bar`; this module maps it write-combined for the kernel (`pci_iomap_wc`) and
//! for userspace (`pgprot_writecombine`, pages inserted from a fault handler), like the C bochs
//! driver's `devm_ioremap_wc` and TTM's fault handler.
//!
//! Everything here is small and bounds-checked; the rest of the driver is safe Rust.

use kernel::{
    bindings,
    device::{self, Bound},
    ffi::c_int,
    mm::virt::{VmaMixedMap, VmaNew},
    page::{Page, PAGE_SIZE},
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

    /// Copies `len` bytes of `page` from `page_offset` into VRAM at `offset` (shadow flush).
    pub(crate) fn write_from_page(
        &self,
        offset: usize,
        page: &Page,
        page_offset: usize,
        len: usize,
    ) -> Result {
        self.check_range(offset, len)?;
        if page_offset.checked_add(len).is_none_or(|end| end > PAGE_SIZE) {
            return Err(EINVAL);
        }
        // SAFETY: `page` is a live page we hold a reference on; `kmap_local_page` maps it for
        // this thread until `kunmap_local` below, and the copy stays within the page (checked
        // above). The destination lies within the VRAM mapping (`check_range`). Userspace may be
        // writing the same page through its mapping meanwhile; `memcpy_toio` copies plain bytes,
        // so that can only tear pixels, as with any shared framebuffer.
        unsafe {
            let src = bindings::kmap_local_page(page.as_ptr());
            bindings::memcpy_toio(
                self.base.add(offset),
                src.cast::<u8>().add(page_offset).cast(),
                len,
            );
            bindings::kunmap_local(src);
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
/// Only [`Vram::user_window`] creates one, so it always describes a BAR this driver owns; it is
/// the token that [`Fault::insert_vram`] asks for.
#[derive(Clone, Copy)]
pub(crate) struct UserWindow {
    phys: u64,
    len: usize,
}

impl UserWindow {
    /// Page frame number of VRAM byte `offset`, if it lies inside the window.
    fn pfn(&self, offset: usize) -> Option<u64> {
        (offset < self.len).then(|| (self.phys + offset as u64) >> bindings::PAGE_SHIFT)
    }
}

/// The page protection of a user mapping of VRAM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Caching {
    /// Stores may be merged into bursts: the fast choice for pixels.
    WriteCombined,
    /// Every access goes to the device in order (`pgprot_noncached`, UC- on x86). x86 PAT keeps
    /// one memory type per physical range, and the kernel's own mapping of VRAM is
    /// write-combined, so PAT serves this request write-combined too (docs/mapping.md).
    Uncached,
}

/// What a user mapping shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Backing {
    /// VRAM pages; `growable` mappings may be enlarged with `mremap`.
    Vram { caching: Caching, growable: bool },
    /// Kernel RAM pages (the shadow buffer).
    Ram,
}

/// Sets `vma` up to be filled by `source`'s fault handler; nothing is mapped now.
///
/// Every page table entry of a device mapping is made by a fault, under whatever lock `source`
/// uses to revoke mappings, never here: the mm core links a new vma into the file's
/// `address_space` only after the mmap hook returns, so entries made here could escape a zap that
/// runs in between (docs/mapping.md, "Why mappings are filled at fault time").
///
/// The vma is `VM_MIXEDMAP`, so RAM and VRAM pages can both be inserted from a fault handler.
/// VRAM mappings are also `VM_IO` (no `get_user_pages`, no core dumps of device memory).
pub(crate) fn fill_at_fault<S: FaultSource>(vma: &VmaNew, backing: Backing, source: &S) {
    vma.set_mixedmap();
    match backing {
        Backing::Vram { growable, .. } => {
            vma.set_io();
            vma.set_dontdump();
            if !growable {
                vma.set_dontexpand();
            }
        }
        Backing::Ram => vma.set_dontexpand(),
    }
    let vma = vma.as_ptr();
    // SAFETY: `vma` is undergoing initial setup in our mmap hook (the `VmaNew` invariant), so
    // nothing else uses these fields concurrently. The protection helpers only compute a new
    // value. `vm_private_data` points at `source`, which the caller guarantees outlives the vma
    // (see `FaultSource`); `FaultOps::<S>::OPS` is a static table.
    unsafe {
        if let Backing::Vram { caching, .. } = backing {
            (*vma).vm_page_prot = match caching {
                Caching::WriteCombined => bindings::pgprot_writecombine((*vma).vm_page_prot),
                Caching::Uncached => bindings::pgprot_t {
                    pgprot: (*vma).vm_page_prot.pgprot
                        | bindings::cachemode2protval(
                            bindings::page_cache_mode__PAGE_CACHE_MODE_UC_MINUS,
                        ),
                },
            };
        }
        (*vma).vm_ops = &FaultOps::<S>::OPS;
        (*vma).vm_private_data = core::ptr::from_ref(source).cast_mut().cast();
    }
}

/// The owner of mappings set up by [`fill_at_fault`]: fills them when they fault.
///
/// # Safety
///
/// Implementers passed to [`fill_at_fault`] must outlive every vma set up with them; holding a
/// reference from the vma's file (the open file keeps the card alive) does.
pub(crate) unsafe trait FaultSource: Sync {
    /// Called for a fault: inserts pages with `fault`'s methods while whatever could revoke them
    /// is held off, or returns an error (the access gets `SIGBUS`, or the OOM killer for
    /// `ENOMEM`).
    fn fault(&self, fault: &Fault<'_>) -> Result;
}

/// A page fault in a vma set up by [`fill_at_fault`].
pub(crate) struct Fault<'a> {
    vma: &'a VmaMixedMap,
    /// File page of the faulting address.
    pgoff: usize,
    /// File page the vma starts at.
    vma_pgoff: usize,
}

impl Fault<'_> {
    /// File offset of the faulting page.
    pub(crate) fn file_offset(&self) -> u64 {
        (self.pgoff as u64) << bindings::PAGE_SHIFT
    }

    /// File offsets the whole vma maps.
    pub(crate) fn vma_file_range(&self) -> core::ops::Range<u64> {
        let start = (self.vma_pgoff as u64) << bindings::PAGE_SHIFT;
        start..start + (self.vma.end() - self.vma.start()) as u64
    }

    /// User address of file offset `file_offset`, if the vma maps it.
    fn address(&self, file_offset: u64) -> Result<usize> {
        let range = self.vma_file_range();
        if !range.contains(&file_offset) || file_offset % PAGE_SIZE as u64 != 0 {
            return Err(EFAULT);
        }
        Ok(self.vma.start() + (file_offset - range.start) as usize)
    }

    /// Maps VRAM byte `vram_offset` of `window` at file offset `file_offset` of the vma.
    /// A page that is already mapped is left as it is.
    pub(crate) fn insert_vram(&self, file_offset: u64, window: &UserWindow, vram_offset: usize) -> Result {
        let address = self.address(file_offset)?;
        let pfn = window.pfn(vram_offset).ok_or(EFAULT)?;
        // SAFETY: The vma is a `VM_MIXEDMAP` vma of ours in its fault handler (the mm core holds
        // its lock), `address` lies inside it, and `pfn` is a page of VRAM this driver owns (only
        // `Vram::user_window` makes a `UserWindow`).
        let ret = unsafe { bindings::vmf_insert_mixed(self.vma.as_ptr(), address, pfn as _) };
        match ret {
            r if r == bindings::vm_fault_reason_VM_FAULT_NOPAGE as bindings::vm_fault_t => Ok(()),
            r if r == bindings::vm_fault_reason_VM_FAULT_OOM as bindings::vm_fault_t => Err(ENOMEM),
            _ => Err(EFAULT),
        }
    }

    /// Maps RAM page `page` at file offset `file_offset` of the vma. A page that is already
    /// mapped is left as it is.
    pub(crate) fn insert_page(&self, file_offset: u64, page: &Page) -> Result {
        match self.vma.vm_insert_page(self.address(file_offset)?, page) {
            Err(e) if e == EBUSY => Ok(()),
            other => other,
        }
    }
}

struct FaultOps<S>(core::marker::PhantomData<S>);

impl<S: FaultSource> FaultOps<S> {
    const OPS: bindings::vm_operations_struct = {
        let mut ops: bindings::vm_operations_struct = pin_init::zeroed();
        ops.fault = Some(Self::fault);
        ops
    };

    /// # Safety
    ///
    /// Called by the mm core for a fault in a vma that `fill_at_fault` set up.
    unsafe extern "C" fn fault(vmf: *mut bindings::vm_fault) -> bindings::vm_fault_t {
        // SAFETY: The mm core passes a valid `vm_fault` whose vma is ours, and holds the mmap or
        // vma read lock for the duration of the call.
        let (vma, pgoff) = unsafe {
            let fault = &(*vmf).__bindgen_anon_1;
            (fault.vma, fault.pgoff as usize)
        };
        // SAFETY: As above; `fill_at_fault` set `VM_MIXEDMAP`, and the lock is held for the
        // whole call, which the reference does not outlive.
        let vma = unsafe { VmaMixedMap::from_raw(vma) };
        // SAFETY: `fill_at_fault` stored a `&S` in `vm_private_data`, and the `FaultSource`
        // contract keeps it alive as long as the vma; `vm_pgoff` is stable under the lock.
        let (source, vma_pgoff) = unsafe {
            let raw = vma.as_ptr();
            (&*(*raw).vm_private_data.cast::<S>(), (*raw).vm_pgoff as usize)
        };
        match source.fault(&Fault { vma, pgoff, vma_pgoff }) {
            Ok(()) => bindings::vm_fault_reason_VM_FAULT_NOPAGE as bindings::vm_fault_t,
            Err(e) if e == ENOMEM => bindings::vm_fault_reason_VM_FAULT_OOM as bindings::vm_fault_t,
            Err(_) => bindings::vm_fault_reason_VM_FAULT_SIGBUS as bindings::vm_fault_t,
        }
    }
}

/// The file offset `vma` maps from (`vm_pgoff` in bytes); the kernel crate does not expose it.
pub(crate) fn file_offset(vma: &VmaNew) -> u64 {
    // SAFETY: `vma` is valid (the `VmaNew` invariant) and `vm_pgoff` is fixed while it is set up.
    let pgoff = unsafe { (*vma.as_ptr()).vm_pgoff };
    (pgoff as u64) << bindings::PAGE_SHIFT
}

/// Returns the C `struct pci_dev` behind `pdev`.
///
/// The kernel crate keeps `pci::Device::as_raw` private; `pci::Device` is a
/// `#[repr(transparent)]` wrapper of `Opaque<bindings::pci_dev>`, so the cast is exact.
fn raw_pci_dev<Ctx: device::DeviceContext>(pdev: &pci::Device<Ctx>) -> *mut bindings::pci_dev {
    core::ptr::from_ref(pdev).cast_mut().cast()
}
