//! The numbers behind each cell: aggregation over seeds, steps to a target accuracy, the
//! ratio of two cells, and learning-rate selection.

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
}
