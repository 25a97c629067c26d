//! A program as a standalone C file: the same calls in the same order, each printing its
//! result, with touches caught by `sigsetjmp` and `&N` calls in a forked child. Values that
//! depend on the mode (`fb`, `len`, ...) are computed when the C program runs, as kfuzz does;
//! calls on a slot that is empty at that point are skipped, as kfuzz skips them.

use std::fmt::Write as _;

use super::exec::SCRATCH_LEN;
use super::program::{
    Base, Buf, Call, IoKind, Node, Op, Origin, Program, Rects, Req, Val, ADVICE, SYSFS_ATTRS,
};
use crate::raw::KERNEL_ADDR;

const PRELUDE: &str = r#"#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/fb.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEVICE "/dev/bochsfb0"
#define TMP_NODE "/tmp/kfuzz-repro-node"
#define SYSFS "/sys/class/misc/bochsfb0/"
#define DRIVER "/sys/bus/pci/drivers/bochsfb/"
#define SCRATCH (SCRATCH_LEN_VALUE)
#define G4 ((uint64_t)1 << 32)

struct bochsfb_mode { uint32_t width, height, bpp, stride, virtual_height, y_offset; uint64_t fb_size, vram_size; };
struct bochsfb_rect { uint32_t x, y, width, height; };
struct bochsfb_damage { uint64_t rects; uint32_t count, flags; };
#define BOCHSFB_IOCTL_GET_MODE 0x80284201u

static int f[4] = { -1, -1, -1, -1 };
static char *m[8];
static uint64_t mlen[8];
static uint64_t moff[8]; /* the file offset each mapping maps from */
static uint64_t fb, vram, w, h, vh;
static char *scratch; /* SCRATCH bytes, then a PROT_NONE guard page */
static char pci[64];
static sigjmp_buf touch_jmp;

static void on_fault(int sig) { siglongjmp(touch_jmp, sig); }

/* Bad pointers and sizes are the point: hide them from the compiler's checks. */
static inline void *P(void *p) { __asm__("" : "+r"(p)); return p; }
static inline size_t N(uint64_t n) { __asm__("" : "+r"(n)); return n; }

/* The mode values count from: GET_MODE on fd, or on a file of its own. */
__attribute__((unused)) static void mode(int fd)
{
	struct bochsfb_mode md = { 0 };
	int own = fd < 0;
	if (own)
		fd = open(DEVICE, O_RDONLY);
	if (ioctl(fd, BOCHSFB_IOCTL_GET_MODE, &md) == 0) {
		fb = md.fb_size; vram = md.vram_size; w = md.width; h = md.height; vh = md.virtual_height;
	}
	if (own)
		close(fd);
}

__attribute__((unused)) static void show(int n, const char *call, long r)
{
	if (r == -1)
		printf("%2d %-9s = -1 %s\n", n, call, strerror(errno));
	else
		printf("%2d %-9s = %#lx\n", n, call, r);
}

/* kfuzz's check of fbdev's display-changing ioctls on a read-only file: the same call from a
 * process without write permission on the node (uid and gid 65534, no groups) must fail with
 * EBADF. Printed as call n again, "as nobody". */
__attribute__((unused)) static void as_nobody(int n, const char *call, int fd, unsigned long cmd, void *arg)
{
	if ((fcntl(fd, F_GETFL) & O_ACCMODE) != O_RDONLY)
		return;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		if (setgroups(0, NULL) == 0 && setgid(65534) == 0 && setuid(65534) == 0) {
			printf("   as nobody: ");
			show(n, call, ioctl(fd, cmd, arg));
			fflush(stdout);
		}
		_exit(0);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
	mode(fd);
}

/* `at..at+len` inside mapping k, clamped to its end; 0 if at is outside it. */
__attribute__((unused)) static int in_map(int k, uint64_t at, uint64_t len, char **p, uint64_t *l)
{
	if (!m[k] || at >= mlen[k])
		return 0;
	*p = m[k] + at;
	*l = len < mlen[k] - at ? len : mlen[k] - at;
	return 1;
}

