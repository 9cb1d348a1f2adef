//! Our number for one cell, aggregated over seeds, and its columns in the polars frames
//! (the aggregated cells, the joined report cells and the CSV files share them).

use polars::prelude::*;

use crate::frame::{column, counts, flags, floats, strings};
use crate::stats::Bound;
use crate::suite::Unit;

#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    pub metric: String,
    /// `None` where no run serves the cell.
    pub unit: Option<Unit>,
    /// Mean over seeds, in the paper's unit (accuracy in percent).
    pub mean: Option<f64>,
    /// Standard error of the mean over seeds.
    pub sem: Option<f64>,
    /// Seeds that gave a value.
    pub n: u32,
    /// Seeds whose training diverged.
    pub diverged: u32,
    /// Runs of the cell that have not finished.
    pub pending: u32,
    pub bound: Bound,
    /// The models that produced the number ("a / b" for a ratio of two models' cells).
    pub model: String,
    pub lr: Option<f64>,
    /// Some seed was evaluated on sampled batches, not the full split.
    pub sampled: bool,
}

impl Measurement {
    pub fn empty(unit: Option<Unit>) -> Self {
        Measurement {
            metric: String::new(),
            unit,
            mean: None,
            sem: None,
            n: 0,
            diverged: 0,
            pending: 0,
            bound: Bound::Exact,
            model: String::new(),
            lr: None,
            sampled: false,
        }
    }

    /// The columns of `items`, in the order of the CSV files.
    pub(crate) fn columns(items: &[&Measurement]) -> Vec<Column> {
        let text = |f: fn(&Measurement) -> String| items.iter().map(|m| f(m)).collect::<Vec<_>>();
        let float =
            |f: fn(&Measurement) -> Option<f64>| items.iter().map(|m| f(m)).collect::<Vec<_>>();
        let count = |f: fn(&Measurement) -> u32| items.iter().map(|m| f(m)).collect::<Vec<_>>();
        vec![
            column("metric", text(|m| m.metric.clone())),
            column(
                "unit",
                items
                    .iter()
                    .map(|m| m.unit.map(|u| u.name().to_string()))
                    .collect::<Vec<_>>(),
            ),
            column("ours_mean", float(|m| m.mean)),
            column("ours_sem", float(|m| m.sem)),
            column("n", count(|m| m.n)),
            column("diverged", count(|m| m.diverged)),
            column("pending", count(|m| m.pending)),
            column("bound", text(|m| m.bound.name().into())),
            column("model", text(|m| m.model.clone())),
            column("lr", float(|m| m.lr)),
            column(
                "sampled_eval",
                items.iter().map(|m| m.sampled).collect::<Vec<_>>(),
            ),
        ]
    }

    /// The measurements of a frame that has [`Measurement::columns`]; nulls (rows a left
    /// join found nothing for) read as empty.
    pub(crate) fn read(df: &DataFrame) -> PolarsResult<Vec<Measurement>> {
        let text = |name| strings(df, name);
        let (metric, unit, bound, model) = (
            text("metric")?,
            text("unit")?,
            text("bound")?,
            text("model")?,
        );
        let (mean, sem, lr) = (
            floats(df, "ours_mean")?,
            floats(df, "ours_sem")?,
            floats(df, "lr")?,
        );
        let (n, diverged, pending) = (
            counts(df, "n")?,
            counts(df, "diverged")?,
            counts(df, "pending")?,
        );
        let sampled = flags(df, "sampled_eval")?;
        Ok((0..df.height())
            .map(|i| Measurement {
                metric: metric[i].clone().unwrap_or_default(),
                unit: unit[i].as_deref().and_then(Unit::from_name),
                mean: mean[i],
                sem: sem[i],
                n: n[i].unwrap_or(0),
                diverged: diverged[i].unwrap_or(0),
                pending: pending[i].unwrap_or(0),
                bound: Bound::from_name(bound[i].as_deref().unwrap_or_default()),
                model: model[i].clone().unwrap_or_default(),
                lr: lr[i],
                sampled: sampled[i].unwrap_or(false),
            })
            .collect())
    }
}
