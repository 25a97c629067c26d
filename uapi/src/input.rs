//! The Linux evdev ABI (`include/uapi/linux/input.h` and `input-event-codes.h`) as far as
//! the renderer's input reader uses it: the event record `read()` returns from
//! `/dev/input/eventN`, the ioctls that describe and grab a device, and the event codes of
//! a keyboard, a mouse and a tablet.

use crate::{ioc, ior, iow};

/// `struct input_event` on 64-bit targets (and 32-bit ones with a 64-bit `time_t`): a
/// timestamp, then `type`, `code` and `value`. `read()` returns whole records.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct InputEvent {
    /// Seconds of the timestamp (`CLOCK_REALTIME` unless changed).
    pub sec: i64,
    /// Microseconds of the timestamp.
    pub usec: i64,
    /// `EV_KEY`, `EV_REL`, `EV_ABS`, `EV_SYN`, ...
    pub kind: u16,
    /// Which key, axis or report.
    pub code: u16,
    /// Key: 1 down, 0 up, 2 autorepeat; axis: the position or the motion.
    pub value: i32,
}

impl InputEvent {
    /// Bytes of one record.
    pub const SIZE: usize = size_of::<InputEvent>();

    /// The record in `bytes` (exactly [`InputEvent::SIZE`] of them, as `read()` returned).
    pub fn from_ne_bytes(bytes: &[u8; InputEvent::SIZE]) -> InputEvent {
        let i64_at = |at: usize| i64::from_ne_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
        InputEvent {
            sec: i64_at(0),
            usec: i64_at(8),
            kind: u16::from_ne_bytes([bytes[16], bytes[17]]),
            code: u16::from_ne_bytes([bytes[18], bytes[19]]),
            value: i32::from_ne_bytes(bytes[20..24].try_into().expect("4 bytes")),
        }
    }
}

/// `struct input_absinfo`: the range and state of one absolute axis.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct InputAbsinfo {
    /// The current position.
    pub value: i32,
    /// The smallest position.
    pub minimum: i32,
    /// The largest position.
    pub maximum: i32,
    /// Noise the device filters out.
    pub fuzz: i32,
    /// Dead zone around the centre.
    pub flat: i32,
    /// Units per millimetre.
    pub resolution: i32,
}

/// `EVIOCGRAB`: `_IOW('E', 0x90, int)`; 1 takes every event of the device for this file
/// (the console and other readers see none), 0 gives them back. Closing the file ungrabs.
pub const EVIOCGRAB: u32 = iow(b'E', 0x90, size_of::<i32>());

/// `EVIOCGABS(axis)`: `_IOR('E', 0x40 + axis, struct input_absinfo)`.
pub const fn eviocgabs(axis: u16) -> u32 {
    ior(b'E', 0x40 + axis as u8, size_of::<InputAbsinfo>())
}

/// `EVIOCGBIT(kind, len)`: the bitmap of codes of event type `kind` (0: of event types)
/// the device can send, `len` bytes of it.
pub const fn eviocgbit(kind: u16, len: usize) -> u32 {
    ioc(2, b'E', 0x20 + kind as u8, len)
}

/// Separates groups of events: the state is consistent after each `SYN_REPORT`.
pub const EV_SYN: u16 = 0x00;
/// A key or button went down (1), up (0) or repeated (2).
pub const EV_KEY: u16 = 0x01;
/// A relative axis moved (mouse motion, wheel).
pub const EV_REL: u16 = 0x02;
/// An absolute axis moved (tablet, touch screen).
pub const EV_ABS: u16 = 0x03;

/// `EV_SYN` code: the end of one group of events.
pub const SYN_REPORT: u16 = 0;
/// `EV_SYN` code: the reader fell behind and events were dropped; resynchronise.
pub const SYN_DROPPED: u16 = 3;

