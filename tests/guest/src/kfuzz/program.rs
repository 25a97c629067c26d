//! kfuzz programs: sequences of calls with typed arguments, and their text form, one call per
//! line (what `--replay` reads, the corpus stores and findings print).
//!
//! ```text
//! open f0 node=dev flags=rdwr
//! mmap m0 f0 off=1:0 len=0x1000 prot=rw flags=shared
//! mremap m0 from=m0 len=4g+0x1000 flags=maymove
//! touch m0 at=len-0x1 len=0x1 op=w
//! &1 setmode f0 mode=640x480x16 vh=0
//! ```
//!
//! Resources are named slots: files `f0`..`f3`, mappings `m0`..`m7`. A call whose slot is
//! empty when it runs is skipped, so every mutation of a program is still a program. Numbers
//! that depend on the device are [`Val`]s, a base read when the call runs (`fb`: the frame's
//! size, `len`: the mapping's length, `4g`, ...) plus a delta, so `fb-0x1000` stays the last
//! page of the frame whatever mode an earlier call set. `&N` runs a call in child process N
//! (forked when its first call comes up, with a copy of the files and mappings), concurrently
//! with the calls after it; `wait` (and the program's end) reaps the children.

use std::fmt::{self, Write as _};

mod drm;
pub use drm::{DrmReq, Id, ModeSpec, Obj, PropVal, Timings, BOS, FBS, FORMATS, PROPS};

/// File slots `f0`..`f3`.
pub const FILES: u8 = 4;
/// Mapping slots `m0`..`m7`.
pub const MAPS: u8 = 8;
/// Child processes `&1`..`&3`.
pub const CHILDREN: u8 = 3;
/// Longest program the fuzzer builds.
pub const MAX_CALLS: usize = 24;
/// First line of a program file.
pub const HEADER: &str = "# kfuzz program";

/// What a [`Val`] counts from, read when the call runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Base {
    Zero,
    /// `fb_size` of the current mode.
    Fb,
    /// Bytes of VRAM.
    Vram,
    /// 4 GiB: the size of an mmap region.
    G4,
    /// The length of the mapping the call works on.
    Len,
    /// From the start of the mapping the call works on (for `mmap`, of the one it makes) to the
    /// end of its mmap region: `4g` less the offset inside the region it maps from. A length
    /// of `edge` ends exactly at the region's end; `edge+0x1000` crosses it.
    Edge,
    /// Visible rows.
    H,
    /// Rows of the virtual screen.
    Vh,
    /// Pixels per row.
    W,
    /// The last row a pan may start at: `vh - h`.
    Pan,
    /// The size of the dumb buffer the call works on (DRM face).
    Bo,
    /// The pitch of the dumb buffer the call works on (DRM face).
    Pitch,
}

impl Base {
    const NAMES: [(Base, &'static str); 11] = [
        (Base::Vram, "vram"),
        (Base::Len, "len"),
        (Base::Edge, "edge"),
        (Base::Fb, "fb"),
        (Base::G4, "4g"),
        (Base::Vh, "vh"),
        (Base::H, "h"),
        (Base::W, "w"),
        (Base::Pan, "pan"),
        (Base::Bo, "bo"),
        (Base::Pitch, "pitch"),
    ];

    fn name(self) -> &'static str {
        Base::NAMES
            .iter()
            .find(|(b, _)| *b == self)
            .map_or("", |(_, n)| n)
    }
}

/// A number: `base + delta`, wrapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Val {
    pub base: Base,
    pub delta: i64,
}

impl Val {
    pub const fn lit(n: i64) -> Val {
        Val {
            base: Base::Zero,
            delta: n,
        }
    }

    pub const fn of(base: Base, delta: i64) -> Val {
        Val { base, delta }
    }
}

/// What a [`Val`]'s bases are when a call runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ctx {
    pub fb: u64,
    pub vram: u64,
    pub len: u64,
    /// The file offset the mapping maps from (for [`Base::Edge`]).
    pub map_off: u64,
    pub w: u64,
    pub h: u64,
    pub vh: u64,
    /// The size and pitch of the dumb buffer the call works on (DRM face).
    pub bo: u64,
    pub pitch: u64,
}

impl Ctx {
    pub fn eval(&self, v: Val) -> u64 {
        let base = match v.base {
            Base::Zero => 0,
            Base::Fb => self.fb,
            Base::Vram => self.vram,
            Base::G4 => 1 << 32,
            Base::Len => self.len,
            Base::Edge => (1 << 32) - (self.map_off & 0xffff_ffff),
            Base::H => self.h,
            Base::Vh => self.vh,
            Base::W => self.w,
            Base::Pan => self.vh.saturating_sub(self.h),
            Base::Bo => self.bo,
            Base::Pitch => self.pitch,
        };
        base.wrapping_add(v.delta as u64)
    }

    /// The values of a call on a mapping of `len` bytes from file offset `map_off`.
    pub fn with_map(&self, len: u64, map_off: u64) -> Ctx {
        Ctx {
            len,
            map_off,
            ..*self
        }
    }
}

impl fmt::Display for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let magnitude = self.delta.unsigned_abs();
        match (self.base, self.delta) {
            (Base::Zero, d) if d < 0 => write!(f, "-{magnitude:#x}"),
            (Base::Zero, _) => write!(f, "{magnitude:#x}"),
            (base, 0) => f.write_str(base.name()),
            (base, d) => {
                let sign = if d < 0 { '-' } else { '+' };
                write!(f, "{}{sign}{magnitude:#x}", base.name())
            }
        }
    }
}

fn parse_u64(s: &str) -> Result<u64, String> {
    let parsed = match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => s.parse(),
    };
    parsed.map_err(|_| format!("bad number {s:?}"))
}

fn parse_u32(s: &str) -> Result<u32, String> {
    u32::try_from(parse_u64(s)?).map_err(|_| format!("{s} does not fit 32 bits"))
}

fn parse_i64(s: &str) -> Result<i64, String> {
    match s.strip_prefix('-') {
        Some(rest) => Ok(parse_u64(rest)?.wrapping_neg() as i64),
        None => Ok(parse_u64(s.strip_prefix('+').unwrap_or(s))? as i64),
    }
}

impl std::str::FromStr for Val {
    type Err = String;

