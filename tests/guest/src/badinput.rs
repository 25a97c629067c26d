//! `badinput`: every bad call gets exactly the errno docs/architecture.md documents.

use std::fmt::Debug;
use std::io;

use bochsfb_renderer::abi::{
    ior, BochsfbDamage, BochsfbMode, BochsfbRect, BOCHSFB_IOCTL_FLUSH, BOCHSFB_IOCTL_GET_MODE,
    BOCHSFB_IOCTL_PAN, BOCHSFB_IOCTL_SET_MODE,
};
use bochsfb_renderer::device::{self as calls, fb_get_var, fb_pan, fb_put_var, flush, pan};
use bochsfb_renderer::fb_abi::FbVarScreeninfo;
use libc::{EINVAL, ENOMEM, ENOSPC, ENOTTY, MAP_PRIVATE, MAP_SHARED, SEEK_CUR, SEEK_END, SEEK_SET};

use crate::device::{page_size, Device};
use crate::report::{describe, errno_name, expect_errno, Outcome, Report};
use crate::roundtrip::{compare, load, pattern, store, FdPath};

pub fn run(device: &Device, path: &std::path::Path, mode: &BochsfbMode, report: &mut Report) {
    let vram = mode.fb_size;
    let end = vram as i64;
    let page = page_size();
    report.check("GET_MODE values are plausible", plausible(mode));

    let len = vram as usize + page;
    report.check(
        "mmap len = fb_size + page -> EINVAL",
        expect_errno(device.mmap(len, 0, MAP_SHARED), EINVAL),
    );
    report.check(
        "mmap off = fb_size, len = page -> EINVAL",
        expect_errno(device.mmap(page, vram, MAP_SHARED), EINVAL),
    );
    report.check(
        "mmap MAP_PRIVATE -> EINVAL",
        expect_errno(device.mmap(page, 0, MAP_PRIVATE), EINVAL),
    );
    report.check(
        "mmap PROT_EXEC -> EINVAL",
        expect_errno(
            device.mmap_prot(page, 0, MAP_SHARED, libc::PROT_READ | libc::PROT_EXEC),
            EINVAL,
        ),
    );

    report.check(
        "lseek SEEK_SET fb_size + 1 -> EINVAL",
        expect_errno(device.lseek(end + 1, SEEK_SET), EINVAL),
    );
    report.check(
        "lseek SEEK_SET -1 -> EINVAL",
        expect_errno(device.lseek(-1, SEEK_SET), EINVAL),
    );
    report.check(
        "lseek SEEK_END +1 -> EINVAL",
        expect_errno(device.lseek(1, SEEK_END), EINVAL),
    );
    report.check(
        "lseek SEEK_END 0 -> fb_size",
        expect_value(device.lseek(0, SEEK_END), end),
    );

    report.check(
        "write 8192 bytes from 4096 before the end -> 4096",
        expect_value(
            device
                .lseek(end - 4096, SEEK_SET)
                .and_then(|_| device.write(&[0x5a; 8192])),
            4096,
        ),
    );
    // No lseek: the short write must have left the position at the end.
    report.check(
        "next write, at the end -> ENOSPC",
        expect_errno(device.write(&[0x5a; 4096]), ENOSPC)
            .map_err(|why| format!("{why} (at position {})", position(device))),
    );
    report.check(
        "read at the end -> 0",
        expect_value(
            device
                .lseek(end, SEEK_SET)
                .and_then(|_| device.read(&mut [0; 4096])),
            0,
        ),
    );
    report.check(
        "pread at the end -> 0",
        expect_value(device.pread(&mut [0; 4096], vram), 0),
    );

    report.check(
        "ioctl _IOR('B', 0x7f, u32) -> ENOTTY",
        expect_errno(device.ioctl_bytes(ior(b'B', 0x7f, 4), &mut [0; 64]), ENOTTY),
    );
    report.check(
        "ioctl 0x1234 -> ENOTTY",
        expect_errno(device.ioctl_bytes(0x1234, &mut [0; 64]), ENOTTY),
    );

    extended(device, path, mode, report);

    report.check(
        "device still works (write + read back at 0)",
        still_works(device),
    );
}

