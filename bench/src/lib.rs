//! mmap versus write: what the in-guest benchmark `bochsfb-bench` reports,
//! and the test image every path draws last, so that the host can check the
//! screen afterwards.
//!
//! The guest program prints one [`GuestReport`] as JSON between
//! [`JSON_BEGIN`] and [`JSON_END`] lines; the host (`qemu-bochs bench`, the
//! e2e test) parses it with [`parse_guest_output`] and does the statistics.

pub mod paths;
pub mod pattern;

use bochsfb_renderer::Mode;
use serde::{Deserialize, Serialize};

/// Printed on its own line before the JSON report.
pub const JSON_BEGIN: &str = "@@bench:json-begin";
/// Printed on its own line after the JSON report.
pub const JSON_END: &str = "@@bench:json-end";

/// The display driver in the guest: which one the harness boots (`/init` loads it; the
/// kernel command line names it), and so which paths `bochsfb-bench` can run. The one enum
/// of the three for the benchmark, the harness (`qemu_bochs::Driver`) and the tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Driver {
    /// This project's `bochsfb.ko`, with the module parameters: `/dev/bochsfb0`.
    #[default]
    Bochsfb,
    /// `bochsfb.ko face=1`, its DRM/KMS face (docs/drm.md): `/dev/dri/card0`, whose dumb
    /// buffers are VRAM, shown by a scanout-offset write.
    BochsfbDrm,
    /// The kernel's C `bochs` DRM driver (`bochs.ko` and the DRM modules it needs), the
    /// benchmark's peer: `/dev/fb0` (fbdev emulation) and `/dev/dri/card0`.
    BochsDrm,
    /// No module: the kernel's built-in classic fbdev driver `vesafb` keeps the VBE mode that
    /// `vga=` had the firmware set at boot; `/dev/fb0` reads, writes and maps VRAM itself
    /// (`fb_io_write`, `fb_io_mmap`).
    Vesafb,
}

impl Driver {
    /// `bochsfb`, `bochsfb-drm`, `bochs-drm` or `vesafb`: the value of `qemu_bochs.driver=` on
    /// the guest's kernel command line and of `bochsfb-bench --driver`.
    pub fn name(self) -> &'static str {
        match self {
            Driver::Bochsfb => "bochsfb",
            Driver::BochsfbDrm => "bochsfb-drm",
            Driver::BochsDrm => "bochs-drm",
            Driver::Vesafb => "vesafb",
        }
    }
}

/// The workloads, in the order they run. Frame copy is last: it leaves the
/// path's test image on screen for the host to check.
pub const WORKLOADS: [Workload; 12] = [
    Workload::FrameFill,
    Workload::Scanline,
    Workload::Sprites(8),
    Workload::Sprites(64),
    Workload::Pixels,
    Workload::Calls(CallSize::Bytes(4)),
    Workload::Calls(CallSize::Bytes(64)),
    Workload::Calls(CallSize::Bytes(1024)),
    Workload::Calls(CallSize::Row),
    Workload::Calls(CallSize::Bytes(64 * 1024)),
    Workload::Calls(CallSize::Frame),
    Workload::FrameCopy,
];

/// The sweep: the same bytes moved in calls of each size, smallest first.
pub fn sweep() -> impl Iterator<Item = CallSize> {
    WORKLOADS.into_iter().filter_map(|w| match w {
        Workload::Calls(size) => Some(size),
        _ => None,
    })
}

/// The workloads that are whole scenes (frames, rows, sprites, pixels), not the sweep.
pub fn scenes() -> impl Iterator<Item = Workload> {
    WORKLOADS.into_iter().filter(|w| w.call_size().is_none())
}

/// Bytes per call of the sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallSize {
    Bytes(u32),
    /// One row of visible pixels.
    Row,
    /// The whole frame (`stride * height`).
    Frame,
}

impl CallSize {
    pub fn bytes(self, geometry: &Mode) -> usize {
        match self {
            CallSize::Bytes(n) => n as usize,
            CallSize::Row => geometry.row_len(),
            CallSize::Frame => geometry.frame_len(),
        }
    }

