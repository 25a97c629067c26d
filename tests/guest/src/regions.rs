//! `regions`: draws through each mmap region and pixel format and asks the host for a
//! screendump after each step; the host test (tests/e2e/driver.rs) knows which solid colours each
//! screendump must show. Non-visual properties (partial mappings, mremap, zeroed shadow pages,
//! flush argument checks) are checked here.
//!
//! Expects a std VGA card with 16 MiB VRAM; leaves it in 1024x768x32.

use std::io::{self, BufRead, Write};
use std::ptr;

use bochsfb_renderer::abi::{mmap_region, BOCHSFB_IOCTL_FLUSH};
use bochsfb_renderer::device::pan;
use libc::{EFAULT, EINVAL, MAP_SHARED};

use crate::device::{page_size, set_mode, Device, Mapping};
use crate::report::{describe, expect_errno, Outcome, Report};
use crate::roundtrip::{compare, pattern};

const WIDTH: u32 = 640;
const HEIGHT: u32 = 480;

/// XRGB8888 colours the host test expects, by screendump name.
const RED: u32 = 0x00ff_0000;
const GREEN: u32 = 0x0000_ff00;
const BLUE: u32 = 0x0000_00ff;
const WHITE: u32 = 0x00ff_ffff;
const YELLOW: u32 = 0x00ff_ff00;

fn request_screendump(name: &str) -> Outcome {
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "@@bochsfb:screendump {name}").map_err(|e| e.to_string())?;
    stdout.flush().map_err(|e| e.to_string())?;
    io::stdin()
        .lock()
        .read_line(&mut String::new())
        .map(drop)
        .map_err(|e| e.to_string())
}

/// Fills `rows` rows of 32 bpp pixels from row `first` with `color`.
fn fill32(mapping: &mut Mapping, first: usize, rows: usize, color: u32) {
    let stride = WIDTH as usize * 4;
    let bytes = color.to_le_bytes();
    for pixel in mapping.as_mut_slice()[first * stride..(first + rows) * stride].chunks_exact_mut(4)
    {
        pixel.copy_from_slice(&bytes);
    }
}

fn map(device: &Device, len: usize, offset: u64) -> Result<Mapping, String> {
    device
        .mmap(len, offset, MAP_SHARED)
        .map_err(|e| format!("mmap {len} bytes at {offset:#x}: {}", describe(&e)))
}

/// `struct bochsfb_damage` for `rects` (`x, y, width, height` each), plus `flags`, written
/// byte by byte: `count` and `flags` may be what no typed call would send.
fn flush(device: &Device, rects: &[[u32; 4]], count: u32, flags: u32) -> io::Result<libc::c_int> {
    let raw: Vec<u8> = rects
        .iter()
        .flatten()
        .flat_map(|v| v.to_ne_bytes())
        .collect();
    let mut damage = [0u8; 16];
    damage[..8].copy_from_slice(&(raw.as_ptr() as u64).to_ne_bytes());
    damage[8..12].copy_from_slice(&count.to_ne_bytes());
    damage[12..16].copy_from_slice(&flags.to_ne_bytes());
    device.ioctl_bytes(BOCHSFB_IOCTL_FLUSH, &mut damage)
}

pub fn run(device: &Device, report: &mut Report) {
    let frame = (WIDTH * 4 * HEIGHT) as usize;
    if let Err(e) = set_mode(device, WIDTH, HEIGHT, 32, HEIGHT * 2) {
        return report.check("SET_MODE 640x480x32, 960 rows", Err(describe(&e)));
    }

    for (name, region, color) in [
        ("region-write-combined", mmap_region::WRITE_COMBINED, RED),
        ("region-on-demand", mmap_region::ON_DEMAND, GREEN),
        ("region-uncached", mmap_region::UNCACHED, BLUE),
    ] {
        let drawn = map(device, frame, region)
            .map(|mut mapping| fill32(&mut mapping, 0, HEIGHT as usize, color));
        report.check(
            &format!("{name}: fill the frame"),
            drawn.and_then(|()| request_screendump(name)),
        );
    }

    report.check(
        "on demand: a partial mapping grown with mremap",
        on_demand_mremap(device),
    );
    shadow(device, frame, report);

    // Page flip: the back buffer (rows 480..960) in yellow, then pan to it and back.
    let back = map(device, frame * 2, 0)
        .map(|mut m| fill32(&mut m, HEIGHT as usize, HEIGHT as usize, YELLOW));
    report.check("draw the back buffer", back);
    report.check(
        "pan to the back buffer",
        pan(device, HEIGHT)
            .map_err(|e| describe(&e))
            .and_then(|_| request_screendump("pan-back")),
    );
    report.check(
        "pan back to the front buffer",
        pan(device, 0)
            .map_err(|e| describe(&e))
            .and_then(|_| request_screendump("pan-front")),
    );

    // Other pixel formats: one solid colour each.
    for (name, bpp, pixel) in [
        ("rgb565-red", 16, vec![0x00, 0xf8]),
        ("rgb888-orange", 24, vec![0x00, 0x80, 0xff]),
        ("rgb332-magenta", 8, vec![0xe3]),
    ] {
        let outcome = set_mode(device, WIDTH, HEIGHT, bpp, 0)
            .map_err(|e| describe(&e))
            .and_then(|_| map(device, (WIDTH * HEIGHT * bpp / 8) as usize, 0))
            .map(|mut mapping| {
                for chunk in mapping.as_mut_slice().chunks_exact_mut(pixel.len()) {
                    chunk.copy_from_slice(&pixel);
                }
            })
            .and_then(|()| request_screendump(name));
        report.check(&format!("{name}: {bpp} bpp"), outcome);
    }
    report.check(
        "back to 1024x768x32",
        set_mode(device, 1024, 768, 32, 0)
            .map(drop)
            .map_err(|e| describe(&e)),
    );
}

