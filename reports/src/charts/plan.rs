//! Which charts a report has, and the data each one shows.

use std::collections::BTreeMap;
use std::path::Path;

use super::attention::AttentionChart;
use super::bars::{Bar, BarChart, BarGroup};
use super::forest::Forest;
use super::layout::ChartText;
use super::lines::{mean_curve, Line, LineChart, XAxis};
use super::record::record;
use super::{render, slug, Chart, ChartFile};
use crate::cells::CellRecord;
use crate::claims::ClaimRecord;
use crate::error::ReportError;
use crate::format;
use crate::load::{recorded_lr, Run};
use crate::observe::TableLayout;
use crate::suite::Unit;

/// What is done with each chart of the report: drawn into files, or its text recorded.
trait ChartSink {
    type Output;
    fn take(
        &mut self,
        chart: &impl Chart,
        section: &str,
        stem: &str,
    ) -> Result<Self::Output, ReportError>;
}

/// Draws each chart as PNG and SVG into its directory.
struct Files<'a>(&'a Path);

impl ChartSink for Files<'_> {
    type Output = ChartFile;
    fn take(
        &mut self,
        chart: &impl Chart,
        section: &str,
        stem: &str,
    ) -> Result<ChartFile, ReportError> {
        render(chart, self.0, section, stem)
    }
}

/// Records the text each chart draws and where.
struct Texts;

impl ChartSink for Texts {
    type Output = ChartText;
    fn take(
        &mut self,
        chart: &impl Chart,
        _section: &str,
        stem: &str,
    ) -> Result<ChartText, ReportError> {
        record(chart, stem).map_err(|reason| ReportError::Chart {
            path: stem.to_string(),
            reason,
        })
    }
}

/// Every chart of the report, drawn into `dir`.
pub fn draw_all(
    layouts: &[TableLayout],
    cells: &[CellRecord],
    claims: &[ClaimRecord],
    runs: &[Run],
    dir: &Path,
) -> Result<Vec<ChartFile>, ReportError> {
    each_chart(layouts, cells, claims, runs, &mut Files(dir))
}

/// The text every chart of the report draws, and where, without drawing it.
pub fn chart_texts(
    layouts: &[TableLayout],
    cells: &[CellRecord],
    claims: &[ClaimRecord],
    runs: &[Run],
) -> Result<Vec<ChartText>, ReportError> {
    each_chart(layouts, cells, claims, runs, &mut Texts)
}

/// Hands every chart of the report to `sink`, in the page's order.
fn each_chart<S: ChartSink>(
    layouts: &[TableLayout],
    cells: &[CellRecord],
    claims: &[ClaimRecord],
    runs: &[Run],
    sink: &mut S,
) -> Result<Vec<S::Output>, ReportError> {
    let mut out = Vec::new();
    for (stem, chart) in forests(claims) {
        out.push(sink.take(&chart, "claims", stem)?);
    }
    for layout in layouts {
        let table: Vec<&CellRecord> = cells.iter().filter(|c| c.table == layout.id).collect();
        let bars = [
            ("table", accuracy_bars(layout, &table)),
            ("steps", steps_bars(layout, &table)),
        ];
        for (kind, chart) in bars {
            if let Some(chart) = chart {
                let stem = format!("{kind}-{}", slug(&layout.id));
                out.push(sink.take(&chart, &layout.id, &stem)?);
            }
        }
        if layout.id == "model-size" {
            if let Some(chart) = model_size_scaling(&table) {
                out.push(sink.take(&chart, &layout.id, "scaling-model-size")?);
            }
        }
    }
    for (task, chart) in learning_curves(runs) {
        let stem = format!("curves-{}", slug(&task));
        out.push(sink.take(&chart, "curves", &stem)?);
    }
    for run in runs {
        if let Some(maps) = &run.attention {
            let chart = AttentionChart { run: &run.id, maps };
            let stem = format!("attention-{}", slug(&run.id));
            out.push(sink.take(&chart, "attention", &stem)?);
        }
    }
    Ok(out)
}

fn measured(cell: &CellRecord, unit: Unit) -> Option<f64> {
    cell.ours.mean.filter(|_| cell.ours.unit == Some(unit))
}

