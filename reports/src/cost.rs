//! What training only the output layer saves beside FPT, three ways and each labelled: the
//! measured time of a gradient step (the steps alone; output-only on cached features), the
//! counted matmul FLOPs of a step (`training::flops`: the head alone against a forward and
//! an input-gradient backward through the frozen body), and the end-to-end wall time of the
//! two runs (feature caching and evaluations included). The slides' "500-2000x" is the
//! first kind; a whole-run ratio is not comparable with it.

use std::collections::BTreeMap;

use polars::prelude::*;
use spec::schema::{RunResult, SuiteManifest};

use crate::error::ReportError;
use crate::frame::column;
use crate::load::Run;

/// The table whose output-only and FPT columns are compared.
const TABLE: &str = "output-only";

/// One seed's FPT run beside its output-only run, on one task.
#[derive(Debug, Clone, PartialEq)]
pub struct CostPair {
    pub task: String,
    pub seed: u64,
    pub lr: f64,
    /// Seconds per gradient step: (FPT, output-only).
    pub step_seconds: (Option<f64>, Option<f64>),
    pub step_flops: (Option<f64>, Option<f64>),
    pub wall_seconds: (f64, f64),
    /// Whether either result predates schema 3, whose step time included feature caching.
    pub caching_in_step_time: bool,
}

impl CostPair {
    /// FPT ÷ output-only, for each of the three measures (absent where a run lacks it).
    pub fn ratios(&self) -> [Option<f64>; 3] {
        let ratio = |(fpt, oo): (Option<f64>, Option<f64>)| match (fpt, oo) {
            (Some(f), Some(o)) if o > 0.0 => Some(f / o),
            _ => None,
        };
        [
            ratio(self.step_seconds),
            ratio(self.step_flops),
            ratio((Some(self.wall_seconds.0), Some(self.wall_seconds.1))),
        ]
    }
}

/// The measures, in [`CostPair::ratios`] order, as the report names them.
pub const MEASURES: [&str; 3] = [
    "time per step (measured; output-only on cached features)",
    "matmul FLOPs per step (counted)",
    "whole run, wall clock (feature caching and evaluations included)",
];

/// What the three measures are, for the report.
pub const COST_NOTE: &str = "FPT ÷ output-only, mean over seed pairs (lowest–highest). Output-only trains the head on \
the frozen body's features, cached once. The slides' 500–2000× is the time of a gradient step; the counted FLOPs say \
what the step's arithmetic allows (an FPT step is about twice its forward: the frozen body computes no weight \
gradients); the whole-run wall ratio also pays for caching the features and for the evaluations, so it is far smaller \
and not comparable with the slides' figure.";

/// Every finished pair of the suite's output-only and FPT runs, by task then seed.
pub fn cost_pairs(suite: &SuiteManifest, runs: &[Run]) -> Vec<CostPair> {
    let result = |id: &str| runs.iter().find(|r| r.id == id)?.result.as_ref();
    // (task, seed, lr) -> (FPT's result, output-only's result).
    let mut arms: BTreeMap<(String, u64, u64), [Option<&RunResult>; 2]> = BTreeMap::new();
    for planned in &suite.runs {
        for used in planned.cells.iter().filter(|c| c.cell.table == TABLE) {
            let slot = match used.cell.column.as_str() {
                "fpt" => 0,
                "output-only" => 1,
                _ => continue,
            };
            let key = (used.cell.row.clone(), planned.seed, planned.lr.to_bits());
            arms.entry(key).or_default()[slot] = result(&planned.id);
        }
    }
    arms.into_iter()
        .filter_map(|((task, seed, lr), [fpt, oo])| {
            let (fpt, oo) = (fpt?, oo?);
            Some(CostPair {
                task,
                seed,
                lr: f64::from_bits(lr),
                step_seconds: (fpt.seconds_per_step, oo.seconds_per_step),
                step_flops: (fpt.flops_per_step, oo.flops_per_step),
                wall_seconds: (fpt.wall_seconds, oo.wall_seconds),
                caching_in_step_time: fpt.schema_version < 3 || oo.schema_version < 3,
            })
        })
        .collect()
}

/// One task's ratios over its seed pairs: mean, lowest, highest.
#[derive(Debug, Clone, PartialEq)]
pub struct CostSummary {
    pub task: String,
    pub seeds: usize,
    pub ratios: [Option<(f64, f64, f64)>; 3],
    pub caching_in_step_time: bool,
}

