//! The claims' forest plot: one line per tested comparison, its mean per-seed difference a − b
//! with the 95% interval as a whisker, against the zero line, coloured by verdict (the margins
//! of "about equal" and "at least" claims are in the claims table, not drawn). Comparisons in
//! one unit share a chart: accuracy points, or steps.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::HPos;

use super::font::{line_step, text_width, wrap_or_break};
use super::layout::{
    draw_labels, heading, legend, stack, Heading, Label, Legend, LegendEntry, Swatch, LABEL_SIZE,
    MARGIN,
};
use super::{failed, text_style, Chart, PAPER, SERIES};
use crate::claims::{ClaimRecord, ClaimVerdict};

pub(super) struct Forest<'a> {
    pub title: String,
    /// What the differences count ("accuracy points", "steps").
    pub unit: String,
    /// Comparisons with an interval, top to bottom.
    pub rows: Vec<&'a ClaimRecord>,
}

const WIDTH: i32 = 1000;
/// The widest the row labels' column may be before they wrap.
const LABEL_COLUMN: i32 = 420;
const ROW_LABEL_SIZE: u32 = 12;
const MIN_ROW_HEIGHT: i32 = 26;
const X_AREA: i32 = 44;
/// Between a row label and the plot.
const GAP: i32 = 8;

struct ForestLayout {
    heading: Heading,
    legend: Legend,
    above: i32,
    /// Each row's label, in lines.
    rows: Vec<Vec<String>>,
    label_column: i32,
    row_height: i32,
}

impl Forest<'_> {
    fn x_range(&self) -> std::ops::Range<f64> {
        let (lo, hi) = self
            .rows
            .iter()
            .filter_map(|c| c.interval)
            .fold((0.0f64, 0.0f64), |(lo, hi), i| {
                (lo.min(i.low), hi.max(i.high))
            });
        let pad = ((hi - lo) * 0.08).max(1.0);
        lo - pad..hi + pad
    }

    fn label(claim: &ClaimRecord) -> String {
        format!("{}: {} ({})", claim.claim, claim.comparison, claim.task)
    }

    fn layout(&self) -> ForestLayout {
        let size = f64::from(ROW_LABEL_SIZE);
        let rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|c| wrap_or_break(&Self::label(c), size, LABEL_COLUMN - GAP))
            .collect();
        let widest = rows.iter().flatten().map(|l| text_width(l, size)).max();
        let label_column = widest.unwrap_or(0) + 2 * GAP;
        let most = rows.iter().map(Vec::len).max().unwrap_or(1) as i32;
        let row_height = MIN_ROW_HEIGHT.max(most * line_step(size) + GAP);
        let heading = heading(&self.title, &[], WIDTH as u32);
        // the colours of the verdicts a row with an interval can have
        let entries: Vec<LegendEntry> = [
            ClaimVerdict::Supported,
            ClaimVerdict::Contradicted,
            ClaimVerdict::Inconclusive,
        ]
        .into_iter()
        .map(|verdict| LegendEntry {
            swatch: Swatch::Line(verdict_color(verdict)),
            text: verdict.name().into(),
        })
        .collect();
        let top = heading.height + 4;
        let legend = legend(&entries, top, MARGIN + label_column, WIDTH - MARGIN);
        ForestLayout {
            above: top + legend.height,
            heading,
            legend,
            rows,
            label_column,
            row_height,
        }
    }

    /// Each row's label, right-aligned against the plot and centred on its row.
    fn row_labels(&self, layout: &ForestLayout, left: i32, centres: &[i32]) -> Vec<Label> {
        let step = line_step(f64::from(ROW_LABEL_SIZE));
        layout
            .rows
            .iter()
            .zip(centres)
            .flat_map(|(lines, &y)| {
                let top = y - (step * lines.len() as i32 - 3) / 2;
                stack(lines, ROW_LABEL_SIZE, HPos::Right, left - GAP, top).0
            })
            .collect()
    }
}

fn verdict_color(verdict: ClaimVerdict) -> RGBColor {
    match verdict {
        ClaimVerdict::Supported => SERIES[2],
        ClaimVerdict::Contradicted => SERIES[1],
        _ => PAPER,
    }
}

