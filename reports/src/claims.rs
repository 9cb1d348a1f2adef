//! The paper's claims tested on a profile's runs: for each comparison of a claim (an arm
//! against the next, on one task), the per-seed differences of the two arms' values, a t
//! interval over them, and a verdict that says no more than the interval does.
//!
//! Rules (docs/design.md section 7):
//! - arms are paired by seed (runs trained alike but for the arm) and only where both were
//!   scored on the same examples (equal data hashes); a verdict needs at least
//!   [`MIN_SEEDS`] pairs, fewer is inconclusive;
//! - the 95% t interval over the per-seed differences carries the seed-to-seed spread,
//!   widened by each difference's sampling error (examples scored; a step count's place
//!   between evaluations);
//! - beside it, McNemar's exact test per seed on the two arms' paired predictions (a second
//!   view of accuracy claims, not pooled across seeds and not part of the verdict; on the
//!   bit tasks every position is an answer, and positions of one example are not
//!   independent, so there its p is optimistic);
//! - greater: supported when the interval lies above 0, contradicted when below; less the
//!   mirror; at-least (margin m): supported above -m, contradicted below -m; about-equal:
//!   supported inside (-m, m), contradicted wholly outside it; otherwise inconclusive;
//! - a step count of a run that never reached its target is only a bound: it may support a
//!   claim only in the direction the bound is safe, never an "about equal" one;
//! - every seed giving the same difference (zero-width interval) is inconclusive;
//! - a task where the paper's own numbers do not bear the claim out is listed as such and
//!   not tested; a task whose cells this profile does not run is "not run", with why.

use std::collections::BTreeMap;
use std::path::PathBuf;

use polars::prelude::*;
use spec::claims::{ArmCells, Claim, Comparison, Relation};
use spec::reference::PaperTable;
use spec::schema::{CellRef, Metric, SuiteManifest};

use crate::aggregate::OursRecord;
use crate::error::ReportError;
use crate::frame::column;
use crate::mcnemar::{discordant, SeedTest};
use crate::observe::Observation;
use crate::stats::{mcnemar_exact, t_interval, Bound, Interval};
use crate::suite::{unit, Unit};

/// Fewer seed pairs than this give no verdict.
pub const MIN_SEEDS: usize = 3;

/// The rule in words, for the report.
pub const CLAIM_RULE: &str = "Each claim compares arms trained alike, seed by seed: the difference of the two arms' \
values per seed, and a 95% Student t interval over those differences, widened by each one's evaluation sampling error. Supported: the interval lies on the claimed side \
(for 'about equal', inside the margin); contradicted: it lies wholly on the other side; inconclusive otherwise, or with \
fewer than 3 seeds per arm, or when every seed gave the same difference. A task where the paper's own numbers do not bear \
the claim out is not tested (for 'at least', the paper's pair is read without the margin). Beside accuracy claims, \
McNemar's exact test on each seed's paired predictions (p per seed; a second view, not part of the verdict).";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ClaimVerdict {
    Supported,
    Contradicted,
    Inconclusive,
    NotRun,
    PaperDisagrees,
}

impl ClaimVerdict {
    pub fn name(self) -> &'static str {
        match self {
            ClaimVerdict::Supported => "supported",
            ClaimVerdict::Contradicted => "contradicted",
            ClaimVerdict::Inconclusive => "inconclusive",
            ClaimVerdict::NotRun => "not run",
            ClaimVerdict::PaperDisagrees => "the paper's own numbers disagree",
        }
    }
}

/// One comparison of one claim, as the report shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimRecord {
    pub claim: String,
    pub sentence: String,
    pub table: String,
    pub task: String,
    /// "fpt > random".
    pub comparison: String,
    pub verdict: ClaimVerdict,
    /// The seed pairs and the interval on a − b, when there were at least two.
    pub interval: Option<Interval>,
    pub seeds: usize,
    /// What the difference counts (percent: accuracy points; steps), once a run gave a value.
    pub unit: Option<Unit>,
    /// McNemar's exact test on each seed pair's predictions (accuracy claims whose runs
    /// wrote them).
    pub mcnemar: Vec<SeedTest>,
    pub note: String,
}

