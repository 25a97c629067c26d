//! `modes`: set-mode, pan, vsync, the fbdev ioctls and the sysfs attributes, each checked against
//! values computed here from the request (not read back from the driver's own answers).
//!
//! Expects a std VGA card with 16 MiB VRAM in 1024x768x32, and leaves it in that mode.

use std::fs;
use std::time::{Duration, Instant};

use bochsfb_renderer::abi::{
    BOCHSFB_IOCTL_GET_MODE, BOCHSFB_IOCTL_PAN, BOCHSFB_IOCTL_SET_MODE, BOCHSFB_IOCTL_WAIT_VSYNC,
};
use libc::{EINVAL, MAP_SHARED};

use crate::device::{page_size, Device};
use crate::report::{describe, expect_errno, Outcome, Report};
use crate::unbind::touch_in_child;

use bochsfb_renderer::fb_abi::{
    FBIOGET_FSCREENINFO, FBIOGET_VSCREENINFO, FBIOPAN_DISPLAY, FBIOPUT_VSCREENINFO,
    FBIO_WAITFORVSYNC, FB_ACTIVATE_TEST,
};

/// `struct bochsfb_mode` fields, in order. Decoded here from raw bytes rather than through
/// `renderer::abi::BochsfbMode`, so a layout mismatch between the two sides shows up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    pub width: u32,
    pub height: u32,
    pub bpp: u32,
    pub stride: u32,
    pub virtual_height: u32,
    pub y_offset: u32,
    pub fb_size: u64,
    pub vram_size: u64,
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes(bytes[at..at + 4].try_into().unwrap())
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_ne_bytes(bytes[at..at + 8].try_into().unwrap())
}

fn put_u32(bytes: &mut [u8], at: usize, value: u32) {
    bytes[at..at + 4].copy_from_slice(&value.to_ne_bytes());
}

impl Geometry {
    fn parse(bytes: &[u8; 40]) -> Self {
        Self {
            width: u32_at(bytes, 0),
            height: u32_at(bytes, 4),
            bpp: u32_at(bytes, 8),
            stride: u32_at(bytes, 12),
            virtual_height: u32_at(bytes, 16),
            y_offset: u32_at(bytes, 20),
            fb_size: u64_at(bytes, 24),
            vram_size: u64_at(bytes, 32),
        }
    }

    /// What a correct driver reports for `width x height x bpp` with `virtual_height` rows
    /// (0: all that fit in `vram_size`, at most 65535).
    fn expected(width: u32, height: u32, bpp: u32, virtual_height: u32, vram_size: u64) -> Self {
        let stride = width * bpp / 8;
        let virtual_height = match virtual_height {
            0 => (vram_size / u64::from(stride)).min(65535) as u32,
            rows => rows,
        };
        Self {
            width,
            height,
            bpp,
            stride,
            virtual_height,
            y_offset: 0,
            fb_size: u64::from(stride) * u64::from(virtual_height),
            vram_size,
        }
    }
}

pub fn get_mode(device: &Device) -> Result<Geometry, String> {
    let mut buf = [0u8; 40];
    device
        .ioctl_struct(BOCHSFB_IOCTL_GET_MODE, &mut buf)
        .map_err(|e| format!("GET_MODE: {}", describe(&e)))?;
    Ok(Geometry::parse(&buf))
}

/// `BOCHSFB_IOCTL_SET_MODE`; returns what the driver wrote back.
pub fn set_mode(
    device: &Device,
    width: u32,
    height: u32,
    bpp: u32,
    virtual_height: u32,
) -> std::io::Result<Geometry> {
    let mut buf = [0u8; 40];
    for (at, value) in [(0, width), (4, height), (8, bpp), (16, virtual_height)] {
        put_u32(&mut buf, at, value);
    }
    device.ioctl_struct(BOCHSFB_IOCTL_SET_MODE, &mut buf)?;
    Ok(Geometry::parse(&buf))
}

