//! The DRM face's calls and values: the ioctls of a dumb-buffer KMS client, with the pipe's
//! ids, the program's handles and framebuffers mostly where they belong and now and then
//! somewhere else, modes from the connector or timings at their limits (pixel clocks from 1 kHz
//! to `u32::MAX`, totals at 16 bits, interlace and double scan), and mappings of dumb buffers.

#[cfg(test)]
use super::super::exec::Face;
use super::super::program::{
    Base, Buf, Call, DrmReq, Id, IoKind, ModeSpec, Node, Obj, Op, Origin, Program, Timings, Val,
    BOS, DEFAULT_ARG, FBS, FORMATS, MAPS, PROPS,
};
use super::{Gen, Live, PAGE};

const XR24: u32 = u32::from_le_bytes(*b"XR24");
const RG16: u32 = u32::from_le_bytes(*b"RG16");

/// What a program knows of dumb buffer slot `h` before call `at`: its last CREATE_DUMB's size.
fn dumb_size(program: Option<(&Program, usize)>, h: u8) -> Option<(u32, u32, u32)> {
    let (p, at) = program?;
    p.calls[..at.min(p.calls.len())]
        .iter()
        .rev()
        .find_map(|c| match &c.op {
            Op::Drm {
                req:
                    DrmReq::CreateDumb {
                        h: slot,
                        w,
                        height,
                        bpp,
                        ..
                    },
                ..
            } if *slot == h => Some((*w, *height, *bpp)),
            _ => None,
        })
}

