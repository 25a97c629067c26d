//! `security`: who may open the device, and that nothing beyond the frame is
//! reachable: every page any mapping region installs is VRAM inside `fb_size`
//! (or, for the shadow region, RAM) and never the MMIO registers; `read`
//! never returns bytes past `fb_size`; a partial copy never moves
//! uninitialised kernel bytes; a fresh shadow buffer reads as zeros.
//! Run it on a freshly booted guest (the shadow check needs an unused shadow).

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::fd::BorrowedFd;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use bochsfb_renderer::abi::mmap_region;

use crate::device::{page_size, Device, Mapping};
use crate::raw::{wait, Exit};
use crate::report::{describe, Outcome, Report};
use crate::unbind::bound_card;

/// The group that may use display devices (docs/architecture.md).
const VIDEO_GROUP: &str = "video";
/// An unprivileged uid/gid that is not in the video group.
const NOBODY: u32 = 65534;

pub fn run(path: &Path, report: &mut Report) {
    let video = group_id(VIDEO_GROUP);
    report.check(
        &format!("{} is root:{VIDEO_GROUP} 0660", path.display()),
        node_permissions(path, video.clone()),
    );
    report.check(
        "a process outside root and video cannot open it (EACCES)",
        open_as(path, NOBODY, &[], false),
    );
    match video {
        Ok(gid) => report.check(
            "a process in the video group opens it and reads the mode",
            open_as(path, NOBODY, &[gid], true),
        ),
        Err(why) => report.check("the video group exists", Err(why)),
    }
    let device = match Device::open(path) {
        Ok(device) => device,
        Err(e) => return report.check("open", Err(describe(&e))),
    };
    let mode = match device.mode() {
        Ok(mode) => mode,
        Err(e) => return report.check("GET_MODE", Err(describe(&e))),
    };
    let fb = mode.fb_size;
    // First, while no one has used the shadow region in this boot.
    report.check(
        "a fresh shadow mapping reads as zeros",
        shadow_zeroed(&device, fb),
    );
    match bars() {
        Ok((vram, mmio)) => {
            for (name, region, expect_vram) in [
                ("write-combined", mmap_region::WRITE_COMBINED, true),
                ("on-demand", mmap_region::ON_DEMAND, true),
                ("uncached", mmap_region::UNCACHED, true),
                ("shadow", mmap_region::SHADOW, false),
            ] {
                report.check(
                    &format!(
                        "{name} region: every page is {}, none is MMIO",
                        if expect_vram {
                            "VRAM below fb_size"
                        } else {
                            "RAM"
                        }
                    ),
                    pages_in_bounds(&device, region, fb, vram, mmio, expect_vram),
                );
            }
        }
        Err(why) => report.check("read the card's BARs from sysfs", Err(why)),
    }
    report.check(
        "read of everything returns fb_size bytes, none past it",
        read_bounded(&device, fb),
    );
    report.check(
        "a pwrite that faults halfway writes only the copied bytes",
        partial_write(&device),
    );
    report.check(
        "a pread that faults halfway returns only the copied bytes",
        partial_read(&device),
    );
}

/// The gid of `name` in /etc/group.
fn group_id(name: &str) -> Result<u32, String> {
    let groups = fs::read_to_string("/etc/group").map_err(|e| format!("/etc/group: {e}"))?;
    groups
        .lines()
        .find_map(|line| {
            let mut fields = line.split(':');
            (fields.next() == Some(name)).then(|| fields.nth(1)?.parse().ok())?
        })
        .ok_or_else(|| format!("no group {name} in /etc/group"))
}

fn node_permissions(path: &Path, video: Result<u32, String>) -> Outcome {
    let meta = fs::metadata(path).map_err(|e| format!("stat: {e}"))?;
    let mode = meta.mode() & 0o7777;
    if mode & 0o007 != 0 {
        return Err(format!("mode {mode:04o}: others have access"));
    }
    let video = video?;
    if (mode, meta.uid(), meta.gid()) != (0o660, 0, video) {
        return Err(format!(
            "mode {mode:04o} uid {} gid {}, expected 0660 uid 0 gid {video}",
            meta.uid(),
            meta.gid()
        ));
    }
    Ok(())
}