pub fn summarise(pairs: &[CostPair]) -> Vec<CostSummary> {
    let mut tasks: Vec<&str> = pairs.iter().map(|p| p.task.as_str()).collect();
    tasks.dedup();
    tasks
        .into_iter()
        .map(|task| {
            let here: Vec<&CostPair> = pairs.iter().filter(|p| p.task == task).collect();
            let spread = |i: usize| {
                let values: Vec<f64> = here.iter().filter_map(|p| p.ratios()[i]).collect();
                (!values.is_empty()).then(|| {
                    let mean = values.iter().sum::<f64>() / values.len() as f64;
                    let low = values.iter().copied().fold(f64::INFINITY, f64::min);
                    let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    (mean, low, high)
                })
            };
            CostSummary {
                task: task.to_string(),
                seeds: here.len(),
                ratios: [spread(0), spread(1), spread(2)],
                caching_in_step_time: here.iter().any(|p| p.caching_in_step_time),
            }
        })
        .collect()
}

/// "180× (150–210×)", or "-" when no pair had the measure.
pub fn ratio_text(ratio: Option<(f64, f64, f64)>) -> String {
    let x = |v: f64| match v {
        v if v >= 100.0 => format!("{v:.0}×"),
        v if v >= 10.0 => format!("{v:.1}×").replace(".0×", "×"),
        v => format!("{v:.2}×"),
    };
    match ratio {
        None => "-".into(),
        Some((mean, low, high)) if low == high => x(mean),
        Some((mean, low, high)) => format!("{} ({}–{})", x(mean), x(low), x(high)),
    }
}

/// tables/output-only-cost: one row per seed pair.
pub fn cost_frame(pairs: &[CostPair]) -> Result<DataFrame, ReportError> {
    let get = |f: fn(&CostPair) -> Option<f64>| pairs.iter().map(f).collect::<Vec<_>>();
    DataFrame::new_infer_height(vec![
        column(
            "task",
            pairs.iter().map(|p| p.task.clone()).collect::<Vec<_>>(),
        ),
        column("seed", pairs.iter().map(|p| p.seed).collect::<Vec<_>>()),
        column("lr", pairs.iter().map(|p| p.lr).collect::<Vec<_>>()),
        column("fpt_seconds_per_step", get(|p| p.step_seconds.0)),
        column("output_only_seconds_per_step", get(|p| p.step_seconds.1)),
        column("step_time_ratio", get(|p| p.ratios()[0])),
        column("fpt_flops_per_step", get(|p| p.step_flops.0)),
        column("output_only_flops_per_step", get(|p| p.step_flops.1)),
        column("flops_ratio", get(|p| p.ratios()[1])),
        column("fpt_wall_seconds", get(|p| Some(p.wall_seconds.0))),
        column("output_only_wall_seconds", get(|p| Some(p.wall_seconds.1))),
        column("wall_ratio", get(|p| p.ratios()[2])),
        column(
            "step_time_includes_caching",
            pairs
                .iter()
                .map(|p| p.caching_in_step_time)
                .collect::<Vec<_>>(),
        ),
    ])
    .map_err(ReportError::frame("output-only-cost"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(seed: u64, fpt_step: f64, oo_step: f64) -> CostPair {
        CostPair {
            task: "listops".into(),
            seed,
            lr: 1e-3,
            step_seconds: (Some(fpt_step), Some(oo_step)),
            step_flops: (Some(2.0e9), None),
            wall_seconds: (100.0, 40.0),
            caching_in_step_time: false,
        }
    }

    #[test]
    fn each_measure_is_fpt_over_output_only_and_missing_parts_give_none() {
        let p = pair(0, 0.2, 0.001);
        let [step, flops, wall] = p.ratios();
        assert!((step.unwrap() - 200.0).abs() < 1e-9);
        assert_eq!(flops, None);
        assert_eq!(wall, Some(2.5));
        let s = summarise(&[
            pair(0, 0.2, 0.001),
            pair(1, 0.3, 0.002),
            pair(2, 0.1, 0.001),
        ]);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].seeds, 3);
        let (mean, low, high) = s[0].ratios[0].unwrap();
        assert!((mean - 150.0).abs() < 1e-9 && (low - 100.0).abs() < 1e-9);
        assert!((high - 200.0).abs() < 1e-9);
        assert_eq!(ratio_text(s[0].ratios[0]), "150× (100×–200×)");
        assert_eq!(ratio_text(s[0].ratios[2]), "2.50×");
        assert_eq!(ratio_text(None), "-");
    }
}
