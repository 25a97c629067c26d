//! A frame that workloads draw into, whichever way the path reaches it:
//! stores into a mapping, or `write`/`pwrite` calls. Every system call the
//! path makes while drawing is counted.

use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::ops::DerefMut;
use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};

use bochsfb_renderer::Mode;

/// A rectangle of pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

impl Rect {
    pub fn full(geometry: &Mode) -> Rect {
        Rect {
            x: 0,
            y: 0,
            w: geometry.width,
            h: geometry.height,
        }
    }

    /// The smallest rectangle holding all of `rects`.
    pub fn bounding(rects: &[Rect]) -> Option<Rect> {
        let x = rects.iter().map(|r| r.x).min()?;
        let y = rects.iter().map(|r| r.y).min()?;
        let right = rects.iter().map(|r| r.x + r.w).max()?;
        let bottom = rects.iter().map(|r| r.y + r.h).max()?;
        Some(Rect {
            x,
            y,
            w: right - x,
            h: bottom - y,
        })
    }
}

/// Where workloads draw.
pub trait Canvas {
    fn geometry(&self) -> Mode;
    /// Copies `rect` from `src`, whose rows are `src_stride` bytes apart.
    fn blit(&mut self, rect: Rect, src: &[u8], src_stride: usize) -> io::Result<()>;
    /// Fills `rect` with `pixel` (one pixel in the device's byte order).
    fn fill(&mut self, rect: Rect, pixel: &[u8]) -> io::Result<()>;
    /// Puts `bytes` at byte `offset` of the frame, rows and all: one copy, or one call.
    fn copy(&mut self, offset: usize, bytes: &[u8]) -> io::Result<()>;
    /// Makes what was drawn since the last call visible; `damage` says where.
    fn present(&mut self, damage: &[Rect]) -> io::Result<()>;
    /// System calls made so far.
    fn syscalls(&self) -> u64;
    /// Wall time spent in `present` so far.
    fn present_time(&self) -> Duration {
        Duration::ZERO
    }
}

/// Byte offset of `(x, y)` in the frame.
fn offset(geometry: &Mode, x: u32, y: u32) -> usize {
    y as usize * geometry.stride as usize + x as usize * geometry.bytes_per_pixel()
}

/// Whether `rect` of a source with `src_stride` is one run of bytes in the frame too.
fn is_contiguous(geometry: &Mode, rect: Rect, src_stride: usize) -> bool {
    rect.x == 0
        && rect.w == geometry.width
        && geometry.row_len() == geometry.stride as usize
        && src_stride == geometry.stride as usize
}

/// Fills `row` with copies of `pixel`; word stores where the pixel is an
/// aligned word, as a tuned fill would do.
fn fill_row(row: &mut [u8], pixel: &[u8]) {
    let filled = match *pixel {
        [a, b, c, d] => fill_words(row, u32::from_ne_bytes([a, b, c, d])),
        [a, b] => fill_words(row, u16::from_ne_bytes([a, b])),
        _ => false,
    };
    if !filled {
        row.chunks_exact_mut(pixel.len())
            .for_each(|p| p.copy_from_slice(pixel));
    }
}

/// Fills `row` with `word` if it is a whole number of aligned words.
fn fill_words<T: Copy>(row: &mut [u8], word: T) -> bool {
    // SAFETY: T is u32 or u16 (see fill_row): every bit pattern is a valid
    // value, and align_to_mut only hands out properly aligned words.
    let (head, words, tail) = unsafe { row.align_to_mut::<T>() };
    let aligned = head.is_empty() && tail.is_empty();
    if aligned {
        words.fill(word);
    }
    aligned
}

/// Stores into a mapping of the frame: our `/dev/bochsfb0` (VRAM), the fbdev
/// emulation's `/dev/fb0` or a DRM dumb buffer. `flush` runs once per frame
/// and returns the system calls it made (DIRTYFB for a dumb buffer, else 0).
pub struct MmapCanvas<M, F> {
    frame: M,
    geometry: Mode,
    flush: F,
    syscalls: u64,
    flush_time: Duration,
}