/// Every comparison of every claim, in claims.toml order.
pub fn evaluate(
    claims: &[Claim],
    paper: &[PaperTable],
    observations: &[Observation],
    records: &[OursRecord],
    suite: Option<&SuiteManifest>,
) -> Vec<ClaimRecord> {
    let values = SeedValues::new(observations, records, suite);
    let mut out = Vec::new();
    for claim in claims {
        let Some(table) = paper.iter().find(|t| t.id == claim.table) else {
            continue;
        };
        for comparison in claim.comparisons(table) {
            out.push(judge(claim, &comparison, &values));
        }
    }
    out
}

fn judge(claim: &Claim, comparison: &Comparison, values: &SeedValues) -> ClaimRecord {
    let mut record = ClaimRecord {
        claim: claim.id.clone(),
        sentence: claim.sentence.clone(),
        table: claim.table.clone(),
        task: comparison.task.clone(),
        comparison: format!(
            "{} {} {}",
            comparison.a.arm,
            claim.relation.symbol(),
            comparison.b.arm
        ),
        verdict: ClaimVerdict::Inconclusive,
        interval: None,
        seeds: 0,
        unit: values.unit(&comparison.a.cell),
        mcnemar: Vec::new(),
        note: String::new(),
    };
    if let Some(why) = &comparison.paper_disagrees {
        record.verdict = ClaimVerdict::PaperDisagrees;
        record.note = format!("the paper prints {why}");
        return record;
    }
    let (a, b) = match (values.arm(&comparison.a), values.arm(&comparison.b)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(why), _) | (_, Err(why)) => {
            record.verdict = ClaimVerdict::NotRun;
            record.note = why;
            return record;
        }
    };
    let (mut pairs, other_data) = paired_differences(&a, &b);
    record.seeds = pairs.len();
    let on_accuracy = [&comparison.a, &comparison.b]
        .iter()
        .all(|arm| arm.minus.is_none() && values.metric(&arm.cell) == Some(Metric::TestAccuracy));
    let mut failed = String::new();
    if on_accuracy {
        (record.mcnemar, failed) = mcnemar_tests(&pairs);
        use_paired_sampling_error(&mut pairs, &record.mcnemar);
    }
    let differences: Vec<(f64, Bound)> = pairs.iter().map(|p| (p.value, p.bound)).collect();
    let spreads: Vec<f64> = differences.iter().map(|d| d.0).collect();
    let sampling: Vec<f64> = pairs.iter().map(|p| p.sampling_sd).collect();
    record.interval = t_interval(&spreads, &sampling);
    let (verdict, mut note) = verdict(claim, &differences, record.interval);
    if other_data > 0 {
        let left_out = format!("{other_data} seed pair(s) scored on different examples left out");
        note = join_notes(&[&note, &left_out]);
    }
    (record.verdict, record.note) = (verdict, join_notes(&[&note, &failed]));
    record
}

/// Two arms scored on the same examples err together: where a seed's predictions give
/// exactly the accuracy difference compared (not a sampled-batch estimate, not a diverged
/// run's earlier evaluation), its sampling error is the paired one over the examples
/// ([`crate::mcnemar::Discordant::difference_sd`]), in place of the two accuracies' errors
/// combined as if independent.
fn use_paired_sampling_error(pairs: &mut [SeedPair], tests: &[SeedTest]) {
    for pair in pairs {
        let Some(test) = tests.iter().find(|t| t.seed == pair.seed) else {
            continue;
        };
        if (test.counts.difference() - pair.value).abs() < 1e-6 {
            pair.sampling_sd = test.counts.difference_sd;
        }
    }
}

