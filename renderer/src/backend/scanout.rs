//! Double buffering over a mapped framebuffer, shared by the bochsfb mmap
//! and fbdev backends: a hardware flip between two halves of video memory
//! where the driver can pan, otherwise a RAM back buffer whose damage is
//! copied, or (asked for) drawing straight into what is shown.

use std::io;

use crate::backend::{copy_damage, Presentation};
use crate::device::Mapping;
use crate::{Damage, Mode, Surface};

#[derive(Debug)]
enum Buffers {
    Direct,
    /// Frames `0` and `1` lie one after the other in the mapping; `back` is
    /// drawn on while the other is shown. `stale` is what the back buffer
    /// lacks of the shown frame (what the last frame drew in the other one).
    Flip {
        back: usize,
        stale: Damage,
    },
    Copy {
        frame: Vec<u8>,
    },
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
        Scanout::new(
            map,
            mode,
            Buffers::Flip {
                back: 1 - shown,
                stale,
            },
        )
    }

    fn new(map: Mapping, mode: Mode, buffers: Buffers) -> Scanout {
        Scanout {
            map,
            mode,
            buffers,
            drawn: Damage::new(),
        }
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
        self.catch_up();
        let len = self.mode.frame_len();
        let frame_bytes = self.frame_bytes();
        let buf: &mut [u8] = match &mut self.buffers {
            Buffers::Direct => &mut self.map.as_mut_slice()[..len],
            Buffers::Copy { frame } => frame,
            Buffers::Flip { back, .. } => {
                let start = *back * frame_bytes;
                &mut self.map.as_mut_slice()[start..start + len]
            }
        };
        Surface::new_validated(buf, self.mode, Some(&mut self.drawn))
    }

    /// Bytes from one flip frame to the next.
    fn frame_bytes(&self) -> usize {
        self.mode.stride as usize * self.mode.height as usize
    }

    /// Flip: brings the back buffer up to the shown frame (copies what the last frame drew
    /// in the other buffer). Both drawing and presenting need it first: presenting a back
    /// buffer that was never brought up to date would show an older frame.
    fn catch_up(&mut self) {
        let frame_bytes = self.frame_bytes();
        if let Buffers::Flip { back, stale } = &mut self.buffers {
            if stale.is_empty() {
                return;
            }
            let (first, second) = self.map.as_mut_slice().split_at_mut(frame_bytes);
            let (front, back_buf) = if *back == 1 {
                (&*first, second)
            } else {
                (&*second, first)
            };
            copy_damage(stale, front, back_buf, self.mode);
            stale.clear();
        }
    }

    pub(crate) fn will_redraw_all(&mut self) {
        if let Buffers::Flip { stale, .. } = &mut self.buffers {
            stale.clear();
        }
    }

    /// For closing: if a flip left the display on the second frame, copies it into the first
    /// and calls `pan(0)`, so the last frame stays on screen at row 0, where the next program
    /// (or a `write(2)` from offset 0) expects the visible frame.
    pub(crate) fn settle(&mut self, pan: impl FnOnce(u32) -> io::Result<()>) -> io::Result<()> {
        let frame_bytes = self.frame_bytes();
        let len = self.mode.frame_len();
        if let Buffers::Flip { back: 0, .. } = self.buffers {
            // Frame 1 is shown (the back buffer is 0): it holds the last presented frame.
            let (first, second) = self.map.as_mut_slice().split_at_mut(frame_bytes);
            first[..len].copy_from_slice(&second[..len]);
            pan(0)?;
            if let Buffers::Flip { back, stale } = &mut self.buffers {
                *back = 1;
                stale.clear();
            }
        }
        Ok(())
    }

    /// Shows the frame: copies the damage (copy), or calls `pan` with the
    /// first row of the back buffer and swaps (flip).
    pub(crate) fn present(&mut self, pan: impl FnOnce(u32) -> io::Result<()>) -> io::Result<()> {
        self.catch_up();
        match &mut self.buffers {
            Buffers::Direct => {}
            Buffers::Copy { frame } => {
                copy_damage(&self.drawn, frame, self.map.as_mut_slice(), self.mode)
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_graphics::pixelcolor::Rgb888;
    use embedded_graphics::prelude::*;
    use embedded_graphics::primitives::Rectangle;

    /// A shared mapping of a temporary file standing in for video memory.
    fn vram(len: usize) -> Mapping {
        // One file per call: tests run in parallel, and two sharing a file would share "VRAM".
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("bochsfb-scanout-{}-{n}", std::process::id()));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        file.set_len(len as u64).unwrap();
        std::fs::remove_file(&path).unwrap();
        Mapping::new(&file, len, 0).unwrap()
    }

    fn shown(scanout: &mut Scanout, y: u32) -> Vec<u8> {
        let len = scanout.mode.frame_len();
        let start = y as usize * scanout.mode.stride as usize;
        scanout.map.as_mut_slice()[start..start + len].to_vec()
    }

    #[test]
    fn flipping_keeps_partial_redraws_whole() {
        let mode = Mode::xrgb8888(8, 4);
        let mut s = Scanout::flip(vram(2 * mode.frame_len()), mode, 0);
        let mut pans = Vec::new();
        let mut memory = crate::backend::MemoryBackend::new(mode).unwrap();
        let rect = |x, c| (Rectangle::new(Point::new(x, 1), Size::new(2, 2)), c);
        let frames = [
            vec![(Rectangle::new(Point::zero(), Size::new(8, 4)), Rgb888::BLUE)],
            vec![rect(0, Rgb888::RED)],
            vec![rect(4, Rgb888::GREEN)],
            vec![rect(2, Rgb888::WHITE)],
        ];
        for draws in frames {
            for (area, c) in &draws {
                s.surface().fill_solid(area, *c).unwrap();
                crate::Backend::surface(&mut memory)
                    .fill_solid(area, *c)
                    .unwrap();
            }
            s.present(|y| {
                pans.push(y);
                Ok(())
            })
            .unwrap();
            let y = *pans.last().unwrap();
            assert_eq!(shown(&mut s, y), memory.frame(), "after pan to {y}");
        }
        assert_eq!(pans, [4, 0, 4, 0]);
    }

    #[test]
    fn copying_sends_only_the_damage() {
        let mode = Mode::xrgb8888(8, 4);
        let mut s = Scanout::copy(vram(mode.frame_len()), mode);
        s.surface()
            .fill_solid(
                &Rectangle::new(Point::new(1, 1), Size::new(2, 1)),
                Rgb888::RED,
            )
            .unwrap();
        // Scribble outside the damage directly into "VRAM": it must survive.
        s.map.as_mut_slice()[0] = 0x55;
        s.present(|_| unreachable!()).unwrap();
        let vram = shown(&mut s, 0);
        assert_eq!(vram[0], 0x55);
        assert_eq!(vram[32 + 4..32 + 12], [0, 0, 255, 0, 0, 0, 255, 0]);
    }

    /// One step of a program using a backend.
    #[derive(Clone, Copy, Debug)]
    enum Step {
        Fill(i32, i32, u32, u32, [u8; 3]),
        /// `will_redraw_all`, then a fill of the whole frame.
        RedrawAll([u8; 3]),
        Present,
    }

    /// The frame a program's steps should show, computed by hand: XRGB8888 bytes `B, G, R, 0`.
    fn model_fill(
        frame: &mut [u8],
        mode: Mode,
        (x, y, w, h): (i32, i32, u32, u32),
        [r, g, b]: [u8; 3],
    ) {
        for row in y as usize..y as usize + h as usize {
            for col in x as usize..x as usize + w as usize {
                let at = row * mode.stride as usize + col * 4;
                frame[at..at + 4].copy_from_slice(&[b, g, r, 0]);
            }
        }
    }

    /// Runs `steps` on `scanout` and checks, after every present, that the screen shows what
    /// the hand-computed model says.
    fn check_pattern(name: &str, mut scanout: Scanout, steps: &[Step]) {
        use embedded_graphics::prelude::*;
        use embedded_graphics::primitives::Rectangle;
        let mode = scanout.mode();
        let mut model = vec![0u8; mode.frame_len()];
        let mut shown_at = 0;
        for (i, step) in steps.iter().enumerate() {
            match *step {
                Step::Fill(x, y, w, h, rgb) => {
                    let area = Rectangle::new(Point::new(x, y), Size::new(w, h));
                    scanout
                        .surface()
                        .fill_solid(&area, Rgb888::new(rgb[0], rgb[1], rgb[2]))
                        .unwrap();
                    model_fill(&mut model, mode, (x, y, w, h), rgb);
                }
                Step::RedrawAll(rgb) => {
                    scanout.will_redraw_all();
                    scanout
                        .surface()
                        .clear(Rgb888::new(rgb[0], rgb[1], rgb[2]))
                        .unwrap();
                    model_fill(&mut model, mode, (0, 0, mode.width, mode.height), rgb);
                }
                Step::Present => {
                    scanout
                        .present(|y| {
                            shown_at = y;
                            Ok(())
                        })
                        .unwrap();
                    assert_eq!(
                        shown(&mut scanout, shown_at),
                        model,
                        "{name}: after step {i} ({step:?})"
                    );
                }
            }
        }
    }

    #[test]
    fn settling_leaves_the_last_frame_at_row_zero() {
        use embedded_graphics::prelude::*;
        let mode = Mode::xrgb8888(8, 4);
        for presents in [1, 2, 3] {
            let mut s = Scanout::flip(vram(2 * mode.frame_len()), mode, 0);
            let mut model = vec![0u8; mode.frame_len()];
            let mut pans = Vec::new();
            for i in 0..presents {
                let rgb = [40 * i as u8, 7, 200];
                s.surface()
                    .clear(Rgb888::new(rgb[0], rgb[1], rgb[2]))
                    .unwrap();
                model_fill(&mut model, mode, (0, 0, 8, 4), rgb);
                s.present(|y| {
                    pans.push(y);
                    Ok(())
                })
                .unwrap();
            }
            s.settle(|y| {
                pans.push(y);
                Ok(())
            })
            .unwrap();
            assert_eq!(shown(&mut s, 0), model, "after {presents} presents");
            // Panned back to 0 only when a flip had left the second frame shown.
            let expected_last = if presents % 2 == 1 {
                Some(&0)
            } else {
                pans.last()
            };
            assert_eq!(pans.last(), expected_last);
            assert_eq!(pans.len(), presents + usize::from(presents % 2 == 1));
        }
    }

    /// Every present pattern on every scanout: presenting without drawing, partial redraws,
    /// `will_redraw_all`, alternating full and partial frames.
    #[test]
    fn every_present_pattern_shows_the_frame_drawn() {
        use Step::*;
        const A: [u8; 3] = [0, 0, 255];
        const B: [u8; 3] = [255, 0, 0];
        const C: [u8; 3] = [0, 255, 0];
        const D: [u8; 3] = [255, 255, 255];
        let patterns: [(&str, Vec<Step>); 4] = [
            (
                "present without drawing",
                vec![
                    Fill(0, 0, 8, 4, A),
                    Present,
                    Present,
                    Present,
                    Fill(1, 1, 2, 2, B),
                    Present,
                    Present,
                ],
            ),
            (
                "partial redraws",
                vec![
                    Fill(0, 0, 8, 4, A),
                    Present,
                    Fill(0, 1, 2, 2, B),
                    Present,
                    Fill(4, 1, 2, 2, C),
                    Present,
                    Present,
                    Fill(2, 0, 1, 1, D),
                    Present,
                ],
            ),
            (
                "redraw all",
                vec![
                    RedrawAll(A),
                    Present,
                    RedrawAll(B),
                    Present,
                    Present,
                    Fill(1, 1, 1, 1, C),
                    Present,
                    RedrawAll(D),
                    Present,
                ],
            ),
            (
                "alternating",
                vec![
                    Fill(0, 0, 8, 4, A),
                    Present,
                    Fill(0, 0, 8, 4, B),
                    Present,
                    Fill(0, 0, 1, 1, C),
                    Present,
                    Present,
                    Fill(0, 0, 8, 4, D),
                    Present,
                    Fill(7, 3, 1, 1, A),
                    Present,
                ],
            ),
        ];
        let mode = Mode::xrgb8888(8, 4);
        for (name, steps) in &patterns {
            check_pattern(
                &format!("direct, {name}"),
                Scanout::direct(vram(mode.frame_len()), mode),
                steps,
            );
            check_pattern(
                &format!("copy, {name}"),
                Scanout::copy(vram(mode.frame_len()), mode),
                steps,
            );
            check_pattern(
                &format!("flip, {name}"),
                Scanout::flip(vram(2 * mode.frame_len()), mode, 0),
                steps,
            );
        }
    }
}
