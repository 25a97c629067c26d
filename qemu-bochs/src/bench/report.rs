//! `results.md`: the answer to LDD3's "dramatically" per call size, the cost model that
//! explains it, the C driver counted two ways, page flips on both DRM drivers, the targets,
//! and every figure.

use std::fmt::Write;

use bochsfb_bench::paths::PATHS;
use bochsfb_bench::{Access, Driver, BUFFER_CAP, WORKLOADS};

use super::curve::{self, times, FLIP_CPU, FLIP_LATENCY, FLIP_RATE};
use super::stats::{self, FlipRow, Interval, Row, Stat};
use super::BenchResults;

/// Our paths and the peers' paths with the same access, for "ours over theirs".
pub const PEERS: &[(&str, &str)] = &[
    ("bochsfb mmap", "vesafb mmap"),
    ("bochsfb write", "vesafb write"),
    ("bochsfb pwrite", "vesafb pwrite"),
    ("bochsfb mmap", "fbdev mmap"),
    ("bochsfb mmap", "drm dumb mmap"),
    ("bochsfb dumb mmap", "drm dumb mmap"),
    ("bochsfb write", "fbdev write"),
];
/// The mode of the headline tables.
pub const HEADLINE_MODE: &str = "1024x768x32";
/// The whole report.
pub fn markdown(results: &BenchResults, charts: &[String]) -> String {
    let rows = &results.summary;
    let modes = modes(results);
    let headline = if modes.iter().any(|m| m == HEADLINE_MODE) {
        HEADLINE_MODE
    } else {
        modes.first().map_or(HEADLINE_MODE, String::as_str)
    };
    let mut md = String::new();
    let _ = writeln!(md, "# mmap versus write: results\n");
    let _ = writeln!(md, "{}\n", setup(results));

    let _ = writeln!(md, "## The answer, in {headline}\n");
    let _ = writeln!(
        md,
        "Bytes per call against mmap ÷ write (MB/s over MB/s, median of the pooled runs, 95% \
         bootstrap interval). Where the interval holds 1 the two paths could not be told apart.\n"
    );
    for path in PATHS.iter().filter(|p| p.is_write_style()) {
        if let Some(text) = curve::crossover(&results.curve, headline, path.name) {
            let _ = writeln!(md, "- {text}.");
        }
    }
    md.push('\n');
    for chart in charts {
        let _ = writeln!(md, "![{chart}]({chart})\n");
    }
    md.push_str(&ratio_table(results, headline));

    let _ = writeln!(md, "\n## Why: the cost of one call\n");
    md.push_str(&model_table(results, headline));

    let _ = writeln!(md, "\n## Throughput by bytes per call, {headline}\n");
    md.push_str(&sweep_table(rows, headline));

    let _ = writeln!(md, "\n## The C bochs driver, counted two ways\n");
    md.push_str(&c_driver_section(rows, headline));

    if results.flips.iter().any(|f| f.mode == headline) {
        let _ = writeln!(
            md,
            "\n## Page flips, from the request to its event, {headline}\n"
        );
        md.push_str(&flips_section(results, headline));
    }

    if results.buffers.iter().any(|b| b.mode == headline) {
        let _ = writeln!(md, "\n## Dumb buffers per size, {headline}\n");
        md.push_str(&buffers_section(results, headline));
    }

    let _ = writeln!(md, "\n## Workloads, MB/s in {headline}\n");
    md.push_str(&headline_table(rows, headline));

    let _ = writeln!(md, "\n## Ours over the peers\n");
    let _ = writeln!(
        md,
        "MB/s of our path over the peer's path with the same access; interval in brackets.\n"
    );
    let header: Vec<String> = PEERS.iter().map(|(a, b)| format!("{a} ÷ {b}")).collect();
    let _ = writeln!(md, "| workload | {} |", header.join(" | "));
    let _ = writeln!(md, "| --- |{}", " ---: |".repeat(PEERS.len()));
    for workload in WORKLOADS.map(|w| w.name()) {
        let cells: Vec<String> = PEERS
            .iter()
            .map(|(ours, theirs)| ratio_cell(stats::ratio(rows, headline, &workload, ours, theirs)))
            .collect();
        let _ = writeln!(md, "| {workload} | {} |", cells.join(" | "));
    }

    let _ = writeln!(md, "\n## Guest memcpy, RAM to RAM: the physical limit\n");
    let _ = writeln!(
        md,
        "Measured in every round of every boot, between the paths.\n\n\
         | mode | driver booted | boot | memcpy MB/s | getppid µs |\n| --- | --- | ---: | ---: | ---: |"
    );
    for guest in &results.guests {
        let one = [guest];
        if let Some(memcpy) = stats::memcpy(&one) {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} |",
                guest.mode.label(),
                guest.report.driver.name(),
                guest.boot + 1,
                spread(memcpy, 0),
                stats::null_syscall_us(&one).map_or("–".into(), |us| format!("{us:.2}"))
            );
        }
    }

    let _ = writeln!(md, "\n## Targets\n");
    md.push_str(&targets(rows, &modes));

    let _ = writeln!(md, "\n## What this accelerator cannot show\n");
    let _ = writeln!(md, "{}", accelerator_note(&results.accel));

    let _ = writeln!(md, "\n## All figures\n");
    let _ = writeln!(
        md,
        "Median (min–max) of the runs of every boot. A frame is one full frame for frame copy \
         and fill, all rows for scanline, 1024 sprites of 8x8 or 16 of 64x64 (64 Ki pixels), 4096 \
         pixels, or 64 KiB (at least one call) for the sweep; syscalls are the write, pwrite, \
         lseek and ioctl calls the path made; MB/CPU-s counts the busy time of every guest CPU.\n"
    );
    for mode in &modes {
        let _ = writeln!(md, "### {mode}\n");
        let _ = writeln!(
            md,
            "| path | workload | runs | MB/s | MB/CPU-s | × memcpy | frames/s | ops/s | syscalls/frame |\n\
             | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        );
        for r in rows.iter().filter(|r| &r.mode == mode) {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {:.3} | {} | {} | {} |",
                r.path,
                r.workload,
                r.runs,
                spread(r.mb_per_s, 1),
                cpu_figure(r),
                r.memcpy_fraction.median,
                number(r.frames_per_s.median, 1),
                number(r.ops_per_s.median, 0),
                number(r.syscalls_per_frame, 0),
            );
        }
        md.push('\n');
    }
    md
}

