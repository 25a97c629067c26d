//! Pixel loops for the instructions this CPU has. Plain Rust loops over whole pixels are
//! compiled twice, for the x86_64 baseline (SSE2) and for AVX2, and the AVX2 build runs where
//! the CPU has it: the compiler then vectorises them with the byte shuffles SSE2 lacks.
//! Reordering and scaling rows are byte shuffles written out (`pshufb`, SSSE3; two at a time
//! with AVX2). The only unsafe code is each call of a `target_feature` function, made after
//! checking that the CPU has the feature.
#![allow(unsafe_code)]

use embedded_graphics::pixelcolor::{IntoStorage, Rgb888};

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

/// Rearranges bytes in fixed strides: chunk `k` of `dst` (`DST` bytes at `k * DST`) gets the
/// 16 bytes at `k * SRC` of `src` shuffled by `mask` (SSSE3 `pshufb`: output byte `i` is
/// window byte `mask[i]`, or 0 where its top bit is set), for as many chunks as fit whole
/// 16-byte loads and stores. Returns that number of chunks (0 without SSSE3); the caller
/// converts the rest.
pub(crate) fn shuffle_chunks<const SRC: usize, const DST: usize>(
    src: &[u8],
    dst: &mut [u8],
    mask: [u8; 16],
) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: `shuffle_chunks_avx2` needs nothing but a CPU with AVX2, checked just above.
            return unsafe { shuffle_chunks_avx2::<SRC, DST>(src, dst, mask) };
        }
        if std::arch::is_x86_feature_detected!("ssse3") {
            // SAFETY: `shuffle_chunks_ssse3` needs nothing but a CPU with SSSE3, checked just above.
            return unsafe { shuffle_chunks_ssse3::<SRC, DST>(src, dst, mask) };
        }
    }
    let _ = (src, dst, mask);
    0
}

/// Chunks whose 16-byte load at `k * src_step` and store at `k * dst_step` both fit.
fn whole_chunks(src: usize, src_step: usize, dst: usize, dst_step: usize) -> usize {
    let fits = |len: usize, step: usize| if len < 16 { 0 } else { (len - 16) / step + 1 };
    fits(src, src_step).min(fits(dst, dst_step))
}

