//! The crate's only unsafe code: the ioctl and mmap FFI, behind safe wrappers.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::ptr::{self, NonNull};
use std::slice;

use crate::abi::{BochsfbMode, BOCHSFB_IOCTL_GET_MODE};

/// Reads the current mode of an open bochsfb device (`BOCHSFB_IOCTL_GET_MODE`).
pub fn get_mode(device: impl AsFd) -> io::Result<BochsfbMode> {
    let mut mode = BochsfbMode::default();
    // SAFETY: the request number encodes "read 24 bytes", so the driver
    // copies at most size_of::<BochsfbMode>() bytes to the pointer, which
    // points to a live, writable #[repr(C)] BochsfbMode that outlives the call.
    // Every bit pattern is a valid BochsfbMode (plain integers).
    let ret = unsafe {
        libc::ioctl(
            device.as_fd().as_raw_fd(),
            BOCHSFB_IOCTL_GET_MODE as _,
            ptr::from_mut(&mut mode),
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(mode)
}

/// A shared read/write mapping of a device, unmapped on drop.
#[derive(Debug)]
pub(crate) struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
}

impl Mapping {
    /// Maps `len` bytes of `device` from offset 0 (`MAP_SHARED`, read/write).
    pub(crate) fn new(device: impl AsFd, len: usize) -> io::Result<Mapping> {
        // SAFETY: with a NULL address hint the kernel picks a fresh range that
        // overlaps no memory Rust already owns; the other arguments are plain
        // values and a bad fd or length only makes the call fail.
        let addr = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                device.as_fd().as_raw_fd(),
                0,
            )
        };
        if addr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr = NonNull::new(addr.cast()).expect("mmap with a NULL hint never maps page 0");
        Ok(Mapping { ptr, len })
    }

    /// The mapped bytes.
    pub(crate) fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: ptr..ptr+len is mapped readable and writable until `self`
        // is dropped, which the returned borrow cannot outlive, and `&mut self`
        // rules out a second slice of it in this process. Other processes
        // mapping the same VRAM can change these bytes at any time, as with
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
    }
}
