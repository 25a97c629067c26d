use std::fmt;

use crate::abi::BochsfbMode;
use crate::{Error, PixelFormat};

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
        Mode::packed(width, height, PixelFormat::Xrgb8888)
    }

    /// A mode in `format` with tightly packed rows.
    pub const fn packed(width: u32, height: u32, format: PixelFormat) -> Mode {
        Mode {
            width,
            height,
            bpp: format.bpp(),
            stride: width * format.bytes_per_pixel() as u32,
        }
    }

    /// The pixel format for [`Mode::bpp`], if the renderer draws it.
    pub const fn format(&self) -> Option<PixelFormat> {
        PixelFormat::from_bpp(self.bpp)
    }

    /// Bytes from the first row to the end of the last one (`stride * height`).
    pub fn frame_len(&self) -> usize {
        self.stride as usize * self.height as usize
    }

    /// Checks that this crate can draw the mode into `available` bytes.
    pub fn validate(&self, available: usize) -> Result<(), Error> {
        let Some(format) = self.format() else {
            return Err(Error::UnsupportedBpp { bpp: self.bpp });
        };
        let invalid = |reason: String| Error::InvalidMode {
            width: self.width,
            height: self.height,
            stride: self.stride,
            reason,
        };
        if self.width == 0 || self.height == 0 {
            return Err(invalid("empty frame".into()));
        }
        if (self.stride as usize) < self.width as usize * format.bytes_per_pixel() {
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

/// A mode as written on command lines: `WIDTHxHEIGHT` (32 bpp) or
/// `WIDTHxHEIGHTxBPP`, rows tightly packed.
impl std::str::FromStr for Mode {
    type Err = String;

    fn from_str(s: &str) -> Result<Mode, String> {
        let parts: Vec<&str> = s.split('x').collect();
        let number = |p: &str| {
            p.parse::<u32>()
                .map_err(|_| format!("`{p}` in `{s}` is not a number"))
        };
        let (width, height, bpp) = match parts[..] {
            [w, h] => (number(w)?, number(h)?, 32),
            [w, h, bpp] => (number(w)?, number(h)?, number(bpp)?),
            _ => return Err(format!("`{s}` is not WIDTHxHEIGHT or WIDTHxHEIGHTxBPP")),
        };
        let format =
            PixelFormat::from_bpp(bpp).ok_or_else(|| format!("{bpp} bpp: not 8, 16, 24 or 32"))?;
        if width == 0 || height == 0 {
            return Err(format!("`{s}`: empty frame"));
        }
        Ok(Mode::packed(width, height, format))
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
    fn parses_command_line_modes() {
        assert_eq!("640x480".parse(), Ok(Mode::xrgb8888(640, 480)));
        assert_eq!(
            "800x600x16".parse(),
            Ok(Mode {
                width: 800,
                height: 600,
                bpp: 16,
                stride: 1600
            })
        );
        assert!("800x600x15".parse::<Mode>().is_err());
        assert!("800".parse::<Mode>().is_err());
        assert!("0x600".parse::<Mode>().is_err());
    }

    #[test]
    fn validate_rejects_what_cannot_be_drawn() {
        let mode = Mode::xrgb8888(4, 2);
        assert!(mode.validate(32).is_ok());
        assert!(matches!(mode.validate(31), Err(Error::InvalidMode { .. })));
        let mode15 = Mode { bpp: 15, ..mode };
        assert!(matches!(
            mode15.validate(32),
            Err(Error::UnsupportedBpp { bpp: 15 })
        ));
        assert!(Mode { bpp: 16, ..mode }.validate(32).is_ok());
        let short_stride = Mode { stride: 15, ..mode };
        assert!(matches!(
            short_stride.validate(64),
            Err(Error::InvalidMode { .. })
        ));
    }
}
