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
use bochsfb_tests::{run_ok, with_guest};

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
