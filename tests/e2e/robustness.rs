//! Robustness and security (issue #6): the bad-input matrix, a seeded fuzzer, a coverage-guided
//! one (debug kernel), concurrent workers under 100 unbind/bind cycles, module unload attempts,
//! hot-unplug, and the security checks. Each boot's serial log must hold no kernel report (BUG,
//! WARNING, KASAN, lockdep, UBSAN, ...): `with_guest_config` fails the test otherwise.
//!
//! They boot the kernel of `$BOCHSFB_ARTIFACTS`: `qemu-bochs test` runs them on the standard
//! kernel, then again on the debug kernel (KASAN, lockdep, DEBUG_VM, ...). Tests that need the
//! debug kernel are `#[ignore]`d, so the standard run leaves them out and says so; the debug run
//! includes them (`--include-ignored`), and run on the standard kernel they fail.
//!
//! Knobs: `BOCHSFB_FUZZ_SEED` (default 20261121), `BOCHSFB_FUZZ_OPS` (operations per process;
//! default 20000 on the standard kernel, 3000 on the ~10x slower debug kernel: about 25 s
//! and 35 s under TCG), `BOCHSFB_UNBIND_CYCLES` (default 100).

use std::time::Duration;

use anyhow::{bail, ensure, Result};
use bochsfb_tests::with_guest_config;
use qemu_bochs::fuzz::FuzzOptions;
use qemu_bochs::{Artifacts, KernelVariant, RunOutput, Vm, VmConfig};

/// Generous: the debug kernel under TCG is several times slower than the standard one.
const TIMEOUT: Duration = Duration::from_secs(900);

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn kernel() -> Result<KernelVariant> {
    Ok(Artifacts::from_manifest_env()?.kernel_variant)
}

/// Fails unless the guest kernel is the debug one: what `#[ignore]`d tests check first.
fn require_debug_kernel(needs: &str) -> Result<()> {
    let kernel = kernel()?;
    ensure!(
        kernel == KernelVariant::Debug,
        "needs {needs}, which only the debug kernel has; this is the {} kernel \
         (`cargo run -p qemu-bochs -- test --kernel debug` runs it there)",
        kernel.name()
    );
    Ok(())
}

/// Runs `command`, prints it and its output, and fails unless it exits with 0.
fn run(vm: &Vm, command: &str) -> Result<RunOutput> {
    let out = vm.run(command, TIMEOUT)?;
    println!("$ {command}\n{}[exit status {}]", out.output, out.status);
    ensure!(out.status == 0, "`{command}` exited with {}", out.status);
    Ok(out)
}

#[test]
fn security_on_a_fresh_boot() -> Result<()> {
    println!("kernel: {:?}", kernel()?);
    with_guest_config(&VmConfig::default(), |vm| {
        run(vm, "bochsfb-check security").map(drop)
    })
}

#[test]
fn every_bad_input_gets_its_errno_and_the_device_survives() -> Result<()> {
    with_guest_config(&VmConfig::default(), |vm| {
        run(vm, "bochsfb-check badinput").map(drop)
    })
}

#[test]
fn seeded_fuzzer_leaves_kernel_and_device_intact() -> Result<()> {
    let seed = env_u64("BOCHSFB_FUZZ_SEED", 20261121);
    let default_ops = match kernel()? {
        KernelVariant::Debug => 3000,
        _ => 20000,
    };
    let ops = env_u64("BOCHSFB_FUZZ_OPS", default_ops);
    println!("kernel: {:?}; reproduce in the guest: bochsfb-check fuzz --seed {seed} --ops {ops} --procs 2", kernel()?);
    with_guest_config(&VmConfig::default(), |vm| {
        let out = run(
            vm,
            &format!("bochsfb-check fuzz --seed {seed} --ops {ops} --procs 2"),
        )?;
        ensure!(
            out.output.contains(&format!("seed {seed}")),
            "the seed is not printed"
        );
        Ok(())
    })
}

#[test]
fn concurrent_workers_under_unbind_rebind_cycles() -> Result<()> {
    let cycles = env_u64("BOCHSFB_UNBIND_CYCLES", 100);
    with_guest_config(&VmConfig::default(), |vm| {
        let out = run(
            vm,
            &format!("bochsfb-check stress --workers 4 --seconds 20 --unbind-cycles {cycles}"),
        )?;
        ensure!(
            out.output.contains(&format!("{cycles} cycles survived")),
            "cycles missing"
        );
        // Plain concurrency, no unbinding: modes, pans and flushes racing with I/O.
        run(vm, "bochsfb-check stress --workers 6 --seconds 10 --seed 2").map(drop)
    })
}