/// [`shuffle_chunks`] two chunks per instruction: one in each 128-bit lane of `vpshufb`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn shuffle_chunks_avx2<const SRC: usize, const DST: usize>(
    src: &[u8],
    dst: &mut [u8],
    mask: [u8; 16],
) -> usize {
    use std::arch::x86_64::{
        __m128i, __m256i, _mm256_castsi256_si128, _mm256_extracti128_si256, _mm256_set_m128i,
        _mm256_shuffle_epi8,
    };
    const { assert!(SRC > 0 && DST > 0 && DST <= 16) };
    let chunks = whole_chunks(src.len(), SRC, dst.len(), DST);
    let mask: __m256i = bytemuck::cast([mask, mask]);
    let load = |window: &[u8]| -> __m128i {
        bytemuck::cast(<[u8; 16]>::try_from(&window[..16]).expect("16 bytes"))
    };
    let store = |out: &mut [u8], v: __m128i| {
        out[..16].copy_from_slice(&bytemuck::cast::<__m128i, [u8; 16]>(v))
    };
    // Eight chunks per bounds check: the offsets inside are constants the compiler checks once.
    let mut k = 0;
    while k + 8 <= chunks {
        let (window, out) = (
            &src[k * SRC..][..7 * SRC + 16],
            &mut dst[k * DST..][..7 * DST + 16],
        );
        for pair in 0..4 {
            let (lo, hi) = (2 * pair, 2 * pair + 1);
            let shuffled = _mm256_shuffle_epi8(
                _mm256_set_m128i(load(&window[hi * SRC..]), load(&window[lo * SRC..])),
                mask,
            );
            // Low lane first: where chunks overlap (DST < 16) the later one must win.
            store(&mut out[lo * DST..], _mm256_castsi256_si128(shuffled));
            store(
                &mut out[hi * DST..],
                _mm256_extracti128_si256::<1>(shuffled),
            );
        }
        k += 8;
    }
    let half = bytemuck::cast::<__m256i, [__m128i; 2]>(mask)[0];
    for k in k..chunks {
        store(
            &mut dst[k * DST..],
            std::arch::x86_64::_mm_shuffle_epi8(load(&src[k * SRC..]), half),
        );
    }
    chunks
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "ssse3")]
fn shuffle_chunks_ssse3<const SRC: usize, const DST: usize>(
    src: &[u8],
    dst: &mut [u8],
    mask: [u8; 16],
) -> usize {
    use std::arch::x86_64::{__m128i, _mm_shuffle_epi8};
    const { assert!(SRC > 0 && DST > 0 && DST <= 16) };
    let chunks = whole_chunks(src.len(), SRC, dst.len(), DST);
    let mask: __m128i = bytemuck::cast(mask);
    // A function, not a closure: closures do not get their function's target features.
    #[target_feature(enable = "ssse3")]
    #[inline]
    fn shuffle(window: &[u8], out: &mut [u8], mask: __m128i) {
        let window: [u8; 16] = window[..16].try_into().expect("16 bytes");
        let shuffled = _mm_shuffle_epi8(bytemuck::cast(window), mask);
        out[..16].copy_from_slice(&bytemuck::cast::<__m128i, [u8; 16]>(shuffled));
    }
    // Four chunks per bounds check: the offsets inside are constants the compiler checks once.
    let mut k = 0;
    while k + 4 <= chunks {
        let (window, out) = (
            &src[k * SRC..][..3 * SRC + 16],
            &mut dst[k * DST..][..3 * DST + 16],
        );
        for i in 0..4 {
            shuffle(&window[i * SRC..], &mut out[i * DST..], mask);
        }
        k += 4;
    }
    for k in k..chunks {
        shuffle(&src[k * SRC..], &mut dst[k * DST..], mask);
    }
    chunks
}

/// Block `k` of `dst` (16 bytes at `16 * k`, the last one maybe shorter) gets the 16 bytes
/// of `src` from `froms[k]` on shuffled by `masks[k]` as `pshufb` does (see
/// [`shuffle_chunks`]); blocks whose window would read past `src` go byte by byte.
pub(crate) fn shuffle_blocks(src: &[u8], froms: &[usize], masks: &[[u8; 16]], dst: &mut [u8]) {
    assert!(froms.len() == masks.len() && froms.len() == dst.len().div_ceil(16));
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: `shuffle_blocks_avx2` needs nothing but a CPU with AVX2, checked just above.
            return unsafe { shuffle_blocks_avx2(src, froms, masks, dst) };
        }
        if std::arch::is_x86_feature_detected!("ssse3") {
            // SAFETY: `shuffle_blocks_ssse3` needs nothing but a CPU with SSSE3, checked just above.
            return unsafe { shuffle_blocks_ssse3(src, froms, masks, dst) };
        }
    }
    shuffle_blocks_bytes(src, froms, masks, dst);
}

/// [`shuffle_blocks`] without SIMD.
fn shuffle_blocks_bytes(src: &[u8], froms: &[usize], masks: &[[u8; 16]], dst: &mut [u8]) {
    for ((out, &from), mask) in dst.chunks_mut(16).zip(froms).zip(masks) {
        pshufb_bytes(src, from, mask, out);
    }
}

