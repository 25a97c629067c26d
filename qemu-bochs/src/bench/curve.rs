//! The sweep's answer: mmap over write at every call size, with intervals, and each path's
//! per-call cost model, which says why the ratio moves with the size.

use bochsfb_bench::paths::PATHS;
use bochsfb_bench::{sweep, Workload};
use serde::{Deserialize, Serialize};

use super::stats::{self, CostModel, FlipRow, Interval, Row, SweepPoint};

/// mmap over write for one write-style path at one call size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    pub mode: String,
    /// The write-style path.
    pub path: String,
    /// Its mmap counterpart (same driver and device).
    pub mmap_path: String,
    /// `calls of 4 B`…
    pub workload: String,
    pub bytes_per_call: f64,
    /// MB/s of the mmap path over MB/s of the write path.
    pub ratio: Interval,
}

/// The [`NamedRatio::workload`] of the ratio of two paths' median flip latencies (below 1,
/// `path` shows a flip sooner), of their flip rates, and of their busy CPU time per flip
/// (below 1, `path`'s flips cost less).
pub const FLIP_LATENCY: &str = "page-flip latency";
pub const FLIP_RATE: &str = "page flips per second";
pub const FLIP_CPU: &str = "busy CPU per page flip";

/// A ratio of two paths' MB/s in one workload (or their flip latency or rate, see
/// [`FLIP_LATENCY`]), with its interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedRatio {
    pub mode: String,
    pub workload: String,
    pub path: String,
    pub over: String,
    pub ratio: Interval,
}

/// Every ratio the report shows: each write-style path's mmap counterpart over it, and ours
/// over the peers ([`super::report::PEERS`]), in every workload and mode measured, and in
/// page flips where both flipped.
pub fn ratios(rows: &[Row], flips: &[FlipRow]) -> Vec<NamedRatio> {
    let mut pairs: Vec<(&str, &str)> = PATHS
        .iter()
        .filter_map(|p| Some((p.mmap_counterpart()?.name, p.name)))
        .collect();
    pairs.extend_from_slice(super::report::PEERS);
    let mut ratios = Vec::new();
    for mode in modes(rows) {
        for workload in bochsfb_bench::WORKLOADS.map(|w| w.name()) {
            for &(path, over) in &pairs {
                if let Some(ratio) = stats::ratio(rows, &mode, &workload, path, over) {
                    ratios.push(NamedRatio {
                        mode: mode.clone(),
                        workload: workload.clone(),
                        path: path.into(),
                        over: over.into(),
                        ratio,
                    });
                }
            }
        }
        for &(path, over) in super::report::PEERS {
            let find = |name: &str| flips.iter().find(|f| f.mode == mode && f.path == name);
            let (Some(ours), Some(theirs)) = (find(path), find(over)) else {
                continue;
            };
            for (workload, a, b) in [
                (FLIP_LATENCY, &ours.latency_samples, &theirs.latency_samples),
                (FLIP_RATE, &ours.rate_samples, &theirs.rate_samples),
                (FLIP_CPU, &ours.cpu_samples, &theirs.cpu_samples),
            ] {
                // Over a median of 0 ms per flip (runs under one CPU tick) there is no ratio.
                let ratio = stats::ratio_of_medians(a, b).filter(|r| r.value.is_finite());
                if let Some(ratio) = ratio {
                    ratios.push(NamedRatio {
                        mode: mode.clone(),
                        workload: workload.into(),
                        path: path.into(),
                        over: over.into(),
                        ratio,
                    });
                }
            }
        }
    }
    ratios
}

/// The sweep's workloads, smallest call first.
pub fn sweep_workloads() -> Vec<String> {
    sweep().map(|size| Workload::Calls(size).name()).collect()
}

/// Every write-style path's ratio curve, in every mode measured.
pub fn points(rows: &[Row]) -> Vec<CurvePoint> {
    let mut points = Vec::new();
    for mode in modes(rows) {
        for path in PATHS.iter().filter(|p| p.is_write_style()) {
            let Some(mmap) = path.mmap_counterpart() else {
                continue;
            };
            for workload in sweep_workloads() {
                let (Some(write), Some(ratio)) = (
                    stats::find(rows, &mode, path.name, &workload),
                    stats::ratio(rows, &mode, &workload, mmap.name, path.name),
                ) else {
                    continue;
                };
                points.push(CurvePoint {
                    mode: mode.clone(),
                    path: path.name.into(),
                    mmap_path: mmap.name.into(),
                    workload,
                    bytes_per_call: write.bytes_per_op(),
                    ratio,
                });
            }
        }
    }
    points
}