/// Issue #11, hole 1: an `mmap` racing with a mode shrink or an unbind must not leave page
/// table entries behind. Workers map in a tight loop (every region) while the parent shrinks and
/// unbinds; after each, every mapping made before it must fault where it no longer may reach.
#[test]
fn mappings_made_while_the_card_shrinks_or_unbinds_all_fault() -> Result<()> {
    let cycles = env_u64("BOCHSFB_MAPRACE_CYCLES", 30);
    with_guest_config(&VmConfig::default(), |vm| {
        let out = run(
            vm,
            &format!("bochsfb-check maprace --workers 4 --shrinks {cycles} --unbinds {cycles}"),
        )?;
        ensure!(
            out.output.contains(" 0 failed"),
            "maprace reported failures"
        );
        Ok(())
    })
}

/// Issue #11, hole 2: what `docker run --device` does. The card is first opened through a node
/// on a tmpfs, which is then unmounted; unbinding the card afterwards must not touch that dead
/// filesystem's inode ("VFS: Busy inodes after unmount", then a use after free). Run it on the
/// debug kernel to have KASAN watch the unbind.
#[test]
fn a_node_on_an_unmounted_tmpfs_does_not_outlive_its_filesystem() -> Result<()> {
    with_guest_config(&VmConfig::default(), |vm| {
        let drv = "/sys/bus/pci/drivers/bochsfb";
        // A fresh card, so the tmpfs node is the first one it is opened through.
        run(vm, &format!("cd {drv} && pci=$(ls -d 0000:*) && echo $pci > unbind && echo $pci > bind && ls -l /dev/bochsfb0"))?;
        run(
            vm,
            "mkdir -p /mnt/ctr && mount -t tmpfs ctr /mnt/ctr && \
             mknod -m 660 /mnt/ctr/fb c $(tr ':' ' ' < /sys/class/misc/bochsfb0/dev) && \
             bochsfb-check roundtrip --device /mnt/ctr/fb && umount /mnt/ctr",
        )?;
        run(
            vm,
            &format!("cd {drv} && pci=$(ls -d 0000:*) && echo $pci > unbind && echo $pci > bind"),
        )?;
        run(vm, "bochsfb-check roundtrip").map(drop)
    })
}

/// Issue #11, hole 4: readers in several processes share one open file (its position) while
/// a hog keeps the card mutex busy, so they sleep halfway through `read`; every page must be
/// read exactly once (the old driver read 422 of 4096 pages twice).
#[test]
fn processes_sharing_one_open_file_share_one_position() -> Result<()> {
    with_guest_config(&VmConfig::default(), |vm| {
        run(vm, "bochsfb-check sharedpos --readers 4 --rounds 3").map(drop)
    })
}

/// The five holes an adversarial review found (`bochsfb-check holes`, tests/guest/src/holes.rs),
/// on a fresh boot (hole 4 needs a card no one else has open). Sequences that may crash, hang or
/// raise SIGBUS run in forked children killed after a timeout, so a broken driver gives `FAIL`
/// lines, not a hung guest.
///
/// 1. **mremap across a region boundary.** An on-demand mapping (region 1) grown with `mremap`
///    to 4 GiB + 1 page, or duplicated with `mremap(p, 0, n)`, reaches file offset `2 << 32`:
///    the old fault handler took that page for the shadow region of a vma starting in region 1
///    and overflowed (a Rust panic, `BUG`, with the card mutex held for good). Fixed: the
///    `mremap` fails, or that page raises `SIGBUS`; the first page still shows VRAM, and a fresh
///    client works afterwards. Variants: the frame's last page grown by one (the new page raises
///    `SIGBUS`), and a `MAP_FIXED` region-1 mapping over a live region-0 one (shows its own
///    bytes).
/// 2. **FLUSH holds the card mutex too long.** With a 1024x768x32 mode over all of VRAM and
///    every shadow page present, one thread flushes 256 whole-screen rectangles in a loop while
///    another times `GET_MODE` on its own file: at most 1 s (the old driver: the whole 4 GiB
///    copy, 3-8 s under TCG; the target is 20 ms, printed but not asserted). A process killed
///    with `SIGKILL` inside such a `FLUSH` is gone within 1 s.
/// 3. **A read-only file changes the display.** On an `O_RDONLY` file, `SET_MODE`,
///    `FBIOPUT_VSCREENINFO`, `PAN`, `FBIOPAN_DISPLAY` and `FLUSH` fail with `EBADF`, the mode
///    and pan stay as they were, a read-write file's mapping keeps working, and the queries
///    (`GET_MODE`, `FBIOGET_*SCREENINFO`, both vsync waits, `read`, `mmap(PROT_READ)`) work.
/// 4. **One client's data shown to the next.** Bytes a process left in the shadow buffer are
///    not seen by the next process to map it (zeros), and VRAM written before an unbind is
///    cleared when the card is bound again.
/// 5. **`READ_IMPLIES_EXEC` tasks cannot map.** With that personality the kernel adds
///    `PROT_EXEC` to `PROT_READ`; mapping region 0 read-only or read-write must still work and
///    show what `pwrite` put there (the old driver: `EINVAL`).
#[test]
fn the_holes_found_by_the_review_stay_closed() -> Result<()> {
    with_guest_config(&VmConfig::default(), |vm| {
        let out = run(vm, "bochsfb-check holes")?;
        ensure!(out.output.contains(" 0 failed"), "holes reported failures");
        Ok(())
    })
}

