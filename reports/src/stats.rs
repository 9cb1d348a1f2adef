//! The numbers behind each cell: aggregation over seeds, steps to a target accuracy, the
//! ratio of two cells, learning-rate selection, and the t interval the claims rest on.

use spec::schema::EvalRecord;

/// Mean, standard error of the mean and count of one cell's values over seeds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeedStats {
    pub mean: f64,
    /// Sample standard deviation / sqrt(n); 0 for a single seed.
    pub sem: f64,
    pub n: usize,
}

/// `None` for no values.
pub fn seed_stats(values: &[f64]) -> Option<SeedStats> {
    if values.is_empty() {
        return None;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let sem = if values.len() > 1 {
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
        (var / n).sqrt()
    } else {
        0.0
    };
    Some(SeedStats {
        mean,
        sem,
        n: values.len(),
    })
}

/// Whether a value is exact or only a bound (a run that never reached its target gives
/// "more than N steps").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    Exact,
    AtLeast,
    AtMost,
    /// A ratio of two bounds pointing the same way: nothing is known.
    Unknown,
}

impl Bound {
    pub fn name(&self) -> &'static str {
        match self {
            Bound::Exact => "exact",
            Bound::AtLeast => "at-least",
            Bound::AtMost => "at-most",
            Bound::Unknown => "unknown",
        }
    }

    pub fn from_name(name: &str) -> Bound {
        match name {
            "at-least" => Bound::AtLeast,
            "at-most" => Bound::AtMost,
            "unknown" => Bound::Unknown,
            _ => Bound::Exact,
        }
    }

    /// The prefix the value is printed with.
    pub fn prefix(&self) -> &'static str {
        match self {
            Bound::Exact => "",
            Bound::AtLeast => ">",
            Bound::AtMost => "<",
            Bound::Unknown => "?",
        }
    }
}

/// A run's steps to a target accuracy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StepsToTarget {
    /// Reached at `step`, interpolated linearly between the last evaluation below the
    /// target and the first at or above it. `sampling_sd`: the step's standard error from
    /// the two evaluations' sampling error (binomial over the examples each scored) over
    /// the curve's rise between them, capped at their gap; 0 when reached at the first
    /// evaluation or when the examples were not recorded.
    Reached { step: f64, sampling_sd: f64 },
    /// Never reached within the run's `steps`.
    NotReached { steps: u64 },
}

impl StepsToTarget {
    /// The value counted into the cell's mean and whether it is a lower bound: a run that
    /// never reached the target counts as its whole step budget.
    pub fn value(&self) -> (f64, Bound) {
        match *self {
            StepsToTarget::Reached { step, .. } => (step, Bound::Exact),
            StepsToTarget::NotReached { steps } => (steps as f64, Bound::AtLeast),
        }
    }

    /// The step's sampling error (0 for a censored run: its value is a bound).
    pub fn sampling_sd(&self) -> f64 {
        match *self {
            StepsToTarget::Reached { sampling_sd, .. } => sampling_sd,
            StepsToTarget::NotReached { .. } => 0.0,
        }
    }
}

/// The standard error of an accuracy `p` (0..1) measured on `examples` examples, by the
/// binomial; 0 when the count is unknown. For per-position tasks an example's positions
/// are not independent, so counting examples rather than positions errs wide.
pub fn accuracy_sd(p: f64, examples: Option<u64>) -> f64 {
    match examples {
        Some(n) if n > 0 => (p * (1.0 - p) / n as f64).sqrt(),
        _ => 0.0,
    }
}

/// Where the curve first reaches `target` (see [`StepsToTarget::Reached`]).
pub fn steps_to_target(metrics: &[EvalRecord], target: f64, steps_taken: u64) -> StepsToTarget {
    let Some(i) = metrics.iter().position(|m| m.test_accuracy >= target) else {
        return StepsToTarget::NotReached { steps: steps_taken };
    };
    let hit = &metrics[i];
    let Some(before) = i.checked_sub(1).map(|j| &metrics[j]) else {
        return StepsToTarget::Reached {
            step: hit.step as f64,
            sampling_sd: 0.0,
        };
    };
    let gap = (hit.step - before.step) as f64;
    let rise = hit.test_accuracy - before.test_accuracy;
    let step = before.step as f64 + (target - before.test_accuracy) / rise * gap;
    let noise = accuracy_sd(before.test_accuracy, before.examples)
        .hypot(accuracy_sd(hit.test_accuracy, hit.examples));
    StepsToTarget::Reached {
        step,
        sampling_sd: (noise / rise * gap).min(gap),
    }
}

