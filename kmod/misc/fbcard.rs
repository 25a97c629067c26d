// SPDX-License-Identifier: GPL-2.0

//! One card as the misc face drives it: its mode, its pan offset, its shadow buffer, and every
//! way userspace reaches its VRAM through `/dev/bochsfbN`.
//!
//! An `FbCard` is shared by the driver data and every open file. Its mutex orders everything that
//! changes what a mapping may reach: faults (the only place page table entries are made), mode
//! changes, pans and unbind. Lock order: mmap lock (held by the mm core around mmap and faults)
//! -> card mutex -> `i_mmap` lock (taken by the zap) -> RCU (the `Devres` guards of VRAM and
//! registers).
//!
//! Every file of a card maps through the card's own `DeviceAddressSpace`
//! ([`Hardware::address_space`]), so one zap reaches every mapping of it, in every process,
//! whichever device node it was opened through.

use super::{abi::Rect, fbdev::REFRESH_HZ, shadow::Shadow};
use crate::card::{
    mode::Mode,
    vram::{self, Backing, Fault, Vram},
    Hardware,
};
use kernel::{
    fs::DeviceAddressSpace,
    mm::virt::{IoCaching, VmaNew},
    new_mutex,
    page::PAGE_SIZE,
    prelude::*,
    sync::{
        atomic::{Acquire, Atomic, Relaxed, Release},
        Mutex,
    },
    time::{delay::fsleep, Delta, Instant, Monotonic},
};

/// mmap offsets choose the mapping: `region << 32 | byte offset` (docs/architecture.md).
const REGION_SHIFT: u32 = crate::uapi::mmap_region::SHIFT;

/// Nanoseconds between two (emulated) vertical blanks.
const VBLANK_PERIOD_NS: i64 = 1_000_000_000 / REFRESH_HZ as i64;

/// The four ways to map VRAM, one per mmap offset region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Region {
    WriteCombined = 0,
    OnDemand = 1,
    Shadow = 2,
    Uncached = 3,
}

impl Region {
    /// Splits a file offset into its region and the byte offset inside it.
    fn of(file_offset: u64) -> Result<(Self, usize)> {
        let offset = usize::try_from(file_offset & ((1 << REGION_SHIFT) - 1))?;
        let region = match file_offset >> REGION_SHIFT {
            0 => Self::WriteCombined,
            1 => Self::OnDemand,
            2 => Self::Shadow,
            3 => Self::Uncached,
            _ => return Err(EINVAL),
        };
        Ok((region, offset))
    }

    fn base(self) -> u64 {
        (self as u64) << REGION_SHIFT
    }

    /// Bytes of file offsets each region spans.
    const LEN: u64 = 1 << REGION_SHIFT;

    /// The bytes of the file range `range` that lie in this region, as offsets inside it;
    /// empty if none do. A vma is set up inside one region by `mmap`, but `mremap` can grow an
    /// on-demand one in place past its region's end, so a fault clips what it fills.
    fn clip(self, range: &core::ops::Range<u64>) -> core::ops::Range<usize> {
        let base = self.base();
        let end = base.saturating_add(Self::LEN);
        let to_offset = |at: u64| {
            // Clamped into `base..=end`, so the difference is at most `LEN` (2^32): it fits.
            usize::try_from(at.clamp(base, end).saturating_sub(base)).unwrap_or(usize::MAX)
        };
        to_offset(range.start)..to_offset(range.end)
    }

    /// The file offsets of this region from byte `from` on, as `(start, len)`: what a mode that
    /// lets `from` bytes be mapped must zap.
    fn beyond(self, from: u64) -> (u64, u64) {
        // `from` is at most the VRAM size, below `LEN` (2^32): neither saturates.
        (
            self.base().saturating_add(from),
            Self::LEN.saturating_sub(from),
        )
    }

    /// File offset of byte `offset` of this region. Offsets inside the region (below 2^32) keep
    /// the sum below 2^34; a larger one would saturate to no mapped offset, which the fault
    /// refuses.
    fn file_offset(self, offset: usize) -> u64 {
        self.base().saturating_add(offset as u64)
    }

    const ALL: [Self; 4] = [
        Self::WriteCombined,
        Self::OnDemand,
        Self::Shadow,
        Self::Uncached,
    ];
}

/// What the mutex protects.
struct State {
    mode: Mode,
    y_offset: u32,
    shadow: Shadow,
    /// Set at unbind: nothing may be mapped any more.
    revoked: bool,
}

