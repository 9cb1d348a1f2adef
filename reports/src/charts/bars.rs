//! Grouped bar charts: ours (with SEM error bars) beside the paper's number per cell, and
//! steps to a target accuracy per task.
//!
//! Labels are laid out before anything is drawn: the parts of the group labels every group
//! shares (the model, the learning rate) go under the title once; the rest stays under each
//! group, wrapped onto lines that fit the group's width, or turned to read upwards when a
//! word is wider than the group. An annotation wider than its bar is turned likewise, and
//! the y axis leaves room above the bars for it.

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::HPos;

use super::font::{line_step, text_width, wrap, wrap_or_break};
use super::layout::{
    draw_labels, heading, legend, own_parts, shared_note, shared_parts, stack, Heading, Label,
    Legend, LegendEntry, Swatch, LABEL_SIZE, MARGIN,
};
use super::{failed, series_color, text_style, Chart, PAPER};

pub(super) struct Bar {
    pub value: f64,
    pub err: f64,
    /// Printed above the bar (e.g. ">2000").
    pub annotation: String,
}

pub(super) struct BarGroup {
    /// The parts of the group's label (row, task, model, learning rate), the same number and
    /// meaning in every group of a chart; an empty part is left out.
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

/// The y axis's label area.
const Y_AREA: i32 = 64;
/// The plotting area's height.
const PLOT_HEIGHT: i32 = 320;
/// The longest a turned group label's line may be before it wraps.
const TURNED_LINE: i32 = 200;
const ANNOTATION_SIZE: u32 = 12;
/// Pixels between a group's label and its neighbour's, and between an annotation and its bar.
const GAP: i32 = 6;

/// Where the chart's texts go, decided before drawing.
struct BarLayout {
    width: u32,
    height: u32,
    heading: Heading,
    legend: Legend,
    /// From the top of the canvas to the chart's area (below the heading and legend).
    above: i32,
    /// Each group's label, in lines.
    group_lines: Vec<Vec<String>>,
    /// Group labels read upwards (some word is wider than a group).
    turned: bool,
    /// The height of the label area under the x axis.
    label_area: i32,
    /// The top of the y axis, in plotted units, with room for the annotations.
    y_top: f64,
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

    fn group_count(&self) -> usize {
        self.groups.len().max(1)
    }

    /// Which label parts every group shares, and the note that says them once.
    fn shared(&self) -> (Vec<usize>, Option<String>) {
        let parts: Vec<&[String]> = self.groups.iter().map(|g| g.label.as_slice()).collect();
        let shared = shared_parts(&parts);
        let note = parts
            .first()
            .and_then(|first| shared_note("All groups", first, &shared));
        (shared, note)
    }

    /// The canvas width before the labels ask for more: 40 px per bar, 800 to 2400.
    fn base_width(&self) -> i32 {
        let bars = (self.series.len() * self.groups.len()) as i32;
        (160 + 40 * bars).clamp(800, 2400)
    }

    /// A group's width in pixels on a canvas `width` wide.
    fn group_px(&self, width: i32) -> i32 {
        (width - 2 * MARGIN - Y_AREA) / self.group_count() as i32
    }

    /// One bar's share of a group's width, where its annotation must fit (or turn).
    fn slot_px(&self, group_px: i32) -> i32 {
        (f64::from(group_px) * self.bar_width() * 0.92) as i32
    }

    /// Each group's own label parts as lines: flat when every part wraps into the group's
    /// width, else (`true`) turned, each part wrapped at [`TURNED_LINE`].
    fn group_lines(&self, parts: &[Vec<String>], group_px: i32) -> (Vec<Vec<String>>, bool) {
        let size = f64::from(LABEL_SIZE);
        let flat: Option<Vec<Vec<String>>> = parts
            .iter()
            .map(|own| {
                own.iter()
                    .map(|p| wrap(p, size, group_px - GAP))
                    .collect::<Option<Vec<_>>>()
                    .map(|lines| lines.concat())
            })
            .collect();
        match flat {
            Some(lines) => (lines, false),
            None => {
                let turned = parts
                    .iter()
                    .map(|own| {
                        own.iter()
                            .flat_map(|p| wrap_or_break(p, size, TURNED_LINE))
                            .collect()
                    })
                    .collect();
                (turned, true)
            }
        }
    }