    pub fn name(self) -> String {
        match self {
            CallSize::Bytes(n) if n >= 1024 => format!("{} KiB", n / 1024),
            CallSize::Bytes(n) => format!("{n} B"),
            CallSize::Row => "1 row".into(),
            CallSize::Frame => "1 frame".into(),
        }
    }
}

/// What gets drawn, in frames that each end with one present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// One copy of a whole frame from RAM.
    FrameCopy,
    /// One whole frame of one colour.
    FrameFill,
    /// A frame copied one row per call.
    Scanline,
    /// N x N sprites copied from RAM to random positions.
    Sprites(u32),
    /// Single pixels at random positions.
    Pixels,
    /// Runs of bytes of one size at random (pixel-aligned) offsets: one call, or one copy,
    /// each. The sweep that the per-call cost model is fitted to.
    Calls(CallSize),
}

impl Workload {
    pub fn name(self) -> String {
        match self {
            Workload::FrameCopy => "frame copy".into(),
            Workload::FrameFill => "frame fill".into(),
            Workload::Scanline => "scanline".into(),
            Workload::Sprites(n) => format!("sprite {n}x{n}"),
            Workload::Pixels => "pixel".into(),
            Workload::Calls(size) => format!("calls of {}", size.name()),
        }
    }

    /// The call size, for sweep workloads.
    pub fn call_size(self) -> Option<CallSize> {
        match self {
            Workload::Calls(size) => Some(size),
            _ => None,
        }
    }
}

/// How a path reaches the frame: the axis of the mmap-versus-write ratios.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Access {
    /// Stores into a mapping (plus a flush ioctl per frame where the driver needs one).
    Mmap,
    /// bochsfb's on-demand region: the same stores, each page mapped by its first fault.
    MmapOnDemand,
    /// bochsfb's uncached region (x86 PAT serves it write-combined: docs/mapping.md).
    MmapUncached,
    /// bochsfb's RAM shadow buffer, copied to VRAM by a FLUSH ioctl per frame.
    MmapShadow,
    /// `lseek` + `write`.
    Write,
    /// `pwrite`.
    Pwrite,
}

/// One timed run: a whole number of frames of one workload through one path.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub seconds: f64,
    pub frames: u64,
    /// Operations (a frame, a scanline, a sprite, a pixel) drawn.
    pub ops: u64,
    /// Pixel bytes that reached the frame.
    pub bytes: u64,
    /// write, pwrite, lseek and ioctl calls made (mmap stores make none).
    pub syscalls: u64,
    /// Busy time of all guest CPUs together during the run (`/proc/stat`, 10 ms ticks):
    /// counts work the path leaves to kernel threads on other CPUs, such as the fbdev
    /// emulation's copy to VRAM, which wall time alone misses.
    #[serde(default)]
    pub cpu_seconds: f64,
    /// Wall time spent in `present` (DIRTYFB, FLUSH ioctls), part of `seconds`.
    #[serde(default)]
    pub present_seconds: f64,
}

impl Run {
    pub fn mb_per_s(&self) -> f64 {
        self.bytes as f64 / self.seconds / 1e6
    }
    pub fn frames_per_s(&self) -> f64 {
        self.frames as f64 / self.seconds
    }
    pub fn ops_per_s(&self) -> f64 {
        self.ops as f64 / self.seconds
    }
    pub fn syscalls_per_frame(&self) -> f64 {
        self.syscalls as f64 / self.frames as f64
    }
    /// MB moved per second of busy CPU time, all CPUs counted: the full cost. NaN when the
    /// run was too short for a 10 ms tick to count it.
    pub fn mb_per_cpu_s(&self) -> f64 {
        if self.cpu_seconds > 0.0 {
            self.bytes as f64 / self.cpu_seconds / 1e6
        } else {
            f64::NAN
        }
    }
}

