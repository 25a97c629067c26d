//! The DRM uapi the checks and kfuzz use (include/uapi/drm/drm.h, drm_mode.h), defined once:
//! the argument structs of the ioctls a dumb-buffer KMS client makes, and their numbers.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::ptr;

use libc::c_ulong;

/// `_IOWR('d', nr, size)`.
pub(crate) const fn iowr(nr: c_ulong, size: usize) -> c_ulong {
    (3 << 30) | ((size as c_ulong) << 16) | ((b'd' as c_ulong) << 8) | nr
}

/// `_IOW('d', nr, size)`.
pub(crate) const fn iow(nr: c_ulong, size: usize) -> c_ulong {
    (1 << 30) | ((size as c_ulong) << 16) | ((b'd' as c_ulong) << 8) | nr
}

/// `_IO('d', nr)`.
pub(crate) const fn io(nr: c_ulong) -> c_ulong {
    ((b'd' as c_ulong) << 8) | nr
}

/// `ioctl(file, request, arg)`.
pub(crate) fn ioctl<T>(file: &File, request: c_ulong, arg: &mut T) -> io::Result<()> {
    // SAFETY: `arg` is the argument struct `request` reads and writes, valid and exclusive.
    if unsafe { libc::ioctl(file.as_raw_fd(), request, ptr::from_mut(arg)) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `struct drm_mode_create_dumb`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub(crate) struct CreateDumb {
    pub(crate) height: u32,
    pub(crate) width: u32,
    pub(crate) bpp: u32,
    pub(crate) flags: u32,
    pub(crate) handle: u32,
    pub(crate) pitch: u32,
    pub(crate) size: u64,
}

/// `struct drm_mode_map_dumb`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub(crate) struct MapDumb {
    pub(crate) handle: u32,
    pub(crate) pad: u32,
    pub(crate) offset: u64,
}

/// `struct drm_mode_destroy_dumb`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct DestroyDumb {
    pub(crate) handle: u32,
}

/// `struct drm_mode_modeinfo`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub(crate) struct ModeInfo {
    pub(crate) clock: u32,
    pub(crate) hdisplay: u16,
    pub(crate) hsync_start: u16,
    pub(crate) hsync_end: u16,
    pub(crate) htotal: u16,
    pub(crate) hskew: u16,
    pub(crate) vdisplay: u16,
    pub(crate) vsync_start: u16,
    pub(crate) vsync_end: u16,
    pub(crate) vtotal: u16,
    pub(crate) vscan: u16,
    pub(crate) vrefresh: u32,
    pub(crate) flags: u32,
    pub(crate) kind: u32,
    pub(crate) name: [u8; 32],
}

/// `struct drm_mode_crtc` (SETCRTC and GETCRTC).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct ModeCrtc {
    pub(crate) set_connectors_ptr: u64,
    pub(crate) count_connectors: u32,
    pub(crate) crtc_id: u32,
    pub(crate) fb_id: u32,
    pub(crate) x: u32,
    pub(crate) y: u32,
    pub(crate) gamma_size: u32,
    pub(crate) mode_valid: u32,
    pub(crate) mode: ModeInfo,
}

/// `struct drm_mode_card_res`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct CardRes {
    pub(crate) fb_id_ptr: u64,
    pub(crate) crtc_id_ptr: u64,
    pub(crate) connector_id_ptr: u64,
    pub(crate) encoder_id_ptr: u64,
    pub(crate) count_fbs: u32,
    pub(crate) count_crtcs: u32,
    pub(crate) count_connectors: u32,
    pub(crate) count_encoders: u32,
    pub(crate) min_width: u32,
    pub(crate) max_width: u32,
    pub(crate) min_height: u32,
    pub(crate) max_height: u32,
}

/// `struct drm_mode_get_connector`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct GetConnector {
    pub(crate) encoders_ptr: u64,
    pub(crate) modes_ptr: u64,
    pub(crate) props_ptr: u64,
    pub(crate) prop_values_ptr: u64,
    pub(crate) count_modes: u32,
    pub(crate) count_props: u32,
    pub(crate) count_encoders: u32,
    pub(crate) encoder_id: u32,
    pub(crate) connector_id: u32,
    pub(crate) connector_type: u32,
    pub(crate) connector_type_id: u32,
    pub(crate) connection: u32,
    pub(crate) mm_width: u32,
    pub(crate) mm_height: u32,
    pub(crate) subpixel: u32,
    pub(crate) pad: u32,
}