/// Ours beside the paper for every accuracy cell we measured.
fn accuracy_bars(layout: &TableLayout, cells: &[&CellRecord]) -> Option<BarChart> {
    let groups: Vec<BarGroup> = cells
        .iter()
        .filter_map(|c| {
            let value = measured(c, Unit::Percent)?;
            let lr = c.ours.lr.map(|lr| format!("lr {}", format::lr(lr)));
            let ours = Bar {
                value,
                err: c.ours.sem.unwrap_or(0.0),
                annotation: if c.ours.diverged > 0 {
                    format!("{}†", c.ours.diverged)
                } else {
                    String::new()
                },
            };
            let paper = c
                .paper_value
                .filter(|_| c.paper_text.as_deref().is_some_and(|t| t.contains('%')));
            Some(BarGroup {
                label: vec![
                    c.row_label.clone(),
                    c.column_label.clone(),
                    c.ours.model.clone(),
                    lr.unwrap_or_default(),
                ],
                bars: vec![
                    Some(ours),
                    paper.map(|value| Bar {
                        value,
                        err: 0.0,
                        annotation: if c.paper_diverged {
                            "†".into()
                        } else {
                            String::new()
                        },
                    }),
                ],
            })
        })
        .collect();
    (!groups.is_empty()).then(|| BarChart {
        title: format!("{}: ours (mean ± SEM) vs paper", layout.id),
        y_label: "accuracy (%)".into(),
        series: vec!["ours".into(), "paper".into()],
        groups,
        log_y: false,
    })
}

/// Steps to the target accuracy per task, one bar per row (FPT, random...), with the
/// speed-up under each task.
fn steps_bars(layout: &TableLayout, cells: &[&CellRecord]) -> Option<BarChart> {
    let rows = rows_with_steps(layout, cells);
    let groups: Vec<BarGroup> = layout
        .columns
        .iter()
        .filter_map(|col| {
            let in_column: Vec<&CellRecord> = cells
                .iter()
                .copied()
                .filter(|c| c.column == col.id)
                .collect();
            steps_group(&col.label, &in_column, &rows)
        })
        .collect();
    let series = rows
        .iter()
        .filter_map(|r| layout.rows.iter().find(|h| h.id == *r))
        .map(|h| format!("{} (ours)", h.label))
        .collect();
    (!groups.is_empty()).then(|| BarChart {
        title: format!(
            "{}: steps to the target accuracy (>: not reached)",
            layout.id
        ),
        y_label: "steps (log scale)".into(),
        series,
        groups,
        log_y: true,
    })
}

/// The layout's rows with a step count in some cell, in layout order.
fn rows_with_steps<'a>(layout: &'a TableLayout, cells: &[&CellRecord]) -> Vec<&'a str> {
    layout
        .rows
        .iter()
        .filter(|r| {
            cells
                .iter()
                .any(|c| c.row == r.id && measured(c, Unit::Steps).is_some())
        })
        .map(|r| r.id.as_str())
        .collect()
}

/// One task's bars, one per row of `rows`; `None` when none of them has a step count.
fn steps_group(label: &str, in_column: &[&CellRecord], rows: &[&str]) -> Option<BarGroup> {
    let bars: Vec<Option<Bar>> = rows
        .iter()
        .map(|row| {
            let cell = in_column.iter().find(|c| c.row == *row)?;
            Some(Bar {
                value: measured(cell, Unit::Steps)?,
                err: cell.ours.sem.unwrap_or(0.0),
                annotation: cell.ours_text.clone(),
            })
        })
        .collect();
    if bars.iter().all(Option::is_none) {
        return None;
    }
    let speedup = speedup_line(in_column).unwrap_or_default();
    Some(BarGroup {
        label: vec![label.to_string(), speedup],
        bars,
    })
}

/// The task's measured speed-up and the paper's, printed under its bars.
fn speedup_line(in_column: &[&CellRecord]) -> Option<String> {
    let speedup = in_column
        .iter()
        .find(|c| c.ours.unit == Some(Unit::Ratio) && c.ours.mean.is_some())?;
    Some(format!(
        "{} {} (paper {})",
        speedup.row_label,
        speedup.ours_text,
        speedup.paper_text.as_deref().unwrap_or("-")
    ))
}