/// One timed run of page flips between two dumb buffers, back to back: each a
/// `DRM_IOCTL_MODE_PAGE_FLIP` with `DRM_MODE_PAGE_FLIP_EVENT`, requested as soon as the last
/// one's event was read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlipRun {
    /// Each flip's time from the request to its event read, in µs.
    pub latencies_us: Vec<f64>,
    /// Wall time of the whole run.
    pub seconds: f64,
    /// Busy time of all guest CPUs during the run (as [`Run::cpu_seconds`]): the C driver's
    /// copy to VRAM runs in a commit worker, outside the flipping process.
    pub cpu_seconds: f64,
}

impl FlipRun {
    pub fn flips_per_s(&self) -> f64 {
        self.latencies_us.len() as f64 / self.seconds
    }
    /// Busy CPU ms per flip, all CPUs counted: 0 when the whole run stayed under one 10 ms
    /// tick.
    pub fn cpu_ms_per_flip(&self) -> f64 {
        self.cpu_seconds * 1e3 / self.latencies_us.len() as f64
    }
}

/// The dumb buffer sizes a DRM path is filled with, one after the other (XRGB8888): the
/// common modes from VGA to full HD.
pub const BUFFER_SIZES: [(u32, u32); 5] = [
    (640, 480),
    (800, 600),
    (1024, 768),
    (1280, 1024),
    (1920, 1080),
];

/// At most this many buffers of a size are made: a driver whose buffers live in RAM (the C
/// driver's shmem, its pages allocated only when touched) would give far more.
pub const BUFFER_CAP: usize = 64;

/// How many dumb buffers of one size a DRM path gave before it refused one (or
/// [`BUFFER_CAP`]), all alive at once, and what a `DRM_IOCTL_MODE_CREATE_DUMB` took, in rounds
/// that each fill the card anew.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BufferCount {
    pub width: u32,
    pub height: u32,
    /// Buffers given before the refusal or the cap, the same in every round.
    pub given: usize,
    /// Rounds run, and the time their creates took together (bochsfb's DRM face clears the
    /// VRAM it gives).
    pub rounds: usize,
    pub create_seconds: f64,
    /// The errno of the refusal that ended each round, if one came before the cap.
    pub refused_errno: Option<i32>,
}

impl BufferCount {
    /// Mean µs per `CREATE_DUMB` that gave a buffer, over every round (each round's refused
    /// call, if any, counted in its time).
    pub fn us_per_create(&self) -> f64 {
        self.create_seconds * 1e6 / (self.rounds * self.given).max(1) as f64
    }
}

/// The repeated runs of one workload through one path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    pub path: String,
    pub workload: String,
    pub runs: Vec<Run>,
}

/// What one path did, and the test image it drew last (see [`pattern`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathReport {
    pub path: String,
    pub access: Access,
    /// Device node(s) the path used.
    pub device: String,
    /// The mode the path drew in.
    pub geometry: Mode,
    /// Seed of the [`pattern`] frame left on screen when the path finished.
    pub final_pattern: u32,
    /// The screenshot the guest asked for after the path finished.
    pub screenshot: String,
    pub measurements: Vec<Measurement>,
    /// Page flips, one run per round: DRM paths only (see [`paths::Path::flips`]).
    #[serde(default)]
    pub flips: Vec<FlipRun>,
    /// Dumb buffers per size, counted once per boot: DRM paths only.
    #[serde(default)]
    pub buffers: Vec<BufferCount>,
}

/// Everything one guest run of `bochsfb-bench` measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuestReport {
    pub driver: Driver,
    /// Guest `uname -r`.
    pub kernel: String,
    /// CPUs online in the guest: with one, kernel workers (the fbdev emulation's copy to
    /// VRAM) run on the benchmark's own CPU and so inside its wall time.
    #[serde(default)]
    pub cpus: usize,
    pub quick: bool,
    /// Resolution of the clock every run and flip is timed on (`clock_getres` of
    /// `CLOCK_MONOTONIC`), ns: a jiffy when the guest keeps time on jiffies.
    #[serde(default)]
    pub clock_resolution_ns: u64,
    /// Bytes per RAM-to-RAM memcpy (one frame of the first path's geometry).
    pub memcpy_bytes: u64,
    /// RAM-to-RAM memcpy in the same guest: the physical limit.
    pub memcpy: Vec<Run>,
    /// `getppid` calls (ops): the cost of entering the kernel at all.
    pub null_syscall: Vec<Run>,
    pub paths: Vec<PathReport>,
}

