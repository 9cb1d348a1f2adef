//! Observations -> our number for each cell: polars groups the observations by cell and
//! learning rate and aggregates over seeds; then one lr is chosen per cell (on validation
//! accuracy) and the suite's derived, fixed and excluded cells are added.

use std::collections::BTreeSet;

use polars::prelude::*;
use spec::schema::{CellRef, SuiteManifest, COMPARABILITY_VERSION};

use crate::error::ReportError;
use crate::frame::{cell_columns, column, flags, floats, read_cells, strings};
use crate::measurement::Measurement;
use crate::observe::Observation;
use crate::stats::{ratio, seed_stats, select_lr, Bound, LrCandidate, LrChoice};
use crate::suite::Unit;
use crate::verdict::Verdict;

/// Our number for one cell (one per reported learning rate), or why there is none.
#[derive(Debug, Clone, PartialEq)]
pub struct OursRecord {
    pub cell: CellRef,
    pub measured: Measurement,
    /// A value given as text (fixed cells).
    pub text: Option<String>,
    /// A verdict that does not depend on the number: not run, unsupported, or no verdict
    /// for an lr that could not be selected.
    pub preset: Option<Verdict>,
    pub note: String,
}

impl OursRecord {
    fn at(cell: &CellRef, unit: Option<Unit>) -> Self {
        OursRecord {
            cell: cell.clone(),
            measured: Measurement::empty(unit),
            text: None,
            preset: None,
            note: String::new(),
        }
    }
}

const GROUP_KEYS: [&str; 6] = ["table", "row", "column", "metric", "unit", "lr"];

/// Every observation as one frame, a row per (run, cell).
pub fn observations_frame(observations: &[Observation]) -> Result<DataFrame, ReportError> {
    let text = |f: fn(&Observation) -> String| observations.iter().map(f).collect::<Vec<_>>();
    DataFrame::new_infer_height(vec![
        column("table", text(|o| o.table.clone())),
        column("row", text(|o| o.row.clone())),
        column("column", text(|o| o.column.clone())),
        column("metric", text(|o| o.metric.label())),
        column("unit", text(|o| crate::suite::unit(o.metric).name().into())),
        column("lr", observations.iter().map(|o| o.lr).collect::<Vec<_>>()),
        column("run", text(|o| o.run.clone())),
        column(
            "seed",
            observations.iter().map(|o| o.seed).collect::<Vec<_>>(),
        ),
        column("model", text(|o| o.model.clone())),
        column(
            "value",
            observations.iter().map(|o| o.value).collect::<Vec<_>>(),
        ),
        column("bound", text(|o| o.bound.name().into())),
        column(
            "validation",
            observations
                .iter()
                .map(|o| o.validation)
                .collect::<Vec<_>>(),
        ),
        column(
            "diverged",
            observations.iter().map(|o| o.diverged).collect::<Vec<_>>(),
        ),
        column(
            "sampled",
            observations.iter().map(|o| o.sampled).collect::<Vec<_>>(),
        ),
        column(
            "finished",
            observations.iter().map(|o| o.finished).collect::<Vec<_>>(),
        ),
    ])
    .map_err(ReportError::frame("observations"))
}

/// Mean, SEM and counts over the seeds of each (cell, lr): one row per group.
pub fn aggregate_over_seeds(observations: &DataFrame) -> Result<DataFrame, ReportError> {
    observations
        .group_by_stable(GROUP_KEYS)
        .and_then(|groups| groups.apply(summarise_group))
        .map_err(ReportError::frame("aggregated cells"))
}

