// SPDX-License-Identifier: GPL-2.0

//! The preferred mode from the card's EDID blob.
//!
//! QEMU puts an EDID 1.4 blob at the start of BAR2 when the card has `edid=on` (the default;
//! `xres`/`yres` device properties choose the preferred mode). EDID 1.3+ requires the first
//! detailed timing descriptor to be the preferred timing, so its active area is the mode.

/// Bytes of the EDID base block, and of each extension block.
pub(crate) const EDID_LEN: usize = 128;
/// The base block's count of extension blocks that follow it.
const EXTENSIONS_AT: usize = 126;
/// Bytes QEMU gives the EDID at the start of the MMIO BAR (`qemu_edid_region_io`).
pub(crate) const EDID_AREA: usize = 1024;

/// The length of the EDID whose base block is `base`: that block and the extension blocks it
/// announces, cut at the end of QEMU's EDID area.
#[cfg_attr(not(CONFIG_DRM = "y"), allow(dead_code))]
pub(crate) fn announced_len(base: &[u8; EDID_LEN]) -> usize {
    usize::from(base[EXTENSIONS_AT])
        .saturating_add(1)
        .saturating_mul(EDID_LEN)
        .min(EDID_AREA)
}

const HEADER: [u8; 8] = [0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00];
/// First detailed timing descriptor.
const DTD: usize = 54;

/// The preferred `(width, height)` of a valid base block, or `None` (no EDID, a bad checksum,
/// or no detailed timing).
pub(crate) fn preferred_mode(edid: &[u8; EDID_LEN]) -> Option<(u32, u32)> {
    if edid[..8] != HEADER {
        return None;
    }
    if edid.iter().fold(0u8, |sum, b| sum.wrapping_add(*b)) != 0 {
        return None;
    }
    let dtd = &edid[DTD..DTD + 18];
    // A pixel clock of 0 marks a display descriptor, not a timing.
    if dtd[0] == 0 && dtd[1] == 0 {
        return None;
    }
    let width = u32::from(dtd[2]) | (u32::from(dtd[4] & 0xf0) << 4);
    let height = u32::from(dtd[5]) | (u32::from(dtd[7] & 0xf0) << 4);
    if width == 0 || height == 0 {
        return None;
    }
    Some((width, height))
}

#[kernel::prelude::kunit_tests(bochsfb_edid)]
mod tests {
    use super::*;

    /// A base block whose first detailed timing is `width` x `height`, with a valid checksum.
    fn edid_with_timing(width: u16, height: u16) -> [u8; EDID_LEN] {
        let mut edid = [0u8; EDID_LEN];
        edid[..8].copy_from_slice(&HEADER);
        edid[18] = 1; // EDID 1.4
        edid[19] = 4;
        // 65.00 MHz, in units of 10 kHz: 6500 = 0x1964, little endian.
        edid[54] = 0x64;
        edid[55] = 0x19;
        // Active pixels: low 8 bits, then the high 4 bits in the upper nibble.
        edid[56] = width as u8;
        edid[58] = ((width >> 8) as u8) << 4;
        edid[59] = height as u8;
        edid[61] = ((height >> 8) as u8) << 4;
        let sum = edid.iter().fold(0u8, |s, b| s.wrapping_add(*b));
        edid[127] = 0u8.wrapping_sub(sum);
        edid
    }

    #[test]
    fn the_first_detailed_timing_is_the_preferred_mode() {
        assert_eq!(
            preferred_mode(&edid_with_timing(1024, 768)),
            Some((1024, 768))
        );
        assert_eq!(
            preferred_mode(&edid_with_timing(1920, 1080)),
            Some((1920, 1080))
        );
        assert_eq!(
            preferred_mode(&edid_with_timing(4095, 4095)),
            Some((4095, 4095))
        );
    }

    #[test]
    fn a_block_that_is_not_edid_gives_no_mode() {
        // No EDID: the BAR reads all ones (or zeros).
        assert_eq!(preferred_mode(&[0xff; EDID_LEN]), None);
        assert_eq!(preferred_mode(&[0; EDID_LEN]), None);
        let mut bad_sum = edid_with_timing(1024, 768);
        bad_sum[100] ^= 1;
        assert_eq!(preferred_mode(&bad_sum), None);
        let mut bad_header = edid_with_timing(1024, 768);
        bad_header[0] = 1;
        bad_header[127] = bad_header[127].wrapping_sub(1);
        assert_eq!(preferred_mode(&bad_header), None);
    }

    #[test]
    fn a_display_descriptor_first_gives_no_mode() {
        let mut edid = edid_with_timing(1024, 768);
        // Pixel clock 0: a display descriptor (monitor name, ...), not a timing.
        let clock = u8::wrapping_add(edid[54], edid[55]);
        edid[54] = 0;
        edid[55] = 0;
        edid[127] = edid[127].wrapping_add(clock);
        assert_eq!(preferred_mode(&edid), None);
    }

    #[test]
    fn the_edid_is_as_long_as_its_base_block_announces() {
        let mut base = edid_with_timing(1024, 768);
        assert_eq!(announced_len(&base), 128);
        // QEMU's EDID: one CTA extension block.
        base[EXTENSIONS_AT] = 1;
        assert_eq!(announced_len(&base), 256);
        // More than QEMU's area holds: cut at its end.
        base[EXTENSIONS_AT] = 255;
        assert_eq!(announced_len(&base), EDID_AREA);
    }
}
