//! `kms-holes`: what an adversarial review of the DRM face (`face=1`, docs/drm.md) found, one
//! check each, written to FAIL while the hole is there:
//!
//! - before any modeset the card still shows the probe mode from VRAM offset 0 while DRM's state
//!   says the CRTC is off: the first dumb buffer, even a non-master's, is on screen as drawn;
//! - a new dumb buffer is a VRAM range as the last owner left it: any process that can open the
//!   card reads what another one drew into a buffer it freed (no auth needed for CREATE_DUMB);
//! - a framebuffer whose line is more than 16000 pixels (`VBE_DISPI_MAX_XRES`) passes `check`,
//!   and QEMU's `vbe_fixup_regs` silently clamps `VIRT_WIDTH`: the picture is sheared;
//! - a mode with an absurd pixel clock is accepted, and the vblank timer then ticks at the
//!   mode's "refresh": 100 kHz here, one hrtimer interrupt every 10 µs for as long as any opener
//!   (WAIT_VBLANK needs no master) keeps vblank on; a larger clock makes it a livelock;
//! - an atomic client sees none of the atomic properties (the plane's FB_ID, CRTC_ID, SRC_*, the
//!   CRTC's MODE_ID and ACTIVE, the connector's CRTC_ID): `pipe::init` creates the objects while
//!   the device's DRIVER_ATOMIC bit is still masked, so the core does not attach them; this is
//!   why `modetest -a` never commits;
//! - PRIME export of a VRAM buffer works, although the design says VRAM is not a dma-buf
//!   exporter (the dma-buf maps VRAM through the DRM device's address space, which unbind zaps;
//!   importers get ENOSYS at attach): a documentation or design decision, low.

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::ptr;
use std::time::Instant;

use libc::{c_ulong, MAP_FAILED, MAP_SHARED, PROT_READ, PROT_WRITE};

use crate::dumb::{card_of, create, ioctl, iowr, open, CreateDumb, Mapped};
use crate::report::{describe, Outcome, Report};

/// `struct drm_mode_modeinfo`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct ModeInfo {
    clock: u32,
    hdisplay: u16,
    hsync_start: u16,
    hsync_end: u16,
    htotal: u16,
    hskew: u16,
    vdisplay: u16,
    vsync_start: u16,
    vsync_end: u16,
    vtotal: u16,
    vscan: u16,
    vrefresh: u32,
    flags: u32,
    kind: u32,
    name: [u8; 32],
}

/// `struct drm_mode_crtc`.
#[repr(C)]
#[derive(Default)]
struct ModeCrtc {
    set_connectors_ptr: u64,
    count_connectors: u32,
    crtc_id: u32,
    fb_id: u32,
    x: u32,
    y: u32,
    gamma_size: u32,
    mode_valid: u32,
    mode: ModeInfo,
}

/// `struct drm_mode_card_res`.
#[repr(C)]
#[derive(Default)]
struct CardRes {
    fb_id_ptr: u64,
    crtc_id_ptr: u64,
    connector_id_ptr: u64,
    encoder_id_ptr: u64,
    count_fbs: u32,
    count_crtcs: u32,
    count_connectors: u32,
    count_encoders: u32,
    min_width: u32,
    max_width: u32,
    min_height: u32,
    max_height: u32,
}

/// `struct drm_mode_fb_cmd2`.
#[repr(C)]
#[derive(Default)]
struct FbCmd2 {
    fb_id: u32,
    width: u32,
    height: u32,
    pixel_format: u32,
    flags: u32,
    handles: [u32; 4],
    pitches: [u32; 4],
    offsets: [u32; 4],
    modifier: [u64; 4],
}

/// `union drm_wait_vblank` (its reply half; the request is its prefix).
#[repr(C)]
#[derive(Default)]
struct WaitVblank {
    kind: u32,
    sequence: u32,
    tval_sec: i64,
    tval_usec: i64,
}

/// `struct drm_prime_handle`.
#[repr(C)]
#[derive(Default)]
struct PrimeHandle {
    handle: u32,
    flags: u32,
    fd: i32,
}

const GETRESOURCES: c_ulong = iowr(0xa0, size_of::<CardRes>());
const SETCRTC: c_ulong = iowr(0xa2, size_of::<ModeCrtc>());
const ADDFB2: c_ulong = iowr(0xb8, size_of::<FbCmd2>());
const WAIT_VBLANK: c_ulong = iowr(0x3a, size_of::<WaitVblank>());
const PRIME_HANDLE_TO_FD: c_ulong = iowr(0x2d, size_of::<PrimeHandle>());

