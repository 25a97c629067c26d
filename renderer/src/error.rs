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
    /// `pread(2)` of the frame shown when a backend opens.
    Read,
    /// `ioctl(2)` with `BOCHSFB_IOCTL_SET_MODE`.
    SetMode,
    /// `ioctl(2)` with `BOCHSFB_IOCTL_PAN`.
    Pan,
    /// `ioctl(2)` with `BOCHSFB_IOCTL_WAIT_VSYNC` or `FBIO_WAITFORVSYNC`.
    WaitVsync,
    /// `ioctl(2)` with `BOCHSFB_IOCTL_FLUSH`.
    Flush,
    /// `ioctl(2)` with `FBIOGET_VSCREENINFO` or `FBIOGET_FSCREENINFO`.
    FbGetInfo,
    /// `ioctl(2)` with `FBIOPUT_VSCREENINFO`.
    FbPutVar,
    /// `ioctl(2)` with `FBIOPAN_DISPLAY`.
    FbPan,
    /// A DRM call made while opening, named.
    Drm(&'static str),
    /// `ioctl(2)` with `DRM_IOCTL_MODE_DIRTYFB`, made by `present`.
    DrmDirtyFb,
    /// `ioctl(2)` with `DRM_IOCTL_MODE_PAGE_FLIP`, and the wait for its event, made by
    /// `present`.
    DrmPageFlip,
    /// `read(2)` of an evdev node (`/dev/input/eventN`), made by `poll_events`.
    ReadInput,
}

impl Syscall {
    /// Whether backends make this call while they open (rather than while drawing and
    /// presenting): its failure means the backend cannot work here.
    pub fn opens_a_backend(self) -> bool {
        matches!(
            self,
            Syscall::Open
                | Syscall::GetMode
                | Syscall::Mmap
                | Syscall::Read
                | Syscall::SetMode
                | Syscall::FbGetInfo
                | Syscall::FbPutVar
                | Syscall::Drm(_)
        )
    }
}

impl fmt::Display for Syscall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Syscall::Open => "open",
            Syscall::GetMode => "ioctl(BOCHSFB_IOCTL_GET_MODE)",
            Syscall::Mmap => "mmap",
            Syscall::Lseek => "lseek",
            Syscall::Write => "write",
            Syscall::Read => "pread",
            Syscall::SetMode => "ioctl(BOCHSFB_IOCTL_SET_MODE)",
            Syscall::Pan => "ioctl(BOCHSFB_IOCTL_PAN)",
            Syscall::WaitVsync => "ioctl(WAIT_VSYNC)",
            Syscall::Flush => "ioctl(BOCHSFB_IOCTL_FLUSH)",
            Syscall::FbGetInfo => "ioctl(FBIOGET_*SCREENINFO)",
            Syscall::FbPutVar => "ioctl(FBIOPUT_VSCREENINFO)",
            Syscall::FbPan => "ioctl(FBIOPAN_DISPLAY)",
            Syscall::Drm(call) => call,
            Syscall::DrmDirtyFb => "ioctl(DRM_IOCTL_MODE_DIRTYFB)",
            Syscall::DrmPageFlip => "ioctl(DRM_IOCTL_MODE_PAGE_FLIP)",
            Syscall::ReadInput => "read",
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
    #[error("unsupported pixel format: {bpp} bpp (8, 16, 24 and 32 are supported)")]
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
    /// The backend cannot work here (not built in, no such device, or the
    /// driver lacks what it needs); another backend may.
    #[error("{backend} backend: {reason}")]
    Unsupported {
        /// The backend's name.
        backend: &'static str,
        /// Why, in words.
        reason: String,
    },
    /// The device cannot show the mode asked for.
    #[error("{backend} backend cannot set mode {wanted}: {reason}")]
    ModeNotAvailable {
        /// The backend's name.
        backend: &'static str,
        /// The mode asked for.
        wanted: crate::Mode,
        /// Why, in words.
        reason: String,
    },
    /// The window was closed: the program should stop drawing.
    #[error("the {backend} was closed")]
    Closed {
        /// The backend's name.
        backend: &'static str,
    },
    /// Showing a frame failed in a backend that is not a device (the window's toolkit).
    #[error("{backend} backend could not show the frame: {reason}")]
    Present {
        /// The backend's name.
        backend: &'static str,
        /// Why, in words.
        reason: String,
    },
    /// No backend of those tried opens here; each one's reason, in the order tried.
    #[error("no backend opens here: {}", describe_tried(tried))]
    NoBackend {
        /// Each backend tried and why it did not open.
        tried: Vec<(crate::backend::Kind, Error)>,
    },
    /// Decoding an image failed.
    #[error("decoding an image: {0}")]
    Image(#[source] image::ImageError),
    /// Encoding or writing a PNG failed.
    #[error("saving {}: {source}", path.display())]
    Png {
        /// The file being written.
        path: PathBuf,
        /// The underlying error.
        source: image::ImageError,
    },
}

