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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepsToTarget {
    Reached(u64),
    /// Never reached within the run's `steps`.
    NotReached {
        steps: u64,
    },
}

impl StepsToTarget {
    /// The value counted into the cell's mean and whether it is a lower bound: a run that
    /// never reached the target counts as its whole step budget.
    pub fn value(&self) -> (f64, Bound) {
        match *self {
            StepsToTarget::Reached(step) => (step as f64, Bound::Exact),
            StepsToTarget::NotReached { steps } => (steps as f64, Bound::AtLeast),
        }
    }
}

/// The first evaluated step whose test accuracy is at least `target`.
pub fn steps_to_target(metrics: &[EvalRecord], target: f64, steps_taken: u64) -> StepsToTarget {
    metrics
        .iter()
        .filter(|m| m.test_accuracy >= target)
        .map(|m| m.step)
        .min()
        .map_or(
            StepsToTarget::NotReached { steps: steps_taken },
            StepsToTarget::Reached,
        )
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

/// Student's t interval over paired per-seed differences: mean ± t(0.975, n-1) · s/√n.
/// The differences are one per seed, so the interval carries the seed-to-seed spread
/// (which dominates at short budgets) and, inside each seed's number, the evaluation's
/// sampling error. `None` below two differences (no spread to estimate).
pub fn t_interval(differences: &[f64]) -> Option<Interval> {
    let stats = seed_stats(differences).filter(|s| s.n >= 2)?;
    let half = t_975(stats.n - 1) * stats.sem;
    Some(Interval {
        mean: stats.mean,
        low: stats.mean - half,
        high: stats.mean + half,
        n: stats.n,
    })
}

/// The 97.5% quantile of Student's t with `df` degrees of freedom, from the standard table
/// (3 decimals); between tabulated values and beyond 120, the next smaller tabulated df's
/// (a wider interval).
fn t_975(df: usize) -> f64 {
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
    fn steps_to_target_is_the_first_step_reaching_it() {
        let curve = [
            point(0, 0.5),
            point(100, 0.98),
            point(200, 0.99),
            point(300, 0.97),
        ];
        assert_eq!(
            steps_to_target(&curve, 0.99, 300),
            StepsToTarget::Reached(200)
        );
        assert_eq!(steps_to_target(&curve, 0.5, 300), StepsToTarget::Reached(0));
        let never = steps_to_target(&curve, 0.995, 300);
        assert_eq!(never, StepsToTarget::NotReached { steps: 300 });
        assert_eq!(never.value(), (300.0, Bound::AtLeast));
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
        let i = t_interval(&[1.0, 2.0, 3.0]).unwrap();
        let half = 4.303 / 3f64.sqrt();
        assert_eq!(i.n, 3);
        assert!((i.mean - 2.0).abs() < 1e-12);
        assert!((i.low - (2.0 - half)).abs() < 1e-12 && (i.high - (2.0 + half)).abs() < 1e-12);
        // Identical arms: a zero-width interval at zero.
        let zero = t_interval(&[0.0; 4]).unwrap();
        assert_eq!((zero.low, zero.high), (0.0, 0.0));
        assert_eq!(t_interval(&[5.0]), None);
        // Beyond the table, 120's (above the normal 1.960); 35 degrees of freedom use 30's.
        assert_eq!(t_975(5000), 1.980);
        assert_eq!(t_975(35), t_975(30));
    }
}
