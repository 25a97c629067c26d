//! DRM/KMS clients nobody here wrote, on every DRM face of the card (issue 28, item 4), with
//! the screen checked pixel for pixel against pictures computed in this test from the
//! clients' own definitions (`bochsfb_tests::modetest`), never by the client or the driver.
//!
//! Debian's `modetest` (package `libdrm-tests`, put into the guest by the harness with its
//! libraries; qemu-bochs/src/build/debian_tools.rs):
//!
//! - **test patterns**: `modetest -s <connector>@<crtc>:<W>x<H>@<format>`, with the ids read
//!   from its own `-e -c -p` listing, for two modes and every format the face must offer; while
//!   modetest holds the mode (it waits for a key), the screen must be its SMPTE bars exactly,
//!   and, in the first mode, its diagonal tiles (`-F tiles`: every pixel differs from its
//!   neighbours' rows, so a wrong pitch or offset cannot hide);
//! - **page flips**: `modetest -v -s ...` flips between the bars and a plain buffer on every
//!   flip event; it must report flip rates (one per 60 events) above a loose functional bound
//!   before it is first stopped, never hit its 3 s timeout waiting for an event, and, stopped
//!   (SIGSTOP) at moments the host picks, show exactly one of its two buffers, and each of
//!   them at some stop.
//!
//! Debian's `kmscon`, a terminal that draws with dumb buffers: its program writes two lines,
//! and the screen must be GNU Unifont's glyphs for them in the colours kmscon was given
//! (`bochsfb_tests::kmscon`), pixel for pixel.
//!
//! Debian's Weston, a Wayland compositor, on its DRM backend with the pixman renderer and
//! fullscreen-shell, showing its `weston-simple-shm` client: stopped at moments the host picks,
//! the screen must be black with simple-shm's animated rings centred on it, pixel for pixel as
//! Weston's sources define them (`bochsfb_tests::weston`).
//!
//! The kernel's own drm_panic: with modetest's bars on screen, drm_panic's debugfs trigger
//! (`CONFIG_DRM_PANIC_DEBUG`: the path a panic takes, through the driver's `get_scanout_buffer`,
//! without the panic) must replace them with its screen: white on black only, its message in the
//! kernel's 8x16 font (`bochsfb_tests::kernel_font`, read from the guest kernel's source).
//!
//! The faces are a table ([`C_BOCHS`], [`BOCHSFB_DRM`]), and `faces!` makes each face's tests:
//! adding a face is one entry.

use std::path::PathBuf;
use std::thread::sleep;
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use bochsfb_tests::background::{Background, Finished};
use bochsfb_tests::modetest::{self, flip_rates, plain, smpte, Format, Pattern, Pipe, Resources};
use bochsfb_tests::{assert_same_pixels, load_png, run_ok, with_guest_config, COMMAND_TIMEOUT};
use bochsfb_tests::{kernel_font::Font8x16, kmscon, weston};
use image::RgbImage;
use qemu_bochs::paths::out_dir;
use qemu_bochs::{Driver, Vm, VmConfig};

/// A DRM/KMS driver for the card, as the guest loads it.
struct Face {
    /// Names the screenshots: `out/screenshots/drm-clients/<label>-...`.
    label: &'static str,
    driver: Driver,
    module_params: &'static [(&'static str, &'static str)],
    /// The DRM driver's name (`drm_driver.name`): `modetest -M` opens the device by it.
    drm_name: &'static str,
    /// What the primary plane must offer; the patterns run in each.
    formats: &'static [Format],
}

/// The kernel's C `bochs` driver, the peer: XRGB8888 and BGRX8888 (which it shows by setting
/// the card's framebuffer byte order), no RGB565.
const C_BOCHS: Face = Face {
    label: "bochs-drm",
    driver: Driver::BochsDrm,
    module_params: &[],
    drm_name: "bochs-drm",
    formats: &[Format::Xr24, Format::Bx24],
};

/// bochsfb's own DRM/KMS face (docs/drm.md), chosen with the module parameter `face=1`:
/// XRGB8888 and RGB565 (`SinglePipe::FORMATS`), from dumb buffers that are VRAM.
const BOCHSFB_DRM: Face = Face {
    label: "bochsfb-drm",
    driver: Driver::Bochsfb,
    module_params: &[("face", "1")],
    drm_name: "bochsfb",
    formats: &[Format::Xr24, Format::Rg16],
};

