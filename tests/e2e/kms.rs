//! The DRM face's own guarantees (`bochsfb.ko face=1`, docs/drm.md), checked from inside the
//! guest by `bochsfb-check dumb`: a dumb buffer is VRAM (its pitch and size follow
//! `drm_mode_size_dumb`, what is written through its mapping reads back), mappings are shared
//! and never executable, `CREATE_DUMB` gives `ENOMEM` when VRAM is full, and at unbind every
//! mapping dies with `SIGBUS` while the open file gets `ENODEV`; the card binds again after.
//! And by `bochsfb-check kms-holes`: what the adversarial reviews found stays fixed. And the
//! kernel console on the face's `/dev/fb0`, in the kernel's own font, with `fbset` and `fbcat`.
//!
//! What clients see on this face (modetest's patterns, flips, kmscon) is tested beside the C
//! driver's, in `drm_clients.rs`.

use anyhow::Result;
use bochsfb_tests::{kernel_font::Font8x16, load_png, run_ok, with_guest};

#[test]
fn dumb_buffers_are_vram_and_are_revoked_at_unbind() -> Result<()> {
    with_guest(&[("face", "1")], |vm| {
        run_ok(vm, "bochsfb-check dumb").map(drop)
    })
}

/// What the adversarial reviews of the face found (`bochsfb-check kms-holes`,
/// tests/guest/src/kmsholes.rs): each check fails while its hole is open.
#[test]
fn the_holes_found_by_the_reviews_stay_closed() -> Result<()> {
    with_guest(&[("face", "1")], |vm| {
        run_ok(vm, "bochsfb-check kms-holes").map(drop)
    })
}

/// bochs-display has no VGA: the probe mode must be turned off there too, or a non-master's
/// first dumb buffer (at VRAM offset 0) is on screen.
#[test]
fn on_bochs_display_the_probe_mode_is_off_until_a_modeset() -> Result<()> {
    let config = qemu_bochs::VmConfig {
        card: "bochs-display".into(),
        module_params: vec![("face".into(), "1".into())],
        ..Default::default()
    };
    bochsfb_tests::with_guest_config(&config, |vm| {
        run_ok(vm, "bochsfb-check kms-holes --only probe-scanout").map(drop)
    })
}

/// The kernel argument that keeps the console's cursor off, so that screenshots of it do not
/// depend on when its blink was.
const NO_CURSOR: &str = "vt.global_cursor_default=0";

/// With the CRTC off in DRM's state the screen shows nothing a client drew, on `config`'s card:
/// the screen after a modeset, the CRTC off and a non-master filling its dumb buffer (VRAM offset
/// 0, where the first buffer goes, freed at exit) has no more lit pixels than before.
fn off_crtc_shows_no_client_vram(config: &qemu_bochs::VmConfig, name: &str) -> Result<()> {
    // Without the fbdev emulation: its console would come back when the last DRM client
    // closes, and the screen would show the console, not the card with the CRTC off.
    let mut config = config.clone();
    config
        .kernel_args
        .push("drm_kms_helper.fbdev_emulation=0".into());
    bochsfb_tests::with_guest_config(&config, |vm| {
        let dir = qemu_bochs::paths::out_dir().join("screenshots");
        let before = dir.join(format!("{name}-before.png"));
        let after = dir.join(format!("{name}-after.png"));
        vm.screendump(&before)?;
        run_ok(
            vm,
            "bochsfb-check kms-holes --only text-paint-after-modeset",
        )?;
        std::thread::sleep(std::time::Duration::from_millis(500));
        vm.screendump(&after)?;
        let lit = |path: &std::path::Path| -> Result<(usize, (u32, u32))> {
            let image = load_png(path)?;
            let n = image.pixels().filter(|p| p.0 != [0, 0, 0]).count();
            Ok((n, image.dimensions()))
        };
        let (was, _) = lit(&before)?;
        let (now, size) = lit(&after)?;
        anyhow::ensure!(
            now <= was,
            "the CRTC is off, yet after a non-master filled its dumb buffer (VRAM offset 0) and \
             freed it, {now} pixels of the {size:?} screen are lit (before: {was}): see {}",
            after.display()
        );
        Ok(())
    })
}

