//! `qemu-bochs fuzz`: runs the guest's coverage-guided fuzzer (`bochsfb-check kfuzz`) in one
//! boot, keeps its corpus in the cache for the next run, and reports what it found.
//!
//! The corpus reaches the guest in a second cpio archive appended to the initramfs (the kernel
//! unpacks concatenated archives in order), as `/kfuzz/corpus/*.txt`; it comes back on the
//! console, each program between `@@kfuzz:corpus-begin CHECKSUM` and `@@kfuzz:corpus-end`.
//!
//! A finding that wedges the card (a kernel report with the card's mutex held, a panic) cannot
//! be minimised in the boot that found it: the harness takes the last program the guest printed
//! (`@@kfuzz:program-begin` ... or the `candidate` that was running), boots again, and has the
//! guest minimise it there (`kfuzz --minimize FILE --kind KIND`), one boot per step that wedges.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use flate2::{write::GzEncoder, Compression};

use crate::build::cpio::CpioWriter;
use crate::cache::{self, write_atomically};
use crate::steps::output_of;
use crate::{Artifacts, RunOutput, Vm, VmConfig};

/// What to run.
#[derive(Debug, Clone)]
pub struct FuzzOptions {
    /// Fuzzing time in the guest.
    pub seconds: u64,
    pub seed: u64,
    /// Where the corpus is kept between runs (read at the start, extended at the end); `None`
    /// starts from the seed corpus alone and keeps nothing (what CI does, to be reproducible).
    pub corpus_dir: Option<PathBuf>,
    /// More `bochsfb-check kfuzz` arguments (`--ignore KIND`, `--no-seeds`, `--latency-ms N`).
    pub guest_args: Vec<String>,
    /// Fuzz the DRM face (`bochsfb.ko face=1`, `/dev/dri/card0`) instead of `/dev/bochsfb0`.
    pub drm_face: bool,
    /// Boots the harness may spend minimising a finding that wedges the card.
    pub minimize_boots: u32,
    /// Seconds the guest may spend minimising in one boot.
    pub minimize_seconds: u64,
    pub vm: VmConfig,
    /// Where the reproducer and the logs go.
    pub out_dir: PathBuf,
}

/// What a run found.
#[derive(Debug, Clone, Default)]
pub struct Finding {
    /// `kernel-report`, `stuck`, `latency`, `read-only`, `shadow-leak`, `read-implies-exec`, `crash`.
    pub kind: String,
    /// The `kfuzz: FINDING ...` line.
    pub summary: String,
    /// The program that found it, as kfuzz printed it.
    pub program: String,
    /// The minimised program (a `--replay` file), if minimisation finished.
    pub reproducer: Option<String>,
    /// The reproducer as C.
    pub c: Option<String>,
    /// Kernel report lines the boot's serial log holds.
    pub kernel_report: Vec<String>,
    /// Boots spent minimising after the one that found it.
    pub minimize_boots: u32,
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct FuzzReport {
    /// The guest's last progress line or summary.
    pub summary: String,
    pub finding: Option<Finding>,
    /// Corpus programs the guest sent back, and how many were new to the cache.
    pub corpus_returned: usize,
    pub corpus_new: usize,
    /// `__sanitizer_cov_trace_pc` call sites in bochsfb.ko.
    pub pc_sites: Option<PcSites>,
    /// The serial logs of every boot.
    pub logs: Vec<PathBuf>,
}

/// The corpus kept between runs: `<cache>/fuzz-corpus` (`fuzz-corpus-drm` for the DRM face,
/// whose programs are another vocabulary).
pub fn default_corpus_dir(drm_face: bool) -> Result<PathBuf> {
    Ok(cache::cache_root()?.join(if drm_face {
        "fuzz-corpus-drm"
    } else {
        "fuzz-corpus"
    }))
}

/// The `__sanitizer_cov_trace_pc` call sites of bochsfb.ko: the PCs KCOV can report for it. The
/// kernel's Rust KCOV flags ask SanitizerCoverage for its edge level (`scripts/Makefile.kcov`:
/// `-sanitizer-coverage-level=3`), which splits critical edges and instruments blocks, so each
/// site stands for one edge of the module's control flow graph (less those its pruning
/// proves redundant).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PcSites {
    /// Every site.
    pub all: u64,
    /// Sites in the KUnit suites (functions under a `mod tests`), which run when the module
    /// loads, before any process can call it: no program can reach them.
    pub kunit: u64,
}