/// Each face's tests, in a module named after it (`c_bochs::test_patterns`, ...). Attributes
/// before a face apply to its tests.
macro_rules! faces {
    ($($(#[$attr:meta])* $name:ident: $face:expr;)*) => {$(
        mod $name {
            use super::*;

            $(#[$attr])*
            #[test]
            fn test_patterns() -> Result<()> {
                super::test_patterns(&$face)
            }

            $(#[$attr])*
            #[test]
            fn page_flips() -> Result<()> {
                super::page_flips(&$face)
            }

            $(#[$attr])*
            #[test]
            fn kmscon_terminal() -> Result<()> {
                super::kmscon_terminal(&$face)
            }

            $(#[$attr])*
            #[test]
            fn weston_simple_shm() -> Result<()> {
                super::weston_simple_shm(&$face)
            }

            $(#[$attr])*
            #[test]
            fn panic_screen() -> Result<()> {
                super::panic_screen(&$face)
            }
        }
    )*};
}

faces! {
    c_bochs: C_BOCHS;
    bochsfb_drm: BOCHSFB_DRM;
}

/// The modes the patterns run in: the card's preferred one and the smallest.
const MODES: [(u32, u32); 2] = [(1024, 768), (640, 480)];

/// modetest messages that are no failure: the card has no gamma table, and modetest's legacy
/// path sets a linear one after the mode and goes on when the driver has none.
const TOLERATED: &[&str] = &["failed to set gamma: Function not implemented"];

/// modetest reads its key with `getchar()`: blocked in `read(0, ...)` (system call 0 on
/// x86-64, `/proc/PID/syscall` `0 0x0 ...`), it has set the mode and filled the framebuffer.
const WAITS_FOR_ITS_KEY: &str = "grep -q '^0 0x0 ' /proc/$pid/syscall";

/// Starts modetest's `command` in the background; returns once it holds its mode and waits
/// for its key ([`WAITS_FOR_ITS_KEY`]).
fn start_holding_its_mode<'a>(vm: &'a Vm, name: &str, command: &str) -> Result<Background<'a>> {
    Background::start(
        vm,
        name,
        command,
        WAITS_FOR_ITS_KEY,
        Duration::from_secs(60),
    )
}

/// Flip rates must be above this, only to show that flips and their events keep coming:
/// TCG on a shared machine gives anything from a few to 60 a second, so speed is not tested.
const MIN_FLIP_HZ: f64 = 5.0;

/// Stops at which the flipping screen is looked at; the test ends sooner once both buffers
/// were seen. Between two stops modetest runs for a random 200 to 700 ms, many flip periods,
/// so which buffer a stop finds is a coin toss: twenty stops at the same one have a chance of
/// 2 in a million. (With a fixed 300 ms, runs of six stops at one buffer were seen.)
const FLIP_SAMPLES: usize = 20;

/// A time from 200 to 700 ms, from the clock's nanoseconds: no two calls are in step with the
/// flips.
fn random_run_time() -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |t| t.subsec_nanos());
    Duration::from_millis(200 + u64::from(nanos / 1000) % 500)
}

impl Face {
    fn config(&self) -> VmConfig {
        VmConfig {
            driver: self.driver,
            module_params: self
                .module_params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..VmConfig::default()
        }
    }

    fn modetest(&self, args: &str) -> String {
        format!("modetest -M {} {args}", self.drm_name)
    }

    /// `-s` for `pipe` in `width x height` and `format`.
    fn set_mode(&self, pipe: Pipe, width: u32, height: u32, format: Format) -> String {
        format!(
            "-s {}@{}:{width}x{height}@{format}",
            pipe.connector, pipe.crtc
        )
    }
}

/// modetest's listing of the face's encoders, connectors, CRTCs and planes, parsed.
fn resources(vm: &Vm, face: &Face) -> Result<Resources> {
    let card = vm.run("test -e /dev/dri/card0", COMMAND_TIMEOUT)?;
    ensure!(
        card.status == 0,
        "{}: no /dev/dri/card0 after loading the {} driver with {:?}: this face registers no \
         DRM device",
        face.label,
        face.driver.name(),
        face.module_params
    );
    let out = run_ok(vm, &face.modetest("-e -c -p"))?;
    let resources = modetest::parse(&out.output)?;
    println!("parsed: {resources:?}");
    Ok(resources)
}

fn screenshot_path(name: &str) -> PathBuf {
    out_dir()
        .join("screenshots")
        .join("drm-clients")
        .join(format!("{name}.png"))
}

fn screendump(vm: &Vm, name: &str) -> Result<RgbImage> {
    let path = screenshot_path(name);
    vm.screendump(&path)?;
    load_png(&path)
}

/// Fails unless `actual` is `expected`; saves `expected` beside the screenshot when not.
fn check_screen(actual: &RgbImage, expected: &RgbImage, name: &str) -> Result<()> {
    assert_same_pixels(actual, expected).map_err(|e| {
        let path = screenshot_path(&format!("{name}-expected"));
        let saved = expected.save(&path).map(|()| path.display().to_string());
        e.context(format!(
            "{name}: the screen ({}) is not what the client draws ({})",
            screenshot_path(name).display(),
            saved.unwrap_or_else(|e| format!("not saved: {e}"))
        ))
    })
}

/// Fails if modetest exited with a status other than 0 or printed a failure (it exits with 0
/// after many of them), but for the [`TOLERATED`] messages.
fn check_messages(finished: &Finished, what: &str) -> Result<()> {
    ensure!(
        finished.status == 0,
        "{what} exited with status {}",
        finished.status
    );
    let failures: Vec<&str> = finished
        .stdout
        .lines()
        .chain(finished.stderr.lines())
        .map(str::trim)
        .filter(|l| {
            let lower = l.to_lowercase();
            (lower.contains("fail") || lower.contains("error")) && !TOLERATED.contains(l)
        })
        .collect();
    ensure!(
        failures.is_empty(),
        "{what} reported: {}",
        failures.join(" | ")
    );
    Ok(())
}

/// drm_panic's screen in its default colours (`CONFIG_DRM_PANIC_FOREGROUND_COLOR` and
/// `_BACKGROUND_COLOR`), and the lines of its message (`panic_msg` in drm_panic.c, the last one
/// its debugfs trigger's description).
const PANIC_FG: image::Rgb<u8> = image::Rgb([0xff, 0xff, 0xff]);
const PANIC_BG: image::Rgb<u8> = image::Rgb([0, 0, 0]);
const PANIC_LINES: [&str; 3] = [
    "KERNEL PANIC!",
    "Please reboot your computer.",
    "Test from debugfs",
];

/// Triggers drm_panic's drawing on the first plane it registered (debugfs), and prints the
/// trigger's path; fails if there is none (the driver gives drm_panic no scanout buffer).
const TRIGGER_PANIC_SCREEN: &str = "grep -q ' /sys/kernel/debug ' /proc/mounts || \
     mount -t debugfs none /sys/kernel/debug; \
     set -- /sys/kernel/debug/dri/*/drm_panic_plane_0; test -e \"$1\" && echo 1 > \"$1\" && echo \"$1\"";

/// The formats drm_panic draws in that the faces offer: XRGB8888, and RGB565 on bochsfb's.
const PANIC_FORMATS: [Format; 2] = [Format::Xr24, Format::Rg16];

/// drm_panic draws on the framebuffer the face shows, in each format of [`PANIC_FORMATS`] the
/// face offers: modetest's bars up (checked, so the screen changes only by the panic screen),
/// then the trigger; the screen must hold only the panic screen's two colours and its message
/// in the kernel's font.
fn panic_screen(face: &Face) -> Result<()> {
    let font = Font8x16::of_guest_kernel()?;
    with_guest_config(&face.config(), |vm| {
        let resources = resources(vm, face)?;
        let pipe = resources.pipe()?;
        let formats = PANIC_FORMATS.iter().filter(|f| face.formats.contains(f));
        for &format in formats {
            panic_screen_over_bars(vm, face, &font, pipe, format)?;
        }
        Ok(())
    })
}

fn panic_screen_over_bars(
    vm: &Vm,
    face: &Face,
    font: &Font8x16,
    pipe: Pipe,
    format: Format,
) -> Result<()> {
    let (width, height) = MODES[0];
    let command = face.modetest(&face.set_mode(pipe, width, height, format));
    let name = format!("{}-panic-{format}", face.label);
    let client = start_holding_its_mode(vm, &name, &command)?;
    let bars = screendump(vm, &format!("{name}-before"));
    let trigger = run_ok(vm, TRIGGER_PANIC_SCREEN);
    // Drawn within the write; a margin for the screendump to follow.
    sleep(Duration::from_millis(300));
    let screen = screendump(vm, &name);
    let finished = client.finish("\\n", Duration::from_secs(30))?;
    check_messages(&finished, &command)?;
    check_screen(
        &bars?,
        &Pattern::Smpte.image(width, height, format),
        &format!("{name}-before"),
    )?;
    let trigger = trigger?;
    println!("drm_panic triggered at {}", trigger.output.trim());
    let screen = screen?;
    let path = screenshot_path(&name);
    let others = screen
        .pixels()
        .filter(|&&p| p != PANIC_FG && p != PANIC_BG)
        .count();
    ensure!(
        others == 0,
        "{name}: {others} pixels of the screen ({}) are neither drm_panic's foreground nor \
         its background: the panic screen is not (all) on the framebuffer shown",
        path.display()
    );
    for line in PANIC_LINES {
        ensure!(
            font.find(&screen, line, PANIC_FG, PANIC_BG).is_some(),
            "{name}: `{line}` is not on the screen ({}) in the kernel's 8x16 font",
            path.display()
        );
    }
    Ok(())
}

/// Runs modetest's SMPTE bars in every mode of [`MODES`] and its tiles in the first, in every
/// format of the face.
fn test_patterns(face: &Face) -> Result<()> {
    with_guest_config(&face.config(), |vm| {
        let resources = resources(vm, face)?;
        let pipe = resources.pipe()?;
        let mut failures = Vec::new();
        for &format in face.formats {
            let runs = MODES
                .iter()
                .map(|&mode| (Pattern::Smpte, mode))
                .chain([(Pattern::Tiles, MODES[0])]);
            for (pattern, (width, height)) in runs {
                let shown = Shown {
                    pattern,
                    width,
                    height,
                    format,
                };
                if let Err(e) = test_pattern(vm, face, &resources, pipe, shown) {
                    failures.push(format!("{shown}: {e:#}"));
                }
            }
        }
        ensure!(failures.is_empty(), "{}", failures.join("\n\n"));
        Ok(())
    })
}

/// A picture modetest is asked to show.
#[derive(Debug, Clone, Copy)]
struct Shown {
    pattern: Pattern,
    width: u32,
    height: u32,
    format: Format,
}

impl std::fmt::Display for Shown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Shown {
            pattern,
            width,
            height,
            format,
        } = self;
        write!(f, "{}-{width}x{height}-{format}", pattern.name())
    }
}

