use std::fmt;

use crate::abi::BochsfbMode;
use crate::{Error, PixelFormat};

/// The geometry of a frame: its visible size and memory layout. The one mode type of the
/// workspace: what a backend draws in, what the benchmark measures in and what the harness
/// boots a guest in.
///
/// With the `serde` feature it is `{"width", "height", "bpp", "stride"}`; a mode written
/// without `stride` has tightly packed rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(from = "serde_form::ModeForm"))]
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

    /// Bytes of one pixel (`bpp` rounded up to whole bytes).
    pub const fn bytes_per_pixel(&self) -> usize {
        self.bpp.div_ceil(8) as usize
    }

    /// Visible bytes of one row (`stride` may be larger).
    pub const fn row_len(&self) -> usize {
        self.width as usize * self.bytes_per_pixel()
    }

    /// Bytes from the first row to the end of the last one (`stride * height`).
    pub const fn frame_len(&self) -> usize {
        self.stride as usize * self.height as usize
    }

    /// `1024x768x32`: the mode as [`FromStr`](std::str::FromStr) reads it (rows packed), for
    /// names of files and charts.
    pub fn label(&self) -> String {
        format!("{}x{}x{}", self.width, self.height, self.bpp)
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

#[cfg(feature = "serde")]
mod serde_form {
    /// [`super::Mode`] as it is read: `stride` may be missing (a mode given by width, height
    /// and bpp alone, as the benchmark's `--mode`), and then the rows are packed.
    #[derive(serde::Deserialize)]
    pub(super) struct ModeForm {
        width: u32,
        height: u32,
        bpp: u32,
        stride: Option<u32>,
    }

    impl From<ModeForm> for super::Mode {
        fn from(m: ModeForm) -> super::Mode {
            let packed = super::Mode {
                width: m.width,
                height: m.height,
                bpp: m.bpp,
                stride: 0,
            }
            .row_len() as u32;
            super::Mode {
                width: m.width,
                height: m.height,
                bpp: m.bpp,
                stride: m.stride.unwrap_or(packed),
            }
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
    fn labels_as_it_parses() {
        let mode = Mode::packed(800, 600, PixelFormat::Rgb565);
        assert_eq!(mode.label(), "800x600x16");
        assert_eq!(mode.label().parse(), Ok(mode));
        assert_eq!(mode.row_len(), 1600);
        assert_eq!(
            Mode {
                stride: 1664,
                ..mode
            }
            .row_len(),
            1600
        );
    }

    #[cfg(feature = "serde")]
    #[test]
    fn reads_with_or_without_a_stride() {
        let packed: Mode = serde_json::from_str(r#"{"width":640,"height":480,"bpp":32}"#).unwrap();
        assert_eq!(packed, Mode::xrgb8888(640, 480));
        let padded = Mode {
            stride: 4096,
            ..packed
        };
        let text = serde_json::to_string(&padded).unwrap();
        assert_eq!(text, r#"{"width":640,"height":480,"bpp":32,"stride":4096}"#);
        assert_eq!(serde_json::from_str::<Mode>(&text).unwrap(), padded);
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