/// Every path's cost model, fitted to its sweep, in every mode measured.
pub fn models(rows: &[Row]) -> Vec<CostModel> {
    let mut models = Vec::new();
    for mode in modes(rows) {
        for path in PATHS {
            let points: Vec<SweepPoint> = sweep_workloads()
                .iter()
                .filter_map(|w| stats::find(rows, &mode, path.name, w))
                .map(|row| {
                    let bytes = row.bytes_per_op();
                    SweepPoint {
                        bytes,
                        // bytes / (MB/s) is µs.
                        us_per_call: row
                            .samples
                            .iter()
                            .map(|mb_per_s| bytes / mb_per_s)
                            .collect(),
                    }
                })
                .collect();
            if let Some(model) = stats::fit_cost_model(&mode, path.name, &points) {
                models.push(model);
            }
        }
    }
    models
}

/// Where a write path stands against mmap: the sizes at which mmap is measurably faster, and
/// the first size from which it is not (its interval reaches 1 or below), with whether write
/// is then measurably faster anywhere.
pub fn crossover(points: &[CurvePoint], mode: &str, path: &str) -> Option<String> {
    let curve: Vec<&CurvePoint> = points
        .iter()
        .filter(|p| p.mode == mode && p.path == path)
        .collect();
    let (first, last) = (curve.first()?, curve.last()?);
    let size = |p: &CurvePoint| p.workload.trim_start_matches("calls of ").to_string();
    let Some(from) = curve.iter().position(|p| p.ratio.low <= 1.0) else {
        return Some(format!(
            "{path}: {} wins at every size, {} at {} calls down to {} at {}",
            first.mmap_path,
            times(first.ratio.value),
            size(first),
            times(last.ratio.value),
            size(last),
        ));
    };
    let tail = &curve[from..];
    let write_wins = tail
        .iter()
        .copied()
        .filter(|p| p.ratio.high < 1.0)
        .min_by(|a, b| a.ratio.value.total_cmp(&b.ratio.value));
    let after = match write_wins {
        None => format!(
            "no difference could be measured ({:.2}× [{:.2}–{:.2}] there)",
            tail[0].ratio.value, tail[0].ratio.low, tail[0].ratio.high
        ),
        Some(best) => format!(
            "mmap is no faster, and write is measurably faster at {} (mmap {:.2}× [{:.2}–{:.2}] of it)",
            size(best),
            best.ratio.value,
            best.ratio.low,
            best.ratio.high
        ),
    };
    Some(if from == 0 {
        format!(
            "{path}: at no size is {} measurably faster; {after}",
            first.mmap_path
        )
    } else {
        let before = curve[from - 1];
        format!(
            "{path}: {} wins {} at {} calls, {} at {}; from {} up {after}",
            first.mmap_path,
            times(first.ratio.value),
            size(first),
            times(before.ratio.value),
            size(before),
            size(tail[0]),
        )
    })
}

pub fn times(ratio: f64) -> String {
    if ratio >= 10.0 {
        format!("{ratio:.0}×")
    } else {
        format!("{ratio:.2}×")
    }
}

fn modes(rows: &[Row]) -> Vec<String> {
    let mut modes: Vec<String> = Vec::new();
    for row in rows {
        if !modes.contains(&row.mode) {
            modes.push(row.mode.clone());
        }
    }
    modes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(workload: &str, value: f64, low: f64, high: f64) -> CurvePoint {
        CurvePoint {
            mode: "m".into(),
            path: "w".into(),
            mmap_path: "mm".into(),
            workload: format!("calls of {workload}"),
            bytes_per_call: 0.0,
            ratio: Interval { value, low, high },
        }
    }

    #[test]
    fn the_crossover_is_the_first_size_without_a_difference() {
        let curve = [
            point("4 B", 40.0, 35.0, 45.0),
            point("1 KiB", 3.0, 2.5, 3.5),
            point("64 KiB", 1.05, 0.95, 1.1),
            point("1 frame", 0.98, 0.9, 1.03),
        ];
        let text = crossover(&curve, "m", "w").unwrap();
        assert!(
            text.contains("wins 40× at 4 B calls, 3.00× at 1 KiB; from 64 KiB up"),
            "{text}"
        );
        let always = crossover(&curve[..2], "m", "w").unwrap();
        assert!(
            always.contains("wins at every size, 40× at 4 B calls down to 3.00× at 1 KiB"),
            "{always}"
        );
        let never = crossover(&curve[2..], "m", "w").unwrap();
        assert!(
            never.contains("at no size is mm measurably faster"),
            "{never}"
        );
        // Write faster at the large end: said so, with the size where it wins most.
        let faster = [
            point("1 KiB", 3.0, 2.5, 3.5),
            point("64 KiB", 0.7, 0.6, 0.8),
            point("1 frame", 0.6, 0.5, 0.7),
        ];
        let text = crossover(&faster, "m", "w").unwrap();
        assert!(
            text.contains("from 64 KiB up mmap is no faster, and write is measurably faster at 1 frame (mmap 0.60× [0.50–0.70] of it)"),
            "{text}"
        );
        assert_eq!(crossover(&curve, "other", "w"), None);
    }
}
