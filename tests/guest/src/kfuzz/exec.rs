//! Runs kfuzz programs against the card, checks the invariants a call or a program must keep,
//! and hands each call's KCOV trace to the caller.
//!
//! Memory safety: the kernel writes only into the scratch buffer (a guard page after it stops
//! any copy that runs long) or into mappings of the card, clamped to the mapping. Every range a
//! call unmaps, protects or touches lies inside a mapping slot, and a slot's range always holds
//! only mappings the executor made: when part of it is unmapped while some slot still covers it,
//! that part is reserved again (anonymous, `PROT_NONE`), so the allocator can never be handed
//! it. Touches fault into return values ([`super::touch`]), never into a crash.

use std::collections::BTreeSet;
use std::ffi::CString;
use std::fmt;
use std::io;
use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};
use std::ptr;
use std::sync::atomic::Ordering::SeqCst;
use std::time::Duration;

use bochsfb_renderer::abi::{
    mmap_region, BochsfbDamage, BochsfbMode, BochsfbRect, BOCHSFB_IOCTL_FLUSH,
    BOCHSFB_IOCTL_GET_MODE, BOCHSFB_IOCTL_PAN, BOCHSFB_IOCTL_SET_MODE, BOCHSFB_IOCTL_WAIT_VSYNC,
    BOCHSFB_MAX_DAMAGE_RECTS,
};
use bochsfb_renderer::device;
use bochsfb_renderer::fb_abi::{
    FbVarScreeninfo, FBIOGET_FSCREENINFO, FBIOGET_VSCREENINFO, FBIOPAN_DISPLAY,
    FBIOPUT_VSCREENINFO, FBIO_WAITFORVSYNC,
};

mod drm;

use drm::DrmState;
pub use drm::{drop_master, probe_call, DrmInfo};

use super::kcov::Kcov;
use super::program::{
    Buf, Call, Ctx, IoKind, Node, Op, Origin, Program, Rects, Req, CHILDREN, FILES, MAPS,
    SYSFS_ATTRS,
};
use super::touch::{self, Touched};
use super::watch::{now_ns, Shared};
use crate::raw::{has_exited, sys, wait_timeout, write_struct, Exit, Guarded, KERNEL_ADDR};
use crate::report::errno_name;
use crate::rng::Rng;

/// `personality(2)`'s READ_IMPLIES_EXEC: `PROT_READ` mappings become executable too.
const READ_IMPLIES_EXEC: libc::c_ulong = 0x0040_0000;
/// Pages one touch call visits at most.
const TOUCH_PAGES: u64 = 1024;
/// The scratch buffer: room for multi-page copies, small for the guest.
pub const SCRATCH_LEN: usize = 1 << 20;
/// Room an ioctl argument needs (the largest struct is `fb_var_screeninfo`, 160 bytes).
const ARG_ROOM: u64 = 4096;
/// Exit status of a child that made a finding (its text is in the shared page).
const CHILD_FOUND: i32 = 3;

/// What kind of problem a run showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A kernel report in the log (BUG, WARNING, KASAN, lockdep, ...).
    KernelReport,
    /// A process stuck in a call past the timeout (e).
    Stuck,
    /// The latency probe waited for the card mutex past the bound (c).
    Latency,
    /// A file without write access changed the card (a).
    ReadOnly,
    /// A fresh opener saw an earlier client's data in the shadow region (b).
    ShadowLeak,
    /// A READ_IMPLIES_EXEC task could not map `PROT_READ` (d).
    ReadImpliesExec,
    /// A process of the fuzzer died of a signal it did not handle.
    Crash,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::KernelReport,
        Kind::Stuck,
        Kind::Latency,
        Kind::ReadOnly,
        Kind::ShadowLeak,
        Kind::ReadImpliesExec,
        Kind::Crash,
    ];

    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::KernelReport => "kernel-report",
            Kind::Stuck => "stuck",
            Kind::Latency => "latency",
            Kind::ReadOnly => "read-only",
            Kind::ShadowLeak => "shadow-leak",
            Kind::ReadImpliesExec => "read-implies-exec",
            Kind::Crash => "crash",
        }
    }
}

/// A problem, and what showed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: Kind,
    pub detail: String,
}

impl Finding {
    pub fn new(kind: Kind, detail: impl Into<String>) -> Finding {
        Finding {
            kind,
            detail: detail.into(),
        }
    }

    /// The inverse of `Display`.
    pub fn parse(text: &str) -> Option<Finding> {
        let (name, detail) = text.split_once(": ").unwrap_or((text, ""));
        let kind = Kind::parse(name)?;
        Some(Finding::new(kind, detail))
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.name(), self.detail)
    }
}

/// Which face of the card the fuzzer works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Face {
    /// `/dev/bochsfbN` (`face=0`).
    Misc,
    /// `/dev/dri/cardN` (`face=1`): DRM/KMS with dumb buffers in VRAM.
    Drm,
}

impl Face {
    pub fn parse(name: &str) -> Result<Face, String> {
        match name {
            "misc" => Ok(Face::Misc),
            "drm" => Ok(Face::Drm),
            _ => Err(format!("{name:?}: the face is misc or drm")),
        }
    }

    /// The node a face's card is at by default.
    pub fn default_device(self) -> &'static str {
        match self {
            Face::Misc => "/dev/bochsfb0",
            Face::Drm => "/dev/dri/card0",
        }
    }
}

/// What every run shares: the card, and how to reach it.
pub struct Env {
    /// `/dev/bochsfbN`, or `/dev/dri/cardN` as it was at the start (see [`Env::node`]).
    pub device: PathBuf,
    pub face: Face,
    /// The DRM face's objects (DRM face only).
    pub drm: Option<DrmInfo>,
    /// The same card through a node on `/tmp`.
    pub tmp_node: PathBuf,
    /// `/sys/class/misc/bochsfbN`.
    pub sysfs: PathBuf,
    /// The card's PCI address, for unbind and bind.
    pub pci: Option<String>,
    /// The mode every program starts in.
    pub default_mode: BochsfbMode,
    pub shared: &'static Shared,
    /// A process in one call (or a child in its calls) this long is stuck.
    pub stuck: Duration,
    pub page: u64,
    /// The personality the fuzzer started with.
    pub persona: libc::c_ulong,
    rdev: std::cell::Cell<u64>,
}

const DRIVER_DIR: &str = "/sys/bus/pci/drivers/bochsfb";

fn cpath(path: &Path) -> CString {
    CString::new(path.as_os_str().as_encoded_bytes()).expect("no NUL in path")
}

fn open_path(path: &Path, flags: libc::c_int) -> io::Result<libc::c_int> {
    // SAFETY: a NUL-terminated path; plain flags.
    sys(unsafe { libc::open(cpath(path).as_ptr(), flags | libc::O_CLOEXEC) } as i64)
        .map(|fd| fd as i32)
}

fn close(fd: libc::c_int) {
    // SAFETY: closes a descriptor the caller owns and no one else uses.
    unsafe { libc::close(fd) };
}

/// `device::get_mode` on one of the executor's descriptors, which are raw: it opens, dups and
/// closes them as a program says.
fn get_mode(fd: libc::c_int) -> io::Result<BochsfbMode> {
    // SAFETY: callers pass one of the executor's open files; nothing closes it during the call
    // (the executor is single-threaded).
    device::get_mode(unsafe { BorrowedFd::borrow_raw(fd) })
}