/// Writes whose source is what the one-copy write path (page faults off, under the revocation
/// guard) finds hardest (`bochsfb-check writesrc`, tests/guest/src/writesrc.rs): the card's own
/// untouched VRAM mapping in each region, the destination bytes themselves, the shadow (untouched
/// and drawn into), a read-only file's mapping, a buffer running into a `PROT_NONE` page (the
/// count stops exactly there, nothing past it reaches VRAM) and a mixed `pwritev`. Then
/// `writerace`: workers write from mappings of the card while it is unbound and bound in a loop;
/// every write returns a count, `ENODEV` or `EFAULT`. On the debug kernel, KASAN, lockdep and
/// "sleeping function called from invalid context" would fail the boot's shutdown check.
#[test]
fn writes_from_the_cards_own_mappings_and_during_unbind() -> Result<()> {
    with_guest_config(&VmConfig::default(), |vm| {
        for command in [
            "bochsfb-check writesrc",
            "bochsfb-check writerace --cycles 10",
        ] {
            let out = run(vm, command)?;
            ensure!(
                out.output.contains(" 0 failed"),
                "{command} reported failures"
            );
        }
        Ok(())
    })
}

#[test]
fn module_unload_refused_while_open_or_mapped_then_reload_works() -> Result<()> {
    with_guest_config(&VmConfig::default(), |vm| {
        run(vm, "bochsfb-check lifetime").map(drop)
    })
}

/// The coverage-guided fuzzer (`bochsfb-check kfuzz`, KCOV on the debug kernel) for a fixed
/// budget from a fixed seed and the seed corpus alone (`tests/guest/kfuzz-seeds/`), so a run is
/// repeatable: any finding fails the test with its minimised reproducer (a kernel report, a call
/// stuck, the probe waiting over 250 ms for the card mutex, a read-only file changing the card,
/// a fresh opener seeing an earlier client's shadow data, READ_IMPLIES_EXEC refused a mapping).
/// Knobs: `BOCHSFB_KFUZZ_SECONDS` (default 180), `BOCHSFB_KFUZZ_SEED`.
#[test]
#[ignore = "needs the debug kernel (KCOV); `qemu-bochs test` runs it there"]
fn coverage_guided_fuzzing_finds_nothing() -> Result<()> {
    fuzz_finds_nothing(false, env_u64("BOCHSFB_KFUZZ_SECONDS", 180), "kfuzz-e2e")
}

/// `coverage_guided_fuzzing_finds_nothing` on the DRM face (`bochsfb.ko face=1`): kfuzz's
/// `--face drm` programs (the ioctls of a dumb-buffer KMS client, legacy and atomic, with the
/// handles, framebuffers and ids earlier calls returned; mappings of dumb buffers; event reads;
/// a second opener; unbind and bind under a mapping) find no kernel report and no stuck call.
/// Knobs: `BOCHSFB_KFUZZ_DRM_SECONDS` (default 120), `BOCHSFB_KFUZZ_SEED`.
#[test]
#[ignore = "needs the debug kernel (KCOV); `qemu-bochs test` runs it there"]
fn coverage_guided_fuzzing_of_the_drm_face_finds_nothing() -> Result<()> {
    fuzz_finds_nothing(
        true,
        env_u64("BOCHSFB_KFUZZ_DRM_SECONDS", 120),
        "kfuzz-drm-e2e",
    )
}

