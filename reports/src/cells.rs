//! The report's cells: every cell of every table, laid out as the paper does (a polars left
//! join of the layout with our records), with the paper's value, the delta and a verdict.

use polars::prelude::*;
use spec::schema::CellRef;

use crate::aggregate::OursRecord;
use crate::error::ReportError;
use crate::format;
use crate::frame::{cell_columns, column, read_cells, strings};
use crate::measurement::Measurement;
use crate::observe::TableLayout;
use crate::reference::{parse_value, PaperValue};
use crate::verdict::{judge, Ours, Verdict};

/// One cell of a report table, for one reported learning rate: the long format of the
/// tables/<table>.csv files.
#[derive(Debug, Clone, PartialEq)]
pub struct CellRecord {
    pub table: String,
    pub row: String,
    pub column: String,
    pub row_label: String,
    pub column_label: String,
    pub ours: Measurement,
    /// Our value as printed ("85.3 ± 1.2", ">2000", "4.0×"), empty when there is none.
    pub ours_text: String,
    pub paper_text: Option<String>,
    /// The paper's number in its unit (percent, count, or a ratio's midpoint).
    pub paper_value: Option<f64>,
    pub paper_diverged: bool,
    pub delta: Option<f64>,
    pub verdict: Verdict,
    pub note: String,
}

const KEYS: [&str; 3] = ["table", "row", "column"];

/// Every cell of the layouts with the paper's text, in layout order.
fn layout_frame(layouts: &[TableLayout]) -> PolarsResult<DataFrame> {
    let mut cols: [Vec<String>; 5] = Default::default();
    let mut paper: Vec<Option<String>> = Vec::new();
    for t in layouts {
        for (r, row) in t.rows.iter().enumerate() {
            for (c, col) in t.columns.iter().enumerate() {
                let values = [&t.id, &row.id, &col.id, &row.label, &col.label];
                for (column, value) in cols.iter_mut().zip(values) {
                    column.push(value.clone());
                }
                paper.push(
                    t.paper
                        .as_ref()
                        .and_then(|p| p.get(r)?.get(c))
                        .map(|cell| cell.text.clone()),
                );
            }
        }
    }
    let [table, row, col, row_label, column_label] = cols;
    DataFrame::new_infer_height(vec![
        column("table", table),
        column("row", row),
        column("column", col),
        column("row_label", row_label),
        column("column_label", column_label),
        column("paper_text", paper),
    ])
}

fn ours_frame(records: &[OursRecord]) -> PolarsResult<DataFrame> {
    let mut columns = cell_columns(&records.iter().map(|r| &r.cell).collect::<Vec<_>>());
    columns.extend(Measurement::columns(
        &records.iter().map(|r| &r.measured).collect::<Vec<_>>(),
    ));
    columns.extend([
        column(
            "fixed_text",
            records.iter().map(|r| r.text.clone()).collect::<Vec<_>>(),
        ),
        column(
            "preset",
            records
                .iter()
                .map(|r| r.preset.map(|v| v.name().to_string()))
                .collect::<Vec<_>>(),
        ),
        column(
            "note",
            records.iter().map(|r| r.note.clone()).collect::<Vec<_>>(),
        ),
    ]);
    DataFrame::new_infer_height(columns)
}

/// The layout's cells joined with our records (several rows for a cell whose learning
/// rates could not be selected), each judged against the paper.
pub fn build(layouts: &[TableLayout], ours: &[OursRecord]) -> Result<Vec<CellRecord>, ReportError> {
    let what = "report cells";
    let layout = layout_frame(layouts).map_err(ReportError::frame(what))?;
    let ours = ours_frame(ours).map_err(ReportError::frame(what))?;
    let mut args = JoinArgs::new(JoinType::Left);
    args.maintain_order = MaintainOrderJoin::Left;
    let joined = layout
        .join(&ours, KEYS, KEYS, args, None)
        .map_err(ReportError::frame(what))?;
    records(&joined).map_err(ReportError::frame(what))
}

