//! Keyboard and pointer input, the same on every backend.
//!
//! [`Backend::poll_events`](crate::Backend::poll_events) returns the [`Event`]s that arrived
//! since the last call without waiting, so it fits in the frame loop; [`InputState`] folds
//! them into what is held down and where the pointer is. In a guest, backends opened with
//! [`backend::open`](crate::backend::open) read the kernel's evdev devices ([`Evdev`]), on
//! the host window minifb's keys and mouse, and memory has none.
//!
//! The crate documentation's [frame loop](crate#a-frame-loop-with-input) draws where the
//! pointer is while the button is held.
//!
//! [`Evdev`] reads `struct input_event` records itself (the ABI is in `bochsfb-uapi`): the
//! `evdev` crate would bring a dependency tree and an async layer for four ioctls and one
//! 24-byte record.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use bochsfb_uapi::input::{self as abi, keys, InputAbsinfo, InputEvent};
use embedded_graphics::prelude::Point;

use crate::{Error, Syscall};

/// A key, by its place on a US keyboard (what it types depends on the layout).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
#[allow(missing_docs)]
pub enum Key {
    A,
    B,
    C,
    D,
    E,
    F,
    G,
    H,
    I,
    J,
    K,
    L,
    M,
    N,
    O,
    P,
    Q,
    R,
    S,
    T,
    U,
    V,
    W,
    X,
    Y,
    Z,
    Num0,
    Num1,
    Num2,
    Num3,
    Num4,
    Num5,
    Num6,
    Num7,
    Num8,
    Num9,
    Escape,
    Enter,
    Space,
    Backspace,
    Tab,
    Minus,
    Equal,
    Up,
    Down,
    Left,
    Right,
    LeftShift,
    RightShift,
    LeftCtrl,
    RightCtrl,
    LeftAlt,
    RightAlt,
    /// A key without a name here: its Linux key code (`KEY_*` in `input-event-codes.h`).
    Other(u16),
}

/// The letter keys, A to Z.
const LETTERS: [Key; 26] = {
    use Key::*;
    [
        A, B, C, D, E, F, G, H, I, J, K, L, M, N, O, P, Q, R, S, T, U, V, W, X, Y, Z,
    ]
};

/// The digit keys, 0 to 9.
const DIGITS: [Key; 10] = {
    use Key::*;
    [Num0, Num1, Num2, Num3, Num4, Num5, Num6, Num7, Num8, Num9]
};

impl Key {
    /// The key that types `c` (a letter, either case, or a digit) on a US layout.
    pub fn for_char(c: char) -> Option<Key> {
        match c.to_ascii_uppercase() {
            l @ 'A'..='Z' => Some(LETTERS[(l as u8 - b'A') as usize]),
            d @ '0'..='9' => Some(DIGITS[(d as u8 - b'0') as usize]),
            _ => None,
        }
    }

    /// The digit a number key stands for.
    pub fn digit(self) -> Option<u8> {
        DIGITS.iter().position(|&k| k == self).map(|d| d as u8)
    }

    /// The key with Linux key code `code`.
    pub fn from_evdev(code: u16) -> Key {
        for (first, row) in [keys::QWERTY_ROW, keys::ASDF_ROW, keys::ZXCV_ROW] {
            if let Some(c) = code
                .checked_sub(first)
                .and_then(|i| row.as_bytes().get(i as usize))
            {
                return Key::for_char(char::from(*c)).expect("rows hold letters");
            }
        }
        match code {
            keys::KEY_1..=keys::KEY_0 => DIGITS[((code - keys::KEY_1 + 1) % 10) as usize],
            keys::KEY_ESC => Key::Escape,
            keys::KEY_ENTER => Key::Enter,
            keys::KEY_SPACE => Key::Space,
            keys::KEY_BACKSPACE => Key::Backspace,
            keys::KEY_TAB => Key::Tab,
            keys::KEY_MINUS => Key::Minus,
            keys::KEY_EQUAL => Key::Equal,
            keys::KEY_UP => Key::Up,
            keys::KEY_DOWN => Key::Down,
            keys::KEY_LEFT => Key::Left,
            keys::KEY_RIGHT => Key::Right,
            keys::KEY_LEFTSHIFT => Key::LeftShift,
            keys::KEY_RIGHTSHIFT => Key::RightShift,
            keys::KEY_LEFTCTRL => Key::LeftCtrl,
            keys::KEY_RIGHTCTRL => Key::RightCtrl,
            keys::KEY_LEFTALT => Key::LeftAlt,
            keys::KEY_RIGHTALT => Key::RightAlt,
            other => Key::Other(other),
        }
    }
}

