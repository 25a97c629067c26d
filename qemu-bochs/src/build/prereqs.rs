//! Installs what the guest kernel build needs: Debian packages, rust-src, clippy, bindgen.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::build::install_policy::{self, Host};
use crate::paths;
use crate::steps::{output_of, run_logged};

/// Debian packages for the kernel build, the guest programs and QEMU.
/// (`patch` applies the kernel patches; `fonts-dejavu-core` gives the
/// benchmark charts their font; `libc6-dev` gives the static libc the
/// `+crt-static` guest programs link against; `gcc-multilib` builds the
/// 32-bit guest programs that test the compat ioctls; `vncsnapshot` is the
/// VNC client the live-view test takes its screenshot with.)
pub(crate) const DEBIAN_PACKAGES: &[&str] = &[
    "flex",
    "bison",
    "bc",
    "libelf-dev",
    "libssl-dev",
    "cpio",
    "qemu-system-x86",
    "busybox-static",
    "libclang-19-dev",
    "xz-utils",
    "zstd",
    "make",
    "gcc",
    "libc6-dev",
    "gcc-multilib",
    "patch",
    "fonts-dejavu-core",
    "vncsnapshot",
];

/// Linux 7.3 refuses older bindgen versions.
pub(crate) const MIN_BINDGEN: (u32, u32, u32) = (0, 71, 1);
/// The bindgen-cli release installed when none (or a too old one) is found: pinned, so every
/// machine generates the same bindings (and the kernel cache key, which includes
/// `bindgen --version`, stays the same).
pub(crate) const BINDGEN_CLI_VERSION: &str = "0.73.2";

/// Checks every prerequisite and installs what is missing.
pub fn ensure() -> Result<()> {
    ensure_system()?;
    ensure_bindgen()?;
    eprintln!("prereqs: ok");
    Ok(())
}

/// The Debian packages, rust-src and clippy; [`ensure_bindgen`], which needs none of them
/// (cargo and the C linker that built this harness are enough), can run beside it.
pub(crate) fn ensure_system() -> Result<()> {
    ensure_default_debian_packages()?;
    ensure_rust_src()?;
    ensure_clippy()
}

fn ensure_default_debian_packages() -> Result<()> {
    ensure_debian_packages(DEBIAN_PACKAGES)
}

/// Installs those of `packages` that are missing (as root), or says how; never removes or
/// downgrades anything (`install_policy.rs`).
pub fn ensure_debian_packages(packages: &[&str]) -> Result<()> {
    let host = Host::from_env();
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| !host.installed(p))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("prereqs: missing Debian packages: {}", missing.join(" "));
    let mut installs = install_policy::plan(&host, &missing)?;
    let checked = match install_policy::check(&host, &installs) {
        // A fresh container often has no package lists yet; a refusal stands.
        Err(e) if is_root() && e.downcast_ref::<install_policy::Refused>().is_none() => {
            eprintln!("prereqs: {e:#}; running apt-get update and trying again");
            if !Command::new("apt-get").arg("update").status()?.success() {
                bail!("`apt-get update` failed");
            }
            installs = install_policy::plan(&host, &missing)?;
            install_policy::check(&host, &installs)?
        }
        checked => checked?,
    };
    if !is_root() {
        eprintln!("prereqs: missing Debian packages; run:");
        eprint!("{}", install_policy::describe(&host, &installs, &checked));
        bail!("missing Debian packages: {}", missing.join(" "));
    }
    install_policy::run(&host, &installs)
}

/// What [`ensure`] would install, without installing anything: the apt commands, each
/// simulated (`apt-get -s`), and the packages each would bring.
pub fn dry_run() -> Result<String> {
    let host = Host::from_env();
    let mut packages: Vec<&str> = DEBIAN_PACKAGES.to_vec();
    packages.retain(|p| !host.installed(p));
    if packages.is_empty() {
        return Ok("every Debian package is installed\n".to_string());
    }
    let installs = install_policy::plan(&host, &packages)?;
    let actions = install_policy::check(&host, &installs)?;
    Ok(install_policy::describe(&host, &installs, &actions))
}

/// Whether this process runs as root.
pub(crate) fn is_root() -> bool {
    // Avoids a libc dependency: the effective uid is the second field of `Uid:`.
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1))
            == Some("0")
    })
}

