//! Finding and running Slurm's client commands (sbatch, squeue, sacct).

use std::ffi::{OsStr, OsString};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::SlurmError;

/// Slurm's client commands and the cluster they talk to.
#[derive(Debug, Clone, Default)]
pub struct Slurm {
    /// Directories to look for the commands in, in PATH syntax (default: PATH).
    search_path: Option<OsString>,
    /// The cluster's slurm.conf, given to the commands as SLURM_CONF (default: theirs).
    conf: Option<PathBuf>,
}

impl Slurm {
    /// The commands on PATH, for the cluster that SLURM_CONF (or Slurm's default) names.
    pub fn from_env() -> Self {
        Self::default()
    }

    /// Looks for the commands in these directories (PATH syntax) instead of PATH.
    pub fn with_search_path(self, path: impl Into<OsString>) -> Self {
        Self {
            search_path: Some(path.into()),
            ..self
        }
    }

    /// Talks to the cluster this slurm.conf describes.
    pub fn with_conf(self, conf: impl Into<PathBuf>) -> Self {
        Self {
            conf: Some(conf.into()),
            ..self
        }
    }

    /// The command `tool`, found on the search path, ready for arguments.
    pub fn command(&self, tool: &str) -> Result<Command, SlurmError> {
        let path = match &self.search_path {
            Some(path) => path.clone(),
            None => std::env::var_os("PATH").unwrap_or_default(),
        };
        let program = std::env::split_paths(&path)
            .map(|dir| dir.join(tool))
            .find(|candidate| is_executable(candidate))
            .ok_or_else(|| SlurmError::NotInstalled { tool: tool.into() })?;
        let mut command = Command::new(program);
        if let Some(conf) = &self.conf {
            command.env("SLURM_CONF", conf);
        }
        Ok(command)
    }

    /// Runs `tool` with `args` to completion; a non-zero exit is [`SlurmError::Rejected`]
    /// with what it printed on stderr.
    pub(crate) fn run<I, S>(&self, tool: &str, args: I) -> Result<Output, SlurmError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = self.command(tool)?;
        command.args(args);
        tracing::debug!("running {command:?}");
        let output = command.output().map_err(|source| SlurmError::Spawn {
            program: PathBuf::from(command.get_program()),
            source,
        })?;
        if !output.status.success() {
            return Err(SlurmError::Rejected {
                tool: tool.into(),
                status: output.status,
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            });
        }
        Ok(output)
    }
}

fn is_executable(path: &Path) -> bool {
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