/// A pointer button.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Button {
    /// The primary button.
    Left,
    /// The secondary button.
    Right,
    /// The middle button (often the wheel pressed).
    Middle,
}

impl Button {
    const ALL: [Button; 3] = [Button::Left, Button::Right, Button::Middle];

    fn index(self) -> usize {
        Button::ALL.iter().position(|&b| b == self).expect("in ALL")
    }
}

/// Something the user did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A key went down (autorepeat sends no more of these).
    KeyDown(Key),
    /// A key came up.
    KeyUp(Key),
    /// The pointer moved to this pixel of the screen (inside the mode's size).
    PointerMoved(Point),
    /// A button went down.
    ButtonDown(Button),
    /// A button came up.
    ButtonUp(Button),
    /// The wheel turned by this many notches (`y` positive: away from the user; `x`
    /// positive: right).
    Wheel {
        /// Horizontal notches.
        x: i32,
        /// Vertical notches.
        y: i32,
    },
}

/// What is held down and where the pointer is, from the events so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InputState {
    keys: BTreeSet<Key>,
    buttons: [bool; 3],
    pointer: Option<Point>,
}

impl InputState {
    /// Takes `event` into account.
    pub fn apply(&mut self, event: &Event) {
        match *event {
            Event::KeyDown(key) => {
                self.keys.insert(key);
            }
            Event::KeyUp(key) => {
                self.keys.remove(&key);
            }
            Event::PointerMoved(at) => self.pointer = Some(at),
            Event::ButtonDown(b) => self.buttons[b.index()] = true,
            Event::ButtonUp(b) => self.buttons[b.index()] = false,
            Event::Wheel { .. } => {}
        }
    }

    /// Whether `key` is held down.
    pub fn is_down(&self, key: Key) -> bool {
        self.keys.contains(&key)
    }

    /// Whether `button` is held down.
    pub fn is_pressed(&self, button: Button) -> bool {
        self.buttons[button.index()]
    }

    /// Where the pointer is; `None` until it first moves.
    pub fn pointer(&self) -> Option<Point> {
        self.pointer
    }
}

/// The pixel of a screen `size` pixels long that absolute position `value` of `axis` points
/// at: the inverse of QEMU's `value * (max - min) / size` scaling (its VNC server, GTK window
/// and `input-send-event` all use it), rounded up so each pixel maps back to itself.
pub fn scale_absolute(value: i32, axis: &InputAbsinfo, size: u32) -> i32 {
    let range = i64::from(axis.maximum) - i64::from(axis.minimum);
    if range <= 0 || size == 0 {
        return 0;
    }
    let offset = (i64::from(value) - i64::from(axis.minimum)).clamp(0, range);
    let pixel = (offset * i64::from(size) + range - 1) / range;
    pixel.min(i64::from(size) - 1) as i32
}

/// One open `/dev/input/eventN`.
#[derive(Debug)]
struct Device {
    file: File,
    path: PathBuf,
    /// The ranges of ABS_X and ABS_Y, for a tablet.
    absolute: Option<(InputAbsinfo, InputAbsinfo)>,
    /// The events of the report being read, sent at its `SYN_REPORT`.
    report: Report,
}

/// What one evdev report (the events up to a `SYN_REPORT`) changes.
#[derive(Debug, Default)]
struct Report {
    absolute: (Option<i32>, Option<i32>),
    relative: (i32, i32),
    wheel: (i32, i32),
    /// Keys and buttons, in order.
    presses: Vec<Event>,
    /// `SYN_DROPPED` was seen: the report is incomplete and is thrown away.
    dropped: bool,
}

