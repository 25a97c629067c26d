//! `badinput`: every bad call gets exactly the errno docs/architecture.md documents.

use std::fmt::Debug;
use std::io;

use bochsfb_renderer::abi::{ior, BochsfbMode};
use libc::{EINVAL, ENOSPC, ENOTTY, MAP_PRIVATE, MAP_SHARED, SEEK_CUR, SEEK_END, SEEK_SET};

use crate::device::{page_size, Device};
use crate::report::{describe, errno_name, Outcome, Report};
use crate::roundtrip::{compare, load, pattern, store, FdPath};

pub fn run(device: &Device, mode: &BochsfbMode, report: &mut Report) {
    let vram = mode.fb_size;
    let end = vram as i64;
    let page = page_size();
    report.check("GET_MODE values are plausible", plausible(mode));

    let len = vram as usize + page;
    report.check(
        "mmap len = fb_size + page -> EINVAL",
        expect_errno(device.mmap(len, 0, MAP_SHARED), EINVAL),
    );
    report.check(
        "mmap off = fb_size, len = page -> EINVAL",
        expect_errno(device.mmap(page, vram, MAP_SHARED), EINVAL),
    );
    report.check(
        "mmap MAP_PRIVATE -> EINVAL",
        expect_errno(device.mmap(page, 0, MAP_PRIVATE), EINVAL),
    );
    report.check(
        "mmap PROT_EXEC -> EINVAL",
        expect_errno(
            device.mmap_prot(page, 0, MAP_SHARED, libc::PROT_READ | libc::PROT_EXEC),
            EINVAL,
        ),
    );

    report.check(
        "lseek SEEK_SET fb_size + 1 -> EINVAL",
        expect_errno(device.lseek(end + 1, SEEK_SET), EINVAL),
    );
    report.check(
        "lseek SEEK_SET -1 -> EINVAL",
        expect_errno(device.lseek(-1, SEEK_SET), EINVAL),
    );
    report.check(
        "lseek SEEK_END +1 -> EINVAL",
        expect_errno(device.lseek(1, SEEK_END), EINVAL),
    );
    report.check(
        "lseek SEEK_END 0 -> fb_size",
        expect_value(device.lseek(0, SEEK_END), end),
    );

    report.check(
        "write 8192 bytes from 4096 before the end -> 4096",
        expect_value(
            device
                .lseek(end - 4096, SEEK_SET)
                .and_then(|_| device.write(&[0x5a; 8192])),
            4096,
        ),
    );
    // No lseek: the short write must have left the position at the end.
    report.check(
        "next write, at the end -> ENOSPC",
        expect_errno(device.write(&[0x5a; 4096]), ENOSPC)
            .map_err(|why| format!("{why} (at position {})", position(device))),
    );
    report.check(
        "read at the end -> 0",
        expect_value(
            device
                .lseek(end, SEEK_SET)
                .and_then(|_| device.read(&mut [0; 4096])),
            0,
        ),
    );
    report.check(
        "pread at the end -> 0",
        expect_value(device.pread(&mut [0; 4096], vram), 0),
    );

    report.check(
        "ioctl _IOR('B', 0x7f, u32) -> ENOTTY",
        expect_errno(device.ioctl(ior(b'B', 0x7f, 4), &mut [0; 64]), ENOTTY),
    );
    report.check(
        "ioctl 0x1234 -> ENOTTY",
        expect_errno(device.ioctl(0x1234, &mut [0; 64]), ENOTTY),
    );

    report.check(
        "device still works (write + read back at 0)",
        still_works(device),
    );
}

fn plausible(mode: &BochsfbMode) -> Outcome {
    let row_bytes = u64::from(mode.width) * u64::from(mode.bpp) / 8;
    let frame_bytes = u64::from(mode.stride) * u64::from(mode.height);
    if mode.width == 0 || mode.height == 0 || mode.bpp == 0 {
        Err(format!("empty mode {mode:?}"))
    } else if u64::from(mode.stride) < row_bytes {
        Err(format!(
            "stride {} < width * bpp / 8 = {row_bytes}",
            mode.stride
        ))
    } else if frame_bytes > mode.fb_size || mode.fb_size > mode.vram_size {
        Err(format!(
            "not stride * height = {frame_bytes} <= fb_size {} <= vram_size {}",
            mode.fb_size, mode.vram_size
        ))
    } else {
        Ok(())
    }
}

/// The file position, for failure messages.
fn position(device: &Device) -> String {
    match device.lseek(0, SEEK_CUR) {
        Ok(position) => position.to_string(),
        Err(e) => format!("unknown: {}", describe(&e)),
    }
}

fn still_works(device: &Device) -> Outcome {
    let data = pattern(0x00b0_c5fb, 3 * 4096 + 7);
    store(device, 0, &data, FdPath::Seek)?;
    compare(&load(device, 0, data.len(), FdPath::Seek)?, &data)
}

/// Passes only if the call failed with exactly `errno`.
fn expect_errno<T: Debug>(result: io::Result<T>, errno: i32) -> Outcome {
    match result {
        Err(e) if e.raw_os_error() == Some(errno) => Ok(()),
        Err(e) => Err(format!(
            "got {}, expected {}",
            describe(&e),
            errno_name(errno)
        )),
        Ok(value) => Err(format!(
            "succeeded with {value:?}, expected {}",
            errno_name(errno)
        )),
    }
}

/// Passes only if the call succeeded with `expected`.
fn expect_value<T: Debug + PartialEq>(result: io::Result<T>, expected: T) -> Outcome {
    match result {
        Ok(value) if value == expected => Ok(()),
        Ok(value) => Err(format!("returned {value:?}, expected {expected:?}")),
        Err(e) => Err(format!(
            "failed with {}, expected {expected:?}",
            describe(&e)
        )),
    }
}
