//! In-tree modules the guest can `modprobe`, taken from the guest kernel's build
//! directory: the kernel's own C driver for the card, `bochs.ko`, and the DRM
//! modules it needs (the peer that the benchmark compares bochsfb with), and
//! LKDTM, which the report-scan tests load to provoke real kernel reports. They
//! go into the initramfs with a `modules.dep`, so the guest's busybox
//! `modprobe bochs` loads them in order.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// The peer driver, relative to the kernel build directory.
pub const PEER_MODULE: &str = "drivers/gpu/drm/tiny/bochs.ko";
/// LKDTM (`CONFIG_LKDTM=m`): loaded only by the tests that provoke a WARN, KASAN, ... report.
pub const LKDTM_MODULE: &str = "drivers/misc/lkdtm/lkdtm.ko";
/// Every module the guest gets, with its dependencies.
pub const GUEST_MODULES: &[&str] = &[PEER_MODULE, LKDTM_MODULE];

/// One loadable module of the guest kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelModule {
    /// As `modprobe` and `depends=` name it (`-` read as `_`).
    pub name: String,
    /// Relative to the kernel build directory, e.g. `drivers/gpu/drm/drm.ko`.
    pub path: String,
    /// Names of the modules it needs loaded first.
    pub depends: Vec<String>,
}

/// `module` and everything it depends on, dependencies first.
pub fn with_dependencies(build_dir: &Path, module: &str) -> Result<Vec<KernelModule>> {
    let order = build_dir.join("modules.order");
    let order = std::fs::read_to_string(&order)
        .with_context(|| format!("cannot read {}", order.display()))?;
    let paths: HashMap<String, String> = order
        .lines()
        .filter_map(|line| line.trim().strip_suffix(".o"))
        .map(|stem| (module_name(stem), format!("{stem}.ko")))
        .collect();
    let root = module_name(module.trim_end_matches(".ko"));
    let mut loaded = Vec::new();
    visit(build_dir, &paths, &root, &mut Vec::new(), &mut loaded)?;
    Ok(loaded)
}

/// Depth first: a module goes after all that it depends on.
fn visit(
    build_dir: &Path,
    paths: &HashMap<String, String>,
    name: &str,
    visiting: &mut Vec<String>,
    loaded: &mut Vec<KernelModule>,
) -> Result<()> {
    if loaded.iter().any(|m| m.name == name) {
        return Ok(());
    }
    if visiting.iter().any(|v| v == name) {
        bail!("modules depend on each other in a cycle: {visiting:?} -> {name}");
    }
    let Some(path) = paths.get(name) else {
        bail!(
            "module {name} is not in {}/modules.order (is it built as a module?)",
            build_dir.display()
        );
    };
    let file = build_dir.join(path);
    let bytes = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
    let depends = depends_of(&bytes)
        .with_context(|| format!("{} has no depends= in its .modinfo", file.display()))?;
    visiting.push(name.to_string());
    for dependency in &depends {
        visit(build_dir, paths, dependency, visiting, loaded)?;
    }
    visiting.pop();
    loaded.push(KernelModule {
        name: name.to_string(),
        path: path.clone(),
        depends,
    });
    Ok(())
}

/// Module names treat `-` and `_` alike; the kernel writes `_`.
fn module_name(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    file.replace('-', "_")
}

/// The `depends=a,b` string of a module's `.modinfo` section (what
/// `modinfo -F depends` prints), found as a NUL-delimited string in the file.
pub fn depends_of(module: &[u8]) -> Option<Vec<String>> {
    const KEY: &[u8] = b"\0depends=";
    let at = module.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let end = module[at..].iter().position(|&b| b == 0)? + at;
    let value = std::str::from_utf8(&module[at..end]).ok()?;
    Some(
        value
            .split(',')
            .filter(|d| !d.is_empty())
            .map(module_name)
            .collect(),
    )
}

/// Where a module lives in the guest: under `/lib/modules/<release>/`.
pub fn guest_path(module: &KernelModule) -> String {
    format!("kernel/{}", module.path)
}