/// McNemar's exact test on each seed pair whose runs both wrote predictions, and why any
/// pair could not be read.
fn mcnemar_tests(pairs: &[SeedPair]) -> (Vec<SeedTest>, String) {
    let mut failed = Vec::new();
    let tests = pairs
        .iter()
        .filter_map(|pair| {
            let (Some(a), Some(b)) = &pair.predictions else {
                return None;
            };
            match discordant(a, b) {
                Ok(counts) => Some(SeedTest {
                    seed: pair.seed,
                    p: mcnemar_exact(counts.a_only, counts.b_only),
                    counts,
                }),
                Err(why) => {
                    failed.push(format!("seed {}: no McNemar test ({why})", pair.seed));
                    None
                }
            }
        })
        .collect();
    (tests, failed.join("; "))
}

/// The verdict the differences allow, and what limited it.
fn verdict(
    claim: &Claim,
    differences: &[(f64, Bound)],
    interval: Option<Interval>,
) -> (ClaimVerdict, String) {
    if differences.len() < MIN_SEEDS {
        let note = format!(
            "{} seed pair(s); a verdict needs at least {MIN_SEEDS}",
            differences.len()
        );
        return (ClaimVerdict::Inconclusive, note);
    }
    let interval = interval.expect("at least two differences");
    let (low, high, m) = (interval.low, interval.high, claim.margin);
    let (supports, contradicts) = match claim.relation {
        Relation::Greater => (low > 0.0, high < 0.0),
        Relation::Less => (high < 0.0, low > 0.0),
        Relation::AtLeast => (low > -m, high < -m),
        Relation::AboutEqual => (low > -m && high < m, low > m || high < -m),
    };
    // A censored difference is only a bound: it may back a verdict only in the direction
    // it is safe for (a true difference at most the observed one backs "less").
    let safe = |toward_less: bool| {
        differences.iter().all(|(_, bound)| match bound {
            Bound::Exact => true,
            Bound::AtMost => toward_less,
            Bound::AtLeast => !toward_less,
            Bound::Unknown => false,
        })
    };
    let claimed_toward_less = claim.relation == Relation::Less;
    let censored = differences
        .iter()
        .filter(|(_, b)| *b != Bound::Exact)
        .count();
    let note = match censored {
        0 => String::new(),
        n => format!("{n} seed(s) never reached the target: their step counts are bounds"),
    };
    // Equal differences on every seed (step counts both censored at the budget, accuracies
    // at 100%) say nothing about the seed-to-seed spread, whatever the sampling error adds.
    if differences.iter().all(|d| d.0 == differences[0].0) {
        let same = "every seed gave the same difference: no spread to judge by";
        return (ClaimVerdict::Inconclusive, join_notes(&[&note, same]));
    }
    // "About equal" is a two-sided statement: bounds cannot back it either way.
    if claim.relation == Relation::AboutEqual && censored > 0 {
        return (ClaimVerdict::Inconclusive, note);
    }
    // Otherwise the interval is one for the mean of the observed (capped) differences; a
    // true mean on the safe side of that mean is on the safe side of its limit too.
    if supports && safe(claimed_toward_less) {
        (ClaimVerdict::Supported, note)
    } else if contradicts && safe(!claimed_toward_less) {
        (ClaimVerdict::Contradicted, note)
    } else {
        (ClaimVerdict::Inconclusive, note)
    }
}

/// The non-empty notes, "; "-separated.
fn join_notes(notes: &[&str]) -> String {
    let kept: Vec<&str> = notes.iter().copied().filter(|n| !n.is_empty()).collect();
    kept.join("; ")
}

/// One arm's value on one seed, whether it is a bound, its sampling error, the examples
/// it was scored on and the run's predictions.
#[derive(Debug, Clone)]
struct SeedValue {
    value: f64,
    bound: Bound,
    sampling_sd: f64,
    data: Option<String>,
    predictions: Option<PathBuf>,
}

/// One seed's a − b: what it is (exact, or a bound when a step count is censored), its
/// sampling error, and the two runs' predictions.
#[derive(Debug, Clone)]
struct SeedPair {
    seed: u64,
    value: f64,
    bound: Bound,
    sampling_sd: f64,
    predictions: (Option<PathBuf>, Option<PathBuf>),
}