fn test_pattern(
    vm: &Vm,
    face: &Face,
    resources: &Resources,
    pipe: Pipe,
    shown: Shown,
) -> Result<()> {
    let Shown {
        pattern,
        width,
        height,
        format,
    } = shown;
    resources.check_offers(pipe, width, height, format)?;
    let name = format!("{}-modetest-{shown}", face.label);
    // The bars are modetest's default: they run without -F, as users see them.
    let fill = match pattern {
        Pattern::Smpte => String::new(),
        other => format!("-F {} ", other.name()),
    };
    let command = face.modetest(&format!(
        "{fill}{}",
        face.set_mode(pipe, width, height, format)
    ));
    let client = start_holding_its_mode(vm, &name, &command)?;
    let screen = screendump(vm, &name);
    // The key ends modetest: it takes its mode down and exits.
    let finished = client.finish("\\n", Duration::from_secs(30))?;
    let screen = screen?;
    check_messages(&finished, &command)?;
    let setting = format!("setting mode {width}x{height}-");
    let crtc = format!("crtc {}", pipe.crtc);
    ensure!(
        finished
            .stdout
            .lines()
            .any(|l| l.starts_with(&setting) && l.trim_end().ends_with(&crtc)),
        "`{command}` did not say `{setting}...Hz on connectors {}, {crtc}`",
        pipe.connector
    );
    check_screen(&screen, &pattern.image(width, height, format), &name)
}

