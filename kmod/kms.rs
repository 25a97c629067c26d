// SPDX-License-Identifier: GPL-2.0

//! The DRM face: `/dev/dri/cardN`, one display pipe whose dumb buffers are VRAM (docs/drm.md).
//!
//! A dumb buffer is a range of VRAM ([`gem`]); a client's mmap of it is write-combined VRAM,
//! filled by the fault handler; showing a framebuffer programs the DISPI scanout start to where
//! its buffer is, so a flip is three register writes and nothing is ever copied.
//!
//! It sits on the card core (`crate::card`) as the misc face does: the PCI driver probes the
//! card there and hands the [`Hardware`] over to [`KmsFace::new`].

mod gem;

use crate::card::{alloc::RangeAllocator, dispi::Scanout, mode::Mode, Hardware};
use kernel::{
    device::{Core, DeviceContext},
    drm::{
        self,
        fourcc::Format,
        kms::{
            modes::{ConnectorModes, DisplayMode, ModeStatus},
            pipe::{self, PipeState, SinglePipe},
        },
    },
    pci::{self, IoRange},
    prelude::*,
    sync::{aref::ARef, rcu, Arc},
};

/// The DRM driver of the face.
pub(crate) struct KmsDriver;

/// A card's DRM device.
pub(crate) type KmsDevice = drm::Device<KmsDriver>;

/// The DRM device's data: the card, and its VRAM as ranges for dumb buffers.
pub(crate) struct KmsData {
    hw: Hardware,
    alloc: Arc<RangeAllocator>,
}

/// An open `/dev/dri/cardN`; it keeps nothing of its own.
pub(crate) struct KmsFile;

impl drm::file::DriverFile for KmsFile {
    type Driver = KmsDriver;

    fn open(_dev: &KmsDevice) -> Result<Pin<KBox<Self>>> {
        Ok(KBox::new(Self, GFP_KERNEL)?.into())
    }
}

const INFO: drm::DriverInfo = drm::DriverInfo {
    major: 1,
    minor: 0,
    patchlevel: 0,
    name: c"bochsfb",
    desc: c"QEMU Bochs VGA, dumb buffers in VRAM",
};

#[vtable]
impl drm::Driver for KmsDriver {
    type Data = KmsData;
    type RegistrationData<'a> = ();
    type Object = gem::Object;
    type File = KmsFile;
    type ParentDevice<Ctx: DeviceContext> = pci::Device<Ctx>;

    const INFO: drm::DriverInfo = INFO;
    const IOCTLS: &'static [drm::ioctl::DrmIoctlDescriptor] = &[];
}

/// The refresh rates a mode may ask for: the vblank timer ticks at that rate (docs/drm.md).
/// Above the highest, ticks would flood the machine. Below the lowest, a commit could wait
/// longer than `drm_atomic_helper_wait_for_vblanks()` gives a vblank (one second) and the
/// kernel would warn; 10 Hz leaves it ten frames (and the frame duration in nanoseconds fits
/// the `int` the vblank code keeps it in).
const MAX_REFRESH_HZ: u64 = 1000;
const MIN_REFRESH_HZ: u64 = 10;
/// The largest `htotal * vtotal`: `i32::MAX`.
const MAX_FRAME_PIXELS: u64 = 0x7fff_ffff;

/// What a checked pipe state shows: the mode, and where the scanout starts.
struct Shown {
    mode: Mode,
    scanout: Scanout,
}

impl KmsData {
    /// The mode and scanout that show `pipe`, or `EINVAL` for what the card cannot show as
    /// asked (QEMU would silently change it instead, docs/drm.md "Flips").
    fn shown(&self, pipe: &PipeState<'_, KmsDriver>) -> Result<Shown> {
        let mode = pipe.mode();
        let fb = pipe.framebuffer();
        let cpp = u32::from(fb.format().ok_or(EINVAL)?.cpp());
        let (width, height) = (mode.width(), mode.height());
        let mode = self
            .hw
            .check_mode(width, height, cpp.checked_mul(8).ok_or(EINVAL)?, height)?;
        // Where the scanout starts: the first byte shown, in the buffer's VRAM.
        let first_byte = usize::try_from(pipe.first_byte().ok_or(EINVAL)?)?;
        let offset = fb
            .object()
            .vram_offset()
            .checked_add(first_byte)
            .ok_or(EINVAL)?;
        let scanout = Scanout::new(offset, fb.pitch(), cpp, height, self.hw.vram_size)?;
        Ok(Shown { mode, scanout })
    }
}

#[vtable]
impl SinglePipe for KmsDriver {
    const FORMATS: &'static [Format] = &[Format::XRGB8888, Format::RGB565];

