//! Dumb buffers per size on a DRM device: how many `DRM_IOCTL_MODE_CREATE_DUMB` gives before it
//! refuses one, what each costs, and how the refusal comes.

use std::io;
use std::time::Instant;

use bochsfb_bench::{BufferCount, BUFFER_CAP, BUFFER_SIZES};
use drm::buffer::DrmFourcc;
use drm::control::Device as _;

use crate::open::Card;

/// For each of [`BUFFER_SIZES`], creates XRGB8888 dumb buffers on `card` until one is refused or
/// [`BUFFER_CAP`] exist, timing each call, then destroys them all before the next size. Only
/// a refusal for want of memory (`ENOMEM`, or `ENOSPC`) ends a size early; any other failure
/// ends the run.
pub fn run(card: &Card) -> io::Result<Vec<BufferCount>> {
    BUFFER_SIZES
        .iter()
        .map(|&(width, height)| {
            let mut buffers = Vec::new();
            let mut count = BufferCount {
                width,
                height,
                create_us: Vec::new(),
                refused_errno: None,
                refused_us: None,
            };
            let counted = loop {
                if buffers.len() == BUFFER_CAP {
                    break Ok(());
                }
                let start = Instant::now();
                let created = card.create_dumb_buffer((width, height), DrmFourcc::Xrgb8888, 32);
                let us = start.elapsed().as_secs_f64() * 1e6;
                match created {
                    Ok(buffer) => {
                        buffers.push(buffer);
                        count.create_us.push(us);
                    }
                    Err(e) => match e.raw_os_error() {
                        Some(errno) if errno == libc::ENOMEM || errno == libc::ENOSPC => {
                            count.refused_errno = Some(errno);
                            count.refused_us = Some(us);
                            break Ok(());
                        }
                        _ => break Err(e),
                    },
                }
            };
            for buffer in buffers {
                card.destroy_dumb_buffer(buffer)?;
            }
            counted.map(|()| count)
        })
        .collect()
}
