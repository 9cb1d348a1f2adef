//! What the report says about where its numbers come from: profile, machine, versions.

use std::collections::BTreeSet;

use spec::schema::{Machine, RunResult, SuiteManifest, Versions};

use crate::load::Run;

#[derive(Debug, Clone, PartialEq)]
pub struct ReportContext {
    pub profile: String,
    pub description: String,
    pub differences: String,
    pub machine: Option<Machine>,
    pub devices: Vec<String>,
    pub seeds: Option<u64>,
    pub versions: Vec<Versions>,
    pub created: Option<String>,
    /// Run directories, and how many of them have no result.json yet.
    pub runs: usize,
    pub unfinished: usize,
    /// Runs suite.json plans that have no directory at all.
    pub missing: usize,
    /// How long the finished runs took, when any finished.
    pub time: Option<RunTime>,
}

/// The finished runs' time: their wall seconds summed, and from the first one's start (its
/// finish less its wall time) to the last one's finish. Runs trained side by side (`--jobs`)
/// make the span shorter than the sum; a suite resumed later makes it longer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunTime {
    pub summed_seconds: f64,
    pub span_seconds: Option<f64>,
}

impl RunTime {
    fn of<'a>(results: impl Iterator<Item = &'a RunResult>) -> Option<Self> {
        let mut summed_seconds = 0.0;
        let (mut first, mut last) = (f64::INFINITY, f64::NEG_INFINITY);
        let mut any = false;
        let mut dated = true;
        for r in results {
            any = true;
            summed_seconds += r.wall_seconds;
            match unix_seconds(&r.finished_at) {
                Some(end) => {
                    first = first.min(end - r.wall_seconds);
                    last = last.max(end);
                }
                None => dated = false,
            }
        }
        any.then_some(RunTime {
            summed_seconds,
            span_seconds: dated.then_some(last - first),
        })
    }
}

/// Seconds since the epoch of an RFC 3339 time as result.json writes it.
fn unix_seconds(time: &str) -> Option<f64> {
    let at = humantime::parse_rfc3339(time).ok()?;
    Some(at.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs_f64())
}

/// "41 min 22 s".
pub fn duration_text(seconds: f64) -> String {
    let s = seconds.round() as u64;
    match s {
        s if s >= 3600 => format!("{} h {} min", s / 3600, (s % 3600) / 60),
        s if s >= 60 => format!("{} min {} s", s / 60, s % 60),
        s => format!("{s} s"),
    }
}

impl std::fmt::Display for RunTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} of training summed over runs",
            duration_text(self.summed_seconds)
        )?;
        if let Some(span) = self.span_seconds {
            write!(
                f,
                ", {} from the first start to the last finish",
                duration_text(span)
            )?;
        }
        Ok(())
    }
}

fn distinct<'a>(values: impl Iterator<Item = &'a str>) -> Vec<String> {
    let set: BTreeSet<&str> = values.filter(|v| !v.is_empty()).collect();
    set.into_iter().map(str::to_string).collect()
}

pub fn context(suite: Option<&SuiteManifest>, runs: &[Run]) -> ReportContext {
    let results = || runs.iter().filter_map(|r| r.result.as_ref());
    let profiles = distinct(results().map(|r| r.profile.as_str()));
    let mut devices = distinct(results().map(|r| r.device.as_str()));
    if devices.is_empty() {
        devices = suite
            .map(|s| s.device.clone())
            .into_iter()
            .filter(|d| !d.is_empty())
            .collect();
    }
    let versions: BTreeSet<Versions> = results().map(|r| r.versions.clone()).collect();
    let missing = suite.map_or(0, |s| {
        s.runs
            .iter()
            .filter(|planned| !runs.iter().any(|r| r.id == planned.id))
            .count()
    });
    ReportContext {
        profile: suite.map_or_else(|| profiles.join(", "), |s| s.profile.clone()),
        description: suite.map_or_else(
            || "no suite.json: the runs are listed by configuration, without paper cells".into(),
            |s| s.description.clone(),
        ),
        differences: suite.map(|s| s.differences.clone()).unwrap_or_default(),
        machine: suite.map(|s| s.machine.clone()),
        devices,
        seeds: suite.map(|s| s.seeds),
        versions: versions.into_iter().collect(),
        created: suite.map(|s| s.created.clone()),
        runs: runs.len(),
        unfinished: runs.iter().filter(|r| r.result.is_none()).count(),
        missing,
        time: RunTime::of(results()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_time_sums_walls_and_spans_first_start_to_last_finish() {
        let run = |finished: &str, wall: f64| {
            let mut r = crate::load::tests::result();
            r.finished_at = finished.into();
            r.wall_seconds = wall;
            r
        };
        // Two runs side by side: 04:00-04:10 and 04:05-04:20.
        let results = [
            run("2026-12-02T04:10:00Z", 600.0),
            run("2026-12-02T04:20:00Z", 900.0),
        ];
        let time = RunTime::of(results.iter()).unwrap();
        assert_eq!(time.summed_seconds, 1500.0);
        assert_eq!(time.span_seconds, Some(1200.0));
        assert_eq!(
            time.to_string(),
            "25 min 0 s of training summed over runs, 20 min 0 s from the first start to the last finish"
        );
        let undated = [run("yesterday", 5.0)];
        assert_eq!(RunTime::of(undated.iter()).unwrap().span_seconds, None);
        assert_eq!(RunTime::of(std::iter::empty()), None);
        assert_eq!(duration_text(7322.0), "2 h 2 min");
    }
}
