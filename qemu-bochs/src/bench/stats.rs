//! From repeated runs to the figures of the report: median, min and max of
//! each rate, per mode, path and workload, and ratios between paths.

use bochsfb_bench::{Access, Driver, Run};
use serde::{Deserialize, Serialize};

use super::GuestRun;

/// The median of repeated runs, with their spread.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Stat {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Stat {
    /// `None` for no values.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Stat> {
        let mut values: Vec<f64> = values.into_iter().collect();
        values.sort_by(f64::total_cmp);
        let n = values.len();
        let median = match n {
            0 => return None,
            _ if n % 2 == 1 => values[n / 2],
            _ => (values[n / 2 - 1] + values[n / 2]) / 2.0,
        };
        Some(Stat {
            median,
            min: values[0],
            max: values[n - 1],
        })
    }

    /// Every figure divided by `by`.
    pub fn scaled(self, by: f64) -> Stat {
        Stat {
            median: self.median / by,
            min: self.min / by,
            max: self.max / by,
        }
    }
}

/// The figures of one workload through one path in one mode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// `1024x768x32`.
    pub mode: String,
    pub driver: Driver,
    pub path: String,
    pub access: Access,
    pub workload: String,
    pub mb_per_s: Stat,
    pub frames_per_s: Stat,
    pub ops_per_s: Stat,
    pub syscalls_per_frame: f64,
    pub syscalls_per_op: f64,
    /// MB/s over the same guest's RAM-to-RAM memcpy MB/s (median).
    pub memcpy_fraction: Stat,
    pub memcpy_mb_per_s: f64,
    /// One `getppid` in the same guest, µs (median): the bare cost of a system call.
    pub null_syscall_us: Option<f64>,
}

impl Row {
    /// Pixel bytes one operation moves.
    pub fn bytes_per_op(&self) -> f64 {
        self.mb_per_s.median * 1e6 / self.ops_per_s.median
    }

    /// Microseconds one operation takes (median).
    pub fn us_per_op(&self) -> f64 {
        1e6 / self.ops_per_s.median
    }
}

/// The guest's memcpy bandwidth, MB/s.
pub fn memcpy(guest: &GuestRun) -> Option<Stat> {
    Stat::of(guest.report.memcpy.iter().map(Run::mb_per_s))
}

/// One `getppid` call in the guest, µs (median).
pub fn null_syscall_us(guest: &GuestRun) -> Option<f64> {
    Stat::of(
        guest
            .report
            .null_syscall
            .iter()
            .map(|r| r.seconds * 1e6 / r.ops as f64),
    )
    .map(|s| s.median)
}

/// One row per path and workload of a guest run.
pub fn rows(guest: &GuestRun) -> Vec<Row> {
    let Some(memcpy) = memcpy(guest) else {
        return Vec::new();
    };
    let mut rows = Vec::new();
    for path in &guest.report.paths {
        for m in &path.measurements {
            let stat = |rate: fn(&Run) -> f64| Stat::of(m.runs.iter().map(rate));
            let (Some(mb_per_s), Some(frames_per_s), Some(ops_per_s)) = (
                stat(Run::mb_per_s),
                stat(Run::frames_per_s),
                stat(Run::ops_per_s),
            ) else {
                continue;
            };
            let total = |field: fn(&Run) -> u64| m.runs.iter().map(field).sum::<u64>() as f64;
            let syscalls = total(|r| r.syscalls);
            rows.push(Row {
                mode: guest.mode.label(),
                driver: guest.report.driver,
                path: path.path.clone(),
                access: path.access,
                workload: m.workload.clone(),
                mb_per_s,
                frames_per_s,
                ops_per_s,
                syscalls_per_frame: syscalls / total(|r| r.frames),
                syscalls_per_op: syscalls / total(|r| r.ops),
                memcpy_fraction: mb_per_s.scaled(memcpy.median),
                memcpy_mb_per_s: memcpy.median,
                null_syscall_us: null_syscall_us(guest),
            });
        }
    }
    rows
}

/// Finds the row of `path` and `workload` in `mode`.
pub fn find<'a>(rows: &'a [Row], mode: &str, path: &str, workload: &str) -> Option<&'a Row> {
    rows.iter()
        .find(|r| r.mode == mode && r.path == path && r.workload == workload)
}

/// Median MB/s of `path` over median MB/s of `over`, same mode and workload.
pub fn ratio(rows: &[Row], mode: &str, workload: &str, path: &str, over: &str) -> Option<f64> {
    let a = find(rows, mode, path, workload)?;
    let b = find(rows, mode, over, workload)?;
    Some(a.mb_per_s.median / b.mb_per_s.median)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_min_max() {
        let s = Stat::of([3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.max), (2.0, 1.0, 3.0));
        assert_eq!(Stat::of([4.0, 1.0, 2.0, 3.0]).unwrap().median, 2.5);
        assert_eq!(Stat::of([]), None);
        assert_eq!(s.scaled(2.0).median, 1.0);
    }
}