const XRGB8888: u32 = u32::from_le_bytes(*b"XR24");
const RGB565: u32 = u32::from_le_bytes(*b"RG16");
const VBLANK_RELATIVE: u32 = 1;

/// 640x480@60 (DMT), with `clock` in kHz.
fn mode_640x480(clock: u32) -> ModeInfo {
    let mut name = [0u8; 32];
    name[..7].copy_from_slice(b"640x480");
    ModeInfo {
        clock,
        hdisplay: 640,
        hsync_start: 656,
        hsync_end: 752,
        htotal: 800,
        vdisplay: 480,
        vsync_start: 490,
        vsync_end: 492,
        vtotal: 525,
        flags: 2 | 8, // NHSYNC | NVSYNC
        name,
        ..Default::default()
    }
}

/// The first CRTC and connector.
fn pipe(file: &File) -> io::Result<(u32, u32)> {
    let mut res = CardRes::default();
    ioctl(file, GETRESOURCES, &mut res)?;
    let mut crtcs = vec![0u32; res.count_crtcs as usize];
    let mut conns = vec![0u32; res.count_connectors as usize];
    let mut fbs = vec![0u32; res.count_fbs as usize];
    let mut encs = vec![0u32; res.count_encoders as usize];
    res.crtc_id_ptr = crtcs.as_mut_ptr() as u64;
    res.connector_id_ptr = conns.as_mut_ptr() as u64;
    res.fb_id_ptr = fbs.as_mut_ptr() as u64;
    res.encoder_id_ptr = encs.as_mut_ptr() as u64;
    ioctl(file, GETRESOURCES, &mut res)?;
    match (crtcs.first(), conns.first()) {
        (Some(&crtc), Some(&conn)) => Ok((crtc, conn)),
        _ => Err(io::Error::other("no CRTC or connector")),
    }
}

fn add_fb(file: &File, dumb: &CreateDumb, width: u32, height: u32, format: u32) -> io::Result<u32> {
    let mut cmd = FbCmd2 {
        width,
        height,
        pixel_format: format,
        ..Default::default()
    };
    cmd.handles[0] = dumb.handle;
    cmd.pitches[0] = dumb.pitch;
    ioctl(file, ADDFB2, &mut cmd)?;
    Ok(cmd.fb_id)
}

fn set_crtc(file: &File, crtc: u32, conn: u32, fb: u32, mode: ModeInfo) -> io::Result<()> {
    let conns = [conn];
    let mut set = ModeCrtc {
        set_connectors_ptr: conns.as_ptr() as u64,
        count_connectors: 1,
        crtc_id: crtc,
        fb_id: fb,
        mode_valid: 1,
        mode,
        ..Default::default()
    };
    ioctl(file, SETCRTC, &mut set)
}

/// The DISPI registers `VIRT_WIDTH`, `X_OFFSET`, `Y_OFFSET` as QEMU keeps them, read through
/// the MMIO BAR's sysfs resource (std VGA: DISPI at 0x500, one u16 per index).
fn dispi_scanout(pci: &str) -> Result<(u16, u16, u16), String> {
    let regs = bar_page(pci, 2)?;
    Ok((regs[0x50c / 2], regs[0x510 / 2], regs[0x512 / 2]))
}

/// The first page of BAR `bar` of `pci` (sysfs `resourceN`), as 16-bit words: VRAM for BAR 0,
/// the DISPI registers at byte 0x500 for BAR 2 (std VGA).
fn bar_page(pci: &str, bar: u32) -> Result<Vec<u16>, String> {
    let path = format!("/sys/bus/pci/devices/{pci}/resource{bar}");
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| format!("{path}: {e}"))?;
    // SAFETY: a new shared mapping of the BAR's first page, unmapped below.
    let addr = unsafe {
        libc::mmap(
            ptr::null_mut(),
            4096,
            PROT_READ | PROT_WRITE,
            MAP_SHARED,
            file.as_raw_fd(),
            0,
        )
    };
    if addr == MAP_FAILED {
        return Err(format!("mmap {path}: {}", io::Error::last_os_error()));
    }
    let words = (0..2048)
        // SAFETY: inside the page mapped above, read as 16-bit words (DISPI registers are).
        .map(|i| unsafe { ptr::read_volatile(addr.cast::<u16>().add(i)) })
        .collect();
    // SAFETY: the mapping made above.
    unsafe { libc::munmap(addr, 4096) };
    Ok(words)
}

