//! Input into the guest through QMP `input-send-event`: what QEMU's virtio tablet and keyboard
//! (on every guest's command line) deliver to the guest's evdev, as a user at the live view
//! would send it.

use anyhow::Result;
use serde_json::{json, Value};

use super::Vm;

/// QEMU's absolute axes run `0..=ABS_MAX` across the screen (`INPUT_EVENT_ABS_MAX`).
pub const ABS_MAX: i64 = 32767;

/// The absolute axis value QEMU's own UIs send for pixel `pixel` of a screen `size` long.
pub fn absolute(pixel: u32, size: u32) -> i64 {
    i64::from(pixel) * ABS_MAX / i64::from(size.max(1))
}

impl Vm {
    /// Sends one batch of input events; the guest sees them as one evdev report.
    pub fn send_input(&self, events: Value) -> Result<()> {
        self.qmp("input-send-event", json!({ "events": events }))
            .map(drop)
    }

    /// Moves the pointer to pixel `(x, y)` of a `screen` of (width, height).
    pub fn point_at(&self, x: u32, y: u32, screen: (u32, u32)) -> Result<()> {
        self.send_input(json!([
            { "type": "abs", "data": { "axis": "x", "value": absolute(x, screen.0) } },
            { "type": "abs", "data": { "axis": "y", "value": absolute(y, screen.1) } },
        ]))
    }

    /// Presses (`true`) or releases the left button.
    pub fn left_button(&self, down: bool) -> Result<()> {
        self.send_input(json!([{ "type": "btn", "data": { "down": down, "button": "left" } }]))
    }

    /// Presses and releases the key QEMU names `qcode` (`a`, `2`, `equal`, `esc`, ...).
    pub fn tap_key(&self, qcode: &str) -> Result<()> {
        for down in [true, false] {
            self.send_input(json!([{ "type": "key", "data": { "down": down, "key": { "type": "qcode", "data": qcode } } }]))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn axis_values_span_the_screen() {
        assert_eq!(super::absolute(0, 640), 0);
        assert_eq!(super::absolute(100, 640), 5119);
        assert_eq!(super::absolute(640, 640), super::ABS_MAX);
    }
}
