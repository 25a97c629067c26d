//! From repeated runs to the figures of the report: medians with their spread, per mode,
//! path and workload, pooled over every boot of the driver; ratios between paths with 95%
//! bootstrap confidence intervals; the per-call cost model fitted to the sweep; and the page
//! flips of the DRM paths.

use bochsfb_bench::{Access, BufferCount, Driver, FlipRun, Run};
use serde::{Deserialize, Serialize};

use super::GuestRun;

/// Bootstrap resamples per interval.
const RESAMPLES: usize = 2000;
/// The resampling is seeded: the same results give the same intervals.
const BOOTSTRAP_SEED: u64 = 0xb007_5742;

/// The median of repeated runs, with their spread.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Stat {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Stat {
    /// `None` for no values; NaNs (figures a run could not give) are left out.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Stat> {
        let mut values: Vec<f64> = values.into_iter().filter(|v| !v.is_nan()).collect();
        values.sort_by(f64::total_cmp);
        Some(Stat {
            median: median_of_sorted(&values)?,
            min: values[0],
            max: *values.last()?,
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

/// The 10th, 50th and 90th percentiles of a sample: its middle and its spread, for samples
/// large enough to have both (a run's flips).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    pub p10: f64,
    pub median: f64,
    pub p90: f64,
}

impl Percentiles {
    /// `None` for no values; NaNs are left out.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Percentiles> {
        let mut values: Vec<f64> = values.into_iter().filter(|v| !v.is_nan()).collect();
        values.sort_by(f64::total_cmp);
        Some(Percentiles {
            median: median_of_sorted(&values)?,
            p10: quantile_of_sorted(&values, 0.1),
            p90: quantile_of_sorted(&values, 0.9),
        })
    }
}

/// The value at rank `q` (0 to 1) of sorted, non-empty `values`, to the nearest rank.
fn quantile_of_sorted(values: &[f64], q: f64) -> f64 {
    values[((values.len() - 1) as f64 * q).round() as usize]
}

fn median_of_sorted(values: &[f64]) -> Option<f64> {
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    median_of_sorted(&sorted)
}

/// An estimate with its 95% bootstrap confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

impl Interval {
    /// Whether the interval of a ratio holds 1: no measurable difference.
    pub fn contains_one(&self) -> bool {
        self.low <= 1.0 && 1.0 <= self.high
    }
}

/// xorshift64*: the bootstrap's seeded source of indices.
struct Random(u64);

impl Random {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }

    fn resample(&mut self, values: &[f64], into: &mut Vec<f64>) {
        into.clear();
        into.extend((0..values.len()).map(|_| values[self.below(values.len())]));
    }
}

/// The 2.5th and 97.5th percentiles of `estimates` around `value`.
fn interval(value: f64, mut estimates: Vec<f64>) -> Interval {
    estimates.retain(|e| e.is_finite());
    estimates.sort_by(f64::total_cmp);
    if estimates.is_empty() {
        return Interval {
            value,
            low: value,
            high: value,
        };
    }
    Interval {
        value,
        low: quantile_of_sorted(&estimates, 0.025),
        high: quantile_of_sorted(&estimates, 0.975),
    }
}

/// median(a) / median(b), with a percentile bootstrap interval: both samples resampled with
/// replacement, independently, `RESAMPLES` times.
pub fn ratio_of_medians(a: &[f64], b: &[f64]) -> Option<Interval> {
    let value = median(a)? / median(b)?;
    let mut random = Random(BOOTSTRAP_SEED);
    let (mut ra, mut rb) = (Vec::new(), Vec::new());
    let estimates = (0..RESAMPLES)
        .map(|_| {
            random.resample(a, &mut ra);
            random.resample(b, &mut rb);
            median(&ra).unwrap_or(f64::NAN) / median(&rb).unwrap_or(f64::NAN)
        })
        .collect();
    Some(interval(value, estimates))
}

