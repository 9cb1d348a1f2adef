//! Whether our number reproduces the paper's: the tolerance rule, stated once here and
//! printed in the report.

use crate::reference::PaperValue;
use crate::stats::Bound;
use crate::suite::Unit;

/// Accuracies within this many percentage points of the paper count as reproduced
/// (or within two standard errors over seeds, when that is wider).
pub const ACCURACY_TOLERANCE_PP: f64 = 3.0;
/// Counts (steps, parameters) and ratios within this factor of the paper's value count as
/// reproduced: step counts to convergence depend on the evaluation grid and the target.
pub const COUNT_FACTOR: f64 = 2.0;

/// The rule in words, for the report page.
pub const RULE: &str = "Accuracies: reproduced when |ours − paper| ≤ max(3 percentage points, 2 × SEM over seeds); \
below or above otherwise. Step and parameter counts and speed-ups: reproduced when ours lies within a factor of 2 of \
the paper's value (of its printed range for ranges), widened by 2 × SEM; a bound (\">N\") is above when the bound \
itself exceeds that band, below when an upper bound falls under it, and is not judged otherwise. Cells that cannot \
be compared (different units, no paper value, learning rate not selectable) carry no verdict. Only cells whose runs are set up as \
the paper's (model, data, budget, evaluation protocol) are judged at all: every other cell is 'not comparable', with how it differs.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    Reproduced,
    Below,
    Above,
    /// Measured, but not comparable with the paper's number.
    NoVerdict,
    /// Measured on another setup than the paper's (model, data, budget, protocol).
    NotComparable,
    NotRun,
    Unsupported,
}

impl Verdict {
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Reproduced => "reproduced",
            Verdict::Below => "below",
            Verdict::Above => "above",
            Verdict::NoVerdict => "no verdict",
            Verdict::NotComparable => "not comparable",
            Verdict::NotRun => "not run",
            Verdict::Unsupported => "unsupported",
        }
    }

    pub fn from_name(name: &str) -> Option<Verdict> {
        [
            Verdict::Reproduced,
            Verdict::Below,
            Verdict::Above,
            Verdict::NoVerdict,
            Verdict::NotComparable,
            Verdict::NotRun,
            Verdict::Unsupported,
        ]
        .into_iter()
        .find(|v| v.name() == name)
    }
}

/// Our aggregated value of a cell, in the paper's unit (accuracy in percent).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ours {
    pub value: f64,
    pub sem: f64,
    pub bound: Bound,
    pub unit: Unit,
}

/// The verdict and ours − paper, where the two are comparable.
pub fn judge(ours: Ours, paper: &PaperValue) -> (Verdict, Option<f64>) {
    let band = match (ours.unit, paper) {
        (Unit::Percent, PaperValue::Percent { value, .. }) => {
            let tol = ACCURACY_TOLERANCE_PP.max(2.0 * ours.sem);
            Some((*value, value - tol, value + tol))
        }
        (Unit::Steps | Unit::Params, PaperValue::Count(value)) => {
            Some((*value, *value / COUNT_FACTOR, *value * COUNT_FACTOR))
        }
        (Unit::Ratio, PaperValue::Ratio { low, high }) => {
            Some(((low + high) / 2.0, low / COUNT_FACTOR, high * COUNT_FACTOR))
        }
        _ => None,
    };
    let Some((reference, low, high)) = band else {
        return (Verdict::NoVerdict, None);
    };
    // Counts: widen by two standard errors too.
    let (low, high) = (
        low.min(reference - 2.0 * ours.sem),
        high.max(reference + 2.0 * ours.sem),
    );
    let delta = Some(ours.value - reference);
    let v = ours.value;
    let verdict = match ours.bound {
        Bound::Exact if v < low => Verdict::Below,
        Bound::Exact if v > high => Verdict::Above,
        Bound::Exact => Verdict::Reproduced,
        Bound::AtLeast if v > high => Verdict::Above,
        Bound::AtMost if v < low => Verdict::Below,
        _ => Verdict::NoVerdict,
    };
    (verdict, delta)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn percent(value: f64, sem: f64) -> Ours {
        Ours {
            value,
            sem,
            bound: Bound::Exact,
            unit: Unit::Percent,
        }
    }

    const PAPER_38_4: PaperValue = PaperValue::Percent {
        value: 38.4,
        diverged: false,
    };

    #[test]
    fn accuracy_tolerance_is_three_points_at_its_edges() {
        assert_eq!(
            judge(percent(41.4, 0.0), &PAPER_38_4).0,
            Verdict::Reproduced
        );
        assert_eq!(
            judge(percent(35.4, 0.0), &PAPER_38_4).0,
            Verdict::Reproduced
        );
        assert_eq!(judge(percent(41.5, 0.0), &PAPER_38_4).0, Verdict::Above);
        assert_eq!(judge(percent(35.3, 0.0), &PAPER_38_4).0, Verdict::Below);
        let (_, delta) = judge(percent(35.3, 0.0), &PAPER_38_4);
        assert!((delta.unwrap() + 3.1).abs() < 1e-9);
    }

    #[test]
    fn a_wide_seed_spread_widens_the_tolerance_to_two_sem() {
        // 2 × SEM = 5 points > 3
        assert_eq!(
            judge(percent(33.5, 2.5), &PAPER_38_4).0,
            Verdict::Reproduced
        );
        assert_eq!(judge(percent(33.3, 2.5), &PAPER_38_4).0, Verdict::Below);
    }

    #[test]
    fn counts_and_ratios_use_a_factor_and_bounds_judge_one_side() {
        let verdict = |unit, value, bound, paper: &PaperValue| {
            let ours = Ours {
                value,
                sem: 0.0,
                bound,
                unit,
            };
            judge(ours, paper).0
        };
        let steps = PaperValue::Count(500.0);
        let range = PaperValue::Ratio {
            low: 500.0,
            high: 2000.0,
        };
        let cases = [
            (
                Unit::Steps,
                1000.0,
                Bound::Exact,
                &steps,
                Verdict::Reproduced,
            ),
            (Unit::Steps, 1001.0, Bound::Exact, &steps, Verdict::Above),
            (Unit::Steps, 249.0, Bound::Exact, &steps, Verdict::Below),
            (Unit::Steps, 2000.0, Bound::AtLeast, &steps, Verdict::Above),
            (
                Unit::Steps,
                600.0,
                Bound::AtLeast,
                &steps,
                Verdict::NoVerdict,
            ),
            (
                Unit::Ratio,
                300.0,
                Bound::Exact,
                &range,
                Verdict::Reproduced,
            ),
            (Unit::Ratio, 200.0, Bound::Exact, &range, Verdict::Below),
            (Unit::Ratio, 200.0, Bound::AtMost, &range, Verdict::Below),
        ];
        for (unit, value, bound, paper, expected) in cases {
            assert_eq!(
                verdict(unit, value, bound, paper),
                expected,
                "{value} {bound:?} vs {paper:?}"
            );
        }
    }

    #[test]
    fn different_units_and_missing_values_get_no_verdict() {
        assert_eq!(
            judge(percent(50.0, 0.0), &PaperValue::Count(12.0)),
            (Verdict::NoVerdict, None)
        );
        assert_eq!(
            judge(percent(50.0, 0.0), &PaperValue::Missing),
            (Verdict::NoVerdict, None)
        );
        assert_eq!(Verdict::from_name("not run"), Some(Verdict::NotRun));
    }
}
