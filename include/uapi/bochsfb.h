/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * The userspace ABI of /dev/bochsfbN, the bochsfb driver's character device
 * (docs/architecture.md explains it).
 *
 * The definition is uapi/src/bochsfb.rs, which the kernel module compiles; this
 * header is checked against it field by field (sizes, offsets, ioctl numbers,
 * mmap regions) by `cargo test -p bochsfb-uapi`, on the host's ABI and with
 * -m32, and tests/guest/c/draw.c draws through it in the guest.
 */
#ifndef _UAPI_BOCHSFB_H
#define _UAPI_BOCHSFB_H

#include <linux/ioctl.h>
#include <linux/types.h>

/*
 * struct bochsfb_mode: read by BOCHSFB_IOCTL_GET_MODE, written and read back by
 * BOCHSFB_IOCTL_SET_MODE. 40 bytes, no padding, on every ABI.
 */
struct bochsfb_mode {
	__u32 width;          /* visible pixels per row (a multiple of 8) */
	__u32 height;         /* visible rows */
	__u32 bpp;            /* 8 (palette), 16 (RGB565), 24 (RGB888), 32 (XRGB8888) */
	__u32 stride;         /* bytes from one row to the next (set: ignored) */
	__u32 virtual_height; /* rows of the virtual screen (set: 0 = as many as fit) */
	__u32 y_offset;       /* first visible row (set: ignored, reset to 0) */
	__u64 fb_size;        /* bytes mmap, read and write reach (set: ignored) */
	__u64 vram_size;      /* bytes of VRAM on the card (set: ignored) */
};

/* A damaged rectangle of the virtual screen, in pixels. */
struct bochsfb_rect {
	__u32 x;
	__u32 y;      /* row of the virtual screen (pan offsets are not added) */
	__u32 width;  /* x + width <= mode width */
	__u32 height; /* y + height <= virtual_height */
};

/* The argument of BOCHSFB_IOCTL_FLUSH. */
struct bochsfb_damage {
	__u64 rects; /* user pointer to count struct bochsfb_rect */
	__u32 count; /* at most BOCHSFB_MAX_DAMAGE_RECTS; 0 flushes the whole frame */
	__u32 flags; /* must be 0 */
};

#define BOCHSFB_MAX_DAMAGE_RECTS 256

#define BOCHSFB_IOCTL_GET_MODE _IOR('B', 0x01, struct bochsfb_mode)
#define BOCHSFB_IOCTL_SET_MODE _IOWR('B', 0x02, struct bochsfb_mode)
#define BOCHSFB_IOCTL_PAN _IOW('B', 0x03, __u32)
#define BOCHSFB_IOCTL_WAIT_VSYNC _IO('B', 0x04)
#define BOCHSFB_IOCTL_FLUSH _IOW('B', 0x05, struct bochsfb_damage)

/* mmap offsets: region + page-aligned byte offset below fb_size. */
#define BOCHSFB_MMAP_REGION_SHIFT 32
#define BOCHSFB_MMAP_WRITE_COMBINED (0ULL << BOCHSFB_MMAP_REGION_SHIFT)
#define BOCHSFB_MMAP_ON_DEMAND (1ULL << BOCHSFB_MMAP_REGION_SHIFT)
#define BOCHSFB_MMAP_SHADOW (2ULL << BOCHSFB_MMAP_REGION_SHIFT)
#define BOCHSFB_MMAP_UNCACHED (3ULL << BOCHSFB_MMAP_REGION_SHIFT)

#endif /* _UAPI_BOCHSFB_H */
