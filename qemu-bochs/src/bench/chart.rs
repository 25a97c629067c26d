//! PNG charts of the results, drawn with plotters into a pixel buffer and
//! saved as PNG. Text uses DejaVu Sans from Debian's `fonts-dejavu-core`
//! (a harness prerequisite), through ab_glyph: no system font libraries.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{anyhow, Context, Result};
use bochsfb_bench::WORKLOADS;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::report::HEADLINE_MODE;
use super::stats::{self, Row};
use super::BenchResults;

/// Installed by Debian's `fonts-dejavu-core`.
pub const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
const FONT_FAMILY: &str = "sans-serif";
const SIZE: (u32, u32) = (1000, 520);
/// One colour per path of `bochsfb_bench::paths::PATHS`: blues are ours,
/// oranges and red the C driver's.
const PATH_COLOURS: [RGBColor; 7] = [
    RGBColor(20, 90, 170),
    RGBColor(70, 140, 210),
    RGBColor(140, 190, 235),
    RGBColor(220, 110, 20),
    RGBColor(240, 160, 70),
    RGBColor(250, 205, 140),
    RGBColor(190, 30, 40),
];
const MODE_COLOURS: [RGBColor; 4] = [
    RGBColor(20, 90, 170),
    RGBColor(60, 150, 80),
    RGBColor(220, 110, 20),
    RGBColor(140, 70, 160),
];

/// Draws every chart into `out`; returns their paths.
pub fn draw_all(results: &BenchResults, out: &Path) -> Result<Vec<PathBuf>> {
    register_font()?;
    let rows = &results.summary;
    let modes: Vec<String> =
        results
            .guests
            .iter()
            .map(|g| g.mode.label())
            .fold(Vec::new(), |mut m, l| {
                if !m.contains(&l) {
                    m.push(l);
                }
                m
            });
    let headline = if modes.iter().any(|m| m == HEADLINE_MODE) {
        HEADLINE_MODE.to_string()
    } else {
        modes.first().cloned().unwrap_or_default()
    };
    let mut written = Vec::new();
    let throughput = out.join(format!("mb-per-s-{headline}.png"));
    throughput_chart(rows, &headline, &results.accel, &throughput)?;
    written.push(throughput);
    let ratios = out.join("mmap-over-write.png");
    ratio_chart(rows, &modes, &results.accel, &ratios)?;
    written.push(ratios);
    Ok(written)
}

fn register_font() -> Result<()> {
    static REGISTERED: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            let bytes = std::fs::read(FONT).map_err(|e| {
                format!("cannot read {FONT} ({e}): apt-get install fonts-dejavu-core")
            })?;
            // plotters keeps registered fonts for the life of the process.
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, bytes)
                .map_err(|_| format!("{FONT} is not a font ab_glyph can read"))
        })
        .clone()
        .map_err(|e| anyhow!(e))
}

/// One group of bars per workload.
struct Bars<'a> {
    title: String,
    y_label: &'a str,
    /// Series names and their colours.
    series: Vec<(String, RGBColor)>,
    /// `values[workload][series]`; `None` draws no bar.
    values: Vec<Vec<Option<f64>>>,
    /// A dashed horizontal line, e.g. a target.
    guide: Option<(f64, &'a str)>,
}

/// MB/s of every path, per workload, in one mode.
fn throughput_chart(rows: &[Row], mode: &str, accel: &str, png: &Path) -> Result<()> {
    let paths = bochsfb_bench::paths::PATHS;
    let values = WORKLOADS
        .iter()
        .map(|w| {
            paths
                .iter()
                .map(|p| stats::find(rows, mode, p.name, &w.name()).map(|r| r.mb_per_s.median))
                .collect()
        })
        .collect();
    draw_bars(
        &Bars {
            title: format!("MB/s by path, {mode}, {accel} (log scale; blue: bochsfb, orange/red: C bochs driver)"),
            y_label: "MB/s",
            series: paths.iter().zip(PATH_COLOURS).map(|(p, c)| (p.name.to_string(), c)).collect(),
            values,
            guide: None,
        },
        png,
    )
}

/// bochsfb mmap over bochsfb write, per workload, one bar per mode.
fn ratio_chart(rows: &[Row], modes: &[String], accel: &str, png: &Path) -> Result<()> {
    let values = WORKLOADS
        .iter()
        .map(|w| {
            modes
                .iter()
                .map(|m| stats::ratio(rows, m, &w.name(), "bochsfb mmap", "bochsfb write"))
                .collect()
        })
        .collect();
    draw_bars(
        &Bars {
            title: format!("bochsfb: mmap ÷ lseek+write, MB/s ratio, {accel} (log scale)"),
            y_label: "mmap ÷ write",
            series: modes
                .iter()
                .cloned()
                .zip(MODE_COLOURS.into_iter().cycle())
                .collect(),
            values,
            guide: Some((20.0, "target 20×")),
        },
        png,
    )
}

fn draw_bars(bars: &Bars, png: &Path) -> Result<()> {
    let all = bars.values.iter().flatten().flatten().copied();
    let (low, high) = all.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let guide = bars.guide.map(|(v, _)| v);
    let high = high.max(guide.unwrap_or(0.0));
    // Whole decades, so the log axis reads plainly.
    let (y_min, y_max) = (
        10f64.powf(low.max(1e-3).log10().floor()),
        // Headroom above the tallest bar for the legend.
        10f64.powf(high.max(1e-3).log10().ceil() + 1.5),
    );
    let mut buffer = vec![0u8; (SIZE.0 * SIZE.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buffer, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let groups = bars.values.len() as f64;
        let mut chart = ChartBuilder::on(&root)
            .caption(&bars.title, (FONT_FAMILY, 18))
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..groups, (y_min..y_max).log_scale())?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_desc(bars.y_label)
            .y_label_formatter(&|v| format!("{v}"))
            .label_style((FONT_FAMILY, 13))
            .draw()?;
        let slot = 0.8 / bars.series.len() as f64;
        for (s, (name, colour)) in bars.series.iter().enumerate() {
            let rects: Vec<_> = bars
                .values
                .iter()
                .enumerate()
                .filter_map(|(g, values)| {
                    let value = values.get(s).copied().flatten()?;
                    let x = g as f64 + 0.1 + s as f64 * slot;
                    Some(Rectangle::new(
                        [(x, y_min), (x + slot * 0.9, value)],
                        colour.filled(),
                    ))
                })
                .collect();
            let colour = *colour;
            chart
                .draw_series(rects)?
                .label(name.as_str())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 10, y + 5)], colour.filled())
                });
        }
        if let Some((value, label)) = bars.guide {
            chart
                .draw_series(LineSeries::new(
                    [(0.0, value), (groups, value)],
                    RED.stroke_width(2),
                ))?
                .label(label)
                .legend(|(x, y)| PathElement::new([(x, y), (x + 14, y)], RED.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font((FONT_FAMILY, 12))
            .draw()?;
        let centred =
            TextStyle::from((FONT_FAMILY, 14).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
        for (g, workload) in WORKLOADS.iter().enumerate() {
            let (x, y) = chart.backend_coord(&(g as f64 + 0.5, y_min));
            root.draw(&Text::new(workload.name(), (x, y + 6), centred.clone()))?;
        }
        root.present()?;
    }
    image::save_buffer(png, &buffer, SIZE.0, SIZE.1, image::ExtendedColorType::Rgb8)
        .with_context(|| format!("cannot write {}", png.display()))
}