/// mmap ÷ write per call size, one column per write-style path.
fn ratio_table(results: &BenchResults, mode: &str) -> String {
    let paths: Vec<&str> = PATHS
        .iter()
        .filter(|p| p.is_write_style())
        .map(|p| p.name)
        .filter(|p| results.curve.iter().any(|c| c.mode == mode && c.path == *p))
        .collect();
    let header: Vec<String> = paths
        .iter()
        .map(|p| {
            let mmap = PATHS
                .iter()
                .find(|q| q.name == *p)
                .and_then(|q| q.mmap_counterpart())
                .map_or("?", |m| m.name);
            format!("{mmap} ÷ {p}")
        })
        .collect();
    let mut md = format!(
        "| bytes per call | {} |\n| ---: |{}\n",
        header.join(" | "),
        " ---: |".repeat(paths.len())
    );
    for workload in curve::sweep_workloads() {
        let cells: Vec<String> = paths
            .iter()
            .map(|p| {
                results
                    .curve
                    .iter()
                    .find(|c| c.mode == mode && c.path == *p && c.workload == workload)
                    .map_or("–".into(), |c| ratio_cell(Some(c.ratio)))
            })
            .collect();
        let size = workload.trim_start_matches("calls of ");
        let _ = writeln!(md, "| {size} | {} |", cells.join(" | "));
    }
    md
}

