//! `--accel auto`: KVM where it boots the guest, TCG elsewhere. A short KVM boot decides,
//! once per host kernel and QEMU (the answer is cached): on some hosts `/dev/kvm` exists but
//! the guest hangs (a nested PVM hypervisor, see `shared/notes/platform.md`).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;

use super::{Accel, Vm, VmConfig};
use crate::build::artifacts::Artifacts;
use crate::{cache, paths};

/// How long the probe's guest may take to reach `/init`'s ready line under KVM (TCG needs
/// about 3 s here; KVM far less).
const PROBE_TIMEOUT: Duration = Duration::from_secs(20);

/// What [`resolve`] decided, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub accel: Accel,
    /// Why TCG, when it is TCG.
    pub reason: Option<String>,
}

/// The accelerator `requested` stands for here: itself unless it is [`Accel::Auto`]. The
/// first `auto` on a host boots a probe guest (up to 20 s) and prints one line if it falls
/// back to TCG; later ones read the cached answer.
pub fn resolve(requested: Accel, artifacts: &Artifacts) -> Result<Accel> {
    if requested != Accel::Auto {
        return Ok(requested);
    }
    let decision = decide(artifacts)?;
    if let Some(reason) = &decision.reason {
        eprintln!("accel: auto: TCG, because {reason}");
    }
    Ok(decision.accel)
}

fn decide(artifacts: &Artifacts) -> Result<Decision> {
    if let Err(e) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
    {
        return Ok(Decision {
            accel: Accel::Tcg,
            reason: Some(format!("/dev/kvm cannot be opened ({e})")),
        });
    }
    let cache = cache_file()?;
    if let Some(parent) = cache.parent() {
        std::fs::create_dir_all(parent)?;
    }
    // One probe at a time: tests and commands may start together.
    let mut lock = cache.clone().into_os_string();
    lock.push(".lock");
    let _lock = cache::CacheLock::acquire(lock.into())?;
    if let Ok(text) = std::fs::read_to_string(&cache) {
        if let Some(decision) = parse(&text) {
            return Ok(decision);
        }
    }
    eprintln!(
        "accel: auto: probing KVM with a guest boot (at most {} s, once per host kernel)",
        PROBE_TIMEOUT.as_secs()
    );
    let config = VmConfig {
        accel: Accel::Kvm,
        boot_timeout: PROBE_TIMEOUT,
        ..VmConfig::default()
    };
    let decision = match Vm::boot(artifacts, &config).and_then(Vm::shutdown) {
        Ok(()) => Decision {
            accel: Accel::Kvm,
            reason: None,
        },
        Err(e) => Decision {
            accel: Accel::Tcg,
            reason: Some(format!(
                "a KVM boot of the guest failed here: {}",
                first_line(&format!("{e:#}"))
            )),
        },
    };
    cache::write_atomically(&cache, render(&decision))?;
    Ok(decision)
}

/// `<cache>/accel/<host kernel>-<QEMU version>`.
fn cache_file() -> Result<PathBuf> {
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let qemu = crate::steps::output_of(std::process::Command::new(super::QEMU).arg("--version"))
        .unwrap_or_default();
    let key = cache::CacheKey::new()
        .part("host kernel", kernel.trim())
        .part("qemu", qemu.trim())
        .finish();
    Ok(cache::cache_root()?
        .join("accel")
        .join(format!("{}-{key}", paths::path_safe(kernel.trim()))))
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}

/// The cached form: `kvm`, or `tcg` and the reason on the next line.
fn render(decision: &Decision) -> String {
    match (&decision.accel, &decision.reason) {
        (Accel::Kvm, _) => "kvm\n".into(),
        (_, reason) => format!("tcg\n{}\n", reason.as_deref().unwrap_or("")),
    }
}

fn parse(text: &str) -> Option<Decision> {
    let mut lines = text.lines();
    match lines.next()? {
        "kvm" => Some(Decision {
            accel: Accel::Kvm,
            reason: None,
        }),
        "tcg" => Some(Decision {
            accel: Accel::Tcg,
            reason: Some(format!(
                "{} (cached)",
                lines.next().unwrap_or("the probe failed")
            )),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_survive_the_cache() {
        let kvm = Decision {
            accel: Accel::Kvm,
            reason: None,
        };
        assert_eq!(parse(&render(&kvm)), Some(kvm));
        let tcg = Decision {
            accel: Accel::Tcg,
            reason: Some("it hung".into()),
        };
        assert_eq!(
            parse(&render(&tcg)).unwrap().reason.as_deref(),
            Some("it hung (cached)")
        );
        assert_eq!(parse("garbage"), None);
    }

    #[test]
    fn a_concrete_accelerator_needs_no_probe() {
        let artifacts = Artifacts {
            bzimage: "/nonexistent".into(),
            initramfs: "/nonexistent".into(),
            module: "/nonexistent".into(),
            kernel_package_version: String::new(),
            kernel_release: String::new(),
            kernel_build_dir: "/nonexistent".into(),
            kernel_variant: Default::default(),
        };
        assert_eq!(resolve(Accel::Tcg, &artifacts).unwrap(), Accel::Tcg);
        assert_eq!(resolve(Accel::Kvm, &artifacts).unwrap(), Accel::Kvm);
    }
}
