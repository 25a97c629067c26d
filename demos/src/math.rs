//! Integer maths shared by the demos, identical on every machine (no libm).

/// `sin(2πi/256) * 127`, rounded, for i in 0..256 (Bhaskara I's
/// approximation, exact to about 1%: plenty for colours and motion).
pub fn sine_table() -> [i32; 256] {
    let mut table = [0; 256];
    for (i, v) in table.iter_mut().enumerate() {
        let x = (i % 128) as i64; // 0..128 stands for 0..π
        let p = x * (128 - x);
        let s = (16 * p * 127 * 2 + (5 * 128 * 128 - 4 * p)) / (2 * (5 * 128 * 128 - 4 * p));
        *v = if i < 128 { s as i32 } else { -(s as i32) };
    }
    table
}

/// xorshift32: a small, seeded, portable random number generator.
#[derive(Debug, Clone)]
pub struct Rng(pub u32);

impl Rng {
    /// The next 32 random bits.
    pub fn next_u32(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u32) -> u32 {
        ((u64::from(self.next_u32()) * u64::from(n)) >> 32) as u32
    }
}

/// Position `p` folded into `0..=range` as if bouncing between the walls.
pub fn bounce(p: i64, range: i64) -> i64 {
    if range <= 0 {
        return 0;
    }
    let m = p.rem_euclid(2 * range);
    if m > range {
        2 * range - m
    } else {
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sine_table_has_the_shape_of_a_sine() {
        let s = sine_table();
        assert_eq!((s[0], s[64], s[128], s[192]), (0, 127, 0, -127));
        assert!((s[32] - 90).abs() <= 1, "sin(π/4)*127 ≈ 90, got {}", s[32]);
    }

    #[test]
    fn bounce_reflects_at_both_walls() {
        let seq: Vec<i64> = (0..12).map(|p| bounce(p, 4)).collect();
        assert_eq!(seq, [0, 1, 2, 3, 4, 3, 2, 1, 0, 1, 2, 3]);
        assert_eq!(bounce(-1, 4), 1);
    }
}
