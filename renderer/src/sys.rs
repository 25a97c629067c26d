//! The crate's FFI (ioctl, mmap, `wmemset`) behind safe wrappers: with `simd`'s dispatch to
//! AVX2, its only unsafe code.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::ptr::{self, NonNull};
use std::slice;

use crate::abi::{
    BochsfbDamage, BochsfbMode, BochsfbRect, BOCHSFB_IOCTL_FLUSH, BOCHSFB_IOCTL_GET_MODE,
    BOCHSFB_IOCTL_PAN, BOCHSFB_IOCTL_SET_MODE, BOCHSFB_IOCTL_WAIT_VSYNC, BOCHSFB_MAX_DAMAGE_RECTS,
};
use crate::fb_abi::{
    FbFixScreeninfo, FbVarScreeninfo, FBIOGET_FSCREENINFO, FBIOGET_VSCREENINFO, FBIOPAN_DISPLAY,
    FBIOPUT_VSCREENINFO, FBIO_WAITFORVSYNC, KDSETMODE,
};

/// Fills `bytes` with `pattern` repeated from its first byte on: C's `wmemset`, a memset of
/// four-byte units, as fast as `memset` itself (`benches/pixels.rs`), for the aligned middle,
/// and plain stores for the few bytes before and after it.
pub(crate) fn fill_repeating(bytes: &mut [u8], pattern: [u8; 4]) {
    unsafe extern "C" {
        fn wmemset(s: *mut libc::wchar_t, c: libc::wchar_t, n: usize) -> *mut libc::wchar_t;
    }
    const _: () = assert!(std::mem::size_of::<libc::wchar_t>() == 4);
    let head = bytes.as_ptr().align_offset(4).min(bytes.len());
    let words = (bytes.len() - head) / 4;
    let (start, rest) = bytes.split_at_mut(head);
    let (middle, end) = rest.split_at_mut(words * 4);
    for (i, b) in start.iter_mut().enumerate() {
        *b = pattern[i % 4];
    }
    // The middle starts `head` bytes into the pattern.
    let word = libc::wchar_t::from_ne_bytes(std::array::from_fn(|i| pattern[(head + i) % 4]));
    // SAFETY: `middle` is `words` four-byte units, aligned for `wchar_t` (which is four
    // bytes), exclusively borrowed; any bit pattern is a valid byte.
    unsafe { wmemset(middle.as_mut_ptr().cast(), word, words) };
    for (i, b) in end.iter_mut().enumerate() {
        *b = pattern[(head + i) % 4];
    }
}

