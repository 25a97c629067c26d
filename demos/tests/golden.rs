//! Reference images: frame N of every demo, rendered by the memory backend
//! at 160x120, must match the PNG in `tests/golden/` pixel for pixel.
//! `BLESS=1 cargo test -p bochsfb-demos --test golden` rewrites them (look
//! at them before committing).

use std::path::PathBuf;

use bochsfb_demos::{render, DEMOS};
use bochsfb_renderer::Mode;

/// The frame each reference image shows: far enough in to show motion (the
/// slideshow is mid-wipe from its first slide, a PNG, to a JPEG).
const FRAME: u64 = 35;
const MODE: Mode = Mode::xrgb8888(160, 120);

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(format!("{name}-{FRAME}.png"))
}

#[test]
fn every_demo_matches_its_reference_image() {
    let bless = std::env::var_os("BLESS").is_some();
    let mut failures = Vec::new();
    for name in DEMOS {
        let actual = render(name, MODE, FRAME).unwrap().to_rgb_image();
        let path = golden(name);
        if bless {
            actual.save(&path).unwrap();
            continue;
        }
        let expected = image::open(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (BLESS=1 writes it)", path.display()))
            .to_rgb8();
        let differing = actual.pixels().zip(expected.pixels()).filter(|(a, e)| a != e).count();
        if actual.dimensions() != expected.dimensions() || differing > 0 {
            let out = std::env::temp_dir().join(format!("{name}-{FRAME}-actual.png"));
            actual.save(&out).unwrap();
            failures.push(format!("{name}: {differing} pixels differ (actual frame in {})", out.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn frames_depend_only_on_the_frame_number() {
    for name in DEMOS {
        let a = render(name, Mode::xrgb8888(96, 64), 4).unwrap();
        let b = render(name, Mode::xrgb8888(96, 64), 4).unwrap();
        assert!(a.frame() == b.frame(), "{name} is not deterministic");
    }
}

#[test]
fn every_demo_draws_in_every_pixel_format() {
    for name in DEMOS {
        for bpp in [8, 16, 24, 32] {
            let mode: Mode = format!("96x64x{bpp}").parse().unwrap();
            let memory = render(name, mode, 2).unwrap();
            let image = memory.to_rgb_image();
            let distinct: std::collections::HashSet<_> = image.pixels().map(|p| p.0).collect();
            assert!(distinct.len() > 1, "{name} at {bpp} bpp drew a blank frame");
        }
    }
}
