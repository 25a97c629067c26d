//! New programs and mutations of old ones. Numbers come mostly from boundary values: region
//! bases and the 4 GiB edges, the frame's end and a page either side, lengths likewise, counts
//! around the bounce sizes (256 bytes, a page), the damage limit (256 rectangles) and the
//! integer limits; modes around the driver's limits.

use bochsfb_renderer::abi::{ioc, BOCHSFB_MAX_DAMAGE_RECTS};
use bochsfb_renderer::fb_abi::FB_ACTIVATE_TEST;

use super::exec::Face;
use super::program::{
    Base, Buf, Call, DrmReq, IoKind, Node, Op, Origin, Program, Rects, Req, Val, ADVICE, CHILDREN,
    DEFAULT_ARG, DEFAULT_RECTS, FILES, MAPS, MAX_CALLS, SYSFS_ATTRS,
};
use crate::fuzz::KNOWN_IOCTLS;
use crate::rng::Rng;

mod drm;

const PAGE: i64 = 4096;

/// Which slots are live just before a call, as far as the calls before it tell.
#[derive(Default, Clone, Copy)]
struct Live {
    files: u8,
    maps: u8,
    /// DRM face: dumb buffer and framebuffer slots.
    bos: u8,
    fbs: u8,
}

impl Live {
    fn before(program: &Program, at: usize) -> Live {
        let mut live = Live::default();
        for call in &program.calls[..at.min(program.calls.len())] {
            match call.op {
                Op::Open { f, .. } | Op::Dup { f, .. } => live.files |= 1 << f,
                Op::Close { f } => live.files &= !(1 << f),
                Op::Mmap { m, .. } | Op::Mremap { m, .. } => live.maps |= 1 << m,
                Op::Drm { ref req, .. } => match *req {
                    DrmReq::CreateDumb { h, .. } => live.bos |= 1 << h,
                    DrmReq::AddFb { b, .. } | DrmReq::AddFb2 { b, .. } => live.fbs |= 1 << b,
                    _ => {}
                },
                _ => {}
            }
        }
        live
    }
}

/// Generates calls and values.
pub struct Gen<'a> {
    pub rng: &'a mut Rng,
    /// Which face's calls to make.
    pub face: Face,
}

fn pick_val(rng: &mut Rng, table: &[Val]) -> Val {
    rng.pick(table)
}

