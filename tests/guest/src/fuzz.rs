//! `fuzz`: a seeded, bounded, reproducible random-syscall fuzzer against the
//! device. It asserts no errno (what each call returns is the bad-input
//! matrix's business): only that the checker, the kernel and the device
//! survive. The host fails the run on any kernel report in the serial log.
//!
//! Memory safety of the fuzzer itself: the kernel only ever writes into two
//! buffers the fuzzer owns, each followed by a `PROT_NONE` guard page (so an
//! over-long copy faults into `EFAULT` instead of corrupting the process), or
//! into device mappings. Device mappings are touched from user space only in
//! forked children, which may die of `SIGBUS`/`SIGSEGV` without harm.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::io;
use std::os::fd::BorrowedFd;
use std::path::Path;
use std::ptr;
use std::time::{Duration, Instant};

use bochsfb_renderer::abi::{
    ioc, mmap_region, BochsfbDamage, BochsfbMode, BochsfbRect, BOCHSFB_IOCTL_FLUSH,
    BOCHSFB_IOCTL_GET_MODE, BOCHSFB_IOCTL_PAN, BOCHSFB_IOCTL_SET_MODE, BOCHSFB_IOCTL_WAIT_VSYNC,
};

use crate::device::page_size;
use crate::raw::{sys, wait, write_struct, Exit, Guarded, KERNEL_ADDR};
use crate::report::{errno_name, Outcome, Report};
use crate::rng::Rng;

/// fbdev ioctls (include/uapi/linux/fb.h), which a framebuffer driver may grow.
pub use bochsfb_renderer::fb_abi::{
    FBIOGET_FSCREENINFO, FBIOGET_VSCREENINFO, FBIOPAN_DISPLAY, FBIOPUT_VSCREENINFO,
    FBIO_WAITFORVSYNC,
};

/// Every ioctl the device documents or may grow; the fuzzer favours these.
pub const KNOWN_IOCTLS: &[u32] = &[
    BOCHSFB_IOCTL_GET_MODE,
    BOCHSFB_IOCTL_SET_MODE,
    BOCHSFB_IOCTL_PAN,
    BOCHSFB_IOCTL_WAIT_VSYNC,
    BOCHSFB_IOCTL_FLUSH,
    FBIOGET_VSCREENINFO,
    FBIOPUT_VSCREENINFO,
    FBIOGET_FSCREENINFO,
    FBIOPAN_DISPLAY,
    FBIO_WAITFORVSYNC,
];

/// The four mmap regions (docs/architecture.md).
const REGIONS: [u64; 4] = [
    mmap_region::WRITE_COMBINED,
    mmap_region::ON_DEMAND,
    mmap_region::SHADOW,
    mmap_region::UNCACHED,
];

const MAX_FILES: usize = 4;
const MAX_MAPPINGS: usize = 8;
/// Read/write buffer: big enough for multi-page copies, small enough for the guest.
const IO_LEN: usize = 1 << 20;
/// ioctl argument buffer: the largest size an `_IOC` number can encode.
const ARG_LEN: usize = 1 << 14;

/// What to run.
#[derive(Debug, Clone)]
pub struct FuzzOptions {
    pub seed: u64,
    pub ops: u64,
    /// Stop early after this long (the op count stays the reproducible part).
    pub max_time: Option<Duration>,
    /// Fuzzing processes at once (seeds `seed`, `seed + 1`, ...).
    pub procs: u32,
    /// Print every operation before doing it.
    pub trace: bool,
}

pub fn run(path: &Path, options: &FuzzOptions, report: &mut Report) {
    println!(
        "fuzz: seed {} ops {} procs {} (reproduce: bochsfb-check fuzz --seed {} --ops {} --procs {})",
        options.seed, options.ops, options.procs, options.seed, options.ops, options.procs
    );
    let start = Instant::now();
    let outcome = if options.procs <= 1 {
        fuzz_one(path, options.seed, options).map(|stats| stats.print(options.seed))
    } else {
        fuzz_many(path, options)
    };
    report.check(
        &format!(
            "{} ops from seed {} in {} process(es), {:.1} s",
            options.ops,
            options.seed,
            options.procs.max(1),
            start.elapsed().as_secs_f64()
        ),
        outcome,
    );
    report.check("device works after fuzzing", device_works(path));
}

