//! Page flips on a DRM device: how long from the request to its event, and how many a second.

use std::io;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use bochsfb_bench::FlipRun;
use bochsfb_renderer::device::wait_readable;
use drm::control::{Device as _, Event, PageFlipFlags};

use crate::measure;
use crate::open::Pipe;

/// How long a flip event may take before the run fails: many frames at any refresh rate.
const EVENT_TIMEOUT_MS: i32 = 1000;

/// Shows one of two dumb buffers, then flips between them `count` times back to back: each
/// `DRM_IOCTL_MODE_PAGE_FLIP` with `DRM_MODE_PAGE_FLIP_EVENT` is timed until its event has
/// been read, and the next is requested at once, as a client that draws nothing would. One
/// untimed flip first: the first after a modeset may wait for the output to come up.
pub fn run(count: usize) -> io::Result<FlipRun> {
    let pipe = Pipe::open()?;
    let buffers = [pipe.framebuffer()?, pipe.framebuffer()?];
    let flipped = pipe.show(buffers[0].1).and_then(|()| {
        let flip = |to: usize| -> io::Result<Duration> {
            let start = Instant::now();
            pipe.card
                .page_flip(pipe.crtc, buffers[to].1, PageFlipFlags::EVENT, None)?;
            wait_for_flip(&pipe)?;
            Ok(start.elapsed())
        };
        flip(1)?;
        let busy = measure::busy_cpu_seconds();
        let start = Instant::now();
        let latencies_us = (0..count)
            .map(|i| flip(i % 2).map(|t| t.as_secs_f64() * 1e6))
            .collect::<io::Result<Vec<f64>>>()?;
        let seconds = start.elapsed().as_secs_f64();
        Ok(FlipRun {
            latencies_us,
            seconds,
            cpu_seconds: measure::busy_since(busy),
        })
    });
    for (buffer, fb) in buffers {
        pipe.release(buffer, fb);
    }
    flipped
}

/// Reads the card's events until the flip-complete one of the pipe's CRTC arrives.
fn wait_for_flip(pipe: &Pipe) -> io::Result<()> {
    loop {
        if !wait_readable(pipe.card.as_fd(), EVENT_TIMEOUT_MS)? {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "no page-flip event within a second",
            ));
        }
        for event in pipe.card.receive_events()? {
            if matches!(event, Event::PageFlip(flip) if flip.crtc == pipe.crtc) {
                return Ok(());
            }
        }
    }
}
