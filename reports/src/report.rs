//! `write_report`: runs on disk -> tables (CSV, Parquet), charts (PNG, SVG), index.html and
//! the terminal text.

use std::path::{Path, PathBuf};

use polars::prelude::DataFrame;
use spec::schema::SuiteManifest;

use crate::aggregate::{aggregate_over_seeds, observations_frame, ours};
use crate::cells::{build, cells_frame, CellRecord};
use crate::charts::{chart_texts, draw_all, ChartFile, ChartText};
use crate::claims::{claims_frame, evaluate, ClaimRecord};
use crate::context::context;
use crate::cost::{self, cost_frame, cost_pairs, CostPair};
use crate::error::ReportError;
use crate::frame::write_csv_and_parquet;
use crate::load::{load_runs, Run};
use crate::observe::{suite_layouts, suite_observations, ungrouped_runs, TableLayout};
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
    /// Every comparison of every claim the paper makes, as in claims.csv.
    pub claims: Vec<ClaimRecord>,
}

/// Everything a report shows, computed from the runs on disk.
struct Analysis {
    runs: Vec<Run>,
    suite: Option<SuiteManifest>,
    layouts: Vec<TableLayout>,
    cells: Vec<CellRecord>,
    claims: Vec<ClaimRecord>,
    /// The output-only table's runs beside FPT's, seed by seed (with a suite).
    cost: Vec<CostPair>,
}

/// Reads the runs under `runs_dir` (and its suite.json, if any): the cells of every table
/// and, with a suite, the claims tested on them.
fn analyse(runs_dir: &Path) -> Result<Analysis, ReportError> {
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
    let claims = match &suite {
        Some(suite) => evaluate(
            &spec::claims::claims(&paper)?,
            &paper,
            &observations,
            &records,
            Some(suite),
        ),
        None => Vec::new(),
    };
    let cost = suite.as_ref().map_or(Vec::new(), |s| cost_pairs(s, &runs));
    Ok(Analysis {
        runs,
        suite,
        layouts,
        cells,
        claims,
        cost,
    })
}

/// The claims tested on the runs under `runs_dir` (none without suite.json), and their
/// terminal table.
pub fn claims_of(runs_dir: &Path) -> Result<(Vec<ClaimRecord>, String), ReportError> {
    let claims = analyse(runs_dir)?.claims;
    let text = text::render_claims(&claims);
    Ok((claims, text))
}

/// The text every chart of the report on `runs_dir` draws, and where, without writing it:
/// what the layout test checks for overlaps.
pub fn chart_layout(runs_dir: &Path) -> Result<Vec<ChartText>, ReportError> {
    let a = analyse(runs_dir)?;
    chart_texts(&a.layouts, &a.cells, &a.claims, &a.runs)
}

/// Reads the runs under `runs_dir` (and its suite.json, if any) and writes the report into
/// `out_dir`: index.html, tables/, charts/.
pub fn write_report(runs_dir: &Path, out_dir: &Path) -> Result<Report, ReportError> {
    let analysis = analyse(runs_dir)?;
    let tables = write_tables(&out_dir.join("tables"), &analysis)?;
    let Analysis {
        runs,
        suite,
        layouts,
        cells,
        claims,
        cost,
    } = analysis;
    let charts = draw_all(&layouts, &cells, &claims, &runs, &out_dir.join("charts"))?;
    let context = context(suite.as_ref(), &runs);
    let cost = cost::summarise(&cost);
    let page = html::Page {
        context: &context,
        claims: &claims,
        cost: &cost,
        layouts: &layouts,
        cells: &cells,
        charts: &charts,
        runs: &runs,
    };
    let index_html = out_dir.join("index.html");
    write_atomic(&index_html, html::render(out_dir, &page)?.as_bytes())?;
    Ok(Report {
        index_html,
        text: text::render(&context, &claims, &cost, &layouts, &cells),
        tables,
        charts,
        cells,
        claims,
    })
}

/// tables/: claims.csv (with a suite), output-only-cost.csv (when the suite ran that
/// table), a file per paper table, and runs.csv, each also as Parquet.
fn write_tables(dir: &Path, analysis: &Analysis) -> Result<Vec<TableFiles>, ReportError> {
    let mut frames: Vec<(String, DataFrame)> = Vec::new();
    if analysis.suite.is_some() {
        frames.push(("claims".into(), claims_frame(&analysis.claims)?));
    }
    if !analysis.cost.is_empty() {
        frames.push(("output-only-cost".into(), cost_frame(&analysis.cost)?));
    }
    for layout in &analysis.layouts {
        let here: Vec<&CellRecord> = analysis
            .cells
            .iter()
            .filter(|c| c.table == layout.id)
            .collect();
        frames.push((layout.id.clone(), cells_frame(&here)?));
    }
    frames.push(("runs".into(), runs_frame(&analysis.runs)?));
    frames
        .into_iter()
        .map(|(id, frame)| {
            let (csv, parquet) = write_csv_and_parquet(&frame, dir, &id)?;
            Ok(TableFiles { id, csv, parquet })
        })
        .collect()
}