/// Forks one fuzzer per process and waits for all of them.
fn fuzz_many(path: &Path, options: &FuzzOptions) -> Outcome {
    let mut children = Vec::new();
    for i in 0..options.procs {
        let seed = options.seed.wrapping_add(u64::from(i));
        // SAFETY: the checker is single-threaded, so the child may run any code after fork.
        match unsafe { libc::fork() } {
            -1 => return Err(format!("fork: {}", io::Error::last_os_error())),
            0 => {
                let status = match fuzz_one(path, seed, options) {
                    Ok(stats) => {
                        stats.print(seed);
                        0
                    }
                    Err(why) => {
                        println!("fuzz[{seed}]: {why}");
                        1
                    }
                };
                // SAFETY: leaves the child without running the parent's destructors twice.
                unsafe { libc::_exit(status) }
            }
            pid => children.push((seed, pid)),
        }
    }
    let mut failures = Vec::new();
    for (seed, pid) in children {
        match wait(pid) {
            Ok(Exit::Code(0)) => {}
            Ok(other) => failures.push(format!("seed {seed}: {other:?}")),
            Err(e) => failures.push(format!("seed {seed}: waitpid: {e}")),
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("; "))
    }
}

/// A live mapping of the device.
#[derive(Debug, Clone, Copy)]
struct Map {
    addr: u64,
    len: u64,
}

/// Per-operation counts: calls, successes, and each errno seen.
#[derive(Default)]
struct Stats {
    ops: BTreeMap<&'static str, (u64, u64, BTreeMap<i32, u64>)>,
    touches: BTreeMap<String, u64>,
    done: u64,
}

impl Stats {
    fn record(&mut self, op: &'static str, result: &io::Result<i64>) {
        let entry = self.ops.entry(op).or_default();
        entry.0 += 1;
        match result {
            Ok(_) => entry.1 += 1,
            Err(e) => *entry.2.entry(e.raw_os_error().unwrap_or(0)).or_default() += 1,
        }
    }

    fn print(&self, seed: u64) {
        println!("fuzz[{seed}]: {} ops done", self.done);
        for (op, (calls, ok, errnos)) in &self.ops {
            let errs: Vec<String> = errnos
                .iter()
                .map(|(e, n)| format!("{} {n}", errno_name(*e)))
                .collect();
            println!(
                "fuzz[{seed}]:   {op:<12} {calls:>6} calls, {ok:>6} ok  {}",
                errs.join(", ")
            );
        }
        let touches: Vec<String> = self
            .touches
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        println!("fuzz[{seed}]:   touch children: {}", touches.join(", "));
    }
}

/// The fuzzer's state: open files, live mappings and its two buffers.
struct Fuzzer<'a> {
    path: &'a Path,
    rng: Rng,
    files: Vec<libc::c_int>,
    maps: Vec<Map>,
    io: Guarded,
    arg: Guarded,
    /// The last `fb_size` GET_MODE reported (offsets are drawn around it).
    fb_size: u64,
    mode: BochsfbMode,
    page: u64,
    trace: bool,
    stats: Stats,
}

fn fuzz_one(path: &Path, seed: u64, options: &FuzzOptions) -> Result<Stats, String> {
    let guarded = |len| Guarded::new(len).map_err(|e| format!("buffer: {e}"));
    let mut fuzzer = Fuzzer {
        path,
        rng: Rng::new(seed),
        files: Vec::new(),
        maps: Vec::new(),
        io: guarded(IO_LEN)?,
        arg: guarded(ARG_LEN)?,
        fb_size: 16 << 20,
        mode: BochsfbMode::default(),
        page: page_size() as u64,
        trace: options.trace,
        stats: Stats::default(),
    };
    let start = Instant::now();
    for n in 0..options.ops {
        if options.max_time.is_some_and(|max| start.elapsed() > max) {
            println!("fuzz[{seed}]: time limit reached after {n} ops");
            break;
        }
        fuzzer.step(n);
        fuzzer.stats.done += 1;
    }
    fuzzer.cleanup();
    Ok(fuzzer.stats)
}

