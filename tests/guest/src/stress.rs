//! `stress`: N processes map, write, read, set modes and flip at once for a
//! bounded time, optionally while the parent unbinds and rebinds the card over
//! and over; then the device must be in a consistent state and work.
//!
//! `lifetime`: the module cannot be unloaded while a file or a mapping is
//! open (`EBUSY`), can be once both are gone, and loads again.

use std::ffi::CString;
use std::fs;
use std::io;
use std::path::Path;
use std::ptr;
use std::time::{Duration, Instant};

use bochsfb_renderer::device::{flush, pan, wait_vsync};

use crate::device::{page_size, set_mode, Device};
use crate::fuzz::device_works;
use crate::raw::{wait, Exit};
use crate::report::{describe, Outcome, Report};
use crate::rng::Rng;
use crate::unbind::{bound_card, sysfs_write, wait_for_node};

/// Where /init loads the module from.
pub const MODULE_PATH: &str = "/lib/modules/bochsfb.ko";

/// Errors any call may see once the card goes away (unbind, hot-unplug): the node is gone
/// (`ENOENT` from open), or an open file outlived its card (`ENODEV`, `ENXIO`). Accepted only
/// in runs that take the card away.
const CARD_GONE: &[i32] = &[libc::ENODEV, libc::ENOENT, libc::ENXIO];
/// The mode shrank (another worker set a smaller one) between a worker's GET_MODE and its
/// pwrite: at the end of the frame (`ENOSPC`) or past it (`EFBIG`).
const FRAME_SHRANK_WRITE: &[i32] = &[libc::ENOSPC, libc::EFBIG];
/// The mode changed between GET_MODE and a call sized by it (mmap range, pan row), or between
/// FLUSH's check of the damage and its copy (the driver refuses rather than copy a stale frame).
const MODE_CHANGED: &[i32] = &[libc::EINVAL];

/// Valid modes the workers switch between (all fit 16 MiB of VRAM).
const MODES: &[(u32, u32, u32)] = &[
    (640, 480, 32),
    (800, 600, 32),
    (1024, 768, 32),
    (1024, 768, 16),
];

/// What `stress` runs.
#[derive(Debug, Clone)]
pub struct StressOptions {
    pub workers: u32,
    pub duration: Duration,
    /// Unbind/bind cycles the parent runs meanwhile (0: none).
    pub unbind_cycles: u32,
    pub seed: u64,
    /// The card is expected to disappear meanwhile (hot-unplug): no final checks.
    pub removed: bool,
}

pub fn run(path: &Path, options: &StressOptions, report: &mut Report) {
    println!(
        "stress: {} workers, {} s, {} unbind/bind cycles, seed {}",
        options.workers,
        options.duration.as_secs(),
        options.unbind_cycles,
        options.seed
    );
    let pci = if options.unbind_cycles > 0 {
        match bound_card() {
            Ok(pci) => Some(pci),
            Err(why) => return report.check("find the bound card", Err(why)),
        }
    } else {
        None
    };
    let start = Instant::now();
    let deadline = start + options.duration;
    let card_may_go = options.unbind_cycles > 0 || options.removed;
    let mut workers: Vec<(u32, libc::pid_t)> = Vec::new();
    for id in 0..options.workers {
        match spawn(path, id, options.seed, deadline, card_may_go) {
            Ok(pid) => workers.push((id, pid)),
            Err(e) => return report.check("fork workers", Err(e.to_string())),
        }
    }

    let cycles = match &pci {
        Some(pci) => unbind_cycles(path, pci, options.unbind_cycles),
        None => Ok(0),
    };

    // Reap workers; respawn those killed by SIGBUS (their mapping was revoked) until the end.
    let mut failures = Vec::new();
    let (mut rounds, mut sigbus) = (0u64, 0u64);
    while let Some((id, pid)) = workers.pop() {
        rounds += 1;
        match wait(pid) {
            Ok(Exit::Code(0)) => {}
            // A mapping revoked under the worker: by a smaller mode (worker 0, always there,
            // sets modes) or by the card going.
            Ok(Exit::Signal(libc::SIGBUS)) => {
                sigbus += 1;
                if Instant::now() < deadline {
                    let seed = options.seed.wrapping_add(rounds);
                    match spawn(path, id, seed, deadline, card_may_go) {
                        Ok(pid) => workers.insert(0, (id, pid)),
                        Err(e) => failures.push(format!("respawn: {e}")),
                    }
                }
            }
            Ok(other) => failures.push(format!("worker {id}: {other:?}")),
            Err(e) => failures.push(format!("worker {id}: waitpid: {e}")),
        }
    }
    println!(
        "stress: {:.1} s, {rounds} worker runs, {sigbus} ended by SIGBUS (revoked mapping)",
        start.elapsed().as_secs_f64()
    );
    if let Some(pci) = &pci {
        report.check(
            &format!(
                "{} unbind/bind cycles of {pci} under load",
                options.unbind_cycles
            ),
            cycles.map(|n| println!("stress: {n} cycles survived")),
        );
    }
    report.check(
        &format!("{} workers: only expected errors", options.workers),
        if failures.is_empty() {
            Ok(())
        } else {
            Err(failures.join("; "))
        },
    );
    if options.removed {
        report.check(
            &format!("{} is gone after the unplug", path.display()),
            if path.exists() {
                Err("still there".into())
            } else {
                Ok(())
            },
        );
        return;
    }
    report.check("final mode is consistent", consistent_mode(path));
    report.check("device works after the stress", device_works(path));
}

