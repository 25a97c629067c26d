//! Regenerates the demos' images in `demos/assets/` (all made here, from
//! code: no third-party artwork). Run from the repository root:
//! `cargo run -p bochsfb-demos --example make_assets`.

use std::path::Path;

use image::codecs::jpeg::JpegEncoder;
use image::{Rgb, RgbImage, Rgba, RgbaImage};

fn save_jpeg(image: &RgbImage, path: &Path) {
    let file = std::fs::File::create(path).expect("create");
    JpegEncoder::new_with_quality(file, 80)
        .encode_image(image)
        .expect("encode JPEG");
}

/// A lit sphere with an anti-aliased, translucent rim.
fn ball(size: u32) -> RgbaImage {
    let r = size as f64 / 2.0;
    RgbaImage::from_fn(size, size, |x, y| {
        let (dx, dy) = ((x as f64 + 0.5 - r) / r, (y as f64 + 0.5 - r) / r);
        let d = (dx * dx + dy * dy).sqrt();
        if d > 1.0 {
            return Rgba([0, 0, 0, 0]);
        }
        let z = (1.0 - d * d).sqrt();
        let light = (-0.4 * dx - 0.5 * dy + 0.75 * z).max(0.0);
        let spec = light.powf(24.0);
        let v = |base: f64| ((base * (0.25 + 0.75 * light) + 255.0 * spec).min(255.0)) as u8;
        let alpha = (((1.0 - d) * r * 1.5).min(1.0) * 230.0) as u8;
        Rgba([v(255.0), v(200.0), v(90.0), alpha])
    })
}

fn mandelbrot(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        let (cr, ci) = (
            -0.75 + (x as f64 - w as f64 / 2.0) * 3.0 / w as f64,
            (y as f64 - h as f64 / 2.0) * 3.0 / w as f64,
        );
        let (mut zr, mut zi, mut i) = (0.0f64, 0.0f64, 0);
        while i < 200 && zr * zr + zi * zi <= 4.0 {
            let t = zr * zr - zi * zi + cr;
            zi = 2.0 * zr * zi + ci;
            zr = t;
            i += 1;
        }
        if i == 200 {
            Rgb([0, 0, 0])
        } else {
            let t = i as f64 / 200.0;
            let s = t.sqrt();
            Rgb([
                (255.0 * s) as u8,
                (255.0 * s * s) as u8,
                (120.0 + 135.0 * (1.0 - s)) as u8,
            ])
        }
    })
}

fn sunset(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        let (fx, fy) = (x as f64 / w as f64, y as f64 / h as f64);
        let ridge = 0.62 + 0.08 * (fx * 9.0).sin() + 0.04 * (fx * 23.0 + 1.0).sin();
        let near = 0.8 + 0.05 * (fx * 5.0 + 2.0).sin() + 0.02 * (fx * 41.0).sin();
        if fy > near {
            return Rgb([20, 12, 30]);
        }
        if fy > ridge {
            return Rgb([60, 30, 70]);
        }
        let (sx, sy) = (fx - 0.62, fy - 0.5);
        if (sx * sx * 2.5 + sy * sy).sqrt() < 0.1 {
            return Rgb([255, 230, 150]);
        }
        let t = fy / ridge;
        Rgb([
            (40.0 + 215.0 * t) as u8,
            (30.0 + 110.0 * t * t) as u8,
            (110.0 - 60.0 * t) as u8,
        ])
    })
}

fn aurora(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        let (fx, fy) = (x as f64 / w as f64, y as f64 / h as f64);
        let band = |phase: f64, freq: f64, at: f64| {
            let c = at + 0.08 * (fx * freq + phase).sin();
            (-((fy - c) * 14.0).powi(2)).exp()
        };
        let g = band(0.0, 7.0, 0.35) + 0.6 * band(2.0, 11.0, 0.5);
        let p = band(1.0, 5.0, 0.25);
        let star = (x * 7919 + y * 104_729) % 997 == 0 && fy < 0.7;
        let ground = fy > 0.85;
        let base = if ground {
            [10.0, 15.0, 20.0]
        } else {
            [5.0, 8.0, 25.0 + 30.0 * fy]
        };
        let s = if star { 200.0 } else { 0.0 };
        Rgb([
            (base[0] + 180.0 * p + s).min(255.0) as u8,
            (base[1] + 230.0 * g + s).min(255.0) as u8,
            (base[2] + 120.0 * g + 200.0 * p + s).min(255.0) as u8,
        ])
    })
}

fn color_wheel(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (x as f64 - w as f64 / 2.0, y as f64 - h as f64 / 2.0);
        let r = (dx * dx + dy * dy).sqrt() / (h as f64 / 2.0);
        if r > 1.0 {
            let v = if (x / 16 + y / 16) % 2 == 0 { 200 } else { 90 };
            return Rgb([v, v, v]);
        }
        let hue = (dy.atan2(dx) / std::f64::consts::TAU + 0.5) * 6.0;
        let f = |n: f64| {
            let k = (n + hue) % 6.0;
            let c = (k.min(4.0 - k).clamp(0.0, 1.0)) * r + (1.0 - r);
            (c * 255.0) as u8
        };
        Rgb([f(5.0), f(3.0), f(1.0)])
    })
}

fn main() {
    let dir = Path::new("demos/assets");
    std::fs::create_dir_all(dir).expect("mkdir");
    ball(48).save(dir.join("ball.png")).expect("ball");
    mandelbrot(480, 360)
        .save(dir.join("slide-mandelbrot.png"))
        .expect("png");
    save_jpeg(&sunset(640, 400), &dir.join("slide-sunset.jpg"));
    color_wheel(400, 300)
        .save(dir.join("slide-wheel.png"))
        .expect("png");
    save_jpeg(&aurora(600, 400), &dir.join("slide-aurora.jpg"));
    println!("wrote {}", dir.display());
}
