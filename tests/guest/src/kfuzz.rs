//! `kfuzz`: a small coverage-guided fuzzer of the driver's whole user surface, driven by KCOV.
//!
//! Programs ([`program`]) are sequences of calls with typed arguments: opens of several nodes,
//! mmap in every region at boundary offsets, mremap, MAP_FIXED, munmap holes, mprotect, madvise,
//! touches of mapped bytes, every read and write variant, lseek, every ioctl, sysfs reads,
//! personality, fork, unbind and bind, and calls run by child processes at the same time. A
//! program that reaches new edges of bochsfb.ko (hashed pairs of consecutive KCOV PCs within a
//! call) joins the corpus; new programs are mutations of corpus programs ([`gen`]).
//!
//! Processes: the supervisor (this one) forks the latency probe ([`watch::probe`], invariant
//! c) and the worker, which fuzzes and checks the invariants after each call and program
//! ([`exec`]). The worker writes the program it runs and the call in flight to a shared page,
//! so a worker that gets stuck, killed by an oops, or wedges the card still leaves its program
//! to the supervisor, which prints it between markers, minimises it where the card still works
//! ([`minimize`]) and prints the reproducer (a program file for `--replay`, and C).
//!
//! Lines for the host (`qemu-bochs fuzz`): `@@kfuzz:<what>-begin` / `@@kfuzz:<what>-end` around
//! programs (`program`: the one that found something, `candidate`: a minimisation step about to
//! run, `reproducer`, `c`, `corpus`), `@@kfuzz:finding KIND`, `@@kfuzz:wedged`.

mod csnippet;
mod exec;
mod gen;
mod kcov;
mod minimize;
mod program;
mod touch;
mod watch;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering::SeqCst;
use std::time::{Duration, Instant};

use exec::{Env, Exec, Finding, SCRATCH_LEN};
pub use exec::{Face, Kind};
use kcov::{Coverage, Kcov};
use program::Program;
use watch::{now_ns, Kmsg, Shared};

use crate::raw::{try_wait, wait_timeout, Exit, Guarded};
use crate::rng::Rng;

/// Exit status of a worker or runner that made a finding.
const FOUND: i32 = 3;
/// Exit status of a worker that could not start.
const BROKEN: i32 = 4;

/// The seed corpus (`tests/guest/kfuzz-seeds/`): short generic programs, one per file.
const SEEDS: &[(&str, &str)] = &[
    (
        "map-each-region",
        include_str!("../kfuzz-seeds/map-each-region.txt"),
    ),
    (
        "grow-on-demand",
        include_str!("../kfuzz-seeds/grow-on-demand.txt"),
    ),
    (
        "shadow-flush",
        include_str!("../kfuzz-seeds/shadow-flush.txt"),
    ),
    (
        "modes-and-pan",
        include_str!("../kfuzz-seeds/modes-and-pan.txt"),
    ),
    ("read-write", include_str!("../kfuzz-seeds/read-write.txt")),
    ("fbdev", include_str!("../kfuzz-seeds/fbdev.txt")),
];

/// The DRM face's seed corpus (`tests/guest/kfuzz-seeds/drm-*.txt`): a dumb-buffer client's
/// calls, legacy and atomic, and a card unbound under a mapping.
const DRM_SEEDS: &[(&str, &str)] = &[
    (
        "drm-modeset",
        include_str!("../kfuzz-seeds/drm-modeset.txt"),
    ),
    ("drm-atomic", include_str!("../kfuzz-seeds/drm-atomic.txt")),
    ("drm-plane", include_str!("../kfuzz-seeds/drm-plane.txt")),
    (
        "drm-two-openers",
        include_str!("../kfuzz-seeds/drm-two-openers.txt"),
    ),
    ("drm-unbind", include_str!("../kfuzz-seeds/drm-unbind.txt")),
];

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub device: PathBuf,
    pub face: Face,
    pub seed: u64,
    /// Stop after this long...
    pub duration: Option<Duration>,
    /// ...or this many programs.
    pub execs: Option<u64>,
    /// Directories of program files to start from (besides the seeds).
    pub corpus: Vec<PathBuf>,
    /// Leave out the seed corpus.
    pub no_seeds: bool,
    /// Print the corpus at the end (for the host to keep).
    pub print_corpus: bool,
    /// A GET_MODE of the probe waiting longer than this is a finding (invariant c).
    pub latency: Duration,
    /// A call (or a child's calls) taking longer than this is stuck (invariant e).
    pub stuck: Duration,
    pub progress: Duration,
    /// `__sanitizer_cov_trace_pc` call sites in bochsfb.ko outside its KUnit suites, which no
    /// program can reach (the host counts them).
    pub pc_sites: Option<u64>,
    /// Time minimisation may take in this boot.
    pub minimize_time: Duration,
    /// Run this program file once and report what it finds.
    pub replay: Option<PathBuf>,
    /// Minimise this program file (which found something in an earlier boot).
    pub minimize: Option<PathBuf>,
    /// With `minimize`: the kind it found (skips replaying it first: it may wedge the card).
    pub kind: Option<String>,
    /// Findings of these kinds are counted and otherwise ignored (to look past a known bug).
    pub ignore: Vec<Kind>,
}

