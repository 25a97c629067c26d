//! Raw pieces the fuzzers (`fuzz`, `kfuzz`) and the process-based checks share: a call's
//! result as errno, child processes, and buffers whose end faults.

use std::io;
use std::ptr;
use std::time::{Duration, Instant};

use crate::device::page_size;

/// An address in the kernel half: never a valid user pointer.
pub const KERNEL_ADDR: u64 = 0xffff_ffff_8100_0000;

/// A raw call's result: the value, or errno.
pub fn sys(ret: i64) -> io::Result<i64> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// How a child process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

impl Exit {
    fn from_status(status: libc::c_int) -> Exit {
        if libc::WIFSIGNALED(status) {
            Exit::Signal(libc::WTERMSIG(status))
        } else {
            Exit::Code(libc::WEXITSTATUS(status))
        }
    }
}

/// Waits for child `pid`.
pub fn wait(pid: libc::pid_t) -> io::Result<Exit> {
    let mut status = 0;
    loop {
        // SAFETY: waits for our own child; `status` is a valid out-pointer.
        let ret = unsafe { libc::waitpid(pid, &mut status, 0) };
        if ret == pid {
            break;
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
        }
    }
    Ok(Exit::from_status(status))
}

/// Whether child `pid` has ended (reaping it), without waiting.
pub fn try_wait(pid: libc::pid_t) -> io::Result<Option<Exit>> {
    let mut status = 0;
    // SAFETY: asks about our own child; `status` is a valid out-pointer.
    match unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } {
        0 => Ok(None),
        ret if ret == pid => Ok(Some(Exit::from_status(status))),
        _ => Err(io::Error::last_os_error()),
    }
}

/// Whether child `pid` has ended, leaving it to be reaped.
pub fn has_exited(pid: libc::pid_t) -> bool {
    // SAFETY: `siginfo_t` is plain data; zeroed is a valid out-argument for waitid.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: asks about our own child without reaping it; `info` is a valid out-pointer.
    let ret = unsafe {
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    // SAFETY: waitid filled `info` (a zero si_pid means the child is still running).
    ret == 0 && unsafe { info.si_pid() } == pid
}

/// Waits up to `timeout` for child `pid`; `None` if it is still running then.
pub fn wait_timeout(pid: libc::pid_t, timeout: Duration) -> io::Result<Option<Exit>> {
    let deadline = Instant::now() + timeout;
    let mut nap = Duration::from_micros(50);
    loop {
        if let Some(exit) = try_wait(pid)? {
            return Ok(Some(exit));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        std::thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(2));
    }
}

/// An anonymous read/write buffer followed by a `PROT_NONE` guard page.
pub struct Guarded {
    base: *mut u8,
    len: usize,
}

impl Guarded {
    pub fn new(len: usize) -> io::Result<Guarded> {
        let page = page_size();
        // SAFETY: a fresh anonymous mapping chosen by the kernel; it overlaps nothing.
        let base = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len + page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let base = base.cast::<u8>();
        // SAFETY: the last page of the mapping just made is ours to protect.
        if unsafe { libc::mprotect(base.add(len).cast(), page, libc::PROT_NONE) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Guarded { base, len })
    }

    /// The first byte.
    pub fn base(&self) -> u64 {
        self.base as u64
    }

    /// The guard page: every access faults.
    pub fn guard(&self) -> u64 {
        self.base as u64 + self.len as u64
    }

    pub fn bytes(&mut self) -> &mut [u8] {
        // SAFETY: base..base+len is our private read/write mapping; the kernel
        // writes it only during system calls made from this thread.
        unsafe { std::slice::from_raw_parts_mut(self.base, self.len) }
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        // SAFETY: exactly the mapping made in `new`.
        unsafe { libc::munmap(self.base.cast(), self.len + page_size()) };
    }
}

/// Copies `value` into the start of `bytes`.
pub fn write_struct<T: Copy>(bytes: &mut [u8], value: &T) {
    let size = std::mem::size_of::<T>();
    assert!(bytes.len() >= size);
    // SAFETY: `bytes` has room for `size` bytes; T is a plain-old-data ABI struct.
    unsafe { ptr::copy_nonoverlapping((value as *const T).cast::<u8>(), bytes.as_mut_ptr(), size) };
}

/// A `T` copied from the start of `bytes` (the inverse of [`write_struct`]).
pub fn read_struct<T: Copy + Default>(bytes: &[u8]) -> T {
    let mut value = T::default();
    let size = std::mem::size_of::<T>();
    assert!(bytes.len() >= size);
    // SAFETY: `bytes` holds `size` bytes; T is a plain-old-data ABI struct, any bytes valid.
    unsafe { ptr::copy_nonoverlapping(bytes.as_ptr(), (&raw mut value).cast::<u8>(), size) };
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exited_child_is_seen_and_still_reaped() {
        // SAFETY: the child exits at once.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            // SAFETY: leaves the child without running the test harness's destructors.
            unsafe { libc::_exit(7) };
        }
        while !has_exited(pid) {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(has_exited(pid), "seeing it must not reap it");
        assert_eq!(
            wait_timeout(pid, Duration::from_secs(5)).unwrap(),
            Some(Exit::Code(7))
        );
    }
}
