//! `include/uapi/bochsfb.h` agrees with the Rust definition field by field: a C program built
//! against the header prints every struct's size and field offsets, the ioctl numbers and the
//! mmap regions, on the host's ABI and with `-m32`, and each line must equal the one computed
//! here from `bochsfb_uapi`. The fbdev structs are checked against the system's
//! `<linux/fb.h>` the same way (host ABI).

use std::mem::{offset_of, size_of};
use std::path::{Path, PathBuf};
use std::process::Command;

use bochsfb_uapi::fb::{FbFixScreeninfo, FbVarScreeninfo};
use bochsfb_uapi::*;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `size NAME N` and `offset NAME.FIELD N` lines for `fields`.
macro_rules! layout {
    ($out:ident, $c:literal, $t:ty, [$($f:ident),*]) => {
        $out.push(format!("size {} {}", $c, size_of::<$t>()));
        $($out.push(format!("offset {}.{} {}", $c, stringify!($f), offset_of!($t, $f)));)*
    };
}

/// The same lines as C `printf`s.
macro_rules! c_layout {
    ($out:ident, $c:literal, [$($f:ident),*]) => {
        $out.push_str(&format!("P(\"size {c} %zu\\n\", sizeof(struct {c}));\n", c = $c));
        $($out.push_str(&format!(
            "P(\"offset {c}.{f} %zu\\n\", offsetof(struct {c}, {f}));\n",
            c = $c,
            f = stringify!($f)
        ));)*
    };
}

fn bochsfb_lines() -> (Vec<String>, String) {
    let mut rust = Vec::new();
    let mut c = String::new();
    layout!(
        rust,
        "bochsfb_mode",
        BochsfbMode,
        [
            width,
            height,
            bpp,
            stride,
            virtual_height,
            y_offset,
            fb_size,
            vram_size
        ]
    );
    c_layout!(
        c,
        "bochsfb_mode",
        [
            width,
            height,
            bpp,
            stride,
            virtual_height,
            y_offset,
            fb_size,
            vram_size
        ]
    );
    layout!(rust, "bochsfb_rect", BochsfbRect, [x, y, width, height]);
    c_layout!(c, "bochsfb_rect", [x, y, width, height]);
    layout!(rust, "bochsfb_damage", BochsfbDamage, [rects, count, flags]);
    c_layout!(c, "bochsfb_damage", [rects, count, flags]);
    for (name, value) in [
        ("BOCHSFB_IOCTL_GET_MODE", u64::from(BOCHSFB_IOCTL_GET_MODE)),
        ("BOCHSFB_IOCTL_SET_MODE", u64::from(BOCHSFB_IOCTL_SET_MODE)),
        ("BOCHSFB_IOCTL_PAN", u64::from(BOCHSFB_IOCTL_PAN)),
        (
            "BOCHSFB_IOCTL_WAIT_VSYNC",
            u64::from(BOCHSFB_IOCTL_WAIT_VSYNC),
        ),
        ("BOCHSFB_IOCTL_FLUSH", u64::from(BOCHSFB_IOCTL_FLUSH)),
        (
            "BOCHSFB_MAX_DAMAGE_RECTS",
            u64::from(BOCHSFB_MAX_DAMAGE_RECTS),
        ),
        ("BOCHSFB_MMAP_WRITE_COMBINED", mmap_region::WRITE_COMBINED),
        ("BOCHSFB_MMAP_ON_DEMAND", mmap_region::ON_DEMAND),
        ("BOCHSFB_MMAP_SHADOW", mmap_region::SHADOW),
        ("BOCHSFB_MMAP_UNCACHED", mmap_region::UNCACHED),
    ] {
        rust.push(format!("value {name} 0x{value:x}"));
        c.push_str(&format!(
            "P(\"value {name} 0x%llx\\n\", (unsigned long long)({name}));\n"
        ));
    }
    (rust, c)
}