/// `device::set_mode` on one of the executor's descriptors.
fn set_mode(fd: libc::c_int, mode: &BochsfbMode) -> io::Result<()> {
    // SAFETY: as for `get_mode`.
    device::set_mode(unsafe { BorrowedFd::borrow_raw(fd) }, mode).map(drop)
}

/// The size of BAR 0 (VRAM) of PCI device `pci`, from sysfs; 16 MiB if it cannot be read.
fn vram_size(pci: &str) -> u64 {
    let resource =
        std::fs::read_to_string(Path::new("/sys/bus/pci/devices").join(pci).join("resource"));
    let parse = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok();
    resource
        .ok()
        .and_then(|text| {
            let mut line = text.lines().next()?.split_whitespace();
            let (start, end) = (parse(line.next()?)?, parse(line.next()?)?);
            (end > start).then(|| end - start + 1)
        })
        .unwrap_or(16 << 20)
}

fn rdev_of(path: &Path) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| m.rdev())
}

fn same_mode(a: &BochsfbMode, b: &BochsfbMode) -> bool {
    (a.width, a.height, a.bpp, a.virtual_height) == (b.width, b.height, b.bpp, b.virtual_height)
}

impl Env {
    /// Finds the card behind `device`, makes the `/tmp` node, reads the mode programs start in
    /// (on the DRM face: the pipe's objects; values count from a 1024x768x32 frame there).
    pub fn new(
        device: &Path,
        face: Face,
        shared: &'static Shared,
        stuck: Duration,
    ) -> Result<Env, String> {
        let name = device.file_name().ok_or("no device name")?;
        let sysfs = match face {
            Face::Misc => Path::new("/sys/class/misc").join(name),
            Face::Drm => Path::new("/sys/class/drm").join(name),
        };
        let pci = std::fs::read_link(sysfs.join("device"))
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
        let (default_mode, drm) = match face {
            Face::Misc => {
                let fd = open_path(device, libc::O_RDWR)
                    .map_err(|e| format!("open {}: {e}", device.display()))?;
                let default_mode = get_mode(fd);
                close(fd);
                (default_mode.map_err(|e| format!("GET_MODE: {e}"))?, None)
            }
            Face::Drm => {
                let info = DrmInfo::discover(device)?;
                let vram_size = pci.as_deref().map_or(16 << 20, vram_size);
                let mode = BochsfbMode {
                    width: 1024,
                    height: 768,
                    bpp: 32,
                    virtual_height: 768,
                    fb_size: 1024 * 768 * 4,
                    vram_size,
                    ..Default::default()
                };
                (mode, Some(info))
            }
        };
        // SAFETY: 0xffffffff queries the personality without changing it.
        let persona = unsafe { libc::personality(0xffff_ffff) } as libc::c_ulong;
        let env = Env {
            tmp_node: PathBuf::from("/tmp/kfuzz-")
                .with_file_name(format!("kfuzz-{}", name.to_string_lossy())),
            device: device.to_path_buf(),
            face,
            drm,
            sysfs,
            pci,
            default_mode,
            shared,
            stuck,
            page: crate::device::page_size() as u64,
            persona,
            rdev: std::cell::Cell::new(0),
        };
        env.make_tmp_node();
        Ok(env)
    }

    /// The card's node now: `device`, or on the DRM face the card's DRM node, which a bind
    /// while an old file is still open numbers anew (`card1`).
    pub fn node(&self) -> PathBuf {
        if self.face == Face::Misc {
            return self.device.clone();
        }
        let card = self.pci.as_deref().and_then(|pci| {
            std::fs::read_dir(Path::new("/sys/bus/pci/devices").join(pci).join("drm"))
                .ok()?
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .find(|n| n.starts_with("card"))
        });
        card.map_or_else(|| self.device.clone(), |c| Path::new("/dev/dri").join(c))
    }

    /// (Re)makes the `/tmp` node when the card's device number changed (a bind may change it).
    fn make_tmp_node(&self) {
        let Some(rdev) = rdev_of(&self.node()) else {
            return;
        };
        if rdev == self.rdev.get() {
            return;
        }
        let node = cpath(&self.tmp_node);
        // SAFETY: NUL-terminated path; a character device node of the card on tmpfs.
        unsafe {
            libc::unlink(node.as_ptr());
            libc::mknod(node.as_ptr(), libc::S_IFCHR | 0o660, rdev as libc::dev_t);
        }
        self.rdev.set(rdev);
    }

    fn bound(&self) -> bool {
        match (self.face, &self.pci) {
            (Face::Drm, Some(pci)) => Path::new(DRIVER_DIR).join(pci).exists(),
            _ => self.device.exists(),
        }
    }

    fn bind_write(&self, what: &str) -> io::Result<i64> {
        let pci = self
            .pci
            .as_deref()
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ENODEV))?;
        std::fs::write(Path::new(DRIVER_DIR).join(what), pci).map(|()| 0)
    }

    /// The state every program starts from: bound, in the default mode.
    pub fn reset(&self) -> Result<(), String> {
        if !self.bound() {
            let _ = self.bind_write("bind");
        }
        self.make_tmp_node();
        if let Some(info) = &self.drm {
            // The CRTC off: the next program starts from no mode, as a card just bound does.
            // Only a card that cannot be opened is broken: another master (a program's child
            // still exiting) may refuse the modeset, and the next program starts from its mode.
            return match drm::crtc_off(&self.node(), &info.ids) {
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::ENOENT | libc::ENODEV | libc::ENXIO)
                    ) =>
                {
                    Err(format!("opening {}: {e}", self.node().display()))
                }
                _ => Ok(()),
            };
        }
        let fd = open_path(&self.device, libc::O_RDWR).map_err(|e| format!("open: {e}"))?;
        let result = get_mode(fd).and_then(|m| {
            if same_mode(&m, &self.default_mode) && m.y_offset == 0 {
                Ok(())
            } else {
                set_mode(fd, &self.default_mode)
            }
        });
        close(fd);
        result.map_err(|e| format!("restoring the mode: {e}"))
    }

    /// Invariant (b): with every file and mapping of the card closed (the probe's too), a fresh
    /// opener's shadow pages hold zeros. Checks `pages` (page indices into the shadow).
    pub fn check_shadow(&self, pages: &BTreeSet<u64>) -> Option<Finding> {
        self.shared.pause_probe();
        let found = self.shadow_nonzero(pages);
        self.shared.resume_probe();
        found.map(|(page, at, byte)| {
            Finding::new(
                Kind::ShadowLeak,
                format!(
                    "a fresh opener reads {byte:#04x} at shadow offset {:#x} (page {page}) after every \
                     earlier file and mapping was closed; expected zeros",
                    page * self.page + at
                ),
            )
        })
    }

    fn shadow_nonzero(&self, pages: &BTreeSet<u64>) -> Option<(u64, u64, u8)> {
        let fd = open_path(&self.device, libc::O_RDWR).ok()?;
        let limit = get_mode(fd)
            .map(|m| m.fb_size)
            .unwrap_or(0)
            .div_ceil(self.page);
        let mut found = None;
        for &page in pages.iter().filter(|&&p| p < limit).take(16) {
            // Not `device::Mapping`: a broken driver may fault here, and only `touch` reads
            // survive that.
            // SAFETY: a fresh shared mapping of one shadow page, placed by the kernel.
            let addr = unsafe {
                libc::mmap(
                    ptr::null_mut(),
                    self.page as usize,
                    libc::PROT_READ,
                    libc::MAP_SHARED,
                    fd,
                    (mmap_region::SHADOW + page * self.page) as i64,
                )
            };
            if addr == libc::MAP_FAILED {
                continue;
            }
            for at in 0..self.page {
                // SAFETY: a byte of the device mapping just made; faults are caught.
                if let Touched::Ok(byte) = unsafe { touch::read(addr as u64 + at) } {
                    if byte != 0 {
                        found = Some((page, at, byte));
                        break;
                    }
                }
            }
            // SAFETY: exactly the mapping made above.
            unsafe { libc::munmap(addr, self.page as usize) };
            if found.is_some() {
                break;
            }
        }
        close(fd);
        found
    }
}