/// Every path's fitted cost per call, and what entering the kernel alone costs.
fn model_table(results: &BenchResults, mode: &str) -> String {
    let rows = &results.summary;
    let mut md = String::from(
        "Each path's µs per call over the sweep, fitted to `fixed + per-byte × bytes` (weighted by \
         relative error; intervals by resampling the runs). The fixed part is what a small call \
         pays before its bytes; for write-style paths the null system call (`getppid`, same \
         guests) is subtracted once per system call the path makes per call (lseek + write is two). \
         The break-even size is where the two parts are equal: below it the fixed part dominates, \
         which is where mmap wins.\n\n\
         | path | fixed µs/call | ns/byte | MB/s limit | driver µs/call beyond the syscall | break-even | worst fit error |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for model in results.models.iter().filter(|m| m.mode == mode) {
        let beyond = stats::find(rows, mode, &model.path, &curve::sweep_workloads()[0])
            .filter(|r| r.syscalls_per_op > 0.0)
            .and_then(|r| Some(model.fixed_us.value - r.null_syscall_us? * r.syscalls_per_op))
            .map_or("–".into(), |us| format!("{us:.2}"));
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {beyond} | {} | {:.0}% |",
            model.path,
            interval_cell(model.fixed_us, 2),
            interval_cell(model.ns_per_byte, 3),
            number(1000.0 / model.ns_per_byte.value, 0),
            bytes(model.break_even_bytes),
            model.worst_error * 100.0,
        );
    }
    md
}

/// MB/s and calls per second of every path at every size.
fn sweep_table(rows: &[Row], mode: &str) -> String {
    let sizes = curve::sweep_workloads();
    let mut md = format!(
        "MB/s, then calls per second, median.\n\n| path | {} |\n| --- |{}\n",
        sizes
            .iter()
            .map(|w| w.trim_start_matches("calls of "))
            .collect::<Vec<_>>()
            .join(" | "),
        " ---: |".repeat(sizes.len())
    );
    for path in PATHS {
        let cells: Vec<String> = sizes
            .iter()
            .map(|w| {
                stats::find(rows, mode, path.name, w).map_or("–".into(), |r| {
                    format!(
                        "{} / {}",
                        number(r.mb_per_s.median, 1),
                        number(r.ops_per_s.median, 0)
                    )
                })
            })
            .collect();
        if cells.iter().any(|c| c != "–") {
            let _ = writeln!(md, "| {} | {} |", path.name, cells.join(" | "));
        }
    }
    md
}

