//! A data folder in torchvision's layout (`--data-dir DIR`, or `FPT_DATA_DIR`), read before
//! the cache and any download when it holds a data set:
//!
//! - MNIST: `DIR/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz`, each checked
//!   against the registry's md5 (torchvision's), or the unpacked `*-ubyte` files beside
//!   them, which have no published checksum: trusted on first use ([`trust`]).
//! - CIFAR-10, first match wins: the Python version unpacked
//!   (`DIR/cifar-10-batches-py/`, each batch checked against torchvision's md5), its
//!   archive `DIR/cifar-10-python.tar.gz`, the binary version unpacked
//!   (`DIR/cifar-10-batches-bin/`, trusted on first use), or its archive
//!   `DIR/cifar-10-binary.tar.gz`. Archives are checked against the registry and unpacked
//!   into the cache, never into the folder.
//!
//! A data set is there when any of its files is; then all of them must be, and a file
//! that fails its check is an error naming it, both digests and what to do, never a quiet
//! fallback to a download.

mod trust;

use std::io;
use std::path::{Path, PathBuf};

pub use trust::{TrustStore, Trusted};

use crate::checksum::{digest_file, Check, CheckedFile, Expected, Sha256};
use crate::fetch::{FetchError, FetchOptions, Fetcher};
use crate::registry::{names, Artifact, Registry};
use crate::vision::cifar::{BatchFormat, Batches};

/// The environment variable that names a data folder when `--data-dir` is not given.
pub const DATA_DIR_ENV: &str = "FPT_DATA_DIR";

#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error("data folder {0} (--data-dir or {DATA_DIR_ENV}) is not a directory; give a torchvision root holding MNIST/raw/, cifar-10-batches-py/ or cifar-10-python.tar.gz, or leave it unset to use the cache")]
    NotADirectory(PathBuf),
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{file} fails its checksum: expected {expected}, found {actual}. It is damaged or not the published file: replace it with the published one (torchvision's download=True fetches it again), or move it out of the data folder to use the cache instead")]
    Corrupt {
        file: PathBuf,
        expected: Expected,
        actual: Expected,
    },
    #[error("{file} changed since its sha256 was recorded on first use: recorded {recorded}, now {actual}. Restore the original file; or, if you replaced it on purpose and trust the new one, delete {record} and it is trusted as it is on its next use")]
    Changed {
        file: PathBuf,
        record: PathBuf,
        recorded: Sha256,
        actual: Sha256,
    },
    #[error("{folder} holds part of {what}; missing: {missing}. Add the missing files, or move the folder away to use the cache")]
    Incomplete {
        folder: PathBuf,
        what: &'static str,
        missing: String,
    },
    #[error(
        "the registry has no artifact {0:?}, which says how the data folder's files are checked"
    )]
    Unregistered(&'static str),
    #[error("unpacking {archive} into the cache: {source}")]
    Unpack {
        archive: PathBuf,
        source: Box<FetchError>,
    },
}