fn ensure_rust_src() -> Result<()> {
    let sysroot = output_of(
        Command::new("rustc")
            .args(["--print", "sysroot"])
            .env("PATH", paths::tool_path()),
    )
    .context("rustc not found: install Rust with rustup (https://rustup.rs)")?;
    let library = Path::new(sysroot.trim()).join("lib/rustlib/src/rust/library");
    if library.is_dir() {
        return Ok(());
    }
    eprintln!("prereqs: installing rust-src (rustup component add rust-src)");
    let ok = Command::new("rustup")
        .args(["component", "add", "rust-src"])
        .env("PATH", paths::tool_path())
        .status()
        .context("rustup not found: the kernel needs rust-src; install it with rustup")?
        .success();
    if !ok {
        bail!("`rustup component add rust-src` failed");
    }
    Ok(())
}

/// The module is built with `CLIPPY=1` (see `module::build`), which runs `clippy-driver`.
fn ensure_clippy() -> Result<()> {
    ensure_component("clippy-driver", "clippy")
}

/// What the style phase (`crate::style`) runs besides cargo: clippy, and rustfmt (`cargo fmt`
/// and the module's own check).
pub(crate) fn ensure_style_tools() -> Result<()> {
    ensure_clippy()?;
    ensure_component("rustfmt", "rustfmt")
}

/// Installs the rustup `component` that provides `tool` if `tool --version` fails: a rustup
/// proxy of that name exists even without the component, so it has to be asked.
fn ensure_component(tool: &str, component: &str) -> Result<()> {
    let found = Command::new(tool)
        .arg("--version")
        .env("PATH", paths::tool_path())
        .output()
        .is_ok_and(|out| out.status.success());
    if found {
        return Ok(());
    }
    eprintln!("prereqs: installing {component} (rustup component add {component})");
    let ok = Command::new("rustup")
        .args(["component", "add", component])
        .env("PATH", paths::tool_path())
        .status()
        .with_context(|| format!("rustup not found: {tool} is missing; install it with rustup"))?
        .success();
    if !ok {
        bail!("`rustup component add {component}` failed");
    }
    Ok(())
}

/// bindgen-cli [`BINDGEN_CLI_VERSION`] unless a bindgen of at least [`MIN_BINDGEN`] is found;
/// `cargo install`'s output goes to `target/bochsfb/bindgen-install.log`.
pub(crate) fn ensure_bindgen() -> Result<()> {
    let found = output_of(
        Command::new("bindgen")
            .arg("--version")
            .env("PATH", paths::tool_path()),
    )
    .ok()
    .and_then(|v| parse_bindgen_version(&v));
    if found.is_some_and(|v| v >= MIN_BINDGEN) {
        return Ok(());
    }
    let (a, b, c) = MIN_BINDGEN;
    match found {
        Some((x, y, z)) => eprintln!("prereqs: bindgen {x}.{y}.{z} is older than {a}.{b}.{c}"),
        None => eprintln!("prereqs: bindgen not found"),
    }
    let install = format!("cargo install bindgen-cli --version {BINDGEN_CLI_VERSION} --locked");
    let log = paths::harness_dir().join("bindgen-install.log");
    std::fs::create_dir_all(paths::harness_dir())?;
    run_logged(
        &format!("prereqs: {install} (~2 min)"),
        Command::new("cargo")
            .args([
                "install",
                "bindgen-cli",
                "--version",
                BINDGEN_CLI_VERSION,
                "--locked",
            ])
            .env("PATH", paths::tool_path()),
        &log,
        30,
    )
    .with_context(|| format!("`{install}` failed"))
}

/// Parses `bindgen 0.73.2` into `(0, 73, 2)`.
pub(crate) fn parse_bindgen_version(output: &str) -> Option<(u32, u32, u32)> {
    let version = output.split_whitespace().nth(1)?;
    let mut numbers = version.split('.').map(|n| n.parse::<u32>().ok());
    Some((
        numbers.next()??,
        numbers.next()??,
        numbers.next().flatten().unwrap_or(0),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bindgen_versions() {
        assert_eq!(parse_bindgen_version("bindgen 0.73.2\n"), Some((0, 73, 2)));
        assert_eq!(parse_bindgen_version("bindgen 0.60.1"), Some((0, 60, 1)));
        assert_eq!(parse_bindgen_version("garbage"), None);
        assert!(parse_bindgen_version("bindgen 0.71.1").unwrap() >= MIN_BINDGEN);
        assert!(parse_bindgen_version("bindgen 0.71.0").unwrap() < MIN_BINDGEN);
        let pinned = parse_bindgen_version(&format!("bindgen {BINDGEN_CLI_VERSION}")).unwrap();
        assert!(
            pinned >= MIN_BINDGEN,
            "the pinned bindgen-cli is too old for the kernel"
        );
    }
}
