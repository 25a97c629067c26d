//! Recordings: the plasma recorded from the guest (QMP screendumps while it runs) as an
//! animated PNG holds several distinct frames, each exactly one frame of the plasma as the
//! memory backend draws it; as a GIF scaled to 320 wide it holds as many frames, of that size.

use std::collections::HashSet;
use std::io::BufReader;

use anyhow::{ensure, Context, Result};
use bochsfb_demos::Clock;
use bochsfb_renderer::backend::{Backend, MemoryBackend};
use bochsfb_renderer::Mode;
use bochsfb_tests::with_guest_config;
use image::{AnimationDecoder, RgbImage};
use qemu_bochs::vm::record::{self, Options};
use qemu_bochs::VmConfig;

const MODE: Mode = Mode::xrgb8888(640, 480);
const FRAMES: u64 = 40;

/// Every frame of the plasma, as the memory backend draws them.
fn plasma_frames() -> Result<Vec<RgbImage>> {
    let mut memory = MemoryBackend::new(MODE)?;
    let plasma = bochsfb_demos::find("plasma").context("no plasma")?;
    let mut plasma = (plasma.new)(&MODE, Clock::Frame);
    Ok((0..FRAMES)
        .map(|frame| {
            plasma.draw(&mut memory.surface(), frame);
            memory.surface().to_rgb_image()
        })
        .collect())
}

fn decode(path: &std::path::Path) -> Result<Vec<RgbImage>> {
    let file = BufReader::new(std::fs::File::open(path)?);
    let frames = if path.extension().is_some_and(|e| e == "gif") {
        image::codecs::gif::GifDecoder::new(file)?
            .into_frames()
            .collect_frames()?
    } else {
        image::codecs::png::PngDecoder::new(file)?
            .apng()?
            .into_frames()
            .collect_frames()?
    };
    Ok(frames
        .into_iter()
        .map(|f| image::DynamicImage::ImageRgba8(f.into_buffer()).to_rgb8())
        .collect())
}

#[test]
fn a_recording_of_the_plasma_holds_its_frames() -> Result<()> {
    let config = VmConfig {
        module_params: vec![
            ("width".into(), "640".into()),
            ("height".into(), "480".into()),
        ],
        ..VmConfig::default()
    };
    let dir = qemu_bochs::paths::out_dir().join("recordings");
    let (apng, gif) = (dir.join("plasma.png"), dir.join("plasma.gif"));
    with_guest_config(&config, |vm| {
        let command = format!("bochsfb-demo plasma --backend mmap --frames {FRAMES} --clock frame");
        let options = Options {
            fps: 10.0,
            width: None,
        };
        let (run, frames) = record::record_while(vm, &options, || {
            vm.run(&command, bochsfb_tests::COMMAND_TIMEOUT)
        })?;
        ensure!(run.status == 0, "`{command}` failed: {}", run.output);
        record::save(&frames, &apng)?;
        let small = Options {
            width: Some(320),
            ..options
        };
        let (_, frames) = record::record_while(vm, &small, || {
            vm.run(&command, bochsfb_tests::COMMAND_TIMEOUT)
        })?;
        record::save(&frames, &gif).map(drop)
    })?;

    let expected = plasma_frames()?;
    let recorded = decode(&apng)?;
    ensure!(
        recorded.len() >= 3,
        "{} holds {} frames, expected several",
        apng.display(),
        recorded.len()
    );
    let mut which = Vec::new();
    for (i, frame) in recorded.iter().enumerate() {
        ensure!(
            frame.dimensions() == (640, 480),
            "frame {i} is {:?}",
            frame.dimensions()
        );
        let k = expected.iter().position(|e| e == frame);
        which.push(k.with_context(|| {
            format!("frame {i} of {} is no frame of the plasma", apng.display())
        })?);
    }
    ensure!(
        which.windows(2).all(|w| w[0] < w[1]),
        "the plasma's frames out of order: {which:?}"
    );

    let small = decode(&gif)?;
    let distinct: HashSet<&[u8]> = small.iter().map(|f| f.as_raw().as_slice()).collect();
    ensure!(
        distinct.len() >= 3,
        "{} holds {} distinct frames",
        gif.display(),
        distinct.len()
    );
    ensure!(
        small.iter().all(|f| f.dimensions() == (320, 240)),
        "GIF frames are not 320x240"
    );
    Ok(())
}
