//! Device calls: every ioctl and mapping this workspace makes on a display device, typed, in
//! one place (the role `drm-ffi` plays under `drm`). The renderer's backends, the benchmark,
//! the demos and the in-guest checks all call these.
//!
//! - `/dev/bochsfbN`: [`get_mode`], [`set_mode`], [`pan`], [`wait_vsync`], [`flush`];
//! - the fbdev ioctls that `/dev/fbN` and `/dev/bochsfbN` share: [`fb_get_var`],
//!   [`fb_put_var`], [`fb_get_fix`], [`fb_pan`], [`fb_wait_vsync`];
//! - a virtual terminal: [`kd_set_mode`] and the guard [`GraphicsConsole`];
//! - `/dev/input/eventN`: [`evdev_grab`], [`evdev_absinfo`];
//! - any of them: [`Mapping`] (a shared mapping), and [`ioctl`] for a request
//!   no typed call covers (or an argument no typed call would pass).
//!
//! The ABI these speak (structs, ioctl numbers, mmap regions) is not defined here: it is
//! [`bochsfb_uapi`]'s, the one file the kernel module compiles too, re-exported as
//! [`crate::abi`] and [`crate::fb_abi`]. The calls go through rustix's typed ioctls
//! ([`rustix::ioctl`]) and [`rustix::mm`], so each `unsafe` block below only vouches that a
//! request number and its argument type belong together.
#![allow(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::io;
use std::ops::{Deref, DerefMut};
use std::os::fd::{AsFd, BorrowedFd};
use std::ptr::{self, NonNull};
use std::slice;

use bochsfb_uapi::input::{eviocgabs, InputAbsinfo, EVIOCGRAB};
use rustix::fs::FileType;
use rustix::io::Errno;
use rustix::ioctl::{Getter, IntegerSetter, Ioctl, IoctlOutput, NoArg, Opcode, Setter, Updater};
use rustix::mm::{MapFlags, ProtFlags};

use crate::abi::{
    ior, BochsfbDamage, BochsfbMode, BochsfbRect, BOCHSFB_IOCTL_FLUSH, BOCHSFB_IOCTL_GET_MODE,
    BOCHSFB_IOCTL_PAN, BOCHSFB_IOCTL_SET_MODE, BOCHSFB_IOCTL_WAIT_VSYNC, BOCHSFB_MAX_DAMAGE_RECTS,
};
use crate::fb_abi::{
    FbFixScreeninfo, FbVarScreeninfo, FBIOGET_FSCREENINFO, FBIOGET_VSCREENINFO, FBIOPAN_DISPLAY,
    FBIOPUT_VSCREENINFO, FBIO_WAITFORVSYNC, KDSETMODE, KD_GRAPHICS, KD_TEXT,
};

/// An ABI number as rustix's opcode type (`u32`, or `c_ulong` over libc).
const fn op(request: u32) -> Opcode {
    request as Opcode
}

/// Reads the current mode of an open bochsfb device (`BOCHSFB_IOCTL_GET_MODE`). A driver
/// built before the mode struct grew to 40 bytes answers the old number instead.
pub fn get_mode(device: impl AsFd) -> io::Result<BochsfbMode> {
    // SAFETY: GET_MODE is `_IOR` of one `BochsfbMode`: the kernel writes exactly that struct,
    // all integers, so any bytes it writes are a valid value.
    let got = unsafe {
        rustix::ioctl::ioctl(
            &device,
            Getter::<{ op(BOCHSFB_IOCTL_GET_MODE) }, BochsfbMode>::new(),
        )
    };
    match got {
        Err(Errno::NOTTY) => get_mode_v1(device),
        other => Ok(other?),
    }
}

/// `_IOR('B', 0x01, 24 bytes)`: GET_MODE of drivers built before the mode
/// struct grew to 40 bytes (`width, height, bpp, stride, __u64 vram_size`).
const BOCHSFB_IOCTL_GET_MODE_V1: u32 = ior(b'B', 0x01, 24);

/// GET_MODE of an older driver: no virtual screen, all VRAM reachable.
fn get_mode_v1(device: impl AsFd) -> io::Result<BochsfbMode> {
    // SAFETY: the old request writes 24 bytes, six u32s; any bit pattern is valid for them.
    let v1 = unsafe {
        rustix::ioctl::ioctl(
            device,
            Getter::<{ op(BOCHSFB_IOCTL_GET_MODE_V1) }, [u32; 6]>::new(),
        )
    }?;
    let vram_size = u64::from(v1[4]) | (u64::from(v1[5]) << 32);
    Ok(BochsfbMode {
        width: v1[0],
        height: v1[1],
        bpp: v1[2],
        stride: v1[3],
        virtual_height: v1[1],
        y_offset: 0,
        fb_size: vram_size,
        vram_size,
    })
}

