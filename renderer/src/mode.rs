use std::fmt;

use crate::abi::BochsfbMode;
use crate::Error;

/// Bytes per pixel of XRGB8888, the only format drawn so far.
pub(crate) const BYTES_PER_PIXEL: usize = 4;

/// The geometry of a frame: its visible size and memory layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Mode {
    /// Visible pixels per row.
    pub width: u32,
    /// Visible rows.
    pub height: u32,
    /// Bits per pixel.
    pub bpp: u32,
    /// Bytes from one row to the next.
    pub stride: u32,
}

impl Mode {
    /// A 32 bpp mode with tightly packed rows (`stride = width * 4`).
    pub const fn xrgb8888(width: u32, height: u32) -> Mode {
        Mode {
            width,
            height,
            bpp: 32,
            stride: width * BYTES_PER_PIXEL as u32,
        }
    }

    /// Bytes from the first row to the end of the last one (`stride * height`).
    pub fn frame_len(&self) -> usize {
        self.stride as usize * self.height as usize
    }

    /// Checks that this crate can draw the mode into `available` bytes.
    pub fn validate(&self, available: usize) -> Result<(), Error> {
        if self.bpp != 32 {
            return Err(Error::UnsupportedBpp { bpp: self.bpp });
        }
        let invalid = |reason: String| Error::InvalidMode {
            width: self.width,
            height: self.height,
            stride: self.stride,
            reason,
        };
        if self.width == 0 || self.height == 0 {
            return Err(invalid("empty frame".into()));
        }
        if (self.stride as usize) < self.width as usize * BYTES_PER_PIXEL {
            return Err(invalid("stride is shorter than a row of pixels".into()));
        }
        if self.frame_len() > available {
            return Err(invalid(format!(
                "frame needs {} bytes but only {available} are available",
                self.frame_len()
            )));
        }
        Ok(())
    }
}

impl From<BochsfbMode> for Mode {
    fn from(m: BochsfbMode) -> Mode {
        Mode {
            width: m.width,
            height: m.height,
            bpp: m.bpp,
            stride: m.stride,
        }
    }
}

/// Formats as `1024x768 32bpp stride 4096`.
impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}x{} {}bpp stride {}",
            self.width, self.height, self.bpp, self.stride
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_as_the_test_card_label() {
        assert_eq!(
            Mode::xrgb8888(1024, 768).to_string(),
            "1024x768 32bpp stride 4096"
        );
    }

    #[test]
    fn validate_rejects_what_cannot_be_drawn() {
        let mode = Mode::xrgb8888(4, 2);
        assert!(mode.validate(32).is_ok());
        assert!(matches!(mode.validate(31), Err(Error::InvalidMode { .. })));
        let mode16 = Mode { bpp: 16, ..mode };
        assert!(matches!(
            mode16.validate(32),
            Err(Error::UnsupportedBpp { bpp: 16 })
        ));
        let short_stride = Mode { stride: 15, ..mode };
        assert!(matches!(
            short_stride.validate(64),
            Err(Error::InvalidMode { .. })
        ));
    }
}
