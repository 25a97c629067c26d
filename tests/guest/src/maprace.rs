//! `maprace`: no mapping outlives what it maps (issue #11, hole 1).
//!
//! Worker processes call `mmap` in a tight loop, in every region, while the parent shrinks the
//! mode and unbinds the card. A mapping made by an `mmap` that raced with the shrink or the
//! unbind must fault like every other: after each shrink the workers touch every mapping they
//! hold past the new frame, after each unbind every mapping at all, and each touch must raise
//! `SIGBUS`. A touch that lands is a survivor: a process still reaching VRAM (after unbind, a
//! BAR the driver has released) through page table entries nobody zapped.
//!
//! A touch is checked without a fork per mapping: the `SIGBUS` handler counts the fault and
//! maps an anonymous page over the faulting one, so the retried store lands in RAM. A store that
//! does not raise the count went to the device.

use std::path::Path;
use std::ptr;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use libc::MAP_SHARED;

use crate::device::{page_size, set_mode, Device, Mapping};
use crate::raw::{wait, Exit};
use crate::report::{describe, Outcome, Report};
use crate::unbind::{bound_card, sysfs_write, wait_for_node};

/// The mode the workers map a whole frame of (3 MiB), and the one it shrinks to (1.2 MB); both
/// with a virtual height of exactly one screen (0 would ask for all of VRAM).
const BIG: (u32, u32, u32) = (1024, 768, 32);
const SMALL: (u32, u32, u32) = (640, 480, 32);
/// Bytes each worker maps: the big frame.
const MAP_LEN: usize = (BIG.0 * BIG.1 * BIG.2 / 8) as usize;
/// Where a mapping is touched after a shrink: past the small frame, inside the big one.
const PAST_SMALL: usize = 2 << 20;
/// mmap offsets of the four regions (docs/architecture.md).
const REGIONS: [u64; 4] = [0, 1 << 32, 2 << 32, 3 << 32];
/// Mappings a worker keeps at most between two checks (each is a vma).
const MAX_HELD: usize = 4096;
/// How long the parent waits for every worker to finish a check.
const CHECK_TIMEOUT: Duration = Duration::from_secs(120);

/// What the workers check when the epoch moves.
const PHASE_SHRUNK: u32 = 1;
const PHASE_UNBOUND: u32 = 2;

/// What `maprace` runs.
#[derive(Debug, Clone)]
pub struct RaceOptions {
    pub workers: u32,
    pub shrinks: u32,
    pub unbinds: u32,
}

/// Shared between the parent and the workers (an anonymous shared mapping).
#[repr(C)]
struct Control {
    /// Bumped by the parent after each shrink or unbind; a worker that sees it move checks.
    epoch: AtomicU32,
    /// `PHASE_*`: what the current epoch's check is.
    phase: AtomicU32,
    /// Workers done with the current epoch's check.
    acked: AtomicU32,
    stop: AtomicU32,
    /// Mappings checked, and those whose touch did not fault.
    checked: AtomicU32,
    survivors: AtomicU32,
    /// Successful mmaps, over all workers.
    mapped: AtomicU32,
}

/// Faults taken by this process; the handler bumps it.
static SIGBUS_COUNT: AtomicUsize = AtomicUsize::new(0);
static PAGE: AtomicUsize = AtomicUsize::new(4096);

