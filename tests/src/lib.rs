//! Shared pieces of the end-to-end tests: booting the guest, and comparing a QEMU screenshot
//! with an independently rendered expectation.

use anyhow::{bail, ensure, Context, Result};
use bochsfb_renderer::Mode;
use image::RgbImage;
use qemu_bochs::{Artifacts, RunOutput, Vm, VmConfig};
use std::{path::Path, time::Duration};

pub mod background;
pub mod fbset;
pub mod kernel_font;
pub mod kmscon;
pub mod ktap;
pub mod modetest;
pub mod oracles;
pub mod paint_script;
pub mod weston;

/// Time allowed for one guest command; TCG is slow but these take seconds.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// Boots a guest with the driver loaded (`module_params` as `name=value`), runs `body`, and
/// shuts the guest down, which fails if the kernel log shows any BUG, WARNING, Oops or panic.
pub fn with_guest(
    module_params: &[(&str, &str)],
    body: impl FnOnce(&Vm) -> Result<()>,
) -> Result<()> {
    let config = VmConfig {
        module_params: module_params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..VmConfig::default()
    };
    with_guest_config(&config, body)
}

/// [`with_guest`] with a full VM configuration (other cards, EDID, QEMU arguments).
pub fn with_guest_config(config: &VmConfig, body: impl FnOnce(&Vm) -> Result<()>) -> Result<()> {
    let artifacts = Artifacts::from_manifest_env()?;
    let vm = Vm::boot(&artifacts, config)?;
    let log = vm.serial_log_path().to_owned();
    let outcome = body(&vm);
    // `shutdown` fails on any kernel report in the kernel log.
    let shutdown = vm.shutdown();
    combine(outcome, shutdown, &log)
}

/// The test's outcome and the shutdown's: a failing body never hides the kernel's reports.
fn combine(outcome: Result<()>, shutdown: Result<()>, log: &Path) -> Result<()> {
    match (outcome, shutdown) {
        (Ok(()), shutdown) => shutdown,
        (Err(body), Ok(())) => Err(body.context(format!("serial log: {}", log.display()))),
        (Err(body), Err(shutdown)) => Err(anyhow::anyhow!(
            "the test failed: {body:#}\n\nand at shutdown: {shutdown:#}\n(serial log: {})",
            log.display()
        )),
    }
}

/// Runs `command` in the guest and prints it, its output and its exit status into the test log,
/// whatever the status; the caller decides what a failure means.
pub fn run_logged(vm: &Vm, command: &str) -> Result<RunOutput> {
    let out = vm.run(command, COMMAND_TIMEOUT)?;
    println!("$ {command}\n{}[exit status {}]", out.output, out.status);
    Ok(out)
}

/// Runs `command` in the guest and fails, showing its output, unless it exits with status 0.
pub fn run_ok(vm: &Vm, command: &str) -> Result<RunOutput> {
    let out = vm.run(command, COMMAND_TIMEOUT)?;
    println!("$ {command}\n{}", out.output);
    ensure!(
        out.status == 0,
        "`{command}` exited with {}:\n{}",
        out.status,
        out.output
    );
    Ok(out)
}

/// The guest command that draws the test card once and exits, leaving it on screen (add
/// `--backend`, `--device`, `--screendump`).
pub const TESTCARD: &str = "bochsfb-demo testcard --frames 1";

/// The frame [`TESTCARD`] should put on screen for `mode`, rendered on the host by the
/// memory backend (no device, no kernel involved).
pub fn expected_testcard(mode: Mode) -> RgbImage {
    bochsfb_demos::render("testcard", mode, 0)
        .expect("valid test card mode")
        .to_rgb_image()
}

/// Fails unless `actual` shows the test card for `mode`: its bars, markers and grid where the
/// card's definition puts them ([`oracles`], without the renderer), and then every pixel as the
/// memory backend draws it ([`expected_testcard`]).
pub fn assert_testcard(actual: &RgbImage, mode: Mode) -> Result<()> {
    ensure!(
        actual.dimensions() == (mode.width, mode.height),
        "screenshot is {:?}, expected {}x{}",
        actual.dimensions(),
        mode.width,
        mode.height
    );
    let probes =
        oracles::probes("testcard", mode.width, mode.height, 0).expect("testcard has probes");
    oracles::check(actual, &probes, oracles::slack(mode.bpp))
        .map_err(|e| anyhow::anyhow!("test card: {e}"))?;
    assert_same_pixels(actual, &expected_testcard(mode))
}

/// Loads a PNG screenshot as RGB.
pub fn load_png(path: &Path) -> Result<RgbImage> {
    Ok(image::open(path)
        .with_context(|| format!("reading screenshot {}", path.display()))?
        .to_rgb8())
}

/// Fails unless `actual` equals `expected` pixel for pixel, naming the first differences.
pub fn assert_same_pixels(actual: &RgbImage, expected: &RgbImage) -> Result<()> {
    if actual.dimensions() != expected.dimensions() {
        bail!(
            "screenshot is {:?}, expected {:?}",
            actual.dimensions(),
            expected.dimensions()
        );
    }
    let differing: Vec<_> = actual
        .enumerate_pixels()
        .zip(expected.pixels())
        .filter(|((_, _, a), e)| a != e)
        .map(|((x, y, a), e)| format!("({x},{y}) is {:?}, expected {:?}", a.0, e.0))
        .collect();
    if !differing.is_empty() {
        bail!(
            "{} of {} pixels differ; first: {}",
            differing.len(),
            actual.width() * actual.height(),
            differing[..differing.len().min(5)].join("; ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    fn card() -> RgbImage {
        expected_testcard(Mode::xrgb8888(64, 48))
    }

    #[test]
    fn identical_images_pass() {
        assert_same_pixels(&card(), &card()).unwrap();
    }

    #[test]
    fn one_changed_pixel_fails_and_is_named() {
        let mut changed = card();
        let old = *changed.get_pixel(10, 20);
        changed.put_pixel(10, 20, Rgb([old[0] ^ 1, old[1], old[2]]));
        let err = assert_same_pixels(&changed, &card())
            .unwrap_err()
            .to_string();
        assert!(err.contains("1 of 3072 pixels differ"), "{err}");
        assert!(err.contains("(10,20)"), "{err}");
    }

    #[test]
    fn a_failing_body_keeps_the_shutdown_report() {
        let log = Path::new("/tmp/serial.log");
        let err = combine(
            Err(anyhow::anyhow!("pixels differ")),
            Err(anyhow::anyhow!(
                "the kernel reported problems: WARNING: at x"
            )),
            log,
        )
        .unwrap_err();
        let err = format!("{err:#}");
        assert!(err.contains("pixels differ"), "{err}");
        assert!(err.contains("WARNING: at x"), "{err}");
        assert!(combine(Ok(()), Err(anyhow::anyhow!("WARNING")), log).is_err());
        assert!(combine(Err(anyhow::anyhow!("body")), Ok(()), log).is_err());
        assert!(combine(Ok(()), Ok(()), log).is_ok());
    }

    #[test]
    fn different_sizes_fail() {
        let other = expected_testcard(Mode::xrgb8888(64, 40));
        assert!(assert_same_pixels(&other, &card()).is_err());
    }
}