impl Fuzzer<'_> {
    fn step(&mut self, n: u64) {
        if self.files.is_empty() || self.rng.chance(1, 40) {
            return self.open(n);
        }
        match self.rng.below(100) {
            0..=3 => self.close(n),
            4..=17 => self.mmap(n),
            18..=22 => self.munmap(n),
            23..=26 => self.mremap(n),
            27..=30 => self.mprotect_madvise(n),
            31..=37 => self.touch(n),
            38..=47 => self.read_write(n),
            48..=55 => self.pread_pwrite(n),
            56..=62 => self.lseek(n),
            63..=92 => self.ioctl(n),
            93..=95 => self.proc_mem(n),
            _ => self.dup_fork(n),
        }
    }

    fn trace(&self, n: u64, what: &str) {
        if self.trace {
            println!("fuzz: #{n} {what}");
        }
    }

    fn fd(&mut self) -> libc::c_int {
        let i = self.rng.index(self.files.len());
        self.files[i]
    }

    /// An offset near the interesting places: 0, pages, the end, overflow.
    fn offset(&mut self) -> i64 {
        let end = self.fb_size as i64;
        match self.rng.below(10) {
            0 => 0,
            1 => end,
            2 => end - self.rng.below(8192) as i64,
            3 => end + self.rng.below(8192) as i64,
            4 => self
                .rng
                .pick(&[-1, i64::MIN, i64::MAX, i64::MAX - 4095, 1 << 32, 1 << 63]),
            5 => (self.rng.below(self.fb_size / self.page + 1) * self.page) as i64,
            _ => self.rng.below(self.fb_size + 1) as i64,
        }
    }

    /// A byte count: empty, small, pages, the whole frame, or absurd.
    fn count(&mut self) -> usize {
        match self.rng.below(8) {
            0 => 0,
            1 => 1 + self.rng.index(16),
            2 => self.rng.pick(&[4096, 4095, 4097, 65536]),
            3 => self.fb_size as usize,
            4 => self
                .rng
                .pick(&[usize::MAX, isize::MAX as usize, 1 << 32, IO_LEN + 1]),
            _ => self.rng.index(IO_LEN) + 1,
        }
    }

    /// A user buffer for the kernel to read or write `count` bytes: mostly
    /// ours, sometimes one that faults partway or at once.
    fn buffer(&mut self, count: usize) -> u64 {
        let io = self.io.base();
        match self.rng.below(12) {
            0 => 0,
            1 => KERNEL_ADDR,
            2 => self.io.guard(),
            // Ends inside the guard page: the copy faults partway.
            3 => self.io.guard() - (count.min(IO_LEN) as u64 / 2).max(1),
            4 if !self.maps.is_empty() => {
                // A mapping of the device itself (maybe already revoked).
                let m = self.maps[self.rng.index(self.maps.len())];
                m.addr + self.rng.below(m.len)
            }
            5 => io + 1 + self.rng.below(64),
            _ => io + self.rng.below(4096),
        }
    }

    fn record(&mut self, op: &'static str, result: io::Result<i64>) -> io::Result<i64> {
        self.stats.record(op, &result);
        result
    }

    fn open(&mut self, n: u64) {
        if self.files.len() >= MAX_FILES {
            return self.close(n);
        }
        let flags = self.rng.pick(&[
            libc::O_RDWR,
            libc::O_RDWR,
            libc::O_RDONLY,
            libc::O_WRONLY,
            libc::O_RDWR | libc::O_NONBLOCK,
            libc::O_RDWR | libc::O_APPEND,
            libc::O_RDWR | libc::O_SYNC,
            // Refused (EINVAL): every write takes the one-copy path already.
            libc::O_RDWR | libc::O_DIRECT,
        ]) | libc::O_CLOEXEC;
        self.trace(n, &format!("open flags {flags:#x}"));
        let path = CString::new(self.path.as_os_str().as_encoded_bytes()).expect("no NUL in path");
        // SAFETY: a NUL-terminated path; plain flags.
        let result = sys(unsafe { libc::open(path.as_ptr(), flags) } as i64);
        if let Ok(fd) = self.record("open", result) {
            self.files.push(fd as libc::c_int);
            if self.rng.chance(1, 2) {
                self.refresh_mode(fd as libc::c_int);
            }
        }
    }

    /// Reads the mode, so offsets follow mode changes.
    fn refresh_mode(&mut self, fd: libc::c_int) {
        // SAFETY: `fd` is one of this fuzzer's open files (just opened, or just used), open
        // for the call.
        let file = unsafe { BorrowedFd::borrow_raw(fd) };
        match bochsfb_renderer::device::get_mode(file) {
            Ok(mode) if mode.fb_size > 0 => {
                self.fb_size = mode.fb_size;
                self.mode = mode;
            }
            _ => {
                // A driver without GET_MODE: the end of the file is the frame's size.
                // SAFETY: plain integers; moves only this fuzzer's file position.
                let end = unsafe { libc::lseek(fd, 0, libc::SEEK_END) };
                if end > 0 {
                    self.fb_size = end as u64;
                }
            }
        }
    }

    fn close(&mut self, n: u64) {
        if self.files.is_empty() {
            return;
        }
        let i = self.rng.index(self.files.len());
        let fd = self.files.swap_remove(i);
        self.trace(
            n,
            &format!("close {fd} ({} mappings live)", self.maps.len()),
        );
        // SAFETY: closes a descriptor this fuzzer opened and no one else uses.
        let result = sys(unsafe { libc::close(fd) } as i64);
        self.record("close", result).ok();
    }

    fn mmap(&mut self, n: u64) {
        if self.maps.len() >= MAX_MAPPINGS {
            return self.munmap(n);
        }
        let fd = self.fd();
        let region = self.rng.pick(&REGIONS);
        let page = self.page;
        if self.rng.chance(1, 2) {
            // A mapping the driver should accept, so later operations have one to work on.
            let pages = self.fb_size / page;
            let first = self.rng.below(pages.max(1));
            let len = (1 + self.rng.below(64)).min(pages - first).max(1) * page;
            return self.do_mmap(
                n,
                fd,
                region + first * page,
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
            );
        }
        let within = match self.rng.below(6) {
            0 => 0,
            1 => self.fb_size.saturating_sub(page),
            2 => self.fb_size,
            3 => self.rng.below(1 << 32) & !(page - 1),
            _ => self.rng.below(self.fb_size / page + 1) * page,
        };
        let offset = match self.rng.below(12) {
            0 => self.rng.next_u64() & !(page - 1),
            1 => u64::MAX - (page - 1),
            2 => region + within + 1 + self.rng.below(page - 1),
            _ => region + within,
        };
        let len = match self.rng.below(8) {
            0 => 0,
            1 => self.fb_size,
            2 => self.fb_size + page,
            3 => self.rng.pick(&[u64::MAX - (page - 1), 1 << 40, 1 << 47]),
            4 => self.fb_size.saturating_sub(within).max(page),
            _ => (1 + self.rng.below(64)) * page,
        };
        let prot = self.rng.pick(&[
            libc::PROT_READ | libc::PROT_WRITE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::PROT_READ,
            libc::PROT_WRITE,
            libc::PROT_NONE,
            libc::PROT_READ | libc::PROT_EXEC,
        ]);
        let flags = self.rng.pick(&[
            libc::MAP_SHARED,
            libc::MAP_SHARED,
            libc::MAP_SHARED,
            libc::MAP_PRIVATE,
            libc::MAP_SHARED | libc::MAP_POPULATE,
            libc::MAP_SHARED | libc::MAP_NORESERVE,
            libc::MAP_SHARED_VALIDATE,
            libc::MAP_SHARED | libc::MAP_LOCKED,
        ]);
        self.do_mmap(n, fd, offset, len, prot, flags);
    }

    fn do_mmap(&mut self, n: u64, fd: libc::c_int, offset: u64, len: u64, prot: i32, flags: i32) {
        self.trace(
            n,
            &format!("mmap fd {fd} off {offset:#x} len {len:#x} prot {prot} flags {flags:#x}"),
        );
        // SAFETY: a NULL hint: the kernel picks a range that overlaps nothing we own.
        let addr = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len as usize,
                prot,
                flags,
                fd,
                offset as i64,
            )
        };
        let result = if addr == libc::MAP_FAILED {
            Err(io::Error::last_os_error())
        } else {
            Ok(addr as i64)
        };
        if let Ok(addr) = self.record("mmap", result) {
            self.maps.push(Map {
                addr: addr as u64,
                len,
            });
        }
    }

    fn pick_map(&mut self) -> Option<usize> {
        (!self.maps.is_empty()).then(|| self.rng.index(self.maps.len()))
    }

    fn munmap(&mut self, n: u64) {
        let Some(i) = self.pick_map() else { return };
        let m = self.maps[i];
        let pages = m.len / self.page;
        if pages > 2 && self.rng.chance(1, 3) {
            // Punch a hole: the mapping splits in two (vma open/close hooks run).
            let first = 1 + self.rng.below(pages - 2);
            let hole = Map {
                addr: m.addr + first * self.page,
                len: self.page,
            };
            self.trace(n, &format!("munmap hole {:#x} in {m:?}", hole.addr));
            // SAFETY: the hole lies inside a device mapping this fuzzer made; no Rust
            // reference points into device mappings.
            let result =
                sys(unsafe { libc::munmap(hole.addr as *mut _, hole.len as usize) } as i64);
            if self.record("munmap", result).is_ok() {
                self.maps[i].len = first * self.page;
                self.maps.push(Map {
                    addr: hole.addr + self.page,
                    len: m.len - (first + 1) * self.page,
                });
            }
        } else {
            self.trace(n, &format!("munmap {m:?}"));
            // SAFETY: `m` is a whole device mapping this fuzzer made; no Rust reference points
            // into device mappings.
            let result = sys(unsafe { libc::munmap(m.addr as *mut _, m.len as usize) } as i64);
            self.record("munmap", result).ok();
            self.maps.swap_remove(i);
        }
    }

    fn mremap(&mut self, n: u64) {
        let Some(i) = self.pick_map() else { return };
        let m = self.maps[i];
        let page = self.page;
        let new_len = match self.rng.below(5) {
            0 => page,
            1 => m.len + page,
            2 => m.len * 2,
            3 => (m.len / 2).max(page),
            _ => self.fb_size + page,
        };
        let flags = self.rng.pick(&[
            libc::MREMAP_MAYMOVE,
            0,
            libc::MREMAP_MAYMOVE | 4, /* DONTUNMAP */
        ]);
        self.trace(n, &format!("mremap {m:?} -> {new_len:#x} flags {flags}"));
        // SAFETY: remaps a device mapping this fuzzer made; without MREMAP_FIXED the
        // kernel picks any new address, so nothing of ours is overwritten.
        let addr =
            unsafe { libc::mremap(m.addr as *mut _, m.len as usize, new_len as usize, flags) };
        let result = if addr == libc::MAP_FAILED {
            Err(io::Error::last_os_error())
        } else {
            Ok(addr as i64)
        };
        if let Ok(addr) = self.record("mremap", result) {
            self.maps[i] = Map {
                addr: addr as u64,
                len: new_len,
            };
            if flags & 4 != 0 && addr as u64 != m.addr {
                // DONTUNMAP leaves the old range mapped (empty): still ours to unmap.
                self.maps.push(m);
            }
        }
    }

    fn mprotect_madvise(&mut self, n: u64) {
        let Some(i) = self.pick_map() else { return };
        let m = self.maps[i];
        let addr = m.addr as *mut libc::c_void;
        let len = m.len as usize;
        let (op, ret) = match self.rng.below(4) {
            0 => {
                let prot = self.rng.pick(&[
                    libc::PROT_READ | libc::PROT_EXEC,
                    libc::PROT_EXEC,
                    libc::PROT_NONE,
                    libc::PROT_READ,
                    libc::PROT_READ | libc::PROT_WRITE,
                ]);
                self.trace(n, &format!("mprotect {m:?} {prot}"));
                // SAFETY: changes protection of a device mapping only.
                ("mprotect", unsafe { libc::mprotect(addr, len, prot) })
            }
            1 => {
                let advice = self.rng.pick(&[
                    libc::MADV_DONTNEED,
                    libc::MADV_WILLNEED,
                    libc::MADV_DONTFORK,
                    libc::MADV_DOFORK,
                    libc::MADV_COLD,
                    libc::MADV_PAGEOUT,
                    libc::MADV_REMOVE,
                    libc::MADV_WIPEONFORK,
                    libc::MADV_FREE,
                    22, // MADV_POPULATE_READ
                    23, // MADV_POPULATE_WRITE
                ]);
                self.trace(n, &format!("madvise {m:?} {advice}"));
                // SAFETY: advice on a device mapping only (never MADV_HWPOISON).
                ("madvise", unsafe { libc::madvise(addr, len, advice) })
            }
            2 => {
                let flags = self
                    .rng
                    .pick(&[libc::MS_SYNC, libc::MS_ASYNC, libc::MS_INVALIDATE]);
                self.trace(n, &format!("msync {m:?} {flags}"));
                // SAFETY: syncs a device mapping only.
                ("msync", unsafe { libc::msync(addr, len, flags) })
            }
            _ => {
                self.trace(n, &format!("mlock+munlock {m:?}"));
                // SAFETY: locks and unlocks a device mapping only.
                let ret = unsafe { libc::mlock(addr, len) };
                // SAFETY: unlocks the same device mapping only.
                unsafe { libc::munlock(addr, len) };
                ("mlock", ret)
            }
        };
        let result = sys(ret as i64);
        self.record(op, result).ok();
    }

    /// Reads and writes device mappings in a child, which may die of SIGBUS or SIGSEGV.
    fn touch(&mut self, n: u64) {
        if self.maps.is_empty() {
            return;
        }
        let touches: Vec<(u64, bool, u8)> = (0..1 + self.rng.below(16))
            .map(|_| {
                let m = self.maps[self.rng.index(self.maps.len())];
                (
                    m.addr + self.rng.below(m.len),
                    self.rng.chance(1, 2),
                    self.rng.next_u32() as u8,
                )
            })
            .collect();
        self.trace(n, &format!("touch {} bytes in a child", touches.len()));
        // SAFETY: single-threaded; the child only touches memory and exits.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            for (addr, write, value) in touches {
                // SAFETY: the address lies in a device mapping (inherited by fork), not in
                // memory Rust owns; a revoked or protected page kills only this child.
                unsafe {
                    if write {
                        ptr::write_volatile(addr as *mut u8, value);
                    } else {
                        ptr::read_volatile(addr as *const u8);
                    }
                }
            }
            // SAFETY: ends the child at once.
            unsafe { libc::_exit(0) }
        }
        let key = match (pid, wait(pid)) {
            (-1, _) => format!("fork {}", io::Error::last_os_error()),
            (_, Ok(Exit::Code(c))) => format!("exit {c}"),
            (_, Ok(Exit::Signal(libc::SIGBUS))) => "SIGBUS".into(),
            (_, Ok(Exit::Signal(libc::SIGSEGV))) => "SIGSEGV".into(),
            (_, Ok(Exit::Signal(s))) => format!("signal {s}"),
            (_, Err(e)) => format!("waitpid {e}"),
        };
        *self.stats.touches.entry(key).or_default() += 1;
    }

    fn read_write(&mut self, n: u64) {
        let fd = self.fd();
        let count = self.count();
        let buf = self.buffer(count);
        if self.rng.chance(1, 2) {
            self.trace(n, &format!("read fd {fd} buf {buf:#x} count {count:#x}"));
            // SAFETY: the kernel writes at most the bytes up to the end of the frame; `buf`
            // is in a guarded buffer of ours, a device mapping, or faults (EFAULT).
            let result = sys(unsafe { libc::read(fd, buf as *mut _, count) } as i64);
            self.record("read", result).ok();
        } else {
            self.trace(n, &format!("write fd {fd} buf {buf:#x} count {count:#x}"));
            // SAFETY: the kernel only reads from `buf`.
            let result = sys(unsafe { libc::write(fd, buf as *const _, count) } as i64);
            self.record("write", result).ok();
        }
    }

    fn pread_pwrite(&mut self, n: u64) {
        let fd = self.fd();
        let count = self.count();
        let buf = self.buffer(count);
        let offset = self.offset();
        if self.rng.chance(1, 2) {
            self.trace(
                n,
                &format!("pread fd {fd} buf {buf:#x} count {count:#x} off {offset:#x}"),
            );
            // SAFETY: as for read.
            let result = sys(unsafe { libc::pread(fd, buf as *mut _, count, offset) } as i64);
            self.record("pread", result).ok();
        } else {
            self.trace(
                n,
                &format!("pwrite fd {fd} buf {buf:#x} count {count:#x} off {offset:#x}"),
            );
            // SAFETY: as for write.
            let result = sys(unsafe { libc::pwrite(fd, buf as *const _, count, offset) } as i64);
            self.record("pwrite", result).ok();
        }
    }

    fn lseek(&mut self, n: u64) {
        let fd = self.fd();
        let offset = self.offset();
        let whence = self.rng.pick(&[
            libc::SEEK_SET,
            libc::SEEK_CUR,
            libc::SEEK_END,
            libc::SEEK_DATA,
            libc::SEEK_HOLE,
            5,
            -1,
            i32::MAX,
        ]);
        self.trace(n, &format!("lseek fd {fd} {offset:#x} whence {whence}"));
        // SAFETY: plain integers.
        let result = sys(unsafe { libc::lseek(fd, offset, whence) });
        self.record("lseek", result).ok();
    }

    fn ioctl(&mut self, n: u64) {
        let fd = self.fd();
        let request = match self.rng.below(10) {
            0..=5 => self.rng.pick(KNOWN_IOCTLS),
            6 => {
                // A known number with another direction or size.
                let known = self.rng.pick(KNOWN_IOCTLS);
                (known & 0x0000_ffff) | (self.rng.next_u32() & 0xffff_0000)
            }
            7 => ioc(
                self.rng.below(4) as u32,
                b'B',
                self.rng.next_u32() as u8,
                self.rng.index(ARG_LEN),
            ),
            8 => ioc(
                self.rng.below(4) as u32,
                b'F',
                self.rng.next_u32() as u8,
                self.rng.index(256),
            ),
            _ => self.rng.next_u32(),
        };
        let arg = self.ioctl_arg(request);
        self.trace(n, &format!("ioctl fd {fd} {request:#010x} arg {arg:#x}"));
        // SAFETY: `arg` points into our guarded argument buffer (room for any _IOC size),
        // or is a value/pointer the kernel must reject; nothing else of ours is reachable.
        let result = sys(unsafe { libc::ioctl(fd, request as _, arg) } as i64);
        if request == BOCHSFB_IOCTL_SET_MODE && result.is_ok() {
            self.refresh_mode(fd);
        }
        self.record(ioctl_name(request), result).ok();
    }

    /// The argument of an ioctl: a structure (valid-looking or garbage) in the
    /// argument buffer, a pointer that faults, or a plain integer.
    fn ioctl_arg(&mut self, request: u32) -> u64 {
        let base = self.arg.base();
        let guard = self.arg.guard();
        match self.rng.below(10) {
            0 => return 0,
            1 => return self.rng.pick(&[KERNEL_ADDR, self.arg.guard(), 1, u64::MAX]),
            // A structure that runs into the guard page.
            2 => return self.arg.guard() - 1 - self.rng.below(48),
            3 => return self.rng.below(1 << 16),
            _ => {}
        }
        let mut rng = self.rng.clone();
        let bytes = self.arg.bytes();
        rng.fill(&mut bytes[..1024]);
        let mode = self.mode;
        match request {
            BOCHSFB_IOCTL_SET_MODE => {
                let m = random_mode(&mut rng, &mode);
                write_struct(bytes, &m);
            }
            BOCHSFB_IOCTL_PAN => {
                let max = mode.virtual_height.saturating_sub(mode.height);
                let any = rng.next_u32() % max.saturating_add(2);
                let y: u32 = rng.pick(&[0, 1, max, max + 1, mode.height, u32::MAX, any]);
                write_struct(bytes, &y);
            }
            BOCHSFB_IOCTL_FLUSH => {
                let any = rng.next_u32() % 300;
                let count: u32 = rng.pick(&[0, 1, 2, 16, 256, 257, u32::MAX, any]);
                let rects_at = 64u64;
                let rects = match rng.below(6) {
                    0 => 0,
                    1 => KERNEL_ADDR,
                    2 => guard - 16 * u64::from(count.min(8)) / 2,
                    _ => base + rects_at,
                };
                let any = rng.next_u32();
                let flags: u32 = rng.pick(&[0, 0, 0, 1, any]);
                write_struct(
                    bytes,
                    &BochsfbDamage {
                        rects,
                        count,
                        flags,
                    },
                );
                for i in 0..256usize {
                    let r = random_rect(&mut rng, &mode);
                    write_struct(&mut bytes[rects_at as usize + 16 * i..], &r);
                }
            }
            _ => {}
        }
        self.rng = rng;
        base
    }

    /// Reads a device mapping through `/proc/self/mem` (the kernel walks it with
    /// get_user_pages / vma access hooks), or passes it to a pipe's write.
    fn proc_mem(&mut self, n: u64) {
        let Some(i) = self.pick_map() else { return };
        let m = self.maps[i];
        let addr = m.addr + self.rng.below(m.len);
        let count = (1 + self.rng.index(8192)).min(IO_LEN);
        self.trace(n, &format!("/proc/self/mem read {addr:#x} count {count}"));
        let path = c"/proc/self/mem";
        // SAFETY: opens a procfs file read-only.
        let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
        if fd < 0 {
            return;
        }
        let buf = self.io.base() as *mut u8;
        // SAFETY: the kernel writes at most `count <= IO_LEN` bytes into our buffer.
        let result = sys(unsafe { libc::pread(fd, buf.cast(), count, addr as i64) } as i64);
        self.record("proc-mem", result).ok();
        // SAFETY: our own descriptor.
        unsafe { libc::close(fd) };
    }

    /// dup a file and close it again, or fork a child that closes everything
    /// and exits (mappings and files copied, then torn down in the child).
    fn dup_fork(&mut self, n: u64) {
        let fd = self.fd();
        if self.rng.chance(1, 2) {
            self.trace(n, &format!("dup {fd} + close"));
            // SAFETY: duplicates and closes our own descriptor.
            let result = sys(unsafe { libc::dup(fd) } as i64);
            if let Ok(new) = self.record("dup", result) {
                // SAFETY: the duplicate is ours alone.
                unsafe { libc::close(new as libc::c_int) };
            }
        } else {
            self.trace(n, "fork + exit");
            // SAFETY: single-threaded; the child exits at once.
            let pid = unsafe { libc::fork() };
            if pid == 0 {
                // SAFETY: leaves the child without running destructors.
                unsafe { libc::_exit(0) }
            }
            let result = if pid < 0 {
                Err(io::Error::last_os_error())
            } else {
                wait(pid).map(|_| 0)
            };
            self.record("fork", result).ok();
        }
    }

    fn cleanup(&mut self) {
        for m in self.maps.drain(..) {
            // SAFETY: device mappings this fuzzer made.
            unsafe { libc::munmap(m.addr as *mut _, m.len as usize) };
        }
        for fd in self.files.drain(..) {
            // SAFETY: descriptors this fuzzer opened.
            unsafe { libc::close(fd) };
        }
    }
}

