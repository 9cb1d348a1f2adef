//! Line charts of test accuracy: learning curves (against gradient steps, one line per
//! configuration) and model-size scaling (against parameters on a log scale, ours beside
//! the paper's).

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{draw_legend, failed, series_color, text_style, Chart, PAPER};

pub(super) struct Line {
    pub label: String,
    /// Drawn grey with markers: the paper's numbers.
    pub paper: bool,
    /// (x, accuracy in percent), by x.
    pub points: Vec<(f64, f64)>,
}

pub(super) enum XAxis {
    Steps,
    /// Parameter counts, drawn on a log scale.
    Parameters,
}

pub(super) struct LineChart {
    pub title: String,
    pub x: XAxis,
    pub lines: Vec<Line>,
}

impl LineChart {
    fn x(&self, v: f64) -> f64 {
        match self.x {
            XAxis::Steps => v,
            XAxis::Parameters => v.max(1.0).log10(),
        }
    }

    fn x_range(&self) -> std::ops::Range<f64> {
        let xs = self
            .lines
            .iter()
            .flat_map(|l| l.points.iter().map(|p| self.x(p.0)));
        let (lo, hi) = xs.fold((f64::MAX, f64::MIN), |(lo, hi), x| (lo.min(x), hi.max(x)));
        match self.x {
            _ if lo > hi => 0.0..1.0,
            XAxis::Steps => 0.0..hi.max(1.0),
            XAxis::Parameters => lo - 0.3..hi + 0.3,
        }
    }
}

impl Chart for LineChart {
    fn title(&self) -> String {
        self.title.clone()
    }

    fn size(&self) -> (u32, u32) {
        (900, 480)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(failed)?;
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, text_style(20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(self.x_range(), 0.0..100.0)
            .map_err(failed)?;
        let x_format = |v: &f64| match self.x {
            XAxis::Steps => format!("{v:.0}"),
            XAxis::Parameters => crate::format::count(10f64.powf(*v)),
        };
        chart
            .configure_mesh()
            .x_desc(match self.x {
                XAxis::Steps => "gradient steps",
                XAxis::Parameters => "parameters (log scale)",
            })
            .y_desc("test accuracy (%)")
            .x_label_formatter(&x_format)
            .label_style(text_style(13))
            .draw()
            .map_err(failed)?;
        for (i, line) in self.lines.iter().enumerate() {
            let color = if line.paper { PAPER } else { series_color(i) };
            let style = color.stroke_width(2);
            let points: Vec<(f64, f64)> =
                line.points.iter().map(|(x, y)| (self.x(*x), *y)).collect();
            chart
                .draw_series(LineSeries::new(points.clone(), style))
                .map_err(failed)?
                .label(line.label.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], style));
            if line.paper || matches!(self.x, XAxis::Parameters) {
                chart
                    .draw_series(
                        points
                            .into_iter()
                            .map(|p| Circle::new(p, 4, color.filled())),
                    )
                    .map_err(failed)?;
            }
        }
        draw_legend(&mut chart, SeriesLabelPosition::LowerRight)
    }
}

/// The mean of several seeds' curves at the steps every one of them evaluated.
pub(super) fn mean_curve(curves: &[Vec<(u64, f64)>]) -> Vec<(f64, f64)> {
    let Some(first) = curves.first() else {
        return Vec::new();
    };
    first
        .iter()
        .filter_map(|(step, _)| {
            let values: Vec<f64> = curves
                .iter()
                .map(|c| c.iter().find(|p| p.0 == *step).map(|p| p.1))
                .collect::<Option<_>>()?;
            Some((
                *step as f64,
                values.iter().sum::<f64>() / values.len() as f64,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mean_curve_keeps_the_steps_all_seeds_share() {
        let a = vec![(0, 50.0), (10, 70.0), (20, 90.0)];
        let b = vec![(0, 60.0), (20, 100.0)];
        assert_eq!(mean_curve(&[a, b]), vec![(0.0, 55.0), (20.0, 95.0)]);
        assert_eq!(mean_curve(&[]), vec![]);
    }
}