pub fn pan(device: &Device, y_offset: u32) -> std::io::Result<libc::c_int> {
    let mut buf = y_offset.to_ne_bytes();
    device.ioctl_struct(BOCHSFB_IOCTL_PAN, &mut buf)
}

fn expect_eq<T: std::fmt::Debug + PartialEq>(actual: T, expected: T) -> Outcome {
    if actual == expected {
        Ok(())
    } else {
        Err(format!("got {actual:?}, expected {expected:?}"))
    }
}

fn sysfs(name: &str) -> Result<String, String> {
    let path = format!("/sys/class/misc/bochsfb0/{name}");
    fs::read_to_string(&path)
        .map(|s| s.trim_end().to_string())
        .map_err(|e| format!("{path}: {e}"))
}

pub fn run(device: &Device, report: &mut Report) {
    let start = match get_mode(device) {
        Ok(mode) => mode,
        Err(why) => return report.check("GET_MODE", Err(why)),
    };
    let vram = start.vram_size;
    report.check(
        "GET_MODE: 1024x768x32, all of VRAM as virtual screen",
        expect_eq(start, Geometry::expected(1024, 768, 32, 0, vram)),
    );
    report.check(
        "sysfs card = std-vga",
        sysfs("card").and_then(|s| expect_eq(s.as_str(), "std-vga")),
    );
    report.check(
        "sysfs mode = 1024x768-32",
        sysfs("mode").and_then(|s| expect_eq(s.as_str(), "1024x768-32")),
    );
    report.check(
        "sysfs vram_size = GET_MODE vram_size",
        sysfs("vram_size").and_then(|s| expect_eq(s, vram.to_string())),
    );

    invalid_modes_are_refused(device, start, report);
    shrinking_zaps_mappings_past_the_frame(device, vram, report);
    fbdev_ioctls(device, vram, report);
    pan_and_vsync(device, vram, report);
    report.check(
        "8 bpp (RGB332 palette) on std VGA",
        set_mode(device, 640, 480, 8, 0)
            .map_err(|e| describe(&e))
            .and_then(|got| expect_eq(got, Geometry::expected(640, 480, 8, 0, vram))),
    );
    report.check(
        "back to 1024x768x32",
        set_mode(device, 1024, 768, 32, 0)
            .map_err(|e| describe(&e))
            .and_then(|got| expect_eq(got, start)),
    );
}

fn invalid_modes_are_refused(device: &Device, start: Geometry, report: &mut Report) {
    for (what, w, h, bpp, vh) in [
        ("width 0", 0, 768, 32, 0),
        ("width not a multiple of 8", 1020, 768, 32, 0),
        ("height 0", 1024, 0, 32, 0),
        ("bpp 12", 1024, 768, 12, 0),
        ("bpp 0", 1024, 768, 0, 0),
        ("virtual_height < height", 1024, 768, 32, 100),
        ("virtual_height past VRAM", 1024, 768, 32, 5000),
        ("width above 16000", 16008, 8, 32, 0),
        ("frame larger than VRAM", 4096, 4096, 32, 0),
    ] {
        report.check(
            &format!("SET_MODE {what} -> EINVAL"),
            expect_errno(set_mode(device, w, h, bpp, vh), EINVAL),
        );
    }
    report.check(
        "after the refused requests the mode is unchanged",
        get_mode(device).and_then(|now| expect_eq(now, start)),
    );
}