/// numerator / denominator, with the bound that follows from the parts' bounds: a larger
/// numerator or a smaller denominator can only raise the ratio.
pub fn ratio(numerator: (f64, Bound), denominator: (f64, Bound)) -> Option<(f64, Bound)> {
    let (n, nb) = numerator;
    let (d, db) = denominator;
    if d == 0.0 || !n.is_finite() || !d.is_finite() {
        return None;
    }
    let bound = match (nb, db) {
        (Bound::Exact, Bound::Exact) => Bound::Exact,
        (Bound::AtLeast | Bound::Exact, Bound::AtMost | Bound::Exact) => Bound::AtLeast,
        (Bound::AtMost | Bound::Exact, Bound::AtLeast | Bound::Exact) => Bound::AtMost,
        _ => Bound::Unknown,
    };
    Some((n / d, bound))
}

/// One learning rate's candidate numbers for a cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LrCandidate {
    pub lr: Option<f64>,
    /// Mean validation accuracy over the lr's seeds, if every seed reported one.
    pub validation: Option<f64>,
}

/// Which of a cell's learning rates to report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LrChoice {
    /// The candidate at this index: the only lr, or the best on validation.
    Chosen(usize),
    /// Several lrs and no validation accuracy to choose by: all are reported, flagged
    /// (choosing by test accuracy would flatter the cell).
    NotSelectable,
}

pub fn select_lr(candidates: &[LrCandidate]) -> LrChoice {
    if candidates.len() == 1 {
        return LrChoice::Chosen(0);
    }
    let mut best: Option<(usize, f64)> = None;
    for (i, c) in candidates.iter().enumerate() {
        let Some(v) = c.validation else {
            return LrChoice::NotSelectable;
        };
        if best.is_none_or(|(_, b)| v > b) {
            best = Some((i, v));
        }
    }
    best.map_or(LrChoice::NotSelectable, |(i, _)| LrChoice::Chosen(i))
}

/// A two-sided 95% interval on a mean difference.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub mean: f64,
    pub low: f64,
    pub high: f64,
    pub n: usize,
}

/// Student's t interval over paired per-seed differences, widened by their own sampling
/// error: mean ± t(0.975, n-1) · √(s²/n + Σσᵢ²/n²), σᵢ the i-th difference's standard
/// error from the evaluation (examples scored, or a step count's position between
/// evaluations). The spread s of one difference per seed already carries the seed-to-seed
/// variation (which dominates at short budgets) and some of the sampling error; adding the
/// latter again can only widen the interval, never overclaim. `None` below two differences
/// (no spread to estimate).
pub fn t_interval(differences: &[f64], sampling_sd: &[f64]) -> Option<Interval> {
    let stats = seed_stats(differences).filter(|s| s.n >= 2)?;
    let n = stats.n as f64;
    let sampling = sampling_sd.iter().map(|sd| sd * sd).sum::<f64>() / (n * n);
    let half = t_975(stats.n - 1) * (stats.sem.powi(2) + sampling).sqrt();
    Some(Interval {
        mean: stats.mean,
        low: stats.mean - half,
        high: stats.mean + half,
        n: stats.n,
    })
}

/// McNemar's exact test on two arms' paired predictions: of the n = `a_only` + `b_only`
/// answers exactly one arm got right, `a_only` are A's. Two-sided p = min(1, 2·P(X ≤ k)),
/// X ~ Binomial(n, ½), k = min(a_only, b_only); 1 when n = 0. Summed in log space, so any
/// n is exact to rounding.
pub fn mcnemar_exact(a_only: u64, b_only: u64) -> f64 {
    let n = a_only + b_only;
    let k = a_only.min(b_only);
    // ln P(X = i), from ln P(X = 0) = n ln ½ by P(i) / P(i-1) = (n - i + 1) / i.
    let mut ln_term = n as f64 * 0.5f64.ln();
    let mut ln_terms = vec![ln_term];
    for i in 1..=k {
        ln_term += ((n - i + 1) as f64 / i as f64).ln();
        ln_terms.push(ln_term);
    }
    let top = ln_terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let ln_cdf = top + ln_terms.iter().map(|t| (t - top).exp()).sum::<f64>().ln();
    (2.0 * ln_cdf.exp()).min(1.0)
}