#[derive(Debug, Clone, Copy)]
struct FileSlot {
    fd: libc::c_int,
    /// `O_RDONLY`, `O_WRONLY` or `O_RDWR`.
    access: libc::c_int,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Range {
    addr: u64,
    len: u64,
}

impl Range {
    fn end(&self) -> u64 {
        self.addr + self.len
    }

    fn within(&self, other: &Range) -> bool {
        self.addr >= other.addr && self.end() <= other.end()
    }

    fn overlap(&self, other: &Range) -> Option<Range> {
        let addr = self.addr.max(other.addr);
        let end = self.end().min(other.end());
        (addr < end).then_some(Range {
            addr,
            len: end - addr,
        })
    }
}

#[derive(Debug, Clone, Copy)]
struct MapSlot {
    range: Range,
    /// The file offset it maps from (region and byte offset).
    file_off: u64,
}

/// Whose KCOV trace the callback gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// One call of the fuzzer's process.
    Call,
    /// Every call of one child, in one trace (children run concurrently: their edges are
    /// noise, only their PCs count).
    Child,
}

/// One call's result: `None` if it did not run (an empty slot, or another process's call).
pub type Outcome = Option<io::Result<i64>>;

/// Runs one program (and the child processes of its `&N` calls).
pub struct Exec<'a> {
    env: &'a Env,
    /// Handle 0 for this process, N for child N; empty without KCOV.
    kcov: &'a [Kcov],
    scratch: &'a mut Guarded,
    /// 0 in the fuzzer, N in child N.
    proc: u8,
    files: [Option<FileSlot>; FILES as usize],
    maps: [Option<MapSlot>; MAPS as usize],
    /// Mappings no slot names any more, unmapped at the end.
    orphans: Vec<Range>,
    children: [libc::pid_t; CHILDREN as usize + 1],
    ctx: Ctx,
    rie: bool,
    procmem: libc::c_int,
    /// The DRM face's resources: handles, framebuffers, object ids, modes.
    drm: DrmState,
    /// Shadow pages this process wrote through a mapping, for invariant (b).
    pub shadow_pages: BTreeSet<u64>,
    pub findings: Vec<Finding>,
    /// Each call's result, for `--replay` and the statistics.
    pub outcomes: Vec<Outcome>,
    /// How long each call of this process took, in nanoseconds.
    pub times: Vec<(&'static str, u64)>,
}