/* One byte per page of p..p+len (at most 1024 pages): pages reached, or minus the signal. */
__attribute__((unused)) static long touch(char *p, uint64_t len, int write)
{
	volatile long ok = 0, sig = 0;
	char *volatile end = p + len;
	char *volatile at = p;
	for (int i = 0; i < 1024; i++) {
		int s = sigsetjmp(touch_jmp, 1);
		if (s == 0) {
			if (write)
				*(volatile char *)at = (char)0xa5;
			else
				(void)*(volatile char *)at;
			ok++;
		} else {
			sig = s;
		}
		at = (char *)(((uintptr_t)at & ~(uintptr_t)4095) + 4096);
		if (at >= end)
			break;
	}
	return ok == 0 && sig ? -sig : ok;
}

/* Copies into the scratch buffer as far as it reaches (a buffer ending in the guard page gets
 * a partial struct); other buffers keep what they hold. */
__attribute__((unused)) static void put(void *dst, const void *src, size_t n)
{
	char *d = dst;
	if (d >= scratch && d < scratch + SCRATCH) {
		size_t room = scratch + SCRATCH - d;
		memcpy(d, src, n < room ? n : room);
	}
}

__attribute__((unused)) static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

enum { FULL, SCREEN, ZERO, EDGE, PAST, OVERFLOW, RAND };

__attribute__((unused)) static struct bochsfb_rect rect(int pattern, uint32_t seed, uint32_t i, uint32_t n)
{
	uint32_t W = w, H = h, VH = vh;
	struct bochsfb_rect r = { 0, 0, 0, 0 };
	uint64_t s = (uint64_t)seed << 32 | i;
	switch (pattern) {
	case FULL: r.width = W; r.height = VH; break;
	case SCREEN: r.width = W; r.height = H; break;
	case EDGE: r.x = W > 8 ? W - 8 : 0; r.y = VH ? VH - 1 : 0; r.width = W < 8 ? W : 8; r.height = 1; break;
	case PAST:
		if (i + 1 == n) { r.width = W + 1; r.height = 1; }
		else { r.y = i % (VH ? VH : 1); r.width = W; r.height = 1; }
		break;
	case OVERFLOW: r.x = UINT32_MAX; r.width = 2; r.height = 1; break;
	case RAND:
		r.x = (uint32_t)(splitmix(&s) >> 32) % (W ? W : 1);
		r.y = (uint32_t)(splitmix(&s) >> 32) % (VH ? VH : 1);
		r.width = 1 + (uint32_t)(splitmix(&s) >> 32) % (W - r.x ? W - r.x : 1);
		r.height = 1 + (uint32_t)(splitmix(&s) >> 32) % (VH - r.y ? VH - r.y : 1);
		break;
	}
	return r;
}

__attribute__((unused)) static void put_rects(void *dst, uint32_t count, int pattern, uint32_t seed)
{
	uint32_t n = count < 257 ? count : 257;
	for (uint32_t i = 0; i < n; i++) {
		struct bochsfb_rect r = rect(pattern, seed, i, n);
		put((char *)dst + 16 * i, &r, sizeof r);
	}
}

__attribute__((unused)) static long read_file(const char *path)
{
	char buf[4096];
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	long n = read(fd, buf, sizeof buf);
	close(fd);
	return n;
}

__attribute__((unused)) static long write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	long n = write(fd, text, strlen(text));
	close(fd);
	return n < 0 ? -1 : 0;
}

