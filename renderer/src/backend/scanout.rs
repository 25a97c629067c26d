//! Double buffering over a mapped framebuffer, shared by the bochsfb mmap
//! and fbdev backends: a hardware flip between two halves of video memory
//! where the driver can pan, otherwise a RAM back buffer whose damage is
//! copied, or (asked for) drawing straight into what is shown.

use std::io;

use crate::backend::{copy_damage, Presentation};
use crate::sys::Mapping;
use crate::{Damage, Mode, Surface};

#[derive(Debug)]
enum Buffers {
    Direct,
    /// Frames `0` and `1` lie one after the other in the mapping; `back` is
    /// drawn on while the other is shown. `stale` is what the back buffer
    /// lacks of the shown frame (what the last frame drew in the other one).
    Flip { back: usize, stale: Damage },
    Copy { frame: Vec<u8> },
}

/// A mapped framebuffer with a presentation strategy.
#[derive(Debug)]
pub(crate) struct Scanout {
    map: Mapping,
    mode: Mode,
    buffers: Buffers,
    drawn: Damage,
}

impl Scanout {
    /// Draws into the mapping itself (single buffered; tearing possible).
    pub(crate) fn direct(map: Mapping, mode: Mode) -> Scanout {
        Scanout::new(map, mode, Buffers::Direct)
    }

    /// Draws into a RAM frame and copies the damage into the mapping.
    pub(crate) fn copy(mut map: Mapping, mode: Mode) -> Scanout {
        // Start from what is on screen, so partial redraws keep it.
        let frame = map.as_mut_slice()[..mode.frame_len()].to_vec();
        Scanout::new(map, mode, Buffers::Copy { frame })
    }

    /// Two frames in the mapping (`2 * height` rows); `shown` (0 or 1) is
    /// the one on screen now.
    pub(crate) fn flip(map: Mapping, mode: Mode, shown: usize) -> Scanout {
        let stale = Damage::full(mode.width, mode.height);
        Scanout::new(map, mode, Buffers::Flip { back: 1 - shown, stale })
    }

    fn new(map: Mapping, mode: Mode, buffers: Buffers) -> Scanout {
        Scanout { map, mode, buffers, drawn: Damage::new() }
    }

    pub(crate) fn mode(&self) -> Mode {
        self.mode
    }

    pub(crate) fn presentation(&self) -> Presentation {
        match self.buffers {
            Buffers::Direct => Presentation::Direct,
            Buffers::Flip { .. } => Presentation::Flip,
            Buffers::Copy { .. } => Presentation::Copy,
        }
    }

    pub(crate) fn surface(&mut self) -> Surface<'_> {
        let len = self.mode.frame_len();
        let frame_bytes = self.mode.stride as usize * self.mode.height as usize;
        let buf: &mut [u8] = match &mut self.buffers {
            Buffers::Direct => &mut self.map.as_mut_slice()[..len],
            Buffers::Copy { frame } => frame,
            Buffers::Flip { back, stale } => {
                let (first, second) = self.map.as_mut_slice().split_at_mut(frame_bytes);
                let (front, back_buf) = if *back == 1 { (&*first, second) } else { (&*second, first) };
                if !stale.is_empty() {
                    // Bring the back buffer up to the shown frame.
                    copy_damage(stale, front, back_buf, self.mode);
                    stale.clear();
                }
                &mut back_buf[..len]
            }
        };
        Surface::new_validated(buf, self.mode, Some(&mut self.drawn))
    }

    pub(crate) fn will_redraw_all(&mut self) {
        if let Buffers::Flip { stale, .. } = &mut self.buffers {
            stale.clear();
        }
    }

    /// Shows the frame: copies the damage (copy), or calls `pan` with the
    /// first row of the back buffer and swaps (flip).
    pub(crate) fn present(&mut self, pan: impl FnOnce(u32) -> io::Result<()>) -> io::Result<()> {
        match &mut self.buffers {
            Buffers::Direct => {}
            Buffers::Copy { frame } => copy_damage(&self.drawn, frame, self.map.as_mut_slice(), self.mode),
            Buffers::Flip { back, stale } => {
                pan(*back as u32 * self.mode.height)?;
                *back = 1 - *back;
                // The new back buffer is the old frame: it lacks this frame's damage.
                *stale = std::mem::take(&mut self.drawn);
            }
        }
        self.drawn.clear();
        Ok(())
    }
}
