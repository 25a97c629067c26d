//! Thin wrappers over the raw system calls on the device, one call each, so a
//! check sees exactly what the driver returned (no retries, no std buffering). The typed
//! ioctls are [`bochsfb_renderer::device`]'s, on a [`Device`] (it is `AsFd`).

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::Path;
use std::ptr::{self, NonNull};
use std::slice;

use bochsfb_renderer::abi::BochsfbMode;
use bochsfb_renderer::device;

/// The result of a raw call: `ret` unless it is negative, then errno.
fn check<T: Default + PartialOrd>(ret: T) -> io::Result<T> {
    if ret < T::default() {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// The system page size.
pub fn page_size() -> usize {
    // SAFETY: sysconf only reads a system constant.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size).expect("the page size is positive")
}

/// An open bochsfb device.
pub struct Device {
    file: File,
}

impl Device {
    /// Opens `path` read/write.
    pub fn open(path: &Path) -> io::Result<Device> {
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        Ok(Device { file })
    }

    /// Opens `path` read-only: what a viewer that only queries the card gets.
    pub fn open_read_only(path: &Path) -> io::Result<Device> {
        Ok(Device {
            file: File::open(path)?,
        })
    }

    /// Opens `path` read/write with extra `open` flags.
    pub fn open_with_flags(path: &Path, flags: libc::c_int) -> io::Result<Device> {
        use std::os::unix::fs::OpenOptionsExt;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(flags)
            .open(path)?;
        Ok(Device { file })
    }

    fn fd(&self) -> libc::c_int {
        self.file.as_raw_fd()
    }

    /// The file descriptor, for calls with deliberately bad arguments.
    pub fn raw_fd(&self) -> libc::c_int {
        self.fd()
    }

    /// `BOCHSFB_IOCTL_GET_MODE`.
    pub fn mode(&self) -> io::Result<BochsfbMode> {
        device::get_mode(&self.file)
    }

    /// `ioctl(fd, request, buf)` for a request whose argument is at most `buf.len()` bytes of
    /// plain data (the size encoded in `request` is checked), whatever its number: unknown ones,
    /// old sizes, argument structs filled in by hand.
    pub fn ioctl_bytes(&self, request: u32, buf: &mut [u8]) -> io::Result<libc::c_int> {
        let size = ((request >> 16) & 0x3fff) as usize;
        assert!(
            size <= buf.len(),
            "ioctl {request:#x} moves {size} bytes, buffer has {}",
            buf.len()
        );
        // SAFETY: bochsfb reads or writes at most the size a request encodes, which fits `buf`,
        // valid and exclusively borrowed for the call, and any bytes are valid u8s; an unknown
        // number is refused (ENOTTY) without touching it. The one pointer an argument holds,
        // FLUSH's `rects`, is only read from.
        unsafe { self.ioctl_ptr(request, buf.as_mut_ptr().cast()) }
    }

    /// `ioctl(fd, request, arg)` with any argument ([`device::ioctl`]).
    ///
    /// # Safety
    ///
    /// As for [`device::ioctl`]: `arg` must be valid for every byte the driver may read or
    /// write for `request`, or point to no memory of this process.
    pub unsafe fn ioctl_ptr(
        &self,
        request: u32,
        arg: *mut libc::c_void,
    ) -> io::Result<libc::c_int> {
        // SAFETY: the caller vouches for `arg`.
        unsafe { device::ioctl(&self.file, request, arg) }
    }

    /// `lseek(fd, offset, whence)`.
    pub fn lseek(&self, offset: i64, whence: libc::c_int) -> io::Result<i64> {
        // SAFETY: plain integer arguments; no memory is passed.
        check(unsafe { libc::lseek(self.fd(), offset, whence) })
    }

    /// One `read(2)` at the file position.
    pub fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: the kernel writes at most buf.len() bytes into buf, which
        // is valid and exclusively borrowed for the call.
        let n = check(unsafe { libc::read(self.fd(), buf.as_mut_ptr().cast(), buf.len()) })?;
        Ok(n as usize)
    }

    /// One `write(2)` at the file position.
    pub fn write(&self, buf: &[u8]) -> io::Result<usize> {
        // SAFETY: the kernel reads at most buf.len() bytes from buf, which is valid for the call.
        let n = check(unsafe { libc::write(self.fd(), buf.as_ptr().cast(), buf.len()) })?;
        Ok(n as usize)
    }

    /// One `pread(2)` at `offset`.
    pub fn pread(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        // SAFETY: as for read; the offset is a plain integer.
        let n = check(unsafe {
            libc::pread(self.fd(), buf.as_mut_ptr().cast(), buf.len(), offset as i64)
        })?;
        Ok(n as usize)
    }

    /// One `pwrite(2)` at `offset`.
    pub fn pwrite(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        // SAFETY: as for write; the offset is a plain integer.
        let n = check(unsafe {
            libc::pwrite(self.fd(), buf.as_ptr().cast(), buf.len(), offset as i64)
        })?;
        Ok(n as usize)
    }

    /// `mmap(NULL, len, PROT_READ|PROT_WRITE, flags, fd, offset)`.
    pub fn mmap(&self, len: usize, offset: u64, flags: libc::c_int) -> io::Result<Mapping> {
        self.mmap_prot(len, offset, flags, libc::PROT_READ | libc::PROT_WRITE)
    }

    /// `mmap(NULL, len, prot, flags, fd, offset)`.
    pub fn mmap_prot(
        &self,
        len: usize,
        offset: u64,
        flags: libc::c_int,
        prot: libc::c_int,
    ) -> io::Result<Mapping> {
        // SAFETY: with a NULL hint the kernel picks a fresh range that overlaps
        // no memory Rust owns; the other arguments are plain values.
        let addr =
            unsafe { libc::mmap(ptr::null_mut(), len, prot, flags, self.fd(), offset as i64) };
        if addr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr = NonNull::new(addr.cast()).expect("mmap with a NULL hint never maps page 0");
        Ok(Mapping { ptr, len })
    }
}

/// The device is a file descriptor for [`bochsfb_renderer::device`]'s typed calls.
impl AsFd for Device {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}

/// `BOCHSFB_IOCTL_SET_MODE` of `width x height x bpp` with `virtual_height` rows (0: as many as
/// VRAM holds); returns what the driver wrote back.
pub fn set_mode(
    device: &Device,
    width: u32,
    height: u32,
    bpp: u32,
    virtual_height: u32,
) -> io::Result<BochsfbMode> {
    let ask = BochsfbMode {
        width,
        height,
        bpp,
        virtual_height,
        ..BochsfbMode::default()
    };
    device::set_mode(device, &ask)
}

/// A mapping of the device, unmapped on drop.
pub struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
}

