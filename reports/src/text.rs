//! The terminal version of the report: the claims first (each tested comparison with its
//! verdict and interval), then each table as a compact fixed-width grid of
//! "ours | paper verdict".

use std::fmt::Write as _;

use crate::cells::CellRecord;
use crate::claims::{p_text, ClaimRecord, ClaimVerdict, MIN_SEEDS};
use crate::context::ReportContext;
use crate::cost::{ratio_text, CostSummary, MEASURES};
use crate::observe::TableLayout;
use crate::verdict::Verdict;

fn short(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Reproduced => "ok",
        Verdict::Below => "low",
        Verdict::Above => "high",
        Verdict::NoVerdict => "",
        Verdict::NotComparable => "n/c",
        Verdict::NotRun => "n/r",
        Verdict::Unsupported => "unsup",
    }
}

const LEGEND: &str = "cells: ours | paper verdict (ok = reproduced, low/high = below/above the \
paper beyond tolerance, n/c = not comparable: another setup than the paper's, n/r = not run, \
unsup = unsupported); accuracies in %; † diverged seeds";

/// One grid cell: every reported lr's value, then the paper's and the verdict.
fn grid_cell(cells: &[&CellRecord]) -> String {
    let Some(first) = cells.first() else {
        return String::new();
    };
    let mut ours: Vec<String> = cells
        .iter()
        .map(|c| {
            let mut text = if c.ours_text.is_empty() {
                "-".to_string()
            } else {
                c.ours_text.clone()
            };
            if c.ours.diverged > 0 {
                text.push('†');
            }
            text
        })
        .collect();
    ours.dedup();
    let paper = first.paper_text.as_deref().unwrap_or("");
    let verdict = short(first.verdict);
    format!("{} | {paper} {verdict}", ours.join(" / "))
        .trim_end()
        .to_string()
}

pub fn render(
    context: &ReportContext,
    claims: &[ClaimRecord],
    cost: &[CostSummary],
    layouts: &[TableLayout],
    cells: &[CellRecord],
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "fpt-repro report, profile {}: {} run(s), {} unfinished, {} planned but absent",
        context.profile, context.runs, context.unfinished, context.missing
    );
    if let Some(time) = context.time {
        let _ = writeln!(out, "run time: {time}");
    }
    if !claims.is_empty() {
        out.push_str(&render_claims(claims));
        out.push('\n');
    }
    if !cost.is_empty() {
        out.push_str(&render_cost(cost));
        out.push('\n');
    }
    let _ = writeln!(out, "cells: {}", verdict_counts(cells));
    let _ = writeln!(out, "{LEGEND}");
    for layout in layouts {
        let _ = writeln!(out, "\n[{}] {}", layout.id, layout.title);
        write_aligned(&mut out, &grid(layout, cells));
        let models = models(layout, cells);
        if !models.is_empty() {
            let _ = writeln!(out, "models: {}", models.join(", "));
        }
    }
    out
}

/// The claims this profile tested, one line per comparison, then how many it could not
/// test and why (every comparison is in claims.csv and index.html).
pub fn render_claims(claims: &[ClaimRecord]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "claims: a − b per seed, 95% t interval over seeds, a verdict from {MIN_SEEDS} seeds up; \
         McNemar's exact p per seed beside accuracy claims"
    );
    let tested: Vec<&ClaimRecord> = claims.iter().filter(|c| is_tested(c.verdict)).collect();
    let mut grid = vec![[
        "claim",
        "task",
        "comparison",
        "verdict",
        "a − b [95% CI]",
        "seeds",
        "McNemar p",
        "note",
    ]
    .map(String::from)
    .to_vec()];
    for c in &tested {
        grid.push(vec![
            c.claim.clone(),
            c.task.clone(),
            c.comparison.clone(),
            c.verdict.name().into(),
            difference_text(c),
            c.seeds.to_string(),
            c.mcnemar
                .iter()
                .map(|t| p_text(t.p))
                .collect::<Vec<_>>()
                .join(", "),
            c.note.clone(),
        ]);
    }
    if tested.is_empty() {
        let _ = writeln!(out, "(no claim was tested by these runs)");
    } else {
        write_aligned(&mut out, &grid);
    }
    let count = |v: ClaimVerdict| claims.iter().filter(|c| c.verdict == v).count();
    let _ = writeln!(
        out,
        "untested: {} comparison(s) not run by this profile, {} where the paper's own numbers disagree",
        count(ClaimVerdict::NotRun),
        count(ClaimVerdict::PaperDisagrees)
    );
    out
}

