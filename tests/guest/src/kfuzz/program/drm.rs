//! The DRM face's calls (`bochsfb.ko face=1`, `/dev/dri/cardN`): the ioctls a dumb-buffer KMS
//! client makes, with their arguments, in the program text.
//!
//! ```text
//! create_dumb f0 h0 w=1024 h=768 bpp=32 flags=0x0
//! addfb2 f0 b0 bo=h0 w=1024 h=768 fmt=xr24 pitch=pitch off=0x0 flags=0x0
//! setcrtc f0 crtc=crtc fb=b0 x=0x0 y=0x0 conns=conn mode=c0
//! atomic f0 flags=0x200 props=plane.FB_ID:b1,crtc.ACTIVE:0x1,crtc.MODE_ID:65000/1024_1048_1184_1344/768_771_777_806/0xa/0
//! ```
//!
//! Kernel object ids are [`Id`]s: the pipe's objects by name (`crtc`, `conn`, `enc`, `plane`:
//! what the last GETRESOURCES or GETPLANERESOURCES of the program returned, or, before one, the
//! card's), a framebuffer slot `b0`..`b3` (the id an ADDFB of the program returned), a dumb
//! buffer slot `h0`..`h3` (the handle its CREATE_DUMB returned), or a number. A slot nothing
//! filled is id 0. Modes are the connector's (`c0`: its first, as GETCONNECTOR lists them) or
//! timings written out (`clock/hdisplay_hsync_start_hsync_end_htotal/vdisplay_..._vtotal/flags/vscan`).

use std::fmt;

use super::{parse_u32, parse_u64, slot, Fields, Rects, Val};

/// Framebuffer slots `b0`..`b3`.
pub const FBS: u8 = 4;
/// Dumb buffer slots `h0`..`h3`.
pub const BOS: u8 = 4;

/// A kernel object id, a handle, or a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Id {
    Crtc,
    Conn,
    Enc,
    Plane,
    /// The framebuffer in slot N.
    Fb(u8),
    /// The dumb buffer handle in slot N.
    Bo(u8),
    Lit(u64),
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Id::Crtc => f.write_str("crtc"),
            Id::Conn => f.write_str("conn"),
            Id::Enc => f.write_str("enc"),
            Id::Plane => f.write_str("plane"),
            Id::Fb(n) => write!(f, "b{n}"),
            Id::Bo(n) => write!(f, "h{n}"),
            Id::Lit(n) => write!(f, "{n:#x}"),
        }
    }
}

impl std::str::FromStr for Id {
    type Err = String;

    fn from_str(s: &str) -> Result<Id, String> {
        Ok(match s {
            "crtc" => Id::Crtc,
            "conn" => Id::Conn,
            "enc" => Id::Enc,
            "plane" => Id::Plane,
            _ if s.starts_with('b') => Id::Fb(slot(s, 'b', FBS)?),
            _ if s.starts_with('h') => Id::Bo(slot(s, 'h', BOS)?),
            _ => Id::Lit(parse_u64(s)?),
        })
    }
}

/// A display mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModeSpec {
    /// The connector's mode N (as the card lists them; the last one past the end).
    Conn(u8),
    Timings(Timings),
}

/// A mode's timings, as `drm_mode_modeinfo` has them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timings {
    pub clock: u32,
    pub h: [u16; 4],
    pub v: [u16; 4],
    pub flags: u32,
    pub vscan: u16,
}

impl Timings {
    /// 1024x768@60 (DMT).
    pub const XGA: Timings = Timings {
        clock: 65000,
        h: [1024, 1048, 1184, 1344],
        v: [768, 771, 777, 806],
        flags: 0xa,
        vscan: 0,
    };
    /// 640x480@60 (DMT).
    pub const VGA: Timings = Timings {
        clock: 25175,
        h: [640, 656, 752, 800],
        v: [480, 490, 492, 525],
        flags: 0xa,
        vscan: 0,
    };
}

impl fmt::Display for ModeSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModeSpec::Conn(n) => write!(f, "c{n}"),
            ModeSpec::Timings(t) => {
                let four = |x: &[u16; 4]| format!("{}_{}_{}_{}", x[0], x[1], x[2], x[3]);
                write!(
                    f,
                    "{}/{}/{}/{:#x}/{}",
                    t.clock,
                    four(&t.h),
                    four(&t.v),
                    t.flags,
                    t.vscan
                )
            }
        }
    }
}