/// Sets width, height, bpp and virtual height (`BOCHSFB_IOCTL_SET_MODE`) and
/// returns the mode the driver chose. `ENOTTY` means the driver cannot.
pub fn set_mode(device: impl AsFd, wanted: &BochsfbMode) -> io::Result<BochsfbMode> {
    let mut mode = *wanted;
    // SAFETY: SET_MODE is `_IOWR` of one `BochsfbMode`: the kernel reads it and writes it
    // back, all integers.
    unsafe {
        rustix::ioctl::ioctl(
            device,
            Updater::<{ op(BOCHSFB_IOCTL_SET_MODE) }, BochsfbMode>::new(&mut mode),
        )
    }?;
    Ok(mode)
}

/// Shows the virtual screen from row `y_offset` on (`BOCHSFB_IOCTL_PAN`).
pub fn pan(device: impl AsFd, y_offset: u32) -> io::Result<()> {
    // SAFETY: PAN is `_IOW` of a u32: the kernel reads the 4 bytes it is given.
    Ok(unsafe {
        rustix::ioctl::ioctl(
            device,
            Setter::<{ op(BOCHSFB_IOCTL_PAN) }, u32>::new(y_offset),
        )
    }?)
}

/// Sleeps until the next vertical blank (`BOCHSFB_IOCTL_WAIT_VSYNC`).
pub fn wait_vsync(device: impl AsFd) -> io::Result<()> {
    // SAFETY: WAIT_VSYNC is `_IO`: it takes no argument.
    Ok(unsafe { rustix::ioctl::ioctl(device, NoArg::<{ op(BOCHSFB_IOCTL_WAIT_VSYNC) }>::new()) }?)
}

/// Copies `rects` of the shadow buffer to VRAM (`BOCHSFB_IOCTL_FLUSH`); an
/// empty slice flushes the whole frame. At most
/// [`BOCHSFB_MAX_DAMAGE_RECTS`] rectangles (more are `EINVAL` here).
pub fn flush(device: impl AsFd, rects: &[BochsfbRect]) -> io::Result<()> {
    if rects.len() > BOCHSFB_MAX_DAMAGE_RECTS as usize {
        return Err(Errno::INVAL.into());
    }
    let damage = BochsfbDamage {
        rects: rects.as_ptr() as u64,
        count: rects.len() as u32,
        flags: 0,
    };
    // SAFETY: FLUSH is `_IOW` of one `BochsfbDamage`: the kernel reads it, then `count`
    // rectangles from `rects`, a live slice of exactly that many `BochsfbRect`s borrowed for
    // the call; it writes nothing back.
    Ok(unsafe {
        rustix::ioctl::ioctl(
            device,
            Setter::<{ op(BOCHSFB_IOCTL_FLUSH) }, BochsfbDamage>::new(damage),
        )
    }?)
}

/// `FBIOGET_VSCREENINFO`.
pub fn fb_get_var(device: impl AsFd) -> io::Result<FbVarScreeninfo> {
    // SAFETY: the kernel writes one `struct fb_var_screeninfo`, whose layout
    // `FbVarScreeninfo` has (all integers, so any bytes are valid).
    Ok(unsafe {
        rustix::ioctl::ioctl(
            device,
            Getter::<{ op(FBIOGET_VSCREENINFO) }, FbVarScreeninfo>::new(),
        )
    }?)
}

/// `FBIOPUT_VSCREENINFO`; returns what the driver made of it.
pub fn fb_put_var(device: impl AsFd, wanted: &FbVarScreeninfo) -> io::Result<FbVarScreeninfo> {
    let mut var = *wanted;
    // SAFETY: the kernel reads one `struct fb_var_screeninfo` and writes it back.
    unsafe {
        rustix::ioctl::ioctl(
            device,
            Updater::<{ op(FBIOPUT_VSCREENINFO) }, FbVarScreeninfo>::new(&mut var),
        )
    }?;
    Ok(var)
}

