//! Dumb buffers per size on a DRM device: how many `DRM_IOCTL_MODE_CREATE_DUMB` gives before it
//! refuses one, what a call costs, and how the refusal comes.

use std::io;
use std::time::{Duration, Instant};

use bochsfb_bench::{BufferCount, BUFFER_CAP, BUFFER_SIZES};
use drm::buffer::DrmFourcc;
use drm::control::Device as _;

use crate::open::Card;

/// Rounds of one size go on until their creates have taken this long together: the guest's
/// clock may advance in 4 ms jiffies, far coarser than one call, so only the sum of many calls
/// means something.
const MIN_TIMED: Duration = Duration::from_millis(250);
const MIN_ROUNDS: usize = 3;
const MAX_ROUNDS: usize = 200;

/// For each of [`BUFFER_SIZES`], in rounds: creates XRGB8888 dumb buffers on `card` until one is
/// refused or [`BUFFER_CAP`] exist (the creates timed together), then destroys them all. Only
/// a refusal for want of memory (`ENOMEM`, or `ENOSPC`) ends a round early; any other failure,
/// or a round that gets a different count, ends the run.
pub fn run(card: &Card) -> io::Result<Vec<BufferCount>> {
    BUFFER_SIZES
        .iter()
        .map(|&size| {
            let mut count: Option<BufferCount> = None;
            let mut timed = Duration::ZERO;
            let mut rounds = 0;
            while rounds < MIN_ROUNDS || (timed < MIN_TIMED && rounds < MAX_ROUNDS) {
                let (given, refused, took) = fill(card, size)?;
                rounds += 1;
                timed += took;
                let count = count.get_or_insert(BufferCount {
                    width: size.0,
                    height: size.1,
                    given,
                    rounds: 0,
                    create_seconds: 0.0,
                    refused_errno: refused,
                });
                if (count.given, count.refused_errno) != (given, refused) {
                    return Err(io::Error::other(format!(
                        "{}x{}: round {rounds} gave {given} buffers (refused: {refused:?}), the \
                         first {} ({:?})",
                        size.0, size.1, count.given, count.refused_errno
                    )));
                }
                count.rounds = rounds;
                count.create_seconds = timed.as_secs_f64();
            }
            count.ok_or_else(|| io::Error::other("no round ran"))
        })
        .collect()
}

/// One round: the buffers given, the errno that refused the next (if one did before the cap),
/// and how long the creates took together; the buffers are destroyed before it returns.
fn fill(card: &Card, (width, height): (u32, u32)) -> io::Result<(usize, Option<i32>, Duration)> {
    let mut buffers = Vec::new();
    let start = Instant::now();
    let outcome = loop {
        if buffers.len() == BUFFER_CAP {
            break Ok(None);
        }
        match card.create_dumb_buffer((width, height), DrmFourcc::Xrgb8888, 32) {
            Ok(buffer) => buffers.push(buffer),
            Err(e) => match e.raw_os_error() {
                Some(errno) if errno == libc::ENOMEM || errno == libc::ENOSPC => {
                    break Ok(Some(errno));
                }
                _ => break Err(e),
            },
        }
    };
    let took = start.elapsed();
    let given = buffers.len();
    for buffer in buffers {
        card.destroy_dumb_buffer(buffer)?;
    }
    outcome.map(|refused| (given, refused, took))
}
