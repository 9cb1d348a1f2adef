//! MNIST's IDX format (big-endian): magic `00 00 08 NDIMS`, NDIMS u32 sizes, then u8 data.
//! Images are magic 2051 (`[N, rows, cols]`), labels 2049 (`[N]`). Files may be gzipped.
//!
//! The header's sizes are checked against the bytes actually present before any buffer is
//! sized from them, so a header claiming 2^31 images in a 100-byte file is an error, not an
//! out-of-memory abort.

use std::io::{self, Read};
use std::path::Path;

use super::ImageSet;
use crate::data_file::{parse_file, read_exact_len, FileError, LengthMismatch};

pub const IMAGES_MAGIC: u32 = 2051;
pub const LABELS_MAGIC: u32 = 2049;

#[derive(Debug, thiserror::Error)]
pub enum IdxError {
    #[error("{0} (a damaged download or gzip stream: delete the file and fetch again)")]
    Io(#[from] io::Error),
    #[error("file ends inside the {0}-byte IDX header: not an IDX file, or truncated")]
    ShortHeader(usize),
    #[error("magic number {found:#010x} is not IDX unsigned-byte data (expected {IMAGES_MAGIC:#010x} for images or {LABELS_MAGIC:#010x} for labels)")]
    BadMagic { found: u32 },
    #[error("this is an IDX {found} file, but {expected} were expected (magic {found_magic})")]
    WrongKind {
        expected: &'static str,
        found: &'static str,
        found_magic: u32,
    },
    #[error("header dimensions {dims:?} are invalid: every dimension must be at least 1 and the total must fit in memory")]
    BadDims { dims: Vec<u32> },
    #[error("header promises {expected} data bytes for dimensions {dims:?}, but the file holds {got}: truncated download?")]
    Truncated {
        expected: u64,
        got: u64,
        dims: Vec<u32>,
    },
    #[error(
        "more data follows the {expected} bytes that the header's dimensions {dims:?} promise"
    )]
    TrailingData { expected: u64, dims: Vec<u32> },
    #[error("label {value} at index {index} is outside 0..=9")]
    LabelOutOfRange { index: usize, value: u8 },
    #[error("{images} images but {labels} labels: the files are from different splits")]
    CountMismatch { images: usize, labels: usize },
}

/// What an IDX file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdxData {
    /// Pixels `[count, rows, cols]`.
    Images {
        count: usize,
        rows: usize,
        cols: usize,
        pixels: Vec<u8>,
    },
    Labels(Vec<u8>),
}

fn kind_name(magic: u32) -> &'static str {
    if magic == IMAGES_MAGIC {
        "images"
    } else {
        "labels"
    }
}

fn read_u32(reader: &mut dyn Read, header_len: usize) -> Result<u32, IdxError> {
    let mut b = [0u8; 4];
    reader.read_exact(&mut b).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => IdxError::ShortHeader(header_len),
        _ => IdxError::Io(e),
    })?;
    Ok(u32::from_be_bytes(b))
}

/// Parse an IDX image or label stream. `size_hint` (the plain file's size, when known)
/// bounds the initial allocation.
pub fn parse(reader: &mut dyn Read, size_hint: Option<u64>) -> Result<IdxData, IdxError> {
    let magic = read_u32(reader, 8)?;
    let ndims = match magic {
        IMAGES_MAGIC => 3,
        LABELS_MAGIC => 1,
        found => return Err(IdxError::BadMagic { found }),
    };
    let header_len = 4 + 4 * ndims;
    let dims: Vec<u32> = (0..ndims)
        .map(|_| read_u32(reader, header_len))
        .collect::<Result<_, _>>()?;
    let total = dims
        .iter()
        .try_fold(1u64, |acc, &d| {
            (d > 0).then(|| acc.checked_mul(d as u64)).flatten()
        })
        .filter(|&t| usize::try_from(t).is_ok())
        .ok_or_else(|| IdxError::BadDims { dims: dims.clone() })?;
    let data = match read_exact_len(
        reader,
        total,
        size_hint.map(|s| s.saturating_sub(header_len as u64)),
    )? {
        Ok(data) => data,
        Err(LengthMismatch::Short(got)) => {
            return Err(IdxError::Truncated {
                expected: total,
                got,
                dims,
            })
        }
        Err(LengthMismatch::Long) => {
            return Err(IdxError::TrailingData {
                expected: total,
                dims,
            })
        }
    };
    Ok(match magic {
        IMAGES_MAGIC => IdxData::Images {
            count: dims[0] as usize,
            rows: dims[1] as usize,
            cols: dims[2] as usize,
            pixels: data,
        },
        _ => {
            if let Some((index, &value)) = data.iter().enumerate().find(|(_, &v)| v > 9) {
                return Err(IdxError::LabelOutOfRange { index, value });
            }
            IdxData::Labels(data)
        }
    })
}

/// Read an IDX file (plain or gzipped) of either kind.
pub fn read(path: &Path) -> Result<IdxData, FileError<IdxError>> {
    parse_file(path, parse)
}

fn wrong_kind(path: &Path, expected: &'static str, found_magic: u32) -> FileError<IdxError> {
    FileError {
        path: path.to_path_buf(),
        error: IdxError::WrongKind {
            expected,
            found: kind_name(found_magic),
            found_magic,
        },
    }
}

