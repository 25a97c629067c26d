//! Pixel loops compiled twice, for the target's baseline and for AVX2, and run as the CPU
//! allows. The loops are plain Rust over whole pixels; with AVX2 the compiler vectorises them
//! with byte shuffles the x86_64 baseline (SSE2) lacks, 2 to 15 times faster
//! (`cargo bench -p bochsfb-renderer --bench pixels`).
#![allow(unsafe_code)]

/// Defines `fn $name` (no generics), whose body is compiled for the baseline and, on x86_64,
/// a second time for AVX2: each call runs the AVX2 build when the CPU has it (a cached check).
macro_rules! vectorized {
    ($(#[$attr:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$attr])*
        $vis fn $name($($arg: $ty),*) {
            #[inline(always)]
            fn body($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                fn avx2($($arg: $ty),*) {
                    body($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: `avx2` needs nothing but a CPU with AVX2, checked just above.
                    #[allow(unsafe_code)]
                    return unsafe { avx2($($arg),*) };
                }
            }
            body($($arg),*)
        }
    };
}

pub(crate) use vectorized;

#[cfg(test)]
mod tests {
    vectorized! {
        /// Sums bytes: a loop the compiler vectorises.
        fn sum_into(bytes: &[u8], total: &mut u64) {
            *total = bytes.iter().map(|&b| u64::from(b)).sum();
        }
    }

    #[test]
    fn both_builds_compute_the_same() {
        let bytes: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
        let mut total = 0;
        sum_into(&bytes, &mut total);
        assert_eq!(total, bytes.iter().map(|&b| u64::from(b)).sum::<u64>());
    }
}
