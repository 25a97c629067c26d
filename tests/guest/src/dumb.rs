//! `dumb`: the DRM face's dumb buffers are VRAM (`bochsfb.ko face=1`, docs/drm.md). A buffer's
//! mapping keeps what is written to it; VRAM running out is ENOMEM; unbinding the card while a
//! buffer is mapped makes the old mapping raise SIGBUS and the open file's calls fail with ENODEV;
//! binding it again brings a working device back.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::ptr;
use std::time::Duration;

use libc::{ENODEV, ENOMEM, MAP_FAILED, MAP_PRIVATE, MAP_SHARED, PROT_EXEC, PROT_READ, PROT_WRITE};

use crate::drm_abi::{ioctl, CreateDumb, MapDumb, CREATE_DUMB, MAP_DUMB};
use crate::report::{describe, Outcome, Report};
use crate::roundtrip::{compare, pattern};
use crate::unbind::{sysfs_write, touch_in_child, wait_for_node};

pub(crate) fn create(file: &File, width: u32, height: u32, bpp: u32) -> io::Result<CreateDumb> {
    let mut dumb = CreateDumb {
        width,
        height,
        bpp,
        ..Default::default()
    };
    ioctl(file, CREATE_DUMB, &mut dumb)?;
    Ok(dumb)
}

/// A shared, read-write mapping of a dumb buffer; unmapped when dropped.
pub(crate) struct Mapped {
    pub(crate) addr: *mut u8,
    pub(crate) len: usize,
}

impl Mapped {
    pub(crate) fn new(file: &File, dumb: &CreateDumb) -> io::Result<Self> {
        let mut map = MapDumb {
            handle: dumb.handle,
            ..Default::default()
        };
        ioctl(file, MAP_DUMB, &mut map)?;
        let len = usize::try_from(dumb.size).map_err(|_| io::Error::from_raw_os_error(ENOMEM))?;
        let offset = libc::off_t::try_from(map.offset)
            .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        // SAFETY: a new mapping of the buffer's fake offset; nothing else is at the address.
        let addr = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                PROT_READ | PROT_WRITE,
                MAP_SHARED,
                file.as_raw_fd(),
                offset,
            )
        };
        if addr == MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Self {
            addr: addr.cast(),
            len,
        })
    }

    pub(crate) fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: `len` bytes mapped read-write for as long as `self` lives.
        unsafe { std::slice::from_raw_parts_mut(self.addr, self.len) }
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `new`.
        unsafe { libc::munmap(self.addr.cast(), self.len) };
    }
}

/// Maps a new `width`x`width`x32 dumb buffer with `flags` and `prot`: the call must fail with
/// `errno`.
fn map_with(file: &File, width: u32, flags: libc::c_int, prot: libc::c_int, errno: i32) -> Outcome {
    let dumb = create(file, width, width, 32).map_err(|e| describe(&e))?;
    let mut map = MapDumb {
        handle: dumb.handle,
        ..Default::default()
    };
    ioctl(file, MAP_DUMB, &mut map).map_err(|e| describe(&e))?;
    let offset = libc::off_t::try_from(map.offset).map_err(|e| e.to_string())?;
    let len = usize::try_from(dumb.size).map_err(|e| e.to_string())?;
    // SAFETY: asks for a new mapping anywhere; unmapped at once if it is made.
    let addr = unsafe { libc::mmap(ptr::null_mut(), len, prot, flags, file.as_raw_fd(), offset) };
    if addr != MAP_FAILED {
        // SAFETY: the mapping just made.
        unsafe { libc::munmap(addr, len) };
        return Err("the mapping was made".into());
    }
    crate::report::expect_errno(Err::<(), _>(io::Error::last_os_error()), errno)
}

pub(crate) fn open(path: &Path) -> io::Result<File> {
    OpenOptions::new().read(true).write(true).open(path)
}

/// The PCI address of the card behind `path` (`/dev/dri/cardN`).
pub(crate) fn card_of(path: &Path) -> Result<String, String> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or("no node name")?;
    let link = std::fs::read_link(format!("/sys/class/drm/{name}/device"))
        .map_err(|e| format!("/sys/class/drm/{name}/device: {e}"))?;
    let pci = link
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or("bad link")?;
    Ok(pci.to_string())
}

