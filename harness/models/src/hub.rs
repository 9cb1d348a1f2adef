//! The Hugging Face hub cache, as `huggingface_hub` lays it out, so checkpoints a researcher
//! already has are used in place and ours are where transformers looks:
//!
//! ```text
//! $HF_HUB_CACHE (else $HF_HOME/hub, else ~/.cache/huggingface/hub)
//! └── models--openai-community--gpt2/
//!     ├── blobs/<sha256>                      the bytes of a large (LFS) file, named by its sha256
//!     ├── refs/main                           a branch's commit
//!     └── snapshots/<commit>/model.safetensors -> ../../blobs/<sha256>
//! ```
//!
//! A file whose sha256 we pin is found as `blobs/<sha256>` whatever revision put it there;
//! one without a published checksum is looked up at the pinned revision's snapshot. Either
//! is verified before use (a stamp under `$FPT_HOME` spares re-hashing it), and nothing in
//! the hub cache is ever deleted or rewritten by a failed check.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use datasets::checksum::Sha256;

/// Where a built-in checkpoint lives on the hub: repository, pinned commit and file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubFile {
    pub repo: &'static str,
    /// Older names of the repository (e.g. `gpt2` before `openai-community/gpt2`): caches
    /// made with them are searched too.
    pub aliases: &'static [&'static str],
    /// A commit, never a branch: the bytes behind a branch can change.
    pub revision: &'static str,
    pub file: &'static str,
}

impl HubFile {
    /// The download URL at the pinned revision, on `HF_ENDPOINT` when set (a mirror).
    pub fn url(&self) -> String {
        format!(
            "{}/{}/resolve/{}/{}",
            endpoint(),
            self.repo,
            self.revision,
            self.file
        )
    }
}

/// `HF_ENDPOINT` (a Hugging Face mirror) without its trailing slash, else the hub itself.
pub fn endpoint() -> String {
    std::env::var("HF_ENDPOINT")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .map_or_else(
            || "https://huggingface.co".to_string(),
            |v| v.trim().trim_end_matches('/').to_string(),
        )
}

/// One hub cache folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubCache {
    pub root: PathBuf,
}

impl HubCache {
    /// The folder huggingface_hub uses: `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else
    /// `~/.cache/huggingface/hub`.
    pub fn from_env() -> Self {
        let var = |name| std::env::var_os(name).filter(|v| !v.is_empty());
        let root = match (var("HF_HUB_CACHE"), var("HF_HOME"), var("HOME")) {
            (Some(cache), _, _) => PathBuf::from(cache),
            (None, Some(home), _) => PathBuf::from(home).join("hub"),
            (None, None, Some(home)) => PathBuf::from(home).join(".cache/huggingface/hub"),
            (None, None, None) => PathBuf::from(".cache/huggingface/hub"),
        };
        Self { root }
    }

    /// `models--{org}--{name}`, huggingface_hub's folder for a model repository.
    pub fn repo_dir(&self, repo: &str) -> PathBuf {
        self.root
            .join(format!("models--{}", repo.replace('/', "--")))
    }

    /// Where `file` would be in the cache, by what we know of it: `blobs/<sha256>` under any
    /// of the repository's names when its sha256 is pinned, else the pinned revision's
    /// snapshot. Only files that exist are returned; checking their bytes is the caller's.
    pub fn candidates(&self, file: &HubFile, pinned: Option<&Sha256>) -> Vec<PathBuf> {
        std::iter::once(file.repo)
            .chain(file.aliases.iter().copied())
            .map(|repo| self.repo_dir(repo))
            .map(|dir| match pinned {
                Some(sha) => dir.join("blobs").join(sha.as_hex()),
                None => dir.join("snapshots").join(file.revision).join(file.file),
            })
            .filter(|path| path.is_file())
            .collect()
    }