/// The seed pairs scored on the same examples, and how many were left out for being
/// scored on different ones.
fn paired_differences(
    a: &BTreeMap<u64, SeedValue>,
    b: &BTreeMap<u64, SeedValue>,
) -> (Vec<SeedPair>, usize) {
    let mut other_data = 0;
    let differences = a
        .iter()
        .filter_map(|(seed, a)| {
            let b = b.get(seed)?;
            if let (Some(da), Some(db)) = (&a.data, &b.data) {
                if da != db {
                    other_data += 1;
                    return None;
                }
            }
            Some(SeedPair {
                seed: *seed,
                value: a.value - b.value,
                bound: difference_bound(a.bound, b.bound),
                sampling_sd: a.sampling_sd.hypot(b.sampling_sd),
                predictions: (a.predictions.clone(), b.predictions.clone()),
            })
        })
        .collect();
    (differences, other_data)
}

/// The bound on a − b from the bounds on a and b: a true a above its value raises the
/// difference, a true b above its value lowers it.
fn difference_bound(a: Bound, b: Bound) -> Bound {
    match (a, b) {
        (Bound::Exact, Bound::Exact) => Bound::Exact,
        (Bound::AtLeast | Bound::Exact, Bound::AtMost | Bound::Exact) => Bound::AtLeast,
        (Bound::AtMost | Bound::Exact, Bound::AtLeast | Bound::Exact) => Bound::AtMost,
        _ => Bound::Unknown,
    }
}

/// Each cell's finished values by seed, at the learning rate the report chose for it, and
/// why a cell has none.
struct SeedValues<'a> {
    observations: &'a [Observation],
    records: &'a [OursRecord],
    suite: Option<&'a SuiteManifest>,
}

impl<'a> SeedValues<'a> {
    fn new(
        observations: &'a [Observation],
        records: &'a [OursRecord],
        suite: Option<&'a SuiteManifest>,
    ) -> Self {
        SeedValues {
            observations,
            records,
            suite,
        }
    }

    /// An arm's value per seed (train minus test where asked), or why it has none.
    fn arm(&self, arm: &ArmCells) -> Result<BTreeMap<u64, SeedValue>, String> {
        let values = self.cell(&arm.cell)?;
        let Some(minus) = &arm.minus else {
            return Ok(values);
        };
        let minus = self.cell(minus)?;
        Ok(values
            .into_iter()
            .filter_map(|(seed, v)| {
                let m = minus.get(&seed)?;
                let value = SeedValue {
                    value: v.value - m.value,
                    bound: difference_bound(v.bound, m.bound),
                    sampling_sd: v.sampling_sd.hypot(m.sampling_sd),
                    data: v.data,
                    predictions: None,
                };
                Some((seed, value))
            })
            .collect())
    }

    fn cell(&self, cell: &CellRef) -> Result<BTreeMap<u64, SeedValue>, String> {
        if let Some(reason) = self.excluded(cell) {
            return Err(format!("({}, {}): {reason}", cell.row, cell.column));
        }
        let chosen: Vec<&OursRecord> = self.records.iter().filter(|r| &r.cell == cell).collect();
        let lr = match chosen.as_slice() {
            [] => {
                return Err(format!(
                    "no run of this profile serves ({}, {})",
                    cell.row, cell.column
                ))
            }
            [one] => one.measured.lr,
            _ => {
                return Err(format!(
                    "({}, {}): no learning rate was selected",
                    cell.row, cell.column
                ))
            }
        };
        Ok(self
            .observations
            .iter()
            .filter(|o| o.table == cell.table && o.row == cell.row && o.column == cell.column)
            .filter(|o| o.lr == lr)
            .filter_map(|o| {
                let value = SeedValue {
                    value: o.value?,
                    bound: o.bound,
                    sampling_sd: o.sampling_sd,
                    data: o.data_sha256.clone(),
                    predictions: o.predictions.clone(),
                };
                Some((o.seed, value))
            })
            .collect())
    }

    /// What the cell's values count.
    fn unit(&self, cell: &CellRef) -> Option<Unit> {
        self.metric(cell).map(unit)
    }

