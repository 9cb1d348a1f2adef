//! What the report says about where its numbers come from: profile, machine, versions.

use std::collections::BTreeSet;

use spec::schema::{Machine, SuiteManifest, Versions};

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
    }
}