extern "C" fn on_sigbus(_sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    let page = PAGE.load(Ordering::Relaxed);
    // SAFETY: the kernel passes a valid siginfo for SIGBUS; `si_addr` is the faulting address.
    let addr = unsafe { (*info).si_addr() } as usize & !(page - 1);
    // SAFETY: replaces exactly the faulting page of a device mapping this process made (nothing
    // of Rust's lives there) with anonymous memory, so the interrupted store can complete.
    let anon = unsafe {
        libc::mmap(
            addr as *mut libc::c_void,
            page,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_FIXED | libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if anon == libc::MAP_FAILED {
        // SAFETY: async-signal-safe exit; the parent reports the status.
        unsafe { libc::_exit(97) };
    }
    SIGBUS_COUNT.fetch_add(1, Ordering::SeqCst);
}

fn install_sigbus_handler() -> Result<(), String> {
    PAGE.store(page_size(), Ordering::Relaxed);
    // SAFETY: a zeroed sigaction with a valid handler and SA_SIGINFO is a valid argument.
    let ret = unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigbus as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO;
        libc::sigaction(libc::SIGBUS, &action, ptr::null_mut())
    };
    if ret == 0 {
        Ok(())
    } else {
        Err(format!("sigaction: {}", std::io::Error::last_os_error()))
    }
}

/// Stores one byte at `offset` of `mapping`; true if the store faulted.
fn touch_faults(mapping: &Mapping, offset: usize) -> bool {
    let before = SIGBUS_COUNT.load(Ordering::SeqCst);
    // SAFETY: `offset` lies inside the mapping, which stays mapped (a faulting page is replaced
    // by anonymous memory, never unmapped) until `mapping` drops.
    unsafe { ptr::write_volatile(mapping.as_ptr().add(offset), 0x5a) };
    SIGBUS_COUNT.load(Ordering::SeqCst) != before
}

pub fn run(path: &Path, options: &RaceOptions, report: &mut Report) {
    println!(
        "maprace: {} workers, {} shrinks, {} unbinds",
        options.workers, options.shrinks, options.unbinds
    );
    let pci = match bound_card() {
        Ok(pci) => pci,
        Err(why) => return report.check("find the bound card", Err(why)),
    };
    report.check("set the big mode", big_mode(path));
    // SAFETY: a fresh anonymous shared mapping, zeroed, big enough for `Control` (whose atomics
    // are valid when zero); it is never unmapped while the processes run.
    let control = unsafe {
        let addr = libc::mmap(
            ptr::null_mut(),
            page_size(),
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        assert_ne!(addr, libc::MAP_FAILED, "anonymous shared mapping");
        &*(addr as *const Control)
    };

    let mut pids = Vec::new();
    for id in 0..options.workers {
        // SAFETY: the checker is single-threaded, so the child may run any code after fork.
        match unsafe { libc::fork() } {
            -1 => {
                return report.check(
                    "fork workers",
                    Err(std::io::Error::last_os_error().to_string()),
                )
            }
            0 => {
                let status = match worker(path, id, control) {
                    Ok(()) => 0,
                    Err(why) => {
                        println!("maprace worker {id}: {why}");
                        1
                    }
                };
                // SAFETY: ends the child without running the parent's destructors.
                unsafe { libc::_exit(status) }
            }
            pid => pids.push(pid),
        }
    }

    let start = Instant::now();
    let mut steps = Ok(());
    for _ in 0..options.shrinks {
        steps = shrink_cycle(path, control, options.workers);
        if steps.is_err() {
            break;
        }
    }
    let (shrink_checked, shrink_survivors) = take_counts(control);
    report.check(
        &format!("{} shrinks while mapping: {shrink_checked} mappings past the frame faulted, {shrink_survivors} survived", options.shrinks),
        steps.clone().and_then(|()| expect_none(shrink_checked, shrink_survivors)),
    );

    if steps.is_ok() {
        for _ in 0..options.unbinds {
            steps = unbind_cycle(path, &pci, control, options.workers);
            if steps.is_err() {
                break;
            }
        }
    }
    let (unbind_checked, unbind_survivors) = take_counts(control);
    report.check(
        &format!("{} unbinds while mapping: {unbind_checked} mappings faulted, {unbind_survivors} survived", options.unbinds),
        steps.and_then(|()| expect_none(unbind_checked, unbind_survivors)),
    );

    control.stop.store(1, Ordering::SeqCst);
    let mut failures = Vec::new();
    for pid in pids {
        match wait(pid) {
            Ok(Exit::Code(0)) => {}
            other => failures.push(format!("worker {pid}: {other:?}")),
        }
    }
    println!(
        "maprace: {:.1} s, {} mmaps",
        start.elapsed().as_secs_f64(),
        control.mapped.load(Ordering::SeqCst)
    );
    report.check(
        "workers ended cleanly",
        if failures.is_empty() {
            Ok(())
        } else {
            Err(failures.join("; "))
        },
    );
    if !path.exists() {
        report.check("bind the card again", sysfs_write("bind", &pci));
    }
    report.check(
        "the device works afterwards",
        crate::fuzz::device_works(path),
    );
}

fn expect_none(checked: u32, survivors: u32) -> Outcome {
    match (checked, survivors) {
        (0, _) => Err("no mapping was held at any check: the race was not exercised".into()),
        (_, 0) => Ok(()),
        (_, n) => Err(format!("{n} mappings still reached VRAM")),
    }
}

fn take_counts(control: &Control) -> (u32, u32) {
    (
        control.checked.swap(0, Ordering::SeqCst),
        control.survivors.swap(0, Ordering::SeqCst),
    )
}

fn big_mode(path: &Path) -> Outcome {
    let device = Device::open(path).map_err(|e| format!("open: {}", describe(&e)))?;
    set_mode(&device, BIG.0, BIG.1, BIG.2, BIG.1)
        .map(drop)
        .map_err(|e| format!("SET_MODE {BIG:?}: {}", describe(&e)))
}

/// Lets the workers map for a while, then moves the epoch and waits until each has checked.
fn announce(control: &Control, phase: u32, workers: u32) -> Outcome {
    control.acked.store(0, Ordering::SeqCst);
    control.phase.store(phase, Ordering::SeqCst);
    control.epoch.fetch_add(1, Ordering::SeqCst);
    let deadline = Instant::now() + CHECK_TIMEOUT;
    while control.acked.load(Ordering::SeqCst) < workers {
        if Instant::now() > deadline {
            return Err("workers did not finish their check".into());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

/// Let the workers map for a moment (so some mmap is in flight when the mode changes).
fn let_workers_map(control: &Control) {
    let before = control.mapped.load(Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(5);
    while control.mapped.load(Ordering::SeqCst) < before + 20 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn shrink_cycle(path: &Path, control: &Control, workers: u32) -> Outcome {
    let device = Device::open(path).map_err(|e| format!("open: {}", describe(&e)))?;
    let_workers_map(control);
    set_mode(&device, SMALL.0, SMALL.1, SMALL.2, SMALL.1)
        .map_err(|e| format!("SET_MODE {SMALL:?}: {}", describe(&e)))?;
    announce(control, PHASE_SHRUNK, workers)?;
    drop(device);
    big_mode(path)
}

fn unbind_cycle(path: &Path, pci: &str, control: &Control, workers: u32) -> Outcome {
    let_workers_map(control);
    sysfs_write("unbind", pci)?;
    announce(control, PHASE_UNBOUND, workers)?;
    sysfs_write("bind", pci)?;
    wait_for_node(path, Duration::from_secs(10))?;
    // The rebound card starts in its default mode: make the workers' length fit again.
    big_mode(path)
}

/// Maps in a loop; checks every held mapping when the epoch moves.
fn worker(path: &Path, id: u32, control: &Control) -> Result<(), String> {
    install_sigbus_handler()?;
    let mut device: Option<Device> = None;
    let mut held: Vec<Mapping> = Vec::new();
    let mut epoch = control.epoch.load(Ordering::SeqCst);
    let mut n: usize = id as usize;
    while control.stop.load(Ordering::SeqCst) == 0 {
        let now = control.epoch.load(Ordering::SeqCst);
        if now != epoch {
            epoch = now;
            let offset = match control.phase.load(Ordering::SeqCst) {
                PHASE_SHRUNK => PAST_SMALL,
                _ => 0,
            };
            for mapping in held.drain(..) {
                control.checked.fetch_add(1, Ordering::SeqCst);
                if !touch_faults(&mapping, offset) {
                    control.survivors.fetch_add(1, Ordering::SeqCst);
                }
            }
            control.acked.fetch_add(1, Ordering::SeqCst);
            continue;
        }
        let Some(dev) = &device else {
            device = Device::open(path).ok();
            if device.is_none() {
                std::thread::sleep(Duration::from_millis(1));
            }
            continue;
        };
        n += 1;
        match dev.mmap(MAP_LEN, REGIONS[n % REGIONS.len()], MAP_SHARED) {
            Ok(mapping) => {
                control.mapped.fetch_add(1, Ordering::SeqCst);
                // Every other mapping is touched at once, so faults race with the zaps too. A
                // touch that faults means the mapping is already revoked: it is RAM from now on
                // and proves nothing at the check.
                if n.is_multiple_of(2)
                    && (touch_faults(&mapping, 0) || touch_faults(&mapping, PAST_SMALL))
                {
                    continue;
                }
                if held.len() >= MAX_HELD {
                    held.remove(0);
                }
                held.push(mapping);
            }
            Err(e) => match e.raw_os_error() {
                // Unbound: the file is dead, open the node again once it is back.
                Some(libc::ENODEV) => device = None,
                // Shrunk: the big frame does not fit until the parent grows it again.
                Some(libc::EINVAL) => std::thread::sleep(Duration::from_micros(200)),
                _ => return Err(format!("mmap: {}", describe(&e))),
            },
        }
    }
    Ok(())
}