/// `struct drm_mode_get_encoder`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct GetEncoder {
    pub(crate) encoder_id: u32,
    pub(crate) encoder_type: u32,
    pub(crate) crtc_id: u32,
    pub(crate) possible_crtcs: u32,
    pub(crate) possible_clones: u32,
}

/// `struct drm_mode_fb_cmd` (ADDFB).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct FbCmd {
    pub(crate) fb_id: u32,
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) pitch: u32,
    pub(crate) bpp: u32,
    pub(crate) depth: u32,
    pub(crate) handle: u32,
}

/// `struct drm_mode_fb_cmd2`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct FbCmd2 {
    pub(crate) fb_id: u32,
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) pixel_format: u32,
    pub(crate) flags: u32,
    pub(crate) handles: [u32; 4],
    pub(crate) pitches: [u32; 4],
    pub(crate) offsets: [u32; 4],
    pub(crate) modifier: [u64; 4],
}

/// `struct drm_mode_fb_dirty_cmd`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct FbDirty {
    pub(crate) fb_id: u32,
    pub(crate) flags: u32,
    pub(crate) color: u32,
    pub(crate) num_clips: u32,
    pub(crate) clips_ptr: u64,
}

/// `struct drm_clip_rect`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct ClipRect {
    pub(crate) x1: u16,
    pub(crate) y1: u16,
    pub(crate) x2: u16,
    pub(crate) y2: u16,
}

/// `struct drm_mode_crtc_page_flip_target`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct PageFlip {
    pub(crate) crtc_id: u32,
    pub(crate) fb_id: u32,
    pub(crate) flags: u32,
    pub(crate) sequence: u32,
    pub(crate) user_data: u64,
}

/// `union drm_wait_vblank` (its reply half; the request is its prefix).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct WaitVblank {
    pub(crate) kind: u32,
    pub(crate) sequence: u32,
    pub(crate) tval_sec: i64,
    pub(crate) tval_usec: i64,
}

/// `struct drm_prime_handle`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct PrimeHandle {
    pub(crate) handle: u32,
    pub(crate) flags: u32,
    pub(crate) fd: i32,
}

/// `struct drm_set_client_cap`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct ClientCap {
    pub(crate) capability: u64,
    pub(crate) value: u64,
}

/// `struct drm_get_cap`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct GetCap {
    pub(crate) capability: u64,
    pub(crate) value: u64,
}

/// `struct drm_gem_close`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct GemClose {
    pub(crate) handle: u32,
    pub(crate) pad: u32,
}

/// `struct drm_mode_get_plane_res`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct PlaneRes {
    pub(crate) plane_id_ptr: u64,
    pub(crate) count_planes: u32,
}

/// `struct drm_mode_get_plane`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct GetPlane {
    pub(crate) plane_id: u32,
    pub(crate) crtc_id: u32,
    pub(crate) fb_id: u32,
    pub(crate) possible_crtcs: u32,
    pub(crate) gamma_size: u32,
    pub(crate) count_format_types: u32,
    pub(crate) format_type_ptr: u64,
}

/// `struct drm_mode_set_plane`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct SetPlane {
    pub(crate) plane_id: u32,
    pub(crate) crtc_id: u32,
    pub(crate) fb_id: u32,
    pub(crate) flags: u32,
    pub(crate) crtc_x: i32,
    pub(crate) crtc_y: i32,
    pub(crate) crtc_w: u32,
    pub(crate) crtc_h: u32,
    pub(crate) src_x: u32,
    pub(crate) src_y: u32,
    pub(crate) src_h: u32,
    pub(crate) src_w: u32,
}

/// `struct drm_mode_obj_get_properties`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct ObjProps {
    pub(crate) props_ptr: u64,
    pub(crate) prop_values_ptr: u64,
    pub(crate) count_props: u32,
    pub(crate) obj_id: u32,
    pub(crate) obj_type: u32,
}

/// `struct drm_mode_get_property`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct GetProperty {
    pub(crate) values_ptr: u64,
    pub(crate) enum_blob_ptr: u64,
    pub(crate) prop_id: u32,
    pub(crate) flags: u32,
    pub(crate) name: [u8; 32],
    pub(crate) count_values: u32,
    pub(crate) count_enum_blobs: u32,
}