pub fn plausible(mode: &BochsfbMode) -> Outcome {
    let row_bytes = u64::from(mode.width) * u64::from(mode.bpp) / 8;
    let frame_bytes = u64::from(mode.stride) * u64::from(mode.height);
    if mode.width == 0 || mode.height == 0 || mode.bpp == 0 {
        Err(format!("empty mode {mode:?}"))
    } else if u64::from(mode.stride) < row_bytes {
        Err(format!(
            "stride {} < width * bpp / 8 = {row_bytes}",
            mode.stride
        ))
    } else if frame_bytes > mode.fb_size || mode.fb_size > mode.vram_size {
        Err(format!(
            "not stride * height = {frame_bytes} <= fb_size {} <= vram_size {}",
            mode.fb_size, mode.vram_size
        ))
    } else {
        Ok(())
    }
}

/// The file position, for failure messages.
fn position(device: &Device) -> String {
    match device.lseek(0, SEEK_CUR) {
        Ok(position) => position.to_string(),
        Err(e) => format!("unknown: {}", describe(&e)),
    }
}

fn still_works(device: &Device) -> Outcome {
    let data = pattern(0x00b0_c5fb, 3 * 4096 + 7);
    store(device, 0, &data, FdPath::Seek)?;
    compare(&load(device, 0, data.len(), FdPath::Seek)?, &data)
}

/// Passes only if the call succeeded with `expected`.
fn expect_value<T: Debug + PartialEq>(result: io::Result<T>, expected: T) -> Outcome {
    match result {
        Ok(value) if value == expected => Ok(()),
        Ok(value) => Err(format!("returned {value:?}, expected {expected:?}")),
        Err(e) => Err(format!(
            "failed with {}, expected {expected:?}",
            describe(&e)
        )),
    }
}