/// Runs kfuzz on one face (the DRM face's programs if `drm_face`) for `seconds` from CI's seed
/// (or `BOCHSFB_KFUZZ_SEED`), and fails with the minimised finding, if any, or if KCOV did not
/// guide it (no summary with edges of bochsfb.ko).
fn fuzz_finds_nothing(drm_face: bool, seconds: u64, out_dir: &str) -> Result<()> {
    require_debug_kernel("KCOV")?;
    let artifacts = Artifacts::from_manifest_env()?;
    let options = FuzzOptions {
        seconds,
        seed: env_u64("BOCHSFB_KFUZZ_SEED", 20261206),
        corpus_dir: None,
        guest_args: Vec::new(),
        drm_face,
        minimize_boots: 2,
        minimize_seconds: 120,
        vm: VmConfig::default(),
        out_dir: qemu_bochs::paths::out_dir().join(out_dir),
    };
    let face = if drm_face { " --face drm" } else { "" };
    println!(
        "reproduce: cargo run -p qemu-bochs -- fuzz{face} --no-corpus --minutes N --seed {} (or in the guest: bochsfb-check kfuzz{face} --seconds {} --seed {})",
        options.seed, options.seconds, options.seed
    );
    let report = qemu_bochs::fuzz::run(&artifacts, &options)?;
    println!("{}", report.summary);
    if let Some(f) = &report.finding {
        bail!(
            "kfuzz found a problem{}: {}",
            if drm_face { " on the DRM face" } else { "" },
            qemu_bochs::fuzz::describe(f, &options.out_dir)
        );
    }
    let edges: u64 = report
        .summary
        .split(", ")
        .find_map(|part| part.strip_suffix(" edges")?.parse().ok())
        .unwrap_or(0);
    ensure!(
        report.summary.contains("summary") && edges > 100,
        "no coverage summary: {:?}",
        report.summary
    );
    Ok(())
}