pub fn run(options: &Options) -> ExitCode {
    let shared = Shared::new();
    let env = match Env::new(&options.device, options.face, shared, options.stuck) {
        Ok(env) => env,
        Err(why) => {
            println!("kfuzz: cannot start: {why}");
            return ExitCode::from(BROKEN as u8);
        }
    };
    touch::install();
    shared
        .latency_bound
        .store(options.latency.as_nanos() as u64, SeqCst);
    shared.needs_reset.store(1, SeqCst);
    let crtc = env.drm.as_ref().map(|d| d.ids.crtc);
    let probe = spawn(|| watch::probe(shared, &env, crtc, options.latency));
    shared.probe_pid.store(probe, SeqCst);
    let result = if let Some(path) = &options.replay {
        replay(&env, options, path)
    } else if let Some(path) = &options.minimize {
        minimize_file(&env, options, path)
    } else {
        fuzz(&env, options)
    };
    shared.probe_stop.store(1, SeqCst);
    let _ = wait_timeout(probe, Duration::from_secs(2));
    result
}

/// `--ignore`'s parser: a finding kind by name.
pub fn parse_kind(name: &str) -> Result<Kind, String> {
    Kind::parse(name).ok_or_else(|| {
        let names: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
        format!("not a finding kind; one of {}", names.join(", "))
    })
}

/// Forks a process running `body`.
fn spawn(body: impl FnOnce() -> i32) -> libc::pid_t {
    // SAFETY: kfuzz is single-threaded; the child runs `body` and `_exit`s.
    match unsafe { libc::fork() } {
        0 => {
            let status = body();
            // SAFETY: ends the child without running the parent's destructors.
            unsafe { libc::_exit(status) }
        }
        -1 => panic!("fork: {}", std::io::Error::last_os_error()),
        pid => pid,
    }
}

/// How a watched process ended.
enum Ended {
    Exit(Exit),
    /// In one call past the stuck timeout; `killed` if SIGKILL got it out.
    Stuck {
        call: u32,
        seconds: u64,
        killed: bool,
    },
    /// The kernel reported a problem and the process made no progress after it.
    Report(Vec<String>),
}