/// The kernel's evdev devices (`/dev/input/event*`), grabbed while this value lives so the
/// console and other readers do not see the keys, read without blocking.
#[derive(Debug)]
pub struct Evdev {
    devices: Vec<Device>,
    /// The nodes that did not open, with the reason.
    skipped: Vec<(PathBuf, io::Error)>,
    /// Where the pointer is, in pixels; `None` before it first moves (a relative mouse
    /// starts it at the centre).
    pointer: Option<Point>,
}

impl Evdev {
    /// Opens and grabs every `/dev/input/event*` that opens; none at all is no error (a
    /// display without input devices gives no events).
    pub fn open() -> Evdev {
        let mut paths: Vec<PathBuf> = std::fs::read_dir("/dev/input")
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("event"))
            })
            .collect();
        paths.sort();
        Evdev::open_paths(&paths)
    }

    /// Opens and grabs the evdev nodes `paths`.
    pub fn open_paths(paths: &[PathBuf]) -> Evdev {
        let mut evdev = Evdev {
            devices: Vec::new(),
            skipped: Vec::new(),
            pointer: None,
        };
        for path in paths {
            match Device::open(path) {
                Ok(device) => evdev.devices.push(device),
                Err(e) => evdev.skipped.push((path.clone(), e)),
            }
        }
        evdev
    }

    /// The devices being read.
    pub fn devices(&self) -> impl Iterator<Item = &Path> {
        self.devices.iter().map(|d| d.path.as_path())
    }

    /// The nodes that could not be opened or grabbed, and why.
    pub fn skipped(&self) -> &[(PathBuf, io::Error)] {
        &self.skipped
    }

    /// Appends the events that arrived since the last call to `out`, with pointer positions
    /// in a screen of `width x height`; never blocks. A device that went away is dropped.
    pub fn poll(&mut self, width: u32, height: u32, out: &mut Vec<Event>) -> Result<(), Error> {
        let mut records = [0u8; 64 * InputEvent::SIZE];
        let mut i = 0;
        while i < self.devices.len() {
            let device = &mut self.devices[i];
            let n = match device.file.read(&mut records) {
                Ok(0) => 0,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.raw_os_error() == Some(libc::ENODEV) => {
                    self.devices.remove(i);
                    continue;
                }
                Err(source) => {
                    return Err(Error::Syscall {
                        syscall: Syscall::ReadInput,
                        path: device.path.clone(),
                        source,
                    })
                }
            };
            for record in records[..n].chunks_exact(InputEvent::SIZE) {
                let event = InputEvent::from_ne_bytes(record.try_into().expect("chunks of SIZE"));
                device.take(event, width, height, &mut self.pointer, out);
            }
            if n < records.len() {
                i += 1;
            }
        }
        Ok(())
    }
}

impl Device {
    fn open(path: &Path) -> io::Result<Device> {
        let file = File::options()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(path)?;
        crate::device::evdev_grab(&file)?;
        let absolute = match (
            crate::device::evdev_absinfo(&file, abi::ABS_X),
            crate::device::evdev_absinfo(&file, abi::ABS_Y),
        ) {
            (Ok(x), Ok(y)) if x.maximum > x.minimum && y.maximum > y.minimum => Some((x, y)),
            _ => None,
        };
        Ok(Device {
            file,
            path: path.to_owned(),
            absolute,
            report: Report::default(),
        })
    }

