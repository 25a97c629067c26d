//! Recordings of the guest's screen: QMP screendumps (PPM, the cheapest QEMU writes) at a
//! steady rate while a command runs, encoded as an animated GIF or APNG. Consecutive identical
//! screens become one frame shown longer, so a still screen costs nothing.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use image::{imageops, RgbImage};

use crate::vm::Vm;

/// What a recording is saved as, by the file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// `.gif`: 256 colours per frame, small, shown everywhere.
    Gif,
    /// `.png`: an animated PNG, lossless.
    Apng,
}

impl Format {
    /// The format for `path`'s extension (`.gif`, `.png` or `.apng`).
    pub fn for_path(path: &Path) -> Result<Format> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("gif") => Ok(Format::Gif),
            Some("png" | "apng") => Ok(Format::Apng),
            _ => bail!(
                "{}: a recording is a .gif or a .png (animated PNG)",
                path.display()
            ),
        }
    }
}

/// One screen and how long it was shown.
#[derive(Debug, Clone)]
pub struct Frame {
    pub image: RgbImage,
    pub shown: Duration,
}

/// How to record.
#[derive(Debug, Clone)]
pub struct Options {
    /// Screendumps per second.
    pub fps: f64,
    /// Scale frames to this width (keeping the aspect ratio); `None`: the guest's size.
    pub width: Option<u32>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            fps: 10.0,
            width: None,
        }
    }
}

/// Runs `body` while taking screendumps of `vm` at `options.fps`; returns what `body` gave and
/// the screens, identical neighbours merged. The screen as it was before `body` began is left
/// out until something changes it (it belongs to whatever ran before).
pub fn record_while<T>(
    vm: &Vm,
    options: &Options,
    body: impl FnOnce() -> Result<T>,
) -> Result<(T, Vec<Frame>)> {
    let stop = AtomicBool::new(false);
    let scratch = crate::paths::out_dir().join(format!("record-{}.ppm", std::process::id()));
    if let Some(dir) = scratch.parent() {
        std::fs::create_dir_all(dir)?;
    }
    vm.screendump(&scratch)?;
    let before = image::open(&scratch)
        .with_context(|| format!("reading {}", scratch.display()))?
        .to_rgb8();
    let period = Duration::from_secs_f64(1.0 / options.fps.max(0.1));
    std::thread::scope(|scope| {
        let capture = scope.spawn(|| capture(vm, &scratch, period, &stop));
        let outcome = body();
        stop.store(true, Ordering::Relaxed);
        let frames = capture.join().expect("the capture thread does not panic");
        let _ = std::fs::remove_file(&scratch);
        let outcome = outcome?;
        Ok((
            outcome,
            scaled(without_leading(frames?, &before), options.width),
        ))
    })
}

/// `frames` from the first that differs from `before` on (all of them if none does).
fn without_leading(frames: Vec<Frame>, before: &RgbImage) -> Vec<Frame> {
    match frames.iter().position(|f| f.image != *before) {
        Some(first) => frames.into_iter().skip(first).collect(),
        None => frames,
    }
}

/// `frames` scaled down to `width` (after capturing, so screendumps keep their pace).
fn scaled(frames: Vec<Frame>, width: Option<u32>) -> Vec<Frame> {
    let Some(w) = width else { return frames };
    frames
        .into_iter()
        .map(|Frame { image, shown }| {
            if w >= image.width() {
                return Frame { image, shown };
            }
            let h =
                (u64::from(image.height()) * u64::from(w) / u64::from(image.width())).max(1) as u32;
            Frame {
                image: imageops::resize(&image, w, h, imageops::FilterType::Triangle),
                shown,
            }
        })
        .collect()
}

fn capture(vm: &Vm, scratch: &Path, period: Duration, stop: &AtomicBool) -> Result<Vec<Frame>> {
    let mut frames: Vec<Frame> = Vec::new();
    let mut last = Instant::now();
    let mut next = last;
    while !stop.load(Ordering::Relaxed) {
        vm.screendump(scratch)?;
        let screen = image::open(scratch)
            .with_context(|| format!("reading {}", scratch.display()))?
            .to_rgb8();
        let now = Instant::now();
        if let Some(previous) = frames.last_mut() {
            previous.shown += now - last;
        }
        last = now;
        match frames.last() {
            Some(previous) if previous.image == screen => {}
            _ => frames.push(Frame {
                image: screen,
                shown: Duration::ZERO,
            }),
        }
        next += period;
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        } else {
            next = Instant::now();
        }
    }
    if let Some(previous) = frames.last_mut() {
        previous.shown += last.elapsed().max(period);
    }
    Ok(frames)
}