/// `ioctl(fd, request, arg)` with the C convention turned into a `Result`.
///
/// # Safety
/// `arg` must be what `request` expects: a pointer valid for the reads and
/// writes the request encodes, or a plain integer argument.
unsafe fn ioctl<T>(device: impl AsFd, request: u32, arg: *mut T) -> io::Result<()> {
    // SAFETY: the caller vouches for `arg`; the fd is open while borrowed.
    let ret = unsafe { libc::ioctl(device.as_fd().as_raw_fd(), request as _, arg) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Reads the current mode of an open bochsfb device (`BOCHSFB_IOCTL_GET_MODE`).
pub fn get_mode(device: impl AsFd) -> io::Result<BochsfbMode> {
    let mut mode = BochsfbMode::default();
    // SAFETY: the request encodes "the kernel writes 40 bytes", and `mode` is
    // a live, writable #[repr(C)] BochsfbMode of exactly that size. Every bit
    // pattern is a valid BochsfbMode (plain integers).
    match unsafe { ioctl(&device, BOCHSFB_IOCTL_GET_MODE, ptr::from_mut(&mut mode)) } {
        Err(e) if e.raw_os_error() == Some(libc::ENOTTY) => get_mode_v1(device),
        other => other.map(|()| mode),
    }
}

/// `_IOR('B', 0x01, 24 bytes)`: GET_MODE of drivers built before the mode
/// struct grew to 40 bytes (`width, height, bpp, stride, __u64 vram_size`).
const BOCHSFB_IOCTL_GET_MODE_V1: u32 = crate::abi::ior(b'B', 0x01, 24);

/// GET_MODE of an older driver: no virtual screen, all VRAM reachable.
fn get_mode_v1(device: impl AsFd) -> io::Result<BochsfbMode> {
    let mut v1 = [0u32; 6];
    // SAFETY: the old request writes 24 bytes, exactly the size of `v1`,
    // which is live and writable; any bit pattern is valid for u32s.
    unsafe { ioctl(device, BOCHSFB_IOCTL_GET_MODE_V1, v1.as_mut_ptr()) }?;
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
    // SAFETY: _IOWR of 40 bytes: the kernel reads and writes `mode`, a live
    // #[repr(C)] BochsfbMode of that size; any bit pattern is valid.
    unsafe { ioctl(device, BOCHSFB_IOCTL_SET_MODE, ptr::from_mut(&mut mode)) }?;
    Ok(mode)
}

/// Shows the virtual screen from row `y_offset` on (`BOCHSFB_IOCTL_PAN`).
pub fn pan(device: impl AsFd, y_offset: u32) -> io::Result<()> {
    let mut y = y_offset;
    // SAFETY: _IOW of a u32: the kernel reads 4 bytes from a live u32.
    unsafe { ioctl(device, BOCHSFB_IOCTL_PAN, ptr::from_mut(&mut y)) }
}

/// Sleeps until the next vertical blank (`BOCHSFB_IOCTL_WAIT_VSYNC`).
pub fn wait_vsync(device: impl AsFd) -> io::Result<()> {
    // SAFETY: _IO: the request takes no argument and reads no memory.
    unsafe { ioctl::<u8>(device, BOCHSFB_IOCTL_WAIT_VSYNC, ptr::null_mut()) }
}

/// Copies `rects` of the shadow buffer to VRAM (`BOCHSFB_IOCTL_FLUSH`); an
/// empty slice flushes the whole frame. At most
/// [`BOCHSFB_MAX_DAMAGE_RECTS`] rectangles (more are `EINVAL` here).
pub fn flush(device: impl AsFd, rects: &[BochsfbRect]) -> io::Result<()> {
    if rects.len() > BOCHSFB_MAX_DAMAGE_RECTS as usize {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    let mut damage = BochsfbDamage {
        rects: rects.as_ptr() as u64,
        count: rects.len() as u32,
        flags: 0,
    };
    // SAFETY: the kernel reads 16 bytes of `damage`, then `count` rects of 16
    // bytes from `rects`, a live slice of exactly that many #[repr(C)]
    // BochsfbRects that outlives the call; it writes nothing back.
    unsafe { ioctl(device, BOCHSFB_IOCTL_FLUSH, ptr::from_mut(&mut damage)) }
}

/// `FBIOGET_VSCREENINFO`.
pub fn fb_get_var(device: impl AsFd) -> io::Result<FbVarScreeninfo> {
    let mut var = FbVarScreeninfo::default();
    // SAFETY: the kernel writes one 160-byte fb_var_screeninfo into `var`, a
    // live #[repr(C)] struct with that layout; any bit pattern is valid.
    unsafe { ioctl(device, FBIOGET_VSCREENINFO, ptr::from_mut(&mut var)) }?;
    Ok(var)
}

/// `FBIOPUT_VSCREENINFO`; returns what the driver made of it.
pub fn fb_put_var(device: impl AsFd, wanted: &FbVarScreeninfo) -> io::Result<FbVarScreeninfo> {
    let mut var = *wanted;
    // SAFETY: the kernel reads and writes back one fb_var_screeninfo in `var`.
    unsafe { ioctl(device, FBIOPUT_VSCREENINFO, ptr::from_mut(&mut var)) }?;
    Ok(var)
}

/// `FBIOGET_FSCREENINFO`.
pub fn fb_get_fix(device: impl AsFd) -> io::Result<FbFixScreeninfo> {
    let mut fix = FbFixScreeninfo::default();
    // SAFETY: the kernel writes one fb_fix_screeninfo (80 bytes on 64-bit)
    // into `fix`, a live #[repr(C)] struct with that layout.
    unsafe { ioctl(device, FBIOGET_FSCREENINFO, ptr::from_mut(&mut fix)) }?;
    Ok(fix)
}

/// `FBIOPAN_DISPLAY` to `var.xoffset, var.yoffset`.
pub fn fb_pan(device: impl AsFd, var: &FbVarScreeninfo) -> io::Result<()> {
    let mut var = *var;
    // SAFETY: the kernel reads (and may write back) one fb_var_screeninfo.
    unsafe { ioctl(device, FBIOPAN_DISPLAY, ptr::from_mut(&mut var)) }
}

/// `FBIO_WAITFORVSYNC` on CRTC 0.
pub fn fb_wait_vsync(device: impl AsFd) -> io::Result<()> {
    let mut crtc = 0u32;
    // SAFETY: _IOW of a u32: the kernel reads 4 bytes from a live u32.
    unsafe { ioctl(device, FBIO_WAITFORVSYNC, ptr::from_mut(&mut crtc)) }
}

/// `KDSETMODE` on a virtual terminal (`KD_TEXT` or `KD_GRAPHICS`).
pub fn kd_set_mode(tty: impl AsFd, mode: u32) -> io::Result<()> {
    // SAFETY: KDSETMODE takes its argument by value; no memory is passed, so
    // the "pointer" is only an integer the kernel never dereferences.
    unsafe { ioctl::<u8>(tty, KDSETMODE, mode as usize as *mut u8) }
}

/// Takes every event of an evdev node for this file (`EVIOCGRAB`); closing it lets go.
pub(crate) fn evdev_grab(device: impl AsFd) -> io::Result<()> {
    // SAFETY: EVIOCGRAB takes its int argument by value (nonzero: grab); no memory is passed.
    unsafe {
        ioctl::<u8>(
            device,
            bochsfb_uapi::input::EVIOCGRAB,
            ptr::without_provenance_mut::<u8>(1),
        )
    }
}

/// The range of absolute axis `axis` of an evdev node (`EVIOCGABS`); `EINVAL` if it has none.
pub(crate) fn evdev_absinfo(
    device: impl AsFd,
    axis: u16,
) -> io::Result<bochsfb_uapi::input::InputAbsinfo> {
    let mut info = bochsfb_uapi::input::InputAbsinfo::default();
    // SAFETY: _IOR of struct input_absinfo: the kernel writes 24 bytes into `info`, a live
    // #[repr(C)] struct of six i32s with that layout; any bit pattern is valid.
    unsafe {
        ioctl(
            device,
            bochsfb_uapi::input::eviocgabs(axis),
            ptr::from_mut(&mut info),
        )
    }?;
    Ok(info)
}

/// Turns `O_DIRECT` on for `device`; false if its driver does not take it (`EINVAL`).
pub(crate) fn try_direct_io(device: impl AsFd) -> io::Result<bool> {
    let fd = device.as_fd().as_raw_fd();
    // SAFETY: F_GETFL takes no argument and only reads the descriptor's flags.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: F_SETFL takes the flags by value; no memory is passed.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_DIRECT) } < 0 {
        let error = io::Error::last_os_error();
        return match error.raw_os_error() {
            Some(libc::EINVAL) => Ok(false),
            _ => Err(error),
        };
    }
    Ok(true)
}

/// Waits up to `timeout_ms` for `fd` to have something to read; false on timeout.
#[cfg(feature = "drm")]
pub(crate) fn wait_readable(fd: impl AsFd, timeout_ms: i32) -> io::Result<bool> {
    let mut poll = libc::pollfd {
        fd: fd.as_fd().as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    loop {
        // SAFETY: one valid, writable `pollfd`, and a count of one.
        match unsafe { libc::poll(&mut poll, 1, timeout_ms) } {
            n if n > 0 => return Ok(true),
            0 => return Ok(false),
            _ => match io::Error::last_os_error() {
                e if e.kind() == io::ErrorKind::Interrupted => continue,
                e => return Err(e),
            },
        }
    }
}

/// A shared read/write mapping of a device, unmapped on drop.
///
/// It hands out `&mut [u8]` over memory that other processes may map too (they can only
/// tear pixels, since any byte is a valid `u8`). Within this process it never aliases: a
/// second mapping of bytes a live `Mapping` already maps (same device or file, overlapping
/// offsets) is refused with `EBUSY`, so two backends on one device cannot both hand out the
/// same frame (memmap2 leaves that to an `unsafe` constructor instead).
#[derive(Debug)]
pub(crate) struct Mapping {
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
    let stat = fstat(device)?;
    let object = if stat.st_mode & libc::S_IFMT == libc::S_IFCHR {
        (0, stat.st_rdev as u64)
    } else {
        (stat.st_dev as u64, stat.st_ino as u64)
    };
    let claim = Claim {
        object,
        offsets: (offset, offset.saturating_add(len as u64)),
    };
    let mut mapped = MAPPED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if mapped.iter().any(|c| c.overlaps(&claim)) {
        return Err(io::Error::from_raw_os_error(libc::EBUSY));
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

fn fstat(fd: BorrowedFd<'_>) -> io::Result<libc::stat> {
    let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `stat` is writable for one `struct stat`, which fstat fills on success.
    if unsafe { libc::fstat(fd.as_raw_fd(), stat.as_mut_ptr()) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fstat succeeded, so it initialised the struct.
    Ok(unsafe { stat.assume_init() })
}

// SAFETY: the mapping is plain shared memory owned by this value; moving the
// owner to another thread moves the only access to it.
unsafe impl Send for Mapping {}

impl Mapping {
    /// Maps `len` bytes of `device` from `offset` (`MAP_SHARED`, read/write); `EBUSY` if this
    /// process maps any of those bytes already.
    pub(crate) fn new(device: impl AsFd, len: usize, offset: u64) -> io::Result<Mapping> {
        let claim = claim(device.as_fd(), len, offset)?;
        Mapping::map(device.as_fd(), len, offset)
            .map(|ptr| Mapping { ptr, len, claim })
            .inspect_err(|_| release(&claim))
    }

    fn map(device: BorrowedFd<'_>, len: usize, offset: u64) -> io::Result<NonNull<u8>> {
        // mmap64: the regions sit at offsets from 1 << 32 up, which a 32-bit `off_t` would
        // truncate to 0 (the write-combined region) without a word.
        let offset = libc::off64_t::try_from(offset)
            .map_err(|_| io::Error::from_raw_os_error(libc::EOVERFLOW))?;
        // SAFETY: with a NULL address hint the kernel picks a fresh range that
        // overlaps no memory Rust already owns; the other arguments are plain
        // values and a bad fd, offset or length only makes the call fail.
        let addr = unsafe {
            libc::mmap64(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                device.as_fd().as_raw_fd(),
                offset,
            )
        };
        if addr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(NonNull::new(addr.cast()).expect("mmap with a NULL hint never maps page 0"))
    }

    /// The mapped bytes.
    pub(crate) fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: ptr..ptr+len is mapped readable and writable until `self`
        // is dropped, which the returned borrow cannot outlive; `&mut self`
        // rules out a second slice of this mapping, and the claim any other
        // mapping of the same bytes in this process (`Mapping::new`). Other processes
        // mapping the same memory can change these bytes at any time, as with
        // any shared mapping; that can only tear pixels, since every byte
        // value is a valid u8.
        unsafe { slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: ptr/len are exactly what mmap returned, the range is
        // unmapped only here, and no borrow of it can outlive `self`.
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast(), self.len);
        }
        release(&self.claim);
    }
}

/// Set by the SIGINT/SIGTERM handler of [`stop_on_signals`].
static STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn note_stop(_signal: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    STOP.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Makes SIGINT and SIGTERM set the flag [`stop_requested`] reads instead of killing the
/// process; a second one kills it as usual (`SA_RESETHAND`).
pub fn stop_on_signals() -> io::Result<()> {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: a zeroed sigaction is a valid "no flags, empty mask" value; the handler is an
        // `extern "C" fn(c_int)` that only stores to an atomic, which is async-signal-safe, and
        // it stays valid for the life of the program.
        let ret = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = note_stop as extern "C" fn(libc::c_int) as libc::sighandler_t;
            action.sa_flags = libc::SA_RESETHAND | libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, ptr::null_mut())
        };
        if ret != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Whether SIGINT or SIGTERM arrived since [`stop_on_signals`].
pub fn stop_requested() -> bool {
    STOP.load(std::sync::atomic::Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch file of `len` bytes, opened read/write and read-only.
    fn file(len: u64) -> (std::fs::File, std::fs::File) {
        let path = std::env::temp_dir().join(format!("bochsfb-claim-{}-{len}", std::process::id()));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        file.set_len(len).unwrap();
        let read_only = std::fs::File::open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        (file, read_only)
    }

    #[test]
    fn direct_io_is_off_where_the_driver_refuses_it() {
        // /dev/null does not take O_DIRECT: fcntl says EINVAL, which is "no", not an error.
        let null = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/null")
            .unwrap();
        assert!(!try_direct_io(&null).unwrap());
        // SAFETY: F_GETFL takes no argument.
        let flags = unsafe { libc::fcntl(null.as_raw_fd(), libc::F_GETFL) };
        assert_eq!(flags & libc::O_DIRECT, 0, "the flags are as they were");
    }

    #[test]
    fn a_process_maps_the_same_bytes_once() {
        let page = 4096;
        let (f, read_only) = file(4 * page as u64);
        let first = Mapping::new(&f, 2 * page, 0).unwrap();
        // Overlapping bytes, through the same or another descriptor of the file: refused.
        let busy = Mapping::new(&f, page, page as u64).unwrap_err();
        assert_eq!(busy.raw_os_error(), Some(libc::EBUSY));
        let again = f.try_clone().unwrap();
        assert_eq!(
            Mapping::new(&again, page, 0).unwrap_err().raw_os_error(),
            Some(libc::EBUSY)
        );
        // Other bytes of it (a second DRM buffer, say): fine.
        let second = Mapping::new(&f, page, 2 * page as u64).unwrap();
        // A failed mmap (a shared writable mapping of a read-only descriptor) leaves no claim.
        let denied = Mapping::new(&read_only, page, 3 * page as u64).unwrap_err();
        assert_eq!(denied.raw_os_error(), Some(libc::EACCES));
        assert!(Mapping::new(&f, page, 3 * page as u64).is_ok());
        drop(first);
        let after = Mapping::new(&f, 2 * page, 0).unwrap();
        drop((second, after));
    }
}