/// `FBIOGET_FSCREENINFO`.
pub fn fb_get_fix(device: impl AsFd) -> io::Result<FbFixScreeninfo> {
    // SAFETY: the kernel writes one `struct fb_fix_screeninfo` (80 bytes on 64-bit), whose
    // layout `FbFixScreeninfo` has (integers and bytes).
    Ok(unsafe {
        rustix::ioctl::ioctl(
            device,
            Getter::<{ op(FBIOGET_FSCREENINFO) }, FbFixScreeninfo>::new(),
        )
    }?)
}

/// `FBIOPAN_DISPLAY` to `var.xoffset, var.yoffset`.
pub fn fb_pan(device: impl AsFd, var: &FbVarScreeninfo) -> io::Result<()> {
    let mut var = *var;
    // SAFETY: the kernel reads one `struct fb_var_screeninfo` and may write it back (fbdev's
    // core does), into this copy.
    Ok(unsafe {
        rustix::ioctl::ioctl(
            device,
            Updater::<{ op(FBIOPAN_DISPLAY) }, FbVarScreeninfo>::new(&mut var),
        )
    }?)
}

/// `FBIO_WAITFORVSYNC` on CRTC `crtc` (fbdev drivers have CRTC 0 only).
pub fn fb_wait_vsync(device: impl AsFd, crtc: u32) -> io::Result<()> {
    // SAFETY: `_IOW` of a u32: the kernel reads the 4 bytes it is given.
    Ok(unsafe {
        rustix::ioctl::ioctl(device, Setter::<{ op(FBIO_WAITFORVSYNC) }, u32>::new(crtc))
    }?)
}

/// `KDSETMODE` on a virtual terminal (`KD_TEXT` or `KD_GRAPHICS`).
pub fn kd_set_mode(tty: impl AsFd, mode: u32) -> io::Result<()> {
    // SAFETY: KDSETMODE takes its argument by value; no memory is passed.
    Ok(unsafe {
        rustix::ioctl::ioctl(
            tty,
            IntegerSetter::<{ op(KDSETMODE) }>::new_usize(mode as usize),
        )
    }?)
}

/// The virtual terminal in graphics mode, as every fbdev program sets it: otherwise fbcon
/// keeps drawing its text console and blinking cursor into the framebuffer. Back to text mode
/// on drop. The default holds no terminal (nothing to switch back).
#[derive(Debug, Default)]
pub struct GraphicsConsole(Option<File>);

impl GraphicsConsole {
    /// Puts `/dev/tty0` in `KD_GRAPHICS`. Without virtual terminals (no `/dev/tty0`) there is
    /// no fbcon either: a console with nothing to switch, not an error.
    pub fn enter() -> io::Result<GraphicsConsole> {
        let tty = match OpenOptions::new().read(true).write(true).open("/dev/tty0") {
            Ok(tty) => tty,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(GraphicsConsole(None)),
            Err(e) => return Err(e),
        };
        kd_set_mode(&tty, KD_GRAPHICS)?;
        Ok(GraphicsConsole(Some(tty)))
    }
}

impl Drop for GraphicsConsole {
    fn drop(&mut self) {
        if let Some(tty) = &self.0 {
            let _ = kd_set_mode(tty, KD_TEXT);
        }
    }
}

/// Takes every event of an evdev node for this file (`EVIOCGRAB`); closing it lets go.
pub fn evdev_grab(device: impl AsFd) -> io::Result<()> {
    // SAFETY: EVIOCGRAB takes its int argument by value (nonzero: grab); no memory is passed.
    Ok(unsafe { rustix::ioctl::ioctl(device, IntegerSetter::<{ op(EVIOCGRAB) }>::new_usize(1)) }?)
}

/// The range of absolute axis `axis` of an evdev node (`EVIOCGABS`); `EINVAL` if it has none.
pub fn evdev_absinfo(device: impl AsFd, axis: u16) -> io::Result<InputAbsinfo> {
    let mut info = InputAbsinfo::default();
    // SAFETY: EVIOCGABS(axis) is `_IOR` of one `struct input_absinfo`: the kernel writes 24
    // bytes into `info`, six i32s with that layout, live and exclusively borrowed for the call.
    unsafe { ioctl(device, eviocgabs(axis), ptr::from_mut(&mut info).cast()) }?;
    Ok(info)
}

