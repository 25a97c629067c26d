//! The live view: a guest booted with a VNC display (`--vnc`) serves its screen on 127.0.0.1,
//! and a real VNC client, Debian's `vncsnapshot`, sees the test card there.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context, Result};
use bochsfb_tests::{oracles, run_ok, with_guest_config, TESTCARD};
use qemu_bochs::{vm, VmConfig};

/// Boots a guest serving VNC on 127.0.0.1, draws the test card, and runs `body` with the
/// VNC display number.
fn with_testcard_on_vnc(body: impl FnOnce(u16) -> Result<()>) -> Result<()> {
    let display = vm::free_vnc_display().context("no free VNC port")?;
    let config = VmConfig {
        vnc_display: Some(display),
        ..VmConfig::default()
    };
    with_guest_config(&config, |vm| {
        run_ok(vm, &format!("{TESTCARD} --backend mmap"))?;
        body(display)
    })
}

#[test]
fn a_vnc_client_sees_the_test_card() -> Result<()> {
    with_testcard_on_vnc(|display| {
        // Nothing but loopback: the port answers on 127.0.0.1 and QEMU was told no other address.
        ensure!(
            std::net::TcpStream::connect(("127.0.0.1", 5900 + display)).is_ok(),
            "nothing listens on 127.0.0.1:{}",
            5900 + display
        );
        let path = qemu_bochs::paths::out_dir().join(format!("screenshots/vnc-{display}.jpg"));
        std::fs::create_dir_all(path.parent().unwrap())?;
        // -allowblank: a blank screen is an answer too (by default it waits for another).
        let mut child = Command::new("vncsnapshot")
            .args(["-quiet", "-allowblank", "-quality", "100", "-nojpeg"])
            .arg(format!("127.0.0.1:{display}"))
            .arg(&path)
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot run vncsnapshot (Debian package vncsnapshot; `qemu-bochs build` installs it)")?;
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                bail!("vncsnapshot took more than 60 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr)?;
        ensure!(status.success(), "vncsnapshot failed ({status}): {stderr}");
        let screen = image::open(&path)
            .with_context(|| format!("reading {}", path.display()))?
            .to_rgb8();
        ensure!(
            screen.dimensions() == (1024, 768),
            "the VNC screen is {:?}",
            screen.dimensions()
        );
        // The JPEG file: bar centres and marker centres survive its compression within a few
        // steps; the one-pixel grid line does not, so it is left out.
        let probes: Vec<_> = oracles::probes("testcard", 1024, 768, 0)
            .unwrap()
            .into_iter()
            .filter(|p| p.what.ends_with("bar"))
            .collect();
        ensure!(probes.len() == 8, "expected the eight bars");
        oracles::check(&screen, &probes, 12).map_err(|e| anyhow!("through VNC: {e}"))
    })
}

/// The colours of the test card's bars, left to right, as seen in a browser: every pixel
/// classified as the bar colour it is nearest to (or none), in runs at least `min_run` wide.
fn bar_runs(screen: &image::RgbImage, y: u32, min_run: u32) -> Vec<[u8; 3]> {
    // The card's bars without the black one, which a page's background would also match.
    let bars: Vec<[u8; 3]> = oracles::TESTCARD_BARS[..7]
        .iter()
        .map(|&(_, rgb)| rgb)
        .collect();
    let class = |p: &image::Rgb<u8>| {
        bars.iter()
            .copied()
            .find(|bar| (0..3).all(|c| p.0[c].abs_diff(bar[c]) <= 24))
    };
    let mut runs: Vec<([u8; 3], u32)> = Vec::new();
    for x in 0..screen.width() {
        match (class(screen.get_pixel(x, y)), runs.last_mut()) {
            (Some(c), Some((last, n))) if *last == c => *n += 1,
            (Some(c), _) => runs.push((c, 1)),
            (None, _) => runs.push(([1, 2, 3], 1)),
        }
    }
    let mut seen: Vec<[u8; 3]> = Vec::new();
    for (c, n) in runs {
        if n >= min_run && c != [1, 2, 3] && seen.last() != Some(&c) {
            seen.push(c);
        }
    }
    seen
}

/// `--web`: Debian's noVNC, served by websockify on 127.0.0.1, opened in a real headless
/// browser (Debian's Chromium, installed on first use): the screenshot of the page shows the
/// test card's seven coloured bars in order, whatever the page's scaling.
#[test]
fn a_browser_on_the_web_view_sees_the_test_card() -> Result<()> {
    qemu_bochs::build::prereqs::ensure_debian_packages(&["chromium"])?;
    with_testcard_on_vnc(|display| {
        let view = qemu_bochs::vm::live_view::WebView::start(5900 + display)?;
        ensure!(
            view.url.starts_with("http://127.0.0.1:"),
            "the web view is not on loopback: {}",
            view.url
        );
        let path = qemu_bochs::paths::out_dir().join(format!("screenshots/web-{display}.png"));
        std::fs::create_dir_all(path.parent().unwrap())?;
        // noVNC draws the first frame when the WebSocket delivers it, in real time, while
        // Chromium's virtual-time budget runs ahead of real time (a 30 s budget is over in
        // under a second): on a loaded machine the screenshot can come before the frame and show
        // an empty canvas. So a fresh browser looks again, a few times: only a page that never
        // shows the card fails.
        let y_fraction = 3; // a row a third of the way down crosses the bars (top two thirds).
        let expected: Vec<[u8; 3]> = oracles::TESTCARD_BARS[..7]
            .iter()
            .map(|&(_, rgb)| rgb)
            .collect();
        let mut seen = Vec::new();
        for attempt in 1..=5 {
            // As root Chromium needs --no-sandbox.
            let out = Command::new("timeout")
                .args([
                    "120",
                    "chromium",
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--hide-scrollbars",
                    "--window-size=1280,1024",
                    "--virtual-time-budget=10000",
                ])
                .arg(format!("--screenshot={}", path.display()))
                .arg(&view.url)
                .output()
                .context("cannot run chromium (Debian package chromium)")?;
            ensure!(
                out.status.success(),
                "chromium failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
            let screen = image::open(&path)
                .with_context(|| format!("reading {}", path.display()))?
                .to_rgb8();
            let y = screen.height() / y_fraction;
            let bars = bar_runs(&screen, y, 40);
            if bars == expected {
                return Ok(());
            }
            seen.push(format!("attempt {attempt}, row {y}: {bars:?}"));
            std::thread::sleep(Duration::from_secs(2));
        }
        bail!(
            "the browser never showed the bars {expected:?}; it showed {} (last screenshot {})",
            seen.join("; "),
            path.display()
        )
    })
}
