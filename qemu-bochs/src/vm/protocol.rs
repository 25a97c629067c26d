//! The serial-console protocol between the harness and the guest's `/init`
//! (see docs/architecture.md), the kernel command line, and kernel reports.

use anyhow::{bail, Result};

use crate::Driver;

/// Every marker the guest prints starts with this.
pub(crate) const MARKER: &str = "@@bochsfb:";

/// A protocol line printed by the guest.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum GuestEvent<'a> {
    Ready,
    InsmodFailed(i32),
    /// The command finished. `before` is output printed on the same line
    /// before the marker (a command whose output did not end in a newline).
    Status {
        status: i32,
        before: &'a str,
    },
    /// A program asks for a screenshot and waits for an empty line.
    Screendump {
        name: &'a str,
        before: &'a str,
    },
}

/// Parses one console line (without line terminator); `None` for ordinary output.
pub(crate) fn parse_guest_line(line: &str) -> Option<GuestEvent<'_>> {
    // The marker is the last thing on its line, so search from the right.
    let at = line.rfind(MARKER)?;
    let (before, marker) = (&line[..at], &line[at + MARKER.len()..]);
    let word = leading(marker, |c| c.is_ascii_lowercase() || c == '-');
    let arg = marker[word.len()..].strip_prefix(' ').unwrap_or("");
    // The kernel writes to the same console and may glue a message onto the end of a marker
    // line ("@@bochsfb:status 0[    1.88] WARNING: ..."), so each argument is only its leading
    // token; the kernel text still reaches the log and the report scan.
    let number = || {
        leading(arg, |c| c.is_ascii_digit() || c == '-')
            .parse()
            .ok()
    };
    match word {
        "ready" => Some(GuestEvent::Ready),
        "insmod-failed" => Some(GuestEvent::InsmodFailed(number()?)),
        "status" => Some(GuestEvent::Status {
            status: number()?,
            before,
        }),
        // Names are checked by the caller, which must still answer the guest.
        "screendump" => {
            // Up to a kernel timestamp's `[`; bad names still reach the caller to be refused.
            let name = leading(arg, |c| !c.is_whitespace() && c != '[');
            (!name.is_empty()).then_some(GuestEvent::Screendump { name, before })
        }
        _ => None,
    }
}

/// The longest prefix of `text` whose characters all satisfy `keep`.
fn leading(text: &str, keep: impl Fn(char) -> bool) -> &str {
    let end = text.find(|c| !keep(c)).unwrap_or(text.len());
    &text[..end]
}

/// Screenshot names become file names on the host: no paths, no surprises.
pub(crate) fn is_valid_screenshot_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

/// A module parameter given as `name=value` (e.g. on the CLI's `--param`).
pub fn parse_module_param(s: &str) -> Result<(String, String)> {
    let Some((name, value)) = s.split_once('=') else {
        bail!("module parameter `{s}` is not NAME=VALUE");
    };
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        bail!("module parameter name `{name}` must be letters, digits and `_`");
    }
    if value.is_empty() || value.contains(char::is_whitespace) || value.contains('"') {
        bail!("module parameter `{name}` needs a value without spaces or quotes");
    }
    Ok((name.to_string(), value.to_string()))
}

/// The guest kernel command line. `/init` loads the driver named by
/// `qemu_bochs.driver=` (bochsfb when absent) and turns `bochsfb.NAME=VALUE`
/// back into `insmod` arguments; `extra` words are for the kernel itself
/// (e.g. `video=1024x768` for the C driver's mode).
///
/// `tsc=unstable` keeps the guest's clock on jiffies in every boot. The guest kernels have no
/// HPET or ACPI PM timer to calibrate the TSC against, so under TCG the kernel usually gives up
/// on it and uses jiffies; but when the host is busy while it calibrates against the PIT it
/// can settle on a rate several times too low (148 MHz was seen for a TSC that runs at the
/// host's), and then every time the guest measures runs that many times too fast: a boot's
/// latency probes, timeouts and benchmark figures all wrong by that factor.
pub(crate) fn kernel_cmdline(
    driver: Driver,
    module_params: &[(String, String)],
    extra: &[String],
) -> String {
    let mut cmdline = String::from("console=ttyS0 panic=-1 tsc=unstable");
    if driver != Driver::Bochsfb {
        cmdline.push_str(&format!(" qemu_bochs.driver={}", driver.name()));
    }
    for (name, value) in module_params {
        cmdline.push_str(&format!(" bochsfb.{name}={value}"));
    }
    for word in extra {
        cmdline.push(' ');
        cmdline.push_str(word);
    }
    cmdline
}