fn fb_lines() -> (Vec<String>, String) {
    let mut rust = Vec::new();
    let mut c = String::new();
    layout!(
        rust,
        "fb_var_screeninfo",
        FbVarScreeninfo,
        [
            xres,
            yres,
            xres_virtual,
            yres_virtual,
            xoffset,
            yoffset,
            bits_per_pixel,
            red,
            green,
            blue,
            transp,
            activate,
            pixclock,
            rotate,
            colorspace
        ]
    );
    c_layout!(
        c,
        "fb_var_screeninfo",
        [
            xres,
            yres,
            xres_virtual,
            yres_virtual,
            xoffset,
            yoffset,
            bits_per_pixel,
            red,
            green,
            blue,
            transp,
            activate,
            pixclock,
            rotate,
            colorspace
        ]
    );
    layout!(
        rust,
        "fb_fix_screeninfo",
        FbFixScreeninfo,
        [
            id,
            smem_start,
            smem_len,
            type_aux,
            visual,
            xpanstep,
            ypanstep,
            ywrapstep,
            line_length,
            mmio_start,
            mmio_len,
            accel,
            capabilities
        ]
    );
    c_layout!(
        c,
        "fb_fix_screeninfo",
        [
            id,
            smem_start,
            smem_len,
            type_aux,
            visual,
            xpanstep,
            ypanstep,
            ywrapstep,
            line_length,
            mmio_start,
            mmio_len,
            accel,
            capabilities
        ]
    );
    for (name, value) in [
        ("FBIOGET_VSCREENINFO", fb::FBIOGET_VSCREENINFO),
        ("FBIOPUT_VSCREENINFO", fb::FBIOPUT_VSCREENINFO),
        ("FBIOGET_FSCREENINFO", fb::FBIOGET_FSCREENINFO),
        ("FBIOPAN_DISPLAY", fb::FBIOPAN_DISPLAY),
        ("FBIO_WAITFORVSYNC", fb::FBIO_WAITFORVSYNC),
        ("FB_ACTIVATE_NOW", fb::FB_ACTIVATE_NOW),
        ("FB_ACTIVATE_TEST", fb::FB_ACTIVATE_TEST),
        ("KDSETMODE", fb::KDSETMODE),
        ("KD_TEXT", fb::KD_TEXT),
        ("KD_GRAPHICS", fb::KD_GRAPHICS),
    ] {
        rust.push(format!("value {name} 0x{:x}", u64::from(value)));
        c.push_str(&format!(
            "P(\"value {name} 0x%llx\\n\", (unsigned long long)({name}));\n"
        ));
    }
    (rust, c)
}

/// Builds `body` as the main of a C program including `includes`, runs it and returns its lines.
fn run_c(name: &str, includes: &str, body: &str, extra: &[&str]) -> Vec<String> {
    let dir = std::env::temp_dir().join(format!("bochsfb-uapi-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let source = dir.join("layout.c");
    let program = dir.join("layout");
    std::fs::write(
        &source,
        format!("#include <stddef.h>\n#include <stdio.h>\n{includes}\n#define P printf\nint main(void) {{\n{body}return 0;\n}}\n"),
    )
    .unwrap();
    let built = Command::new("cc")
        .args(["-std=c11", "-Wall", "-Werror", "-I"])
        .arg(repo().join("include/uapi"))
        .args(extra)
        .arg(&source)
        .arg("-o")
        .arg(&program)
        .output()
        .expect("a C compiler (Debian package gcc) is needed");
    assert!(
        built.status.success(),
        "cc {extra:?} failed:\n{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let out = Command::new(&program).output().unwrap();
    assert!(out.status.success());
    std::fs::remove_dir_all(&dir).unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn assert_same(what: &str, c: &[String], rust: &[String]) {
    let differ: Vec<String> = c
        .iter()
        .zip(rust)
        .filter(|(c, r)| c != r)
        .map(|(c, r)| format!("C `{c}`, Rust `{r}`"))
        .collect();
    assert!(
        differ.is_empty() && c.len() == rust.len(),
        "{what}: {} lines against {}; {differ:#?}",
        c.len(),
        rust.len()
    );
}

#[test]
fn the_c_header_matches_the_rust_abi_on_the_host() {
    let (rust, c) = bochsfb_lines();
    assert_same(
        "bochsfb.h (host)",
        &run_c("host", "#include \"bochsfb.h\"", &c, &[]),
        &rust,
    );
}

/// The structs have no padding and fixed-size fields, so a 32-bit process sees the same layout.
#[test]
fn the_c_header_has_the_same_layout_with_m32() {
    let (rust, c) = bochsfb_lines();
    assert_same(
        "bochsfb.h (-m32)",
        &run_c("m32", "#include \"bochsfb.h\"", &c, &["-m32", "-static"]),
        &rust,
    );
}

#[test]
fn the_fbdev_structs_match_linux_fb_h() {
    let (rust, c) = fb_lines();
    let includes = "#include <linux/ioctl.h>\n#include <linux/fb.h>\n#include <linux/kd.h>";
    assert_same("linux/fb.h", &run_c("fb", includes, &c, &[]), &rust);
}
