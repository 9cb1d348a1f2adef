//! `write_report`: runs on disk -> tables (CSV, Parquet), charts (PNG, SVG), index.html and
//! the terminal text.

use std::path::{Path, PathBuf};

use crate::aggregate::{aggregate_over_seeds, observations_frame, ours};
use crate::cells::{build, cells_frame, CellRecord};
use crate::charts::{draw_all, ChartFile};
use crate::context::context;
use crate::error::ReportError;
use crate::frame::write_csv_and_parquet;
use crate::load::load_runs;
use crate::observe::{suite_layouts, suite_observations, ungrouped_runs};
use crate::runs_table::runs_frame;
use crate::suite::load_suite;
use crate::write::write_atomic;
use crate::{html, reference, text};

/// A table's files.
#[derive(Debug, Clone, PartialEq)]
pub struct TableFiles {
    /// The paper table id, or "runs" for the one-line-per-run table.
    pub id: String,
    pub csv: PathBuf,
    pub parquet: PathBuf,
}

/// What `write_report` wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub index_html: PathBuf,
    /// A compact fixed-width version of every table, for the terminal.
    pub text: String,
    pub tables: Vec<TableFiles>,
    pub charts: Vec<ChartFile>,
    /// Every cell of every table, as in the CSV files.
    pub cells: Vec<CellRecord>,
}

/// Reads the runs under `runs_dir` (and its suite.json, if any) and writes the report into
/// `out_dir`: index.html, tables/, charts/.
pub fn write_report(runs_dir: &Path, out_dir: &Path) -> Result<Report, ReportError> {
    let paper = reference::tables()?;
    let runs = load_runs(runs_dir)?;
    let suite = load_suite(runs_dir, &paper)?;
    let (layouts, observations) = match &suite {
        Some(suite) => (
            suite_layouts(suite, &paper),
            suite_observations(suite, &runs),
        ),
        None => {
            let (layout, observations) = ungrouped_runs(&runs);
            (vec![layout], observations)
        }
    };
    let aggregated = if observations.is_empty() {
        None
    } else {
        Some(aggregate_over_seeds(&observations_frame(&observations)?)?)
    };
    let records = ours(aggregated.as_ref(), suite.as_ref())?;
    let cells = build(&layouts, &records)?;

    let tables_dir = out_dir.join("tables");
    let mut tables = Vec::new();
    for layout in &layouts {
        let here: Vec<&CellRecord> = cells.iter().filter(|c| c.table == layout.id).collect();
        let (csv, parquet) = write_csv_and_parquet(&cells_frame(&here)?, &tables_dir, &layout.id)?;
        tables.push(TableFiles {
            id: layout.id.clone(),
            csv,
            parquet,
        });
    }
    let (csv, parquet) = write_csv_and_parquet(&runs_frame(&runs)?, &tables_dir, "runs")?;
    tables.push(TableFiles {
        id: "runs".into(),
        csv,
        parquet,
    });

    let charts = draw_all(&layouts, &cells, &runs, &out_dir.join("charts"))?;
    let context = context(suite.as_ref(), &runs);
    let page = html::render(out_dir, &context, &layouts, &cells, &charts, &runs)?;
    let index_html = out_dir.join("index.html");
    write_atomic(&index_html, page.as_bytes())?;
    Ok(Report {
        index_html,
        text: text::render(&context, &layouts, &cells),
        tables,
        charts,
        cells,
    })
}