    /// Moves a verified download into the cache as huggingface_hub would have stored it:
    /// `blobs/<sha256>` and the pinned revision's snapshot linking to it. Returns the
    /// snapshot path. The move is a rename where it can be, else a copy then rename, so a
    /// half-written blob never carries a blob's name.
    pub fn adopt(&self, file: &HubFile, download: &Path, sha256: &Sha256) -> io::Result<PathBuf> {
        let dir = self.repo_dir(file.repo);
        let blob = dir.join("blobs").join(sha256.as_hex());
        fs::create_dir_all(dir.join("blobs"))?;
        if fs::rename(download, &blob).is_err() {
            let part = dir
                .join("blobs")
                .join(format!("{}.incomplete", sha256.as_hex()));
            fs::copy(download, &part)?;
            fs::rename(&part, &blob)?;
            fs::remove_file(download)?;
        }
        let snapshot = dir.join("snapshots").join(file.revision);
        fs::create_dir_all(&snapshot)?;
        let link = snapshot.join(file.file);
        let target = Path::new("../../blobs").join(sha256.as_hex());
        match fs::read_link(&link) {
            Ok(existing) if existing == target => {}
            _ => {
                let _ = fs::remove_file(&link);
                std::os::unix::fs::symlink(&target, &link)?;
            }
        }
        Ok(link)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: HubFile = HubFile {
        repo: "org/model",
        aliases: &["model"],
        revision: "0123456789abcdef0123456789abcdef01234567",
        file: "model.safetensors",
    };

    fn sha(c: char) -> Sha256 {
        c.to_string().repeat(64).parse().unwrap()
    }

    #[test]
    fn an_adopted_download_is_a_blob_with_a_relative_snapshot_link() {
        let dir = tempfile::tempdir().unwrap();
        let hub = HubCache {
            root: dir.path().join("hub"),
        };
        let download = dir.path().join("model.safetensors");
        fs::write(&download, b"weights").unwrap();
        let link = hub.adopt(&FILE, &download, &sha('a')).unwrap();
        assert!(!download.exists(), "the download was moved, not copied");
        let repo = dir.path().join("hub/models--org--model");
        assert_eq!(
            link,
            repo.join("snapshots").join(FILE.revision).join(FILE.file)
        );
        assert_eq!(
            fs::read_link(&link).unwrap(),
            Path::new("../../blobs").join("a".repeat(64))
        );
        assert_eq!(fs::read(&link).unwrap(), b"weights");
        // A pinned file is found by its blob name, under the alias too.
        assert_eq!(
            hub.candidates(&FILE, Some(&sha('a'))),
            vec![repo.join("blobs").join("a".repeat(64))]
        );
        assert!(hub.candidates(&FILE, Some(&sha('b'))).is_empty());
        // Unpinned: the pinned revision's snapshot.
        assert_eq!(hub.candidates(&FILE, None), vec![link]);
    }

    #[test]
    fn the_cache_folder_follows_huggingface_hubs_variables() {
        // One test sets the variables, in order, so parallel tests never see them half-set.
        let saved: Vec<_> = ["HF_HUB_CACHE", "HF_HOME", "HF_ENDPOINT", "HF_HUB_OFFLINE"]
            .iter()
            .map(|k| (k, std::env::var_os(k)))
            .collect();
        std::env::remove_var("HF_HUB_CACHE");
        std::env::set_var("HF_HOME", "/data/hf");
        assert_eq!(HubCache::from_env().root, Path::new("/data/hf/hub"));
        std::env::set_var("HF_HUB_CACHE", "/fast/hub");
        assert_eq!(HubCache::from_env().root, Path::new("/fast/hub"));
        std::env::set_var("HF_ENDPOINT", "http://mirror.example/hf/");
        assert_eq!(
            FILE.url(),
            format!(
                "http://mirror.example/hf/org/model/resolve/{}/model.safetensors",
                FILE.revision
            )
        );
        std::env::set_var("HF_HUB_OFFLINE", "1");
        assert!(datasets::fetch::hf_hub_offline());
        std::env::set_var("HF_HUB_OFFLINE", "0");
        assert!(!datasets::fetch::hf_hub_offline());
        for (k, v) in saved {
            match v {
                Some(v) => std::env::set_var(k, v),
                None => std::env::remove_var(k),
            }
        }
    }
}
