// SPDX-License-Identifier: GPL-2.0-only OR MIT
//
// draw: a C program that knows the driver only through include/uapi/bochsfb.h. It sets
// 640x480 at 32 bpp, checks the mode the driver writes back, maps the frame write-combined,
// draws four vertical bars (red, green, blue, white; 160 pixels each) and asks the host for
// a screenshot (the harness's `@@bochsfb:screendump NAME` line, answered with an empty line).
// Built with `gcc -static` by the harness; tests/e2e/device_io.rs checks the pixels.
//
// Output: "ok   name" or "FAIL name: why" per check, then "N passed, M failed".

#include <bochsfb.h>
#include "check.h"
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/dev/bochsfb0";
	const char *shot = argc > 2 ? argv[2] : "c-draw";
	char why[160];
	int fd = open(path, O_RDWR);
	if (!check("open the device", fd >= 0, path))
		return finish();

	struct bochsfb_mode mode = { .width = 640, .height = 480, .bpp = 32 };
	int ret = ioctl(fd, BOCHSFB_IOCTL_SET_MODE, &mode);
	snprintf(why, sizeof(why), "ret %d; %ux%u %u bpp stride %u virtual %u fb_size %llu",
		 ret, mode.width, mode.height, mode.bpp, mode.stride, mode.virtual_height,
		 (unsigned long long)mode.fb_size);
	if (!check("SET_MODE 640x480x32 writes the mode back",
		   ret == 0 && mode.width == 640 && mode.height == 480 && mode.bpp == 32 &&
		   mode.stride == 640 * 4 && mode.virtual_height >= 480 && mode.y_offset == 0 &&
		   mode.fb_size == (uint64_t)mode.stride * mode.virtual_height &&
		   mode.vram_size >= mode.fb_size, why))
		return finish();

	struct bochsfb_mode now;
	memset(&now, 0xa5, sizeof(now));
	ret = ioctl(fd, BOCHSFB_IOCTL_GET_MODE, &now);
	check("GET_MODE returns the mode SET_MODE wrote back",
	      ret == 0 && memcmp(&now, &mode, sizeof(mode)) == 0, "differs");

	size_t len = (size_t)mode.stride * mode.height;
	uint32_t *frame = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			       BOCHSFB_MMAP_WRITE_COMBINED);
	if (!check("mmap the visible frame write-combined", frame != MAP_FAILED, "mmap failed"))
		return finish();
	static const uint32_t bars[4] = { 0x00ff0000, 0x0000ff00, 0x000000ff, 0x00ffffff };
	for (uint32_t y = 0; y < mode.height; y++)
		for (uint32_t x = 0; x < mode.width; x++)
			frame[y * (mode.stride / 4) + x] = bars[x / 160];
	check("PAN to row 0", ioctl(fd, BOCHSFB_IOCTL_PAN, &(__u32){ 0 }) == 0, "ioctl failed");
	munmap(frame, len);

	printf("@@bochsfb:screendump %s\n", shot);
	fflush(stdout);
	char answer[8];
	check("the host answered the screenshot request", fgets(answer, sizeof(answer), stdin) != NULL,
	      "stdin closed");
	close(fd);
	return finish();
}
