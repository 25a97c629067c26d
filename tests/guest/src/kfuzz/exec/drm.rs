//! Runs the DRM face's calls ([`DrmReq`]): each ioctl's struct goes where the program says
//! (the scratch buffer by default), the arrays it points to further into the scratch buffer;
//! what a call returns fills the program's resources (handles, framebuffer ids, the pipe's
//! object ids, the connector's modes, fake offsets for `mmap`), as syzkaller's resources do.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

use crate::drm_abi::{
    self, Atomic, CardRes, ClientCap, ClipRect, CreateBlob, CreateDumb, DestroyBlob, DestroyDumb,
    FbCmd, FbCmd2, FbDirty, GemClose, GetCap, GetConnector, GetEncoder, GetPlane, GetProperty,
    MapDumb, ModeCrtc, ModeInfo, ObjProps, PageFlip, PlaneRes, PrimeHandle, SetPlane, WaitVblank,
};
use crate::raw::{read_struct, sys};

use super::super::program::{Buf, DrmReq, Id, ModeSpec, Obj, PropVal, Timings, BOS, FBS, PROPS};
use super::{rect, Exec, Outcome, SCRATCH_LEN};

/// Where in the scratch buffer the arrays an ioctl's struct points to go (past the struct and
/// FLUSH's rectangles).
const ARRAYS: u64 = 0x8000;
/// Entries each id array of GETRESOURCES and friends has room for.
const IDS: u32 = 16;

/// The pipe's objects.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ids {
    pub crtc: u32,
    pub conn: u32,
    pub enc: u32,
    pub plane: u32,
}

/// What the card's DRM device offers, read once at the start: the pipe's object ids, the
/// atomic properties' ids, the connector's modes.
#[derive(Debug, Clone, Default)]
pub struct DrmInfo {
    pub ids: Ids,
    pub props: Vec<(Obj, &'static str, u32)>,
    pub modes: Vec<ModeInfo>,
}

impl DrmInfo {
    /// Asks the card at `path` (with universal planes and atomic on).
    pub fn discover(path: &Path) -> Result<DrmInfo, String> {
        let file = File::options()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| format!("open {}: {e}", path.display()))?;
        for cap in [
            drm_abi::CLIENT_CAP_UNIVERSAL_PLANES,
            drm_abi::CLIENT_CAP_ATOMIC,
        ] {
            let mut c = ClientCap {
                capability: cap,
                value: 1,
            };
            drm_abi::ioctl(&file, drm_abi::SET_CLIENT_CAP, &mut c)
                .map_err(|e| format!("SET_CLIENT_CAP {cap}: {e}"))?;
        }
        let (mut crtcs, mut conns, mut encs) = ([0u32; 4], [0u32; 4], [0u32; 4]);
        let mut res = CardRes {
            crtc_id_ptr: crtcs.as_mut_ptr() as u64,
            connector_id_ptr: conns.as_mut_ptr() as u64,
            encoder_id_ptr: encs.as_mut_ptr() as u64,
            count_crtcs: 4,
            count_connectors: 4,
            count_encoders: 4,
            ..Default::default()
        };
        drm_abi::ioctl(&file, drm_abi::GETRESOURCES, &mut res)
            .map_err(|e| format!("GETRESOURCES: {e}"))?;
        let mut planes = [0u32; 4];
        let mut pres = PlaneRes {
            plane_id_ptr: planes.as_mut_ptr() as u64,
            count_planes: 4,
        };
        drm_abi::ioctl(&file, drm_abi::GETPLANERESOURCES, &mut pres)
            .map_err(|e| format!("GETPLANERESOURCES: {e}"))?;
        let ids = Ids {
            crtc: crtcs[0],
            conn: conns[0],
            enc: encs[0],
            plane: planes[0],
        };
        let mut modes = vec![ModeInfo::default(); 64];
        let mut conn = GetConnector {
            connector_id: ids.conn,
            modes_ptr: modes.as_mut_ptr() as u64,
            count_modes: 64,
            ..Default::default()
        };
        drm_abi::ioctl(&file, drm_abi::GETCONNECTOR, &mut conn)
            .map_err(|e| format!("GETCONNECTOR: {e}"))?;
        modes.truncate((conn.count_modes as usize).min(64));
        let mut props = Vec::new();
        for (obj, kind, id) in [
            (Obj::Plane, drm_abi::OBJECT_PLANE, ids.plane),
            (Obj::Crtc, drm_abi::OBJECT_CRTC, ids.crtc),
            (Obj::Conn, drm_abi::OBJECT_CONNECTOR, ids.conn),
        ] {
            let mut prop_ids = [0u32; 64];
            let mut values = [0u64; 64];
            let mut op = ObjProps {
                props_ptr: prop_ids.as_mut_ptr() as u64,
                prop_values_ptr: values.as_mut_ptr() as u64,
                count_props: 64,
                obj_id: id,
                obj_type: kind,
            };
            drm_abi::ioctl(&file, drm_abi::OBJ_GETPROPERTIES, &mut op)
                .map_err(|e| format!("OBJ_GETPROPERTIES: {e}"))?;
            for &prop_id in &prop_ids[..(op.count_props as usize).min(64)] {
                let mut p = GetProperty {
                    prop_id,
                    ..Default::default()
                };
                if drm_abi::ioctl(&file, drm_abi::GETPROPERTY, &mut p).is_err() {
                    continue;
                }
                let len = p.name.iter().position(|&b| b == 0).unwrap_or(32);
                let name = String::from_utf8_lossy(&p.name[..len]).into_owned();
                if let Some(&(o, n)) = PROPS.iter().find(|(o, n)| *o == obj && *n == name) {
                    props.push((o, n, prop_id));
                }
            }
        }
        Ok(DrmInfo { ids, props, modes })
    }

