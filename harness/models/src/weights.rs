//! Loading a checkpoint's tensors over a backbone's freshly created variables.
//!
//! Unlike `VarStore::load`, this says exactly what did not fit: names the model has but the
//! file lacks, names the file has that nothing uses, and shape mismatches with both shapes.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use tch::Tensor;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read safetensors file {path}: {source}. Is it a complete .safetensors file? Re-fetch it if it was truncated")]
    Read { path: String, source: tch::TchError },
    #[error("{path}: tensor '{name}' has shape {file:?} in the file but the model expects {model:?}; the checkpoint is for a different configuration")]
    Shape {
        path: String,
        name: String,
        file: Vec<i64>,
        model: Vec<i64>,
    },
    #[error("{path} lacks {} tensor(s) the model needs: {}", missing.len(), preview(missing))]
    Missing { path: String, missing: Vec<String> },
}

fn preview(names: &[String]) -> String {
    const SHOWN: usize = 8;
    let mut text = names
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        text.push_str(&format!(", ... ({} more)", names.len() - SHOWN));
    }
    text
}

/// What a successful load found besides the tensors it copied.
#[derive(Debug, Default)]
pub struct LoadReport {
    pub loaded: usize,
    /// Tensors in the file that the model neither uses nor knowingly ignores.
    pub unexpected: Vec<String>,
}

/// Copies the tensors of `file` into `vars` (keyed by variable name), after mapping each
/// file name through `rename` (e.g. to drop a `bert.` prefix). Every variable must be
/// filled; file tensors for which `ignored` is true are skipped silently.
pub fn load_into(
    file: &Path,
    vars: &HashMap<String, Tensor>,
    rename: impl Fn(&str) -> String,
    ignored: impl Fn(&str) -> bool,
) -> Result<LoadReport, LoadError> {
    let path = file.display().to_string();
    let tensors = Tensor::read_safetensors(file).map_err(|source| LoadError::Read {
        path: path.clone(),
        source,
    })?;
    let by_name: BTreeMap<String, Tensor> = tensors
        .into_iter()
        .map(|(name, t)| (rename(&name), t))
        .collect();
    let mut missing: Vec<String> = vars
        .keys()
        .filter(|name| !by_name.contains_key(*name))
        .cloned()
        .collect();
    if !missing.is_empty() {
        missing.sort();
        return Err(LoadError::Missing { path, missing });
    }
    let mut report = LoadReport::default();
    tch::no_grad(|| {
        for (name, source) in &by_name {
            let Some(var) = vars.get(name) else {
                if !ignored(name) {
                    report.unexpected.push(name.clone());
                }
                continue;
            };
            if source.size() != var.size() {
                return Err(LoadError::Shape {
                    path: path.clone(),
                    name: name.clone(),
                    file: source.size(),
                    model: var.size(),
                });
            }
            var.shallow_clone()
                .copy_(&source.to_kind(var.kind()).to_device(var.device()));
            report.loaded += 1;
        }
        Ok(())
    })?;
    Ok(report)
}