/// The C driver's fbdev paths by wall time and by busy CPU time, and what each present costs.
fn c_driver_section(rows: &[Row], mode: &str) -> String {
    let mut md = String::from(
        "The C driver's `/dev/fb0` is its fbdev emulation: `write()` and stores land in a RAM \
         shadow, and a kernel worker copies the damage to VRAM afterwards. `fsync()` per frame \
         cannot put that copy on the clock in this kernel: `fb_deferred_io_fsync` \
         (drivers/video/fbdev/core/fb_defio.c) flushes only the page-tracking `deferred_work`, \
         which queues the copy (`damage_work`, drivers/gpu/drm/drm_fb_helper.c) and returns \
         without waiting, and `write()` queues it directly. So every run also counts the busy \
         time of all guest CPUs (`/proc/stat`): MB per CPU-second includes the worker's copy \
         wherever it ran. With one guest CPU (as here, see the setup line) the worker can only \
         run on the benchmark's own CPU, so wall time already holds every copy made during the \
         run and the two columns agree within the 10 ms tick; with several CPUs (KVM, an SMP \
         guest) MB/CPU-s is the one with the copy counted.\n\n\
         | path | workload | MB/s (wall) | MB/CPU-s (copy counted) | present µs/frame |\n\
         | --- | --- | ---: | ---: | ---: |\n",
    );
    let workloads = [
        "frame copy",
        "calls of 4 B",
        "calls of 64 KiB",
        "sprite 64x64",
    ];
    for path in PATHS.iter().filter(|p| {
        matches!(p.driver, Driver::BochsDrm | Driver::BochsfbDrm)
            || matches!(
                p.name,
                "bochsfb mmap" | "bochsfb write" | "bochsfb shadow" | "vesafb write"
            )
    }) {
        for workload in workloads {
            if let Some(r) = stats::find(rows, mode, path.name, workload) {
                let _ = writeln!(
                    md,
                    "| {} | {workload} | {} | {} | {} |",
                    path.name,
                    number(r.mb_per_s.median, 1),
                    cpu_figure(r),
                    // Only paths whose present makes a call (DIRTYFB, FLUSH).
                    if r.syscalls_per_frame > 0.0
                        && !matches!(r.access, Access::Write | Access::Pwrite)
                    {
                        format!("{:.0}", r.present_us_per_frame)
                    } else {
                        "–".into()
                    }
                );
            }
        }
    }
    md.push_str(
        "\nPresent µs/frame is the wall time of the path's per-frame ioctl: DIRTYFB for the DRM \
         dumb buffers (on the C driver an atomic commit that copies the damage from the shmem \
         buffer to VRAM; on bochsfb's DRM face a call that returns at once, the buffer being \
         VRAM on screen, made because a client cannot know that), FLUSH for bochsfb's shadow (a \
         copy of the damage to VRAM).\n",
    );
    if let (Some(fbdev), Some(ours)) = (
        stats::find(rows, mode, "fbdev write", "frame copy"),
        stats::find(rows, mode, "bochsfb mmap", "frame copy"),
    ) {
        if fbdev.mb_per_s.median > fbdev.memcpy_mb_per_s {
            let _ = writeln!(
                md,
                "\nThe fbdev emulation's full-frame `write()` ran at {} MB/s, above the same guests' \
                 RAM-to-RAM memcpy ({} MB/s), which no path that also copied every frame to VRAM \
                 could do: its copies to VRAM were mostly not in the timed loop, and since one run \
                 of the damage worker copies the union of all damage queued since the last, most \
                 frames were overwritten in RAM before any copy to VRAM. Its MB/s counts bytes \
                 accepted, not bytes shown; ours ({} MB/s for mmap) are bytes in VRAM.",
                number(fbdev.mb_per_s.median, 0),
                number(fbdev.memcpy_mb_per_s, 0),
                number(ours.mb_per_s.median, 0),
            );
        }
    }
    if let Some(dumb) = stats::find(rows, mode, "drm dumb mmap", "frame copy") {
        if let Some(cpu) = dumb.mb_per_cpu_s {
            let _ = writeln!(
                md,
                "\nEach DIRTYFB of a full frame took {:.1} ms of wall time, yet the CPU was busy for \
                 only {:.0}% of the run ({} MB per CPU-second against {} MB/s): the commit waits \
                 for the next (software) vertical blank, so the dumb buffer path shows at most one \
                 frame per refresh, whatever it draws.",
                dumb.present_us_per_frame / 1000.0,
                100.0 * dumb.mb_per_s.median / cpu.median,
                number(cpu.median, 0),
                number(dumb.mb_per_s.median, 1),
            );
        }
    }
    md
}

