//! libdrm's `modetest` (Debian's `libdrm-tests`) from the host's side: what its resource
//! listing says, and the pictures it puts on screen, computed here from the definitions in
//! libdrm 2.4.114's `tests/util/pattern.c` (bookworm's version), restated, not copied or run.
//!
//! - `modetest -s` fills its framebuffer with the SMPTE colour bars (`primary_fill`'s
//!   default), or with diagonal "tiles" after `-F tiles`. Debian builds modetest without
//!   cairo, so nothing is drawn over the tiles (`make_pwetty` is empty).
//! - `modetest -v -s` (legacy page flipping, `test_page_flip`) flips between that buffer and
//!   a second one filled with `UTIL_PATTERN_PLAIN`: every byte `0x77`.

use std::fmt;

use anyhow::{bail, ensure, Context, Result};
use image::{Rgb, RgbImage};

/// A pixel format as modetest names it (`-s ...@XR24`), and how QEMU shows its pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `DRM_FORMAT_XRGB8888`: a little-endian `u32` `x:R:G:B`, 8 bits each.
    Xr24,
    /// `DRM_FORMAT_BGRX8888`: a little-endian `u32` `B:G:R:x`, 8 bits each.
    Bx24,
    /// `DRM_FORMAT_RGB565`: a little-endian `u16` `R:G:B`, 5, 6 and 5 bits.
    Rg16,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.fourcc())
    }
}

/// `(offset, length)` in bits of one colour channel in a pixel.
type Channel = (u32, u32);

impl Format {
    /// The name modetest and its `-p` listing use.
    pub fn fourcc(self) -> &'static str {
        match self {
            Format::Xr24 => "XR24",
            Format::Bx24 => "BX24",
            Format::Rg16 => "RG16",
        }
    }

    pub fn bytes_per_pixel(self) -> usize {
        match self {
            Format::Xr24 | Format::Bx24 => 4,
            Format::Rg16 => 2,
        }
    }

    /// Red, green and blue, from `include/uapi/drm/drm_fourcc.h`'s layout comments.
    fn channels(self) -> [Channel; 3] {
        match self {
            Format::Xr24 => [(16, 8), (8, 8), (0, 8)],
            Format::Bx24 => [(8, 8), (16, 8), (24, 8)],
            Format::Rg16 => [(11, 5), (5, 6), (0, 5)],
        }
    }

    /// The pixel modetest stores for the 8-bit colour `rgb`: pattern.c's `MAKE_RGBA`, whose
    /// `shiftcolor8` keeps the top `length` bits of each channel (`((v << 8 | v) >> (16 -
    /// length))` is the top bits of `v` for lengths up to 8). The alpha of the patterns
    /// vanishes: these formats have none.
    pub fn encode(self, rgb: [u8; 3]) -> Vec<u8> {
        let mut value = 0u32;
        for ((offset, length), v) in self.channels().into_iter().zip(rgb) {
            value |= (u32::from(v) >> (8 - length)) << offset;
        }
        value.to_le_bytes()[..self.bytes_per_pixel()].to_vec()
    }

    /// The colour QEMU's screendump shows for the stored `pixel`. Channels narrower than 8 bits
    /// are widened by repeating their top bits: QEMU converts the card's 16 bpp surface with
    /// pixman, which does that (bochsfb's 16 bpp demos, tests/e2e/demos.rs, see the same).
    pub fn shown(self, pixel: &[u8]) -> [u8; 3] {
        let mut bytes = [0u8; 4];
        bytes[..pixel.len()].copy_from_slice(pixel);
        let value = u32::from_le_bytes(bytes);
        self.channels().map(|(offset, length)| {
            let v = (value >> offset) & ((1 << length) - 1);
            let widened = (v << (8 - length)) | (v >> (2 * length).saturating_sub(8));
            widened as u8
        })
    }

    /// What the screen shows for the 8-bit colour `rgb` drawn by modetest in this format.
    pub fn through(self, rgb: [u8; 3]) -> [u8; 3] {
        self.shown(&self.encode(rgb))
    }
}