/// The guest shell command line for `qemu-bochs run -- ARGS`: one argument is a command line
/// as it is (pipes, `&&`, quotes and all); several are single-quoted one by one, so each reaches
/// the guest program as the one argument it was on the host.
pub fn shell_command(args: &[String]) -> String {
    if let [line] = args {
        return line.clone();
    }
    args.iter()
        .map(|a| shell_quote(a))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `word` as one POSIX shell word: unchanged if it holds only safe characters, else in single
/// quotes (a `'` inside becomes `'\''`).
fn shell_quote(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// Texts that mark a kernel bug report, warning or crash in the kernel log.
/// The debug kernel (`--kernel debug`) adds KASAN, lockdep, DEBUG_VM, UBSAN
/// and Rust reports; their first lines are here too.
pub(crate) const KERNEL_REPORT_PATTERNS: &[&str] = &[
    // BUG: KASAN: ..., BUG: sleeping function called from invalid context,
    // BUG: Bad page state, BUG: scheduling while atomic, BUG: KFENCE: ...
    "BUG:",
    "kernel BUG at",
    // WARN_ON, and lockdep's "WARNING: possible circular locking dependency
    // detected", "... recursive locking ...", "inconsistent lock state".
    "WARNING:",
    "Oops",
    "Kernel panic",
    "general protection fault",
    "Call Trace:",
    "UBSAN",
    "KASAN",
    "refcount_t:",
    "list_add corruption",
    "list_del corruption",
    // An inode kept past its filesystem's unmount (generic_shutdown_super).
    "Busy inodes after unmount",
    // lockdep reports that are not WARNINGs.
    "INFO: possible",
    "INFO: trying to register non-static key",
    "DEBUG_LOCKS_WARN_ON",
    // DEBUG_VM: VM_BUG_ON_PAGE / VM_WARN_ON_FOLIO dump the page first.
    "page dumped because:",
    // A panic in Rust code (`panicked at`, then BUG).
    "panicked at",
    // RCU stalls ("rcu: INFO: rcu_sched detected stalls on CPUs/tasks"), hung tasks
    // ("INFO: task insmod:42 blocked for more than 120 seconds"), lockups.
    "detected stall",
    "blocked for more than",
    "soft lockup",
    "hard LOCKUP",
];

/// Whether a serial-log line is part of a kernel report: one of [`KERNEL_REPORT_PATTERNS`], or
/// a KUnit case or suite that failed (a KTAP `not ok` line printed by the kernel; `# SKIP` is a
/// skip, not a failure).
pub(crate) fn is_kernel_report(line: &str) -> bool {
    KERNEL_REPORT_PATTERNS.iter().any(|p| line.contains(p)) || is_kunit_failure(line)
}

fn is_kunit_failure(line: &str) -> bool {
    ktap_result(line).is_some_and(|result| !result.ok)
}

/// A KTAP result line that KUnit printed through the kernel log.
#[derive(Debug, PartialEq, Eq)]
pub struct KtapResult<'a> {
    /// A test case (indented under its suite) rather than a suite.
    pub is_case: bool,
    /// Passed or skipped (`# SKIP`).
    pub ok: bool,
    pub name: &'a str,
}

/// Parses `[  1.70]     ok 1 name` or `[  1.70] not ok 3 suite # SKIP why`; only lines the
/// kernel printed (with a printk timestamp) count, so programs' output cannot fake results.
pub fn ktap_result(line: &str) -> Option<KtapResult<'_>> {
    let (_, text) = line.strip_prefix('[')?.split_once("] ")?;
    let is_case = text.starts_with("    ");
    let text = text.trim_start();
    let (passed, rest) = match text.strip_prefix("not ok ") {
        Some(rest) => (false, rest),
        None => (true, text.strip_prefix("ok ")?),
    };
    let (number, rest) = rest.split_once(' ')?;
    number.parse::<u32>().ok()?;
    let (name, directive) = rest.split_once(" # ").unwrap_or((rest, ""));
    let skipped = directive.trim_start().starts_with("SKIP");
    Some(KtapResult {
        is_case,
        ok: passed || skipped,
        name: name.trim(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_arguments_keep_their_quoting() {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            shell_command(&words(&["bochsfb-check badinput | tail -1"])),
            "bochsfb-check badinput | tail -1"
        );
        assert_eq!(
            shell_command(&words(&["bochsfb-check", "fuzz", "--seed", "42"])),
            "bochsfb-check fuzz --seed 42"
        );
        assert_eq!(
            shell_command(&words(&["echo", "a  b", "it's", ""])),
            "echo 'a  b' 'it'\\''s' ''"
        );
        // What a POSIX shell makes of it: the words as they were.
        let out = std::process::Command::new("sh")
            .args([
                "-c",
                &format!(
                    "printf '[%s]' {}",
                    shell_command(&words(&["a  b", "it's", "$HOME", "", "x;y"]))
                ),
            ])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            "[a  b][it's][$HOME][][x;y]"
        );
    }

    #[test]
    fn parses_markers() {
        assert_eq!(parse_guest_line("@@bochsfb:ready"), Some(GuestEvent::Ready));
        assert_eq!(
            parse_guest_line("@@bochsfb:insmod-failed 1"),
            Some(GuestEvent::InsmodFailed(1))
        );
        assert_eq!(
            parse_guest_line("@@bochsfb:status 0"),
            Some(GuestEvent::Status {
                status: 0,
                before: ""
            })
        );
        assert_eq!(
            parse_guest_line("no newline@@bochsfb:status 137"),
            Some(GuestEvent::Status {
                status: 137,
                before: "no newline"
            })
        );
        assert_eq!(
            parse_guest_line("@@bochsfb:screendump testcard"),
            Some(GuestEvent::Screendump {
                name: "testcard",
                before: ""
            })
        );
        assert_eq!(
            parse_guest_line("@@bochsfb:screendump ../x"),
            Some(GuestEvent::Screendump {
                name: "../x",
                before: ""
            })
        );
    }

    #[test]
    fn kernel_text_glued_to_a_marker_is_not_part_of_it() {
        let glued = "[    1.880069] WARNING: CPU: 0 PID: 1 at fake.c:1 injected";
        assert_eq!(
            parse_guest_line(&format!("@@bochsfb:status 0{glued}")),
            Some(GuestEvent::Status {
                status: 0,
                before: ""
            })
        );
        assert_eq!(
            parse_guest_line(&format!("@@bochsfb:ready{glued}")),
            Some(GuestEvent::Ready)
        );
        assert_eq!(
            parse_guest_line(&format!("@@bochsfb:screendump tc{glued}")),
            Some(GuestEvent::Screendump {
                name: "tc",
                before: ""
            })
        );
    }

    #[test]
    fn ignores_ordinary_and_malformed_lines() {
        assert_eq!(parse_guest_line("[    1.234] bochsfb: probed"), None);
        assert_eq!(parse_guest_line("@@bochsfb:status"), None);
        assert_eq!(parse_guest_line("@@bochsfb:status x"), None);
        assert_eq!(parse_guest_line("@@bochsfb:readyish"), None);
        assert_eq!(parse_guest_line("@@bochsfb:screendump"), None);
    }

    #[test]
    fn checks_screenshot_names() {
        assert!(is_valid_screenshot_name("testcard-1.mmap"));
        assert!(!is_valid_screenshot_name("a/b"));
        assert!(!is_valid_screenshot_name(".hidden"));
        assert!(!is_valid_screenshot_name("sp ace"));
    }

    #[test]
    fn module_params_round_trip_to_cmdline() {
        let params = vec![
            parse_module_param("vram_limit=4096").unwrap(),
            parse_module_param("mode=640x480").unwrap(),
        ];
        assert_eq!(
            kernel_cmdline(Driver::Bochsfb, &params, &[]),
            "console=ttyS0 panic=-1 tsc=unstable bochsfb.vram_limit=4096 bochsfb.mode=640x480"
        );
        assert_eq!(
            kernel_cmdline(Driver::Bochsfb, &[], &[]),
            "console=ttyS0 panic=-1 tsc=unstable"
        );
        assert_eq!(
            kernel_cmdline(Driver::BochsDrm, &[], &["video=640x480".into()]),
            "console=ttyS0 panic=-1 tsc=unstable qemu_bochs.driver=bochs-drm video=640x480"
        );
        for bad in ["novalue", "=1", "a b=1", "x=", "x=a b", "x=\"q\""] {
            assert!(parse_module_param(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn spots_debug_kernel_reports() {
        // First lines of real reports from KASAN, lockdep, DEBUG_ATOMIC_SLEEP,
        // UBSAN, DEBUG_VM, DEBUG_OBJECTS and a Rust panic.
        for report in [
            "[   12.5] BUG: KASAN: slab-use-after-free in bochsfb_release+0x42/0x80 [bochsfb]",
            "[    3.1] WARNING: possible circular locking dependency detected",
            "[    3.1] WARNING: possible recursive locking detected",
            "[    3.2] INFO: possible irq lock inversion dependency detected",
            "[    3.3] BUG: sleeping function called from invalid context at mm/slub.c:4123",
            "[    3.4] UBSAN: array-index-out-of-bounds in drivers/x.c:10:5",
            "[    3.5] page dumped because: VM_BUG_ON_PAGE(PageTail(page))",
            "[    3.6] rust_kernel: panicked at kmod/chardev.rs:100:5:",
            "[    3.8] kernel BUG at mm/memory.c:1234!",
        ] {
            assert!(is_kernel_report(report), "{report} not recognised");
        }
        // What a healthy debug kernel prints at boot.
        for normal in [
            "[    0.0] kasan: KernelAddressSanitizer initialized",
            "[    0.1] Lock dependency validator: Copyright (c) 2006 Red Hat, Inc., Ingo Molnar",
            "[    0.1] ... MAX_LOCKDEP_SUBCLASSES:  8",
        ] {
            assert!(!is_kernel_report(normal), "{normal}");
        }
    }

    #[test]
    fn spots_kernel_reports() {
        let log = [
            "[    0.5] Run /init as init process",
            "[    2.1] WARNING: CPU: 0 PID: 42 at drivers/bochsfb.rs:10 probe+0x1/0x2",
            "[    2.1] Call Trace:",
            "[    2.2] BUG: kernel NULL pointer dereference, address: 0000000000000000",
            "[    2.3] refcount_t: underflow; use-after-free.",
            "@@bochsfb:status 0",
        ];
        let reports: Vec<_> = log.iter().filter(|l| is_kernel_report(l)).collect();
        assert_eq!(reports.len(), 4);
        assert!(!is_kernel_report("bochsfb: 1024x768 mode set"));
    }

    #[test]
    fn spots_stalls_hangs_and_failed_kunit_cases() {
        for report in [
            "[   30.1] rcu: INFO: rcu_sched detected stalls on CPUs/tasks:",
            "[  130.0] INFO: task bochsfb-check:77 blocked for more than 120 seconds.",
            "[   40.0] watchdog: BUG: soft lockup - CPU#0 stuck for 26s! [insmod:61]",
            "[    1.69]     not ok 1 virtual_height_0_asks_for_every_row_vram_holds",
            "[    1.70] not ok 3 bochsfb_mode",
        ] {
            assert!(is_kernel_report(report), "{report} not recognised");
        }
        for normal in [
            "[    1.69]     ok 1 virtual_height_0_asks_for_every_row_vram_holds",
            "[    1.69]     not ok 2 needs_vram # SKIP only 4 MiB",
            "[    1.71] # bochsfb_mode: pass:8 fail:0 skip:0 total:8",
            "not ok 1 printed by a program, not the kernel",
            "[    1.0] ok then",
        ] {
            assert!(!is_kernel_report(normal), "{normal}");
        }
        assert_eq!(
            ktap_result("[    1.70] not ok 3 bochsfb_mode"),
            Some(KtapResult {
                is_case: false,
                ok: false,
                name: "bochsfb_mode"
            })
        );
        assert_eq!(ktap_result("[    1.0] ok then"), None);
    }
}
