//! index.html: one self-contained page (styles inline, charts as data: URIs) that opens from
//! file:// with no server and makes no requests.

use std::fmt::Write as _;
use std::path::Path;

use base64::Engine as _;
use spec::schema::Versions;

use crate::cells::CellRecord;
use crate::charts::ChartFile;
use crate::claims::{mcnemar_text, ClaimRecord, CLAIM_RULE};
use crate::context::ReportContext;
use crate::cost::{ratio_text, CostSummary, COST_NOTE, MEASURES};
use crate::error::ReportError;
use crate::format;
use crate::load::{recorded_lr, Run};
use crate::observe::TableLayout;
use crate::text::difference_text;
use crate::verdict::{Verdict, RULE};

const STYLE: &str = "
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1400px;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0}
th,td{border:1px solid #ccc;padding:.3em .5em;vertical-align:top;font-size:.9em}
th{background:#f3f3f3;text-align:left}
td.cell div{white-space:nowrap}
.ours{font-weight:600}.model,.paper,.note{color:#555;font-size:.85em}
.verdict{font-size:.8em;font-weight:600;text-transform:uppercase}
.v-reproduced{background:#e6f4ea}.v-below{background:#fde7e7}.v-above{background:#e7eefd}
.c-supported{background:#e6f4ea}.c-contradicted{background:#fce8e6}.c-not-run,.c-the-paper-s-own-numbers-disagree{color:#888}
.v-no-verdict{background:#fafafa}.v-not-comparable{background:#fafafa;color:#555}.v-not-run{background:#f4f4f4;color:#888}.v-unsupported{background:#f4f4f4;color:#888}
figure{display:inline-block;margin:.5em 1em .5em 0}figure img{max-width:100%;border:1px solid #ddd}
dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:600}
.files a{margin-right:1em}
";

/// Checks, once the page has loaded, that every chart decoded, and says so in #image-check
/// (what the headless-browser test reads).
const IMAGE_CHECK: &str = "
window.addEventListener('load', function () {
  var images = Array.prototype.slice.call(document.images);
  var decoded = images.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  var p = document.getElementById('image-check');
  p.setAttribute('data-decoded', decoded);
  p.setAttribute('data-total', images.length);
  p.textContent = decoded + ' of ' + images.length + ' charts decoded';
});
";

pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn class(verdict: Verdict) -> String {
    format!("v-{}", verdict.name().replace(' ', "-"))
}

/// A path of the report relative to its directory, for links.
fn relative(out_dir: &Path, path: &Path) -> String {
    path.strip_prefix(out_dir)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

fn header(out: &mut String, context: &ReportContext) {
    let _ = writeln!(
        out,
        "<h1>fpt-repro report: profile {}</h1>",
        escape(&context.profile)
    );
    let _ = writeln!(out, "<p>{}</p>", escape(&context.description));
    if !context.differences.is_empty() {
        let _ = writeln!(
            out,
            "<h2>How this profile differs from the paper</h2>\n<p>{}</p>",
            escape(&context.differences)
        );
    }
    out.push_str("<dl>\n");
    let mut item = |term: &str, value: String| {
        let _ = writeln!(out, "<dt>{}</dt><dd>{}</dd>", escape(term), escape(&value));
    };
    if let Some(m) = &context.machine {
        item(
            "machine",
            format!("{} ({}; {}, {} cores)", m.hostname, m.os, m.cpu, m.cores),
        );
    }
    item("device", context.devices.join(", "));
    if let Some(seeds) = context.seeds {
        item("seeds", seeds.to_string());
    }
    if let Some(time) = context.time {
        item("run time", time.to_string());
    }
    let versions: Vec<String> = context.versions.iter().map(Versions::to_string).collect();
    item("versions", versions.join("; "));
    if let Some(created) = &context.created {
        item("suite created", created.clone());
    }
    item(
        "runs",
        format!(
            "{} directories, {} unfinished; {} planned runs have no directory",
            context.runs, context.unfinished, context.missing
        ),
    );
    out.push_str("</dl>\n");
}

/// One table cell: every reported lr's value and model, then the paper's value, the verdict
/// and the numbers of the cell's notes in the table's list `notes` (added when new).
fn cell_html(cells: &[&CellRecord], notes: &mut Vec<String>) -> String {
    let Some(first) = cells.first() else {
        return "<td></td>".into();
    };
    let mut html = format!("<td class=\"cell {}\"", class(first.verdict));
    let note: Vec<&str> = cells
        .iter()
        .map(|c| c.note.as_str())
        .filter(|n| !n.is_empty())
        .collect();
    if let Some(n) = note.first() {
        let _ = write!(html, " title=\"{}\"", escape(n));
    }
    html.push('>');
    for c in cells {
        write_ours(&mut html, c);
        write_model(&mut html, c);
    }
    write_paper(&mut html, first);
    let _ = write!(html, "<div class=\"verdict\">{}", first.verdict.name());
    for n in note {
        let _ = write!(html, " <sup>[{}]</sup>", note_number(notes, n));
    }
    html.push_str("</div></td>");
    html
}

/// Our value, with the seed count and diverged seeds beside it.
fn write_ours(html: &mut String, c: &CellRecord) {
    if c.ours_text.is_empty() {
        return;
    }
    let mut detail = Vec::new();
    if c.ours.n > 0 {
        detail.push(format!("n={}", c.ours.n));
    }
    if c.ours.diverged > 0 {
        detail.push(format!("{}†", c.ours.diverged));
    }
    let _ = write!(
        html,
        "<div class=\"ours\">{}{} <span class=\"model\">{}</span></div>",
        escape(&c.ours_text),
        if c.ours.sampled { " ≈" } else { "" },
        escape(&detail.join(", "))
    );
}

/// The model and learning rate behind our value, when known.
fn write_model(html: &mut String, c: &CellRecord) {
    let mut by = Vec::new();
    if !c.ours.model.is_empty() {
        by.push(c.ours.model.clone());
    }
    if let Some(lr) = c.ours.lr {
        by.push(format!("lr {}", format::lr(lr)));
    }
    if !by.is_empty() {
        let _ = write!(
            html,
            "<div class=\"model\">{}</div>",
            escape(&by.join(" · "))
        );
    }
}

/// The paper's value and ours − paper, when the paper has one.
fn write_paper(html: &mut String, c: &CellRecord) {
    let Some(paper) = &c.paper_text else {
        return;
    };
    let delta = c.delta.map(|d| format!(" · Δ {d:+.1}")).unwrap_or_default();
    let _ = write!(
        html,
        "<div class=\"paper\">paper {}{delta}</div>",
        escape(paper)
    );
}

/// The note's number (from 1) in the table's list, adding it to the end when new.
fn note_number(notes: &mut Vec<String>, note: &str) -> usize {
    let index = match notes.iter().position(|x| x == note) {
        Some(i) => i,
        None => {
            notes.push(note.to_string());
            notes.len() - 1
        }
    };
    index + 1
}

/// A chart as an inline PNG; its alt text and caption say what its title and notes say.
fn figure(out: &mut String, out_dir: &Path, chart: &ChartFile) -> Result<(), ReportError> {
    let png = std::fs::read(&chart.png).map_err(ReportError::io(&chart.png))?;
    let data = base64::engine::general_purpose::STANDARD.encode(png);
    let described: Vec<&str> = std::iter::once(chart.title.as_str())
        .chain(chart.notes.iter().map(String::as_str))
        .collect();
    let _ = writeln!(
        out,
        "<figure><img src=\"data:image/png;base64,{data}\" alt=\"{alt}\"><figcaption>{caption} · \
         <a href=\"{svg}\">SVG</a> · <a href=\"{png}\">PNG</a></figcaption></figure>",
        alt = escape(&described.join(". ")),
        caption = escape(&described.join(" · ")),
        svg = escape(&relative(out_dir, &chart.svg)),
        png = escape(&relative(out_dir, &chart.png)),
    );
    Ok(())
}

fn table_section(
    out: &mut String,
    out_dir: &Path,
    layout: &TableLayout,
    cells: &[CellRecord],
    charts: &[ChartFile],
) -> Result<(), ReportError> {
    let _ = writeln!(
        out,
        "<h2 id=\"{}\">{}</h2>",
        escape(&layout.id),
        escape(&layout.title)
    );
    let _ = write!(
        out,
        "<p class=\"files\">table <code>{}</code>",
        escape(&layout.id)
    );
    if let Some(source) = &layout.source {
        let _ = write!(out, " · numbers from {}", escape(source));
    }
    let _ = writeln!(
        out,
        " · <a href=\"tables/{id}.csv\">CSV</a> <a href=\"tables/{id}.parquet\">Parquet</a></p>",
        id = escape(&layout.id)
    );
    out.push_str("<table>\n<tr><th></th>");
    for c in &layout.columns {
        let _ = write!(out, "<th>{}</th>", escape(&c.label));
    }
    out.push_str("</tr>\n");
    let mut notes = Vec::new();
    for row in &layout.rows {
        let _ = write!(out, "<tr><th>{}</th>", escape(&row.label));
        for col in &layout.columns {
            let here: Vec<&CellRecord> = cells
                .iter()
                .filter(|c| c.table == layout.id && c.row == row.id && c.column == col.id)
                .collect();
            out.push_str(&cell_html(&here, &mut notes));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
    if !notes.is_empty() {
        out.push_str("<ol class=\"note\">\n");
        for n in &notes {
            let _ = writeln!(out, "<li>{}</li>", escape(n));
        }
        out.push_str("</ol>\n");
    }
    for chart in charts.iter().filter(|c| c.section == layout.id) {
        figure(out, out_dir, chart)?;
    }
    Ok(())
}

fn runs_section(out: &mut String, runs: &[Run]) {
    out.push_str(
        "<h2 id=\"runs\">Runs</h2>\n<p class=\"files\">one line per run directory · \
         <a href=\"tables/runs.csv\">CSV</a> <a href=\"tables/runs.parquet\">Parquet</a></p>\n<table>\n\
         <tr><th>run</th><th>task</th><th>model</th><th>init</th><th>freeze</th><th>lr</th><th>seed</th>\
         <th>steps</th><th>test accuracy</th><th>split</th><th>diverged</th><th>trainable params</th><th>wall s</th></tr>\n",
    );
    for run in runs {
        let _ = write!(out, "<tr><td>{}</td>", escape(&run.id));
        match &run.result {
            None => out.push_str("<td colspan=\"12\">unfinished (no result.json)</td>"),
            Some(r) => {
                let cells = [
                    r.task.clone(),
                    r.model.clone(),
                    r.init.to_string(),
                    r.freeze.clone(),
                    recorded_lr(r).map(format::lr).unwrap_or_default(),
                    r.seed.to_string(),
                    r.steps.to_string(),
                    format!(
                        "{:.1}%{}",
                        100.0 * r.test_accuracy,
                        if r.sampled_eval { " ≈" } else { "" }
                    ),
                    r.eval_split.clone(),
                    match (r.diverged, r.diverged_at_step) {
                        (true, Some(step)) => format!("† at step {step}"),
                        (true, None) => "†".into(),
                        (false, _) => String::new(),
                    },
                    format::count(r.trainable_params as f64),
                    format!("{:.1}", r.wall_seconds),
                ];
                for c in cells {
                    let _ = write!(out, "<td>{}</td>", escape(&c));
                }
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

/// The claims first: one row per comparison, tested or not, with the rule beside.
fn claims_section(
    out: &mut String,
    out_dir: &Path,
    claims: &[ClaimRecord],
    charts: &[ChartFile],
) -> Result<(), ReportError> {
    if claims.is_empty() {
        return Ok(());
    }
    let _ = writeln!(
        out,
        "<h2 id=\"claims\">The paper's claims</h2>\n<p>{}</p>\n<p class=\"files\">tables/claims.csv · tables/claims.parquet</p>\n<table class=\"claims\">\n<tr><th>claim</th><th>task</th><th>comparison</th><th>verdict</th><th>a − b [95% CI]</th><th>seeds</th><th>McNemar exact test, per seed (answers only a / only b got right)</th><th>note</th></tr>",
        escape(CLAIM_RULE)
    );
    for c in claims {
        let _ = writeln!(
            out,
            "<tr class=\"c-{}\"><td title=\"{}\">{}</td><td>{}</td><td>{}</td><td class=\"verdict\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            c.verdict.name().replace([' ', '\''], "-"),
            escape(&c.sentence),
            escape(&c.claim),
            escape(&c.task),
            escape(&c.comparison),
            escape(c.verdict.name()),
            escape(&difference_text(c)),
            c.seeds,
            escape(&mcnemar_text(&c.mcnemar)),
            escape(&c.note)
        );
    }
    out.push_str("</table>\n");
    for chart in charts.iter().filter(|c| c.section == "claims") {
        figure(out, out_dir, chart)?;
    }
    Ok(())
}

/// What index.html shows, in its order.
pub struct Page<'a> {
    pub context: &'a ReportContext,
    pub claims: &'a [ClaimRecord],
    pub cost: &'a [CostSummary],
    pub layouts: &'a [TableLayout],
    pub cells: &'a [CellRecord],
    pub charts: &'a [ChartFile],
    pub runs: &'a [Run],
}

/// The output-only speed-up three ways, each named for what it measures.
fn cost_section(out: &mut String, cost: &[CostSummary]) {
    if cost.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "<h2 id=\"output-only-cost\">What output-only training saves</h2>\n<p>{}</p>\n<p class=\"files\">tables/output-only-cost.csv · tables/output-only-cost.parquet</p>\n<table class=\"claims\">\n<tr><th>task</th><th>seeds</th>{}</tr>",
        escape(COST_NOTE),
        MEASURES
            .iter()
            .map(|m| format!("<th>{}</th>", escape(m)))
            .collect::<String>()
    );
    for c in cost {
        let ratios: String = c
            .ratios
            .iter()
            .map(|r| format!("<td>{}</td>", escape(&ratio_text(*r))))
            .collect();
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td>{ratios}</tr>",
            escape(&c.task),
            c.seeds
        );
    }
    out.push_str("</table>\n");
}

pub fn render(out_dir: &Path, page: &Page) -> Result<String, ReportError> {
    let Page {
        context,
        claims,
        cost,
        layouts,
        cells,
        charts,
        runs,
    } = *page;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>fpt-repro report: {}</title>\n<style>{STYLE}</style>\n</head><body>",
        escape(&context.profile)
    );
    header(&mut out, context);
    claims_section(&mut out, out_dir, claims, charts)?;
    cost_section(&mut out, cost);
    let _ = writeln!(
        out,
        "<h2>How to read the tables</h2>\n<p>Each cell: ours (mean ± SEM over seeds, n seeds; \
         accuracies in percent), the model and learning rate that produced it, the paper's value as \
         printed, ours − paper (Δ), and a verdict. † marks seeds whose training diverged (in the \
         paper: the number is from before the divergence); ≈ marks a sampled-batch evaluation \
         rather than the full split. Numbers from a model other than the paper's (e.g. minilm-l6 \
         for GPT-2) say so in the cell.</p>\n<p>Verdict rule: {}</p>\n<p id=\"image-check\">charts not checked (scripts off)</p>",
        escape(RULE)
    );
    for layout in layouts {
        table_section(&mut out, out_dir, layout, cells, charts)?;
    }
    for (section, title) in [
        ("curves", "Learning curves"),
        ("attention", "Attention maps"),
    ] {
        let here: Vec<&ChartFile> = charts.iter().filter(|c| c.section == section).collect();
        if !here.is_empty() {
            let _ = writeln!(out, "<h2 id=\"{section}\">{title}</h2>");
            for chart in here {
                figure(&mut out, out_dir, chart)?;
            }
        }
    }
    runs_section(&mut out, runs);
    let _ = writeln!(out, "<script>{IMAGE_CHECK}</script>\n</body></html>");
    Ok(out)
}
