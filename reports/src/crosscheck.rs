//! The cross-check against the reference implementation: per task and init, our final
//! accuracies beside the reference trainer's (tools/reference/train.py) over seeds paired
//! by seed (same batches), the paired difference with its 95% interval, and an equivalence
//! verdict by two one-sided tests (TOST) within a margin fixed in advance.
//!
//! The folder `cargo xtask crosscheck` fills: one `<task>-<init>-s<seed>/` per pair, holding
//! `ours/` (a run folder) and `reference.json` (what train.py writes). This module reads
//! it and writes `crosscheck.csv`, `curves-<task>-<init>.png/.svg` and `index.html` there.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::charts;
use crate::error::ReportError;
use crate::html::escape;
use crate::stats::{seed_stats, t_95, t_975};
use crate::write::write_atomic;

/// One side of one seed: its final accuracy (percent), time per step and learning curve.
#[derive(Debug, Clone)]
pub struct Side {
    pub accuracy: f64,
    pub seconds_per_step: f64,
    pub curve: Vec<(u64, f64)>,
}

/// Both sides of one seed of one (task, init).
#[derive(Debug, Clone)]
pub struct Pair {
    pub task: String,
    pub init: String,
    pub seed: u64,
    pub ours: Side,
    pub reference: Side,
}

/// Beyond this many seeds a count to settle the test is no practical advice.
const MANY_SEEDS: usize = 100;

/// The verdict of the two one-sided tests.
#[derive(Debug, Clone, PartialEq)]
pub enum Equivalence {
    /// The 90% interval of the mean difference lies inside ±margin.
    Equivalent,
    /// The 90% interval lies wholly outside ±margin.
    Different,
    /// Neither; `seeds_needed`: the seed count at which an interval of the spread seen here
    /// would fit inside the margin around the difference seen here (None: the difference
    /// itself is at or beyond the margin, so more seeds cannot make it equivalent).
    Inconclusive { seeds_needed: Option<usize> },
}

impl Equivalence {
    pub fn text(&self) -> String {
        match self {
            Equivalence::Equivalent => "equivalent".into(),
            Equivalence::Different => "not equivalent".into(),
            Equivalence::Inconclusive {
                seeds_needed: Some(n),
            } if *n <= MANY_SEEDS => format!("inconclusive (about {n} seeds would settle it)"),
            Equivalence::Inconclusive { seeds_needed: Some(_) } => format!(
                "inconclusive (the difference sits close to the margin: more than {MANY_SEEDS} seeds)"
            ),
            Equivalence::Inconclusive { seeds_needed: None } => {
                "inconclusive (the difference is at the margin)".into()
            }
        }
    }
}

/// One (task, init): both sides' mean ± SEM, the paired difference ours - reference with
/// its 95% interval, the TOST 90% interval and verdict, and the step-time ratio.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub task: String,
    pub init: String,
    pub seeds: usize,
    pub ours: (f64, f64),
    pub reference: (f64, f64),
    pub difference: f64,
    pub interval_95: (f64, f64),
    pub interval_90: (f64, f64),
    pub verdict: Equivalence,
    /// Median over seeds of our seconds per step over the reference's.
    pub step_time_ratio: f64,
}

/// The TOST on paired differences within ±`margin`: (90% interval, verdict); `None` below
/// two differences.
pub fn tost(differences: &[f64], margin: f64) -> Option<((f64, f64), Equivalence)> {
    let stats = seed_stats(differences).filter(|s| s.n >= 2)?;
    let df = stats.n - 1;
    let half = t_95(df) * stats.sem;
    let (low, high) = (stats.mean - half, stats.mean + half);
    let verdict = if -margin < low && high < margin {
        Equivalence::Equivalent
    } else if high <= -margin || low >= margin {
        Equivalence::Different
    } else {
        let room = margin - stats.mean.abs();
        let sd = stats.sem * (stats.n as f64).sqrt();
        Equivalence::Inconclusive {
            seeds_needed: (room > 0.0).then(|| seeds_to_fit(sd, room).max(stats.n + 1)),
        }
    };
    Some(((low, high), verdict))
}

/// The smallest n whose one-sided 95% half-width t(n-1) · sd / √n is below `room`.
fn seeds_to_fit(sd: f64, room: f64) -> usize {
    (2..10_000)
        .find(|&n| t_95(n - 1) * sd / (n as f64).sqrt() < room)
        .unwrap_or(10_000)
}

