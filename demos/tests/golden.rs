//! Reference images: frame N of every demo, rendered by the memory backend
//! at 160x120 in each pixel format (32, 24, 16 and 8 bpp), must match the PNG
//! in `tests/golden/` pixel for pixel.
//! `BLESS=1 cargo test -p bochsfb-demos --test golden` rewrites them (look
//! at them before committing).

use std::path::PathBuf;

use bochsfb_demos::{names, render};
use bochsfb_renderer::{Mode, PixelFormat};

/// The frame each reference image shows: far enough in to show motion (the
/// slideshow is mid-wipe from its first slide, a PNG, to a JPEG).
const FRAME: u64 = 35;
const MODE: Mode = Mode::xrgb8888(160, 120);

/// The formats besides XRGB8888 (whose files keep their old names).
const OTHER_FORMATS: [PixelFormat; 3] = [
    PixelFormat::Rgb888,
    PixelFormat::Rgb565,
    PixelFormat::Rgb332,
];

fn golden(name: &str, format: PixelFormat) -> PathBuf {
    let suffix = match format {
        PixelFormat::Xrgb8888 => String::new(),
        other => format!("-{}bpp", other.bpp()),
    };
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}-{FRAME}{suffix}.png"))
}

#[test]
fn every_demo_matches_its_reference_image() {
    check_references(PixelFormat::Xrgb8888);
}

#[test]
fn every_demo_matches_its_reference_image_at_24_16_and_8_bpp() {
    for format in OTHER_FORMATS {
        check_references(format);
    }
}

fn check_references(format: PixelFormat) {
    let bless = std::env::var_os("BLESS").is_some();
    let mut failures = Vec::new();
    let mode = Mode::packed(MODE.width, MODE.height, format);
    for name in names() {
        let actual = render(name, mode, FRAME).unwrap().to_rgb_image();
        let path = golden(name, format);
        if bless {
            actual.save(&path).unwrap();
            continue;
        }
        let expected = image::open(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (BLESS=1 writes it)", path.display()))
            .to_rgb8();
        let differing = actual
            .pixels()
            .zip(expected.pixels())
            .filter(|(a, e)| a != e)
            .count();
        if actual.dimensions() != expected.dimensions() || differing > 0 {
            let out =
                std::env::temp_dir().join(format!("{name}-{FRAME}-{}bpp-actual.png", format.bpp()));
            actual.save(&out).unwrap();
            failures.push(format!(
                "{name} at {} bpp: {differing} pixels differ (actual frame in {})",
                format.bpp(),
                out.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn frames_depend_only_on_the_frame_number() {
    for name in names() {
        let a = render(name, Mode::xrgb8888(96, 64), 4).unwrap();
        let b = render(name, Mode::xrgb8888(96, 64), 4).unwrap();
        assert!(a.frame() == b.frame(), "{name} is not deterministic");
    }
}

#[test]
fn every_demo_draws_in_every_pixel_format() {
    for name in names() {
        for bpp in [8, 16, 24, 32] {
            let mode: Mode = format!("96x64x{bpp}").parse().unwrap();
            let memory = render(name, mode, 2).unwrap();
            let image = memory.to_rgb_image();
            let distinct: std::collections::HashSet<_> = image.pixels().map(|p| p.0).collect();
            assert!(distinct.len() > 1, "{name} at {bpp} bpp drew a blank frame");
        }
    }
}