    /// Takes one record: motion collects until the report ends, then the pointer moves once
    /// and the report's key and button changes follow (a press in the same report as a move
    /// happens where the pointer went).
    fn take(
        &mut self,
        event: InputEvent,
        width: u32,
        height: u32,
        pointer: &mut Option<Point>,
        out: &mut Vec<Event>,
    ) {
        let report = &mut self.report;
        match (event.kind, event.code) {
            (abi::EV_SYN, abi::SYN_DROPPED) => report.dropped = true,
            (abi::EV_SYN, abi::SYN_REPORT) => {
                let report = std::mem::take(&mut self.report);
                if !report.dropped {
                    report.finish(self.absolute.as_ref(), width, height, pointer, out);
                }
            }
            (abi::EV_ABS, abi::ABS_X) => report.absolute.0 = Some(event.value),
            (abi::EV_ABS, abi::ABS_Y) => report.absolute.1 = Some(event.value),
            (abi::EV_REL, abi::REL_X) => report.relative.0 += event.value,
            (abi::EV_REL, abi::REL_Y) => report.relative.1 += event.value,
            (abi::EV_REL, abi::REL_WHEEL) => report.wheel.1 += event.value,
            (abi::EV_REL, abi::REL_HWHEEL) => report.wheel.0 += event.value,
            (abi::EV_KEY, code) if event.value != 2 => {
                let down = event.value == 1;
                let button = match code {
                    abi::BTN_LEFT => Some(Button::Left),
                    abi::BTN_RIGHT => Some(Button::Right),
                    abi::BTN_MIDDLE => Some(Button::Middle),
                    // Other buttons (BTN_TOUCH, joystick and tool buttons) are not keys.
                    0x100..=0x2ff => return,
                    _ => None,
                };
                report.presses.push(match (button, down) {
                    (Some(b), true) => Event::ButtonDown(b),
                    (Some(b), false) => Event::ButtonUp(b),
                    (None, true) => Event::KeyDown(Key::from_evdev(code)),
                    (None, false) => Event::KeyUp(Key::from_evdev(code)),
                });
            }
            _ => {}
        }
    }
}

