//! `modes`: set-mode, pan, vsync, the fbdev ioctls and the sysfs attributes, each checked against
//! values computed here from the request (not read back from the driver's own answers).
//!
//! Expects a std VGA card with 16 MiB VRAM in 1024x768x32, and leaves it in that mode.

use std::fs;
use std::time::{Duration, Instant};

use bochsfb_renderer::abi::BochsfbMode;
use bochsfb_renderer::device::{
    fb_get_fix, fb_get_var, fb_pan, fb_put_var, fb_wait_vsync, pan, wait_vsync,
};
use bochsfb_renderer::fb_abi::{FbVarScreeninfo, FB_ACTIVATE_TEST};
use libc::{EINVAL, MAP_SHARED};

use crate::device::{page_size, set_mode, Device};
use crate::report::{describe, expect_errno, Outcome, Report};
use crate::unbind::touch_in_child;

/// What a correct driver reports for `width x height x bpp` with `virtual_height` rows
/// (0: all that fit in `vram_size`, at most 65535), computed here from the request.
fn expected(width: u32, height: u32, bpp: u32, virtual_height: u32, vram_size: u64) -> BochsfbMode {
    let stride = width * bpp / 8;
    let virtual_height = match virtual_height {
        0 => (vram_size / u64::from(stride)).min(65535) as u32,
        rows => rows,
    };
    BochsfbMode {
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

/// `BOCHSFB_IOCTL_GET_MODE`, its error as text.
fn get_mode(device: &Device) -> Result<BochsfbMode, String> {
    device
        .mode()
        .map_err(|e| format!("GET_MODE: {}", describe(&e)))
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
        expect_eq(start, expected(1024, 768, 32, 0, vram)),
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
            .and_then(|got| expect_eq(got, expected(640, 480, 8, 0, vram))),
    );
    report.check(
        "back to 1024x768x32",
        set_mode(device, 1024, 768, 32, 0)
            .map_err(|e| describe(&e))
            .and_then(|got| expect_eq(got, start)),
    );
}

fn invalid_modes_are_refused(device: &Device, start: BochsfbMode, report: &mut Report) {
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
    let expected = expected(800, 600, 32, 600, vram);
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
    match fb_get_var(device) {
        Ok(var) => {
            let fields = [
                var.xres,
                var.yres,
                var.xres_virtual,
                var.yres_virtual,
                var.xoffset,
                var.yoffset,
                var.bits_per_pixel,
                var.red.offset,
                var.red.length,
                var.green.offset,
                var.green.length,
                var.blue.offset,
                var.blue.length,
            ];
            report.check(
                "FBIOGET_VSCREENINFO: 800x600, 600 rows, XRGB8888 bitfields",
                expect_eq(fields, [800, 600, 800, 600, 0, 0, 32, 16, 8, 8, 8, 0, 8]),
            );
        }
        Err(e) => report.check("FBIOGET_VSCREENINFO", Err(describe(&e))),
    }
    report.check(
        "FBIOGET_FSCREENINFO: id, smem_len, line_length; no physical addresses",
        fb_get_fix(device)
            .map_err(|e| describe(&e))
            .and_then(|fix| {
                let id = String::from_utf8_lossy(&fix.id)
                    .trim_end_matches('\0')
                    .to_string();
                expect_eq(
                    (
                        id,
                        fix.smem_start,
                        fix.smem_len,
                        fix.line_length,
                        fix.mmio_start,
                    ),
                    ("bochsfb".to_string(), 0, 800 * 4 * 600, 800 * 4, 0),
                )
            }),
    );

    // 640x480 at 16 bpp with two screens of rows, as fbset would ask for it.
    let request = |activate: u32| FbVarScreeninfo {
        xres: 640,
        yres: 480,
        xres_virtual: 640,
        yres_virtual: 960,
        bits_per_pixel: 16,
        activate,
        ..FbVarScreeninfo::default()
    };
    report.check(
        "FBIOPUT_VSCREENINFO with FB_ACTIVATE_TEST changes nothing",
        fb_put_var(device, &request(FB_ACTIVATE_TEST))
            .map_err(|e| describe(&e))
            .and_then(|_| get_mode(device))
            .and_then(|now| expect_eq((now.width, now.bpp), (800, 32))),
    );
    report.check(
        "FBIOPUT_VSCREENINFO 640x480x16, 960 rows",
        fb_put_var(device, &request(0))
            .map_err(|e| describe(&e))
            .and_then(|_| get_mode(device))
            .and_then(|now| expect_eq(now, expected(640, 480, 16, 960, vram))),
    );
    let pan_to = |xoffset, yoffset| FbVarScreeninfo {
        xoffset,
        yoffset,
        ..request(0)
    };
    report.check(
        "FBIOPAN_DISPLAY yoffset 480 -> GET_MODE and sysfs y_offset 480",
        fb_pan(device, &pan_to(0, 480))
            .map_err(|e| describe(&e))
            .and_then(|_| get_mode(device))
            .and_then(|now| expect_eq(now.y_offset, 480))
            .and_then(|_| sysfs("y_offset"))
            .and_then(|s| expect_eq(s.as_str(), "480")),
    );
    report.check(
        "FBIOPAN_DISPLAY yoffset 481 (past the virtual screen) -> EINVAL",
        expect_errno(fb_pan(device, &pan_to(0, 481)), EINVAL),
    );
    report.check(
        "FBIOPAN_DISPLAY xoffset 8 -> EINVAL",
        expect_errno(fb_pan(device, &pan_to(8, 0)), EINVAL),
    );
    let bad = FbVarScreeninfo {
        bits_per_pixel: 12,
        ..request(0)
    };
    report.check(
        "FBIOPUT_VSCREENINFO bpp 12 -> EINVAL",
        expect_errno(fb_put_var(device, &bad), EINVAL),
    );
    report.check(
        "FBIO_WAITFORVSYNC crtc 1 -> EINVAL",
        expect_errno(fb_wait_vsync(device, 1), EINVAL),
    );
    report.check(
        "FBIO_WAITFORVSYNC crtc 0",
        fb_wait_vsync(device, 0).map_err(|e| describe(&e)),
    );
}

fn pan_and_vsync(device: &Device, vram: u64, report: &mut Report) {
    let mode = set_mode(device, 640, 480, 32, 960);
    report.check(
        "SET_MODE 640x480x32, 960 rows (double buffer)",
        mode.map_err(|e| describe(&e))
            .and_then(|got| expect_eq(got, expected(640, 480, 32, 960, vram))),
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
        .try_for_each(|_| wait_vsync(device))
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