/// `ioctl(fd, request, arg)` as it is, for a request no typed call here covers (its number is
/// known only at run time) or an argument no typed call would pass (the in-guest checks'
/// NULL, kernel and faulting pointers, wrong sizes). Returns the call's non-negative result.
///
/// # Safety
///
/// The driver may read and write memory through `arg` as `request` says (the size encoded in
/// it, and any pointers inside the argument): `arg` must be valid for all of that, or point to
/// no memory of this process at all (NULL, a kernel address, an unmapped page), and whatever
/// the driver writes must leave valid values behind.
pub unsafe fn ioctl(
    device: impl AsFd,
    request: u32,
    arg: *mut std::ffi::c_void,
) -> io::Result<std::ffi::c_int> {
    /// A request with a run-time number and a raw argument.
    struct Raw {
        request: Opcode,
        arg: *mut std::ffi::c_void,
    }

    // SAFETY: the caller of `ioctl` vouches for `arg` and `request`; the call is treated as
    // one that may write memory, and its result is passed on untouched.
    unsafe impl Ioctl for Raw {
        type Output = IoctlOutput;
        const IS_MUTATING: bool = true;

        fn opcode(&self) -> Opcode {
            self.request
        }

        fn as_ptr(&mut self) -> *mut std::ffi::c_void {
            self.arg
        }

        unsafe fn output_from_ptr(
            out: IoctlOutput,
            _: *mut std::ffi::c_void,
        ) -> rustix::io::Result<IoctlOutput> {
            Ok(out)
        }
    }

    let raw = Raw {
        request: op(request),
        arg,
    };
    // SAFETY: the caller vouches for `arg` being what `request` expects.
    Ok(unsafe { rustix::ioctl::ioctl(device, raw) }?)
}

/// Waits up to `timeout_ms` for `fd` to have something to read; false on timeout.
#[cfg(feature = "drm")]
pub fn wait_readable(fd: impl AsFd, timeout_ms: i32) -> io::Result<bool> {
    use rustix::event::{PollFd, PollFlags, Timespec};
    let timeout = Timespec {
        tv_sec: i64::from(timeout_ms / 1000),
        tv_nsec: i64::from(timeout_ms % 1000) * 1_000_000,
    };
    loop {
        let mut fds = [PollFd::new(&fd, PollFlags::IN)];
        match rustix::event::poll(&mut fds, Some(&timeout)) {
            Ok(0) => return Ok(false),
            Ok(_) => return Ok(true),
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// A shared read/write mapping of a device, unmapped on drop; its bytes through `Deref`.
///
/// It hands out `&mut [u8]` over memory that other processes may map too (they can only
/// tear pixels, since any byte is a valid `u8`). Within this process it never aliases: a
/// second mapping of bytes a live `Mapping` already maps (same device or file, overlapping
/// offsets) is refused with `EBUSY`, so two backends on one device cannot both hand out the
/// same frame (memmap2 leaves that to an `unsafe` constructor instead).
#[derive(Debug)]
pub struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
    /// This mapping's entry in [`MAPPED`].
    claim: Claim,
}

/// Which bytes of which device or file a [`Mapping`] covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Claim {
    /// `(0, st_rdev)` for a device node (every node of one device alike), `(st_dev, st_ino)`
    /// for anything else.
    object: (u64, u64),
    offsets: (u64, u64),
}

impl Claim {
    fn overlaps(&self, other: &Claim) -> bool {
        self.object == other.object
            && self.offsets.0 < other.offsets.1
            && other.offsets.0 < self.offsets.1
    }
}

/// Every live mapping of this process.
static MAPPED: std::sync::Mutex<Vec<Claim>> = std::sync::Mutex::new(Vec::new());

/// Registers `len` bytes of `device` from `offset` as mapped, or `EBUSY` if a live mapping
/// already covers any of them.
fn claim(device: BorrowedFd<'_>, len: usize, offset: u64) -> io::Result<Claim> {
    let stat = rustix::fs::fstat(device)?;
    let object = if FileType::from_raw_mode(stat.st_mode) == FileType::CharacterDevice {
        (0, stat.st_rdev)
    } else {
        (stat.st_dev, stat.st_ino)
    };
    let claim = Claim {
        object,
        offsets: (offset, offset.saturating_add(len as u64)),
    };
    let mut mapped = MAPPED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if mapped.iter().any(|c| c.overlaps(&claim)) {
        return Err(Errno::BUSY.into());
    }
    mapped.push(claim);
    Ok(claim)
}

fn release(claim: &Claim) {
    let mut mapped = MAPPED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(at) = mapped.iter().position(|c| c == claim) {
        mapped.swap_remove(at);
    }
}

// SAFETY: the mapping is plain shared memory owned by this value; moving the
// owner to another thread moves the only access to it.
unsafe impl Send for Mapping {}

impl Mapping {
    /// Maps `len` bytes of `device` from `offset` (`MAP_SHARED`, read/write); `EBUSY` if this
    /// process maps any of those bytes already. The offset is 64 bits wide on every target
    /// (the bochsfb regions sit at `1 << 32` and up).
    pub fn new(device: impl AsFd, len: usize, offset: u64) -> io::Result<Mapping> {
        let claim = claim(device.as_fd(), len, offset)?;
        Mapping::map(device.as_fd(), len, offset)
            .map(|ptr| Mapping { ptr, len, claim })
            .inspect_err(|_| release(&claim))
    }

    fn map(device: BorrowedFd<'_>, len: usize, offset: u64) -> io::Result<NonNull<u8>> {
        // SAFETY: with a NULL address hint the kernel picks a fresh range that overlaps no
        // memory Rust already owns; a bad fd, offset or length only makes the call fail.
        let addr = unsafe {
            rustix::mm::mmap(
                ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::SHARED,
                device,
                offset,
            )
        }?;
        Ok(NonNull::new(addr.cast()).expect("mmap with a NULL hint never maps page 0"))
    }

    /// The mapped bytes.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        self
    }
}