fn ioctl_name(request: u32) -> &'static str {
    match request {
        BOCHSFB_IOCTL_GET_MODE => "GET_MODE",
        BOCHSFB_IOCTL_SET_MODE => "SET_MODE",
        BOCHSFB_IOCTL_PAN => "PAN",
        BOCHSFB_IOCTL_WAIT_VSYNC => "WAIT_VSYNC",
        BOCHSFB_IOCTL_FLUSH => "FLUSH",
        FBIOGET_VSCREENINFO => "FBIOGET_V",
        FBIOPUT_VSCREENINFO => "FBIOPUT_V",
        FBIOGET_FSCREENINFO => "FBIOGET_F",
        FBIOPAN_DISPLAY => "FBIOPAN",
        FBIO_WAITFORVSYNC => "FBIO_VSYNC",
        _ => "ioctl-other",
    }
}

/// A mode to ask for: often valid, often wrong in one field.
fn random_mode(rng: &mut Rng, current: &BochsfbMode) -> BochsfbMode {
    let any = rng.next_u32();
    let width = rng.pick(&[
        640,
        800,
        1024,
        1280,
        64,
        0,
        1,
        7,
        641,
        8192,
        16000,
        16008,
        u32::MAX,
        any,
    ]);
    let any = rng.next_u32();
    let height = rng.pick(&[480, 600, 768, 1024, 64, 0, 1, 12000, 12001, u32::MAX, any]);
    let bpp = rng.pick(&[32, 32, 16, 24, 8, 0, 1, 4, 15, 33, 64, u32::MAX]);
    let virtual_height = rng.pick(&[
        0,
        0,
        height,
        height.wrapping_mul(2),
        height.wrapping_sub(1),
        u32::MAX,
    ]);
    BochsfbMode {
        width,
        height,
        bpp,
        stride: rng.next_u32(),
        virtual_height,
        y_offset: rng.next_u32(),
        fb_size: rng.next_u64(),
        vram_size: if rng.chance(1, 2) {
            current.vram_size
        } else {
            rng.next_u64()
        },
    }
}