    /// The metric the cell's runs are measured by.
    fn metric(&self, cell: &CellRef) -> Option<Metric> {
        self.observations
            .iter()
            .find(|o| o.table == cell.table && o.row == cell.row && o.column == cell.column)
            .map(|o| o.metric)
    }

    /// The reason the suite gives for not running a cell.
    fn excluded(&self, cell: &CellRef) -> Option<String> {
        let suite = self.suite?;
        suite
            .unsupported
            .iter()
            .chain(&suite.not_in_profile)
            .find(|e| &e.cell == cell)
            .map(|e| e.reason.clone())
    }
}

/// The claims in the long format of claims.csv and claims.parquet.
pub fn claims_frame(claims: &[ClaimRecord]) -> Result<DataFrame, ReportError> {
    let text = |f: fn(&ClaimRecord) -> String| claims.iter().map(f).collect::<Vec<_>>();
    let interval = |f: fn(&Interval) -> f64| {
        claims
            .iter()
            .map(|c| c.interval.as_ref().map(f))
            .collect::<Vec<_>>()
    };
    DataFrame::new_infer_height(vec![
        column("claim", text(|c| c.claim.clone())),
        column("table", text(|c| c.table.clone())),
        column("task", text(|c| c.task.clone())),
        column("comparison", text(|c| c.comparison.clone())),
        column("verdict", text(|c| c.verdict.name().into())),
        column(
            "seeds",
            claims.iter().map(|c| c.seeds as u32).collect::<Vec<_>>(),
        ),
        column(
            "unit",
            claims
                .iter()
                .map(|c| c.unit.map(|u| u.name()))
                .collect::<Vec<_>>(),
        ),
        column("difference", interval(|i| i.mean)),
        column("low", interval(|i| i.low)),
        column("high", interval(|i| i.high)),
        column("mcnemar_p", text(|c| mcnemar_text(&c.mcnemar))),
        column("note", text(|c| c.note.clone())),
        column("sentence", text(|c| c.sentence.clone())),
    ])
    .map_err(ReportError::frame("claims"))
}

/// McNemar's p per seed, "seed 0: 0.001 (40 vs 12); ..." (empty without predictions).
pub fn mcnemar_text(tests: &[SeedTest]) -> String {
    let one = |t: &SeedTest| {
        format!(
            "seed {}: p {} ({} vs {})",
            t.seed,
            p_text(t.p),
            t.counts.a_only,
            t.counts.b_only
        )
    };
    tests.iter().map(one).collect::<Vec<_>>().join("; ")
}

