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
//! - a 60 Hz mode whose htotal * vtotal exceeds `i32::MAX` passes `mode_valid` (which
//!   multiplies in a u64), but `drm_calc_timestamping_constants()` keeps the product in an
//!   `int`: the frame duration wraps, and the vblank timer ticks at 5.4 kHz (or, negative, back
//!   to back) although the mode's refresh is 60 Hz.
//! - a nonblocking modeset followed within a frame by a commit that turns the CRTC off makes the
//!   first commit's worker warn `vblank wait timed out` (kfuzz's open finding, docs/fuzzing.md):
//!   it waits for a vblank after hw_done, and the off commit, which waits only for hw_done and
//!   flip_done, stops the vblank timer first.
//! - with the CRTC off (at probe, and after `crtc_atomic_disable`) std VGA still shows VRAM
//!   offset 0: clearing `DISPI_ENABLE` hands the screen to the VGA mode QEMU's
//!   `vbe_update_vgaregs()` left behind, which reads VRAM from offset 0; `probe-scanout` checks
//!   DISPI only. Checked by screendump in tests/e2e/kms.rs
//!   (`the_screen_of_an_off_crtc_shows_no_client_vram`, with the opt-in `text-paint` here).
//! - (console review) a `/dev/fb0` mapping kept across unbind and rebind still writes into VRAM
//!   (`fbdev-unbind`): the emulation's damage worker blits through `vmap`, a fresh
//!   `ioremap_wc()` of the BAR's physical pages (`map_kernel_wc`), also after unbind, into the
//!   next binding's VRAM.

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::ptr;
use std::time::Instant;

use libc::{MAP_FAILED, MAP_SHARED, PROT_READ, PROT_WRITE};

use crate::drm_abi::{
    ioctl, CardRes, ClientCap, CreateDumb, DestroyDumb, FbCmd2, GetProperty, ModeCrtc, ModeInfo,
    ObjProps, PlaneRes, PrimeHandle, SetPlane, WaitVblank, ADDFB2, CLIENT_CAP_ATOMIC,
    CLIENT_CAP_UNIVERSAL_PLANES, DESTROY_DUMB, GETPLANERESOURCES, GETPROPERTY, GETRESOURCES,
    OBJECT_CONNECTOR, OBJECT_CRTC, OBJECT_PLANE, OBJ_GETPROPERTIES, PRIME_HANDLE_TO_FD, RGB565,
    RMFB, SETCRTC, SETPLANE, SET_CLIENT_CAP, VBLANK_RELATIVE, WAIT_VBLANK, XRGB8888,
};
use crate::dumb::{card_of, create, open, Mapped};
use crate::report::{describe, Outcome, Report};

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
    // 640x400 (70 Hz), so that the buffer (12.8 MB) fits beside the console's in 16 MiB.
    let mut mode = mode_640x480(25175);
    (mode.vdisplay, mode.vsync_start, mode.vsync_end, mode.vtotal) = (400, 412, 414, 449);
    let dumb =
        create(&file, 16008, 400, 16).map_err(|e| format!("CREATE_DUMB: {}", describe(&e)))?;
    if dumb.pitch != 16008 * 2 {
        return Err(format!("pitch {} instead of 32016", dumb.pitch));
    }
    let fb =
        add_fb(&file, &dumb, 640, 400, RGB565).map_err(|e| format!("ADDFB2: {}", describe(&e)))?;
    match set_crtc(&file, crtc, conn, fb, mode) {
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
    let pipe = ModesetPipe::open(path)?;
    pipe.light()?;
    pipe.expect_refused(mode_640x480(42_000_000), || {
        Err(format!(
            "SETCRTC accepted it; {}",
            VblankRate::measure(path)?
        ))
    })
}

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

// ---------------------------------------------------------------------------------------------
// `kms-holes3`: the third review's findings (see the commit message and docs/drm.md). Each check
// FAILS while its hole is open.

/// The primary plane (the only one), seen with universal planes on `file`.
fn primary_plane(file: &File) -> Result<u32, String> {
    let mut cap = ClientCap {
        capability: CLIENT_CAP_UNIVERSAL_PLANES,
        value: 1,
    };
    ioctl(file, SET_CLIENT_CAP, &mut cap)
        .map_err(|e| format!("SET_CLIENT_CAP UNIVERSAL_PLANES: {}", describe(&e)))?;
    let mut res = PlaneRes::default();
    ioctl(file, GETPLANERESOURCES, &mut res).map_err(|e| describe(&e))?;
    let mut planes = vec![0u32; res.count_planes as usize];
    res.plane_id_ptr = planes.as_mut_ptr() as u64;
    ioctl(file, GETPLANERESOURCES, &mut res).map_err(|e| describe(&e))?;
    planes.first().copied().ok_or_else(|| "no plane".into())
}

#[allow(clippy::too_many_arguments)]
fn set_plane(
    file: &File,
    plane: u32,
    crtc: u32,
    fb: u32,
    (crtc_x, crtc_y): (i32, i32),
    (w, h): (u32, u32),
    (src_x, src_y): (u32, u32),
) -> io::Result<()> {
    let mut set = SetPlane {
        plane_id: plane,
        crtc_id: crtc,
        fb_id: fb,
        crtc_x,
        crtc_y,
        crtc_w: w,
        crtc_h: h,
        src_x: src_x << 16,
        src_y: src_y << 16,
        src_w: w << 16,
        src_h: h << 16,
        ..Default::default()
    };
    ioctl(file, SETPLANE, &mut set)
}

