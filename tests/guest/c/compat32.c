// SPDX-License-Identifier: GPL-2.0
//
// compat32: the bochsfb ioctls seen from a 32-bit (i386) process, which reaches the driver
// through compat_ioctl. Built with `gcc -m32 -static` by the harness and run in the guest.
//
// struct fb_fix_screeninfo is 68 bytes here (unsigned long is 4 bytes) against 80 on x86-64:
// a driver that writes the 64-bit layout overruns the caller's struct by 12 bytes and shifts
// every field after smem_start. Each struct is read into a buffer filled with a canary, and
// every byte past the struct must still hold it. The expected values are computed here from
// the fbdev ABI (include/uapi/linux/fb.h), not taken from the driver.
//
// Output: one "ok   name" or "FAIL name: why" line per check, then "N passed, M failed".

#include <bochsfb.h>
#include "check.h"
#include <fcntl.h>
#include <linux/fb.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

_Static_assert(sizeof(void *) == 4, "build with -m32");
_Static_assert(sizeof(struct fb_fix_screeninfo) == 68, "the i386 fbdev layout");
_Static_assert(sizeof(struct fb_var_screeninfo) == 160, "the fbdev layout");

// include/uapi/bochsfb.h: struct bochsfb_mode is 40 bytes on every ABI.
_Static_assert(sizeof(struct bochsfb_mode) == 40, "the bochsfb mode layout");

#define CANARY 0xa5
#define BUF 256

// True if every byte of buf[from..BUF) still holds the canary.
static int untouched(const unsigned char *buf, size_t from)
{
	for (size_t i = from; i < BUF; i++)
		if (buf[i] != CANARY)
			return 0;
	return 1;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/dev/bochsfb0";
	char why[160];
	int fd = open(path, O_RDWR);
	if (fd < 0) {
		perror(path);
		return 1;
	}

	unsigned char vbuf[BUF], fbuf[BUF], mbuf[BUF];
	memset(vbuf, CANARY, BUF);
	int ret = ioctl(fd, FBIOGET_VSCREENINFO, vbuf);
	check("FBIOGET_VSCREENINFO succeeds", ret == 0, "ioctl failed");
	check("FBIOGET_VSCREENINFO writes exactly 160 bytes", untouched(vbuf, 160),
	      "bytes past the struct were overwritten");
	struct fb_var_screeninfo var;
	memcpy(&var, vbuf, sizeof(var));
	snprintf(why, sizeof(why), "%ux%u %u bpp", var.xres, var.yres, var.bits_per_pixel);
	check("the mode is sane", var.xres >= 8 && var.yres >= 8 &&
	      (var.bits_per_pixel == 8 || var.bits_per_pixel == 16 ||
	       var.bits_per_pixel == 24 || var.bits_per_pixel == 32) &&
	      var.yres_virtual >= var.yres, why);

	memset(fbuf, CANARY, BUF);
	ret = ioctl(fd, FBIOGET_FSCREENINFO, fbuf);
	check("FBIOGET_FSCREENINFO succeeds", ret == 0, "ioctl failed");
	check("FBIOGET_FSCREENINFO writes exactly the 68-byte i386 struct", untouched(fbuf, 68),
	      "bytes past the struct were overwritten (the 80-byte 64-bit layout?)");
	struct fb_fix_screeninfo fix;
	memcpy(&fix, fbuf, sizeof(fix));
	uint32_t line = var.xres * (var.bits_per_pixel / 8);
	snprintf(why, sizeof(why), "id %.16s, line_length %u (expected %u), smem_len %u (expected %u)",
		 fix.id, fix.line_length, line, fix.smem_len, line * var.yres_virtual);
	check("fix: id, line_length and smem_len where i386 has them",
	      strncmp(fix.id, "bochsfb", 7) == 0 && fix.line_length == line &&
	      fix.smem_len == line * var.yres_virtual, why);
	snprintf(why, sizeof(why), "type %u visual %u ypanstep %u smem_start %#lx mmio %#lx/%u",
		 fix.type, fix.visual, fix.ypanstep, fix.smem_start, fix.mmio_start, fix.mmio_len);
	check("fix: packed pixels, true colour, row panning, no addresses",
	      fix.type == FB_TYPE_PACKED_PIXELS && fix.visual == FB_VISUAL_TRUECOLOR &&
	      fix.ypanstep == 1 && fix.smem_start == 0 && fix.mmio_start == 0 && fix.mmio_len == 0,
	      why);

	memset(mbuf, CANARY, BUF);
	ret = ioctl(fd, BOCHSFB_IOCTL_GET_MODE, mbuf);
	check("BOCHSFB_IOCTL_GET_MODE succeeds", ret == 0, "ioctl failed");
	check("GET_MODE writes exactly 40 bytes", untouched(mbuf, 40),
	      "bytes past the struct were overwritten");
	struct bochsfb_mode mode;
	memcpy(&mode, mbuf, sizeof(mode));
	snprintf(why, sizeof(why), "%ux%u %u bpp, fb_size %llu", mode.width, mode.height, mode.bpp,
		 (unsigned long long)mode.fb_size);
	check("GET_MODE agrees with the fbdev structs",
	      mode.width == var.xres && mode.height == var.yres &&
	      mode.bpp == var.bits_per_pixel && mode.fb_size == fix.smem_len, why);

	var.yoffset = 0;
	check("FBIOPAN_DISPLAY to row 0", ioctl(fd, FBIOPAN_DISPLAY, &var) == 0, "ioctl failed");

	// A 32-bit mapping of the first page: a pattern stored through it reads back with pread.
	unsigned char *map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		check("mmap of the first page", 0, "mmap failed");
	} else {
		for (int i = 0; i < 4096; i++)
			map[i] = (unsigned char)(i * 7 + 3);
		unsigned char back[4096];
		ssize_t n = pread(fd, back, sizeof(back), 0);
		check("stores through a 32-bit mapping read back with pread",
		      n == 4096 && memcmp(map, back, 4096) == 0, "mismatch");
		munmap(map, 4096);
	}

	close(fd);
	return finish();
}