fn random_rect(rng: &mut Rng, mode: &BochsfbMode) -> BochsfbRect {
    let (w, h) = (mode.width.max(1), mode.virtual_height.max(1));
    let mut any = |limit: u32| match rng.below(6) {
        0 => 0,
        1 => limit,
        2 => u32::MAX,
        3 => u32::MAX - rng.next_u32() % 16,
        _ => rng.next_u32() % (limit + 1),
    };
    BochsfbRect {
        x: any(w),
        y: any(h),
        width: any(w),
        height: any(h),
    }
}

/// After everything: a fresh open, a sane GET_MODE, and a pattern written with
/// pwrite that reads back with pread and through a fresh mapping.
pub fn device_works(path: &Path) -> Outcome {
    use crate::device::Device;
    use crate::report::describe;
    use crate::roundtrip::{compare, pattern};
    let device = Device::open(path).map_err(|e| format!("open: {}", describe(&e)))?;
    let mode = device
        .mode()
        .map_err(|e| format!("GET_MODE: {}", describe(&e)))?;
    crate::badinput::plausible(&mode)?;
    let data = pattern(0x0f0f_2024, 4096 + 13);
    let written = device
        .pwrite(&data, 0)
        .map_err(|e| format!("pwrite: {}", describe(&e)))?;
    if written != data.len() {
        return Err(format!("pwrite wrote {written} of {}", data.len()));
    }
    let mut back = vec![0; data.len()];
    let read = device
        .pread(&mut back, 0)
        .map_err(|e| format!("pread: {}", describe(&e)))?;
    if read != data.len() {
        return Err(format!("pread read {read} of {}", data.len()));
    }
    compare(&back, &data)?;
    let map = device
        .mmap(2 * page_size(), 0, libc::MAP_SHARED)
        .map_err(|e| format!("mmap: {}", describe(&e)))?;
    compare(&map.as_slice()[..data.len()], &data)
}
