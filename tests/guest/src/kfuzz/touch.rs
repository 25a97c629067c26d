//! Touching mapped bytes without dying of it: one load or store instruction whose `SIGBUS` or
//! `SIGSEGV` the handler turns into a return value, so a touch costs no fork.
//!
//! Each probe is a two-instruction function whose first instruction is the access. When it
//! faults, the handler finds the signal's RIP at one of the probes, sets RAX to minus the signal
//! number and resumes at a bare `ret`: the probe returns as if the access had been a call that
//! failed. A fault anywhere else restores the default action, so the fuzzer's own bugs still
//! kill it.

use std::sync::Once;

std::arch::global_asm!(
    ".pushsection .text.kfuzz_touch,\"ax\",@progbits",
    ".globl kfuzz_touch_read",
    ".type kfuzz_touch_read,@function",
    "kfuzz_touch_read:",
    "    movzx eax, byte ptr [rdi]",
    "    ret",
    ".globl kfuzz_touch_write",
    ".type kfuzz_touch_write,@function",
    "kfuzz_touch_write:",
    "    mov byte ptr [rdi], sil",
    "    xor eax, eax",
    "    ret",
    ".globl kfuzz_touch_resume",
    ".type kfuzz_touch_resume,@function",
    "kfuzz_touch_resume:",
    "    ret",
    ".popsection",
);

extern "C" {
    fn kfuzz_touch_read(addr: *const u8) -> i64;
    fn kfuzz_touch_write(addr: *mut u8, value: u8) -> i64;
    fn kfuzz_touch_resume();
}

/// What one access did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Touched {
    Ok(u8),
    Signal(i32),
}

extern "C" fn on_fault(sig: libc::c_int, _info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    let probes = [
        kfuzz_touch_read as *const () as usize,
        kfuzz_touch_write as *const () as usize,
    ];
    // SAFETY: with SA_SIGINFO the kernel passes the interrupted context as a `ucontext_t`.
    let gregs = unsafe { &mut (*ctx.cast::<libc::ucontext_t>()).uc_mcontext.gregs };
    let rip = gregs[libc::REG_RIP as usize] as usize;
    if probes.contains(&rip) {
        gregs[libc::REG_RAX as usize] = -i64::from(sig);
        gregs[libc::REG_RIP as usize] = kfuzz_touch_resume as *const () as i64;
        return;
    }
    // Not a probe: the default action, which the faulting instruction meets again at once.
    // SAFETY: resets one signal's disposition; async-signal-safe.
    unsafe { libc::signal(sig, libc::SIG_DFL) };
}

/// Installs the handler (once per process; children inherit it).
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for sig in [libc::SIGBUS, libc::SIGSEGV] {
            // SAFETY: a zeroed sigaction with a valid SA_SIGINFO handler is a valid argument.
            let ret = unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_fault as *const () as usize;
                action.sa_flags = libc::SA_SIGINFO;
                libc::sigaction(sig, &action, std::ptr::null_mut())
            };
            assert_eq!(ret, 0, "sigaction: {}", std::io::Error::last_os_error());
        }
    });
}

/// Reads the byte at `addr`.
///
/// # Safety
///
/// `addr` must not be memory Rust code holds references into (device mappings and memory the
/// fuzzer reserved only); the handler must be installed.
pub unsafe fn read(addr: u64) -> Touched {
    // SAFETY: the caller vouches for the address; a fault returns a negative value.
    match unsafe { kfuzz_touch_read(addr as *const u8) } {
        v if v < 0 => Touched::Signal(-v as i32),
        v => Touched::Ok(v as u8),
    }
}

/// Writes `value` at `addr`.
///
/// # Safety
///
/// As for [`read`]: `addr` must not be memory Rust code uses.
pub unsafe fn write(addr: u64, value: u8) -> Touched {
    // SAFETY: as above.
    match unsafe { kfuzz_touch_write(addr as *mut u8, value) } {
        v if v < 0 => Touched::Signal(-v as i32),
        _ => Touched::Ok(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_become_return_values() {
        install();
        let page = crate::device::page_size();
        // SAFETY: a fresh anonymous mapping, no Rust references into it.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                2 * page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        } as u64;
        // SAFETY: the second page of our own mapping.
        unsafe { libc::mprotect((base + page as u64) as *mut _, page, libc::PROT_READ) };
        // SAFETY: addresses in the mapping above (or the null page, which faults).
        unsafe {
            assert_eq!(write(base, 7), Touched::Ok(7));
            assert_eq!(read(base), Touched::Ok(7));
            assert_eq!(read(base + page as u64), Touched::Ok(0));
            assert_eq!(write(base + page as u64, 1), Touched::Signal(libc::SIGSEGV));
            assert_eq!(read(0), Touched::Signal(libc::SIGSEGV));
            libc::munmap(base as *mut _, 2 * page);
        }
    }
}