/// Opens `path` in a child running as `uid` with supplementary `groups`;
/// `expect_ok` says whether open (and GET_MODE) must succeed or fail with EACCES.
fn open_as(path: &Path, uid: u32, groups: &[u32], expect_ok: bool) -> Outcome {
    let cpath = CString::new(path.as_os_str().as_encoded_bytes()).map_err(|e| e.to_string())?;
    // SAFETY: single-threaded; the child only changes its credentials, opens and exits.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: plain system calls on this (child) process; `groups` outlives them.
        let code = unsafe {
            if libc::setgroups(groups.len(), groups.as_ptr()) != 0
                || libc::setgid(NOBODY) != 0
                || libc::setuid(uid) != 0
            {
                10
            } else {
                let fd = libc::open(cpath.as_ptr(), libc::O_RDWR);
                if fd >= 0 {
                    // SAFETY: the descriptor just opened, open until the child exits.
                    let file = BorrowedFd::borrow_raw(fd);
                    match bochsfb_renderer::device::get_mode(file) {
                        Ok(_) => 0,
                        Err(_) => 11,
                    }
                } else if io::Error::last_os_error().raw_os_error() == Some(libc::EACCES) {
                    1
                } else {
                    12
                }
            }
        };
        // SAFETY: ends the child.
        unsafe { libc::_exit(code) }
    }
    if pid < 0 {
        return Err(format!("fork: {}", io::Error::last_os_error()));
    }
    let expected = if expect_ok { 0 } else { 1 };
    match wait(pid).map_err(|e| e.to_string())? {
        Exit::Code(code) if code == expected => Ok(()),
        Exit::Code(0) => Err("open succeeded".into()),
        Exit::Code(1) => Err("open failed with EACCES".into()),
        Exit::Code(10) => Err("could not drop privileges".into()),
        Exit::Code(11) => Err("opened, but GET_MODE failed".into()),
        other => Err(format!("open failed otherwise ({other:?})")),
    }
}

fn shadow_zeroed(device: &Device, fb: u64) -> Outcome {
    let map = device
        .mmap(fb as usize, mmap_region::SHADOW, libc::MAP_SHARED)
        .map_err(|e| format!("mmap shadow: {}", describe(&e)))?;
    match map.as_slice().iter().position(|&b| b != 0) {
        None => Ok(()),
        Some(at) => Err(format!("byte {at:#x} is {:#x}", map.as_slice()[at])),
    }
}

/// `[start, end)` physical ranges of BAR0 (VRAM) and BAR2 (MMIO registers).
type Range = (u64, u64);

fn bars() -> Result<(Range, Range), String> {
    let pci = bound_card()?;
    let file = format!("/sys/bus/pci/devices/{pci}/resource");
    let text = fs::read_to_string(&file).map_err(|e| format!("{file}: {e}"))?;
    let bar = |n: usize| -> Result<Range, String> {
        let line = text
            .lines()
            .nth(n)
            .ok_or(format!("{file} has no line {n}"))?;
        let mut fields = line
            .split_whitespace()
            .map(|f| u64::from_str_radix(f.trim_start_matches("0x"), 16));
        match (fields.next(), fields.next()) {
            (Some(Ok(start)), Some(Ok(end))) if end > start => Ok((start, end + 1)),
            _ => Err(format!("{file} line {n}: {line:?}")),
        }
    };
    Ok((bar(0)?, bar(2)?))
}

/// Maps all of `region`, touches every page, and checks each page's frame in
/// /proc/self/pagemap (root sees frame numbers).
fn pages_in_bounds(
    device: &Device,
    region: u64,
    fb: u64,
    vram: Range,
    mmio: Range,
    expect_vram: bool,
) -> Outcome {
    let page = page_size() as u64;
    let map = device
        .mmap(fb as usize, region, libc::MAP_SHARED)
        .map_err(|e| format!("mmap: {}", describe(&e)))?;
    // Fault every page in (on-demand and shadow regions insert pages at first touch).
    let bytes = map.as_slice();
    let mut sum = 0u64;
    for i in (0..bytes.len()).step_by(page as usize) {
        // SAFETY: a byte of our live mapping.
        sum = sum.wrapping_add(u64::from(unsafe { std::ptr::read_volatile(&bytes[i]) }));
    }
    std::hint::black_box(sum);
    if expect_vram {
        content_is_vram(device, &map, fb)?;
    }
    let frames = frames_of(&map, fb / page)?;
    let vram_ok = (vram.0, vram.0 + fb);
    for (i, frame) in frames.iter().enumerate() {
        // Page walks skip VM_PFNMAP mappings (mm/pagewalk.c), so pagemap shows
        // those pages as absent: for them the content check above is the proof.
        let Some(frame) = frame else { continue };
        let phys = frame * page;
        let inside = |(start, end): Range| phys >= start && phys < end;
        if inside(mmio) {
            return Err(format!("page {i} maps MMIO at {phys:#x}"));
        }
        if expect_vram && !inside(vram_ok) {
            return Err(format!(
                "page {i} maps {phys:#x}, outside VRAM [{:#x}, {:#x})",
                vram_ok.0, vram_ok.1
            ));
        }
        if expect_vram && phys != vram.0 + i as u64 * page {
            return Err(format!(
                "page {i} maps {phys:#x}, not VRAM offset {:#x}",
                i as u64 * page
            ));
        }
        if !expect_vram && inside(vram) {
            return Err(format!("shadow page {i} is VRAM at {phys:#x}"));
        }
    }
    if !expect_vram && frames.iter().any(Option::is_none) {
        return Err("a shadow page is not present after a touch".into());
    }
    Ok(())
}

