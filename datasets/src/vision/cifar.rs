//! CIFAR-10 batches in either published format. The binary version: records of 3073 bytes,
//! one label byte (0..=9) then 1024 red, 1024 green and 1024 blue values, each plane
//! row-major 32x32. The Python version (what torchvision keeps): pickled dicts whose `data`
//! rows hold the same 3072 values in the same order, read by [`super::pickle`].

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::pickle::{self, PickleError};
use super::ImageSet;
use crate::data_file::{parse_file, FileError};

pub const SIDE: usize = 32;
pub const IMAGE_BYTES: usize = 3 * SIDE * SIDE;
pub const RECORD_BYTES: usize = 1 + IMAGE_BYTES;
pub const CLASSES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];
/// Batch files of each split inside `cifar-10-batches-bin/`.
pub const TRAIN_BATCHES: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];
pub const TEST_BATCHES: [&str; 1] = ["test_batch.bin"];
/// The Python version's batch files of each split inside `cifar-10-batches-py/`.
pub const PYTHON_TRAIN_BATCHES: [&str; 5] = [
    "data_batch_1",
    "data_batch_2",
    "data_batch_3",
    "data_batch_4",
    "data_batch_5",
];
pub const PYTHON_TEST_BATCHES: [&str; 1] = ["test_batch"];

#[derive(Debug, thiserror::Error)]
pub enum CifarError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("file is empty: not a CIFAR-10 batch")]
    Empty,
    #[error("{len} bytes is not a whole number of {RECORD_BYTES}-byte records ({whole} whole records and {rest} bytes over): truncated, or not a CIFAR-10 binary batch")]
    Ragged { len: u64, whole: u64, rest: u64 },
    #[error("record {record} has label {label}, outside 0..=9: not a CIFAR-10 binary batch")]
    BadLabel { record: usize, label: u8 },
    #[error("{0}")]
    Pickle(#[from] PickleError),
}

/// Which of CIFAR-10's two published formats a folder of batches is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchFormat {
    /// `cifar-10-batches-bin/*.bin` (`cifar-10-binary.tar.gz`).
    Binary,
    /// `cifar-10-batches-py/` pickles (`cifar-10-python.tar.gz`, torchvision's copy).
    Python,
}

/// A split of CIFAR-10.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    Train,
    Test,
}

impl BatchFormat {
    /// The folder the archive unpacks its batches into.
    pub fn folder(self) -> &'static str {
        match self {
            BatchFormat::Binary => "cifar-10-batches-bin",
            BatchFormat::Python => "cifar-10-batches-py",
        }
    }

    /// The batch files of `split`, in order.
    pub fn batches(self, split: Split) -> &'static [&'static str] {
        match (self, split) {
            (BatchFormat::Binary, Split::Train) => &TRAIN_BATCHES,
            (BatchFormat::Binary, Split::Test) => &TEST_BATCHES,
            (BatchFormat::Python, Split::Train) => &PYTHON_TRAIN_BATCHES,
            (BatchFormat::Python, Split::Test) => &PYTHON_TEST_BATCHES,
        }
    }

    /// Every batch file of both splits.
    pub fn all_batches(self) -> impl Iterator<Item = &'static str> {
        [Split::Train, Split::Test]
            .into_iter()
            .flat_map(move |split| self.batches(split).iter().copied())
    }

    /// Read one batch file of this format.
    pub fn read(self, path: &Path) -> Result<ImageSet, FileError<CifarError>> {
        match self {
            BatchFormat::Binary => read(path),
            BatchFormat::Python => parse_file(path, |reader, size_hint| {
                let mut bytes = Vec::with_capacity(size_hint.unwrap_or(0).min(1 << 28) as usize);
                reader.read_to_end(&mut bytes)?;
                Ok(pickle::parse_batch(&bytes)?)
            }),
        }
    }
}

/// A folder of CIFAR-10 batches (`cifar-10-batches-bin/` or `cifar-10-batches-py/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batches {
    pub dir: PathBuf,
    pub format: BatchFormat,
}

impl Batches {
    /// The images of `split`, its batches concatenated in order.
    pub fn read(&self, split: Split) -> Result<ImageSet, FileError<CifarError>> {
        concatenate(&self.dir, self.format.batches(split), |path| {
            self.format.read(path)
        })
    }
}