impl Deref for Mapping {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: ptr..ptr+len is mapped readable until `self` is dropped, which the borrow
        // cannot outlive; no `&mut` of it exists meanwhile (`&self`), and no other mapping of
        // the same bytes in this process (the claim). Other processes may change them, which
        // can only tear pixels: every byte value is a valid u8.
        unsafe { slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl DerefMut for Mapping {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as for `deref`, mapped writable too, and `&mut self` rules out a second
        // slice of this mapping.
        unsafe { slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: ptr/len are exactly what mmap returned, the range is unmapped only here,
        // and no borrow of it can outlive `self`.
        let _ = unsafe { rustix::mm::munmap(self.ptr.as_ptr().cast(), self.len) };
        release(&self.claim);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch file of `len` bytes, opened read/write and read-only.
    fn file(len: u64) -> (File, File) {
        let path = std::env::temp_dir().join(format!("bochsfb-claim-{}-{len}", std::process::id()));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        file.set_len(len).unwrap();
        let read_only = File::open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        (file, read_only)
    }

    #[test]
    fn a_process_maps_the_same_bytes_once() {
        let page = 4096;
        let (f, read_only) = file(4 * page as u64);
        let first = Mapping::new(&f, 2 * page, 0).unwrap();
        // Overlapping bytes, through the same or another descriptor of the file: refused.
        let busy = Mapping::new(&f, page, page as u64).unwrap_err();
        assert_eq!(busy.raw_os_error(), Some(Errno::BUSY.raw_os_error()));
        let again = f.try_clone().unwrap();
        assert_eq!(
            Mapping::new(&again, page, 0).unwrap_err().raw_os_error(),
            Some(Errno::BUSY.raw_os_error())
        );
        // Other bytes of it (a second DRM buffer, say): fine.
        let second = Mapping::new(&f, page, 2 * page as u64).unwrap();
        // A failed mmap (a shared writable mapping of a read-only descriptor) leaves no claim.
        let denied = Mapping::new(&read_only, page, 3 * page as u64).unwrap_err();
        assert_eq!(denied.raw_os_error(), Some(Errno::ACCESS.raw_os_error()));
        assert!(Mapping::new(&f, page, 3 * page as u64).is_ok());
        drop(first);
        let after = Mapping::new(&f, 2 * page, 0).unwrap();
        drop((second, after));
    }

    #[test]
    fn typed_calls_on_a_file_that_is_no_device_say_enotty() {
        let (f, _) = file(4096);
        let enotty = Some(Errno::NOTTY.raw_os_error());
        assert_eq!(get_mode(&f).unwrap_err().raw_os_error(), enotty);
        assert_eq!(pan(&f, 0).unwrap_err().raw_os_error(), enotty);
        assert_eq!(fb_get_var(&f).unwrap_err().raw_os_error(), enotty);
        let too_many = vec![BochsfbRect::default(); BOCHSFB_MAX_DAMAGE_RECTS as usize + 1];
        assert_eq!(
            flush(&f, &too_many).unwrap_err().raw_os_error(),
            Some(Errno::INVAL.raw_os_error())
        );
    }
}