    /// The width a group needs: its turned lines side by side, and each bar's annotation
    /// turned within its slot.
    fn needed_group_px(&self, lines: &[Vec<String>], turned: bool) -> i32 {
        let across = if turned {
            let most = lines.iter().map(Vec::len).max().unwrap_or(1) as i32;
            most * line_step(f64::from(LABEL_SIZE)) + GAP
        } else {
            0
        };
        let slot = line_step(f64::from(ANNOTATION_SIZE)) + 2;
        let for_annotations = (f64::from(slot) / (self.bar_width() * 0.92)).ceil() as i32;
        across.max(for_annotations)
    }

    fn layout(&self) -> BarLayout {
        let (shared, note) = self.shared();
        let parts: Vec<Vec<String>> = self
            .groups
            .iter()
            .map(|g| own_parts(&g.label, &shared))
            .collect();
        let mut width = self.base_width();
        let (group_lines, turned) = self.group_lines(&parts, self.group_px(width));
        let needed = self.needed_group_px(&group_lines, turned);
        if self.group_px(width) < needed {
            width = 2 * MARGIN + Y_AREA + needed * self.group_count() as i32;
        }
        let heading = heading(&self.title, &Vec::from_iter(note), width as u32);
        let entries: Vec<LegendEntry> = self
            .series
            .iter()
            .enumerate()
            .map(|(s, name)| LegendEntry {
                swatch: Swatch::Bar(self.color(s)),
                text: name.clone(),
            })
            .collect();
        let legend = legend(
            &entries,
            heading.height + 4,
            MARGIN + Y_AREA,
            width - MARGIN,
        );
        let label_area = self.label_area(&group_lines, turned);
        let above = heading.height + 4 + legend.height;
        let height = above + 2 * MARGIN + PLOT_HEIGHT + label_area;
        BarLayout {
            width: width as u32,
            height: height as u32,
            y_top: self.y_top(self.slot_px(self.group_px(width))),
            heading,
            legend,
            above,
            group_lines,
            turned,
            label_area,
        }
    }

    /// The label area's height: the lines stacked, or the longest turned line.
    fn label_area(&self, lines: &[Vec<String>], turned: bool) -> i32 {
        let size = f64::from(LABEL_SIZE);
        let extent = if turned {
            lines
                .iter()
                .flatten()
                .map(|l| text_width(l, size))
                .max()
                .unwrap_or(0)
        } else {
            let most = lines.iter().map(Vec::len).max().unwrap_or(0) as i32;
            most * line_step(size)
        };
        extent + 2 * GAP
    }

    /// The pixels an annotation takes above its bar: a line, or its width when turned.
    fn annotation_extent(text: &str, slot_px: i32) -> i32 {
        let width = text_width(text, f64::from(ANNOTATION_SIZE));
        let extent = if width <= slot_px {
            line_step(f64::from(ANNOTATION_SIZE))
        } else {
            width
        };
        extent + GAP
    }

    /// The top of the y axis: the highest bar plus its error with 8% headroom, at least 100
    /// (percent) or 1 (log10 of a count), and high enough that every annotation fits above
    /// its bar inside the plot.
    fn y_top(&self, slot_px: i32) -> f64 {
        let plot = f64::from(PLOT_HEIGHT);
        self.groups
            .iter()
            .flat_map(|g| g.bars.iter().flatten())
            .map(|b| {
                let top = self.y(b.value + b.err);
                let room = if b.annotation.is_empty() {
                    0
                } else {
                    Self::annotation_extent(&b.annotation, slot_px)
                };
                (top * 1.08).max(top * plot / (plot - f64::from(room)).max(1.0))
            })
            .fold(if self.log_y { 1.0 } else { 100.0 }, f64::max)
    }