/// `SETCRTC` with `(x, y)` as the framebuffer position.
fn set_crtc_at(
    file: &File,
    crtc: u32,
    conn: u32,
    fb: u32,
    (x, y): (u32, u32),
    mode: ModeInfo,
) -> io::Result<()> {
    let conns = [conn];
    let mut set = ModeCrtc {
        set_connectors_ptr: conns.as_ptr() as u64,
        count_connectors: 1,
        crtc_id: crtc,
        fb_id: fb,
        x,
        y,
        mode_valid: 1,
        mode,
        ..Default::default()
    };
    ioctl(file, SETCRTC, &mut set)
}

/// Turns the CRTC off (`SETCRTC` without a framebuffer).
fn crtc_off(file: &File, crtc: u32) {
    let mut set = ModeCrtc {
        crtc_id: crtc,
        ..Default::default()
    };
    let _ = ioctl(file, SETCRTC, &mut set);
}

/// The 16-bit words of the page of BAR `bar` of `pci` at byte `offset` (rounded down).
fn bar_words_at(pci: &str, bar: u32, offset: usize) -> Result<Vec<u16>, String> {
    let path = format!("/sys/bus/pci/devices/{pci}/resource{bar}");
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| format!("{path}: {e}"))?;
    let page = offset & !4095;
    // SAFETY: a new shared mapping of one page of the BAR, unmapped below.
    let addr = unsafe {
        libc::mmap(
            ptr::null_mut(),
            4096,
            PROT_READ,
            MAP_SHARED,
            file.as_raw_fd(),
            page as libc::off_t,
        )
    };
    if addr == MAP_FAILED {
        return Err(format!(
            "mmap {path}@{page:#x}: {}",
            io::Error::last_os_error()
        ));
    }
    let words = (0..2048)
        // SAFETY: inside the page mapped above.
        .map(|i| unsafe { ptr::read_volatile(addr.cast::<u16>().add(i)) })
        .collect();
    // SAFETY: the mapping made above.
    unsafe { libc::munmap(addr, 4096) };
    Ok(words)
}

/// The primary plane made larger than the CRTC and moved 64 pixels left (SETPLANE, `crtc_x` =
/// -64): the core clips it, so the screen must show the framebuffer from column 64, exactly as
/// `SETCRTC` with `x` = 64 does. `PipeState::source()` reads the unclipped `src_x` instead of
/// `plane_state->src.x1`, so the card shows column 0: the picture is off by 64 pixels.
fn clipped_plane_position(path: &Path) -> Outcome {
    let file = open(path).map_err(|e| format!("open: {}", describe(&e)))?;
    let plane = primary_plane(&file)?;
    let (crtc, conn) = pipe(&file).map_err(|e| format!("resources: {}", describe(&e)))?;
    let dumb = create(&file, 704, 480, 32).map_err(|e| format!("CREATE_DUMB: {}", describe(&e)))?;
    let fb = add_fb(&file, &dumb, 704, 480, XRGB8888)
        .map_err(|e| format!("ADDFB2: {}", describe(&e)))?;
    let pci = card_of(path)?;
    let outcome = (|| {
        set_crtc_at(&file, crtc, conn, fb, (64, 0), mode_640x480(25175))
            .map_err(|e| format!("SETCRTC x=64: {}", describe(&e)))?;
        let wanted = dispi_scanout(&pci)?;
        set_plane(&file, plane, crtc, fb, (-64, 0), (704, 480), (0, 0))
            .map_err(|e| format!("SETPLANE crtc_x=-64: {}", describe(&e)))?;
        let shown = dispi_scanout(&pci)?;
        if shown == wanted {
            Ok(())
        } else {
            Err(format!(
                "SETPLANE crtc_x=-64 crtc_w=704 src_x=0 shows (VIRT_WIDTH, X_OFFSET, Y_OFFSET) = \
                 {shown:?}; the same visible pixels through SETCRTC x=64 are {wanted:?}"
            ))
        }
    })();
    crtc_off(&file, crtc);
    outcome
}

/// A primary plane moved wholly off the screen is accepted with the CRTC on, and the card keeps
/// scanning out the previous framebuffer's VRAM, which its owner then frees: the next dumb
/// buffer (here a non-master's) gets that range, and the screen shows it.
fn invisible_plane_keeps_freed_scanout(path: &Path) -> Outcome {
    let master = open(path).map_err(|e| format!("open: {}", describe(&e)))?;
    let plane = primary_plane(&master)?;
    let (crtc, conn) = pipe(&master).map_err(|e| format!("resources: {}", describe(&e)))?;
    let pci = card_of(path)?;
    let a = create(&master, 640, 480, 32).map_err(|e| format!("CREATE_DUMB: {}", describe(&e)))?;
    let fb_a =
        add_fb(&master, &a, 640, 480, XRGB8888).map_err(|e| format!("ADDFB2: {}", describe(&e)))?;
    let b = create(&master, 640, 480, 32).map_err(|e| format!("CREATE_DUMB: {}", describe(&e)))?;
    let fb_b =
        add_fb(&master, &b, 640, 480, XRGB8888).map_err(|e| format!("ADDFB2: {}", describe(&e)))?;
    let outcome = (|| {
        set_crtc(&master, crtc, conn, fb_a, mode_640x480(25175))
            .map_err(|e| format!("SETCRTC: {}", describe(&e)))?;
        let before = dispi_scanout(&pci)?;
        match set_plane(&master, plane, crtc, fb_b, (-4000, 0), (640, 480), (0, 0)) {
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => return Ok(()),
            Err(e) => return Err(format!("SETPLANE off screen: {}", describe(&e))),
            Ok(()) => {}
        }
        let after = dispi_scanout(&pci)?;
        // Framebuffer A and its buffer go away: its VRAM is free.
        let mut id = fb_a;
        ioctl(&master, RMFB, &mut id).map_err(|e| format!("RMFB: {}", describe(&e)))?;
        let mut destroy = DestroyDumb { handle: a.handle };
        ioctl(&master, DESTROY_DUMB, &mut destroy)
            .map_err(|e| format!("DESTROY_DUMB: {}", describe(&e)))?;
        // Another opener, no master, draws into a new buffer.
        let other = open(path).map_err(|e| format!("open: {}", describe(&e)))?;
        let c = create(&other, 640, 480, 32).map_err(|e| describe(&e))?;
        let mut mapped = Mapped::new(&other, &c).map_err(|e| describe(&e))?;
        mapped.as_mut_slice().fill(0x77);
        let (virt, x, y) = after;
        let start = (usize::from(y) * usize::from(virt) + usize::from(x)) * 4;
        let shown = bar_words_at(&pci, 0, start)?;
        let others = shown.iter().filter(|&&w| w == 0x7777).count();
        Err(format!(
            "SETPLANE with the plane off screen (crtc_x=-4000) accepted with the CRTC on; the \
             scanout stays {before:?} -> {after:?} (framebuffer A's); after RMFB A and \
             DESTROY_DUMB, a non-master's new buffer fills {others} of the 2048 words at the \
             scanout start {start:#x}"
        ))
    })();
    crtc_off(&master, crtc);
    outcome
}

