//! Frame pacing to a target rate, and an fps and frame-time counter.

use std::time::{Duration, Instant};

/// Sleeps so that frames start at most `fps` times a second.
///
/// Deadlines advance by one period per frame; a frame that runs late does not
/// make the next ones hurry (the schedule restarts from now).
#[derive(Debug, Clone)]
pub struct Pacer {
    period: Option<Duration>,
    next: Option<Instant>,
}

impl Pacer {
    /// Paces to `fps` frames a second; `None` or 0 never sleeps.
    pub fn new(fps: Option<f64>) -> Pacer {
        let period = fps
            .filter(|&f| f > 0.0 && f.is_finite())
            .map(|f| Duration::from_secs_f64(1.0 / f));
        Pacer { period, next: None }
    }

    /// The time between frames, if paced.
    pub fn period(&self) -> Option<Duration> {
        self.period
    }

    /// Waits until the next frame is due.
    pub fn wait(&mut self) {
        let Some(period) = self.period else {
            return;
        };
        let now = Instant::now();
        let due = *self.next.get_or_insert(now);
        if due > now {
            std::thread::sleep(due - now);
            self.next = Some(due + period);
        } else {
            // Late: start a new schedule from now.
            self.next = Some(now + period);
        }
    }
}

/// Counts frames and measures the time each took.
#[derive(Debug, Clone)]
pub struct FrameCounter {
    start: Instant,
    last: Instant,
    frames: u64,
    min: Duration,
    max: Duration,
}

/// What a [`FrameCounter`] measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameStats {
    /// Frames counted.
    pub frames: u64,
    /// Time from the counter's start to the last frame.
    pub elapsed: Duration,
    /// Frames per second over `elapsed`.
    pub fps: f64,
    /// Mean time per frame.
    pub mean: Duration,
    /// Shortest frame.
    pub min: Duration,
    /// Longest frame.
    pub max: Duration,
}

impl Default for FrameCounter {
    fn default() -> Self {
        FrameCounter::new()
    }
}

impl FrameCounter {
    /// Starts counting now.
    pub fn new() -> FrameCounter {
        let now = Instant::now();
        FrameCounter {
            start: now,
            last: now,
            frames: 0,
            min: Duration::MAX,
            max: Duration::ZERO,
        }
    }

    /// Records that a frame ended now.
    pub fn tick(&mut self) {
        self.tick_at(Instant::now());
    }

    /// Records that a frame ended at `now`.
    pub fn tick_at(&mut self, now: Instant) {
        let took = now.saturating_duration_since(self.last);
        self.last = now;
        self.frames += 1;
        self.min = self.min.min(took);
        self.max = self.max.max(took);
    }

    /// What was measured so far.
    pub fn stats(&self) -> FrameStats {
        let elapsed = self.last.saturating_duration_since(self.start);
        let secs = elapsed.as_secs_f64();
        FrameStats {
            frames: self.frames,
            elapsed,
            fps: if secs > 0.0 {
                self.frames as f64 / secs
            } else {
                0.0
            },
            mean: elapsed
                .checked_div(self.frames.max(1) as u32)
                .unwrap_or_default(),
            min: if self.frames == 0 {
                Duration::ZERO
            } else {
                self.min
            },
            max: self.max,
        }
    }
}

/// Formats as `120 frames in 4.00 s: 30.0 fps, frame time mean 33.3 ms (min 30.1, max 40.2)`.
impl std::fmt::Display for FrameStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        write!(
            f,
            "{} frames in {:.2} s: {:.1} fps, frame time mean {:.1} ms (min {:.1}, max {:.1})",
            self.frames,
            self.elapsed.as_secs_f64(),
            self.fps,
            ms(self.mean),
            ms(self.min),
            ms(self.max)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_reports_rate_and_extremes() {
        let mut c = FrameCounter::new();
        let t0 = c.start;
        for ms in [10, 30, 50, 100] {
            c.tick_at(t0 + Duration::from_millis(ms));
        }
        let s = c.stats();
        assert_eq!(s.frames, 4);
        assert_eq!(s.elapsed, Duration::from_millis(100));
        assert!((s.fps - 40.0).abs() < 1e-9);
        assert_eq!(s.mean, Duration::from_millis(25));
        assert_eq!(s.min, Duration::from_millis(10));
        assert_eq!(s.max, Duration::from_millis(50));
        assert!(
            s.to_string().starts_with("4 frames in 0.10 s: 40.0 fps"),
            "{s}"
        );
    }

    #[test]
    fn pacer_holds_the_rate() {
        let mut p = Pacer::new(Some(200.0));
        let start = Instant::now();
        for _ in 0..6 {
            p.wait();
        }
        // Five full periods of 5 ms must have passed.
        assert!(start.elapsed() >= Duration::from_millis(25));
        let mut unpaced = Pacer::new(None);
        unpaced.wait();
        assert_eq!(unpaced.period(), None);
    }
}