impl PcSites {
    /// The sites a program can reach: every one outside the KUnit suites.
    pub fn reachable(&self) -> u64 {
        self.all - self.kunit
    }
}

/// Counts the sites in `module` from its disassembly with relocations (`objdump -dr`): one
/// relocation against `__sanitizer_cov_trace_pc` per site, under the function it lies in.
pub fn trace_pc_sites(module: &Path) -> Option<PcSites> {
    let text = output_of(Command::new("objdump").arg("-dr").arg(module)).ok()?;
    count_sites(&text)
}

fn count_sites(disassembly: &str) -> Option<PcSites> {
    let mut sites = PcSites { all: 0, kunit: 0 };
    let mut in_tests = false;
    for line in disassembly.lines() {
        // A function starts with `<address> <symbol>:`.
        if let Some((_, symbol)) = line.strip_suffix(">:").and_then(|l| l.split_once(" <")) {
            in_tests = in_test_module(symbol);
        } else if line.contains("R_X86_64") && line.contains("__sanitizer_cov_trace_pc") {
            sites.all += 1;
            sites.kunit += u64::from(in_tests);
        }
    }
    (sites.all > 0).then_some(sites)
}

/// Whether a Rust (v0-mangled) symbol lies under a module named `tests`: an identifier is its
/// length and its text, so the path holds `5tests` not preceded by another digit.
fn in_test_module(symbol: &str) -> bool {
    symbol.starts_with("_R")
        && symbol
            .match_indices("5tests")
            .any(|(at, _)| !symbol[..at].ends_with(|c: char| c.is_ascii_digit()))
}

/// FNV-1a, 64 bits, as the guest checksums corpus entries.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// A console line the kernel printed (`[   12.345678] ...`), not the guest program.
fn is_kernel_line(line: &str) -> bool {
    line.strip_prefix('[')
        .and_then(|rest| rest.split_once(']'))
        .is_some_and(|(stamp, _)| {
            stamp
                .trim()
                .replace('.', "")
                .chars()
                .all(|c| c.is_ascii_digit())
        })
}