/// Every pair in `dir`, by folder name.
pub fn load(dir: &Path) -> Result<Vec<Pair>, ReportError> {
    let mut pairs = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(ReportError::io(dir))?;
    let mut folders: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("reference.json").is_file() && p.join("ours").is_dir())
        .collect();
    folders.sort();
    for folder in folders {
        pairs.push(load_pair(&folder)?);
    }
    Ok(pairs)
}

#[derive(Deserialize)]
struct ReferenceFile {
    test_accuracy: f64,
    seconds_per_step: f64,
    curve: Vec<CurvePoint>,
}

#[derive(Deserialize)]
struct CurvePoint {
    step: u64,
    test_accuracy: f64,
}

fn load_pair(folder: &Path) -> Result<Pair, ReportError> {
    let ours_dir = folder.join("ours");
    let malformed = |reason: String| ReportError::Malformed {
        path: folder.display().to_string(),
        reason,
    };
    let result = spec::run_dir::read_result(&ours_dir.join(spec::run_dir::RESULT))?
        .ok_or_else(|| malformed("our run has not finished".into()))?;
    let metrics = spec::run_dir::read_metrics(&ours_dir.join(spec::run_dir::METRICS))?;
    let path = folder.join("reference.json");
    let text = std::fs::read_to_string(&path).map_err(ReportError::io(&path))?;
    let reference: ReferenceFile =
        serde_json::from_str(&text).map_err(|e| ReportError::Malformed {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
    let mut reference_curve: Vec<(u64, f64)> = reference
        .curve
        .iter()
        .map(|p| (p.step, 100.0 * p.test_accuracy))
        .collect();
    reference_curve.push((result.steps, 100.0 * reference.test_accuracy));
    Ok(Pair {
        task: result.task.clone(),
        init: result.init.name().to_string(),
        seed: result.seed,
        ours: Side {
            accuracy: 100.0 * result.test_accuracy,
            seconds_per_step: result.seconds_per_step.unwrap_or(f64::NAN),
            // The step-0 evaluation has no reference counterpart.
            curve: metrics
                .iter()
                .filter(|m| m.step > 0)
                .map(|m| (m.step, 100.0 * m.test_accuracy))
                .collect(),
        },
        reference: Side {
            accuracy: 100.0 * reference.test_accuracy,
            seconds_per_step: reference.seconds_per_step,
            curve: reference_curve,
        },
    })
}

/// The comparisons of `pairs`, one per (task, init).
pub fn compare(pairs: &[Pair], margin: f64) -> Vec<Comparison> {
    let mut groups: BTreeMap<(&str, &str), Vec<&Pair>> = BTreeMap::new();
    for p in pairs {
        groups.entry((&p.task, &p.init)).or_default().push(p);
    }
    groups
        .into_iter()
        .filter_map(|((task, init), group)| {
            let ours: Vec<f64> = group.iter().map(|p| p.ours.accuracy).collect();
            let theirs: Vec<f64> = group.iter().map(|p| p.reference.accuracy).collect();
            let differences: Vec<f64> = ours.iter().zip(&theirs).map(|(a, b)| a - b).collect();
            let (interval_90, verdict) = tost(&differences, margin)?;
            let d = seed_stats(&differences)?;
            let half = t_975(d.n - 1) * d.sem;
            let (o, r) = (seed_stats(&ours)?, seed_stats(&theirs)?);
            let mut ratios: Vec<f64> = group
                .iter()
                .map(|p| p.ours.seconds_per_step / p.reference.seconds_per_step)
                .collect();
            ratios.sort_by(f64::total_cmp);
            Some(Comparison {
                task: task.into(),
                init: init.into(),
                seeds: d.n,
                ours: (o.mean, o.sem),
                reference: (r.mean, r.sem),
                difference: d.mean,
                interval_95: (d.mean - half, d.mean + half),
                interval_90,
                verdict,
                step_time_ratio: ratios[ratios.len() / 2],
            })
        })
        .collect()
}

const CSV_HEADER: &str = "task,init,seeds,ours_mean,ours_sem,reference_mean,reference_sem,difference,ci95_low,ci95_high,ci90_low,ci90_high,verdict,step_time_ratio";

fn csv(comparisons: &[Comparison]) -> String {
    let mut out = format!("{CSV_HEADER}\n");
    for c in comparisons {
        writeln!(
            out,
            "{},{},{},{:.2},{:.2},{:.2},{:.2},{:.2},{:.2},{:.2},{:.2},{:.2},\"{}\",{:.3}",
            c.task,
            c.init,
            c.seeds,
            c.ours.0,
            c.ours.1,
            c.reference.0,
            c.reference.1,
            c.difference,
            c.interval_95.0,
            c.interval_95.1,
            c.interval_90.0,
            c.interval_90.1,
            c.verdict.text(),
            c.step_time_ratio
        )
        .expect("writing to a String");
    }
    out
}

const COLUMNS: [&str; 9] = [
    "task",
    "init",
    "seeds",
    "ours (mean ± SEM)",
    "reference",
    "ours − reference [95%]",
    "90% (TOST)",
    "verdict",
    "step time ours/ref",
];

impl Comparison {
    /// The row the terminal and the page show, one cell per [`COLUMNS`] entry.
    fn cells(&self) -> [String; 9] {
        let ((a, b), (c, d)) = (self.interval_95, self.interval_90);
        [
            self.task.clone(),
            self.init.clone(),
            self.seeds.to_string(),
            format!("{:.1} ± {:.1}", self.ours.0, self.ours.1),
            format!("{:.1} ± {:.1}", self.reference.0, self.reference.1),
            format!("{:+.1} [{a:+.1}, {b:+.1}]", self.difference),
            format!("[{c:+.1}, {d:+.1}]"),
            self.verdict.text(),
            format!("{:.2}", self.step_time_ratio),
        ]
    }
}

/// The comparisons as an aligned terminal table.
pub fn text(comparisons: &[Comparison], margin: f64) -> String {
    let rows: Vec<[String; 9]> = std::iter::once(COLUMNS.map(String::from))
        .chain(comparisons.iter().map(Comparison::cells))
        .collect();
    let widths: Vec<usize> = (0..COLUMNS.len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = format!(
        "cross-check: accuracy points; equivalent when the 90% interval lies inside ±{margin}\n"
    );
    for row in &rows {
        let padded: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out += padded.join("  ").trim_end();
        out.push('\n');
    }
    out
}

/// Writes crosscheck.csv, the curves and index.html into `dir`; returns the comparisons.
pub fn write(dir: &Path, margin: f64, about: &str) -> Result<Vec<Comparison>, ReportError> {
    let pairs = load(dir)?;
    let comparisons = compare(&pairs, margin);
    write_atomic(&dir.join("crosscheck.csv"), csv(&comparisons).as_bytes())?;
    let mut figures = String::new();
    for c in &comparisons {
        let group: Vec<&Pair> = pairs
            .iter()
            .filter(|p| p.task == c.task && p.init == c.init)
            .collect();
        let curves = [
            (
                "ours".to_string(),
                group.iter().map(|p| p.ours.curve.clone()).collect(),
            ),
            (
                "reference (PyTorch + transformers)".to_string(),
                group.iter().map(|p| p.reference.curve.clone()).collect(),
            ),
        ];
        let stem = format!("curves-{}-{}", c.task, c.init);
        let title = format!(
            "{} {}: test accuracy, mean of {} seeds",
            c.task, c.init, c.seeds
        );
        let chart = charts::mean_curves(dir, &stem, &title, &curves)?;
        let name = chart
            .svg
            .file_name()
            .map(|n| n.to_string_lossy().to_string());
        let _ = writeln!(
            figures,
            "<figure><img src=\"{}\" alt=\"{}\"></figure>",
            escape(&name.unwrap_or_default()),
            escape(&title)
        );
    }
    let cell_row = |cells: &[String], tag: &str| -> String {
        let inner: String = cells
            .iter()
            .map(|c| format!("<{tag}>{}</{tag}>", escape(c)))
            .collect();
        format!("<tr>{inner}</tr>\n")
    };
    let mut rows = cell_row(&COLUMNS.map(String::from), "th");
    for c in &comparisons {
        rows += &cell_row(&c.cells(), "td");
    }
    let page = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Cross-check against the reference implementation</title>\
         <style>body{{font-family:sans-serif;max-width:70em;margin:2em auto}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3em .6em}}img{{max-width:100%}}</style></head><body>\
         <h1>Cross-check against the reference implementation</h1>\
         <p>{}</p>\
         <p>How to read it: each row pairs our run and the reference's seed by seed (the same batches in the same order; dropout and the reference's own init draw differently). \
         Accuracy is on the full evaluated split, on both sides (the reference code's sampled-batch evaluation is replaced by the full split). \
         The difference is ours minus the reference's, in accuracy points, with its 95% t interval over seeds; \
         <b>equivalent</b> means the 90% interval (two one-sided tests at 5%) lies inside ±{margin} points, a margin fixed before the runs. \
         The step-time ratio is the median over seeds of our seconds per step over the reference's, measured in this run.</p>\
         <table>\n{rows}</table>\
         {figures}<p>Data: crosscheck.csv; each pair's runs are in its folder (ours/, reference.json, export/).</p></body></html>",
        escape(about)
    );
    write_atomic(&dir.join("index.html"), page.as_bytes())?;
    Ok(comparisons)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tost_is_equivalent_only_when_the_90_interval_fits_the_margin() {
        // Mean 0.5, sd 1 over 10 seeds: half-width 1.833 / √10 = 0.58 -> [-0.08, 1.08].
        let tight: Vec<f64> = (0..10)
            .map(|i| if i % 2 == 0 { 1.5 } else { -0.5 })
            .collect();
        let ((low, high), verdict) = tost(&tight, 3.0).unwrap();
        assert_eq!(verdict, Equivalence::Equivalent);
        assert!(
            (low - (0.5 - 1.833 * 1.0541 / 10f64.sqrt())).abs() < 1e-3,
            "{low}"
        );
        assert!(high < 3.0);
        // The same spread around 5 points: wholly outside the margin.
        let off: Vec<f64> = tight.iter().map(|d| d + 4.5).collect();
        assert_eq!(tost(&off, 3.0).unwrap().1, Equivalence::Different);
    }

    fn side(accuracy: f64, seconds_per_step: f64) -> Side {
        Side {
            accuracy,
            seconds_per_step,
            curve: vec![(150, accuracy)],
        }
    }

    /// Pairs group by (task, init), differ seed by seed, and the step-time ratio is the
    /// median of the seeds' ratios.
    #[test]
    fn comparisons_pair_seeds_within_each_task_and_init() {
        let pair = |init: &str, seed: u64, ours: f64, theirs: f64, ratio: f64| Pair {
            task: "mnist".into(),
            init: init.into(),
            seed,
            ours: side(ours, ratio),
            reference: side(theirs, 1.0),
        };
        let pairs = [
            pair("random", 0, 30.0, 29.0, 0.8),
            pair("random", 1, 26.0, 25.5, 0.9),
            pair("random", 2, 28.0, 27.5, 2.0),
            pair("pretrained", 0, 70.0, 60.0, 1.0),
            pair("pretrained", 1, 72.0, 61.0, 1.0),
            pair("pretrained", 2, 71.0, 59.0, 1.0),
        ];
        let [pretrained, random] = compare(&pairs, 3.0).try_into().unwrap();
        assert_eq!(
            (pretrained.init.as_str(), random.init.as_str()),
            ("pretrained", "random")
        );
        assert!((random.difference - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(random.verdict, Equivalence::Equivalent);
        assert_eq!(random.step_time_ratio, 0.9);
        assert_eq!(pretrained.verdict, Equivalence::Different);
        assert!(
            pretrained.interval_95.0 > 3.0,
            "{:?}",
            pretrained.interval_95
        );
    }

    #[test]
    fn a_wide_spread_is_inconclusive_and_says_how_many_seeds_would_settle_it() {
        // Mean 0, sd 4 over 4 seeds: half-width 2.353 * 2 = 4.7 > 3.
        let wide = [4.0, -4.0, 4.0, -4.0];
        let (_, verdict) = tost(&wide, 3.0).unwrap();
        let sd = (64.0f64 / 3.0).sqrt();
        let n = seeds_to_fit(sd, 3.0);
        assert_eq!(
            verdict,
            Equivalence::Inconclusive {
                seeds_needed: Some(n)
            }
        );
        // At n the half-width fits, at n - 1 it does not.
        assert!(t_95(n - 1) * sd / (n as f64).sqrt() < 3.0);
        assert!(t_95(n - 2) * sd / ((n - 1) as f64).sqrt() >= 3.0);
        // A difference at the margin cannot be settled by seeds.
        let at_margin = [7.0, -1.0, 7.0, -1.0];
        assert_eq!(
            tost(&at_margin, 3.0).unwrap().1,
            Equivalence::Inconclusive { seeds_needed: None }
        );
        assert!(tost(&[1.0], 3.0).is_none());
    }
}
