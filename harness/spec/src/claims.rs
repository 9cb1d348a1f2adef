//! The paper's claims as data (`experiments/claims.toml`, embedded like the paper's
//! numbers): each a comparison of arms of one table, on the tasks where the paper's own
//! numbers bear it out. Reports test them on a profile's runs, seed by seed.

use serde::Deserialize;

use crate::reference::{PaperTable, PaperValue};
use crate::schema::CellRef;

const CLAIMS: &str = include_str!("../../../experiments/claims.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClaimsFile {
    claim: Vec<Claim>,
}

/// Whether a table's arms are its rows (and its columns the tasks) or the other way round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Arms {
    Rows,
    Columns,
}

/// What each arm claims over the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Relation {
    Greater,
    Less,
    /// No worse than the next by more than the margin.
    AtLeast,
    /// Within the margin of the next.
    AboutEqual,
}

impl Relation {
    pub fn symbol(self) -> &'static str {
        match self {
            Relation::Greater => ">",
            Relation::Less => "<",
            Relation::AtLeast => ">=",
            Relation::AboutEqual => "~",
        }
    }

    /// Whether a difference `a - b` that is known exactly bears the relation out.
    pub fn holds(self, difference: f64, margin: f64) -> bool {
        match self {
            Relation::Greater => difference > 0.0,
            Relation::Less => difference < 0.0,
            Relation::AtLeast => difference >= -margin,
            Relation::AboutEqual => difference.abs() <= margin,
        }
    }
}

/// What is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClaimMetric {
    /// The cells' own metric (an accuracy, or steps to converge).
    Value,
    /// A row's `train` column minus its `test` column: how much an arm overfits.
    TrainMinusTest,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    pub id: String,
    /// The paper's sentence.
    pub sentence: String,
    pub table: String,
    pub arms: Arms,
    /// The arms, claimed best first.
    pub order: Vec<String>,
    pub relation: Relation,
    /// Percentage points, for `at-least` and `about-equal`.
    #[serde(default)]
    pub margin: f64,
    pub metric: ClaimMetric,
    /// Only these tasks, when not all of the table's.
    #[serde(default)]
    pub over: Option<Vec<String>>,
}

/// One arm's value on one task: a cell, or (train minus test) the difference of two.
#[derive(Debug, Clone, PartialEq)]
pub struct ArmCells {
    pub arm: String,
    pub cell: CellRef,
    pub minus: Option<CellRef>,
}

/// One comparison of a claim: an arm against the next one on one task.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The task (a row or column id of the table; "gap" for train-minus-test).
    pub task: String,
    pub a: ArmCells,
    pub b: ArmCells,
    /// `None` when the paper's numbers bear the comparison out, else why they do not
    /// ("100% vs 100%").
    pub paper_disagrees: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    #[error("experiments/claims.toml is not valid: {0}")]
    Parse(String),
    #[error("experiments/claims.toml, claim '{id}': {reason}")]
    Invalid { id: String, reason: String },
}

/// The claims of experiments/claims.toml, checked against the paper's tables.
pub fn claims(paper: &[PaperTable]) -> Result<Vec<Claim>, ClaimError> {
    let file: ClaimsFile = toml::from_str(CLAIMS).map_err(|e| ClaimError::Parse(e.to_string()))?;
    for claim in &file.claim {
        claim.check(paper).map_err(|reason| ClaimError::Invalid {
            id: claim.id.clone(),
            reason,
        })?;
    }
    Ok(file.claim)
}

impl Claim {
    fn check(&self, paper: &[PaperTable]) -> Result<(), String> {
        let table = paper
            .iter()
            .find(|t| t.id == self.table)
            .ok_or_else(|| format!("no table '{}' in experiments/paper.toml", self.table))?;
        let (arms, tasks) = self.axes(table);
        if self.order.len() < 2 {
            return Err("order needs at least two arms".into());
        }
        if let Some(arm) = self.order.iter().find(|a| !arms.contains(a)) {
            return Err(format!("arm '{arm}' is not one of {}", arms.join(", ")));
        }
        if let Some(task) = self.over.iter().flatten().find(|t| !tasks.contains(t)) {
            return Err(format!("task '{task}' is not one of {}", tasks.join(", ")));
        }
        let needs_margin = matches!(self.relation, Relation::AtLeast | Relation::AboutEqual);
        if needs_margin != (self.margin > 0.0) || !self.margin.is_finite() {
            return Err(
                "a positive margin goes with at-least and about-equal, and only there".into(),
            );
        }
        if self.relation == Relation::AboutEqual && self.order.len() != 2 {
            return Err("about-equal compares exactly two arms".into());
        }
        if self.metric == ClaimMetric::TrainMinusTest
            && (self.arms != Arms::Rows
                || !["train", "test"]
                    .iter()
                    .all(|c| table.columns.iter().any(|t| t == c)))
        {
            return Err("train-minus-test needs arms = \"rows\" and train and test columns".into());
        }
        Ok(())
    }

