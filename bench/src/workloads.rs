//! How each [`Workload`] is drawn: prepared scenes, whole frames that end
//! with one `present`.

use std::io;

use bochsfb_bench::{pattern, Workload};
use bochsfb_renderer::Mode;

use crate::canvas::{Canvas, Rect};

/// Sprites and pixels per frame: 8x8 and 64x64 sprites cover the same area.
const SPRITE_AREA_PER_FRAME: u32 = 64 * 1024;
const PIXELS_PER_FRAME: u32 = 4096;
/// Bytes per frame of the sweep's calls (at least one call): 16384 calls of 4 bytes, one of 64 KiB.
const CALL_BYTES_PER_FRAME: usize = 64 * 1024;
/// DRM_MODE_FB_DIRTY_MAX_CLIPS: more damage rectangles are sent as their bounding box.
const MAX_DAMAGE_RECTS: usize = 256;
/// Positions are random but the same in every run.
const POSITION_SEED: u64 = 0x5eed_b0c5;
/// The colour of frame fill.
const FILL_RGB: [u8; 3] = [0x20, 0x60, 0xa0];

/// Everything a workload needs, prepared before the clock starts.
pub struct Scene {
    workload: Workload,
    geometry: Mode,
    /// The path's test image, laid out like the frame.
    image: Vec<u8>,
    /// Where each op draws (sprites and pixels).
    rects: Vec<Rect>,
    /// Byte ranges, `(offset, len)`, of each op of the sweep.
    spans: Vec<(usize, usize)>,
    damage: Vec<Rect>,
    fill_pixel: Vec<u8>,
}

impl Scene {
    pub fn new(workload: Workload, geometry: Mode, image_seed: u32) -> Scene {
        let mut random = XorShift(POSITION_SEED);
        let mut random_rects = |count: u32, size: u32| -> Vec<Rect> {
            (0..count)
                .map(|_| Rect {
                    x: random.below(geometry.width - size + 1),
                    y: random.below(geometry.height - size + 1),
                    w: size,
                    h: size,
                })
                .collect()
        };
        let rects = match workload {
            Workload::Sprites(n) => random_rects(SPRITE_AREA_PER_FRAME / (n * n), n),
            Workload::Pixels => random_rects(PIXELS_PER_FRAME, 1),
            _ => Vec::new(),
        };
        let spans = match workload {
            Workload::Calls(size) => {
                let len = size.bytes(&geometry);
                let bytes = geometry.bytes_per_pixel();
                // Pixel-aligned offsets at which `len` bytes still fit in the frame.
                let offsets = (geometry.frame_len() - len) / bytes + 1;
                let calls = (CALL_BYTES_PER_FRAME / len).max(1);
                (0..calls)
                    .map(|_| (random.below(offsets as u32) as usize * bytes, len))
                    .collect()
            }
            _ => Vec::new(),
        };
        let damage = if !spans.is_empty() {
            rows_of(&spans, &geometry)
        } else if rects.is_empty() {
            vec![Rect::full(&geometry)]
        } else if rects.len() <= MAX_DAMAGE_RECTS {
            rects.clone()
        } else {
            Rect::bounding(&rects).into_iter().collect()
        };
        Scene {
            workload,
            geometry,
            image: pattern::frame(&geometry, image_seed),
            rects,
            spans,
            damage,
            fill_pixel: pattern::encode(FILL_RGB, geometry.bpp),
        }
    }

    /// Operations in one frame.
    pub fn ops_per_frame(&self) -> u64 {
        match self.workload {
            Workload::FrameCopy | Workload::FrameFill => 1,
            Workload::Scanline => self.geometry.height.into(),
            Workload::Sprites(_) | Workload::Pixels => self.rects.len() as u64,
            Workload::Calls(_) => self.spans.len() as u64,
        }
    }

    /// Pixel bytes one frame puts into the frame buffer.
    pub fn bytes_per_frame(&self) -> u64 {
        if !self.spans.is_empty() {
            return self.spans.iter().map(|&(_, len)| len as u64).sum();
        }
        let pixels: u64 = match self.workload {
            Workload::FrameCopy | Workload::FrameFill | Workload::Scanline => {
                u64::from(self.geometry.width) * u64::from(self.geometry.height)
            }
            Workload::Sprites(_) | Workload::Pixels => {
                self.rects.iter().map(|r| u64::from(r.w * r.h)).sum()
            }
            Workload::Calls(_) => 0,
        };
        pixels * self.geometry.bytes_per_pixel() as u64
    }

    /// Draws one frame and presents it.
    pub fn draw_frame(&self, canvas: &mut dyn Canvas) -> io::Result<()> {
        let g = &self.geometry;
        let stride = g.stride as usize;
        let full = Rect::full(g);
        match self.workload {
            Workload::FrameCopy => canvas.blit(full, &self.image, stride)?,
            Workload::FrameFill => canvas.fill(full, &self.fill_pixel)?,
            Workload::Scanline => {
                for y in 0..g.height {
                    let row = Rect { y, h: 1, ..full };
                    canvas.blit(row, &self.image[y as usize * stride..], stride)?;
                }
            }
            // Each sprite or pixel is the test image's own content at that place.
            Workload::Sprites(_) | Workload::Pixels => {
                for &rect in &self.rects {
                    let at = rect.y as usize * stride + rect.x as usize * g.bytes_per_pixel();
                    canvas.blit(rect, &self.image[at..], stride)?;
                }
            }
            Workload::Calls(_) => {
                for &(at, len) in &self.spans {
                    canvas.copy(at, &self.image[at..at + len])?;
                }
            }
        }
        canvas.present(&self.damage)
    }
}

