//! `writesrc` and `writerace`: `write()` whose source buffer is not ordinary memory.
//!
//! Every write first tries the one-copy path (kernel patch 0018): a user copy with page faults
//! disabled, straight into VRAM, inside the revocation guard (an RCU read-side section); what it
//! cannot copy bounces through a kernel buffer, whose copy may fault. These checks aim at that
//! path with sources that could deadlock it, make it sleep under the guard, or miscount:
//!
//! - `writesrc`: the source is the card's own VRAM, mapped and not yet touched, in each region
//!   (write-combined, on demand, uncached), the card's shadow, the destination bytes themselves,
//!   a read-only file's mapping, and buffers that end in a `PROT_NONE` page (the count must stop
//!   exactly there, and nothing past it may reach VRAM);
//! - `writerace`: workers write to card T from mappings of card S (T may be S) while S is
//!   unbound and bound again in a loop. Every write must return a count, `ENODEV` or `EFAULT`;
//!   nothing may hang, and the kernel log must stay clean (the harness fails a boot whose log
//!   has a KASAN, lockdep or "sleeping function called from invalid context" report).
//!
//! Each sequence runs in a forked child that the parent kills after a timeout, so a deadlock is
//! a `FAIL`, not a hung checker.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::ptr;
use std::time::{Duration, Instant};

use bochsfb_renderer::abi::mmap_region;
use libc::{MAP_SHARED, PROT_NONE, PROT_READ, PROT_WRITE};

use crate::device::{page_size, Device};
use crate::fuzz::device_works;
use crate::report::{describe, Outcome, Report};
use crate::rng::Rng;
use crate::roundtrip::{compare, pattern};
use crate::unbind::wait_for_node;

const STEP_TIMEOUT: Duration = Duration::from_secs(60);
const DRIVER_DIR: &str = "/sys/bus/pci/drivers/bochsfb";

// ---------------------------------------------------------------------------------------------
// writesrc

pub fn run(path: &Path, report: &mut Report) {
    for (name, region) in [
        ("write-combined", mmap_region::WRITE_COMBINED),
        ("on-demand", mmap_region::ON_DEMAND),
        ("uncached", mmap_region::UNCACHED),
    ] {
        report.check(
            &format!("source: the card's own untouched {name} VRAM mapping"),
            in_child(STEP_TIMEOUT, || from_own_vram(path, region)),
        );
    }
    report.check(
        "source: the destination bytes themselves (write-combined mapping at the same offset)",
        in_child(STEP_TIMEOUT, || onto_itself(path)),
    );
    report.check(
        "source: the card's shadow, untouched and touched",
        in_child(STEP_TIMEOUT, || from_shadow(path)),
    );
    report.check(
        "source: a read-only file's mapping of the same card",
        in_child(STEP_TIMEOUT, || from_read_only_mapping(path)),
    );
    for (name, lead) in [("a whole page", 0usize), ("100 bytes", 100)] {
        report.check(
            &format!("a write of {name} before a PROT_NONE page returns exactly those bytes"),
            in_child(STEP_TIMEOUT, || up_to_prot_none(path, lead)),
        );
    }
    report.check(
        "writev [heap, untouched VRAM, untouched shadow, PROT_NONE] returns the first three",
        in_child(STEP_TIMEOUT, || writev_mixed(path)),
    );
    report.check("the card still works", device_works(path));
}

fn open(path: &Path) -> Result<Device, String> {
    Device::open(path).map_err(|e| format!("open {}: {}", path.display(), describe(&e)))
}

fn frame(device: &Device) -> Result<usize, String> {
    let mode = device
        .mode()
        .map_err(|e| format!("GET_MODE: {}", describe(&e)))?;
    Ok(mode.fb_size.next_multiple_of(page_size() as u64) as usize)
}

fn pwrite_all(device: &Device, data: &[u8], offset: u64) -> Outcome {
    match device.pwrite(data, offset) {
        Ok(n) if n == data.len() => Ok(()),
        Ok(n) => Err(format!("pwrite at {offset:#x} wrote {n} of {}", data.len())),
        Err(e) => Err(format!("pwrite at {offset:#x}: {}", describe(&e))),
    }
}