/// State shared by a card's driver data and every file open on it.
#[pin_data]
pub(crate) struct FbCard {
    /// The card's registers and VRAM, revoked at unbind.
    pub(crate) hw: Hardware,
    /// Time zero of the emulated vblank timer.
    vblank_epoch: Instant<Monotonic>,
    /// The current frame's size in bytes, or [`FbCard::GONE`] once unbound: stored under the
    /// mutex, read without it by `open`, `read` and `write`, whose every call needs it.
    frame_bytes: Atomic<u64>,
    /// Files open on the card. Changed under the mutex by `release`, without it by `open` (which
    /// runs under the misc core's global lock and must not wait for the card's).
    open_files: Atomic<u64>,
    #[pin]
    state: Mutex<State>,
}

impl FbCard {
    pub(crate) fn new(hw: Hardware, mode: Mode) -> Result<impl PinInit<Self, Error>> {
        let shadow = Shadow::new(hw.vram_size)?;
        Ok(try_pin_init!(Self {
            hw,
            vblank_epoch: Instant::now(),
            frame_bytes: Atomic::new(mode.fb_size() as u64),
            open_files: Atomic::new(0),
            state <- new_mutex!(State {
                mode,
                y_offset: 0,
                shadow,
                revoked: false,
            }),
        }))
    }

    /// [`FbCard::frame_bytes`] after unbind.
    const GONE: u64 = u64::MAX;

    /// The current frame's size in bytes without taking the mutex, or `ENODEV` once unbound.
    /// A mode change racing with the caller may make it stale by the time it is used, as the
    /// mode read under the mutex could be: VRAM is as large as ever, so the copy stays in it.
    pub(crate) fn frame_size(&self) -> Result<usize> {
        match self.frame_bytes.load(Acquire) {
            Self::GONE => Err(self.gone()),
            bytes => Ok(bytes as usize),
        }
    }

    fn gone(&self) -> Error {
        self.hw.gone()
    }

