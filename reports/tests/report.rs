//! write_report on the fixture: every file, the numbers in them, the page, and snapshots of
//! the report's shape.
//!
//! Snapshots live in the repository's snapshots/reports/. A changed snapshot fails the test
//! (INSTA_UPDATE defaults to "no" here, and CI sets CI=true); accept an intended change with
//! `INSTA_UPDATE=always cargo test -p reports` and commit the .snap files.

mod fixture;

use std::path::{Path, PathBuf};

use polars::prelude::*;
use reports::{read_parquet, write_report, Report};

/// The fixture's known aggregates: (table, row, column, ours_mean, ours_sem, n, verdict).
const EXPECTED: [(&str, &str, &str, f64, f64, u32, &str); 9] = [
    ("modality", "fpt", "bit-xor", 99.0, 1.0, 2, "reproduced"),
    ("modality", "random", "bit-xor", 65.0, 5.0, 2, "below"),
    // lr 1e-3 wins on validation although lr 1e-4 has the better test accuracy
    ("modality", "fpt", "bit-memory", 71.0, 1.0, 2, "below"),
    (
        "architecture",
        "transformer",
        "bit-xor",
        65.0,
        5.0,
        2,
        "below",
    ),
    (
        "architecture",
        "lstm",
        "bit-xor",
        51.0,
        1.0,
        2,
        "reproduced",
    ),
    // Steps to 95%, interpolated between the evaluations at 0 (50%) and 100 (96%, 97%):
    // 100 · 45/46 and 100 · 45/47.
    (
        "compute-efficiency",
        "fpt",
        "bit-xor",
        (4500.0 / 46.0 + 4500.0 / 47.0) / 2.0,
        (4500.0 / 46.0 - 4500.0 / 47.0) / 2.0,
        2,
        "below",
    ),
    (
        "compute-efficiency",
        "random",
        "bit-xor",
        200.0,
        0.0,
        2,
        "no verdict",
    ),
    ("model-size", "small", "fpt", 55.0, 0.0, 1, "below"),
    (
        "model-size",
        "small",
        "total-params",
        22_700_000.0,
        0.0,
        1,
        "below",
    ),
];

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fpt-reports-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A scratch directory with the fixture's runs in `runs/`.
fn fixture_runs(name: &str) -> (PathBuf, PathBuf) {
    let dir = scratch(name);
    let runs = dir.join("runs");
    fixture::write_fixture(&runs);
    (dir, runs)
}

fn fixture_report(name: &str) -> (PathBuf, Report) {
    let (dir, runs) = fixture_runs(name);
    let report = write_report(&runs, &dir.join("report")).unwrap();
    (dir, report)
}

fn csv(path: &Path) -> DataFrame {
    CsvReadOptions::default()
        .with_has_header(true)
        .try_into_reader_with_file_path(Some(path.to_path_buf()))
        .unwrap()
        .finish()
        .unwrap()
}

/// Pixels of an 8-bit RGB(A) PNG.
fn pixels(path: &Path) -> (u32, u32, Vec<[u8; 3]>) {
    let mut reader = png::Decoder::new(std::fs::File::open(path).unwrap())
        .read_info()
        .unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let px = buf[..info.buffer_size()]
        .chunks(channels)
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    (info.width, info.height, px)
}

