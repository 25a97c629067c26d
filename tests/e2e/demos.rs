//! Every demo drawn in the guest shows the pixels its definition implies
//! (`bochsfb_tests::oracles`, computed without the renderer) and matches the
//! memory backend's rendering of the same frame, pixel for pixel: on bochsfb through mmap (page flips),
//! single-buffered mmap, write, the shadow buffer + flush and the fbdev
//! ioctls of /dev/bochsfb0, in modes set with `--mode` (16, 24 and 32 bpp);
//! on the kernel's C bochs driver through DRM dumb buffers and /dev/fb0; and on bochsfb's DRM
//! face through dumb buffers in VRAM.
//! One guest boot per driver, all demos in it.

use anyhow::{anyhow, bail, ensure, Context, Result};
use bochsfb_demos::{names, render};
use bochsfb_renderer::{Mode, PixelFormat};
use bochsfb_tests::{
    assert_same_pixels, load_png, oracles, run_ok, with_guest_config, COMMAND_TIMEOUT,
};
use qemu_bochs::{Driver, Vm, VmConfig};

/// Frames each demo draws; the screen then shows frame `FRAMES - 1`, after
/// partial redraws (sprites, console, test card) and, where the driver can,
/// page flips. Odd, so a flipping run leaves the display panned to its
/// second frame and the next backend must pan back.
const FRAMES: u64 = 5;
const MODE: Mode = Mode::xrgb8888(640, 480);

/// Runs `demo` with `backend_args` in the guest and checks the screen: the probes, then the
/// memory backend's frame. A backend that cannot open on this driver fails.
fn check(vm: &Vm, demo: &str, label: &str, backend_args: &str, mode: Mode) -> Result<()> {
    let name = format!("demo-{demo}-{label}");
    let command = format!(
        "bochsfb-demo {demo} {backend_args} --frames {FRAMES} --fps 0 --clock frame --screendump {name}"
    );
    let out = vm.run(&command, COMMAND_TIMEOUT)?;
    println!("$ {command}\n{}", out.output);
    // bochsfb-demo exits with 3 when the backend cannot open on this driver.
    if out.status == 3 && out.screenshots.is_empty() {
        bail!(
            "{demo} via {label}: the backend cannot open on this driver:\n{}",
            out.output.trim()
        );
    }
    if out.status != 0 {
        bail!("`{command}` exited with {}:\n{}", out.status, out.output);
    }
    ensure!(
        out.screenshots.len() == 1,
        "expected one screenshot, got {:?}",
        out.screenshots
    );
    let actual = load_png(&out.screenshots[0])?;
    ensure!(
        actual.dimensions() == (mode.width, mode.height),
        "{demo} via {label}: the screen is {:?}, expected {}x{}",
        actual.dimensions(),
        mode.width,
        mode.height
    );
    // First the independent probes: they say what is wrong when both sides agree on a bug.
    let probes = oracles::probes(demo, mode.width, mode.height, FRAMES - 1).with_context(|| {
        format!("no oracle probes for the demo {demo}: add them to tests/src/oracles.rs")
    })?;
    oracles::check(&actual, &probes, oracles::slack(mode.bpp))
        .map_err(|e| anyhow!("{demo} via {label}: {e}"))?;
    let expected = render(demo, mode, FRAMES - 1)?.to_rgb_image();
    assert_same_pixels(&actual, &expected).with_context(|| format!("{demo} via {label}"))
}

/// Runs every demo on each `(label, args, mode)` backend; every run must pass.
fn check_all(vm: &Vm, backends: &[(&str, &str, Mode)]) -> Result<()> {
    let mut failures = Vec::new();
    for demo in names() {
        for &(label, args, mode) in backends {
            if let Err(e) = check(vm, demo, label, args, mode) {
                failures.push(format!("{e:#}"));
            }
        }
    }
    ensure!(failures.is_empty(), "{}", failures.join("\n\n"));
    Ok(())
}

#[test]
fn demos_on_bochsfb_match_the_memory_backend() -> Result<()> {
    let config = VmConfig {
        module_params: vec![
            ("width".into(), "640".into()),
            ("height".into(), "480".into()),
        ],
        ..VmConfig::default()
    };
    with_guest_config(&config, |vm| {
        check_all(
            vm,
            &[
                ("mmap", "--backend mmap", MODE),
                ("write", "--backend write", MODE),
                ("mmap-single", "--backend mmap --single-buffer", MODE),
                ("shadow", "--backend shadow", MODE),
                ("fbdev", "--backend fbdev --device /dev/bochsfb0", MODE),
                // SET_MODE to other formats, and back to the module's mode.
                (
                    "write-565",
                    "--backend write --mode 320x240x16",
                    Mode::packed(320, 240, PixelFormat::Rgb565),
                ),
                (
                    "mmap-888",
                    "--backend mmap --mode 320x240x24",
                    Mode::packed(320, 240, PixelFormat::Rgb888),
                ),
                ("mmap-back", "--backend mmap --mode 640x480x32", MODE),
            ],
        )
    })
}

