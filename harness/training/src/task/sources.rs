//! Where a labelled task's data is cached, which splits a run needs, and which module loads
//! each task ([`load`]).

use std::fmt::Display;
use std::path::PathBuf;

use datasets::data_file::FileError;
use datasets::fetch::{FetchOptions, Fetcher};
use datasets::registry::Registry;
use datasets::vision::patch::PatchLayout;
use spec::task::{EvalSplit, TaskSpec};

use super::labelled::LabelledTask;
use super::{listops, remote_homology, vision, TaskError};

/// Where data is cached and whether the network may be used.
#[derive(Debug, Clone)]
pub struct DataContext {
    pub registry: Registry,
    pub cache_dir: PathBuf,
    pub offline: bool,
}

impl DataContext {
    /// The built-in registry and the default cache (`$FPT_HOME`, else `~/.cache/fpt`).
    pub fn standard(offline: bool) -> Self {
        Self {
            registry: Registry::builtin(),
            cache_dir: FetchOptions::default_cache_dir(),
            offline,
        }
    }

    fn fetcher(&self) -> Fetcher {
        let mut options = FetchOptions::new(&self.cache_dir);
        options.offline |= self.offline;
        Fetcher::new(options)
    }

    /// Fetches the named artifact (or uses the cached copy) and returns its path and the
    /// folder its archive members were extracted to.
    pub(super) fn fetch(
        &self,
        task: &'static str,
        name: &str,
    ) -> Result<(PathBuf, PathBuf), TaskError> {
        let artifact = self.registry.get(name).ok_or_else(|| TaskError::Settings {
            task,
            reason: format!("the registry has no artifact '{name}'"),
        })?;
        let fetcher = self.fetcher();
        let fetched = fetcher
            .fetch(artifact)
            .map_err(|source| TaskError::Fetch { task, source })?;
        Ok((fetched.path, fetcher.extract_dir(artifact)))
    }
}

pub(super) fn bad_file<E: Display>(task: &'static str) -> impl Fn(FileError<E>) -> TaskError {
    move |e| TaskError::Data {
        task,
        path: e.path.clone(),
        reason: e.error.to_string(),
    }
}

/// Which splits a run needs besides training: the one it reports on, and whether it also
/// measures the validation split (to choose a learning rate).
#[derive(Debug, Clone, Copy)]
pub struct Splits {
    pub eval: EvalSplit,
    pub validation: bool,
}

impl Splits {
    pub(super) fn wants_validation(self) -> bool {
        self.validation || self.eval == EvalSplit::Validation
    }
}

/// Loads the data of a labelled task (each kind in its own module).
pub fn load(
    spec: &TaskSpec,
    data: &DataContext,
    splits: Splits,
) -> Result<LabelledTask, TaskError> {
    match *spec {
        TaskSpec::Mnist { source } => vision::load_mnist(source, data, splits),
        TaskSpec::Cifar10 { augment } => {
            vision::load_cifar10("cifar10", PatchLayout::Cifar10, augment, data, splits)
        }
        TaskSpec::Cifar10Lra { augment } => vision::load_cifar10(
            "cifar10-lra",
            PatchLayout::Cifar10Lra,
            augment,
            data,
            splits,
        ),
        TaskSpec::Listops {
            data: source,
            tokens,
            max_tokens,
        } => listops::load(source, (tokens, max_tokens), data, splits),
        TaskSpec::RemoteHomology => remote_homology::load(data, splits),
        TaskSpec::BitMemory { .. } | TaskSpec::BitXor { .. } => Err(TaskError::Settings {
            task: spec.name(),
            reason: "a generated task has no data files".into(),
        }),
    }
}