    fn from_str(s: &str) -> Result<Val, String> {
        for (base, name) in Base::NAMES {
            if let Some(rest) = s.strip_prefix(name) {
                if rest.is_empty() {
                    return Ok(Val::of(base, 0));
                }
                if rest.starts_with(['+', '-']) {
                    return Ok(Val::of(base, parse_i64(rest)?));
                }
            }
        }
        Ok(Val::lit(parse_i64(s)?))
    }
}

/// A user buffer handed to the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Buf {
    /// The fuzzer's scratch buffer (1 MiB, a guard page after it), at this offset.
    Scratch(u32),
    /// This many bytes before the scratch buffer's guard page: copies run into it.
    Guard(u32),
    Null,
    /// An address in the kernel half.
    Kernel,
    /// Inside mapping slot `m`, at this offset (a mapping of the card itself).
    Map(u8, Val),
}

impl fmt::Display for Buf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Buf::Scratch(off) => write!(f, "s:{off:#x}"),
            Buf::Guard(n) => write!(f, "g:{n:#x}"),
            Buf::Null => f.write_str("null"),
            Buf::Kernel => f.write_str("kernel"),
            Buf::Map(m, at) => write!(f, "m{m}:{at}"),
        }
    }
}

impl std::str::FromStr for Buf {
    type Err = String;

    fn from_str(s: &str) -> Result<Buf, String> {
        match s {
            "null" => return Ok(Buf::Null),
            "kernel" => return Ok(Buf::Kernel),
            _ => {}
        }
        let (kind, arg) = s
            .split_once(':')
            .ok_or_else(|| format!("bad buffer {s:?}"))?;
        match kind {
            "s" => Ok(Buf::Scratch(parse_u32(arg)?)),
            "g" => Ok(Buf::Guard(parse_u32(arg)?)),
            _ => Ok(Buf::Map(slot(kind, 'm', MAPS)?, arg.parse()?)),
        }
    }
}

/// What an `mmap` maps from: a region of `/dev/bochsfbN` (its offset is `region << 32`), or
/// the dumb buffer in slot N (DRM face; the fake offset its last MAP_DUMB returned).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    Region(u32),
    Dumb(u8),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Region(r) => write!(f, "{r}"),
            Origin::Dumb(h) => write!(f, "h{h}"),
        }
    }
}

impl std::str::FromStr for Origin {
    type Err = String;

    fn from_str(s: &str) -> Result<Origin, String> {
        if s.starts_with('h') {
            Ok(Origin::Dumb(slot(s, 'h', BOS)?))
        } else {
            Ok(Origin::Region(parse_u32(s)?))
        }
    }
}

/// Where `open` finds the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Node {
    /// `/dev/bochsfbN` (devtmpfs).
    Dev,
    /// A node made with mknod on `/tmp` (tmpfs): the same card through another inode.
    Tmp,
    /// `/proc/self/fd/N` of file slot N: a new open of the same node.
    Fd(u8),
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Dev => f.write_str("dev"),
            Node::Tmp => f.write_str("tmp"),
            Node::Fd(n) => write!(f, "f{n}"),
        }
    }
}

impl std::str::FromStr for Node {
    type Err = String;

    fn from_str(s: &str) -> Result<Node, String> {
        match s {
            "dev" => Ok(Node::Dev),
            "tmp" => Ok(Node::Tmp),
            _ => Ok(Node::Fd(slot(s, 'f', FILES)?)),
        }
    }
}

/// Named bits of one kind of flag argument; anything else prints in hex.
pub struct FlagSet {
    /// Names of values that are not bits (`rdonly` is 0); matched first, on the masked part.
    pub exact: &'static [(&'static str, i64)],
    /// The mask `exact` applies to.
    pub exact_mask: i64,
    pub bits: &'static [(&'static str, i64)],
}

impl FlagSet {
    pub fn format(&self, value: i64) -> String {
        let mut parts = Vec::new();
        let mut rest = value;
        if self.exact_mask != 0 {
            if let Some((name, _)) = self
                .exact
                .iter()
                .find(|(_, v)| *v == value & self.exact_mask)
            {
                parts.push(name.to_string());
                rest &= !self.exact_mask;
            }
        }
        for (name, bit) in self.bits {
            if *bit != 0 && rest & bit == *bit {
                parts.push(name.to_string());
                rest &= !bit;
            }
        }
        if rest != 0 || parts.is_empty() {
            parts.push(format!("{:#x}", rest));
        }
        parts.join("|")
    }

    pub fn parse(&self, s: &str) -> Result<i64, String> {
        let mut value = 0;
        for part in s.split('|') {
            let named = self.exact.iter().chain(self.bits).find(|(n, _)| *n == part);
            value |= match named {
                Some((_, v)) => *v,
                None => parse_i64(part).map_err(|_| format!("unknown flag {part:?}"))?,
            };
        }
        Ok(value)
    }
}

pub const OPEN_FLAGS: FlagSet = FlagSet {
    exact: &[
        ("rdonly", libc::O_RDONLY as i64),
        ("wronly", libc::O_WRONLY as i64),
        ("rdwr", libc::O_RDWR as i64),
    ],
    exact_mask: libc::O_ACCMODE as i64,
    bits: &[
        ("direct", libc::O_DIRECT as i64),
        ("nonblock", libc::O_NONBLOCK as i64),
        ("append", libc::O_APPEND as i64),
        ("sync", libc::O_SYNC as i64),
    ],
};

pub const PROT: FlagSet = FlagSet {
    exact: &[("none", 0)],
    exact_mask: 7,
    bits: &[
        ("r", libc::PROT_READ as i64),
        ("w", libc::PROT_WRITE as i64),
        ("x", libc::PROT_EXEC as i64),
    ],
};

pub const MAP_FLAGS: FlagSet = FlagSet {
    exact: &[
        ("shared", libc::MAP_SHARED as i64),
        ("private", libc::MAP_PRIVATE as i64),
        ("validate", libc::MAP_SHARED_VALIDATE as i64),
    ],
    exact_mask: 3,
    bits: &[
        ("populate", libc::MAP_POPULATE as i64),
        ("locked", libc::MAP_LOCKED as i64),
        ("noreserve", libc::MAP_NORESERVE as i64),
        ("sync", libc::MAP_SYNC as i64),
    ],
};

pub const MREMAP_FLAGS: FlagSet = FlagSet {
    exact: &[],
    exact_mask: 0,
    bits: &[
        ("maymove", libc::MREMAP_MAYMOVE as i64),
        ("fixed", libc::MREMAP_FIXED as i64),
        ("dontunmap", libc::MREMAP_DONTUNMAP as i64),
    ],
};

