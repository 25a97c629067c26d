//! The DRM face's own guarantees (`bochsfb.ko face=1`, docs/drm.md), checked from inside the
//! guest by `bochsfb-check dumb`: a dumb buffer is VRAM (its pitch and size follow
//! `drm_mode_size_dumb`, what is written through its mapping reads back), mappings are shared
//! and never executable, `CREATE_DUMB` gives `ENOMEM` when VRAM is full, and at unbind every
//! mapping dies with `SIGBUS` while the open file gets `ENODEV`; the card binds again after.
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

/// The third review's reproducers (`bochsfb-check kms-holes3`, tests/guest/src/kmsholes.rs):
/// each check fails while its hole is open.
#[test]
fn review3_holes_are_closed() -> Result<()> {
    with_guest(&[("face", "1")], |vm| {
        run_ok(vm, "bochsfb-check kms-holes3").map(drop)
    })
}

/// On bochs-display, `KmsFace::new` does not turn the probe mode off (`disable_output` does
/// nothing without VGA ports): a non-master's first dumb buffer is on screen.
#[test]
fn review3_bochs_display_probe_mode_is_off() -> Result<()> {
    let config = qemu_bochs::VmConfig {
        card: "bochs-display".into(),
        module_params: vec![("face".into(), "1".into())],
        ..Default::default()
    };
    bochsfb_tests::with_guest_config(&config, |vm| {
        run_ok(vm, "bochsfb-check kms-holes3 --only probe-scanout").map(drop)
    })
}

/// Opt-in (`--ignored`): a mode whose vblank timer interval truncates to a negative `int`. Seen
/// under TCG: SETCRTC is accepted, blocks ~1 s and WARNs ("vblank wait timed out",
/// drm_atomic_helper_wait_for_vblanks); no interrupt storm there (low-resolution hrtimers), but
/// with high-resolution ones `hrtimer_forward()` turns a negative interval into 1 ns.
#[test]
#[ignore]
fn review3_negative_frame_duration_storm() -> Result<()> {
    with_guest(&[("face", "1")], |vm| {
        run_ok(vm, "bochsfb-check kms-holes3 --only storm").map(drop)
    })
}
