//! Damage tracking: which parts of a frame changed since it was last shown.
//!
//! Every drawing call on a [`Surface`](crate::Surface) adds the rectangle it
//! touched (clipped to the screen). Backends read the list when presenting and
//! send only those parts: `write(2)` of the changed spans, `FLUSH` or
//! `DIRTYFB` rectangles, or row copies.

/// A rectangle of pixels with a non-negative origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Rect {
    /// Left column.
    pub x: u32,
    /// Top row.
    pub y: u32,
    /// Columns.
    pub width: u32,
    /// Rows.
    pub height: u32,
}

impl Rect {
    /// A rectangle from its top-left corner and size.
    pub const fn new(x: u32, y: u32, width: u32, height: u32) -> Rect {
        Rect {
            x,
            y,
            width,
            height,
        }
    }

    /// One past the right column.
    pub const fn right(&self) -> u32 {
        self.x + self.width
    }

    /// One past the bottom row.
    pub const fn bottom(&self) -> u32 {
        self.y + self.height
    }

    /// Whether it covers no pixel.
    pub const fn is_empty(&self) -> bool {
        self.width == 0 || self.height == 0
    }

    /// Pixels covered.
    pub const fn area(&self) -> u64 {
        self.width as u64 * self.height as u64
    }

    /// Whether every pixel of `other` is in `self`.
    pub const fn contains(&self, other: &Rect) -> bool {
        other.x >= self.x
            && other.y >= self.y
            && other.right() <= self.right()
            && other.bottom() <= self.bottom()
    }

    /// The smallest rectangle covering both.
    pub fn union(&self, other: &Rect) -> Rect {
        if self.is_empty() {
            return *other;
        }
        if other.is_empty() {
            return *self;
        }
        let (x, y) = (self.x.min(other.x), self.y.min(other.y));
        let (r, b) = (
            self.right().max(other.right()),
            self.bottom().max(other.bottom()),
        );
        Rect::new(x, y, r - x, b - y)
    }
}

/// At most this many rectangles are kept; more are merged with their nearest.
pub const MAX_DAMAGE_RECTS: usize = 16;

/// The changed rectangles of a frame (they may overlap).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Damage {
    rects: Vec<Rect>,
}

impl Damage {
    /// No damage.
    pub fn new() -> Damage {
        Damage::default()
    }

    /// All of a `width x height` frame.
    pub fn full(width: u32, height: u32) -> Damage {
        let mut damage = Damage::new();
        damage.add(Rect::new(0, 0, width, height));
        damage
    }

    /// Records that `rect` changed. Rectangles already covered are dropped;
    /// past [`MAX_DAMAGE_RECTS`] the new one is merged into the rectangle
    /// that grows least by it.
    pub fn add(&mut self, rect: Rect) {
        if rect.is_empty() || self.rects.iter().any(|r| r.contains(&rect)) {
            return;
        }
        self.rects.retain(|r| !rect.contains(r));
        if self.rects.len() < MAX_DAMAGE_RECTS {
            self.rects.push(rect);
            return;
        }
        let growth = |r: &Rect| r.union(&rect).area() - r.area();
        let nearest = (0..self.rects.len())
            .min_by_key(|&i| growth(&self.rects[i]))
            .expect("the list is full, so not empty");
        let merged = self.rects.swap_remove(nearest).union(&rect);
        self.add(merged);
    }

    /// Adds every rectangle of `other`.
    pub fn extend(&mut self, other: &Damage) {
        for &r in &other.rects {
            self.add(r);
        }
    }

    /// The changed rectangles.
    pub fn rects(&self) -> &[Rect] {
        &self.rects
    }

    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.rects.is_empty()
    }

    /// Forgets all damage.
    pub fn clear(&mut self) {
        self.rects.clear();
    }

    /// The smallest rectangle covering all damage.
    pub fn bounding_box(&self) -> Rect {
        self.rects
            .iter()
            .fold(Rect::default(), |acc, r| acc.union(r))
    }

    /// Pixels changed, counting overlaps more than once.
    pub fn area(&self) -> u64 {
        self.rects.iter().map(Rect::area).sum()
    }

    /// Row spans `(y, x0, x1)` of `self` that `covered` does not cover, each
    /// row's spans sorted and disjoint: what a back buffer still lacks after a
    /// frame redrew `covered`.
    pub fn spans_not_in(&self, covered: &Damage) -> Vec<(u32, u32, u32)> {
        let mut spans = Vec::new();
        let bounds = self.bounding_box();
        let mut row: Vec<(u32, u32)> = Vec::new();
        for y in bounds.y..bounds.bottom() {
            row.clear();
            row.extend(
                self.rects
                    .iter()
                    .filter(|r| (r.y..r.bottom()).contains(&y))
                    .map(|r| (r.x, r.right())),
            );
            if row.is_empty() {
                continue;
            }
            let mut cuts: Vec<(u32, u32)> = covered
                .rects
                .iter()
                .filter(|r| (r.y..r.bottom()).contains(&y))
                .map(|r| (r.x, r.right()))
                .collect();
            row.sort_unstable();
            cuts.sort_unstable();
            // Merge the row's own intervals, then cut the covered ones out.
            let mut merged: Vec<(u32, u32)> = Vec::new();
            for &(a, b) in &row {
                match merged.last_mut() {
                    Some(last) if a <= last.1 => last.1 = last.1.max(b),
                    _ => merged.push((a, b)),
                }
            }
            for (mut a, b) in merged {
                for &(ca, cb) in &cuts {
                    if cb <= a || ca >= b {
                        continue;
                    }
                    if ca > a {
                        spans.push((y, a, ca));
                    }
                    a = a.max(cb);
                    if a >= b {
                        break;
                    }
                }
                if a < b {
                    spans.push((y, a, b));
                }
            }
        }
        spans
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covered_rectangles_are_dropped_and_covering_ones_replace() {
        let mut d = Damage::new();
        d.add(Rect::new(10, 10, 5, 5));
        d.add(Rect::new(11, 11, 2, 2));
        assert_eq!(d.rects(), &[Rect::new(10, 10, 5, 5)]);
        d.add(Rect::new(0, 0, 100, 100));
        assert_eq!(d.rects(), &[Rect::new(0, 0, 100, 100)]);
        d.add(Rect::new(3, 3, 0, 9));
        assert_eq!(d.rects().len(), 1);
    }

    #[test]
    fn too_many_rectangles_merge_but_still_cover_everything() {
        let mut d = Damage::new();
        let all: Vec<Rect> = (0..40)
            .map(|i| Rect::new(i * 20, (i % 7) * 30, 8, 8))
            .collect();
        for &r in &all {
            d.add(r);
        }
        assert!(d.rects().len() <= MAX_DAMAGE_RECTS);
        for r in &all {
            assert!(d.rects().iter().any(|m| m.contains(r)), "{r:?} lost");
        }
    }

    #[test]
    fn spans_not_in_subtracts_what_was_redrawn() {
        let stale = Damage::full(10, 3);
        let mut drawn = Damage::new();
        drawn.add(Rect::new(2, 0, 3, 2));
        drawn.add(Rect::new(4, 1, 4, 1));
        assert_eq!(
            stale.spans_not_in(&drawn),
            vec![(0, 0, 2), (0, 5, 10), (1, 0, 2), (1, 8, 10), (2, 0, 10)]
        );
        assert!(stale.spans_not_in(&Damage::full(10, 3)).is_empty());
        assert!(Damage::new().spans_not_in(&drawn).is_empty());
    }
}