    fn mode_valid(dev: &KmsDevice, mode: &DisplayMode) -> ModeStatus {
        let (width, height) = (mode.width(), mode.height());
        // DISPI shows every line once per frame. The vblank timer ticks at the mode's refresh
        // rate, which user space picks with the timings: for a progressive mode that is
        // clock / (htotal * vtotal) (interlace, double scan and `vscan` would scale it, and
        // wrap the 16-bit totals). Bound it (a 42 GHz 640x480 mode would tick at ~100 kHz).
        if !mode.is_progressive() {
            return ModeStatus::Bad;
        }
        // u32 * u32 and kHz * 1000 fit u64; the products with the rates saturate (exact for
        // any 16-bit totals).
        let frame = u64::from(mode.htotal()).saturating_mul(u64::from(mode.vtotal()));
        let clock_hz = u64::try_from(mode.clock())
            .unwrap_or(0)
            .saturating_mul(1000);
        // The vblank code keeps htotal * vtotal in an `int` (`drm_calc_timestamping_constants`):
        // a larger frame wraps it, and the timer's rate with it.
        if frame == 0
            || frame > MAX_FRAME_PIXELS
            || clock_hz > MAX_REFRESH_HZ.saturating_mul(frame)
            || clock_hz < MIN_REFRESH_HZ.saturating_mul(frame)
        {
            return ModeStatus::Bad;
        }
        // Every mode must fit VRAM at the largest format, from offset 0.
        match dev.hw.check_mode(width, height, 32, height) {
            Ok(_) => ModeStatus::Ok,
            Err(_) if width % 8 != 0 => ModeStatus::BadWidth,
            Err(_) => ModeStatus::Memory,
        }
    }

    fn modes(dev: &KmsDevice, modes: &mut ConnectorModes<'_>) -> Result {
        let edid = dev.hw.read_edid_blocks()?;
        if modes.add_from_edid(&edid).is_err() {
            // No (valid) EDID: the standard modes, 1024x768 preferred as at probe.
            modes.add_standard(8192, 8192);
            modes.set_preferred(1024, 768);
        }
        Ok(())
    }

    fn check(dev: &KmsDevice, pipe: &PipeState<'_, Self>) -> Result {
        dev.shown(pipe).map(|_| ())
    }

    fn update(dev: &KmsDevice, pipe: &PipeState<'_, Self>) {
        // Checked by `check`: this cannot fail unless the card was unbound meanwhile.
        let Ok(shown) = dev.shown(pipe) else {
            return;
        };
        let wanted = (
            shown.mode.width_u16(),
            shown.mode.height_u16(),
            shown.mode.bpp_u16(),
        );
        let result = dev.hw.with_dispi(|dispi| {
            // A new format is a mode set for the card even when it is not one for DRM.
            if pipe.mode_changed() || dispi.current() != (wanted, true) {
                dispi.set_mode_keeping_vram(&shown.mode)?;
                if dev.hw.kind.has_vga_ports() {
                    dispi.unblank_vga();
                }
            }
            dispi.set_scanout(&shown.scanout);
            Ok(())
        });
        if let Err(e) = result {
            dev_dbg!(dev.hw.dev, "cannot show the framebuffer: {:?}\n", e);
        }
    }

    fn disable(dev: &KmsDevice) {
        // Fails only once the card is unbound, when nothing is shown anyway.
        let _ = dev.hw.scanout_off();
    }

    fn panic_memory<'a>(
        dev: &'a KmsDevice,
        object: &gem::Object,
        guard: &'a rcu::Guard,
    ) -> Option<IoRange<'a>> {
        // A buffer is a range of VRAM, lent without a lock: nothing here sleeps or locks, as
        // drm_panic requires.
        dev.hw.vram_for_panic(object.vram_range(), guard)
    }
}

/// The DRM face's driver data for one card, alive while the card is bound.
pub(crate) struct KmsFace {
    drm: ARef<KmsDevice>,
}

impl KmsFace {
    /// Registers `/dev/dri/cardN` for the card.
    pub(crate) fn new(pdev: &pci::Device<Core<'_>>, hw: Hardware) -> Result<Self> {
        let (kind, id, vram_size, min_size) =
            (hw.kind, hw.id, hw.vram_size, hw.kind.caps().min_size);
        let alloc = Arc::pin_init(RangeAllocator::new(vram_size), GFP_KERNEL)?;
        let drm = drm::UnregisteredDevice::<KmsDriver>::new(pdev, Ok(KmsData { hw, alloc }))?;
        pipe::init(
            &drm,
            &pipe::Config {
                min_width: min_size,
                min_height: min_size,
                max_width: 16000,
                max_height: 12000,
                preferred_depth: 24,
            },
        )?;
        // DRM's state starts with the CRTC off (`drm_mode_config_reset`): so must the card, or
        // the mode shown at probe keeps scanning out VRAM offset 0, where the first dumb buffer
        // goes, and any opener (no master needed) draws straight onto the screen.
        drm.hw.scanout_off()?;
        // Every file of the DRM device maps through the device's own address space: VRAM's
        // frames go there, and are taken back from it at unbind.
        drm.hw.lend_frames_to(drm.address_space())?;
        let drm = drm::register_until_unbind(pdev.as_ref(), drm, 0)?;
        dev_info!(
            pdev,
            "DRM face: {}, DISPI {:#x}, {} KiB VRAM for dumb buffers\n",
            kind.name(),
            id,
            vram_size / 1024
        );
        Ok(Self { drm })
    }

    /// At unbind: unplugs the DRM device first, so that no commit turns the display back on,
    /// then turns the pipe off (no more vblank ticks for clients that keep the device open);
    /// the device resources take VRAM back after this.
    pub(crate) fn unbind(&self, pdev: &pci::Device<Core<'_>>) {
        if let Err(e) = self.drm.unplug(pdev.as_ref()) {
            dev_warn!(pdev, "cannot unplug the DRM device: {:?}\n", e);
        }
        pipe::shutdown(&self.drm);
        // Unplugged, the shutdown's commit no longer reaches the card: turn it off here, or the
        // last framebuffer's VRAM stays on screen after the objects are gone.
        if let Err(e) = self.drm.hw.scanout_off() {
            dev_warn!(pdev, "cannot turn the display off: {:?}\n", e);
        }
    }
}