pub const RWF: FlagSet = FlagSet {
    exact: &[],
    exact_mask: 0,
    bits: &[
        ("hipri", libc::RWF_HIPRI as i64),
        ("dsync", libc::RWF_DSYNC as i64),
        ("sync", libc::RWF_SYNC as i64),
        ("nowait", libc::RWF_NOWAIT as i64),
        ("append", libc::RWF_APPEND as i64),
    ],
};

pub const MSYNC: FlagSet = FlagSet {
    exact: &[],
    exact_mask: 0,
    bits: &[
        ("async", libc::MS_ASYNC as i64),
        ("invalidate", libc::MS_INVALIDATE as i64),
        ("sync", libc::MS_SYNC as i64),
    ],
};

/// `madvise` advice, by name.
pub const ADVICE: &[(&str, i32)] = &[
    ("dontneed", libc::MADV_DONTNEED),
    ("populate_read", 22),
    ("populate_write", 23),
    ("remove", libc::MADV_REMOVE),
    ("willneed", libc::MADV_WILLNEED),
    ("cold", libc::MADV_COLD),
    ("pageout", libc::MADV_PAGEOUT),
    ("free", libc::MADV_FREE),
    ("dontfork", libc::MADV_DONTFORK),
    ("dofork", libc::MADV_DOFORK),
    ("wipeonfork", libc::MADV_WIPEONFORK),
    ("dontdump", libc::MADV_DONTDUMP),
];

pub const WHENCE: &[(&str, i32)] = &[
    ("set", libc::SEEK_SET),
    ("cur", libc::SEEK_CUR),
    ("end", libc::SEEK_END),
    ("data", libc::SEEK_DATA),
    ("hole", libc::SEEK_HOLE),
];

/// The card's sysfs attributes (`/sys/class/misc/bochsfbN/NAME`).
pub const SYSFS_ATTRS: &[&str] = &[
    "card",
    "mode",
    "virtual_height",
    "y_offset",
    "vram_size",
    "dev",
    "uevent",
];

fn named<T: Copy + PartialEq + fmt::LowerHex>(table: &[(&str, T)], value: T) -> String {
    table
        .iter()
        .find(|(_, v)| *v == value)
        .map_or_else(|| format!("{value:#x}"), |(n, _)| n.to_string())
}

fn parse_named(table: &[(&str, i32)], s: &str) -> Result<i32, String> {
    match table.iter().find(|(n, _)| *n == s) {
        Some((_, v)) => Ok(*v),
        None => Ok(parse_i64(s)? as i32),
    }
}

/// Damage rectangles a FLUSH passes, generated from the mode when the call runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rects {
    /// Every rectangle is the whole virtual screen.
    Full,
    /// Every rectangle is the visible screen.
    Screen,
    /// Empty rectangles at the origin.
    Zero,
    /// The last 8x1 pixels of the virtual screen.
    Edge,
    /// All in bounds but the last, one column too wide.
    Past,
    /// `x = u32::MAX`, `width = 2`: the end overflows.
    Overflow,
    /// In-bounds rectangles from a seed.
    Rand(u32),
}

impl fmt::Display for Rects {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rects::Full => f.write_str("full"),
            Rects::Screen => f.write_str("screen"),
            Rects::Zero => f.write_str("zero"),
            Rects::Edge => f.write_str("edge"),
            Rects::Past => f.write_str("past"),
            Rects::Overflow => f.write_str("overflow"),
            Rects::Rand(seed) => write!(f, "rand:{seed}"),
        }
    }
}

impl std::str::FromStr for Rects {
    type Err = String;

    fn from_str(s: &str) -> Result<Rects, String> {
        Ok(match s {
            "full" => Rects::Full,
            "screen" => Rects::Screen,
            "zero" => Rects::Zero,
            "edge" => Rects::Edge,
            "past" => Rects::Past,
            "overflow" => Rects::Overflow,
            _ => match s.strip_prefix("rand:") {
                Some(seed) => Rects::Rand(parse_u32(seed)?),
                None => return Err(format!("bad rectangles {s:?}")),
            },
        })
    }
}

/// The eight read and write calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IoKind {
    Read,
    Write,
    Pread,
    Pwrite,
    Readv,
    Writev,
    Preadv2,
    Pwritev2,
}

impl IoKind {
    pub const ALL: [IoKind; 8] = [
        IoKind::Read,
        IoKind::Write,
        IoKind::Pread,
        IoKind::Pwrite,
        IoKind::Readv,
        IoKind::Writev,
        IoKind::Preadv2,
        IoKind::Pwritev2,
    ];

    pub fn name(self) -> &'static str {
        match self {
            IoKind::Read => "read",
            IoKind::Write => "write",
            IoKind::Pread => "pread",
            IoKind::Pwrite => "pwrite",
            IoKind::Readv => "readv",
            IoKind::Writev => "writev",
            IoKind::Preadv2 => "preadv2",
            IoKind::Pwritev2 => "pwritev2",
        }
    }

    /// The kernel writes into the buffers.
    pub fn reads(self) -> bool {
        matches!(
            self,
            IoKind::Read | IoKind::Pread | IoKind::Readv | IoKind::Preadv2
        )
    }

    pub fn vectored(self) -> bool {
        matches!(
            self,
            IoKind::Readv | IoKind::Writev | IoKind::Preadv2 | IoKind::Pwritev2
        )
    }

    /// Takes a file offset.
    pub fn positioned(self) -> bool {
        matches!(
            self,
            IoKind::Pread | IoKind::Pwrite | IoKind::Preadv2 | IoKind::Pwritev2
        )
    }

    pub fn has_rwf(self) -> bool {
        matches!(self, IoKind::Preadv2 | IoKind::Pwritev2)
    }
}

/// The ioctls, each with its argument.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Req {
    GetMode,
    SetMode {
        w: u32,
        h: u32,
        bpp: u32,
        vh: u32,
    },
    Pan {
        y: Val,
    },
    WaitVsync,
    /// `count` rectangles (`rects` says which) at `at`, flags.
    Flush {
        count: u32,
        rects: Rects,
        flags: u32,
        at: Buf,
    },
    FbGetV,
    FbPutV {
        w: u32,
        h: u32,
        bpp: u32,
        vyres: u32,
        xoff: u32,
        yoff: Val,
        activate: u32,
    },
    FbGetF,
    FbPan {
        x: u32,
        y: Val,
    },
    FbVsync {
        crtc: u32,
    },
    /// Any number; the argument is the plain integer `int` when given, else `arg`.
    Raw {
        cmd: u32,
        int: Option<u64>,
    },
}

