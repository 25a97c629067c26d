//! `qemu-bochs gallery`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Result};
use clap::Args;
use qemu_bochs::vm::record;
use qemu_bochs::{Artifacts, Display, RunOutput, Vm, VmConfig};

use super::args::VmArgs;

#[derive(Args)]
pub struct GalleryArgs {
    #[command(flatten)]
    vm: VmArgs,
    /// Where the recordings go.
    #[arg(long, default_value = "docs/gallery")]
    out: PathBuf,
    /// Frames each demo draws (at 30 fps).
    #[arg(long, default_value_t = 75)]
    frames: u64,
    /// Width of the recordings.
    #[arg(long, default_value_t = 256)]
    width: u32,
    /// Screendumps per second.
    #[arg(long, default_value_t = 8.0)]
    fps: f64,
}

/// Most bytes one gallery recording and all of them may take (README's budget).
const GALLERY_LIMITS: (u64, u64) = (1 << 20, 5 << 20);

impl GalleryArgs {
    /// Records every demo at 640x480 in one guest, one GIF each, and checks the size budget.
    pub fn run(self) -> Result<ExitCode> {
        let Self {
            vm: args,
            out,
            frames,
            width,
            fps,
        } = self;
        let options = record::Options {
            fps,
            width: Some(width),
        };
        let artifacts = Artifacts::for_variant(args.kernel())?;
        let config = VmConfig {
            module_params: vec![
                ("width".into(), "640".into()),
                ("height".into(), "480".into()),
            ],
            ..args.config(Display::Headless)?
        };
        let vm = Vm::boot(&artifacts, &config)?;
        let mut total = 0;
        let mut too_big = Vec::new();
        for (i, name) in bochsfb_demos::names().enumerate() {
            eprintln!("gallery: [{}/{}] {name}", i + 1, bochsfb_demos::DEMOS.len());
            let command =
                format!("bochsfb-demo {name} --backend mmap --frames {frames} --clock frame");
            let (run, recorded) = record::record_while(&vm, &options, || {
                if name == "paint" {
                    return paint_for_the_gallery(&vm);
                }
                vm.run(&command, Duration::from_secs(300))
            })?;
            if run.status != 0 {
                bail!(
                    "`{command}` failed with status {}:\n{}",
                    run.status,
                    run.output
                );
            }
            let size = record::save(&recorded, &out.join(format!("{name}.gif")))?;
            if size > GALLERY_LIMITS.0 {
                too_big.push(format!("{name} ({} KiB)", size / 1024));
            }
            total += size;
        }
        vm.shutdown()?;
        eprintln!("gallery: {} KiB in all", total / 1024);
        if !too_big.is_empty() || total > GALLERY_LIMITS.1 {
            bail!(
                "over the budget of 1 MiB each and 5 MiB in all ({} KiB): {}; try a smaller --width or fewer --frames",
                total / 1024,
                too_big.join(", ")
            );
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// Runs `paint` in the guest and draws a spiral in three colours with QMP pointer events.
fn paint_for_the_gallery(vm: &Vm) -> Result<RunOutput> {
    let screen = (640, 480);
    vm.run(
        "bochsfb-demo paint --backend mmap --frames 0 > /tmp/paint.log 2>&1 & sleep 1",
        Duration::from_secs(60),
    )?;
    for (turn, key) in ["1", "2", "4"].into_iter().enumerate() {
        vm.tap_key(key)?;
        vm.tap_key("equal")?;
        let point = |step: u32| {
            let angle = f64::from(step) * 0.2;
            let radius = 20.0 + 6.0 * (f64::from(step) * 0.2 + turn as f64 * 10.0);
            (
                (320.0 + radius * angle.cos()) as u32,
                (256.0 + radius * angle.sin()).clamp(40.0, 479.0) as u32,
            )
        };
        let (x, y) = point(0);
        vm.point_at(x, y, screen)?;
        vm.left_button(true)?;
        for step in 1..=32 {
            let (x, y) = point(step);
            vm.point_at(x, y, screen)?;
            std::thread::sleep(Duration::from_millis(40));
        }
        vm.left_button(false)?;
    }
    std::thread::sleep(Duration::from_millis(500));
    vm.tap_key("q")?;
    vm.run("sleep 1; cat /tmp/paint.log", Duration::from_secs(60))
}