/// A 640x480 mode whose `vscan` = 2 and `vtotal` = 32769: `drm_mode_set_crtcinfo()` multiplies
/// `crtc_vtotal` (a u16) by `vscan`, which wraps to 2, and the vblank timer ticks at
/// clock / (htotal * 2): 15.7 kHz, past the 1000 Hz `mode_valid` means to bound (it bounds
/// clock / (hdisplay * vdisplay) and never looks at vscan, interlace or doublescan).
fn vscan_wraps_vblank_rate(path: &Path) -> Outcome {
    let pipe = ModesetPipe::open(path)?;
    pipe.light()?;
    let mut mode = mode_640x480(25175);
    mode.vtotal = 32769;
    mode.vscan = 2;
    pipe.expect_refused(mode, || {
        let rate = VblankRate::measure(path)?;
        if rate.bounded() {
            return Ok(());
        }
        Err(format!(
            "SETCRTC accepted vtotal=32769 vscan=2 (clock 25.175 MHz); {rate}"
        ))
    })
}

/// A DRM node opened for the mode checks, with its pipe and a 640x480 XRGB8888 framebuffer.
struct ModesetPipe {
    file: File,
    crtc: u32,
    conn: u32,
    fb: u32,
}

impl ModesetPipe {
    fn open(path: &Path) -> Result<Self, String> {
        let file = open(path).map_err(|e| format!("open: {}", describe(&e)))?;
        let (crtc, conn) = pipe(&file).map_err(|e| format!("resources: {}", describe(&e)))?;
        let dumb =
            create(&file, 640, 480, 32).map_err(|e| format!("CREATE_DUMB: {}", describe(&e)))?;
        let fb = add_fb(&file, &dumb, 640, 480, XRGB8888)
            .map_err(|e| format!("ADDFB2: {}", describe(&e)))?;
        Ok(Self {
            file,
            crtc,
            conn,
            fb,
        })
    }

    /// A sane mode first, 640x480 at 60 Hz: the pipe works, and the CRTC is on.
    fn light(&self) -> Outcome {
        set_crtc(
            &self.file,
            self.crtc,
            self.conn,
            self.fb,
            mode_640x480(25175),
        )
        .map_err(|e| format!("SETCRTC 640x480@60: {}", describe(&e)))
    }

    /// `SETCRTC` of `mode` must fail with `EINVAL`; if it is accepted, `accepted` judges what
    /// the mode does. The CRTC is off afterwards.
    fn expect_refused(&self, mode: ModeInfo, accepted: impl FnOnce() -> Outcome) -> Outcome {
        let outcome = match set_crtc(&self.file, self.crtc, self.conn, self.fb, mode) {
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Ok(()),
            Err(e) => Err(format!("SETCRTC: {} (expected EINVAL)", describe(&e))),
            Ok(()) => accepted(),
        };
        crtc_off(&self.file, self.crtc);
        outcome
    }
}

/// The vblank rate a second opener (any opener may wait for vblanks, not only the master) sees:
/// 2000 relative vblank waits, timed from the vblank after the first.
struct VblankRate {
    waited: io::Result<()>,
    elapsed: std::time::Duration,
    hz: f64,
}

impl VblankRate {
    fn measure(path: &Path) -> Result<Self, String> {
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
            sequence: 2000,
            ..Default::default()
        };
        let waited = ioctl(&other, WAIT_VBLANK, &mut wait);
        let elapsed = start.elapsed();
        Ok(Self {
            waited,
            elapsed,
            hz: 2000.0 / elapsed.as_secs_f64(),
        })
    }

    /// Whether the waits worked and the timer stayed within `mode_valid`'s 1000 Hz (and a
    /// tenth for the guest clock's steps).
    fn bounded(&self) -> bool {
        self.waited.is_ok() && self.hz <= 1100.0
    }
}

impl std::fmt::Display for VblankRate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "2000 vblanks (WAIT_VBLANK by a non-master: {}) took {:?}: {:.0} Hz",
            self.waited
                .as_ref()
                .map_or_else(describe, |()| "ok".to_string()),
            self.elapsed,
            self.hz
        )
    }
}

