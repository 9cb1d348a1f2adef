//! Charts as PNG and SVG. Text is drawn with the DejaVu Sans font embedded in the crate
//! (plotters' ab_glyph backend), so PNGs have text on machines without system fonts, and is
//! laid out with that font's glyph widths (layout.rs) so that no label covers another.

mod attention;
mod bars;
mod font;
mod forest;
mod layout;
mod lines;
mod plan;
mod record;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

use crate::error::ReportError;
use crate::write::{commit, temporary_path, write_atomic};

pub use layout::{ChartText, DrawnText, TextBox};
pub use plan::{chart_texts, draw_all};

static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
/// The family every chart asks for; the embedded font is registered under it.
const FAMILY: &str = "sans-serif";

/// A chart written to disk.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartFile {
    /// Which part of the report it belongs to ("modality", "curves", "attention", ...).
    pub section: String,
    pub title: String,
    /// What the chart says under its title: what every bar or line shares, how its curves
    /// were sampled.
    pub notes: Vec<String>,
    pub png: PathBuf,
    pub svg: PathBuf,
}

/// A chart that can be drawn on any plotters backend.
trait Chart {
    fn title(&self) -> String;
    /// Printed under the title (and in the page's caption).
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>;
}

/// Plotters' errors as text (its error types differ by backend).
fn failed<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

fn register_embedded_font() -> Result<(), String> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            register_font(FAMILY, FontStyle::Normal, FONT)
                .map_err(|_| "the embedded DejaVu Sans font does not parse".to_string())
        })
        .clone()
}

fn text_style(size: u32) -> TextStyle<'static> {
    (FAMILY, size).into_font().color(&BLACK)
}

/// Series colours (colour-blind-safe Okabe–Ito order); the paper's numbers are grey.
const SERIES: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
];
const PAPER: RGBColor = RGBColor(170, 170, 170);

fn series_color(i: usize) -> RGBColor {
    SERIES[i % SERIES.len()]
}

/// Draws `chart` as `dir/stem.png` and `dir/stem.svg`.
fn render(
    chart: &impl Chart,
    dir: &Path,
    section: &str,
    stem: &str,
) -> Result<ChartFile, ReportError> {
    let png = dir.join(format!("{stem}.png"));
    let svg = dir.join(format!("{stem}.svg"));
    let fail = |path: &Path| {
        let path = path.display().to_string();
        move |reason| ReportError::Chart { path, reason }
    };
    std::fs::create_dir_all(dir).map_err(ReportError::io(dir))?;
    register_embedded_font().map_err(fail(&png))?;
    let tmp = temporary_path(&png);
    {
        let root = BitMapBackend::new(&tmp, chart.size()).into_drawing_area();
        chart.draw(&root).map_err(fail(&png))?;
        root.present().map_err(failed).map_err(fail(&png))?;
    }
    commit(&tmp, &png)?;
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, chart.size()).into_drawing_area();
        chart.draw(&root).map_err(fail(&svg))?;
        root.present().map_err(failed).map_err(fail(&svg))?;
    }
    write_atomic(&svg, text.as_bytes())?;
    Ok(ChartFile {
        section: section.to_string(),
        title: chart.title(),
        notes: chart.notes(),
        png,
        svg,
    })
}

/// One seed's learning curve: (step, test accuracy in percent).
pub type Curve = Vec<(u64, f64)>;

/// Learning curves as `dir/stem.png` and `.svg`: per label, the mean of its seeds' curves
/// at the steps they all share.
pub fn mean_curves(
    dir: &Path,
    stem: &str,
    title: &str,
    curves: &[(String, Vec<Curve>)],
) -> Result<ChartFile, ReportError> {
    let chart = lines::LineChart {
        title: title.to_string(),
        x: lines::XAxis::Steps,
        lines: curves
            .iter()
            .map(|(label, seeds)| lines::Line {
                label: vec![label.clone()],
                paper: false,
                points: lines::mean_curve(seeds),
            })
            .collect(),
    };
    render(&chart, dir, "crosscheck", stem)
}

/// A file-name-safe version of an id.
fn slug(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}
