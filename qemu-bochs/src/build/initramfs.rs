//! Packs the guest's root filesystem: busybox, `/init`, the module and the
//! guest programs, as a gzip-compressed newc cpio.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use flate2::{write::GzEncoder, Compression};

use crate::build::cpio::CpioWriter;
use crate::build::debian_tools::GuestEntry;
use crate::build::peer_modules::{self, KernelModule};
use crate::cache;
use crate::steps::output_of;

/// The guest's `/init` (a busybox sh script).
pub const INIT_SCRIPT: &str = include_str!("../../guest/init.sh");
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
    /// The C driver and its dependencies (see [`crate::build::peer_modules`]),
    /// installed under `/lib/modules/<release>/` with a `modules.dep`.
    pub peer_modules: &'a [(KernelModule, PathBuf)],
    /// Files from Debian packages (see [`crate::build::debian_tools`]) at their own
    /// paths; one at `bin/<name>` replaces busybox's applet of that name.
    pub debian_files: &'a [GuestEntry],
}

/// Writes the initramfs to `out` (whole or not at all: a booting guest never reads half of it).
pub fn write(out: &Path, contents: &Contents) -> Result<()> {
    let read = |p: &Path| std::fs::read(p).with_context(|| format!("cannot read {}", p.display()));
    // Every applet gets a symlink, so guest commands can use dmesg, dd, hexdump, ...
    let applets = output_of(Command::new(contents.busybox).arg("--list"))
        .with_context(|| format!("{} --list failed", contents.busybox.display()))?;

    let mut cpio = CpioWriter::new(GzEncoder::new(Vec::new(), Compression::default()));
    let mut dirs = Dirs::default();
    for dir in ["bin", "dev", "proc", "sys", "tmp", "lib", "lib/modules"] {
        dirs.create(&mut cpio, dir)?;
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
        let replaced = contents
            .debian_files
            .iter()
            .any(|e| e.path().strip_prefix("bin/") == Some(applet));
        if !applet.is_empty() && applet != "busybox" && !programs.contains(&applet) && !replaced {
            cpio.symlink(&format!("bin/{applet}"), "busybox")?;
        }
    }
    cpio.file("lib/modules/bochsfb.ko", 0o644, &read(contents.module)?)?;
    for (name, path) in contents.programs {
        cpio.file(&format!("bin/{name}"), 0o755, &read(path)?)?;
    }
    for entry in contents.debian_files {
        dirs.create_parents(&mut cpio, entry.path())?;
        match entry {
            GuestEntry::File { path, host, mode } => cpio.file(path, *mode, &read(host)?)?,
            GuestEntry::Symlink { path, target } => cpio.symlink(path, target)?,
        }
    }
    let release_dir = format!("lib/modules/{}", contents.kernel_release);
    dirs.create(&mut cpio, &release_dir)?;
    for (module, host_path) in contents.peer_modules {
        let guest_path = format!("{release_dir}/{}", peer_modules::guest_path(module));
        dirs.create_parents(&mut cpio, &guest_path)?;
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
    cache::write_atomically(out, gz.finish()?)
}

/// Directories written so far: each goes into the archive once, parents first
/// (the kernel's unpacker needs every parent directory before its entries).
#[derive(Default)]
struct Dirs(Vec<String>);

impl Dirs {
    fn create<W: std::io::Write>(&mut self, cpio: &mut CpioWriter<W>, dir: &str) -> Result<()> {
        self.create_parents(cpio, &format!("{dir}/x"))
    }

    /// Every missing directory above `path`.
    fn create_parents<W: std::io::Write>(
        &mut self,
        cpio: &mut CpioWriter<W>,
        path: &str,
    ) -> Result<()> {
        let mut missing = Vec::new();
        for dir in Path::new(path).ancestors().skip(1) {
            let dir = dir.to_string_lossy();
            if dir.is_empty() || self.0.iter().any(|known| *known == dir) {
                break;
            }
            missing.push(dir.into_owned());
        }
        for dir in missing.into_iter().rev() {
            cpio.dir(&dir, 0o755)?;
            self.0.push(dir);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_are_written_once_parents_first() {
        let mut cpio = CpioWriter::new(Vec::new());
        let mut dirs = Dirs::default();
        dirs.create(&mut cpio, "lib").unwrap();
        dirs.create_parents(&mut cpio, "lib/x86_64-linux-gnu/libc.so.6")
            .unwrap();
        dirs.create_parents(&mut cpio, "lib64/ld-linux-x86-64.so.2")
            .unwrap();
        dirs.create_parents(&mut cpio, "usr/lib/x86_64-linux-gnu/libx.so")
            .unwrap();
        dirs.create_parents(&mut cpio, "lib/x86_64-linux-gnu/libm.so.6")
            .unwrap();
        dirs.create_parents(&mut cpio, "init").unwrap();
        assert_eq!(
            dirs.0,
            [
                "lib",
                "lib/x86_64-linux-gnu",
                "lib64",
                "usr",
                "usr/lib",
                "usr/lib/x86_64-linux-gnu"
            ]
        );
    }

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
