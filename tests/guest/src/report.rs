//! One line per check, a closing count, and the exit status.

use std::io;
use std::process::ExitCode;

/// The outcome of one check: `Err` says why it failed.
pub type Outcome = Result<(), String>;

/// Counts and prints check outcomes.
#[derive(Default)]
pub struct Report {
    passed: u32,
    failed: u32,
}

impl Report {
    /// Prints `ok   name` or `FAIL name: why`.
    pub fn check(&mut self, name: &str, outcome: Outcome) {
        match outcome {
            Ok(()) => {
                println!("ok   {name}");
                self.passed += 1;
            }
            Err(why) => {
                println!("FAIL {name}: {why}");
                self.failed += 1;
            }
        }
    }

    /// Prints `N passed, M failed`; fails unless everything passed.
    pub fn finish(self) -> ExitCode {
        println!("{} passed, {} failed", self.passed, self.failed);
        if self.failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }
}

/// Names an errno the way the kernel headers do.
pub fn errno_name(errno: i32) -> String {
    let name = match errno {
        libc::ENOENT => "ENOENT",
        libc::EBUSY => "EBUSY",
        libc::EINVAL => "EINVAL",
        libc::ENOSPC => "ENOSPC",
        libc::ENOTTY => "ENOTTY",
        libc::EFAULT => "EFAULT",
        libc::EFBIG => "EFBIG",
        libc::ENOMEM => "ENOMEM",
        libc::ENXIO => "ENXIO",
        libc::ENODEV => "ENODEV",
        libc::EIO => "EIO",
        libc::EPERM => "EPERM",
        libc::EACCES => "EACCES",
        libc::EOVERFLOW => "EOVERFLOW",
        libc::ESPIPE => "ESPIPE",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::ENOSYS => "ENOSYS",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::EINTR => "EINTR",
        libc::E2BIG => "E2BIG",
        _ => return format!("errno {errno}"),
    };
    name.to_owned()
}

/// An I/O error as `ENAME: description (os error N)`.
pub fn describe(error: &io::Error) -> String {
    match error.raw_os_error() {
        Some(errno) => format!("{}: {error}", errno_name(errno)),
        None => error.to_string(),
    }
}

/// Passes only if the call failed with exactly `errno`.
pub fn expect_errno<T: std::fmt::Debug>(result: io::Result<T>, errno: i32) -> Outcome {
    match result {
        Err(e) if e.raw_os_error() == Some(errno) => Ok(()),
        Err(e) => Err(format!(
            "got {}, expected {}",
            describe(&e),
            errno_name(errno)
        )),
        Ok(value) => Err(format!(
            "succeeded with {value:?}, expected {}",
            errno_name(errno)
        )),
    }
}
