//! `roundtrip`: the read/write path and the mmap path see the same VRAM bytes.

use std::sync::atomic::{fence, Ordering};

use crate::device::{page_size, Device, Mapping};
use crate::report::{describe, Outcome, Report};

/// Bytes per round trip: more than a page and a multiple of nothing useful.
const LEN: usize = 4096 + 123;

/// How bytes go through the file descriptor.
#[derive(Debug, Clone, Copy)]
pub enum FdPath {
    /// `pread` / `pwrite` at the offset.
    Positional,
    /// `lseek(SEEK_SET)` to the offset, then `read` / `write`.
    Seek,
}

pub fn run(device: &Device, path: &std::path::Path, fb_size: u64, report: &mut Report) {
    if fb_size < 64 * 1024 {
        report.check(
            "VRAM is big enough to test",
            Err(format!("only {fb_size} bytes")),
        );
        return;
    }
    let offsets = [0, 3 * 4096 + 13, fb_size - LEN as u64];
    for offset in offsets {
        // A different stream per check, so bytes left by the previous one can't pass it.
        let data = |check: u64| pattern(offset * 4 + check, LEN);
        let name = |what: &str| format!("{what} at {offset:#x} ({LEN} bytes)");
        use FdPath::*;
        report.check(
            &name("pwrite -> mmap"),
            fd_to_mmap(device, offset, &data(0), Positional),
        );
        report.check(
            &name("lseek+write -> mmap"),
            fd_to_mmap(device, offset, &data(1), Seek),
        );
        report.check(
            &name("mmap -> pread"),
            mmap_to_fd(device, offset, &data(2), Positional),
        );
        report.check(
            &name("mmap -> lseek+read"),
            mmap_to_fd(device, offset, &data(3), Seek),
        );
    }
    // Every write first copies once, the caller's pages straight into VRAM with faults off.
    // Source pages not mapped yet stop that copy at each of them, and the rest goes through the
    // bounce buffer, which faults them in.
    for offset in offsets {
        let data = pattern(offset * 4 + 100, LEN);
        report.check(
            &format!("pwrite from unfaulted pages -> mmap at {offset:#x} ({LEN} bytes)"),
            unfaulted_source(&data).and_then(|source| {
                fd_to_mmap(device, offset, source.as_slice(), FdPath::Positional)
            }),
        );
    }
    // A whole frame in one call, as the benchmark writes it.
    let frame = pattern(0xf4a3e, fb_size.min(8 << 20) as usize);
    report.check(
        &format!("pwrite of {} bytes -> mmap", frame.len()),
        fd_to_mmap(device, 0, &frame, FdPath::Positional),
    );
    // No O_DIRECT: every write already takes the one-copy path, so the flag has nothing to
    // select (docs/architecture.md).
    report.check(
        "open with O_DIRECT -> EINVAL",
        match Device::open_with_flags(path, libc::O_DIRECT) {
            Ok(_) => Err("opened".to_string()),
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Ok(()),
            Err(e) => Err(describe(&e)),
        },
    );
}

/// `data` in a memfd mapped shared and never touched here (see `Mapping::of_memfd`).
fn unfaulted_source(data: &[u8]) -> Result<Mapping, String> {
    Mapping::of_memfd(data).map_err(|e| format!("memfd source: {}", describe(&e)))
}

fn fd_to_mmap(device: &Device, offset: u64, data: &[u8], path: FdPath) -> Outcome {
    store(device, offset, data, path)?;
    let (map, start) = map_range(device, offset, data.len())?;
    compare(&map.as_slice()[start..start + data.len()], data)
}

fn mmap_to_fd(device: &Device, offset: u64, data: &[u8], path: FdPath) -> Outcome {
    let (mut map, start) = map_range(device, offset, data.len())?;
    map.as_mut_slice()[start..start + data.len()].copy_from_slice(data);
    // Drain the write-combining buffers (mfence) before the driver reads VRAM.
    fence(Ordering::SeqCst);
    compare(&load(device, offset, data.len(), path)?, data)
}

/// Maps the pages holding `offset..offset + len`; also returns where the range starts in the map.
fn map_range(device: &Device, offset: u64, len: usize) -> Result<(Mapping, usize), String> {
    let page = page_size() as u64;
    let map_offset = offset / page * page;
    let start = (offset - map_offset) as usize;
    let map = device
        .mmap(start + len, map_offset, libc::MAP_SHARED)
        .map_err(|e| format!("mmap at {map_offset:#x}: {}", describe(&e)))?;
    Ok((map, start))
}

/// Writes all of `data` at `offset` with one call.
pub fn store(device: &Device, offset: u64, data: &[u8], path: FdPath) -> Outcome {
    let written = match path {
        FdPath::Positional => device.pwrite(data, offset),
        FdPath::Seek => seek(device, offset).and_then(|_| device.write(data)),
    }
    .map_err(|e| format!("{path:?} write: {}", describe(&e)))?;
    if written != data.len() {
        return Err(format!("short write: {written} of {} bytes", data.len()));
    }
    Ok(())
}

/// Reads `len` bytes at `offset` with one call.
pub fn load(device: &Device, offset: u64, len: usize, path: FdPath) -> Result<Vec<u8>, String> {
    let mut buf = vec![0; len];
    let read = match path {
        FdPath::Positional => device.pread(&mut buf, offset),
        FdPath::Seek => seek(device, offset).and_then(|_| device.read(&mut buf)),
    }
    .map_err(|e| format!("{path:?} read: {}", describe(&e)))?;
    if read != len {
        return Err(format!("short read: {read} of {len} bytes"));
    }
    Ok(buf)
}

fn seek(device: &Device, offset: u64) -> std::io::Result<i64> {
    device.lseek(offset as i64, libc::SEEK_SET)
}

/// Fails naming how many bytes differ and the first one.
pub fn compare(actual: &[u8], expected: &[u8]) -> Outcome {
    let differs = |(a, e): (&u8, &u8)| a != e;
    let Some(first) = actual.iter().zip(expected).position(differs) else {
        return Ok(());
    };
    let count = actual
        .iter()
        .zip(expected)
        .filter(|&pair| differs(pair))
        .count();
    Err(format!(
        "{count} of {} bytes differ, first at +{first}: {:#04x}, expected {:#04x}",
        expected.len(),
        actual[first],
        expected[first]
    ))
}

/// `len` bytes of a xorshift64 stream seeded by `seed`.
pub fn pattern(seed: u64, len: usize) -> Vec<u8> {
    // Odd, so never the all-zero state xorshift cannot leave.
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 32) as u8
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_repeatable_and_differ_by_seed() {
        assert_eq!(pattern(7, 64), pattern(7, 64));
        assert_ne!(pattern(0, 64), pattern(1, 64));
        assert!(pattern(0, 64).iter().any(|&b| b != 0));
    }

    #[test]
    fn compare_names_the_first_difference() {
        assert_eq!(compare(&[1, 2, 3], &[1, 2, 3]), Ok(()));
        let why = compare(&[1, 9, 3, 8], &[1, 2, 3, 4]).unwrap_err();
        assert_eq!(why, "2 of 4 bytes differ, first at +1: 0x09, expected 0x02");
    }
}