fn shrinking_zaps_mappings_past_the_frame(device: &Device, vram: u64, report: &mut Report) {
    let old = match device.mmap(vram as usize, 0, MAP_SHARED) {
        Ok(mapping) => mapping,
        Err(e) => return report.check("mmap all of VRAM", Err(describe(&e))),
    };
    let expected = Geometry::expected(800, 600, 32, 600, vram);
    report.check(
        "SET_MODE 800x600x32, 600 rows",
        set_mode(device, 800, 600, 32, 600)
            .map_err(|e| describe(&e))
            .and_then(|got| expect_eq(got, expected)),
    );
    report.check(
        "sysfs mode = 800x600-32",
        sysfs("mode").and_then(|s| expect_eq(s.as_str(), "800x600-32")),
    );
    let page = page_size() as u64;
    let frame_end = expected.fb_size.div_ceil(page) * page;
    // SAFETY: `frame_end < vram`, so the address lies inside the mapping `old`.
    let past = unsafe { old.as_ptr().add(frame_end as usize) };
    report.check(
        "old mapping past the new frame -> SIGBUS",
        touch_in_child(past, true),
    );
    report.check(
        "old mapping inside the new frame still works",
        touch_in_child(old.as_ptr(), false),
    );
    report.check(
        "mmap past the new frame -> EINVAL",
        expect_errno(device.mmap(page as usize, frame_end, MAP_SHARED), EINVAL),
    );
}

fn fbdev_ioctls(device: &Device, vram: u64, report: &mut Report) {
    // The mode is 800x600x32 with 600 rows here.
    let mut var = [0u8; 160];
    match device.ioctl_struct(FBIOGET_VSCREENINFO, &mut var) {
        Ok(_) => {
            let fields: Vec<u32> = [0, 4, 8, 12, 16, 20, 24, 32, 36, 44, 48, 56, 60]
                .iter()
                .map(|at| u32_at(&var, *at))
                .collect();
            // xres yres xres_virtual yres_virtual xoffset yoffset bpp red(16,8) green(8,8) blue(0,8)
            report.check(
                "FBIOGET_VSCREENINFO: 800x600, 600 rows, XRGB8888 bitfields",
                expect_eq(
                    fields,
                    vec![800, 600, 800, 600, 0, 0, 32, 16, 8, 8, 8, 0, 8],
                ),
            );
        }
        Err(e) => report.check("FBIOGET_VSCREENINFO", Err(describe(&e))),
    }
    let mut fix = [0u8; 80];
    report.check(
        "FBIOGET_FSCREENINFO: id, smem_len, line_length; no physical addresses",
        device
            .ioctl_struct(FBIOGET_FSCREENINFO, &mut fix)
            .map_err(|e| describe(&e))
            .and_then(|_| {
                let id = String::from_utf8_lossy(&fix[..16])
                    .trim_end_matches('\0')
                    .to_string();
                expect_eq(
                    (
                        id,
                        u64_at(&fix, 16),
                        u32_at(&fix, 24),
                        u32_at(&fix, 48),
                        u64_at(&fix, 56),
                    ),
                    ("bochsfb".to_string(), 0, 800 * 4 * 600, 800 * 4, 0),
                )
            }),
    );

    // 640x480 at 16 bpp with two screens of rows, as fbset would ask for it.
    let request = |activate: u32| {
        let mut var = [0u8; 160];
        for (at, value) in [
            (0, 640),
            (4, 480),
            (8, 640),
            (12, 960),
            (24, 16),
            (84, activate),
        ] {
            put_u32(&mut var, at, value);
        }
        var
    };
    let mut test = request(FB_ACTIVATE_TEST);
    report.check(
        "FBIOPUT_VSCREENINFO with FB_ACTIVATE_TEST changes nothing",
        device
            .ioctl_struct(FBIOPUT_VSCREENINFO, &mut test)
            .map_err(|e| describe(&e))
            .and_then(|_| get_mode(device))
            .and_then(|now| expect_eq((now.width, now.bpp), (800, 32))),
    );
    let mut put = request(0);
    report.check(
        "FBIOPUT_VSCREENINFO 640x480x16, 960 rows",
        device
            .ioctl_struct(FBIOPUT_VSCREENINFO, &mut put)
            .map_err(|e| describe(&e))
            .and_then(|_| get_mode(device))
            .and_then(|now| expect_eq(now, Geometry::expected(640, 480, 16, 960, vram))),
    );
    let mut pan_var = request(0);
    put_u32(&mut pan_var, 20, 480);
    report.check(
        "FBIOPAN_DISPLAY yoffset 480 -> GET_MODE and sysfs y_offset 480",
        device
            .ioctl_struct(FBIOPAN_DISPLAY, &mut pan_var)
            .map_err(|e| describe(&e))
            .and_then(|_| get_mode(device))
            .and_then(|now| expect_eq(now.y_offset, 480))
            .and_then(|_| sysfs("y_offset"))
            .and_then(|s| expect_eq(s.as_str(), "480")),
    );
    put_u32(&mut pan_var, 20, 481);
    report.check(
        "FBIOPAN_DISPLAY yoffset 481 (past the virtual screen) -> EINVAL",
        expect_errno(device.ioctl_struct(FBIOPAN_DISPLAY, &mut pan_var), EINVAL),
    );
    put_u32(&mut pan_var, 20, 0);
    put_u32(&mut pan_var, 16, 8);
    report.check(
        "FBIOPAN_DISPLAY xoffset 8 -> EINVAL",
        expect_errno(device.ioctl_struct(FBIOPAN_DISPLAY, &mut pan_var), EINVAL),
    );
    let mut bad = request(0);
    put_u32(&mut bad, 24, 12);
    report.check(
        "FBIOPUT_VSCREENINFO bpp 12 -> EINVAL",
        expect_errno(device.ioctl_struct(FBIOPUT_VSCREENINFO, &mut bad), EINVAL),
    );
    let mut crtc = 1u32.to_ne_bytes();
    report.check(
        "FBIO_WAITFORVSYNC crtc 1 -> EINVAL",
        expect_errno(device.ioctl_struct(FBIO_WAITFORVSYNC, &mut crtc), EINVAL),
    );
    let mut crtc = 0u32.to_ne_bytes();
    report.check(
        "FBIO_WAITFORVSYNC crtc 0",
        device
            .ioctl_struct(FBIO_WAITFORVSYNC, &mut crtc)
            .map(drop)
            .map_err(|e| describe(&e)),
    );
}

