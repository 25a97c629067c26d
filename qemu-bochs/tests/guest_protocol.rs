//! Boots the real guest and checks the harness side of the serial protocol.
//! Uses `$BOCHSFB_ARTIFACTS` (set by `qemu-bochs test`), else builds everything.

use std::time::Duration;

use anyhow::{ensure, Result};
use qemu_bochs::{Artifacts, Vm, VmConfig};

const TIMEOUT: Duration = Duration::from_secs(60);

#[test]
fn commands_statuses_and_screendumps_round_trip() -> Result<()> {
    let artifacts = Artifacts::from_manifest_env()?;
    let screenshots = std::env::temp_dir().join(format!("qemu-bochs-e2e-{}", std::process::id()));
    let config = VmConfig {
        screenshot_dir: Some(screenshots.clone()),
        ..VmConfig::default()
    };
    let vm = Vm::boot(&artifacts, &config)?;

    let out = vm.run("echo hello; echo world", TIMEOUT)?;
    ensure!(out.status == 0 && out.output == "hello\nworld\n", "{out:?}");

    // Output without a final newline shares its line with the status marker.
    let out = vm.run("printf partial; exit 3", TIMEOUT)?;
    ensure!(out.status == 3 && out.output == "partial\n", "{out:?}");

    // Commands read the console: the host's reply to a screendump request.
    let out = vm.run(
        "echo @@bochsfb:screendump shot; read reply; echo \"reply=[$reply]\"",
        TIMEOUT,
    )?;
    ensure!(
        out.status == 0 && out.output.contains("reply=[]"),
        "{out:?}"
    );
    let shot = screenshots.join("shot.png");
    ensure!(out.screenshots == [shot.clone()], "{out:?}");
    ensure!(
        std::fs::read(&shot)?.starts_with(b"\x89PNG"),
        "{} is not a PNG",
        shot.display()
    );

    // A reply nobody reads must not turn into a stray status for the next command.
    let out = vm.run("echo @@bochsfb:screendump unread", TIMEOUT)?;
    ensure!(out.status == 0 && out.screenshots.len() == 1, "{out:?}");
    let out = vm.run("echo next", TIMEOUT)?;
    ensure!(out.status == 0 && out.output == "next\n", "{out:?}");

    let direct = screenshots.join("direct.png");
    vm.screendump(&direct)?;
    ensure!(direct.exists());

    ensure!(
        vm.run("", TIMEOUT).is_err(),
        "empty commands would never get a status"
    );
    let out = vm.run("test -c /dev/bochsfb0 && cat /proc/cmdline", TIMEOUT)?;
    ensure!(
        out.status == 0 && out.output.starts_with("console=ttyS0"),
        "{out:?}"
    );

    vm.shutdown()?;
    std::fs::remove_dir_all(&screenshots)?;
    Ok(())
}

#[test]
fn a_hung_command_times_out_with_the_log_tail() -> Result<()> {
    let artifacts = Artifacts::from_manifest_env()?;
    let vm = Vm::boot(&artifacts, &VmConfig::default())?;
    let err = vm
        .run("echo started; sleep 30", Duration::from_secs(3))
        .unwrap_err()
        .to_string();
    ensure!(
        err.contains("timed out after 3 s") && err.contains("started"),
        "{err}"
    );
    // The VM was killed with the failure; shutting down reports that QEMU is already gone.
    let _ = vm.shutdown();
    Ok(())
}

#[test]
fn a_kernel_warning_in_the_log_fails_shutdown() -> Result<()> {
    let artifacts = Artifacts::from_manifest_env()?;
    let vm = Vm::boot(&artifacts, &VmConfig::default())?;
    // A line written to /dev/kmsg is printed on the console like any kernel message.
    let out = vm.run(
        "echo 'WARNING: CPU: 0 PID: 1 at fake.c:1 injected' > /dev/kmsg",
        TIMEOUT,
    )?;
    ensure!(out.status == 0, "{out:?}");
    // First lines of the debug kernel's reports (KASAN, lockdep, atomic sleep, UBSAN, Rust).
    let injected = [
        "BUG: KASAN: slab-use-after-free in injected_kasan+0x1/0x2",
        "INFO: possible irq lock inversion dependency detected (injected)",
        "BUG: sleeping function called from invalid context at injected.c:1",
        "UBSAN: array-index-out-of-bounds in injected.c:2:3",
        "rust_kernel: panicked at injected.rs:4:5:",
    ];
    for line in injected {
        let out = vm.run(&format!("echo '{line}' > /dev/kmsg"), TIMEOUT)?;
        ensure!(out.status == 0, "{out:?}");
    }
    let err = vm.shutdown().unwrap_err().to_string();
    ensure!(
        err.contains("the kernel reported problems") && err.contains("injected"),
        "{err}"
    );
    for line in injected {
        ensure!(err.contains(line), "{line:?} not reported:\n{err}");
    }
    Ok(())
}

#[test]
fn qemu_start_failure_shows_qemus_message() -> Result<()> {
    let artifacts = Artifacts::from_manifest_env()?;
    let config = VmConfig {
        extra_qemu_args: vec!["-device".into(), "no-such-device".into()],
        ..VmConfig::default()
    };
    let err = Vm::boot(&artifacts, &config)
        .err()
        .expect("QEMU must refuse an unknown device");
    let err = err.to_string();
    ensure!(
        err.contains("QEMU exited") && err.contains("no-such-device"),
        "{err}"
    );
    Ok(())
}

/// `qemu-bochs shell`: lines on stdin run in the guest one by one, their output comes back on
/// stdout, end of input powers the guest off, and the exit status is the last command's.
#[test]
fn the_guest_shell_runs_each_line_and_ends_at_end_of_input() -> Result<()> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let kernel = Artifacts::from_manifest_env()?.kernel_variant;
    let mut child = Command::new(env!("CARGO_BIN_EXE_qemu-bochs"))
        .args(["shell", "--kernel", kernel.name()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"echo one $((40 + 2))\n\ncat /sys/class/misc/bochsfb0/card\nexit 3\n")?;
    let out = child.wait_with_output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    anyhow::ensure!(
        stdout.contains("one 42\n"),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    // The default card is QEMU's std VGA.
    anyhow::ensure!(
        stdout.contains("std-vga\n"),
        "the card's sysfs line is missing:\n{stdout}"
    );
    anyhow::ensure!(
        out.status.code() == Some(3),
        "exit status {:?}, expected 3:\n{stderr}",
        out.status
    );
    Ok(())
}