impl Req {
    pub fn name(&self) -> &'static str {
        match self {
            Req::GetMode => "getmode",
            Req::SetMode { .. } => "setmode",
            Req::Pan { .. } => "pan",
            Req::WaitVsync => "vsync",
            Req::Flush { .. } => "flush",
            Req::FbGetV => "fbget_v",
            Req::FbPutV { .. } => "fbput_v",
            Req::FbGetF => "fbget_f",
            Req::FbPan { .. } => "fbpan",
            Req::FbVsync { .. } => "fbvsync",
            Req::Raw { .. } => "ioctl",
        }
    }

    /// Needs a file open for writing (docs/architecture.md): bochsfb's own SET_MODE, PAN and
    /// FLUSH on an `O_RDONLY` file must fail with `EBADF`. (fbdev's FBIOPUT_VSCREENINFO and
    /// FBIOPAN_DISPLAY need write permission on the node instead: see
    /// [`Req::changes_display_through_fbdev`].)
    pub fn needs_write_access(&self) -> bool {
        use bochsfb_renderer::abi::{
            BOCHSFB_IOCTL_FLUSH, BOCHSFB_IOCTL_PAN, BOCHSFB_IOCTL_SET_MODE,
        };
        match self {
            Req::SetMode { .. } | Req::Pan { .. } | Req::Flush { .. } => true,
            Req::Raw { cmd, .. } => [
                BOCHSFB_IOCTL_SET_MODE,
                BOCHSFB_IOCTL_PAN,
                BOCHSFB_IOCTL_FLUSH,
            ]
            .contains(cmd),
            _ => false,
        }
    }

    /// Changes the display through one of fbdev's ioctls (FBIOPUT_VSCREENINFO without
    /// `FB_ACTIVATE_TEST`, FBIOPAN_DISPLAY). On an `O_RDONLY` file these keep fbdev's
    /// convention (Debian's `fbset` sets modes through a read-only file): they need the
    /// caller's write permission on the node, which root, running kfuzz, always has; a process
    /// without it must get `EBADF`.
    pub fn changes_display_through_fbdev(&self) -> bool {
        use bochsfb_renderer::fb_abi::{FBIOPAN_DISPLAY, FB_ACTIVATE_TEST};
        match self {
            Req::FbPutV { activate, .. } => activate & FB_ACTIVATE_TEST == 0,
            Req::FbPan { .. } => true,
            Req::Raw { cmd, .. } => *cmd == FBIOPAN_DISPLAY,
            _ => false,
        }
    }
}

/// One call.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Op {
    Open {
        f: u8,
        node: Node,
        flags: i32,
    },
    Close {
        f: u8,
    },
    Dup {
        f: u8,
        from: u8,
    },
    /// `fcntl(F_SETFL)`: `O_NONBLOCK`, `O_APPEND` (or the refused `O_DIRECT`) on an open file.
    Fcntl {
        f: u8,
        flags: i32,
    },
    /// `mmap` of `within` into `origin`; `at`: `MAP_FIXED` inside a live mapping.
    Mmap {
        m: u8,
        f: u8,
        origin: Origin,
        within: Val,
        len: Val,
        prot: i32,
        flags: i32,
        at: Option<(u8, Val)>,
    },
    /// `mremap` of mapping `from` into slot `m`. `old`: the old size (default its length; `0`
    /// duplicates a shared mapping); `at`: the `MREMAP_FIXED` target inside a live mapping.
    Mremap {
        m: u8,
        from: u8,
        old: Option<Val>,
        len: Val,
        flags: i32,
        at: Option<(u8, Val)>,
    },
    Munmap {
        m: u8,
        at: Val,
        len: Val,
    },
    Mprotect {
        m: u8,
        at: Val,
        len: Val,
        prot: i32,
    },
    Madvise {
        m: u8,
        at: Val,
        len: Val,
        advice: i32,
    },
    Msync {
        m: u8,
        at: Val,
        len: Val,
        flags: i32,
    },
    Mlock {
        m: u8,
        at: Val,
        len: Val,
    },
    /// Reads or writes one byte per page of `at..at + len` through the mapping.
    Touch {
        m: u8,
        at: Val,
        len: Val,
        write: bool,
    },
    /// Reads the mapping through `/proc/self/mem`.
    ProcMem {
        m: u8,
        at: Val,
        len: Val,
    },
    /// One of the eight read/write calls; `iov` has one entry unless vectored.
    Io {
        kind: IoKind,
        f: u8,
        iov: Vec<(Buf, Val)>,
        off: Val,
        rwf: i32,
    },
    Lseek {
        f: u8,
        off: Val,
        whence: i32,
    },
    Ioctl {
        f: u8,
        req: Req,
        arg: Buf,
    },
    /// An ioctl of the DRM face, its struct at `arg`.
    Drm {
        f: u8,
        req: DrmReq,
        arg: Buf,
    },
    Sysfs {
        attr: u8,
    },
    /// `personality(READ_IMPLIES_EXEC)` (or back to plain Linux).
    Personality {
        rie: bool,
    },
    /// A child with a copy of every file and mapping, exiting at once.
    Fork,
    Unbind,
    Bind,
    /// Reaps the child processes of `&N` calls.
    Wait,
}

/// A call, and which process runs it: 0 the fuzzer, `1..=CHILDREN` a child.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Call {
    pub proc: u8,
    pub op: Op,
}

impl Call {
    pub fn main(op: Op) -> Call {
        Call { proc: 0, op }
    }
}

/// A program: calls run in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Program {
    pub calls: Vec<Call>,
}

/// The default ioctl argument: the start of the scratch buffer.
pub const DEFAULT_ARG: Buf = Buf::Scratch(0);
/// Where FLUSH's rectangles go by default.
pub const DEFAULT_RECTS: Buf = Buf::Scratch(0x1000);