/// The 97.5% quantile of Student's t with `df` degrees of freedom, from the standard table
/// (3 decimals); between tabulated values and beyond 120, the next smaller tabulated df's
/// (a wider interval).
/// Student's t one-sided 95% quantile (the two one-sided tests of an equivalence at 5%).
pub(crate) fn t_95(df: usize) -> f64 {
    const SMALL: [f64; 30] = [
        6.314, 2.920, 2.353, 2.132, 2.015, 1.943, 1.895, 1.860, 1.833, 1.812, 1.796, 1.782, 1.771,
        1.761, 1.753, 1.746, 1.740, 1.734, 1.729, 1.725, 1.721, 1.717, 1.714, 1.711, 1.708, 1.706,
        1.703, 1.701, 1.699, 1.697,
    ];
    match df {
        0 => f64::INFINITY,
        1..=30 => SMALL[df - 1],
        31..=39 => SMALL[29],
        40..=59 => 1.684,
        60..=119 => 1.671,
        _ => 1.658,
    }
}

pub(crate) fn t_975(df: usize) -> f64 {
    const SMALL: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::INFINITY,
        1..=30 => SMALL[df - 1],
        31..=39 => SMALL[29],
        40..=59 => 2.021,
        60..=119 => 2.000,
        _ => 1.980,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(step: u64, acc: f64) -> EvalRecord {
        EvalRecord {
            step,
            train_loss: None,
            train_accuracy: None,
            test_loss: 1.0,
            test_accuracy: acc,
            wall_seconds: 0.0,
            examples: None,
            curve_point: false,
        }
    }

    #[test]
    fn sem_is_sample_std_over_root_n() {
        let s = seed_stats(&[0.5, 0.7, 0.9]).unwrap();
        assert_eq!(s.n, 3);
        assert!((s.mean - 0.7).abs() < 1e-12);
        assert!((s.sem - 0.2 / 3f64.sqrt()).abs() < 1e-12);
        assert_eq!(seed_stats(&[0.4]).unwrap().sem, 0.0);
        assert_eq!(seed_stats(&[]), None);
    }

    #[test]
    fn steps_to_target_interpolates_between_evaluations() {
        let curve = [
            point(0, 0.5),
            point(100, 0.98),
            point(200, 0.99),
            point(300, 0.97),
        ];
        let at = |target| steps_to_target(&curve, target, 300);
        // 0.99 lies at the evaluation of step 200; 0.74 halfway from 0.5 to 0.98.
        assert_eq!(at(0.99).value(), (200.0, Bound::Exact));
        assert!((at(0.74).value().0 - 50.0).abs() < 1e-9);
        assert_eq!(
            at(0.5),
            StepsToTarget::Reached {
                step: 0.0,
                sampling_sd: 0.0
            }
        );
        let never = at(0.995);
        assert_eq!(never, StepsToTarget::NotReached { steps: 300 });
        assert_eq!(never.value(), (300.0, Bound::AtLeast));
        // Without recorded example counts there is no sampling error to carry.
        assert_eq!(at(0.74).sampling_sd(), 0.0);
    }

    #[test]
    fn a_crossing_carries_the_evaluations_sampling_error_over_the_rise() {
        let scored = |step, acc, n| EvalRecord {
            examples: Some(n),
            ..point(step, acc)
        };
        // 0.6 -> 0.8 over 50 steps on 100 examples each: sd of the two accuracies
        // sqrt(0.24/100 + 0.16/100) = 0.0632..., over a rise of 0.2 per 50 steps.
        let curve = [scored(0, 0.6, 100), scored(50, 0.8, 100)];
        let hit = steps_to_target(&curve, 0.7, 50);
        assert!((hit.value().0 - 25.0).abs() < 1e-9);
        let expected = (0.24f64 / 100.0 + 0.16 / 100.0).sqrt() / 0.2 * 50.0;
        assert!((hit.sampling_sd() - expected).abs() < 1e-9, "{hit:?}");
        // A rise within the noise: the error is capped at the gap between evaluations.
        let flat = [scored(0, 0.6, 10), scored(50, 0.61, 10)];
        assert_eq!(steps_to_target(&flat, 0.605, 50).sampling_sd(), 50.0);
        assert!((accuracy_sd(0.5, Some(400)) - 0.025).abs() < 1e-12);
    }

    #[test]
    fn mcnemar_matches_the_binomial_closed_form() {
        // n = 5, none for A: 2 · (1/2)^5.
        assert!((mcnemar_exact(0, 5) - 2.0 / 32.0).abs() < 1e-12);
        // n = 10, k = 1: 2 · (1 + 10) / 1024; symmetric in the arms.
        assert!((mcnemar_exact(1, 9) - 22.0 / 1024.0).abs() < 1e-12);
        assert_eq!(mcnemar_exact(9, 1), mcnemar_exact(1, 9));
        // Balanced or empty: no evidence at all.
        assert_eq!(mcnemar_exact(5, 5), 1.0);
        assert_eq!(mcnemar_exact(0, 0), 1.0);
        // Large n stays finite and near the normal approximation: 1000 vs 1100 is
        // z = 100 / sqrt(2100) = 2.18, two-sided 0.029 (the exact value is a little above).
        let p = mcnemar_exact(1000, 1100);
        assert!(p > 0.028 && p < 0.034, "{p}");
        assert!(mcnemar_exact(0, 5000) < 1e-300);
    }

    #[test]
    fn a_ratio_of_bounds_is_a_bound() {
        let exact = |v| (v, Bound::Exact);
        assert_eq!(ratio(exact(400.0), exact(100.0)), Some((4.0, Bound::Exact)));
        // the random init never reached the target: the speed-up is at least 5×
        assert_eq!(
            ratio((500.0, Bound::AtLeast), exact(100.0)),
            Some((5.0, Bound::AtLeast))
        );
        // FPT never reached it: at most
        assert_eq!(
            ratio(exact(100.0), (500.0, Bound::AtLeast)),
            Some((0.2, Bound::AtMost))
        );
        assert_eq!(
            ratio((500.0, Bound::AtLeast), (500.0, Bound::AtLeast)).map(|r| r.1),
            Some(Bound::Unknown)
        );
        assert_eq!(ratio(exact(1.0), exact(0.0)), None);
    }

    #[test]
    fn lr_is_selected_by_validation_never_by_test() {
        let c = |lr, validation| LrCandidate {
            lr: Some(lr),
            validation,
        };
        assert_eq!(select_lr(&[c(1e-3, None)]), LrChoice::Chosen(0));
        assert_eq!(
            select_lr(&[c(1e-3, Some(0.7)), c(1e-4, Some(0.9)), c(1e-5, Some(0.8))]),
            LrChoice::Chosen(1)
        );
        // ties keep the first
        assert_eq!(
            select_lr(&[c(1e-3, Some(0.9)), c(1e-4, Some(0.9))]),
            LrChoice::Chosen(0)
        );
        assert_eq!(
            select_lr(&[c(1e-3, Some(0.9)), c(1e-4, None)]),
            LrChoice::NotSelectable
        );
    }

    #[test]
    fn the_t_interval_matches_its_closed_form() {
        // Differences 1, 2, 3: mean 2, s = 1, sem = 1/sqrt(3), t(0.975, 2) = 4.303.
        let i = t_interval(&[1.0, 2.0, 3.0], &[0.0; 3]).unwrap();
        let half = 4.303 / 3f64.sqrt();
        assert_eq!(i.n, 3);
        assert!((i.mean - 2.0).abs() < 1e-12);
        assert!((i.low - (2.0 - half)).abs() < 1e-12 && (i.high - (2.0 + half)).abs() < 1e-12);
        // Identical arms: a zero-width interval at zero.
        let zero = t_interval(&[0.0; 4], &[0.0; 4]).unwrap();
        assert_eq!((zero.low, zero.high), (0.0, 0.0));
        assert_eq!(t_interval(&[5.0], &[0.0]), None);
        // Each difference's sampling error widens it: sd 3 on each of 3 seeds adds
        // 3 · 9 / 9 = 3 to the squared standard error (1/3 from the spread).
        let wide = t_interval(&[1.0, 2.0, 3.0], &[3.0; 3]).unwrap();
        assert!((wide.high - 2.0 - 4.303 * (1.0f64 / 3.0 + 3.0).sqrt()).abs() < 1e-12);
        // Beyond the table, 120's (above the normal 1.960); 35 degrees of freedom use 30's.
        assert_eq!(t_975(5000), 1.980);
        assert_eq!(t_975(35), t_975(30));
    }
}