impl Chart for Forest<'_> {
    fn title(&self) -> String {
        self.title.clone()
    }

    fn size(&self) -> (u32, u32) {
        let layout = self.layout();
        // a few rows' height at least, so that one comparison is not a sliver
        let rows = (layout.row_height * self.rows.len() as i32).max(4 * MIN_ROW_HEIGHT);
        (
            WIDTH as u32,
            (layout.above + 2 * MARGIN + rows + X_AREA) as u32,
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let layout = self.layout();
        root.fill(&WHITE).map_err(failed)?;
        draw_labels(root, &layout.heading.labels)?;
        layout.legend.draw(root)?;
        let (_, area) = root.split_vertically(layout.above);
        let n = self.rows.len();
        let x = self.x_range();
        let mut chart = ChartBuilder::on(&area)
            .margin(MARGIN)
            .x_label_area_size(X_AREA)
            .y_label_area_size(layout.label_column)
            .build_cartesian_2d(x.clone(), -0.5..n as f64 - 0.5)
            .map_err(failed)?;
        chart
            .configure_mesh()
            .x_desc(format!(
                "a − b, {} (mean and 95% interval over seeds)",
                self.unit
            ))
            .y_labels(0)
            .label_style(text_style(LABEL_SIZE))
            .disable_y_mesh()
            .draw()
            .map_err(failed)?;
        let zero = [(0.0, -0.5), (0.0, n as f64 - 0.5)];
        chart
            .draw_series(LineSeries::new(zero, BLACK.stroke_width(1)))
            .map_err(failed)?;
        let mut centres = Vec::new();
        for (i, claim) in self.rows.iter().enumerate() {
            let y = (n - 1 - i) as f64;
            centres.push(chart.backend_coord(&(x.start, y)).1);
            let Some(interval) = claim.interval else {
                continue;
            };
            let color = verdict_color(claim.verdict);
            chart
                .draw_series(LineSeries::new(
                    [(interval.low, y), (interval.high, y)],
                    color.stroke_width(2),
                ))
                .map_err(failed)?;
            chart
                .draw_series([Circle::new((interval.mean, y), 5, color.filled())])
                .map_err(failed)?;
        }
        let left = chart.plotting_area().get_pixel_range().0.start;
        draw_labels(root, &self.row_labels(&layout, left, &centres))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charts::record::record;
    use crate::stats::Interval;

    fn claim(i: usize) -> ClaimRecord {
        ClaimRecord {
            claim: format!("a-claim-with-a-long-identifier-number-{i}"),
            sentence: String::new(),
            table: "modality".into(),
            task: "remote-homology".into(),
            comparison: "positional-embeddings-and-residual-connections > lstm-12".into(),
            verdict: [ClaimVerdict::Supported, ClaimVerdict::Inconclusive][i % 2],
            interval: Some(Interval {
                mean: i as f64,
                low: i as f64 - 2.0,
                high: i as f64 + 2.0,
                n: 3,
            }),
            seeds: 3,
            unit: None,
            mcnemar: Vec::new(),
            note: String::new(),
        }
    }

    #[test]
    fn long_row_labels_wrap_in_their_column_and_nothing_overlaps() {
        let claims: Vec<ClaimRecord> = (0..12).map(claim).collect();
        let forest = Forest {
            title: "The paper's claims".into(),
            unit: "accuracy points".into(),
            rows: claims.iter().collect(),
        };
        let drawn = record(&forest, "claims").unwrap();
        assert_eq!(drawn.problems(), Vec::<String>::new());
        let lines: Vec<_> = drawn.texts.iter().filter(|t| t.size == 12.0).collect();
        assert!(lines.len() > claims.len(), "{} label lines", lines.len());
        let joined: String = lines.iter().map(|t| t.text.as_str()).collect();
        assert!(joined.contains("a-claim-with-a-long-identifier-number-11:"));
        assert!(lines
            .iter()
            .all(|t| t.bounds.right - t.bounds.left <= f64::from(LABEL_COLUMN)));
    }
}