    fn prop(&self, obj: Obj, name: &str) -> u32 {
        self.props
            .iter()
            .find(|(o, n, _)| *o == obj && *n == name)
            .map_or(0, |(_, _, id)| *id)
    }
}

/// Turns the CRTC off through a new file of the card at `path` (which becomes master: the
/// fuzzer's own files are closed between programs and the probe dropped master).
pub fn crtc_off(path: &Path, ids: &Ids) -> io::Result<()> {
    let file = File::options().read(true).write(true).open(path)?;
    let mut crtc = ModeCrtc {
        crtc_id: ids.crtc,
        ..Default::default()
    };
    drm_abi::ioctl(&file, drm_abi::SETCRTC, &mut crtc)
}

/// The latency probe's call on the DRM face: GETCRTC, which takes the CRTC's modeset lock that
/// every commit holds.
pub fn probe_call(file: &File, crtc: u32) -> io::Result<()> {
    let mut c = ModeCrtc {
        crtc_id: crtc,
        ..Default::default()
    };
    drm_abi::ioctl(file, drm_abi::GETCRTC, &mut c)
}

/// Drops the DRM master a new file of the card may have become (so the fuzzer's files can).
pub fn drop_master(file: &File) {
    // SAFETY: an ioctl without argument on our own file.
    unsafe { libc::ioctl(file.as_raw_fd(), drm_abi::DROP_MASTER, 0) };
}

/// A dumb buffer a program made.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bo {
    pub handle: u32,
    pub size: u64,
    pub pitch: u32,
    /// The fake offset the last MAP_DUMB returned.
    pub offset: Option<u64>,
}

/// The DRM resources of one program run (a child gets a copy).
#[derive(Debug, Clone, Default)]
pub struct DrmState {
    pub ids: Ids,
    pub modes: Vec<ModeInfo>,
    pub bos: [Option<Bo>; BOS as usize],
    pub fbs: [u32; FBS as usize],
}

