//! `sharedpos`: one open file shared by several processes keeps one file position (issue #11,
//! hole 4). The parent tags every page of the frame with its index (pwrite), opens the device
//! once and forks readers that `read` one page at a time through the shared file until the end.
//! Each page must be read exactly once: with an unserialised position two readers can start at
//! the same offset (a page read twice) and a position update can be lost.
//!
//! The guest has one CPU, so readers only overlap when one sleeps inside `read`: a hog process
//! keeps the card mutex busy with whole-frame shadow flushes, so readers block on it halfway
//! through their call while another reader runs.

use std::path::Path;
use std::ptr;
use std::sync::atomic::{AtomicU32, Ordering};

use bochsfb_renderer::device::flush;

use crate::device::Device;
use crate::raw::{wait, Exit};
use crate::report::{describe, Outcome, Report};

const PAGE: usize = 4096;

pub fn run(path: &Path, readers: u32, rounds: u32, report: &mut Report) {
    let mut lost = Vec::new();
    for round in 0..rounds {
        match one_round(path, readers) {
            Ok(()) => {}
            Err(why) => {
                lost.push(format!("round {round}: {why}"));
                break;
            }
        }
    }
    report.check(
        &format!("{readers} processes reading one shared file, {rounds} rounds: every page read exactly once"),
        if lost.is_empty() { Ok(()) } else { Err(lost.join("; ")) },
    );
}

fn one_round(path: &Path, readers: u32) -> Outcome {
    let device = Device::open(path).map_err(|e| format!("open: {}", describe(&e)))?;
    let fb = device
        .mode()
        .map_err(|e| format!("GET_MODE: {}", describe(&e)))?
        .fb_size as usize;
    let pages = fb / PAGE;
    for page in 0..pages {
        let tag = (page as u64).to_ne_bytes();
        device
            .pwrite(&tag, (page * PAGE) as u64)
            .map_err(|e| format!("pwrite tag: {}", describe(&e)))?;
    }
    device
        .lseek(0, libc::SEEK_SET)
        .map_err(|e| format!("lseek: {}", describe(&e)))?;

    // SAFETY: a fresh anonymous shared mapping, zeroed, one counter per page (zero is a valid
    // AtomicU32); it stays mapped until the end of this function, after every child exited.
    let counts = unsafe {
        let addr = libc::mmap(
            ptr::null_mut(),
            pages * 4,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if addr == libc::MAP_FAILED {
            return Err("anonymous shared mapping failed".into());
        }
        std::slice::from_raw_parts(addr as *const AtomicU32, pages)
    };

    let hog = spawn_flush_hog(path, fb)?;
    let mut pids = Vec::new();
    for _ in 0..readers {
        // SAFETY: the checker is single-threaded, so the child may run any code after fork.
        match unsafe { libc::fork() } {
            -1 => return Err("fork failed".into()),
            0 => {
                let mut buf = [0u8; PAGE];
                let status = loop {
                    match device.read(&mut buf) {
                        Ok(0) => break 0,
                        Ok(n) if n == PAGE => {
                            let tag = u64::from_ne_bytes(buf[..8].try_into().unwrap()) as usize;
                            match counts.get(tag) {
                                Some(count) => count.fetch_add(1, Ordering::SeqCst),
                                None => break 2,
                            };
                        }
                        _ => break 3,
                    }
                };
                // SAFETY: ends the child without running the parent's destructors.
                unsafe { libc::_exit(status) }
            }
            pid => pids.push(pid),
        }
    }
    let mut failed = None;
    for pid in pids {
        match wait(pid) {
            Ok(Exit::Code(0)) => {}
            other => {
                failed = Some(format!(
                    "reader {pid}: {other:?} (2: unknown tag, 3: short read)"
                ))
            }
        }
    }
    let mut status = 0;
    // SAFETY: polls our own child; `status` is a valid out-pointer.
    let hog_alive = unsafe { libc::waitpid(hog, &mut status, libc::WNOHANG) } == 0;
    // SAFETY: signals our own child.
    unsafe { libc::kill(hog, libc::SIGKILL) };
    let _ = wait(hog);
    if !hog_alive {
        return Err("the flush hog died early: the readers were never made to overlap".into());
    }
    if let Some(why) = failed {
        return Err(why);
    }
    let twice = counts
        .iter()
        .filter(|c| c.load(Ordering::SeqCst) > 1)
        .count();
    let never = counts
        .iter()
        .filter(|c| c.load(Ordering::SeqCst) == 0)
        .count();
    // SAFETY: unmaps the counters mapped above; `counts` is not used afterwards.
    unsafe { libc::munmap(counts.as_ptr() as *mut libc::c_void, pages * 4) };
    match (twice, never) {
        (0, 0) => Ok(()),
        _ => Err(format!(
            "of {pages} pages, {twice} were read more than once and {never} never"
        )),
    }
}

/// Forks a process that maps the whole shadow region and writes the page tags into it, then
/// flushes all of it over and over (each flush holds the card mutex while it copies the frame)
/// until it is killed.
fn spawn_flush_hog(path: &Path, fb: usize) -> Result<libc::pid_t, String> {
    // SAFETY: the checker is single-threaded, so the child may run any code after fork.
    match unsafe { libc::fork() } {
        -1 => Err("fork failed".into()),
        0 => {
            let _ = (|| -> Option<()> {
                let device = Device::open(path).ok()?;
                let mut shadow = device.mmap(fb, 2 << 32, libc::MAP_SHARED).ok()?;
                // The shadow carries the same tags as VRAM, so the flushes change nothing the
                // readers look at.
                for (index, page) in shadow.as_mut_slice().chunks_mut(PAGE).enumerate() {
                    page[..8].copy_from_slice(&(index as u64).to_ne_bytes());
                }
                loop {
                    flush(&device, &[]).ok()?;
                }
            })();
            // Only reached if the hog could not run; the parent sees it exit and fails.
            // SAFETY: ends the child without running the parent's destructors.
            unsafe { libc::_exit(4) }
        }
        pid => Ok(pid),
    }
}
