//! The DRM face (`bochsfb.ko face=1`, docs/drm.md): Debian's `modetest` sets a mode on it and its
//! SMPTE test pattern, drawn through the mapping of a dumb buffer that is VRAM, reaches the
//! screen pixel for pixel; page flips come at the vblank timer's 60 Hz; `bochsfb-check dumb`
//! checks the buffers' sizes, mappings, ENOMEM and unbind.
//!
//! The face needs a guest kernel with `CONFIG_DRM=y` and the KMS kernel-crate patches
//! (`CONFIG_RUST_DRM_KMS`); on any other kernel these tests pass with a note saying they were
//! skipped.

use anyhow::{ensure, Context, Result};
use bochsfb_tests::{load_png, run_ok, with_guest};
use image::RgbImage;
use qemu_bochs::Artifacts;

/// Whether the guest kernel has the DRM face.
fn kernel_has_the_drm_face() -> Result<bool> {
    let artifacts = Artifacts::from_manifest_env()?;
    let config = std::fs::read_to_string(artifacts.kernel_build_dir.join(".config"))
        .context("reading the guest kernel's .config")?;
    let has = config.lines().any(|l| l == "CONFIG_RUST_DRM_KMS=y");
    if !has {
        println!("skipped: the guest kernel has no CONFIG_RUST_DRM_KMS=y (docs/drm.md)");
    }
    Ok(has)
}

/// The first connected connector's id, as `modetest -c` lists it.
const CONNECTOR: &str = "$(modetest -M bochsfb -c | awk '$3 == \"connected\" { print $1; exit }')";

/// libdrm's SMPTE pattern (tests/util/pattern.c, `fill_smpte_rgb32`) at `width` x `height`,
/// computed here from its definition.
fn smpte(width: u32, height: u32) -> RgbImage {
    const TOP: [[u8; 3]; 7] = [
        [192, 192, 192],
        [192, 192, 0],
        [0, 192, 192],
        [0, 192, 0],
        [192, 0, 192],
        [192, 0, 0],
        [0, 0, 192],
    ];
    const MIDDLE: [[u8; 3]; 7] = [
        [0, 0, 192],
        [19, 19, 19],
        [192, 0, 192],
        [19, 19, 19],
        [0, 192, 192],
        [19, 19, 19],
        [192, 192, 192],
    ];
    const BOTTOM: [[u8; 3]; 8] = [
        [0, 33, 76],
        [255, 255, 255],
        [50, 0, 106],
        [19, 19, 19],
        [9, 9, 9],
        [19, 19, 19],
        [29, 29, 29],
        [19, 19, 19],
    ];
    let (w, h) = (width as usize, height as usize);
    RgbImage::from_fn(width, height, |x, y| {
        let (x, y) = (x as usize, y as usize);
        let rgb = if y < h * 6 / 9 {
            TOP[x * 7 / w]
        } else if y < h * 7 / 9 {
            MIDDLE[x * 7 / w]
        } else if x < w * 5 / 7 {
            BOTTOM[x * 4 / (w * 5 / 7)]
        } else if x < w * 6 / 7 {
            BOTTOM[(x - w * 5 / 7) * 3 / (w / 7) + 4]
        } else {
            BOTTOM[7]
        };
        image::Rgb(rgb)
    })
}

#[test]
fn modetest_shows_its_pattern_from_a_vram_dumb_buffer() -> Result<()> {
    if !kernel_has_the_drm_face()? {
        return Ok(());
    }
    with_guest(&[("face", "1")], |vm| {
        // modetest keeps the mode until its stdin ends.
        let out = run_ok(
            vm,
            &format!(
                "(sleep 8) | modetest -M bochsfb -s {CONNECTOR}:1024x768 > /tmp/mt.log 2>&1 & \
                 sleep 5; echo @@bochsfb:screendump kms-modetest; read reply; wait; cat /tmp/mt.log"
            ),
        )?;
        let shot = out.screenshots.first().context("no screendump")?;
        let actual = load_png(shot)?;
        let expected = smpte(1024, 768);
        ensure!(
            actual.dimensions() == expected.dimensions(),
            "screendump is {:?}, expected 1024x768",
            actual.dimensions()
        );
        let wrong = actual
            .enumerate_pixels()
            .filter(|(x, y, p)| *p != expected.get_pixel(*x, *y))
            .count();
        ensure!(
            wrong == 0,
            "{wrong} pixels differ from the SMPTE pattern ({})",
            shot.display()
        );
        Ok(())
    })
}

#[test]
fn modetest_flips_at_the_vblank_timers_rate() -> Result<()> {
    if !kernel_has_the_drm_face()? {
        return Ok(());
    }
    with_guest(&[("face", "1")], |vm| {
        let out = run_ok(
            vm,
            &format!(
                "(sleep 10) | modetest -M bochsfb -s {CONNECTOR}:1024x768 -v 2>&1 | grep freq"
            ),
        )?;
        let rates: Vec<f64> = out
            .output
            .lines()
            .filter_map(|l| l.strip_prefix("freq: ")?.strip_suffix("Hz")?.parse().ok())
            .collect();
        ensure!(
            rates.len() >= 3,
            "too few flip rates reported: {}",
            out.output
        );
        // The first covers the mode set; the rest must be the vblank timer's 60 Hz.
        for rate in &rates[1..] {
            ensure!(
                (*rate - 60.0).abs() < 1.0,
                "flips at {rate} Hz: {}",
                out.output
            );
        }
        Ok(())
    })
}

#[test]
fn dumb_buffers_are_vram_and_are_revoked_at_unbind() -> Result<()> {
    if !kernel_has_the_drm_face()? {
        return Ok(());
    }
    with_guest(&[("face", "1")], |vm| {
        run_ok(vm, "bochsfb-check dumb").map(drop)
    })
}
