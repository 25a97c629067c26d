// SPDX-License-Identifier: GPL-2.0

//! The preferred mode from the card's EDID blob.
//!
//! QEMU puts an EDID 1.4 blob at the start of BAR2 when the card has `edid=on` (the default;
//! `xres`/`yres` device properties choose the preferred mode). EDID 1.3+ requires the first
//! detailed timing descriptor to be the preferred timing, so its active area is the mode.

/// Bytes of the EDID base block.
pub(crate) const EDID_LEN: usize = 128;

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
