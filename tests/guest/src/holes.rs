//! `holes`: five sequences an adversarial review found on the driver, each of which must now be
//! handled (docs/architecture.md):
//!
//! 1. an on-demand mapping grown (`mremap`) or duplicated (`mremap(p, 0, n)`) across the end of
//!    the frame or into the next region reaches nothing there: the access raises `SIGBUS` (or the
//!    `mremap` is refused), and a `MAP_FIXED` mapping over a live one shows its own bytes;
//! 2. `FLUSH` does not hold the card mutex for its whole copy: `GET_MODE` on another file answers
//!    within 1 s, and `SIGKILL` ends a flushing process within 1 s;
//! 3. a file opened `O_RDONLY` may query the card but not change the display: `SET_MODE`,
//!    `FBIOPUT_VSCREENINFO`, `PAN`, `FBIOPAN_DISPLAY` and `FLUSH` fail with `EBADF`;
//! 4. nothing a client drew reaches the next one: a shadow mapping made after the last client is
//!    gone reads zeros, and VRAM is cleared when the card is bound;
//! 5. a `READ_IMPLIES_EXEC` process can map VRAM: the `PROT_EXEC` the kernel adds to its
//!    `PROT_READ` is not a request to run code.
//!
//! Every sequence that may crash, hang or raise `SIGBUS` runs in a forked child which the parent
//! kills after a timeout, so a fault that never completes is a `FAIL`, not a hung checker. They
//! run in the order 3, 4, 5, 2, 1: hole 1 last, as on a broken driver it can leave the card mutex
//! held forever (a Rust panic in the fault handler). Hole 4 needs the device closed by everyone,
//! so no check keeps a file open past its own end.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bochsfb_renderer::abi::{mmap_region, BochsfbMode, BochsfbRect, BOCHSFB_MAX_DAMAGE_RECTS};
use bochsfb_renderer::device::{
    self as calls, fb_get_fix, fb_get_var, fb_pan, fb_put_var, fb_wait_vsync, flush, pan,
    wait_vsync,
};
use bochsfb_renderer::fb_abi::{FbVarScreeninfo, FB_ACTIVATE_NOW};
use libc::{MAP_SHARED, PROT_READ, PROT_WRITE};

use crate::device::{page_size, set_mode, Device, Mapping};
use crate::fuzz::device_works;
use crate::report::{describe, expect_errno, Outcome, Report};
use crate::roundtrip::{compare, pattern};
use crate::unbind::{bound_card, sysfs_write, wait_for_node};

/// How long a child may take for a sequence that completes at once on a working driver.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a killed child may take to go before the parent calls it stuck in the kernel.
const KILL_GRACE: Duration = Duration::from_secs(10);
/// How long the FLUSH loop of hole 2 keeps starting calls, and the bounds it is held to. The
/// target after the fix is 20 ms; timings under TCG are noisy, so only 1 s is asserted.
const FLUSH_FOR: Duration = Duration::from_secs(3);
const MAX_GET_MODE_WAIT: Duration = Duration::from_secs(1);
const MAX_KILL_TIME: Duration = Duration::from_secs(1);
/// A FLUSH of 256 whole 16 MiB screens copied 4 GiB on the old driver: 7.6 s per call under TCG
/// on the standard kernel, several times that on the debug one.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(400);
/// `READ_IMPLIES_EXEC` of include/uapi/linux/personality.h (libc has no constant for it).
const READ_IMPLIES_EXEC: libc::c_ulong = 0x0040_0000;

pub fn run(path: &Path, report: &mut Report) {
    read_only_file(path, report);
    report.check(
        "hole 4: a shadow mapping made after the last client left reads zeros, not its bytes",
        shadow_left_over(path),
    );
    report.check(
        "hole 4: VRAM written before an unbind is cleared when the card is bound again",
        vram_cleared_at_bind(path),
    );
    for (name, prot) in [
        ("PROT_READ", PROT_READ),
        ("PROT_READ|PROT_WRITE", PROT_READ | PROT_WRITE),
    ] {
        let run = in_child(STEP_TIMEOUT, |child| read_implies_exec(child, path, prot));
        report.check(
            &format!(
                "hole 5: with READ_IMPLIES_EXEC, mmap {name} of region 0 works and shows VRAM"
            ),
            run.outcome(),
        );
    }
    flush_holds_the_mutex(path, report);
    regions_stay_apart(path, report);
    report.check(
        "the device works after all of this",
        in_child(STEP_TIMEOUT, |_| device_works(path)).outcome(),
    );
}

// ---------------------------------------------------------------------------------------------
// Children with a timeout.

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    Exited(i32),
    Signalled(i32),
    /// Killed by the parent when its time was up.
    TimedOut,
    /// Still there after `SIGKILL` and [`KILL_GRACE`]: stuck in the kernel.
    Unkillable,
    /// `waitpid` failed.
    Lost,
}

/// The child's end of the pipe to the parent: one line per event.
struct Progress {
    to_parent: File,
}

impl Progress {
    fn send(&self, kind: &str, text: &str) {
        let line = format!("{kind} {}\n", text.replace('\n', " "));
        // A lost line only makes a failure message vaguer.
        let _ = (&self.to_parent).write_all(line.as_bytes());
    }

    /// What the child does next, named in the failure if it never returns from it.
    fn step(&self, what: &str) {
        self.send("step", what);
    }

    /// What the child does next must raise `SIGBUS`: dying of it there passes.
    fn expect_sigbus(&self, what: &str) {
        self.send("sigbus", what);
    }

    /// A measurement or a choice of the driver (such as a refused `mremap`), printed by the parent.
    fn note(&self, text: &str) {
        self.send("note", text);
    }
}

