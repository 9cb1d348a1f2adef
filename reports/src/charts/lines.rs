//! Line charts of test accuracy: learning curves (against gradient steps, one line per
//! configuration) and model-size scaling (against parameters on a log scale, ours beside
//! the paper's).

use plotters::coord::Shift;
use plotters::prelude::*;

use super::layout::{
    draw_labels, heading, legend, own_parts, shared_note, shared_parts, Heading, Legend,
    LegendEntry, Swatch, LABEL_SIZE, MARGIN,
};
use super::{failed, series_color, text_style, Chart, PAPER};

pub(super) struct Line {
    /// The parts of the line's name (model, init, freeze, learning rate, seeds), the same
    /// number and meaning for every line of a chart; an empty part is left out.
    pub label: Vec<String>,
    /// Drawn grey: the paper's numbers.
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

/// What a learning curve of two evaluations, the first at step 0, says of itself: a straight
/// line between them shows nothing of the curve.
pub(super) const START_AND_END: &str = "evaluated at start and end only";

const WIDTH: u32 = 900;
/// The chart's area below the heading and legend: plot, axes and their labels.
const AREA_HEIGHT: i32 = 420;

struct LineLayout {
    heading: Heading,
    legend: Legend,
    /// From the top of the canvas to the chart's area.
    above: i32,
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

    fn color(&self, i: usize) -> RGBColor {
        if self.lines[i].paper {
            PAPER
        } else {
            series_color(i)
        }
    }

    /// A learning curve evaluated only at step 0 and once more.
    fn only_start_and_end(&self, line: &Line) -> bool {
        matches!(self.x, XAxis::Steps) && line.points.len() == 2 && line.points[0].0 == 0.0
    }

    fn all_only_start_and_end(&self) -> bool {
        !self.lines.is_empty() && self.lines.iter().all(|l| self.only_start_and_end(l))
    }

    fn shared(&self) -> Vec<usize> {
        let parts: Vec<&[String]> = self.lines.iter().map(|l| l.label.as_slice()).collect();
        shared_parts(&parts)
    }

    /// A line's legend text: its own parts (all of them when it has none of its own), and
    /// when only some lines were evaluated at start and end only, that it was.
    fn legend_text(&self, line: &Line, shared: &[usize]) -> String {
        let mut own = own_parts(&line.label, shared);
        if own.is_empty() {
            own = own_parts(&line.label, &[]);
        }
        let mut text = own.join(" / ");
        if self.only_start_and_end(line) && !self.all_only_start_and_end() {
            text.push_str(&format!(" ({START_AND_END})"));
        }
        text
    }

    fn layout(&self) -> LineLayout {
        let heading = heading(&self.title, &self.notes(), WIDTH);
        let shared = self.shared();
        let entries: Vec<LegendEntry> = self
            .lines
            .iter()
            .enumerate()
            .map(|(i, line)| LegendEntry {
                swatch: Swatch::Line(self.color(i)),
                text: self.legend_text(line, &shared),
            })
            .collect();
        let top = heading.height + 4;
        let legend = legend(&entries, top, MARGIN + 56, WIDTH as i32 - MARGIN);
        let above = top + legend.height;
        LineLayout {
            heading,
            legend,
            above,
        }
    }
}

impl Chart for LineChart {
    fn title(&self) -> String {
        self.title.clone()
    }

    /// What every line shares, and that all were evaluated at start and end only.
    fn notes(&self) -> Vec<String> {
        let shared = self.shared();
        let mut notes = Vec::new();
        if let Some(first) = self.lines.first() {
            notes.extend(shared_note("All lines", &first.label, &shared));
        }
        if self.all_only_start_and_end() {
            notes.push(format!(
                "{START_AND_END}: each line joins two points and shows no curve"
            ));
        }
        notes
    }

