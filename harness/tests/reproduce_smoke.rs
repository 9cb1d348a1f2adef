//! `fpt reproduce --profile smoke` end to end: runs for both bit tasks, a summary report,
//! and a second invocation that skips the finished runs.

use std::process::Command;

#[test]
fn smoke_profile_writes_runs_and_a_report_then_skips_them() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let report = tmp.path().join("report");
    let reproduce = || {
        Command::new(env!("CARGO_BIN_EXE_fpt"))
            .args(["reproduce", "--profile", "smoke", "--out"])
            .arg(&runs)
            .arg("--report-dir")
            .arg(&report)
            .output()
            .unwrap()
    };
    let first = reproduce();
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(first.status.success(), "{stderr}");
    for task in ["bit-xor", "bit-memory"] {
        let dir = runs.join(format!("{task}-gpt2-tiny-random-fpt-s0"));
        let result: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("result.json")).unwrap())
                .unwrap();
        assert_eq!(result["profile"], "smoke");
        let acc = result["test_accuracy"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&acc));
    }
    let summary = std::fs::read_to_string(report.join("summary.md")).unwrap();
    assert!(
        summary.contains("| bit-xor | gpt2-tiny | random | fpt |"),
        "{summary}"
    );
    assert!(
        summary.contains("| bit-memory | gpt2-tiny | random | fpt |"),
        "{summary}"
    );
    assert!(
        summary.contains("How it differs from the paper"),
        "{summary}"
    );
    // Each configuration sits beside the paper's number for the row it stands for.
    assert!(
        summary.contains("| 75.8% (modality / random) |"),
        "{summary}"
    );
    assert!(
        summary.contains("| 100% (modality / random) |"),
        "{summary}"
    );

    let second = reproduce();
    assert!(second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(stderr.matches("skipped").count(), 2, "{stderr}");
}