impl Op {
    /// The call's name, as the text form starts it.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Open { .. } => "open",
            Op::Close { .. } => "close",
            Op::Dup { .. } => "dup",
            Op::Fcntl { .. } => "fcntl",
            Op::Mmap { .. } => "mmap",
            Op::Mremap { .. } => "mremap",
            Op::Munmap { .. } => "munmap",
            Op::Mprotect { .. } => "mprotect",
            Op::Madvise { .. } => "madvise",
            Op::Msync { .. } => "msync",
            Op::Mlock { .. } => "mlock",
            Op::Touch { .. } => "touch",
            Op::ProcMem { .. } => "procmem",
            Op::Io { kind, .. } => kind.name(),
            Op::Lseek { .. } => "lseek",
            Op::Ioctl { req, .. } => req.name(),
            Op::Drm { req, .. } => req.name(),
            Op::Sysfs { .. } => "sysfs",
            Op::Personality { .. } => "personality",
            Op::Fork => "fork",
            Op::Unbind => "unbind",
            Op::Bind => "bind",
            Op::Wait => "wait",
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let range =
            |f: &mut fmt::Formatter<'_>, at: &Val, len: &Val| write!(f, " at={at} len={len}");
        let target = |f: &mut fmt::Formatter<'_>, at: &Option<(u8, Val)>| match at {
            Some((m, v)) => write!(f, " at=m{m}:{v}"),
            None => Ok(()),
        };
        match self {
            Op::Open {
                f: slot,
                node,
                flags,
            } => {
                write!(
                    f,
                    "open f{slot} node={node} flags={}",
                    OPEN_FLAGS.format(*flags as i64)
                )
            }
            Op::Close { f: slot } => write!(f, "close f{slot}"),
            Op::Dup { f: slot, from } => write!(f, "dup f{slot} from=f{from}"),
            Op::Fcntl { f: slot, flags } => {
                write!(
                    f,
                    "fcntl f{slot} flags={}",
                    OPEN_FLAGS.format(*flags as i64)
                )
            }
            Op::Mmap {
                m,
                f: file,
                origin,
                within,
                len,
                prot,
                flags,
                at,
            } => {
                write!(
                    f,
                    "mmap m{m} f{file} off={origin}:{within} len={len} prot={} flags={}",
                    PROT.format(*prot as i64),
                    MAP_FLAGS.format(*flags as i64)
                )?;
                target(f, at)
            }
            Op::Mremap {
                m,
                from,
                old,
                len,
                flags,
                at,
            } => {
                write!(f, "mremap m{m} from=m{from}")?;
                if let Some(old) = old {
                    write!(f, " old={old}")?;
                }
                write!(f, " len={len} flags={}", MREMAP_FLAGS.format(*flags as i64))?;
                target(f, at)
            }
            Op::Munmap { m, at, len } => {
                write!(f, "munmap m{m}")?;
                range(f, at, len)
            }
            Op::Mprotect { m, at, len, prot } => {
                write!(f, "mprotect m{m}")?;
                range(f, at, len)?;
                write!(f, " prot={}", PROT.format(*prot as i64))
            }
            Op::Madvise { m, at, len, advice } => {
                write!(f, "madvise m{m}")?;
                range(f, at, len)?;
                write!(f, " advice={}", named(ADVICE, *advice))
            }
            Op::Msync { m, at, len, flags } => {
                write!(f, "msync m{m}")?;
                range(f, at, len)?;
                write!(f, " flags={}", MSYNC.format(*flags as i64))
            }
            Op::Mlock { m, at, len } => {
                write!(f, "mlock m{m}")?;
                range(f, at, len)
            }
            Op::Touch { m, at, len, write } => {
                write!(f, "touch m{m}")?;
                range(f, at, len)?;
                write!(f, " op={}", if *write { "w" } else { "r" })
            }
            Op::ProcMem { m, at, len } => {
                write!(f, "procmem m{m}")?;
                range(f, at, len)
            }
            Op::Io {
                kind,
                f: slot,
                iov,
                off,
                rwf,
            } => {
                write!(f, "{} f{slot}", kind.name())?;
                if kind.vectored() {
                    let list: Vec<String> = iov.iter().map(|(b, l)| format!("{b}/{l}")).collect();
                    write!(f, " iov={}", list.join(","))?;
                } else if let Some((buf, len)) = iov.first() {
                    write!(f, " buf={buf} len={len}")?;
                }
                if kind.positioned() {
                    write!(f, " off={off}")?;
                }
                if kind.has_rwf() {
                    write!(f, " rwf={}", RWF.format(*rwf as i64))?;
                }
                Ok(())
            }
            Op::Lseek {
                f: slot,
                off,
                whence,
            } => {
                write!(
                    f,
                    "lseek f{slot} off={off} whence={}",
                    named(WHENCE, *whence)
                )
            }
            Op::Ioctl { f: slot, req, arg } => {
                write!(f, "{} f{slot}", req.name())?;
                match req {
                    Req::GetMode | Req::WaitVsync | Req::FbGetV | Req::FbGetF => {}
                    Req::SetMode { w, h, bpp, vh } => write!(f, " mode={w}x{h}x{bpp} vh={vh}")?,
                    Req::Pan { y } => write!(f, " y={y}")?,
                    Req::Flush { count, rects, flags, at } => {
                        write!(f, " count={count} rects={rects}")?;
                        if *flags != 0 {
                            write!(f, " flags={flags:#x}")?;
                        }
                        if *at != DEFAULT_RECTS {
                            write!(f, " rects_at={at}")?;
                        }
                    }
                    Req::FbPutV { w, h, bpp, vyres, xoff, yoff, activate } => write!(
                        f,
                        " res={w}x{h}x{bpp} vyres={vyres} xoff={xoff} yoff={yoff} activate={activate:#x}"
                    )?,
                    Req::FbPan { x, y } => write!(f, " x={x} y={y}")?,
                    Req::FbVsync { crtc } => write!(f, " crtc={crtc}")?,
                    Req::Raw { cmd, int } => {
                        write!(f, " cmd={cmd:#010x}")?;
                        if let Some(int) = int {
                            write!(f, " int={int:#x}")?;
                        }
                    }
                }
                if *arg != DEFAULT_ARG {
                    write!(f, " arg={arg}")?;
                }
                Ok(())
            }
            Op::Drm { f: slot, req, arg } => {
                write!(f, "{} f{slot}", req.name())?;
                req.fmt_args(f)?;
                if *arg != DEFAULT_ARG {
                    write!(f, " arg={arg}")?;
                }
                Ok(())
            }
            Op::Sysfs { attr } => write!(
                f,
                "sysfs attr={}",
                SYSFS_ATTRS.get(*attr as usize).copied().unwrap_or("?")
            ),
            Op::Personality { rie } => {
                write!(
                    f,
                    "personality {}",
                    if *rie { "read_implies_exec" } else { "linux" }
                )
            }
            Op::Fork => f.write_str("fork"),
            Op::Unbind => f.write_str("unbind"),
            Op::Bind => f.write_str("bind"),
            Op::Wait => f.write_str("wait"),
        }
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.proc != 0 {
            write!(f, "&{} ", self.proc)?;
        }
        self.op.fmt(f)
    }
}