/// The figures of one workload through one path in one mode, every boot's runs pooled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// `1024x768x32`.
    pub mode: String,
    pub driver: Driver,
    pub path: String,
    pub access: Access,
    pub workload: String,
    /// Boots and runs pooled into this row.
    pub boots: usize,
    pub runs: usize,
    pub mb_per_s: Stat,
    /// MB per second of busy CPU time, all guest CPUs counted (work left to kernel threads
    /// too); `None` where every run was too short for the 10 ms tick.
    pub mb_per_cpu_s: Option<Stat>,
    pub frames_per_s: Stat,
    pub ops_per_s: Stat,
    pub syscalls_per_frame: f64,
    pub syscalls_per_op: f64,
    /// µs per frame spent in present (DIRTYFB, FLUSH), median.
    pub present_us_per_frame: f64,
    /// MB/s over the same guests' RAM-to-RAM memcpy MB/s (median).
    pub memcpy_fraction: Stat,
    pub memcpy_mb_per_s: f64,
    /// One `getppid` in the same guests, µs (median): the bare cost of a system call.
    pub null_syscall_us: Option<f64>,
    /// The runs' MB/s, for intervals of ratios (in `results.json` as the guests' runs).
    #[serde(skip)]
    pub samples: Vec<f64>,
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

/// The guests' memcpy bandwidth, MB/s, every run pooled.
pub fn memcpy(guests: &[&GuestRun]) -> Option<Stat> {
    Stat::of(
        guests
            .iter()
            .flat_map(|g| g.report.memcpy.iter().map(Run::mb_per_s)),
    )
}

/// One `getppid` call in the guests, µs (median).
pub fn null_syscall_us(guests: &[&GuestRun]) -> Option<f64> {
    Stat::of(guests.iter().flat_map(|g| {
        g.report
            .null_syscall
            .iter()
            .map(|r| r.seconds * 1e6 / r.ops as f64)
    }))
    .map(|s| s.median)
}

/// The guests of one driver in one mode, in boot order.
pub fn boots_of<'a>(guests: &'a [GuestRun], driver: Driver, mode: &str) -> Vec<&'a GuestRun> {
    guests
        .iter()
        .filter(|g| g.report.driver == driver && g.mode.label() == mode)
        .collect()
}

/// The boots of each driver in each mode, in the order first booted.
fn groups(guests: &[GuestRun]) -> Vec<Vec<&GuestRun>> {
    let mut seen: Vec<(Driver, String)> = Vec::new();
    for g in guests {
        let key = (g.report.driver, g.mode.label());
        if !seen.contains(&key) {
            seen.push(key);
        }
    }
    seen.iter()
        .map(|(driver, mode)| boots_of(guests, *driver, mode))
        .collect()
}

/// One row per mode, path and workload, each boot of a driver pooled.
pub fn rows(guests: &[GuestRun]) -> Vec<Row> {
    groups(guests)
        .iter()
        .flat_map(|boots| rows_of_boots(boots))
        .collect()
}

fn rows_of_boots(boots: &[&GuestRun]) -> Vec<Row> {
    let (Some(first), Some(memcpy)) = (boots.first(), memcpy(boots)) else {
        return Vec::new();
    };
    let null_syscall_us = null_syscall_us(boots);
    let mut rows = Vec::new();
    for path in &first.report.paths {
        for m in &path.measurements {
            let runs: Vec<&Run> = boots
                .iter()
                .flat_map(|g| g.report.paths.iter().filter(|p| p.path == path.path))
                .flat_map(|p| p.measurements.iter().filter(|n| n.workload == m.workload))
                .flat_map(|n| &n.runs)
                .collect();
            let stat = |rate: fn(&Run) -> f64| Stat::of(runs.iter().map(|r| rate(r)));
            let (Some(mb_per_s), Some(frames_per_s), Some(ops_per_s)) = (
                stat(Run::mb_per_s),
                stat(Run::frames_per_s),
                stat(Run::ops_per_s),
            ) else {
                continue;
            };
            let total = |field: fn(&Run) -> f64| runs.iter().map(|r| field(r)).sum::<f64>();
            let frames = total(|r| r.frames as f64);
            let syscalls = total(|r| r.syscalls as f64);
            rows.push(Row {
                mode: first.mode.label(),
                driver: first.report.driver,
                path: path.path.clone(),
                access: path.access,
                workload: m.workload.clone(),
                boots: boots.len(),
                runs: runs.len(),
                mb_per_s,
                mb_per_cpu_s: stat(Run::mb_per_cpu_s),
                frames_per_s,
                ops_per_s,
                syscalls_per_frame: syscalls / frames,
                syscalls_per_op: syscalls / total(|r| r.ops as f64),
                present_us_per_frame: total(|r| r.present_seconds) * 1e6 / frames,
                memcpy_fraction: mb_per_s.scaled(memcpy.median),
                memcpy_mb_per_s: memcpy.median,
                null_syscall_us,
                samples: runs.iter().map(|r| r.mb_per_s()).collect(),
            });
        }
    }
    rows
}