/// Before any modeset the CRTC is off in DRM's state; the card must not be showing VRAM that a
/// client (here a second, non-master opener) can draw into.
fn non_master_not_on_screen(path: &Path) -> Outcome {
    let _master = open(path).map_err(|e| format!("open: {}", describe(&e)))?;
    let other = open(path).map_err(|e| format!("open: {}", describe(&e)))?;
    let dumb = create(&other, 1024, 768, 32).map_err(|e| describe(&e))?;
    let mut mapped = Mapped::new(&other, &dumb).map_err(|e| describe(&e))?;
    mapped.as_mut_slice().fill(0x5a);
    let pci = card_of(path)?;
    let regs = bar_page(&pci, 2)?;
    let (enable, x, y) = (regs[0x508 / 2], regs[0x510 / 2], regs[0x512 / 2]);
    let vram = bar_page(&pci, 0)?;
    let drawn = vram.iter().all(|&w| w == 0x5a5a);
    if enable & 1 != 0 && x == 0 && y == 0 && drawn {
        Err(format!(
            "DISPI ENABLE={enable:#x}, offset (0, 0): the screen shows VRAM offset 0, which is \
             the non-master's buffer ({}x{} visible)",
            regs[0x502 / 2],
            regs[0x504 / 2]
        ))
    } else {
        Ok(())
    }
}

/// A buffer another opener freed must not show through a new one.
fn freed_buffer_leaks(path: &Path) -> Outcome {
    {
        let a = open(path).map_err(|e| format!("open: {}", describe(&e)))?;
        let dumb = create(&a, 1024, 768, 32).map_err(|e| describe(&e))?;
        let mut mapped = Mapped::new(&a, &dumb).map_err(|e| describe(&e))?;
        mapped.as_mut_slice().fill(0xa5);
        // Closing the file frees the buffer, and its VRAM range.
    }
    let b = open(path).map_err(|e| format!("open: {}", describe(&e)))?;
    let dumb = create(&b, 1024, 768, 32).map_err(|e| describe(&e))?;
    let mut mapped = Mapped::new(&b, &dumb).map_err(|e| describe(&e))?;
    let bytes = mapped.as_mut_slice();
    let nonzero = bytes.iter().filter(|&&b| b != 0).count();
    let old = bytes.iter().filter(|&&b| b == 0xa5).count();
    if nonzero == 0 {
        Ok(())
    } else {
        Err(format!(
            "{nonzero} of {} bytes are not zero, {old} of them the freed buffer's 0xa5",
            bytes.len()
        ))
    }
}

/// A 640x480 RGB565 framebuffer whose lines are 16008 pixels apart.
fn long_line_refused(path: &Path) -> Outcome {
    let file = open(path).map_err(|e| format!("open: {}", describe(&e)))?;
    let (crtc, conn) = pipe(&file).map_err(|e| format!("resources: {}", describe(&e)))?;
    let dumb =
        create(&file, 16008, 480, 16).map_err(|e| format!("CREATE_DUMB: {}", describe(&e)))?;
    if dumb.pitch != 16008 * 2 {
        return Err(format!("pitch {} instead of 32016", dumb.pitch));
    }
    let fb =
        add_fb(&file, &dumb, 640, 480, RGB565).map_err(|e| format!("ADDFB2: {}", describe(&e)))?;
    match set_crtc(&file, crtc, conn, fb, mode_640x480(25175)) {
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Ok(()),
        Err(e) => Err(format!("SETCRTC: {} (expected EINVAL)", describe(&e))),
        Ok(()) => {
            let shown = card_of(path).and_then(|pci| dispi_scanout(&pci));
            Err(format!(
                "SETCRTC accepted it; QEMU's (VIRT_WIDTH, X_OFFSET, Y_OFFSET) = {shown:?}, \
                 16008 asked"
            ))
        }
    }
}

