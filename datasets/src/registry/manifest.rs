//! Manifest files (`--manifest FILE.toml`) that add or override artifacts.
//!
//! ```toml
//! [[artifact]]
//! name = "mnist-train-images"            # an existing name overrides that entry
//! file = "train-images-idx3-ubyte.gz"    # file name in the cache
//! urls = ["http://127.0.0.1:8000/train-images-idx3-ubyte.gz"]
//! md5 = "f68b3c2dcbeaaa9fbdd348bbdeb94873"   # or sha256 = "..." (exactly one of the two)
//! size = 9912422                         # optional
//! extract = ["dir/member.bin"]           # optional: tar.gz members to unpack
//! member_md5 = { "dir/member.bin" = "..." }  # optional: digests of single members
//! ```
//!
//! `member_md5` (or `member_sha256`) checks a member found already unpacked, outside its
//! archive (in a `--data-dir` folder). An override keeps the built-in entry's extraction
//! recipe, and its member digests, unless `extract` (or `member_md5` / `member_sha256`) is
//! given.
//! Unknown keys are errors, so a typo such as `sha265` is caught rather than ignored.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::{Artifact, Extract, Integrity, Registry};
use crate::archive::ArchiveFormat;
use crate::checksum::{DigestParseError, Expected};

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("cannot read manifest {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("manifest {path} is not valid: {message}. Expected [[artifact]] tables with name, file, urls, sha256 or md5, and optional size and extract")]
    Syntax { path: String, message: String },
    #[error("manifest {path}, artifact {name:?}: {problem}")]
    Entry {
        path: String,
        name: String,
        problem: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestFile {
    #[serde(default)]
    artifact: Vec<ManifestEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestEntry {
    name: String,
    file: String,
    urls: Vec<String>,
    sha256: Option<String>,
    md5: Option<String>,
    size: Option<u64>,
    extract: Option<Vec<String>>,
    member_md5: Option<BTreeMap<String, String>>,
    member_sha256: Option<BTreeMap<String, String>>,
}

impl Registry {
    /// Read a manifest file and add or override its artifacts; returns how many it held.
    pub fn load_manifest(&mut self, path: &Path) -> Result<usize, ManifestError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Read {
            path: shown.clone(),
            source,
        })?;
        self.apply_manifest_str(&text, &shown)
    }

    /// As [`Registry::load_manifest`] on text already read; `origin` names it in errors.
    pub fn apply_manifest_str(&mut self, text: &str, origin: &str) -> Result<usize, ManifestError> {
        let parsed: ManifestFile = toml::from_str(text).map_err(|e| ManifestError::Syntax {
            path: origin.to_string(),
            message: e.message().to_string(),
        })?;
        let mut artifacts = Vec::with_capacity(parsed.artifact.len());
        for entry in parsed.artifact {
            let name = entry.name.clone();
            let artifact = self
                .artifact_from(entry)
                .map_err(|problem| ManifestError::Entry {
                    path: origin.to_string(),
                    name,
                    problem,
                })?;
            artifacts.push(artifact);
        }
        let count = artifacts.len();
        for artifact in artifacts {
            self.insert(artifact);
        }
        Ok(count)
    }

    fn artifact_from(&self, entry: ManifestEntry) -> Result<Artifact, String> {
        if entry.name.trim().is_empty() {
            return Err("name is empty".into());
        }
        if entry.file.is_empty() || entry.file.contains(['/', '\\']) || entry.file.starts_with('.')
        {
            return Err(format!(
                "file {:?} must be a plain file name (no directories, not hidden)",
                entry.file
            ));
        }
        if entry.urls.is_empty() {
            return Err("urls is empty; give at least one http(s) URL".into());
        }
        if let Some(bad) = entry
            .urls
            .iter()
            .find(|u| !(u.starts_with("http://") || u.starts_with("https://")))
        {
            return Err(format!("url {bad:?} is not http:// or https://"));
        }
        let digest_error = |e: DigestParseError| e.to_string();
        let expected = match (&entry.sha256, &entry.md5) {
            (Some(s), None) => Expected::Sha256(s.parse().map_err(digest_error)?),
            (None, Some(m)) => Expected::Md5(m.parse().map_err(digest_error)?),
            (Some(_), Some(_)) => return Err("give sha256 or md5, not both".into()),
            (None, None) => {
                return Err("no checksum: give sha256 = \"<64 hex digits>\" (or md5)".into())
            }
        };
        let previous = self.get(&entry.name);
        let member_digests = member_digests(entry.member_md5, entry.member_sha256)?;
        let mut extract = match entry.extract {
            Some(members) => Some(Extract {
                format: ArchiveFormat::from_file_name(&entry.file).ok_or_else(|| {
                    format!(
                        "extract is given but file {:?} is neither .tar.gz/.tgz nor .gz",
                        entry.file
                    )
                })?,
                members,
                member_digests: previous
                    .and_then(|p| p.extract.as_ref())
                    .map(|e| e.member_digests.clone())
                    .unwrap_or_default(),
            }),
            None => previous.and_then(|p| p.extract.clone()),
        };
        if let Some(digests) = member_digests {
            extract
                .as_mut()
                .ok_or("member_md5 / member_sha256 need extract (members of an archive)")?
                .member_digests = digests;
        }
        let description = match previous {
            Some(p) => format!("{} [overridden by manifest]", p.description),
            None => "from manifest".to_string(),
        };
        Ok(Artifact {
            name: entry.name,
            file: entry.file,
            sources: super::urls(&entry.urls),
            integrity: Integrity::Pinned(expected),
            size: entry.size,
            extract,
            description,
        })
    }
}

/// The member digests a manifest entry gives, if any (both tables together).
fn member_digests(
    md5: Option<BTreeMap<String, String>>,
    sha256: Option<BTreeMap<String, String>>,
) -> Result<Option<BTreeMap<String, Expected>>, String> {
    if md5.is_none() && sha256.is_none() {
        return Ok(None);
    }
    let mut digests = BTreeMap::new();
    let parse = |member: &str, parsed: Result<Expected, DigestParseError>| {
        parsed.map_err(|e| format!("member {member:?}: {e}"))
    };
    for (member, hex) in md5.unwrap_or_default() {
        let digest = parse(&member, hex.parse().map(Expected::Md5))?;
        digests.insert(member, digest);
    }
    for (member, hex) in sha256.unwrap_or_default() {
        let digest = parse(&member, hex.parse().map(Expected::Sha256))?;
        if digests.insert(member.clone(), digest).is_some() {
            return Err(format!(
                "member {member:?} is in both member_md5 and member_sha256; give one"
            ));
        }
    }
    Ok(Some(digests))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[[artifact]]
name = "cifar10"
file = "cifar-10-binary.tar.gz"
urls = ["http://127.0.0.1:1/cifar-10-binary.tar.gz"]
sha256 = "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"

[[artifact]]
name = "my-file"
file = "my.bin"
urls = ["http://127.0.0.1:1/my.bin", "https://example.invalid/my.bin"]
md5 = "900150983cd24fb0d6963f7d28e17f72"
size = 3
"#;

    #[test]
    fn adds_and_overrides_keeping_extraction() {
        let mut reg = Registry::builtin();
        assert_eq!(reg.apply_manifest_str(GOOD, "m.toml").unwrap(), 2);
        let cifar = reg.get("cifar10").unwrap();
        assert_eq!(
            cifar.sources,
            super::super::urls(&["http://127.0.0.1:1/cifar-10-binary.tar.gz"])
        );
        assert_eq!(cifar.extract.as_ref().unwrap().members.len(), 7);
        let mine = reg.get("my-file").unwrap();
        assert_eq!(mine.size, Some(3));
        assert!(mine.extract.is_none());
    }

    #[test]
    fn member_digests_are_overridden_or_kept() {
        let mut reg = Registry::builtin();
        let before = reg.get("cifar10-python").unwrap().extract.clone().unwrap();
        let text = r#"
[[artifact]]
name = "cifar10-python"
file = "cifar-10-python.tar.gz"
urls = ["http://127.0.0.1:1/cifar-10-python.tar.gz"]
md5 = "c58f30108f718f92721af3b95e74349a"
member_md5 = { "cifar-10-batches-py/test_batch" = "900150983cd24fb0d6963f7d28e17f72" }
"#;
        reg.apply_manifest_str(text, "m.toml").unwrap();
        let after = reg.get("cifar10-python").unwrap().extract.clone().unwrap();
        assert_eq!(after.members, before.members);
        assert_eq!(after.member_digests.len(), 1);
        assert_eq!(
            after.member_digests["cifar-10-batches-py/test_batch"].to_string(),
            "md5 900150983cd24fb0d6963f7d28e17f72"
        );
        // Without the tables, an override keeps the built-in digests.
        let mut reg = Registry::builtin();
        let kept = text.replace("member_md5", "# member_md5");
        reg.apply_manifest_str(&kept, "m.toml").unwrap();
        let extract = reg.get("cifar10-python").unwrap().extract.clone().unwrap();
        assert_eq!(extract, before);
    }

    #[test]
    fn malformed_manifests_say_what_is_wrong() {
        let cases = [
            ("[[artifact]]\nname = \"x\"\n", "missing field"),
            ("[[artifact]]\nname=\"x\"\nfile=\"x\"\nurls=[\"http://a/x\"]\nsha265=\"00\"\n", "unknown field"),
            ("[[artifact]]\nname=\"x\"\nfile=\"x\"\nurls=[\"http://a/x\"]\n", "no checksum"),
            ("[[artifact]]\nname=\"x\"\nfile=\"x\"\nurls=[\"http://a/x\"]\nmd5=\"123\"\n", "32 hexadecimal"),
            ("[[artifact]]\nname=\"x\"\nfile=\"../x\"\nurls=[\"http://a/x\"]\nmd5=\"900150983cd24fb0d6963f7d28e17f72\"\n", "plain file name"),
            ("[[artifact]]\nname=\"x\"\nfile=\"x\"\nurls=[\"file:///etc/passwd\"]\nmd5=\"900150983cd24fb0d6963f7d28e17f72\"\n", "not http"),
            ("[[artifact]]\nname=\"x\"\nfile=\"x\"\nurls=[]\nmd5=\"900150983cd24fb0d6963f7d28e17f72\"\n", "urls is empty"),
            ("this is not toml", "not valid"),
            ("[[artifact]]\nname=\"x\"\nfile=\"x\"\nurls=[\"http://a/x\"]\nmd5=\"900150983cd24fb0d6963f7d28e17f72\"\nmember_md5={ a = \"900150983cd24fb0d6963f7d28e17f72\" }\n", "need extract"),
            ("[[artifact]]\nname=\"x\"\nfile=\"x.tar.gz\"\nurls=[\"http://a/x\"]\nmd5=\"900150983cd24fb0d6963f7d28e17f72\"\nextract=[\"a\"]\nmember_md5={ a = \"12\" }\n", "member \"a\""),
        ];
        for (text, needle) in cases {
            let mut reg = Registry::builtin();
            let before = reg.artifacts().len();
            let err = reg
                .apply_manifest_str(text, "m.toml")
                .unwrap_err()
                .to_string();
            assert!(err.contains(needle), "{needle:?} not in {err:?}");
            assert!(err.contains("m.toml"), "{err}");
            assert_eq!(
                reg.artifacts().len(),
                before,
                "a bad manifest changes nothing"
            );
        }
    }

    #[test]
    fn missing_manifest_file_is_reported() {
        let err = Registry::builtin()
            .load_manifest(Path::new("/nonexistent/m.toml"))
            .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/m.toml"));
    }
}
