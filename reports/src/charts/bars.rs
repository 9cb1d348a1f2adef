//! Grouped bar charts: ours (with SEM error bars) beside the paper's number per cell, and
//! steps to a target accuracy per task.

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{draw_legend, failed, series_color, text_style, Chart, PAPER};

pub(super) struct Bar {
    pub value: f64,
    pub err: f64,
    /// Printed above the bar (e.g. ">2000").
    pub annotation: String,
}

pub(super) struct BarGroup {
    /// Printed under the group, one line each.
    pub label: Vec<String>,
    /// One per series; `None` leaves a gap.
    pub bars: Vec<Option<Bar>>,
}

/// Plotters' context for a bar chart: x counts groups, y is the value (or its log10).
type BarContext<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A series named "paper" is drawn grey.
pub(super) struct BarChart {
    pub title: String,
    pub y_label: String,
    pub series: Vec<String>,
    pub groups: Vec<BarGroup>,
    /// Plot log10 of the values (step counts span orders of magnitude).
    pub log_y: bool,
}

impl BarChart {
    fn y(&self, v: f64) -> f64 {
        if self.log_y {
            v.max(1.0).log10()
        } else {
            v
        }
    }

    fn color(&self, series: usize) -> RGBColor {
        if self.series[series] == "paper" {
            PAPER
        } else {
            series_color(series)
        }
    }

    /// The series share 80% of each group's unit of x.
    fn bar_width(&self) -> f64 {
        0.8 / self.series.len().max(1) as f64
    }

    /// The x of series `series` in group `group`, `offset` bar widths from its bar's left edge.
    fn bar_x(&self, group: usize, series: usize, offset: f64) -> f64 {
        group as f64 + 0.1 + (series as f64 + offset) * self.bar_width()
    }

    /// The top of the y axis before headroom: the highest bar plus its error, and at least
    /// 100 (percent) or 1 (log10 of a count).
    fn y_max(&self) -> f64 {
        self.groups
            .iter()
            .flat_map(|g| g.bars.iter().flatten())
            .map(|b| self.y(b.value + b.err))
            .fold(if self.log_y { 1.0 } else { 100.0 }, f64::max)
    }

    /// The caption, margins and coordinates: one unit of x per group.
    fn build<'a, DB: DrawingBackend>(
        &self,
        root: &'a DrawingArea<DB, Shift>,
    ) -> Result<BarContext<'a, DB>, String> {
        let lines = self.groups.iter().map(|g| g.label.len()).max().unwrap_or(1) as u32;
        let n = self.groups.len().max(1) as f64;
        ChartBuilder::on(root)
            .caption(&self.title, text_style(20))
            .margin(12)
            .x_label_area_size(16 + 16 * lines)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..n, 0.0..self.y_max() * 1.12)
            .map_err(failed)
    }

    /// The y axis and its grid; a log axis is labelled with the counts, not their log10.
    fn draw_mesh<DB: DrawingBackend>(&self, chart: &mut BarContext<'_, DB>) -> Result<(), String> {
        let log = self.log_y;
        let y_format = |v: &f64| {
            if log {
                crate::format::count(10f64.powf(*v))
            } else {
                format!("{v:.0}")
            }
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_desc(self.y_label.as_str())
            .y_label_formatter(&y_format)
            .label_style(text_style(13))
            .draw()
            .map_err(failed)
    }

    /// One series at a time, so that each gets its legend entry.
    fn draw_bars<DB: DrawingBackend>(&self, chart: &mut BarContext<'_, DB>) -> Result<(), String> {
        let width = self.bar_width();
        for (s, name) in self.series.iter().enumerate() {
            let color = self.color(s);
            let bars = self.groups.iter().enumerate().filter_map(|(g, group)| {
                let bar = group.bars.get(s)?.as_ref()?;
                let x0 = self.bar_x(g, s, 0.0);
                Some(Rectangle::new(
                    [(x0, 0.0), (x0 + width * 0.92, self.y(bar.value))],
                    color.filled(),
                ))
            });
            chart
                .draw_series(bars)
                .map_err(failed)?
                .label(name.as_str())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 6), (x + 12, y + 6)], color.filled())
                });
        }
        Ok(())
    }

    /// The error bars and annotations of group `g`'s bars.
    fn draw_marks<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        chart: &mut BarContext<'_, DB>,
        g: usize,
        group: &BarGroup,
    ) -> Result<(), String> {
        for (s, bar) in group.bars.iter().enumerate() {
            let Some(bar) = bar else { continue };
            let x = self.bar_x(g, s, 0.46);
            if bar.err > 0.0 {
                self.draw_error_bar(chart, x, bar)?;
            }
            if !bar.annotation.is_empty() {
                self.draw_annotation(root, chart, x, bar)?;
            }
        }
        Ok(())
    }

    /// A vertical line over value ± err, capped at both ends.
    fn draw_error_bar<DB: DrawingBackend>(
        &self,
        chart: &mut BarContext<'_, DB>,
        x: f64,
        bar: &Bar,
    ) -> Result<(), String> {
        let (lo, hi) = (self.y(bar.value - bar.err), self.y(bar.value + bar.err));
        let cap = self.bar_width() * 0.2;
        for points in [
            vec![(x, lo), (x, hi)],
            vec![(x - cap, lo), (x + cap, lo)],
            vec![(x - cap, hi), (x + cap, hi)],
        ] {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    points,
                    BLACK.stroke_width(1),
                )))
                .map_err(failed)?;
        }
        Ok(())
    }

    /// The annotation centred just above the bar's error bar, in pixels on `root` so that it
    /// is not clipped by the plotting area.
    fn draw_annotation<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        chart: &BarContext<'_, DB>,
        x: f64,
        bar: &Bar,
    ) -> Result<(), String> {
        let style = text_style(12).pos(Pos::new(HPos::Center, VPos::Bottom));
        let top = self.y(bar.value + bar.err);
        let (px, py) = chart.backend_coord(&(x, top));
        root.draw(&Text::new(bar.annotation.clone(), (px, py - 2), style))
            .map_err(failed)
    }

    /// The group's label under the x axis, one line each.
    fn draw_group_label<DB: DrawingBackend>(
        root: &DrawingArea<DB, Shift>,
        chart: &BarContext<'_, DB>,
        g: usize,
        group: &BarGroup,
    ) -> Result<(), String> {
        let (px, py) = chart.backend_coord(&(g as f64 + 0.5, 0.0));
        for (line, text) in group.label.iter().enumerate() {
            let style = text_style(13).pos(Pos::new(HPos::Center, VPos::Top));
            root.draw(&Text::new(
                text.clone(),
                (px, py + 6 + 16 * line as i32),
                style,
            ))
            .map_err(failed)?;
        }
        Ok(())
    }
}

impl Chart for BarChart {
    fn title(&self) -> String {
        self.title.clone()
    }

    fn size(&self) -> (u32, u32) {
        let width = 160 + 40 * self.series.len() as u32 * self.groups.len() as u32;
        (width.clamp(800, 2400), 480)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(failed)?;
        let mut chart = self.build(root)?;
        self.draw_mesh(&mut chart)?;
        self.draw_bars(&mut chart)?;
        for (g, group) in self.groups.iter().enumerate() {
            self.draw_marks(root, &mut chart, g, group)?;
            Self::draw_group_label(root, &chart, g, group)?;
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)
    }
}