impl Report {
    /// Emits the report: one pointer move (absolute axes scaled to `width x height`, relative
    /// motion added and clamped to the screen), the wheel, then the presses in order.
    fn finish(
        self,
        absolute: Option<&(InputAbsinfo, InputAbsinfo)>,
        width: u32,
        height: u32,
        pointer: &mut Option<Point>,
        out: &mut Vec<Event>,
    ) {
        let right = (width.max(1) - 1) as i32;
        let bottom = (height.max(1) - 1) as i32;
        let mut at = pointer.unwrap_or(Point::new(right / 2, bottom / 2));
        if let Some((x_axis, y_axis)) = absolute {
            if let Some(x) = self.absolute.0 {
                at.x = scale_absolute(x, x_axis, width);
            }
            if let Some(y) = self.absolute.1 {
                at.y = scale_absolute(y, y_axis, height);
            }
        }
        at.x = (at.x + self.relative.0).clamp(0, right);
        at.y = (at.y + self.relative.1).clamp(0, bottom);
        let moved = self.absolute != (None, None) || self.relative != (0, 0);
        if moved && *pointer != Some(at) {
            *pointer = Some(at);
            out.push(Event::PointerMoved(at));
        }
        if self.wheel != (0, 0) {
            out.push(Event::Wheel {
                x: self.wheel.0,
                y: self.wheel.1,
            });
        }
        out.extend(self.presses);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// QEMU's tablet: 0..=32767 on both axes.
    const TABLET: InputAbsinfo = InputAbsinfo {
        value: 0,
        minimum: 0,
        maximum: 32767,
        fuzz: 0,
        flat: 0,
        resolution: 0,
    };

    /// What QEMU sends for pixel `x` of a screen `size` wide (`qemu_input_scale_axis`).
    fn qemu_abs(x: i64, size: i64) -> i32 {
        (x * 32767 / size) as i32
    }

    #[test]
    fn every_pixel_qemu_points_at_scales_back_to_itself() {
        for size in [320u32, 640, 768, 1024, 1080, 1920, 4096] {
            for x in 0..size {
                assert_eq!(
                    scale_absolute(qemu_abs(x.into(), size.into()), &TABLET, size),
                    x as i32,
                    "{x} of {size}"
                );
            }
        }
        assert_eq!(scale_absolute(32767, &TABLET, 1024), 1023);
        assert_eq!(scale_absolute(-5, &TABLET, 1024), 0);
        let offset = InputAbsinfo {
            minimum: 100,
            maximum: 1100,
            ..TABLET
        };
        assert_eq!(scale_absolute(600, &offset, 200), 100);
    }

    #[test]
    fn evdev_codes_name_their_keys() {
        // Codes from input-event-codes.h, written out rather than taken from the table.
        for (code, key) in [
            (16, Key::Q),
            (25, Key::P),
            (30, Key::A),
            (38, Key::L),
            (44, Key::Z),
            (46, Key::C),
            (50, Key::M),
        ] {
            assert_eq!(Key::from_evdev(code), key, "{code}");
        }
        assert_eq!(Key::from_evdev(2), Key::Num1);
        assert_eq!(Key::from_evdev(10), Key::Num9);
        assert_eq!(Key::from_evdev(11), Key::Num0);
        assert_eq!(Key::from_evdev(103), Key::Up);
        assert_eq!(Key::from_evdev(26), Key::Other(26));
        assert_eq!(Key::Num7.digit(), Some(7));
        assert_eq!(Key::for_char('c'), Some(Key::C));
    }

    fn record(kind: u16, code: u16, value: i32) -> InputEvent {
        InputEvent {
            sec: 0,
            usec: 0,
            kind,
            code,
            value,
        }
    }

    fn tablet() -> Device {
        Device {
            file: File::open("/dev/null").unwrap(),
            path: "/dev/null".into(),
            absolute: Some((TABLET, TABLET)),
            report: Report::default(),
        }
    }

    #[test]
    fn a_report_moves_the_pointer_once_then_presses() {
        let mut device = tablet();
        let mut pointer = None;
        let mut out = Vec::new();
        for r in [
            record(abi::EV_KEY, abi::BTN_LEFT, 1),
            record(abi::EV_ABS, abi::ABS_X, qemu_abs(100, 640)),
            record(abi::EV_ABS, abi::ABS_Y, qemu_abs(200, 480)),
            record(abi::EV_KEY, 46, 1),
            record(abi::EV_KEY, 46, 2),
            record(abi::EV_SYN, abi::SYN_REPORT, 0),
        ] {
            device.take(r, 640, 480, &mut pointer, &mut out);
        }
        assert_eq!(
            out,
            [
                Event::PointerMoved(Point::new(100, 200)),
                Event::ButtonDown(Button::Left),
                Event::KeyDown(Key::C)
            ]
        );
        // Nothing before a SYN_REPORT, and a dropped report is thrown away.
        out.clear();
        for r in [
            record(abi::EV_ABS, abi::ABS_X, 5),
            record(abi::EV_SYN, abi::SYN_DROPPED, 0),
        ] {
            device.take(r, 640, 480, &mut pointer, &mut out);
        }
        assert!(out.is_empty());
        device.take(
            record(abi::EV_SYN, abi::SYN_REPORT, 0),
            640,
            480,
            &mut pointer,
            &mut out,
        );
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn relative_motion_is_clamped_to_the_screen() {
        let mut device = Device {
            absolute: None,
            ..tablet()
        };
        let mut pointer = Some(Point::new(10, 10));
        let mut out = Vec::new();
        for r in [
            record(abi::EV_REL, abi::REL_X, -50),
            record(abi::EV_REL, abi::REL_Y, 30),
            record(abi::EV_REL, abi::REL_WHEEL, -1),
        ] {
            device.take(r, 64, 32, &mut pointer, &mut out);
        }
        device.take(
            record(abi::EV_SYN, abi::SYN_REPORT, 0),
            64,
            32,
            &mut pointer,
            &mut out,
        );
        assert_eq!(
            out,
            [
                Event::PointerMoved(Point::new(0, 31)),
                Event::Wheel { x: 0, y: -1 }
            ]
        );
    }

    #[test]
    fn state_follows_the_events() {
        let mut state = InputState::default();
        for e in [
            Event::KeyDown(Key::Up),
            Event::ButtonDown(Button::Right),
            Event::PointerMoved(Point::new(3, 4)),
        ] {
            state.apply(&e);
        }
        assert!(
            state.is_down(Key::Up)
                && state.is_pressed(Button::Right)
                && !state.is_pressed(Button::Left)
        );
        assert_eq!(state.pointer(), Some(Point::new(3, 4)));
        state.apply(&Event::KeyUp(Key::Up));
        assert!(!state.is_down(Key::Up));
    }
}
