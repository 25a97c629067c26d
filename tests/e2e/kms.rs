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
