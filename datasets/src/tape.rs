//! TAPE remote homology (docs/reference.md section 4): the JSON split files
//! `remote_homology_{train,valid,test_fold_holdout,...}.json` (never the pickled LMDB ones)
//! and TAPE's IUPAC tokenisation.
//!
//! Vocabulary (30 ids): `<pad>`=0 `<mask>`=1 `<cls>`=2 `<sep>`=3 `<unk>`=4, then the residue
//! letters `ABCDEFGHIKLMNOPQRSTUVWXYZ` = 5..=29 (no J). An encoded sequence is `<cls>`,
//! the residues, `<sep>`. Sequences whose encoding would exceed the length cut (1024 ids,
//! GPT-2's positions, so at most 1022 residues) are skipped and counted, as the reference
//! code skips long sequences.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use serde::Deserialize;

use crate::data_file::FileError;

pub const FOLD_CLASSES: usize = 1195;
pub const PAD_ID: i64 = 0;
pub const CLS_ID: i64 = 2;
pub const SEP_ID: i64 = 3;
pub const VOCAB_SIZE: usize = 30;
pub const MAX_TOKENS: usize = 1024;
const RESIDUES: &[u8; 25] = b"ABCDEFGHIKLMNOPQRSTUVWXYZ";
const FIRST_RESIDUE_ID: i64 = 5;

#[derive(Debug, thiserror::Error)]
pub enum TapeError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("not a TAPE remote homology JSON file (a JSON array of records with primary and fold_label): {0}")]
    Json(String),
    #[error("record {index} ({id}): fold_label {label} is outside 0..{FOLD_CLASSES}")]
    Label {
        index: usize,
        id: String,
        label: i64,
    },
    #[error("record {index} ({id}): unknown residue {residue:?} at position {position}; TAPE's IUPAC alphabet is ABCDEFGHIKLMNOPQRSTUVWXYZ")]
    Residue {
        index: usize,
        id: String,
        residue: char,
        position: usize,
    },
}

#[derive(Deserialize)]
struct RawRecord {
    #[serde(default)]
    id: Option<serde_json::Value>,
    primary: String,
    fold_label: i64,
}

/// One protein: its amino-acid string and fold class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protein {
    pub id: String,
    pub primary: String,
    pub fold_label: u16,
}

fn residue_id(residue: u8) -> Option<i64> {
    RESIDUES
        .iter()
        .position(|&r| r == residue)
        .map(|p| FIRST_RESIDUE_ID + p as i64)
}

/// Parse a split file's JSON array. Fields other than `id`, `primary` and `fold_label` are
/// ignored (the per-residue features are not needed).
pub fn parse(reader: impl Read) -> Result<Vec<Protein>, TapeError> {
    let raw: Vec<RawRecord> =
        serde_json::from_reader(reader).map_err(|e| TapeError::Json(e.to_string()))?;
    raw.into_iter()
        .enumerate()
        .map(|(index, r)| {
            let id = match r.id {
                Some(serde_json::Value::String(s)) => s,
                Some(other) => other.to_string(),
                None => format!("#{index}"),
            };
            let fold_label = u16::try_from(r.fold_label)
                .ok()
                .filter(|&l| usize::from(l) < FOLD_CLASSES)
                .ok_or_else(|| TapeError::Label {
                    index,
                    id: id.clone(),
                    label: r.fold_label,
                })?;
            if let Some((position, residue)) = r
                .primary
                .char_indices()
                .find(|&(_, c)| !c.is_ascii() || residue_id(c as u8).is_none())
            {
                return Err(TapeError::Residue {
                    index,
                    id,
                    residue,
                    position,
                });
            }
            Ok(Protein {
                id,
                primary: r.primary,
                fold_label,
            })
        })
        .collect()
}

pub fn read(path: &Path) -> Result<Vec<Protein>, FileError<TapeError>> {
    let in_file = |error| FileError {
        path: path.to_path_buf(),
        error,
    };
    let file = File::open(path).map_err(|e| in_file(e.into()))?;
    parse(BufReader::new(file)).map_err(in_file)
}

/// `<cls>` + residue ids + `<sep>`. Proteins from [`parse`] hold only known residues; any
/// other byte maps to `<unk>` (4).
pub fn encode(primary: &str) -> Vec<i64> {
    let mut ids = Vec::with_capacity(primary.len() + 2);
    ids.push(CLS_ID);
    ids.extend(primary.bytes().map(|b| residue_id(b).unwrap_or(4)));
    ids.push(SEP_ID);
    ids
}

/// Encoded sequences and labels of one split, with the count of skipped long sequences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedSplit {
    pub sequences: Vec<Vec<i64>>,
    pub labels: Vec<i64>,
    pub skipped_too_long: usize,
}

/// Encode proteins, skipping those whose encoding is longer than `max_tokens`.
pub fn encode_split(proteins: &[Protein], max_tokens: usize) -> EncodedSplit {
    let mut out = EncodedSplit {
        sequences: Vec::new(),
        labels: Vec::new(),
        skipped_too_long: 0,
    };
    for p in proteins {
        if p.primary.len() + 2 > max_tokens {
            out.skipped_too_long += 1;
            continue;
        }
        out.sequences.push(encode(&p.primary));
        out.labels.push(i64::from(p.fold_label));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_encodes_and_skips_long_sequences() {
        let long = "A".repeat(1023);
        let json = format!(
            r#"[{{"id": "d1a", "primary": "MKA", "protein_length": 3, "class_label": 1, "fold_label": 1194, "superfamily_label": 2, "family_label": 3, "secondary_structure": [1,2,3]}},
               {{"id": 7, "primary": "{long}", "fold_label": 0}}]"#
        );
        let proteins = parse(json.as_bytes()).unwrap();
        assert_eq!(proteins[0].id, "d1a");
        assert_eq!(proteins[1].id, "7");
        assert_eq!(encode("MKA"), [2, 16, 14, 5, 3]);
        assert_eq!(encode("Z"), [2, 29, 3]);
        let split = encode_split(&proteins, MAX_TOKENS);
        assert_eq!(split.labels, [1194]);
        assert_eq!(split.skipped_too_long, 1);
    }

    #[test]
    fn bad_records_are_reported() {
        let cases = [
            (r#"{"primary": "A"}"#, "JSON array"),
            (r#"[{"primary": "A"}]"#, "fold_label"),
            (
                r#"[{"id": "x", "primary": "A", "fold_label": 1195}]"#,
                "fold_label 1195 is outside",
            ),
            (
                r#"[{"id": "x", "primary": "AJA", "fold_label": 1}]"#,
                "unknown residue 'J' at position 1",
            ),
            (
                r#"[{"id": "x", "primary": "aa", "fold_label": 1}]"#,
                "unknown residue 'a'",
            ),
        ];
        for (json, needle) in cases {
            let err = parse(json.as_bytes()).unwrap_err().to_string();
            assert!(err.contains(needle), "{needle:?} not in {err:?}");
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse(&bytes[..]);
        }

        #[test]
        fn encoding_stays_in_vocabulary(primary in "[A-IK-Z]{0,50}") {
            let ids = encode(&primary);
            prop_assert_eq!(ids.len(), primary.len() + 2);
            prop_assert!(ids.iter().all(|&i| i >= CLS_ID && (i as usize) < VOCAB_SIZE && i != 4));
        }
    }
}