/// SMPTE bars, top two thirds: grey, yellow, cyan, green, magenta, red, blue (75% of 255 is
/// 192).
const SMPTE_TOP: [[u8; 3]; 7] = [
    [192, 192, 192],
    [192, 192, 0],
    [0, 192, 192],
    [0, 192, 0],
    [192, 0, 192],
    [192, 0, 0],
    [0, 0, 192],
];
/// The thin middle band: the top bars' complements interleaved with black (7.5%, 19).
const SMPTE_MIDDLE: [[u8; 3]; 7] = [
    [0, 0, 192],
    [19, 19, 19],
    [192, 0, 192],
    [19, 19, 19],
    [0, 192, 192],
    [19, 19, 19],
    [192, 192, 192],
];
/// The bottom band: -I, super white, +Q, black, then the PLUGE steps 3.5%, 7.5%, 11.5% and
/// black again.
const SMPTE_BOTTOM: [[u8; 3]; 8] = [
    [0, 33, 76],
    [255, 255, 255],
    [50, 0, 106],
    [19, 19, 19],
    [9, 9, 9],
    [19, 19, 19],
    [29, 29, 29],
    [19, 19, 19],
];

/// The 8-bit colour of pixel `(x, y)` of modetest's SMPTE pattern in a `width x height`
/// buffer (pattern.c's `fill_smpte_rgb*`: integer arithmetic, so every pixel is exact).
pub fn smpte_color(x: u32, y: u32, width: u32, height: u32) -> [u8; 3] {
    if y < height * 6 / 9 {
        return SMPTE_TOP[(x * 7 / width) as usize];
    }
    if y < height * 7 / 9 {
        return SMPTE_MIDDLE[(x * 7 / width) as usize];
    }
    // The bottom band: four wide bars over the first five sevenths, then the three PLUGE
    // steps in the sixth seventh, then black.
    let five_sevenths = width * 5 / 7;
    if x < five_sevenths {
        SMPTE_BOTTOM[(x * 4 / five_sevenths) as usize]
    } else if x < width * 6 / 7 {
        SMPTE_BOTTOM[((x - five_sevenths) * 3 / (width / 7) + 4) as usize]
    } else {
        SMPTE_BOTTOM[7]
    }
}

/// The screen modetest's SMPTE pattern gives in `format`.
pub fn smpte(width: u32, height: u32, format: Format) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        Rgb(format.through(smpte_color(x, y, width, height)))
    })
}

/// The 8-bit colour of pixel `(x, y)` of modetest's "tiles" pattern (`-F tiles`, pattern.c's
/// `fill_tiles_rgb16` and `_rgb32`): a colour that steps every 64 pixels along the diagonal
/// `x + y`, computed as one 32-bit number whose bytes are red, green and blue, so a step may
/// carry from one channel into the next.
pub fn tiles_color(x: u32, y: u32, width: u32) -> [u8; 3] {
    let (quot, rem) = ((x + y) / width, (x + y) % width);
    let rgb = 0x0013_0502 * (quot >> 6) + 0x000a_1120 * (rem >> 6);
    [(rgb >> 16) as u8, (rgb >> 8) as u8, rgb as u8]
}

/// A fill pattern of modetest's (`-F <primary>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    /// The SMPTE colour bars, the default.
    Smpte,
    /// Diagonal stripes; without cairo nothing is drawn over them.
    Tiles,
}

impl Pattern {
    /// The name `-F` takes.
    pub fn name(self) -> &'static str {
        match self {
            Pattern::Smpte => "smpte",
            Pattern::Tiles => "tiles",
        }
    }

    /// The screen this pattern gives in `format`.
    pub fn image(self, width: u32, height: u32, format: Format) -> RgbImage {
        match self {
            Pattern::Smpte => smpte(width, height, format),
            Pattern::Tiles => RgbImage::from_fn(width, height, |x, y| {
                Rgb(format.through(tiles_color(x, y, width)))
            }),
        }
    }
}