/// Waits for `pid`, watching the kernel log and the call it is in.
fn supervise(
    pid: libc::pid_t,
    shared: &Shared,
    stuck: Duration,
    kmsg: &mut Kmsg,
    reports: &mut Vec<String>,
) -> Ended {
    let grace = Duration::from_secs(10).as_nanos() as u64;
    let mut report_at = 0;
    let mut programs_at_report = 0;
    loop {
        if let Ok(Some(exit)) = try_wait(pid) {
            reports.extend(kmsg.reports());
            return Ended::Exit(exit);
        }
        let new = kmsg.reports();
        if !new.is_empty() && report_at == 0 {
            report_at = now_ns();
            programs_at_report = shared.programs.load(SeqCst);
        }
        reports.extend(new);
        let now = now_ns();
        // The worker checks the log after each program: one that neither ends its program nor
        // exits after a report is stuck behind it.
        if report_at != 0
            && now - report_at > grace
            && shared.programs.load(SeqCst) == programs_at_report
        {
            return Ended::Report(reports.clone());
        }
        let started = shared.call_started.load(SeqCst);
        // The worker gives its children the stuck timeout itself: this is the backstop.
        if started != 0
            && now.saturating_sub(started) > (stuck + Duration::from_secs(5)).as_nanos() as u64
        {
            let call = shared.call_index.load(SeqCst);
            // SAFETY: kills our own child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            let killed = matches!(wait_timeout(pid, Duration::from_secs(5)), Ok(Some(_)));
            return Ended::Stuck {
                call,
                seconds: (now - started) / 1_000_000_000,
                killed,
            };
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The coverage-guided loop, in a worker process; the supervisor handles what it finds.
fn fuzz(env: &Env, options: &Options) -> ExitCode {
    let mut kmsg = match Kmsg::open() {
        Ok(k) => k,
        Err(e) => {
            println!("kfuzz: /dev/kmsg: {e}");
            return ExitCode::from(BROKEN as u8);
        }
    };
    println!(
        "kfuzz: seed {} (reproduce: bochsfb-check kfuzz --seed {}{})",
        options.seed,
        options.seed,
        match (options.duration, options.execs) {
            (_, Some(n)) => format!(" --execs {n}"),
            (Some(d), None) => format!(" --seconds {}", d.as_secs()),
            _ => String::new(),
        }
    );
    let started = Instant::now();
    let worker = spawn(|| worker(env, options));
    let mut reports = Vec::new();
    let ended = supervise(worker, env.shared, options.stuck, &mut kmsg, &mut reports);
    let after = started.elapsed();
    let finding = match ended {
        Ended::Exit(Exit::Code(0)) => return ExitCode::SUCCESS,
        Ended::Exit(Exit::Code(BROKEN)) => return ExitCode::from(BROKEN as u8),
        Ended::Exit(Exit::Code(FOUND)) => {
            Finding::parse(&env.shared.finding.get()).unwrap_or_else(|| {
                Finding::new(Kind::Crash, "the worker found something it could not say")
            })
        }
        Ended::Exit(other) => match reports.first() {
            Some(first) => Finding::new(
                Kind::KernelReport,
                format!("{first} (the worker ended with {other:?})"),
            ),
            None => Finding::new(Kind::Crash, format!("the worker ended with {other:?}")),
        },
        Ended::Stuck {
            call,
            seconds,
            killed,
        } => Finding::new(
            Kind::Stuck,
            format!(
                "call {call} still running after {seconds} s ({})",
                if killed { "killed" } else { "unkillable" }
            ),
        ),
        Ended::Report(lines) => Finding::new(
            Kind::KernelReport,
            lines.first().cloned().unwrap_or_default(),
        ),
    };
    let text = env.shared.program.get();
    let program: Program = match text.parse() {
        Ok(p) => p,
        Err(e) => {
            println!("kfuzz: FINDING {finding} in a program that does not parse ({e}):\n{text}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "kfuzz: found after {:.1} s, in program {} of this run",
        after.as_secs_f64(),
        env.shared.programs.load(SeqCst) + 1
    );
    handle_finding(env, options, &finding, &program, &reports, &mut kmsg, false)
}

/// Prints a finding and its program, minimises it if the card still works, prints the
/// reproducer.
fn handle_finding(
    env: &Env,
    options: &Options,
    finding: &Finding,
    program: &Program,
    reports: &[String],
    kmsg: &mut Kmsg,
    known_to_reproduce: bool,
) -> ExitCode {
    println!("kfuzz: FINDING {finding}");
    println!("@@kfuzz:finding {}", finding.kind.name());
    for line in reports.iter().take(40) {
        println!("kfuzz:   kernel| {line}");
    }
    print_block("program", &program.to_string());
    if !card_responds(env) {
        println!("kfuzz: the card no longer answers GET_MODE: it is wedged; minimising needs a reboot per step");
        println!("@@kfuzz:wedged");
        return ExitCode::FAILURE;
    }
    let mut runner = Runner {
        env,
        options,
        kmsg,
        kind: finding.kind,
        show: false,
    };
    let reproduced = known_to_reproduce || {
        println!("kfuzz: replaying it to see that it reproduces");
        matches!(runner.check(program), minimize::Verdict::Yes)
    };
    let minimal = if reproduced {
        let deadline = Instant::now() + options.minimize_time;
        let out = minimize::minimize(program, deadline, &mut |p| runner.check(p));
        if out.wedged {
            println!("@@kfuzz:wedged");
            return ExitCode::FAILURE;
        }
        println!(
            "kfuzz: minimised from {} to {} calls in {} runs{}",
            program.calls.len(),
            out.program.calls.len(),
            out.runs,
            if out.complete {
                ""
            } else {
                " (out of time: not minimal)"
            }
        );
        out.program
    } else {
        println!("kfuzz: it did not reproduce in this boot (one-shot report, or a race): the reproducer is the whole program");
        program.clone()
    };
    print_reproducer(&minimal, finding);
    ExitCode::FAILURE
}

fn print_block(what: &str, text: &str) {
    println!("@@kfuzz:{what}-begin");
    print!("{text}");
    if !text.ends_with('\n') {
        println!();
    }
    println!("@@kfuzz:{what}-end");
}

fn print_reproducer(program: &Program, finding: &Finding) {
    let text = format!("# found: {finding}\n{program}");
    let path = Path::new("/tmp/kfuzz-reproducer.txt");
    let _ = std::fs::write(path, &text);
    println!(
        "kfuzz: reproducer (also in {}; run it with `bochsfb-check kfuzz --replay FILE`):",
        path.display()
    );
    print_block("reproducer", &text);
    print_block("c", &csnippet::c_program(program, &finding.to_string()));
}

/// Whether the card answers GET_MODE within 5 s (a process that holds its mutex forever, or a
/// dead card, makes it wedged).
fn card_responds(env: &Env) -> bool {
    let device = env.node();
    let crtc = env.drm.as_ref().map(|d| d.ids.crtc);
    let pid = spawn(move || {
        let Ok(fd) = std::fs::File::open(&device) else {
            return 1;
        };
        let answer = match crtc {
            Some(crtc) => exec::probe_call(&fd, crtc),
            None => bochsfb_renderer::device::get_mode(&fd).map(drop),
        };
        match answer {
            Ok(()) => 0,
            Err(_) => 1,
        }
    });
    matches!(
        wait_timeout(pid, Duration::from_secs(5)),
        Ok(Some(Exit::Code(0)))
    )
}

/// The worker: seeds, then mutate, run, keep what reaches new edges, until the budget is spent.
fn worker(env: &Env, options: &Options) -> i32 {
    let kcov: Vec<Kcov> = if kcov::available() {
        (0..=program::CHILDREN)
            .filter_map(|_| Kcov::open().ok())
            .collect()
    } else {
        Vec::new()
    };
    if kcov.len() == usize::from(program::CHILDREN) + 1 {
        if let Err(e) = kcov[0].enable() {
            println!("kfuzz: KCOV_ENABLE: {e}");
            return BROKEN;
        }
        println!("kfuzz: KCOV on: coverage of bochsfb.ko guides the search");
    } else {
        println!(
            "kfuzz: no KCOV on this kernel ({}): programs are random, not guided",
            kcov::KCOV_PATH
        );
    }
    let kcov = if kcov.len() == usize::from(program::CHILDREN) + 1 {
        &kcov[..]
    } else {
        &[]
    };
    let Some(rig) = Rig::new(env, kcov) else {
        return BROKEN;
    };
    let mut fuzzer = Fuzzer {
        rig,
        cov: Coverage::default(),
        corpus: Vec::new(),
        weights: Vec::new(),
        execs: 0,
        last_run: Instant::now(),
        ignore: &options.ignore,
        ignored: 0,
        unconfirmed: 0,
        print_corpus: options.print_corpus,
        start: Instant::now(),
    };
    let start = fuzzer.start;
    let mut initial: Vec<(String, Program)> = Vec::new();
    if !options.no_seeds {
        let seeds = match options.face {
            Face::Misc => SEEDS,
            Face::Drm => DRM_SEEDS,
        };
        for (name, text) in seeds {
            match text.parse() {
                Ok(p) => initial.push((format!("seed {name}"), p)),
                Err(e) => println!("kfuzz: seed {name}: {e}"),
            }
        }
    }
    for dir in &options.corpus {
        initial.extend(read_corpus(dir));
    }
    let seeded = initial.len();
    for (name, program) in initial {
        match fuzzer.run(&program) {
            Ok(new) => {
                if new > 0 || kcov.is_empty() {
                    fuzzer.keep(program, new);
                }
            }
            Err(finding) => return fuzzer.found(&finding, &name),
        }
    }
    println!(
        "kfuzz: {} of {seeded} initial programs kept; {} edges, {} PCs",
        fuzzer.corpus.len(),
        fuzzer.cov.edges.len(),
        fuzzer.cov.pcs.len()
    );
    let mut rng = Rng::new(options.seed);
    let mut last_progress = Instant::now();
    loop {
        let done = options.execs.is_some_and(|n| fuzzer.execs >= n)
            || options.duration.is_some_and(|d| start.elapsed() >= d);
        if done {
            break;
        }
        let t = now_ns();
        let program = {
            let mut gen = gen::Gen {
                rng: &mut rng,
                face: options.face,
            };
            if fuzzer.corpus.is_empty() || gen.rng.chance(1, 10) {
                gen.program()
            } else {
                let i = fuzzer.pick(gen.rng);
                let j = gen.rng.index(fuzzer.corpus.len());
                gen.mutate(&fuzzer.corpus[i], Some(&fuzzer.corpus[j]))
            }
        };
        fuzzer.rig.times.add("(generate)", now_ns() - t);
        let t = now_ns();
        let result = fuzzer.run(&program);
        fuzzer.rig.times.add("(program)", now_ns() - t);
        match result {
            Ok(new) if new > 0 => fuzzer.keep(program, new),
            Ok(_) => {}
            Err(finding) => return fuzzer.found(&finding, &format!("program {}", fuzzer.execs)),
        }
        if last_progress.elapsed() >= options.progress {
            last_progress = Instant::now();
            println!(
                "kfuzz: {}",
                fuzzer.status(start.elapsed(), options.pc_sites)
            );
        }
    }
    if let Some(k) = kcov.first() {
        let _ = k.disable();
    }
    println!(
        "kfuzz: summary: seed {}, {}, findings: none",
        options.seed,
        fuzzer.status(start.elapsed(), options.pc_sites)
    );
    println!("kfuzz: time by call: {}", fuzzer.rig.times.top(12));
    if options.print_corpus {
        for program in &fuzzer.corpus {
            print_corpus_entry(program);
        }
    }
    0
}

/// A corpus program for the host: its lines between markers, with a checksum of them (kernel
/// messages on the console may land inside a line).
fn print_corpus_entry(program: &Program) {
    let lines = program.lines();
    println!("@@kfuzz:corpus-begin {:016x}", fnv1a(lines.as_bytes()));
    print!("{lines}");
    println!("@@kfuzz:corpus-end");
}

/// FNV-1a, 64 bits: the corpus entries' checksum (the host computes the same).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Program files in `dir` (`*.txt`), sorted by name; ones that do not parse are skipped.
fn read_corpus(dir: &Path) -> Vec<(String, Program)> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    names.sort();
    let mut out = Vec::new();
    for path in names
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
    {
        match std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|t| t.parse())
        {
            Ok(p) => out.push((path.display().to_string(), p)),
            Err(e) => println!("kfuzz: skipping {}: {e}", path.display()),
        }
    }
    out
}

/// The worker's state between programs.
struct Fuzzer<'a> {
    rig: Rig<'a>,
    cov: Coverage,
    corpus: Vec<Program>,
    /// Each corpus program's weight in the choice of what to mutate: more for those that
    /// reached more new edges when they joined.
    weights: Vec<u64>,
    execs: u64,
    /// When the last program started (for its weight).
    last_run: Instant,
    ignore: &'a [Kind],
    ignored: u64,
    /// Long waits of the probe that the program did not repeat.
    unconfirmed: u64,
    print_corpus: bool,
    start: Instant,
}

impl Fuzzer<'_> {
    /// Runs one program; the new edges it reached, or what it found.
    fn run(&mut self, program: &Program) -> Result<usize, Finding> {
        self.execs += 1;
        self.last_run = Instant::now();
        let cov = &mut self.cov;
        let mut new = 0;
        let mut result = self.rig.run(
            program,
            &mut |source, pcs| match source {
                exec::Source::Call => new += cov.add_trace(pcs),
                exec::Source::Child => cov.add_pcs(pcs),
            },
            false,
        );
        for (name, ns) in &self.rig.last_times {
            if !name.starts_with('(') && self.cov.add_timing(name, *ns) {
                new += 1;
            }
        }
        if self.cov.add_timing("(probe wait)", self.rig.last_wait) {
            new += 1;
        }
        if matches!(&result, Err(f) if f.kind == Kind::Latency) {
            // A guest descheduled by a busy host looks like a long wait too: it counts only if
            // the program does it again.
            let again = (0..2).any(|_| {
                let r = self.rig.run(program, &mut |_, _| {}, false);
                matches!(r, Err(f) if f.kind == Kind::Latency)
            });
            if !again {
                self.unconfirmed += 1;
                result = Ok(());
            }
        }
        match result {
            Err(f) if self.ignore.contains(&f.kind) => {
                if self.ignored == 0 {
                    println!("kfuzz: ignoring (--ignore {}): {f}", f.kind.name());
                }
                self.ignored += 1;
                Ok(new)
            }
            Err(f) => Err(f),
            Ok(()) => Ok(new),
        }
    }

    /// Keeps the program just run. Its weight grows with the new edges it reached and shrinks
    /// with its running time (AFL's performance score, roughly): a program that unbinds the card
    /// costs a tenth of a second and more, and otherwise its descendants crowd out the rest.
    fn keep(&mut self, program: Program, new_edges: usize) {
        let ms = self.last_run.elapsed().as_millis() as u64;
        self.corpus.push(program);
        self.weights
            .push((1 + new_edges.min(16) as u64) * 1000 / (20 + ms));
    }

    /// A corpus program to mutate, by weight (every program keeps a chance).
    fn pick(&self, rng: &mut Rng) -> usize {
        let total: u64 = self.weights.iter().map(|w| w.max(&1)).sum();
        let mut at = rng.below(total.max(1));
        for (i, w) in self.weights.iter().map(|w| *w.max(&1)).enumerate() {
            if at < w {
                return i;
            }
            at -= w;
        }
        self.weights.len() - 1
    }

    /// Leaves the finding and its program for the supervisor (and the corpus for the host).
    fn found(&self, finding: &Finding, what: &str) -> i32 {
        println!(
            "kfuzz: {what} found after {:.1} s ({} execs, {} edges): {finding}",
            self.start.elapsed().as_secs_f64(),
            self.execs,
            self.cov.edges.len()
        );
        if self.print_corpus {
            for program in &self.corpus {
                print_corpus_entry(program);
            }
        }
        self.rig.env.shared.finding.set(&finding.to_string());
        FOUND
    }

    fn status(&self, elapsed: Duration, pc_sites: Option<u64>) -> String {
        let secs = elapsed.as_secs_f64();
        let pcs = self.cov.pcs.len();
        let sites = match pc_sites {
            Some(n) if n > 0 => format!(
                " of {n} trace_pc sites outside KUnit ({:.1}%)",
                100.0 * pcs as f64 / n as f64
            ),
            _ => String::new(),
        };
        let mut ignored = if self.ignored > 0 {
            format!(", {} ignored findings", self.ignored)
        } else {
            String::new()
        };
        if self.unconfirmed > 0 {
            ignored.push_str(&format!(", {} long waits not repeated", self.unconfirmed));
        }
        let probe_call = match self.rig.env.face {
            Face::Misc => "GET_MODEs",
            Face::Drm => "GETCRTCs",
        };
        format!(
            "{secs:.0} s, {} execs ({:.1}/s), {} edges, {pcs} PCs{sites}, {} timing features, corpus {}, probe {} {probe_call} (longest {} ms){ignored}",
            self.execs,
            self.execs as f64 / secs.max(0.001),
            self.cov.edges.len(),
            self.cov.timing.len(),
            self.corpus.len(),
            self.rig.env.shared.probe_calls.load(SeqCst),
            self.rig.env.shared.longest.load(SeqCst) / 1_000_000,
        )
    }
}

/// Where the time goes: calls by name, and the checks between programs.
#[derive(Default)]
pub struct Times(std::collections::BTreeMap<&'static str, (u64, u64)>);

impl Times {
    fn add(&mut self, name: &'static str, ns: u64) {
        let entry = self.0.entry(name).or_default();
        entry.0 += 1;
        entry.1 += ns;
    }

    /// The `n` costliest, as `name count×, total ms`.
    fn top(&self, n: usize) -> String {
        let mut all: Vec<_> = self.0.iter().collect();
        all.sort_by_key(|(_, (_, ns))| std::cmp::Reverse(*ns));
        all.iter()
            .take(n)
            .map(|(name, (count, ns))| format!("{name} {count}x {} ms", ns / 1_000_000))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// What running programs needs in a process: the card, KCOV handles (none in a runner), the
/// scratch buffer, the kernel log, and where the time went.
struct Rig<'a> {
    env: &'a Env,
    kcov: &'a [Kcov],
    scratch: Guarded,
    kmsg: Kmsg,
    times: Times,
    /// The last program's calls (this process's) and how long each took, in nanoseconds.
    last_times: Vec<(&'static str, u64)>,
    /// The probe's longest GET_MODE while the last program ran.
    last_wait: u64,
}

impl<'a> Rig<'a> {
    fn new(env: &'a Env, kcov: &'a [Kcov]) -> Option<Rig<'a>> {
        Some(Rig {
            env,
            kcov,
            scratch: Guarded::new(SCRATCH_LEN).ok()?,
            kmsg: Kmsg::open().ok()?,
            times: Times::default(),
            last_times: Vec::new(),
            last_wait: 0,
        })
    }

    /// Runs `program` from the default state and checks what a program must keep: no kernel
    /// report, the probe never waiting past the bound, a clean shadow for the next opener;
    /// plus what the calls checked themselves. `show` prints each call with its result.
    fn run(
        &mut self,
        program: &Program,
        trace: &mut dyn FnMut(exec::Source, &mut dyn Iterator<Item = u64>),
        show: bool,
    ) -> Result<(), Finding> {
        let env = self.env;
        let shared = env.shared;
        if shared.needs_reset.swap(0, SeqCst) != 0 {
            let t = now_ns();
            env.reset().map_err(|why| {
                Finding::new(
                    Kind::Crash,
                    format!("the card does not come back to its mode: {why}"),
                )
            })?;
            self.times.add("(reset)", now_ns() - t);
        }
        if program.changes_card() {
            shared.needs_reset.store(1, SeqCst);
        }
        shared.program.set(&program.lines());
        shared.window_longest.store(0, SeqCst);
        let started = now_ns();
        let mut exec = Exec::new(env, self.kcov, &mut self.scratch);
        exec.run(program, trace);
        for (name, ns) in &exec.times {
            self.times.add(name, *ns);
        }
        self.last_times = exec.times.clone();
        if show {
            for (i, (call, outcome)) in program.calls.iter().zip(&exec.outcomes).enumerate() {
                let result = outcome.as_ref().map_or_else(|| "-".into(), exec::describe);
                println!("kfuzz: {i:>2} {call} = {result}");
            }
        }
        shared.programs.fetch_add(1, SeqCst);
        if let Some(f) = exec.findings.first() {
            return Err(f.clone());
        }
        let t = now_ns();
        let reports = self.kmsg.reports();
        self.times.add("(kmsg)", now_ns() - t);
        if let Some(first) = reports.first() {
            return Err(Finding::new(Kind::KernelReport, first.clone()));
        }
        if !exec.shadow_pages.is_empty() {
            let t = now_ns();
            let leak = env.check_shadow(&exec.shadow_pages);
            self.times.add("(shadow check)", now_ns() - t);
            if let Some(f) = leak {
                return Err(f);
            }
        }
        shared.settle_probe();
        self.last_wait = shared.window_longest.load(SeqCst);
        if let Some((start, end)) = shared.long_waits_since(started).first() {
            return Err(Finding::new(
                Kind::Latency,
                format!(
                    "the probe's GET_MODE waited {} ms for the card mutex (bound {} ms)",
                    (end - start) / 1_000_000,
                    shared.latency_bound.load(SeqCst) / 1_000_000
                ),
            ));
        }
        Ok(())
    }
}

/// Runs candidate programs in a fresh process each, for replays and minimisation.
struct Runner<'a> {
    env: &'a Env,
    options: &'a Options,
    kmsg: &'a mut Kmsg,
    /// The finding a candidate must show to count.
    kind: Kind,
    /// Print each call with its result (`--replay`).
    show: bool,
}

impl Runner<'_> {
    /// Runs `program` once; its finding, or `None`, or `Err` if it wedged the card.
    fn run(&mut self, program: &Program) -> Result<Option<Finding>, Finding> {
        let env = self.env;
        let show = self.show;
        env.shared.needs_reset.store(1, SeqCst);
        if self.kind == Kind::ShadowLeak {
            // Start each run with a fresh shadow, as a new card has.
            let _ = env.reset();
            if let Some(pci) = &env.pci {
                let _ = std::fs::write("/sys/bus/pci/drivers/bochsfb/unbind", pci);
                let _ = std::fs::write("/sys/bus/pci/drivers/bochsfb/bind", pci);
            }
        }
        let _ = self.kmsg.lines();
        let pid = spawn(|| {
            let Some(mut rig) = Rig::new(env, &[]) else {
                return BROKEN;
            };
            match rig.run(program, &mut |_, _| {}, show) {
                Ok(()) => 0,
                Err(f) => {
                    env.shared.finding.set(&f.to_string());
                    FOUND
                }
            }
        });
        let mut reports = Vec::new();
        let finding = match supervise(pid, env.shared, self.options.stuck, self.kmsg, &mut reports)
        {
            Ended::Exit(Exit::Code(0)) => None,
            Ended::Exit(Exit::Code(FOUND)) => Finding::parse(&env.shared.finding.get()),
            Ended::Exit(other) => Some(match reports.first() {
                Some(r) => Finding::new(Kind::KernelReport, r.clone()),
                None => Finding::new(Kind::Crash, format!("the runner ended with {other:?}")),
            }),
            Ended::Stuck { call, seconds, .. } => Some(Finding::new(
                Kind::Stuck,
                format!("call {call} still running after {seconds} s"),
            )),
            Ended::Report(lines) => Some(Finding::new(Kind::KernelReport, lines[0].clone())),
        };
        match finding {
            Some(f) if !card_responds(env) => Err(f),
            other => Ok(other),
        }
    }

    /// Whether `program` still shows the finding (printing it first, for the host).
    fn check(&mut self, program: &Program) -> minimize::Verdict {
        print_block("candidate", &program.lines());
        match self.run(program) {
            Ok(Some(f)) if f.kind == self.kind => minimize::Verdict::Yes,
            Ok(_) => minimize::Verdict::No,
            Err(f) if f.kind == self.kind => minimize::Verdict::Wedged,
            Err(f) => {
                println!("kfuzz: a candidate wedged the card with another finding: {f}");
                minimize::Verdict::Wedged
            }
        }
    }
}

/// `--replay FILE`: runs the program once, says what it found; fails if it found something.
fn replay(env: &Env, options: &Options, path: &Path) -> ExitCode {
    let program = match read_program(path) {
        Ok(p) => p,
        Err(e) => {
            println!("kfuzz: {e}");
            return ExitCode::from(BROKEN as u8);
        }
    };
    let Ok(mut kmsg) = Kmsg::open() else {
        return ExitCode::from(BROKEN as u8);
    };
    println!("kfuzz: replaying {}:", path.display());
    let mut runner = Runner {
        env,
        options,
        kmsg: &mut kmsg,
        kind: Kind::Crash,
        show: true,
    };
    match runner.run(&program) {
        Ok(None) => {
            println!("kfuzz: replay: nothing found");
            ExitCode::SUCCESS
        }
        Ok(Some(f)) => {
            println!("kfuzz: replay: FINDING {f}");
            println!("@@kfuzz:finding {}", f.kind.name());
            ExitCode::FAILURE
        }
        Err(f) => {
            println!("kfuzz: replay: FINDING {f}; the card is wedged");
            println!("@@kfuzz:finding {}", f.kind.name());
            println!("@@kfuzz:wedged");
            ExitCode::FAILURE
        }
    }
}

/// `--minimize FILE [--kind KIND]`: minimises a program found in an earlier boot.
fn minimize_file(env: &Env, options: &Options, path: &Path) -> ExitCode {
    let program = match read_program(path) {
        Ok(p) => p,
        Err(e) => {
            println!("kfuzz: {e}");
            return ExitCode::from(BROKEN as u8);
        }
    };
    let Ok(mut kmsg) = Kmsg::open() else {
        return ExitCode::from(BROKEN as u8);
    };
    let known = options.kind.as_deref().and_then(Kind::parse);
    let finding = match known {
        Some(kind) => Finding::new(kind, "found in an earlier boot"),
        None => {
            let mut runner = Runner {
                env,
                options,
                kmsg: &mut kmsg,
                kind: Kind::Crash,
                show: false,
            };
            match runner.run(&program) {
                Ok(Some(f)) => f,
                Ok(None) => {
                    println!(
                        "kfuzz: {} finds nothing: nothing to minimise",
                        path.display()
                    );
                    return ExitCode::SUCCESS;
                }
                Err(f) => {
                    println!("kfuzz: FINDING {f}; the card is wedged");
                    println!("@@kfuzz:wedged");
                    return ExitCode::FAILURE;
                }
            }
        }
    };
    handle_finding(
        env,
        options,
        &finding,
        &program,
        &[],
        &mut kmsg,
        known.is_some(),
    )
}

fn read_program(path: &Path) -> Result<Program, String> {
    std::fs::read_to_string(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .parse()
        .map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_seed_parses() {
        for (name, text) in super::SEEDS.iter().chain(super::DRM_SEEDS) {
            let program: super::Program = text.parse().unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                program.to_string().parse::<super::Program>(),
                Ok(program),
                "{name}"
            );
        }
    }

    #[test]
    fn the_corpus_checksum_is_the_hosts() {
        // qemu-bochs/src/fuzz.rs checks the same values.
        assert_eq!(super::fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(super::fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