/// Parse one batch (any number of whole records).
pub fn parse(reader: &mut dyn Read, size_hint: Option<u64>) -> Result<ImageSet, CifarError> {
    let mut bytes = Vec::with_capacity(size_hint.unwrap_or(0).min(1 << 28) as usize);
    reader.read_to_end(&mut bytes)?;
    parse_bytes(&bytes)
}

/// Parse a batch already in memory.
pub fn parse_bytes(bytes: &[u8]) -> Result<ImageSet, CifarError> {
    if bytes.is_empty() {
        return Err(CifarError::Empty);
    }
    let len = bytes.len() as u64;
    let record = RECORD_BYTES as u64;
    if !len.is_multiple_of(record) {
        return Err(CifarError::Ragged {
            len,
            whole: len / record,
            rest: len % record,
        });
    }
    let count = bytes.len() / RECORD_BYTES;
    let mut pixels = Vec::with_capacity(count * IMAGE_BYTES);
    let mut labels = Vec::with_capacity(count);
    for (i, rec) in bytes.chunks_exact(RECORD_BYTES).enumerate() {
        if rec[0] > 9 {
            return Err(CifarError::BadLabel {
                record: i,
                label: rec[0],
            });
        }
        labels.push(rec[0]);
        pixels.extend_from_slice(&rec[1..]);
    }
    Ok(ImageSet {
        count,
        channels: 3,
        height: SIDE,
        width: SIDE,
        pixels,
        labels,
    })
}

/// Read one batch file.
pub fn read(path: &Path) -> Result<ImageSet, FileError<CifarError>> {
    parse_file(path, parse)
}

/// Read and concatenate the named batch files from `dir` with `read`.
fn concatenate(
    dir: &Path,
    batches: &[&str],
    read: impl Fn(&Path) -> Result<ImageSet, FileError<CifarError>>,
) -> Result<ImageSet, FileError<CifarError>> {
    let mut set: Option<ImageSet> = None;
    for name in batches {
        let batch = read(&dir.join(name))?;
        match set.as_mut() {
            // Every CIFAR batch has the same image shape, so concatenating is enough.
            Some(all) => {
                all.count += batch.count;
                all.pixels.extend(batch.pixels);
                all.labels.extend(batch.labels);
            }
            None => set = Some(batch),
        }
    }
    set.ok_or_else(|| FileError {
        path: dir.to_path_buf(),
        error: CifarError::Empty,
    })
}

/// Serialise an image set as a CIFAR-10 binary batch (fixtures, tests).
pub fn encode(set: &ImageSet) -> Vec<u8> {
    let mut out = Vec::with_capacity(set.count * RECORD_BYTES);
    for (i, &label) in set.labels.iter().enumerate() {
        out.push(label);
        out.extend_from_slice(set.image(i).unwrap_or_default());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn batch(count: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for i in 0..count {
            out.push((i % 10) as u8);
            out.extend((0..IMAGE_BYTES).map(|j| ((i + j) % 256) as u8));
        }
        out
    }

    #[test]
    fn parses_records_and_round_trips() {
        let bytes = batch(3);
        let set = parse_bytes(&bytes).unwrap();
        assert_eq!(
            (set.count, set.channels, set.height, set.width),
            (3, 3, 32, 32)
        );
        assert_eq!(set.labels, [0, 1, 2]);
        assert_eq!(set.image(1).unwrap()[0], 1);
        assert_eq!(encode(&set), bytes);
    }

    #[test]
    fn reads_and_concatenates_batches() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("a.bin"), batch(2)).unwrap();
        std::fs::write(tmp.path().join("b.bin"), batch(3)).unwrap();
        let set = concatenate(tmp.path(), &["a.bin", "b.bin"], read).unwrap();
        assert_eq!(set.count, 5);
        assert_eq!(set.labels, [0, 1, 0, 1, 2]);
        let err = concatenate(tmp.path(), &["a.bin", "missing.bin"], read).unwrap_err();
        assert!(err.to_string().contains("missing.bin"), "{err}");
    }

    #[test]
    fn bad_batches_give_clear_errors() {
        let mut bad_label = batch(2);
        bad_label[RECORD_BYTES] = 10;
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![], "empty"),
            (
                batch(2)[..RECORD_BYTES + 5].to_vec(),
                "1 whole records and 5 bytes over",
            ),
            (bad_label, "record 1 has label 10"),
        ];
        for (bytes, needle) in cases {
            let err = parse_bytes(&bytes).unwrap_err().to_string();
            assert!(err.contains(needle), "{needle:?} not in {err:?}");
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..8000)) {
            let _ = parse_bytes(&bytes);
        }
    }
}
