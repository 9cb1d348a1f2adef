//! The claims' forest plot: one line per tested comparison, its mean per-seed difference a − b
//! with the 95% interval as a whisker, against the zero line, coloured by verdict (the margins
//! of "about equal" and "at least" claims are in the claims table, not drawn). Comparisons in
//! one unit share a chart: accuracy points, or steps.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{failed, text_style, Chart, PAPER, SERIES};
use crate::claims::{ClaimRecord, ClaimVerdict};

pub(super) struct Forest<'a> {
    pub title: String,
    /// What the differences count ("accuracy points", "steps").
    pub unit: String,
    /// Comparisons with an interval, top to bottom.
    pub rows: Vec<&'a ClaimRecord>,
}

const ROW_HEIGHT: u32 = 26;

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
        (1000, (110 + ROW_HEIGHT * self.rows.len() as u32).max(240))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(failed)?;
        let n = self.rows.len();
        let x = self.x_range();
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, text_style(20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(420)
            .build_cartesian_2d(x.clone(), -0.5..n as f64 - 0.5)
            .map_err(failed)?;
        let label = |y: &f64| {
            let i = y.round();
            let row = (i >= 0.0 && (y - i).abs() < 1e-6)
                .then(|| self.rows.get(n - 1 - i as usize))
                .flatten();
            row.map_or(String::new(), |c| Self::label(c))
        };
        chart
            .configure_mesh()
            .x_desc(format!(
                "a − b, {} (mean and 95% interval over seeds)",
                self.unit
            ))
            .y_labels(n)
            .y_label_formatter(&label)
            .label_style(text_style(12))
            .disable_y_mesh()
            .draw()
            .map_err(failed)?;
        let zero = [(0.0, -0.5), (0.0, n as f64 - 0.5)];
        chart
            .draw_series(LineSeries::new(zero, BLACK.stroke_width(1)))
            .map_err(failed)?;
        for (i, claim) in self.rows.iter().enumerate() {
            let Some(interval) = claim.interval else {
                continue;
            };
            let y = (n - 1 - i) as f64;
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
        Ok(())
    }
}
