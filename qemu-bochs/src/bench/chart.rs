//! PNG charts of the results, drawn with plotters into a pixel buffer and
//! saved as PNG. Text uses DejaVu Sans from Debian's `fonts-dejavu-core`
//! (a harness prerequisite), through ab_glyph: no system font libraries.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{anyhow, Context, Result};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::curve;
use super::report::HEADLINE_MODE;
use super::stats::{self, Row};
use super::BenchResults;

/// Installed by Debian's `fonts-dejavu-core`.
pub const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
const FONT_FAMILY: &str = "sans-serif";
const SIZE: (u32, u32) = (1000, 520);
/// One colour per path of `bochsfb_bench::paths::PATHS`: blues are ours (violet our DRM
/// face's), greens vesafb's, oranges and red the C driver's.
const PATH_COLOURS: [RGBColor; 14] = [
    RGBColor(20, 60, 140),
    RGBColor(40, 100, 190),
    RGBColor(80, 140, 220),
    RGBColor(120, 170, 230),
    RGBColor(160, 200, 240),
    RGBColor(100, 110, 200),
    RGBColor(120, 50, 170),
    RGBColor(30, 120, 60),
    RGBColor(70, 170, 90),
    RGBColor(140, 210, 140),
    RGBColor(220, 110, 20),
    RGBColor(240, 160, 70),
    RGBColor(250, 205, 140),
    RGBColor(190, 30, 40),
];