impl fmt::Display for Program {
    /// The program file: the header, then one call per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{HEADER}")?;
        for call in &self.calls {
            writeln!(f, "{call}")?;
        }
        Ok(())
    }
}

/// `f2` / `m7`: a slot number below `limit`.
fn slot(s: &str, kind: char, limit: u8) -> Result<u8, String> {
    let n = s
        .strip_prefix(kind)
        .and_then(|n| n.parse::<u8>().ok())
        .ok_or_else(|| format!("expected a {kind} slot, got {s:?}"))?;
    if n >= limit {
        return Err(format!("slot {s} out of range (< {kind}{limit})"));
    }
    Ok(n)
}

/// A line's words: positional ones, then `key=value` pairs (each key used once).
struct Fields<'a> {
    positional: Vec<&'a str>,
    keyed: Vec<(&'a str, &'a str, bool)>,
}

impl<'a> Fields<'a> {
    fn new(words: &[&'a str]) -> Fields<'a> {
        let mut positional = Vec::new();
        let mut keyed = Vec::new();
        for word in words {
            match word.split_once('=') {
                Some((k, v)) => keyed.push((k, v, false)),
                None => positional.push(*word),
            }
        }
        Fields { positional, keyed }
    }

    fn pos(&self, i: usize) -> Result<&'a str, String> {
        self.positional
            .get(i)
            .copied()
            .ok_or_else(|| format!("argument {} missing", i + 1))
    }

    fn opt(&mut self, key: &str) -> Option<&'a str> {
        let entry = self.keyed.iter_mut().find(|(k, _, _)| *k == key)?;
        entry.2 = true;
        Some(entry.1)
    }

    fn get(&mut self, key: &str) -> Result<&'a str, String> {
        self.opt(key).ok_or_else(|| format!("{key}= missing"))
    }

    fn val(&mut self, key: &str) -> Result<Val, String> {
        self.get(key)?.parse()
    }

    /// Fails on keys no one asked for and extra positional words.
    fn finish(&self, positional: usize) -> Result<(), String> {
        if let Some((k, _, _)) = self.keyed.iter().find(|(_, _, used)| !used) {
            return Err(format!("unknown argument {k}="));
        }
        if self.positional.len() > positional {
            return Err(format!("extra argument {:?}", self.positional[positional]));
        }
        Ok(())
    }
}

fn target(s: Option<&str>) -> Result<Option<(u8, Val)>, String> {
    s.map(|s| {
        let (m, v) = s
            .split_once(':')
            .ok_or_else(|| format!("bad target {s:?}"))?;
        Ok((slot(m, 'm', MAPS)?, v.parse()?))
    })
    .transpose()
}

fn triple(s: &str) -> Result<(u32, u32, u32), String> {
    let parts: Vec<&str> = s.split('x').collect();
    match parts[..] {
        [w, h, bpp] => Ok((parse_u32(w)?, parse_u32(h)?, parse_u32(bpp)?)),
        _ => Err(format!("expected WxHxBPP, got {s:?}")),
    }
}

impl std::str::FromStr for Call {
    type Err = String;

