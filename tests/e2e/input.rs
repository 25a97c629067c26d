//! Input end to end: `paint` runs in the guest while the host sends pointer moves, button
//! presses and keys through QMP `input-send-event` (QEMU's virtio tablet and keyboard, read
//! by the renderer from evdev); screendumps show each stroke at the pixels the events name,
//! in the colour and brush size the keys chose, and `q` ends the program. An event lost or
//! landing elsewhere leaves a pixel wrong.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use bochsfb_tests::oracles::paint_layout::{chosen_frame, BRUSH, CANVAS, SWATCHES};
use bochsfb_tests::{run_ok, with_guest_config};
use image::RgbImage;
use qemu_bochs::{Vm, VmConfig};
use serde_json::{json, Value};

const WIDTH: u32 = 640;
const HEIGHT: u32 = 480;
/// QEMU's absolute axes run 0..=32767 (`INPUT_EVENT_ABS_MAX`) across the screen.
const ABS_MAX: i64 = 32767;
const BLACK: [u8; 3] = SWATCHES[0];
const RED: [u8; 3] = SWATCHES[1];
const WHITE: [u8; 3] = [255, 255, 255];

/// Sends one batch of input events (one evdev report) to the guest.
fn send(vm: &Vm, events: Value) -> Result<()> {
    vm.qmp("input-send-event", json!({ "events": events })).map(drop)
}

/// The pointer to pixel `(x, y)`, as QEMU's own UIs scale a pixel to the axis.
fn point_at(vm: &Vm, x: u32, y: u32) -> Result<()> {
    let abs = |v: u32, size: u32| i64::from(v) * ABS_MAX / i64::from(size);
    send(
        vm,
        json!([
            { "type": "abs", "data": { "axis": "x", "value": abs(x, WIDTH) } },
            { "type": "abs", "data": { "axis": "y", "value": abs(y, HEIGHT) } },
        ]),
    )
}

fn button(vm: &Vm, down: bool) -> Result<()> {
    send(vm, json!([{ "type": "btn", "data": { "down": down, "button": "left" } }]))
}

/// Presses and releases the key QEMU calls `qcode`.
fn tap(vm: &Vm, qcode: &str) -> Result<()> {
    for down in [true, false] {
        send(vm, json!([{ "type": "key", "data": { "down": down, "key": { "type": "qcode", "data": qcode } } }]))?;
    }
    Ok(())
}

/// Drags with the button held through `points` (the first is where the button goes down).
fn drag(vm: &Vm, points: &[(u32, u32)]) -> Result<()> {
    point_at(vm, points[0].0, points[0].1)?;
    button(vm, true)?;
    for &(x, y) in &points[1..] {
        point_at(vm, x, y)?;
    }
    button(vm, false)
}