/// Writes `frames` to `path` in the format its extension names, showing progress, and returns
/// the file's size in bytes.
pub fn save(frames: &[Frame], path: &Path) -> Result<u64> {
    let format = Format::for_path(path)?;
    if frames.is_empty() {
        bail!("nothing was recorded");
    }
    let (w, h) = frames[0].image.dimensions();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let file = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
    );
    let progress = |i: usize| {
        eprint!("\rrecord: encoding frame {}/{} ", i + 1, frames.len());
        let _ = std::io::stderr().flush();
    };
    match format {
        Format::Gif => {
            use image::codecs::gif::{GifEncoder, Repeat};
            // Speed 10 of 1..=30: NeuQuant's default trade of palette quality for time.
            let mut encoder = GifEncoder::new_with_speed(file, 10);
            encoder.set_repeat(Repeat::Infinite)?;
            for (i, frame) in frames.iter().enumerate() {
                progress(i);
                let rgba = image::DynamicImage::ImageRgb8(frame.image.clone()).to_rgba8();
                let delay = image::Delay::from_saturating_duration(frame.shown);
                encoder.encode_frame(image::Frame::from_parts(rgba, 0, 0, delay))?;
            }
        }
        Format::Apng => {
            let mut encoder = png::Encoder::new(file, w, h);
            encoder.set_color(png::ColorType::Rgb);
            encoder.set_depth(png::BitDepth::Eight);
            encoder.set_animated(frames.len() as u32, 0)?;
            let mut writer = encoder.write_header()?;
            for (i, frame) in frames.iter().enumerate() {
                progress(i);
                let ms = frame.shown.as_millis().clamp(1, u128::from(u16::MAX)) as u16;
                writer.set_frame_delay(ms, 1000)?;
                writer.write_image_data(frame.image.as_raw())?;
            }
            writer.finish()?;
        }
    }
    eprintln!();
    let size = std::fs::metadata(path)?.len();
    eprintln!(
        "record: {} ({} frames, {} KiB)",
        path.display(),
        frames.len(),
        size.div_ceil(1024)
    );
    Ok(size)
}

/// The path a recording is written to, relative paths taken from the current directory.
pub fn output_path(path: &Path) -> Result<PathBuf> {
    Format::for_path(path)?;
    crate::paths::absolute(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames() -> Vec<Frame> {
        (0..3u8)
            .map(|i| Frame {
                image: RgbImage::from_fn(8, 6, |x, y| {
                    image::Rgb([i * 80, x as u8 * 30, y as u8 * 40])
                }),
                shown: Duration::from_millis(100 * (u64::from(i) + 1)),
            })
            .collect()
    }

    #[test]
    fn formats_follow_the_extension() {
        assert_eq!(Format::for_path(Path::new("a/b.GIF")).unwrap(), Format::Gif);
        assert_eq!(Format::for_path(Path::new("b.png")).unwrap(), Format::Apng);
        assert!(Format::for_path(Path::new("b.mp4")).is_err());
    }

    #[test]
    fn an_apng_keeps_every_frame_exactly_with_its_delay() {
        use image::AnimationDecoder;
        let path = std::env::temp_dir().join(format!("record-test-{}.png", std::process::id()));
        save(&frames(), &path).unwrap();
        let decoder = image::codecs::png::PngDecoder::new(std::io::BufReader::new(
            std::fs::File::open(&path).unwrap(),
        ))
        .unwrap();
        let decoded: Vec<image::Frame> = decoder
            .apng()
            .unwrap()
            .into_frames()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(decoded.len(), 3);
        for (got, want) in decoded.iter().zip(frames()) {
            let rgb = image::DynamicImage::ImageRgba8(got.buffer().clone()).to_rgb8();
            assert_eq!(rgb, want.image);
            assert_eq!(Duration::from(got.delay()), want.shown);
        }
        let _ = std::fs::remove_file(path);
    }
}