/// The rest of the bad-input matrix (docs/architecture.md, every row).
pub fn extended(device: &Device, path: &std::path::Path, mode: &BochsfbMode, report: &mut Report) {
    use bochsfb_renderer::abi::mmap_region;
    let fb = mode.fb_size;
    let end = fb as i64;
    let page = page_size();
    let pg = page as u64;

    // mmap: VFS checks first, then the driver's.
    report.check(
        "mmap len 0 -> EINVAL",
        expect_errno(device.mmap(0, 0, MAP_SHARED), EINVAL),
    );
    report.check(
        "mmap off not page aligned -> EINVAL",
        expect_errno(device.mmap(page, 1, MAP_SHARED), EINVAL),
    );
    report.check(
        "mmap off 1 << 63 (no such region) -> EINVAL",
        expect_errno(device.mmap(page, 1 << 63, MAP_SHARED), EINVAL),
    );
    report.check(
        "mmap off u64::MAX page -> EOVERFLOW",
        expect_errno(
            device.mmap(page, u64::MAX - (pg - 1), MAP_SHARED),
            libc::EOVERFLOW,
        ),
    );
    report.check(
        "mmap unknown region 4 << 32 -> EINVAL",
        expect_errno(device.mmap(page, 4 << 32, MAP_SHARED), EINVAL),
    );
    report.check(
        "mmap off fb_size - page, len 2 pages -> EINVAL",
        expect_errno(device.mmap(2 * page, fb - pg, MAP_SHARED), EINVAL),
    );
    report.check(
        "mmap len 1 << 47 -> EINVAL or ENOMEM",
        match device.mmap(1 << 47, 0, MAP_SHARED) {
            Err(e) if e.raw_os_error() == Some(ENOMEM) => Ok(()),
            other => expect_errno(other, EINVAL),
        },
    );
    for (name, region) in [
        ("write-combined", mmap_region::WRITE_COMBINED),
        ("on-demand", mmap_region::ON_DEMAND),
        ("shadow", mmap_region::SHADOW),
        ("uncached", mmap_region::UNCACHED),
    ] {
        let result = device.mmap(fb as usize, region, MAP_SHARED);
        report.check(
            &format!("mmap {name} region, all fb_size bytes -> ok"),
            match result {
                Ok(_) => Ok(()),
                Err(e) => Err(describe(&e)),
            },
        );
        if region != 0 {
            report.check(
                &format!("mmap {name} region, fb_size + page -> EINVAL"),
                expect_errno(device.mmap(fb as usize + page, region, MAP_SHARED), EINVAL),
            );
        }
    }
    report.check(
        "mmap PROT_WRITE shared on an O_RDONLY file -> EACCES",
        std::fs::File::open(path)
            .map_err(|e| describe(&e))
            .and_then(|file| {
                use std::os::fd::AsRawFd;
                // SAFETY: NULL hint; the result is unmapped at once if it succeeds.
                let addr = unsafe {
                    libc::mmap(
                        std::ptr::null_mut(),
                        page,
                        libc::PROT_READ | libc::PROT_WRITE,
                        MAP_SHARED,
                        file.as_raw_fd(),
                        0,
                    )
                };
                if addr == libc::MAP_FAILED {
                    expect_errno::<()>(Err(io::Error::last_os_error()), libc::EACCES)
                } else {
                    // SAFETY: the mapping just made.
                    unsafe { libc::munmap(addr, page) };
                    Err("succeeded".into())
                }
            }),
    );
    match device.mmap(4 * page, 0, MAP_SHARED) {
        Ok(map) => {
            let addr = map.as_ptr().cast::<libc::c_void>();
            // SAFETY: changes the protection of our own device mapping.
            let ret = unsafe { libc::mprotect(addr, 4 * page, libc::PROT_READ | libc::PROT_EXEC) };
            report.check(
                "mprotect a mapping to PROT_EXEC -> EACCES",
                expect_errno(sys(ret as i64), libc::EACCES),
            );
            // SAFETY: tries to grow our own mapping; on success the kernel picked a new range.
            let grown = unsafe { libc::mremap(addr, 4 * page, 5 * page, libc::MREMAP_MAYMOVE) };
            report.check(
                "mremap a mapping one page larger -> EFAULT",
                if grown == libc::MAP_FAILED {
                    expect_errno::<()>(Err(io::Error::last_os_error()), libc::EFAULT)
                } else {
                    // SAFETY: the grown mapping replaced ours; unmap it and forget `map`.
                    unsafe { libc::munmap(grown, 5 * page) };
                    std::mem::forget(map);
                    Err("succeeded: the mapping grew".into())
                },
            );
            report.check(
                "fork with a live mapping shares it",
                fork_shares(device, page),
            );
        }
        Err(e) => report.check("mmap 4 pages", Err(describe(&e))),
    }

    // lseek: every whence, and overflow.
    report.check(
        "lseek SEEK_DATA 0 -> EINVAL",
        expect_errno(device.lseek(0, libc::SEEK_DATA), EINVAL),
    );
    report.check(
        "lseek SEEK_HOLE fb_size -> EINVAL",
        expect_errno(device.lseek(end, libc::SEEK_HOLE), EINVAL),
    );
    report.check(
        "lseek SEEK_HOLE 0 -> EINVAL",
        expect_errno(device.lseek(0, libc::SEEK_HOLE), EINVAL),
    );
    report.check(
        "lseek whence 5 -> EINVAL",
        expect_errno(device.lseek(0, 5), EINVAL),
    );
    report.check(
        "lseek SEEK_CUR i64::MAX from fb_size -> EINVAL",
        expect_errno(
            device
                .lseek(end, SEEK_SET)
                .and_then(|_| device.lseek(i64::MAX, SEEK_CUR)),
            EINVAL,
        ),
    );
    report.check(
        "lseek SEEK_END i64::MIN -> EINVAL",
        expect_errno(device.lseek(i64::MIN, SEEK_END), EINVAL),
    );
    report.check(
        "lseek SEEK_CUR 0 after a failed lseek -> fb_size (unchanged)",
        expect_value(device.lseek(0, SEEK_CUR), end),
    );

    // read / write: zero length, bad pointers, huge counts, offsets.
    report.check(
        "read 0 bytes -> 0",
        expect_value(
            device.lseek(0, SEEK_SET).and_then(|_| device.read(&mut [])),
            0,
        ),
    );
    report.check("write 0 bytes -> 0", expect_value(device.write(&[]), 0));
    report.check(
        "write 0 bytes at the end -> 0",
        expect_value(device.pwrite(&[], fb), 0),
    );
    let raw = |what: &str, ret: isize| -> io::Result<isize> {
        let _ = what;
        if ret < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(ret)
        }
    };
    // NULL and kernel addresses are never valid user memory, so the kernel must fail the
    // calls below with EFAULT without touching ours.
    let kernel = 0xffff_ffff_8100_0000usize as *mut libc::c_void;
    report.check(
        "pread into NULL -> EFAULT",
        expect_errno(
            // SAFETY: NULL is never user memory: the kernel fails with EFAULT, writing nothing.
            raw("pread", unsafe {
                libc::pread(device.raw_fd(), std::ptr::null_mut(), 4096, 0)
            }),
            libc::EFAULT,
        ),
    );
    report.check(
        "pwrite from NULL -> EFAULT",
        expect_errno(
            // SAFETY: pwrite only reads the buffer, and NULL is never user memory (EFAULT).
            raw("pwrite", unsafe {
                libc::pwrite(device.raw_fd(), std::ptr::null(), 4096, 0)
            }),
            libc::EFAULT,
        ),
    );
    report.check(
        "pread into a kernel address -> EFAULT",
        expect_errno(
            // SAFETY: a kernel address is never user memory: the kernel fails with EFAULT and
            // writes nothing of this process.
            raw("pread", unsafe {
                libc::pread(device.raw_fd(), kernel, 4096, 0)
            }),
            libc::EFAULT,
        ),
    );
    report.check(
        "pwrite from a kernel address -> EFAULT",
        expect_errno(
            // SAFETY: pwrite only reads the buffer, and a kernel address is never user memory.
            raw("pwrite", unsafe {
                libc::pwrite(device.raw_fd(), kernel, 4096, 0)
            }),
            libc::EFAULT,
        ),
    );
    let mut buf = vec![0u8; 4096];
    report.check(
        "pread count 1 GiB, 4096 bytes before the end -> 4096",
        expect_value(
            // SAFETY: only 4096 bytes remain before the end, and buf holds 4096.
            raw("pread", unsafe {
                libc::pread(
                    device.raw_fd(),
                    buf.as_mut_ptr().cast(),
                    1 << 30,
                    end - 4096,
                )
            }),
            4096,
        ),
    );
    report.check(
        "pwrite count 1 GiB, 4096 bytes before the end -> 4096",
        expect_value(
            // SAFETY: the kernel reads at most the 4096 bytes left before the end from buf.
            raw("pwrite", unsafe {
                libc::pwrite(device.raw_fd(), buf.as_ptr().cast(), 1 << 30, end - 4096)
            }),
            4096,
        ),
    );
    report.check(
        "pread count usize::MAX -> EFAULT (buffer range not user memory)",
        expect_errno(
            // SAFETY: the VFS refuses the range (not user memory) before the driver runs, so
            // nothing is written to buf.
            raw("pread", unsafe {
                libc::pread(device.raw_fd(), buf.as_mut_ptr().cast(), usize::MAX, 0)
            }),
            libc::EFAULT,
        ),
    );
    report.check(
        "pwrite count isize::MAX -> EFAULT (buffer range not user memory)",
        expect_errno(
            // SAFETY: pwrite only reads buf, and the VFS refuses the range (not user memory)
            // before the driver runs.
            raw("pwrite", unsafe {
                libc::pwrite(device.raw_fd(), buf.as_ptr().cast(), isize::MAX as usize, 0)
            }),
            libc::EFAULT,
        ),
    );
    report.check(
        "pread offset -1 -> EINVAL",
        expect_errno(
            // SAFETY: buf holds the 16 bytes asked for, and a negative offset is refused first.
            raw("pread", unsafe {
                libc::pread(device.raw_fd(), buf.as_mut_ptr().cast(), 16, -1)
            }),
            EINVAL,
        ),
    );
    report.check(
        "pread past the end -> 0",
        expect_value(device.pread(&mut buf, fb + 4096), 0),
    );
    report.check(
        "pwrite past the end -> EFBIG (as fbdev)",
        expect_errno(device.pwrite(&buf, fb + 4096), libc::EFBIG),
    );

    // ioctl: bad pointers and wrong sizes.
    for (name, arg) in [("NULL", std::ptr::null_mut()), ("a kernel address", kernel)] {
        report.check(
            &format!("GET_MODE into {name} -> EFAULT"),
            expect_errno(
                // SAFETY: the argument is never valid user memory: GET_MODE fails with EFAULT
                // without writing anything of this process.
                unsafe { device.ioctl_ptr(BOCHSFB_IOCTL_GET_MODE, arg) },
                libc::EFAULT,
            ),
        );
    }
    report.check(
        "GET_MODE with the old 24-byte size -> ENOTTY",
        expect_errno(
            device.ioctl_bytes(ior(b'B', 0x01, 24), &mut [0; 64]),
            ENOTTY,
        ),
    );

    set_mode_matrix(device, mode, report);
    pan_flush_matrix(device, mode, report);
}

