//! Reads what Debian's `fbset -i` prints: the mode block and the fixed-info block.

use anyhow::{bail, Context, Result};

/// The parts of `fbset -i` output the tests check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FbsetInfo {
    /// `mode "1024x768"`: the name fbset gives the current mode.
    pub mode_name: String,
    pub xres: u32,
    pub yres: u32,
    pub xres_virtual: u32,
    pub yres_virtual: u32,
    pub bits_per_pixel: u32,
    /// `Name        : ...` of the fixed info (the driver's id string).
    pub name: Option<String>,
    /// `Size` (smem_len) in bytes.
    pub size: Option<u64>,
    /// `LineLength` (bytes per row).
    pub line_length: Option<u32>,
}

/// Parses `fbset -i` output. Lines it does not know (kernel messages among them) are skipped.
pub fn parse_info(output: &str) -> Result<FbsetInfo> {
    let mut mode_name = None;
    let mut geometry = None;
    let (mut name, mut size, mut line_length) = (None, None, None);
    for line in output.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("mode ") {
            mode_name = Some(rest.trim().trim_matches('"').to_string());
        } else if let Some(rest) = line.strip_prefix("geometry ") {
            let numbers: Vec<u32> = rest
                .split_whitespace()
                .map(str::parse)
                .collect::<std::result::Result<_, _>>()
                .with_context(|| format!("bad geometry line {line:?}"))?;
            let [x, y, vx, vy, bpp] = numbers[..] else {
                bail!("geometry line {line:?} does not hold 5 numbers");
            };
            geometry = Some((x, y, vx, vy, bpp));
        } else if let Some((key, value)) = line.split_once(':') {
            let value = value.trim();
            match key.trim() {
                "Name" => name = Some(value.to_string()),
                "Size" => size = value.parse().ok(),
                "LineLength" => line_length = value.parse().ok(),
                _ => {}
            }
        }
    }
    let Some((xres, yres, xres_virtual, yres_virtual, bits_per_pixel)) = geometry else {
        bail!("no `geometry` line in fbset output:\n{output}");
    };
    Ok(FbsetInfo {
        mode_name: mode_name.context("no `mode \"...\"` line in fbset output")?,
        xres,
        yres,
        xres_virtual,
        yres_virtual,
        bits_per_pixel,
        name,
        size,
        line_length,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As Debian's fbset 2.1-33 printed it for the C bochs driver's /dev/fb0.
    const DRM_FB0: &str = "\nmode \"1024x768\"\n    geometry 1024 768 1024 768 32\n    \
        timings 0 0 0 0 0 0 0\n    rgba 8/16,8/8,8/0,0/0\nendmode\n\n\
        Frame buffer device information:\n    Name        : bochs-drmdrmfb\n    \
        Address     : 0\n    Size        : 3145728\n    Type        : PACKED PIXELS\n    \
        Visual      : TRUECOLOR\n    XPanStep    : 1\n    YPanStep    : 1\n    \
        YWrapStep   : 0\n    LineLength  : 4096\n    Accelerator : No\n";

    #[test]
    fn parses_mode_and_fixed_info() {
        let info = parse_info(DRM_FB0).unwrap();
        assert_eq!(
            info,
            FbsetInfo {
                mode_name: "1024x768".into(),
                xres: 1024,
                yres: 768,
                xres_virtual: 1024,
                yres_virtual: 768,
                bits_per_pixel: 32,
                name: Some("bochs-drmdrmfb".into()),
                size: Some(3145728),
                line_length: Some(4096),
            }
        );
    }

    #[test]
    fn skips_kernel_lines_and_fails_without_geometry() {
        let noisy = format!("[   12.3] bochs: something: 1\n{DRM_FB0}");
        assert_eq!(parse_info(&noisy).unwrap().xres, 1024);
        let err = parse_info("ioctl FBIOGET_VSCREENINFO: Inappropriate ioctl for device\n");
        assert!(err.unwrap_err().to_string().contains("no `geometry`"));
        assert!(parse_info("mode \"x\"\n geometry 1 2 3\n").is_err());
    }
}