impl std::str::FromStr for ModeSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<ModeSpec, String> {
        if let Some(n) = s.strip_prefix('c') {
            return Ok(ModeSpec::Conn(
                n.parse().map_err(|_| format!("bad mode {s:?}"))?,
            ));
        }
        let parts: Vec<&str> = s.split('/').collect();
        let four = |p: &str| -> Result<[u16; 4], String> {
            let v: Vec<u16> = p
                .split('_')
                .map(|x| {
                    u16::try_from(parse_u64(x)?).map_err(|_| format!("{x} does not fit 16 bits"))
                })
                .collect::<Result<_, _>>()?;
            v.try_into()
                .map_err(|_| format!("expected four timings in {p:?}"))
        };
        match parts[..] {
            [clock, h, v, flags, vscan] => Ok(ModeSpec::Timings(Timings {
                clock: parse_u32(clock)?,
                h: four(h)?,
                v: four(v)?,
                flags: parse_u32(flags)?,
                vscan: u16::try_from(parse_u64(vscan)?).map_err(|_| "vscan too large")?,
            })),
            _ => Err(format!("bad mode {s:?}")),
        }
    }
}

/// Which object an atomic property is set on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Obj {
    Plane,
    Crtc,
    Conn,
}

/// The atomic properties of the pipe's objects, by object and name (what the commit sets).
pub const PROPS: &[(Obj, &str)] = &[
    (Obj::Plane, "FB_ID"),
    (Obj::Plane, "CRTC_ID"),
    (Obj::Plane, "SRC_X"),
    (Obj::Plane, "SRC_Y"),
    (Obj::Plane, "SRC_W"),
    (Obj::Plane, "SRC_H"),
    (Obj::Plane, "CRTC_X"),
    (Obj::Plane, "CRTC_Y"),
    (Obj::Plane, "CRTC_W"),
    (Obj::Plane, "CRTC_H"),
    (Obj::Plane, "FB_DAMAGE_CLIPS"),
    (Obj::Crtc, "ACTIVE"),
    (Obj::Crtc, "MODE_ID"),
    (Obj::Conn, "CRTC_ID"),
];

impl Obj {
    pub fn name(self) -> &'static str {
        match self {
            Obj::Plane => "plane",
            Obj::Crtc => "crtc",
            Obj::Conn => "conn",
        }
    }
}

/// A property's value in an atomic commit: an id (or number), or, for `MODE_ID`, a mode that
/// the executor puts in a blob for the commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PropVal {
    Id(Id),
    Mode(ModeSpec),
}

impl fmt::Display for PropVal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PropVal::Id(id) => id.fmt(f),
            PropVal::Mode(m) => m.fmt(f),
        }
    }
}

/// The DRM ioctls, each with its arguments.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DrmReq {
    GetRes,
    GetConnector {
        conn: Id,
    },
    GetEncoder {
        enc: Id,
    },
    GetCrtc {
        crtc: Id,
    },
    /// `mode: None` sets no mode (turns the CRTC off with `fb` 0).
    SetCrtc {
        crtc: Id,
        fb: Id,
        x: u32,
        y: u32,
        conns: Vec<Id>,
        mode: Option<ModeSpec>,
    },
    GetPlaneRes,
    GetPlane {
        plane: Id,
    },
    /// `dst`: CRTC x, y, w, h; `src`: x, y, w, h in 16.16 fixed point.
    SetPlane {
        plane: Id,
        crtc: Id,
        fb: Id,
        dst: [u32; 4],
        src: [u32; 4],
    },
    /// The new framebuffer's id goes to slot `b`.
    AddFb {
        b: u8,
        bo: Id,
        w: u32,
        h: u32,
        bpp: u32,
        depth: u32,
        pitch: Val,
    },
    AddFb2 {
        b: u8,
        bo: Id,
        w: u32,
        h: u32,
        format: u32,
        pitch: Val,
        offset: Val,
        flags: u32,
    },
    RmFb {
        fb: Id,
    },
    /// The new handle goes to slot `h`.
    CreateDumb {
        h: u8,
        w: u32,
        height: u32,
        bpp: u32,
        flags: u32,
    },
    /// The fake offset is kept with the slot for `mmap ... off=hN:...`.
    MapDumb {
        bo: Id,
    },
    DestroyDumb {
        bo: Id,
    },
    GemClose {
        bo: Id,
    },
    PageFlip {
        crtc: Id,
        fb: Id,
        flags: u32,
        target: u32,
    },
    DirtyFb {
        fb: Id,
        count: u32,
        rects: Rects,
        flags: u32,
    },
    Atomic {
        flags: u32,
        props: Vec<(Obj, &'static str, PropVal)>,
    },
    SetClientCap {
        cap: u64,
        value: u64,
    },
    GetCap {
        cap: u64,
    },
    SetMaster,
    DropMaster,
    WaitVblank {
        kind: u32,
        seq: u32,
    },
    PrimeHandleToFd {
        bo: Id,
        flags: u32,
    },
}

