//! The fixture's report in headless Chromium: the page renders, scripts raise no errors, and
//! every chart decodes. Without Chromium (and not root, so no install) the test says
//! SKIPPED and passes, unless FPT_REQUIRE_BROWSER=1 (CI) makes that a failure.

mod fixture;

use std::time::Instant;

use reports::browser::{check_page, chromium_or_skip};
use reports::write_report;

#[test]
fn the_report_renders_in_headless_chromium_with_every_chart_decoded() {
    let dir = std::env::temp_dir().join(format!("fpt-reports-browser-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    fixture::write_fixture(&dir.join("runs"));
    let report = write_report(&dir.join("runs"), &dir.join("report")).unwrap();

    let started = Instant::now();
    let Some(chromium) = chromium_or_skip("headless browser check of the report") else {
        return;
    };
    eprintln!(
        "chromium: {} (found or installed in {:.1} s)",
        chromium.display(),
        started.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    let check = check_page(&chromium, &report.index_html, &dir.join("browser")).unwrap();
    eprintln!(
        "page checked in {:.1} s: {check:?}",
        started.elapsed().as_secs_f64()
    );
    assert!(
        check.errors.is_empty(),
        "the page logged errors: {:?}",
        check.errors
    );
    assert!(
        check.ink > 0.02,
        "the screenshot is (nearly) blank: {:.4} inked",
        check.ink
    );
    let charts = report.charts.len();
    assert_eq!(
        check.images_total,
        Some(charts),
        "the page's image check did not run"
    );
    assert_eq!(
        check.images_decoded,
        Some(charts),
        "not every chart decoded"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
