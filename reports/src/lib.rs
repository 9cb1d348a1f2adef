//! Reports derived from runs on disk.
//!
//! This crate reads the run directories' `result.json` files (the on-disk contract in
//! design.md) rather than the harness's types, so it depends on no model code and the
//! harness can call it at the end of `fpt reproduce`.

mod summary;

pub use summary::{
    load_results, render_markdown, summarise, write_summary, ReportError, ResultRecord, SummaryRow,
};