impl Gen<'_> {
    fn slot(&mut self, live: u8, limit: u8) -> u8 {
        let candidates: Vec<u8> = (0..limit).filter(|i| live & (1 << i) != 0).collect();
        if candidates.is_empty() || self.rng.chance(1, 12) {
            self.rng.below(u64::from(limit)) as u8
        } else {
            self.rng.pick(&candidates)
        }
    }

    fn file(&mut self, live: Live) -> u8 {
        self.slot(live.files, FILES)
    }

    fn map(&mut self, live: Live) -> u8 {
        self.slot(live.maps, MAPS)
    }

    /// A byte offset into a region.
    fn within(&mut self) -> Val {
        if self.rng.chance(1, 5) {
            return Val::lit(self.rng.below(768) as i64 * PAGE);
        }
        pick_val(
            self.rng,
            &[
                Val::lit(0),
                Val::lit(0),
                Val::lit(PAGE),
                Val::of(Base::Fb, -PAGE),
                Val::of(Base::Fb, 0),
                Val::of(Base::Fb, PAGE),
                Val::of(Base::G4, -PAGE),
                Val::of(Base::Vram, -PAGE),
                Val::of(Base::Vram, 0),
                Val::lit(1),
            ],
        )
    }

    /// An mmap length.
    fn map_len(&mut self) -> Val {
        if self.rng.chance(1, 4) {
            return Val::lit((1 + self.rng.below(64)) as i64 * PAGE);
        }
        pick_val(
            self.rng,
            &[
                Val::lit(PAGE),
                Val::lit(PAGE),
                Val::lit(2 * PAGE),
                Val::of(Base::Fb, 0),
                Val::of(Base::Fb, 0),
                Val::of(Base::Fb, -PAGE),
                Val::of(Base::Fb, PAGE),
                Val::of(Base::G4, 0),
                Val::of(Base::G4, PAGE),
                Val::of(Base::Edge, 0),
                Val::of(Base::Edge, PAGE),
                Val::of(Base::Vram, 0),
                Val::lit(0),
                Val::lit(1),
            ],
        )
    }

    /// An offset inside a mapping.
    fn in_map(&mut self) -> Val {
        if self.rng.chance(1, 4) {
            return Val::lit(self.rng.below(16) as i64 * PAGE);
        }
        pick_val(
            self.rng,
            &[
                Val::lit(0),
                Val::lit(0),
                Val::lit(PAGE),
                Val::of(Base::Len, -PAGE),
                Val::of(Base::Len, -1),
                Val::of(Base::Len, 0),
                Val::of(Base::G4, 0),
                Val::of(Base::Edge, 0),
                Val::lit(1),
            ],
        )
    }

    /// A length inside a mapping.
    fn in_map_len(&mut self) -> Val {
        pick_val(
            self.rng,
            &[
                Val::lit(1),
                Val::lit(PAGE),
                Val::lit(2 * PAGE),
                Val::of(Base::Len, 0),
                Val::of(Base::Len, 0),
                Val::of(Base::Len, -PAGE),
                Val::of(Base::G4, 0),
            ],
        )
    }

    /// A new length for mremap.
    fn remap_len(&mut self) -> Val {
        pick_val(
            self.rng,
            &[
                Val::of(Base::Len, PAGE),
                Val::of(Base::Len, -PAGE),
                Val::of(Base::Len, 0),
                Val::lit(PAGE),
                Val::of(Base::Fb, 0),
                Val::of(Base::Fb, PAGE),
                Val::of(Base::G4, 0),
                Val::of(Base::G4, PAGE),
                Val::of(Base::Edge, 0),
                Val::of(Base::Edge, PAGE),
                Val::of(Base::Vram, 0),
            ],
        )
    }

    /// A byte count for read and write.
    fn count(&mut self) -> Val {
        if self.rng.chance(1, 5) {
            return Val::lit(self.rng.below(1 << 16) as i64);
        }
        pick_val(
            self.rng,
            &[
                Val::lit(0),
                Val::lit(1),
                Val::lit(255),
                Val::lit(256),
                Val::lit(257),
                Val::lit(PAGE - 1),
                Val::lit(PAGE),
                Val::lit(PAGE + 1),
                Val::of(Base::Fb, 0),
                Val::of(Base::Fb, 1),
                Val::lit(1 << 20),
                Val::lit(-1),
                Val::lit(i64::MAX),
            ],
        )
    }

    /// A file offset.
    fn file_off(&mut self) -> Val {
        if self.rng.chance(1, 5) {
            return Val::lit(self.rng.below(3 << 20) as i64);
        }
        pick_val(
            self.rng,
            &[
                Val::lit(0),
                Val::lit(0),
                Val::lit(PAGE),
                Val::of(Base::Fb, -1),
                Val::of(Base::Fb, 0),
                Val::of(Base::Fb, 1),
                Val::of(Base::Fb, -PAGE),
                Val::lit(-1),
                Val::lit(i64::MIN),
                Val::lit(i64::MAX),
                Val::of(Base::G4, 0),
            ],
        )
    }

    /// A pan offset (rows).
    fn y(&mut self) -> Val {
        pick_val(
            self.rng,
            &[
                Val::lit(0),
                Val::lit(0),
                Val::lit(1),
                Val::of(Base::Pan, 0),
                Val::of(Base::Pan, 1),
                Val::of(Base::H, 0),
                Val::of(Base::Vh, 0),
                Val::of(Base::Vh, -1),
                Val::lit(0xffff_ffff),
                Val::lit(0xffff),
            ],
        )
    }

    fn user_buf(&mut self, live: Live) -> Buf {
        match self.rng.below(12) {
            0 => Buf::Null,
            1 => Buf::Kernel,
            2 | 3 => Buf::Guard(self.rng.pick(&[1, 16, 255, 4095, 4096, 8192])),
            4..=6 => {
                let at = self.in_map();
                Buf::Map(self.map(live), at)
            }
            7 => Buf::Scratch(self.rng.below(4096) as u32),
            _ => Buf::Scratch(0),
        }
    }

    fn arg_buf(&mut self, live: Live) -> Buf {
        match self.rng.below(16) {
            0 => Buf::Null,
            1 => Buf::Kernel,
            2 => Buf::Guard(self.rng.pick(&[1, 4, 8, 16, 39, 40, 159, 160])),
            3 => Buf::Map(self.map(live), Val::lit(0)),
            _ => DEFAULT_ARG,
        }
    }

    fn width(&mut self) -> u32 {
        self.rng.pick(&[
            640,
            800,
            1024,
            1024,
            1280,
            1920,
            64,
            8,
            0,
            1,
            7,
            641,
            8192,
            16000,
            16008,
            u32::MAX,
        ])
    }

    fn height(&mut self) -> u32 {
        self.rng.pick(&[
            480,
            600,
            768,
            768,
            1024,
            1200,
            64,
            1,
            0,
            12000,
            12001,
            u32::MAX,
        ])
    }

    fn bpp(&mut self) -> u32 {
        self.rng
            .pick(&[32, 32, 16, 24, 8, 0, 1, 15, 33, 64, u32::MAX])
    }

    fn vh(&mut self, h: u32) -> u32 {
        self.rng.pick(&[
            0,
            0,
            h,
            h.wrapping_mul(2),
            h.wrapping_sub(1),
            u32::MAX,
            65535,
            65536,
        ])
    }

    fn prot(&mut self) -> i32 {
        self.rng.pick(&[
            libc::PROT_READ | libc::PROT_WRITE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::PROT_READ,
            libc::PROT_READ,
            libc::PROT_WRITE,
            libc::PROT_NONE,
            libc::PROT_READ | libc::PROT_EXEC,
        ])
    }

    fn map_flags(&mut self) -> i32 {
        self.rng.pick(&[
            libc::MAP_SHARED,
            libc::MAP_SHARED,
            libc::MAP_SHARED,
            libc::MAP_SHARED,
            libc::MAP_PRIVATE,
            libc::MAP_SHARED_VALIDATE,
            libc::MAP_SHARED | libc::MAP_POPULATE,
            libc::MAP_SHARED | libc::MAP_LOCKED,
            libc::MAP_SHARED | libc::MAP_NORESERVE,
            libc::MAP_SHARED_VALIDATE | libc::MAP_SYNC,
        ])
    }

    fn open_flags(&mut self) -> i32 {
        let access = self
            .rng
            .pick(&[libc::O_RDWR, libc::O_RDWR, libc::O_RDONLY, libc::O_WRONLY]);
        // O_DIRECT now and then: it is refused (EINVAL, the driver does not set
        // FMODE_CAN_ODIRECT), but only after the driver's `open` ran, so the call still reaches
        // `open` and `release` back to back.
        if self.rng.chance(1, 16) {
            return access | libc::O_DIRECT;
        }
        let extra = self
            .rng
            .pick(&[0, 0, 0, libc::O_NONBLOCK, libc::O_APPEND, libc::O_SYNC]);
        access | extra
    }

    fn region(&mut self) -> Origin {
        if self.rng.chance(1, 16) {
            return Origin::Region(self.rng.pick(&[4, 255, u32::MAX]));
        }
        Origin::Region(self.rng.below(4) as u32)
    }

    fn rects(&mut self) -> Rects {
        match self.rng.below(8) {
            0 | 1 => Rects::Full,
            2 => Rects::Screen,
            3 => Rects::Zero,
            4 => Rects::Edge,
            5 => Rects::Past,
            6 => Rects::Overflow,
            _ => Rects::Rand(self.rng.below(1000) as u32),
        }
    }

    fn flush_count(&mut self) -> u32 {
        let any = self.rng.below(300) as u32;
        self.rng.pick(&[
            0,
            0,
            1,
            2,
            16,
            BOCHSFB_MAX_DAMAGE_RECTS - 1,
            BOCHSFB_MAX_DAMAGE_RECTS,
            BOCHSFB_MAX_DAMAGE_RECTS + 1,
            u32::MAX,
            any,
        ])
    }

    fn raw_cmd(&mut self) -> u32 {
        match self.rng.below(4) {
            0 => {
                let known = self.rng.pick(KNOWN_IOCTLS);
                (known & 0x0000_ffff) | (self.rng.next_u32() & 0xffff_0000)
            }
            1 => ioc(
                self.rng.below(4) as u32,
                b'B',
                self.rng.next_u32() as u8,
                self.rng.below(256) as usize,
            ),
            2 => ioc(
                self.rng.below(4) as u32,
                b'F',
                self.rng.next_u32() as u8,
                self.rng.below(256) as usize,
            ),
            _ => self.rng.next_u32(),
        }
    }

    fn req(&mut self, live: Live) -> Req {
        match self.rng.below(30) {
            0..=1 => Req::GetMode,
            2..=7 => {
                let h = self.height();
                Req::SetMode {
                    w: self.width(),
                    h,
                    bpp: self.bpp(),
                    vh: self.vh(h),
                }
            }
            8..=10 => Req::Pan { y: self.y() },
            11 => Req::WaitVsync,
            12..=17 => Req::Flush {
                count: self.flush_count(),
                rects: self.rects(),
                flags: self.rng.pick(&[0, 0, 0, 0, 1, 0x8000_0000]),
                at: match self.rng.below(8) {
                    0 => Buf::Null,
                    1 => Buf::Guard(self.rng.pick(&[8, 16, 24, 4096])),
                    2 => self.user_buf(live),
                    _ => DEFAULT_RECTS,
                },
            },
            18 => Req::FbGetV,
            19..=22 => {
                let h = self.height();
                Req::FbPutV {
                    w: self.width(),
                    h,
                    bpp: self.bpp(),
                    vyres: self.vh(h),
                    xoff: self.rng.pick(&[0, 0, 0, 1, 8]),
                    yoff: self.y(),
                    activate: self.rng.pick(&[0, 0, FB_ACTIVATE_TEST, 0x80]),
                }
            }
            23 => Req::FbGetF,
            24..=25 => Req::FbPan {
                x: self.rng.pick(&[0, 0, 0, 1]),
                y: self.y(),
            },
            26 => Req::FbVsync {
                crtc: self.rng.pick(&[0, 0, 1, u32::MAX]),
            },
            _ => Req::Raw {
                cmd: self.raw_cmd(),
                int: self
                    .rng
                    .chance(1, 3)
                    .then(|| self.rng.pick(&[0, 1, u64::MAX, 1 << 32])),
            },
        }
    }

    fn iov(&mut self, live: Live, vectored: bool) -> Vec<(Buf, Val)> {
        let n = if vectored {
            self.rng.pick(&[0, 1, 2, 2, 3, 4])
        } else {
            1
        };
        (0..n)
            .map(|_| {
                let b = self.user_buf(live);
                (b, self.count())
            })
            .collect()
    }

    /// One new call, for position `at` of `program`.
    pub fn call(&mut self, program: &Program, at: usize) -> Call {
        let live = Live::before(program, at);
        // A child costs a fork (tens of milliseconds on the debug kernel under TCG): now and then.
        let proc = if self.rng.chance(1, 25) {
            1 + self.rng.below(u64::from(CHILDREN)) as u8
        } else {
            0
        };
        let op = match self.face {
            Face::Misc => self.op(live),
            Face::Drm => self.drm_op(Some((program, at)), live),
        };
        Call { proc, op }
    }

    fn op(&mut self, live: Live) -> Op {
        if self.face == Face::Drm {
            return self.drm_op(None, live);
        }
        match self.rng.below(120) {
            0..=9 => Op::Open {
                f: self.slot(!live.files, FILES),
                node: self.node(live),
                flags: self.open_flags(),
            },
            10..=13 => Op::Close { f: self.file(live) },
            14..=15 => Op::Dup {
                f: self.slot(!live.files, FILES),
                from: self.file(live),
            },
            16..=17 => Op::Fcntl {
                f: self.file(live),
                // O_DIRECT is refused here too (EINVAL, the file unchanged).
                flags: self.rng.pick(&[
                    0,
                    libc::O_NONBLOCK,
                    libc::O_APPEND,
                    libc::O_APPEND | libc::O_NONBLOCK,
                    libc::O_DIRECT,
                ]),
            },
            18..=31 => self.mmap(live),
            // A tenth of the calls: reshaping a mapping is where a vma can leave its region.
            32..=37 | 105..=110 => {
                let from = self.map(live);
                self.mremap(live, from)
            }
            38..=42 => Op::Munmap {
                m: self.map(live),
                at: self.in_map(),
                len: self.in_map_len(),
            },
            43..=45 => Op::Mprotect {
                m: self.map(live),
                at: self.in_map(),
                len: self.in_map_len(),
                prot: self.prot(),
            },
            46..=49 => Op::Madvise {
                m: self.map(live),
                at: self.in_map(),
                len: self.in_map_len(),
                advice: self.rng.pick(ADVICE).1,
            },
            50 => Op::Msync {
                m: self.map(live),
                at: self.in_map(),
                len: self.in_map_len(),
                flags: self
                    .rng
                    .pick(&[libc::MS_SYNC, libc::MS_ASYNC, libc::MS_INVALIDATE, 0]),
            },
            51 => Op::Mlock {
                m: self.map(live),
                at: self.in_map(),
                len: self.in_map_len(),
            },
            52..=61 => Op::Touch {
                m: self.map(live),
                at: self.in_map(),
                len: self.rng.pick(&[
                    Val::lit(1),
                    Val::lit(1),
                    Val::of(Base::Len, 0),
                    Val::lit(4 * PAGE),
                ]),
                write: self.rng.chance(1, 2),
            },
            62 => Op::ProcMem {
                m: self.map(live),
                at: self.in_map(),
                len: self.in_map_len(),
            },
            63..=78 => {
                let kind = self.rng.pick(&IoKind::ALL);
                Op::Io {
                    kind,
                    f: self.file(live),
                    iov: self.iov(live, kind.vectored()),
                    off: if kind.positioned() {
                        self.file_off()
                    } else {
                        Val::lit(0)
                    },
                    rwf: if kind.has_rwf() {
                        self.rng.pick(&[
                            0,
                            0,
                            libc::RWF_NOWAIT,
                            libc::RWF_HIPRI,
                            libc::RWF_DSYNC,
                            libc::RWF_APPEND,
                            0x100,
                        ])
                    } else {
                        0
                    },
                }
            }
            79..=82 => {
                let off = self.file_off();
                Op::Lseek {
                    f: self.file(live),
                    off,
                    whence: self.rng.pick(&[0, 0, 1, 2, 2, 3, 4, 5, -1]),
                }
            }
            83..=104 => {
                let req = self.req(live);
                Op::Ioctl {
                    f: self.file(live),
                    req,
                    arg: self.arg_buf(live),
                }
            }
            111..=112 => Op::Sysfs {
                attr: self.rng.below(SYSFS_ATTRS.len() as u64) as u8,
            },
            113..=114 => Op::Personality {
                rie: self.rng.chance(4, 5),
            },
            115 => Op::Fork,
            // Unbinding costs a tenth of a second and the next program a bind: rarely.
            116 if self.rng.chance(1, 4) => Op::Unbind,
            117 if self.rng.chance(1, 2) => Op::Bind,
            _ => Op::Wait,
        }
    }

    /// An `mremap` of mapping `from`: grown, shrunk, moved, duplicated (old size 0), kept in
    /// its slot or moved to another.
    fn mremap(&mut self, live: Live, from: u8) -> Op {
        let flags = self.rng.pick(&[
            libc::MREMAP_MAYMOVE,
            libc::MREMAP_MAYMOVE,
            0,
            libc::MREMAP_MAYMOVE | libc::MREMAP_DONTUNMAP,
            libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED,
        ]);
        Op::Mremap {
            m: if self.rng.chance(2, 3) {
                from
            } else {
                self.map(Live {
                    maps: !live.maps,
                    ..live
                })
            },
            from,
            old: self
                .rng
                .chance(1, 6)
                .then(|| self.rng.pick(&[Val::lit(0), Val::lit(PAGE)])),
            len: self.remap_len(),
            flags,
            at: (flags & libc::MREMAP_FIXED != 0).then(|| (self.map(live), self.in_map())),
        }
    }

    fn node(&mut self, live: Live) -> Node {
        match self.rng.below(8) {
            0 => Node::Tmp,
            1 => Node::Fd(self.file(live)),
            _ => Node::Dev,
        }
    }

    fn mmap(&mut self, live: Live) -> Op {
        let fixed = live.maps != 0 && self.rng.chance(1, 8);
        Op::Mmap {
            m: if fixed || self.rng.chance(1, 4) {
                self.map(live)
            } else {
                self.slot(!live.maps, MAPS)
            },
            f: self.file(live),
            origin: self.region(),
            within: self.within(),
            len: self.map_len(),
            prot: self.prot(),
            flags: self.map_flags(),
            at: fixed.then(|| (self.map(live), self.in_map())),
        }
    }

    /// A new program: open a file, then a few calls.
    pub fn program(&mut self) -> Program {
        if self.face == Face::Drm {
            let mut program = self.drm_program();
            program.calls.truncate(MAX_CALLS);
            return program;
        }
        let mut program = Program::default();
        program.calls.push(Call::main(Op::Open {
            f: 0,
            node: Node::Dev,
            flags: self.open_flags(),
        }));
        for _ in 0..1 + self.rng.below(8) {
            self.insert_call(&mut program, usize::MAX);
        }
        program.calls.truncate(MAX_CALLS);
        program
    }

    /// `program` changed by one to three mutations; `other` is a corpus program to splice with.
    pub fn mutate(&mut self, program: &Program, other: Option<&Program>) -> Program {
        let mut p = program.clone();
        for _ in 0..1 + self.rng.below(3) {
            self.mutate_once(&mut p, other);
        }
        p.calls.truncate(MAX_CALLS);
        if p.calls.is_empty() {
            return self.program();
        }
        p
    }

    fn mutate_once(&mut self, p: &mut Program, other: Option<&Program>) {
        let n = p.calls.len();
        match self.rng.below(20) {
            // Follow a call that makes or reshapes a mapping with one that uses it.
            8 if p
                .calls
                .iter()
                .any(|c| matches!(c.op, Op::Mmap { .. } | Op::Mremap { .. })) =>
            {
                let at: Vec<usize> = (0..n)
                    .filter(|&i| matches!(p.calls[i].op, Op::Mmap { .. } | Op::Mremap { .. }))
                    .collect();
                let i = self.rng.pick(&at);
                self.follow(p, i);
            }
            // Change one argument of one call.
            0..=8 if n > 0 => {
                let i = self.rng.index(n);
                let live = Live::before(p, i);
                self.mutate_arg(&mut p.calls[i], live);
            }
            9..=12 => {
                let at = self.rng.index(n + 1);
                self.insert_call(p, at);
            }
            13..=14 if n > 1 => {
                p.calls.remove(self.rng.index(n));
            }
            15 if n > 0 => {
                let i = self.rng.index(n);
                let call = p.calls[i].clone();
                p.calls.insert(self.rng.index(n + 1), call);
            }
            16 if n > 1 => {
                let i = self.rng.index(n - 1);
                p.calls.swap(i, i + 1);
            }
            17 if n > 0 => {
                let i = self.rng.index(n);
                p.calls[i].proc = if p.calls[i].proc == 0 {
                    1 + self.rng.below(u64::from(CHILDREN)) as u8
                } else {
                    0
                };
            }
            18..=19 => {
                if let Some(other) = other.filter(|o| !o.calls.is_empty()) {
                    let keep = self.rng.index(n + 1);
                    let from = self.rng.index(other.calls.len());
                    p.calls.truncate(keep);
                    p.calls.extend_from_slice(&other.calls[from..]);
                }
            }
            _ => self.insert_call(p, n),
        }
    }

    /// Inserts a new call at `at` (at most the end), and half the time a follow-up if it makes
    /// or reshapes a mapping (see [`Gen::follow`]).
    fn insert_call(&mut self, p: &mut Program, at: usize) {
        let at = at.min(p.calls.len());
        let call = self.call(p, at);
        p.calls.insert(at, call);
        if self.face == Face::Drm {
            self.follow_drm(p, at);
        }
        if self.rng.chance(1, 2) {
            self.follow(p, at);
        }
    }

    /// If the call at `at` makes or reshapes a mapping, inserts after it a call that uses the
    /// new shape: a touch where the change shows (the first page, the last, the first past its
    /// region's end), or for a new mapping, half the time an `mremap` that may move it and grows
    /// it to a boundary (a page more, the frame, VRAM, the region's end, a page past it),
    /// followed the same way half the time. A mapping's shape matters when a fault comes, and such calls seldom
    /// meet by chance: an `mremap` across the end of a region and a touch past it took
    /// thousands of programs to meet.
    fn follow(&mut self, p: &mut Program, mut at: usize) {
        loop {
            let Some(call) = p.calls.get(at) else { return };
            let proc = call.proc;
            let (m, new) = match call.op {
                Op::Mmap { m, .. } => (m, true),
                Op::Mremap { m, .. } => (m, false),
                _ => return,
            };
            at += 1;
            let op = if new && self.rng.chance(1, 2) {
                // Grown where it may move: to each boundary a mapping can reach.
                Op::Mremap {
                    m,
                    from: m,
                    old: None,
                    len: self.rng.pick(&[
                        Val::of(Base::Len, PAGE),
                        Val::of(Base::Fb, 0),
                        Val::of(Base::Fb, PAGE),
                        Val::of(Base::Vram, 0),
                        Val::of(Base::Edge, 0),
                        Val::of(Base::Edge, PAGE),
                    ]),
                    flags: libc::MREMAP_MAYMOVE,
                    at: None,
                }
            } else {
                Op::Touch {
                    m,
                    at: self.rng.pick(&[
                        Val::lit(0),
                        Val::of(Base::Len, -PAGE),
                        Val::of(Base::Len, -1),
                        Val::of(Base::Edge, 0),
                    ]),
                    len: Val::lit(1),
                    write: self.rng.chance(1, 2),
                }
            };
            p.calls.insert(at, Call { proc, op });
            if !self.rng.chance(1, 2) {
                return;
            }
        }
    }

    /// A value near `v`: the same base with the delta nudged by a byte or a page, or the same
    /// delta from another base (`len+0x1000` becomes `4g+0x1000`): how boundary values
    /// combine.
    fn nudge(&mut self, v: Val) -> Val {
        if self.rng.chance(1, 2) {
            let delta = self.rng.pick(&[
                0,
                1,
                -1,
                PAGE,
                -PAGE,
                v.delta.wrapping_add(PAGE),
                v.delta.wrapping_sub(PAGE),
            ]);
            Val { delta, ..v }
        } else {
            let base = self.rng.pick(&[
                Base::Zero,
                Base::Fb,
                Base::Vram,
                Base::G4,
                Base::Len,
                Base::Edge,
            ]);
            Val { base, ..v }
        }
    }

    /// Half the time a value near `v`, else a fresh one from `fresh`.
    fn or_nudge(&mut self, v: Val, fresh: fn(&mut Self) -> Val) -> Val {
        if self.rng.chance(1, 2) {
            self.nudge(v)
        } else {
            fresh(self)
        }
    }

    /// Regenerates one field of `call`'s arguments (or the whole call, for calls without any).
    fn mutate_arg(&mut self, call: &mut Call, live: Live) {
        self.change_arg(call, live);
        // Arguments a call's kind does not take stay at their defaults (the text leaves them out).
        if let Op::Io { kind, off, rwf, .. } = &mut call.op {
            if !kind.positioned() {
                *off = Val::lit(0);
            }
            if !kind.has_rwf() {
                *rwf = 0;
            }
        }
    }

    fn change_arg(&mut self, call: &mut Call, live: Live) {
        let pick = self.rng.below(8);
        match &mut call.op {
            Op::Open { f, node, flags } => match pick % 3 {
                0 => *flags = self.open_flags(),
                1 => *node = self.node(live),
                _ => *f = self.rng.below(u64::from(FILES)) as u8,
            },
            Op::Mmap {
                m,
                f,
                origin,
                within,
                len,
                prot,
                flags,
                at,
            } => match pick {
                0 => *origin = self.region(),
                1 => *within = self.or_nudge(*within, Self::within),
                2 | 3 => *len = self.or_nudge(*len, Self::map_len),
                4 => *prot = self.prot(),
                5 => *flags = self.map_flags(),
                6 => *f = self.file(live),
                _ => {
                    *m = self.map(live);
                    *at = if at.is_some() {
                        None
                    } else {
                        Some((self.map(live), self.in_map()))
                    };
                }
            },
            Op::Mremap {
                len, old, flags, ..
            } => match pick % 4 {
                0 | 1 => *len = self.or_nudge(*len, Self::remap_len),
                2 => {
                    *old = if old.is_some() {
                        None
                    } else {
                        Some(Val::lit(0))
                    }
                }
                _ => {
                    *flags ^= self
                        .rng
                        .pick(&[libc::MREMAP_MAYMOVE, libc::MREMAP_DONTUNMAP])
                }
            },
            Op::Munmap { at, len, .. }
            | Op::Mprotect { at, len, .. }
            | Op::Madvise { at, len, .. }
            | Op::Msync { at, len, .. }
            | Op::Mlock { at, len, .. }
            | Op::ProcMem { at, len, .. }
                if pick < 6 =>
            {
                if pick.is_multiple_of(2) {
                    *at = self.or_nudge(*at, Self::in_map);
                } else {
                    *len = self.or_nudge(*len, Self::in_map_len);
                }
            }
            Op::Touch { at, len, write, .. } => match pick % 3 {
                0 => *at = self.or_nudge(*at, Self::in_map),
                1 => *len = self.or_nudge(*len, Self::in_map_len),
                _ => *write = !*write,
            },
            Op::Io {
                kind,
                iov,
                off,
                rwf,
                ..
            } => match pick % 4 {
                0 if !iov.is_empty() => {
                    let i = self.rng.index(iov.len());
                    iov[i].1 = self.or_nudge(iov[i].1, Self::count);
                }
                1 if !iov.is_empty() => {
                    let i = self.rng.index(iov.len());
                    iov[i].0 = self.user_buf(live);
                }
                2 => *off = self.or_nudge(*off, Self::file_off),
                _ => {
                    if kind.has_rwf() {
                        *rwf = self.rng.pick(&[
                            0,
                            libc::RWF_NOWAIT,
                            libc::RWF_HIPRI,
                            libc::RWF_DSYNC,
                            libc::RWF_APPEND,
                        ]);
                    } else {
                        *kind = self.rng.pick(&IoKind::ALL);
                        *iov = self.iov(live, kind.vectored());
                    }
                }
            },
            Op::Lseek { off, whence, .. } => {
                if pick.is_multiple_of(2) {
                    *off = self.or_nudge(*off, Self::file_off);
                } else {
                    *whence = self.rng.pick(&[0, 1, 2, 3, 4, 5]);
                }
            }
            Op::Ioctl { req, arg, f } => match (req, pick) {
                (_, 0) => *arg = self.arg_buf(live),
                (_, 1) => *f = self.file(live),
                (Req::SetMode { w, h, bpp, vh }, p) => match p % 4 {
                    0 => *w = self.width(),
                    1 => *h = self.height(),
                    2 => *bpp = self.bpp(),
                    _ => *vh = self.vh(*h),
                },
                (
                    Req::Flush {
                        count,
                        rects,
                        flags,
                        at,
                    },
                    p,
                ) => match p % 4 {
                    0 | 1 => *count = self.flush_count(),
                    2 => *rects = self.rects(),
                    _ => {
                        if self.rng.chance(1, 2) {
                            *flags = self.rng.pick(&[0, 1, 0x8000_0000]);
                        } else {
                            *at = self.user_buf(live);
                        }
                    }
                },
                (Req::Pan { y }, _) | (Req::FbPan { y, .. }, _) => *y = self.or_nudge(*y, Self::y),
                (
                    Req::FbPutV {
                        w,
                        h,
                        bpp,
                        vyres,
                        xoff,
                        yoff,
                        activate,
                    },
                    p,
                ) => match p % 7 {
                    0 => *w = self.width(),
                    1 => *h = self.height(),
                    2 => *bpp = self.bpp(),
                    3 => *vyres = self.vh(*h),
                    4 => *xoff = self.rng.pick(&[0, 1, 8]),
                    5 => *yoff = self.or_nudge(*yoff, Self::y),
                    _ => *activate ^= FB_ACTIVATE_TEST,
                },
                (Req::Raw { cmd, .. }, _) => *cmd = self.raw_cmd(),
                (req, _) => *req = self.req(live),
            },
            Op::Drm { req, arg, f } => match pick {
                0 => *arg = self.arg_buf(live),
                1 => *f = self.file(live),
                _ => self.change_drm_arg(req, live),
            },
            _ => call.op = self.op(live),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2000 programs of `face`, a third new and the rest mutated from earlier ones: each is a
    /// valid program and prints to text that parses back to it. Returns them.
    pub(super) fn programs_round_trip(face: Face, seed: u64) -> Vec<Program> {
        let mut rng = Rng::new(seed);
        let mut corpus: Vec<Program> = Vec::new();
        for i in 0..2000 {
            let mut gen = Gen {
                rng: &mut rng,
                face,
            };
            let p = if i % 3 == 0 || corpus.is_empty() {
                gen.program()
            } else {
                let other = corpus.last().cloned();
                gen.mutate(&corpus[i % corpus.len()], other.as_ref())
            };
            assert!(!p.calls.is_empty() && p.calls.len() <= MAX_CALLS);
            let text = p.to_string();
            assert_eq!(text.parse::<Program>().unwrap(), p, "{text}");
            corpus.push(p);
        }
        corpus
    }

    #[test]
    fn generated_programs_round_trip_through_text() {
        programs_round_trip(Face::Misc, 7);
    }

    #[test]
    fn the_same_seed_makes_the_same_programs() {
        let make = |seed| {
            let mut rng = Rng::new(seed);
            (0..50)
                .map(|_| {
                    Gen {
                        rng: &mut rng,
                        face: Face::Misc,
                    }
                    .program()
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(make(3), make(3));
        assert_ne!(make(3), make(4));
    }
}