    /// Runs `f` on VRAM, or `ENODEV` once the card is unbound. `f` runs in an RCU read-side
    /// section: it must not sleep (no user copies).
    pub(crate) fn with_vram<R>(&self, f: impl FnOnce(&Vram<'_>) -> Result<R>) -> Result<R> {
        self.hw.with_vram(f)
    }

    /// The address space every file of the card maps through (see `CardFile::address_space`).
    pub(crate) fn address_space(&self) -> &DeviceAddressSpace {
        self.hw.address_space()
    }

    /// The current mode and pan offset, or `ENODEV` once unbound.
    pub(crate) fn mode(&self) -> Result<(Mode, u32)> {
        let state = self.state.lock();
        if state.revoked {
            return Err(self.gone());
        }
        Ok((state.mode, state.y_offset))
    }

    /// Validates a mode; `EINVAL` leaves the current mode as it was.
    pub(crate) fn check_mode(
        &self,
        width: u32,
        height: u32,
        bpp: u32,
        virtual_height: u32,
    ) -> Result<Mode> {
        self.hw.check_mode(width, height, bpp, virtual_height)
    }

    /// Switches to `mode` (from [`FbCard::check_mode`]). Mappings that reach past the new frame
    /// are zapped, so touching them raises `SIGBUS` instead of showing stale layout.
    pub(crate) fn set_mode(&self, mode: Mode) -> Result {
        let mut state = self.state.lock();
        if state.revoked {
            return Err(self.gone());
        }
        let old = state.mode;
        let programmed = self.hw.program(&mode);
        if let Err(e) = programmed {
            // QEMU refused part of it: put the old mode and pan back so the card stays as the
            // state says (programming a mode resets the hardware's Y offset).
            let y_offset = state.y_offset as u16;
            let _ = self.hw.with_dispi(|dispi| {
                dispi.set_mode(&old)?;
                dispi.pan(y_offset);
                Ok(())
            });
            return Err(if e == ENODEV { e } else { EINVAL });
        }
        state.mode = mode;
        state.y_offset = 0;
        self.frame_bytes.store(mode.fb_size() as u64, Release);
        let limit = self.map_limit(&mode) as u64;
        for region in Region::ALL {
            let (start, len) = region.beyond(limit);
            self.address_space().zap(start, len);
        }
        dev_dbg!(
            self.hw.dev,
            "mode {}x{} {}bpp, {} rows\n",
            mode.width,
            mode.height,
            mode.bpp,
            mode.virtual_height
        );
        Ok(())
    }

    /// Shows the virtual screen from row `y_offset` on: one register write, the page flip.
    pub(crate) fn pan(&self, y_offset: u32) -> Result {
        let mut state = self.state.lock();
        if state.revoked {
            return Err(self.gone());
        }
        if !state.mode.can_pan_to(y_offset) {
            return Err(EINVAL);
        }
        // `can_pan_to` keeps y_offset below the 16-bit virtual height.
        self.hw.with_dispi(|dispi| {
            dispi.pan(y_offset as u16);
            Ok(())
        })?;
        state.y_offset = y_offset;
        Ok(())
    }

    /// Sleeps until the next vertical blank of a display refreshing at [`REFRESH_HZ`]. QEMU has
    /// no vblank interrupt for these cards, so a timer stands in for it.
    pub(crate) fn wait_vsync(&self) -> Result {
        self.mode()?;
        let into_frame = self.vblank_epoch.elapsed().as_nanos() % VBLANK_PERIOD_NS;
        #[expect(
            clippy::arithmetic_side_effects,
            reason = "a remainder of the period is smaller than it (16.7 ms): far from i64's limits"
        )]
        let to_vblank = VBLANK_PERIOD_NS - into_frame;
        fsleep(Delta::from_nanos(to_vblank));
        Ok(())
    }

    /// Copies the damaged rectangles (checked by the caller against `mode`, at most
    /// `mode.fb_size()` bytes in all: see `Rect::coalesce`) from the shadow buffer into VRAM.
    /// `EINVAL` if the mode changed since they were checked.
    ///
    /// The mutex is held for one page-sized piece at a time, so a whole-screen flush never makes
    /// a fault, an ioctl or unbind wait for more than one page copy; a fatal signal stops it.
    pub(crate) fn flush(&self, mode: &Mode, rects: &[Rect]) -> Result {
        for (start, len) in rects.iter().flat_map(|rect| rect.rows(mode)) {
            // `rows` stays inside the frame, so `start + len <= fb_size` cannot overflow.
            let end = start.checked_add(len).ok_or(EINVAL)?;
            for piece in vram::page_pieces(start..end) {
                if kernel::current!().fatal_signal_pending() {
                    return Err(EINTR);
                }
                let state = self.state.lock();
                if state.revoked {
                    return Err(self.gone());
                }
                if state.mode != *mode {
                    return Err(EINVAL);
                }
                if let Some(page) = state.shadow.page(piece.start / PAGE_SIZE) {
                    let in_page = piece.start % PAGE_SIZE;
                    // A guard (an RCU read-side section) per piece, as for the lock.
                    self.with_vram(|vram| {
                        vram.try_copy_from_page(piece.start, page, in_page, piece.len())
                    })?;
                }
                drop(state);
            }
        }
        Ok(())
    }

    /// Counts a file opened on the card; `ENODEV` once unbound. Takes no lock: `open` runs under
    /// the misc core's global mutex, which every open of every misc device waits for.
    pub(crate) fn opened(&self) -> Result {
        self.frame_size()?;
        self.open_files.fetch_add(1, Relaxed);
        Ok(())
    }

    /// Counts a file closed. The last one (which comes after the card's last mapping, since
    /// every mapping holds its file) takes the shadow buffer's pages away, so the next client
    /// never sees what this one drew and did not flush.
    pub(crate) fn closed(&self) {
        let mut state = self.state.lock();
        // Under the mutex: a file opened meanwhile can only fault shadow pages in after this,
        // and then gets fresh zeroed ones.
        if self.open_files.fetch_sub(1, Relaxed) == 1 {
            state.shadow.clear();
        }
    }

    /// The mmap hook: the file offset picks the region (how VRAM is mapped), the rest picks the
    /// bytes. Everything must lie inside the current frame (`fb_size`, rounded up to a page).
    ///
    /// Nothing is mapped here: every region is filled by [`FbCard::fault`], under the card mutex,
    /// once the mm core has linked the vma into the card's address space, where a zap finds it.
    pub(crate) fn mmap(&self, vma: &VmaNew) -> Result {
        let (region, offset) = Region::of(vram::file_offset(vma))?;
        let len = vram::vma_len(vma);
        let state = self.state.lock();
        if state.revoked {
            return Err(self.gone());
        }
        let limit = self.map_limit(&state.mode);
        let in_bounds = offset.checked_add(len).is_some_and(|end| end <= limit);
        if offset % PAGE_SIZE != 0 || len == 0 || !in_bounds {
            return Err(EINVAL);
        }
        let backing = match region {
            Region::WriteCombined => Backing::Vram {
                caching: IoCaching::WriteCombined,
                growable: false,
            },
            Region::OnDemand => Backing::Vram {
                caching: IoCaching::WriteCombined,
                growable: true,
            },
            // x86 PAT keeps VRAM write-combined while the kernel's own WC mapping exists
            // (docs/mapping.md); the region keeps the request visible for comparison.
            Region::Uncached => Backing::Vram {
                caching: IoCaching::Uncached,
                growable: false,
            },
            Region::Shadow => Backing::Ram,
        };
        vram::prepare(vma, backing)
    }

    /// Vetoes an `mremap` that moves or duplicates a mapping so that it would reach past its
    /// region or the frame (`range`: the file offsets of the new vma). Faults check every page
    /// anyway (an in-place grow has no hook); this makes the call fail where it can.
    pub(crate) fn check_remap(&self, range: &core::ops::Range<u64>) -> Result {
        let (region, _) = Region::of(range.start)?;
        let state = self.state.lock();
        if state.revoked {
            return Err(self.gone());
        }
        let in_region = region.clip(range);
        // The whole range must be in the region (clipping took nothing off) and in the frame.
        let len = usize::try_from(range.end.saturating_sub(range.start))?;
        if in_region.len() != len || in_region.end > self.map_limit(&state.mode) {
            return Err(EINVAL);
        }
        Ok(())
    }

    /// Bytes of each mmap region that may be mapped in `mode`: the frame, rounded up to whole
    /// pages (a 24 bpp frame need not end on a page boundary).
    fn map_limit(&self, mode: &Mode) -> usize {
        mode.fb_size()
            .next_multiple_of(PAGE_SIZE)
            .min(self.hw.vram_size)
    }

    /// Takes VRAM away from userspace at unbind: zaps every mapping; later calls (and faults)
    /// get `ENODEV` (`SIGBUS`).
    pub(crate) fn revoke(&self) {
        let mut state = self.state.lock();
        state.revoked = true;
        self.frame_bytes.store(Self::GONE, Release);
        self.address_space().zap(0, 0);
    }

    /// Fills the faulting mapping under the card mutex, so a concurrent zap (mode change, unbind)
    /// either comes after and removes what was inserted, or came before and is seen here.
    ///
    /// On-demand mappings get the faulting page only (LDD3's "nopage"); the others get their whole
    /// vma at the first fault (LDD3's "map it all at once", done where it is race free; TTM
    /// prefaults the same way), as far as the current frame reaches.
    ///
    /// A vma belongs to the region of its first page. `mremap` may grow an on-demand vma in place
    /// past that region (no hook sees it), so every page is checked: a page in another region,
    /// or past the frame, gets `SIGBUS`.
    pub(crate) fn fault(&self, fault: &Fault<'_>) -> Result {
        let vma = fault.vma_file_range()?;
        let (region, _) = Region::of(vma.start)?;
        let (page_region, offset) = Region::of(fault.file_offset())?;
        if page_region != region {
            return Err(EFAULT);
        }
        let mut state = self.state.lock();
        if state.revoked {
            return Err(ENODEV);
        }
        let limit = self.map_limit(&state.mode);
        if offset >= limit {
            return Err(EFAULT);
        }
        let pages = if region == Region::OnDemand {
            // `offset < limit <= vram_size`: one more page does not saturate.
            offset..offset.saturating_add(PAGE_SIZE)
        } else {
            let in_region = region.clip(&vma);
            in_region.start..in_region.end.min(limit)
        };
        if region == Region::Shadow {
            return state.shadow.fill(fault, region.base(), pages);
        }
        let frames = self.hw.frames().ok_or(ENODEV)?;
        for vram_offset in pages.step_by(PAGE_SIZE) {
            fault.insert_vram(region.file_offset(vram_offset), &frames, vram_offset)?;
        }
        Ok(())
    }
}