fn records(joined: &DataFrame) -> PolarsResult<Vec<CellRecord>> {
    let text = |name| strings(joined, name);
    let (row_label, column_label, paper_text) = (
        text("row_label")?,
        text("column_label")?,
        text("paper_text")?,
    );
    let (fixed, preset, note) = (text("fixed_text")?, text("preset")?, text("note")?);
    let cells = read_cells(joined)?
        .into_iter()
        .zip(Measurement::read(joined)?);
    Ok(cells
        .enumerate()
        .map(|(i, (cell, ours))| {
            let s = |v: &[Option<String>]| v[i].clone().unwrap_or_default();
            let mut record = CellRecord {
                table: cell.table,
                row: cell.row,
                column: cell.column,
                row_label: s(&row_label),
                column_label: s(&column_label),
                ours,
                ours_text: s(&fixed),
                paper_text: paper_text[i].clone(),
                paper_value: None,
                paper_diverged: false,
                delta: None,
                verdict: Verdict::NotRun,
                note: s(&note),
            };
            judge_cell(
                &mut record,
                preset[i].as_deref().and_then(Verdict::from_name),
            );
            record
        })
        .collect())
}

/// Fills in the printed value, the paper's number, the delta, the verdict and the notes.
fn judge_cell(cell: &mut CellRecord, preset: Option<Verdict>) {
    let ours = cell.ours.clone();
    let paper = cell.paper_text.as_deref().and_then(parse_value);
    (cell.paper_value, cell.paper_diverged) = match paper {
        Some(PaperValue::Percent { value, diverged }) => (Some(value), diverged),
        Some(PaperValue::Count(value)) => (Some(value), false),
        Some(PaperValue::Ratio { low, high }) => (Some((low + high) / 2.0), false),
        Some(PaperValue::Missing) | None => (None, false),
    };
    let mut notes: Vec<String> = Vec::new();
    if !cell.note.is_empty() {
        notes.push(cell.note.clone());
    }
    if let (Some(unit), Some(mean)) = (ours.unit, ours.mean) {
        cell.ours_text = format::value(unit, mean, ours.sem, ours.bound);
    }
    if ours.pending > 0 {
        notes.push(format!("{} run(s) unfinished", ours.pending));
    }
    if ours.sampled {
        notes.push("sampled-batch evaluation, not the full split".into());
    }
    cell.verdict = match (preset, ours.unit, ours.mean) {
        (Some(v), _, _) => v,
        (None, None, _) => {
            notes.push("no run of this profile serves this cell".into());
            Verdict::NotRun
        }
        (None, Some(_), None) => {
            if ours.pending == 0 {
                notes.push("no value recorded".into());
            }
            Verdict::NotRun
        }
        (None, Some(unit), Some(value)) => {
            let ours = Ours {
                value,
                sem: ours.sem.unwrap_or(0.0),
                bound: ours.bound,
                unit,
            };
            let (verdict, delta) = judge(ours, paper.as_ref().unwrap_or(&PaperValue::Missing));
            cell.delta = delta;
            verdict
        }
    };
    cell.note = notes.join("; ");
}

/// Cells in the long format of the CSV and Parquet files.
pub fn cells_frame(cells: &[&CellRecord]) -> Result<DataFrame, ReportError> {
    let text = |f: fn(&CellRecord) -> String| cells.iter().map(|c| f(c)).collect::<Vec<_>>();
    let float = |f: fn(&CellRecord) -> Option<f64>| cells.iter().map(|c| f(c)).collect::<Vec<_>>();
    let refs: Vec<CellRef> = cells
        .iter()
        .map(|c| CellRef::new(&c.table, &c.row, &c.column))
        .collect();
    let mut columns = cell_columns(&refs.iter().collect::<Vec<_>>());
    columns.extend([
        column("row_label", text(|c| c.row_label.clone())),
        column("column_label", text(|c| c.column_label.clone())),
    ]);
    columns.extend(Measurement::columns(
        &cells.iter().map(|c| &c.ours).collect::<Vec<_>>(),
    ));
    columns.extend([
        column("ours_text", text(|c| c.ours_text.clone())),
        column(
            "paper_text",
            text(|c| c.paper_text.clone().unwrap_or_default()),
        ),
        column("paper_value", float(|c| c.paper_value)),
        column("delta", float(|c| c.delta)),
        column("verdict", text(|c| c.verdict.name().into())),
        column("note", text(|c| c.note.clone())),
    ]);
    DataFrame::new_infer_height(columns).map_err(ReportError::frame("cells"))
}
