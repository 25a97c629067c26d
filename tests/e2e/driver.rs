//! The driver's modes, pan, vsync, fbdev ioctls, sysfs attributes and all four mmap regions,
//! with QEMU's screendumps checked against the colours each step must leave on screen.

use std::path::Path;

use anyhow::{bail, ensure, Context, Result};
use bochsfb_tests::{ktap, load_png, run_ok, with_guest};
use image::RgbImage;

const RED: [u8; 3] = [255, 0, 0];
const GREEN: [u8; 3] = [0, 255, 0];
const BLUE: [u8; 3] = [0, 0, 255];
const WHITE: [u8; 3] = [255, 255, 255];
const YELLOW: [u8; 3] = [255, 255, 0];
const ORANGE: [u8; 3] = [255, 128, 0];
const MAGENTA: [u8; 3] = [255, 0, 255];

/// What a 640x480 screendump must show: `top` above row `split`, `bottom` from it on.
struct Expect {
    name: &'static str,
    top: [u8; 3],
    split: u32,
    bottom: [u8; 3],
}

const fn solid(name: &'static str, color: [u8; 3]) -> Expect {
    Expect {
        name,
        top: color,
        split: 480,
        bottom: color,
    }
}

/// In the order `bochsfb-check regions` asks for them.
const EXPECTED: &[Expect] = &[
    solid("region-write-combined", RED),
    solid("region-on-demand", GREEN),
    solid("region-uncached", BLUE),
    // The shadow buffer is drawn white; VRAM changes only with each flush.
    solid("shadow-unflushed", BLUE),
    Expect {
        name: "shadow-top-half",
        top: WHITE,
        split: 240,
        bottom: BLUE,
    },
    solid("shadow-flushed", WHITE),
    solid("pan-back", YELLOW),
    solid("pan-front", WHITE),
    solid("rgb565-red", RED),
    solid("rgb888-orange", ORANGE),
    solid("rgb332-magenta", MAGENTA),
];

fn check_screendump(path: &Path, expect: &Expect) -> Result<()> {
    let image: RgbImage = load_png(path)?;
    ensure!(
        image.dimensions() == (640, 480),
        "{}: screen is {:?}, expected 640x480",
        expect.name,
        image.dimensions()
    );
    let wrong: Vec<String> = image
        .enumerate_pixels()
        .filter(|(_, y, p)| {
            p.0 != if *y < expect.split {
                expect.top
            } else {
                expect.bottom
            }
        })
        .take(3)
        .map(|(x, y, p)| format!("({x},{y}) is {:?}", p.0))
        .collect();
    if !wrong.is_empty() {
        bail!(
            "{}: expected {:?} above row {} and {:?} below; {}",
            expect.name,
            expect.top,
            expect.split,
            expect.bottom,
            wrong.join(", ")
        );
    }
    Ok(())
}

#[test]
fn modes_pan_vsync_fbdev_and_sysfs_behave_as_documented() -> Result<()> {
    with_guest(&[], |vm| run_ok(vm, "bochsfb-check modes").map(drop))
}

/// The driver's KUnit suites (`#[kunit_tests]` in kmod/), which run when the module loads.
const KUNIT_SUITES: [&str; 5] = [
    "bochsfb_abi",
    "bochsfb_card",
    "bochsfb_edid",
    "bochsfb_fbdev",
    "bochsfb_mode",
];

#[test]
fn the_drivers_kunit_suites_all_pass_when_it_loads() -> Result<()> {
    with_guest(&[], |vm| {
        let suites = ktap::suites(&vm.console_lines(), "bochsfb_");
        let mut names: Vec<&str> = suites.iter().map(|s| s.name.as_str()).collect();
        names.sort();
        ensure!(
            names == KUNIT_SUITES,
            "KUnit suites run: {names:?}, expected {KUNIT_SUITES:?}"
        );
        let failed: Vec<String> = suites
            .iter()
            .flat_map(|s| {
                let cases = s
                    .cases
                    .iter()
                    .filter(|(_, ok)| !ok)
                    .map(|(c, _)| format!("{}.{c}", s.name));
                let suite = (!s.passed).then(|| s.name.clone());
                cases.chain(suite)
            })
            .collect();
        ensure!(
            failed.is_empty(),
            "KUnit failures: {failed:?} (serial log {})",
            vm.serial_log_path().display()
        );
        let cases: usize = suites.iter().map(|s| s.cases.len()).sum();
        ensure!(
            suites.iter().all(|s| !s.cases.is_empty()),
            "a suite ran no cases: {suites:?}"
        );
        println!("KUnit: {} suites, {cases} cases, all passed", suites.len());
        Ok(())
    })
}

#[test]
fn the_sysfs_attributes_exist_when_udev_hears_of_the_node_and_its_parent_is_the_card() -> Result<()>
{
    with_guest(&[], |vm| run_ok(vm, "bochsfb-check uevent").map(drop))
}

#[test]
fn every_mmap_region_and_pixel_format_reaches_the_screen() -> Result<()> {
    with_guest(&[], |vm| {
        let out = run_ok(vm, "bochsfb-check regions")?;
        ensure!(
            out.screenshots.len() == EXPECTED.len(),
            "expected {} screendumps, got {:?}",
            EXPECTED.len(),
            out.screenshots
        );
        for (path, expect) in out.screenshots.iter().zip(EXPECTED) {
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .context("screendump name")?;
            ensure!(
                stem.ends_with(expect.name),
                "screendump {stem} out of order, expected {}",
                expect.name
            );
            check_screendump(path, expect)?;
        }
        Ok(())
    })
}

/// Issue #11, hole 3: a 32-bit process (i386, through `compat_ioctl`) gets its own layout of
/// `struct fb_fix_screeninfo` (68 bytes) and no byte past any struct it passes is written, in
/// the default mode and in 800x600 at 16 bpp.
#[test]
fn a_32_bit_process_gets_the_32_bit_fbdev_structs() -> Result<()> {
    with_guest(&[], |vm| {
        let out = run_ok(vm, "compat32 /dev/bochsfb0")?;
        ensure!(
            out.output.contains(" 0 failed"),
            "compat32 reported failures"
        );
        run_ok(
            vm,
            "bochsfb-check set-mode 800 600 16 && compat32 /dev/bochsfb0",
        )
        .map(drop)
    })
}

/// A C program that knows the driver only through `include/uapi/bochsfb.h` (tests/guest/c/draw.c)
/// sets 640x480x32, maps the frame and draws four 160-pixel bars: red, green, blue, white.
#[test]
fn a_c_program_built_against_the_header_sets_a_mode_maps_and_draws() -> Result<()> {
    with_guest(&[], |vm| {
        let out = run_ok(vm, "bochsfb-draw-c /dev/bochsfb0 c-draw")?;
        ensure!(out.output.contains(" 0 failed"), "draw reported failures");
        ensure!(
            out.screenshots.len() == 1,
            "expected one screenshot, got {:?}",
            out.screenshots
        );
        let screen = load_png(&out.screenshots[0])?;
        ensure!(
            screen.dimensions() == (640, 480),
            "the screen is {:?}",
            screen.dimensions()
        );
        for (i, rgb) in [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]]
            .into_iter()
            .enumerate()
        {
            for (x, y) in [
                (i as u32 * 160, 0),
                (i as u32 * 160 + 80, 240),
                (i as u32 * 160 + 159, 479),
            ] {
                let got = screen.get_pixel(x, y).0;
                ensure!(
                    got == rgb,
                    "bar {i} at ({x},{y}) is {got:?}, expected {rgb:?}"
                );
            }
        }
        Ok(())
    })
}
