//! The read/write path and the mmap path see the same VRAM, and every bad input gets its
//! documented errno (docs/architecture.md) with nothing in the kernel log.

use anyhow::Result;
use bochsfb_tests::{run_ok, with_guest};

#[test]
fn write_then_mmap_and_mmap_then_read_round_trip() -> Result<()> {
    with_guest(&[], |vm| run_ok(vm, "bochsfb-check roundtrip").map(drop))
}

#[test]
fn bad_input_gets_documented_errnos() -> Result<()> {
    with_guest(&[], |vm| run_ok(vm, "bochsfb-check badinput").map(drop))
}

#[test]
fn sixteen_and_24_bpp_modes_are_set_and_reachable() -> Result<()> {
    for (bpp, stride) in [("16", 2048), ("24", 3072)] {
        with_guest(&[("bpp", bpp)], |vm| {
            let out = run_ok(vm, "bochsfb-check roundtrip")?;
            let expected = format!("1024x768 {bpp}bpp stride {stride}");
            anyhow::ensure!(out.output.contains(&expected), "GET_MODE did not report {expected}");
            Ok(())
        })?;
    }
    Ok(())
}

#[test]
fn unbind_revokes_open_files_and_mappings_and_rebind_works() -> Result<()> {
    with_guest(&[], |vm| run_ok(vm, "bochsfb-check unbind").map(drop))
}