/// `modules.dep` for `modules` (dependencies first, as [`with_dependencies`]
/// returns them): each module, then all it needs, nearest first, the way
/// depmod writes it (modprobe loads the list from its end).
pub fn modules_dep(modules: &[KernelModule]) -> String {
    let by_name: HashMap<&str, &KernelModule> =
        modules.iter().map(|m| (m.name.as_str(), m)).collect();
    let mut text = String::new();
    for module in modules {
        let mut needed: Vec<&str> = Vec::new();
        let mut stack: Vec<&str> = module.depends.iter().map(String::as_str).collect();
        while let Some(name) = stack.pop() {
            if !needed.contains(&name) {
                needed.push(name);
                stack.extend(by_name[name].depends.iter().map(String::as_str));
            }
        }
        // Load order is `modules` order; the file lists it backwards.
        let position = |name: &&str| modules.iter().position(|m| m.name == *name);
        needed.sort_by_key(|name| std::cmp::Reverse(position(name)));
        let needed: Vec<String> = needed.iter().map(|n| guest_path(by_name[n])).collect();
        text.push_str(&format!("{}:", guest_path(module)));
        for path in needed {
            text.push(' ');
            text.push_str(&path);
        }
        text.push('\n');
    }
    text
}

/// [`GUEST_MODULES`], their dependencies and their host paths, each once, in load order.
pub fn guest_modules(build_dir: &Path) -> Result<Vec<(KernelModule, PathBuf)>> {
    let mut modules: Vec<(KernelModule, PathBuf)> = Vec::new();
    for root in GUEST_MODULES {
        for module in with_dependencies(build_dir, root)? {
            if !modules.iter().any(|(m, _)| m.name == module.name) {
                let host = build_dir.join(&module.path);
                modules.push((module, host));
            }
        }
    }
    Ok(modules)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_build() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("peer-modules-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let modules = [
            ("drm/bochs", "drm_kms_helper,drm"),
            ("drm/drm_kms_helper", "drm"),
            ("drm/drm", "quirks,i2c-core"),
            ("drm/quirks", ""),
            ("i2c/i2c-core", ""),
        ];
        std::fs::create_dir_all(dir.join("drm")).unwrap();
        std::fs::create_dir_all(dir.join("i2c")).unwrap();
        let mut order = String::new();
        for (path, depends) in modules {
            order.push_str(&format!("{path}.o\n"));
            let modinfo = format!("\x7fELF..\0license=GPL\0depends={depends}\0name=x\0");
            std::fs::write(dir.join(format!("{path}.ko")), modinfo).unwrap();
        }
        std::fs::write(dir.join("modules.order"), order).unwrap();
        dir
    }

    #[test]
    fn dependencies_come_first_and_modules_dep_lists_them_depmod_style() {
        let dir = fake_build();
        let modules = with_dependencies(&dir, "drm/bochs.ko").unwrap();
        let names: Vec<_> = modules.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(
            names,
            ["quirks", "i2c_core", "drm", "drm_kms_helper", "bochs"]
        );
        let dep = modules_dep(&modules);
        assert!(dep.contains("kernel/i2c/i2c-core.ko:\n"), "{dep}");
        assert!(
            dep.contains(
                "kernel/drm/bochs.ko: kernel/drm/drm_kms_helper.ko kernel/drm/drm.ko \
                 kernel/i2c/i2c-core.ko kernel/drm/quirks.ko\n"
            ),
            "{dep}"
        );
        assert!(with_dependencies(&dir, "drm/missing.ko").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn reads_depends_from_modinfo() {
        assert_eq!(
            depends_of(b"xx\0depends=drm,i2c-core\0name=bochs\0"),
            Some(vec!["drm".to_string(), "i2c_core".to_string()])
        );
        assert_eq!(depends_of(b"\0depends=\0"), Some(vec![]));
        assert_eq!(depends_of(b"no modinfo"), None);
    }
}
