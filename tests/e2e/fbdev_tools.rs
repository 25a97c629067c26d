//! Real fbdev tools from Debian packages (the harness puts `fbset` and its libraries into the
//! guest, see qemu-bochs/src/build/debian_tools.rs) against both drivers: the kernel's C bochs DRM
//! driver's `/dev/fb0` first, as the reference, then bochsfb's `/dev/bochsfb0`. The expected
//! modes are the ones the test asked for; every tool's output goes into the test log and into
//! `out/fbdev-tools/<driver>.log`.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{ensure, Context, Result};
use bochsfb_tests::fbset::{parse_info, FbsetInfo};
use bochsfb_tests::{load_png, run_logged, with_guest_config};
use qemu_bochs::paths::out_dir;
use qemu_bochs::{Driver, Vm, VmConfig};

/// Collects every command and its output of one boot, and writes them to a file at the end.
struct Transcript {
    path: PathBuf,
    text: String,
}

impl Transcript {
    fn new(name: &str) -> Self {
        Self {
            path: out_dir().join("fbdev-tools").join(format!("{name}.log")),
            text: String::new(),
        }
    }

    /// Runs `command` in the guest, logs it, and fails unless it exits with status 0.
    fn run(&mut self, vm: &Vm, command: &str) -> Result<String> {
        let out = run_logged(vm, command)?;
        let _ = writeln!(
            self.text,
            "$ {command}\n{}[exit status {}]\n",
            out.output, out.status
        );
        self.save()?;
        ensure!(
            out.status == 0,
            "`{command}` exited with {}:\n{}",
            out.status,
            out.output
        );
        Ok(out.output)
    }

    fn save(&self) -> Result<()> {
        std::fs::create_dir_all(self.path.parent().unwrap())?;
        std::fs::write(&self.path, &self.text)
            .with_context(|| format!("cannot write {}", self.path.display()))
    }
}

/// `fbset -i` on `device`, parsed.
fn fbset_info(vm: &Vm, log: &mut Transcript, device: &str) -> Result<FbsetInfo> {
    let output = log.run(vm, &format!("fbset -fb {device} -i"))?;
    let info = parse_info(&output)?;
    println!("parsed: {info:?}");
    Ok(info)
}

/// Fails unless the screen QEMU shows is `width` x `height`.
fn check_screen_size(vm: &Vm, name: &str, width: u32, height: u32) -> Result<()> {
    let path = out_dir().join("screenshots").join(format!("{name}.png"));
    vm.screendump(&path)?;
    let size = load_png(&path)?.dimensions();
    println!("screendump {}: {}x{}", path.display(), size.0, size.1);
    ensure!(
        size == (width, height),
        "the screen is {}x{} ({}), expected {width}x{height}",
        size.0,
        size.1,
        path.display()
    );
    Ok(())
}

/// Fails unless `info` shows `width` x `height` at 32 bpp with packed rows.
fn check_mode(info: &FbsetInfo, width: u32, height: u32) -> Result<()> {
    ensure!(
        (info.xres, info.yres, info.bits_per_pixel) == (width, height, 32),
        "fbset shows {}x{}-{}, expected {width}x{height}-32: {info:?}",
        info.xres,
        info.yres,
        info.bits_per_pixel
    );
    // fbset names the mode `WxH`, and `WxH-R` when the driver reports timings (R in Hz).
    let size = format!("{width}x{height}");
    ensure!(
        info.mode_name
            .strip_prefix(&size)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('-')),
        "mode name {:?}, expected \"{size}\" or \"{size}-<refresh>\"",
        info.mode_name
    );
    ensure!(
        info.xres_virtual == width && info.yres_virtual >= height,
        "virtual screen {}x{} is smaller than {width}x{height} (or wider)",
        info.xres_virtual,
        info.yres_virtual
    );
    ensure!(
        info.line_length == Some(width * 4),
        "LineLength {:?}, expected {}",
        info.line_length,
        width * 4
    );
    let frame = u64::from(width * 4) * u64::from(info.yres_virtual);
    ensure!(
        info.size.is_some_and(|size| size >= frame),
        "Size {:?} is smaller than the virtual screen ({frame} bytes)",
        info.size
    );
    Ok(())
}

/// The C driver takes its mode from `video=` on the kernel command line: 800x600, not the
/// card's EDID-preferred 1024x768, so the answer cannot be a default.
#[test]
fn fbset_shows_the_c_drivers_mode() -> Result<()> {
    let config = VmConfig {
        driver: Driver::BochsDrm,
        kernel_args: vec!["video=800x600".into()],
        ..VmConfig::default()
    };
    with_guest_config(&config, |vm| {
        let mut log = Transcript::new("bochs-drm");
        log.run(vm, "fbset -V")?;
        let info = fbset_info(vm, &mut log, "/dev/fb0")?;
        check_mode(&info, 800, 600)?;
        check_screen_size(vm, "fbset-bochs-drm-800x600", 800, 600)
    })
}

/// bochsfb answers the fbdev ioctls on `/dev/bochsfb0`: fbset reads the mode the module
/// parameters chose, sets another one, and the screen follows.
#[test]
fn fbset_reads_and_sets_the_bochsfb_mode() -> Result<()> {
    let config = VmConfig {
        module_params: vec![
            ("width".into(), "1024".into()),
            ("height".into(), "768".into()),
            ("bpp".into(), "32".into()),
        ],
        ..VmConfig::default()
    };
    with_guest_config(&config, |vm| {
        let mut log = Transcript::new("bochsfb");
        let info = fbset_info(vm, &mut log, "/dev/bochsfb0")?;
        check_mode(&info, 1024, 768)?;
        ensure!(
            info.name.as_deref() == Some("bochsfb"),
            "fix id {:?}",
            info.name
        );
        check_screen_size(vm, "fbset-bochsfb-1024x768", 1024, 768)?;

        // 800x600 visible, 1200 rows to pan over: `-g xres yres vxres vyres depth`.
        log.run(vm, "fbset -fb /dev/bochsfb0 -g 800 600 800 1200 32")?;
        let info = fbset_info(vm, &mut log, "/dev/bochsfb0")?;
        check_mode(&info, 800, 600)?;
        ensure!(
            info.yres_virtual == 1200,
            "virtual height {}, asked for 1200",
            info.yres_virtual
        );
        check_screen_size(vm, "fbset-bochsfb-800x600", 800, 600)?;

        // A mode from fbset's database (/etc/fb.modes, from the same package), which has
        // `geometry 640 480 640 480 8` for it: 8 bpp, one byte per pixel.
        log.run(vm, "fbset -fb /dev/bochsfb0 -db /etc/fb.modes 640x480-60")?;
        let info = fbset_info(vm, &mut log, "/dev/bochsfb0")?;
        ensure!(
            (info.xres, info.yres, info.bits_per_pixel, info.line_length)
                == (640, 480, 8, Some(640)),
            "after `fbset 640x480-60`: {info:?}"
        );
        check_screen_size(vm, "fbset-bochsfb-640x480", 640, 480)?;

        // Only the visible size: fbset keeps the old virtual width (640), which the driver
        // rounds to the new width, as fbdev drivers do.
        log.run(vm, "fbset -fb /dev/bochsfb0 -xres 800 -yres 600")?;
        let info = fbset_info(vm, &mut log, "/dev/bochsfb0")?;
        ensure!(
            (info.xres, info.yres, info.line_length) == (800, 600, Some(800)),
            "after `fbset -xres 800 -yres 600`: {info:?}"
        );
        check_screen_size(vm, "fbset-bochsfb-800x600-8", 800, 600)
    })
}
