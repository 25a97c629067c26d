//! KCOV (Documentation/dev-tools/kcov.rst): per-task coverage of the kernel code built with
//! `KCOV_INSTRUMENT`. The debug guest kernel instruments bochsfb.ko alone, so every PC a call
//! reports is the driver's.
//!
//! One handle is one `/sys/kernel/debug/kcov` file with its trace buffer mapped: a task enables
//! it (`KCOV_ENABLE`, `KCOV_TRACE_PC`), the kernel appends the return address of every
//! `__sanitizer_cov_trace_pc` call the task makes, word 0 counting them. Children of `&N` calls
//! enable handles of their own (inherited across fork; a task's coverage ends at its exit).

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::io;
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};

use bochsfb_renderer::abi::{io as io_nr, ior};

use crate::raw::sys;

pub const KCOV_PATH: &str = "/sys/kernel/debug/kcov";
const KCOV_INIT_TRACE: u32 = ior(b'c', 1, std::mem::size_of::<libc::c_ulong>());
const KCOV_ENABLE: u32 = io_nr(b'c', 100);
const KCOV_DISABLE: u32 = io_nr(b'c', 101);
const KCOV_TRACE_PC: libc::c_ulong = 0;

/// Words in a trace buffer. A whole-screen FLUSH of 256 rectangles runs the copy loop a few
/// hundred thousand times: its tail is dropped (the kernel stops at the end), which loses
/// repeats of the loop's edges, not new ones. Small, because every fork copies the buffers'
/// page table entries (KCOV maps them page by page).
const WORDS: usize = 1 << 16;

/// One KCOV file and its trace buffer.
pub struct Kcov {
    fd: libc::c_int,
    area: *mut AtomicU64,
}

impl Kcov {
    /// Opens and sets up a handle (debugfs must be mounted).
    pub fn open() -> io::Result<Kcov> {
        let path = std::ffi::CString::new(KCOV_PATH).expect("no NUL");
        // SAFETY: a NUL-terminated path.
        let fd = sys(unsafe { libc::open(path.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) } as i64)?
            as i32;
        // SAFETY: KCOV_INIT_TRACE takes the buffer size in words as a plain integer.
        let init = unsafe { libc::ioctl(fd, KCOV_INIT_TRACE as _, WORDS as libc::c_ulong) };
        if let Err(e) = sys(init as i64) {
            // SAFETY: our own descriptor.
            unsafe { libc::close(fd) };
            return Err(e);
        }
        // SAFETY: a fresh shared mapping of the KCOV buffer, placed by the kernel.
        let area = unsafe {
            libc::mmap(
                ptr::null_mut(),
                WORDS * 8,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd,
                0,
            )
        };
        if area == libc::MAP_FAILED {
            let e = io::Error::last_os_error();
            // SAFETY: our own descriptor.
            unsafe { libc::close(fd) };
            return Err(e);
        }
        Ok(Kcov {
            fd,
            area: area.cast(),
        })
    }

    /// Starts collecting for the calling task (one task per handle at a time).
    pub fn enable(&self) -> io::Result<()> {
        // SAFETY: KCOV_ENABLE takes the trace mode as a plain integer.
        sys(unsafe { libc::ioctl(self.fd, KCOV_ENABLE as _, KCOV_TRACE_PC) } as i64).map(drop)
    }

    pub fn disable(&self) -> io::Result<()> {
        // SAFETY: KCOV_DISABLE takes no argument.
        sys(unsafe { libc::ioctl(self.fd, KCOV_DISABLE as _, 0) } as i64).map(drop)
    }

    fn word(&self, i: usize) -> &AtomicU64 {
        assert!(i < WORDS);
        // SAFETY: the buffer holds WORDS 64-bit words, mapped for the handle's lifetime; the
        // kernel writes them concurrently, hence atomics.
        unsafe { &*self.area.add(i) }
    }

    /// Forgets what was collected so far.
    pub fn reset(&self) {
        self.word(0).store(0, Ordering::Relaxed);
    }

    /// The PCs collected since the last reset, in order.
    pub fn pcs(&self) -> impl Iterator<Item = u64> + '_ {
        let n = (self.word(0).load(Ordering::Relaxed) as usize).min(WORDS - 1);
        (1..=n).map(|i| self.word(i).load(Ordering::Relaxed))
    }
}