/// The page flips of one DRM path in one mode, every boot's flip runs pooled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlipRow {
    pub mode: String,
    pub driver: Driver,
    pub path: String,
    pub boots: usize,
    /// Flip runs (one per round of each boot), and the flips timed in them all.
    pub runs: usize,
    pub flips: usize,
    /// Request to event read, ms, every flip pooled.
    pub latency_ms: Percentiles,
    /// Flips per second of each run.
    pub flips_per_s: Stat,
    /// Busy CPU time per flip, ms, all guest CPUs counted (to the 10 ms tick of a run).
    pub cpu_ms_per_flip: Stat,
    /// Every flip's latency, ms, for intervals of ratios.
    #[serde(skip)]
    pub latency_samples: Vec<f64>,
    /// Every run's flips per second, for intervals of ratios.
    #[serde(skip)]
    pub rate_samples: Vec<f64>,
    /// Every run's busy CPU ms per flip, likewise.
    #[serde(skip)]
    pub cpu_samples: Vec<f64>,
}

/// One row per mode and path that flipped, each boot of a driver pooled.
pub fn flip_rows(guests: &[GuestRun]) -> Vec<FlipRow> {
    let mut rows = Vec::new();
    for boots in groups(guests) {
        let Some(first) = boots.first() else {
            continue;
        };
        for path in first.report.paths.iter().filter(|p| !p.flips.is_empty()) {
            let runs: Vec<&FlipRun> = boots
                .iter()
                .flat_map(|g| g.report.paths.iter().filter(|p| p.path == path.path))
                .flat_map(|p| &p.flips)
                .collect();
            let latency_samples: Vec<f64> = runs
                .iter()
                .flat_map(|r| r.latencies_us.iter().map(|us| us / 1e3))
                .collect();
            let rate_samples: Vec<f64> = runs.iter().map(|r| r.flips_per_s()).collect();
            let cpu_samples: Vec<f64> = runs.iter().map(|r| r.cpu_ms_per_flip()).collect();
            let (Some(latency_ms), Some(flips_per_s), Some(cpu_ms_per_flip)) = (
                Percentiles::of(latency_samples.iter().copied()),
                Stat::of(rate_samples.iter().copied()),
                Stat::of(cpu_samples.iter().copied()),
            ) else {
                continue;
            };
            rows.push(FlipRow {
                mode: first.mode.label(),
                driver: first.report.driver,
                path: path.path.clone(),
                boots: boots.len(),
                runs: runs.len(),
                flips: latency_samples.len(),
                latency_ms,
                flips_per_s,
                cpu_ms_per_flip,
                latency_samples,
                rate_samples,
                cpu_samples,
            });
        }
    }
    rows
}

