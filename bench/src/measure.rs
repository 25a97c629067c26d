//! The clock: repeated timed runs of whole frames, and the RAM-to-RAM memcpy
//! that bounds them all.

use std::hint::black_box;
use std::io;
use std::time::{Duration, Instant};

use bochsfb_bench::Run;

use crate::canvas::Canvas;
use crate::workloads::Scene;

/// How many runs, and how long each one lasts at least.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub runs: usize,
    pub run_time: Duration,
}

/// Runs whole frames of `scene` until `run_time` has passed, `runs` times,
/// after one untimed frame that faults the mapping in and warms the caches.
pub fn measure(canvas: &mut dyn Canvas, scene: &Scene, budget: Budget) -> io::Result<Vec<Run>> {
    scene.draw_frame(canvas)?;
    (0..budget.runs)
        .map(|_| {
            let syscalls = canvas.syscalls();
            let frames = timed(budget.run_time, || scene.draw_frame(canvas))?;
            Ok(Run {
                seconds: frames.1.as_secs_f64(),
                frames: frames.0,
                ops: frames.0 * scene.ops_per_frame(),
                bytes: frames.0 * scene.bytes_per_frame(),
                syscalls: canvas.syscalls() - syscalls,
            })
        })
        .collect()
}

/// RAM-to-RAM copies of `bytes`, timed like the workloads.
pub fn memcpy(bytes: usize, budget: Budget) -> Vec<Run> {
    let source = vec![0x5au8; bytes];
    let mut target = vec![0u8; bytes];
    target.copy_from_slice(&source);
    (0..budget.runs)
        .map(|_| {
            let (frames, elapsed) = timed(budget.run_time, || {
                // black_box: the copy must happen although nothing reads it.
                black_box(&mut target).copy_from_slice(black_box(&source));
                Ok(())
            })
            .expect("memcpy cannot fail");
            Run {
                seconds: elapsed.as_secs_f64(),
                frames,
                ops: frames,
                bytes: frames * bytes as u64,
                syscalls: 0,
            }
        })
        .collect()
}

/// The cheapest system call, `getppid`, timed like the workloads: what
/// entering and leaving the kernel costs, before a driver does any work.
pub fn null_syscall(budget: Budget) -> Vec<Run> {
    const CALLS_PER_FRAME: u64 = 1000;
    (0..budget.runs)
        .map(|_| {
            let (frames, elapsed) = timed(budget.run_time, || {
                for _ in 0..CALLS_PER_FRAME {
                    // SAFETY: getppid takes no arguments and cannot fail.
                    black_box(unsafe { libc::getppid() });
                }
                Ok(())
            })
            .expect("getppid cannot fail");
            Run {
                seconds: elapsed.as_secs_f64(),
                frames,
                ops: frames * CALLS_PER_FRAME,
                bytes: 0,
                syscalls: frames * CALLS_PER_FRAME,
            }
        })
        .collect()
}

/// Calls `frame` until `at_least` has passed; returns the calls and the time.
fn timed(
    at_least: Duration,
    mut frame: impl FnMut() -> io::Result<()>,
) -> io::Result<(u64, Duration)> {
    let start = Instant::now();
    let mut frames = 0;
    loop {
        frame()?;
        frames += 1;
        let elapsed = start.elapsed();
        if elapsed >= at_least {
            return Ok((frames, elapsed));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memcpy_runs_are_positive() {
        let budget = Budget {
            runs: 2,
            run_time: Duration::from_millis(5),
        };
        let runs = memcpy(1 << 16, budget);
        assert_eq!(runs.len(), 2);
        assert!(runs.iter().all(|r| r.frames > 0 && r.mb_per_s() > 0.0));
        let calls = null_syscall(budget);
        assert!(calls.iter().all(|r| r.syscalls == r.ops && r.ops >= 1000));
    }
}