    fn from_str(line: &str) -> Result<Call, String> {
        let mut words: Vec<&str> = line.split_whitespace().collect();
        let mut proc = 0;
        if let Some(tag) = words.first().and_then(|w| w.strip_prefix('&')) {
            proc = tag.parse().map_err(|_| format!("bad process tag &{tag}"))?;
            if proc == 0 || proc > CHILDREN {
                return Err(format!("process tag &{proc} out of range (1..={CHILDREN})"));
            }
            words.remove(0);
        }
        let (&name, rest) = words.split_first().ok_or("empty call")?;
        let mut a = Fields::new(rest);
        let file = |a: &Fields<'_>, i| slot(a.pos(i)?, 'f', FILES);
        let map = |a: &Fields<'_>, i| slot(a.pos(i)?, 'm', MAPS);
        let range = |a: &mut Fields<'_>| -> Result<(Val, Val), String> {
            Ok((a.val("at")?, a.val("len")?))
        };
        let (op, positional) = match name {
            "open" => (
                Op::Open {
                    f: file(&a, 0)?,
                    node: a.get("node")?.parse()?,
                    flags: OPEN_FLAGS.parse(a.get("flags")?)? as i32,
                },
                1,
            ),
            "close" => (Op::Close { f: file(&a, 0)? }, 1),
            "dup" => (
                Op::Dup {
                    f: file(&a, 0)?,
                    from: slot(a.get("from")?, 'f', FILES)?,
                },
                1,
            ),
            "fcntl" => (
                Op::Fcntl {
                    f: file(&a, 0)?,
                    flags: OPEN_FLAGS.parse(a.get("flags")?)? as i32,
                },
                1,
            ),
            "mmap" => {
                let off = a.get("off")?;
                let (origin, within) = off
                    .split_once(':')
                    .ok_or_else(|| format!("bad offset {off:?}"))?;
                (
                    Op::Mmap {
                        m: map(&a, 0)?,
                        f: file(&a, 1)?,
                        origin: origin.parse()?,
                        within: within.parse()?,
                        len: a.val("len")?,
                        prot: PROT.parse(a.get("prot")?)? as i32,
                        flags: MAP_FLAGS.parse(a.get("flags")?)? as i32,
                        at: target(a.opt("at"))?,
                    },
                    2,
                )
            }
            "mremap" => (
                Op::Mremap {
                    m: map(&a, 0)?,
                    from: slot(a.get("from")?, 'm', MAPS)?,
                    old: a.opt("old").map(str::parse).transpose()?,
                    len: a.val("len")?,
                    flags: MREMAP_FLAGS.parse(a.get("flags")?)? as i32,
                    at: target(a.opt("at"))?,
                },
                1,
            ),
            "munmap" => {
                let (at, len) = range(&mut a)?;
                (
                    Op::Munmap {
                        m: map(&a, 0)?,
                        at,
                        len,
                    },
                    1,
                )
            }
            "mprotect" => {
                let (at, len) = range(&mut a)?;
                (
                    Op::Mprotect {
                        m: map(&a, 0)?,
                        at,
                        len,
                        prot: PROT.parse(a.get("prot")?)? as i32,
                    },
                    1,
                )
            }
            "madvise" => {
                let (at, len) = range(&mut a)?;
                (
                    Op::Madvise {
                        m: map(&a, 0)?,
                        at,
                        len,
                        advice: parse_named(ADVICE, a.get("advice")?)?,
                    },
                    1,
                )
            }
            "msync" => {
                let (at, len) = range(&mut a)?;
                (
                    Op::Msync {
                        m: map(&a, 0)?,
                        at,
                        len,
                        flags: MSYNC.parse(a.get("flags")?)? as i32,
                    },
                    1,
                )
            }
            "mlock" => {
                let (at, len) = range(&mut a)?;
                (
                    Op::Mlock {
                        m: map(&a, 0)?,
                        at,
                        len,
                    },
                    1,
                )
            }
            "touch" => {
                let (at, len) = range(&mut a)?;
                let write = match a.get("op")? {
                    "r" => false,
                    "w" => true,
                    other => return Err(format!("touch op must be r or w, not {other:?}")),
                };
                (
                    Op::Touch {
                        m: map(&a, 0)?,
                        at,
                        len,
                        write,
                    },
                    1,
                )
            }
            "procmem" => {
                let (at, len) = range(&mut a)?;
                (
                    Op::ProcMem {
                        m: map(&a, 0)?,
                        at,
                        len,
                    },
                    1,
                )
            }
            "lseek" => (
                Op::Lseek {
                    f: file(&a, 0)?,
                    off: a.val("off")?,
                    whence: parse_named(WHENCE, a.get("whence")?)?,
                },
                1,
            ),
            "sysfs" => {
                let attr = a.get("attr")?;
                let index = SYSFS_ATTRS
                    .iter()
                    .position(|n| *n == attr)
                    .ok_or_else(|| format!("unknown sysfs attribute {attr:?}"))?;
                (Op::Sysfs { attr: index as u8 }, 0)
            }
            "personality" => {
                let rie = match a.pos(0)? {
                    "read_implies_exec" => true,
                    "linux" => false,
                    other => return Err(format!("unknown personality {other:?}")),
                };
                (Op::Personality { rie }, 1)
            }
            "fork" => (Op::Fork, 0),
            "unbind" => (Op::Unbind, 0),
            "bind" => (Op::Bind, 0),
            "wait" => (Op::Wait, 0),
            _ if DrmReq::NAMES.contains(&name) => {
                let (req, positional) = DrmReq::parse(name, &mut a)?;
                let arg = a
                    .opt("arg")
                    .map(str::parse)
                    .transpose()?
                    .unwrap_or(DEFAULT_ARG);
                (
                    Op::Drm {
                        f: file(&a, 0)?,
                        req,
                        arg,
                    },
                    positional,
                )
            }
            _ => {
                if let Some(kind) = IoKind::ALL.iter().find(|k| k.name() == name) {
                    let iov = if kind.vectored() {
                        a.get("iov")?
                            .split(',')
                            .filter(|s| !s.is_empty())
                            .map(|entry| {
                                let (b, l) = entry
                                    .split_once('/')
                                    .ok_or_else(|| format!("bad iovec {entry:?}"))?;
                                Ok((b.parse()?, l.parse()?))
                            })
                            .collect::<Result<Vec<_>, String>>()?
                    } else {
                        vec![(a.get("buf")?.parse()?, a.val("len")?)]
                    };
                    let off = if kind.positioned() {
                        a.val("off")?
                    } else {
                        Val::lit(0)
                    };
                    let rwf = if kind.has_rwf() {
                        RWF.parse(a.get("rwf")?)? as i32
                    } else {
                        0
                    };
                    (
                        Op::Io {
                            kind: *kind,
                            f: file(&a, 0)?,
                            iov,
                            off,
                            rwf,
                        },
                        1,
                    )
                } else {
                    let req = parse_req(name, &mut a)?;
                    let arg = a
                        .opt("arg")
                        .map(str::parse)
                        .transpose()?
                        .unwrap_or(DEFAULT_ARG);
                    (
                        Op::Ioctl {
                            f: file(&a, 0)?,
                            req,
                            arg,
                        },
                        1,
                    )
                }
            }
        };
        a.finish(positional)?;
        Ok(Call { proc, op })
    }
}

fn parse_req(name: &str, a: &mut Fields<'_>) -> Result<Req, String> {
    Ok(match name {
        "getmode" => Req::GetMode,
        "setmode" => {
            let (w, h, bpp) = triple(a.get("mode")?)?;
            Req::SetMode {
                w,
                h,
                bpp,
                vh: parse_u32(a.get("vh")?)?,
            }
        }
        "pan" => Req::Pan { y: a.val("y")? },
        "vsync" => Req::WaitVsync,
        "flush" => Req::Flush {
            count: parse_u32(a.get("count")?)?,
            rects: a.get("rects")?.parse()?,
            flags: a.opt("flags").map(parse_u32).transpose()?.unwrap_or(0),
            at: a
                .opt("rects_at")
                .map(str::parse)
                .transpose()?
                .unwrap_or(DEFAULT_RECTS),
        },
        "fbget_v" => Req::FbGetV,
        "fbput_v" => {
            let (w, h, bpp) = triple(a.get("res")?)?;
            Req::FbPutV {
                w,
                h,
                bpp,
                vyres: parse_u32(a.get("vyres")?)?,
                xoff: parse_u32(a.get("xoff")?)?,
                yoff: a.val("yoff")?,
                activate: parse_u32(a.get("activate")?)?,
            }
        }
        "fbget_f" => Req::FbGetF,
        "fbpan" => Req::FbPan {
            x: parse_u32(a.get("x")?)?,
            y: a.val("y")?,
        },
        "fbvsync" => Req::FbVsync {
            crtc: parse_u32(a.get("crtc")?)?,
        },
        "ioctl" => Req::Raw {
            cmd: parse_u32(a.get("cmd")?)?,
            int: a.opt("int").map(parse_u64).transpose()?,
        },
        _ => return Err(format!("unknown call {name:?}")),
    })
}