/// Request-to-event latency and flip rate of every DRM path, and ours over the C driver's.
fn flips_section(results: &BenchResults, mode: &str) -> String {
    let mut md = String::from(
        "Each DRM path, once per round with its card opened anew, shows one of two dumb buffers \
         and flips between them back to back: `DRM_IOCTL_MODE_PAGE_FLIP` with \
         `DRM_MODE_PAGE_FLIP_EVENT`, timed until its event has been read, the next requested at \
         once. Nothing is drawn between flips. The C driver copies the whole new buffer from \
         shmem to VRAM in the flip's commit; bochsfb's DRM face writes the scanout offset. Both \
         send the event at the next tick of the mode's software vblank timer, so back-to-back \
         flips run at most at the refresh rate whatever a flip costs, and what a flip costs \
         shows in the CPU time (every guest CPU's busy time, commit workers included) rather \
         than in the latency. Latency: median of every flip pooled, 10th–90th percentile in \
         brackets; flips/s and CPU: per run, median (min–max).\n\n\
         | path | runs | flips | latency ms | flips/s | CPU ms per flip |\n\
         | --- | ---: | ---: | ---: | ---: | ---: |\n",
    );
    let rows: Vec<&FlipRow> = results.flips.iter().filter(|f| f.mode == mode).collect();
    for f in &rows {
        let l = f.latency_ms;
        let _ = writeln!(
            md,
            "| {} | {} | {} | {:.2} [{:.2}–{:.2}] | {} | {} |",
            f.path,
            f.runs,
            f.flips,
            l.median,
            l.p10,
            l.p90,
            spread(f.flips_per_s, 1),
            spread(f.cpu_ms_per_flip, 2),
        );
    }
    let resolution_ms = results
        .guests
        .iter()
        .filter(|g| rows.iter().any(|f| f.driver == g.report.driver))
        .map(|g| g.report.clock_resolution_ns as f64 / 1e6)
        .fold(0.0, f64::max);
    if resolution_ms >= 0.001 {
        let _ = writeln!(
            md,
            "\nThe guest's monotonic clock, which times every flip, advances in steps of {} ms \
             here (`clock_getres`: one jiffy, the harness keeping the guest's clock on \
             jiffies), so every latency is a multiple of that step and the percentiles fall on \
             its steps; the flip rate, a run's flips over its whole length, is far finer.",
            number(resolution_ms, 3)
        );
    }
    let ratio = |workload: &str, path: &str, over: &str| {
        results
            .ratios
            .iter()
            .find(|r| r.mode == mode && r.workload == workload && r.path == path && r.over == over)
            .map(|r| r.ratio)
    };
    for (path, over) in PEERS {
        if let (Some(latency), Some(rate), Some(cpu)) = (
            ratio(FLIP_LATENCY, path, over),
            ratio(FLIP_RATE, path, over),
            ratio(FLIP_CPU, path, over),
        ) {
            let _ = writeln!(
                md,
                "\n{path} ÷ {over} (95% bootstrap interval): median latency {}, flip rate {}, \
                 busy CPU per flip {}.",
                ratio_cell(Some(latency)),
                ratio_cell(Some(rate)),
                ratio_cell(Some(cpu)),
            );
        }
    }
    md
}

/// How many dumb buffers of each size every DRM path gave, and how it refused the next.
fn buffers_section(results: &BenchResults, mode: &str) -> String {
    let mut md = format!(
        "Once per boot, after the flips, each DRM path fills the card with XRGB8888 dumb buffers \
         of one size, until `DRM_IOCTL_MODE_CREATE_DUMB` refuses one or {BUFFER_CAP} exist, all \
         alive at once, then frees them: in rounds, at least 3 and until their creates took \
         250 ms together (the guest's clock may tick in 4 ms jiffies) or 200 rounds ran, then \
         the next size. \
         bochsfb's DRM face allocates each buffer in VRAM and clears it (no client reads \
         another's pixels), beside what its fbdev console holds; the C driver's are shmem \
         objects, in RAM, their pages allocated when first touched. Buffers: per boot, median \
         (min–max); µs per call: every round's creates timed together over the buffers they \
         got (the refused call counted in), per boot, median (min–max).\n\n\
         | path | size | buffers | µs per CREATE_DUMB | refused with |\n\
         | --- | --- | ---: | ---: | --- |\n"
    );
    for b in results.buffers.iter().filter(|b| b.mode == mode) {
        let refused = match (b.refused_errno, b.given.max as usize) {
            (Some(errno), _) => errno_name(errno),
            (None, n) if n >= BUFFER_CAP => format!("none up to {BUFFER_CAP}"),
            (None, _) => "varied between boots".into(),
        };
        let _ = writeln!(
            md,
            "| {} | {}x{} | {} | {} | {refused} |",
            b.path,
            b.width,
            b.height,
            spread(b.given, 0),
            spread(b.create_us, 1),
        );
    }
    md
}

/// The symbolic name of the errnos a dumb buffer is refused with.
fn errno_name(errno: i32) -> String {
    match errno {
        12 => "ENOMEM".into(),
        28 => "ENOSPC".into(),
        other => format!("errno {other}"),
    }
}

