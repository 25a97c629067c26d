//! Packs the guest's root filesystem: busybox, `/init`, the module and the
//! guest programs, as a gzip-compressed newc cpio.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use flate2::{write::GzEncoder, Compression};

use crate::cpio::CpioWriter;
use crate::peer_modules::{self, KernelModule};
use crate::steps::output_of;

/// The guest's `/init` (a busybox sh script).
pub const INIT_SCRIPT: &str = include_str!("../guest/init.sh");
/// Debian's `busybox-static` installs a static busybox here.
pub const HOST_BUSYBOX: &str = "/bin/busybox";

/// What goes into the initramfs besides `/init`.
pub struct Contents<'a> {
    pub busybox: &'a Path,
    pub module: &'a Path,
    /// `(name, host path)`: installed as `/bin/<name>`.
    pub programs: &'a [(String, PathBuf)],
    /// `uname -r` of the guest kernel: where modprobe looks.
    pub kernel_release: &'a str,
    /// The C driver and its dependencies (see [`crate::peer_modules`]),
    /// installed under `/lib/modules/<release>/` with a `modules.dep`.
    pub peer_modules: &'a [(KernelModule, PathBuf)],
}

/// Writes the initramfs to `out`.
pub fn write(out: &Path, contents: &Contents) -> Result<()> {
    let read = |p: &Path| std::fs::read(p).with_context(|| format!("cannot read {}", p.display()));
    // Every applet gets a symlink, so guest commands can use dmesg, dd, hexdump, ...
    let applets = output_of(Command::new(contents.busybox).arg("--list"))
        .with_context(|| format!("{} --list failed", contents.busybox.display()))?;

    let file =
        std::fs::File::create(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut cpio = CpioWriter::new(GzEncoder::new(
        std::io::BufWriter::new(file),
        Compression::default(),
    ));
    for dir in ["bin", "dev", "proc", "sys", "tmp", "lib", "lib/modules"] {
        cpio.dir(dir, 0o755)?;
    }
    // The kernel opens /dev/console for init's stdin/stdout before /dev is mounted.
    cpio.char_device("dev/console", 0o600, 5, 1)?;
    cpio.file("init", 0o755, INIT_SCRIPT.as_bytes())?;
    cpio.file("bin/busybox", 0o755, &read(contents.busybox)?)?;
    let programs: Vec<&str> = contents
        .programs
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    for applet in applets.lines().map(str::trim) {
        if !applet.is_empty() && applet != "busybox" && !programs.contains(&applet) {
            cpio.symlink(&format!("bin/{applet}"), "busybox")?;
        }
    }
    cpio.file("lib/modules/bochsfb.ko", 0o644, &read(contents.module)?)?;
    for (name, path) in contents.programs {
        cpio.file(&format!("bin/{name}"), 0o755, &read(path)?)?;
    }
    let release_dir = format!("lib/modules/{}", contents.kernel_release);
    cpio.dir(&release_dir, 0o755)?;
    let mut dirs = vec![release_dir.clone()];
    for (module, host_path) in contents.peer_modules {
        let guest_path = format!("{release_dir}/{}", peer_modules::guest_path(module));
        // The kernel's unpacker needs every parent directory first.
        let mut parent = Path::new(&guest_path).parent();
        let mut missing = Vec::new();
        while let Some(dir) = parent.filter(|d| !dirs.iter().any(|known| Path::new(known) == *d)) {
            missing.push(dir.to_string_lossy().into_owned());
            parent = dir.parent();
        }
        for dir in missing.into_iter().rev() {
            cpio.dir(&dir, 0o755)?;
            dirs.push(dir);
        }
        cpio.file(&guest_path, 0o644, &read(host_path)?)?;
    }
    let modules: Vec<KernelModule> = contents
        .peer_modules
        .iter()
        .map(|(m, _)| m.clone())
        .collect();
    cpio.file(
        &format!("{release_dir}/modules.dep"),
        0o644,
        peer_modules::modules_dep(&modules).as_bytes(),
    )?;
    let gz = cpio.finish()?;
    let mut writer = gz.finish()?;
    std::io::Write::flush(&mut writer)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_script_speaks_the_protocol() {
        assert!(INIT_SCRIPT.starts_with("#!/bin/sh\n"));
        for needle in [
            "@@bochsfb:ready",
            "@@bochsfb:insmod-failed",
            "@@bochsfb:status $?",
            "reboot -f",
        ] {
            assert!(INIT_SCRIPT.contains(needle), "init.sh lacks {needle}");
        }
    }

    #[test]
    fn init_script_turns_cmdline_words_into_module_args() {
        let sh = Path::new("/bin/sh");
        if !sh.exists() {
            return;
        }
        // Run just the cmdline parsing part of init.sh on a sample command line.
        let start = INIT_SCRIPT.find("params=").unwrap();
        let end = INIT_SCRIPT.find("set +f").unwrap() + "set +f".len();
        let snippet = INIT_SCRIPT[start..end].replace(
            "< /proc/cmdline",
            "<<'EOF'\nconsole=ttyS0 bochsfb.vram_limit=4096 panic=-1 bochsfb.name=x=y *\nEOF",
        );
        let script = format!("{snippet}\necho \"[$params] $driver\"");
        let out = output_of(Command::new(sh).args(["-c", &script])).unwrap();
        assert_eq!(out.trim(), "[ vram_limit=4096 name=x=y] bochsfb");
        let drm = script.replace("panic=-1", "qemu_bochs.driver=bochs-drm");
        let out = output_of(Command::new(sh).args(["-c", &drm])).unwrap();
        assert!(out.trim().ends_with("] bochs-drm"), "{out}");
    }
}