impl DrmState {
    pub fn new(info: &DrmInfo) -> DrmState {
        DrmState {
            ids: info.ids,
            modes: info.modes.clone(),
            ..DrmState::default()
        }
    }

    fn id(&self, id: Id) -> u32 {
        match id {
            Id::Crtc => self.ids.crtc,
            Id::Conn => self.ids.conn,
            Id::Enc => self.ids.enc,
            Id::Plane => self.ids.plane,
            Id::Fb(k) => self.fbs[k as usize],
            Id::Bo(k) => self.bos[k as usize].map_or(0, |b| b.handle),
            Id::Lit(n) => n as u32,
        }
    }

    fn mode(&self, spec: ModeSpec) -> ModeInfo {
        match spec {
            ModeSpec::Conn(n) => match self.modes.len() {
                0 => timings(Timings::XGA),
                len => self.modes[(n as usize).min(len - 1)],
            },
            ModeSpec::Timings(t) => timings(t),
        }
    }
}

/// A `drm_mode_modeinfo` of `t` (named like the kernel's: `WxH`).
fn timings(t: Timings) -> ModeInfo {
    let mut name = [0u8; 32];
    let text = format!("{}x{}", t.h[0], t.v[0]);
    name[..text.len().min(31)].copy_from_slice(&text.as_bytes()[..text.len().min(31)]);
    ModeInfo {
        clock: t.clock,
        hdisplay: t.h[0],
        hsync_start: t.h[1],
        hsync_end: t.h[2],
        htotal: t.h[3],
        hskew: 0,
        vdisplay: t.v[0],
        vsync_start: t.v[1],
        vsync_end: t.v[2],
        vtotal: t.v[3],
        vscan: t.vscan,
        vrefresh: 0,
        flags: t.flags,
        kind: 0,
        name,
    }
}

fn bytes_of<T: Copy>(value: &T) -> Vec<u8> {
    let mut bytes = vec![0u8; size_of::<T>()];
    crate::raw::write_struct(&mut bytes, value);
    bytes
}

fn u32s(values: &[u32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_ne_bytes()).collect()
}

fn u64s(values: &[u64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_ne_bytes()).collect()
}

