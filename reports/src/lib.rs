//! Reports derived from runs on disk: tables against the paper's numbers (CSV, Parquet),
//! charts (PNG, SVG), one self-contained index.html and a terminal summary.
//!
//! This crate reads the run directories (the on-disk contract in docs/design.md section 4)
//! through the `spec` crate's types and readers ([`spec::schema`], [`spec::run_dir`]): the
//! very types the harness writes, so a field added there is one the compiler checks here.
//! It depends on no model code and no libtorch, and the harness can call [`write_report`]
//! at the end of `fpt reproduce`.

mod aggregate;
pub mod browser;
mod cells;
mod charts;
mod claims;
mod context;
mod cost;
pub mod crosscheck;
mod error;
mod format;
mod frame;
mod html;
mod load;
mod mcnemar;
mod measurement;
mod observe;
mod report;
mod runs_table;
mod stats;
mod suite;
mod text;
mod verdict;
mod write;

/// The paper's numbers (experiments/paper.toml) are the `spec` crate's: profiles and suites
/// read them too.
pub use spec::reference;

pub use cells::CellRecord;
pub use charts::{ChartFile, ChartText, DrawnText, TextBox};
pub use claims::{ClaimRecord, ClaimVerdict, CLAIM_RULE, MIN_SEEDS};
pub use error::ReportError;
pub use frame::read_parquet;
pub use load::{load_results, load_runs, Run};
pub use measurement::Measurement;
pub use report::{chart_layout, claims_of, write_report, Report, TableFiles};
pub use spec::schema::Metric;
pub use stats::Bound;
pub use suite::Unit;
pub use verdict::{Verdict, RULE as VERDICT_RULE};
