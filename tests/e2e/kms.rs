//! The DRM face's own guarantees (`bochsfb.ko face=1`, docs/drm.md), checked from inside the
//! guest by `bochsfb-check dumb`: a dumb buffer is VRAM (its pitch and size follow
//! `drm_mode_size_dumb`, what is written through its mapping reads back), mappings are shared
//! and never executable, `CREATE_DUMB` gives `ENOMEM` when VRAM is full, and at unbind every
//! mapping dies with `SIGBUS` while the open file gets `ENODEV`; the card binds again after.
//! And by `bochsfb-check kms-holes`: what the adversarial reviews found stays fixed.
//!
//! What clients see on this face (modetest's patterns, flips, kmscon) is tested beside the C
//! driver's, in `drm_clients.rs`.

use anyhow::Result;
use bochsfb_tests::{load_png, run_ok, with_guest};

#[test]
fn dumb_buffers_are_vram_and_are_revoked_at_unbind() -> Result<()> {
    with_guest(&[("face", "1")], |vm| {
        run_ok(vm, "bochsfb-check dumb").map(drop)
    })
}

/// What the adversarial reviews of the face found (`bochsfb-check kms-holes`,
/// tests/guest/src/kmsholes.rs): each check fails while its hole is open.
#[test]
fn the_holes_found_by_the_reviews_stay_closed() -> Result<()> {
    with_guest(&[("face", "1")], |vm| {
        run_ok(vm, "bochsfb-check kms-holes").map(drop)
    })
}

/// bochs-display has no VGA: the probe mode must be turned off there too, or a non-master's
/// first dumb buffer (at VRAM offset 0) is on screen.
#[test]
fn on_bochs_display_the_probe_mode_is_off_until_a_modeset() -> Result<()> {
    let config = qemu_bochs::VmConfig {
        card: "bochs-display".into(),
        module_params: vec![("face".into(), "1".into())],
        ..Default::default()
    };
    bochsfb_tests::with_guest_config(&config, |vm| {
        run_ok(vm, "bochsfb-check kms-holes --only probe-scanout").map(drop)
    })
}

/// With the CRTC off in DRM's state the screen shows nothing a client drew, on `config`'s card:
/// the screen after a modeset, the CRTC off and a non-master filling its dumb buffer (VRAM offset
/// 0, where the first buffer goes, freed at exit) has no more lit pixels than before.
fn off_crtc_shows_no_client_vram(config: &qemu_bochs::VmConfig, name: &str) -> Result<()> {
    bochsfb_tests::with_guest_config(config, |vm| {
        let dir = qemu_bochs::paths::out_dir().join("screenshots");
        let before = dir.join(format!("{name}-before.png"));
        let after = dir.join(format!("{name}-after.png"));
        vm.screendump(&before)?;
        run_ok(
            vm,
            "bochsfb-check kms-holes --only text-paint-after-modeset",
        )?;
        std::thread::sleep(std::time::Duration::from_millis(500));
        vm.screendump(&after)?;
        let lit = |path: &std::path::Path| -> Result<(usize, (u32, u32))> {
            let image = load_png(path)?;
            let n = image.pixels().filter(|p| p.0 != [0, 0, 0]).count();
            Ok((n, image.dimensions()))
        };
        let (was, _) = lit(&before)?;
        let (now, size) = lit(&after)?;
        anyhow::ensure!(
            now <= was,
            "the CRTC is off, yet after a non-master filled its dumb buffer (VRAM offset 0) and \
             freed it, {now} pixels of the {size:?} screen are lit (before: {was}): see {}",
            after.display()
        );
        Ok(())
    })
}

/// On std VGA, clearing `DISPI_ENABLE` is not enough: QEMU then draws the VGA mode the registers
/// hold, which `vbe_update_vgaregs()` (hw/display/vga.c) left matching the last DISPI mode and
/// which disabling DISPI does not undo, from VRAM offset 0. The face blanks VGA as well.
#[test]
fn the_screen_of_an_off_crtc_shows_no_client_vram() -> Result<()> {
    let config = qemu_bochs::VmConfig {
        module_params: vec![("face".into(), "1".into())],
        ..Default::default()
    };
    off_crtc_shows_no_client_vram(&config, "kms-off")
}

/// The same on bochs-display, which has no VGA: there QEMU shows its "Guest has not initialized
/// the display" placeholder once `DISPI_ENABLE` is clear.
#[test]
fn on_bochs_display_the_screen_of_an_off_crtc_shows_no_client_vram() -> Result<()> {
    let config = qemu_bochs::VmConfig {
        card: "bochs-display".into(),
        module_params: vec![("face".into(), "1".into())],
        ..Default::default()
    };
    off_crtc_shows_no_client_vram(&config, "kms-off-bochs-display")
}