/// One block of [`shuffle_blocks`] without SIMD, for as many bytes as `out` has.
fn pshufb_bytes(src: &[u8], from: usize, mask: &[u8; 16], out: &mut [u8]) {
    for (o, &m) in out.iter_mut().zip(mask) {
        *o = if m & 0x80 == 0 {
            src[from + usize::from(m)]
        } else {
            0
        };
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "ssse3")]
fn shuffle_blocks_ssse3(src: &[u8], froms: &[usize], masks: &[[u8; 16]], dst: &mut [u8]) {
    use std::arch::x86_64::{__m128i, _mm_shuffle_epi8};
    for ((out, &from), mask) in dst.chunks_mut(16).zip(froms).zip(masks) {
        match (src.get(from..from + 16), out.len()) {
            (Some(window), 16) => {
                let window: __m128i =
                    bytemuck::cast(<[u8; 16]>::try_from(window).expect("16 bytes"));
                let shuffled = _mm_shuffle_epi8(window, bytemuck::cast(*mask));
                out.copy_from_slice(&bytemuck::cast::<__m128i, [u8; 16]>(shuffled));
            }
            _ => pshufb_bytes(src, from, mask, out),
        }
    }
}

/// [`shuffle_blocks`] two blocks per `vpshufb`, one in each 128-bit lane.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn shuffle_blocks_avx2(src: &[u8], froms: &[usize], masks: &[[u8; 16]], dst: &mut [u8]) {
    use std::arch::x86_64::{__m128i, __m256i, _mm256_set_m128i, _mm256_shuffle_epi8};
    let pairs = dst.len() / 32;
    let (whole, rest) = dst.split_at_mut(32 * pairs);
    let load = |from: usize| {
        src.get(from..from + 16)
            .map(|w| bytemuck::cast::<[u8; 16], __m128i>(w.try_into().expect("16 bytes")))
    };
    for ((out, f), m) in whole
        .chunks_exact_mut(32)
        .zip(froms.chunks_exact(2))
        .zip(masks.chunks_exact(2))
    {
        let (Some(lo), Some(hi)) = (load(f[0]), load(f[1])) else {
            pshufb_bytes(src, f[0], &m[0], &mut out[..16]);
            pshufb_bytes(src, f[1], &m[1], &mut out[16..]);
            continue;
        };
        let mask: __m256i = bytemuck::cast([m[0], m[1]]);
        let shuffled = _mm256_shuffle_epi8(_mm256_set_m128i(hi, lo), mask);
        out.copy_from_slice(&bytemuck::cast::<__m256i, [u8; 32]>(shuffled));
    }
    shuffle_blocks_ssse3(src, &froms[2 * pairs..], &masks[2 * pairs..], rest);
}

/// Packs colours (`0x00RRGGBB` words, as embedded-graphics stores them) into B, G, R bytes,
/// sixteen pixels at a time: four shuffles drop the zero bytes and three byte shifts join the
/// results into three whole 16-byte stores. Returns the pixels written (0 without SSSE3).
pub(crate) fn pack_rgb888(colors: &[Rgb888], row: &mut [u8]) -> usize {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("ssse3") {
        // SAFETY: `pack_rgb888_ssse3` needs nothing but a CPU with SSSE3, checked just above.
        return unsafe { pack_rgb888_ssse3(colors, row) };
    }
    let _ = (colors, row);
    0
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "ssse3")]
fn pack_rgb888_ssse3(colors: &[Rgb888], row: &mut [u8]) -> usize {
    use std::arch::x86_64::{
        __m128i, _mm_bslli_si128, _mm_bsrli_si128, _mm_or_si128, _mm_set_epi32, _mm_shuffle_epi8,
    };
    const DROP_X: [u8; 16] = [
        0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, 0x80, 0x80, 0x80, 0x80,
    ];
    let drop_x: __m128i = bytemuck::cast(DROP_X);
    let mut done = 0;
    for (colors, out) in colors.chunks_exact(16).zip(row.chunks_exact_mut(48)) {
        // Four colours per vector, each shuffled to twelve bytes at the bottom.
        // (Written out: a closure would not get this function's target features.)
        let word = |i: usize| colors[i].into_storage() as i32;
        let a = _mm_shuffle_epi8(_mm_set_epi32(word(3), word(2), word(1), word(0)), drop_x);
        let b = _mm_shuffle_epi8(_mm_set_epi32(word(7), word(6), word(5), word(4)), drop_x);
        let c = _mm_shuffle_epi8(_mm_set_epi32(word(11), word(10), word(9), word(8)), drop_x);
        let d = _mm_shuffle_epi8(
            _mm_set_epi32(word(15), word(14), word(13), word(12)),
            drop_x,
        );
        let packed = [
            _mm_or_si128(a, _mm_bslli_si128::<12>(b)),
            _mm_or_si128(_mm_bsrli_si128::<4>(b), _mm_bslli_si128::<8>(c)),
            _mm_or_si128(_mm_bsrli_si128::<8>(c), _mm_bslli_si128::<4>(d)),
        ];
        out.copy_from_slice(&bytemuck::cast::<[__m128i; 3], [u8; 48]>(packed));
        done += 16;
    }
    done
}