impl<M, F> MmapCanvas<M, F>
where
    M: DerefMut<Target = [u8]>,
    F: FnMut(&[Rect]) -> io::Result<u64>,
{
    pub fn new(frame: M, geometry: Mode, flush: F) -> Self {
        assert!(
            frame.len() >= geometry.frame_len(),
            "the mapping holds the frame"
        );
        Self {
            frame,
            geometry,
            flush,
            syscalls: 0,
            flush_time: Duration::ZERO,
        }
    }
}

impl<M, F> Canvas for MmapCanvas<M, F>
where
    M: DerefMut<Target = [u8]>,
    F: FnMut(&[Rect]) -> io::Result<u64>,
{
    fn geometry(&self) -> Mode {
        self.geometry
    }

    fn blit(&mut self, rect: Rect, src: &[u8], src_stride: usize) -> io::Result<()> {
        let g = &self.geometry;
        let start = offset(g, rect.x, rect.y);
        if is_contiguous(g, rect, src_stride) {
            // The whole frame in one memcpy: the "all at once" of the issue.
            let len = rect.h as usize * src_stride;
            self.frame[start..start + len].copy_from_slice(&src[..len]);
            return Ok(());
        }
        let len = rect.w as usize * g.bytes_per_pixel();
        for row in 0..rect.h as usize {
            let dst = start + row * g.stride as usize;
            self.frame[dst..dst + len].copy_from_slice(&src[row * src_stride..][..len]);
        }
        Ok(())
    }

    fn fill(&mut self, rect: Rect, pixel: &[u8]) -> io::Result<()> {
        let g = &self.geometry;
        let len = rect.w as usize * g.bytes_per_pixel();
        for y in rect.y..rect.y + rect.h {
            let start = offset(g, rect.x, y);
            fill_row(&mut self.frame[start..start + len], pixel);
        }
        Ok(())
    }

    fn copy(&mut self, offset: usize, bytes: &[u8]) -> io::Result<()> {
        self.frame[offset..offset + bytes.len()].copy_from_slice(bytes);
        Ok(())
    }

    fn present(&mut self, damage: &[Rect]) -> io::Result<()> {
        let start = Instant::now();
        self.syscalls += (self.flush)(damage)?;
        self.flush_time += start.elapsed();
        Ok(())
    }

    fn syscalls(&self) -> u64 {
        self.syscalls
    }

    fn present_time(&self) -> Duration {
        self.flush_time
    }
}

/// How a [`WriteCanvas`] puts bytes at an offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteCall {
    /// `lseek(SEEK_SET)` then `write` (two calls, or more on a short write).
    LseekWrite,
    /// `pwrite` (one call, or more on a short write).
    Pwrite,
}

/// Reaches the frame through `write`/`pwrite` on a device file.
pub struct WriteCanvas {
    file: File,
    call: WriteCall,
    geometry: Mode,
    syscalls: u64,
    /// The source of `fill`: a write path has to copy the colour from somewhere.
    fill_source: Vec<u8>,
}

impl WriteCanvas {
    pub fn new(file: File, call: WriteCall, geometry: Mode) -> Self {
        Self {
            file,
            call,
            geometry,
            syscalls: 0,
            fill_source: Vec::new(),
        }
    }

    /// Puts all of `bytes` at `offset`: one `lseek` and `write` calls, or `pwrite` calls, until
    /// the device took them all (std's `File` makes exactly the one system call each).
    fn put(&mut self, offset: usize, bytes: &[u8]) -> io::Result<()> {
        let mut done = 0;
        if self.call == WriteCall::LseekWrite {
            self.syscalls += 1;
            (&self.file).seek(SeekFrom::Start(offset as u64))?;
        }
        while done < bytes.len() {
            let rest = &bytes[done..];
            self.syscalls += 1;
            let n = match self.call {
                WriteCall::LseekWrite => (&self.file).write(rest)?,
                WriteCall::Pwrite => self.file.write_at(rest, (offset + done) as u64)?,
            };
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "device took no bytes",
                ));
            }
            done += n;
        }
        Ok(())
    }
}

impl Canvas for WriteCanvas {
    fn geometry(&self) -> Mode {
        self.geometry
    }