/// `EV_REL` / `EV_ABS` axis codes.
pub const REL_X: u16 = 0x00;
/// The vertical axis.
pub const REL_Y: u16 = 0x01;
/// The horizontal wheel.
pub const REL_HWHEEL: u16 = 0x06;
/// The wheel (positive: away from the user).
pub const REL_WHEEL: u16 = 0x08;
/// The horizontal absolute axis.
pub const ABS_X: u16 = 0x00;
/// The vertical absolute axis.
pub const ABS_Y: u16 = 0x01;

/// Mouse buttons (`EV_KEY` codes).
pub const BTN_LEFT: u16 = 0x110;
/// The right button.
pub const BTN_RIGHT: u16 = 0x111;
/// The middle button (often the wheel pressed).
pub const BTN_MIDDLE: u16 = 0x112;

/// Keyboard key codes (`EV_KEY`), by the key's place on a US layout.
#[allow(missing_docs)]
pub mod keys {
    pub const KEY_ESC: u16 = 1;
    /// `KEY_1` to `KEY_9` are 2 to 10, `KEY_0` 11.
    pub const KEY_1: u16 = 2;
    pub const KEY_0: u16 = 11;
    pub const KEY_MINUS: u16 = 12;
    pub const KEY_EQUAL: u16 = 13;
    pub const KEY_BACKSPACE: u16 = 14;
    pub const KEY_TAB: u16 = 15;
    /// The letter rows: `KEY_Q`..`KEY_P` are 16..25, `KEY_A`..`KEY_L` 30..38,
    /// `KEY_Z`..`KEY_M` 44..50.
    pub const QWERTY_ROW: (u16, &str) = (16, "QWERTYUIOP");
    pub const ASDF_ROW: (u16, &str) = (30, "ASDFGHJKL");
    pub const ZXCV_ROW: (u16, &str) = (44, "ZXCVBNM");
    pub const KEY_ENTER: u16 = 28;
    pub const KEY_LEFTCTRL: u16 = 29;
    pub const KEY_LEFTSHIFT: u16 = 42;
    pub const KEY_RIGHTSHIFT: u16 = 54;
    pub const KEY_LEFTALT: u16 = 56;
    pub const KEY_SPACE: u16 = 57;
    pub const KEY_RIGHTCTRL: u16 = 97;
    pub const KEY_RIGHTALT: u16 = 100;
    pub const KEY_UP: u16 = 103;
    pub const KEY_LEFT: u16 = 105;
    pub const KEY_RIGHT: u16 = 106;
    pub const KEY_DOWN: u16 = 108;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The numbers from `input.h`, computed by hand from `_IOC`.
    #[test]
    fn ioctl_numbers_and_sizes_match_the_kernel_headers() {
        assert_eq!(InputEvent::SIZE, 24);
        assert_eq!(size_of::<InputAbsinfo>(), 24);
        assert_eq!(EVIOCGRAB, 0x4004_4590);
        assert_eq!(eviocgabs(ABS_Y), 0x8018_4541);
        assert_eq!(eviocgbit(0, 4), 0x8004_4520);
        assert_eq!(eviocgbit(EV_KEY, 96), 0x8060_4521);
    }

    #[test]
    fn records_decode_field_by_field() {
        let mut bytes = [0u8; InputEvent::SIZE];
        bytes[0..8].copy_from_slice(&7i64.to_ne_bytes());
        bytes[8..16].copy_from_slice(&250_000i64.to_ne_bytes());
        bytes[16..18].copy_from_slice(&EV_ABS.to_ne_bytes());
        bytes[18..20].copy_from_slice(&ABS_Y.to_ne_bytes());
        bytes[20..24].copy_from_slice(&(-5i32).to_ne_bytes());
        let event = InputEvent::from_ne_bytes(&bytes);
        assert_eq!(
            event,
            InputEvent {
                sec: 7,
                usec: 250_000,
                kind: EV_ABS,
                code: ABS_Y,
                value: -5
            }
        );
    }
}