    /// The coordinates on the canvas below the heading and legend: one unit of x per group.
    fn build<'a, DB: DrawingBackend>(
        &self,
        area: &'a DrawingArea<DB, Shift>,
        layout: &BarLayout,
    ) -> Result<BarContext<'a, DB>, String> {
        ChartBuilder::on(area)
            .margin(MARGIN)
            .x_label_area_size(layout.label_area)
            .y_label_area_size(Y_AREA)
            .build_cartesian_2d(0.0..self.group_count() as f64, 0.0..layout.y_top)
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
            .label_style(text_style(LABEL_SIZE))
            .draw()
            .map_err(failed)
    }

    fn draw_bars<DB: DrawingBackend>(&self, chart: &mut BarContext<'_, DB>) -> Result<(), String> {
        let width = self.bar_width();
        for s in 0..self.series.len() {
            let color = self.color(s);
            let bars = self.groups.iter().enumerate().filter_map(|(g, group)| {
                let bar = group.bars.get(s)?.as_ref()?;
                let x0 = self.bar_x(g, s, 0.0);
                Some(Rectangle::new(
                    [(x0, 0.0), (x0 + width * 0.92, self.y(bar.value))],
                    color.filled(),
                ))
            });
            chart.draw_series(bars).map_err(failed)?;
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

    /// The error bars of every bar, and the annotations above them.
    fn draw_marks<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        chart: &mut BarContext<'_, DB>,
    ) -> Result<(), String> {
        let x = chart.plotting_area().get_pixel_range().0;
        let slot_px = self.slot_px((x.end - x.start) / self.group_count() as i32);
        for (g, group) in self.groups.iter().enumerate() {
            for (s, bar) in group.bars.iter().enumerate() {
                let Some(bar) = bar else { continue };
                let x = self.bar_x(g, s, 0.46);
                if bar.err > 0.0 {
                    self.draw_error_bar(chart, x, bar)?;
                }
                if !bar.annotation.is_empty() {
                    let (px, py) = chart.backend_coord(&(x, self.y(bar.value + bar.err)));
                    annotation(&bar.annotation, slot_px, (px, py - GAP / 2)).draw(root)?;
                }
            }
        }
        Ok(())
    }

    /// Every group's label under the x axis, centred under the group.
    fn group_labels<DB: DrawingBackend>(
        &self,
        chart: &BarContext<'_, DB>,
        layout: &BarLayout,
    ) -> Vec<Label> {
        let step = line_step(f64::from(LABEL_SIZE));
        let mut labels = Vec::new();
        for (g, lines) in layout.group_lines.iter().enumerate() {
            let (x, y) = chart.backend_coord(&(g as f64 + 0.5, 0.0));
            let top = y + GAP;
            if layout.turned {
                // side by side, the first on the left, each ending just under the axis
                let first = x - step * (lines.len() as i32 - 1) / 2;
                labels.extend(lines.iter().enumerate().map(|(i, line)| {
                    Label::upward(
                        line,
                        LABEL_SIZE,
                        HPos::Right,
                        (first + step * i as i32, top),
                    )
                }));
            } else {
                labels.extend(stack(lines, LABEL_SIZE, HPos::Center, x, top).0);
            }
        }
        labels
    }
}

/// An annotation centred over the bar at `at`: flat when it fits the bar's slot, else turned
/// to read upwards from there.
fn annotation(text: &str, slot_px: i32, at: (i32, i32)) -> Label {
    let size = f64::from(ANNOTATION_SIZE);
    if text_width(text, size) <= slot_px {
        let top = at.1 - line_step(size);
        Label::flat(text, ANNOTATION_SIZE, HPos::Center, (at.0, top))
    } else {
        Label::upward(text, ANNOTATION_SIZE, HPos::Left, at)
    }
}

impl Chart for BarChart {
    fn title(&self) -> String {
        self.title.clone()
    }

    fn notes(&self) -> Vec<String> {
        Vec::from_iter(self.shared().1)
    }