/// Tags every page of VRAM with its number through pwrite and finds each tag
/// at the same offset of the mapping: page i of the mapping is VRAM page i
/// (MMIO registers or another page would not hold the tag).
fn content_is_vram(device: &Device, map: &Mapping, fb: u64) -> Outcome {
    let page = page_size();
    let salt = 0x6b63_6f62_0000_0000u64 ^ std::process::id() as u64;
    let mut tags = vec![0u8; fb as usize];
    for (i, chunk) in tags.chunks_mut(page).enumerate() {
        chunk[..8].copy_from_slice(&(salt + i as u64).to_le_bytes());
    }
    let n = device.pwrite(&tags, 0).map_err(|e| describe(&e))?;
    if n != tags.len() {
        return Err(format!("pwrite of the tags wrote {n} of {}", tags.len()));
    }
    for (i, chunk) in map.as_slice().chunks(page).enumerate() {
        let tag = u64::from_le_bytes(chunk[..8].try_into().unwrap());
        if tag != salt + i as u64 {
            return Err(format!(
                "page {i} of the mapping holds {tag:#x}, not its VRAM tag"
            ));
        }
    }
    Ok(())
}

/// Frame numbers of the first `pages` pages of `map` (None: not present).
fn frames_of(map: &Mapping, pages: u64) -> Result<Vec<Option<u64>>, String> {
    use std::os::unix::fs::FileExt;
    let pagemap = fs::File::open("/proc/self/pagemap").map_err(|e| format!("pagemap: {e}"))?;
    let first = map.as_ptr() as u64 / page_size() as u64;
    let mut raw = vec![0u8; pages as usize * 8];
    pagemap
        .read_exact_at(&mut raw, first * 8)
        .map_err(|e| format!("pagemap read: {e}"))?;
    Ok(raw
        .chunks_exact(8)
        .map(|c| {
            let entry = u64::from_le_bytes(c.try_into().unwrap());
            (entry >> 63 == 1).then_some(entry & ((1 << 55) - 1))
        })
        .collect())
}

fn read_bounded(device: &Device, fb: u64) -> Outcome {
    let extra = 2 * page_size();
    let mut buf = vec![0xa5u8; fb as usize + extra];
    let n = device.pread(&mut buf, 0).map_err(|e| describe(&e))?;
    if n as u64 != fb {
        return Err(format!("returned {n}, expected fb_size {fb}"));
    }
    if buf[fb as usize..].iter().any(|&b| b != 0xa5) {
        return Err("bytes past fb_size were written".into());
    }
    let mut small = [0u8; 4096];
    match device.pread(&mut small, fb - 100) {
        Ok(100) => Ok(()),
        other => Err(format!(
            "pread 4096 at fb_size - 100 returned {other:?}, expected 100"
        )),
    }
}

/// An anonymous buffer of one read/write page followed by one inaccessible page.
struct HalfBuffer(*mut u8);

impl HalfBuffer {
    fn new() -> io::Result<HalfBuffer> {
        let page = page_size();
        // SAFETY: a fresh anonymous mapping chosen by the kernel.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                2 * page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the second page of the mapping just made.
        if unsafe { libc::mprotect(base.cast::<u8>().add(page).cast(), page, libc::PROT_NONE) } != 0
        {
            return Err(io::Error::last_os_error());
        }
        Ok(HalfBuffer(base.cast()))
    }
}

impl Drop for HalfBuffer {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`.
        unsafe { libc::munmap(self.0.cast(), 2 * page_size()) };
    }
}

fn partial_write(device: &Device) -> Outcome {
    let page = page_size();
    device
        .pwrite(&vec![0x11; 2 * page], 0)
        .map_err(|e| describe(&e))?;
    let half = HalfBuffer::new().map_err(|e| e.to_string())?;
    // SAFETY: the first page is ours and writable.
    unsafe { std::ptr::write_bytes(half.0, 0x22, page) };
    // SAFETY: the kernel reads from the buffer; the second page faults (EFAULT/short count).
    let n = unsafe { libc::pwrite(device.raw_fd(), half.0.cast(), 2 * page, 0) };
    if n != page as isize {
        return Err(format!(
            "returned {n}, expected {page} (the bytes before the fault)"
        ));
    }
    let mut back = vec![0u8; 2 * page];
    device.pread(&mut back, 0).map_err(|e| describe(&e))?;
    if back[..page].iter().any(|&b| b != 0x22) || back[page..].iter().any(|&b| b != 0x11) {
        let at = back
            .iter()
            .enumerate()
            .position(|(i, &b)| b != if i < page { 0x22 } else { 0x11 });
        return Err(format!(
            "VRAM differs at byte {at:?}: uninitialised bytes reached it"
        ));
    }
    Ok(())
}

fn partial_read(device: &Device) -> Outcome {
    let page = page_size();
    let half = HalfBuffer::new().map_err(|e| e.to_string())?;
    // SAFETY: the kernel writes into the buffer; the second page faults (short count).
    let n = unsafe { libc::pread(device.raw_fd(), half.0.cast(), 2 * page, 0) };
    if n == page as isize {
        Ok(())
    } else {
        Err(format!(
            "returned {n}, expected {page} (the bytes before the fault)"
        ))
    }
}
