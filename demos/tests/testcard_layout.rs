//! The test card must be deterministic and put its corner markers exactly in
//! the corners. Expectations here are written out by hand from the design
//! (16 px squares, colours below), not taken from the drawing code.

use bochsfb_demos::draw_testcard;
use bochsfb_renderer::backend::{Backend, MemoryBackend};
use bochsfb_renderer::Mode;
use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::{DrawTarget, Point};
use image::RgbImage;

const ORANGE: [u8; 3] = [255, 128, 0];
const VIOLET: [u8; 3] = [128, 0, 255];
const SPRING_GREEN: [u8; 3] = [0, 255, 128];
const PINK: [u8; 3] = [255, 128, 192];
const MARKER: u32 = 16;

fn render(mode: Mode) -> MemoryBackend {
    let mut memory = MemoryBackend::new(mode).unwrap();
    draw_testcard(&mut memory.surface(), &mode).unwrap();
    memory
}

fn pixel(image: &RgbImage, x: u32, y: u32) -> [u8; 3] {
    image.get_pixel(x, y).0
}

#[test]
fn same_mode_gives_the_same_frame_whatever_was_there_before() {
    let mode = Mode::xrgb8888(1024, 768);
    let fresh = render(mode);

    let mut dirty = MemoryBackend::new(mode).unwrap();
    let mut surface = dirty.surface();
    let mut noise = 0x2545_f491_u32;
    surface
        .draw_iter((0..768 * 1024).map(|i| {
            noise ^= noise << 13;
            noise ^= noise >> 17;
            noise ^= noise << 5;
            let [r, g, b, _] = noise.to_le_bytes();
            embedded_graphics::Pixel(Point::new(i % 1024, i / 1024), Rgb888::new(r, g, b))
        }))
        .unwrap();
    draw_testcard(&mut surface, &mode).unwrap();
    dirty.present().unwrap();

    assert!(
        fresh.frame() == dirty.frame(),
        "two renderings of the same mode differ"
    );
    assert!(render(mode).frame() == fresh.frame());
}

#[test]
fn corner_markers_fill_exactly_the_corner_squares() {
    for (width, height) in [(1024, 768), (800, 600), (640, 480), (1280, 1024), (97, 67)] {
        let image = render(Mode::xrgb8888(width, height)).to_rgb_image();
        let corners = [
            (0, 0, ORANGE),
            (width - MARKER, 0, VIOLET),
            (0, height - MARKER, SPRING_GREEN),
            (width - MARKER, height - MARKER, PINK),
        ];
        for (left, top, color) in corners {
            for y in top..top + MARKER {
                for x in left..left + MARKER {
                    assert_eq!(pixel(&image, x, y), color, "{width}x{height}: ({x}, {y})");
                }
            }
        }
        // Just past each square's inner edges the marker colour is gone.
        let inner = [
            (MARKER, 0, ORANGE),
            (0, MARKER, ORANGE),
            (width - MARKER - 1, 0, VIOLET),
        ];
        let inner_bottom = [
            (width - 1, height - MARKER - 1, PINK),
            (MARKER, height - 1, SPRING_GREEN),
        ];
        for (x, y, color) in inner.into_iter().chain(inner_bottom) {
            assert_ne!(pixel(&image, x, y), color, "{width}x{height}: ({x}, {y})");
        }
    }
}

#[test]
fn corners_land_at_the_right_bytes_with_a_padded_stride() {
    let mode = Mode {
        width: 800,
        height: 600,
        bpp: 32,
        stride: 4096,
    };
    let memory = render(mode);
    let frame = memory.frame();
    let at = |x: usize, y: usize| &frame[y * 4096 + x * 4..][..4];
    // XRGB8888 in memory: B, G, R, X.
    assert_eq!(at(0, 0), [0, 128, 255, 0]);
    assert_eq!(at(799, 0), [255, 0, 128, 0]);
    assert_eq!(at(0, 599), [128, 255, 0, 0]);
    assert_eq!(at(799, 599), [192, 128, 255, 0]);
    // Row padding past the visible width is never written.
    for y in 0..600 {
        assert!(
            frame[y * 4096 + 800 * 4..(y + 1) * 4096]
                .iter()
                .all(|&b| b == 0),
            "row {y}"
        );
    }
}

#[test]
fn bars_grid_and_label_are_where_the_design_puts_them() {
    let image = render(Mode::xrgb8888(1024, 768)).to_rgb_image();
    let bars = [
        [255, 255, 255],
        [255, 255, 0],
        [0, 255, 255],
        [0, 255, 0],
        [255, 0, 255],
        [255, 0, 0],
        [0, 0, 255],
        [0, 0, 0],
    ];
    // Bars are 128 px wide and 512 px (2/3 of 768) tall.
    for (i, color) in (0..).zip(bars) {
        for x in [128 * i + 20, 128 * i + 64, 128 * i + 127] {
            assert_eq!(pixel(&image, x, 100), color, "bar {i} at x {x}");
            assert_eq!(pixel(&image, x, 511), color, "bar {i} at x {x}, last row");
        }
    }
    // Grid: 1 px grey lines every 32 px below the bars, black in between.
    let grey = [128, 128, 128];
    assert_eq!(pixel(&image, 32, 700), grey);
    assert_eq!(pixel(&image, 33, 704), grey);
    assert_eq!(pixel(&image, 33, 700), [0, 0, 0]);
    assert_eq!(pixel(&image, 31, 703), [0, 0, 0]);
    // The label is white 10x20 text centred at (512, 640).
    let white_in_label = (630..650)
        .flat_map(|y| (382..642).map(move |x| (x, y)))
        .filter(|&(x, y)| pixel(&image, x, y) == [255, 255, 255])
        .count();
    assert!(
        white_in_label > 200,
        "only {white_in_label} white pixels in the label"
    );
}
