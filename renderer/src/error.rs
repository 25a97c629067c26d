use std::fmt;
use std::io;
use std::path::PathBuf;

/// A system call made by the backends, named in [`Error::Syscall`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Syscall {
    /// `open(2)` of the device.
    Open,
    /// `ioctl(2)` with `BOCHSFB_IOCTL_GET_MODE`.
    GetMode,
    /// `mmap(2)` of the frame.
    Mmap,
    /// `lseek(2)` back to offset 0 before writing a frame.
    Lseek,
    /// `write(2)` of a frame.
    Write,
}

impl fmt::Display for Syscall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Syscall::Open => "open",
            Syscall::GetMode => "ioctl(BOCHSFB_IOCTL_GET_MODE)",
            Syscall::Mmap => "mmap",
            Syscall::Lseek => "lseek",
            Syscall::Write => "write",
        })
    }
}

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A system call on the device failed; `source` carries the OS error.
    #[error("{syscall} {}: {source}", path.display())]
    Syscall {
        /// Which call failed.
        syscall: Syscall,
        /// The device it was made on.
        path: PathBuf,
        /// The OS error (`source.raw_os_error()` gives the errno).
        source: io::Error,
    },
    /// The mode uses a pixel format this crate cannot draw.
    #[error("unsupported pixel format: {bpp} bpp (only 32 bpp XRGB8888 is supported)")]
    UnsupportedBpp {
        /// Bits per pixel reported for the mode.
        bpp: u32,
    },
    /// The mode does not describe a frame that fits the memory behind it.
    #[error("invalid mode {width}x{height} stride {stride}: {reason}")]
    InvalidMode {
        /// Visible pixels per row.
        width: u32,
        /// Visible rows.
        height: u32,
        /// Bytes per row.
        stride: u32,
        /// What is wrong with it.
        reason: String,
    },
    /// Encoding or writing a PNG failed.
    #[error("saving {}: {source}", path.display())]
    Png {
        /// The file being written.
        path: PathBuf,
        /// The underlying error.
        source: image::ImageError,
    },
}