impl Mapping {
    /// `data` in a fresh memfd, mapped shared and read-only and not touched: its page-cache
    /// pages exist, but no page table entry of this process points at them until a fault.
    pub fn of_memfd(data: &[u8]) -> io::Result<Mapping> {
        // SAFETY: the name is a NUL-terminated string; flags are plain values.
        let fd = unsafe { libc::memfd_create(c"bochsfb-check-source".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: memfd_create just returned this descriptor, owned by nothing else.
        let file = unsafe { <File as std::os::fd::FromRawFd>::from_raw_fd(fd) };
        std::io::Write::write_all(&mut &file, data)?;
        // SAFETY: with a NULL hint the kernel picks a fresh range that overlaps no memory Rust
        // owns; the mapping keeps the memfd alive after `file` closes it.
        let addr = unsafe {
            libc::mmap(
                ptr::null_mut(),
                data.len(),
                libc::PROT_READ,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if addr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr = NonNull::new(addr.cast()).expect("mmap with a NULL hint never maps page 0");
        Ok(Mapping {
            ptr,
            len: data.len(),
        })
    }

    /// Gives the mapping up without unmapping it (for `mremap`, which may move or grow it): the
    /// caller owns the `len` bytes at the returned address from now on.
    pub fn into_raw(self) -> (*mut u8, usize) {
        let raw = (self.ptr.as_ptr(), self.len);
        std::mem::forget(self);
        raw
    }

    /// The start of the mapping, for accesses the borrow checker cannot follow (a child process).
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// The mapped bytes.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: ptr..ptr+len stays mapped and readable until drop, which
        // the borrow cannot outlive, and any byte value is a valid u8. The
        // checks change the device through the fd only while no slice is
        // borrowed, so nothing writes these bytes behind the slice's back.
        unsafe { slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// The mapped bytes, writable.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as for as_slice, and `&mut self` rules out any other slice of it.
        unsafe { slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl fmt::Debug for Mapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a mapping of {} bytes at {:p}", self.len, self.ptr)
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: ptr/len are what mmap returned, unmapped only here, and no
        // slice of the mapping can outlive `self`.
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast(), self.len);
        }
    }
}
