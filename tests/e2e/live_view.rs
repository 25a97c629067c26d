//! The live view: a guest booted with a VNC display (`--vnc`) serves its screen on 127.0.0.1,
//! and a real VNC client, Debian's `vncsnapshot`, sees the test card there.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context, Result};
use bochsfb_tests::{oracles, run_ok, with_guest_config};
use qemu_bochs::{vm, VmConfig};

#[test]
fn a_vnc_client_sees_the_test_card() -> Result<()> {
    let display = vm::free_vnc_display().context("no free VNC port")?;
    let config = VmConfig {
        vnc_display: Some(display),
        ..VmConfig::default()
    };
    with_guest_config(&config, |vm| {
        run_ok(vm, "testcard --backend mmap")?;
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
        ensure!(screen.dimensions() == (1024, 768), "the VNC screen is {:?}", screen.dimensions());
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