/// Maps one page of the on-demand region, grows the mapping to two pages with `mremap`, and
/// checks that a write to the new page lands in VRAM (read back with pread).
fn on_demand_mremap(device: &Device) -> Outcome {
    let page = page_size();
    // In the back half of the virtual screen, off screen until the pan steps redraw it.
    let offset = (WIDTH * 4 * HEIGHT) as u64 + 16 * page as u64;
    let first = map(device, page, mmap_region::ON_DEMAND + offset)?;
    let old = first.as_ptr();
    // The mapping is handed over to mremap; `first` must not unmap it again.
    std::mem::forget(first);
    // SAFETY: `old` is a one-page mapping this process owns and no Rust reference points into
    // it; MREMAP_MAYMOVE lets the kernel pick a fresh range for the grown mapping.
    let grown = unsafe { libc::mremap(old.cast(), page, 2 * page, libc::MREMAP_MAYMOVE) };
    if grown == libc::MAP_FAILED {
        let e = io::Error::last_os_error();
        // SAFETY: mremap failed, so `old` is still our one-page mapping.
        unsafe { libc::munmap(old.cast(), page) };
        return Err(format!("mremap: {}", describe(&e)));
    }
    let data = pattern(7, 256);
    // SAFETY: `grown` maps 2 pages; the second page starts at `grown + page` and 256 bytes fit.
    unsafe { ptr::copy_nonoverlapping(data.as_ptr(), grown.cast::<u8>().add(page), data.len()) };
    // SAFETY: `grown` is the 2-page mapping mremap returned; nothing refers to it any more.
    unsafe { libc::munmap(grown, 2 * page) };
    let mut back = vec![0u8; data.len()];
    device
        .pread(&mut back, offset + page as u64)
        .map_err(|e| format!("pread: {}", describe(&e)))?;
    compare(&back, &data)
}

fn shadow(device: &Device, frame: usize, report: &mut Report) {
    let mut mapping = match map(device, frame, mmap_region::SHADOW) {
        Ok(mapping) => mapping,
        Err(why) => return report.check("map the shadow buffer", Err(why)),
    };
    report.check(
        "fresh shadow pages are zero",
        match mapping.as_slice().iter().position(|b| *b != 0) {
            None => Ok(()),
            Some(at) => Err(format!("byte {at} is {:#x}", mapping.as_slice()[at])),
        },
    );
    fill32(&mut mapping, 0, HEIGHT as usize, WHITE);
    report.check(
        "shadow drawn, not flushed",
        request_screendump("shadow-unflushed"),
    );
    report.check(
        "flush the top half",
        flush(device, &[[0, 0, WIDTH, HEIGHT / 2]], 1, 0)
            .map_err(|e| describe(&e))
            .and_then(|_| request_screendump("shadow-top-half")),
    );
    for (what, result) in [
        ("flags 1", flush(device, &[[0, 0, 8, 8]], 1, 1)),
        ("count 257", flush(device, &[[0, 0, 8, 8]], 257, 0)),
        (
            "a rect past the right edge",
            flush(device, &[[WIDTH - 8, 0, 16, 8]], 1, 0),
        ),
        (
            "a rect past the last row",
            flush(device, &[[0, 2 * HEIGHT - 1, 8, 2]], 1, 0),
        ),
        (
            "x + width overflowing u32",
            flush(device, &[[u32::MAX, 0, 2, 1]], 1, 0),
        ),
    ] {
        report.check(
            &format!("FLUSH {what} -> EINVAL"),
            expect_errno(result, EINVAL),
        );
    }
    let mut damage = [0u8; 16];
    damage[..8].copy_from_slice(&8u64.to_ne_bytes());
    damage[8..12].copy_from_slice(&1u32.to_ne_bytes());
    report.check(
        "FLUSH with a bad rects pointer -> EFAULT",
        expect_errno(device.ioctl_bytes(BOCHSFB_IOCTL_FLUSH, &mut damage), EFAULT),
    );
    report.check(
        "flush everything (count 0)",
        flush(device, &[], 0, 0)
            .map_err(|e| describe(&e))
            .and_then(|_| request_screendump("shadow-flushed")),
    );
}
