//! The paper's numbers as data: `experiments/paper.toml` (every cell of every table of the
//! slides, plus the independent replication), embedded in the binary and parsed here.

use serde::Deserialize;

const PAPER: &str = include_str!("../../../experiments/paper.toml");

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    table: Vec<RawTable>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    id: String,
    title: String,
    source: Option<String>,
    columns: Vec<String>,
    rows: Vec<RawRow>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRow {
    id: String,
    label: String,
    values: Vec<String>,
}

/// One printed value of the paper.
#[derive(Debug, Clone, PartialEq)]
pub enum PaperValue {
    /// An accuracy in percent; `diverged` for the slides' dagger (training diverged, the
    /// number is from before the divergence).
    Percent { value: f64, diverged: bool },
    /// A count: gradient steps, layers, parameters ("1×10^4", "12", "117M").
    Count(f64),
    /// A ratio or a range of ratios ("4×", "500 – 2000×").
    Ratio { low: f64, high: f64 },
    /// No value in the paper ("-").
    Missing,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PaperCell {
    pub value: PaperValue,
    /// The text as printed.
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PaperRow {
    pub id: String,
    pub label: String,
    pub cells: Vec<PaperCell>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PaperTable {
    pub id: String,
    pub title: String,
    /// Where the numbers come from when not the paper itself.
    pub source: Option<String>,
    pub columns: Vec<String>,
    pub rows: Vec<PaperRow>,
}

impl PaperTable {
    /// The cell of row `row` and column `column`, if both exist.
    pub fn cell(&self, row: &str, column: &str) -> Option<&PaperCell> {
        let c = self.columns.iter().position(|c| c == column)?;
        self.rows.iter().find(|r| r.id == row)?.cells.get(c)
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ReferenceError {
    #[error("experiments/paper.toml is not valid: {0}")]
    Toml(String),
    #[error("experiments/paper.toml, table {table}, row {row}: {reason}")]
    Row {
        table: String,
        row: String,
        reason: String,
    },
}

/// Parses one printed value.
pub fn parse_value(text: &str) -> Option<PaperValue> {
    let t = text.trim();
    if t == "-" {
        return Some(PaperValue::Missing);
    }
    if let Some(rest) = t.strip_suffix('†').map(str::trim) {
        let value = rest.strip_suffix('%')?.trim().parse().ok()?;
        return Some(PaperValue::Percent {
            value,
            diverged: true,
        });
    }
    if let Some(p) = t.strip_suffix('%') {
        return Some(PaperValue::Percent {
            value: p.trim().parse().ok()?,
            diverged: false,
        });
    }
    if let Some(r) = t.strip_suffix('×') {
        let (low, high) = match r.split_once('–') {
            Some((a, b)) => (a.trim().parse().ok()?, b.trim().parse().ok()?),
            None => {
                let v: f64 = r.trim().parse().ok()?;
                (v, v)
            }
        };
        return Some(PaperValue::Ratio { low, high });
    }
    if let Some((mantissa, exponent)) = t.split_once("×10^") {
        let m: f64 = mantissa.trim().parse().ok()?;
        let e: i32 = exponent.trim().parse().ok()?;
        return Some(PaperValue::Count(m * 10f64.powi(e)));
    }
    for (suffix, scale) in [("K", 1e3), ("M", 1e6)] {
        if let Some(n) = t.strip_suffix(suffix) {
            return Some(PaperValue::Count(n.trim().parse::<f64>().ok()? * scale));
        }
    }
    t.parse().ok().map(PaperValue::Count)
}

fn parse(text: &str) -> Result<Vec<PaperTable>, ReferenceError> {
    let raw: RawFile = toml::from_str(text).map_err(|e| ReferenceError::Toml(e.to_string()))?;
    raw.table
        .into_iter()
        .map(|t| {
            let rows = t
                .rows
                .into_iter()
                .map(|r| {
                    let fail = |reason: String| ReferenceError::Row {
                        table: t.id.clone(),
                        row: r.id.clone(),
                        reason,
                    };
                    if r.values.len() != t.columns.len() {
                        return Err(fail(format!(
                            "{} values for {} columns",
                            r.values.len(),
                            t.columns.len()
                        )));
                    }
                    let cells = r
                        .values
                        .iter()
                        .map(|text| {
                            parse_value(text)
                                .map(|value| PaperCell {
                                    value,
                                    text: text.clone(),
                                })
                                .ok_or_else(|| fail(format!("cannot read value {text:?}")))
                        })
                        .collect::<Result<_, _>>()?;
                    Ok(PaperRow {
                        id: r.id,
                        label: r.label,
                        cells,
                    })
                })
                .collect::<Result<_, _>>()?;
            Ok(PaperTable {
                id: t.id,
                title: t.title,
                source: t.source,
                columns: t.columns,
                rows,
            })
        })
        .collect()
}

/// Every table of the paper (and the replication).
pub fn tables() -> Result<Vec<PaperTable>, ReferenceError> {
    parse(PAPER)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_parses_with_one_value_per_column() {
        let tables = tables().unwrap();
        assert_eq!(tables.len(), 17);
        let cells: usize = tables.iter().map(|t| t.rows.len() * t.columns.len()).sum();
        assert_eq!(cells, 250);
        let mut ids: Vec<&str> = tables.iter().map(|t| t.id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), tables.len(), "table ids are unique");
    }

    #[test]
    fn cells_read_as_printed() {
        let tables = tables().unwrap();
        let table = |id: &str| tables.iter().find(|t| t.id == id).unwrap();
        let value = |t: &str, r: &str, c: &str| table(t).cell(r, c).unwrap().value.clone();
        assert_eq!(
            value("modality", "fpt", "listops"),
            PaperValue::Percent {
                value: 38.4,
                diverged: false
            }
        );
        assert_eq!(
            value("finetune-more", "attention", "mnist"),
            PaperValue::Percent {
                value: 89.0,
                diverged: true
            }
        );
        assert_eq!(
            value("compute-efficiency", "random", "bit-xor"),
            PaperValue::Count(2e4)
        );
        assert_eq!(
            value("compute-efficiency", "speedup", "bit-xor"),
            PaperValue::Ratio {
                low: 40.0,
                high: 40.0
            }
        );
        assert_eq!(
            value("output-only", "listops", "speedup"),
            PaperValue::Ratio {
                low: 500.0,
                high: 2000.0
            }
        );
        assert_eq!(
            value("model-size", "large", "total-params"),
            PaperValue::Count(774e6)
        );
        assert_eq!(
            value("depth-without-layernorm", "1-layer", "random"),
            PaperValue::Missing
        );
        assert_eq!(
            value("replication", "frozen-pretrained", "cifar10-lra"),
            PaperValue::Percent {
                value: 54.7,
                diverged: false
            }
        );
        assert!(table("modality").cell("fpt", "cifar100").is_none());
    }

    #[test]
    fn malformed_rows_are_named() {
        let bad = "[[table]]\nid = \"t\"\ntitle = \"x\"\ncolumns = [\"a\", \"b\"]\nrows = [{ id = \"r\", label = \"R\", values = [\"1%\"] }]\n";
        let err = parse(bad).unwrap_err().to_string();
        assert!(
            err.contains("table t, row r") && err.contains("1 values for 2 columns"),
            "{err}"
        );
        assert_eq!(parse_value("ninety"), None);
    }
}