    fn blit(&mut self, rect: Rect, src: &[u8], src_stride: usize) -> io::Result<()> {
        let g = self.geometry;
        let start = offset(&g, rect.x, rect.y);
        if is_contiguous(&g, rect, src_stride) {
            return self.put(start, &src[..rect.h as usize * src_stride]);
        }
        let len = rect.w as usize * g.bytes_per_pixel();
        for row in 0..rect.h as usize {
            self.put(
                start + row * g.stride as usize,
                &src[row * src_stride..][..len],
            )?;
        }
        Ok(())
    }

    fn fill(&mut self, rect: Rect, pixel: &[u8]) -> io::Result<()> {
        let g = self.geometry;
        if !self.fill_source.starts_with(pixel) || self.fill_source.len() < g.frame_len() {
            self.fill_source = vec![0; g.frame_len()];
            for y in 0..g.height {
                let start = offset(&g, 0, y);
                fill_row(&mut self.fill_source[start..start + g.row_len()], pixel);
            }
        }
        let source = std::mem::take(&mut self.fill_source);
        let filled = self.blit(
            rect,
            &source[offset(&g, rect.x, rect.y)..],
            g.stride as usize,
        );
        self.fill_source = source;
        filled
    }

    fn copy(&mut self, offset: usize, bytes: &[u8]) -> io::Result<()> {
        self.put(offset, bytes)
    }

    fn present(&mut self, _damage: &[Rect]) -> io::Result<()> {
        Ok(())
    }

    fn syscalls(&self) -> u64 {
        self.syscalls
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const G: Mode = Mode {
        width: 4,
        height: 3,
        bpp: 32,
        stride: 20,
    };

    fn canvas(
        frame: &mut Vec<u8>,
    ) -> MmapCanvas<&mut [u8], impl FnMut(&[Rect]) -> io::Result<u64>> {
        MmapCanvas::new(frame.as_mut_slice(), G, |_: &[Rect]| Ok(1))
    }

    #[test]
    fn mmap_blit_and_fill_land_at_their_offsets() {
        let mut frame = vec![0u8; G.frame_len()];
        let mut c = canvas(&mut frame);
        let rect = Rect {
            x: 1,
            y: 1,
            w: 2,
            h: 2,
        };
        c.blit(rect, &[1; 16], 8).unwrap();
        c.fill(
            Rect {
                x: 3,
                y: 2,
                w: 1,
                h: 1,
            },
            &[9, 9, 9, 9],
        )
        .unwrap();
        c.copy(34, &[3; 4]).unwrap();
        c.present(&[rect]).unwrap();
        assert_eq!(c.syscalls(), 1);
        assert_eq!(frame[20..24], [0; 4]);
        assert_eq!(frame[24..32], [1; 8]);
        assert_eq!(frame[44..52], [1; 8]);
        assert_eq!(frame[52..56], [9; 4]);
        assert_eq!(frame[32..40], [0, 0, 3, 3, 3, 3, 0, 0]);
    }

    #[test]
    fn bounding_rect_covers_all() {
        let rects = [
            Rect {
                x: 5,
                y: 1,
                w: 2,
                h: 2,
            },
            Rect {
                x: 1,
                y: 4,
                w: 1,
                h: 1,
            },
        ];
        assert_eq!(
            Rect::bounding(&rects),
            Some(Rect {
                x: 1,
                y: 1,
                w: 6,
                h: 4
            })
        );
        assert_eq!(Rect::bounding(&[]), None);
    }

    #[test]
    fn write_canvas_counts_calls_per_row() {
        let file = File::options()
            .read(true)
            .write(true)
            .open("/dev/null")
            .unwrap();
        let mut c = WriteCanvas::new(file, WriteCall::LseekWrite, G);
        c.blit(
            Rect {
                x: 0,
                y: 0,
                w: 4,
                h: 3,
            },
            &[0; 60],
            20,
        )
        .unwrap();
        assert_eq!(c.syscalls(), 6, "stride > row: one lseek + write per row");
        let file = File::options().write(true).open("/dev/null").unwrap();
        let packed = Mode { stride: 16, ..G };
        let mut c = WriteCanvas::new(file, WriteCall::Pwrite, packed);
        c.fill(Rect::full(&packed), &[1, 2, 3, 4]).unwrap();
        assert_eq!(c.syscalls(), 1, "a packed full frame is one pwrite");
        c.copy(5, &[7; 3]).unwrap();
        assert_eq!(c.syscalls(), 2, "a run of bytes is one pwrite");
    }
}