/// A 640x480 mode at a 42 GHz pixel clock: a 100 kHz vblank.
fn absurd_clock_refused(path: &Path) -> Outcome {
    let file = open(path).map_err(|e| format!("open: {}", describe(&e)))?;
    let (crtc, conn) = pipe(&file).map_err(|e| format!("resources: {}", describe(&e)))?;
    let dumb = create(&file, 640, 480, 32).map_err(|e| format!("CREATE_DUMB: {}", describe(&e)))?;
    let fb = add_fb(&file, &dumb, 640, 480, XRGB8888)
        .map_err(|e| format!("ADDFB2: {}", describe(&e)))?;
    // A sane mode first: the pipe works.
    set_crtc(&file, crtc, conn, fb, mode_640x480(25175))
        .map_err(|e| format!("SETCRTC 640x480@60: {}", describe(&e)))?;
    match set_crtc(&file, crtc, conn, fb, mode_640x480(42_000_000)) {
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Ok(()),
        Err(e) => Err(format!("SETCRTC: {} (expected EINVAL)", describe(&e))),
        Ok(()) => {
            // Any opener may wait for vblanks: a second, non-master file does.
            let other = open(path).map_err(|e| format!("open: {}", describe(&e)))?;
            let mut wait = WaitVblank {
                kind: VBLANK_RELATIVE,
                sequence: 1,
                ..Default::default()
            };
            let _ = ioctl(&other, WAIT_VBLANK, &mut wait);
            let start = Instant::now();
            let mut wait = WaitVblank {
                kind: VBLANK_RELATIVE,
                sequence: 5000,
                ..Default::default()
            };
            let waited = ioctl(&other, WAIT_VBLANK, &mut wait);
            let elapsed = start.elapsed();
            let rate = 5000.0 / elapsed.as_secs_f64();
            Err(format!(
                "SETCRTC accepted it; 5000 vblanks (WAIT_VBLANK by a non-master: {}) took {:?}: \
                 {:.0} Hz",
                waited.map_or_else(|e| describe(&e), |()| "ok".into()),
                elapsed,
                rate
            ))
        }
    }
}

/// `struct drm_set_client_cap`.
#[repr(C)]
struct ClientCap {
    capability: u64,
    value: u64,
}

/// `struct drm_mode_get_plane_res`.
#[repr(C)]
#[derive(Default)]
struct PlaneRes {
    plane_id_ptr: u64,
    count_planes: u32,
}

/// `struct drm_mode_obj_get_properties`.
#[repr(C)]
#[derive(Default)]
struct ObjProps {
    props_ptr: u64,
    prop_values_ptr: u64,
    count_props: u32,
    obj_id: u32,
    obj_type: u32,
}

/// `struct drm_mode_get_property`.
#[repr(C)]
#[derive(Default)]
struct GetProperty {
    values_ptr: u64,
    enum_blob_ptr: u64,
    prop_id: u32,
    flags: u32,
    name: [u8; 32],
    count_values: u32,
    count_enum_blobs: u32,
}

/// `_IOW('d', nr, size)`.
const fn iow(nr: c_ulong, size: usize) -> c_ulong {
    (1 << 30) | ((size as c_ulong) << 16) | ((b'd' as c_ulong) << 8) | nr
}
const SET_CLIENT_CAP: c_ulong = iow(0x0d, size_of::<ClientCap>());
const GETPLANERESOURCES: c_ulong = iowr(0xb5, size_of::<PlaneRes>());
const OBJ_GETPROPERTIES: c_ulong = iowr(0xb9, size_of::<ObjProps>());
const GETPROPERTY: c_ulong = iowr(0xaa, size_of::<GetProperty>());
const CLIENT_CAP_ATOMIC: u64 = 3;
const OBJECT_CRTC: u32 = 0xcccc_cccc;
const OBJECT_PLANE: u32 = 0xeeee_eeee;
const OBJECT_CONNECTOR: u32 = 0xc0c0_c0c0;

/// The names of the properties of object `id` of type `kind`.
fn property_names(file: &File, id: u32, kind: u32) -> io::Result<Vec<String>> {
    let mut props = ObjProps {
        obj_id: id,
        obj_type: kind,
        ..Default::default()
    };
    ioctl(file, OBJ_GETPROPERTIES, &mut props)?;
    let mut ids = vec![0u32; props.count_props as usize];
    let mut values = vec![0u64; props.count_props as usize];
    props.props_ptr = ids.as_mut_ptr() as u64;
    props.prop_values_ptr = values.as_mut_ptr() as u64;
    ioctl(file, OBJ_GETPROPERTIES, &mut props)?;
    ids.truncate(props.count_props as usize);
    ids.iter()
        .map(|&prop_id| {
            let mut prop = GetProperty {
                prop_id,
                ..Default::default()
            };
            ioctl(file, GETPROPERTY, &mut prop)?;
            let len = prop.name.iter().position(|&b| b == 0).unwrap_or(32);
            Ok(String::from_utf8_lossy(&prop.name[..len]).into_owned())
        })
        .collect()
}