/// Read an MNIST split from its image and label files into an [`ImageSet`] (1 channel).
pub fn read_split(images: &Path, labels: &Path) -> Result<ImageSet, FileError<IdxError>> {
    let (count, rows, cols, pixels) = match read(images)? {
        IdxData::Images {
            count,
            rows,
            cols,
            pixels,
        } => (count, rows, cols, pixels),
        IdxData::Labels(_) => return Err(wrong_kind(images, "images", LABELS_MAGIC)),
    };
    let label_bytes = match read(labels)? {
        IdxData::Labels(l) => l,
        IdxData::Images { .. } => return Err(wrong_kind(labels, "labels", IMAGES_MAGIC)),
    };
    if label_bytes.len() != count {
        return Err(FileError {
            path: labels.to_path_buf(),
            error: IdxError::CountMismatch {
                images: count,
                labels: label_bytes.len(),
            },
        });
    }
    Ok(ImageSet {
        count,
        channels: 1,
        height: rows,
        width: cols,
        pixels,
        labels: label_bytes,
    })
}

/// Serialise images or labels as IDX (for fixtures, and for caching converted data).
pub fn encode(data: &IdxData) -> Vec<u8> {
    let (magic, dims, body): (u32, Vec<usize>, &[u8]) = match data {
        IdxData::Images {
            count,
            rows,
            cols,
            pixels,
        } => (IMAGES_MAGIC, vec![*count, *rows, *cols], pixels),
        IdxData::Labels(labels) => (LABELS_MAGIC, vec![labels.len()], labels),
    };
    let mut out = magic.to_be_bytes().to_vec();
    for d in dims {
        out.extend((d as u32).to_be_bytes());
    }
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn images(count: usize) -> IdxData {
        IdxData::Images {
            count,
            rows: 28,
            cols: 28,
            pixels: (0..count * 784).map(|i| (i % 251) as u8).collect(),
        }
    }

    #[test]
    fn round_trip_plain_and_gzip() {
        let tmp = tempfile::tempdir().unwrap();
        let img = tmp.path().join("img");
        let lab = tmp.path().join("lab.gz");
        std::fs::write(&img, encode(&images(3))).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &encode(&IdxData::Labels(vec![7, 0, 9]))).unwrap();
        std::fs::write(&lab, gz.finish().unwrap()).unwrap();
        let set = read_split(&img, &lab).unwrap();
        assert_eq!(
            (set.count, set.height, set.width, set.channels),
            (3, 28, 28, 1)
        );
        assert_eq!(set.labels, [7, 0, 9]);
        let err = read_split(&lab, &img).unwrap_err().to_string();
        assert!(
            err.contains("labels file") || err.contains("but images were expected"),
            "{err}"
        );
    }

    #[test]
    fn lying_header_is_an_error_not_an_allocation() {
        let mut bytes = IMAGES_MAGIC.to_be_bytes().to_vec();
        for d in [1u32 << 31, 28, 28] {
            bytes.extend(d.to_be_bytes());
        }
        bytes.resize(100, 0);
        let err = parse(&mut &bytes[..], Some(100)).unwrap_err();
        assert!(matches!(err, IdxError::Truncated { got: 84, .. }), "{err}");
        // Without a size hint (a gzip stream) the same holds.
        assert!(matches!(
            parse(&mut &bytes[..], None),
            Err(IdxError::Truncated { .. })
        ));
    }

    #[test]
    fn bad_inputs_give_clear_errors() {
        let good = encode(&images(2));
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![], "header"),
            (good[..10].to_vec(), "header"),
            (good[..good.len() - 1].to_vec(), "truncated"),
            ([good.clone(), vec![0]].concat(), "more data follows"),
            ([&[0, 0, 9, 3][..], &good[4..]].concat(), "magic number"),
            (
                [&good[..4], &[0, 0, 0, 0][..], &good[8..]].concat(),
                "dimensions",
            ),
            (
                [&encode(&IdxData::Labels(vec![1]))[..8], &[10][..]].concat(),
                "outside 0..=9",
            ),
        ];
        for (bytes, needle) in cases {
            let err = parse(&mut &bytes[..], Some(bytes.len() as u64))
                .unwrap_err()
                .to_string();
            assert!(err.contains(needle), "{needle:?} not in {err:?}");
        }
    }

    #[test]
    fn mismatched_counts_are_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let (img, lab) = (tmp.path().join("i"), tmp.path().join("l"));
        std::fs::write(&img, encode(&images(2))).unwrap();
        std::fs::write(&lab, encode(&IdxData::Labels(vec![1]))).unwrap();
        let err = read_split(&img, &lab).unwrap_err().to_string();
        assert!(err.contains("2 images but 1 labels"), "{err}");
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse(&mut &bytes[..], Some(bytes.len() as u64));
        }

        #[test]
        fn arbitrary_headers_never_panic(dims in proptest::collection::vec(any::<u32>(), 3), tail in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut bytes = IMAGES_MAGIC.to_be_bytes().to_vec();
            for d in dims { bytes.extend(d.to_be_bytes()); }
            bytes.extend(tail);
            let _ = parse(&mut &bytes[..], None);
        }
    }
}