/// Takes screendumps until two in a row are the same; fails if the screen keeps changing.
fn steady_screendump(vm: &Vm, name: &str) -> Result<RgbImage> {
    let mut last = screendump(vm, name)?;
    for _ in 0..5 {
        sleep(Duration::from_millis(300));
        let next = screendump(vm, name)?;
        if next == last {
            return Ok(next);
        }
        last = next;
    }
    bail!("{name}: the screen kept changing while modetest was stopped")
}

/// Which of `buffers` the screen shows; an error naming how far it is from each if none.
fn shown_buffer(screen: &RgbImage, buffers: &[(&str, RgbImage)], name: &str) -> Result<usize> {
    if let Some(i) = buffers.iter().position(|(_, b)| b == screen) {
        return Ok(i);
    }
    let versus: Vec<String> = buffers
        .iter()
        .map(|(what, b)| {
            let e = assert_same_pixels(screen, b).unwrap_err();
            format!("against {what}: {e}")
        })
        .collect();
    bail!(
        "{name}: the screen ({}) is neither of modetest's buffers; {}",
        screenshot_path(name).display(),
        versus.join("; ")
    )
}

/// `modetest -v`: flips happen and their events arrive, and the screen always shows one of the
/// two buffers whole.
fn page_flips(face: &Face) -> Result<()> {
    with_guest_config(&face.config(), |vm| {
        let resources = resources(vm, face)?;
        let pipe = resources.pipe()?;
        let ((width, height), format) = (MODES[1], face.formats[0]);
        resources.check_offers(pipe, width, height, format)?;
        let command = face.modetest(&format!(
            "-v {}",
            face.set_mode(pipe, width, height, format)
        ));
        let label = format!("{}-modetest-flips", face.label);
        // Two rate reports: 120 flip events arrived.
        let client = Background::start(
            vm,
            &label,
            &command,
            "[ \"$(grep -c '^freq:' $d/err)\" -ge 2 ]",
            Duration::from_secs(120),
        )?;
        // The rates before the first stop: a report that spans a stop counts its time.
        let running = client.stderr();
        let buffers = [
            ("the SMPTE bars", smpte(width, height, format)),
            ("the plain 0x77 buffer", plain(width, height, format)),
        ];
        let mut seen = Vec::new();
        let sampled = (|| -> Result<()> {
            for i in 0..FLIP_SAMPLES {
                // Stopped, modetest asks for no more flips; the last one it asked for completes.
                client.signal("STOP", Duration::from_millis(500))?;
                let name = format!("{label}-{i}");
                let screen = steady_screendump(vm, &name)?;
                client.signal("CONT", random_run_time())?;
                let shown = shown_buffer(&screen, &buffers, &name)?;
                println!("stop {i}: {}", buffers[shown].0);
                seen.push(shown);
                if (0..buffers.len()).all(|b| seen.contains(&b)) {
                    break;
                }
            }
            Ok(())
        })();
        let finished = client.finish("\\n", Duration::from_secs(30))?;
        sampled?;
        check_messages(&finished, &command)?;
        let rates = flip_rates(&running?)?;
        println!(
            "flip rates: {rates:?} Hz while running, {:?} Hz in all",
            flip_rates(&finished.stderr)?
        );
        ensure!(
            rates.len() >= 2,
            "`{command}` reported {} flip rates, expected at least 2",
            rates.len()
        );
        ensure!(
            rates.iter().all(|&hz| hz > MIN_FLIP_HZ),
            "`{command}` flipped at {rates:?} Hz: some below {MIN_FLIP_HZ} Hz, so flips or \
             their events stall"
        );
        for (i, (what, _)) in buffers.iter().enumerate() {
            ensure!(
                seen.contains(&i),
                "{} stops never showed {what}: the screen does not follow the flips",
                seen.len()
            );
        }
        Ok(())
    })
    .context(format!("{} page flips", face.label))
}