fn summarise_group(group: DataFrame) -> PolarsResult<DataFrame> {
    let first = |name: &str| -> PolarsResult<String> {
        Ok(strings(&group, name)?
            .into_iter()
            .flatten()
            .next()
            .unwrap_or_default())
    };
    let values = floats(&group, "value")?;
    let bounds = strings(&group, "bound")?;
    let finished = flags(&group, "finished")?;
    let validation = floats(&group, "validation")?;
    let present: Vec<f64> = values.iter().flatten().copied().collect();
    let stats = seed_stats(&present);
    let at_least = values
        .iter()
        .zip(&bounds)
        .any(|(v, b)| v.is_some() && b.as_deref() == Some(Bound::AtLeast.name()));
    let count = |v: &[Option<bool>]| v.iter().filter(|f| **f == Some(true)).count() as u32;
    let finished_validation: Option<Vec<f64>> = validation
        .iter()
        .zip(&finished)
        .filter(|(_, f)| **f == Some(true))
        .map(|(v, _)| *v)
        .collect();
    let mean_validation = finished_validation
        .as_deref()
        .and_then(seed_stats)
        .map(|s| s.mean);
    let models: BTreeSet<String> = strings(&group, "model")?
        .into_iter()
        .flatten()
        .filter(|m| !m.is_empty())
        .collect();
    let measured = Measurement {
        metric: first("metric")?,
        unit: Unit::from_name(&first("unit")?),
        mean: stats.map(|s| s.mean),
        sem: stats.map(|s| s.sem),
        n: present.len() as u32,
        diverged: count(&flags(&group, "diverged")?),
        pending: finished.len() as u32 - count(&finished),
        bound: if at_least {
            Bound::AtLeast
        } else {
            Bound::Exact
        },
        model: models.into_iter().collect::<Vec<_>>().join(" + "),
        lr: floats(&group, "lr")?.first().copied().flatten(),
        sampled: count(&flags(&group, "sampled")?) > 0,
    };
    let cell = read_cells(&group.head(Some(1)))?;
    let mut columns = cell_columns(&cell.iter().collect::<Vec<_>>());
    columns.extend(Measurement::columns(&[&measured]));
    columns.push(column("validation", [mean_validation]));
    DataFrame::new_infer_height(columns)
}

/// The aggregated frame back as records, one per (cell, lr), in frame order.
fn lr_records(aggregated: &DataFrame) -> PolarsResult<Vec<OursRecord>> {
    Ok(read_cells(aggregated)?
        .into_iter()
        .zip(Measurement::read(aggregated)?)
        .map(|(cell, measured)| OursRecord {
            cell,
            measured,
            text: None,
            preset: None,
            note: String::new(),
        })
        .collect())
}

/// One record per cell: the lr chosen on validation accuracy, or every lr, flagged, when
/// there is none to choose by.
fn choose_lrs(records: Vec<OursRecord>, validation: &[Option<f64>]) -> Vec<OursRecord> {
    let mut cells: Vec<CellRef> = Vec::new();
    for r in &records {
        if !cells.contains(&r.cell) {
            cells.push(r.cell.clone());
        }
    }
    let mut out = Vec::new();
    for cell in cells {
        let (records, validation): (Vec<OursRecord>, Vec<Option<f64>>) = records
            .iter()
            .zip(validation)
            .filter(|(r, _)| r.cell == cell)
            .map(|(r, v)| (r.clone(), *v))
            .unzip();
        let candidates: Vec<LrCandidate> = records
            .iter()
            .zip(&validation)
            .map(|(r, v)| LrCandidate {
                lr: r.measured.lr,
                validation: *v,
            })
            .collect();
        match select_lr(&candidates) {
            LrChoice::Chosen(i) => {
                let mut chosen = records[i].clone();
                if records.len() > 1 {
                    chosen.note = format!(
                        "lr chosen on validation accuracy among {} learning rates",
                        records.len()
                    );
                }
                out.push(chosen);
            }
            LrChoice::NotSelectable => out.extend(records.into_iter().map(|mut r| {
                r.preset = Some(Verdict::NoVerdict);
                r.note = "several learning rates and no validation accuracy to choose by: \
                          every lr is shown, none is selected"
                    .into();
                r
            })),
        }
    }
    out
}