/// The rows that `spans` touch, merged into runs of whole rows; their bounding box if that
/// makes too many rectangles for one DIRTYFB.
fn rows_of(spans: &[(usize, usize)], geometry: &Mode) -> Vec<Rect> {
    let stride = geometry.stride as usize;
    let mut rows: Vec<(u32, u32)> = spans
        .iter()
        .map(|&(at, len)| ((at / stride) as u32, ((at + len - 1) / stride) as u32))
        .map(|(first, last)| (first, last.min(geometry.height - 1)))
        .collect();
    rows.sort_unstable();
    let mut merged: Vec<(u32, u32)> = Vec::new();
    for (first, last) in rows {
        match merged.last_mut() {
            Some(run) if first <= run.1 + 1 => run.1 = run.1.max(last),
            _ => merged.push((first, last)),
        }
    }
    let rects: Vec<Rect> = merged
        .into_iter()
        .map(|(first, last)| Rect {
            x: 0,
            y: first,
            w: geometry.width,
            h: last - first + 1,
        })
        .collect();
    if rects.len() <= MAX_DAMAGE_RECTS {
        rects
    } else {
        Rect::bounding(&rects).into_iter().collect()
    }
}

/// xorshift64: tiny, seeded, good enough for positions.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, bound: u32) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % u64::from(bound)) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canvas::MmapCanvas;
    use bochsfb_bench::WORKLOADS;

    const G: Mode = Mode {
        width: 200,
        height: 100,
        bpp: 32,
        stride: 800,
    };

    #[test]
    fn every_workload_draws_the_test_image_or_the_fill_colour() {
        let image = pattern::frame(&G, 7);
        for workload in WORKLOADS {
            let scene = Scene::new(workload, G, 7);
            let mut frame = vec![0u8; G.frame_len()];
            let mut presents = 0;
            let present = |damage: &[Rect]| {
                assert!(!damage.is_empty() && damage.len() <= MAX_DAMAGE_RECTS);
                presents += 1;
                Ok(0)
            };
            scene
                .draw_frame(&mut MmapCanvas::new(frame.as_mut_slice(), G, present))
                .unwrap();
            assert_eq!(presents, 1);
            let drawn = frame.chunks(4).filter(|p| *p != [0; 4]).count() as u64;
            match workload {
                Workload::FrameFill => {
                    assert!(frame.chunks(4).all(|p| p == [0xa0, 0x60, 0x20, 0]))
                }
                // Sprites overlap, so they cover less than they drew.
                _ => {
                    assert!(frame.iter().zip(&image).all(|(f, i)| *f == 0 || f == i));
                    assert!(
                        drawn > 0 && drawn <= scene.bytes_per_frame() / 4,
                        "{workload:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn frame_sizes_and_ops() {
        assert_eq!(Scene::new(Workload::Scanline, G, 0).ops_per_frame(), 100);
        let sprites = Scene::new(Workload::Sprites(8), G, 0);
        assert_eq!(sprites.ops_per_frame(), 1024);
        assert_eq!(sprites.bytes_per_frame(), 64 * 1024 * 4);
        assert_eq!(
            sprites.damage.len(),
            1,
            "too many sprites: one bounding box"
        );
        assert_eq!(Scene::new(Workload::Sprites(64), G, 0).damage.len(), 16);
        assert_eq!(
            Scene::new(Workload::FrameCopy, G, 0).bytes_per_frame(),
            200 * 100 * 4
        );
    }

    #[test]
    fn sweep_calls_move_their_size_inside_the_frame() {
        use bochsfb_bench::CallSize;
        for (size, calls) in [
            (CallSize::Bytes(4), 16384),
            (CallSize::Bytes(1024), 64),
            (CallSize::Row, 81),
            (CallSize::Frame, 1),
        ] {
            let scene = Scene::new(Workload::Calls(size), G, 0);
            let len = size.bytes(&G);
            assert_eq!(scene.ops_per_frame(), calls, "{size:?}");
            assert_eq!(scene.bytes_per_frame(), calls * len as u64);
            assert!(scene
                .spans
                .iter()
                .all(|&(at, l)| l == len && at % 4 == 0 && at + l <= G.frame_len()));
            // The damage covers every byte written.
            for &(at, l) in &scene.spans {
                let (first, last) = ((at / 800) as u32, ((at + l - 1) / 800) as u32);
                assert!(
                    scene
                        .damage
                        .iter()
                        .any(|r| r.y <= first && last < r.y + r.h),
                    "{size:?}: rows {first}..={last} not in {:?}",
                    scene.damage
                );
            }
        }
        assert_eq!(
            Scene::new(Workload::Calls(CallSize::Frame), G, 0).spans,
            [(0, 80_000)]
        );
    }

    #[test]
    fn touched_rows_merge() {
        let rects = rows_of(&[(0, 4), (790, 20), (4000, 4)], &G);
        assert_eq!(
            rects,
            [
                Rect {
                    x: 0,
                    y: 0,
                    w: 200,
                    h: 2
                },
                Rect {
                    x: 0,
                    y: 5,
                    w: 200,
                    h: 1
                }
            ]
        );
    }
}