/// The output-only speed-up, three ways (see [`COST_NOTE`]).
fn render_cost(cost: &[CostSummary]) -> String {
    let mut out =
        String::from("output-only cost: FPT ÷ output-only per seed pair, mean (lowest–highest)\n");
    let mut grid = vec![["task", "seeds"]
        .iter()
        .map(|h| h.to_string())
        .chain(MEASURES.iter().map(|m| m.to_string()))
        .collect::<Vec<_>>()];
    for c in cost {
        let mut line = vec![c.task.clone(), c.seeds.to_string()];
        line.extend(c.ratios.iter().map(|r| ratio_text(*r)));
        grid.push(line);
    }
    write_aligned(&mut out, &grid);
    if cost.iter().any(|c| c.caching_in_step_time) {
        out.push_str("(some results predate schema 3: their step time includes feature caching)\n");
    }
    out
}

fn is_tested(verdict: ClaimVerdict) -> bool {
    !matches!(verdict, ClaimVerdict::NotRun | ClaimVerdict::PaperDisagrees)
}

/// "+41.2 [36.1, 46.3]", or "-" without an interval.
pub(crate) fn difference_text(claim: &ClaimRecord) -> String {
    claim.interval.map_or("-".into(), |i| {
        format!("{:+.1} [{:+.1}, {:+.1}]", i.mean, i.low, i.high)
    })
}

/// How many cells have each verdict, in verdict order: "3 reproduced, 1 below".
fn verdict_counts(cells: &[CellRecord]) -> String {
    let mut counts: Vec<(Verdict, usize)> = Vec::new();
    for cell in cells {
        match counts.iter_mut().find(|(v, _)| *v == cell.verdict) {
            Some((_, n)) => *n += 1,
            None => counts.push((cell.verdict, 1)),
        }
    }
    counts.sort();
    let summary: Vec<String> = counts
        .iter()
        .map(|(v, n)| format!("{n} {}", v.name()))
        .collect();
    summary.join(", ")
}

/// The table as lines of text: a header line of column labels, then a line per row.
fn grid(layout: &TableLayout, cells: &[CellRecord]) -> Vec<Vec<String>> {
    let mut grid: Vec<Vec<String>> = vec![std::iter::once(String::new())
        .chain(layout.columns.iter().map(|c| c.label.clone()))
        .collect()];
    for row in &layout.rows {
        let mut line = vec![row.label.clone()];
        for col in &layout.columns {
            let here: Vec<&CellRecord> = cells
                .iter()
                .filter(|c| c.table == layout.id && c.row == row.id && c.column == col.id)
                .collect();
            line.push(grid_cell(&here));
        }
        grid.push(line);
    }
    grid
}

/// Writes `grid` with each column padded to its widest text.
fn write_aligned(out: &mut String, grid: &[Vec<String>]) {
    let widths: Vec<usize> = (0..grid[0].len())
        .map(|i| grid.iter().map(|l| l[i].chars().count()).max().unwrap_or(0))
        .collect();
    for line in grid {
        let padded: Vec<String> = line
            .iter()
            .zip(&widths)
            .map(|(text, w)| format!("{text:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", padded.join("  ").trim_end());
    }
}

/// The models behind the table's values, sorted, each once.
fn models<'a>(layout: &TableLayout, cells: &'a [CellRecord]) -> Vec<&'a str> {
    let mut models: Vec<&str> = cells
        .iter()
        .filter(|c| c.table == layout.id && !c.ours.model.is_empty())
        .map(|c| c.ours.model.as_str())
        .collect();
    models.sort();
    models.dedup();
    models
}