/// Forks one worker that runs until `deadline`.
fn spawn(
    path: &Path,
    id: u32,
    seed: u64,
    deadline: Instant,
    card_may_go: bool,
) -> io::Result<libc::pid_t> {
    // SAFETY: the checker is single-threaded, so the child may run any code after fork.
    match unsafe { libc::fork() } {
        -1 => Err(io::Error::last_os_error()),
        0 => {
            let errors = Errors { card_may_go };
            let seed = seed.wrapping_add(u64::from(id));
            let status = match worker(path, id, seed, deadline, &errors) {
                Ok(()) => 0,
                Err(why) => {
                    println!("stress worker {id}: {why}");
                    1
                }
            };
            // SAFETY: ends the child without running the parent's destructors.
            unsafe { libc::_exit(status) }
        }
        pid => Ok(pid),
    }
}

/// Which errors a worker accepts: those the other workers' steps can cause in the call, plus
/// [`CARD_GONE`] in runs that take the card away. Anything else fails the worker.
struct Errors {
    card_may_go: bool,
}

impl Errors {
    /// `Ok(None)` for an accepted error, `Err` naming the call for any other.
    fn check<T>(
        &self,
        what: &str,
        result: io::Result<T>,
        also: &[i32],
    ) -> Result<Option<T>, String> {
        match result {
            Ok(value) => Ok(Some(value)),
            Err(e)
                if e.raw_os_error().is_some_and(|n| {
                    also.contains(&n) || (self.card_may_go && CARD_GONE.contains(&n))
                }) =>
            {
                Ok(None)
            }
            Err(e) => Err(format!("{what}: {}", describe(&e))),
        }
    }
}