/// Our records for every cell the suite names: measured, derived, fixed and excluded.
pub fn ours(
    aggregated: Option<&DataFrame>,
    suite: Option<&SuiteManifest>,
) -> Result<Vec<OursRecord>, ReportError> {
    let mut records = match aggregated {
        Some(df) => {
            let records = lr_records(df).map_err(ReportError::frame("aggregated cells"))?;
            let validation =
                floats(df, "validation").map_err(ReportError::frame("aggregated cells"))?;
            choose_lrs(records, &validation)
        }
        None => Vec::new(),
    };
    let Some(suite) = suite else {
        return Ok(records);
    };
    let derived: Vec<OursRecord> = suite
        .derived
        .iter()
        .map(|d| {
            let (numerator, denominator) = d.parts();
            derive_ratio(&records, &d.cell, &numerator, &denominator)
        })
        .collect();
    records.extend(derived);
    for fixed in &suite.fixed {
        records.push(OursRecord {
            text: Some(fixed.value.clone()),
            preset: Some(Verdict::NoVerdict),
            note: fixed.note.clone(),
            ..OursRecord::at(&fixed.cell, Some(Unit::Text))
        });
    }
    let excluded = suite
        .unsupported
        .iter()
        .map(|e| (e, Verdict::Unsupported))
        .chain(suite.not_in_profile.iter().map(|e| (e, Verdict::NotRun)));
    for (e, verdict) in excluded {
        records.push(OursRecord {
            preset: Some(verdict),
            note: e.reason.clone(),
            ..OursRecord::at(&e.cell, None)
        });
    }
    mark_not_comparable(&mut records, suite);
    Ok(records)
}

/// Cells whose setup is not the paper's carry "not comparable" and how they differ, in place
/// of a verdict; a suite.json from before comparability was recorded makes every cell so.
fn mark_not_comparable(records: &mut [OursRecord], suite: &SuiteManifest) {
    let unchecked = (suite.schema_version < COMPARABILITY_VERSION).then(|| {
        format!(
            "suite.json (schema {}) predates comparability checks; rerun fpt reproduce to judge",
            suite.schema_version
        )
    });
    for record in records {
        if !matches!(record.preset, None | Some(Verdict::NoVerdict)) {
            continue;
        }
        let listed = suite.not_comparable.iter().find(|c| c.cell == record.cell);
        let reasons = match (&unchecked, listed) {
            (Some(why), _) => why.clone(),
            (None, Some(cell)) => cell.reasons.join("; "),
            (None, None) => {
                note_declared(record, suite);
                continue;
            }
        };
        record.preset = Some(Verdict::NotComparable);
        record.note = match record.note.is_empty() {
            true => format!("not comparable: {reasons}"),
            false => format!("{}; not comparable: {reasons}", record.note),
        };
    }
}

/// A cell judged against the paper only because its profile declares it comparable says
/// so, with the reason and how its setup differs.
fn note_declared(record: &mut OursRecord, suite: &SuiteManifest) {
    let Some(declared) = suite
        .declared_comparable
        .iter()
        .find(|c| c.cell == record.cell)
    else {
        return;
    };
    let note = format!(
        "judged as the profile declares: {} (differs: {})",
        declared.reason,
        declared.differences.join("; ")
    );
    record.note = match record.note.is_empty() {
        true => note,
        false => format!("{}; {note}", record.note),
    };
}