/// The screen of `UTIL_PATTERN_PLAIN`: a `memset` of `0x77` over the whole buffer.
pub fn plain(width: u32, height: u32, format: Format) -> RgbImage {
    let pixel = vec![0x77; format.bytes_per_pixel()];
    let color = Rgb(format.shown(&pixel));
    RgbImage::from_pixel(width, height, color)
}

/// The flip rates modetest reports on stderr during `-v`: one `freq: 59.98Hz` line per 60
/// page-flip events.
pub fn flip_rates(stderr: &str) -> Result<Vec<f64>> {
    stderr
        .lines()
        .filter_map(|line| line.trim().strip_prefix("freq:"))
        .map(|rest| {
            let number = rest.trim().trim_end_matches("Hz");
            number
                .parse()
                .with_context(|| format!("bad modetest line `freq:{rest}`"))
        })
        .collect()
}

/// An encoder from `modetest -e`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoder {
    pub id: u32,
    /// Bit `i` set: the `i`-th CRTC of the listing can drive it.
    pub possible_crtcs: u32,
}

/// A connector from `modetest -c`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connector {
    pub id: u32,
    pub status: String,
    pub name: String,
    pub encoders: Vec<u32>,
    /// Mode names (`1024x768`), in the listing's order.
    pub modes: Vec<String>,
}

/// A plane from `modetest -p`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plane {
    pub id: u32,
    pub possible_crtcs: u32,
    /// Fourcc names (`XR24`).
    pub formats: Vec<String>,
}

/// What `modetest -e -c -p` lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resources {
    pub encoders: Vec<Encoder>,
    pub connectors: Vec<Connector>,
    /// CRTC ids, in the listing's (and the resources') order.
    pub crtcs: Vec<u32>,
    pub planes: Vec<Plane>,
}

/// A connector and the CRTC to drive it with: what `modetest -s <connector>@<crtc>:...` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pipe {
    pub connector: u32,
    pub crtc: u32,
    /// The CRTC's index, the bit that stands for it in `possible_crtcs`.
    pub crtc_index: usize,
}

fn number(field: &str) -> Result<u32> {
    let field = field.trim();
    match field.strip_prefix("0x") {
        Some(hex) => u32::from_str_radix(hex, 16),
        None => field.parse(),
    }
    .with_context(|| format!("`{field}` is not a number"))
}

/// Parses `modetest -e -c -p` output (other sections, and lines it does not know, such as
/// kernel messages on the console, are skipped). A table row starts with a digit at the start
/// of the line; its details (modes, properties, formats) are indented.
pub fn parse(output: &str) -> Result<Resources> {
    #[derive(PartialEq)]
    enum Section {
        None,
        Encoders,
        Connectors,
        Crtcs,
        Planes,
    }
    let mut section = Section::None;
    let mut resources = Resources::default();
    for line in output.lines() {
        let row = line.starts_with(|c: char| c.is_ascii_digit());
        // Tab-separated columns, with empty ones where modetest printed two tabs.
        let fields: Vec<&str> = line
            .split('\t')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .collect();
        let context = || format!("modetest line {line:?}");
        match line.trim_end() {
            "Encoders:" => section = Section::Encoders,
            "Connectors:" => section = Section::Connectors,
            "CRTCs:" => section = Section::Crtcs,
            "Planes:" => section = Section::Planes,
            "Frame buffers:" => section = Section::None,
            _ if row => match section {
                Section::Encoders => {
                    let [id, _crtc, _type, possible, ..] = fields[..] else {
                        bail!("{}: too few columns", context());
                    };
                    resources.encoders.push(Encoder {
                        id: number(id).with_context(context)?,
                        possible_crtcs: number(possible).with_context(context)?,
                    });
                }
                Section::Connectors => {
                    let [id, _encoder, status, name, _size, _modes, ref encoders @ ..] = fields[..]
                    else {
                        bail!("{}: too few columns", context());
                    };
                    resources.connectors.push(Connector {
                        id: number(id).with_context(context)?,
                        status: status.to_string(),
                        name: name.to_string(),
                        encoders: encoders
                            .join(",")
                            .split(',')
                            .filter(|e| !e.trim().is_empty())
                            .map(number)
                            .collect::<Result<_>>()
                            .with_context(context)?,
                        modes: Vec::new(),
                    });
                }
                Section::Crtcs => {
                    let id = fields.first().with_context(context)?;
                    resources.crtcs.push(number(id).with_context(context)?);
                }
                Section::Planes => {
                    let [id, .., possible] = fields[..] else {
                        bail!("{}: too few columns", context());
                    };
                    resources.planes.push(Plane {
                        id: number(id).with_context(context)?,
                        possible_crtcs: number(possible).with_context(context)?,
                        formats: Vec::new(),
                    });
                }
                Section::None => {}
            },
            _ => {
                let detail = line.trim();
                // `  #3 1024x768 60.00 1024 ...`: a mode of the connector above.
                if let (Section::Connectors, Some(mode)) = (&section, detail.strip_prefix('#')) {
                    if let (Some(connector), Some(name)) = (
                        resources.connectors.last_mut(),
                        mode.split_whitespace().nth(1),
                    ) {
                        connector.modes.push(name.to_string());
                    }
                }
                // `  formats: XR24 BX24`: the formats of the plane above.
                if let (Section::Planes, Some(formats)) =
                    (&section, detail.strip_prefix("formats:"))
                {
                    if let Some(plane) = resources.planes.last_mut() {
                        plane.formats = formats.split_whitespace().map(String::from).collect();
                    }
                }
            }
        }
    }
    Ok(resources)
}

