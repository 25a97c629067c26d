//! Input end to end: `paint` runs in the guest while the host sends pointer moves, button
//! presses and keys through QMP `input-send-event` (QEMU's virtio tablet and keyboard, read
//! by the renderer from evdev); screendumps show each stroke at the pixels the events name,
//! in the colour and brush size the keys chose, and `q` ends the program. An event lost or
//! landing elsewhere leaves a pixel wrong. The same session drives a host window in
//! `window_input.rs`.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use bochsfb_tests::paint_script::{self, misses, Driver, Expect, HEIGHT, WIDTH};
use bochsfb_tests::{run_ok, with_guest_config};
use qemu_bochs::{Vm, VmConfig};

/// Input through QMP: each call is one batch of events, one evdev report in the guest.
struct Qmp<'a>(&'a Vm);

impl Driver for Qmp<'_> {
    fn point_at(&mut self, x: u32, y: u32) -> Result<()> {
        self.0.point_at(x, y, (WIDTH, HEIGHT))
    }
    fn button(&mut self, down: bool) -> Result<()> {
        self.0.left_button(down)
    }
    fn tap(&mut self, key: &str) -> Result<()> {
        self.0.tap_key(key)
    }
}

/// Takes screendumps until the screen shows every pixel of `pixels` (the guest draws at
/// 30 fps, later under TCG); fails after a minute naming what is still wrong.
fn wait_for(vm: &Vm, step: &str, pixels: &[Expect]) -> Result<()> {
    let path = qemu_bochs::paths::out_dir().join(format!("screenshots/input-{step}.png"));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        vm.screendump(&path)?;
        let screen = image::open(&path)
            .with_context(|| format!("reading {}", path.display()))?
            .to_rgb8();
        let wrong = misses(&screen, pixels);
        if wrong.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "{step}: after 60 s, {} (screen: {})",
                wrong.join("; "),
                path.display()
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn paint_follows_pointer_buttons_and_keys_sent_through_qmp() -> Result<()> {
    let config = VmConfig {
        module_params: vec![
            ("width".into(), WIDTH.to_string()),
            ("height".into(), HEIGHT.to_string()),
        ],
        ..VmConfig::default()
    };
    with_guest_config(&config, |vm| {
        // QEMU's virtio keyboard and tablet are evdev nodes in the guest.
        run_ok(
            vm,
            "cat /proc/bus/input/devices; ls /dev/input/event0 /dev/input/event1",
        )?;
        run_ok(
            vm,
            "bochsfb-demo paint --backend mmap --frames 0 > /tmp/paint.log 2>&1 & echo started",
        )?;
        wait_for(vm, "started", &paint_script::started())?;
        let mut qmp = Qmp(vm);
        let mut shown: Vec<Expect> = Vec::new();
        for stage in paint_script::drawing() {
            (stage.run)(&mut qmp)?;
            // Each stage's pixels, and every earlier stage's, which it must not disturb.
            shown.extend(stage.shows);
            wait_for(vm, stage.name, &shown)?;
        }
        let cleared = paint_script::clear(&mut qmp)?;
        wait_for(vm, "cleared", &cleared)?;
        // `q` ends the program, which prints its summary on the way out.
        qmp.tap("q")?;
        run_ok(
            vm,
            "i=0; until grep -q 'paint: ' /tmp/paint.log || [ $i -ge 60 ]; do sleep 1; i=$((i+1)); done; \
             cat /tmp/paint.log; grep -q 'via mmap' /tmp/paint.log",
        )
        .map(drop)
    })
}
