//! A window on the host, through `minifb`.

use embedded_graphics::prelude::Point;
use minifb::{KeyRepeat, MouseButton, MouseMode, Window, WindowOptions};

use crate::backend::{Backend, Presentation};
use crate::input::{Button, Event, Key};
use crate::{Damage, Error, Mode, Surface};

/// Draws into RAM and shows it in a `minifb` window (its pixel encoding,
/// `0RGB` in a `u32`, is XRGB8888, so frames are handed over as they are).
/// Needs a graphical session; without one, opening fails with a
/// [fall-back](Error::can_fall_back) error.
///
/// ```no_run
/// # use bochsfb_renderer::backend::{Backend, WindowBackend};
/// # use bochsfb_renderer::Mode;
/// use embedded_graphics::{pixelcolor::Rgb888, prelude::*};
/// let mut window = WindowBackend::open("demo", Mode::xrgb8888(640, 480))?;
/// while window.is_open() {
///     window.surface().clear(Rgb888::CSS_NAVY).unwrap();
///     window.present()?;
/// }
/// # Ok::<(), bochsfb_renderer::Error>(())
/// ```
pub struct WindowBackend {
    window: Window,
    pixels: Vec<u32>,
    mode: Mode,
    drawn: Damage,
    /// The pointer and buttons as last reported, to turn minifb's state into events.
    pointer: Option<Point>,
    buttons: [bool; 3],
}

/// minifb's buttons, in the order of `WindowBackend::buttons`.
const BUTTONS: [(MouseButton, Button); 3] = [
    (MouseButton::Left, Button::Left),
    (MouseButton::Right, Button::Right),
    (MouseButton::Middle, Button::Middle),
];

/// The key minifb calls `key`; `None` for keys the input API has no name for.
fn key(key: minifb::Key) -> Option<Key> {
    use minifb::Key as K;
    let index = key as usize;
    Some(match key {
        // minifb numbers Key0..Key9 0..9 and A..Z 10..35.
        K::Key0
        | K::Key1
        | K::Key2
        | K::Key3
        | K::Key4
        | K::Key5
        | K::Key6
        | K::Key7
        | K::Key8
        | K::Key9 => Key::for_char(char::from(b'0' + index as u8))?,
        _ if (10..36).contains(&index) => Key::for_char(char::from(b'A' + (index - 10) as u8))?,
        K::Escape => Key::Escape,
        K::Enter => Key::Enter,
        K::Space => Key::Space,
        K::Backspace => Key::Backspace,
        K::Tab => Key::Tab,
        K::Minus => Key::Minus,
        K::Equal => Key::Equal,
        K::Up => Key::Up,
        K::Down => Key::Down,
        K::Left => Key::Left,
        K::Right => Key::Right,
        K::LeftShift => Key::LeftShift,
        K::RightShift => Key::RightShift,
        K::LeftCtrl => Key::LeftCtrl,
        K::RightCtrl => Key::RightCtrl,
        K::LeftAlt => Key::LeftAlt,
        K::RightAlt => Key::RightAlt,
        _ => return None,
    })
}

impl std::fmt::Debug for WindowBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WindowBackend")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl WindowBackend {
    /// Opens a window of `mode`'s size (drawn in XRGB8888 whatever its bpp).
    pub fn open(title: &str, mode: Mode) -> Result<Self, Error> {
        let mode = Mode::xrgb8888(mode.width, mode.height);
        let window = Window::new(
            title,
            mode.width as usize,
            mode.height as usize,
            WindowOptions::default(),
        )
        .map_err(|e| Error::Unsupported {
            backend: "window",
            reason: e.to_string(),
        })?;
        Ok(WindowBackend {
            window,
            pixels: vec![0; mode.width as usize * mode.height as usize],
            mode,
            drawn: Damage::new(),
            pointer: None,
            buttons: [false; 3],
        })
    }

    /// Whether the window is still open (not closed by the user).
    pub fn is_open(&self) -> bool {
        self.window.is_open()
    }
}

impl Backend for WindowBackend {
    fn name(&self) -> &'static str {
        "window"
    }
    fn mode(&self) -> Mode {
        self.mode
    }
    fn presentation(&self) -> Presentation {
        Presentation::Direct
    }
    fn surface(&mut self) -> Surface<'_> {
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut self.pixels);
        Surface::new_validated(bytes, self.mode, Some(&mut self.drawn))
    }
    fn present(&mut self) -> Result<(), Error> {
        self.drawn.clear();
        if !self.window.is_open() {
            return Err(Error::Closed { backend: "window" });
        }
        self.window
            .update_with_buffer(
                &self.pixels,
                self.mode.width as usize,
                self.mode.height as usize,
            )
            .map_err(|e| Error::Present {
                backend: "window",
                reason: e.to_string(),
            })
    }
    /// minifb updates its input state in `update_with_buffer`, so events arrive with
    /// [`Backend::present`]; this turns the change since the last call into events.
    fn poll_events(&mut self) -> Result<Vec<Event>, Error> {
        let mut events = Vec::new();
        if let Some((x, y)) = self.window.get_mouse_pos(MouseMode::Discard) {
            let at = Point::new(x as i32, y as i32);
            if self.pointer != Some(at) {
                self.pointer = Some(at);
                events.push(Event::PointerMoved(at));
            }
        }
        if let Some((x, y)) = self.window.get_scroll_wheel() {
            events.push(Event::Wheel {
                x: x.signum() as i32,
                y: y.signum() as i32,
            });
        }
        for (held, (mouse, button)) in self.buttons.iter_mut().zip(BUTTONS) {
            let down = self.window.get_mouse_down(mouse);
            if down != *held {
                *held = down;
                events.push(if down {
                    Event::ButtonDown(button)
                } else {
                    Event::ButtonUp(button)
                });
            }
        }
        events.extend(
            self.window
                .get_keys_pressed(KeyRepeat::No)
                .into_iter()
                .filter_map(key)
                .map(Event::KeyDown),
        );
        events.extend(
            self.window
                .get_keys_released()
                .into_iter()
                .filter_map(key)
                .map(Event::KeyUp),
        );
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn minifb_keys_map_to_the_same_named_keys() {
        use super::{key, Key};
        use minifb::Key as K;
        assert_eq!(key(K::Key0), Some(Key::Num0));
        assert_eq!(key(K::Key9), Some(Key::Num9));
        assert_eq!(key(K::A), Some(Key::A));
        assert_eq!(key(K::Q), Some(Key::Q));
        assert_eq!(key(K::Z), Some(Key::Z));
        assert_eq!(key(K::Up), Some(Key::Up));
        assert_eq!(key(K::F1), None);
    }
}