/// Takes screendumps until every `(x, y, colour)` shows (the guest draws at 30 fps, later
/// under TCG), then returns that screen; fails after a minute naming what is still wrong.
fn wait_for(vm: &Vm, step: &str, pixels: &[(u32, u32, [u8; 3])]) -> Result<RgbImage> {
    let path = qemu_bochs::paths::out_dir().join(format!("screenshots/input-{step}.png"));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        vm.screendump(&path)?;
        let screen = image::open(&path).with_context(|| format!("reading {}", path.display()))?.to_rgb8();
        let wrong: Vec<String> = pixels
            .iter()
            .filter(|&&(x, y, rgb)| screen.get_pixel(x, y).0 != rgb)
            .map(|&(x, y, rgb)| format!("({x},{y}) is {:?}, expected {rgb:?}", screen.get_pixel(x, y).0))
            .collect();
        if wrong.is_empty() {
            return Ok(screen);
        }
        if Instant::now() > deadline {
            bail!("{step}: after 60 s {} (screen: {})", wrong.join("; "), path.display());
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn paint_follows_pointer_buttons_and_keys_sent_through_qmp() -> Result<()> {
    let config = VmConfig {
        module_params: vec![("width".into(), WIDTH.to_string()), ("height".into(), HEIGHT.to_string())],
        ..VmConfig::default()
    };
    with_guest_config(&config, |vm| {
        // QEMU's virtio keyboard and tablet are evdev nodes in the guest.
        run_ok(vm, "cat /proc/bus/input/devices; ls /dev/input/event0 /dev/input/event1")?;
        run_ok(vm, "bochsfb-demo paint --backend mmap --frames 0 > /tmp/paint.log 2>&1 & echo started")?;
        // The first frame is presented after the input devices are open and grabbed.
        let (swatch_x, swatch_y) = chosen_frame(0);
        wait_for(vm, "started", &[(swatch_x, swatch_y, WHITE), (320, 240, CANVAS)])?;

        // A black stroke right along row 200, then down column 300; the 8-pixel brush covers
        // 4 pixels before each point to 3 after.
        let half = BRUSH / 2;
        drag(vm, &[(100, 200), (300, 200), (300, 300)])?;
        let stroke = wait_for(
            vm,
            "black-stroke",
            &[(100, 200, BLACK), (200, 200, BLACK), (300, 250, BLACK), (300, 300, BLACK)],
        )?;
        for (x, y, rgb, what) in [
            (100 - half, 200 - half, BLACK, "the first dab's top-left pixel"),
            (100 - half - 1, 200, WHITE, "left of the first dab"),
            (200, 200 - half - 1, WHITE, "above the stroke"),
            (200, 200 + half, WHITE, "below the stroke"),
            (300 + half - 1, 300 + half - 1, BLACK, "the last dab's bottom-right pixel"),
            (300, 300 + half, WHITE, "below where the button came up"),
            (200, 250, WHITE, "inside the corner the stroke turned"),
        ] {
            let got = stroke.get_pixel(x, y).0;
            if got != rgb {
                bail!("black stroke: {what} ({x},{y}) is {got:?}, expected {rgb:?}");
            }
        }

        // Key 2 chooses red (the palette frames the second swatch); the pointer moves with the
        // button up, so nothing joins the strokes.
        tap(vm, "2")?;
        drag(vm, &[(100, 400), (500, 400)])?;
        let (frame_x, frame_y) = chosen_frame(1);
        let red = wait_for(vm, "red-stroke", &[(frame_x, frame_y, WHITE), (100, 400, RED), (300, 400, RED), (500, 400, RED)])?;
        for (x, y, rgb, what) in [
            (swatch_x, swatch_y, [48, 48, 48], "the first swatch's frame, gone"),
            (200, 350, WHITE, "between the strokes (a lost button-up would draw here)"),
            (300, 200, BLACK, "the black stroke, kept"),
        ] {
            let got = red.get_pixel(x, y).0;
            if got != rgb {
                bail!("red stroke: {what} ({x},{y}) is {got:?}, expected {rgb:?}");
            }
        }

        // `=` doubles the brush to 16: a dab covers 8 pixels before the point to 7 after.
        tap(vm, "equal")?;
        drag(vm, &[(560, 100)])?;
        wait_for(vm, "big-brush", &[(552, 92, RED), (567, 107, RED), (551, 100, WHITE), (568, 100, WHITE)])?;

        // `c` clears the canvas, `q` ends the program, which prints its summary on the way out.
        tap(vm, "c")?;
        wait_for(vm, "cleared", &[(200, 200, WHITE), (300, 400, WHITE), (560, 100, WHITE)])?;
        tap(vm, "q")?;
        run_ok(
            vm,
            "i=0; until grep -q 'paint: ' /tmp/paint.log || [ $i -ge 60 ]; do sleep 1; i=$((i+1)); done; \
             cat /tmp/paint.log; grep -q 'via mmap' /tmp/paint.log",
        )
        .map(drop)
    })
}
