//! The clock: repeated timed runs of whole frames, and the RAM-to-RAM memcpy
//! that bounds them all.

use std::hint::black_box;
use std::io;
use std::time::{Duration, Instant};

use bochsfb_bench::Run;

use crate::canvas::Canvas;
use crate::workloads::Scene;

/// How many runs, how long each one lasts at least, and how many page flips a flip run has.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub runs: usize,
    pub run_time: Duration,
    pub flips: usize,
}

/// One timed run of whole frames of `scene`, at least `run_time` long, after one untimed
/// frame that warms the caches (and faults a fresh mapping in).
pub fn measure(canvas: &mut dyn Canvas, scene: &Scene, run_time: Duration) -> io::Result<Run> {
    scene.draw_frame(canvas)?;
    let (syscalls, presenting) = (canvas.syscalls(), canvas.present_time());
    let timed = timed(run_time, || scene.draw_frame(canvas))?;
    Ok(Run {
        seconds: timed.elapsed.as_secs_f64(),
        frames: timed.frames,
        ops: timed.frames * scene.ops_per_frame(),
        bytes: timed.frames * scene.bytes_per_frame(),
        syscalls: canvas.syscalls() - syscalls,
        cpu_seconds: timed.cpu_seconds,
        present_seconds: (canvas.present_time() - presenting).as_secs_f64(),
    })
}

/// A RAM-to-RAM memcpy of the same buffers, run after run.
pub struct Memcpy {
    source: Vec<u8>,
    target: Vec<u8>,
}

impl Memcpy {
    pub fn new(bytes: usize) -> Memcpy {
        let source = vec![0x5au8; bytes];
        let mut target = vec![0u8; bytes];
        target.copy_from_slice(&source);
        Memcpy { source, target }
    }

    /// Bytes per copy.
    pub fn bytes(&self) -> usize {
        self.source.len()
    }

    /// One run of copies, timed like the workloads.
    pub fn run(&mut self, run_time: Duration) -> Run {
        let (source, target) = (&self.source, &mut self.target);
        let timed = timed(run_time, || {
            // black_box: the copy must happen although nothing reads it.
            black_box(&mut *target).copy_from_slice(black_box(source));
            Ok(())
        })
        .expect("memcpy cannot fail");
        Run {
            seconds: timed.elapsed.as_secs_f64(),
            frames: timed.frames,
            ops: timed.frames,
            bytes: timed.frames * source.len() as u64,
            syscalls: 0,
            cpu_seconds: timed.cpu_seconds,
            present_seconds: 0.0,
        }
    }
}

/// One run of the cheapest system call, `getppid`, timed like the workloads: what entering
/// and leaving the kernel costs, before a driver does any work.
pub fn null_syscall(run_time: Duration) -> Run {
    const CALLS_PER_FRAME: u64 = 1000;
    let timed = timed(run_time, || {
        for _ in 0..CALLS_PER_FRAME {
            // SAFETY: getppid takes no arguments and cannot fail.
            black_box(unsafe { libc::getppid() });
        }
        Ok(())
    })
    .expect("getppid cannot fail");
    Run {
        seconds: timed.elapsed.as_secs_f64(),
        frames: timed.frames,
        ops: timed.frames * CALLS_PER_FRAME,
        bytes: 0,
        syscalls: timed.frames * CALLS_PER_FRAME,
        cpu_seconds: timed.cpu_seconds,
        present_seconds: 0.0,
    }
}

/// The resolution of the clock [`Instant`] reads (`CLOCK_MONOTONIC`), ns: one jiffy when the
/// guest keeps time on jiffies (the harness boots with `tsc=unstable`), and then every flip
/// latency is a multiple of it.
pub fn clock_resolution_ns() -> u64 {
    let mut res = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: one valid timespec to write, for the length of the call.
    if unsafe { libc::clock_getres(libc::CLOCK_MONOTONIC, &mut res) } != 0 {
        return 0;
    }
    res.tv_sec as u64 * 1_000_000_000 + res.tv_nsec as u64
}

/// What [`timed`] measured.
struct Timed {
    frames: u64,
    elapsed: Duration,
    cpu_seconds: f64,
}

/// Calls `frame` until `at_least` has passed; returns the calls, the wall time and the busy
/// time of all CPUs in between.
fn timed(at_least: Duration, mut frame: impl FnMut() -> io::Result<()>) -> io::Result<Timed> {
    let busy = busy_cpu_seconds();
    let start = Instant::now();
    let mut frames = 0;
    loop {
        frame()?;
        frames += 1;
        let elapsed = start.elapsed();
        if elapsed >= at_least {
            return Ok(Timed {
                frames,
                elapsed,
                cpu_seconds: busy_since(busy),
            });
        }
    }
}

/// `/proc/stat` counts in USER_HZ ticks, 100 per second on every architecture Linux runs.
const USER_HZ: f64 = 100.0;

/// Seconds all CPUs together have been busy since `before` (a [`busy_cpu_seconds`]); 0 when
/// `/proc/stat` could not be read.
pub fn busy_since(before: Option<f64>) -> f64 {
    match (before, busy_cpu_seconds()) {
        (Some(before), Some(after)) => after - before,
        _ => 0.0,
    }
}

/// Seconds all CPUs together have spent busy since boot: every field of `/proc/stat`'s `cpu`
/// line except idle and iowait (guest time is already inside user time, so it is left out).
pub fn busy_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    busy_ticks(stat.lines().next()?).map(|ticks| ticks as f64 / USER_HZ)
}

/// Busy ticks of a `/proc/stat` `cpu` line: user nice system idle iowait irq softirq steal.
fn busy_ticks(line: &str) -> Option<u64> {
    let fields: Vec<u64> = line
        .strip_prefix("cpu ")?
        .split_whitespace()
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    let field = |i: usize| fields.get(i).copied().unwrap_or(0);
    Some(field(0) + field(1) + field(2) + field(5) + field(6) + field(7))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memcpy_runs_are_positive() {
        let mut memcpy = Memcpy::new(1 << 16);
        let runs = [0, 1].map(|_| memcpy.run(Duration::from_millis(5)));
        assert!(runs.iter().all(|r| r.frames > 0 && r.mb_per_s() > 0.0));
        let calls = null_syscall(Duration::from_millis(5));
        assert!(calls.syscalls == calls.ops && calls.ops >= 1000);
    }

    #[test]
    fn busy_time_leaves_idle_and_iowait_out() {
        // user nice system idle iowait irq softirq steal guest guest_nice
        let line = "cpu  100 2 30 5000 7 1 4 9 50 0";
        assert_eq!(busy_ticks(line), Some(100 + 2 + 30 + 1 + 4 + 9));
        assert_eq!(busy_ticks("cpu0 1 2 3 4"), None, "the total line only");
        assert_eq!(busy_ticks("cpu  1 x 3"), None);
        // A busy loop of 50 ms shows as busy time on this machine too.
        let timed = timed(Duration::from_millis(50), || Ok(())).unwrap();
        assert!(timed.cpu_seconds >= 0.02, "{}", timed.cpu_seconds);
    }
}