/// Extracts the report from the guest's console output. Kernel log lines
/// (`[   12.345678] ...`) that landed between the markers are skipped.
pub fn parse_guest_output(output: &str) -> Result<GuestReport, String> {
    let mut lines = output.lines().map(str::trim_end);
    if !lines.by_ref().any(|l| l == JSON_BEGIN) {
        return Err(format!("no `{JSON_BEGIN}` line in the guest output"));
    }
    let mut json = String::new();
    for line in lines.by_ref() {
        if line == JSON_END {
            return serde_json::from_str(&json).map_err(|e| format!("bad benchmark JSON: {e}"));
        }
        if !is_kernel_log_line(line) {
            json.push_str(line);
            json.push('\n');
        }
    }
    Err(format!("no `{JSON_END}` line in the guest output"))
}

/// `[    1.234567] text`: a printk line with CONFIG_PRINTK_TIME.
fn is_kernel_log_line(line: &str) -> bool {
    let Some(rest) = line.strip_prefix('[') else {
        return false;
    };
    let Some((stamp, _)) = rest.split_once(']') else {
        return false;
    };
    let stamp = stamp.trim();
    stamp.contains('.') && stamp.chars().all(|c| c.is_ascii_digit() || c == '.')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> GuestReport {
        GuestReport {
            driver: Driver::Bochsfb,
            kernel: "7.3.4".into(),
            cpus: 1,
            quick: true,
            clock_resolution_ns: 4_000_000,
            memcpy_bytes: 100,
            memcpy: vec![Run {
                seconds: 0.5,
                frames: 10,
                ops: 10,
                bytes: 1000,
                syscalls: 0,
                cpu_seconds: 0.25,
                present_seconds: 0.0,
            }],
            null_syscall: vec![],
            paths: vec![],
        }
    }

    #[test]
    fn report_round_trips_through_console_output_with_kernel_noise() {
        let json = serde_json::to_string_pretty(&report()).unwrap();
        let (head, tail) = json.split_at(json.find("  \"kernel\"").unwrap());
        let output = format!(
            "progress\n{JSON_BEGIN}\n{head}[   12.345678] bochs: something\n{tail}\n{JSON_END}\nafter\n"
        );
        assert_eq!(parse_guest_output(&output).unwrap(), report());
    }

    #[test]
    fn missing_markers_are_named() {
        assert!(parse_guest_output("nothing")
            .unwrap_err()
            .contains(JSON_BEGIN));
        let cut = format!("{JSON_BEGIN}\n{{");
        assert!(parse_guest_output(&cut).unwrap_err().contains(JSON_END));
    }

    #[test]
    fn rates_are_per_second() {
        let run = report().memcpy[0];
        assert_eq!(run.mb_per_s(), 0.002);
        assert_eq!(run.frames_per_s(), 20.0);
        assert_eq!(run.syscalls_per_frame(), 0.0);
        assert_eq!(run.mb_per_cpu_s(), 0.004);
        let flips = FlipRun {
            latencies_us: vec![16_000.0; 30],
            seconds: 0.5,
            cpu_seconds: 0.03,
        };
        assert_eq!(flips.flips_per_s(), 60.0);
        assert!((flips.cpu_ms_per_flip() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn kernel_log_lines_are_recognised() {
        assert!(is_kernel_log_line(
            "[    1.234567] bochs 0000:00:02.0: vgaarb"
        ));
        assert!(!is_kernel_log_line("[1, 2]"));
        assert!(!is_kernel_log_line("  \"path\": \"mmap\","));
    }
}
