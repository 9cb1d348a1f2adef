//! Loading a checkpoint's tensors (safetensors, or PyTorch's zip format through libtorch)
//! over a backbone's freshly created variables.
//!
//! Unlike `VarStore::load`, this says exactly what did not fit: names the model has but the
//! file lacks, names the file has that nothing uses, and shape mismatches with both shapes.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use tch::Tensor;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {format} file {path}: {source}. Is it a complete {format} file? Re-fetch it if it was truncated")]
    Read {
        path: String,
        format: &'static str,
        source: tch::TchError,
    },
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

/// The named tensors of a checkpoint: a `.safetensors` file, or a PyTorch `.bin` / `.pt`
/// (the zip archive `torch.save` writes, as allenai/longformer-base-4096 publishes it), read
/// by libtorch's own loader, so no Python unpickler runs.
pub fn read_tensors(file: &Path) -> Result<Vec<(String, Tensor)>, LoadError> {
    let pickled = matches!(
        file.extension().and_then(|e| e.to_str()),
        Some("bin" | "pt")
    );
    let (format, read) = if pickled {
        const FORMAT: &str = "PyTorch (torch.save zip)";
        check_whole_archive(file).map_err(|reason| LoadError::Read {
            path: file.display().to_string(),
            format: FORMAT,
            source: tch::TchError::FileFormat(reason),
        })?;
        (FORMAT, Tensor::loadz_multi(file))
    } else {
        ("safetensors", Tensor::read_safetensors(file))
    };
    read.map_err(|source| LoadError::Read {
        path: file.display().to_string(),
        format,
        source,
    })
}

/// Reads every member of a zip archive through, which checks its central directory and
/// every member's CRC-32: libtorch's reader dereferences a cut or corrupted archive
/// unchecked and crashes the process, so it only ever sees whole ones.
fn check_whole_archive(file: &Path) -> Result<(), String> {
    let archive = std::fs::File::open(file).map_err(|e| e.to_string())?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(archive))
        .map_err(|e| format!("not a whole zip archive ({e})"))?;
    for i in 0..zip.len() {
        let mut member = zip.by_index(i).map_err(|e| e.to_string())?;
        let name = member.name().to_string();
        std::io::copy(&mut member, &mut std::io::sink())
            .map_err(|e| format!("member {name} is damaged ({e})"))?;
    }
    Ok(())
}

/// What a successful load found besides the tensors it copied.
#[derive(Debug, Default)]
pub struct LoadReport {
    pub loaded: usize,
    /// Tensors in the file that the model neither uses nor knowingly ignores.
    pub unexpected: Vec<String>,
    /// Tensors in the file the model knowingly does not use (a T5 checkpoint's decoder).
    pub skipped: Vec<String>,
}

impl LoadReport {
    /// The skipped tensors, those that share a first name component counted together:
    /// `decoder.* (62), lm_head.weight, shared.weight`.
    pub fn skipped_summary(&self) -> String {
        let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for name in &self.skipped {
            let head = name.split('.').next().unwrap_or(name);
            groups.entry(head).or_default().push(name);
        }
        groups
            .into_iter()
            .map(|(head, names)| match names.as_slice() {
                [one] => one.to_string(),
                many => format!("{head}.* ({})", many.len()),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
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
    let tensors = read_tensors(file)?;
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
                if ignored(name) {
                    report.skipped.push(name.clone());
                } else {
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
