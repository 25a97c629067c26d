//! `unbind`: unbinding the card while a file is open and mapped revokes everything (the old
//! mapping raises SIGBUS, calls on the open file fail with ENODEV), and binding it again brings
//! back a working device.

use std::fs;
use std::io;
use std::path::Path;
use std::ptr;
use std::time::{Duration, Instant};

use bochsfb_renderer::abi::BOCHSFB_IOCTL_GET_MODE;
use libc::{ENODEV, MAP_SHARED, SEEK_SET};

use crate::device::{page_size, Device};
use crate::report::{describe, Outcome, Report};
use crate::roundtrip::{compare, pattern};

const DRIVER_DIR: &str = "/sys/bus/pci/drivers/bochsfb";

pub fn run(device: &Device, path: &Path, report: &mut Report) {
    let mapping = match device.mmap(page_size(), 0, MAP_SHARED) {
        Ok(mapping) => mapping,
        Err(e) => return report.check("mmap before unbind", Err(describe(&e))),
    };
    let pci = match bound_card() {
        Ok(pci) => pci,
        Err(why) => return report.check("find the bound card in sysfs", Err(why)),
    };

    let unbound = sysfs_write("unbind", &pci);
    let ok = unbound.is_ok();
    report.check(
        &format!("unbind {pci} with the device open and mapped"),
        unbound,
    );
    if !ok {
        return;
    }

    report.check(
        "touching the old mapping -> SIGBUS",
        touch_in_child(mapping.as_ptr(), true),
    );
    let mut buf = [0u8; 16];
    report.check("pread -> ENODEV", expect_enodev(device.pread(&mut buf, 0)));
    report.check("pwrite -> ENODEV", expect_enodev(device.pwrite(&buf, 0)));
    report.check("lseek -> ENODEV", expect_enodev(device.lseek(0, SEEK_SET)));
    let mut arg = [0u8; 64];
    report.check(
        "ioctl GET_MODE -> ENODEV",
        expect_enodev(device.ioctl_bytes(BOCHSFB_IOCTL_GET_MODE, &mut arg)),
    );
    report.check(
        "mmap -> ENODEV",
        expect_enodev(device.mmap(page_size(), 0, MAP_SHARED)),
    );
    report.check(
        &format!("{} is gone", path.display()),
        if path.exists() {
            Err("still exists".into())
        } else {
            Ok(())
        },
    );
    drop(mapping);

    report.check(&format!("bind {pci} again"), sysfs_write("bind", &pci));
    report.check("the rebound device works", rebound_works(path));
}

/// The PCI address of the one card bound to bochsfb (the one the checks run on).
pub fn bound_card() -> Result<String, String> {
    let entries = fs::read_dir(DRIVER_DIR).map_err(|e| format!("{DRIVER_DIR}: {e}"))?;
    let cards: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.contains(':'))
        .collect();
    match cards.as_slice() {
        [one] => Ok(one.clone()),
        other => Err(format!("expected one bound card, found {other:?}")),
    }
}

/// Writes `pci` to the driver's `bind` or `unbind` file.
pub fn sysfs_write(file: &str, pci: &str) -> Outcome {
    fs::write(format!("{DRIVER_DIR}/{file}"), pci).map_err(|e| format!("{file}: {e}"))
}

/// Waits until the device node `path` exists again after a bind (udev/mdev creates it).
pub fn wait_for_node(path: &Path, timeout: Duration) -> Outcome {
    let deadline = Instant::now() + timeout;
    while !path.exists() {
        if Instant::now() > deadline {
            let node = path.display();
            return Err(format!("{node} did not come back within {timeout:?}"));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

/// Writes through `addr` in a child process and checks that the child dies of SIGBUS
/// (`expect_sigbus`) or that the write succeeds.
pub fn touch_in_child(addr: *mut u8, expect_sigbus: bool) -> Outcome {
    // SAFETY: the checker is single-threaded, so the child may run arbitrary code after fork.
    match unsafe { libc::fork() } {
        -1 => Err(format!("fork: {}", io::Error::last_os_error())),
        0 => {
            // SAFETY: `addr` is the start of a page-sized mapping that is still mapped in this
            // child (fork copies the mapping); the write is the point of the test.
            unsafe {
                ptr::write_volatile(addr, 0x5a);
                libc::_exit(0)
            }
        }
        child => {
            let mut status = 0;
            // SAFETY: waits for our own child; `status` is a valid out-pointer.
            if unsafe { libc::waitpid(child, &mut status, 0) } != child {
                return Err(format!("waitpid: {}", io::Error::last_os_error()));
            }
            let sigbus = libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGBUS;
            let wrote = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
            match (expect_sigbus, sigbus, wrote) {
                (true, true, _) | (false, _, true) => Ok(()),
                (true, _, true) => Err("the write succeeded: the mapping was not zapped".into()),
                _ => Err(format!("child ended with status {status:#x}")),
            }
        }
    }
}

fn expect_enodev<T: std::fmt::Debug>(result: io::Result<T>) -> Outcome {
    match result {
        Err(e) if e.raw_os_error() == Some(ENODEV) => Ok(()),
        Err(e) => Err(format!("got {}, expected ENODEV", describe(&e))),
        Ok(value) => Err(format!("succeeded with {value:?}, expected ENODEV")),
    }
}

/// After rebinding: the node is back, GET_MODE answers, and a pattern written with pwrite reads
/// back through a fresh mapping.
fn rebound_works(path: &Path) -> Outcome {
    let device = Device::open(path).map_err(|e| format!("open: {}", describe(&e)))?;
    device
        .mode()
        .map_err(|e| format!("GET_MODE: {}", describe(&e)))?;
    let data = pattern(0, 4096);
    device
        .pwrite(&data, 0)
        .map_err(|e| format!("pwrite: {}", describe(&e)))?;
    let mapping = device
        .mmap(page_size(), 0, MAP_SHARED)
        .map_err(|e| format!("mmap: {}", describe(&e)))?;
    compare(&mapping.as_slice()[..data.len()], &data)
}