/// An atomic client (DRM_CLIENT_CAP_ATOMIC) sees the properties it commits with: the plane's
/// FB_ID, CRTC_ID and SRC_*, the CRTC's MODE_ID and ACTIVE, the connector's CRTC_ID. modetest
/// -a prints "PLANE 35 has no FB_ID property" and never calls DRM_IOCTL_MODE_ATOMIC without them.
fn atomic_properties(path: &Path) -> Outcome {
    let file = open(path).map_err(|e| format!("open: {}", describe(&e)))?;
    let mut cap = ClientCap {
        capability: CLIENT_CAP_ATOMIC,
        value: 1,
    };
    ioctl(&file, SET_CLIENT_CAP, &mut cap)
        .map_err(|e| format!("SET_CLIENT_CAP ATOMIC: {}", describe(&e)))?;
    let (crtc, conn) = pipe(&file).map_err(|e| format!("resources: {}", describe(&e)))?;
    let mut res = PlaneRes::default();
    ioctl(&file, GETPLANERESOURCES, &mut res).map_err(|e| describe(&e))?;
    let mut planes = vec![0u32; res.count_planes as usize];
    res.plane_id_ptr = planes.as_mut_ptr() as u64;
    ioctl(&file, GETPLANERESOURCES, &mut res).map_err(|e| describe(&e))?;
    let plane = *planes.first().ok_or("no plane")?;
    let wanted: [(&str, u32, u32, &[&str]); 3] = [
        (
            "plane",
            plane,
            OBJECT_PLANE,
            &["FB_ID", "CRTC_ID", "SRC_X", "SRC_W", "CRTC_W"],
        ),
        ("CRTC", crtc, OBJECT_CRTC, &["MODE_ID", "ACTIVE"]),
        ("connector", conn, OBJECT_CONNECTOR, &["CRTC_ID"]),
    ];
    let mut missing = Vec::new();
    for (what, id, kind, names) in wanted {
        let have = property_names(&file, id, kind).map_err(|e| describe(&e))?;
        for name in names {
            if !have.iter().any(|h| h == name) {
                missing.push(format!("{what} {id} {name} (has {have:?})"));
            }
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("missing: {}", missing.join("; ")))
    }
}

/// PRIME export: refused (docs/drm.md: "VRAM is not a dma-buf exporter").
fn prime_export_refused(path: &Path) -> Outcome {
    let file = open(path).map_err(|e| format!("open: {}", describe(&e)))?;
    let dumb = create(&file, 64, 64, 32).map_err(|e| format!("CREATE_DUMB: {}", describe(&e)))?;
    let mut prime = PrimeHandle {
        handle: dumb.handle,
        flags: (libc::O_RDWR | libc::O_CLOEXEC) as u32,
        fd: -1,
    };
    match ioctl(&file, PRIME_HANDLE_TO_FD, &mut prime) {
        Err(_) => Ok(()),
        Ok(()) => {
            // SAFETY: the ioctl returned a new dma-buf file descriptor.
            let dmabuf = unsafe { OwnedFd::from_raw_fd(prime.fd) };
            // SAFETY: a new shared mapping of the dma-buf; unmapped below.
            let addr = unsafe {
                libc::mmap(
                    ptr::null_mut(),
                    dumb.size as usize,
                    PROT_READ | PROT_WRITE,
                    MAP_SHARED,
                    dmabuf.as_raw_fd(),
                    0,
                )
            };
            let touched = if addr == MAP_FAILED {
                format!("mmap: {}", io::Error::last_os_error())
            } else {
                let sigbus = crate::unbind::touch_in_child(addr.cast(), true);
                // SAFETY: the mapping made above.
                unsafe { libc::munmap(addr, dumb.size as usize) };
                match sigbus {
                    Ok(()) => "mmap works, its first touch raises SIGBUS".into(),
                    // The dma-buf's file maps through the DRM device's address space
                    // (drm_gem_dmabuf_export), so the fault handler fills it, and unbind zaps it.
                    Err(_) => "its mapping works: a write through it reaches VRAM".into(),
                }
            };
            Err(format!(
                "PRIME_HANDLE_TO_FD gave dma-buf fd {}; {touched}",
                prime.fd
            ))
        }
    }
}

pub fn run(path: &Path, report: &mut Report) {
    // First: it needs the card as probe left it.
    report.check(
        "before any modeset, a non-master's buffer is not what the screen shows",
        non_master_not_on_screen(path),
    );
    report.check(
        "an atomic client sees the plane's, CRTC's and connector's atomic properties",
        atomic_properties(path),
    );
    report.check(
        "a new dumb buffer does not show what a freed one held (another opener's pixels)",
        freed_buffer_leaks(path),
    );
    report.check(
        "a framebuffer with lines of 16008 pixels is refused (QEMU clamps VIRT_WIDTH to 16000)",
        long_line_refused(path),
    );
    report.check(
        "PRIME export of a VRAM dumb buffer is refused (docs/drm.md)",
        prime_export_refused(path),
    );
    report.check(
        "a 640x480 mode with a 42 GHz pixel clock (100 kHz vblank timer) is refused",
        absurd_clock_refused(path),
    );
}