/// kmscon's colours, given on its command line, so the expected screen owes nothing to its
/// defaults.
const KMSCON_BACKGROUND: [u8; 3] = [16, 32, 48];
const KMSCON_FOREGROUND: [u8; 3] = [240, 200, 100];
/// What the terminal's program writes: `(column, row, text)`, placed with cursor moves.
const KMSCON_TEXT: [(u32, u32, &str); 2] = [(0, 0, "DRM/KMS: kmscon"), (10, 2, "0123456789")];

/// Takes screendumps until one is `expected`, then one more a second later that must be too;
/// fails after `timeout`, saving `expected` and naming the differences of the last screen.
fn wait_for_screen(vm: &Vm, name: &str, expected: &RgbImage, timeout: Duration) -> Result<()> {
    let start = std::time::Instant::now();
    loop {
        let screen = screendump(vm, name)?;
        if &screen == expected {
            break;
        }
        if start.elapsed() > timeout {
            return check_screen(&screen, expected, name)
                .context(format!("not shown within {timeout:?}"));
        }
        sleep(Duration::from_millis(500));
    }
    sleep(Duration::from_secs(1));
    check_screen(&screendump(vm, name)?, expected, name).context("a second later")
}

/// Debian's kmscon, a terminal that draws with dumb buffers and page flips, runs a program
/// that hides the cursor, clears the screen and writes two lines; with its bitmap font and
/// the colours it is given, the screen must be those glyphs, pixel for pixel.
fn kmscon_terminal(face: &Face) -> Result<()> {
    let config = face.config();
    let (width, height) = config
        .edid_mode
        .context("kmscon takes the connector's preferred mode: set the card's EDID mode")?;
    with_guest_config(&config, |vm| {
        let label = format!("{}-kmscon", face.label);
        let mut output = String::from("\\033[?25l\\033[2J");
        for (column, row, text) in KMSCON_TEXT {
            output.push_str(&format!("\\033[{};{}H{text}", row + 1, column + 1));
        }
        // kmscon gives its program a pseudo-terminal: /init mounts no devpts.
        run_ok(
            vm,
            &format!(
                "grep -q ' /dev/pts ' /proc/mounts || {{ mkdir -p /dev/pts && mount -t devpts \
                 devpts /dev/pts; }}; rm -f /tmp/kmscon-child.ready; mkdir -p /tmp/xkb-empty; printf '%s\\n' '#!/bin/sh' \
                 'printf \"{output}\"' ': > /tmp/kmscon-child.ready' 'exec /bin/sleep 1000000' \
                 > /tmp/kmscon-child.sh && chmod +x /tmp/kmscon-child.sh && cat /tmp/kmscon-child.sh"
            ),
        )?;
        let rgb = |c: [u8; 3]| format!("{},{},{}", c[0], c[1], c[2]);
        // --silent: kmscon's warnings would reach the console, where the harness takes any
        // `WARNING:` for the kernel's. No keyboard layouts in the guest (xkb-data): from an
        // empty XKB directory kmscon takes its built-in keymap, and no key is pressed here.
        let command = format!(
            "XKB_CONFIG_ROOT=/tmp/xkb-empty kmscon --silent --vt=1 --no-switchvt --font-engine=unifont --render-engine=bbulk \
             --palette=custom --palette-background={} --palette-foreground={} \
             --login -- /tmp/kmscon-child.sh",
            rgb(KMSCON_BACKGROUND),
            rgb(KMSCON_FOREGROUND)
        );
        let client = Background::start(
            vm,
            &label,
            &command,
            "[ -e /tmp/kmscon-child.ready ]",
            Duration::from_secs(60),
        )?;
        let expected = kmscon::screen(
            width,
            height,
            KMSCON_BACKGROUND,
            KMSCON_FOREGROUND,
            &KMSCON_TEXT,
        )?;
        let shown = wait_for_screen(vm, &label, &expected, Duration::from_secs(30));
        let finished = client.terminate(Duration::from_secs(30))?;
        shown?;
        ensure!(
            finished.status == 0,
            "kmscon exited with status {} after SIGTERM",
            finished.status
        );
        Ok(())
    })
}