/// The dumb buffers of one size that one DRM path gave, in one mode, every boot pooled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BufferRow {
    pub mode: String,
    pub driver: Driver,
    pub path: String,
    pub width: u32,
    pub height: u32,
    pub boots: usize,
    /// Buffers given before the refusal (or the cap), per boot.
    pub given: Stat,
    /// The errno that refused the next one, if every boot was refused and with the same one.
    pub refused_errno: Option<i32>,
    /// Mean µs per `CREATE_DUMB` of each boot (all its rounds' creates timed together).
    pub create_us: Stat,
}

/// One row per mode, DRM path and buffer size, each boot of a driver pooled.
pub fn buffer_rows(guests: &[GuestRun]) -> Vec<BufferRow> {
    let mut rows = Vec::new();
    for boots in groups(guests) {
        let Some(first) = boots.first() else {
            continue;
        };
        for path in first.report.paths.iter().filter(|p| !p.buffers.is_empty()) {
            for size in &path.buffers {
                let counts: Vec<&BufferCount> = boots
                    .iter()
                    .flat_map(|g| g.report.paths.iter().filter(|p| p.path == path.path))
                    .flat_map(|p| &p.buffers)
                    .filter(|c| (c.width, c.height) == (size.width, size.height))
                    .collect();
                let (Some(given), Some(create_us)) = (
                    Stat::of(counts.iter().map(|c| c.given as f64)),
                    Stat::of(counts.iter().map(|c| c.us_per_create())),
                ) else {
                    continue;
                };
                let refused_errno = size
                    .refused_errno
                    .filter(|errno| counts.iter().all(|c| c.refused_errno == Some(*errno)));
                rows.push(BufferRow {
                    mode: first.mode.label(),
                    driver: first.report.driver,
                    path: path.path.clone(),
                    width: size.width,
                    height: size.height,
                    boots: counts.len(),
                    given,
                    refused_errno,
                    create_us,
                });
            }
        }
    }
    rows
}

/// Finds the row of `path` and `workload` in `mode`.
pub fn find<'a>(rows: &'a [Row], mode: &str, path: &str, workload: &str) -> Option<&'a Row> {
    rows.iter()
        .find(|r| r.mode == mode && r.path == path && r.workload == workload)
}

/// Median MB/s of `path` over median MB/s of `over`, same mode and workload, with its
/// bootstrap interval.
pub fn ratio(rows: &[Row], mode: &str, workload: &str, path: &str, over: &str) -> Option<Interval> {
    let a = find(rows, mode, path, workload)?;
    let b = find(rows, mode, over, workload)?;
    ratio_of_medians(&a.samples, &b.samples)
}

/// A path's cost per call: `fixed_us + ns_per_byte * bytes / 1000` µs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostModel {
    pub mode: String,
    pub path: String,
    /// µs every call costs, whatever its size.
    pub fixed_us: Interval,
    /// ns each byte costs.
    pub ns_per_byte: Interval,
    /// The size at which the two halves are equal (`fixed / per-byte`): below it the fixed
    /// cost dominates.
    pub break_even_bytes: f64,
    /// The worst relative error of the fit at a measured size.
    pub worst_error: f64,
}

/// A point of the sweep: bytes per call, and the runs' µs per call.
pub struct SweepPoint {
    pub bytes: f64,
    pub us_per_call: Vec<f64>,
}

/// Fits `t = a + b n` to the medians of the points, weighted by 1 / t² (so every size counts
/// by its relative error, not the largest by its absolute one); intervals by resampling
/// each size's runs.
pub fn fit_cost_model(mode: &str, path: &str, points: &[SweepPoint]) -> Option<CostModel> {
    let medians: Vec<(f64, f64)> = points
        .iter()
        .map(|p| Some((p.bytes, median(&p.us_per_call)?)))
        .collect::<Option<_>>()?;
    let (a, b) = weighted_line(&medians)?;
    let mut random = Random(BOOTSTRAP_SEED);
    let mut resampled = Vec::new();
    let (mut fixed, mut per_byte) = (Vec::new(), Vec::new());
    for _ in 0..RESAMPLES / 4 {
        let sample: Vec<(f64, f64)> = points
            .iter()
            .map(|p| {
                random.resample(&p.us_per_call, &mut resampled);
                (p.bytes, median(&resampled).unwrap_or(f64::NAN))
            })
            .collect();
        if let Some((a, b)) = weighted_line(&sample) {
            fixed.push(a);
            per_byte.push(b * 1000.0);
        }
    }
    let worst_error = medians
        .iter()
        .map(|&(n, t)| ((a + b * n) / t - 1.0).abs())
        .fold(0.0, f64::max);
    Some(CostModel {
        mode: mode.into(),
        path: path.into(),
        fixed_us: interval(a, fixed),
        ns_per_byte: interval(b * 1000.0, per_byte),
        break_even_bytes: if b > 0.0 { a / b } else { f64::INFINITY },
        worst_error,
    })
}