#[test]
fn demos_on_the_c_bochs_driver_match_the_memory_backend() -> Result<()> {
    let config = VmConfig {
        driver: Driver::BochsDrm,
        kernel_args: vec!["video=640x480".into()],
        ..VmConfig::default()
    };
    with_guest_config(&config, |vm| {
        check_all(
            vm,
            &[
                ("drm", "--backend drm", MODE),
                // fbdev emulation copies to the screen from a deferred-I/O worker.
                ("fb0", "--backend fbdev --settle-ms 400", MODE),
            ],
        )
    })
}

/// bochsfb's DRM face (`face=1`, docs/drm.md): the renderer's `drm` backend flips between two
/// dumb buffers that are VRAM, each flip a scanout-offset write; its `fbdev` backend draws on
/// `/dev/fb0`, the DRM fbdev emulation's shadow, blitted into a VRAM dumb buffer.
#[test]
fn demos_on_bochsfbs_drm_face_match_the_memory_backend() -> Result<()> {
    let config = VmConfig {
        module_params: vec![("face".into(), "1".into())],
        // The connector's preferred mode, the EDID's, is the one the fbdev emulation sets and
        // the `drm` backend takes.
        edid_mode: Some((MODE.width, MODE.height)),
        ..VmConfig::default()
    };
    with_guest_config(&config, |vm| {
        check_all(
            vm,
            &[
                ("drm-vram", "--backend drm", MODE),
                // The fbdev emulation blits its shadow into a VRAM dumb buffer from a worker.
                ("fb0-vram", "--backend fbdev --settle-ms 400", MODE),
            ],
        )
    })
}

/// A demo flipping between two frames of VRAM, stopped by SIGTERM, gives the screen back: its
/// frame loop ends, the backend's drop copies the last frame to row 0 and pans there. The
/// screen then shows exactly the last frame the demo reported (checked with the plasma's
/// formula), at `y_offset` 0, however many frames ran and whichever buffer was shown.
#[test]
fn a_demo_stopped_by_sigterm_leaves_its_last_frame_at_row_zero() -> Result<()> {
    let config = VmConfig {
        module_params: vec![
            ("width".into(), "640".into()),
            ("height".into(), "480".into()),
        ],
        ..VmConfig::default()
    };
    with_guest_config(&config, |vm| {
        // Deterministic first: 5 frames end on the second buffer, so drop must pan back.
        let out = run_ok(
            vm,
            "bochsfb-demo plasma --backend mmap --frames 5 --fps 0 --clock frame && cat /sys/class/misc/bochsfb0/y_offset",
        )?;
        let y_offset = out.output.lines().last().unwrap_or_default().trim();
        ensure!(
            y_offset == "0",
            "the display was left at y_offset {y_offset} after 5 frames:\n{}",
            out.output
        );
        let path = qemu_bochs::paths::out_dir().join("screenshots/plasma-after-5-frames.png");
        vm.screendump(&path)?;
        oracles::check(
            &load_png(&path)?,
            &oracles::probes("plasma", 640, 480, 4).context("plasma probes")?,
            0,
        )
        .map_err(|e| anyhow!("after 5 frames: {e}"))?;

        let out = vm.run(
            "bochsfb-demo plasma --backend mmap --frames 0 --fps 0 --clock frame > /tmp/plasma.log 2>&1 & \
             pid=$!; sleep 3; kill -TERM $pid; wait $pid; echo \"exit $?\"; cat /tmp/plasma.log; \
             echo \"y_offset $(cat /sys/class/misc/bochsfb0/y_offset)\"",
            COMMAND_TIMEOUT,
        )?;
        println!("{}", out.output);
        ensure!(
            out.output.contains("exit 0"),
            "the demo did not end cleanly on SIGTERM:\n{}",
            out.output
        );
        ensure!(
            out.output.contains("via mmap (flip)"),
            "the demo did not flip:\n{}",
            out.output
        );
        ensure!(
            out.output.lines().any(|l| l.trim() == "y_offset 0"),
            "the display was left panned:\n{}",
            out.output
        );
        let frames: u64 = out
            .output
            .split_once("(flip): ")
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .with_context(|| format!("no frame count in:\n{}", out.output))?;
        ensure!(frames >= 2, "only {frames} frames ran before SIGTERM");
        let path = qemu_bochs::paths::out_dir().join("screenshots/plasma-after-sigterm.png");
        vm.screendump(&path)?;
        let screen = load_png(&path)?;
        let probes = oracles::probes("plasma", 640, 480, frames - 1).context("plasma probes")?;
        oracles::check(&screen, &probes, 0).map_err(|e| anyhow!("after {frames} frames: {e}"))
    })
}