    /// The table's arm ids and task ids, as this claim reads the table.
    fn axes(&self, table: &PaperTable) -> (Vec<String>, Vec<String>) {
        let rows: Vec<String> = table.rows.iter().map(|r| r.id.clone()).collect();
        match self.arms {
            Arms::Rows => (rows, table.columns.clone()),
            Arms::Columns => (table.columns.clone(), rows),
        }
    }

    /// Every comparison the claim makes on `table` (its own table): adjacent arms of the
    /// order, on each task, with whether the paper's numbers bear each out.
    pub fn comparisons(&self, table: &PaperTable) -> Vec<Comparison> {
        let tasks: Vec<String> = match (self.metric, &self.over) {
            (ClaimMetric::TrainMinusTest, _) => vec!["gap".into()],
            (_, Some(over)) => over.clone(),
            (_, None) => self.axes(table).1,
        };
        let mut out = Vec::new();
        for task in &tasks {
            for pair in self.order.windows(2) {
                let (a, b) = (
                    self.arm(table, &pair[0], task),
                    self.arm(table, &pair[1], task),
                );
                let paper_disagrees = self.paper_disagrees(table, &a, &b);
                out.push(Comparison {
                    task: task.clone(),
                    a,
                    b,
                    paper_disagrees,
                });
            }
        }
        out
    }

    fn arm(&self, table: &PaperTable, arm: &str, task: &str) -> ArmCells {
        let at = |row: &str, column: &str| CellRef::new(&table.id, row, column);
        match (self.metric, self.arms) {
            (ClaimMetric::TrainMinusTest, _) => ArmCells {
                arm: arm.into(),
                cell: at(arm, "train"),
                minus: Some(at(arm, "test")),
            },
            (ClaimMetric::Value, Arms::Rows) => ArmCells {
                arm: arm.into(),
                cell: at(arm, task),
                minus: None,
            },
            (ClaimMetric::Value, Arms::Columns) => ArmCells {
                arm: arm.into(),
                cell: at(task, arm),
                minus: None,
            },
        }
    }

    /// Why the paper's own numbers do not bear out `a` against `b`, if they do not.
    fn paper_disagrees(&self, table: &PaperTable, a: &ArmCells, b: &ArmCells) -> Option<String> {
        let (va, vb) = match (paper_number(table, a), paper_number(table, b)) {
            (Some(va), Some(vb)) => (va, vb),
            _ => return Some("the paper prints no number for one arm".into()),
        };
        // The paper's side is judged without the margin of at-least: a reversed pair is a
        // disagreement however small.
        let margin = match self.relation {
            Relation::AtLeast => 0.0,
            _ => self.margin,
        };
        (!self.relation.holds(va - vb, margin))
            .then(|| format!("{} vs {}", text(table, a), text(table, b)))
    }
}

/// An arm's number in the paper (percent, or a count), train minus test where asked.
fn paper_number(table: &PaperTable, arm: &ArmCells) -> Option<f64> {
    let number = |cell: &CellRef| match table.cell(&cell.row, &cell.column)?.value {
        PaperValue::Percent { value, .. } | PaperValue::Count(value) => Some(value),
        PaperValue::Ratio { .. } | PaperValue::Missing => None,
    };
    let value = number(&arm.cell)?;
    match &arm.minus {
        Some(minus) => Some(value - number(minus)?),
        None => Some(value),
    }
}

