//! Where a labelled task's data comes from (a `--data-dir` folder in torchvision's layout,
//! else the cache, fetching what is missing), which splits a run needs, and which module
//! loads each task ([`load`]).

use std::fmt::Display;
use std::path::PathBuf;

use datasets::checksum::{Check, CheckedFile};
use datasets::data_dir::{DataDir, DataDirError, Found, DATA_DIR_ENV};
use datasets::data_file::FileError;
use datasets::fetch::{FetchOptions, Fetcher};
use datasets::registry::Registry;
use datasets::vision::patch::PatchLayout;
use spec::task::{EvalSplit, TaskSpec};

use super::labelled::LabelledTask;
use super::{listops, remote_homology, vision, TaskError};

/// Where data is read from and cached, and whether the network may be used.
#[derive(Debug, Clone)]
pub struct DataContext {
    pub registry: Registry,
    pub cache_dir: PathBuf,
    pub offline: bool,
    /// A folder in torchvision's layout read before the cache (`--data-dir`), when given.
    pub data_dir: Option<PathBuf>,
}

/// An artifact in the cache: its file, the folder its archive members are in, and how the
/// file was checked.
pub(super) struct Fetched {
    pub path: PathBuf,
    pub extracted: PathBuf,
    pub checked: CheckedFile,
}

impl DataContext {
    /// The built-in registry, the default cache (`$FPT_HOME`, else `~/.cache/fpt`) and the
    /// data folder `$FPT_DATA_DIR` names, if any (how `fpt reproduce` passes `--data-dir`
    /// to the runs it starts).
    pub fn standard(offline: bool) -> Self {
        Self {
            registry: Registry::builtin(),
            cache_dir: FetchOptions::default_cache_dir(),
            offline,
            data_dir: std::env::var_os(DATA_DIR_ENV)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
        }
    }

    fn fetcher(&self) -> Fetcher {
        let mut options = FetchOptions::new(&self.cache_dir);
        options.offline |= self.offline;
        Fetcher::new(options)
    }

    /// Fetches the named artifact (or uses the cached copy).
    pub(super) fn fetch(&self, task: &'static str, name: &str) -> Result<Fetched, TaskError> {
        let artifact = self.registry.get(name).ok_or_else(|| TaskError::Settings {
            task,
            reason: format!("the registry has no artifact '{name}'"),
        })?;
        let fetcher = self.fetcher();
        let fetched = fetcher
            .fetch(artifact)
            .map_err(|source| TaskError::Fetch { task, source })?;
        Ok(Fetched {
            checked: CheckedFile {
                path: fetched.path.clone(),
                sha256: fetched.sha256,
                check: Check::from(&artifact.integrity),
            },
            path: fetched.path,
            extracted: fetcher.extract_dir(artifact),
        })
    }

    /// The data folder's copy of a data set (`find` looks for it there), when there is a
    /// folder and it holds one; `None` sends the caller to the cache.
    pub(super) fn in_data_dir<T>(
        &self,
        task: &'static str,
        find: impl FnOnce(&DataDir, &Registry) -> Result<Option<Found<T>>, DataDirError>,
    ) -> Result<Option<Found<T>>, TaskError> {
        let Some(root) = &self.data_dir else {
            return Ok(None);
        };
        let in_task = |error| TaskError::DataDir { task, error };
        let dir = DataDir::open(root, &self.cache_dir).map_err(in_task)?;
        let found = find(&dir, &self.registry).map_err(in_task)?;
        if found.is_none() {
            tracing::info!(
                "{task}: the data folder {} holds no copy; using the cache",
                root.display()
            );
        }
        Ok(found)
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