/// A named check of the DRM node at a path.
type Check = (&'static str, fn(&Path) -> Outcome);

/// A commit's vblank wait gives up after one second, with a warning: a mode whose frames last
/// longer (found by kfuzz at the old 1 Hz bound) let any master make the kernel warn. 840 kHz
/// over 800x525 pixels is 2 Hz.
fn two_hertz_mode_refused(path: &Path) -> Outcome {
    ModesetPipe::open(path)?.expect_refused(mode_640x480(840), || {
        Err("SETCRTC accepted a 2 Hz mode".into())
    })
}

/// A 640x480 mode at a *low* pixel clock (75 kHz) with htotal = 65535 and vtotal = 32082: its
/// refresh is far below 1000 Hz, but `drm_calc_timestamping_constants()` computes
/// `framedur_ns` = 65535 * 32082 * 10^6 / 75 into an `int`, which truncates it to 59008: a
/// 16.9 kHz vblank timer.
fn low_clock_truncates_vblank_rate(path: &Path) -> Outcome {
    let mut mode = mode_640x480(75);
    mode.htotal = 65535;
    mode.vtotal = 32082;
    ModesetPipe::open(path)?.expect_refused(mode, || {
        let rate = VblankRate::measure(path)?;
        if rate.bounded() {
            return Ok(());
        }
        Err(format!(
            "SETCRTC accepted htotal=65535 vtotal=32082 clock=75 kHz (a frame every 7.8 \
             hours); {rate}"
        ))
    })
}

/// Interrupts so far (the total of `intr` in /proc/stat) and the time every CPU spent in hard
/// and soft interrupts (the `irq` and `softirq` of its `cpu` line), in clock ticks.
fn local_timer_interrupts() -> Result<(u64, u64), String> {
    let text = std::fs::read_to_string("/proc/stat").map_err(|e| e.to_string())?;
    let field = |name: &str| {
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .map(|l| {
                l.split_whitespace()
                    .skip(1)
                    .filter_map(|w| w.parse::<u64>().ok())
                    .collect::<Vec<_>>()
            })
            .ok_or_else(|| format!("no {name} in /proc/stat"))
    };
    let intr = field("intr")?.first().copied().unwrap_or(0);
    let cpu = field("cpu")?;
    let irq_ticks = cpu.get(5).copied().unwrap_or(0) + cpu.get(6).copied().unwrap_or(0);
    Ok((intr, irq_ticks))
}

/// A mode whose `framedur_ns` truncates to a negative `int` (htotal
/// 65535, vtotal 32768, clock 9 kHz: -1254795947 ns). The vblank timer's interval is then
/// negative, `hrtimer_forward()` raises it to `hrtimer_resolution` (1 ns), and the timer fires
/// back to back: local timer interrupts per second are counted for one second.
fn negative_frame_duration_storm(path: &Path) -> Outcome {
    let pipe = ModesetPipe::open(path)?;
    let idle_start = local_timer_interrupts()?;
    std::thread::sleep(std::time::Duration::from_secs(1));
    let idle = local_timer_interrupts()?;
    let idle = (idle.0 - idle_start.0, idle.1 - idle_start.1);
    let mut mode = mode_640x480(9);
    mode.htotal = 65535;
    mode.vtotal = 32768;
    let start = Instant::now();
    pipe.expect_refused(mode, || {
        let setcrtc = start.elapsed();
        let before = local_timer_interrupts()?;
        let t = Instant::now();
        std::thread::sleep(std::time::Duration::from_secs(1));
        let during = local_timer_interrupts()?;
        let during = (during.0 - before.0, during.1 - before.1);
        let slept = t.elapsed();
        Err(format!(
            "SETCRTC accepted htotal=65535 vtotal=32768 clock=9 kHz (took {setcrtc:?}); \
             (interrupts, ticks in irq+softirq): {idle:?} in 1 s idle, {during:?} in the \
             next {slept:?}"
        ))
    })
}

/// A 640x480 mode at 60 Hz whose totals are large: htotal 65535, vtotal 34130, clock
/// 134202573 kHz. `mode_valid` computes htotal * vtotal in a u64 and sees 60 Hz, inside its
/// 10..1000 Hz bounds, but `drm_calc_timestamping_constants()` (drivers/gpu/drm/drm_vblank.c)
/// keeps `int frame_size = mode->crtc_htotal * mode->crtc_vtotal`: 2236709550 wraps to a
/// negative `int`, `(u64) frame_size * 1000000` wraps too, and `framedur_ns` comes out
/// 183525 ns: a 5.4 kHz vblank timer. With vtotal 65535 at 60 Hz it is negative
/// (-1429471552), which `hrtimer_forward()` raises to `hrtimer_resolution`: a storm. Any
/// frame of more than `i32::MAX` pixels must be refused.
fn int_frame_size_wraps(path: &Path) -> Outcome {
    let mut mode = mode_640x480(134_202_573);
    mode.htotal = 65535;
    mode.vtotal = 34130;
    ModesetPipe::open(path)?.expect_refused(mode, || {
        let rate = VblankRate::measure(path)?;
        Err(format!(
            "SETCRTC accepted htotal=65535 vtotal=34130 clock=134202573 kHz (60 Hz, but \
             2236709550 pixels a frame wrap the vblank code's int); {rate}"
        ))
    })
}

/// Kernel log records from now on: `/dev/kmsg`, opened at its end, non-blocking.
struct KernelLog(OwnedFd);

impl KernelLog {
    fn open() -> Result<Self, String> {
        // SAFETY: a NUL-terminated path; the descriptor is checked below.
        let fd = unsafe {
            libc::open(
                c"/dev/kmsg".as_ptr(),
                libc::O_RDONLY | libc::O_NONBLOCK | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(format!(
                "/dev/kmsg: {}",
                describe(&io::Error::last_os_error())
            ));
        }
        // SAFETY: a descriptor we just opened and own; SEEK_END skips the earlier records.
        let fd = unsafe {
            libc::lseek(fd, 0, libc::SEEK_END);
            OwnedFd::from_raw_fd(fd)
        };
        Ok(Self(fd))
    }

    /// Whether a record since the last call contains `needle`.
    fn saw(&self, needle: &str) -> bool {
        let mut found = false;
        let mut buf = [0u8; 8192];
        loop {
            // SAFETY: reads one record into our buffer.
            let n = unsafe { libc::read(self.0.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EPIPE) {
                continue;
            }
            if n <= 0 {
                return found;
            }
            found |= String::from_utf8_lossy(&buf[..n as usize]).contains(needle);
        }
    }
}

/// The id of the property `name` of object `id` of type `kind`.
fn property_id(file: &File, id: u32, kind: u32, name: &str) -> Result<u32, String> {
    let mut props = ObjProps {
        obj_id: id,
        obj_type: kind,
        ..Default::default()
    };
    ioctl(file, OBJ_GETPROPERTIES, &mut props).map_err(|e| describe(&e))?;
    let mut ids = vec![0u32; props.count_props as usize];
    let mut values = vec![0u64; props.count_props as usize];
    props.props_ptr = ids.as_mut_ptr() as u64;
    props.prop_values_ptr = values.as_mut_ptr() as u64;
    ioctl(file, OBJ_GETPROPERTIES, &mut props).map_err(|e| describe(&e))?;
    ids.truncate(props.count_props as usize);
    for prop_id in ids {
        let mut prop = GetProperty {
            prop_id,
            ..Default::default()
        };
        ioctl(file, GETPROPERTY, &mut prop).map_err(|e| describe(&e))?;
        let len = prop.name.iter().position(|&b| b == 0).unwrap_or(32);
        if &prop.name[..len] == name.as_bytes() {
            return Ok(prop_id);
        }
    }
    Err(format!("object {id} has no {name}"))
}

/// The `vblank wait timed out` warning kfuzz met (docs/fuzzing.md), on an idle guest: a
/// nonblocking atomic modeset of the lit CRTC to another 60 Hz mode, then at once a blocking
/// commit that turns the CRTC off (legacy SETCRTC without a framebuffer).
///
/// The nonblocking commit's worker (`drm_atomic_helper_commit_tail()`) turns vblank off
/// (`crtc_atomic_disable` → `drm_crtc_vblank_off()`), then flushes the CRTC:
/// `drm_crtc_vblank_atomic_flush()` cannot get a vblank reference while vblank is off, so it
/// sends the commit's event (the core's own, for flip_done) at once. It turns vblank back on,
/// signals hw_done, and `drm_atomic_helper_wait_for_vblanks()` samples the vblank count and
/// waits up to one second for the next vblank, a frame (16.7 ms) away. The off commit waits in
/// `drm_atomic_helper_swap_state()` and `drm_atomic_helper_wait_for_dependencies()` only for
/// the earlier commit's hw_done and flip_done, both done by then, so it goes on to
/// `drm_crtc_vblank_off()`, which stops the vblank timer without counting a vblank: the worker
/// waits out its second and warns. The same comes from any commit that needs a modeset followed
/// within a frame by one that turns the CRTC off; kfuzz's legacy page flip hit it only when the
/// host starved the guest. vkms, on the same vblank timer, waits for flip_done instead
/// (`vkms_atomic_commit_tail()`).
fn modeset_then_off_vblank_timeout(path: &Path) -> Outcome {
    let ModesetPipe {
        file,
        crtc,
        conn,
        fb,
    } = ModesetPipe::open(path)?;
    let mut cap = ClientCap {
        capability: CLIENT_CAP_ATOMIC,
        value: 1,
    };
    ioctl(&file, SET_CLIENT_CAP, &mut cap)
        .map_err(|e| format!("SET_CLIENT_CAP ATOMIC: {}", describe(&e)))?;
    let mode_id = property_id(&file, crtc, OBJECT_CRTC, "MODE_ID")?;
    // 640x480 at 60.05 Hz: another mode, so a modeset.
    let other = mode_640x480(25200);
    let mut blob = crate::drm_abi::CreateBlob {
        data: ptr::addr_of!(other) as u64,
        length: size_of::<ModeInfo>() as u32,
        ..Default::default()
    };
    ioctl(&file, crate::drm_abi::CREATEPROPBLOB, &mut blob)
        .map_err(|e| format!("CREATEPROPBLOB: {}", describe(&e)))?;
    let log = KernelLog::open()?;
    let mut outcome = Ok(());
    for round in 1..=3 {
        set_crtc(&file, crtc, conn, fb, mode_640x480(25175))
            .map_err(|e| format!("SETCRTC: {}", describe(&e)))?;
        let objs = [crtc];
        let counts = [1u32];
        let props = [mode_id];
        let values = [u64::from(blob.blob_id)];
        let mut commit = crate::drm_abi::Atomic {
            flags: 0x0200 | 0x0400, // NONBLOCK | ALLOW_MODESET
            count_objs: 1,
            objs_ptr: objs.as_ptr() as u64,
            count_props_ptr: counts.as_ptr() as u64,
            props_ptr: props.as_ptr() as u64,
            prop_values_ptr: values.as_ptr() as u64,
            ..Default::default()
        };
        if let Err(e) = ioctl(&file, crate::drm_abi::ATOMIC, &mut commit) {
            outcome = Err(format!("ATOMIC NONBLOCK modeset: {}", describe(&e)));
            break;
        }
        crtc_off(&file, crtc);
        std::thread::sleep(std::time::Duration::from_millis(1500));
        if log.saw("vblank wait timed out") {
            outcome = Err(format!(
                "round {round}: a nonblocking modeset, then the CRTC off: the kernel warned \
                 `vblank wait timed out` (drm_atomic_helper_wait_for_vblanks)"
            ));
            break;
        }
    }
    let mut destroy = crate::drm_abi::DestroyBlob {
        blob_id: blob.blob_id,
    };
    let _ = ioctl(&file, crate::drm_abi::DESTROYPROPBLOB, &mut destroy);
    crtc_off(&file, crtc);
    outcome
}

/// Fills the page of BAR `bar` of `pci` at byte `offset` (rounded down) with `byte`, through
/// sysfs `resourceN`.
fn bar_fill_page(pci: &str, bar: u32, offset: usize, byte: u8) -> Outcome {
    let path = format!("/sys/bus/pci/devices/{pci}/resource{bar}");
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| format!("{path}: {e}"))?;
    let page = offset & !4095;
    // SAFETY: a new shared mapping of one page of the BAR, unmapped below.
    let addr = unsafe {
        libc::mmap(
            ptr::null_mut(),
            4096,
            PROT_READ | PROT_WRITE,
            MAP_SHARED,
            file.as_raw_fd(),
            page as libc::off_t,
        )
    };
    if addr == MAP_FAILED {
        return Err(format!(
            "mmap {path}@{page:#x}: {}",
            io::Error::last_os_error()
        ));
    }
    for i in 0..4096 {
        // SAFETY: inside the page mapped above.
        unsafe { ptr::write_volatile(addr.cast::<u8>().add(i), byte) };
    }
    // SAFETY: the mapping made above.
    unsafe { libc::munmap(addr, 4096) };
    Ok(())
}

/// How many 16-bit words of VRAM's first page are `word`.
fn vram_first_page_count(pci: &str, word: u16) -> Result<usize, String> {
    Ok(bar_words_at(pci, 0, 0)?
        .iter()
        .filter(|&&w| w == word)
        .count())
}

/// A process keeps `/dev/fb0` (the fbdev emulation's shadow) mapped while the card is unbound,
/// and rebound. Unbind zaps every user mapping of VRAM (`SIGBUS`, docs/drm.md), but a write to
/// the fbdev mapping goes on reaching VRAM: the deferred-I/O worker blits the shadow's damage
/// into the emulation's dumb buffer through `vmap`, which is a fresh `ioremap_wc()` of the BAR's
/// physical pages made after the binding is gone (`UserMappedBar::map_kernel_wc`). Once the card
/// is bound again, the stale process writes into VRAM the new binding owns (its own console's
/// buffer at VRAM offset 0 here; any driver's, vfio-pci's, or another device's after a hot
/// unplug).
fn fbdev_writes_after_unbind(path: &Path) -> Outcome {
    let pci = card_of(path)?;
    let fb = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/fb0")
        .map_err(|e| format!("/dev/fb0: {e}"))?;
    let fix = bochsfb_renderer::device::fb_get_fix(&fb)
        .map_err(|e| format!("FBIOGET_FSCREENINFO: {}", describe(&e)))?;
    let len = fix.smem_len as usize;
    if len < 4096 {
        return Err(format!("/dev/fb0: smem_len {len}"));
    }
    // SAFETY: a new shared mapping of /dev/fb0, unmapped below.
    let addr = unsafe {
        libc::mmap(
            ptr::null_mut(),
            len,
            PROT_READ | PROT_WRITE,
            MAP_SHARED,
            fb.as_raw_fd(),
            0,
        )
    };
    if addr == MAP_FAILED {
        return Err(format!("mmap /dev/fb0: {}", io::Error::last_os_error()));
    }
    let fill = |byte: u8| {
        for i in 0..4096 {
            // SAFETY: inside the mapping made above (at least a page, checked).
            unsafe { ptr::write_volatile(addr.cast::<u8>().add(i), byte) };
        }
    };
    let settle = || std::thread::sleep(std::time::Duration::from_millis(600));
    let log = KernelLog::open()?;
    let mut findings = Vec::new();
    let result = (|| -> Outcome {
        crate::unbind::sysfs_write("unbind", &pci)?;
        // Unbound: VRAM belongs to nobody; clear its first page through sysfs.
        bar_fill_page(&pci, 0, 0, 0)?;
        let before = vram_first_page_count(&pci, 0x5a5a)?;
        fill(0x5a);
        settle();
        let after = vram_first_page_count(&pci, 0x5a5a)?;
        if after > before + 1024 {
            findings.push(format!(
                "unbound: writing 0x5a to /dev/fb0's mapping put {after} of 2048 words 0x5a5a \
                 into VRAM's first page (was {before})"
            ));
        }
        crate::unbind::sysfs_write("bind", &pci)?;
        // The old device keeps its minor while /dev/fb0 is open: the new one is another card.
        let deadline = Instant::now() + std::time::Duration::from_secs(10);
        while std::fs::read_dir(format!("/sys/bus/pci/devices/{pci}/drm"))
            .map(|d| d.count() == 0)
            .unwrap_or(true)
        {
            if Instant::now() > deadline {
                return Err(format!("{pci} has no DRM device 10 s after bind"));
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        settle();
        let before = vram_first_page_count(&pci, 0xa5a5)?;
        fill(0xa5);
        settle();
        let after = vram_first_page_count(&pci, 0xa5a5)?;
        if after > before + 1024 {
            findings.push(format!(
                "rebound: writing 0xa5 to the old /dev/fb0 mapping put {after} of 2048 words \
                 0xa5a5 into VRAM's first page (the new binding's, was {before})"
            ));
        }
        Ok(())
    })();
    // SAFETY: the mapping made above.
    unsafe { libc::munmap(addr, len) };
    drop(fb);
    // With /dev/fb0 closed the old device is gone: bind once more so that the card is `path`
    // again for the checks after this one.
    if !path.exists() {
        let _ = crate::unbind::sysfs_write("unbind", &pci);
        let _ = crate::unbind::sysfs_write("bind", &pci);
        let _ = crate::unbind::wait_for_node(path, std::time::Duration::from_secs(10));
    }
    if let Err(e) = result {
        findings.push(e);
    }
    if log.saw("WARNING") {
        findings.push("the kernel warned (WARNING in the log)".into());
    }
    if findings.is_empty() {
        Ok(())
    } else {
        Err(findings.join("; "))
    }
}

/// Where drm_panic draws on a framebuffer that starts 16 lines into its buffer and is shown
/// from (64, 32) in a 640x480 mode: over exactly the pixels the screen shows (only the panic
/// screen's black and white there, some of it white), and nowhere else in the buffer, whose
/// pattern must stay. drm_panic is triggered through its debugfs file, the path a panic takes.
fn panic_geometry(path: &Path) -> Outcome {
    const PATTERN: u32 = 0x0012_3456;
    // A buffer of 16 + 512 lines of 704 pixels; the framebuffer from line 16, shown from (64, 32).
    const WIDTH: u32 = 704;
    const HEIGHT: u32 = 512;
    const SKIP: u32 = 16;
    const X: u32 = 64;
    const Y: u32 = 32;
    let file = open(path).map_err(|e| format!("open: {}", describe(&e)))?;
    let (crtc, conn) = pipe(&file).map_err(|e| format!("resources: {}", describe(&e)))?;
    let dumb = create(&file, WIDTH, HEIGHT + SKIP, 32)
        .map_err(|e| format!("CREATE_DUMB: {}", describe(&e)))?;
    let mut mapped = Mapped::new(&file, &dumb).map_err(|e| describe(&e))?;
    for pixel in mapped.as_mut_slice().chunks_exact_mut(4) {
        pixel.copy_from_slice(&PATTERN.to_le_bytes());
    }
    let mut cmd = FbCmd2 {
        width: WIDTH,
        height: HEIGHT,
        pixel_format: XRGB8888,
        ..Default::default()
    };
    cmd.handles[0] = dumb.handle;
    cmd.pitches[0] = dumb.pitch;
    cmd.offsets[0] = SKIP * dumb.pitch;
    ioctl(&file, ADDFB2, &mut cmd).map_err(|e| format!("ADDFB2: {}", describe(&e)))?;
    let outcome = (|| {
        set_crtc_at(&file, crtc, conn, cmd.fb_id, (X, Y), mode_640x480(25175))
            .map_err(|e| format!("SETCRTC at ({X}, {Y}): {}", describe(&e)))?;
        trigger_panic_screen()?;
        let pitch = dumb.pitch as usize / 4;
        let pixels: Vec<u32> = mapped
            .as_mut_slice()
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let (mut white, mut wrong_inside, mut drawn_outside) = (0, 0, 0);
        for (i, &pixel) in pixels.iter().enumerate() {
            let (x, y) = ((i % pitch) as u32, (i / pitch) as u32);
            let shown = (X..X + 640).contains(&x) && (SKIP + Y..SKIP + Y + 480).contains(&y);
            match (shown, pixel & 0x00ff_ffff) {
                (true, 0x00ff_ffff) => white += 1,
                (true, 0) => {}
                (true, _) => wrong_inside += 1,
                (false, PATTERN) => {}
                (false, _) => drawn_outside += 1,
            }
        }
        if wrong_inside == 0 && drawn_outside == 0 && white > 0 {
            Ok(())
        } else {
            Err(format!(
                "of the 640x480 pixels shown, {white} are white and {wrong_inside} neither black \
                 nor white; {drawn_outside} pixels outside them lost their pattern"
            ))
        }
    })();
    crtc_off(&file, crtc);
    outcome
}

/// Makes drm_panic draw its screen on the first plane it registered, through its debugfs
/// trigger (`CONFIG_DRM_PANIC_DEBUG`), as it would in a panic.
fn trigger_panic_screen() -> Outcome {
    let debugfs = Path::new("/sys/kernel/debug");
    if !debugfs.join("dri").exists() {
        let status = std::process::Command::new("mount")
            .args(["-t", "debugfs", "none", "/sys/kernel/debug"])
            .status()
            .map_err(|e| format!("mount debugfs: {e}"))?;
        if !status.success() {
            return Err(format!("mount debugfs: {status}"));
        }
    }
    let trigger = std::fs::read_dir(debugfs.join("dri"))
        .map_err(|e| format!("{}/dri: {e}", debugfs.display()))?
        .filter_map(|entry| Some(entry.ok()?.path().join("drm_panic_plane_0")))
        .find(|file| file.exists())
        .ok_or("no drm_panic_plane_0 in debugfs: the face gives drm_panic no plane")?;
    std::fs::write(&trigger, "1").map_err(|e| format!("{}: {e}", trigger.display()))
}

/// Whether a command-line argument (the `--only` name) contains `word`.
fn only_name_has(word: &str) -> bool {
    std::env::args().any(|a| a.contains(word))
}

/// Opt-in (`--only text-paint`), for the e2e test that looks at the screen
/// (`the_screen_of_an_off_crtc_shows_no_client_vram` in tests/e2e/kms.rs): with the CRTC off in
/// DRM's state, a second, non-master opener fills the first dumb buffer (VRAM offset 0) with a
/// pattern (bytes `'#'` and 0x4f, which VGA text mode would also show as characters). The
/// buffer is freed at exit; its VRAM is only zeroed when the next buffer takes it.
fn text_paint(path: &Path) -> Outcome {
    let master = open(path).map_err(|e| format!("open: {}", describe(&e)))?;
    let (crtc, conn) = pipe(&master).map_err(|e| format!("resources: {}", describe(&e)))?;
    if only_name_has("after-modeset") {
        // A modeset shows the master's (black) buffer at VRAM offset 0, then the CRTC is turned
        // off and the buffer freed.
        let dumb = create(&master, 640, 480, 32).map_err(|e| describe(&e))?;
        let fb = add_fb(&master, &dumb, 640, 480, XRGB8888).map_err(|e| describe(&e))?;
        set_crtc(&master, crtc, conn, fb, mode_640x480(25175)).map_err(|e| describe(&e))?;
        crtc_off(&master, crtc);
        let mut id = fb;
        let _ = ioctl(&master, RMFB, &mut id);
        let mut destroy = DestroyDumb {
            handle: dumb.handle,
        };
        let _ = ioctl(&master, DESTROY_DUMB, &mut destroy);
    }
    crtc_off(&master, crtc);
    let other = open(path).map_err(|e| format!("open: {}", describe(&e)))?;
    let dumb = create(&other, 1024, 768, 32).map_err(|e| describe(&e))?;
    let mut mapped = Mapped::new(&other, &dumb).map_err(|e| describe(&e))?;
    for cell in mapped.as_mut_slice().chunks_mut(4) {
        cell.copy_from_slice(&[b'#', 0x4f, b'#', 0x4f]);
    }
    Ok(())
}

/// Every check, named `name: what it checks`; `only` runs those whose name contains it.
/// The first one needs the card as probe left it.
pub fn run(path: &Path, only: Option<&str>, report: &mut Report) {
    let checks: [Check; 16] = [
        (
            "probe-scanout: before any modeset, a non-master's buffer is not what the screen shows",
            non_master_not_on_screen,
        ),
        (
            "atomic: an atomic client sees the plane's, CRTC's and connector's atomic properties",
            atomic_properties,
        ),
        (
            "zeroed: a new dumb buffer does not show what a freed one held (another opener's \
             pixels)",
            freed_buffer_leaks,
        ),
        (
            "long-line: a framebuffer with lines of 16008 pixels is refused (QEMU clamps \
             VIRT_WIDTH to 16000)",
            long_line_refused,
        ),
        (
            "prime: PRIME export of a VRAM dumb buffer is refused (docs/drm.md)",
            prime_export_refused,
        ),
        (
            "clock: a 640x480 mode with a 42 GHz pixel clock (100 kHz vblank timer) is refused",
            absurd_clock_refused,
        ),
        (
            "clip: a plane clipped by the CRTC (crtc_x < 0) shows its visible part, not column 0",
            clipped_plane_position,
        ),
        (
            "offscreen: an off-screen primary plane with the CRTC on is refused (or not scanning \
             freed VRAM)",
            invisible_plane_keeps_freed_scanout,
        ),
        (
            "vscan: a mode whose vscan wraps crtc_vtotal is refused (vblank timer > 1000 Hz)",
            vscan_wraps_vblank_rate,
        ),
        (
            "lowclock: a mode whose frame duration overflows an int is refused (vblank timer > \
             1000 Hz)",
            low_clock_truncates_vblank_rate,
        ),
        (
            "storm: a mode whose frame duration truncates to a negative int is refused",
            negative_frame_duration_storm,
        ),
        (
            "slow: a 640x480 mode at 2 Hz is refused (a commit waits at most 1 s for a vblank, \
             then warns)",
            two_hertz_mode_refused,
        ),
        (
            "bigframe: a 60 Hz mode of more than 2^31 pixels a frame (htotal*vtotal wraps the \
             vblank code's int) is refused",
            int_frame_size_wraps,
        ),
        (
            "modeset-off: a nonblocking modeset, then at once the CRTC off, makes no `vblank \
             wait timed out` warning",
            modeset_then_off_vblank_timeout,
        ),
        (
            "fbdev-unbind: writes to a /dev/fb0 mapping kept across unbind and rebind do not \
             reach VRAM (the new binding's)",
            fbdev_writes_after_unbind,
        ),
        (
            "panic-geometry: drm_panic draws over exactly the part of a panned, offset \
             framebuffer the screen shows",
            panic_geometry,
        ),
    ];
    for (name, check) in checks {
        if only.is_none_or(|only| name.contains(only)) {
            report.check(name, check(path));
        }
    }
    // Opt-in: run only when named.
    let opt_in: [Check; 1] = [(
        "text-paint: a non-master fills VRAM offset 0 with VGA text cells (for the e2e screen \
         check; `text-paint-after-modeset` after a modeset and the CRTC off)",
        text_paint,
    )];
    for (name, check) in opt_in {
        if only.is_some_and(|only| name.contains(only)) {
            report.check(name, check(path));
        }
    }
}
