//! How each [`Workload`] is drawn: prepared scenes, whole frames that end
//! with one `present`.

use std::io;

use bochsfb_bench::{pattern, Geometry, Workload};

use crate::canvas::{Canvas, Rect};

/// Sprites and pixels per frame: 8x8 and 64x64 sprites cover the same area.
const SPRITE_AREA_PER_FRAME: u32 = 64 * 1024;
const PIXELS_PER_FRAME: u32 = 4096;
/// DRM_MODE_FB_DIRTY_MAX_CLIPS: more damage rectangles are sent as their bounding box.
const MAX_DAMAGE_RECTS: usize = 256;
/// Positions are random but the same in every run.
const POSITION_SEED: u64 = 0x5eed_b0c5;
/// The colour of frame fill.
const FILL_RGB: [u8; 3] = [0x20, 0x60, 0xa0];

/// Everything a workload needs, prepared before the clock starts.
pub struct Scene {
    workload: Workload,
    geometry: Geometry,
    /// The path's test image, laid out like the frame.
    image: Vec<u8>,
    /// Where each op draws (sprites and pixels).
    rects: Vec<Rect>,
    damage: Vec<Rect>,
    fill_pixel: Vec<u8>,
}

impl Scene {
    pub fn new(workload: Workload, geometry: Geometry, image_seed: u32) -> Scene {
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
        let damage = if rects.is_empty() {
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
        }
    }

    /// Pixel bytes one frame puts into the frame buffer.
    pub fn bytes_per_frame(&self) -> u64 {
        let pixels: u64 = match self.workload {
            Workload::FrameCopy | Workload::FrameFill | Workload::Scanline => {
                u64::from(self.geometry.width) * u64::from(self.geometry.height)
            }
            Workload::Sprites(_) | Workload::Pixels => {
                self.rects.iter().map(|r| u64::from(r.w * r.h)).sum()
            }
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
        }
        canvas.present(&self.damage)
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

    const G: Geometry = Geometry {
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
            let mut frame = vec![0u8; G.frame_bytes()];
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
}