/// fullscreen-shell's background: black, fixed (`create_black_surface`). (kiosk-shell takes a
/// colour from weston.ini, but maps a client only when it can give it a seat's focus, and the
/// guest gives Weston no input device: libinput finds none without udev's database.)
const WESTON_BACKGROUND: u32 = 0x000000;
/// Stops of simple-shm at which the screen is looked at; one matching frame is enough, the
/// first stops may come before Weston has shown the client.
const WESTON_SAMPLES: usize = 10;

/// Debian's Weston 10 on the face's DRM device (`--use-pixman`, the direct launcher as root on
/// tty1, no input devices) with fullscreen-shell, and `weston-simple-shm`:
/// with the client stopped (SIGSTOP, so nothing changes while the host looks), the screen is
/// the background with simple-shm's 250x250 frame centred, for the one time its corner shows.
fn weston_simple_shm(face: &Face) -> Result<()> {
    let config = face.config();
    let (width, height) = config
        .edid_mode
        .context("Weston takes the connector's preferred mode: set the card's EDID mode")?;
    with_guest_config(&config, |vm| {
        let label = format!("{}-weston", face.label);
        // XKB: from an empty directory the context is made; with no keyboard no keymap is
        // compiled. XDG_RUNTIME_DIR holds the Wayland socket.
        run_ok(
            vm,
            "mkdir -p /tmp/xkb-empty /tmp/weston-xdg && chmod 700 /tmp/weston-xdg && \
             printf '[core]\\nrequire-input=false\\n' > /tmp/weston.ini && cat /tmp/weston.ini",
        )?;
        // Weston's log goes to a file, not to stderr, which reaches the console when the
        // program ends: Weston 10 logs `BUG: layer_list is not empty after shutdown` when
        // fullscreen-shell exits, and the harness takes any `BUG:` on the console for the
        // kernel's.
        let env = "XKB_CONFIG_ROOT=/tmp/xkb-empty XDG_RUNTIME_DIR=/tmp/weston-xdg";
        let compositor = Background::start(
            vm,
            &label,
            &format!(
                "{env} weston --config=/tmp/weston.ini --backend=drm-backend.so --use-pixman \
                 --shell=fullscreen-shell.so --tty=1 --socket=wayland-test --log=/tmp/weston.log"
            ),
            "[ -S /tmp/weston-xdg/wayland-test ]",
            Duration::from_secs(60),
        );
        let compositor = compositor?;
        let shown = (|| -> Result<()> {
            let client = Background::start(
                vm,
                &format!("{label}-simple-shm"),
                &format!("{env} WAYLAND_DISPLAY=wayland-test weston-simple-shm"),
                "[ -e /proc/$pid ]",
                Duration::from_secs(30),
            )?;
            let (ox, oy) = weston::window_origin(width, height);
            let mut last = Err(anyhow::anyhow!("no stop"));
            for i in 0..WESTON_SAMPLES {
                client.signal("CONT", random_run_time())?;
                client.signal("STOP", Duration::from_millis(500))?;
                let name = format!("{label}-{i}");
                let screen = steady_screendump(vm, &name)?;
                let corner = *screen.get_pixel(ox + weston::PADDING, oy + weston::PADDING);
                let step = weston::time_step(corner);
                let expected = weston::screen(width, height, WESTON_BACKGROUND, step);
                last = check_screen(&screen, &expected, &name).context(format!(
                    "simple-shm's frame for time step {step} (time / 16)"
                ));
                if last.is_ok() {
                    println!("stop {i}: simple-shm's frame for time {} ms", step * 16);
                    break;
                }
                println!("stop {i}: {:#}", last.as_ref().unwrap_err());
            }
            // A stopped program keeps SIGTERM pending: it runs again first.
            client.signal("CONT", Duration::ZERO)?;
            let finished = client.terminate(Duration::from_secs(30))?;
            ensure!(
                !finished.stderr.contains("Assertion") && !finished.stderr.contains("abort"),
                "weston-simple-shm failed: {}",
                finished.stderr.trim()
            );
            last
        })();
        let finished = compositor.terminate(Duration::from_secs(30))?;
        shown?;
        ensure!(
            finished.status == 0,
            "weston exited with status {} after SIGTERM",
            finished.status
        );
        Ok(())
    })
}
