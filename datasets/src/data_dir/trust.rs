//! Trust on first use for files of a data folder that no published checksum covers (MNIST's
//! unpacked `*-ubyte` files, CIFAR-10's unpacked binary batches).
//!
//! The first use of such a file records its SHA-256 in the cache (never in the user's
//! folder), in `<cache>/data-dir-trust/<key>-<file name>.sha256` in `sha256sum`'s format
//! (`<digest>  <path>`), keyed by the file's canonical path; every later use hashes the
//! file again and refuses it if it changed.

use std::fs;
use std::path::{Path, PathBuf};

use super::DataDirError;
use crate::checksum::{digest_reader, Sha256};

/// Where first-use digests are recorded.
#[derive(Debug, Clone)]
pub struct TrustStore {
    dir: PathBuf,
}

/// What [`TrustStore::check`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trusted {
    /// No record yet: this digest was recorded now.
    FirstUse,
    /// The file has the digest recorded on its first use.
    Unchanged,
}

impl TrustStore {
    /// The store inside `cache_dir`.
    pub fn new(cache_dir: &Path) -> Self {
        Self {
            dir: cache_dir.join("data-dir-trust"),
        }
    }

    /// Compare `sha256`, the digest `file` has now, with the one recorded on its first use,
    /// recording it when there is none.
    pub fn check(&self, file: &Path, sha256: &Sha256) -> Result<Trusted, DataDirError> {
        let canonical = fs::canonicalize(file).map_err(DataDirError::io(file))?;
        let record = self.record_path(&canonical)?;
        match read_record(&record, &canonical) {
            Some(recorded) if &recorded == sha256 => Ok(Trusted::Unchanged),
            Some(recorded) => Err(DataDirError::Changed {
                file: file.to_path_buf(),
                record,
                recorded,
                actual: sha256.clone(),
            }),
            None => {
                write_record(&record, &canonical, sha256)?;
                Ok(Trusted::FirstUse)
            }
        }
    }

    /// The record of a canonical path: a hash of the path (unique) and its file name
    /// (readable).
    fn record_path(&self, canonical: &Path) -> Result<PathBuf, DataDirError> {
        let key = digest_reader(canonical.to_string_lossy().as_bytes())
            .map_err(DataDirError::io(canonical))?
            .sha256;
        let name = canonical
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        Ok(self
            .dir
            .join(format!("{}-{name}.sha256", &key.as_hex()[..16])))
    }
}

/// The digest a record holds for `canonical`; `None` when there is no record, or it is
/// unreadable or names another path (then it is rewritten).
fn read_record(record: &Path, canonical: &Path) -> Option<Sha256> {
    let text = fs::read_to_string(record).ok()?;
    let (digest, path) = text.trim_end_matches('\n').split_once("  ")?;
    (Path::new(path) == canonical)
        .then(|| digest.parse().ok())
        .flatten()
}

/// Write a record atomically (a temporary file renamed into place), so that parallel runs
/// never read half of one.
fn write_record(record: &Path, canonical: &Path, sha256: &Sha256) -> Result<(), DataDirError> {
    let dir = record.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(DataDirError::io(dir))?;
    let tmp = record.with_extension(format!("tmp{}", std::process::id()));
    fs::write(&tmp, format!("{sha256}  {}\n", canonical.display()))
        .and_then(|()| fs::rename(&tmp, record))
        .map_err(|e| {
            let _ = fs::remove_file(&tmp);
            DataDirError::io(record)(e)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checksum::digest_file;

    #[test]
    fn first_use_records_and_a_change_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("train-images-idx3-ubyte");
        fs::write(&file, b"first").unwrap();
        let store = TrustStore::new(&tmp.path().join("cache"));
        let sha = |f: &Path| digest_file(f).unwrap().sha256;
        assert_eq!(store.check(&file, &sha(&file)).unwrap(), Trusted::FirstUse);
        assert_eq!(store.check(&file, &sha(&file)).unwrap(), Trusted::Unchanged);
        fs::write(&file, b"second").unwrap();
        let err = store.check(&file, &sha(&file)).unwrap_err();
        let DataDirError::Changed { record, .. } = &err else {
            panic!("{err}")
        };
        assert!(record.starts_with(tmp.path().join("cache/data-dir-trust")));
        let message = err.to_string();
        assert!(
            message.contains("changed since") && message.contains("delete"),
            "{message}"
        );
        // Deleting the record re-trusts the file as it is now.
        fs::remove_file(record).unwrap();
        assert_eq!(store.check(&file, &sha(&file)).unwrap(), Trusted::FirstUse);
    }
}
