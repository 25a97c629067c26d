//! `faultcost`: what one fault per page costs against mapping a whole vma at its first fault
//! (docs/ldd3.md, "nopage -> fault").
//!
//! Each run maps the visible frame, shared and writable, in the write-combined region
//! (offset 0), whose first fault maps the whole vma, and in the on-demand region (`1 << 32`),
//! where every page faults on its own, and writes one word to each page: timed as one pass (the
//! first touch), then again (the second touch: every page is mapped, no fault is left). More
//! fresh mappings of each region have only their first page written, timed, and one more has
//! every write timed on its own. The regions alternate which goes first from run to run, after
//! one warm-up run that is not counted.
//!
//! A whole pass takes milliseconds under TCG, long enough for the host to preempt the emulator
//! in the middle of it on a busy machine, and the longer pass more often: their ratio grows
//! with the host's load. The per-write figures leave the preemptions out (the median of a
//! run's writes, the fastest of its first writes) and stay put.
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
    /// The first fault maps the whole vma (`FbCard::fault`, region 0).
    AllAtOnce,
    /// Each fault maps its own page (`FbCard::fault`, region 1).
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

/// One region's figures from one run, in ticks.
#[derive(Clone, Default)]
struct Sample {
    /// First write to every page of a fresh whole-frame mapping.
    first: u64,
    first_faults: i64,
    /// Second write to every page of the same mapping.
    second: u64,
    second_faults: i64,
    /// First write to the first page only of a fresh mapping: the fastest of
    /// [`ONE_PAGE_TRIES`], each on a mapping of its own.
    one_page: u64,
    one_page_faults: i64,
    /// First write to every page of a third fresh mapping, each write timed on its own: a
    /// preemption of the emulator by the host spoils one of them, not the whole pass.
    each: Vec<u64>,
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

/// Fresh mappings whose first write is timed, per region and run; the fastest counts. The
/// fault that fills a whole vma takes about a millisecond, long enough for the host to preempt
/// the emulator in the middle of some of them; preemption only ever adds time.
const ONE_PAGE_TRIES: usize = 3;

/// Like [`touch`], but times each write on its own, into `each` (one entry per page).
fn touch_each(mapping: &Mapping, pages: usize, value: u32, each: &mut Vec<u64>) {
    let page = page_size();
    let base = mapping.as_ptr();
    each.clear();
    for i in 0..pages {
        let start = ticks();
        // SAFETY: as in `touch`.
        unsafe { ptr::write_volatile(base.add(i * page).cast::<u32>(), black_box(value)) };
        each.push(ticks() - start);
    }
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
    // Allocated before anything is timed, so no timed write shares a fault with the heap.
    let mut each = Vec::with_capacity(pages);
    let mapping = map()?;
    let (first, first_faults) = touch(&mapping, pages, value);
    let (second, second_faults) = touch(&mapping, pages, value);
    drop(mapping);
    let (mut one_page, mut one_page_faults) = (u64::MAX, 0);
    for _ in 0..ONE_PAGE_TRIES {
        let mapping = map()?;
        let (ticks, faults) = touch(&mapping, 1, value);
        if ticks < one_page {
            (one_page, one_page_faults) = (ticks, faults);
        }
    }
    let mapping = map()?;
    touch_each(&mapping, pages, value, &mut each);
    drop(mapping);
    Ok(Sample {
        first,
        first_faults,
        second,
        second_faults,
        one_page,
        one_page_faults,
        each,
    })
}

/// The median of `values`.
fn median(values: &[u64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let mid = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) as f64 / 2.0
    } else {
        sorted[mid] as f64
    }
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
    let us = |samples: &[Sample], f: &dyn Fn(&Sample) -> f64| -> Vec<f64> {
        samples.iter().map(|s| f(s) / per_us).collect()
    };
    // Run by run: `over` of a run divided by `under` of the same run.
    let ratio = |over: &[Sample], under: &[Sample], f: &dyn Fn(&Sample) -> f64| -> Vec<f64> {
        over.iter().zip(under).map(|(o, u)| f(o) / f(u)).collect()
    };
    let first = |s: &Sample| s.first as f64;
    let second = |s: &Sample| s.second as f64;
    println!("-- each pass timed as one:");
    row(
        "first touch, every page: all at once (0)",
        &us(&at_once, &first),
        "us",
    );
    row(
        "first touch, every page: on demand (1)",
        &us(&on_demand, &first),
        "us",
    );
    row(
        "  on demand / all at once",
        &ratio(&on_demand, &at_once, &first),
        "x",
    );
    row(
        "second touch, every page: all at once",
        &us(&at_once, &second),
        "us",
    );
    row(
        "second touch, every page: on demand",
        &us(&on_demand, &second),
        "us",
    );
    row(
        "  on demand / all at once",
        &ratio(&on_demand, &at_once, &second),
        "x",
    );

    // Without the host's preemptions. The first write to a fresh mapping is the fault that maps
    // the whole vma (all at once) or one page (on demand): the fastest of the tries and the
    // first write of the pass that times each write. The other writes of that pass find their
    // page mapped (all at once) or take one fault each (on demand): their median.
    let first_write = |s: &Sample| s.one_page.min(s.each[0]) as f64;
    let later_write = |s: &Sample| median(&s.each[1..]);
    let fill_per_page = |s: &Sample| first_write(s) / pages as f64;
    let whole_pass = |s: &Sample| first_write(s) + later_write(s) * (pages - 1) as f64;
    println!("-- each write timed on its own, preemptions left out:");
    row(
        "all at once: the fault that maps the vma",
        &us(&at_once, &first_write),
        "us",
    );
    row("  per page it maps", &us(&at_once, &fill_per_page), "us");
    row(
        "  a write to a page it mapped",
        &us(&at_once, &later_write),
        "us",
    );
    row(
        "on demand: one fault, one page",
        &us(&on_demand, &later_write),
        "us",
    );
    let per_page: Vec<f64> = on_demand
        .iter()
        .zip(&at_once)
        .map(|(d, a)| later_write(d) / fill_per_page(a))
        .collect();
    row("  one fault / the whole-vma fault per page", &per_page, "x");
    row(
        "first touch, every page: all at once",
        &us(&at_once, &whole_pass),
        "us",
    );
    row(
        "first touch, every page: on demand",
        &us(&on_demand, &whole_pass),
        "us",
    );
    row(
        "  on demand / all at once",
        &ratio(&on_demand, &at_once, &whole_pass),
        "x",
    );
    row(
        "first touch, one page: all at once / on demand",
        &ratio(&at_once, &on_demand, &first_write),
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