/// A forked child and the read end of its pipe.
struct Child {
    pid: libc::pid_t,
    from_child: File,
    said: Vec<u8>,
}

/// Forks a child that runs `body`; it exits with 0 if `body` passes and 1 (after a `fail` line)
/// if not.
fn spawn(body: impl FnOnce(&Progress) -> Outcome) -> Result<Child, String> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 returns.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(format!("pipe: {}", io::Error::last_os_error()));
    }
    // SAFETY: pipe2 just returned these descriptors, owned by nothing else.
    let (from_child, to_parent) = unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) };
    // The parent polls: its end must not block while the child still runs.
    // SAFETY: F_SETFL with plain flags on a descriptor we own.
    unsafe { libc::fcntl(from_child.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) };
    // SAFETY: the checker is single-threaded when it forks, so the child may run any code.
    match unsafe { libc::fork() } {
        -1 => Err(format!("fork: {}", io::Error::last_os_error())),
        0 => {
            drop(from_child);
            let progress = Progress { to_parent };
            let code = match panic::catch_unwind(AssertUnwindSafe(|| body(&progress))) {
                Ok(Ok(())) => 0,
                Ok(Err(why)) => {
                    progress.send("fail", &why);
                    1
                }
                Err(_) => {
                    progress.send("fail", "the child panicked");
                    2
                }
            };
            // SAFETY: ends the child without running the parent's destructors.
            unsafe { libc::_exit(code) }
        }
        pid => Ok(Child {
            pid,
            from_child,
            said: Vec::new(),
        }),
    }
}

