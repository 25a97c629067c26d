//! The crate's libc calls that are no device calls ([`crate::device`] has those): `wmemset`
//! and the SIGINT/SIGTERM handler. With `device` and `simd`'s dispatch to AVX2, its only
//! unsafe code.
#![allow(unsafe_code)]

use std::io;
use std::ptr;

/// Fills `bytes` with `pattern` repeated from its first byte on: C's `wmemset`, a memset of
/// four-byte units, as fast as `memset` itself (`benches/pixels.rs`), for the aligned middle,
/// and plain stores for the few bytes before and after it.
pub(crate) fn fill_repeating(bytes: &mut [u8], pattern: [u8; 4]) {
    unsafe extern "C" {
        fn wmemset(s: *mut libc::wchar_t, c: libc::wchar_t, n: usize) -> *mut libc::wchar_t;
    }
    const _: () = assert!(std::mem::size_of::<libc::wchar_t>() == 4);
    let head = bytes.as_ptr().align_offset(4).min(bytes.len());
    let words = (bytes.len() - head) / 4;
    let (start, rest) = bytes.split_at_mut(head);
    let (middle, end) = rest.split_at_mut(words * 4);
    for (i, b) in start.iter_mut().enumerate() {
        *b = pattern[i % 4];
    }
    // The middle starts `head` bytes into the pattern.
    let word = libc::wchar_t::from_ne_bytes(std::array::from_fn(|i| pattern[(head + i) % 4]));
    // SAFETY: `middle` is `words` four-byte units, aligned for `wchar_t` (which is four
    // bytes), exclusively borrowed; any bit pattern is a valid byte.
    unsafe { wmemset(middle.as_mut_ptr().cast(), word, words) };
    for (i, b) in end.iter_mut().enumerate() {
        *b = pattern[(head + i) % 4];
    }
}

/// Set by the SIGINT/SIGTERM handler of [`stop_on_signals`].
static STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn note_stop(_signal: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    STOP.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Makes SIGINT and SIGTERM set the flag [`stop_requested`] reads instead of killing the
/// process; a second one kills it as usual (`SA_RESETHAND`).
pub fn stop_on_signals() -> io::Result<()> {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: a zeroed sigaction is a valid "no flags, empty mask" value; the handler is an
        // `extern "C" fn(c_int)` that only stores to an atomic, which is async-signal-safe, and
        // it stays valid for the life of the program.
        let ret = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = note_stop as extern "C" fn(libc::c_int) as libc::sighandler_t;
            action.sa_flags = libc::SA_RESETHAND | libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, ptr::null_mut())
        };
        if ret != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Whether SIGINT or SIGTERM arrived since [`stop_on_signals`].
pub fn stop_requested() -> bool {
    STOP.load(std::sync::atomic::Ordering::Relaxed)
}
