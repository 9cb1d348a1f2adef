//! Whether a cell's runs are set up as the paper set up the same cell: in model, data,
//! budget and evaluation protocol. Only such cells are judged against the paper's numbers
//! (reproduced / below / above); every other one is shown beside the paper's number with
//! the differences, because a stand-in model on stand-in data after 1% of the steps says
//! nothing about whether the paper's number reproduces.
//!
//! The paper's setup is the `paper` profile's expansion of the same cell, so a profile that
//! matches it in every respect is comparable without declaring anything.

use std::collections::BTreeMap;

use crate::run::RunSpec;
use crate::schema::{CellRef, NotComparableCell};
use crate::suite::Suite;

/// How `ours` departs from `paper` in what decides a number (the evaluation grid included:
/// it sets the resolution of steps-to-target cells); empty when it does not.
pub fn differences(ours: &RunSpec, paper: &RunSpec) -> Vec<String> {
    let mut reasons = Vec::new();
    let mut differ = |differs: bool, reason: String| {
        if differs {
            reasons.push(reason);
        }
    };
    differ(
        ours.model != paper.model,
        format!("{} for {}", ours.model.label(), paper.model.label()),
    );
    differ(
        ours.layers != paper.layers,
        format!("{} for {} layers", layers(ours), layers(paper)),
    );
    differ(
        ours.task != paper.task,
        format!("{} for {}", ours.task.describe(), paper.task.describe()),
    );
    differ(
        ours.steps != paper.steps,
        format!("{} of {} steps", ours.steps, paper.steps),
    );
    differ(
        ours.batch_size != paper.batch_size,
        format!("batch {} for {}", ours.batch_size, paper.batch_size),
    );
    differ(
        ours.eval_split != paper.eval_split,
        format!(
            "scored on the {} split, the paper's on the {}",
            ours.eval_split.name(),
            paper.eval_split.name()
        ),
    );
    differ(
        ours.eval_sampled_batches != paper.eval_sampled_batches
            || ours.eval_examples != paper.eval_examples,
        format!(
            "evaluated on {}, the paper on {}",
            scored(ours),
            scored(paper)
        ),
    );
    differ(
        ours.eval_every != paper.eval_every,
        format!(
            "evaluated every {} steps for {}",
            ours.eval_every, paper.eval_every
        ),
    );
    differ(
        ours.clip_grad_norm != paper.clip_grad_norm
            || ours.input_dropout != paper.input_dropout
            || ours.orthogonal_gain != paper.orthogonal_gain,
        format!(
            "gradient clipping {}, input dropout {}, orthogonal gain {} for {}, {}, {}",
            ours.clip_grad_norm,
            ours.input_dropout,
            ours.orthogonal_gain,
            paper.clip_grad_norm,
            paper.input_dropout,
            paper.orthogonal_gain
        ),
    );
    differ(
        ours.frozen_precision != paper.frozen_precision,
        format!(
            "frozen weights in {} for {}",
            ours.frozen_precision.name(),
            paper.frozen_precision.name()
        ),
    );
    reasons
}

fn layers(spec: &RunSpec) -> String {
    spec.layers.map_or("all".into(), |n| n.to_string())
}

/// What an evaluation scores: the whole split, N of its examples, or sampled batches.
fn scored(spec: &RunSpec) -> String {
    match (spec.eval_sampled_batches, spec.eval_examples) {
        (Some(batches), _) => format!("{batches} sampled batches of {}", spec.batch_size),
        (None, Some(n)) => format!("{n} examples"),
        (None, None) => "the full split".into(),
    }
}

/// The cells of `ours` that carry a value (run, derived and fixed cells) and are not set up
/// as `paper` sets them up, with the differences; `paper` is `Err(why)` when there is no
/// paper setup to compare with, which makes every cell not comparable.
pub fn not_comparable(ours: &Suite, paper: Result<&Suite, String>) -> Vec<NotComparableCell> {
    let paper = match paper {
        Ok(paper) => paper,
        Err(why) => {
            let every = valued_cells(ours).into_iter();
            return every
                .map(|cell| not_comparable_cell(cell, vec![why.clone()]))
                .collect();
        }
    };
    let (ours_setups, paper_setups) = (setups(ours), setups(paper));
    let mut reasons: BTreeMap<CellRef, Vec<String>> = BTreeMap::new();
    for (cell, setup) in &ours_setups {
        let differ = match paper_setups.get(cell) {
            Some(theirs) => setup.differences(theirs),
            None => vec!["the paper profile does not run this cell".into()],
        };
        reasons.insert(cell.clone(), differ);
    }
    for fixed in &ours.fixed {
        let theirs = paper.fixed.iter().find(|f| f.cell == fixed.cell);
        let differ = match theirs {
            Some(theirs) if theirs.value == fixed.value => vec![],
            Some(theirs) => vec![format!("{} for {}", fixed.note, theirs.note)],
            None => vec!["the paper profile does not run this cell".into()],
        };
        reasons.insert(fixed.cell.clone(), differ);
    }
    // A ratio is comparable when both its cells are.
    for derived in &ours.derived {
        let mut differ: Vec<String> = Vec::new();
        for part in [&derived.numerator, &derived.denominator] {
            for reason in reasons.get(part).into_iter().flatten() {
                if !differ.contains(reason) {
                    differ.push(reason.clone());
                }
            }
        }
        reasons.insert(derived.cell.clone(), differ);
    }
    reasons
        .into_iter()
        .filter(|(_, differ)| !differ.is_empty())
        .map(|(cell, differ)| not_comparable_cell(cell, differ))
        .collect()
}

fn not_comparable_cell(cell: CellRef, reasons: Vec<String>) -> NotComparableCell {
    NotComparableCell { cell, reasons }
}

/// Every cell of `suite` that shows a value of ours.
fn valued_cells(suite: &Suite) -> Vec<CellRef> {
    let mut cells: Vec<CellRef> = setups(suite).into_keys().collect();
    cells.extend(suite.derived.iter().map(|d| d.cell.clone()));
    cells.extend(suite.fixed.iter().map(|f| f.cell.clone()));
    cells
}

/// How one cell's runs are set up: the first run's spec and every learning rate tried.
struct Setup<'a> {
    spec: &'a RunSpec,
    lrs: Vec<f64>,
}

impl Setup<'_> {
    fn differences(&self, paper: &Setup) -> Vec<String> {
        let mut reasons = differences(self.spec, paper.spec);
        if self.lrs != paper.lrs {
            reasons.push(format!("lr {:?} for {:?}", self.lrs, paper.lrs));
        }
        reasons
    }
}

fn setups(suite: &Suite) -> BTreeMap<CellRef, Setup<'_>> {
    let mut setups: BTreeMap<CellRef, Setup> = BTreeMap::new();
    for run in &suite.runs {
        for use_ in &run.cells {
            let setup = setups.entry(use_.cell.clone()).or_insert(Setup {
                spec: &run.spec,
                lrs: Vec::new(),
            });
            if !setup.lrs.contains(&run.spec.optimizer.lr) {
                setup.lrs.push(run.spec.optimizer.lr);
                // A set: the same sweep listed in another order is the same setup.
                setup.lrs.sort_by(f64::total_cmp);
            }
        }
    }
    setups
}