fn pan_and_vsync(device: &Device, vram: u64, report: &mut Report) {
    let mode = set_mode(device, 640, 480, 32, 960);
    report.check(
        "SET_MODE 640x480x32, 960 rows (double buffer)",
        mode.map_err(|e| describe(&e))
            .and_then(|got| expect_eq(got, Geometry::expected(640, 480, 32, 960, vram))),
    );
    report.check(
        "PAN 480",
        pan(device, 480).map(drop).map_err(|e| describe(&e)),
    );
    report.check("PAN 481 -> EINVAL", expect_errno(pan(device, 481), EINVAL));
    report.check(
        "PAN u32::MAX -> EINVAL",
        expect_errno(pan(device, u32::MAX), EINVAL),
    );
    report.check(
        "a refused PAN keeps the offset",
        get_mode(device).and_then(|now| expect_eq(now.y_offset, 480)),
    );
    // Ten waits for the next vblank of a 60 Hz display span at least nine periods (150 ms).
    // Only this lower bound is checked: a loaded machine may make them take longer.
    let start = Instant::now();
    let waits: Result<(), String> = (0..10)
        .try_for_each(|_| device.ioctl_value(BOCHSFB_IOCTL_WAIT_VSYNC, 0).map(drop))
        .map_err(|e| describe(&e));
    let elapsed = start.elapsed();
    report.check(
        &format!("10 x WAIT_VSYNC blocks for at least 9 frames at 60 Hz ({elapsed:?})"),
        waits.and_then(|()| {
            if elapsed >= Duration::from_millis(150) {
                Ok(())
            } else {
                Err(format!("returned after {elapsed:?}"))
            }
        }),
    );
}