    fn size(&self) -> (u32, u32) {
        (WIDTH, (self.layout().above + AREA_HEIGHT) as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let layout = self.layout();
        root.fill(&WHITE).map_err(failed)?;
        draw_labels(root, &layout.heading.labels)?;
        layout.legend.draw(root)?;
        let (_, area) = root.split_vertically(layout.above);
        let mut chart = ChartBuilder::on(&area)
            .margin(MARGIN)
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
            .label_style(text_style(LABEL_SIZE))
            .draw()
            .map_err(failed)?;
        for (i, line) in self.lines.iter().enumerate() {
            let color = self.color(i);
            let points: Vec<(f64, f64)> =
                line.points.iter().map(|(x, y)| (self.x(*x), *y)).collect();
            chart
                .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
                .map_err(failed)?;
            // a marker at every evaluation: where the line is measured, not drawn
            let radius = if line.paper { 4 } else { 3 };
            chart
                .draw_series(
                    points
                        .into_iter()
                        .map(|p| Circle::new(p, radius, color.filled())),
                )
                .map_err(failed)?;
        }
        Ok(())
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
    use crate::charts::record::record;
    use crate::charts::register_embedded_font;

    /// A flat learning curve at 50% evaluated at `steps`.
    fn line(name: &str, steps: &[u64]) -> Line {
        Line {
            label: vec![name.to_string(), "lr 1e-3".to_string()],
            paper: false,
            points: steps.iter().map(|&s| (s as f64, 50.0)).collect(),
        }
    }

    fn curves(lines: Vec<Line>) -> LineChart {
        LineChart {
            title: "Learning curves".into(),
            x: XAxis::Steps,
            lines,
        }
    }

    /// Every text the chart draws.
    fn texts(chart: &LineChart) -> Vec<String> {
        let drawn = record(chart, "curves").unwrap();
        assert_eq!(drawn.problems(), Vec::<String>::new());
        drawn.texts.into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn start_and_end_only_is_said_where_it_is_so_and_nowhere_else() {
        let mixed = curves(vec![
            line("a", &[0, 200]),
            line("b", &[0, 50, 100, 150, 200]),
        ]);
        assert_eq!(mixed.notes(), ["All lines: lr 1e-3"]);
        let drawn = texts(&mixed);
        assert!(drawn.contains(&format!("a ({START_AND_END})")), "{drawn:?}");
        assert!(drawn.contains(&"b".to_string()), "{drawn:?}");

        let ends = curves(vec![line("a", &[0, 200]), line("b", &[0, 300])]);
        let notes = ends.notes();
        assert!(
            notes.iter().any(|n| n.starts_with(START_AND_END)),
            "{notes:?}"
        );
        // said once, for every line, not again in each legend entry
        let drawn = texts(&ends);
        assert_eq!(
            drawn.iter().filter(|t| t.contains(START_AND_END)).count(),
            1
        );

        let more = curves(vec![line("a", &[0, 100, 200]), line("b", &[0, 50, 100])]);
        assert!(more.notes().iter().all(|n| !n.contains("start and end")));
        assert!(texts(&more).iter().all(|t| !t.contains("start and end")));
        // parameter counts are not evaluations
        let scaling = LineChart {
            x: XAxis::Parameters,
            ..curves(vec![line("a", &[1_000_000, 2_000_000])])
        };
        assert!(scaling.notes().iter().all(|n| !n.contains("start and end")));
    }

    /// Columns of the plot (below the legend) where the topmost row of the line's colour has
    /// that colour, grouped into runs of neighbouring columns: one run per marker.
    fn marker_runs(chart: &LineChart) -> usize {
        register_embedded_font().unwrap();
        let (w, h) = chart.size();
        let mut buf = vec![0u8; (w * h * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
            chart.draw(&root).unwrap();
            root.present().unwrap();
        }
        let color = series_color(0);
        let is_line = |x: u32, y: u32| {
            let i = ((y * w + x) * 3) as usize;
            buf[i..i + 3] == [color.0, color.1, color.2]
        };
        let below_legend = (chart.layout().above + MARGIN) as u32;
        let top = (below_legend..h)
            .find(|&y| (0..w).any(|x| is_line(x, y)))
            .unwrap();
        let columns: Vec<u32> = (0..w).filter(|&x| is_line(x, top)).collect();
        1 + columns.windows(2).filter(|p| p[1] > p[0] + 1).count()
    }

    #[test]
    fn every_evaluation_has_a_marker() {
        for steps in [&[0, 200][..], &[0, 50, 100, 150, 200][..]] {
            let chart = curves(vec![line("a", steps)]);
            assert_eq!(marker_runs(&chart), steps.len(), "{steps:?}");
        }
    }

    #[test]
    fn the_mean_curve_keeps_the_steps_all_seeds_share() {
        let a = vec![(0, 50.0), (10, 70.0), (20, 90.0)];
        let b = vec![(0, 60.0), (20, 100.0)];
        assert_eq!(mean_curve(&[a, b]), vec![(0.0, 55.0), (20.0, 95.0)]);
        assert_eq!(mean_curve(&[]), vec![]);
    }
}
