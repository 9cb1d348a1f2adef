//! Every chart the report draws, laid out with the embedded font's glyph widths: no two texts
//! overlap and none leaves the canvas. The charts are drawn on a backend that records each
//! text (titles, tick labels, axis descriptions, legends, group labels, annotations), so what
//! is checked is what the PNGs show. Run on the fixture suite, on it without suite.json, and
//! on a crowded suite (whole tables, long names, many series).

mod fixture;

use std::path::{Path, PathBuf};

use reports::{chart_layout, ChartText};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fpt-layout-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Lays out the charts of `runs`, checks that every stem in `expected` is among them with
/// text drawn, and that no chart has a problem.
fn assert_readable(runs: &Path, expected: &[&str]) -> Vec<ChartText> {
    let charts = chart_layout(runs).unwrap();
    let stems: Vec<&str> = charts.iter().map(|c| c.stem.as_str()).collect();
    for stem in expected {
        assert!(stems.contains(stem), "{stem} missing from {stems:?}");
    }
    for chart in &charts {
        assert!(chart.texts.len() > 3, "{} draws no text", chart.stem);
    }
    let found: Vec<String> = charts.iter().flat_map(ChartText::problems).collect();
    assert!(
        found.is_empty(),
        "{} text problem(s):\n{}",
        found.len(),
        found.join("\n")
    );
    charts
}

#[test]
fn the_fixture_charts_labels_neither_overlap_nor_leave_the_canvas() {
    let dir = scratch("fixture");
    fixture::write_fixture(&dir);
    assert_readable(
        &dir,
        &[
            "claims-accuracy",
            "claims-steps",
            "table-modality",
            "table-architecture",
            "steps-compute-efficiency",
            "table-model-size",
            "scaling-model-size",
            "curves-bit-xor",
            "curves-bit-memory",
            "curves-cifar10",
            "attention-xor-fpt-s0",
        ],
    );
    // without suite.json the runs form one table of configurations (long row labels)
    std::fs::remove_file(dir.join("suite.json")).unwrap();
    assert_readable(&dir, &["table-runs", "curves-bit-xor"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_crowded_suites_charts_labels_neither_overlap_nor_leave_the_canvas() {
    let dir = scratch("crowded");
    fixture::write_crowded_fixture(&dir);
    let charts = assert_readable(
        &dir,
        &[
            "claims-accuracy",
            "claims-steps",
            "table-modality",
            "steps-compute-efficiency",
            "table-lstm-ablation",
            "curves-listops",
            "attention-crowded-modality-fpt-bit-memory-s0",
        ],
    );
    // The modality chart has a group per cell: the test must see all their labels (a
    // label wrapped onto lines is drawn line after line).
    let modality = charts.iter().find(|c| c.stem == "table-modality").unwrap();
    let drawn: String = modality.texts.iter().map(|t| t.text.as_str()).collect();
    for label in ["Random", "remote-homology", "gpt2-bit-memory-pretrained"] {
        assert!(drawn.contains(label), "{label} not drawn in table-modality");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