fn pread_vec(device: &Device, offset: u64, len: usize) -> Result<Vec<u8>, String> {
    let mut back = vec![0u8; len];
    match device.pread(&mut back, offset) {
        Ok(n) if n == len => Ok(back),
        Ok(n) => Err(format!("pread at {offset:#x} read {n} of {len}")),
        Err(e) => Err(format!("pread at {offset:#x}: {}", describe(&e))),
    }
}

/// `pwrite(fd, src, len, offset)` with a raw source pointer (a mapping the borrow checker does
/// not see).
///
/// # Safety
///
/// `src..src + len` must be an address range of this process (mapped or not: the kernel
/// checks); nothing here dereferences it.
unsafe fn pwrite_raw(
    device: &Device,
    src: *const u8,
    len: usize,
    offset: u64,
) -> io::Result<usize> {
    // SAFETY: the kernel reads the user range itself and reports faults as EFAULT.
    let n = unsafe { libc::pwrite(device.raw_fd(), src.cast(), len, offset as i64) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// Source unaligned and longer than a page, so the copy crosses page boundaries of both sides.
const SRC_OFFSET: usize = 10 * 4096 + 17;
const DST_OFFSET: u64 = 40 * 4096 + 3;
const LEN: usize = 3 * 4096 + 100;

fn from_own_vram(path: &Path, region: u64) -> Outcome {
    let device = open(path)?;
    let len = frame(&device)?;
    let data = pattern(0x5eed_0001 ^ region, LEN);
    pwrite_all(&device, &data, SRC_OFFSET as u64)?;
    let map = device
        .mmap(len, region, MAP_SHARED)
        .map_err(|e| format!("mmap region {region:#x}: {}", describe(&e)))?;
    // SAFETY: the range lies inside `map`, which stays mapped until the end of this function.
    let wrote = unsafe { pwrite_raw(&device, map.as_ptr().add(SRC_OFFSET), LEN, DST_OFFSET) }
        .map_err(|e| format!("pwrite from the mapping: {}", describe(&e)))?;
    if wrote != LEN {
        return Err(format!("pwrite from the mapping wrote {wrote} of {LEN}"));
    }
    compare(&pread_vec(&device, DST_OFFSET, LEN)?, &data)
}

fn onto_itself(path: &Path) -> Outcome {
    let device = open(path)?;
    let len = frame(&device)?;
    let data = pattern(0x5eed_0002, LEN);
    pwrite_all(&device, &data, DST_OFFSET)?;
    let map = device
        .mmap(len, mmap_region::WRITE_COMBINED, MAP_SHARED)
        .map_err(|e| format!("mmap: {}", describe(&e)))?;
    // SAFETY: inside `map`.
    let wrote = unsafe {
        pwrite_raw(
            &device,
            map.as_ptr().add(DST_OFFSET as usize),
            LEN,
            DST_OFFSET,
        )
    }
    .map_err(|e| format!("pwrite onto itself: {}", describe(&e)))?;
    if wrote != LEN {
        return Err(format!("pwrite onto itself wrote {wrote} of {LEN}"));
    }
    compare(&pread_vec(&device, DST_OFFSET, LEN)?, &data)
}

fn from_shadow(path: &Path) -> Outcome {
    let device = open(path)?;
    let len = frame(&device)?;
    // Untouched: the shadow pages fault in (zeroed, unless another mapping drew into them).
    let untouched = device
        .mmap(len, mmap_region::SHADOW, MAP_SHARED)
        .map_err(|e| format!("mmap shadow: {}", describe(&e)))?;
    pwrite_all(&device, &pattern(0x5eed_0003, LEN), DST_OFFSET)?;
    // SAFETY: inside `untouched`.
    let wrote = unsafe { pwrite_raw(&device, untouched.as_ptr().add(SRC_OFFSET), LEN, DST_OFFSET) }
        .map_err(|e| format!("pwrite from the untouched shadow: {}", describe(&e)))?;
    if wrote != LEN {
        return Err(format!(
            "pwrite from the untouched shadow wrote {wrote} of {LEN}"
        ));
    }
    let expected = untouched.as_slice()[SRC_OFFSET..SRC_OFFSET + LEN].to_vec();
    compare(&pread_vec(&device, DST_OFFSET, LEN)?, &expected)?;
    // Drawn into through a second mapping, then written from a third, untouched one.
    let mut drawn = device
        .mmap(len, mmap_region::SHADOW, MAP_SHARED)
        .map_err(|e| format!("mmap shadow: {}", describe(&e)))?;
    let data = pattern(0x5eed_0004, LEN);
    drawn.as_mut_slice()[SRC_OFFSET..SRC_OFFSET + LEN].copy_from_slice(&data);
    let fresh = device
        .mmap(len, mmap_region::SHADOW, MAP_SHARED)
        .map_err(|e| format!("mmap shadow: {}", describe(&e)))?;
    // SAFETY: inside `fresh`.
    let wrote = unsafe { pwrite_raw(&device, fresh.as_ptr().add(SRC_OFFSET), LEN, DST_OFFSET) }
        .map_err(|e| format!("pwrite from the drawn shadow: {}", describe(&e)))?;
    if wrote != LEN {
        return Err(format!(
            "pwrite from the drawn shadow wrote {wrote} of {LEN}"
        ));
    }
    compare(&pread_vec(&device, DST_OFFSET, LEN)?, &data)
}

fn from_read_only_mapping(path: &Path) -> Outcome {
    let device = open(path)?;
    let len = frame(&device)?;
    let data = pattern(0x5eed_0005, LEN);
    pwrite_all(&device, &data, SRC_OFFSET as u64)?;
    let reader =
        Device::open_read_only(path).map_err(|e| format!("open O_RDONLY: {}", describe(&e)))?;
    let map = reader
        .mmap_prot(len, mmap_region::WRITE_COMBINED, MAP_SHARED, PROT_READ)
        .map_err(|e| format!("mmap read-only: {}", describe(&e)))?;
    // SAFETY: inside `map`.
    let wrote = unsafe { pwrite_raw(&device, map.as_ptr().add(SRC_OFFSET), LEN, DST_OFFSET) }
        .map_err(|e| format!("pwrite from the read-only mapping: {}", describe(&e)))?;
    if wrote != LEN {
        return Err(format!("wrote {wrote} of {LEN}"));
    }
    compare(&pread_vec(&device, DST_OFFSET, LEN)?, &data)
}

/// An anonymous mapping of `pages` pages, the last `PROT_NONE`; the others untouched.
fn guarded(pages: usize) -> Result<*mut u8, String> {
    let size = pages * page_size();
    // SAFETY: a fresh anonymous mapping that no Rust object refers to.
    let addr = unsafe {
        libc::mmap(
            ptr::null_mut(),
            size,
            PROT_READ | PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if addr == libc::MAP_FAILED {
        return Err(format!("mmap: {}", io::Error::last_os_error()));
    }
    let last = addr.cast::<u8>().wrapping_add((pages - 1) * page_size());
    // SAFETY: the last page of the mapping just made.
    if unsafe { libc::mprotect(last.cast(), page_size(), PROT_NONE) } != 0 {
        return Err(format!("mprotect: {}", io::Error::last_os_error()));
    }
    Ok(addr.cast())
}

fn up_to_prot_none(path: &Path, lead: usize) -> Outcome {
    let device = open(path)?;
    let page = page_size();
    let buf = guarded(3)?;
    // The readable part: `lead` bytes before the PROT_NONE page, or a whole page plus nothing.
    let (start, readable) = if lead == 0 {
        (buf.wrapping_add(page), page)
    } else {
        (buf.wrapping_add(2 * page - lead), lead)
    };
    let data = pattern(0x5eed_0006 + lead as u64, readable);
    // SAFETY: `start..start + readable` is inside the readable part of `buf`.
    unsafe { ptr::copy_nonoverlapping(data.as_ptr(), start, readable) };
    let before = pattern(0x5eed_0007, readable + page);
    pwrite_all(&device, &before, DST_OFFSET)?;
    // SAFETY: an address range of this process; the kernel faults on the PROT_NONE part.
    let wrote = unsafe { pwrite_raw(&device, start, readable + page, DST_OFFSET) };
    match wrote {
        Ok(n) if n == readable => {}
        Ok(n) => return Err(format!("returned {n}, expected {readable}")),
        Err(e) => return Err(format!("failed with {}, expected {readable}", describe(&e))),
    }
    let back = pread_vec(&device, DST_OFFSET, readable + page)?;
    compare(&back[..readable], &data).map_err(|e| format!("the written bytes: {e}"))?;
    compare(&back[readable..], &before[readable..])
        .map_err(|e| format!("the bytes past the count changed: {e}"))
}

fn writev_mixed(path: &Path) -> Outcome {
    let device = open(path)?;
    let len = frame(&device)?;
    let heap = pattern(0x5eed_0008, 1000);
    let vram_bytes = pattern(0x5eed_0009, 5000);
    pwrite_all(&device, &vram_bytes, SRC_OFFSET as u64)?;
    let vram = device
        .mmap(len, mmap_region::ON_DEMAND, MAP_SHARED)
        .map_err(|e| format!("mmap: {}", describe(&e)))?;
    let shadow = device
        .mmap(len, mmap_region::SHADOW, MAP_SHARED)
        .map_err(|e| format!("mmap shadow: {}", describe(&e)))?;
    let guard = guarded(2)?;
    let shadow_len = 3000;
    let iov = [
        libc::iovec {
            iov_base: heap.as_ptr() as *mut _,
            iov_len: heap.len(),
        },
        libc::iovec {
            iov_base: vram.as_ptr().wrapping_add(SRC_OFFSET).cast(),
            iov_len: vram_bytes.len(),
        },
        libc::iovec {
            iov_base: shadow.as_ptr().wrapping_add(7 * page_size() + 5).cast(),
            iov_len: shadow_len,
        },
        libc::iovec {
            iov_base: guard.wrapping_add(page_size()).cast(),
            iov_len: 500,
        },
    ];
    // SAFETY: `iov` is a valid array of four iovecs; the kernel checks the ranges themselves.
    let n = unsafe { libc::pwritev(device.raw_fd(), iov.as_ptr(), 4, DST_OFFSET as i64) };
    let want = heap.len() + vram_bytes.len() + shadow_len;
    if n < 0 {
        return Err(format!("pwritev: {}", io::Error::last_os_error()));
    }
    if n as usize != want {
        return Err(format!("pwritev returned {n}, expected {want}"));
    }
    let mut expected = heap.clone();
    expected.extend_from_slice(&vram_bytes);
    expected.extend_from_slice(&shadow.as_slice()[7 * page_size() + 5..][..shadow_len]);
    compare(&pread_vec(&device, DST_OFFSET, want)?, &expected)
}

/// Runs `body` in a child; fails if it fails, dies of a signal, or is not done in `timeout`.
fn in_child(timeout: Duration, body: impl FnOnce() -> Outcome) -> Outcome {
    let mut pipe = [0; 2];
    // SAFETY: `pipe` has room for two descriptors.
    if unsafe { libc::pipe(pipe.as_mut_ptr()) } != 0 {
        return Err(format!("pipe: {}", io::Error::last_os_error()));
    }
    // SAFETY: the checker is single-threaded here, so the child may run arbitrary code.
    match unsafe { libc::fork() } {
        -1 => Err(format!("fork: {}", io::Error::last_os_error())),
        0 => {
            let outcome = body();
            let code = match &outcome {
                Ok(()) => 0,
                Err(why) => {
                    let bytes = why.as_bytes();
                    // SAFETY: writes our own bytes to our own pipe.
                    unsafe { libc::write(pipe[1], bytes.as_ptr().cast(), bytes.len()) };
                    1
                }
            };
            // SAFETY: ends the child without running the parent's destructors twice.
            unsafe { libc::_exit(code) }
        }
        child => {
            // SAFETY: closes our copy of the write end.
            unsafe { libc::close(pipe[1]) };
            let deadline = Instant::now() + timeout;
            let mut status = 0;
            let ended = loop {
                // SAFETY: our own child; `status` is a valid out-pointer.
                let r = unsafe { libc::waitpid(child, &mut status, libc::WNOHANG) };
                if r == child {
                    break true;
                }
                if Instant::now() > deadline {
                    break false;
                }
                std::thread::sleep(Duration::from_millis(10));
            };
            let mut why = vec![0u8; 4096];
            let why = if ended {
                // SAFETY: reads into our own buffer from our own pipe.
                let n = unsafe { libc::read(pipe[0], why.as_mut_ptr().cast(), why.len()) };
                String::from_utf8_lossy(&why[..n.max(0) as usize]).into_owned()
            } else {
                String::new()
            };
            // SAFETY: closes our read end.
            unsafe { libc::close(pipe[0]) };
            if !ended {
                // SAFETY: kills and reaps our own child.
                unsafe {
                    libc::kill(child, libc::SIGKILL);
                }
                let gone = Instant::now() + Duration::from_secs(10);
                loop {
                    // SAFETY: as above.
                    if unsafe { libc::waitpid(child, &mut status, libc::WNOHANG) } == child {
                        return Err(format!(
                            "not done after {} s: killed (deadlock?)",
                            timeout.as_secs()
                        ));
                    }
                    if Instant::now() > gone {
                        return Err(format!(
                            "not done after {} s, and SIGKILL did not end it: stuck in the kernel",
                            timeout.as_secs()
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
            if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
                Ok(())
            } else if libc::WIFSIGNALED(status) {
                Err(format!(
                    "the child died of signal {}",
                    libc::WTERMSIG(status)
                ))
            } else {
                Err(why)
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// writerace

/// The PCI address of the card behind `node` (`/sys/class/misc/<name>/device`).
fn pci_of(node: &Path) -> Result<String, String> {
    let name = node
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or("bad node name")?;
    let link = fs::read_link(format!("/sys/class/misc/{name}/device"))
        .map_err(|e| format!("/sys/class/misc/{name}/device: {e}"))?;
    link.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_owned)
        .ok_or_else(|| format!("odd link {}", link.display()))
}

pub struct RaceOptions {
    pub target: PathBuf,
    pub source: PathBuf,
    pub workers: u32,
    pub cycles: u32,
    pub shadow: bool,
}

/// One worker: writes to `target` from a mapping of `source` until the parent kills it, counting
/// outcomes in its exit message. Exits 1 on any result outside {count, ENODEV, EFAULT}.
fn race_worker(opts: &RaceOptions, seed: u64) -> ! {
    let mut rng = Rng::new(seed);
    let page = page_size();
    let map_len = 256 * page;
    let region = if opts.shadow {
        mmap_region::SHADOW
    } else {
        mmap_region::WRITE_COMBINED
    };
    let mut counts = [0u64; 4]; // full, partial, ENODEV, EFAULT
    let mut last_report = Instant::now();
    loop {
        let (Ok(src), Ok(dst)) = (Device::open(&opts.source), Device::open(&opts.target)) else {
            std::thread::sleep(Duration::from_millis(2));
            continue;
        };
        let Ok(map) = src.mmap(map_len, region, MAP_SHARED) else {
            continue;
        };
        for _ in 0..200 {
            if rng.below(4) == 0 {
                // Make the source pages not present again: the one-copy path stops at once and
                // the bounce faults them in (or is refused, after unbind).
                // SAFETY: the whole of `map`, a mapping this worker owns.
                unsafe { libc::madvise(map.as_ptr().cast(), map_len, libc::MADV_DONTNEED) };
            }
            let len = 1 + rng.below(16 * page as u64) as usize;
            let off = rng.below((map_len - len) as u64) as usize;
            let dst_off = rng.below(1 << 20);
            // SAFETY: inside `map`.
            let r = unsafe { pwrite_raw(&dst, map.as_ptr().add(off), len, dst_off) };
            match r {
                Ok(n) if n == len => counts[0] += 1,
                Ok(n) if n < len => counts[1] += 1,
                Err(e) if e.raw_os_error() == Some(libc::ENODEV) => {
                    counts[2] += 1;
                    break;
                }
                Err(e) if e.raw_os_error() == Some(libc::EFAULT) => {
                    counts[3] += 1;
                    break;
                }
                other => {
                    eprintln!(
                        "writerace: worker {seed}: pwrite({len} at {dst_off:#x}) -> {other:?}"
                    );
                    // SAFETY: ends the worker.
                    unsafe { libc::_exit(1) }
                }
            }
        }
        if last_report.elapsed() > Duration::from_secs(1) {
            println!(
                "writerace: worker {seed}: full {} partial {} ENODEV {} EFAULT {}",
                counts[0], counts[1], counts[2], counts[3]
            );
            last_report = Instant::now();
        }
    }
}

pub fn race(opts: &RaceOptions, report: &mut Report) {
    let pci = match pci_of(&opts.source) {
        Ok(pci) => pci,
        Err(why) => {
            report.check("find the source card", Err(why));
            return;
        }
    };
    println!(
        "writerace: {} workers write to {} from {} mappings of {} ({pci}), {} unbind cycles",
        opts.workers,
        opts.target.display(),
        if opts.shadow { "shadow" } else { "VRAM" },
        opts.source.display(),
        opts.cycles
    );
    let mut children = Vec::new();
    for w in 0..opts.workers {
        // SAFETY: the checker is single-threaded, so the child may run arbitrary code.
        match unsafe { libc::fork() } {
            -1 => {
                report.check("fork", Err(io::Error::last_os_error().to_string()));
                return;
            }
            0 => race_worker(opts, 1000 + u64::from(w)),
            child => children.push(child),
        }
    }
    let mut rng = Rng::new(7);
    let mut cycles_done: Outcome = Ok(());
    let start = Instant::now();
    for cycle in 0..opts.cycles {
        std::thread::sleep(Duration::from_millis(20 + rng.below(200)));
        let unbind = fs::write(format!("{DRIVER_DIR}/unbind"), &pci);
        if let Err(e) = unbind {
            cycles_done = Err(format!("cycle {cycle}: unbind: {e}"));
            break;
        }
        std::thread::sleep(Duration::from_millis(rng.below(100)));
        if let Err(e) = fs::write(format!("{DRIVER_DIR}/bind"), &pci) {
            cycles_done = Err(format!("cycle {cycle}: bind: {e}"));
            break;
        }
        if let Err(why) = wait_for_node(&opts.source, Duration::from_secs(30)) {
            cycles_done = Err(format!("cycle {cycle}: {why}"));
            break;
        }
    }
    println!("writerace: {} cycles in {:?}", opts.cycles, start.elapsed());
    // Workers that exited on their own failed; the rest are killed now.
    let mut workers: Outcome = Ok(());
    for child in children {
        let mut status = 0;
        // SAFETY: our own child; `status` is a valid out-pointer.
        let done = unsafe { libc::waitpid(child, &mut status, libc::WNOHANG) };
        if done == child {
            workers = Err(format!(
                "worker {child} ended early with status {status:#x}"
            ));
            continue;
        }
        // SAFETY: kills and reaps our own child.
        unsafe { libc::kill(child, libc::SIGKILL) };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            // SAFETY: as above.
            if unsafe { libc::waitpid(child, &mut status, libc::WNOHANG) } == child {
                break;
            }
            if Instant::now() > deadline {
                workers = Err(format!(
                    "worker {child} did not die of SIGKILL: stuck in the kernel"
                ));
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    report.check("unbind/bind cycles of the source card", cycles_done);
    report.check(
        "every write returned a count, ENODEV or EFAULT; no worker hung",
        workers,
    );
    report.check("the target card still works", device_works(&opts.target));
    report.check("the source card still works", device_works(&opts.source));
}