/// MB/s medians of every path for each non-sweep workload in `mode`.
pub fn headline_table(rows: &[Row], mode: &str) -> String {
    let paths: Vec<&str> = PATHS
        .iter()
        .map(|p| p.name)
        .filter(|p| rows.iter().any(|r| r.mode == mode && r.path == *p))
        .collect();
    let mut md = format!(
        "| workload | {} | bochsfb mmap ÷ write |\n| --- |{} ---: |\n",
        paths.join(" | "),
        " ---: |".repeat(paths.len())
    );
    for workload in bochsfb_bench::scenes().map(|w| w.name()) {
        let cells: Vec<String> = paths
            .iter()
            .map(|p| {
                stats::find(rows, mode, p, &workload)
                    .map_or("–".into(), |r| number(r.mb_per_s.median, 1))
            })
            .collect();
        let ratio = stats::ratio(rows, mode, &workload, "bochsfb mmap", "bochsfb write");
        let _ = writeln!(
            md,
            "| {workload} | {} | {} |",
            cells.join(" | "),
            ratio_cell(ratio)
        );
    }
    md
}

/// The targets: measured, met or missed.
fn targets(rows: &[Row], modes: &[String]) -> String {
    let mut md = String::from("| target | mode | measured | met |\n| --- | --- | ---: | --- |\n");
    for mode in modes {
        for write in ["bochsfb write"] {
            if let Some(r) = stats::ratio(rows, mode, "frame copy", write, "bochsfb mmap") {
                let _ = writeln!(
                    md,
                    "| full-frame `{write}` ≥ 0.8 × our mmap full-frame copy | {mode} | {} | {} |",
                    ratio_cell(Some(r)),
                    met(r.value >= 0.8)
                );
            }
        }
        let overhead = |path: &str| {
            let r = stats::find(rows, mode, path, "calls of 4 B")?;
            Some(r.us_per_op() - r.null_syscall_us? * r.syscalls_per_op)
        };
        for ours in ["bochsfb pwrite"] {
            if let (Some(us), Some(theirs)) = (overhead(ours), overhead("vesafb pwrite")) {
                let _ = writeln!(
                    md,
                    "| 4-byte `{ours}` minus a null syscall ≤ vesafb's (`fb_io_write`) | {mode} | \
                     {us:.2} µs vs {theirs:.2} µs | {} |",
                    met(us <= theirs)
                );
            }
        }
        if let Some(r) = stats::find(rows, mode, "bochsfb mmap", "frame copy") {
            let value = r.memcpy_fraction.median;
            let _ = writeln!(
                md,
                "| mmap frame copy ≥ 0.9 × memcpy | {mode} | {value:.2} × | {} |",
                met(value >= 0.9)
            );
        }
    }
    md
}

fn accelerator_note(accel: &str) -> String {
    let mut note = String::from(
        "Caching attributes. On hardware, stores into an uncached mapping of VRAM are each a \
         bus transaction and a write-combined mapping batches them; that is most of what LDD3's \
         \"dramatically\" rests on for large copies. Under TCG, VRAM is ordinary host memory and \
         QEMU does not model the caching type of a guest mapping, so the write-combined, \
         on-demand and uncached regions cost the same per byte here, and the per-byte halves of \
         the model are emulated copies, many times dearer than on hardware. What TCG shows \
         faithfully is the per-call half: the system call, the driver's checks and bounce \
         copies. ",
    );
    if accel == "KVM" {
        note.push_str(
            "This run used KVM: guest stores run natively, so the per-byte figures approach the \
             host's memory bandwidth and the uncached region should separate from the others.",
        );
    } else {
        note.push_str(
            "`cargo run -p qemu-bochs -- bench --accel kvm` runs the same benchmark under KVM, \
             where guest stores run natively: expect the fixed per-call costs to shrink several \
             times, the per-byte costs far more, and the uncached region to fall behind the \
             write-combined one.",
        );
    }
    note
}