/// A p value: two decimals, or two significant digits below 0.01, "< 1e-6" below that.
pub(crate) fn p_text(p: f64) -> String {
    match p {
        p if p < 1e-6 => "< 1e-6".into(),
        p if p < 0.01 => format!("{p:.1e}"),
        p => format!("{p:.2}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measurement::Measurement;
    use spec::claims::{Arms, ClaimMetric};

    fn claim(relation: Relation, margin: f64) -> Claim {
        Claim {
            id: "c".into(),
            sentence: "s".into(),
            table: "modality".into(),
            arms: Arms::Rows,
            order: vec!["fpt".into(), "random".into()],
            relation,
            margin,
            metric: ClaimMetric::Value,
            over: Some(vec!["mnist".into()]),
        }
    }

    fn obs(row: &str, seed: u64, value: f64, bound: Bound) -> Observation {
        Observation {
            table: "modality".into(),
            row: row.into(),
            column: "mnist".into(),
            metric: Metric::TestAccuracy,
            run: format!("{row}-{seed}"),
            lr: Some(1e-3),
            seed,
            model: "m".into(),
            value: Some(value),
            bound,
            validation: None,
            diverged: false,
            sampled: false,
            sampling_sd: 0.0,
            data_sha256: None,
            predictions: None,
            finished: true,
        }
    }

    fn record(row: &str) -> OursRecord {
        let mut measured = Measurement::empty(Some(Unit::Percent));
        measured.lr = Some(1e-3);
        OursRecord {
            cell: CellRef::new("modality", row, "mnist"),
            measured,
            text: None,
            preset: None,
            note: String::new(),
        }
    }

    /// The verdict on FPT against Random on MNIST, given each arm's values by seed, as if
    /// the paper's numbers bore the relation out (they bear out only "greater" here).
    fn run(claim: &Claim, fpt: &[f64], random: &[f64]) -> ClaimRecord {
        run_with(claim, fpt, random, |_| {})
    }

    /// [`run`] with each observation adjusted by `tweak` first.
    fn run_with(
        claim: &Claim,
        fpt: &[f64],
        random: &[f64],
        tweak: impl Fn(&mut Observation),
    ) -> ClaimRecord {
        let paper = spec::reference::tables().unwrap();
        let table = paper.iter().find(|t| t.id == "modality").unwrap();
        let mut observations: Vec<Observation> = Vec::new();
        for (row, values) in [("fpt", fpt), ("random", random)] {
            for (seed, v) in values.iter().enumerate() {
                let mut o = obs(row, seed as u64, *v, Bound::Exact);
                tweak(&mut o);
                observations.push(o);
            }
        }
        let records = [record("fpt"), record("random")];
        let values = SeedValues::new(&observations, &records, None);
        let comparison = Comparison {
            paper_disagrees: None,
            ..claim.comparisons(table).remove(0)
        };
        judge(claim, &comparison, &values)
    }

    #[test]
    fn a_clear_gap_over_three_seeds_is_supported_and_its_reverse_contradicted() {
        let greater = claim(Relation::Greater, 0.0);
        let r = run(&greater, &[70.0, 72.0, 69.0], &[25.0, 31.0, 28.0]);
        assert_eq!(r.verdict, ClaimVerdict::Supported, "{r:?}");
        let i = r.interval.unwrap();
        assert!((i.mean - (211.0 - 84.0) / 3.0).abs() < 1e-9 && i.low > 0.0);
        let reversed = run(&greater, &[25.0, 31.0, 28.0], &[70.0, 72.0, 69.0]);
        assert_eq!(reversed.verdict, ClaimVerdict::Contradicted);
    }

    #[test]
    fn a_steady_gap_smaller_than_the_evaluations_sampling_error_is_inconclusive() {
        let greater = claim(Relation::Greater, 0.0);
        let (fpt, random) = ([70.0, 70.5, 71.0], [69.0, 69.4, 69.9]);
        // Differences 1.0, 1.1, 1.1: a tight interval above 0 if the values were exact...
        assert_eq!(
            run(&greater, &fpt, &random).verdict,
            ClaimVerdict::Supported
        );
        // ...but on 100 examples each accuracy is good to ±4.6 points (binomial, p = 0.7).
        let on_100 = run_with(&greater, &fpt, &random, |o| o.sampling_sd = 4.58);
        assert_eq!(on_100.verdict, ClaimVerdict::Inconclusive, "{on_100:?}");
        assert!(on_100.interval.unwrap().low < 0.0);
    }

    #[test]
    fn mcnemar_is_tested_per_seed_on_the_runs_predictions() {
        let dir = tempfile::tempdir().unwrap();
        // Seed s: FPT right on 10 + s of 20 examples, Random on the first 2 only.
        let write = |row: &str, seed: u64| {
            let right = if row == "fpt" { 10 + seed } else { 2 };
            let text: String = (0..20)
                .map(|i| {
                    let predicted = if i < right { 1 } else { 0 };
                    format!("{{\"example\":{i},\"label\":1,\"predicted\":{predicted}}}\n")
                })
                .collect();
            let path = dir.path().join(format!("{row}-{seed}.jsonl"));
            std::fs::write(&path, text).unwrap();
            path
        };
        let greater = claim(Relation::Greater, 0.0);
        let r = run_with(&greater, &[50.0, 55.0, 60.0], &[10.0, 10.0, 10.0], |o| {
            o.predictions = Some(write(&o.row, o.seed));
            // Ignored: the predictions give the paired error.
            o.sampling_sd = 100.0;
        });
        // The interval carries each seed's paired error over its 20 examples (b of them +1,
        // the rest 0: sample variance b(1 - b/20)/19, over 20), not the 100 points set on
        // each arm as if independent.
        let paired: Vec<f64> = [8.0f64, 9.0, 10.0]
            .iter()
            .map(|b| 100.0 * (b * (1.0 - b / 20.0) / 19.0 / 20.0).sqrt())
            .collect();
        let sum_sq: f64 = paired.iter().map(|sd| sd * sd).sum();
        let half = 4.303 * (25.0 / 3.0 + sum_sq / 9.0).sqrt();
        let i = r.interval.unwrap();
        assert!((i.high - 45.0 - half).abs() < 1e-9, "{i:?} vs ±{half}");
        let counts: Vec<(u64, u64, u64)> = r
            .mcnemar
            .iter()
            .map(|t| (t.seed, t.counts.a_only, t.counts.b_only))
            .collect();
        assert_eq!(counts, [(0, 8, 0), (1, 9, 0), (2, 10, 0)]);
        // 8 discordant answers all FPT's: 2 / 2^8.
        assert!((r.mcnemar[0].p - 2.0 / 256.0).abs() < 1e-12);
        assert_eq!(mcnemar_text(&r.mcnemar[..1]), "seed 0: p 7.8e-3 (8 vs 0)");
        // Without predictions there is no test, and the verdict is the interval's alone.
        assert!(run(&greater, &[50.0, 55.0, 60.0], &[10.0; 3])
            .mcnemar
            .is_empty());
    }

    #[test]
    fn seed_noise_and_identical_arms_are_inconclusive() {
        let greater = claim(Relation::Greater, 0.0);
        // The same spread on both sides, shuffled: differences of both signs.
        let noise = run(
            &greater,
            &[70.0, 66.0, 74.0, 69.0],
            &[68.0, 73.0, 67.0, 71.0],
        );
        assert_eq!(noise.verdict, ClaimVerdict::Inconclusive, "{noise:?}");
        let same = run(&greater, &[70.0, 66.0, 74.0], &[70.0, 66.0, 74.0]);
        assert_eq!(same.verdict, ClaimVerdict::Inconclusive);
        let less = run(
            &claim(Relation::Less, 0.0),
            &[70.0, 66.0, 74.0],
            &[70.0, 66.0, 74.0],
        );
        assert_eq!(less.verdict, ClaimVerdict::Inconclusive);
    }

    #[test]
    fn arms_scored_on_different_examples_are_not_paired() {
        let greater = claim(Relation::Greater, 0.0);
        let r = run_with(&greater, &[70.0, 71.0, 72.0], &[25.0, 26.0, 27.0], |o| {
            // Seed 2's random arm scored other examples.
            let other = o.row == "random" && o.seed == 2;
            o.data_sha256 = Some(if other { "other" } else { "same" }.into());
        });
        assert_eq!((r.verdict, r.seeds), (ClaimVerdict::Inconclusive, 2));
        assert!(
            r.note
                .contains("1 seed pair(s) scored on different examples"),
            "{}",
            r.note
        );
    }

    #[test]
    fn no_spread_or_censored_about_equal_give_no_verdict() {
        // FPT first at step 100, Random at 200, on every seed: the evaluation grid's
        // resolution, not a measured spread.
        let less = claim(Relation::Less, 0.0);
        let r = run(&less, &[100.0, 100.0, 100.0], &[200.0, 200.0, 200.0]);
        assert_eq!(r.verdict, ClaimVerdict::Inconclusive);
        assert!(r.note.contains("same difference"), "{}", r.note);
        // A sampling error widens the interval but cannot stand in for the missing spread.
        let r = run_with(&less, &[100.0; 3], &[200.0; 3], |o| o.sampling_sd = 1.0);
        assert_eq!(r.verdict, ClaimVerdict::Inconclusive);
        assert!(r.interval.unwrap().high < 0.0);
        let equal = claim(Relation::AboutEqual, 3.0);
        let d = [
            (0.1, Bound::AtMost),
            (-0.2, Bound::Exact),
            (0.3, Bound::Exact),
        ];
        let interval = t_interval(&d.map(|x| x.0), &[]);
        assert_eq!(verdict(&equal, &d, interval).0, ClaimVerdict::Inconclusive);
    }

    #[test]
    fn two_seeds_never_give_a_verdict() {
        let r = run(&claim(Relation::Greater, 0.0), &[90.0, 91.0], &[10.0, 11.0]);
        assert_eq!(r.verdict, ClaimVerdict::Inconclusive);
        assert!(r.note.contains("2 seed pair(s)"), "{}", r.note);
    }

    #[test]
    fn about_equal_needs_the_interval_inside_the_margin() {
        let equal = claim(Relation::AboutEqual, 3.0);
        let close = run(&equal, &[70.0, 71.0, 69.5, 70.2], &[70.3, 70.6, 69.9, 70.0]);
        assert_eq!(close.verdict, ClaimVerdict::Supported, "{close:?}");
        let far = run(&equal, &[80.0, 81.0, 79.0], &[70.0, 70.5, 69.0]);
        assert_eq!(far.verdict, ClaimVerdict::Contradicted);
        let wide = run(&equal, &[60.0, 80.0, 70.0], &[70.0, 70.0, 70.0]);
        assert_eq!(wide.verdict, ClaimVerdict::Inconclusive);
    }

    #[test]
    fn censored_steps_back_a_verdict_only_where_the_bound_is_safe() {
        let less = claim(Relation::Less, 0.0);
        // FPT reached the target in ~100 steps; Random never did in 300 (>= 300).
        let d = [
            (
                100.0 - 300.0,
                difference_bound(Bound::Exact, Bound::AtLeast),
            ),
            (
                120.0 - 300.0,
                difference_bound(Bound::Exact, Bound::AtLeast),
            ),
            (90.0 - 300.0, difference_bound(Bound::Exact, Bound::AtLeast)),
        ];
        let interval = t_interval(&d.map(|x| x.0), &[]);
        assert_eq!(verdict(&less, &d, interval).0, ClaimVerdict::Supported);
        // The true gap is even more negative, so "greater" is contradicted safely.
        let greater = claim(Relation::Greater, 0.0);
        assert_eq!(
            verdict(&greater, &d, interval).0,
            ClaimVerdict::Contradicted
        );
        // FPT censored too: a bound minus a bound says nothing.
        let both = d.map(|(v, _)| (v, difference_bound(Bound::AtLeast, Bound::AtLeast)));
        assert_eq!(
            verdict(&less, &both, interval).0,
            ClaimVerdict::Inconclusive
        );
        // Only FPT censored (>= 300 against ~100): the gap is at least what we saw, which
        // contradicts "less" and supports "greater" safely.
        let slow = [
            (200.0, Bound::AtLeast),
            (190.0, Bound::AtLeast),
            (210.0, Bound::AtLeast),
        ];
        let interval = t_interval(&slow.map(|x| x.0), &[]);
        assert_eq!(
            verdict(&less, &slow, interval).0,
            ClaimVerdict::Contradicted
        );
        assert_eq!(
            verdict(&greater, &slow, interval).0,
            ClaimVerdict::Supported
        );
    }

    #[test]
    fn the_papers_disagreement_and_unrun_cells_are_reported_not_tested() {
        let paper = spec::reference::tables().unwrap();
        let xor = Claim {
            over: Some(vec!["bit-xor".into()]),
            ..claim(Relation::Greater, 0.0)
        };
        let out = evaluate(&[xor], &paper, &[], &[], None);
        assert_eq!(out[0].verdict, ClaimVerdict::PaperDisagrees);
        assert!(out[0].note.contains("100% vs 100%"), "{}", out[0].note);
        let out = evaluate(&[claim(Relation::Greater, 0.0)], &paper, &[], &[], None);
        assert_eq!(out[0].verdict, ClaimVerdict::NotRun);
    }
}