/// Accuracy against parameters for the model-size table's FPT and random columns.
fn model_size_scaling(cells: &[&CellRecord]) -> Option<LineChart> {
    let find = |row: &str, column: &str| cells.iter().find(|c| c.row == row && c.column == column);
    let rows: Vec<&str> = {
        let mut rows: Vec<&str> = cells.iter().map(|c| c.row.as_str()).collect();
        rows.dedup();
        rows
    };
    let mut lines = Vec::new();
    for column in ["fpt", "random"] {
        let mut ours = Vec::new();
        let mut paper = Vec::new();
        for row in &rows {
            let params = find(row, "total-params");
            let paper_params = params.and_then(|c| c.paper_value);
            let our_params = params
                .and_then(|c| measured(c, Unit::Params))
                .or(paper_params);
            let Some(cell) = find(row, column) else {
                continue;
            };
            if let (Some(p), Some(acc)) = (our_params, measured(cell, Unit::Percent)) {
                ours.push((p, acc));
            }
            if let (Some(p), Some(acc)) = (paper_params, cell.paper_value) {
                paper.push((p, acc));
            }
        }
        if !ours.is_empty() {
            lines.push(Line {
                label: vec![format!("{column} (ours)")],
                paper: false,
                points: ours,
            });
            lines.push(Line {
                label: vec![format!("{column} (paper)")],
                paper: true,
                points: paper,
            });
        }
    }
    (!lines.is_empty()).then(|| LineChart {
        title: "model-size: test accuracy against parameters".into(),
        x: XAxis::Parameters,
        lines,
    })
}

/// (step, test accuracy in percent) of one seed.
type SeedCurve = Vec<(u64, f64)>;

/// Per task, one mean curve per configuration (model, init, freeze, lr) over its seeds.
fn learning_curves(runs: &[Run]) -> Vec<(String, LineChart)> {
    let mut by_task: BTreeMap<&str, BTreeMap<Vec<String>, Vec<SeedCurve>>> = BTreeMap::new();
    for run in runs {
        let Some(result) = &run.result else { continue };
        if run.metrics.is_empty() {
            continue;
        }
        let lr = recorded_lr(result).map(|lr| format!("lr {}", format::lr(lr)));
        let label = vec![
            result.model.clone(),
            result.init.to_string(),
            result.freeze.clone(),
            lr.unwrap_or_default(),
        ];
        let points = run
            .metrics
            .iter()
            .map(|m| (m.step, 100.0 * m.test_accuracy))
            .collect();
        by_task
            .entry(&result.task)
            .or_default()
            .entry(label)
            .or_default()
            .push(points);
    }
    by_task
        .into_iter()
        .map(|(task, configurations)| {
            let lines = configurations
                .into_iter()
                .map(|(mut label, seeds)| {
                    label.push(match seeds.len() {
                        1 => "1 seed".to_string(),
                        n => format!("{n} seeds"),
                    });
                    Line {
                        label,
                        paper: false,
                        points: mean_curve(&seeds),
                    }
                })
                .collect();
            let chart = LineChart {
                title: format!("Learning curves: {task} (test accuracy, mean over seeds)"),
                x: XAxis::Steps,
                lines,
            };
            (task.to_string(), chart)
        })
        .collect()
}

/// The tested comparisons' forest plots, one per unit of difference.
fn forests(claims: &[ClaimRecord]) -> Vec<(&'static str, Forest<'_>)> {
    let units = [
        (Unit::Percent, "claims-accuracy", "accuracy points"),
        (Unit::Steps, "claims-steps", "gradient steps"),
    ];
    units
        .into_iter()
        .filter_map(|(unit, stem, name)| {
            let rows: Vec<&ClaimRecord> = claims
                .iter()
                .filter(|c| c.unit == Some(unit) && c.interval.is_some())
                .collect();
            (!rows.is_empty()).then(|| {
                let title = format!("The paper's claims: differences between arms ({name})");
                (
                    stem,
                    Forest {
                        title,
                        unit: name.into(),
                        rows,
                    },
                )
            })
        })
        .collect()
}
