//! What watches the fuzzer from outside its process: a page shared by every kfuzz process (the
//! program running and the call in flight, for a supervisor that outlives a stuck or killed
//! worker), the latency probe, and the kernel log.

use std::ffi::CString;
use std::io;
use std::path::Path;

use super::exec::Env;
use std::ptr;
use std::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, AtomicU8, Ordering::SeqCst};
use std::time::Duration;

/// `CLOCK_MONOTONIC` in nanoseconds: comparable between processes.
pub fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

const TEXT_BYTES: usize = 32 << 10;
/// Long waits of the probe remembered at once (a ring).
pub const LONG_EVENTS: usize = 16;

/// A text one process writes and another reads once the writer is done (or dead).
#[repr(C)]
pub struct SharedText {
    len: AtomicU32,
    bytes: [AtomicU8; TEXT_BYTES],
}

impl SharedText {
    pub fn set(&self, text: &str) {
        let bytes = &text.as_bytes()[..text.len().min(TEXT_BYTES)];
        self.len.store(0, SeqCst);
        for (slot, b) in self.bytes.iter().zip(bytes) {
            slot.store(*b, std::sync::atomic::Ordering::Relaxed);
        }
        self.len.store(bytes.len() as u32, SeqCst);
    }

    pub fn get(&self) -> String {
        let len = self.len.load(SeqCst) as usize;
        let bytes: Vec<u8> = self.bytes[..len.min(TEXT_BYTES)]
            .iter()
            .map(|b| b.load(std::sync::atomic::Ordering::Relaxed))
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// The page every kfuzz process maps: the supervisor, the probe, the worker and its children.
#[repr(C)]
pub struct Shared {
    /// The program the worker (or a replay) runs now, as text.
    pub program: SharedText,
    /// `now_ns()` when the call in flight started; 0 between calls.
    pub call_started: AtomicU64,
    /// Index of the call in flight.
    pub call_index: AtomicU32,
    /// Programs run so far (the worker's heartbeat).
    pub programs: AtomicU64,
    /// A finding the worker (or a child of it) made, as its text form.
    pub finding: SharedText,
    /// The probe: set to ask it to close its file and wait; it sets `probe_paused`.
    pub probe_pause: AtomicU32,
    pub probe_paused: AtomicU32,
    /// Set to stop the probe for good.
    pub probe_stop: AtomicU32,
    /// GET_MODE calls the probe made.
    pub probe_calls: AtomicU64,
    /// The probe's pid.
    pub probe_pid: AtomicI32,
    /// GET_MODE calls that took longer than the bound: how many, and the last ones as
    /// (start, end) in `now_ns()`.
    pub long_count: AtomicU64,
    pub long_events: [(AtomicU64, AtomicU64); LONG_EVENTS],
    /// The longest GET_MODE so far, in nanoseconds.
    pub longest: AtomicU64,
    /// The longest GET_MODE since the worker last zeroed this, in nanoseconds.
    pub window_longest: AtomicU64,
    /// The probe's bound, in nanoseconds.
    pub latency_bound: AtomicU64,
    /// Set when the last program may have left the card in another state: the next one
    /// starts with a reset.
    pub needs_reset: AtomicU32,
    /// `now_ns()` when the probe's GET_MODE in flight started; 0 between calls.
    pub probe_call_started: AtomicU64,
}

impl Shared {
    /// A zeroed page shared with every process forked after this.
    pub fn new() -> &'static Shared {
        let size = std::mem::size_of::<Shared>();
        // SAFETY: a fresh anonymous shared mapping; all-zero bytes are a valid `Shared` (atomics
        // and arrays of them). It is never unmapped, so the reference is 'static.
        unsafe {
            let addr = libc::mmap(
                ptr::null_mut(),
                size,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            assert!(
                addr != libc::MAP_FAILED,
                "mmap: {}",
                io::Error::last_os_error()
            );
            &*addr.cast::<Shared>()
        }
    }

    /// Long probe waits that ended at or after `since` (ns): (start, end) pairs.
    pub fn long_waits_since(&self, since: u64) -> Vec<(u64, u64)> {
        let count = self.long_count.load(SeqCst) as usize;
        let first = count.saturating_sub(LONG_EVENTS);
        (first..count)
            .map(|i| {
                let (s, e) = &self.long_events[i % LONG_EVENTS];
                (s.load(SeqCst), e.load(SeqCst))
            })
            .filter(|&(_, end)| end >= since)
            .collect()
    }

    /// Asks the probe to close its file, and waits until it has (at most a second).
    pub fn pause_probe(&self) {
        self.probe_pause.store(1, SeqCst);
        for _ in 0..2000 {
            if self.probe_paused.load(SeqCst) == 1 || self.probe_pid.load(SeqCst) == 0 {
                return;
            }
            std::thread::sleep(Duration::from_micros(500));
        }
    }

    pub fn resume_probe(&self) {
        self.probe_pause.store(0, SeqCst);
    }

    /// Waits (up to 200 ms) for a probe call that has been waiting past the bound to finish,
    /// so its wait is recorded and blamed on the program that just ended, not the next one.
    pub fn settle_probe(&self) {
        let bound = self.latency_bound.load(SeqCst);
        for _ in 0..400 {
            let started = self.probe_call_started.load(SeqCst);
            if started == 0 || now_ns().saturating_sub(started) <= bound {
                return;
            }
            std::thread::sleep(Duration::from_micros(500));
        }
    }
}

fn open_raw(path: &Path, flags: libc::c_int) -> libc::c_int {
    let path = CString::new(path.as_os_str().as_encoded_bytes()).expect("no NUL in path");
    // SAFETY: a NUL-terminated path; plain flags.
    unsafe { libc::open(path.as_ptr(), flags | libc::O_CLOEXEC) }
}

/// The latency probe's loop (invariant c): GET_MODE on a file of its own, again and again; a
/// call that takes longer than `bound` waited that long for the card mutex, and is recorded.
/// Follows the card through unbind and bind; closes its file while paused.
pub fn probe(shared: &Shared, env: &Env, crtc: Option<u32>, bound: Duration) -> ! {
    let bound = bound.as_nanos() as u64;
    let mut file: Option<std::fs::File> = None;
    loop {
        if shared.probe_stop.load(SeqCst) != 0 {
            // SAFETY: leaves at once, as a forked child should.
            unsafe { libc::_exit(0) };
        }
        if shared.probe_pause.load(SeqCst) != 0 {
            file = None;
            shared.probe_paused.store(1, SeqCst);
            std::thread::sleep(Duration::from_micros(500));
            continue;
        }
        shared.probe_paused.store(0, SeqCst);
        let open = match &file {
            Some(open) => open,
            None => match std::fs::File::open(env.node()) {
                Ok(open) => {
                    if crtc.is_some() {
                        // The first opener of a DRM device becomes its master: not the probe.
                        super::exec::drop_master(&open);
                    }
                    file.insert(open)
                }
                Err(_) => {
                    std::thread::sleep(Duration::from_millis(2));
                    continue;
                }
            },
        };
        let start = now_ns();
        shared.probe_call_started.store(start, SeqCst);
        let result = match crtc {
            Some(crtc) => super::exec::probe_call(open, crtc),
            None => bochsfb_renderer::device::get_mode(open).map(drop),
        };
        let end = now_ns();
        shared.probe_call_started.store(0, SeqCst);
        let took = end - start;
        shared.probe_calls.fetch_add(1, SeqCst);
        shared.longest.fetch_max(took, SeqCst);
        shared.window_longest.fetch_max(took, SeqCst);
        if took > bound {
            let n = shared.long_count.load(SeqCst) as usize;
            let (s, e) = &shared.long_events[n % LONG_EVENTS];
            s.store(start, SeqCst);
            e.store(end, SeqCst);
            shared.long_count.store(n as u64 + 1, SeqCst);
        }
        if result.is_err() {
            // Unbound (ENODEV): open the card again once it is back.
            file = None;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Texts that mark a kernel report: the harness's list (qemu-bochs/src/vm/protocol.rs, checked by
/// a test there), so the guest stops at what would fail the boot.
pub const REPORT_PATTERNS: &[&str] = &[
    "BUG:",
    "kernel BUG at",
    "WARNING:",
    "Oops",
    "Kernel panic",
    "general protection fault",
    "Call Trace:",
    "UBSAN",
    "KASAN",
    "refcount_t:",
    "list_add corruption",
    "list_del corruption",
    "Busy inodes after unmount",
    "INFO: possible",
    "INFO: trying to register non-static key",
    "DEBUG_LOCKS_WARN_ON",
    "page dumped because:",
    "panicked at",
    "detected stall",
    "blocked for more than",
    "soft lockup",
    "hard LOCKUP",
];

pub fn is_report(line: &str) -> bool {
    REPORT_PATTERNS.iter().any(|p| line.contains(p))
}

/// `/dev/kmsg`, read from where it was opened on, without blocking.
pub struct Kmsg {
    fd: libc::c_int,
}

impl Kmsg {
    /// Opens the kernel log at its end: only later messages are read.
    pub fn open() -> io::Result<Kmsg> {
        let fd = open_raw(Path::new("/dev/kmsg"), libc::O_RDONLY | libc::O_NONBLOCK);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: our descriptor; SEEK_END on /dev/kmsg skips to after the last record.
        unsafe { libc::lseek(fd, 0, libc::SEEK_END) };
        Ok(Kmsg { fd })
    }

    /// Every message since the last call, one line each (the record's text).
    pub fn lines(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            // SAFETY: reads one record into our buffer.
            let n = unsafe { libc::read(self.fd, buf.as_mut_ptr().cast(), buf.len()) };
            if n < 0 {
                match io::Error::last_os_error().raw_os_error() {
                    // Records were overwritten before we read them: go on with the next.
                    Some(libc::EPIPE) | Some(libc::EINTR) => continue,
                    _ => break,
                }
            }
            if n == 0 {
                break;
            }
            let record = String::from_utf8_lossy(&buf[..n as usize]);
            // "prio,seq,usec,flags;text\n continuation lines"
            let text = record.split_once(';').map_or(&*record, |(_, t)| t);
            // The record escapes unprintable bytes (a Rust panic's message has its newline as
            // `\x0a`): one line for the log's reader.
            let line = text.lines().next().unwrap_or("");
            out.push(line.replace("\\x0a", " ").replace("\\x09", " "));
        }
        out
    }

    /// Report lines among the messages since the last call, with what followed them.
    pub fn reports(&mut self) -> Vec<String> {
        let lines = self.lines();
        match lines.iter().position(|l| is_report(l)) {
            Some(first) => lines[first..].iter().take(60).cloned().collect(),
            None => Vec::new(),
        }
    }
}

impl Drop for Kmsg {
    fn drop(&mut self) {
        // SAFETY: our own descriptor.
        unsafe { libc::close(self.fd) };
    }
}