impl DataDirError {
    fn io(path: &Path) -> impl FnOnce(io::Error) -> DataDirError + '_ {
        move |source| DataDirError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Files found in the data folder, checked, and the record of each check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found<T> {
    pub files: T,
    pub used: Vec<CheckedFile>,
}

/// A torchvision dataset root.
pub struct DataDir {
    root: PathBuf,
    trust: TrustStore,
    /// Unpacks archives found in the folder into the cache.
    fetcher: Fetcher,
}

impl DataDir {
    /// The folder at `root` (which must exist); records and unpacked archives go under
    /// `cache_dir`.
    pub fn open(root: &Path, cache_dir: &Path) -> Result<Self, DataDirError> {
        if !root.is_dir() {
            return Err(DataDirError::NotADirectory(root.to_path_buf()));
        }
        Ok(Self {
            root: std::path::absolute(root).map_err(DataDirError::io(root))?,
            trust: TrustStore::new(cache_dir),
            fetcher: Fetcher::new(FetchOptions::new(cache_dir)),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// MNIST's four files from `MNIST/raw/`, in [`names::MNIST`]'s order (a `.gz` before
    /// its unpacked copy); `None` when the folder holds none of them.
    pub fn mnist(&self, registry: &Registry) -> Result<Option<Found<[PathBuf; 4]>>, DataDirError> {
        let raw = self.root.join("MNIST").join("raw");
        let artifacts = names::MNIST
            .iter()
            .map(|&name| registry.get(name).ok_or(DataDirError::Unregistered(name)))
            .collect::<Result<Vec<_>, _>>()?;
        let wanted: Vec<_> = artifacts.iter().map(|a| mnist_file(&raw, a)).collect();
        let Some(files) = all_or_none(&raw, "MNIST", &wanted, |i| {
            let gz = &artifacts[i].file;
            format!("{gz} (or {})", unpacked_name(gz))
        })?
        else {
            return Ok(None);
        };
        let used = self.check_all(&files)?;
        let paths: Vec<PathBuf> = files.into_iter().map(|(path, _)| path).collect();
        Ok(Some(Found {
            files: paths.try_into().expect("one path per MNIST artifact"),
            used,
        }))
    }

    /// CIFAR-10's batches, from the first layout the folder holds (see the module
    /// documentation); `None` when it holds none.
    pub fn cifar10(&self, registry: &Registry) -> Result<Option<Found<Batches>>, DataDirError> {
        for (format, name) in [
            (BatchFormat::Python, names::CIFAR10_PYTHON),
            (BatchFormat::Binary, names::CIFAR10_BINARY),
        ] {
            let artifact = registry.get(name).ok_or(DataDirError::Unregistered(name))?;
            if let Some(found) = self.unpacked_batches(artifact, format)? {
                return Ok(Some(found));
            }
            if let Some(found) = self.batches_archive(artifact, format)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// `DIR/cifar-10-batches-{py,bin}/`, each batch checked against the digest the
    /// registry gives for it as a member of `artifact`'s archive (or trusted on first use).
    fn unpacked_batches(
        &self,
        artifact: &Artifact,
        format: BatchFormat,
    ) -> Result<Option<Found<Batches>>, DataDirError> {
        let dir = self.root.join(format.folder());
        let batches: Vec<&str> = format.all_batches().collect();
        let wanted: Vec<Option<(PathBuf, Option<Expected>)>> = batches
            .iter()
            .map(|batch| {
                let path = dir.join(batch);
                let member = format!("{}/{batch}", format.folder());
                let digest = artifact
                    .extract
                    .as_ref()
                    .and_then(|e| e.member_digests.get(&member).cloned());
                path.is_file().then_some((path, digest))
            })
            .collect();
        let Some(files) = all_or_none(&dir, "CIFAR-10's batches", &wanted, |i| {
            batches[i].to_string()
        })?
        else {
            return Ok(None);
        };
        Ok(Some(Found {
            used: self.check_all(&files)?,
            files: Batches { dir, format },
        }))
    }

    /// `DIR/<artifact's file>`, checked as the registry says and unpacked into the cache.
    fn batches_archive(
        &self,
        artifact: &Artifact,
        format: BatchFormat,
    ) -> Result<Option<Found<Batches>>, DataDirError> {
        let archive = self.root.join(&artifact.file);
        if !archive.is_file() {
            return Ok(None);
        }
        let used = self.check(&archive, published(artifact))?;
        self.fetcher
            .unpack(artifact, &archive)
            .map_err(|source| DataDirError::Unpack {
                archive: archive.clone(),
                source: Box::new(source),
            })?;
        Ok(Some(Found {
            files: Batches {
                dir: self.fetcher.extract_dir(artifact).join(format.folder()),
                format,
            },
            used: vec![used],
        }))
    }

    fn check_all(
        &self,
        files: &[(PathBuf, Option<Expected>)],
    ) -> Result<Vec<CheckedFile>, DataDirError> {
        files
            .iter()
            .map(|(path, digest)| self.check(path, digest.clone()))
            .collect()
    }

    /// Hash `path` and check it against `published`, or, with nothing published, against
    /// the digest recorded on its first use.
    fn check(&self, path: &Path, published: Option<Expected>) -> Result<CheckedFile, DataDirError> {
        let digests = digest_file(path).map_err(DataDirError::io(path))?;
        let check = match published {
            Some(expected) if digests.matches(&expected) => {
                tracing::info!(file = %path.display(), %expected, "data folder: verified");
                Check::Published(expected)
            }
            Some(expected) => {
                return Err(DataDirError::Corrupt {
                    file: path.to_path_buf(),
                    actual: digests.actual_for(&expected),
                    expected,
                })
            }
            None => {
                let first = self.trust.check(path, &digests.sha256)? == Trusted::FirstUse;
                let when = if first {
                    "its sha256 is recorded now, on first use"
                } else {
                    "it matches the sha256 recorded on its first use"
                };
                tracing::warn!(file = %path.display(), sha256 = %digests.sha256, "data folder: UNVERIFIED (no published checksum); {when}");
                Check::TrustedOnFirstUse
            }
        };
        Ok(CheckedFile {
            path: path.to_path_buf(),
            sha256: digests.sha256,
            check,
        })
    }
}

/// The wanted files when all are present, `None` when none is, else which are missing
/// (`name(i)` names the i-th).
fn all_or_none<T: Clone>(
    folder: &Path,
    what: &'static str,
    wanted: &[Option<T>],
    name: impl Fn(usize) -> String,
) -> Result<Option<Vec<T>>, DataDirError> {
    if wanted.iter().all(Option::is_none) {
        return Ok(None);
    }
    let missing: Vec<String> = (0..wanted.len())
        .filter(|&i| wanted[i].is_none())
        .map(name)
        .collect();
    if !missing.is_empty() {
        return Err(DataDirError::Incomplete {
            folder: folder.to_path_buf(),
            what,
            missing: missing.join(", "),
        });
    }
    Ok(Some(wanted.iter().flatten().cloned().collect()))
}

/// Where an MNIST artifact is in `raw/`: its `.gz` (checked against the registry) or the
/// unpacked file (trusted on first use).
fn mnist_file(raw: &Path, artifact: &Artifact) -> Option<(PathBuf, Option<Expected>)> {
    let gz = raw.join(&artifact.file);
    let unpacked = raw.join(unpacked_name(&artifact.file));
    if gz.is_file() {
        Some((gz, published(artifact)))
    } else {
        unpacked.is_file().then_some((unpacked, None))
    }
}

fn unpacked_name(gz: &str) -> &str {
    gz.strip_suffix(".gz").unwrap_or(gz)
}

/// The digest the registry pins for an artifact's file, if any.
fn published(artifact: &Artifact) -> Option<Expected> {
    match Check::from(&artifact.integrity) {
        Check::Published(expected) => Some(expected),
        Check::TrustedOnFirstUse => None,
    }
}