/// `struct drm_mode_atomic`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct Atomic {
    pub(crate) flags: u32,
    pub(crate) count_objs: u32,
    pub(crate) objs_ptr: u64,
    pub(crate) count_props_ptr: u64,
    pub(crate) props_ptr: u64,
    pub(crate) prop_values_ptr: u64,
    pub(crate) reserved: u64,
    pub(crate) user_data: u64,
}

/// `struct drm_mode_create_blob`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct CreateBlob {
    pub(crate) data: u64,
    pub(crate) length: u32,
    pub(crate) blob_id: u32,
}

/// `struct drm_mode_destroy_blob`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct DestroyBlob {
    pub(crate) blob_id: u32,
}

pub(crate) const SET_MASTER: c_ulong = io(0x1e);
pub(crate) const DROP_MASTER: c_ulong = io(0x1f);
pub(crate) const GEM_CLOSE: c_ulong = iow(0x09, size_of::<GemClose>());
pub(crate) const GET_CAP: c_ulong = iowr(0x0c, size_of::<GetCap>());
pub(crate) const SET_CLIENT_CAP: c_ulong = iow(0x0d, size_of::<ClientCap>());
pub(crate) const PRIME_HANDLE_TO_FD: c_ulong = iowr(0x2d, size_of::<PrimeHandle>());
pub(crate) const WAIT_VBLANK: c_ulong = iowr(0x3a, size_of::<WaitVblank>());
pub(crate) const GETRESOURCES: c_ulong = iowr(0xa0, size_of::<CardRes>());
pub(crate) const GETCRTC: c_ulong = iowr(0xa1, size_of::<ModeCrtc>());
pub(crate) const SETCRTC: c_ulong = iowr(0xa2, size_of::<ModeCrtc>());
pub(crate) const GETENCODER: c_ulong = iowr(0xa6, size_of::<GetEncoder>());
pub(crate) const GETCONNECTOR: c_ulong = iowr(0xa7, size_of::<GetConnector>());
pub(crate) const GETPROPERTY: c_ulong = iowr(0xaa, size_of::<GetProperty>());
pub(crate) const ADDFB: c_ulong = iowr(0xae, size_of::<FbCmd>());
pub(crate) const RMFB: c_ulong = iowr(0xaf, size_of::<u32>());
pub(crate) const PAGE_FLIP: c_ulong = iowr(0xb0, size_of::<PageFlip>());
pub(crate) const DIRTYFB: c_ulong = iowr(0xb1, size_of::<FbDirty>());
pub(crate) const CREATE_DUMB: c_ulong = iowr(0xb2, size_of::<CreateDumb>());
pub(crate) const MAP_DUMB: c_ulong = iowr(0xb3, size_of::<MapDumb>());
pub(crate) const DESTROY_DUMB: c_ulong = iowr(0xb4, size_of::<DestroyDumb>());
pub(crate) const GETPLANERESOURCES: c_ulong = iowr(0xb5, size_of::<PlaneRes>());
pub(crate) const GETPLANE: c_ulong = iowr(0xb6, size_of::<GetPlane>());
pub(crate) const SETPLANE: c_ulong = iowr(0xb7, size_of::<SetPlane>());
pub(crate) const ADDFB2: c_ulong = iowr(0xb8, size_of::<FbCmd2>());
pub(crate) const OBJ_GETPROPERTIES: c_ulong = iowr(0xb9, size_of::<ObjProps>());
pub(crate) const ATOMIC: c_ulong = iowr(0xbc, size_of::<Atomic>());
pub(crate) const CREATEPROPBLOB: c_ulong = iowr(0xbd, size_of::<CreateBlob>());
pub(crate) const DESTROYPROPBLOB: c_ulong = iowr(0xbe, size_of::<DestroyBlob>());

pub(crate) const XRGB8888: u32 = u32::from_le_bytes(*b"XR24");
pub(crate) const RGB565: u32 = u32::from_le_bytes(*b"RG16");
pub(crate) const VBLANK_RELATIVE: u32 = 1;
pub(crate) const CLIENT_CAP_UNIVERSAL_PLANES: u64 = 2;
pub(crate) const CLIENT_CAP_ATOMIC: u64 = 3;
pub(crate) const OBJECT_CRTC: u32 = 0xcccc_cccc;
pub(crate) const OBJECT_CONNECTOR: u32 = 0xc0c0_c0c0;
pub(crate) const OBJECT_PLANE: u32 = 0xeeee_eeee;