static void setup(void)
{
	struct stat st;
	char link[256];
	ssize_t n = readlink(SYSFS "device", link, sizeof link - 1);
	if (n > 0) {
		link[n] = 0;
		snprintf(pci, sizeof pci, "%.63s", strrchr(link, '/') ? strrchr(link, '/') + 1 : link);
	}
	if (stat(DEVICE, &st) == 0) {
		unlink(TMP_NODE);
		mknod(TMP_NODE, S_IFCHR | 0660, st.st_rdev);
	}
	scratch = mmap(NULL, SCRATCH + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mprotect(scratch + SCRATCH, 4096, PROT_NONE);
	signal(SIGBUS, on_fault);
	signal(SIGSEGV, on_fault);
	mode(-1);
}

int main(void)
{
	setup();
"#;

/// `val` as a C expression; `len` is what `len` stands for there, `off` the file offset of the
/// mapping `edge` counts from.
fn val(v: Val, len: &str, off: &str) -> String {
    let edge = format!("(G4 - ((uint64_t){off} & (G4 - 1)))");
    let base = match v.base {
        Base::Zero => "0",
        Base::Fb => "fb",
        Base::Vram => "vram",
        Base::G4 => "G4",
        Base::Len => len,
        Base::Edge => &edge,
        Base::H => "h",
        Base::Vh => "vh",
        Base::W => "w",
        Base::Pan => "(vh - h)",
        // The DRM face's calls are not translated.
        Base::Bo | Base::Pitch => "0",
    };
    let magnitude = v.delta.unsigned_abs();
    match (v.base, v.delta) {
        (Base::Zero, d) if d < 0 => format!("(uint64_t)-{magnitude:#x}ull"),
        (Base::Zero, _) => format!("(uint64_t){magnitude:#x}ull"),
        (_, 0) => format!("(uint64_t){base}"),
        (_, d) => format!(
            "((uint64_t){base} {} {magnitude:#x}ull)",
            if d < 0 { '-' } else { '+' }
        ),
    }
}

fn buf(b: Buf) -> String {
    format!("P({})", buf_expr(b))
}

fn buf_expr(b: Buf) -> String {
    match b {
        Buf::Scratch(off) => format!("(scratch + {off:#x})"),
        Buf::Guard(n) => format!("(scratch + SCRATCH - {n:#x})"),
        Buf::Null => "(char *)0".into(),
        Buf::Kernel => format!("(char *){KERNEL_ADDR:#x}ull"),
        Buf::Map(k, at) => format!(
            "(m[{k}] + {})",
            val(at, &format!("mlen[{k}]"), &format!("moff[{k}]"))
        ),
    }
}

/// The condition under which kfuzz runs a call that uses buffer `b` (its mapping exists).
fn buf_cond(b: Buf) -> Option<String> {
    match b {
        Buf::Map(k, _) => Some(format!("m[{k}]")),
        _ => None,
    }
}

fn rects(r: Rects) -> (&'static str, u32) {
    match r {
        Rects::Full => ("FULL", 0),
        Rects::Screen => ("SCREEN", 0),
        Rects::Zero => ("ZERO", 0),
        Rects::Edge => ("EDGE", 0),
        Rects::Past => ("PAST", 0),
        Rects::Overflow => ("OVERFLOW", 0),
        Rects::Rand(seed) => ("RAND", seed),
    }
}

/// The C statements of call `n`.
fn call(out: &mut String, n: usize, call: &Call, ind: &str) {
    let _ = writeln!(out, "{ind}/* {n}: {call} */");
    let mut conds: Vec<String> = Vec::new();
    let mut body = String::new();
    let b = &mut body;
    match &call.op {
        Op::Open { f, node, flags } => {
            let path = match node {
                Node::Dev => "DEVICE".to_string(),
                Node::Tmp => "TMP_NODE".to_string(),
                Node::Fd(k) => {
                    conds.push(format!("f[{k}] >= 0"));
                    "path".to_string()
                }
            };
            if let Node::Fd(k) = node {
                let _ = writeln!(
                    b,
                    "char path[64]; snprintf(path, sizeof path, \"/proc/self/fd/%d\", f[{k}]);"
                );
            }
            let _ = writeln!(b, "if (f[{f}] >= 0) close(f[{f}]);");
            let _ = writeln!(b, "f[{f}] = open({path}, {flags:#x} | O_CLOEXEC);");
            let _ = writeln!(b, "show({n}, \"open\", f[{f}]);");
        }
        Op::Close { f } => {
            conds.push(format!("f[{f}] >= 0"));
            let _ = writeln!(b, "show({n}, \"close\", close(f[{f}])); f[{f}] = -1;");
        }
        Op::Dup { f, from } => {
            conds.push(format!("f[{from}] >= 0"));
            let _ = writeln!(b, "int fd = fcntl(f[{from}], F_DUPFD_CLOEXEC, 0);");
            let _ = writeln!(b, "show({n}, \"dup\", fd);");
            let _ = writeln!(
                b,
                "if (fd >= 0) {{ if (f[{f}] >= 0) close(f[{f}]); f[{f}] = fd; }}"
            );
        }
        Op::Fcntl { f, flags } => {
            conds.push(format!("f[{f}] >= 0"));
            let _ = writeln!(
                b,
                "show({n}, \"fcntl\", fcntl(f[{f}], F_SETFL, {flags:#x}));"
            );
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
        } => {
            let Origin::Region(region) = origin else {
                let _ = writeln!(b, "/* not translated: a mapping of a DRM dumb buffer (replay the program file) */");
                return finish(out, ind, &conds, &body);
            };
            conds.push(format!("f[{f}] >= 0"));
            let offset = format!("(((uint64_t){region} << 32) + {})", val(*within, "0", "0"));
            match at {
                Some((t, v)) => {
                    conds.push(format!("m[{t}]"));
                    let _ = writeln!(
                        b,
                        "uint64_t at = {} & ~4095ull;",
                        val(*v, &format!("mlen[{t}]"), &format!("moff[{t}]"))
                    );
                    let _ = writeln!(
                        b,
                        "uint64_t len = {};",
                        val(*len, &format!("mlen[{t}]"), &offset)
                    );
                    let _ = writeln!(b, "if (at < mlen[{t}]) {{");
                    let _ = writeln!(b, "\tif (len > mlen[{t}] - at) len = mlen[{t}] - at;");
                    let _ = writeln!(b, "\tvoid *r = mmap(m[{t}] + at, len, {prot:#x}, {flags:#x} | MAP_FIXED, f[{f}], {offset});");
                }
                None => {
                    let _ = writeln!(b, "uint64_t len = {};", val(*len, "0", &offset));
                    let _ = writeln!(b, "{{");
                    let _ = writeln!(
                        b,
                        "\tvoid *r = mmap(NULL, len, {prot:#x}, {flags:#x}, f[{f}], {offset});"
                    );
                }
            }
            let _ = writeln!(b, "\tshow({n}, \"mmap\", r == MAP_FAILED ? -1 : 0);");
            let _ = writeln!(
                b,
                "\tif (r != MAP_FAILED) {{ m[{m}] = r; mlen[{m}] = (len + 4095) & ~4095ull; moff[{m}] = {offset}; }}"
            );
            let _ = writeln!(b, "}}");
        }
        Op::Mremap {
            m,
            from,
            old,
            len,
            flags,
            at,
        } => {
            conds.push(format!("m[{from}]"));
            let l = format!("mlen[{from}]");
            let o = format!("moff[{from}]");
            let _ = writeln!(
                b,
                "uint64_t old = {};",
                old.map_or(l.clone(), |v| val(v, &l, &o))
            );
            let _ = writeln!(b, "uint64_t len = {};", val(*len, &l, &o));
            let target = match at {
                Some((t, v)) if flags & libc::MREMAP_FIXED != 0 => {
                    format!(
                        "m[{t}] ? m[{t}] + ({} & ~4095ull) : NULL",
                        val(*v, &format!("mlen[{t}]"), &format!("moff[{t}]"))
                    )
                }
                _ => "NULL".into(),
            };
            let _ = writeln!(
                b,
                "void *r = mremap(m[{from}], old, len, {flags:#x}, {target});"
            );
            let _ = writeln!(b, "show({n}, \"mremap\", r == MAP_FAILED ? -1 : 0);");
            let keep_source = flags & libc::MREMAP_DONTUNMAP != 0;
            let _ = writeln!(
                b,
                "if (r != MAP_FAILED) {{ uint64_t o = moff[{from}]; if (old && !{}) m[{from}] = NULL; m[{m}] = r; mlen[{m}] = (len + 4095) & ~4095ull; moff[{m}] = o; }}",
                u8::from(keep_source)
            );
        }
        Op::Munmap { m, at, len }
        | Op::Mprotect { m, at, len, .. }
        | Op::Madvise { m, at, len, .. }
        | Op::Msync { m, at, len, .. }
        | Op::Mlock { m, at, len }
        | Op::Touch { m, at, len, .. }
        | Op::ProcMem { m, at, len } => {
            let l = format!("mlen[{m}]");
            let o = format!("moff[{m}]");
            let _ = writeln!(b, "char *p; uint64_t l;");
            let _ = writeln!(
                b,
                "if (in_map({m}, {}, {}, &p, &l)) {{",
                val(*at, &l, &o),
                val(*len, &l, &o)
            );
            let name = call.op.name();
            let expr = match &call.op {
                Op::Munmap { .. } => "munmap(p, l)".to_string(),
                Op::Mprotect { prot, .. } => format!("mprotect(p, l, {prot:#x})"),
                Op::Madvise { advice, .. } => {
                    let named = ADVICE
                        .iter()
                        .find(|(_, a)| a == advice)
                        .map_or("?", |(n, _)| n);
                    format!("madvise(p, l, {advice}) /* {named} */")
                }
                Op::Msync { flags, .. } => format!("msync(p, l, {flags:#x})"),
                Op::Touch { write, .. } => format!("touch(p, l, {})", u8::from(*write)),
                Op::Mlock { .. } => {
                    let _ = writeln!(b, "\tlong r = mlock(p, l);\n\tmunlock(p, l);");
                    "r".to_string()
                }
                _ => {
                    let _ = writeln!(b, "\tint fd = open(\"/proc/self/mem\", O_RDONLY);");
                    let _ = writeln!(
                        b,
                        "\tlong r = pread(fd, scratch, l < SCRATCH ? l : SCRATCH, (off_t)(uintptr_t)p);\n\tclose(fd);"
                    );
                    "r".to_string()
                }
            };
            let _ = writeln!(b, "\tshow({n}, \"{name}\", {expr});");
            let _ = writeln!(b, "}}");
        }
        Op::Io {
            kind,
            f,
            iov,
            off,
            rwf,
        } => {
            conds.push(format!("f[{f}] >= 0"));
            conds.extend(iov.iter().filter_map(|(bb, _)| buf_cond(*bb)));
            let offset = format!("(off_t){}", val(*off, "0", "0"));
            if kind.vectored() {
                let entries: Vec<String> = iov
                    .iter()
                    .map(|(bb, l)| format!("{{ {}, N({}) }}", buf(*bb), val(*l, "0", "0")))
                    .collect();
                let _ = writeln!(
                    b,
                    "struct iovec v[] = {{ {} }};",
                    if entries.is_empty() {
                        "{ 0, 0 }".into()
                    } else {
                        entries.join(", ")
                    }
                );
                let count = iov.len();
                let expr = match kind {
                    IoKind::Readv => format!("readv(f[{f}], v, {count})"),
                    IoKind::Writev => format!("writev(f[{f}], v, {count})"),
                    IoKind::Preadv2 => format!("preadv2(f[{f}], v, {count}, {offset}, {rwf:#x})"),
                    _ => format!("pwritev2(f[{f}], v, {count}, {offset}, {rwf:#x})"),
                };
                let _ = writeln!(b, "show({n}, \"{}\", {expr});", kind.name());
            } else if let Some((bb, l)) = iov.first() {
                let (p, l) = (buf(*bb), format!("N({})", val(*l, "0", "0")));
                let expr = match kind {
                    IoKind::Read => format!("read(f[{f}], {p}, {l})"),
                    IoKind::Write => format!("write(f[{f}], {p}, {l})"),
                    IoKind::Pread => format!("pread(f[{f}], {p}, {l}, {offset})"),
                    _ => format!("pwrite(f[{f}], {p}, {l}, {offset})"),
                };
                let _ = writeln!(b, "show({n}, \"{}\", {expr});", kind.name());
            }
        }
        Op::Lseek { f, off, whence } => {
            conds.push(format!("f[{f}] >= 0"));
            let _ = writeln!(
                b,
                "show({n}, \"lseek\", lseek(f[{f}], (off_t){}, {whence}));",
                val(*off, "0", "0")
            );
        }
        Op::Ioctl { f, req, arg } => {
            conds.push(format!("f[{f}] >= 0"));
            conds.extend(buf_cond(*arg));
            let a = buf(*arg);
            let cmd = match req {
                Req::GetMode => "0x80284201u".to_string(),
                Req::SetMode { w, h, bpp, vh } => {
                    let _ = writeln!(
                        b,
                        "struct bochsfb_mode md = {{ .width = {w}u, .height = {h}u, .bpp = {bpp}u, .virtual_height = {vh}u }};"
                    );
                    let _ = writeln!(b, "put({a}, &md, sizeof md);");
                    "0xc0284202u".into()
                }
                Req::Pan { y } => {
                    let _ = writeln!(b, "uint32_t y = (uint32_t){};", val(*y, "0", "0"));
                    let _ = writeln!(b, "put({a}, &y, sizeof y);");
                    "0x40044203u".into()
                }
                Req::WaitVsync => "0x4204u".into(),
                Req::Flush {
                    count,
                    rects: r,
                    flags,
                    at,
                } => {
                    let (pattern, seed) = rects(*r);
                    let _ = writeln!(
                        b,
                        "struct bochsfb_damage d = {{ .rects = (uint64_t)(uintptr_t){}, .count = {count}u, .flags = {flags:#x} }};",
                        buf(*at)
                    );
                    let _ = writeln!(b, "put({a}, &d, sizeof d);");
                    let _ = writeln!(b, "put_rects({}, {count}u, {pattern}, {seed}u);", buf(*at));
                    "0x40104205u".into()
                }
                Req::FbGetV => "FBIOGET_VSCREENINFO".into(),
                Req::FbGetF => "FBIOGET_FSCREENINFO".into(),
                Req::FbPutV {
                    w,
                    h,
                    bpp,
                    vyres,
                    xoff,
                    yoff,
                    activate,
                } => {
                    let _ = writeln!(
                        b,
                        "struct fb_var_screeninfo v = {{ .xres = {w}u, .yres = {h}u, .xres_virtual = {w}u, .yres_virtual = {vyres}u, \
                         .xoffset = {xoff}u, .yoffset = (uint32_t){}, .bits_per_pixel = {bpp}u, .activate = {activate:#x} }};",
                        val(*yoff, "0", "0")
                    );
                    let _ = writeln!(b, "put({a}, &v, sizeof v);");
                    "FBIOPUT_VSCREENINFO".into()
                }
                Req::FbPan { x, y } => {
                    let _ = writeln!(b, "struct fb_var_screeninfo v = {{ .xoffset = {x}u, .yoffset = (uint32_t){} }};", val(*y, "0", "0"));
                    let _ = writeln!(b, "put({a}, &v, sizeof v);");
                    "FBIOPAN_DISPLAY".into()
                }
                Req::FbVsync { crtc } => {
                    let _ = writeln!(b, "uint32_t crtc = {crtc}u;");
                    let _ = writeln!(b, "put({a}, &crtc, sizeof crtc);");
                    "FBIO_WAITFORVSYNC".into()
                }
                Req::Raw { cmd, int } => {
                    if let Some(int) = int {
                        let _ = writeln!(b, "show({n}, \"ioctl\", ioctl(f[{f}], {cmd:#x}u, (unsigned long){int:#x}ull));");
                        return finish(out, ind, &conds, &body);
                    }
                    let _ = writeln!(b, "char fill[256]; memset(fill, 0x41, sizeof fill); put({a}, fill, sizeof fill);");
                    format!("{cmd:#x}u")
                }
            };
            let _ = writeln!(b, "long r = ioctl(f[{f}], {cmd}, {a});");
            let _ = writeln!(b, "show({n}, \"{}\", r);", req.name());
            if req.changes_display_through_fbdev() {
                let _ = writeln!(b, "as_nobody({n}, \"{}\", f[{f}], {cmd}, {a});", req.name());
            }
            if matches!(req, Req::SetMode { .. } | Req::FbPutV { .. }) {
                let _ = writeln!(b, "if (r == 0) mode(f[{f}]);");
            }
        }
        Op::Drm { .. } => {
            let _ = writeln!(
                b,
                "/* not translated: a DRM ioctl (replay the program file) */"
            );
        }
        Op::Sysfs { attr } => {
            let name = SYSFS_ATTRS.get(*attr as usize).copied().unwrap_or("mode");
            let _ = writeln!(b, "show({n}, \"sysfs\", read_file(SYSFS \"{name}\"));");
        }
        Op::Personality { rie } => {
            let persona = if *rie {
                "READ_IMPLIES_EXEC"
            } else {
                "PER_LINUX"
            };
            let _ = writeln!(b, "show({n}, \"personality\", personality({persona}));");
        }
        Op::Fork => {
            let _ = writeln!(b, "pid_t pid = fork();");
            let _ = writeln!(b, "if (pid == 0) _exit(0);");
            let _ = writeln!(b, "show({n}, \"fork\", waitpid(pid, NULL, 0));");
        }
        Op::Unbind => {
            let _ = writeln!(
                b,
                "show({n}, \"unbind\", write_file(DRIVER \"unbind\", pci));"
            );
        }
        Op::Bind => {
            let _ = writeln!(b, "show({n}, \"bind\", write_file(DRIVER \"bind\", pci));");
            let _ = writeln!(b, "mode(-1);");
        }
        Op::Wait => {
            let _ = writeln!(b, "while (wait(NULL) > 0);");
        }
    }
    finish(out, ind, &conds, &body);
}

fn finish(out: &mut String, ind: &str, conds: &[String], body: &str) {
    let (open, inner) = if conds.is_empty() {
        (format!("{ind}{{\n"), format!("{ind}\t"))
    } else {
        (
            format!("{ind}if ({}) {{\n", conds.join(" && ")),
            format!("{ind}\t"),
        )
    };
    out.push_str(&open);
    for line in body.lines() {
        let _ = writeln!(out, "{inner}{line}");
    }
    let _ = writeln!(out, "{ind}}}");
}

/// `program` as a C file that says, in its first comment, what it reproduces.
pub fn c_program(program: &Program, finding: &str) -> String {
    let mut out = format!(
        "/* bochsfb reproducer generated by `bochsfb-check kfuzz`: {}\n * Build: gcc -O0 -static -o repro repro.c; run as root in the guest. */\n",
        finding.replace("*/", "* /")
    );
    out.push_str(&PRELUDE.replace("SCRATCH_LEN_VALUE", &SCRATCH_LEN.to_string()));
    let mut started = [false; super::program::CHILDREN as usize + 1];
    for (n, c) in program.calls.iter().enumerate() {
        if c.proc == 0 {
            call(&mut out, n, c, "\t");
            if matches!(c.op, Op::Wait) {
                started = [false; super::program::CHILDREN as usize + 1];
            }
            continue;
        }
        let p = c.proc as usize;
        if started[p] {
            continue;
        }
        started[p] = true;
        let _ = writeln!(
            out,
            "\t/* child &{p}: its calls, concurrently with the ones after {n} */"
        );
        let _ = writeln!(out, "\tif (fork() == 0) {{");
        for (k, cc) in program.child_calls(n, c.proc) {
            call(&mut out, k, cc, "\t\t");
        }
        let _ = writeln!(out, "\t\t_exit(0);\n\t}}");
    }
    out.push_str("\twhile (wait(NULL) > 0);\n\treturn 0;\n}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The generated C compiles without warnings (where a C compiler and the kernel headers are
    /// installed): a program using every call, and a two-call one.
    #[test]
    fn generated_c_compiles() {
        let mut rng = crate::rng::Rng::new(11);
        let mut program = Program::default();
        for _ in 0..40 {
            let mut g = super::super::gen::Gen {
                rng: &mut rng,
                face: super::super::exec::Face::Misc,
            };
            let p = g.program();
            program.calls.extend(g.mutate(&p, None).calls);
        }
        program.calls.extend(
            "touch m0 at=len-0x1 len=0x1 op=w\n&2 flush f0 count=256 rects=rand:3\nreadv f1 iov=s:0x0/0x10,m1:0x0/fb\nwait\n\
             fbpan f0 x=0 y=pan\n"
                .parse::<Program>()
                .unwrap()
                .calls,
        );
        let small: Program = "open f0 node=dev flags=rdwr\nvsync f0\n".parse().unwrap();
        let dir = std::env::temp_dir().join(format!("kfuzz-c-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, p) in [("all", &program), ("small", &small)] {
            let src = dir.join(format!("{name}.c"));
            std::fs::write(&src, c_program(p, "test")).unwrap();
            let Ok(status) = std::process::Command::new("cc")
                .args([
                    "-std=gnu11",
                    "-Wall",
                    "-Wextra",
                    "-Werror",
                    "-Wno-unused-variable",
                ])
                .args([
                    "-Wno-missing-field-initializers",
                    "-O2",
                    "-c",
                    "-o",
                    "/dev/null",
                ])
                .arg(&src)
                .status()
            else {
                return; // no C compiler here
            };
            assert!(status.success(), "{}", src.display());
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
