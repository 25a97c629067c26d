// SPDX-License-Identifier: GPL-2.0

//! One card: its mode, its VRAM, and every way userspace reaches it.
//!
//! A `Card` is shared by the driver data and every open file. Its mutex orders everything that
//! changes what a mapping may reach: faults (the only place page table entries are made), mode
//! changes, pans and unbind. Lock order: mmap lock (held by the mm core around mmap and faults)
//! -> card mutex -> `i_mmap` lock (taken by the zap) -> RCU (the `Devres` guards of VRAM and
//! registers).
//!
//! Every file of a card maps through the card's own [`DeviceAddressSpace`], so one zap reaches
//! every mapping of it, in every process, whichever device node it was opened through.

use crate::{
    dispi::{Dispi, MmioBar},
    fbdev::REFRESH_HZ,
    mode::{Caps, Mode, Rect},
    shadow::Shadow,
    vram::{self, Backing, Fault, Vram},
};
use kernel::{
    fs::DeviceAddressSpace,
    mm::virt::{IoCaching, IoPfns, VmaNew},
    new_mutex,
    page::PAGE_SIZE,
    pci::DevresBar,
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{Acquire, Atomic, Release},
        Mutex,
    },
    time::{delay::fsleep, Delta, Instant, Monotonic},
};

/// mmap offsets choose the mapping: `region << 32 | byte offset` (docs/architecture.md).
const REGION_SHIFT: u32 = crate::uapi::mmap_region::SHIFT;

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

    const ALL: [Self; 4] = [
        Self::WriteCombined,
        Self::OnDemand,
        Self::Shadow,
        Self::Uncached,
    ];
}

/// Which QEMU device this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CardKind {
    StdVga,
    SecondaryVga,
    BochsDisplay,
}

impl CardKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::StdVga => "std-vga",
            Self::SecondaryVga => "secondary-vga",
            Self::BochsDisplay => "bochs-display",
        }
    }

    pub(crate) fn has_vga_ports(self) -> bool {
        self != Self::BochsDisplay
    }

    pub(crate) fn caps(self) -> Caps {
        Caps {
            palette: self.has_vga_ports(),
            rgb888: self.has_vga_ports(),
            min_size: if self == Self::BochsDisplay { 64 } else { 8 },
        }
    }
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
pub(crate) struct Card {
    pub(crate) kind: CardKind,
    /// Bytes of VRAM on the card.
    pub(crate) vram_size: usize,
    /// VRAM, write-combined; revoked when the card is unbound.
    vram: DevresBar,
    /// The DISPI registers; revoked when the card is unbound.
    regs: DevresBar<{ crate::dispi::MMIO_BAR_SIZE }>,
    pub(crate) dev: ARef<kernel::device::Device>,
    /// What every file of the card maps through; zapped under the mutex.
    space: DeviceAddressSpace,
    /// Time zero of the emulated vblank timer.
    vblank_epoch: Instant<Monotonic>,
    /// The current frame's size in bytes, or [`Card::GONE`] once unbound: stored under the
    /// mutex, read without it by `read` and `write`, whose every call needs it.
    frame_bytes: Atomic<u64>,
    #[pin]
    state: Mutex<State>,
}

impl Card {
    pub(crate) fn new(
        kind: CardKind,
        mode: Mode,
        vram_size: usize,
        vram: DevresBar,
        regs: DevresBar<{ crate::dispi::MMIO_BAR_SIZE }>,
        dev: ARef<kernel::device::Device>,
    ) -> Result<impl PinInit<Self, Error>> {
        let shadow = Shadow::new(vram_size)?;
        let space = DeviceAddressSpace::new(c"bochsfb")?;
        Ok(try_pin_init!(Self {
            kind,
            vram_size,
            vram,
            regs,
            dev,
            space,
            vblank_epoch: Instant::now(),
            frame_bytes: Atomic::new(mode.fb_size() as u64),
            state <- new_mutex!(State {
                mode,
                y_offset: 0,
                shadow,
                revoked: false,
            }),
        }))
    }

