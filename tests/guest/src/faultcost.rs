//! `faultcost`: what one fault per page costs against mapping a whole vma at its first fault
//! (docs/ldd3.md, "nopage -> fault").
//!
//! Each run maps the whole frame twice, shared and writable: once in the write-combined region
//! (offset 0), whose first fault maps the whole vma, and once in the on-demand region
//! (`1 << 32`), where every page faults on its own. It writes one word to each page, timed (the
//! first touch), then again (the second touch: every page is mapped, no fault is left). A
//! fresh mapping of each region also has only its first page touched, timed: what the first
//! access costs when the rest is never used. The regions alternate which goes first from run
//! to run, after one warm-up run that is not counted.
//!
//! Besides the table (median, quartiles, min and max over the runs; the ratios are taken run by
//! run), it checks the page fault counts (`getrusage`'s minor faults): one for the first touch
//! of a write-combined mapping, one per page for an on-demand one, none for a second touch.
//!
//! The guest kernel's clock is jiffies (no HPET or PM timer to calibrate the TSC against), so
//! `CLOCK_MONOTONIC` moves in 4 ms steps, and under TCG it loses ticks while the CPU is busy
//! (a 10 s spin by the guest clock took 24 s on the host). Touches are timed with `rdtsc`
//! instead, which QEMU's TCG serves from the host's TSC; `--tsc-mhz` (the host's TSC rate, as
//! its kernel log says: `tsc: Detected ... MHz`) turns ticks into microseconds. Without it the
//! rate is counted over half a second of the guest clock, and the microseconds are too small.

use std::hint::black_box;
use std::ptr;
use std::time::{Duration, Instant};

use bochsfb_renderer::abi::{mmap_region, BochsfbMode};
use libc::MAP_SHARED;

use crate::device::{page_size, Device, Mapping};
use crate::report::{describe, Report};

/// The two regions compared.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Region {
    /// The first fault maps the whole vma (`Card::fault`, region 0).
    AllAtOnce,
    /// Each fault maps its own page (`Card::fault`, region 1).
    OnDemand,
}

impl Region {
    fn offset(self) -> u64 {
        match self {
            Region::AllAtOnce => mmap_region::WRITE_COMBINED,
            Region::OnDemand => mmap_region::ON_DEMAND,
        }
    }
}

/// One region's figures from one run.
#[derive(Clone, Copy, Default)]
struct Sample {
    /// First write to every page of a fresh whole-frame mapping, in ticks.
    first: u64,
    first_faults: i64,
    /// Second write to every page of the same mapping.
    second: u64,
    second_faults: i64,
    /// First write to the first page only of another fresh mapping.
    one_page: u64,
    one_page_faults: i64,
}

/// A fine-grained tick count: the TSC on x86-64, elsewhere nanoseconds of `Instant`.
fn ticks() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: rdtsc only reads the time stamp counter, which user space may read on Linux.
        unsafe { core::arch::x86_64::_rdtsc() }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        START.get_or_init(Instant::now).elapsed().as_nanos() as u64
    }
}

/// Ticks per microsecond, counted over at least `window` of the monotonic clock, from one step
/// of that clock to another (it may move in jiffies).
fn ticks_per_us(window: Duration) -> f64 {
    let step = || {
        let start = Instant::now();
        loop {
            let now = Instant::now();
            if now != start {
                return (now, ticks());
            }
        }
    };
    let (t0, c0) = step();
    loop {
        let (t1, c1) = step();
        let elapsed = t1 - t0;
        if elapsed >= window {
            return (c1 - c0) as f64 / (elapsed.as_secs_f64() * 1e6);
        }
    }
}

/// Minor page faults of this process so far.
fn minor_faults() -> i64 {
    // SAFETY: getrusage writes one `rusage` into the zeroed struct it is given.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage.ru_minflt
    }
}

/// Writes one word at the start of each of the first `pages` pages of `mapping`; returns the
/// ticks it took and the minor faults it caused.
fn touch(mapping: &Mapping, pages: usize, value: u32) -> (u64, i64) {
    let page = page_size();
    let base = mapping.as_ptr();
    let faults = minor_faults();
    let start = ticks();
    for i in 0..pages {
        // SAFETY: `i * page` lies inside the mapping (at most its page count), page aligned, so
        // the word is aligned and mapped shared and writable; no Rust reference points into it.
        unsafe { ptr::write_volatile(base.add(i * page).cast::<u32>(), black_box(value)) };
    }
    let elapsed = ticks() - start;
    (elapsed, minor_faults() - faults)
}

fn sample(device: &Device, region: Region, len: usize, run: u32) -> Result<Sample, String> {
    let pages = len / page_size();
    let map = || {
        device.mmap(len, region.offset(), MAP_SHARED).map_err(|e| {
            format!(
                "mmap {len} bytes at {:#x}: {}",
                region.offset(),
                describe(&e)
            )
        })
    };
    let value = 0x0010_1010 * (run % 8);
    let mapping = map()?;
    let (first, first_faults) = touch(&mapping, pages, value);
    let (second, second_faults) = touch(&mapping, pages, value);
    drop(mapping);
    let mapping = map()?;
    let (one_page, one_page_faults) = touch(&mapping, 1, value);
    drop(mapping);
    Ok(Sample {
        first,
        first_faults,
        second,
        second_faults,
        one_page,
        one_page_faults,
    })
}

/// Median, quartiles, minimum and maximum of `values`.
fn spread(values: &[f64]) -> [f64; 5] {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let at = |q: f64| {
        // Linear interpolation between the closest ranks.
        let pos = q * (sorted.len() - 1) as f64;
        let (low, high) = (pos.floor() as usize, pos.ceil() as usize);
        sorted[low] + (sorted[high] - sorted[low]) * (pos - low as f64)
    };
    [
        at(0.5),
        at(0.25),
        at(0.75),
        sorted[0],
        sorted[sorted.len() - 1],
    ]
}