/// The paper's printed text of an arm ("38.4%", "70% - 42%").
fn text(table: &PaperTable, arm: &ArmCells) -> String {
    let printed = |cell: &CellRef| {
        table
            .cell(&cell.row, &cell.column)
            .map_or("-".to_string(), |c| c.text.clone())
    };
    match &arm.minus {
        Some(minus) => format!("{} - {}", printed(&arm.cell), printed(minus)),
        None => printed(&arm.cell),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> (Vec<PaperTable>, Vec<Claim>) {
        let paper = crate::reference::tables().unwrap();
        let claims = claims(&paper).unwrap();
        (paper, claims)
    }

    fn comparisons(id: &str) -> Vec<Comparison> {
        let (paper, claims) = all();
        let claim = claims.iter().find(|c| c.id == id).unwrap();
        let table = paper.iter().find(|t| t.id == claim.table).unwrap();
        claim.comparisons(table)
    }

    fn disagreeing(id: &str) -> Vec<String> {
        comparisons(id)
            .into_iter()
            .filter(|c| c.paper_disagrees.is_some())
            .map(|c| c.task)
            .collect()
    }

    #[test]
    fn every_claim_is_valid_and_unique() {
        let (_, claims) = all();
        assert!(claims.len() >= 15, "{}", claims.len());
        let mut ids: Vec<&str> = claims.iter().map(|c| c.id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), claims.len(), "claim ids repeat");
    }

    /// The tasks where the paper's own table does not bear a claim out, as the slides print
    /// them.
    #[test]
    fn the_papers_own_numbers_decide_which_tasks_a_claim_covers() {
        // 100% vs 100% on Bit XOR: a tie at the ceiling.
        assert_eq!(disagreeing("fpt-beats-random"), ["bit-xor"]);
        // 56.5 vs 61.7 on CIFAR-10, 33.1 vs 36.1 on CIFAR-10 LRA.
        assert_eq!(
            disagreeing("statistics-at-least-default"),
            ["cifar10", "cifar10-lra"]
        );
        // 50.0 vs 50.0 on XOR, 16.7 vs 16.8 on ListOps.
        assert_eq!(disagreeing("lstm-star-beats-lstm"), ["bit-xor", "listops"]);
        // +feed-forward 36.0 vs FPT 38.4 on ListOps, 38.2 vs 38.6 on CIFAR-10 LRA.
        assert_eq!(
            disagreeing("feedforward-at-least-fpt"),
            ["listops", "cifar10-lra"]
        );
        // 4x10^5 steps both on CIFAR-10, 1x10^5 both on homology.
        assert_eq!(
            disagreeing("fpt-converges-faster"),
            ["cifar10", "remote-homology"]
        );
        assert_eq!(disagreeing("transformer-beats-lstm"), Vec::<String>::new());
        assert_eq!(disagreeing("bert-about-gpt2"), Vec::<String>::new());
    }

    #[test]
    fn orders_compare_neighbours_and_gaps_subtract_test_from_train() {
        let ablation = comparisons("lstm-ablation-order");
        let cifar: Vec<(String, String)> = ablation
            .iter()
            .filter(|c| c.task == "cifar10")
            .map(|c| (c.a.arm.clone(), c.b.arm.clone()))
            .collect();
        assert_eq!(
            cifar,
            [
                ("random-transformer".into(), "positions".into()),
                ("positions".into(), "residual".into()),
                ("residual".into(), "lstm-12".into())
            ]
        );
        let gap = comparisons("fpt-barely-overfits");
        assert_eq!(gap.len(), 1);
        assert_eq!(gap[0].a.cell, CellRef::new("overfitting", "fpt", "train"));
        assert_eq!(
            gap[0].a.minus,
            Some(CellRef::new("overfitting", "fpt", "test"))
        );
        // 38.5 - 38.6 against 70 - 42.
        assert_eq!(gap[0].paper_disagrees, None);
    }

    #[test]
    fn relations_on_exact_differences() {
        assert!(Relation::Greater.holds(0.1, 0.0) && !Relation::Greater.holds(0.0, 0.0));
        assert!(Relation::Less.holds(-0.1, 0.0) && !Relation::Less.holds(0.0, 0.0));
        assert!(Relation::AtLeast.holds(-2.9, 3.0) && !Relation::AtLeast.holds(-3.1, 3.0));
        assert!(Relation::AboutEqual.holds(-2.9, 3.0) && !Relation::AboutEqual.holds(3.1, 3.0));
    }
}