/// The colour of a path of `PATHS`.
fn path_colour(name: &str) -> RGBColor {
    let index = bochsfb_bench::paths::PATHS
        .iter()
        .position(|p| p.name == name);
    PATH_COLOURS[index.unwrap_or(0) % PATH_COLOURS.len()]
}

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
    let curve = out.join("mmap-over-write.png");
    curve_chart(results, &headline, &curve)?;
    written.push(curve);
    let sweep = out.join(format!("mb-per-s-by-call-size-{headline}.png"));
    sweep_chart(rows, &headline, &results.accel, &sweep)?;
    written.push(sweep);
    let throughput = out.join(format!("mb-per-s-{headline}.png"));
    throughput_chart(rows, &headline, &results.accel, &throughput)?;
    written.push(throughput);
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
    let values = bochsfb_bench::scenes()
        .map(|w| {
            paths
                .iter()
                .map(|p| stats::find(rows, mode, p.name, &w.name()).map(|r| r.mb_per_s.median))
                .collect()
        })
        .collect();
    draw_bars(
        &Bars {
            title: format!("MB/s by path, {mode}, {accel} (log; blue bochsfb, violet its DRM face, green vesafb, orange/red C bochs)"),
            y_label: "MB/s",
            series: paths.iter().map(|p| (p.name.to_string(), path_colour(p.name))).collect(),
            values,
            guide: None,
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
        draw_legend(&mut chart)?;
        let centred =
            TextStyle::from((FONT_FAMILY, 14).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
        for (g, workload) in bochsfb_bench::scenes().enumerate() {
            let (x, y) = chart.backend_coord(&(g as f64 + 0.5, y_min));
            root.draw(&Text::new(workload.name(), (x, y + 6), centred.clone()))?;
        }
        root.present()?;
    }
    image::save_buffer(png, &buffer, SIZE.0, SIZE.1, image::ExtendedColorType::Rgb8)
        .with_context(|| format!("cannot write {}", png.display()))
}

/// One line of a log-log chart over bytes per call: `(x, value, low, high)` points.
struct Line {
    name: String,
    colour: RGBColor,
    points: Vec<(f64, f64, f64, f64)>,
}

/// mmap ÷ write against bytes per call, one line per write-style path, with the intervals
/// as error bars and "no difference" (1×) as a guide.
fn curve_chart(results: &BenchResults, mode: &str, png: &Path) -> Result<()> {
    let lines: Vec<Line> = bochsfb_bench::paths::PATHS
        .iter()
        .filter(|p| p.is_write_style())
        .map(|p| Line {
            name: format!(
                "{} ÷ {}",
                p.mmap_counterpart().map_or("?", |m| m.name),
                p.name
            ),
            colour: path_colour(p.name),
            points: results
                .curve
                .iter()
                .filter(|c| c.mode == mode && c.path == p.name)
                .map(|c| (c.bytes_per_call, c.ratio.value, c.ratio.low, c.ratio.high))
                .collect(),
        })
        .filter(|l| !l.points.is_empty())
        .collect();
    draw_lines(
        &format!(
            "mmap ÷ write by bytes per call, {mode}, {} (95% CI; log-log)",
            results.accel
        ),
        "mmap ÷ write (MB/s)",
        &lines,
        Some(1.0),
        png,
    )
}

/// MB/s against bytes per call for every path, min–max as error bars.
fn sweep_chart(rows: &[Row], mode: &str, accel: &str, png: &Path) -> Result<()> {
    let sizes = curve::sweep_workloads();
    let lines: Vec<Line> = bochsfb_bench::paths::PATHS
        .iter()
        .map(|p| Line {
            name: p.name.to_string(),
            colour: path_colour(p.name),
            points: sizes
                .iter()
                .filter_map(|w| stats::find(rows, mode, p.name, w))
                .map(|r| {
                    (
                        r.bytes_per_op(),
                        r.mb_per_s.median,
                        r.mb_per_s.min,
                        r.mb_per_s.max,
                    )
                })
                .collect(),
        })
        .filter(|l| !l.points.is_empty())
        .collect();
    draw_lines(
        &format!("MB/s by bytes per call, {mode}, {accel} (min–max; log-log)"),
        "MB/s",
        &lines,
        None,
        png,
    )
}

fn draw_lines(
    title: &str,
    y_label: &str,
    lines: &[Line],
    guide: Option<f64>,
    png: &Path,
) -> Result<()> {
    let all = || lines.iter().flat_map(|l| &l.points);
    let (x_low, x_high) = all().fold((f64::MAX, f64::MIN), |(lo, hi), p| {
        (lo.min(p.0), hi.max(p.0))
    });
    let (y_low, y_high) = all().fold((f64::MAX, f64::MIN), |(lo, hi), p| {
        (lo.min(p.2), hi.max(p.3))
    });
    let y_low = y_low.min(guide.unwrap_or(f64::MAX));
    let y_high = y_high.max(guide.unwrap_or(f64::MIN));
    if !(x_low > 0.0 && y_low > 0.0) {
        return Err(anyhow!("{title}: nothing positive to draw"));
    }
    let (x_min, x_max) = (x_low / 2.0, x_high * 2.0);
    let (y_min, y_max) = (
        10f64.powf(y_low.log10().floor()),
        // Headroom for the legend.
        10f64.powf(y_high.log10().ceil() + 1.0),
    );
    let mut buffer = vec![0u8; (SIZE.0 * SIZE.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buffer, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT_FAMILY, 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d((x_min..x_max).log_scale(), (y_min..y_max).log_scale())?;
        chart
            .configure_mesh()
            .x_desc("bytes per call")
            .y_desc(y_label)
            .x_label_formatter(&|v| size_label(*v))
            .y_label_formatter(&|v| format!("{v}"))
            .label_style((FONT_FAMILY, 13))
            .draw()?;
        if let Some(value) = guide {
            chart
                .draw_series(LineSeries::new(
                    [(x_min, value), (x_max, value)],
                    BLACK.stroke_width(1),
                ))?
                .label("no difference (1×)")
                .legend(|(x, y)| PathElement::new([(x, y), (x + 14, y)], BLACK.stroke_width(1)));
        }
        for line in lines {
            let colour = line.colour;
            chart
                .draw_series(LineSeries::new(
                    line.points.iter().map(|p| (p.0, p.1)),
                    colour.stroke_width(2),
                ))?
                .label(line.name.as_str())
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 14, y)], colour.stroke_width(2))
                });
            chart.draw_series(
                line.points
                    .iter()
                    .map(|p| ErrorBar::new_vertical(p.0, p.2, p.1, p.3, colour.filled(), 8)),
            )?;
        }
        draw_legend(&mut chart)?;
        root.present()?;
    }
    image::save_buffer(png, &buffer, SIZE.0, SIZE.1, image::ExtendedColorType::Rgb8)
        .with_context(|| format!("cannot write {}", png.display()))
}

/// The series' legend, top right, in every chart.
fn draw_legend<'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, BitMapBackend<'a>, CT>,
) -> Result<()> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FONT_FAMILY, 12))
        .draw()?;
    Ok(())
}

/// `10 B`, `1 kB`, `1 MB`: the log axis ticks at powers of ten, so decimal units.
fn size_label(bytes: f64) -> String {
    if bytes >= 1e6 {
        format!("{} MB", bytes / 1e6)
    } else if bytes >= 1e3 {
        format!("{} kB", bytes / 1e3)
    } else {
        format!("{bytes} B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_has_its_own_colour() {
        assert_eq!(PATH_COLOURS.len(), bochsfb_bench::paths::PATHS.len());
        let colours: Vec<RGBColor> = bochsfb_bench::paths::PATHS
            .iter()
            .map(|p| path_colour(p.name))
            .collect();
        for (i, c) in colours.iter().enumerate() {
            assert!(
                !colours[..i].contains(c),
                "{} shares a colour",
                bochsfb_bench::paths::PATHS[i].name
            );
        }
        assert_eq!(size_label(1000.0), "1 kB");
        assert_eq!(size_label(10.0), "10 B");
    }
}