fn describe_tried(tried: &[(crate::backend::Kind, Error)]) -> String {
    if tried.is_empty() {
        return "none was tried".into();
    }
    tried
        .iter()
        .map(|(kind, e)| format!("{kind}: {e}"))
        .collect::<Vec<_>>()
        .join("; ")
}

impl Error {
    /// Whether another backend might work where this one failed to open: the
    /// backend is not built in or not supported by the driver, the device is
    /// missing or refuses a call made while opening, the driver lacks a call
    /// (`ENOTTY`), the mode or format is not available. Errors while drawing and presenting (a failed `write`, pan,
    /// flush or `DIRTYFB`, a closed window) are never: the program should stop
    /// or report them, not switch backends halfway.
    pub fn can_fall_back(&self) -> bool {
        match self {
            Error::Unsupported { .. }
            | Error::UnsupportedBpp { .. }
            | Error::ModeNotAvailable { .. } => true,
            // ENOTTY: the driver lacks the call (the shadow backend's FLUSH probe at open).
            Error::Syscall {
                syscall, source, ..
            } => syscall.opens_a_backend() || source.raw_os_error() == Some(libc::ENOTTY),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn syscall(syscall: Syscall, errno: i32) -> Error {
        Error::Syscall {
            syscall,
            path: "/dev/bochsfb0".into(),
            source: io::Error::from_raw_os_error(errno),
        }
    }

    #[test]
    fn only_errors_while_opening_fall_back() {
        for call in [
            Syscall::Open,
            Syscall::GetMode,
            Syscall::Mmap,
            Syscall::SetMode,
            Syscall::FbGetInfo,
            Syscall::Drm("DRM_IOCTL_MODE_GETRESOURCES"),
        ] {
            assert!(syscall(call, libc::ENOENT).can_fall_back(), "{call}");
        }
        // ENODEV from write means the card went away while drawing: not a reason to switch.
        for call in [
            Syscall::Write,
            Syscall::Lseek,
            Syscall::Pan,
            Syscall::Flush,
            Syscall::FbPan,
            Syscall::WaitVsync,
            Syscall::DrmDirtyFb,
            Syscall::ReadInput,
        ] {
            for errno in [libc::ENODEV, libc::EIO, libc::EINVAL] {
                assert!(!syscall(call, errno).can_fall_back(), "{call} {errno}");
            }
        }
        assert!(
            syscall(Syscall::Flush, libc::ENOTTY).can_fall_back(),
            "a driver without FLUSH"
        );
        assert!(!Error::Closed { backend: "window" }.can_fall_back());
        assert!(!Error::Present {
            backend: "window",
            reason: "x".into()
        }
        .can_fall_back());
        assert!(Error::Unsupported {
            backend: "drm",
            reason: "not built in".into()
        }
        .can_fall_back());
        assert!(Error::UnsupportedBpp { bpp: 15 }.can_fall_back());
    }
}