#[cfg(test)]
mod tests {
    vectorized! {
        /// Sums bytes: a loop the compiler vectorises.
        fn sum_into(bytes: &[u8], total: &mut u64) {
            *total = bytes.iter().map(|&b| u64::from(b)).sum();
        }
    }

    /// Against the definition, at every source and destination length around the last chunk.
    #[test]
    fn shuffle_chunks_is_pshufb_per_chunk() {
        let mask = [2, 1, 0, 0x80, 5, 4, 3, 0x80, 8, 7, 6, 0x80, 11, 10, 9, 0x80];
        let src: Vec<u8> = (0..300u32).map(|i| (i * 3 + 1) as u8).collect();
        // Past eight chunks (AVX2's unrolled loop) and around every tail.
        for len in 0..300 {
            let mut dst = vec![0xa5u8; len * 4 / 3 + 4];
            let chunks = super::shuffle_chunks::<12, 16>(&src[..len], &mut dst, mask);
            // Chunks whose 16-byte load and store both fit.
            let fits = |len: usize, step: usize| if len < 16 { 0 } else { (len - 16) / step + 1 };
            if cfg!(target_arch = "x86_64") && std::arch::is_x86_feature_detected!("ssse3") {
                assert_eq!(
                    chunks,
                    fits(len, 12).min(fits(dst.len(), 16)),
                    "every chunk that fits at {len}"
                );
            }
            for k in 0..chunks {
                for (i, &m) in mask.iter().enumerate() {
                    let expected = if m & 0x80 != 0 {
                        0
                    } else {
                        src[k * 12 + usize::from(m)]
                    };
                    assert_eq!(dst[k * 16 + i], expected, "chunk {k} byte {i} at {len}");
                }
            }
            assert!(
                dst[chunks * 16..].iter().all(|&b| b == 0xa5),
                "nothing past the chunks at {len}"
            );
        }
    }

    /// The SIMD builds against the byte-by-byte one, blocks of every window position, some of
    /// them reading up to the source's last byte.
    #[test]
    fn shuffle_blocks_match_their_byte_by_byte_build() {
        let src: Vec<u8> = (0..200u32).map(|i| (i * 29 + 3) as u8).collect();
        for len in [1usize, 15, 16, 17, 31, 32, 33, 100, 161] {
            let blocks = len.div_ceil(16);
            let froms: Vec<usize> = (0..blocks).map(|k| (k * 37) % 185).collect();
            let masks: Vec<[u8; 16]> = (0..blocks)
                .map(|k| {
                    std::array::from_fn(|i| {
                        if (i + k) % 7 == 0 {
                            0x80
                        } else {
                            ((i * 5 + k) % 16) as u8
                        }
                    })
                })
                .collect();
            let (mut fast, mut bytes) = (vec![0u8; len], vec![0u8; len]);
            super::shuffle_blocks(&src, &froms, &masks, &mut fast);
            super::shuffle_blocks_bytes(&src, &froms, &masks, &mut bytes);
            assert_eq!(fast, bytes, "{len} bytes");
            for (k, out) in bytes.chunks(16).enumerate() {
                for (i, &b) in out.iter().enumerate() {
                    let m = masks[k][i];
                    assert_eq!(
                        b,
                        if m & 0x80 != 0 {
                            0
                        } else {
                            src[froms[k] + usize::from(m)]
                        },
                        "block {k} byte {i}"
                    );
                }
            }
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