impl Resources {
    /// The first connected connector and the first CRTC its first encoder can use.
    pub fn pipe(&self) -> Result<Pipe> {
        let connector = self
            .connectors
            .iter()
            .find(|c| c.status == "connected")
            .with_context(|| format!("no connected connector in {:?}", self.connectors))?;
        let encoder_id = *connector
            .encoders
            .first()
            .with_context(|| format!("connector {} has no encoder", connector.id))?;
        let encoder = self
            .encoders
            .iter()
            .find(|e| e.id == encoder_id)
            .with_context(|| format!("encoder {encoder_id} is not listed"))?;
        let crtc_index = (0..self.crtcs.len())
            .find(|i| encoder.possible_crtcs & (1 << i) != 0)
            .with_context(|| {
                format!(
                    "encoder {encoder_id} can use none of the CRTCs {:?} (possible crtcs {:#x})",
                    self.crtcs, encoder.possible_crtcs
                )
            })?;
        Ok(Pipe {
            connector: connector.id,
            crtc: self.crtcs[crtc_index],
            crtc_index,
        })
    }

    /// Fails unless the pipe's connector lists a mode `width x height` and a plane that can be
    /// on its CRTC offers `format`.
    pub fn check_offers(&self, pipe: Pipe, width: u32, height: u32, format: Format) -> Result<()> {
        let connector = self
            .connectors
            .iter()
            .find(|c| c.id == pipe.connector)
            .context("the pipe's connector is not listed")?;
        let mode = format!("{width}x{height}");
        ensure!(
            connector.modes.contains(&mode),
            "connector {} lists no mode {mode}: {:?}",
            connector.id,
            connector.modes
        );
        ensure!(
            self.planes
                .iter()
                .any(|p| p.possible_crtcs & (1 << pipe.crtc_index) != 0
                    && p.formats.iter().any(|f| f == format.fourcc())),
            "no plane on CRTC {} offers {format}: {:?}",
            pipe.crtc,
            self.planes
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOCHS_DRM: &str = include_str!("../testdata/modetest/bochs-drm-e-c-p.txt");

    #[test]
    fn parses_the_c_bochs_drivers_listing() {
        let r = parse(BOCHS_DRM).unwrap();
        assert_eq!(
            r.encoders,
            [Encoder {
                id: 38,
                possible_crtcs: 1
            }]
        );
        assert_eq!(r.connectors.len(), 1);
        let c = &r.connectors[0];
        assert_eq!(
            (c.id, c.status.as_str(), c.name.as_str(), &c.encoders[..]),
            (39, "connected", "Virtual-1", &[38][..])
        );
        assert_eq!(c.modes.len(), 21);
        assert_eq!(c.modes[0], "1024x768");
        assert_eq!(c.modes[20], "640x480");
        assert_eq!(r.crtcs, [37]);
        assert_eq!(
            r.planes,
            [Plane {
                id: 35,
                possible_crtcs: 1,
                formats: vec!["XR24".into(), "BX24".into()]
            }]
        );
        let pipe = r.pipe().unwrap();
        assert_eq!(
            pipe,
            Pipe {
                connector: 39,
                crtc: 37,
                crtc_index: 0
            }
        );
        r.check_offers(pipe, 640, 480, Format::Bx24).unwrap();
        let err = r.check_offers(pipe, 640, 480, Format::Rg16).unwrap_err();
        assert!(
            err.to_string().contains("no plane on CRTC 37 offers RG16"),
            "{err}"
        );
        assert!(r.check_offers(pipe, 641, 480, Format::Xr24).is_err());
    }

    #[test]
    fn picks_the_crtc_the_encoder_can_use() {
        let text = "Encoders:\nid\tcrtc\ttype\tpossible crtcs\tpossible clones\t\n\
                    50\t0\tTMDS\t0x00000002\t0x00000000\n\n\
                    Connectors:\nid\tencoder\tstatus\t\tname\t\tsize (mm)\tmodes\tencoders\n\
                    60\t0\tdisconnected\tHDMI-A-1\t0x0\t\t0\t51\n\
                    61\t0\tconnected\tHDMI-A-2\t0x0\t\t1\t50, 51\n  modes:\n\
                    \tindex name refresh (Hz) hdisp hss hse htot vdisp vss vse vtot\n\
                    \x20 #0 800x600 60.32 800 840 968 1056 600 601 605 628 40000 flags: ; type: driver\n\n\
                    CRTCs:\nid\tfb\tpos\tsize\n40\t0\t(0,0)\t(0x0)\n41\t0\t(0,0)\t(0x0)\n";
        let r = parse(text).unwrap();
        assert_eq!(r.connectors[1].encoders, [50, 51]);
        assert_eq!(r.connectors[1].modes, ["800x600"]);
        assert_eq!(
            r.pipe().unwrap(),
            Pipe {
                connector: 61,
                crtc: 41,
                crtc_index: 1
            }
        );
        assert!(parse("Encoders:\n7\t0\n").is_err());
    }

    #[test]
    fn smpte_bars_fall_where_the_definition_puts_them() {
        // 640x480, worked by hand: the top band is rows 0..320 (480 * 6 / 9), the middle
        // 320..373 (480 * 7 / 9 = 373); a top bar changes where x * 7 / 640 does (x = 92,
        // 183, ...); in the bottom band the four wide bars are 457 / 4 wide (640 * 5 / 7 =
        // 457; x * 4 / 457 turns 1 at 115), the PLUGE steps 91 / 3 (640 / 7 = 91), from
        // 548 (640 * 6 / 7) black.
        let at = |x, y| smpte_color(x, y, 640, 480);
        assert_eq!(at(0, 0), [192, 192, 192]);
        assert_eq!(at(91, 319), [192, 192, 192]);
        assert_eq!(at(92, 0), [192, 192, 0]);
        assert_eq!(at(639, 0), [0, 0, 192]);
        assert_eq!(at(0, 320), [0, 0, 192]);
        assert_eq!(at(92, 372), [19, 19, 19]);
        assert_eq!(at(639, 372), [192, 192, 192]);
        assert_eq!(at(114, 373), [0, 33, 76]);
        assert_eq!(at(115, 479), [255, 255, 255]);
        assert_eq!(at(456, 400), [19, 19, 19]);
        assert_eq!(at(457, 400), [9, 9, 9]);
        assert_eq!(at(487, 400), [9, 9, 9]);
        assert_eq!(at(488, 400), [19, 19, 19]);
        assert_eq!(at(518, 400), [29, 29, 29]);
        assert_eq!(at(547, 400), [29, 29, 29]);
        assert_eq!(at(548, 400), [19, 19, 19]);
        // Every pixel of the common modes has a colour (no index past a table).
        for (w, h) in [(640, 480), (800, 600), (1024, 768), (1280, 1024)] {
            let image = smpte(w, h, Format::Xr24);
            assert_eq!(image.dimensions(), (w, h));
        }
    }

    #[test]
    fn tiles_step_every_64_pixels_along_the_diagonal() {
        assert_eq!(tiles_color(0, 0, 640), [0, 0, 0]);
        assert_eq!(tiles_color(63, 0, 640), [0, 0, 0]);
        // 0x0a1120 once, nine times (0x5a9a20), fifteen times (0x9700e0: the blue byte
        // carried into green, which carried into red).
        assert_eq!(tiles_color(64, 0, 640), [10, 17, 32]);
        assert_eq!(tiles_color(0, 64, 640), [10, 17, 32]);
        assert_eq!(tiles_color(639, 0, 640), [90, 154, 32]);
        assert_eq!(tiles_color(1000, 23, 1024), [151, 0, 224]);
        // Past the right edge the diagonal wraps: quotient 1, whose step needs 64 of them.
        assert_eq!(tiles_color(639, 1, 640), [0, 0, 0]);
        assert_eq!(tiles_color(639, 65, 640), [10, 17, 32]);
        let image = Pattern::Tiles.image(640, 480, Format::Xr24);
        assert_eq!(image.get_pixel(100, 100).0, tiles_color(100, 100, 640));
        assert_eq!(
            Pattern::Smpte.image(64, 48, Format::Bx24),
            smpte(64, 48, Format::Bx24)
        );
    }

    #[test]
    fn formats_store_and_show_as_documented() {
        // XRGB8888 0x00c0c000 (yellow) is bytes 00 c0 c0 00; BGRX8888 puts blue in the top byte.
        assert_eq!(Format::Xr24.encode([192, 192, 0]), [0x00, 0xc0, 0xc0, 0x00]);
        assert_eq!(Format::Bx24.encode([0, 33, 76]), [0x00, 0x00, 0x21, 0x4c]);
        // RGB565 keeps the top bits: 192 -> 24 (5 bits), 192 -> 48 (6 bits); 0xc618.
        assert_eq!(Format::Rg16.encode([192, 192, 192]), [0x18, 0xc6]);
        for format in [Format::Xr24, Format::Bx24] {
            assert_eq!(format.through([50, 0, 106]), [50, 0, 106]);
            assert_eq!(format.shown(&[0x77; 4]), [0x77, 0x77, 0x77]);
        }
        // Widened by repeating the top bits: 24 -> 0b11000_110 = 198, 48 -> 0b110000_11 = 195.
        assert_eq!(Format::Rg16.through([192, 192, 192]), [198, 195, 198]);
        assert_eq!(Format::Rg16.through([255, 255, 255]), [255, 255, 255]);
        assert_eq!(Format::Rg16.through([9, 9, 9]), [8, 8, 8]);
        // 0x7777 = 01110 111011 10111: 14 -> 115, 59 -> 239, 23 -> 189.
        assert_eq!(Format::Rg16.shown(&[0x77, 0x77]), [115, 239, 189]);
        assert_eq!(plain(2, 1, Format::Rg16).get_pixel(1, 0).0, [115, 239, 189]);
    }

    #[test]
    fn reads_flip_rates() {
        let stderr = "failed to set gamma: Function not implemented\nfreq: 59.71Hz\n\
                      select timed out or error (ret 0)\nfreq: 60.02Hz\n";
        assert_eq!(flip_rates(stderr).unwrap(), [59.71, 60.02]);
        assert!(flip_rates("freq: fastHz\n").is_err());
        assert!(flip_rates("").unwrap().is_empty());
    }
}