fn sys(ret: i64) -> io::Result<i64> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// A child writes through a mapping inherited by fork; the parent sees the bytes.
fn fork_shares(device: &Device, page: usize) -> Outcome {
    let mut map = device.mmap(page, 0, MAP_SHARED).map_err(|e| describe(&e))?;
    map.as_mut_slice()[..4].copy_from_slice(&[1, 2, 3, 4]);
    let addr = map.as_ptr();
    // SAFETY: the checker is single-threaded; the child only writes the mapping and exits.
    match unsafe { libc::fork() } {
        -1 => Err(format!("fork: {}", io::Error::last_os_error())),
        0 => unsafe {
            // SAFETY: the page is mapped in the child too (fork copies shared mappings).
            let ok = std::ptr::read_volatile(addr) == 1;
            std::ptr::write_volatile(addr, 0xa5);
            libc::_exit(if ok { 0 } else { 2 })
        },
        pid => {
            let mut status = 0;
            // SAFETY: our own child; `status` is a valid out-pointer.
            unsafe { libc::waitpid(pid, &mut status, 0) };
            if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
                return Err(format!("child ended with status {status:#x}"));
            }
            match map.as_slice()[0] {
                0xa5 => Ok(()),
                other => Err(format!("parent sees {other:#x}, child wrote 0xa5")),
            }
        }
    }
}

