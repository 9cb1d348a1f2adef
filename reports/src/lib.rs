//! Reports derived from runs on disk: tables against the paper's numbers (CSV, Parquet),
//! charts (PNG, SVG), one self-contained index.html and a terminal summary.
//!
//! This crate reads the run directories (the on-disk contract in docs/design.md section 4) rather than the
//! harness's types, so it depends on no model code and the harness can call
//! [`write_report`] at the end of `fpt reproduce`.

mod aggregate;
pub mod browser;
mod cells;
mod charts;
mod context;
mod error;
mod format;
mod frame;
mod html;
mod load;
mod measurement;
mod observe;
pub mod reference;
mod report;
mod runs_table;
mod stats;
mod suite;
mod text;
mod verdict;
mod write;

pub use cells::CellRecord;
pub use charts::ChartFile;
pub use error::ReportError;
pub use frame::read_parquet;
pub use load::{load_results, load_runs, AttentionMaps, MetricPoint, ResultRecord, Run};
pub use measurement::Measurement;
pub use report::{write_report, Report, TableFiles};
pub use stats::Bound;
pub use suite::{Metric, Unit};
pub use verdict::{Verdict, RULE as VERDICT_RULE};