pub fn run(path: &Path, report: &mut Report) {
    let file = match open(path) {
        Ok(file) => file,
        Err(e) => return report.check(&format!("open {}", path.display()), Err(describe(&e))),
    };

    // Pitch: a multiple of 8 pixels, the size whole pages (docs/drm.md).
    let sized = create(&file, 1001, 3, 32).map_err(|e| describe(&e));
    report.check(
        "CREATE_DUMB 1001x3x32 -> pitch 4032 (1008 pixels), 3 pages",
        sized.and_then(|d| match (d.pitch, d.size) {
            (4032, 12288) => Ok(()),
            other => Err(format!("got (pitch, size) {other:?}")),
        }),
    );
    report.check(
        "CREATE_DUMB at 24 bpp -> EINVAL",
        crate::report::expect_errno(create(&file, 64, 64, 24), libc::EINVAL),
    );

    // What is written through the mapping stays: it is memory, not a copy in flight.
    let buffer = create(&file, 1024, 768, 32);
    let mut mapped = match buffer.and_then(|d| Mapped::new(&file, &d)) {
        Ok(mapped) => mapped,
        Err(e) => {
            return report.check(
                "create and map a 1024x768x32 dumb buffer",
                Err(describe(&e)),
            )
        }
    };
    let data = pattern(7, mapped.len);
    mapped.as_mut_slice().copy_from_slice(&data);
    report.check(
        "a 3 MiB pattern written through the mapping reads back",
        compare(mapped.as_mut_slice(), &data),
    );

    // Shared and never executable, as `/dev/bochsfbN`'s mappings.
    report.check(
        "MAP_PRIVATE of a dumb buffer -> EINVAL",
        map_with(&file, 64, MAP_PRIVATE, PROT_READ | PROT_WRITE, libc::EINVAL),
    );
    report.check(
        "PROT_EXEC mapping of a dumb buffer -> EINVAL (as /dev/bochsfbN)",
        map_with(&file, 64, MAP_SHARED, PROT_READ | PROT_EXEC, libc::EINVAL),
    );

    // VRAM is finite: buffers until ENOMEM, none of them shmem.
    let mut count = 0u32;
    let full = loop {
        match create(&file, 1024, 768, 32) {
            Ok(_) => count += 1,
            Err(e) => break e,
        }
        if count > 1000 {
            break io::Error::other("no ENOMEM after 1000 buffers");
        }
    };
    report.check(
        &format!("more 1024x768x32 buffers until VRAM is full ({count}) -> ENOMEM"),
        if full.raw_os_error() == Some(ENOMEM) {
            Ok(())
        } else {
            Err(describe(&full))
        },
    );

    let pci = match card_of(path) {
        Ok(pci) => pci,
        Err(why) => return report.check("find the card in sysfs", Err(why)),
    };
    let unbound = sysfs_write("unbind", &pci);
    let ok = unbound.is_ok();
    report.check(&format!("unbind {pci} with a dumb buffer mapped"), unbound);
    if !ok {
        return;
    }
    report.check(
        "touching the old mapping -> SIGBUS",
        touch_in_child(mapped.addr, true),
    );
    report.check(
        "CREATE_DUMB on the open file -> ENODEV",
        crate::report::expect_errno(create(&file, 64, 64, 32), ENODEV),
    );
    drop(mapped);
    drop(file);
    report.check(&format!("bind {pci} again"), sysfs_write("bind", &pci));
    report.check(
        "the rebound device maps a buffer again",
        wait_for_node(path, Duration::from_secs(10)).and_then(|()| rebound_works(path)),
    );
}

fn rebound_works(path: &Path) -> Outcome {
    let file = open(path).map_err(|e| format!("open: {}", describe(&e)))?;
    let dumb = create(&file, 64, 64, 32).map_err(|e| format!("CREATE_DUMB: {}", describe(&e)))?;
    let mut mapped = Mapped::new(&file, &dumb).map_err(|e| format!("map: {}", describe(&e)))?;
    let data = pattern(3, mapped.len);
    mapped.as_mut_slice().copy_from_slice(&data);
    compare(mapped.as_mut_slice(), &data)
}