#[test]
fn every_file_is_written_and_the_csv_holds_the_fixtures_means() {
    let (dir, report) = fixture_report("files");
    let out = dir.join("report");
    assert!(report.index_html.is_file());
    let ids: Vec<&str> = report.tables.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "claims",
            "modality",
            "architecture",
            "compute-efficiency",
            "model-size",
            "runs"
        ]
    );
    for t in &report.tables {
        assert!(t.csv.is_file() && t.parquet.is_file(), "{t:?}");
        assert_eq!(t.csv, out.join("tables").join(format!("{}.csv", t.id)));
    }
    for (table, row, column, mean, sem, n, verdict) in EXPECTED {
        let df = csv(&out.join("tables").join(format!("{table}.csv")));
        let hit = df
            .lazy_free_filter(row, column)
            .unwrap_or_else(|| panic!("no line for {table}/{row}/{column}"));
        let get = |name: &str| df.column(name).unwrap().get(hit).unwrap();
        let ours = get("ours_mean").try_extract::<f64>().unwrap();
        assert!(
            (ours - mean).abs() < 1e-9 * mean.max(1.0),
            "{table}/{row}/{column}: {ours}"
        );
        assert!((get("ours_sem").try_extract::<f64>().unwrap() - sem).abs() < 1e-9);
        assert_eq!(get("n").try_extract::<u32>().unwrap(), n);
        assert_eq!(
            get("verdict").get_str().unwrap(),
            verdict,
            "{table}/{row}/{column}"
        );
    }
    // the lr chosen on validation, a lower-bound speed-up, excluded and unfinished cells
    let cell = |table: &str, row: &str, column: &str| {
        report
            .cells
            .iter()
            .find(|c| c.table == table && c.row == row && c.column == column)
            .unwrap()
    };
    assert_eq!(cell("modality", "fpt", "bit-memory").ours.lr, Some(1e-3));
    let speedup = cell("compute-efficiency", "speedup", "bit-xor");
    assert_eq!(speedup.ours_text, ">2.1×");
    assert_eq!(
        cell("compute-efficiency", "random", "bit-xor").ours_text,
        ">200"
    );
    let cifar = cell("modality", "fpt", "cifar10");
    assert_eq!(
        (cifar.verdict.name(), cifar.note.as_str()),
        ("not run", "CIFAR-10 is not reachable offline")
    );
    assert_eq!(
        cell("architecture", "lstm-star", "listops").verdict.name(),
        "unsupported"
    );
    let pending = cell("modality", "random", "bit-memory");
    assert_eq!(
        (pending.verdict.name(), pending.ours.pending),
        ("not run", 2)
    );
    let lstm = cell("architecture", "lstm", "bit-xor");
    assert_eq!(
        (
            lstm.ours.diverged,
            lstm.ours.model.as_str(),
            lstm.ours.sampled
        ),
        (1, "lstm", true)
    );
    assert_eq!(cell("model-size", "small", "layers").ours_text, "6");
    assert_eq!(cell("modality", "vit", "mnist").verdict.name(), "not run");

    let runs = csv(&out.join("tables/runs.csv"));
    assert_eq!(
        runs.height(),
        12,
        "11 finished run directories and 1 unfinished"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Row index of (row, column) in a cells frame.
trait FindCell {
    fn lazy_free_filter(&self, row: &str, column: &str) -> Option<usize>;
}

impl FindCell for DataFrame {
    fn lazy_free_filter(&self, row: &str, column: &str) -> Option<usize> {
        let rows = self.column("row").ok()?.str().ok()?.clone();
        let columns = self.column("column").ok()?.str().ok()?.clone();
        (0..self.height()).find(|&i| rows.get(i) == Some(row) && columns.get(i) == Some(column))
    }
}

#[test]
fn parquet_reads_back_to_the_same_frame_as_csv_numbers() {
    let (dir, report) = fixture_report("parquet");
    for t in &report.tables {
        let parquet = read_parquet(&t.parquet).unwrap();
        let csv = csv(&t.csv);
        assert_eq!(parquet.shape(), csv.shape(), "{}", t.id);
        assert_eq!(
            parquet.get_column_names(),
            csv.get_column_names(),
            "{}",
            t.id
        );
        for name in ["ours_mean", "ours_sem", "paper_value", "test_accuracy"] {
            if let (Ok(a), Ok(b)) = (parquet.column(name), csv.column(name)) {
                assert!(a.equals_missing(b), "{}: column {name} differs", t.id);
            }
        }
    }
    // reading twice gives equal frames
    let first = &report.tables[0].parquet;
    assert!(read_parquet(first)
        .unwrap()
        .equals_missing(&read_parquet(first).unwrap()));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn charts_decode_are_not_blank_and_have_text() {
    let (dir, report) = fixture_report("charts");
    let names: Vec<String> = report
        .charts
        .iter()
        .map(|c| c.png.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for expected in [
        "table-modality.png",
        "table-architecture.png",
        "steps-compute-efficiency.png",
        "table-model-size.png",
        "scaling-model-size.png",
        "curves-bit-xor.png",
        "curves-bit-memory.png",
        "attention-xor-fpt-s0.png",
        "claims-accuracy.png",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
    for chart in &report.charts {
        let (w, h, px) = pixels(&chart.png);
        assert!(w >= 500 && h >= 200, "{}", chart.png.display());
        let mut colours = px.clone();
        colours.sort();
        colours.dedup();
        assert!(colours.len() > 3, "{} is blank", chart.png.display());
        // The caption band (rows 4..40) holds only the title: dark pixels there are text,
        // drawn with the embedded font.
        let dark = (4..40u32)
            .flat_map(|y| (0..w).map(move |x| (x, y)))
            .filter(|&(x, y)| px[(y * w + x) as usize].iter().all(|&c| c < 100))
            .count();
        assert!(
            dark > 50,
            "{}: no text pixels in the caption ({dark})",
            chart.png.display()
        );
        let svg = std::fs::read_to_string(&chart.svg).unwrap();
        assert!(
            svg.contains("<svg") && svg.contains("</svg>") && svg.contains("<text"),
            "{}",
            chart.svg.display()
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Every value of `attribute="..."` in `html`.
fn attribute_values<'a>(html: &'a str, attribute: &str) -> Vec<&'a str> {
    html.split(&format!(" {attribute}=\""))
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect()
}

#[test]
fn the_page_has_every_table_the_verdicts_and_no_external_requests() {
    let (dir, report) = fixture_report("html");
    let html = std::fs::read_to_string(&report.index_html).unwrap();
    for title in [
        "What is the importance of the pre-training modality?",
        "How important is the transformer architecture compared to LSTM architecture?",
        "Does performance scale with model size? (CIFAR-10)",
    ] {
        assert!(html.contains(title), "{title}");
    }
    for words in [
        "reproduced",
        "below",
        "not run",
        "unsupported",
        "no verdict",
        "minilm-l6",
        "†",
        "≈",
        "How this profile differs from the paper",
        "fixture-host",
        "torch 2.11.0",
        "CIFAR-10 is not reachable offline",
        "2 × SEM",
    ] {
        assert!(html.contains(words), "page lacks {words:?}");
    }
    // a chart's alt text says what its title and notes say
    let alts = attribute_values(&html, "alt");
    assert!(
        alts.contains(&"modality: ours (mean ± SEM) vs paper. All groups: minilm-l6 · lr 1e-3"),
        "{alts:?}"
    );
    let sources = attribute_values(&html, "src");
    assert_eq!(sources.len(), report.charts.len());
    assert!(sources
        .iter()
        .all(|s| s.starts_with("data:image/png;base64,")));
    for href in attribute_values(&html, "href") {
        assert!(
            !href.starts_with("http:") && !href.starts_with("https:") && !href.starts_with("//"),
            "{href}"
        );
        let local = [".csv", ".parquet", ".svg", ".png"]
            .iter()
            .any(|ext| href.ends_with(ext));
        assert!(local, "unexpected link {href}");
        assert!(
            dir.join("report").join(href).is_file(),
            "broken link {href}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The suite.json of a fixture, edited by `edit` and written back.
fn edit_suite(runs: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let path = runs.join("suite.json");
    let mut suite: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    edit(&mut suite);
    std::fs::write(&path, serde_json::to_vec(&suite).unwrap()).unwrap();
}

fn verdict_of(report: &Report, (table, row, column): (&str, &str, &str)) -> (String, String) {
    let cell = report
        .cells
        .iter()
        .find(|c| c.table == table && c.row == row && c.column == column)
        .unwrap();
    (cell.verdict.name().to_string(), cell.note.clone())
}

#[test]
fn only_cells_set_up_as_the_papers_are_judged_against_it() {
    let (dir, runs) = fixture_runs("comparable");
    edit_suite(&runs, |suite| {
        suite["not_comparable"] = serde_json::json!([{
            "table": "modality", "row": "fpt", "column": "bit-xor",
            "reasons": ["minilm-l6 for gpt2", "300 of 20000 steps"]
        }]);
        suite["declared_comparable"] = serde_json::json!([{
            "table": "modality", "row": "random", "column": "bit-xor",
            "reason": "the test says so", "differences": ["300 of 20000 steps"]
        }]);
    });
    let report = write_report(&runs, &dir.join("report")).unwrap();
    let (verdict, note) = verdict_of(&report, ("modality", "fpt", "bit-xor"));
    assert_eq!(verdict, "not comparable");
    assert!(
        note.contains("minilm-l6 for gpt2; 300 of 20000 steps"),
        "{note}"
    );
    let cell = report
        .cells
        .iter()
        .find(|c| c.row == "fpt" && c.column == "bit-xor")
        .unwrap();
    assert_eq!((cell.ours_text.as_str(), cell.delta), ("99.0 ± 1.0", None));
    // The other cells keep their verdicts; a declared one says why it is judged.
    let (verdict, note) = verdict_of(&report, ("modality", "random", "bit-xor"));
    assert_eq!(verdict, "below");
    assert_eq!(
        note,
        "judged as the profile declares: the test says so (differs: 300 of 20000 steps)"
    );
    assert!(
        report.text.contains("99.0 ± 1.0 | 100% n/c"),
        "{}",
        report.text
    );

    // A suite.json from before comparability was recorded: nothing is judged.
    edit_suite(&runs, |suite| suite["schema_version"] = 1.into());
    let report = write_report(&runs, &dir.join("report-old")).unwrap();
    for c in report.cells.iter().filter(|c| c.ours.mean.is_some()) {
        assert_eq!(c.verdict.name(), "not comparable", "{c:?}");
        assert!(c.note.contains("predates comparability"), "{}", c.note);
    }
}

#[test]
fn claims_come_first_and_two_seeds_give_no_verdict() {
    let (dir, report) = fixture_report("claims");
    let claim = |id: &str, task: &str| {
        report
            .claims
            .iter()
            .find(|c| c.claim == id && c.task == task)
            .unwrap_or_else(|| panic!("{id} on {task}"))
    };
    // 65 ± 5 against 51 ± 1 over the fixture's two seeds: no verdict from two.
    let arch = claim("transformer-beats-lstm", "bit-xor");
    assert_eq!(arch.verdict.name(), "inconclusive");
    assert_eq!(arch.seeds, 2);
    assert!(
        (arch.interval.unwrap().mean - 14.0).abs() < 1e-9,
        "{arch:?}"
    );
    assert_eq!(
        claim("fpt-beats-random", "bit-xor").verdict.name(),
        "the paper's own numbers disagree"
    );
    assert_eq!(
        claim("fpt-beats-random", "cifar10").verdict.name(),
        "not run"
    );
    let text = &report.text;
    let claims_at = text.find("claims: ").unwrap();
    assert!(claims_at < text.find("[modality]").unwrap(), "{text}");
    let page = std::fs::read_to_string(&report.index_html).unwrap();
    assert!(
        page.find("id=\"claims\"").unwrap() < page.find("id=\"modality\"").unwrap(),
        "claims come first on the page"
    );
    let csv = csv(&dir.join("report").join("tables").join("claims.csv"));
    assert_eq!(csv.height(), report.claims.len());
}

#[test]
fn without_suite_json_runs_are_grouped_by_configuration() {
    let (dir, runs) = fixture_runs("nosuite");
    std::fs::remove_file(runs.join("suite.json")).unwrap();
    let report = write_report(&runs, &dir.join("report")).unwrap();
    assert_eq!(
        report
            .tables
            .iter()
            .map(|t| t.id.as_str())
            .collect::<Vec<_>>(),
        ["runs", "runs"]
    );
    let xor = report
        .cells
        .iter()
        .find(|c| c.row == "minilm-l6 / pretrained / fpt" && c.column == "bit-xor")
        .unwrap();
    assert_eq!((xor.ours.mean, xor.ours.n), (Some(99.0), 2));
    assert_eq!(xor.paper_text, None);
    assert!(
        report.text.contains("minilm-l6 / random / fpt"),
        "{}",
        report.text
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_malformed_run_is_named_in_the_error() {
    let (dir, runs) = fixture_runs("malformed");
    std::fs::write(runs.join("xor-lstm-s1/metrics.jsonl"), "{\"step\": 0}\n").unwrap();
    let err = write_report(&runs, &dir.join("report"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("xor-lstm-s1/metrics.jsonl") && err.contains("line 1"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The report's shape: every cell as the tables show it, and the files written.
fn shape(report: &Report, out: &Path) -> String {
    let mut lines: Vec<String> = report
        .cells
        .iter()
        .filter(|c| c.verdict.name() != "not run" || !c.note.starts_with("no run of this profile"))
        .map(|c| {
            format!(
                "{}/{}/{}: ours {:?} [{}] model {:?} lr {:?} | paper {:?} | {} | {}",
                c.table,
                c.row,
                c.column,
                c.ours_text,
                c.ours.n,
                c.ours.model,
                c.ours.lr,
                c.paper_text.as_deref().unwrap_or(""),
                c.verdict.name(),
                c.note
            )
        })
        .collect();
    lines.push(String::new());
    let mut files: Vec<String> = report
        .tables
        .iter()
        .flat_map(|t| [&t.csv, &t.parquet])
        .chain(report.charts.iter().flat_map(|c| [&c.png, &c.svg]))
        .map(|p| p.strip_prefix(out).unwrap().display().to_string())
        .collect();
    files.sort();
    lines.extend(files);
    lines.push(String::new());
    // what each chart says under its title, as its caption and alt text repeat
    lines.extend(report.charts.iter().map(|c| {
        let stem = c.png.file_stem().unwrap().to_string_lossy();
        let notes: String = c.notes.iter().map(|n| format!(" | {n}")).collect();
        format!("{stem}: {}{notes}", c.title)
    }));
    lines.join("\n")
}

#[test]
fn snapshots_of_the_text_and_the_shape() {
    // A mismatch must fail, never be written over, unless asked for (see the module doc).
    if std::env::var_os("INSTA_UPDATE").is_none() {
        std::env::set_var("INSTA_UPDATE", "no");
    }
    let (dir, report) = fixture_report("snapshot");
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../../snapshots/reports");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        insta::assert_snapshot!("fixture_text", report.text);
        insta::assert_snapshot!("fixture_shape", shape(&report, &dir.join("report")));
    });
    std::fs::remove_dir_all(&dir).unwrap();
}