fn setup(results: &BenchResults) -> String {
    let kernel = results
        .guests
        .first()
        .map_or("?", |g| g.report.kernel.as_str());
    let cpus = results.guests.first().map_or(0, |g| g.report.cpus);
    let runs = if results.options.quick {
        "3 runs of at least 20 ms (quick)".to_string()
    } else {
        format!(
            "{} runs of at least {} ms",
            results.options.runs, results.options.run_ms
        )
    };
    format!(
        "Reproduce with `{}`. Accelerator: **{}** ({}). Host: {}. Guest: Linux {kernel}, \
         QEMU std VGA, {cpus} CPU(s) online in the guest. Each driver booted {} time(s); in each boot, {runs} per path and \
         workload, in rounds that run every path once before any runs again (A B C A B C…), \
         with the memcpy baseline measured in every round. Figures pool every boot's runs. The \
         whole benchmark took {:.0} s.",
        results.command,
        results.accel,
        results.qemu_version,
        results.host_cpu,
        results.options.boots.max(1),
        results.seconds
    )
}

fn modes(results: &BenchResults) -> Vec<String> {
    let mut modes: Vec<String> = Vec::new();
    for guest in &results.guests {
        let label = guest.mode.label();
        if !modes.contains(&label) {
            modes.push(label);
        }
    }
    modes
}

fn met(ok: bool) -> &'static str {
    if ok {
        "yes"
    } else {
        "**no**"
    }
}

/// MB per CPU-second, or `–` where the runs were too short to count.
fn cpu_figure(r: &Row) -> String {
    r.mb_per_cpu_s.map_or("–".into(), |s| number(s.median, 1))
}

/// `3.20× [2.90–3.50]`, or `no difference (1.02× [0.95–1.10])` when the interval holds 1.
fn ratio_cell(ratio: Option<Interval>) -> String {
    match ratio {
        None => "–".into(),
        Some(r) if r.contains_one() => format!("no difference ({})", interval_times(r)),
        Some(r) => interval_times(r),
    }
}

fn interval_times(r: Interval) -> String {
    let decimals = if r.value >= 10.0 { 0 } else { 2 };
    format!(
        "{} [{:.decimals$}–{:.decimals$}]",
        times(r.value),
        r.low,
        r.high
    )
}

fn interval_cell(i: Interval, decimals: usize) -> String {
    format!(
        "{:.decimals$} [{:.decimals$}–{:.decimals$}]",
        i.value, i.low, i.high
    )
}

/// `3 MiB`, `4.1 KiB`, `12 B`.
fn bytes(n: f64) -> String {
    if !n.is_finite() {
        "–".into()
    } else if n >= 1024.0 * 1024.0 {
        format!("{:.1} MiB", n / (1024.0 * 1024.0))
    } else if n >= 1024.0 {
        format!("{:.1} KiB", n / 1024.0)
    } else {
        format!("{n:.0} B")
    }
}

fn spread(stat: Stat, decimals: usize) -> String {
    format!(
        "{} ({}–{})",
        number(stat.median, decimals),
        number(stat.min, decimals),
        number(stat.max, decimals)
    )
}

/// Fixed decimals below 100, none above (the digits that matter).
fn number(value: f64, decimals: usize) -> String {
    if value >= 100.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.decimals$}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_ratios_read_well() {
        assert_eq!(number(1234.56, 1), "1235");
        assert_eq!(number(12.345, 1), "12.3");
        assert_eq!(times(23.4), "23×");
        assert_eq!(times(1.234), "1.23×");
        let i = |value, low, high| Interval { value, low, high };
        assert_eq!(ratio_cell(Some(i(3.2, 2.9, 3.5))), "3.20× [2.90–3.50]");
        assert_eq!(
            ratio_cell(Some(i(1.02, 0.95, 1.1))),
            "no difference (1.02× [0.95–1.10])"
        );
        assert_eq!(ratio_cell(None), "–");
        assert_eq!(bytes(4096.0), "4.0 KiB");
        assert_eq!(bytes(12.0), "12 B");
    }
}