/// The ratio of two cells' chosen values (a speed-up), a bound when either part is.
fn derive_ratio(
    records: &[OursRecord],
    target: &CellRef,
    numerator: &CellRef,
    denominator: &CellRef,
) -> OursRecord {
    let name = |c: &CellRef| format!("{} / {}", c.row, c.column);
    let part = |c: &CellRef| {
        let mut matching = records
            .iter()
            .filter(|r| &r.cell == c && r.preset.is_none());
        match (matching.next(), matching.next()) {
            (Some(r), None) => r.measured.mean.map(|m| (&r.measured, m)),
            _ => None,
        }
    };
    let mut out = OursRecord::at(target, Some(Unit::Ratio));
    out.measured.metric = "ratio".into();
    match (part(numerator), part(denominator)) {
        (Some((num, n)), Some((den, d))) => {
            let m = &mut out.measured;
            if let Some((value, bound)) = ratio((n, num.bound), (d, den.bound)) {
                m.mean = Some(value);
                m.bound = bound;
            }
            m.n = num.n.min(den.n);
            m.diverged = num.diverged + den.diverged;
            m.model = if num.model == den.model {
                num.model.clone()
            } else {
                format!("{} / {}", num.model, den.model)
            };
            out.note = format!("({}) ÷ ({})", name(numerator), name(denominator));
        }
        _ => {
            out.note = format!(
                "needs single values for ({}) and ({})",
                name(numerator),
                name(denominator)
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use spec::schema::Metric;

    fn obs(row: &str, lr: f64, seed: u64, value: f64, validation: Option<f64>) -> Observation {
        Observation {
            table: "modality".into(),
            row: row.into(),
            column: "bit-xor".into(),
            metric: Metric::TestAccuracy,
            run: format!("{row}-{lr}-{seed}"),
            lr: Some(lr),
            seed,
            model: "minilm-l6".into(),
            value: Some(value),
            bound: Bound::Exact,
            validation,
            diverged: seed == 1,
            sampled: false,
            sampling_sd: 0.0,
            data_sha256: None,
            predictions: None,
            finished: true,
        }
    }

    fn records(observations: &[Observation]) -> Vec<OursRecord> {
        let frame = observations_frame(observations).unwrap();
        let aggregated = aggregate_over_seeds(&frame).unwrap();
        ours(Some(&aggregated), None).unwrap()
    }

    #[test]
    fn seeds_aggregate_and_the_lr_with_the_best_validation_is_reported() {
        let out = records(&[
            obs("fpt", 1e-3, 0, 60.0, Some(0.6)),
            obs("fpt", 1e-3, 1, 80.0, Some(0.6)),
            obs("fpt", 1e-4, 0, 90.0, Some(0.5)),
            obs("fpt", 1e-4, 1, 100.0, Some(0.5)),
            obs("random", 1e-3, 0, 50.0, None),
        ]);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].cell.row, "fpt");
        assert!(
            out[0].note.contains("among 2 learning rates"),
            "{}",
            out[0].note
        );
        let fpt = &out[0].measured;
        assert_eq!((fpt.lr, fpt.n, fpt.diverged), (Some(1e-3), 2, 1));
        assert!((fpt.mean.unwrap() - 70.0).abs() < 1e-9);
        assert!((fpt.sem.unwrap() - 10.0).abs() < 1e-9);
        assert_eq!(out[1].measured.n, 1);
    }

    #[test]
    fn without_validation_every_lr_is_shown_and_none_judged() {
        let out = records(&[
            obs("fpt", 1e-3, 0, 60.0, None),
            obs("fpt", 1e-4, 0, 90.0, None),
        ]);
        assert_eq!(out.len(), 2);
        assert!(out.iter().all(|r| r.preset == Some(Verdict::NoVerdict)));
    }

    #[test]
    fn a_speedup_over_a_run_that_never_reached_the_target_is_a_lower_bound() {
        let cell = |row: &str| CellRef::new("compute-efficiency", row, "bit-xor");
        let steps = |row: &str, value, bound| {
            let mut record = OursRecord::at(&cell(row), Some(Unit::Steps));
            let m = &mut record.measured;
            (m.mean, m.bound, m.n, m.model) = (Some(value), bound, 2, "minilm-l6".into());
            record
        };
        let records = [
            steps("fpt", 100.0, Bound::Exact),
            steps("random", 800.0, Bound::AtLeast),
        ];
        let speedup = derive_ratio(&records, &cell("speedup"), &cell("random"), &cell("fpt"));
        let m = &speedup.measured;
        assert_eq!((m.mean, m.bound), (Some(8.0), Bound::AtLeast));
        assert_eq!(m.model, "minilm-l6");
        let missing = derive_ratio(
            &records[..1],
            &cell("speedup"),
            &cell("random"),
            &cell("fpt"),
        );
        assert_eq!(missing.measured.mean, None);
        assert!(missing.note.contains("needs"), "{}", missing.note);
    }
}