    fn size(&self) -> (u32, u32) {
        let layout = self.layout();
        (layout.width, layout.height)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let layout = self.layout();
        root.fill(&WHITE).map_err(failed)?;
        draw_labels(root, &layout.heading.labels)?;
        layout.legend.draw(root)?;
        let (_, area) = root.split_vertically(layout.above);
        let mut chart = self.build(&area, &layout)?;
        self.draw_mesh(&mut chart)?;
        self.draw_bars(&mut chart)?;
        self.draw_marks(root, &mut chart)?;
        draw_labels(root, &self.group_labels(&chart, &layout))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charts::record::record;

    /// `groups` groups of `series` bars, labelled with `parts(g)`, step counts from 1 to 10^4
    /// annotated with a bound.
    fn crowded(groups: usize, series: usize, parts: impl Fn(usize) -> Vec<String>) -> BarChart {
        BarChart {
            title: "A deliberately crowded chart: its title is long enough that it has to wrap \
                    within the canvas, however wide the canvas is made for its groups"
                .into(),
            y_label: "steps (log scale)".into(),
            series: (0..series).map(|s| format!("arm {s} (ours)")).collect(),
            groups: (0..groups)
                .map(|g| BarGroup {
                    label: parts(g),
                    bars: (0..series)
                        .map(|s| {
                            let value = 10f64.powi(((g + s) % 5) as i32);
                            Some(Bar {
                                value,
                                err: value / 10.0,
                                annotation: format!(">{}", value * 1000.0),
                            })
                        })
                        .collect(),
                })
                .collect(),
            log_y: true,
        }
    }

    fn is_turned(text: &crate::charts::DrawnText) -> bool {
        let b = text.bounds;
        b.bottom - b.top > b.right - b.left
    }

    #[test]
    fn labels_wider_than_their_group_turn_and_nothing_overlaps() {
        let parts = |g: usize| {
            vec![
                format!("Row {g}"),
                format!("unbreakablemodelname{g}"),
                "lr 1e-3".to_string(),
            ]
        };
        let chart = crowded(60, 3, parts);
        let drawn = record(&chart, "crowded").unwrap();
        assert_eq!(drawn.problems(), Vec::<String>::new());
        assert_eq!(chart.notes(), ["All groups: lr 1e-3"]);
        // the learning rate every group shares is drawn once: in the note
        let shared = drawn.texts.iter().filter(|t| t.text.contains("lr 1e-3"));
        assert_eq!(shared.count(), 1);
        let row = drawn.texts.iter().find(|t| t.text == "Row 7").unwrap();
        assert!(is_turned(row), "{:?}", row.bounds);
        // the title wrapped onto lines within the canvas
        let title_lines = drawn.texts.iter().filter(|t| t.size == 20.0).count();
        assert!(title_lines >= 1 && drawn.width >= 2400);
        // some annotations are wider than their bars: turned, and still inside the plot
        assert!(drawn
            .texts
            .iter()
            .any(|t| t.text == ">10000000" && is_turned(t)));
    }

    #[test]
    fn labels_that_fit_stay_flat_wrapped_to_their_group() {
        let parts = |g: usize| {
            vec![
                "+ Positional Embeddings + Residual Connections".to_string(),
                format!("task {g}"),
            ]
        };
        let chart = crowded(6, 2, parts);
        let drawn = record(&chart, "flat").unwrap();
        assert_eq!(drawn.problems(), Vec::<String>::new());
        assert_eq!(
            chart.notes(),
            ["All groups: + Positional Embeddings + Residual Connections"]
        );
        let task = drawn.texts.iter().find(|t| t.text == "task 3").unwrap();
        assert!(!is_turned(task));
        // a long part that is not shared wraps onto lines no wider than its group
        let parts = |g: usize| {
            vec![format!(
                "+ Positional Embeddings + Residual Connections {g}"
            )]
        };
        let drawn = record(&crowded(6, 2, parts), "wrapped").unwrap();
        assert_eq!(drawn.problems(), Vec::<String>::new());
        let lines = drawn
            .texts
            .iter()
            .filter(|t| t.text.contains("Residual"))
            .count();
        assert!(lines == 6, "{lines} lines hold 'Residual'");
        assert!(drawn.texts.iter().any(|t| t.text == "+ Positional"));
    }
}
