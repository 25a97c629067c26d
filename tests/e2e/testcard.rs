//! The test card drawn in the guest, through each access path, must appear on QEMU's screen with
//! its bars, markers and grid where the card's definition puts them, and exactly as the memory
//! backend renders it on the host.

use anyhow::{ensure, Result};
use bochsfb_renderer::Mode;
use bochsfb_tests::{assert_testcard, load_png, run_ok, with_guest, TESTCARD};

/// Draws the test card with `backend` in a guest whose driver was loaded with `params`, and
/// compares QEMU's screendump with the host rendering for `mode`.
fn check_testcard(backend: &str, params: &[(&str, &str)], mode: Mode) -> Result<()> {
    with_guest(params, |vm| {
        let name = format!("testcard-{backend}-{}x{}", mode.width, mode.height);
        let out = run_ok(
            vm,
            &format!("{TESTCARD} --backend {backend} --screendump {name}"),
        )?;
        ensure!(
            out.screenshots.len() == 1,
            "expected one screenshot, got {:?}",
            out.screenshots
        );
        let actual = load_png(&out.screenshots[0])?;
        assert_testcard(&actual, mode)
    })
}

#[test]
fn testcard_through_mmap_matches_host_rendering() -> Result<()> {
    check_testcard("mmap", &[], Mode::xrgb8888(1024, 768))
}

#[test]
fn testcard_through_write_matches_host_rendering() -> Result<()> {
    check_testcard("write", &[], Mode::xrgb8888(1024, 768))
}

#[test]
fn module_parameters_choose_the_mode() -> Result<()> {
    check_testcard(
        "mmap",
        &[("width", "800"), ("height", "600")],
        Mode::xrgb8888(800, 600),
    )
}

#[test]
fn invalid_mode_parameter_is_refused_cleanly() -> Result<()> {
    // Width 1001 is not a multiple of 8: the driver must refuse to bind, not pick another mode.
    with_guest(&[("width", "1001")], |vm| {
        let out = vm.run("test -e /dev/bochsfb0", bochsfb_tests::COMMAND_TIMEOUT)?;
        ensure!(
            out.status != 0,
            "/dev/bochsfb0 exists although the mode was invalid"
        );
        let log = vm.console_lines().join("\n");
        ensure!(
            log.contains("mode 1001x768 32bpp is invalid"),
            "no clear message in:\n{log}"
        );
        Ok(())
    })
}