/// On std VGA, clearing `DISPI_ENABLE` is not enough: QEMU then draws the VGA mode the registers
/// hold, which `vbe_update_vgaregs()` (hw/display/vga.c) left matching the last DISPI mode and
/// which disabling DISPI does not undo, from VRAM offset 0. The face blanks VGA as well.
#[test]
fn the_screen_of_an_off_crtc_shows_no_client_vram() -> Result<()> {
    let config = qemu_bochs::VmConfig {
        module_params: vec![("face".into(), "1".into())],
        ..Default::default()
    };
    off_crtc_shows_no_client_vram(&config, "kms-off")
}

/// The same on bochs-display, which has no VGA: there QEMU shows its "Guest has not initialized
/// the display" placeholder once `DISPI_ENABLE` is clear.
#[test]
fn on_bochs_display_the_screen_of_an_off_crtc_shows_no_client_vram() -> Result<()> {
    let config = qemu_bochs::VmConfig {
        card: "bochs-display".into(),
        module_params: vec![("face".into(), "1".into())],
        ..Default::default()
    };
    off_crtc_shows_no_client_vram(&config, "kms-off-bochs-display")
}

/// What a console of `width` x `height` pixels shows with `text` on its first line and nothing
/// else: the VT's default colours (light grey, 0xaaaaaa, on black), in the kernel's 8x16 font.
fn console_picture(font: &Font8x16, text: &str, width: u32, height: u32) -> image::RgbImage {
    let mut picture = image::RgbImage::new(width, height);
    font.draw(&mut picture, 0, 0, text, image::Rgb([0xaa, 0xaa, 0xaa]));
    picture
}

/// The kernel console on the face (the DRM fbdev emulation's `/dev/fb0`, fbcon on it, a VRAM
/// dumb buffer behind it): text written to tty1 is on screen in the kernel's own 8x16 font, pixel
/// for pixel (screendump), and Debian's `fbcat` reads the same picture from `/dev/fb0`; `fbset`
/// shows the mode `video=` asked for.
#[test]
fn the_kernel_console_draws_on_the_faces_fb0() -> Result<()> {
    const TEXT: &str = "bochsfb: the kernel console on VRAM 0123 ~!";
    let font = Font8x16::of_guest_kernel()?;
    let config = qemu_bochs::VmConfig {
        module_params: vec![("face".into(), "1".into())],
        kernel_args: vec!["video=800x600".into(), NO_CURSOR.into()],
        ..Default::default()
    };
    bochsfb_tests::with_guest_config(&config, |vm| {
        let info = bochsfb_tests::fbset::parse_info(&run_ok(vm, "fbset -fb /dev/fb0 -i")?.output)?;
        anyhow::ensure!(
            (info.xres, info.yres, info.bits_per_pixel, info.line_length)
                == (800, 600, 32, Some(3200)),
            "fbset on the face's /dev/fb0: {info:?}, expected 800x600-32 with 3200-byte lines"
        );
        // Cursor off, screen cleared, the text at the top left.
        run_ok(
            vm,
            &format!("printf '\\033[?25l\\033[2J\\033[H{TEXT}' > /dev/tty1"),
        )?;
        // The emulation's worker blits the damage at the next vblank or so.
        std::thread::sleep(std::time::Duration::from_millis(500));
        let expected = console_picture(&font, TEXT, 800, 600);
        let dir = qemu_bochs::paths::out_dir().join("screenshots");
        let shot = dir.join("kms-console.png");
        vm.screendump(&shot)?;
        let actual = load_png(&shot)?;
        if let Err(e) = bochsfb_tests::assert_same_pixels(&actual, &expected) {
            let want = dir.join("kms-console-expected.png");
            expected.save(&want)?;
            anyhow::bail!(
                "the console on screen ({}) is not the font's glyphs ({}): {e}",
                shot.display(),
                want.display()
            );
        }
        // fbcat writes a PPM: a header, then the RGB bytes of every pixel.
        use sha2::{Digest, Sha256};
        let want: String = Sha256::digest(expected.as_raw())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let pixels = 800 * 600 * 3;
        let got = run_ok(
            vm,
            &format!("fbcat /dev/fb0 | tail -c {pixels} | sha256sum"),
        )?;
        anyhow::ensure!(
            got.output.trim().starts_with(&want),
            "fbcat /dev/fb0 is not the console's picture: sha256 {}, expected {want}",
            got.output.trim()
        );
        Ok(())
    })
}