impl std::str::FromStr for Program {
    type Err = String;

    /// One call per line; blank lines and `#` comments are skipped.
    fn from_str(text: &str) -> Result<Program, String> {
        let mut calls = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            calls.push(
                line.parse()
                    .map_err(|e| format!("line {}: {e}: {line}", i + 1))?,
            );
        }
        Ok(Program { calls })
    }
}

impl Program {
    /// The calls child `p` runs when it is forked at call `first`: those tagged `&p`, up to the
    /// fuzzer's next `wait` (which reaps it; a later `&p` call forks a new child).
    pub fn child_calls(&self, first: usize, p: u8) -> impl Iterator<Item = (usize, &Call)> {
        self.calls
            .iter()
            .enumerate()
            .skip(first)
            .take_while(|(_, c)| !(c.proc == 0 && matches!(c.op, Op::Wait)))
            .filter(move |(_, c)| c.proc == p)
    }

    /// Whether running it may leave the card in another mode, pan offset or binding than it
    /// found it in (so the next program must start with a reset).
    pub fn changes_card(&self) -> bool {
        self.calls.iter().any(|c| match &c.op {
            Op::Ioctl { req, .. } => matches!(
                req,
                Req::SetMode { .. }
                    | Req::FbPutV { .. }
                    | Req::Pan { .. }
                    | Req::FbPan { .. }
                    | Req::Raw { .. }
            ),
            Op::Drm { req, .. } => req.changes_display(),
            Op::Unbind | Op::Bind => true,
            _ => false,
        })
    }

    /// The calls, one per line, without the header.
    pub fn lines(&self) -> String {
        let mut out = String::new();
        for call in &self.calls {
            let _ = writeln!(out, "{call}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = "\
open f0 node=dev flags=rdwr|append
mmap m0 f0 off=1:0x0 len=0x1000 prot=r|w flags=shared
mremap m1 from=m0 old=0x0 len=4g+0x1000 flags=maymove at=m2:len-0x1000
touch m0 at=len-0x1 len=0x1 op=w
&2 setmode f0 mode=640x480x16 vh=0
pread f0 buf=m0:fb-0x10 len=-0x1 off=fb
pwritev2 f1 iov=s:0x0/0x1000,g:0x10/fb off=-0x1 rwf=nowait|0x100
flush f0 count=256 rects=rand:7 flags=0x1 rects_at=null arg=g:0x8
ioctl f3 cmd=0xc0284203 int=0x10
fbput_v f0 res=1024x768x32 vyres=0 xoff=0 yoff=pan-0x1 activate=0x2
lseek f0 off=-0x8000000000000000 whence=hole
madvise m7 at=0x0 len=len advice=populate_write
sysfs attr=y_offset
personality read_implies_exec
open f1 node=f0 flags=rdonly
create_dumb f0 h1 w=1024 h=768 bpp=32 flags=0x0
map_dumb f0 bo=h1
mmap m2 f0 off=h1:0x0 len=bo+0x1000 prot=r|w flags=shared
addfb2 f0 b0 bo=h1 w=1024 h=768 fmt=xr24 pitch=pitch off=0x0 flags=0x0
addfb f1 b3 bo=0x7 w=0 h=0 bpp=32 depth=24 pitch=-0x1
setcrtc f0 crtc=crtc fb=b0 x=0x0 y=0x0 conns=conn,0x0 mode=c0
setcrtc f0 crtc=0xffffffff fb=0x0 x=0x0 y=0x0 conns= mode=none
setcrtc f0 crtc=crtc fb=b0 x=0x0 y=0x0 conns=conn mode=9/640_656_752_65535/480_490_492_32768/0x0/0
setplane f0 plane=plane crtc=crtc fb=b0 dst=0x0,0x0,0x400,0x300 src=0x0,0x0,0x4000000,0x3000000
atomic f0 flags=0x601 props=plane.FB_ID:b0,crtc.MODE_ID:c1,crtc.ACTIVE:0x1,conn.CRTC_ID:crtc
page_flip f0 crtc=crtc fb=b0 flags=0x1 target=0x0 arg=null
dirtyfb f0 fb=b0 count=2 rects=rand:3 flags=0x0
wait_vblank f2 kind=0x1 seq=0x1
set_master f1
prime_to_fd f0 bo=h1 flags=0x80002
";

    #[test]
    fn text_round_trips() {
        let program: Program = EXAMPLE.parse().unwrap();
        assert_eq!(program.calls.len(), 30);
        assert_eq!(program.lines(), EXAMPLE);
        assert_eq!(program.to_string().parse::<Program>().unwrap(), program);
    }

    #[test]
    fn values_evaluate_against_the_mode() {
        let ctx = Ctx {
            fb: 3 << 20,
            len: 0x2000,
            ..Ctx::default()
        };
        for (text, value) in [
            ("fb-0x1000", (3 << 20) - 0x1000),
            ("4g+0x1000", (1 << 32) + 0x1000),
            ("len", 0x2000),
            ("-0x1", u64::MAX),
            ("4096", 4096),
        ] {
            assert_eq!(ctx.eval(text.parse().unwrap()), value, "{text}");
        }
    }

    #[test]
    fn a_child_runs_its_calls_up_to_the_next_wait() {
        let p: Program =
            "&1 getmode f0\nvsync f0\n&2 vsync f0\n&1 pan f0 y=0x0\nwait\n&1 close f0\n"
                .parse()
                .unwrap();
        let calls = |first, proc| {
            p.child_calls(first, proc)
                .map(|(i, _)| i)
                .collect::<Vec<_>>()
        };
        assert_eq!(calls(0, 1), [0, 3]);
        assert_eq!(calls(2, 2), [2]);
        assert_eq!(calls(5, 1), [5]);
    }

    #[test]
    fn bad_lines_say_why() {
        for (line, why) in [
            ("open f9 node=dev flags=rdwr", "out of range"),
            ("close", "missing"),
            ("mmap m0 f0 off=1 len=0 prot=r flags=shared", "bad offset"),
            ("touch m0 at=0 len=1 op=x", "r or w"),
            ("read f0 buf=s:0 len=1 bogus=1", "unknown argument"),
            ("&4 wait", "out of range"),
            ("frobnicate f0", "unknown call"),
        ] {
            let err = line.parse::<Call>().unwrap_err();
            assert!(err.contains(why), "{line}: {err}");
        }
    }
}