/// Fourcc codes by name.
pub const FORMATS: &[(&str, u32)] = &[
    ("xr24", u32::from_le_bytes(*b"XR24")),
    ("rg16", u32::from_le_bytes(*b"RG16")),
    ("ar24", u32::from_le_bytes(*b"AR24")),
    ("rg24", u32::from_le_bytes(*b"RG24")),
    ("c8", u32::from_le_bytes(*b"C8  ")),
];

fn format_name(code: u32) -> String {
    FORMATS
        .iter()
        .find(|(_, c)| *c == code)
        .map_or_else(|| format!("{code:#x}"), |(n, _)| n.to_string())
}

fn parse_format(s: &str) -> Result<u32, String> {
    match FORMATS.iter().find(|(n, _)| *n == s) {
        Some((_, c)) => Ok(*c),
        None => parse_u32(s),
    }
}

fn list<T: fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn four_u32(s: &str) -> Result<[u32; 4], String> {
    let v: Vec<u32> = s.split(',').map(parse_u32).collect::<Result<_, _>>()?;
    v.try_into()
        .map_err(|_| format!("expected four numbers in {s:?}"))
}

impl DrmReq {
    pub fn name(&self) -> &'static str {
        match self {
            DrmReq::GetRes => "getres",
            DrmReq::GetConnector { .. } => "getconn",
            DrmReq::GetEncoder { .. } => "getenc",
            DrmReq::GetCrtc { .. } => "getcrtc",
            DrmReq::SetCrtc { .. } => "setcrtc",
            DrmReq::GetPlaneRes => "getplaneres",
            DrmReq::GetPlane { .. } => "getplane",
            DrmReq::SetPlane { .. } => "setplane",
            DrmReq::AddFb { .. } => "addfb",
            DrmReq::AddFb2 { .. } => "addfb2",
            DrmReq::RmFb { .. } => "rmfb",
            DrmReq::CreateDumb { .. } => "create_dumb",
            DrmReq::MapDumb { .. } => "map_dumb",
            DrmReq::DestroyDumb { .. } => "destroy_dumb",
            DrmReq::GemClose { .. } => "gem_close",
            DrmReq::PageFlip { .. } => "page_flip",
            DrmReq::DirtyFb { .. } => "dirtyfb",
            DrmReq::Atomic { .. } => "atomic",
            DrmReq::SetClientCap { .. } => "set_client_cap",
            DrmReq::GetCap { .. } => "get_cap",
            DrmReq::SetMaster => "set_master",
            DrmReq::DropMaster => "drop_master",
            DrmReq::WaitVblank { .. } => "wait_vblank",
            DrmReq::PrimeHandleToFd { .. } => "prime_to_fd",
        }
    }

    pub const NAMES: [&'static str; 24] = [
        "getres",
        "getconn",
        "getenc",
        "getcrtc",
        "setcrtc",
        "getplaneres",
        "getplane",
        "setplane",
        "addfb",
        "addfb2",
        "rmfb",
        "create_dumb",
        "map_dumb",
        "destroy_dumb",
        "gem_close",
        "page_flip",
        "dirtyfb",
        "atomic",
        "set_client_cap",
        "get_cap",
        "set_master",
        "drop_master",
        "wait_vblank",
        "prime_to_fd",
    ];

    /// May change what the card shows (the next program starts with the CRTC turned off).
    pub fn changes_display(&self) -> bool {
        matches!(
            self,
            DrmReq::SetCrtc { .. }
                | DrmReq::SetPlane { .. }
                | DrmReq::PageFlip { .. }
                | DrmReq::Atomic { .. }
                | DrmReq::RmFb { .. }
        )
    }

    /// The arguments, as the text form writes them after the file.
    pub fn fmt_args(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DrmReq::GetRes | DrmReq::GetPlaneRes | DrmReq::SetMaster | DrmReq::DropMaster => Ok(()),
            DrmReq::GetConnector { conn } => write!(f, " conn={conn}"),
            DrmReq::GetEncoder { enc } => write!(f, " enc={enc}"),
            DrmReq::GetCrtc { crtc } => write!(f, " crtc={crtc}"),
            DrmReq::SetCrtc {
                crtc,
                fb,
                x,
                y,
                conns,
                mode,
            } => {
                write!(
                    f,
                    " crtc={crtc} fb={fb} x={x:#x} y={y:#x} conns={}",
                    list(conns)
                )?;
                match mode {
                    Some(m) => write!(f, " mode={m}"),
                    None => f.write_str(" mode=none"),
                }
            }
            DrmReq::GetPlane { plane } => write!(f, " plane={plane}"),
            DrmReq::SetPlane {
                plane,
                crtc,
                fb,
                dst,
                src,
            } => write!(
                f,
                " plane={plane} crtc={crtc} fb={fb} dst={} src={}",
                list(&dst.map(|v| format!("{v:#x}"))),
                list(&src.map(|v| format!("{v:#x}")))
            ),
            DrmReq::AddFb {
                b,
                bo,
                w,
                h,
                bpp,
                depth,
                pitch,
            } => write!(
                f,
                " b{b} bo={bo} w={w} h={h} bpp={bpp} depth={depth} pitch={pitch}"
            ),
            DrmReq::AddFb2 {
                b,
                bo,
                w,
                h,
                format,
                pitch,
                offset,
                flags,
            } => write!(
                f,
                " b{b} bo={bo} w={w} h={h} fmt={} pitch={pitch} off={offset} flags={flags:#x}",
                format_name(*format)
            ),
            DrmReq::RmFb { fb } => write!(f, " fb={fb}"),
            DrmReq::CreateDumb {
                h,
                w,
                height,
                bpp,
                flags,
            } => write!(f, " h{h} w={w} h={height} bpp={bpp} flags={flags:#x}"),
            DrmReq::MapDumb { bo } | DrmReq::DestroyDumb { bo } | DrmReq::GemClose { bo } => {
                write!(f, " bo={bo}")
            }
            DrmReq::PageFlip {
                crtc,
                fb,
                flags,
                target,
            } => write!(
                f,
                " crtc={crtc} fb={fb} flags={flags:#x} target={target:#x}"
            ),
            DrmReq::DirtyFb {
                fb,
                count,
                rects,
                flags,
            } => write!(f, " fb={fb} count={count} rects={rects} flags={flags:#x}"),
            DrmReq::Atomic { flags, props } => {
                let props: Vec<String> = props
                    .iter()
                    .map(|(o, n, v)| format!("{}.{n}:{v}", o.name()))
                    .collect();
                write!(f, " flags={flags:#x} props={}", props.join(","))
            }
            DrmReq::SetClientCap { cap, value } => write!(f, " cap={cap:#x} value={value:#x}"),
            DrmReq::GetCap { cap } => write!(f, " cap={cap:#x}"),
            DrmReq::WaitVblank { kind, seq } => write!(f, " kind={kind:#x} seq={seq:#x}"),
            DrmReq::PrimeHandleToFd { bo, flags } => write!(f, " bo={bo} flags={flags:#x}"),
        }
    }

    /// Parses the arguments of call `name` (one of [`DrmReq::NAMES`]); the file is positional
    /// argument 0, an output slot argument 1. Returns the request and its positional count.
    pub(super) fn parse(name: &str, a: &mut Fields<'_>) -> Result<(DrmReq, usize), String> {
        let id = |a: &mut Fields<'_>, key: &str| -> Result<Id, String> { a.get(key)?.parse() };
        Ok(match name {
            "getres" => (DrmReq::GetRes, 1),
            "getconn" => (
                DrmReq::GetConnector {
                    conn: id(a, "conn")?,
                },
                1,
            ),
            "getenc" => (DrmReq::GetEncoder { enc: id(a, "enc")? }, 1),
            "getcrtc" => (
                DrmReq::GetCrtc {
                    crtc: id(a, "crtc")?,
                },
                1,
            ),
            "setcrtc" => {
                let conns = a
                    .get("conns")?
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::parse)
                    .collect::<Result<Vec<Id>, String>>()?;
                let mode = match a.get("mode")? {
                    "none" => None,
                    m => Some(m.parse()?),
                };
                (
                    DrmReq::SetCrtc {
                        crtc: id(a, "crtc")?,
                        fb: id(a, "fb")?,
                        x: parse_u32(a.get("x")?)?,
                        y: parse_u32(a.get("y")?)?,
                        conns,
                        mode,
                    },
                    1,
                )
            }
            "getplaneres" => (DrmReq::GetPlaneRes, 1),
            "getplane" => (
                DrmReq::GetPlane {
                    plane: id(a, "plane")?,
                },
                1,
            ),
            "setplane" => (
                DrmReq::SetPlane {
                    plane: id(a, "plane")?,
                    crtc: id(a, "crtc")?,
                    fb: id(a, "fb")?,
                    dst: four_u32(a.get("dst")?)?,
                    src: four_u32(a.get("src")?)?,
                },
                1,
            ),
            "addfb" => (
                DrmReq::AddFb {
                    b: slot(a.pos(1)?, 'b', FBS)?,
                    bo: id(a, "bo")?,
                    w: parse_u32(a.get("w")?)?,
                    h: parse_u32(a.get("h")?)?,
                    bpp: parse_u32(a.get("bpp")?)?,
                    depth: parse_u32(a.get("depth")?)?,
                    pitch: a.val("pitch")?,
                },
                2,
            ),
            "addfb2" => (
                DrmReq::AddFb2 {
                    b: slot(a.pos(1)?, 'b', FBS)?,
                    bo: id(a, "bo")?,
                    w: parse_u32(a.get("w")?)?,
                    h: parse_u32(a.get("h")?)?,
                    format: parse_format(a.get("fmt")?)?,
                    pitch: a.val("pitch")?,
                    offset: a.val("off")?,
                    flags: parse_u32(a.get("flags")?)?,
                },
                2,
            ),
            "rmfb" => (DrmReq::RmFb { fb: id(a, "fb")? }, 1),
            "create_dumb" => (
                DrmReq::CreateDumb {
                    h: slot(a.pos(1)?, 'h', BOS)?,
                    w: parse_u32(a.get("w")?)?,
                    height: parse_u32(a.get("h")?)?,
                    bpp: parse_u32(a.get("bpp")?)?,
                    flags: parse_u32(a.get("flags")?)?,
                },
                2,
            ),
            "map_dumb" => (DrmReq::MapDumb { bo: id(a, "bo")? }, 1),
            "destroy_dumb" => (DrmReq::DestroyDumb { bo: id(a, "bo")? }, 1),
            "gem_close" => (DrmReq::GemClose { bo: id(a, "bo")? }, 1),
            "page_flip" => (
                DrmReq::PageFlip {
                    crtc: id(a, "crtc")?,
                    fb: id(a, "fb")?,
                    flags: parse_u32(a.get("flags")?)?,
                    target: parse_u32(a.get("target")?)?,
                },
                1,
            ),
            "dirtyfb" => (
                DrmReq::DirtyFb {
                    fb: id(a, "fb")?,
                    count: parse_u32(a.get("count")?)?,
                    rects: a.get("rects")?.parse()?,
                    flags: parse_u32(a.get("flags")?)?,
                },
                1,
            ),
            "atomic" => {
                let flags = parse_u32(a.get("flags")?)?;
                let props = a
                    .get("props")?
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(parse_prop)
                    .collect::<Result<Vec<_>, String>>()?;
                (DrmReq::Atomic { flags, props }, 1)
            }
            "set_client_cap" => (
                DrmReq::SetClientCap {
                    cap: parse_u64(a.get("cap")?)?,
                    value: parse_u64(a.get("value")?)?,
                },
                1,
            ),
            "get_cap" => (
                DrmReq::GetCap {
                    cap: parse_u64(a.get("cap")?)?,
                },
                1,
            ),
            "set_master" => (DrmReq::SetMaster, 1),
            "drop_master" => (DrmReq::DropMaster, 1),
            "wait_vblank" => (
                DrmReq::WaitVblank {
                    kind: parse_u32(a.get("kind")?)?,
                    seq: parse_u32(a.get("seq")?)?,
                },
                1,
            ),
            "prime_to_fd" => (
                DrmReq::PrimeHandleToFd {
                    bo: id(a, "bo")?,
                    flags: parse_u32(a.get("flags")?)?,
                },
                1,
            ),
            _ => return Err(format!("unknown call {name:?}")),
        })
    }
}

/// `plane.FB_ID:b0`: a property of [`PROPS`] and its value.
fn parse_prop(s: &str) -> Result<(Obj, &'static str, PropVal), String> {
    let (name, value) = s
        .split_once(':')
        .ok_or_else(|| format!("bad property {s:?}"))?;
    let &(obj, prop) = PROPS
        .iter()
        .find(|(o, n)| format!("{}.{n}", o.name()) == name)
        .ok_or_else(|| format!("unknown property {name:?}"))?;
    let value = if prop == "MODE_ID" && (value.starts_with('c') || value.contains('/')) {
        PropVal::Mode(value.parse()?)
    } else {
        PropVal::Id(value.parse()?)
    };
    Ok((obj, prop, value))
}