/// Weighted least squares for `t = a + b n`, weights `1 / t²`.
fn weighted_line(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    let (mut sw, mut sn, mut st, mut snn, mut snt) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for &(n, t) in points {
        if t.is_nan() || t <= 0.0 {
            return None;
        }
        let w = 1.0 / (t * t);
        sw += w;
        sn += w * n;
        st += w * t;
        snn += w * n * n;
        snt += w * n * t;
    }
    let det = sw * snn - sn * sn;
    if points.len() < 2 || det.abs() < f64::EPSILON * sw * snn {
        return None;
    }
    let b = (sw * snt - sn * st) / det;
    let a = (st - b * sn) / sw;
    Some((a, b))
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

    #[test]
    fn percentiles_are_nearest_ranks() {
        let p = Percentiles::of((1..=11).map(f64::from).chain([f64::NAN])).unwrap();
        assert_eq!((p.p10, p.median, p.p90), (2.0, 6.0, 10.0));
        assert_eq!(Percentiles::of([]), None);
    }

    #[test]
    fn ratio_intervals_hold_the_ratio_and_separate_real_differences() {
        let a = [10.0, 11.0, 9.0, 10.5, 9.5, 10.2];
        let b = [5.0, 5.5, 4.5, 5.2, 4.8, 5.1];
        let r = ratio_of_medians(&a, &b).unwrap();
        assert!((r.value - 10.1 / 5.05).abs() < 1e-9, "{r:?}");
        assert!(
            r.low <= r.value && r.value <= r.high && r.low > 1.5 && r.high < 2.5,
            "{r:?}"
        );
        assert!(!r.contains_one());
        // Two samples from the same spread: the interval holds 1.
        let same = ratio_of_medians(&a, &[10.1, 9.4, 10.6, 9.9, 10.4, 9.6]).unwrap();
        assert!(same.contains_one(), "{same:?}");
        assert_eq!(ratio_of_medians(&a, &[]), None);
    }

    #[test]
    fn the_cost_model_recovers_a_known_line() {
        // 2 µs per call plus 0.5 ns per byte, with ±1% noise that alternates.
        let points: Vec<SweepPoint> = [4.0, 64.0, 1024.0, 4096.0, 65536.0, 3145728.0]
            .iter()
            .map(|&n| SweepPoint {
                bytes: n,
                us_per_call: [0.99, 1.01, 1.0, 0.995, 1.005]
                    .iter()
                    .map(|k| k * (2.0 + 0.0005 * n))
                    .collect(),
            })
            .collect();
        let model = fit_cost_model("m", "p", &points).unwrap();
        assert!((model.fixed_us.value - 2.0).abs() < 0.02, "{model:?}");
        assert!((model.ns_per_byte.value - 0.5).abs() < 0.005, "{model:?}");
        assert!(
            model.fixed_us.low <= 2.0 && 2.0 <= model.fixed_us.high,
            "{model:?}"
        );
        assert!((model.break_even_bytes - 4000.0).abs() < 100.0, "{model:?}");
        assert!(model.worst_error < 0.01, "{model:?}");
        assert!(
            fit_cost_model("m", "p", &points[..1]).is_none(),
            "one size fits no line"
        );
    }
}