impl Exec<'_> {
    /// Array `n` (of 8) in the scratch buffer: its address; `bytes` copied there.
    fn array(&mut self, n: u64, bytes: &[u8]) -> u64 {
        let off = ARRAYS + n * 0x1000;
        let at = Buf::Scratch(off as u32);
        self.put(at, &bytes[..bytes.len().min(0x1000)]);
        self.scratch.base() + off
    }

    /// Array `n` read back: `count` entries of `T` (at most what fits its page).
    fn array_back<T: Copy + Default>(&mut self, n: u64, count: u32) -> Vec<T> {
        let off = (ARRAYS + n * 0x1000) as usize;
        let count = (count as usize).min(0x1000 / size_of::<T>());
        let bytes = self.scratch.bytes();
        (0..count)
            .map(|i| read_struct(&bytes[off + i * size_of::<T>()..]))
            .collect()
    }

    /// The struct at `arg` after the call, if it lies wholly in the scratch buffer.
    fn back<T: Copy + Default>(&mut self, arg: Buf) -> Option<T> {
        let (addr, _) = self.buf(arg)?;
        let base = self.scratch.base();
        if !matches!(arg, Buf::Scratch(_) | Buf::Guard(_))
            || addr < base
            || addr + size_of::<T>() as u64 > base + SCRATCH_LEN as u64
        {
            return None;
        }
        let at = (addr - base) as usize;
        Some(read_struct(&self.scratch.bytes()[at..]))
    }

    /// Runs one DRM ioctl.
    pub(super) fn drm(&mut self, f: u8, req: &DrmReq, arg: Buf) -> Outcome {
        let file = self.file(f)?;
        let addr = self.arg(arg)?;
        let st = self.drm.clone();
        let mut blobs = Vec::new();
        let cmd = match req {
            DrmReq::GetRes => {
                let res = CardRes {
                    fb_id_ptr: self.array(0, &[]),
                    crtc_id_ptr: self.array(1, &[]),
                    connector_id_ptr: self.array(2, &[]),
                    encoder_id_ptr: self.array(3, &[]),
                    count_fbs: IDS,
                    count_crtcs: IDS,
                    count_connectors: IDS,
                    count_encoders: IDS,
                    ..Default::default()
                };
                self.put(arg, &bytes_of(&res));
                drm_abi::GETRESOURCES
            }
            DrmReq::GetConnector { conn } => {
                let c = GetConnector {
                    encoders_ptr: self.array(0, &[]),
                    modes_ptr: self.array(1, &[]),
                    props_ptr: self.array(2, &[]),
                    prop_values_ptr: self.array(3, &[]),
                    count_modes: 0x1000 / size_of::<ModeInfo>() as u32,
                    count_props: IDS,
                    count_encoders: IDS,
                    connector_id: st.id(*conn),
                    ..Default::default()
                };
                self.put(arg, &bytes_of(&c));
                drm_abi::GETCONNECTOR
            }
            DrmReq::GetEncoder { enc } => {
                let e = GetEncoder {
                    encoder_id: st.id(*enc),
                    ..Default::default()
                };
                self.put(arg, &bytes_of(&e));
                drm_abi::GETENCODER
            }
            DrmReq::GetCrtc { crtc } => {
                let c = ModeCrtc {
                    crtc_id: st.id(*crtc),
                    ..Default::default()
                };
                self.put(arg, &bytes_of(&c));
                drm_abi::GETCRTC
            }
            DrmReq::SetCrtc {
                crtc,
                fb,
                x,
                y,
                conns,
                mode,
            } => {
                let ids: Vec<u32> = conns.iter().map(|c| st.id(*c)).collect();
                let c = ModeCrtc {
                    set_connectors_ptr: self.array(0, &u32s(&ids)),
                    count_connectors: ids.len() as u32,
                    crtc_id: st.id(*crtc),
                    fb_id: st.id(*fb),
                    x: *x,
                    y: *y,
                    gamma_size: 0,
                    mode_valid: u32::from(mode.is_some()),
                    mode: mode.map(|m| st.mode(m)).unwrap_or_default(),
                };
                self.put(arg, &bytes_of(&c));
                drm_abi::SETCRTC
            }
            DrmReq::GetPlaneRes => {
                let p = PlaneRes {
                    plane_id_ptr: self.array(0, &[]),
                    count_planes: IDS,
                };
                self.put(arg, &bytes_of(&p));
                drm_abi::GETPLANERESOURCES
            }
            DrmReq::GetPlane { plane } => {
                let p = GetPlane {
                    plane_id: st.id(*plane),
                    format_type_ptr: self.array(0, &[]),
                    count_format_types: IDS,
                    ..Default::default()
                };
                self.put(arg, &bytes_of(&p));
                drm_abi::GETPLANE
            }
            DrmReq::SetPlane {
                plane,
                crtc,
                fb,
                dst,
                src,
            } => {
                let p = SetPlane {
                    plane_id: st.id(*plane),
                    crtc_id: st.id(*crtc),
                    fb_id: st.id(*fb),
                    flags: 0,
                    crtc_x: dst[0] as i32,
                    crtc_y: dst[1] as i32,
                    crtc_w: dst[2],
                    crtc_h: dst[3],
                    src_x: src[0],
                    src_y: src[1],
                    src_w: src[2],
                    src_h: src[3],
                };
                self.put(arg, &bytes_of(&p));
                drm_abi::SETPLANE
            }
            DrmReq::AddFb {
                bo,
                w,
                h,
                bpp,
                depth,
                pitch,
                ..
            } => {
                let ctx = self.bo_ctx(*bo);
                let c = FbCmd {
                    fb_id: 0,
                    width: *w,
                    height: *h,
                    pitch: ctx.eval(*pitch) as u32,
                    bpp: *bpp,
                    depth: *depth,
                    handle: st.id(*bo),
                };
                self.put(arg, &bytes_of(&c));
                drm_abi::ADDFB
            }
            DrmReq::AddFb2 {
                bo,
                w,
                h,
                format,
                pitch,
                offset,
                flags,
                ..
            } => {
                let ctx = self.bo_ctx(*bo);
                let c = FbCmd2 {
                    fb_id: 0,
                    width: *w,
                    height: *h,
                    pixel_format: *format,
                    flags: *flags,
                    handles: [st.id(*bo), 0, 0, 0],
                    pitches: [ctx.eval(*pitch) as u32, 0, 0, 0],
                    offsets: [ctx.eval(*offset) as u32, 0, 0, 0],
                    modifier: [0; 4],
                };
                self.put(arg, &bytes_of(&c));
                drm_abi::ADDFB2
            }
            DrmReq::RmFb { fb } => {
                self.put(arg, &st.id(*fb).to_ne_bytes());
                drm_abi::RMFB
            }
            DrmReq::CreateDumb {
                w,
                height,
                bpp,
                flags,
                ..
            } => {
                let c = CreateDumb {
                    height: *height,
                    width: *w,
                    bpp: *bpp,
                    flags: *flags,
                    ..Default::default()
                };
                self.put(arg, &bytes_of(&c));
                drm_abi::CREATE_DUMB
            }
            DrmReq::MapDumb { bo } => {
                let m = MapDumb {
                    handle: st.id(*bo),
                    ..Default::default()
                };
                self.put(arg, &bytes_of(&m));
                drm_abi::MAP_DUMB
            }
            DrmReq::DestroyDumb { bo } => {
                self.put(arg, &bytes_of(&DestroyDumb { handle: st.id(*bo) }));
                drm_abi::DESTROY_DUMB
            }
            DrmReq::GemClose { bo } => {
                self.put(
                    arg,
                    &bytes_of(&GemClose {
                        handle: st.id(*bo),
                        pad: 0,
                    }),
                );
                drm_abi::GEM_CLOSE
            }
            DrmReq::PageFlip {
                crtc,
                fb,
                flags,
                target,
            } => {
                let p = PageFlip {
                    crtc_id: st.id(*crtc),
                    fb_id: st.id(*fb),
                    flags: *flags,
                    sequence: *target,
                    user_data: 0x6b66_757a,
                };
                self.put(arg, &bytes_of(&p));
                drm_abi::PAGE_FLIP
            }
            DrmReq::DirtyFb {
                fb,
                count,
                rects,
                flags,
            } => {
                let ctx = self.ctx;
                let n = (*count).min(0x1000 / 8);
                let clips: Vec<u8> = (0..n)
                    .flat_map(|i| {
                        let r = rect(*rects, i, n, &ctx);
                        // Truncated to the 16 bits a clip has, as a client's would be.
                        bytes_of(&ClipRect {
                            x1: r.x as u16,
                            y1: r.y as u16,
                            x2: r.x.wrapping_add(r.width) as u16,
                            y2: r.y.wrapping_add(r.height) as u16,
                        })
                    })
                    .collect();
                let d = FbDirty {
                    fb_id: st.id(*fb),
                    flags: *flags,
                    color: 0,
                    num_clips: *count,
                    clips_ptr: self.array(0, &clips),
                };
                self.put(arg, &bytes_of(&d));
                drm_abi::DIRTYFB
            }
            DrmReq::Atomic { flags, props } => {
                let info = self.env.drm.clone().unwrap_or_default();
                let mut objs: Vec<u32> = Vec::new();
                let mut counts: Vec<u32> = Vec::new();
                let mut prop_ids: Vec<u32> = Vec::new();
                let mut values: Vec<u64> = Vec::new();
                // Grouped by object, in the order objects first appear.
                for obj in [Obj::Plane, Obj::Crtc, Obj::Conn] {
                    let mine: Vec<_> = props.iter().filter(|(o, _, _)| *o == obj).collect();
                    if mine.is_empty() {
                        continue;
                    }
                    objs.push(match obj {
                        Obj::Plane => st.ids.plane,
                        Obj::Crtc => st.ids.crtc,
                        Obj::Conn => st.ids.conn,
                    });
                    counts.push(mine.len() as u32);
                    for (o, name, value) in mine {
                        prop_ids.push(info.prop(*o, name));
                        values.push(match value {
                            PropVal::Id(id) => match id {
                                Id::Lit(n) => *n,
                                other => u64::from(st.id(*other)),
                            },
                            PropVal::Mode(m) => {
                                let blob = self.blob(file.fd, &st.mode(*m));
                                blobs.extend(blob);
                                u64::from(blob.unwrap_or(0))
                            }
                        });
                    }
                }
                let a = Atomic {
                    flags: *flags,
                    count_objs: objs.len() as u32,
                    objs_ptr: self.array(0, &u32s(&objs)),
                    count_props_ptr: self.array(1, &u32s(&counts)),
                    props_ptr: self.array(2, &u32s(&prop_ids)),
                    prop_values_ptr: self.array(3, &u64s(&values)),
                    reserved: 0,
                    user_data: 0x6b66_757a,
                };
                self.put(arg, &bytes_of(&a));
                drm_abi::ATOMIC
            }
            DrmReq::SetClientCap { cap, value } => {
                self.put(
                    arg,
                    &bytes_of(&ClientCap {
                        capability: *cap,
                        value: *value,
                    }),
                );
                drm_abi::SET_CLIENT_CAP
            }
            DrmReq::GetCap { cap } => {
                self.put(
                    arg,
                    &bytes_of(&GetCap {
                        capability: *cap,
                        value: 0,
                    }),
                );
                drm_abi::GET_CAP
            }
            DrmReq::SetMaster => drm_abi::SET_MASTER,
            DrmReq::DropMaster => drm_abi::DROP_MASTER,
            DrmReq::WaitVblank { kind, seq } => {
                self.put(
                    arg,
                    &bytes_of(&WaitVblank {
                        kind: *kind,
                        sequence: *seq,
                        tval_sec: 0,
                        tval_usec: 0,
                    }),
                );
                drm_abi::WAIT_VBLANK
            }
            DrmReq::PrimeHandleToFd { bo, flags } => {
                self.put(
                    arg,
                    &bytes_of(&PrimeHandle {
                        handle: st.id(*bo),
                        flags: *flags,
                        fd: -1,
                    }),
                );
                drm_abi::PRIME_HANDLE_TO_FD
            }
        };
        let value = match req {
            DrmReq::SetMaster | DrmReq::DropMaster => 0,
            _ => addr,
        };
        // Raw on purpose, as `Exec::ioctl`: the struct is where the program put it, and may be
        // NULL, in the kernel or against the guard page.
        // SAFETY: `value` is an address in the scratch buffer with room for any DRM struct (a
        // guard page after it), in a mapping slot with room for one, or an address the kernel
        // must refuse; the arrays it points to are in the scratch buffer, one page each.
        let result = sys(unsafe { libc::ioctl(file.fd, cmd as _, value) } as i64);
        for blob in blobs {
            let mut d = DestroyBlob { blob_id: blob };
            // SAFETY: a struct on our stack for the ioctl that reads it.
            unsafe { libc::ioctl(file.fd, drm_abi::DESTROYPROPBLOB as _, &raw mut d) };
        }
        if result.is_ok() {
            self.learn(req, arg);
        }
        Some(result)
    }

    /// A property blob of `mode` on `fd`, for an atomic commit's MODE_ID.
    fn blob(&mut self, fd: libc::c_int, mode: &ModeInfo) -> Option<u32> {
        let mut c = CreateBlob {
            data: std::ptr::from_ref(mode) as u64,
            length: size_of::<ModeInfo>() as u32,
            blob_id: 0,
        };
        // SAFETY: the struct and the mode it points to live on our stack for the call.
        let ok = unsafe { libc::ioctl(fd, drm_abi::CREATEPROPBLOB as _, &raw mut c) } == 0;
        ok.then_some(c.blob_id)
    }

    /// The values of a call on dumb buffer `bo`: `bo` its size, `pitch` its pitch.
    pub(super) fn bo_ctx(&self, bo: Id) -> super::super::program::Ctx {
        let b = match bo {
            Id::Bo(k) => self.drm.bos[k as usize],
            _ => None,
        }
        .unwrap_or_default();
        super::super::program::Ctx {
            bo: b.size,
            pitch: u64::from(b.pitch),
            ..self.ctx
        }
    }

    /// What a call that worked returned, into the program's resources.
    fn learn(&mut self, req: &DrmReq, arg: Buf) {
        match req {
            DrmReq::GetRes => {
                if let Some(res) = self.back::<CardRes>(arg) {
                    let first = |this: &mut Self, n, count: u32| {
                        this.array_back::<u32>(n, count.min(IDS)).first().copied()
                    };
                    if let Some(c) = first(self, 1, res.count_crtcs) {
                        self.drm.ids.crtc = c;
                    }
                    if let Some(c) = first(self, 2, res.count_connectors) {
                        self.drm.ids.conn = c;
                    }
                    if let Some(e) = first(self, 3, res.count_encoders) {
                        self.drm.ids.enc = e;
                    }
                }
            }
            DrmReq::GetPlaneRes => {
                if let Some(p) = self.back::<PlaneRes>(arg) {
                    if let Some(&id) = self.array_back::<u32>(0, p.count_planes.min(IDS)).first() {
                        self.drm.ids.plane = id;
                    }
                }
            }
            DrmReq::GetConnector { .. } => {
                if let Some(c) = self.back::<GetConnector>(arg) {
                    let modes = self.array_back::<ModeInfo>(1, c.count_modes);
                    if !modes.is_empty() {
                        self.drm.modes = modes;
                    }
                }
            }
            DrmReq::CreateDumb { h, .. } => {
                if let Some(c) = self.back::<CreateDumb>(arg) {
                    self.drm.bos[*h as usize] = Some(Bo {
                        handle: c.handle,
                        size: c.size,
                        pitch: c.pitch,
                        offset: None,
                    });
                }
            }
            DrmReq::MapDumb { bo: Id::Bo(k) } => {
                let offset = self.back::<MapDumb>(arg).map(|m| m.offset);
                if let Some(b) = self.drm.bos[*k as usize].as_mut() {
                    b.offset = offset.or(b.offset);
                }
            }
            DrmReq::DestroyDumb { bo: Id::Bo(k) } | DrmReq::GemClose { bo: Id::Bo(k) } => {
                self.drm.bos[*k as usize] = None;
            }
            DrmReq::AddFb { b, .. } => {
                if let Some(c) = self.back::<FbCmd>(arg) {
                    self.drm.fbs[*b as usize] = c.fb_id;
                }
            }
            DrmReq::AddFb2 { b, .. } => {
                if let Some(c) = self.back::<FbCmd2>(arg) {
                    self.drm.fbs[*b as usize] = c.fb_id;
                }
            }
            DrmReq::RmFb { fb: Id::Fb(k) } => self.drm.fbs[*k as usize] = 0,
            DrmReq::PrimeHandleToFd { .. } => {
                if let Some(p) = self.back::<PrimeHandle>(arg) {
                    if p.fd >= 0 {
                        super::close(p.fd);
                    }
                }
            }
            _ => {}
        }
    }
}