    /// [`Card::frame_bytes`] after unbind.
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
        dev_dbg!(self.dev, "card was unbound; refusing access\n");
        ENODEV
    }

    /// Runs `f` on the registers, or `ENODEV` once the card is unbound.
    fn with_dispi<R>(&self, f: impl FnOnce(&Dispi<'_, '_>) -> Result<R>) -> Result<R> {
        let regs = self.regs.try_access().ok_or_else(|| self.gone())?;
        let bar: &MmioBar<'_> = &regs;
        f(&Dispi::new(bar))
    }

    /// Runs `f` on VRAM, or `ENODEV` once the card is unbound. `f` runs in an RCU read-side
    /// section: it must not sleep (no user copies).
    pub(crate) fn with_vram<R>(&self, f: impl FnOnce(&Vram<'_>) -> Result<R>) -> Result<R> {
        let vram = self.vram.try_access().ok_or_else(|| self.gone())?;
        let vram: &Vram<'_> = &vram;
        f(vram)
    }

    /// The address space every file of the card maps through (see `CardFile::address_space`).
    pub(crate) fn address_space(&self) -> &DeviceAddressSpace {
        &self.space
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
        Mode::new(
            width,
            height,
            bpp,
            virtual_height,
            self.vram_size,
            self.kind.caps(),
        )
    }

    /// Switches to `mode` (from [`Card::check_mode`]). Mappings that reach past the new frame
    /// are zapped, so touching them raises `SIGBUS` instead of showing stale layout.
    pub(crate) fn set_mode(&self, mode: Mode) -> Result {
        let mut state = self.state.lock();
        if state.revoked {
            return Err(self.gone());
        }
        let old = state.mode;
        let programmed = self.with_dispi(|dispi| {
            dispi.set_mode(&mode)?;
            if mode.bpp == 8 {
                dispi.load_rgb332_palette();
            }
            Ok(())
        });
        if let Err(e) = programmed {
            // QEMU refused part of it: put the old mode and pan back so the card stays as the
            // state says (programming a mode resets the hardware's Y offset).
            let y_offset = state.y_offset as u16;
            let _ = self.with_dispi(|dispi| {
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
            self.space
                .zap(region.base() + limit, (1 << REGION_SHIFT) - limit);
        }
        dev_dbg!(
            self.dev,
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
        self.with_dispi(|dispi| Ok(dispi.pan(y_offset as u16)))?;
        state.y_offset = y_offset;
        Ok(())
    }

    /// Sleeps until the next vertical blank of a display refreshing at [`REFRESH_HZ`]. QEMU has
    /// no vblank interrupt for these cards, so a timer stands in for it.
    pub(crate) fn wait_vsync(&self) -> Result {
        self.mode()?;
        let period = 1_000_000_000 / i64::from(REFRESH_HZ);
        let into_frame = self.vblank_epoch.elapsed().as_nanos() % period;
        fsleep(Delta::from_nanos(period - into_frame));
        Ok(())
    }

    /// Copies the damaged rectangles (checked by the caller against `mode`) from the shadow
    /// buffer into VRAM. `EINVAL` if the mode changed since they were checked.
    pub(crate) fn flush(&self, mode: &Mode, rects: &[Rect]) -> Result {
        let state = self.state.lock();
        if state.revoked {
            return Err(self.gone());
        }
        if state.mode != *mode {
            return Err(EINVAL);
        }
        for rect in rects {
            // One revocation guard (an RCU read-side section) per page-sized piece, not per
            // rectangle: a whole-screen flush would otherwise stay in one for milliseconds.
            state
                .shadow
                .for_each_chunk(rect.rows(mode), |offset, page, in_page, len| {
                    self.with_vram(|vram| vram.try_copy_from_page(offset, page, in_page, len))
                })?;
        }
        Ok(())
    }

    /// The mmap hook: the file offset picks the region (how VRAM is mapped), the rest picks the
    /// bytes. Everything must lie inside the current frame (`fb_size`, rounded up to a page).
    ///
    /// Nothing is mapped here: every region is filled by [`Card::fault`], under the card mutex,
    /// once the mm core has linked the vma into the card's address space, where a zap finds it.
    pub(crate) fn mmap(&self, vma: &VmaNew) -> Result {
        let (region, offset) = Region::of(vram::file_offset(vma))?;
        let len = vma.end() - vma.start();
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
        vram::prepare(vma, backing);
        Ok(())
    }

    /// Bytes of each mmap region that may be mapped in `mode`: the frame, rounded up to whole
    /// pages (a 24 bpp frame need not end on a page boundary).
    fn map_limit(&self, mode: &Mode) -> usize {
        mode.fb_size()
            .next_multiple_of(PAGE_SIZE)
            .min(self.vram_size)
    }

    /// The page frames of VRAM, to insert from a fault handler. Copied out of the revocation
    /// guard (an RCU read-side section), since inserting a page may sleep; the card mutex,
    /// held by the caller, keeps unbind from zapping in between.
    fn window(&self) -> Result<IoPfns> {
        self.with_vram(|vram| vram.user_pfns())
    }

    /// Switches the DISPI mode off at unbind, handing the screen back to VGA text mode where
    /// there is one.
    pub(crate) fn disable_output(&self) {
        if self.kind.has_vga_ports() {
            let _ = self.with_dispi(|dispi| Ok(dispi.disable()));
        }
    }

    /// Takes VRAM away from userspace at unbind: zaps every mapping; later calls (and faults)
    /// get `ENODEV` (`SIGBUS`).
    pub(crate) fn revoke(&self) {
        let mut state = self.state.lock();
        state.revoked = true;
        self.frame_bytes.store(Self::GONE, Release);
        self.space.zap(0, 0);
    }

    /// Fills the faulting mapping under the card mutex, so a concurrent zap (mode change, unbind)
    /// either comes after and removes what was inserted, or came before and is seen here.
    ///
    /// On-demand mappings get the faulting page only (LDD3's "nopage"); the others get their whole
    /// vma at the first fault (LDD3's "map it all at once", done where it is race free; TTM
    /// prefaults the same way), as far as the current frame reaches.
    pub(crate) fn fault(&self, fault: &Fault<'_>) -> Result {
        let (region, offset) = Region::of(fault.file_offset())?;
        let mut state = self.state.lock();
        if state.revoked {
            return Err(ENODEV);
        }
        let limit = self.map_limit(&state.mode);
        if offset >= limit {
            return Err(EFAULT);
        }
        let pages = if region == Region::OnDemand {
            offset..offset + PAGE_SIZE
        } else {
            // The vma lies in one region: mmap checked it, and it cannot grow.
            let vma = fault.vma_file_range();
            let first = usize::try_from(vma.start - region.base())?;
            let end = usize::try_from(vma.end - region.base())?;
            first..end.min(limit)
        };
        let base = region.base();
        if region == Region::Shadow {
            return state.shadow.fill(fault, base, pages);
        }
        let window = self.window()?;
        for vram_offset in pages.step_by(PAGE_SIZE) {
            fault.insert_vram(base + vram_offset as u64, &window, vram_offset)?;
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
}
