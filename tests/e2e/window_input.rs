//! Input on the host window: the same `paint` session as `input.rs`, sent by Debian's xdotool
//! to the minifb window of `bochsfb-demo --backend window` on a real X server (Xvfb). The
//! frame the demo saves when `q` ends it must show every stroke where the pointer went.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use bochsfb_tests::paint_script::{self, misses, Driver, HEIGHT, WIDTH};

/// Kills the child when dropped (the X server, or a demo left running by a failure).
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Builds `bochsfb-demo` with the window backend into its own target directory (the
/// workspace's tests build the renderer without it).
fn demo_binary() -> Result<PathBuf> {
    let root = qemu_bochs::paths::repo_root();
    let target = root.join("target/window");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!(
        "window_input: cargo build --release -p bochsfb-demos --features bochsfb-renderer/window"
    );
    let status = Command::new(cargo)
        .current_dir(&root)
        .args([
            "build",
            "--release",
            "-p",
            "bochsfb-demos",
            "--features",
            "bochsfb-renderer/window",
            "--bin",
            "bochsfb-demo",
        ])
        .arg("--target-dir")
        .arg(&target)
        .status()
        .context("cannot run cargo")?;
    ensure!(
        status.success(),
        "building bochsfb-demo with the window backend failed ({status})"
    );
    Ok(target.join("release/bochsfb-demo"))
}

/// Starts Xvfb on a display it picks itself (`-displayfd`), local connections only.
fn start_xvfb() -> Result<(Killed, String)> {
    let mut child = Command::new("Xvfb")
        .args([
            "-displayfd",
            "1",
            "-screen",
            "0",
            "1024x768x24",
            "-nolisten",
            "tcp",
            // No server reset when the last client leaves: paint quits on the key press, and
            // xdotool connects anew for each action, so the release of `q` once found no
            // display to open (`Can't open display`, on a loaded machine).
            "-noreset",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot run Xvfb (Debian package xvfb)")?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line)?;
    let number = line.trim().to_string();
    ensure!(
        !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()),
        "Xvfb did not say its display: {line:?}"
    );
    Ok((Killed(child), format!(":{number}")))
}

/// Input through xdotool, with a pause after each action: minifb reads the window's input
/// state once per frame, so a press and a release inside one frame would be one state.
struct Xdotool {
    display: String,
    window: String,
}

impl Xdotool {
    fn run(&self, args: &[&str]) -> Result<()> {
        let out = Command::new("xdotool")
            .args(args)
            .args(["sleep", "0.2"])
            .env("DISPLAY", &self.display)
            .output()?;
        ensure!(
            out.status.success(),
            "xdotool {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(())
    }
}

impl Driver for Xdotool {
    fn point_at(&mut self, x: u32, y: u32) -> Result<()> {
        self.run(&[
            "mousemove",
            "--window",
            &self.window,
            &x.to_string(),
            &y.to_string(),
        ])
    }
    fn button(&mut self, down: bool) -> Result<()> {
        self.run(&[if down { "mousedown" } else { "mouseup" }, "1"])
    }
    fn tap(&mut self, key: &str) -> Result<()> {
        self.run(&["keydown", key])?;
        self.run(&["keyup", key])
    }
}

/// Waits for `child` to exit, at most `timeout`.
fn wait(child: &mut Killed, timeout: Duration) -> Result<std::process::ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.0.try_wait()? {
            return Ok(status);
        }
        if Instant::now() > deadline {
            bail!("still running after {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn frame_path() -> Result<PathBuf> {
    let dir = qemu_bochs::paths::out_dir().join("screenshots");
    std::fs::create_dir_all(&dir)?;
    Ok(dir.join("window-input.png"))
}

#[test]
fn paint_in_a_host_window_follows_the_x_pointer_and_keys() -> Result<()> {
    qemu_bochs::build::prereqs::ensure_debian_packages(&["xvfb", "xdotool"])?;
    let demo = demo_binary()?;
    let (_xvfb, display) = start_xvfb()?;
    let out = frame_path()?;
    let _ = std::fs::remove_file(&out);
    let mut paint = Killed(
        Command::new(&demo)
            .args([
                "paint",
                "--backend",
                "window",
                "--mode",
                &format!("{WIDTH}x{HEIGHT}"),
                "--frames",
                "0",
                "--out",
            ])
            .arg(&out)
            .env("DISPLAY", &display)
            .spawn()
            .with_context(|| format!("cannot run {}", demo.display()))?,
    );
    let search = Command::new("timeout")
        .args([
            "30",
            "xdotool",
            "search",
            "--sync",
            "--name",
            "bochsfb-demo paint",
        ])
        .env("DISPLAY", &display)
        .output()
        .context("cannot run xdotool (Debian package xdotool)")?;
    let window = String::from_utf8_lossy(&search.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    ensure!(
        !window.is_empty(),
        "no window called `bochsfb-demo paint` appeared on {display} within 30 s"
    );
    let mut xdotool = Xdotool { display, window };

    let mut shown = Vec::new();
    for stage in paint_script::drawing() {
        (stage.run)(&mut xdotool)?;
        shown.extend(stage.shows);
    }
    xdotool.tap("q")?;
    let status = wait(&mut paint, Duration::from_secs(30)).context("paint did not quit on `q`")?;
    ensure!(status.success(), "paint exited with {status}");
    check_frame(&out, &shown)
}

fn check_frame(path: &Path, shown: &[paint_script::Expect]) -> Result<()> {
    let frame = image::open(path)
        .with_context(|| format!("reading the last frame {}", path.display()))?
        .to_rgb8();
    ensure!(
        frame.dimensions() == (WIDTH, HEIGHT),
        "the frame is {:?}",
        frame.dimensions()
    );
    let wrong = misses(&frame, shown);
    ensure!(
        wrong.is_empty(),
        "{} (frame: {})",
        wrong.join("; "),
        path.display()
    );
    Ok(())
}
