//! Digests that artifacts are pinned to, and streaming hashing of files.
//!
//! [`Sha256`] and [`Md5`] hold lower-case hex digests validated on construction, so a
//! registry entry or manifest with a malformed digest is rejected when it is read, not when
//! a download finishes. [`Expected`] is "the digest this file must have", either kind.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use md5::Md5 as Md5Hasher;
use sha2::{Digest, Sha256 as Sha256Hasher};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{kind} digest {value:?} is malformed: expected {digits} hexadecimal digits")]
pub struct DigestParseError {
    kind: &'static str,
    value: String,
    digits: usize,
}

fn parse_hex(kind: &'static str, digits: usize, value: &str) -> Result<String, DigestParseError> {
    let value = value.trim();
    if value.len() == digits && value.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(value.to_ascii_lowercase())
    } else {
        Err(DigestParseError {
            kind,
            value: value.to_string(),
            digits,
        })
    }
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A SHA-256 digest as 64 lower-case hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sha256(String);

/// An MD5 digest as 32 lower-case hex digits (only where no SHA-256 is published).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Md5(String);

impl FromStr for Sha256 {
    type Err = DigestParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_hex("sha256", 64, s).map(Self)
    }
}

impl FromStr for Md5 {
    type Err = DigestParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_hex("md5", 32, s).map(Self)
    }
}

impl Sha256 {
    pub fn as_hex(&self) -> &str {
        &self.0
    }
}

impl Md5 {
    pub fn as_hex(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Md5 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The digest a file must have.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Expected {
    Sha256(Sha256),
    Md5(Md5),
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expected::Sha256(d) => write!(f, "sha256 {d}"),
            Expected::Md5(d) => write!(f, "md5 {d}"),
        }
    }
}

/// Both digests of one file, computed in a single pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDigests {
    pub sha256: Sha256,
    pub md5: Md5,
    pub size: u64,
}

impl FileDigests {
    /// Whether these digests match `expected`.
    pub fn matches(&self, expected: &Expected) -> bool {
        match expected {
            Expected::Sha256(d) => *d == self.sha256,
            Expected::Md5(d) => *d == self.md5,
        }
    }

    /// The digest of the same kind as `expected`, for "expected X, got Y" messages.
    pub fn actual_for(&self, expected: &Expected) -> Expected {
        match expected {
            Expected::Sha256(_) => Expected::Sha256(self.sha256.clone()),
            Expected::Md5(_) => Expected::Md5(self.md5.clone()),
        }
    }
}

/// How a data file was checked before it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// It has this published digest (the registry's).
    Published(Expected),
    /// Nothing is published for it: it has the SHA-256 recorded when it was first used
    /// (trust on first use). This catches later changes, not a bad first copy: the file is
    /// unverified.
    TrustedOnFirstUse,
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Check::Published(expected) => write!(f, "verified against the published {expected}"),
            Check::TrustedOnFirstUse => {
                f.write_str("UNVERIFIED: no published checksum, trusted on first use")
            }
        }
    }
}

/// A data file that was read, with its SHA-256 and how it was checked: what a run records
/// about where its data came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedFile {
    pub path: PathBuf,
    pub sha256: Sha256,
    pub check: Check,
}

/// Hash everything `reader` yields with SHA-256 and MD5 at once.
pub fn digest_reader(mut reader: impl Read) -> io::Result<FileDigests> {
    let mut sha = Sha256Hasher::new();
    let mut md5 = Md5Hasher::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        sha.update(&buf[..n]);
        md5.update(&buf[..n]);
        size += n as u64;
    }
    Ok(FileDigests {
        sha256: Sha256(to_hex(&sha.finalize())),
        md5: Md5(to_hex(&md5.finalize())),
        size,
    })
}

/// Hash a file on disk, streaming (constant memory).
pub fn digest_file(path: &Path) -> io::Result<FileDigests> {
    digest_reader(File::open(path)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests_of_abc() {
        let d = digest_reader(&b"abc"[..]).unwrap();
        assert_eq!(
            d.sha256.as_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(d.md5.as_hex(), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(d.size, 3);
        let exp = Expected::Md5("900150983CD24FB0D6963F7D28E17F72".parse().unwrap());
        assert!(d.matches(&exp));
        assert_eq!(d.actual_for(&exp), exp);
    }

    #[test]
    fn malformed_digests_are_rejected() {
        assert!("abc".parse::<Sha256>().is_err());
        assert!("zz0150983cd24fb0d6963f7d28e17f72".parse::<Md5>().is_err());
        let err = "900150983cd24fb0d6963f7d28e17f72"
            .parse::<Sha256>()
            .unwrap_err();
        assert!(err.to_string().contains("64 hexadecimal digits"), "{err}");
    }
}