/// The text between `@@kfuzz:<what>-begin` and `@@kfuzz:<what>-end` lines, each block once, in
/// order, kernel lines left out; with whatever followed `-begin ` on its line.
pub fn blocks(lines: &[String], what: &str) -> Vec<(String, String)> {
    let begin = format!("@@kfuzz:{what}-begin");
    let end = format!("@@kfuzz:{what}-end");
    let mut out = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in lines {
        if let Some(rest) = line.strip_prefix(&begin) {
            current = Some((rest.trim().to_string(), String::new()));
        } else if line.starts_with(&end) {
            if let Some(block) = current.take() {
                out.push(block);
            }
        } else if let Some((_, text)) = current.as_mut() {
            if !is_kernel_line(line) {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    out
}

/// The guest's `/kfuzz/...` files as an extra initramfs appended to `base`, in `dir`.
fn initramfs_with(base: &Path, files: &[(String, String)], dir: &Path) -> Result<PathBuf> {
    let mut cpio = CpioWriter::new(GzEncoder::new(Vec::new(), Compression::default()));
    cpio.dir("kfuzz", 0o755)?;
    cpio.dir("kfuzz/corpus", 0o755)?;
    for (name, text) in files {
        cpio.file(&format!("kfuzz/{name}"), 0o644, text.as_bytes())?;
    }
    let overlay = cpio.finish()?.finish()?;
    let mut bytes =
        std::fs::read(base).with_context(|| format!("cannot read {}", base.display()))?;
    bytes.extend_from_slice(&overlay);
    std::fs::create_dir_all(dir)?;
    let path = dir.join("initramfs-kfuzz.cpio.gz");
    write_atomically(&path, bytes)?;
    Ok(path)
}

/// The corpus files in `dir` (name, text), sorted.
fn read_corpus(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.path().extension().is_some_and(|x| x == "txt"))
                .filter_map(|e| {
                    let text = std::fs::read_to_string(e.path()).ok()?;
                    Some((e.file_name().to_string_lossy().into_owned(), text))
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Keeps the corpus entries of `lines` whose checksum holds, as `<checksum>.txt` in `dir`;
/// returns (entries, new ones).
fn save_corpus(lines: &[String], dir: &Path) -> Result<(usize, usize)> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let (mut returned, mut new) = (0, 0);
    for (sum, text) in blocks(lines, "corpus") {
        if format!("{:016x}", fnv1a(text.as_bytes())) != sum {
            continue;
        }
        returned += 1;
        let path = dir.join(format!("{sum}.txt"));
        if !path.exists() {
            write_atomically(&path, format!("# kfuzz program\n{text}"))?;
            new += 1;
        }
    }
    Ok((returned, new))
}

/// One guest command's lines: its output if it finished, else what the console showed (a
/// wedged guest, a timeout, a panic).
fn command_lines(vm: &Vm, result: &Result<RunOutput>) -> Vec<String> {
    match result {
        Ok(out) => out.output.lines().map(str::to_string).collect(),
        Err(_) => vm.console_lines(),
    }
}

/// The finding `lines` show, if any: its kind, its line, its program and reproducer.
fn finding_in(lines: &[String]) -> Option<Finding> {
    let kind = lines
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix("@@kfuzz:finding "))
        .map(|k| k.split_whitespace().next().unwrap_or("").to_string())?;
    let summary = lines
        .iter()
        .rev()
        .find(|l| l.contains("FINDING"))
        .cloned()
        .unwrap_or_default();
    let last = |what| blocks(lines, what).pop().map(|(_, text)| text);
    Some(Finding {
        kind,
        summary,
        program: last("program").unwrap_or_default(),
        reproducer: last("reproducer"),
        c: last("c"),
        ..Finding::default()
    })
}

/// Whether the guest said the card is wedged, or never finished its command.
fn wedged(lines: &[String], result: &Result<RunOutput>) -> bool {
    result.is_err() || lines.iter().any(|l| l.starts_with("@@kfuzz:wedged"))
}

/// What one boot's command left.
struct Boot {
    /// The command's lines (or, if it did not finish, the console's).
    lines: Vec<String>,
    result: Result<RunOutput>,
    /// Kernel report lines on the console.
    reports: Vec<String>,
    /// The shutdown, which reads the whole `dmesg` and fails on any report in it.
    shutdown: Result<()>,
}

/// Boots once with `files` under `/kfuzz/`, runs `command`, powers off.
fn boot_and_run(
    artifacts: &Artifacts,
    options: &FuzzOptions,
    files: &[(String, String)],
    command: &str,
    timeout: Duration,
    logs: &mut Vec<PathBuf>,
) -> Result<Boot> {
    let run_dir = options.out_dir.join("run");
    let artifacts = Artifacts {
        initramfs: initramfs_with(&artifacts.initramfs, files, &run_dir)?,
        ..artifacts.clone()
    };
    let log = options.out_dir.join(format!("vm-{}.log", logs.len()));
    logs.push(log.clone());
    let mut config = VmConfig {
        log_path: Some(log),
        ..options.vm.clone()
    };
    if options.drm_face {
        config
            .module_params
            .push(("face".to_string(), "1".to_string()));
    }
    let vm = Vm::boot(&artifacts, &config)?;
    let result = vm.run_with(command, timeout, |line| {
        if line.starts_with("kfuzz:") {
            eprintln!("guest| {line}");
        }
    });
    let lines = command_lines(&vm, &result);
    let reports = vm.kernel_reports();
    let shutdown = vm.shutdown();
    Ok(Boot {
        lines,
        result,
        reports,
        shutdown,
    })
}

/// Runs the fuzzer in one boot and, if a finding wedged the card, minimises it across boots.
pub fn run(artifacts: &Artifacts, options: &FuzzOptions) -> Result<FuzzReport> {
    let start = Instant::now();
    std::fs::create_dir_all(&options.out_dir)?;
    let mut report = FuzzReport {
        pc_sites: trace_pc_sites(&artifacts.module),
        ..FuzzReport::default()
    };
    let corpus = options
        .corpus_dir
        .as_deref()
        .map(read_corpus)
        .unwrap_or_default();
    eprintln!(
        "fuzz: {} s from seed {}; {} corpus programs from {}; bochsfb.ko has {} trace_pc call sites",
        options.seconds,
        options.seed,
        corpus.len(),
        options.corpus_dir.as_deref().map_or("nowhere (seeds only)".into(), |d| d.display().to_string()),
        report.pc_sites.map_or("unknown".into(), |n| format!(
            "{} (edges; {} of them outside the KUnit suites, which only module load runs)",
            n.all,
            n.reachable()
        ))
    );
    let files: Vec<(String, String)> = corpus
        .iter()
        .map(|(name, text)| (format!("corpus/{name}"), text.clone()))
        .collect();
    let mut command = format!(
        "bochsfb-check kfuzz --seconds {} --seed {} --print-corpus --corpus /kfuzz/corpus --minimize-seconds {}",
        options.seconds, options.seed, options.minimize_seconds
    );
    if let Some(n) = report.pc_sites {
        command.push_str(&format!(" --pc-sites {}", n.reachable()));
    }
    if options.drm_face {
        command.push_str(" --face drm");
    }
    for arg in &options.guest_args {
        command.push(' ');
        command.push_str(arg);
    }
    let timeout = Duration::from_secs(options.seconds + options.minimize_seconds + 600);
    let Boot {
        lines,
        result,
        reports,
        shutdown,
    } = boot_and_run(
        artifacts,
        options,
        &files,
        &command,
        timeout,
        &mut report.logs,
    )?;
    report.summary = lines
        .iter()
        .rev()
        .find(|l| {
            l.starts_with("kfuzz: summary") || l.starts_with("kfuzz: ") && l.contains(" execs ")
        })
        .cloned()
        .unwrap_or_default();
    if let Some(dir) = &options.corpus_dir {
        (report.corpus_returned, report.corpus_new) = save_corpus(&lines, dir)?;
    }
    let mut finding = finding_in(&lines);
    if let (None, Ok(_), Err(e)) = (&finding, &result, &shutdown) {
        // Reports in the whole dmesg that the guest's scan did not stop at.
        finding = Some(Finding {
            kind: "kernel-report".into(),
            summary: format!("{e:#}")
                .lines()
                .take(12)
                .collect::<Vec<_>>()
                .join("\n"),
            ..Finding::default()
        });
    }
    if finding.is_none() && (result.is_err() || !reports.is_empty()) {
        // The guest died or hung before it could say: the last program it printed did it.
        let program = ["candidate", "program"]
            .iter()
            .find_map(|what| blocks(&lines, what).pop())
            .map(|(_, text)| text)
            .unwrap_or_default();
        finding = Some(Finding {
            kind: if reports.is_empty() {
                "stuck"
            } else {
                "kernel-report"
            }
            .into(),
            summary: match &result {
                Err(e) => format!(
                    "the guest did not finish: {}",
                    e.to_string().lines().next().unwrap_or("")
                ),
                Ok(out) => format!(
                    "kfuzz exited with {} and the kernel reported problems",
                    out.status
                ),
            },
            program,
            ..Finding::default()
        });
    }
    if let Some(mut f) = finding {
        f.kernel_report = reports;
        if f.reproducer.is_none() && wedged(&lines, &result) && !f.program.trim().is_empty() {
            minimize_across_boots(artifacts, options, &mut f, &mut report.logs)?;
        }
        write_finding(&options.out_dir, &f)?;
        report.finding = Some(f);
    } else if let Err(e) = result {
        return Err(e.context("kfuzz did not finish"));
    }
    eprintln!("fuzz: done in {:.0} s", start.elapsed().as_secs_f64());
    Ok(report)
}

/// Boots again and again, each time having the guest minimise the program; a step that wedges
/// the card leaves the candidate it was running, the next boot starts from it.
fn minimize_across_boots(
    artifacts: &Artifacts,
    options: &FuzzOptions,
    finding: &mut Finding,
    logs: &mut Vec<PathBuf>,
) -> Result<()> {
    let mut current = finding.program.clone();
    for boot in 1..=options.minimize_boots {
        eprintln!(
            "fuzz: minimising across boots ({boot}/{}), from {} calls",
            options.minimize_boots,
            program_calls(&current)
        );
        finding.minimize_boots = boot;
        let command = format!(
            "bochsfb-check kfuzz --minimize /kfuzz/min.txt --kind {} --minimize-seconds {}{}",
            finding.kind,
            options.minimize_seconds,
            if options.drm_face { " --face drm" } else { "" }
        );
        let files = [("min.txt".to_string(), current.clone())];
        let timeout = Duration::from_secs(options.minimize_seconds + 600);
        let Boot { lines, result, .. } =
            boot_and_run(artifacts, options, &files, &command, timeout, logs)?;
        if let Some(found) = finding_in(&lines).filter(|f| f.reproducer.is_some()) {
            // The guest only knows the kind; the header says what the first boot saw.
            finding.reproducer = found.reproducer.map(|r| {
                format!(
                    "# first seen: {}\n{r}",
                    finding.summary.trim_start_matches("kfuzz: FINDING ")
                )
            });
            finding.c = found.c;
            return Ok(());
        }
        if !wedged(&lines, &result) {
            eprintln!("fuzz: the program did not reproduce in a fresh boot; keeping it whole");
            break;
        }
        match blocks(&lines, "candidate").pop() {
            Some((_, candidate)) if candidate != current => current = candidate,
            _ => {
                eprintln!(
                    "fuzz: no smaller candidate wedged the card; keeping {} calls",
                    program_calls(&current)
                );
                break;
            }
        }
    }
    finding.reproducer = Some(format!(
        "# found: {} (minimised across boots, maybe not minimal)\n# kfuzz program\n{current}",
        finding.kind
    ));
    Ok(())
}

fn program_calls(text: &str) -> usize {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .count()
}

/// `finding.txt`, `reproducer.txt`, `reproducer.c` in `dir`.
fn write_finding(dir: &Path, f: &Finding) -> Result<()> {
    let mut text = format!("{}\n\nprogram:\n{}\n", f.summary, f.program);
    if !f.kernel_report.is_empty() {
        text.push_str(&format!(
            "kernel report:\n  {}\n",
            f.kernel_report.join("\n  ")
        ));
    }
    write_atomically(&dir.join("finding.txt"), text)?;
    if let Some(r) = &f.reproducer {
        write_atomically(&dir.join("reproducer.txt"), r)?;
    }
    if let Some(c) = &f.c {
        write_atomically(&dir.join("reproducer.c"), c)?;
    }
    Ok(())
}

/// A line for people: what was found, and where the reproducer is.
pub fn describe(f: &Finding, out_dir: &Path) -> String {
    let mut text = format!(
        "{}\n",
        f.summary
            .trim_start_matches("kfuzz: ")
            .trim_start_matches("FINDING ")
    );
    if !f.kernel_report.is_empty() {
        text.push_str(&format!(
            "kernel report:\n  {}\n",
            f.kernel_report
                .iter()
                .take(12)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n  ")
        ));
    }
    match &f.reproducer {
        Some(r) => text.push_str(&format!(
            "reproducer ({}; run in the guest with `bochsfb-check kfuzz --replay FILE`):\n{r}",
            out_dir.join("reproducer.txt").display()
        )),
        None => text.push_str(&format!("program (not minimised):\n{}", f.program)),
    }
    if f.minimize_boots > 0 {
        text.push_str(&format!(
            "(minimised over {} more boots)\n",
            f.minimize_boots
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_string).collect()
    }

    #[test]
    fn blocks_skip_kernel_lines_and_unfinished_blocks() {
        let out = lines(
            "@@kfuzz:program-begin\nopen f0 node=dev flags=rdwr\n[   12.5] bochsfb: hello\ntouch m0 at=0x0 len=0x1 op=w\n\
             @@kfuzz:program-end\n@@kfuzz:candidate-begin\nopen f0 node=dev flags=rdwr\n@@kfuzz:candidate-end\n\
             @@kfuzz:candidate-begin\nwait\n",
        );
        assert_eq!(
            blocks(&out, "program"),
            vec![(
                String::new(),
                "open f0 node=dev flags=rdwr\ntouch m0 at=0x0 len=0x1 op=w\n".to_string()
            )]
        );
        assert_eq!(blocks(&out, "candidate").len(), 1);
    }

    #[test]
    fn corpus_entries_need_their_checksum() {
        let good = "open f0 node=dev flags=rdwr\n";
        let sum = format!("{:016x}", fnv1a(good.as_bytes()));
        let out = lines(&format!(
            "@@kfuzz:corpus-begin {sum}\n{good}@@kfuzz:corpus-end\n@@kfuzz:corpus-begin {sum}\nopen f0 n[ 1.0] WARNING\n@@kfuzz:corpus-end\n"
        ));
        let dir = std::env::temp_dir().join(format!("kfuzz-corpus-{}", std::process::id()));
        assert_eq!(save_corpus(&out, &dir).unwrap(), (1, 1));
        assert_eq!(save_corpus(&out, &dir).unwrap(), (1, 0));
        assert_eq!(read_corpus(&dir).len(), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn findings_come_with_their_reproducer() {
        let out = lines(
            "kfuzz: FINDING read-only: setmode on a file opened O_RDONLY returned 0x0; expected EBADF\n\
             @@kfuzz:finding read-only\n@@kfuzz:program-begin\nopen f0 node=dev flags=rdonly\n@@kfuzz:program-end\n\
             @@kfuzz:reproducer-begin\n# found: read-only\nopen f0 node=dev flags=rdonly\n@@kfuzz:reproducer-end\n",
        );
        let f = finding_in(&out).unwrap();
        assert_eq!(f.kind, "read-only");
        assert!(f.summary.contains("EBADF"));
        assert!(f.reproducer.unwrap().contains("flags=rdonly"));
        assert!(finding_in(&lines("kfuzz: summary: ...\n")).is_none());
    }

    #[test]
    fn the_guest_stops_at_every_report_the_harness_fails_on() {
        let guest = include_str!("../../tests/guest/src/kfuzz/watch.rs");
        for pattern in crate::vm::protocol::KERNEL_REPORT_PATTERNS {
            assert!(
                guest.contains(&format!("{pattern:?},")),
                "kfuzz's REPORT_PATTERNS lacks {pattern:?}"
            );
        }
    }

    #[test]
    fn sites_in_kunit_suites_are_counted_apart() {
        let disassembly = "\
0000000000000000 <_RNvMs0_NtCs1_7bochsfb4cardNtB5_4Card5flush>:
   4:\te8 00 00 00 00       \tcall   9 <_RNvMs0_NtCs1_7bochsfb4cardNtB5_4Card5flush+0x9>
\t\t\t5: R_X86_64_PLT32\t__sanitizer_cov_trace_pc-0x4
  10:\te8 00 00 00 00       \tcall   15 <_RNvMs0_NtCs1_7bochsfb4cardNtB5_4Card5flush+0x15>
\t\t\t11: R_X86_64_PLT32\t__sanitizer_cov_trace_pc-0x4

0000000000000020 <_RNvNtNtCs1_7bochsfb4mode5tests70kunit_rust_wrapper_damage>:
  24:\te8 00 00 00 00       \tcall   29 <_RNvNtNtCs1_7bochsfb4mode5tests70kunit_rust_wrapper_damage+0x9>
\t\t\t25: R_X86_64_PLT32\t__sanitizer_cov_trace_pc-0x4

0000000000000040 <_RNvNtCs1_7bochsfb4mode25tests_are_not_this_module>:
  44:\te8 00 00 00 00       \tcall   49 <_RNvNtCs1_7bochsfb4mode25tests_are_not_this_module+0x9>
\t\t\t45: R_X86_64_PLT32\t__sanitizer_cov_trace_pc-0x4
";
        let sites = count_sites(disassembly).unwrap();
        assert_eq!(sites, PcSites { all: 4, kunit: 1 });
        assert_eq!(sites.reachable(), 3);
        assert_eq!(count_sites("no code\n"), None);
    }

    #[test]
    fn the_guest_checksum_is_the_same() {
        // tests/guest/src/kfuzz.rs computes the same FNV-1a; this pins its value.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