/// One worker: open, map, draw, read back, and (by role) set modes, pan,
/// wait for vblank and flush; over and over until the deadline.
fn worker(
    path: &Path,
    id: u32,
    seed: u64,
    deadline: Instant,
    errors: &Errors,
) -> Result<(), String> {
    let mut rng = Rng::new(seed);
    let page = page_size();
    let mut buf = vec![0u8; 3 * page];
    while Instant::now() < deadline {
        let Some(device) = errors.check("open", Device::open(path), &[])? else {
            // The card is unbound right now: wait for the node to come back.
            std::thread::sleep(Duration::from_millis(2));
            continue;
        };
        let Some(mode) = errors.check("GET_MODE", device.mode(), &[])? else {
            continue;
        };
        let fb = mode.fb_size.max(2 * page as u64);
        for _ in 0..20 {
            let offset = rng.below(fb / page as u64) * page as u64;
            rng.fill(&mut buf);
            errors.check("pwrite", device.pwrite(&buf, offset), FRAME_SHRANK_WRITE)?;
            errors.check("pread", device.pread(&mut buf, offset), &[])?;
            let at = offset.min(fb - 2 * page as u64);
            let map = device.mmap(2 * page, at, libc::MAP_SHARED);
            if let Some(mut map) = errors.check("mmap", map, MODE_CHANGED)? {
                // A revoked mapping raises SIGBUS here: the parent counts and respawns.
                let bytes = map.as_mut_slice();
                let start = rng.index(bytes.len() - 64);
                for b in &mut bytes[start..start + 64] {
                    // SAFETY: a byte of a live mapping of ours.
                    unsafe { ptr::write_volatile(b, id as u8) };
                }
            }
            match id % 4 {
                // Mode setters: a valid mode each time (EINVAL only if VRAM is too small).
                0 => {
                    let (width, height, bpp) = rng.pick(MODES);
                    errors.check("SET_MODE", set_mode(&device, width, height, bpp, 0), &[])?;
                }
                // Flippers: pan to a random row of the virtual screen, then wait for vblank.
                1 => {
                    if let Some(current) = errors.check("GET_MODE", device.mode(), &[])? {
                        let rows = current.virtual_height.saturating_sub(current.height) + 1;
                        let y = rng.below(u64::from(rows)) as u32;
                        errors.check("PAN", pan(&device, y), MODE_CHANGED)?;
                        errors.check("WAIT_VSYNC", wait_vsync(&device), &[])?;
                    }
                }
                // Shadow users: map the shadow region, draw, flush the whole frame.
                2 => {
                    let shadow = bochsfb_renderer::abi::mmap_region::SHADOW;
                    if let Some(mut map) = errors.check(
                        "mmap shadow",
                        device.mmap(page, shadow, libc::MAP_SHARED),
                        &[],
                    )? {
                        map.as_mut_slice()[..64].fill(0x5a);
                    }
                    errors.check("FLUSH", flush(&device, &[]), MODE_CHANGED)?;
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// Unbinds and binds the card `cycles` times, each time waiting for the node to
/// go and come back; returns the number of cycles done.
fn unbind_cycles(path: &Path, pci: &str, cycles: u32) -> Result<u32, String> {
    for cycle in 0..cycles {
        sysfs_write("unbind", pci).map_err(|e| format!("cycle {cycle}: {e}"))?;
        std::thread::sleep(Duration::from_millis(5));
        sysfs_write("bind", pci).map_err(|e| format!("cycle {cycle}: {e}"))?;
        wait_for_node(path, Duration::from_secs(5)).map_err(|e| format!("cycle {cycle}: {e}"))?;
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(cycles)
}

/// GET_MODE's fields agree with each other after the dust settles.
fn consistent_mode(path: &Path) -> Outcome {
    let device = Device::open(path).map_err(|e| format!("open: {}", describe(&e)))?;
    let mode = device
        .mode()
        .map_err(|e| format!("GET_MODE: {}", describe(&e)))?;
    crate::badinput::plausible(&mode)?;
    let expect_fb = u64::from(mode.stride) * u64::from(mode.virtual_height.max(mode.height));
    if mode.virtual_height != 0 && mode.fb_size != expect_fb {
        return Err(format!(
            "fb_size {} != stride * virtual_height = {expect_fb}: {mode:?}",
            mode.fb_size
        ));
    }
    if mode.virtual_height != 0 && mode.y_offset + mode.height > mode.virtual_height {
        return Err(format!("y_offset + height > virtual_height: {mode:?}"));
    }
    let end = device
        .lseek(0, libc::SEEK_END)
        .map_err(|e| format!("lseek END: {}", describe(&e)))?;
    if end as u64 != mode.fb_size {
        return Err(format!(
            "lseek SEEK_END = {end}, GET_MODE fb_size = {}",
            mode.fb_size
        ));
    }
    Ok(())
}

/// `delete_module(name, O_NONBLOCK)`: what `rmmod` does.
fn delete_module(name: &str) -> io::Result<()> {
    let name = CString::new(name).expect("no NUL");
    // SAFETY: a NUL-terminated name and plain flags.
    let ret = unsafe { libc::syscall(libc::SYS_delete_module, name.as_ptr(), libc::O_NONBLOCK) };
    if ret == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `finit_module` of [`MODULE_PATH`]: what `insmod` does.
fn load_module() -> io::Result<()> {
    let file = fs::File::open(MODULE_PATH)?;
    use std::os::fd::AsRawFd;
    // SAFETY: an open fd, an empty NUL-terminated parameter string, no flags.
    let ret = unsafe { libc::syscall(libc::SYS_finit_module, file.as_raw_fd(), c"".as_ptr(), 0) };
    if ret == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn expect_busy(result: io::Result<()>) -> Outcome {
    match result {
        Err(e) if matches!(e.raw_os_error(), Some(libc::EBUSY) | Some(libc::EAGAIN)) => Ok(()),
        Err(e) => Err(format!("got {}, expected EBUSY", describe(&e))),
        Ok(()) => {
            // Put it back, so the rest of the run has a device.
            let _ = load_module();
            Err("the module unloaded while in use".into())
        }
    }
}

pub fn lifetime(path: &Path, report: &mut Report) {
    let device = match Device::open(path) {
        Ok(device) => device,
        Err(e) => return report.check("open", Err(describe(&e))),
    };
    report.check(
        "rmmod with a file open -> EBUSY",
        expect_busy(delete_module("bochsfb")),
    );
    let map = device.mmap(page_size(), 0, libc::MAP_SHARED);
    drop(device);
    match map {
        Ok(map) => {
            report.check(
                "rmmod with only a mapping left (file closed) -> EBUSY",
                expect_busy(delete_module("bochsfb")),
            );
            drop(map);
        }
        Err(e) => report.check("mmap", Err(describe(&e))),
    }
    let unloaded = delete_module("bochsfb");
    let ok = unloaded.is_ok();
    report.check(
        "rmmod once nothing is open -> unloaded",
        unloaded.map_err(|e| describe(&e)),
    );
    if ok {
        report.check(
            &format!("{} is gone", path.display()),
            if path.exists() {
                Err("still there".into())
            } else {
                Ok(())
            },
        );
        report.check("insmod again", load_module().map_err(|e| describe(&e)));
        let back = Instant::now() + Duration::from_secs(5);
        while !path.exists() && Instant::now() < back {
            std::thread::sleep(Duration::from_millis(5));
        }
        report.check("device works after reloading", device_works(path));
    }
}