impl Gen<'_> {
    fn bo_slot(&mut self, live: Live) -> u8 {
        self.slot(live.bos, BOS)
    }

    fn fb_slot(&mut self, live: Live) -> u8 {
        self.slot(live.fbs, FBS)
    }

    /// An id of the kind `right` mostly, else anything.
    fn id_or(&mut self, right: Id, live: Live) -> Id {
        if self.rng.chance(7, 8) {
            return right;
        }
        match self.rng.below(6) {
            0 => Id::Lit(0),
            1 => Id::Lit(self.rng.pick(&[1, 0xffff_ffff, 0x7fff_ffff, 100])),
            2 => Id::Fb(self.fb_slot(live)),
            3 => Id::Bo(self.bo_slot(live)),
            _ => self.rng.pick(&[Id::Crtc, Id::Conn, Id::Enc, Id::Plane]),
        }
    }

    fn fb_id(&mut self, live: Live) -> Id {
        let fb = Id::Fb(self.fb_slot(live));
        self.id_or(fb, live)
    }

    fn bo_id(&mut self, live: Live) -> Id {
        let bo = Id::Bo(self.bo_slot(live));
        self.id_or(bo, live)
    }

    fn dumb_width(&mut self) -> u32 {
        self.rng.pick(&[
            1024,
            1024,
            640,
            800,
            1920,
            0,
            1,
            8,
            7,
            8192,
            16000,
            16008,
            65536,
            u32::MAX,
        ])
    }

    fn dumb_height(&mut self) -> u32 {
        self.rng.pick(&[
            768,
            768,
            480,
            600,
            1080,
            0,
            1,
            12000,
            12001,
            65536,
            u32::MAX,
        ])
    }

    fn dumb_bpp(&mut self) -> u32 {
        self.rng
            .pick(&[32, 32, 32, 16, 16, 24, 8, 0, 1, 15, 33, 64, u32::MAX])
    }

    /// A mode: the connector's mostly, else timings at the limits.
    pub(super) fn mode(&mut self) -> ModeSpec {
        match self.rng.below(6) {
            0..=2 => ModeSpec::Conn(self.rng.pick(&[0, 0, 0, 1, 2, 5, 255])),
            _ => ModeSpec::Timings(self.timings()),
        }
    }

    fn timings(&mut self) -> Timings {
        let mut t = self.rng.pick(&[Timings::XGA, Timings::VGA]);
        for _ in 0..1 + self.rng.below(2) {
            match self.rng.below(8) {
                // The refresh rate around the face's bounds (10 and 1000 Hz: the vblank timer
                // ticks at it; 1 Hz, the commit helpers' vblank wait), and far past them:
                // clock = htotal * vtotal * rate.
                6 | 7 => {
                    let frame = u64::from(t.h[3]) * u64::from(t.v[3]);
                    let millihertz = self.rng.pick(&[
                        10,
                        500,
                        999,
                        1001,
                        9_990,
                        10_010,
                        60_000,
                        999_000,
                        1_001_000,
                        100_000_000,
                    ]);
                    t.clock = u32::try_from(frame * millihertz / 1_000_000).unwrap_or(u32::MAX);
                }
                0 | 1 => {
                    t.clock = self.rng.pick(&[
                        1,
                        9,
                        75,
                        1000,
                        2000,
                        25175,
                        65000,
                        650_000,
                        6_500_000,
                        42_000_000,
                        i32::MAX as u32,
                        u32::MAX,
                    ])
                }
                2 => {
                    let i = self.rng.below(4) as usize;
                    t.h[i] = self
                        .rng
                        .pick(&[0, 1, t.h[0], t.h[0] - 1, 16008, 32768, 65535]);
                }
                3 => {
                    let i = self.rng.below(4) as usize;
                    t.v[i] = self
                        .rng
                        .pick(&[0, 1, t.v[0], t.v[0] - 1, 12001, 32768, 65535]);
                }
                4 => t.flags = self.rng.pick(&[0, 0x5, 0x10, 0x20, 0x30, 0x4000, u32::MAX]),
                _ => t.vscan = self.rng.pick(&[0, 1, 2, 255, 65535]),
            }
        }
        t
    }

    fn pitch(&mut self) -> Val {
        self.rng.pick(&[
            Val::of(Base::Pitch, 0),
            Val::of(Base::Pitch, 0),
            Val::of(Base::Pitch, 0),
            Val::of(Base::Pitch, 4),
            Val::of(Base::Pitch, -4),
            Val::of(Base::Pitch, 1),
            Val::lit(0),
            Val::lit(4096),
            Val::lit(64000),
            Val::lit(0xffff_ffff),
        ])
    }

    fn fb_offset(&mut self) -> Val {
        self.rng.pick(&[
            Val::lit(0),
            Val::lit(0),
            Val::lit(0),
            Val::lit(PAGE),
            Val::lit(4),
            Val::of(Base::Bo, -PAGE),
            Val::of(Base::Bo, 0),
            Val::lit(0xffff_ffff),
        ])
    }

    fn fourcc(&mut self) -> u32 {
        if self.rng.chance(1, 12) {
            return self.rng.next_u32();
        }
        let (_, code) = self.rng.pick(FORMATS);
        if self.rng.chance(1, 2) {
            XR24
        } else {
            code
        }
    }

    /// A 16.16 source coordinate or size.
    fn fixed(&mut self, whole: u32) -> u32 {
        self.rng.pick(&[
            whole << 16,
            whole << 16,
            0,
            (whole << 16) + 0x8000,
            (whole + 1) << 16,
            1 << 16,
            u32::MAX,
        ])
    }

    fn atomic_props(
        &mut self,
        live: Live,
    ) -> Vec<(Obj, &'static str, super::super::program::PropVal)> {
        use super::super::program::PropVal;
        let everything = self.rng.chance(1, 3);
        let mut props = Vec::new();
        for &(obj, name) in PROPS {
            if !everything && !self.rng.chance(1, 3) {
                continue;
            }
            let value = match name {
                "FB_ID" => PropVal::Id(self.fb_id(live)),
                "CRTC_ID" => PropVal::Id(if self.rng.chance(1, 6) {
                    Id::Lit(0)
                } else {
                    self.id_or(Id::Crtc, live)
                }),
                "SRC_X" | "SRC_Y" => PropVal::Id(Id::Lit(u64::from(self.fixed(0)))),
                "SRC_W" => {
                    let w = self.rng.pick(&[1024, 640, 1, 16000]);
                    PropVal::Id(Id::Lit(u64::from(self.fixed(w))))
                }
                "SRC_H" => {
                    let h = self.rng.pick(&[768, 480, 1, 12000]);
                    PropVal::Id(Id::Lit(u64::from(self.fixed(h))))
                }
                "CRTC_X" | "CRTC_Y" => PropVal::Id(Id::Lit(self.rng.pick(&[
                    0,
                    0,
                    1,
                    1024,
                    0xffff_ffff,
                    0x8000_0000,
                ]))),
                "CRTC_W" | "CRTC_H" => PropVal::Id(Id::Lit(self.rng.pick(&[
                    1024,
                    768,
                    640,
                    480,
                    0,
                    1,
                    0xffff_ffff,
                ]))),
                "ACTIVE" => PropVal::Id(Id::Lit(self.rng.pick(&[1, 1, 0, 2]))),
                "MODE_ID" => {
                    if self.rng.chance(1, 5) {
                        PropVal::Id(Id::Lit(self.rng.pick(&[0, 1, 0xffff_ffff])))
                    } else {
                        PropVal::Mode(self.mode())
                    }
                }
                _ => PropVal::Id(Id::Lit(self.rng.pick(&[0, 1, 0xffff_ffff]))),
            };
            props.push((obj, name, value));
        }
        props
    }

    /// One DRM ioctl; `program` and `at` say what came before (for a buffer's size).
    pub(super) fn drm_req(&mut self, program: Option<(&Program, usize)>, live: Live) -> DrmReq {
        match self.rng.below(40) {
            0 => DrmReq::GetRes,
            1 => DrmReq::GetConnector {
                conn: self.id_or(Id::Conn, live),
            },
            2 => DrmReq::GetEncoder {
                enc: self.id_or(Id::Enc, live),
            },
            3 => DrmReq::GetCrtc {
                crtc: self.id_or(Id::Crtc, live),
            },
            4..=7 => {
                let off = self.rng.chance(1, 6);
                DrmReq::SetCrtc {
                    crtc: self.id_or(Id::Crtc, live),
                    fb: if off { Id::Lit(0) } else { self.fb_id(live) },
                    x: self.rng.pick(&[0, 0, 0, 0, 1, 8, 1024, 0xffff_ffff]),
                    y: self.rng.pick(&[0, 0, 0, 0, 1, 768, 12000, 0xffff_ffff]),
                    conns: match self.rng.below(8) {
                        0 => Vec::new(),
                        1 => vec![Id::Conn, Id::Conn],
                        2 => vec![self.id_or(Id::Lit(0), live)],
                        _ => vec![Id::Conn],
                    },
                    mode: (!off).then(|| self.mode()),
                }
            }
            8 => DrmReq::GetPlaneRes,
            9 => DrmReq::GetPlane {
                plane: self.id_or(Id::Plane, live),
            },
            10..=11 => DrmReq::SetPlane {
                plane: self.id_or(Id::Plane, live),
                crtc: self.id_or(Id::Crtc, live),
                fb: self.fb_id(live),
                dst: [
                    self.rng.pick(&[0, 0, 1, 0xffff_fc00]),
                    self.rng.pick(&[0, 0, 1, 768]),
                    self.rng.pick(&[1024, 1024, 640, 0, 1]),
                    self.rng.pick(&[768, 768, 480, 0, 1]),
                ],
                src: [
                    self.fixed(0),
                    self.fixed(0),
                    self.fixed(1024),
                    self.fixed(768),
                ],
            },
            12..=16 => {
                let b = self.slot(!live.fbs, FBS);
                let h = self.bo_slot(live);
                let (w, height, bpp) = dumb_size(program, h).unwrap_or((1024, 768, 32));
                let (w, height) = if self.rng.chance(1, 6) {
                    (self.dumb_width(), self.dumb_height())
                } else {
                    (w, height)
                };
                let bo = self.id_or(Id::Bo(h), live);
                if self.rng.chance(1, 3) {
                    DrmReq::AddFb {
                        b,
                        bo,
                        w,
                        h: height,
                        bpp: if self.rng.chance(1, 6) {
                            self.dumb_bpp()
                        } else {
                            bpp
                        },
                        depth: self.rng.pick(&[24, 24, 16, 32, 8, 0, 30]),
                        pitch: self.pitch(),
                    }
                } else {
                    DrmReq::AddFb2 {
                        b,
                        bo,
                        w,
                        h: height,
                        format: if bpp == 16 && self.rng.chance(2, 3) {
                            RG16
                        } else {
                            self.fourcc()
                        },
                        pitch: self.pitch(),
                        offset: self.fb_offset(),
                        flags: self.rng.pick(&[0, 0, 0, 0, 1, 2, u32::MAX]),
                    }
                }
            }
            17 => DrmReq::RmFb {
                fb: self.fb_id(live),
            },
            18..=21 => DrmReq::CreateDumb {
                h: self.slot(!live.bos, BOS),
                w: self.dumb_width(),
                height: self.dumb_height(),
                bpp: self.dumb_bpp(),
                flags: self.rng.pick(&[0, 0, 0, 0, 0, 1, u32::MAX]),
            },
            22..=23 => DrmReq::MapDumb {
                bo: self.bo_id(live),
            },
            24 => DrmReq::DestroyDumb {
                bo: self.bo_id(live),
            },
            25 => DrmReq::GemClose {
                bo: self.bo_id(live),
            },
            26..=28 => DrmReq::PageFlip {
                crtc: self.id_or(Id::Crtc, live),
                fb: self.fb_id(live),
                flags: self.rng.pick(&[1, 1, 1, 0, 2, 3, 5, 9, 0xd, u32::MAX]),
                target: self.rng.pick(&[0, 0, 0, 1, 2, u32::MAX]),
            },
            29 => DrmReq::DirtyFb {
                fb: self.fb_id(live),
                count: self.rng.pick(&[0, 1, 1, 4, 256, 257, u32::MAX]),
                rects: self.rects(),
                flags: self.rng.pick(&[0, 0, 1, 2, 3]),
            },
            30..=33 => DrmReq::Atomic {
                flags: self.rng.pick(&[
                    0x400,
                    0x400,
                    0x401,
                    0x200,
                    0x201,
                    0x100,
                    0x500,
                    0,
                    0x2,
                    u32::MAX,
                ]),
                props: self.atomic_props(live),
            },
            34 => DrmReq::SetClientCap {
                cap: self.rng.pick(&[2, 2, 3, 3, 1, 4, 5, 6, 0, 99]),
                value: self.rng.pick(&[1, 1, 1, 0, 2]),
            },
            35 => DrmReq::GetCap {
                cap: self.rng.pick(&[
                    0x1, 0x2, 0x3, 0x4, 0x6, 0x7, 0x8, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0,
                ]),
            },
            36 => {
                if self.rng.chance(1, 2) {
                    DrmReq::SetMaster
                } else {
                    DrmReq::DropMaster
                }
            }
            37..=38 => DrmReq::WaitVblank {
                // Relative and absolute, with an event, next-on-miss; a far sequence waits
                // the kernel's 3 s: rarely.
                kind: self.rng.pick(&[
                    1,
                    1,
                    0,
                    0x0400_0001,
                    0x0800_0001,
                    0x0400_0000,
                    0x3e,
                    u32::MAX,
                ]),
                seq: if self.rng.chance(1, 16) {
                    u32::MAX
                } else {
                    self.rng.pick(&[0, 1, 1, 2])
                },
            },
            _ => DrmReq::PrimeHandleToFd {
                bo: self.bo_id(live),
                flags: self.rng.pick(&[0x80002, 0, 0x80000, u32::MAX]),
            },
        }
    }

    /// One call of the DRM face's programs.
    pub(super) fn drm_op(&mut self, program: Option<(&Program, usize)>, live: Live) -> Op {
        match self.rng.below(100) {
            0..=5 => Op::Open {
                f: self.slot(!live.files, super::super::program::FILES),
                node: match self.rng.below(8) {
                    0 => Node::Tmp,
                    1 => Node::Fd(self.file(live)),
                    _ => Node::Dev,
                },
                flags: self.rng.pick(&[
                    libc::O_RDWR,
                    libc::O_RDWR,
                    libc::O_RDWR | libc::O_NONBLOCK,
                    libc::O_RDONLY,
                    libc::O_WRONLY,
                ]),
            },
            6..=8 => Op::Close { f: self.file(live) },
            9 => Op::Dup {
                f: self.slot(!live.files, super::super::program::FILES),
                from: self.file(live),
            },
            10..=19 => self.dumb_mmap(live),
            20..=23 => {
                let from = self.map(live);
                self.mremap(live, from)
            }
            24..=26 => Op::Munmap {
                m: self.map(live),
                at: self.in_map(),
                len: self.in_map_len(),
            },
            27 => Op::Mprotect {
                m: self.map(live),
                at: self.in_map(),
                len: self.in_map_len(),
                prot: self.prot(),
            },
            28..=29 => Op::Madvise {
                m: self.map(live),
                at: self.in_map(),
                len: self.in_map_len(),
                advice: self.rng.pick(super::super::program::ADVICE).1,
            },
            30..=36 => Op::Touch {
                m: self.map(live),
                at: self.in_map(),
                len: self
                    .rng
                    .pick(&[Val::lit(1), Val::lit(1), Val::of(Base::Len, 0)]),
                write: self.rng.chance(1, 2),
            },
            37..=40 => {
                // The event queue.
                let kind = self.rng.pick(&[IoKind::Read, IoKind::Read, IoKind::Readv]);
                Op::Io {
                    kind,
                    f: self.file(live),
                    iov: if kind.vectored() {
                        vec![
                            (Buf::Scratch(0), Val::lit(16)),
                            (Buf::Scratch(0x100), Val::lit(PAGE)),
                        ]
                    } else {
                        vec![(
                            self.rng.pick(&[
                                Buf::Scratch(0),
                                Buf::Scratch(0),
                                Buf::Null,
                                Buf::Guard(16),
                            ]),
                            self.rng.pick(&[
                                Val::lit(PAGE),
                                Val::lit(PAGE),
                                Val::lit(32),
                                Val::lit(31),
                                Val::lit(0),
                                Val::lit(-1),
                            ]),
                        )]
                    },
                    off: Val::lit(0),
                    rwf: 0,
                }
            }
            41 => Op::Fork,
            42 if self.rng.chance(1, 3) => Op::Unbind,
            43 if self.rng.chance(1, 2) => Op::Bind,
            44 => Op::Wait,
            _ => Op::Drm {
                f: self.file(live),
                req: self.drm_req(program, live),
                arg: if self.rng.chance(1, 24) {
                    self.rng
                        .pick(&[Buf::Null, Buf::Kernel, Buf::Guard(8), Buf::Guard(20)])
                } else {
                    DEFAULT_ARG
                },
            },
        }
    }

    fn dumb_mmap(&mut self, live: Live) -> Op {
        let fixed = live.maps != 0 && self.rng.chance(1, 10);
        Op::Mmap {
            m: if fixed || self.rng.chance(1, 4) {
                self.map(live)
            } else {
                self.slot(!live.maps, MAPS)
            },
            f: self.file(live),
            origin: Origin::Dumb(self.bo_slot(live)),
            within: self.rng.pick(&[
                Val::lit(0),
                Val::lit(0),
                Val::lit(0),
                Val::lit(PAGE),
                Val::of(Base::Bo, -PAGE),
                Val::of(Base::Bo, 0),
                Val::lit(-PAGE),
            ]),
            len: self.rng.pick(&[
                Val::of(Base::Bo, 0),
                Val::of(Base::Bo, 0),
                Val::of(Base::Bo, 0),
                Val::of(Base::Bo, PAGE),
                Val::of(Base::Bo, -PAGE),
                Val::lit(PAGE),
                Val::lit(0),
                Val::of(Base::Vram, 0),
            ]),
            prot: self.prot(),
            flags: self.map_flags(),
            at: fixed.then(|| (self.map(live), self.in_map())),
        }
    }

    /// A new DRM program: open the card, a dumb buffer, a few calls.
    pub(super) fn drm_program(&mut self) -> Program {
        let mut program = Program::default();
        program.calls.push(Call::main(Op::Open {
            f: 0,
            node: Node::Dev,
            flags: libc::O_RDWR,
        }));
        if self.rng.chance(1, 2) {
            for cap in [2, 3] {
                program.calls.push(Call::main(Op::Drm {
                    f: 0,
                    req: DrmReq::SetClientCap { cap, value: 1 },
                    arg: DEFAULT_ARG,
                }));
            }
        }
        for _ in 0..1 + self.rng.below(8) {
            self.insert_call(&mut program, usize::MAX);
        }
        program
    }

    /// After a new call at `at` on the DRM face: a dumb buffer made is half the time mapped
    /// (MAP_DUMB, mmap, a touch) or made a framebuffer; a dumb buffer mapped gets its MAP_DUMB
    /// before it if the program has none.
    pub(super) fn follow_drm(&mut self, p: &mut Program, at: usize) {
        let Some(call) = p.calls.get(at).cloned() else {
            return;
        };
        let f = match &call.op {
            Op::Drm { f, .. } | Op::Mmap { f, .. } => *f,
            _ => return,
        };
        let main = |op| Call {
            proc: call.proc,
            op,
        };
        match call.op {
            Op::Drm {
                req: DrmReq::CreateDumb { h, w, height, .. },
                ..
            } => {
                if self.rng.chance(1, 2) {
                    let m = self.rng.below(u64::from(MAPS)) as u8;
                    let calls = [
                        Op::Drm {
                            f,
                            req: DrmReq::MapDumb { bo: Id::Bo(h) },
                            arg: DEFAULT_ARG,
                        },
                        Op::Mmap {
                            m,
                            f,
                            origin: Origin::Dumb(h),
                            within: Val::lit(0),
                            len: Val::of(Base::Bo, 0),
                            prot: libc::PROT_READ | libc::PROT_WRITE,
                            flags: libc::MAP_SHARED,
                            at: None,
                        },
                        Op::Touch {
                            m,
                            at: self.rng.pick(&[Val::lit(0), Val::of(Base::Len, -1)]),
                            len: Val::lit(1),
                            write: self.rng.chance(1, 2),
                        },
                    ];
                    for (i, op) in calls.into_iter().enumerate() {
                        p.calls.insert(at + 1 + i, main(op));
                    }
                } else {
                    let b = self.rng.below(u64::from(FBS)) as u8;
                    p.calls.insert(
                        at + 1,
                        main(Op::Drm {
                            f,
                            req: DrmReq::AddFb2 {
                                b,
                                bo: Id::Bo(h),
                                w,
                                h: height,
                                format: XR24,
                                pitch: Val::of(Base::Pitch, 0),
                                offset: Val::lit(0),
                                flags: 0,
                            },
                            arg: DEFAULT_ARG,
                        }),
                    );
                }
            }
            Op::Mmap {
                origin: Origin::Dumb(h),
                ..
            } => {
                let mapped = p.calls[..at].iter().any(|c| {
                    matches!(c.op, Op::Drm { req: DrmReq::MapDumb { bo: Id::Bo(k) }, .. } if k == h)
                });
                if !mapped {
                    p.calls.insert(
                        at,
                        main(Op::Drm {
                            f,
                            req: DrmReq::MapDumb { bo: Id::Bo(h) },
                            arg: DEFAULT_ARG,
                        }),
                    );
                }
            }
            _ => {}
        }
    }

    /// Regenerates one argument of a DRM call.
    pub(super) fn change_drm_arg(&mut self, req: &mut DrmReq, live: Live) {
        let pick = self.rng.below(6);
        match req {
            DrmReq::SetCrtc { fb, x, y, mode, .. } => match pick {
                0 => *fb = self.fb_id(live),
                1 => *x = self.rng.pick(&[0, 1, 8, 1024, 0xffff_ffff]),
                2 => *y = self.rng.pick(&[0, 1, 768, 12000, 0xffff_ffff]),
                _ => *mode = Some(self.mode()),
            },
            DrmReq::Atomic { flags, props } => match pick {
                0 => *flags ^= self.rng.pick(&[0x1, 0x100, 0x200, 0x400]),
                1 if !props.is_empty() => {
                    props.remove(self.rng.index(props.len()));
                }
                _ => *props = self.atomic_props(live),
            },
            DrmReq::CreateDumb { w, height, bpp, .. } => match pick % 3 {
                0 => *w = self.dumb_width(),
                1 => *height = self.dumb_height(),
                _ => *bpp = self.dumb_bpp(),
            },
            DrmReq::AddFb2 {
                pitch,
                offset,
                format,
                w,
                h,
                ..
            } => match pick {
                0 => *pitch = self.pitch(),
                1 => *offset = self.fb_offset(),
                2 => *format = self.fourcc(),
                3 => *w = self.dumb_width(),
                4 => *h = self.dumb_height(),
                _ => *pitch = self.nudge(*pitch),
            },
            DrmReq::PageFlip { flags, target, .. } => {
                if pick < 3 {
                    *flags = self.rng.pick(&[0, 1, 2, 3, 5, 9]);
                } else {
                    *target = self.rng.pick(&[0, 1, 2, u32::MAX]);
                }
            }
            DrmReq::SetPlane { dst, src, .. } => {
                let i = self.rng.index(4);
                if pick < 3 {
                    dst[i] = self.rng.pick(&[0, 1, 640, 1024, 0xffff_ffff, 0x8000_0000]);
                } else {
                    let whole = self.rng.pick(&[0, 1, 640, 1024]);
                    src[i] = self.fixed(whole);
                }
            }
            other => *other = self.drm_req(None, live),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drm_programs_round_trip_through_text() {
        let corpus = super::super::tests::programs_round_trip(Face::Drm, 11);
        let text: String = corpus.iter().map(ToString::to_string).collect();
        for name in DrmReq::NAMES {
            assert!(
                text.contains(&format!("\n{name} ")),
                "never generated: {name}"
            );
        }
        assert!(text.contains("off=h"), "no dumb buffer mapped");
    }
}
