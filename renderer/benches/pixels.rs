//! The pixel paths of `Surface` at 1024x768: fills, clears, contiguous
//! fills, per-pixel drawing (the slow baseline), and image blits (RGB copy,
//! RGBA alpha blend, scaling), in every pixel format, each group beside its
//! baseline in the same run: `memset` of the same bytes for fills, `memcpy` of
//! the destination's bytes for blits, and of the source's bytes too where a blit
//! reads more than it writes (RGB into 16 and 8 bpp).
//!
//! `cargo bench -p bochsfb-renderer --bench pixels`

use bochsfb_renderer::{Mode, PixelFormat, Surface};
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::Rectangle;
use embedded_graphics::Pixel;
use image::{RgbImage, RgbaImage};

const FORMATS: [PixelFormat; 4] = [
    PixelFormat::Xrgb8888,
    PixelFormat::Rgb888,
    PixelFormat::Rgb565,
    PixelFormat::Rgb332,
];

fn frame(format: PixelFormat) -> (Vec<u8>, Mode) {
    let mode = Mode::packed(1024, 768, format);
    (vec![0; mode.frame_len()], mode)
}

fn fills(c: &mut Criterion) {
    let mut group = c.benchmark_group("fill");
    group.throughput(Throughput::Elements(1024 * 768));
    for format in FORMATS {
        let (mut buf, mode) = frame(format);
        // The baseline: what writing this frame's bytes costs at all.
        let mut bytes = vec![0u8; mode.frame_len()];
        group.bench_function(BenchmarkId::new("memset", format), |b| {
            b.iter(|| black_box(bytes.as_mut_slice()).fill(black_box(0x5a)))
        });
        let mut surface = Surface::new(&mut buf, mode).unwrap();
        group.bench_function(BenchmarkId::new("clear", format), |b| {
            b.iter(|| surface.clear(Rgb888::new(1, 2, 3)).unwrap())
        });
        let middle = Rectangle::new(Point::new(100, 100), Size::new(800, 500));
        let (stride, bpp) = (mode.stride as usize, format.bytes_per_pixel());
        group.bench_function(BenchmarkId::new("memset 800x500", format), |b| {
            b.iter(|| {
                for row in bytes.chunks_exact_mut(stride).skip(100).take(500) {
                    black_box(&mut row[100 * bpp..900 * bpp]).fill(black_box(0x5a));
                }
            })
        });
        group.bench_function(BenchmarkId::new("fill_solid 800x500", format), |b| {
            b.iter(|| surface.fill_solid(&middle, Rgb888::new(1, 2, 3)).unwrap())
        });
        let all = Rectangle::new(Point::zero(), Size::new(1024, 768));
        group.bench_function(BenchmarkId::new("fill_contiguous", format), |b| {
            b.iter(|| {
                surface
                    .fill_contiguous(
                        &all,
                        (0..).map(|i: u32| Rgb888::new(i as u8, (i >> 8) as u8, 7)),
                    )
                    .unwrap()
            })
        });
        group.bench_function(BenchmarkId::new("paint", format), |b| {
            b.iter(|| {
                surface.paint(&all, |at, row| {
                    for (i, c) in row.iter_mut().enumerate() {
                        *c = Rgb888::new(i as u8, at.y as u8, 7);
                    }
                })
            })
        });
        group.bench_function(BenchmarkId::new("draw_iter", format), |b| {
            b.iter(|| {
                surface
                    .draw_iter(
                        all.points()
                            .map(|p| Pixel(p, Rgb888::new(p.x as u8, p.y as u8, 7))),
                    )
                    .unwrap()
            })
        });
    }
    group.finish();
}

fn blits(c: &mut Criterion) {
    let mut group = c.benchmark_group("blit");
    let rgb = RgbImage::from_fn(256, 256, |x, y| image::Rgb([x as u8, y as u8, 99]));
    let rgba = RgbaImage::from_fn(64, 64, |x, y| {
        image::Rgba([x as u8 * 4, y as u8 * 4, 99, (x * 4) as u8])
    });
    let photo = RgbImage::from_fn(640, 480, |x, y| {
        image::Rgb([x as u8, y as u8, (x ^ y) as u8])
    });
    for format in FORMATS {
        let (mut buf, mode) = frame(format);
        let bpp = format.bytes_per_pixel();
        // Baselines: a memcpy of as many bytes as each blit writes into the frame (and reads
        // from the RGB image).
        let longest = mode.frame_len().max(photo.as_raw().len());
        let source = vec![0x5au8; longest];
        let mut target = vec![0u8; longest];
        let mut memcpy = |group: &mut criterion::BenchmarkGroup<_>, name: &str, len: usize| {
            group.bench_function(BenchmarkId::new(format!("memcpy {name}"), format), |b| {
                b.iter(|| black_box(&mut target[..len]).copy_from_slice(black_box(&source[..len])))
            });
        };
        let mut surface = Surface::new(&mut buf, mode).unwrap();
        group.throughput(Throughput::Elements(256 * 256));
        memcpy(&mut group, "256x256", 256 * 256 * bpp);
        memcpy(&mut group, "source 256x256", rgb.as_raw().len());
        group.bench_function(BenchmarkId::new("rgb 256x256", format), |b| {
            b.iter(|| surface.blit(&rgb, Point::new(100, 100)))
        });
        group.throughput(Throughput::Elements(64 * 64));
        memcpy(&mut group, "64x64", 64 * 64 * bpp);
        group.bench_function(BenchmarkId::new("rgba alpha 64x64", format), |b| {
            b.iter(|| surface.blit(&rgba, Point::new(300, 200)))
        });
        group.throughput(Throughput::Elements(1024 * 768));
        memcpy(&mut group, "1024x768", 1024 * 768 * bpp);
        memcpy(&mut group, "source 640x480", photo.as_raw().len());
        let all = Rectangle::new(Point::zero(), Size::new(1024, 768));
        group.bench_function(
            BenchmarkId::new("scaled 640x480 to 1024x768", format),
            |b| b.iter(|| surface.blit_scaled(&photo, &all)),
        );
    }
    group.finish();
}

criterion_group!(benches, fills, blits);
criterion_main!(benches);