fn set_mode_matrix(device: &Device, mode: &BochsfbMode, report: &mut Report) {
    let base = BochsfbMode {
        width: mode.width,
        height: mode.height,
        bpp: mode.bpp,
        ..BochsfbMode::default()
    };
    let cases: &[(&str, BochsfbMode)] = &[
        ("width 0", BochsfbMode { width: 0, ..base }),
        (
            "width not a multiple of 8",
            BochsfbMode {
                width: base.width + 1,
                ..base
            },
        ),
        (
            "width u32::MAX",
            BochsfbMode {
                width: u32::MAX,
                ..base
            },
        ),
        ("height 0", BochsfbMode { height: 0, ..base }),
        (
            "height u32::MAX",
            BochsfbMode {
                height: u32::MAX,
                ..base
            },
        ),
        ("bpp 0", BochsfbMode { bpp: 0, ..base }),
        ("bpp 7", BochsfbMode { bpp: 7, ..base }),
        ("bpp 33", BochsfbMode { bpp: 33, ..base }),
        (
            "8192x8192x32 (larger than VRAM)",
            BochsfbMode {
                width: 8192,
                height: 8192,
                bpp: 32,
                ..base
            },
        ),
        (
            "virtual_height < height",
            BochsfbMode {
                virtual_height: base.height - 1,
                ..base
            },
        ),
        (
            "virtual_height u32::MAX",
            BochsfbMode {
                virtual_height: u32::MAX,
                ..base
            },
        ),
    ];
    for (name, m) in cases {
        let before = device.mode().ok();
        let outcome = expect_errno(calls::set_mode(device, m), EINVAL).and_then(|()| {
            match device.mode().ok() == before {
                true => Ok(()),
                false => Err("the mode changed although SET_MODE failed".into()),
            }
        });
        report.check(
            &format!("SET_MODE {name} -> EINVAL, mode unchanged"),
            outcome,
        );
    }
    report.check(
        "SET_MODE from NULL -> EFAULT",
        expect_errno(
            // SAFETY: NULL is never valid user memory.
            unsafe { device.ioctl_ptr(BOCHSFB_IOCTL_SET_MODE, std::ptr::null_mut()) },
            libc::EFAULT,
        ),
    );
    report.check(
        "SET_MODE the current mode again -> ok",
        calls::set_mode(device, &base)
            .map(drop)
            .map_err(|e| describe(&e)),
    );
}