impl Child {
    /// Reaps the child if it has ended.
    fn try_reap(&mut self) -> Option<Ended> {
        let mut status = 0;
        // SAFETY: our own child; `status` is a valid out-pointer.
        match unsafe { libc::waitpid(self.pid, &mut status, libc::WNOHANG) } {
            0 => None,
            pid if pid == self.pid => Some(if libc::WIFSIGNALED(status) {
                Ended::Signalled(libc::WTERMSIG(status))
            } else {
                Ended::Exited(libc::WEXITSTATUS(status))
            }),
            _ if io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) => None,
            _ => Some(Ended::Lost),
        }
    }

    /// Polls until the child ends or `timeout` passes; returns `None` on timeout.
    fn reap_within(&mut self, timeout: Duration) -> Option<Ended> {
        let deadline = Instant::now() + timeout;
        loop {
            self.drain();
            if let Some(ended) = self.try_reap() {
                self.drain();
                return Some(ended);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Sends `SIGKILL` and waits up to `grace`: how long the child took to go, or `None`.
    fn kill(&mut self, grace: Duration) -> Option<Duration> {
        let start = Instant::now();
        // SAFETY: signals our own child, which has not been reaped.
        unsafe { libc::kill(self.pid, libc::SIGKILL) };
        self.reap_within(grace).map(|_| start.elapsed())
    }

    /// Waits for the child, killing it after `timeout`.
    fn finish(mut self, timeout: Duration) -> Run {
        let ended = match self.reap_within(timeout) {
            Some(ended) => ended,
            None => match self.kill(KILL_GRACE) {
                Some(_) => Ended::TimedOut,
                None => Ended::Unkillable,
            },
        };
        Run {
            ended,
            lines: self.lines(),
            timeout,
        }
    }

    /// Reads whatever the child has written so far (the pipe is non-blocking).
    fn drain(&mut self) {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = self.from_child.read(&mut buf) {
            self.said.extend_from_slice(&buf[..n]);
        }
    }

    fn lines(&self) -> Vec<String> {
        String::from_utf8_lossy(&self.said)
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Waits until the child has sent the step `what`; false if it has not within `timeout`.
    fn wait_for_step(&mut self, what: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let line = format!("step {what}");
        while Instant::now() < deadline {
            self.drain();
            if self.lines().contains(&line) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }
}

/// What a child did.
struct Run {
    ended: Ended,
    lines: Vec<String>,
    timeout: Duration,
}

impl Run {
    fn notes(&self) -> impl Iterator<Item = &str> {
        self.lines.iter().filter_map(|l| l.strip_prefix("note "))
    }

    /// The last `step` or `sigbus` line: (whether SIGBUS was expected, what the child was doing).
    fn last_step(&self) -> (bool, &str) {
        self.lines
            .iter()
            .rev()
            .find_map(|l| {
                l.strip_prefix("step ")
                    .map(|s| (false, s))
                    .or_else(|| l.strip_prefix("sigbus ").map(|s| (true, s)))
            })
            .unwrap_or((false, "its start"))
    }

    /// Passes if the child passed, or died of `SIGBUS` where it expected to.
    fn outcome(&self) -> Outcome {
        let (sigbus_expected, doing) = self.last_step();
        let failure = self
            .lines
            .iter()
            .rev()
            .find_map(|l| l.strip_prefix("fail "));
        match self.ended {
            Ended::Exited(0) => Ok(()),
            Ended::Signalled(libc::SIGBUS) if sigbus_expected => Ok(()),
            Ended::Exited(code) => Err(failure.map_or_else(
                || format!("the child exited with {code} while: {doing}"),
                str::to_owned,
            )),
            Ended::Signalled(signal) => Err(format!(
                "the child died of {} while: {doing}",
                signal_name(signal)
            )),
            Ended::TimedOut => Err(format!(
                "the child was still at `{doing}` after {} s and was killed (a fault that never \
                 completes?)",
                self.timeout.as_secs()
            )),
            Ended::Unkillable => Err(format!(
                "the child was still at `{doing}` after {} s, and SIGKILL did not end it within \
                 {} s: stuck in the kernel",
                self.timeout.as_secs(),
                KILL_GRACE.as_secs()
            )),
            Ended::Lost => Err(format!("waitpid failed while the child was at `{doing}`")),
        }
    }

    /// True if the child could not be ended: whatever it holds in the kernel stays held.
    fn stuck(&self) -> bool {
        self.ended == Ended::Unkillable
    }
}

/// Runs `body` in a child and waits for it (at most `timeout`), printing its notes.
fn in_child(timeout: Duration, body: impl FnOnce(&Progress) -> Outcome) -> Run {
    let run = match spawn(body) {
        Ok(child) => child.finish(timeout),
        Err(why) => Run {
            ended: Ended::Exited(-1),
            lines: vec![format!("fail {why}")],
            timeout,
        },
    };
    for note in run.notes() {
        println!("holes: {note}");
    }
    run
}

fn signal_name(signal: i32) -> String {
    match signal {
        libc::SIGBUS => "SIGBUS".into(),
        libc::SIGSEGV => "SIGSEGV".into(),
        libc::SIGKILL => "SIGKILL".into(),
        libc::SIGABRT => "SIGABRT".into(),
        other => format!("signal {other}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Small helpers.

fn open_rw(path: &Path) -> Result<Device, String> {
    Device::open(path).map_err(|e| format!("open: {}", describe(&e)))
}

fn mode_of(device: &Device) -> Result<BochsfbMode, String> {
    device
        .mode()
        .map_err(|e| format!("GET_MODE: {}", describe(&e)))
}

/// The bytes each mmap region may map in `mode`: the frame rounded up to a page.
fn map_limit(mode: &BochsfbMode) -> u64 {
    mode.fb_size.next_multiple_of(page_size() as u64)
}

/// Writes `len` bytes of pattern `seed` to VRAM at `offset` with pwrite; returns them.
fn mark(device: &Device, offset: u64, seed: u64, len: usize) -> Result<Vec<u8>, String> {
    let data = pattern(seed, len);
    match device.pwrite(&data, offset) {
        Ok(n) if n == len => Ok(data),
        Ok(n) => Err(format!("pwrite at {offset:#x} wrote {n} of {len}")),
        Err(e) => Err(format!("pwrite at {offset:#x}: {}", describe(&e))),
    }
}

/// Checks that the mapping at `addr` shows `expected`, the VRAM bytes at `offset`, and that a
/// store through it lands there (read back with pread).
///
/// # Safety
///
/// `addr..addr + expected.len()` must be a live, writable mapping of this process that no Rust
/// reference points into.
unsafe fn shows_vram(device: &Device, addr: *mut u8, offset: u64, expected: &[u8]) -> Outcome {
    let mut seen = vec![0u8; expected.len()];
    // SAFETY: the caller vouches for the mapping.
    unsafe { ptr::copy_nonoverlapping(addr, seen.as_mut_ptr(), seen.len()) };
    compare(&seen, expected).map_err(|e| format!("the mapping does not show VRAM: {e}"))?;
    let fresh = pattern(offset ^ 0x5eed, expected.len());
    // SAFETY: the caller vouches for `addr..addr + expected.len()` (live, writable, no Rust
    // reference into it), and `fresh` is that long.
    unsafe { ptr::copy_nonoverlapping(fresh.as_ptr(), addr, fresh.len()) };
    let mut back = vec![0u8; fresh.len()];
    device
        .pread(&mut back, offset)
        .map_err(|e| format!("pread: {}", describe(&e)))?;
    compare(&back, &fresh).map_err(|e| format!("a store through the mapping missed VRAM: {e}"))
}

/// Reads and writes one byte at `addr`: what a process drawing there does.
///
/// # Safety
///
/// `addr` must lie in a device mapping of this process (which may raise `SIGBUS`), never in
/// memory Rust owns.
unsafe fn touch(addr: *mut u8) -> u8 {
    // SAFETY: the caller vouches for the address.
    unsafe {
        let value = ptr::read_volatile(addr);
        ptr::write_volatile(addr, value ^ 0xff);
        value
    }
}

/// `mremap(addr, old_len, new_len, MREMAP_MAYMOVE)`: the new start, or `None` (noted) if the
/// kernel refused, which the fixed driver may do.
///
/// # Safety
///
/// `addr..addr + old_len` must be a device mapping this process owns and no Rust value refers
/// to (with `old_len` 0: a shared one, which stays as it is).
unsafe fn remap(
    child: &Progress,
    addr: *mut u8,
    old_len: usize,
    new_len: usize,
) -> Option<*mut u8> {
    // SAFETY: the caller owns the mapping; without MREMAP_FIXED the kernel picks the new range.
    let new = unsafe { libc::mremap(addr.cast(), old_len, new_len, libc::MREMAP_MAYMOVE) };
    if new == libc::MAP_FAILED {
        child.note(&format!(
            "mremap to {new_len:#x} bytes refused: {}",
            describe(&io::Error::last_os_error())
        ));
        return None;
    }
    Some(new.cast())
}

// ---------------------------------------------------------------------------------------------
// Hole 1: a mapping reaches only its own region and frame.

/// One sequence of hole 1: its report name and its body (run in a child).
type Sequence = (&'static str, fn(&Progress, &Path) -> Outcome);

fn regions_stay_apart(path: &Path, report: &mut Report) {
    // The sequences that crash a broken driver (and may wedge it) come last.
    let sequences: [Sequence; 4] = [
        (
            "hole 1: an on-demand mapping of the frame's last page grown by a page: the new page \
             raises SIGBUS (or mremap is refused)",
            grown_past_the_frame,
        ),
        (
            "hole 1: MAP_FIXED of an on-demand mapping over a live write-combined one shows the \
             on-demand bytes",
            fixed_over_another_region,
        ),
        (
            "hole 1: a 1-page on-demand mapping grown to 4 GiB + 1 page: its last page (the shadow \
             region's offset 0) raises SIGBUS (or mremap is refused)",
            grown_into_the_next_region,
        ),
        (
            "hole 1: mremap(p, 0, n) duplicate of an on-demand mapping reaching into the shadow \
             region: the page there raises SIGBUS (or mremap is refused)",
            duplicated_into_the_next_region,
        ),
    ];
    let mut wedged = false;
    for (name, body) in sequences {
        if wedged {
            report.check(
                name,
                Err("not run: the card is stuck since the sequence before".into()),
            );
            continue;
        }
        let run = in_child(STEP_TIMEOUT, |child| body(child, path));
        // Whatever the sequence did, the card must still answer a fresh client.
        let after = in_child(STEP_TIMEOUT, |_| device_works(path));
        // A child that cannot be ended, or a fresh client that never gets an answer: the card
        // mutex is held for good, and every later sequence would only time out.
        wedged = run.stuck() || matches!(after.ended, Ended::TimedOut | Ended::Unkillable);
        let outcome = match (run.outcome(), after.outcome()) {
            (Ok(()), Ok(())) => Ok(()),
            (Err(why), Ok(())) => Err(why),
            (Ok(()), Err(after)) => Err(format!("afterwards the device fails: {after}")),
            (Err(why), Err(after)) => Err(format!("{why}; afterwards the device fails: {after}")),
        };
        report.check(name, outcome);
    }
}

/// The first sequence of the review: one page of the on-demand region grown to reach file offset
/// `2 << 32`, which the old fault handler took for the shadow region's offset 0 of a vma that
/// starts in region 1 (an overflow: a panic on the debug kernel, a fault retried forever on the
/// standard one).
fn grown_into_the_next_region(child: &Progress, path: &Path) -> Outcome {
    let page = page_size();
    let device = open_rw(path)?;
    let marker = mark(&device, 0, 0x401e_0001, page)?;
    child.step("mmap one page of the on-demand region");
    let (addr, len) = device
        .mmap(page, mmap_region::ON_DEMAND, MAP_SHARED)
        .map_err(|e| format!("mmap: {}", describe(&e)))?
        .into_raw();
    child.step("mremap it to 4 GiB + 1 page");
    // SAFETY: the one-page mapping just given up by `into_raw`.
    let Some(addr) = (unsafe { remap(child, addr, len, (1 << 32) + page) }) else {
        return Ok(());
    };
    child.step("read and write its first page (on-demand VRAM at offset 0)");
    // SAFETY: the first page of the grown mapping, ours alone.
    unsafe { shows_vram(&device, addr, 0, &marker) }?;
    child.expect_sigbus("touch its last page (file offset 2 << 32: the shadow region)");
    // SAFETY: the last page of the grown mapping; SIGBUS ends this child, as it should.
    let value = unsafe { touch(addr.add(1 << 32)) };
    Err(format!(
        "the last page was reachable (it read {value:#x}): no SIGBUS"
    ))
}

/// The frame's last page in the on-demand region, grown by a page that lies past the frame.
fn grown_past_the_frame(child: &Progress, path: &Path) -> Outcome {
    let page = page_size();
    let device = open_rw(path)?;
    let last = map_limit(&mode_of(&device)?) - page as u64;
    let marker = mark(&device, last, 0x401e_0002, page)?;
    child.step("mmap the frame's last page in the on-demand region");
    let mapping = device
        .mmap(page, mmap_region::ON_DEMAND + last, MAP_SHARED)
        .map_err(|e| format!("mmap: {}", describe(&e)))?;
    let (addr, len) = mapping.into_raw();
    child.step("mremap it to 2 pages");
    // SAFETY: the one-page mapping just given up by `into_raw`.
    let Some(addr) = (unsafe { remap(child, addr, len, 2 * page) }) else {
        return Ok(());
    };
    child.step("read and write its first page (the frame's last)");
    // SAFETY: the first page of the grown mapping, ours alone.
    unsafe { shows_vram(&device, addr, last, &marker) }?;
    child.expect_sigbus("touch its second page (past the frame)");
    // SAFETY: the second page of the grown mapping; SIGBUS ends this child, as it should.
    let value = unsafe { touch(addr.add(page)) };
    Err(format!(
        "the page past the frame was reachable (it read {value:#x}): no SIGBUS"
    ))
}

/// `mremap(p, 0, n)` makes a second mapping of the same file range as a shared mapping `p`, here
/// from the frame's last page of region 1 up to and including region 2's offset 0.
fn duplicated_into_the_next_region(child: &Progress, path: &Path) -> Outcome {
    let page = page_size();
    let device = open_rw(path)?;
    let last = map_limit(&mode_of(&device)?) - page as u64;
    let marker = mark(&device, last, 0x401e_0003, page)?;
    child.step("mmap the frame's last page in the on-demand region");
    let original = device
        .mmap(page, mmap_region::ON_DEMAND + last, MAP_SHARED)
        .map_err(|e| format!("mmap: {}", describe(&e)))?;
    // From region 1's offset `last` to region 2's offset 0, inclusive.
    let len = (1usize << 32) - last as usize + page;
    child.step("mremap(p, 0, n) it to reach the shadow region's first page");
    // SAFETY: old_len 0 duplicates the shared mapping `original` and leaves it as it is; the
    // duplicate is a fresh range no Rust value refers to.
    let Some(dup) = (unsafe { remap(child, original.as_ptr(), 0, len) }) else {
        return Ok(());
    };
    child.step("read and write the duplicate's first page (the frame's last)");
    // SAFETY: the duplicate's first page, ours alone (`original` is not read meanwhile).
    unsafe { shows_vram(&device, dup, last, &marker) }?;
    child.expect_sigbus("touch the duplicate's last page (file offset 2 << 32: the shadow region)");
    // SAFETY: the duplicate's last page; SIGBUS ends this child, as it should.
    let value = unsafe { touch(dup.add(len - page)) };
    Err(format!(
        "the page in the shadow region was reachable (it read {value:#x}): no SIGBUS"
    ))
}

/// A `MAP_FIXED` mapping of the on-demand region replaces a populated write-combined one: the
/// range must show the on-demand mapping's VRAM, not what the old one mapped.
fn fixed_over_another_region(child: &Progress, path: &Path) -> Outcome {
    let page = page_size();
    let len = 2 * page;
    let device = open_rw(path)?;
    let old = mark(&device, 0, 0x401e_0004, len)?;
    let new_offset = 16 * page as u64;
    let new = mark(&device, new_offset, 0x401e_0005, len)?;
    child.step("mmap 2 pages of the write-combined region and read them");
    let (addr, _) = device
        .mmap(len, mmap_region::WRITE_COMBINED, MAP_SHARED)
        .map_err(|e| format!("mmap: {}", describe(&e)))?
        .into_raw();
    // SAFETY: the two pages just mapped, ours alone.
    unsafe { shows_vram(&device, addr, 0, &old) }?;
    child.step("MAP_FIXED 2 pages of the on-demand region (VRAM offset 64 KiB) over them");
    // SAFETY: replaces exactly the mapping made above, which no Rust value refers to.
    let fixed = unsafe {
        libc::mmap(
            addr.cast(),
            len,
            PROT_READ | PROT_WRITE,
            MAP_SHARED | libc::MAP_FIXED,
            device.raw_fd(),
            (mmap_region::ON_DEMAND + new_offset) as i64,
        )
    };
    if fixed == libc::MAP_FAILED {
        return Err(format!(
            "MAP_FIXED mmap: {}",
            describe(&io::Error::last_os_error())
        ));
    }
    if fixed.cast::<u8>() != addr {
        return Err(format!("MAP_FIXED mapped at {fixed:p}, not at {addr:p}"));
    }
    child.step("read and write the on-demand mapping");
    // SAFETY: the two pages MAP_FIXED just mapped, ours alone; the first call's store is undone
    // by no one, so the second page is compared on its own.
    unsafe {
        shows_vram(&device, addr, new_offset, &new[..page])?;
        shows_vram(
            &device,
            addr.add(page),
            new_offset + page as u64,
            &new[page..],
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Hole 2: FLUSH and the card mutex.

fn flush_holds_the_mutex(path: &Path, report: &mut Report) {
    let setup = (|| -> Result<(Device, BochsfbMode, BochsfbMode), String> {
        let device = open_rw(path)?;
        let start = mode_of(&device)?;
        // Virtual height 0: as many rows as VRAM holds, so the shadow is as big as it gets.
        let big = set_mode(&device, 1024, 768, 32, 0)
            .map_err(|e| format!("SET_MODE 1024x768x32, all of VRAM: {}", describe(&e)))?;
        Ok((device, start, big))
    })();
    let (device, start, big) = match setup {
        Ok(setup) => setup,
        Err(why) => {
            return report.check(
                "hole 2: set up a 1024x768x32 mode over all of VRAM",
                Err(why),
            )
        }
    };
    let rects = vec![
        BochsfbRect {
            x: 0,
            y: 0,
            width: big.width,
            height: big.virtual_height,
        };
        BOCHSFB_MAX_DAMAGE_RECTS as usize
    ];
    println!(
        "holes: FLUSH of {BOCHSFB_MAX_DAMAGE_RECTS} rectangles of {}x{} (the whole virtual screen, \
         {} MiB each) from a shadow with every page present",
        big.width,
        big.virtual_height,
        big.fb_size >> 20
    );
    let run = in_child(FLUSH_TIMEOUT, |child| {
        get_mode_during_flush(child, path, big.fb_size, &rects)
    });
    report.check(
        "hole 2: GET_MODE on another file waits at most 1 s while FLUSH copies 256 whole screens",
        run.outcome(),
    );
    report.check(
        "hole 2: a process inside such a FLUSH is gone within 1 s of SIGKILL",
        killed_in_flush(path, big.fb_size, &rects),
    );
    report.check(
        "hole 2: restore the mode",
        set_mode(
            &device,
            start.width,
            start.height,
            start.bpp,
            start.virtual_height,
        )
        .map(drop)
        .map_err(|e| describe(&e)),
    );
}

/// Maps all of the shadow region and touches every page: FLUSH skips pages never mapped.
fn whole_shadow(device: &Device, fb_size: u64) -> Result<Mapping, String> {
    let page = page_size();
    let mut shadow = device
        .mmap(
            fb_size.next_multiple_of(page as u64) as usize,
            mmap_region::SHADOW,
            MAP_SHARED,
        )
        .map_err(|e| format!("mmap the shadow region: {}", describe(&e)))?;
    for chunk in shadow.as_mut_slice().chunks_mut(page) {
        chunk[0] = 0x5a;
    }
    Ok(shadow)
}

/// One thread flushes `rects` for [`FLUSH_FOR`]; another times GET_MODE on its own file.
fn get_mode_during_flush(
    child: &Progress,
    path: &Path,
    fb_size: u64,
    rects: &[BochsfbRect],
) -> Outcome {
    let device = open_rw(path)?;
    let probe = open_rw(path)?;
    child.step("map and touch the whole shadow");
    let _shadow = whole_shadow(&device, fb_size)?;
    child.step("FLUSH in a loop while GET_MODE is timed");
    let done = AtomicBool::new(false);
    let (calls, probes) = std::thread::scope(|scope| {
        let flusher = scope.spawn(|| {
            let mut calls = Vec::new();
            let start = Instant::now();
            while start.elapsed() < FLUSH_FOR {
                let t = Instant::now();
                let result = flush(&device, rects);
                calls.push(t.elapsed());
                if let Err(e) = result {
                    done.store(true, Ordering::SeqCst);
                    return Err(format!("FLUSH: {}", describe(&e)));
                }
            }
            done.store(true, Ordering::SeqCst);
            Ok(calls)
        });
        let prober = scope.spawn(|| {
            let (mut worst, mut count) = (Duration::ZERO, 0u32);
            while !done.load(Ordering::SeqCst) {
                let t = Instant::now();
                probe
                    .mode()
                    .map_err(|e| format!("GET_MODE: {}", describe(&e)))?;
                worst = worst.max(t.elapsed());
                count += 1;
                std::thread::sleep(Duration::from_millis(1));
            }
            Ok::<_, String>((worst, count))
        });
        (
            flusher
                .join()
                .unwrap_or_else(|_| Err("the FLUSH thread panicked".into())),
            prober
                .join()
                .unwrap_or_else(|_| Err("the GET_MODE thread panicked".into())),
        )
    });
    let calls = calls?;
    let (worst, count) = probes?;
    let times: Vec<String> = calls
        .iter()
        .map(|d| format!("{:.2} s", d.as_secs_f64()))
        .collect();
    child.note(&format!(
        "FLUSH calls took [{}]; worst GET_MODE meanwhile: {:.1} ms of {count} calls",
        times.join(", "),
        worst.as_secs_f64() * 1e3
    ));
    if worst > MAX_GET_MODE_WAIT {
        return Err(format!(
            "GET_MODE waited {:.2} s for the card (at most {} s allowed; the target is 20 ms)",
            worst.as_secs_f64(),
            MAX_GET_MODE_WAIT.as_secs()
        ));
    }
    Ok(())
}

/// A child flushes `rects` in a loop; the parent kills it in the middle of a call.
fn killed_in_flush(path: &Path, fb_size: u64, rects: &[BochsfbRect]) -> Outcome {
    let mut child = spawn(|child| {
        let device = open_rw(path)?;
        let _shadow = whole_shadow(&device, fb_size)?;
        child.step("flushing");
        loop {
            flush(&device, rects).map_err(|e| format!("FLUSH: {}", describe(&e)))?;
        }
    })?;
    if !child.wait_for_step("flushing", STEP_TIMEOUT) {
        let why = child.finish(KILL_GRACE).outcome().err().unwrap_or_default();
        return Err(format!("the flushing child did not start: {why}"));
    }
    // The child spends nearly all its time inside FLUSH: each call copies up to 4 GiB, and the
    // loop starts the next at once.
    std::thread::sleep(Duration::from_millis(500));
    if let Some(ended) = child.try_reap() {
        let said = child.lines().join("; ");
        return Err(format!(
            "the flushing child ended by itself ({ended:?}): {said}"
        ));
    }
    match child.kill(FLUSH_TIMEOUT) {
        Some(took) => {
            println!(
                "holes: SIGKILL during FLUSH: the child was gone after {:.0} ms",
                took.as_secs_f64() * 1e3
            );
            if took > MAX_KILL_TIME {
                Err(format!(
                    "it took {:.2} s to die (FLUSH ignores the signal)",
                    took.as_secs_f64()
                ))
            } else {
                Ok(())
            }
        }
        None => Err(format!(
            "still there {} s after SIGKILL",
            FLUSH_TIMEOUT.as_secs()
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Hole 3: a read-only file.

fn read_only_file(path: &Path, report: &mut Report) {
    let setup = (|| -> Result<_, String> {
        let rw = open_rw(path)?;
        let start = mode_of(&rw)?;
        // Twice the screen's height, so the pans below would be valid from a read-write file.
        set_mode(&rw, 1024, 768, 32, 2 * 768)
            .map_err(|e| format!("SET_MODE 1024x768x32, 1536 rows: {}", describe(&e)))?;
        let before = mode_of(&rw)?;
        let len = map_limit(&before) as usize;
        let mapping = rw
            .mmap(len, mmap_region::WRITE_COMBINED, MAP_SHARED)
            .map_err(|e| format!("mmap the frame: {}", describe(&e)))?;
        // Its last page lies past the frame of every mode asked for below.
        // SAFETY: the last page of the mapping just made.
        let last_page = unsafe { mapping.as_ptr().add(len - page_size()) };
        still_mapped(last_page).map_err(|e| format!("the mapping before: {e}"))?;
        let ro =
            Device::open_read_only(path).map_err(|e| format!("open O_RDONLY: {}", describe(&e)))?;
        Ok((rw, ro, start, before, mapping, last_page))
    })();
    let (rw, ro, start, before, mapping, last_page) = match setup {
        Ok(setup) => setup,
        Err(why) => {
            return report.check(
                "hole 3: set up a mode, a mapping and an O_RDONLY file",
                Err(why),
            )
        }
    };

    // The calls that change nothing but the pan offset first, so each line shows its own call.
    report.check(
        "hole 3: O_RDONLY: PAN -> EBADF",
        expect_errno(pan(&ro, 16), libc::EBADF),
    );
    let var = fb_var(&ro);
    let mut to_32 = var.clone().unwrap_or_default();
    (to_32.xoffset, to_32.yoffset) = (0, 32);
    report.check(
        "hole 3: O_RDONLY, no write permission on the node: FBIOPAN_DISPLAY -> EBADF",
        without_write_permission(|| expect_errno(fb_pan(&ro, &to_32), libc::EBADF)),
    );
    report.check(
        "hole 3: O_RDONLY: FLUSH (whole frame) -> EBADF",
        expect_errno(flush(&ro, &[]), libc::EBADF),
    );
    // Smaller frames than the mapping above: a mode change would zap its last page.
    report.check(
        "hole 3: O_RDONLY: SET_MODE 640x480x32 -> EBADF",
        expect_errno(set_mode(&ro, 640, 480, 32, 480), libc::EBADF),
    );
    let mut put = var.clone().unwrap_or_default();
    (put.xres, put.yres, put.xres_virtual, put.yres_virtual) = (800, 600, 800, 600);
    (put.xoffset, put.yoffset, put.bits_per_pixel, put.activate) = (0, 0, 32, FB_ACTIVATE_NOW);
    report.check(
        "hole 3: O_RDONLY, no write permission on the node: FBIOPUT_VSCREENINFO 800x600x32 -> EBADF",
        without_write_permission(|| expect_errno(fb_put_var(&ro, &put), libc::EBADF)),
    );

    report.check(
        "hole 3: afterwards the mode and pan are as before and a read-write file's mapping works",
        mode_of(&rw)
            .and_then(|now| {
                if now == before {
                    Ok(())
                } else {
                    Err(format!("the mode changed from {before:?} to {now:?}"))
                }
            })
            .and_then(|()| still_mapped(last_page).map_err(|e| format!("the mapping: {e}"))),
    );
    report.check(
        "hole 3: O_RDONLY: GET_MODE, FBIOGET_VSCREENINFO, FBIOGET_FSCREENINFO, WAIT_VSYNC, \
         FBIO_WAITFORVSYNC, read and mmap PROT_READ work",
        read_only_queries(&rw, &ro, var),
    );
    // fbdev's tools set modes through read-only files (Debian's fbset opens O_RDONLY): with
    // write permission on the node (root here), fbdev's pan works on one, as fbdev's does.
    let mut to_16 = fb_var(&ro).unwrap_or_default();
    (to_16.xoffset, to_16.yoffset) = (0, 16);
    report.check(
        "hole 3: O_RDONLY, with write permission on the node: FBIOPAN_DISPLAY works (fbset)",
        fb_pan(&ro, &to_16)
            .map_err(|e| describe(&e))
            .and_then(|()| match mode_of(&rw) {
                Ok(now) if now.y_offset == 16 => Ok(()),
                Ok(now) => Err(format!("the pan offset is {}, not 16", now.y_offset)),
                Err(e) => Err(e),
            }),
    );
    drop(mapping);
    report.check(
        "hole 3: restore the mode",
        set_mode(
            &rw,
            start.width,
            start.height,
            start.bpp,
            start.virtual_height,
        )
        .map(drop)
        .map_err(|e| describe(&e)),
    );
}

/// Reads and writes a byte of a mapping in a child (it may raise `SIGBUS`).
fn still_mapped(addr: *mut u8) -> Outcome {
    in_child(STEP_TIMEOUT, |child| {
        child.step("read and write a byte of the read-write file's mapping");
        // SAFETY: `addr` is a page of a device mapping the child inherited by fork.
        unsafe { touch(addr) };
        Ok(())
    })
    .outcome()
}

fn fb_var(device: &Device) -> Result<FbVarScreeninfo, String> {
    fb_get_var(device).map_err(|e| format!("FBIOGET_VSCREENINFO: {}", describe(&e)))
}

/// What a read-only file may still do.
/// Runs `call` in a child that keeps the parent's files but has dropped root for `nobody`, who
/// may not write the node (root:video, 0660): a process that was only handed a read-only file.
fn without_write_permission(call: impl FnOnce() -> Outcome) -> Outcome {
    in_child(STEP_TIMEOUT, |child| {
        child.step("drop root for nobody (uid and gid 65534, no groups)");
        // SAFETY: plain system calls on this single-threaded child; no pointers are passed but
        // the empty group list.
        let dropped = unsafe {
            libc::setgroups(0, std::ptr::null()) == 0
                && libc::setgid(65534) == 0
                && libc::setuid(65534) == 0
        };
        if !dropped {
            return Err(format!(
                "dropping root: {}",
                describe(&io::Error::last_os_error())
            ));
        }
        child.step("the ioctl on the read-only file");
        call()
    })
    .outcome()
}

fn read_only_queries(rw: &Device, ro: &Device, var: Result<FbVarScreeninfo, String>) -> Outcome {
    // Marked now: a FLUSH that was let through above may have overwritten VRAM.
    let marker = mark(rw, 0, 0x401e_0302, page_size())?;
    let named = |what: &'static str| move |e: io::Error| format!("{what}: {}", describe(&e));
    calls::get_mode(ro).map_err(named("GET_MODE"))?;
    var?;
    fb_get_fix(ro).map_err(named("FBIOGET_FSCREENINFO"))?;
    wait_vsync(ro).map_err(named("WAIT_VSYNC"))?;
    fb_wait_vsync(ro, 0).map_err(named("FBIO_WAITFORVSYNC"))?;
    let mut bytes = vec![0u8; marker.len()];
    let n = ro.read(&mut bytes).map_err(named("read"))?;
    compare(&bytes[..n], &marker).map_err(|e| format!("read: {e}"))?;
    let mapping = ro
        .mmap_prot(
            marker.len(),
            mmap_region::WRITE_COMBINED,
            MAP_SHARED,
            PROT_READ,
        )
        .map_err(named("mmap PROT_READ"))?;
    compare(mapping.as_slice(), &marker).map_err(|e| format!("mmap PROT_READ: {e}"))
}

// ---------------------------------------------------------------------------------------------
// Hole 4: one client's bytes shown to the next.

/// What process A leaves in the shadow buffer.
const SECRET: &[u8] = b"bochsfb-check holes: process A drew this and left";
/// Where, in the shadow region (inside any mode's frame).
const SECRET_AT: usize = 4096 + 123;

fn shadow_left_over(path: &Path) -> Outcome {
    let shadow_page = |device: &Device| {
        device
            .mmap(2 * page_size(), mmap_region::SHADOW, MAP_SHARED)
            .map_err(|e| format!("mmap the shadow region: {}", describe(&e)))
    };
    in_child(STEP_TIMEOUT, |child| {
        let device = open_rw(path)?;
        child.step("process A: write into the shadow, unmap, close, exit");
        let mut shadow = shadow_page(&device)?;
        shadow.as_mut_slice()[SECRET_AT..SECRET_AT + SECRET.len()].copy_from_slice(SECRET);
        Ok(())
    })
    .outcome()
    .map_err(|e| format!("process A: {e}"))?;
    // `in_child` reaped A: its mappings and files are gone.
    in_child(STEP_TIMEOUT, |child| {
        let device = open_rw(path)?;
        child.step("process B: map the shadow and read where A wrote");
        let shadow = shadow_page(&device)?;
        let seen = &shadow.as_slice()[SECRET_AT..SECRET_AT + SECRET.len()];
        if seen == SECRET {
            Err(format!(
                "process B reads A's bytes {:?}",
                String::from_utf8_lossy(seen)
            ))
        } else if seen.iter().any(|&b| b != 0) {
            Err(format!("process B reads {seen:02x?}, not zeros"))
        } else {
            Ok(())
        }
    })
    .outcome()
}

fn vram_cleared_at_bind(path: &Path) -> Outcome {
    let page = page_size() as u64;
    let pci = bound_card()?;
    let marker;
    let offsets;
    {
        let device = open_rw(path)?;
        let start = mode_of(&device)?;
        // All of VRAM reachable: a marker at its start, middle and end.
        let all = set_mode(&device, start.width, start.height, start.bpp, 0)
            .map_err(|e| format!("SET_MODE with all of VRAM: {}", describe(&e)))?;
        let end = all.fb_size / page * page;
        offsets = [0, end / 2 / page * page, end - page];
        marker = pattern(0x401e_0401, page as usize);
        for offset in offsets {
            mark(&device, offset, 0x401e_0401, page as usize)?;
        }
    }
    sysfs_write("unbind", &pci)?;
    sysfs_write("bind", &pci).map_err(|e| format!("bind again: {e}"))?;
    wait_for_node(path, Duration::from_secs(10))?;
    let device = open_rw(path)?;
    let fresh = mode_of(&device)?;
    let mut kept = Vec::new();
    let mut look = |offset: u64| -> Outcome {
        let mut bytes = vec![0u8; page as usize];
        device
            .pread(&mut bytes, offset)
            .map_err(|e| format!("pread at {offset:#x}: {}", describe(&e)))?;
        if bytes == marker {
            kept.push(offset);
        }
        Ok(())
    };
    // What the fresh frame reaches first, before a mode change could clear anything.
    for &offset in offsets.iter().filter(|&&o| o + page <= fresh.fb_size) {
        look(offset)?;
    }
    set_mode(&device, fresh.width, fresh.height, fresh.bpp, 0)
        .map_err(|e| format!("SET_MODE with all of VRAM: {}", describe(&e)))?;
    for &offset in offsets.iter().filter(|&&o| o + page > fresh.fb_size) {
        look(offset)?;
    }
    set_mode(
        &device,
        fresh.width,
        fresh.height,
        fresh.bpp,
        fresh.virtual_height,
    )
    .map_err(|e| format!("restore the mode: {}", describe(&e)))?;
    if kept.is_empty() {
        Ok(())
    } else {
        let at: Vec<String> = kept.iter().map(|o| format!("{o:#x}")).collect();
        Err(format!(
            "the bytes written before the unbind are still in VRAM at offsets {}",
            at.join(", ")
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// Hole 5: READ_IMPLIES_EXEC.

/// In a child: with `READ_IMPLIES_EXEC` set, the kernel turns `PROT_READ` into
/// `PROT_READ | PROT_EXEC` for every later mmap of this process (unless /dev is noexec).
fn read_implies_exec(child: &Progress, path: &Path, prot: libc::c_int) -> Outcome {
    let page = page_size();
    let device = open_rw(path)?;
    let marker = mark(&device, 0, 0x401e_0501, page)?;
    // SAFETY: changes only how this (child) process's later mappings are made.
    if unsafe { libc::personality(READ_IMPLIES_EXEC) } == -1 {
        return Err(format!("personality: {}", io::Error::last_os_error()));
    }
    // SAFETY: 0xffffffff asks for the current persona without changing it.
    let persona = unsafe { libc::personality(0xffff_ffff) };
    if persona as libc::c_ulong & READ_IMPLIES_EXEC == 0 {
        return Err(format!(
            "personality is {persona:#x}: READ_IMPLIES_EXEC did not stick"
        ));
    }
    child.step("mmap one page of region 0");
    let mapping = device
        .mmap_prot(page, mmap_region::WRITE_COMBINED, MAP_SHARED, prot)
        .map_err(|e| format!("mmap: {}", describe(&e)))?;
    compare(mapping.as_slice(), &marker).map_err(|e| format!("the mapping: {e}"))
}