impl<'a> Exec<'a> {
    pub fn new(env: &'a Env, kcov: &'a [Kcov], scratch: &'a mut Guarded) -> Exec<'a> {
        Exec {
            env,
            kcov,
            scratch,
            proc: 0,
            files: [None; FILES as usize],
            maps: [None; MAPS as usize],
            orphans: Vec::new(),
            children: [0; CHILDREN as usize + 1],
            ctx: Ctx::default(),
            rie: false,
            procmem: -1,
            drm: env.drm.as_ref().map(DrmState::new).unwrap_or_default(),
            shadow_pages: BTreeSet::new(),
            findings: Vec::new(),
            outcomes: Vec::new(),
            times: Vec::new(),
        }
    }

    /// Runs `program`, calling `trace` with the KCOV trace of each call (and of each child's
    /// calls at once), then closes everything it left open.
    pub fn run(
        &mut self,
        program: &Program,
        trace: &mut dyn FnMut(Source, &mut dyn Iterator<Item = u64>),
    ) {
        // Every program starts in the default mode (a program that may change it is followed
        // by a reset), so the values count from that without asking the card.
        self.set_ctx(&self.env.default_mode.clone());
        self.outcomes = program.calls.iter().map(|_| None).collect();
        let shared = self.env.shared;
        for (i, call) in program.calls.iter().enumerate() {
            if call.proc != 0 {
                self.start_child(program, i, call.proc);
                continue;
            }
            shared.call_index.store(i as u32, SeqCst);
            let started = now_ns();
            shared.call_started.store(started, SeqCst);
            if let Some(k) = self.kcov.first() {
                k.reset();
            }
            self.outcomes[i] = self.exec(call);
            shared.call_started.store(0, SeqCst);
            self.times.push((call.op.name(), now_ns() - started));
            if matches!(call.op, Op::Wait) {
                self.reap_children(trace);
            }
            let t = now_ns();
            if let Some(k) = self.kcov.first() {
                trace(Source::Call, &mut k.pcs());
            }
            self.times.push(("(coverage)", now_ns() - t));
        }
        shared.call_index.store(program.calls.len() as u32, SeqCst);
        let t = now_ns();
        self.reap_children(trace);
        self.times.push(("(children)", now_ns() - t));
        let t = now_ns();
        self.cleanup();
        self.times.push(("(cleanup)", now_ns() - t));
    }

    /// Forks child `p` at its first call: it runs every call tagged `&p` from there on, with a
    /// copy of the files and mappings, concurrently with the calls after it.
    fn start_child(&mut self, program: &Program, first: usize, p: u8) {
        if self.children[p as usize] != 0 {
            return;
        }
        let t = now_ns();
        // SAFETY: the fuzzer is single-threaded; the child runs calls and `_exit`s.
        match unsafe { libc::fork() } {
            0 => self.child(program, first, p),
            -1 => {}
            pid => self.children[p as usize] = pid,
        }
        self.times.push(("(fork)", now_ns() - t));
    }

    fn child(&mut self, program: &Program, first: usize, p: u8) -> ! {
        self.proc = p;
        self.children = [0; CHILDREN as usize + 1];
        self.findings.clear();
        let kcov = self.kcov.get(p as usize);
        if let Some(k) = kcov {
            let _ = k.enable();
            k.reset();
        }
        for (_, call) in program.child_calls(first, p) {
            self.exec(call);
        }
        let status = match self.findings.first() {
            Some(f) => {
                self.env.shared.finding.set(&f.to_string());
                CHILD_FOUND
            }
            None => 0,
        };
        // SAFETY: ends the child without running the fuzzer's destructors or flushing its
        // buffers; its coverage stays in the KCOV buffer for the parent to read.
        unsafe { libc::_exit(status) }
    }

    /// Waits for every child (each gets the stuck timeout), then reads their coverage.
    fn reap_children(&mut self, trace: &mut dyn FnMut(Source, &mut dyn Iterator<Item = u64>)) {
        for p in 1..=CHILDREN as usize {
            let pid = self.children[p];
            if pid == 0 {
                continue;
            }
            self.children[p] = 0;
            let exit = match wait_timeout(pid, self.env.stuck) {
                Ok(Some(exit)) => exit,
                Ok(None) => {
                    // SAFETY: kills our own child.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                    let killable = matches!(wait_timeout(pid, Duration::from_secs(5)), Ok(Some(_)));
                    self.findings.push(Finding::new(
                        Kind::Stuck,
                        format!(
                            "child &{p} still in its calls after {} s ({})",
                            self.env.stuck.as_secs(),
                            if killable {
                                "killed"
                            } else {
                                "unkillable: the device is wedged"
                            }
                        ),
                    ));
                    continue;
                }
                Err(_) => continue,
            };
            match exit {
                Exit::Code(0) => {}
                Exit::Code(CHILD_FOUND) => {
                    if let Some(f) = Finding::parse(&self.env.shared.finding.get()) {
                        self.findings
                            .push(Finding::new(f.kind, format!("in child &{p}: {}", f.detail)));
                    }
                }
                other => self.findings.push(Finding::new(
                    Kind::Crash,
                    format!("child &{p} ended with {other:?}"),
                )),
            }
            if let Some(k) = self.kcov.get(p) {
                trace(Source::Child, &mut k.pcs());
            }
        }
    }

    /// Unmaps and closes everything the program left, and drops READ_IMPLIES_EXEC.
    fn cleanup(&mut self) {
        let ranges: Vec<Range> = self
            .maps
            .iter_mut()
            .filter_map(|m| m.take().map(|m| m.range))
            .chain(self.orphans.drain(..))
            .collect();
        for r in ranges {
            // SAFETY: every slot and orphan range holds only mappings this executor made.
            unsafe { libc::munmap(r.addr as *mut _, r.len as usize) };
        }
        for f in self.files.iter_mut().filter_map(Option::take) {
            close(f.fd);
        }
        if self.procmem >= 0 {
            close(self.procmem);
            self.procmem = -1;
        }
        if self.rie {
            // SAFETY: sets this process's personality back.
            unsafe { libc::personality(self.env.persona) };
            self.rie = false;
        }
    }

    /// The mode the values of the next calls count from: GET_MODE on `fd`, or on a file of its
    /// own.
    fn refresh_ctx(&mut self, fd: Option<libc::c_int>) {
        let mode = match fd {
            Some(fd) => get_mode(fd),
            None => open_path(&self.env.device, libc::O_RDONLY).and_then(|fd| {
                let m = get_mode(fd);
                close(fd);
                m
            }),
        };
        let mode = mode.unwrap_or(self.env.default_mode);
        self.set_ctx(&mode);
    }

    fn set_ctx(&mut self, mode: &BochsfbMode) {
        self.ctx = Ctx {
            fb: mode.fb_size,
            vram: mode.vram_size,
            len: 0,
            map_off: 0,
            w: mode.width.into(),
            h: mode.height.into(),
            vh: mode.virtual_height.into(),
            bo: 0,
            pitch: 0,
        };
    }

    fn file(&self, f: u8) -> Option<FileSlot> {
        self.files[f as usize]
    }

    fn map(&self, m: u8) -> Option<MapSlot> {
        self.maps[m as usize]
    }

    /// `at..at+len` inside mapping `m`, clamped to its end; `None` if `at` is outside it.
    fn range_in(
        &self,
        m: u8,
        at: super::program::Val,
        len: super::program::Val,
    ) -> Option<(Range, MapSlot)> {
        let s = self.map(m)?;
        let ctx = self.ctx.with_map(s.range.len, s.file_off);
        let start = s.range.addr.wrapping_add(ctx.eval(at));
        if start < s.range.addr || start >= s.range.end() {
            return None;
        }
        let len = ctx.eval(len).min(s.range.end() - start);
        Some((Range { addr: start, len }, s))
    }

    fn tracked(&self) -> Vec<Range> {
        self.maps
            .iter()
            .flatten()
            .map(|m| m.range)
            .chain(self.orphans.iter().copied())
            .collect()
    }

    /// Maps anonymous `PROT_NONE` memory over `r`, which some slot still covers.
    fn reserve(&self, r: Range) {
        // SAFETY: `r` lies in a range this executor tracks, so nothing of Rust's is there.
        unsafe {
            libc::mmap(
                r.addr as *mut _,
                r.len as usize,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
    }

    fn page_range(&self, r: Range) -> Range {
        let page = self.env.page;
        let addr = r.addr & !(page - 1);
        let end = r.end().saturating_add(page - 1) & !(page - 1);
        Range {
            addr,
            len: end - addr,
        }
    }

    /// `r` was unmapped: slots inside it are gone; where a slot overlaps it, the hole is
    /// reserved again so no one else gets those addresses.
    fn unmapped(&mut self, r: Range) {
        let r = self.page_range(r);
        for slot in self.maps.iter_mut() {
            if slot.is_some_and(|s| s.range.within(&r)) {
                *slot = None;
            }
        }
        self.orphans.retain(|o| !o.within(&r));
        for t in self.tracked() {
            if let Some(hole) = t.overlap(&r) {
                self.reserve(hole);
            }
        }
    }

    /// After a `MAP_FIXED`/`MREMAP_FIXED` call failed, `r` may have been unmapped: reserve it if
    /// any page of it is.
    fn after_failed_fixed(&mut self, r: Range) {
        let pages = (r.len / self.env.page) as usize;
        let mut vec = vec![0u8; pages.clamp(1, 1 << 20)];
        // SAFETY: mincore writes one byte per page of `r` into `vec` (capped: a longer range is
        // treated as having holes without asking).
        let holes = pages > vec.len()
            || unsafe { libc::mincore(r.addr as *mut _, r.len as usize, vec.as_mut_ptr()) } != 0;
        if holes {
            self.reserve(r);
        }
    }

    /// Slot `m` now holds `slot`; what it held before is unmapped at the end.
    fn set_map(&mut self, m: u8, slot: MapSlot) {
        if let Some(old) = self.maps[m as usize].replace(slot) {
            if !old.range.within(&slot.range) {
                self.orphans.push(old.range);
            }
        }
    }

    /// The address and most bytes the kernel may copy for buffer `b`.
    fn buf(&self, b: Buf) -> Option<(u64, u64)> {
        let base = self.scratch.base();
        let len = SCRATCH_LEN as u64;
        Some(match b {
            Buf::Scratch(off) => (base + u64::from(off).min(len), u64::MAX),
            Buf::Guard(n) => (self.scratch.guard() - u64::from(n).min(len), u64::MAX),
            Buf::Null => (0, u64::MAX),
            Buf::Kernel => (KERNEL_ADDR, u64::MAX),
            Buf::Map(m, at) => {
                let s = self.map(m)?;
                let addr = s
                    .range
                    .addr
                    .wrapping_add(self.ctx.with_map(s.range.len, s.file_off).eval(at));
                if addr < s.range.addr || addr >= s.range.end() {
                    return None;
                }
                (addr, s.range.end() - addr)
            }
        })
    }

    /// An ioctl argument's address: a buffer with room for any ioctl struct.
    fn arg(&self, b: Buf) -> Option<u64> {
        match b {
            Buf::Scratch(off) => {
                Some(self.scratch.base() + u64::from(off).min(SCRATCH_LEN as u64 - ARG_ROOM))
            }
            Buf::Map(..) => self
                .buf(b)
                .filter(|&(_, room)| room >= ARG_ROOM)
                .map(|(a, _)| a),
            _ => self.buf(b).map(|(a, _)| a),
        }
    }

    /// Puts `bytes` where buffer `b` is, as far as the scratch buffer holds them (a buffer
    /// that runs into the guard page gets a partial struct); other buffers keep what they hold.
    fn put(&mut self, b: Buf, bytes: &[u8]) {
        let Some((addr, _)) = self.buf(b) else { return };
        let base = self.scratch.base();
        if !matches!(b, Buf::Scratch(_) | Buf::Guard(_)) || addr < base {
            return;
        }
        let at = (addr - base) as usize;
        let scratch = self.scratch.bytes();
        let n = bytes.len().min(scratch.len() - at);
        scratch[at..at + n].copy_from_slice(&bytes[..n]);
    }

    /// Shadow pages a successful write through `r` of mapping `s` reached.
    fn note_shadow(&mut self, r: Range, s: MapSlot) {
        if self.env.face != Face::Misc {
            return;
        }
        let page = self.env.page;
        let first = s.file_off.wrapping_add(r.addr - s.range.addr);
        let mut off = first & !(page - 1);
        while off < first.wrapping_add(r.len.max(1)) && off >= first & !(page - 1) {
            if off >> 32 == 2 {
                self.shadow_pages.insert((off & 0xffff_ffff) / page);
            }
            off = off.wrapping_add(page);
            if self.shadow_pages.len() > 64 {
                break;
            }
        }
    }

    fn exec(&mut self, call: &Call) -> Outcome {
        match &call.op {
            Op::Open { f, node, flags } => {
                let path = match node {
                    Node::Dev => self.env.node(),
                    Node::Tmp => self.env.tmp_node.clone(),
                    Node::Fd(k) => PathBuf::from(format!("/proc/self/fd/{}", self.file(*k)?.fd)),
                };
                if let Some(old) = self.files[*f as usize].take() {
                    close(old.fd);
                }
                let result = open_path(&path, *flags).map(i64::from);
                if let Ok(fd) = result {
                    self.files[*f as usize] = Some(FileSlot {
                        fd: fd as i32,
                        access: flags & libc::O_ACCMODE,
                    });
                }
                Some(result)
            }
            Op::Close { f } => {
                let slot = self.files[*f as usize].take()?;
                // SAFETY: a descriptor this executor opened.
                Some(sys(unsafe { libc::close(slot.fd) } as i64))
            }
            Op::Dup { f, from } => {
                let src = self.file(*from)?;
                // SAFETY: duplicates our own descriptor.
                let result = sys(unsafe { libc::fcntl(src.fd, libc::F_DUPFD_CLOEXEC, 0) } as i64);
                if let Ok(fd) = result {
                    if let Some(old) = self.files[*f as usize].replace(FileSlot {
                        fd: fd as i32,
                        ..src
                    }) {
                        close(old.fd);
                    }
                }
                Some(result)
            }
            Op::Fcntl { f, flags } => {
                let slot = self.file(*f)?;
                // SAFETY: F_SETFL on our own descriptor.
                Some(sys(
                    unsafe { libc::fcntl(slot.fd, libc::F_SETFL, *flags) } as i64
                ))
            }
            Op::Mmap {
                m,
                f,
                origin,
                within,
                len,
                prot,
                flags,
                at,
            } => self.mmap(*m, *f, *origin, *within, *len, *prot, *flags, *at),
            Op::Mremap {
                m,
                from,
                old,
                len,
                flags,
                at,
            } => self.mremap(*m, *from, *old, *len, *flags, *at),
            Op::Munmap { m, at, len } => {
                let (r, _) = self.range_in(*m, *at, *len)?;
                // SAFETY: `r` lies in mapping slot `m`: only our mappings are there.
                let result = sys(unsafe { libc::munmap(r.addr as *mut _, r.len as usize) } as i64);
                if result.is_ok() {
                    self.unmapped(r);
                }
                Some(result)
            }
            Op::Mprotect { m, at, len, prot } => {
                let (r, _) = self.range_in(*m, *at, *len)?;
                // SAFETY: as for munmap; protection changes only.
                Some(sys(
                    unsafe { libc::mprotect(r.addr as *mut _, r.len as usize, *prot) } as i64,
                ))
            }
            Op::Madvise { m, at, len, advice } => {
                let (r, _) = self.range_in(*m, *at, *len)?;
                // SAFETY: as for munmap; the advice list has no MADV_HWPOISON.
                Some(sys(
                    unsafe { libc::madvise(r.addr as *mut _, r.len as usize, *advice) } as i64,
                ))
            }
            Op::Msync { m, at, len, flags } => {
                let (r, _) = self.range_in(*m, *at, *len)?;
                // SAFETY: as for munmap.
                Some(sys(
                    unsafe { libc::msync(r.addr as *mut _, r.len as usize, *flags) } as i64,
                ))
            }
            Op::Mlock { m, at, len } => {
                let (r, _) = self.range_in(*m, *at, *len)?;
                // SAFETY: as for munmap; locks (faulting the pages in) and unlocks.
                let result = sys(unsafe { libc::mlock(r.addr as *const _, r.len as usize) } as i64);
                // SAFETY: as above.
                unsafe { libc::munlock(r.addr as *const _, r.len as usize) };
                Some(result)
            }
            Op::Touch { m, at, len, write } => {
                let (r, s) = self.range_in(*m, *at, *len)?;
                let mut ok = 0;
                let mut last_signal = 0;
                let mut addr = r.addr;
                for _ in 0..TOUCH_PAGES {
                    // SAFETY: `addr` lies in mapping slot `m`; faults come back as values.
                    let touched = unsafe {
                        if *write {
                            touch::write(addr, 0xa5)
                        } else {
                            touch::read(addr)
                        }
                    };
                    match touched {
                        Touched::Ok(_) => {
                            ok += 1;
                            if *write {
                                self.note_shadow(Range { addr, len: 1 }, s);
                            }
                        }
                        Touched::Signal(sig) => last_signal = sig,
                    }
                    addr = (addr & !(self.env.page - 1)) + self.env.page;
                    if addr >= r.end() {
                        break;
                    }
                }
                Some(if ok == 0 && last_signal != 0 {
                    // A signal as a negative "errno" keeps the outcome one number.
                    Err(io::Error::from_raw_os_error(-last_signal))
                } else {
                    Ok(ok)
                })
            }
            Op::ProcMem { m, at, len } => {
                let (r, _) = self.range_in(*m, *at, *len)?;
                if self.procmem < 0 {
                    self.procmem = open_path(Path::new("/proc/self/mem"), libc::O_RDONLY).ok()?;
                }
                let count = (r.len as usize).min(SCRATCH_LEN);
                let buf = self.scratch.base() as *mut libc::c_void;
                // SAFETY: the kernel writes at most `count` bytes into the scratch buffer.
                Some(sys(
                    unsafe { libc::pread(self.procmem, buf, count, r.addr as i64) } as i64,
                ))
            }
            Op::Io {
                kind,
                f,
                iov,
                off,
                rwf,
            } => self.io(*kind, *f, iov, *off, *rwf),
            Op::Lseek { f, off, whence } => {
                let slot = self.file(*f)?;
                // SAFETY: plain integers.
                Some(sys(unsafe {
                    libc::lseek(slot.fd, self.ctx.eval(*off) as i64, *whence)
                }))
            }
            Op::Ioctl { f, req, arg } => self.ioctl(*f, req, *arg),
            Op::Drm { f, req, arg } => self.drm(*f, req, *arg),
            Op::Sysfs { attr } => {
                let name = SYSFS_ATTRS.get(*attr as usize)?;
                Some(std::fs::read(self.env.sysfs.join(name)).map(|b| b.len() as i64))
            }
            Op::Personality { rie } => {
                let persona = if *rie {
                    self.env.persona | READ_IMPLIES_EXEC
                } else {
                    self.env.persona
                };
                self.rie = *rie;
                // SAFETY: changes this process's personality only.
                Some(sys(unsafe { libc::personality(persona) } as i64))
            }
            Op::Fork => {
                // SAFETY: single-threaded; the child exits at once, tearing down its copies.
                let pid = unsafe { libc::fork() };
                if pid == 0 {
                    // SAFETY: leaves the child without running destructors.
                    unsafe { libc::_exit(0) }
                }
                if pid < 0 {
                    return Some(Err(io::Error::last_os_error()));
                }
                Some(match wait_timeout(pid, self.env.stuck) {
                    Ok(Some(_)) => Ok(0),
                    Ok(None) => {
                        self.findings
                            .push(Finding::new(Kind::Stuck, "a forked child did not exit"));
                        Err(io::Error::from_raw_os_error(libc::ETIMEDOUT))
                    }
                    Err(e) => Err(e),
                })
            }
            Op::Unbind => Some(self.env.bind_write("unbind")),
            Op::Bind => {
                let result = self.env.bind_write("bind");
                if result.is_ok() {
                    self.refresh_ctx(None);
                }
                Some(result)
            }
            Op::Wait => None,
        }
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "the fields of `Op::Mmap`, as the program names them"
    )]
    fn mmap(
        &mut self,
        m: u8,
        f: u8,
        origin: Origin,
        within: super::program::Val,
        len: super::program::Val,
        prot: i32,
        flags: i32,
        at: Option<(u8, super::program::Val)>,
    ) -> Outcome {
        let file = self.file(f)?;
        let (base, ctx) = match origin {
            Origin::Region(region) => (u64::from(region) << 32, self.ctx),
            Origin::Dumb(h) => {
                // A dumb buffer never mapped with MAP_DUMB maps from 0 (which is refused).
                let bo = self.drm.bos[h as usize].unwrap_or_default();
                (
                    bo.offset.unwrap_or(0),
                    self.bo_ctx(super::program::Id::Bo(h)),
                )
            }
        };
        let offset = base.wrapping_add(ctx.eval(within));
        let (hint, len, fixed) = match at {
            Some((t, v)) => {
                let target = self.map(t)?;
                let ctx = self.ctx.with_map(target.range.len, target.file_off);
                let addr = target.range.addr.wrapping_add(ctx.eval(v)) & !(self.env.page - 1);
                if addr < target.range.addr || addr >= target.range.end() {
                    return None;
                }
                // `len` counts from the target, `edge` from the mapping this makes.
                let len = ctx
                    .with_map(target.range.len, offset)
                    .eval(len)
                    .min(target.range.end() - addr);
                (addr, len, libc::MAP_FIXED)
            }
            None => (0, ctx.with_map(0, offset).eval(len), 0),
        };
        let map = |flags: i32| {
            // SAFETY: a NULL hint lets the kernel choose a free range; a MAP_FIXED one lies
            // inside a mapping slot, where only our mappings are.
            let addr = unsafe {
                libc::mmap(
                    hint as *mut _,
                    len as usize,
                    prot,
                    flags,
                    file.fd,
                    offset as i64,
                )
            };
            if addr == libc::MAP_FAILED {
                Err(io::Error::last_os_error())
            } else {
                Ok(addr as i64)
            }
        };
        let result = map(flags | fixed);
        let page = self.env.page;
        let mapped_len = len.saturating_add(page - 1) & !(page - 1);
        // Invariant (d): READ_IMPLIES_EXEC must not cost a readable mapping (the kernel adds
        // PROT_EXEC to every one such a task makes). Checked both ways: a mapping that fails
        // for such a task is retried without it, and one a plain task got is made again with it.
        let wants_read = prot & libc::PROT_READ != 0 && prot & libc::PROT_EXEC == 0;
        match &result {
            Ok(addr) => {
                self.set_map(
                    m,
                    MapSlot {
                        range: Range {
                            addr: *addr as u64,
                            len: mapped_len,
                        },
                        file_off: offset,
                    },
                );
                if !self.rie && fixed == 0 && wants_read {
                    // SAFETY: READ_IMPLIES_EXEC for one more mapping, then back.
                    unsafe { libc::personality(self.env.persona | READ_IMPLIES_EXEC) };
                    let again = map(flags & !(libc::MAP_POPULATE | libc::MAP_LOCKED));
                    // SAFETY: as above.
                    unsafe { libc::personality(self.env.persona) };
                    match again {
                        // SAFETY: exactly the mapping just made again.
                        Ok(addr) => unsafe {
                            libc::munmap(addr as *mut _, len as usize);
                        },
                        Err(e) => self.findings.push(Finding::new(
                            Kind::ReadImpliesExec,
                            format!(
                                "mmap(len {len:#x}, prot {prot:#x}, offset {offset:#x}) works, but fails \
                                 with {} under READ_IMPLIES_EXEC",
                                errno_name(e.raw_os_error().unwrap_or(0))
                            ),
                        )),
                    }
                }
            }
            Err(e) if fixed != 0 => {
                let _ = e;
                self.after_failed_fixed(Range {
                    addr: hint,
                    len: mapped_len,
                });
            }
            Err(e) => {
                if self.rie && wants_read {
                    // SAFETY: plain Linux personality for one retry, then back.
                    unsafe { libc::personality(self.env.persona) };
                    let retry = map(flags);
                    // SAFETY: as above.
                    unsafe { libc::personality(self.env.persona | READ_IMPLIES_EXEC) };
                    if let Ok(addr) = retry {
                        // SAFETY: exactly the mapping just made by the retry.
                        unsafe { libc::munmap(addr as *mut _, len as usize) };
                        self.findings.push(Finding::new(
                            Kind::ReadImpliesExec,
                            format!(
                                "mmap(len {len:#x}, PROT_READ, offset {offset:#x}) fails with {} under \
                                 READ_IMPLIES_EXEC but works without it",
                                errno_name(e.raw_os_error().unwrap_or(0))
                            ),
                        ));
                    }
                }
            }
        }
        Some(result)
    }

    fn mremap(
        &mut self,
        m: u8,
        from: u8,
        old: Option<super::program::Val>,
        len: super::program::Val,
        flags: i32,
        at: Option<(u8, super::program::Val)>,
    ) -> Outcome {
        let src = self.map(from)?;
        let ctx = self.ctx.with_map(src.range.len, src.file_off);
        let old_len = old.map_or(src.range.len, |v| ctx.eval(v));
        let new_len = ctx.eval(len);
        let mut flags = flags;
        let mut target = 0;
        if flags & libc::MREMAP_FIXED != 0 {
            // A fixed target must lie wholly inside a mapping slot; else the call goes without.
            let inside = at.and_then(|(t, v)| {
                let t = self.map(t)?;
                let addr = t
                    .range
                    .addr
                    .wrapping_add(self.ctx.with_map(t.range.len, t.file_off).eval(v))
                    & !(self.env.page - 1);
                let r = Range { addr, len: new_len };
                (addr >= t.range.addr && new_len <= t.range.len && r.within(&t.range))
                    .then_some(addr)
            });
            match inside {
                Some(addr) => target = addr,
                None => flags &= !libc::MREMAP_FIXED,
            }
        }
        // SAFETY: the old range is mapping slot `from`'s; a fixed target lies inside a slot;
        // otherwise the kernel picks a free range.
        let addr = unsafe {
            libc::mremap(
                src.range.addr as *mut _,
                old_len as usize,
                new_len as usize,
                flags,
                target as *mut libc::c_void,
            )
        };
        let page = self.env.page;
        let round = |n: u64| n.saturating_add(page - 1) & !(page - 1);
        if addr == libc::MAP_FAILED {
            let e = io::Error::last_os_error();
            if target != 0 {
                self.after_failed_fixed(Range {
                    addr: target,
                    len: round(new_len),
                });
            }
            return Some(Err(e));
        }
        let new = Range {
            addr: addr as u64,
            len: round(new_len),
        };
        let old_range = Range {
            addr: src.range.addr,
            len: round(old_len).min(src.range.len),
        };
        let slot = MapSlot {
            range: new,
            file_off: src.file_off,
        };
        if old_len == 0 || flags & libc::MREMAP_DONTUNMAP != 0 {
            // The source stays mapped (a duplicate, or an empty vma left behind).
            if m == from {
                self.orphans.push(src.range);
                self.maps[from as usize] = None;
            }
            self.set_map(m, slot);
        } else {
            // What the source slot covered beyond the old size stays mapped, unnamed.
            if old_range.len < src.range.len {
                self.orphans.push(Range {
                    addr: old_range.end(),
                    len: src.range.len - old_range.len,
                });
            }
            self.maps[from as usize] = None;
            self.set_map(m, slot);
            // The old range is free now, except where the new one lies.
            if old_range.addr == new.addr {
                if new.len < old_range.len {
                    self.unmapped(Range {
                        addr: new.end(),
                        len: old_range.len - new.len,
                    });
                }
            } else {
                self.unmapped(old_range);
            }
        }
        Some(Ok(addr as i64))
    }

    fn io(
        &mut self,
        kind: IoKind,
        f: u8,
        iov: &[(Buf, super::program::Val)],
        off: super::program::Val,
        rwf: i32,
    ) -> Outcome {
        let file = self.file(f)?;
        if self.env.face == Face::Drm && kind.reads() && !self.event_ready(file.fd) {
            // A DRM file's read waits for an event: one that none is coming for would be stuck
            // forever, so it is not made (a flip's event comes within a frame).
            return Some(Err(io::Error::from_raw_os_error(libc::EAGAIN)));
        }
        let mut vecs = Vec::with_capacity(iov.len());
        for (b, len) in iov {
            let (addr, room) = self.buf(*b)?;
            vecs.push(libc::iovec {
                iov_base: addr as *mut _,
                iov_len: self.ctx.eval(*len).min(room) as usize,
            });
        }
        let offset = self.ctx.eval(off) as i64;
        let first = vecs.first().map_or(
            libc::iovec {
                iov_base: ptr::null_mut(),
                iov_len: 0,
            },
            |v| *v,
        );
        let n = vecs.len() as libc::c_int;
        let fd = file.fd;
        // SAFETY: every buffer is the scratch buffer (a guard page stops a long copy), a
        // mapping slot (the length clamped to it) or an address the kernel must refuse.
        let ret = unsafe {
            match kind {
                IoKind::Read => libc::read(fd, first.iov_base, first.iov_len),
                IoKind::Write => libc::write(fd, first.iov_base, first.iov_len),
                IoKind::Pread => libc::pread(fd, first.iov_base, first.iov_len, offset),
                IoKind::Pwrite => libc::pwrite(fd, first.iov_base, first.iov_len, offset),
                IoKind::Readv => libc::readv(fd, vecs.as_ptr(), n),
                IoKind::Writev => libc::writev(fd, vecs.as_ptr(), n),
                IoKind::Preadv2 => libc::preadv2(fd, vecs.as_ptr(), n, offset, rwf),
                IoKind::Pwritev2 => libc::pwritev2(fd, vecs.as_ptr(), n, offset, rwf),
            }
        };
        let result = sys(ret as i64);
        if let (Ok(done), true) = (&result, kind.reads()) {
            // Bytes read into a shadow mapping are data a later opener must not see.
            let mut left = *done as u64;
            for ((b, _), v) in iov.iter().zip(&vecs) {
                if let Buf::Map(m, _) = b {
                    if let Some(s) = self.map(*m) {
                        let len = (v.iov_len as u64).min(left);
                        self.note_shadow(
                            Range {
                                addr: v.iov_base as u64,
                                len,
                            },
                            s,
                        );
                    }
                }
                left = left.saturating_sub(v.iov_len as u64);
            }
        }
        Some(result)
    }

    fn ioctl(&mut self, f: u8, req: &Req, arg: Buf) -> Outcome {
        let file = self.file(f)?;
        let addr = self.arg(arg)?;
        let ctx = self.ctx;
        let (cmd, int): (u32, Option<u64>) = match req {
            Req::GetMode => (BOCHSFB_IOCTL_GET_MODE, None),
            Req::SetMode { w, h, bpp, vh } => {
                let mode = BochsfbMode {
                    width: *w,
                    height: *h,
                    bpp: *bpp,
                    virtual_height: *vh,
                    ..Default::default()
                };
                self.put_struct(arg, &mode);
                (BOCHSFB_IOCTL_SET_MODE, None)
            }
            Req::Pan { y } => {
                self.put_struct(arg, &(ctx.eval(*y) as u32));
                (BOCHSFB_IOCTL_PAN, None)
            }
            Req::WaitVsync => (BOCHSFB_IOCTL_WAIT_VSYNC, None),
            Req::Flush {
                count,
                rects,
                flags,
                at,
            } => {
                let rects_addr = self.buf(*at).map_or(0, |(a, _)| a);
                self.put_struct(
                    arg,
                    &BochsfbDamage {
                        rects: rects_addr,
                        count: *count,
                        flags: *flags,
                    },
                );
                let n = (*count).min(BOCHSFB_MAX_DAMAGE_RECTS + 1);
                let bytes: Vec<u8> = (0..n)
                    .flat_map(|i| {
                        let r = rect(*rects, i, n, &ctx);
                        [r.x, r.y, r.width, r.height]
                            .into_iter()
                            .flat_map(u32::to_ne_bytes)
                    })
                    .collect();
                self.put(*at, &bytes);
                (BOCHSFB_IOCTL_FLUSH, None)
            }
            Req::FbGetV => (FBIOGET_VSCREENINFO, None),
            Req::FbPutV {
                w,
                h,
                bpp,
                vyres,
                xoff,
                yoff,
                activate,
            } => {
                let var = FbVarScreeninfo {
                    xres: *w,
                    yres: *h,
                    xres_virtual: *w,
                    yres_virtual: *vyres,
                    xoffset: *xoff,
                    yoffset: ctx.eval(*yoff) as u32,
                    bits_per_pixel: *bpp,
                    activate: *activate,
                    ..Default::default()
                };
                self.put_struct(arg, &var);
                (FBIOPUT_VSCREENINFO, None)
            }
            Req::FbGetF => (FBIOGET_FSCREENINFO, None),
            Req::FbPan { x, y } => {
                let var = FbVarScreeninfo {
                    xoffset: *x,
                    yoffset: ctx.eval(*y) as u32,
                    ..Default::default()
                };
                self.put_struct(arg, &var);
                (FBIOPAN_DISPLAY, None)
            }
            Req::FbVsync { crtc } => {
                self.put_struct(arg, crtc);
                (FBIO_WAITFORVSYNC, None)
            }
            Req::Raw { cmd, int } => {
                if int.is_none() {
                    self.put(arg, &[0x41; 256]);
                }
                (*cmd, *int)
            }
        };
        // Invariant (a): what a read-only file asks to change must be refused with EBADF, and
        // the card must stay as it was.
        let read_only = file.access == libc::O_RDONLY && req.needs_write_access();
        let before = if read_only && self.quiet() {
            get_mode(file.fd).ok()
        } else {
            None
        };
        let value = int.unwrap_or(addr);
        // Raw on purpose: the program chose the number and the argument (garbage structs in
        // place, pointers that fault, integers for unknown numbers), which `device`'s typed
        // calls cannot express.
        // SAFETY: `value` is an address in the scratch buffer with room for any ioctl struct
        // (a guard page after it), in a mapping slot with room for one, an address the kernel
        // must refuse, or a plain integer the program chose for an unknown number.
        let result = sys(unsafe { libc::ioctl(file.fd, cmd as _, value) } as i64);
        if read_only {
            let after = before.and_then(|_| get_mode(file.fd).ok());
            let changed = match (before, after) {
                (Some(b), Some(a)) => !same_mode(&b, &a) || b.y_offset != a.y_offset,
                _ => false,
            };
            let refused = matches!(&result, Err(e) if e.raw_os_error() == Some(libc::EBADF));
            if !refused || changed {
                self.findings.push(Finding::new(
                    Kind::ReadOnly,
                    format!(
                        "{} on a file opened O_RDONLY returned {}{}; expected EBADF",
                        req.name(),
                        describe(&result),
                        if changed {
                            " and changed the mode or pan offset"
                        } else {
                            ""
                        }
                    ),
                ));
            }
        }
        // Invariant (a) for fbdev's ioctls, which root may issue on a read-only file: the same
        // call on the same file from a process without write permission on the node must be
        // refused.
        let mut changed = result.is_ok();
        if file.access == libc::O_RDONLY && req.changes_display_through_fbdev() {
            let unprivileged = ioctl_unprivileged(file.fd, cmd, value, self.env.stuck);
            if unprivileged == Some(true) {
                changed = true;
                self.findings.push(Finding::new(
                    Kind::ReadOnly,
                    format!(
                        "{} on a file opened O_RDONLY worked for a process without write \
                         permission on the node (uid {NOBODY}, no video group); expected EBADF",
                        req.name()
                    ),
                ));
            }
        }
        if changed && matches!(req, Req::SetMode { .. } | Req::FbPutV { .. }) {
            self.refresh_ctx(Some(file.fd));
        }
        Some(result)
    }

    /// Whether an event can be read from DRM file `fd` within a tenth of a second.
    fn event_ready(&self, fd: libc::c_int) -> bool {
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one pollfd on our stack.
        unsafe { libc::poll(&raw mut pfd, 1, 100) > 0 }
    }

    /// No other process of this program runs now (so a changed mode was this call's doing).
    fn quiet(&self) -> bool {
        self.proc == 0 && self.children.iter().all(|&pid| pid == 0 || has_exited(pid))
    }

    fn put_struct<T: Copy>(&mut self, b: Buf, value: &T) {
        let mut bytes = vec![0u8; std::mem::size_of::<T>()];
        write_struct(&mut bytes, value);
        self.put(b, &bytes);
    }
}

/// The unprivileged user [`ioctl_unprivileged`] becomes: `nobody`.
const NOBODY: libc::uid_t = 65534;

/// `ioctl(fd, cmd, value)` from a child process that dropped root: uid and gid [`NOBODY`], no
/// supplementary groups, so no write permission on the card's nodes (root:video 0660, the
/// `/tmp` node root's 0660). Whether the call worked; `None` if the child could not drop root
/// or did not end within `timeout`.
fn ioctl_unprivileged(fd: libc::c_int, cmd: u32, value: u64, timeout: Duration) -> Option<bool> {
    // SAFETY: the fuzzer is single-threaded; the child makes four system calls and `_exit`s.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // The ioctl is raw like the parent's: the same program-chosen number and argument.
        // SAFETY: plain system calls on this process's credentials and its own descriptor
        // (`value` is an address the parent's call used, copied by fork, or an integer).
        let status = unsafe {
            if libc::setgroups(0, ptr::null()) != 0
                || libc::setgid(NOBODY) != 0
                || libc::setuid(NOBODY) != 0
            {
                2
            } else if libc::ioctl(fd, cmd as _, value) >= 0 {
                0
            } else {
                1
            }
        };
        // SAFETY: ends the child without running the fuzzer's destructors.
        unsafe { libc::_exit(status) }
    }
    if pid < 0 {
        return None;
    }
    match wait_timeout(pid, timeout) {
        Ok(Some(Exit::Code(0))) => Some(true),
        Ok(Some(Exit::Code(1))) => Some(false),
        Ok(None) => {
            // SAFETY: kills our own child (the stuck check of its caller reports the call).
            unsafe { libc::kill(pid, libc::SIGKILL) };
            let _ = wait_timeout(pid, Duration::from_secs(5));
            None
        }
        _ => None,
    }
}

/// A call's outcome in one word: the value or the errno's name.
pub fn describe(result: &io::Result<i64>) -> String {
    match result {
        Ok(v) => format!("{v:#x}"),
        Err(e) => match e.raw_os_error() {
            Some(n) if n < 0 => format!("signal {}", -n),
            Some(n) => errno_name(n),
            None => e.to_string(),
        },
    }
}

/// Rectangle `i` of `n` of pattern `rects` in the mode of `ctx`.
fn rect(rects: Rects, i: u32, n: u32, ctx: &Ctx) -> BochsfbRect {
    let (w, h, vh) = (ctx.w as u32, ctx.h as u32, ctx.vh as u32);
    match rects {
        Rects::Full => BochsfbRect {
            x: 0,
            y: 0,
            width: w,
            height: vh,
        },
        Rects::Screen => BochsfbRect {
            x: 0,
            y: 0,
            width: w,
            height: h,
        },
        Rects::Zero => BochsfbRect::default(),
        Rects::Edge => BochsfbRect {
            x: w.saturating_sub(8),
            y: vh.saturating_sub(1),
            width: 8.min(w),
            height: 1,
        },
        Rects::Past if i + 1 == n => BochsfbRect {
            x: 0,
            y: 0,
            width: w + 1,
            height: 1,
        },
        Rects::Past => BochsfbRect {
            x: 0,
            y: i % vh.max(1),
            width: w,
            height: 1,
        },
        Rects::Overflow => BochsfbRect {
            x: u32::MAX,
            y: 0,
            width: 2,
            height: 1,
        },
        Rects::Rand(seed) => {
            let mut rng = Rng::new(u64::from(seed) << 32 | u64::from(i));
            let x = rng.next_u32() % w.max(1);
            let y = rng.next_u32() % vh.max(1);
            BochsfbRect {
                x,
                y,
                width: 1 + rng.next_u32() % (w - x).max(1),
                height: 1 + rng.next_u32() % (vh - y).max(1),
            }
        }
    }
}