fn pan_flush_matrix(device: &Device, mode: &BochsfbMode, report: &mut Report) {
    let current = device.mode().unwrap_or(*mode);
    let vh = current.virtual_height.max(current.height);
    for (name, y) in [
        ("virtual_height - height + 1", vh - current.height + 1),
        ("u32::MAX", u32::MAX),
    ] {
        report.check(
            &format!("PAN to {name} -> EINVAL"),
            expect_errno(pan(device, y), EINVAL),
        );
    }
    report.check(
        "PAN from NULL -> EFAULT",
        expect_errno(
            // SAFETY: PAN only reads its argument, and NULL is never valid user memory.
            unsafe { device.ioctl_ptr(BOCHSFB_IOCTL_PAN, std::ptr::null_mut()) },
            libc::EFAULT,
        ),
    );
    let rect = |x, y, width, height| BochsfbRect {
        x,
        y,
        width,
        height,
    };
    let (w, h) = (current.width, vh);
    let cases: Vec<(&str, Vec<BochsfbRect>, u32, u32, i32)> = vec![
        ("flags 1", vec![], 0, 1, EINVAL),
        ("count 257", vec![rect(0, 0, 1, 1); 257], 257, 0, EINVAL),
        (
            "count u32::MAX",
            vec![rect(0, 0, 1, 1)],
            u32::MAX,
            0,
            EINVAL,
        ),
        (
            "x + width > width",
            vec![rect(w - 4, 0, 8, 1)],
            1,
            0,
            EINVAL,
        ),
        (
            "y + height > virtual_height",
            vec![rect(0, h - 1, 1, 2)],
            1,
            0,
            EINVAL,
        ),
        (
            "x + width overflowing u32",
            vec![rect(u32::MAX, 0, 2, 1)],
            1,
            0,
            EINVAL,
        ),
        ("rects NULL, count 1", vec![], 1, 0, libc::EFAULT),
    ];
    for (name, rects, count, flags, errno) in cases {
        let mut damage = BochsfbDamage {
            rects: if rects.is_empty() {
                0
            } else {
                rects.as_ptr() as u64
            },
            count,
            flags,
        };
        report.check(
            &format!("FLUSH {name} -> {}", errno_name(errno)),
            expect_errno(
                // SAFETY: FLUSH only reads: the damage struct and `count` rects; where `count`
                // exceeds what `rects` holds, the driver must refuse the count before reading
                // them, and a NULL `rects` is never valid user memory.
                unsafe {
                    device.ioctl_ptr(
                        BOCHSFB_IOCTL_FLUSH,
                        (&mut damage as *mut BochsfbDamage).cast(),
                    )
                },
                errno,
            ),
        );
    }
    report.check(
        "FLUSH count 0 (whole frame) -> ok",
        flush(device, &[]).map_err(|e| describe(&e)),
    );
    report.check(
        "WAIT_VSYNC -> ok",
        calls::wait_vsync(device).map_err(|e| describe(&e)),
    );
    // fbdev ioctls: out-of-range values.
    let var = fb_get_var(device);
    report.check(
        "fbdev FBIOGET_VSCREENINFO -> ok",
        var.as_ref().map(drop).map_err(describe),
    );
    let var = var.unwrap_or_default();
    for (name, bad) in [
        ("xres 0", FbVarScreeninfo { xres: 0, ..var }),
        (
            "bits_per_pixel 7",
            FbVarScreeninfo {
                bits_per_pixel: 7,
                ..var
            },
        ),
    ] {
        report.check(
            &format!("fbdev FBIOPUT_VSCREENINFO {name} -> EINVAL"),
            expect_errno(fb_put_var(device, &bad), EINVAL),
        );
    }
    let past_the_end = FbVarScreeninfo {
        yoffset: u32::MAX,
        ..var
    };
    report.check(
        "fbdev FBIOPAN_DISPLAY yoffset past the end -> EINVAL",
        expect_errno(fb_pan(device, &past_the_end), EINVAL),
    );
}