fn row(name: &str, values: &[f64], unit: &str) {
    let [median, q1, q3, min, max] = spread(values);
    println!("{name:<44} {median:>9.2} {unit:<3} [{q1:.2}-{q3:.2}]  {min:.2}-{max:.2}");
}

fn median_faults(samples: &[Sample], f: impl Fn(&Sample) -> i64) -> i64 {
    let mut faults: Vec<i64> = samples.iter().map(f).collect();
    faults.sort_unstable();
    faults[faults.len() / 2]
}

/// Runs the comparison on the visible frame of `mode` (`stride * height` bytes; the rows
/// below it, up to `fb_size`, are left out).
/// `tsc_mhz`: the TSC's rate, if known (see the module's documentation).
pub fn run(
    device: &Device,
    mode: &BochsfbMode,
    runs: u32,
    tsc_mhz: Option<f64>,
    report: &mut Report,
) {
    let page = page_size();
    let len = (mode.stride as usize * mode.height as usize).next_multiple_of(page);
    let pages = len / page;
    let (per_us, rate) = match tsc_mhz {
        Some(mhz) => (mhz, "given"),
        None => (
            ticks_per_us(Duration::from_millis(500)),
            "counted against the guest clock",
        ),
    };
    let mut at_once = Vec::with_capacity(runs as usize);
    let mut on_demand = Vec::with_capacity(runs as usize);
    // Run 0 warms up (caches, page tables of this process) and is not counted.
    for run in 0..=runs {
        let order = if run % 2 == 0 {
            [Region::AllAtOnce, Region::OnDemand]
        } else {
            [Region::OnDemand, Region::AllAtOnce]
        };
        for region in order {
            let outcome = match sample(device, region, len, run) {
                Ok(sample) => sample,
                Err(why) => return report.check("map and touch the frame", Err(why)),
            };
            if run > 0 {
                match region {
                    Region::AllAtOnce => at_once.push(outcome),
                    Region::OnDemand => on_demand.push(outcome),
                }
            }
        }
    }

    println!(
        "faultcost: {pages} pages ({len} bytes) per mapping, {runs} runs, {per_us:.0} ticks/us ({rate}); \
         median [quartiles] min-max"
    );
    let us = |samples: &[Sample], f: fn(&Sample) -> u64| -> Vec<f64> {
        samples.iter().map(|s| f(s) as f64 / per_us).collect()
    };
    // Run by run: `over` of a run divided by `under` of the same run.
    let ratio = |over: &[Sample], under: &[Sample], f: fn(&Sample) -> u64| -> Vec<f64> {
        over.iter()
            .zip(under)
            .map(|(o, u)| f(o) as f64 / f(u) as f64)
            .collect()
    };
    // What the faults added: the first touch less the second, per page.
    let fault_per_page = |samples: &[Sample]| -> Vec<f64> {
        samples
            .iter()
            .map(|s| s.first.saturating_sub(s.second) as f64 / per_us / pages as f64)
            .collect()
    };
    row(
        "first touch, every page: all at once (0)",
        &us(&at_once, |s| s.first),
        "us",
    );
    row(
        "first touch, every page: on demand (1)",
        &us(&on_demand, |s| s.first),
        "us",
    );
    row(
        "  on demand / all at once",
        &ratio(&on_demand, &at_once, |s| s.first),
        "x",
    );
    row(
        "  all at once: (first - second) / pages",
        &fault_per_page(&at_once),
        "us",
    );
    row(
        "  on demand: (first - second) / pages",
        &fault_per_page(&on_demand),
        "us",
    );
    row(
        "second touch, every page: all at once",
        &us(&at_once, |s| s.second),
        "us",
    );
    row(
        "second touch, every page: on demand",
        &us(&on_demand, |s| s.second),
        "us",
    );
    row(
        "  on demand / all at once",
        &ratio(&on_demand, &at_once, |s| s.second),
        "x",
    );
    row(
        "first touch, one page: all at once",
        &us(&at_once, |s| s.one_page),
        "us",
    );
    row(
        "first touch, one page: on demand",
        &us(&on_demand, |s| s.one_page),
        "us",
    );
    row(
        "  all at once / on demand",
        &ratio(&at_once, &on_demand, |s| s.one_page),
        "x",
    );

    let expect = |name: &str, got: i64, want: i64| {
        if got == want {
            Ok(())
        } else {
            Err(format!(
                "{name}: median {got} minor faults, expected {want}"
            ))
        }
    };
    report.check(
        "all at once: the first touch of the frame is one fault",
        expect(
            "first touch",
            median_faults(&at_once, |s| s.first_faults),
            1,
        ),
    );
    report.check(
        &format!("on demand: the first touch of the frame is one fault per page ({pages})"),
        expect(
            "first touch",
            median_faults(&on_demand, |s| s.first_faults),
            pages as i64,
        ),
    );
    report.check(
        "a second touch faults nowhere",
        expect(
            "all at once",
            median_faults(&at_once, |s| s.second_faults),
            0,
        )
        .and(expect(
            "on demand",
            median_faults(&on_demand, |s| s.second_faults),
            0,
        )),
    );
    report.check(
        "touching one page is one fault in either region",
        expect(
            "all at once",
            median_faults(&at_once, |s| s.one_page_faults),
            1,
        )
        .and(expect(
            "on demand",
            median_faults(&on_demand, |s| s.one_page_faults),
            1,
        )),
    );
}