#[kunit_tests(bochsfb_card)]
mod tests {
    use super::*;

    #[test]
    fn an_mmap_offset_names_its_region_in_the_upper_32_bits() {
        // docs/architecture.md: offset = region << 32 | byte offset.
        assert_eq!(Region::of(0), Ok((Region::WriteCombined, 0)));
        assert_eq!(Region::of(4096), Ok((Region::WriteCombined, 4096)));
        assert_eq!(Region::of(1 << 32), Ok((Region::OnDemand, 0)));
        assert_eq!(Region::of((2 << 32) | 8192), Ok((Region::Shadow, 8192)));
        assert_eq!(
            Region::of((3 << 32) | 0xffff_f000),
            Ok((Region::Uncached, 0xffff_f000))
        );
        assert_eq!(Region::of(4 << 32), Err(EINVAL));
        assert_eq!(Region::of(u64::MAX), Err(EINVAL));
        for region in Region::ALL {
            assert_eq!(Region::of(region.base()), Ok((region, 0)));
        }
    }

    #[test]
    fn a_vma_is_clipped_to_the_region_of_its_first_page() {
        let on_demand = Region::OnDemand;
        let base = on_demand.base();
        assert_eq!(on_demand.clip(&(base | 4096..base | 8192)), 4096..8192);
        // Grown in place by mremap past 4 GiB: what lies in the shadow region is cut off.
        assert_eq!(
            on_demand.clip(&(base..Region::Shadow.base() | 4096)),
            0..(1usize << 32)
        );
        // Wholly in another region, or at the very top of the file: nothing.
        let shadow = Region::Shadow.base();
        assert!(on_demand.clip(&(shadow..shadow | 4096)).is_empty());
        assert!(Region::Uncached
            .clip(&(u64::MAX - 4096..u64::MAX))
            .is_empty());
    }
}