impl Drop for Kcov {
    fn drop(&mut self) {
        // SAFETY: exactly the mapping and descriptor made in `open`.
        unsafe {
            libc::munmap(self.area.cast(), WORDS * 8);
            libc::close(self.fd);
        }
    }
}

/// Mounts debugfs if `/sys/kernel/debug/kcov` is not there yet; whether KCOV is available.
pub fn available() -> bool {
    if std::path::Path::new(KCOV_PATH).exists() {
        return true;
    }
    // SAFETY: NUL-terminated strings; mounting debugfs where it belongs.
    unsafe {
        libc::mount(
            c"none".as_ptr(),
            c"/sys/kernel/debug".as_ptr(),
            c"debugfs".as_ptr(),
            0,
            ptr::null(),
        );
    }
    std::path::Path::new(KCOV_PATH).exists()
}

/// Hashes a `u64` that is already a good hash (an edge) or nearly one (a PC) to itself: the
/// sets below see tens of thousands of inserts per call, SipHash would dominate.
#[derive(Default, Clone, Copy)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        // PCs share their high bits; the multiply spreads the low ones over the word.
        self.0 = n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

type Set = HashSet<u64, BuildHasherDefault<IdHasher>>;

/// What a run reached: PCs, and edges (hashes of consecutive PC pairs within one call).
#[derive(Default)]
pub struct Coverage {
    pub pcs: Set,
    pub edges: Set,
    /// Timing features: (call name, power-of-two bucket of its duration) pairs.
    pub timing: Set,
}

impl Coverage {
    /// Adds PCs only (a trace whose order means nothing).
    pub fn add_pcs(&mut self, pcs: impl Iterator<Item = u64>) {
        self.pcs.extend(pcs);
    }

    /// Adds a call's duration (or the probe's longest wait) as a feature, bucketed by powers of
    /// two of microseconds: KCOV sees the same edges in a flush of one rectangle and of 256,
    /// the clock does not, so a program that makes a call slower than ever joins the corpus and
    /// its mutations push further (PerfFuzz's idea). Whether it was new.
    pub fn add_timing(&mut self, name: &str, ns: u64) -> bool {
        let bucket = u64::from(64 - (ns / 1000).leading_zeros());
        let name = name
            .bytes()
            .fold(0u64, |h, b| h.rotate_left(5) ^ u64::from(b));
        self.timing.insert(edge(name, bucket))
    }

    /// Adds one call's trace; returns how many edges were new.
    pub fn add_trace(&mut self, pcs: impl Iterator<Item = u64>) -> usize {
        let mut new = 0;
        let mut prev = 0u64;
        for pc in pcs {
            self.pcs.insert(pc);
            if self.edges.insert(edge(prev, pc)) {
                new += 1;
            }
            prev = pc;
        }
        new
    }
}

/// An edge's hash: `prev` and `pc`, mixed (SplitMix64's finaliser), so (a, b) != (b, a).
pub fn edge(prev: u64, pc: u64) -> u64 {
    let mut z = prev.rotate_left(29) ^ pc;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kcov_numbers_match_the_kernel_header() {
        // include/uapi/linux/kcov.h on x86-64.
        assert_eq!(KCOV_INIT_TRACE, 0x8008_6301);
        assert_eq!(KCOV_ENABLE, 0x6364);
        assert_eq!(KCOV_DISABLE, 0x6365);
    }

    #[test]
    fn edges_are_ordered_pairs() {
        let mut cov = Coverage::default();
        assert_eq!(cov.add_trace([1, 2, 3].into_iter()), 3);
        assert_eq!(cov.add_trace([1, 2, 3].into_iter()), 0);
        assert_eq!(cov.add_trace([2, 1].into_iter()), 2);
        assert_eq!(cov.pcs.len(), 3);
    }

    #[test]
    fn timings_are_new_per_call_and_power_of_two() {
        let mut cov = Coverage::default();
        assert!(cov.add_timing("flush", 3_000_000));
        assert!(!cov.add_timing("flush", 2_500_000));
        assert!(cov.add_timing("flush", 9_000_000));
        assert!(cov.add_timing("touch", 3_000_000));
    }
}