/// A `bochs-display` behind a SHPC hotplug bridge (the `pc` machine without ACPI: the guest
/// kernel's shpchp drives the slot natively) is unplugged with QMP `device_del` while workers
/// use it; its node goes away and the VGA card keeps working.
#[test]
#[ignore = "needs the debug kernel (CONFIG_HOTPLUG_PCI_SHPC); `qemu-bochs test` runs it there"]
fn hot_unplug_of_a_bochs_display_under_load() -> Result<()> {
    require_debug_kernel("CONFIG_HOTPLUG_PCI_SHPC")?;
    let config = VmConfig {
        extra_qemu_args: [
            "-global",
            "PIIX4_PM.acpi-pci-hotplug-with-bridge-support=off",
            "-device",
            "pci-bridge,id=hpbr,chassis_nr=1,shpc=on,addr=0x5",
            "-device",
            "bochs-display,id=hotdisp,bus=hpbr,addr=0x1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        kernel_args: vec!["shpchp.shpchp_poll_mode=1".into()],
        ..VmConfig::default()
    };
    with_guest_config(&config, |vm| {
        run(
            vm,
            "ls -l /dev/bochsfb1 && bochsfb-check roundtrip --device /dev/bochsfb1",
        )?;
        // Workers in the background; the unplug lands while they run.
        run(
            vm,
            "bochsfb-check stress --device /dev/bochsfb1 --workers 3 --seconds 25 --removed > /tmp/stress.log 2>&1 & echo started",
        )?;
        vm.qmp("device_del", serde_json::json!({ "id": "hotdisp" }))?;
        // SHPC waits ~5 s after the attention button before powering the slot off.
        run(
            vm,
            "i=0; while [ -e /dev/bochsfb1 ] && [ $i -lt 60 ]; do sleep 1; i=$((i+1)); done; [ ! -e /dev/bochsfb1 ]",
        )?;
        // Each command is its own shell: poll for the workers' closing line instead of `wait`.
        run(
            vm,
            "i=0; until grep -q 'passed,' /tmp/stress.log || [ $i -ge 120 ]; do sleep 1; i=$((i+1)); done; \
             cat /tmp/stress.log; grep -q ' 0 failed' /tmp/stress.log",
        )?;
        run(
            vm,
            "dmesg | grep -i -E 'shpchp|01:01.0' | tail -5; [ ! -e /sys/bus/pci/devices/0000:01:01.0 ]",
        )?;
        run(vm, "bochsfb-check roundtrip --device /dev/bochsfb0").map(drop)
    })
}

/// The debug kernel's detectors fire and the harness catches them: LKDTM provokes a real
/// KASAN use-after-free, a UBSAN out-of-bounds index and a list corruption, and a lockdep
/// report is injected through /dev/kmsg; shutdown must fail naming each.
#[test]
#[ignore = "needs the debug kernel (KASAN, UBSAN, DEBUG_LIST, lockdep); `qemu-bochs test` runs it there"]
fn debug_kernel_reports_fail_the_run() -> Result<()> {
    require_debug_kernel("KASAN, UBSAN, DEBUG_LIST and lockdep")?;
    let artifacts = Artifacts::from_manifest_env()?;
    let vm = Vm::boot(&artifacts, &VmConfig::default())?;
    run(&vm, LOAD_LKDTM)?;
    for crash in ["READ_AFTER_FREE", "ARRAY_BOUNDS", "CORRUPT_LIST_ADD"] {
        // LKDTM reports and carries on (no panic: panic_on_warn is off).
        vm.run(
            &format!("echo {crash} > /sys/kernel/debug/provoke-crash/DIRECT"),
            TIMEOUT,
        )?;
    }
    run(
        &vm,
        "echo 'WARNING: possible circular locking dependency detected (injected)' > /dev/kmsg",
    )?;
    let err = vm
        .shutdown()
        .expect_err("kernel reports must fail shutdown");
    let err = format!("{err:#}");
    println!("{err}");
    for expected in [
        "BUG: KASAN",
        "UBSAN",
        "list_add corruption",
        "circular locking",
    ] {
        ensure!(err.contains(expected), "{expected:?} not reported:\n{err}");
    }
    Ok(())
}

/// Loads LKDTM (a module, in the guest only for these tests) and mounts debugfs, where its
/// `provoke-crash/DIRECT` lives.
const LOAD_LKDTM: &str =
    "modprobe lkdtm && mount -t debugfs none /sys/kernel/debug && ls /sys/kernel/debug/provoke-crash/DIRECT";

/// Every kernel, the standard one included, reports a real `WARN_ON` and a refcount overflow
/// (LKDTM's WARNING and REFCOUNT_INC_OVERFLOW), and a report printed below the console log
/// level (seen only in `dmesg`): shutdown must fail naming each.
#[test]
fn a_real_warning_fails_the_run_on_every_kernel() -> Result<()> {
    let artifacts = Artifacts::from_manifest_env()?;
    println!("kernel: {:?}", artifacts.kernel_variant);
    let vm = Vm::boot(&artifacts, &VmConfig::default())?;
    run(&vm, LOAD_LKDTM)?;
    for crash in ["WARNING", "REFCOUNT_INC_OVERFLOW"] {
        // Each WARNs and returns; the shell's status does not matter.
        vm.run(
            &format!("echo {crash} > /sys/kernel/debug/provoke-crash/DIRECT"),
            TIMEOUT,
        )?;
    }
    // KERN_DEBUG (7) is below the default console log level: only dmesg has this line.
    run(&vm, "echo '<7>BUG: injected at KERN_DEBUG' > /dev/kmsg")?;
    ensure!(
        !vm.console_lines()
            .iter()
            .any(|l| l.contains("injected at KERN_DEBUG")),
        "the KERN_DEBUG line reached the console, so this does not test the dmesg scan"
    );
    let err = vm
        .shutdown()
        .expect_err("kernel reports must fail shutdown");
    let err = format!("{err:#}");
    println!("{err}");
    for expected in [
        // 7.3's format: `WARNING: drivers/misc/lkdtm/bugs.c:164 at lkdtm_WARNING+0xc/0xf ...`.
        "WARNING: drivers/misc/lkdtm/bugs.c:",
        "at lkdtm_WARNING+",
        "refcount_t: saturated",
        "BUG: injected at KERN_DEBUG",
    ] {
        ensure!(err.contains(expected), "{expected:?} not reported:\n{err}");
    }
    Ok(())
}
