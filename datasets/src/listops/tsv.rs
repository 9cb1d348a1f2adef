//! LRA ListOps TSV files (`basic_train.tsv`, `basic_val.tsv`, `basic_test.tsv`): a header
//! line `Source\tTarget`, then one `expression\tlabel` line per example, label 0..=9.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use super::tokenize::symbol_id;
use crate::data_file::FileError;

pub const HEADER: &str = "Source\tTarget";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// The expression in LRA text form.
    pub source: String,
    /// Its value, 0..=9.
    pub target: u8,
}

#[derive(Debug, thiserror::Error)]
pub enum TsvError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error(
        "line 1 is {found:?}, expected the header \"Source\\tTarget\": not a ListOps TSV file"
    )]
    Header { found: String },
    #[error("line {line}: expected 2 tab-separated fields (expression, label), found {fields}")]
    Fields { line: usize, fields: usize },
    #[error("line {line}: label {label:?} is not an integer 0..=9")]
    Label { line: usize, label: String },
    #[error("line {line}: unknown token {token:?}; ListOps uses digits 0-9, [MIN [MAX [MED [SM, ], ( and )")]
    Token { line: usize, token: String },
    #[error("line {line}: the expression is empty")]
    Empty { line: usize },
}

/// Parse TSV text from a reader.
pub fn parse_tsv(reader: impl BufRead) -> Result<Vec<Example>, TsvError> {
    let mut lines = reader.lines();
    let header = lines.next().transpose()?.unwrap_or_default();
    if header.trim_end_matches('\r') != HEADER {
        return Err(TsvError::Header {
            found: header.chars().take(60).collect(),
        });
    }
    let mut out = Vec::new();
    for (i, line) in lines.enumerate() {
        let line_no = i + 2;
        let line = line?;
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let [source, label] = fields.as_slice() else {
            return Err(TsvError::Fields {
                line: line_no,
                fields: fields.len(),
            });
        };
        let target = label
            .trim()
            .parse::<u8>()
            .ok()
            .filter(|&t| t <= 9)
            .ok_or_else(|| TsvError::Label {
                line: line_no,
                label: label.chars().take(20).collect(),
            })?;
        if let Some(bad) = source.split_whitespace().find(|t| symbol_id(t).is_none()) {
            return Err(TsvError::Token {
                line: line_no,
                token: bad.chars().take(20).collect(),
            });
        }
        if source.trim().is_empty() {
            return Err(TsvError::Empty { line: line_no });
        }
        out.push(Example {
            source: source.to_string(),
            target,
        });
    }
    Ok(out)
}

pub fn read_tsv(path: &Path) -> Result<Vec<Example>, FileError<TsvError>> {
    let in_file = |error| FileError {
        path: path.to_path_buf(),
        error,
    };
    let file = File::open(path).map_err(|e| in_file(e.into()))?;
    parse_tsv(BufReader::new(file)).map_err(in_file)
}

/// Write examples with the header, via a temporary file and a rename.
pub fn write_tsv(path: &Path, examples: &[Example]) -> io::Result<()> {
    let tmp = path.with_extension("tsv.tmp");
    {
        let mut out = BufWriter::new(File::create(&tmp)?);
        writeln!(out, "{HEADER}")?;
        for e in examples {
            writeln!(out, "{}\t{}", e.source, e.target)?;
        }
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bad_files_give_line_numbers() {
        let cases = [
            ("", "expected the header"),
            ("Source,Target\n", "expected the header"),
            (
                "Source\tTarget\n( [MIN 1 ] )\t3\n[MAX 1 ]\n",
                "line 3: expected 2 tab-separated fields",
            ),
            ("Source\tTarget\n[MAX 1 ]\t10\n", "line 2: label \"10\""),
            ("Source\tTarget\n[MAX 1 ]\tx\n", "line 2: label"),
            (
                "Source\tTarget\n[MAX 1 ]\t1\n[MUL 2 ]\t2\n",
                "line 3: unknown token \"[MUL\"",
            ),
            ("Source\tTarget\n \t1\n", "line 2: the expression is empty"),
        ];
        for (text, needle) in cases {
            let err = parse_tsv(text.as_bytes()).unwrap_err().to_string();
            assert!(err.contains(needle), "{needle:?} not in {err:?}");
        }
        let ok = parse_tsv("Source\tTarget\r\n[SM 1 2 ]\t3\r\n".as_bytes()).unwrap();
        assert_eq!(
            ok,
            [Example {
                source: "[SM 1 2 ]".into(),
                target: 3
            }]
        );
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in "(Source\tTarget\n)?[ -~\t\n]{0,300}") {
            let _ = parse_tsv(text.as_bytes());
        }
    }
}
