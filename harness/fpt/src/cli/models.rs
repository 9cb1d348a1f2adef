//! `fpt models list | fetch | import`.

use std::path::PathBuf;

use ::models::zoo::{self, ModelEntry};
use anyhow::Result;
use clap::Subcommand;

use super::usage;

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// The pretrained checkpoints the harness knows, their sources and checksums, and
    /// whether each is cached.
    List,
    /// Download checkpoints into $FPT_HOME/models (resumable, verified).
    Fetch {
        #[arg(required = true)]
        names: Vec<String>,
        /// Never touch the network; only check what is cached.
        #[arg(long)]
        offline: bool,
    },
    /// Put a checkpoint obtained elsewhere (a model.safetensors) into the cache, after
    /// checking it against the registry's checksum.
    Import { name: String, file: PathBuf },
}

fn entry(name: &str) -> Result<ModelEntry> {
    zoo::find(name).ok_or_else(|| {
        let known: Vec<&str> = zoo::entries().iter().map(|e| e.name).collect();
        usage(format!(
            "unknown pretrained model '{name}'; known: {}",
            known.join(", ")
        ))
    })
}

pub fn run(command: ModelsCommand) -> Result<()> {
    match command {
        ModelsCommand::List => {
            for e in zoo::entries() {
                let a = &e.artifact;
                let cached = zoo::cached_path(&e);
                let state = if cached.is_file() {
                    "cached"
                } else {
                    "not cached"
                };
                println!(
                    "{} ({}; {state})\n  {}",
                    e.name, e.architecture, a.description
                );
                for source in &a.sources {
                    println!("  from {source}");
                }
                match &a.integrity {
                    datasets::registry::Integrity::Pinned(expected) => println!("  {expected}"),
                    datasets::registry::Integrity::TrustOnFirstUse => {
                        println!("  no published checksum: sha256 recorded on first fetch")
                    }
                }
            }
        }
        ModelsCommand::Fetch { names, offline } => {
            let entries = names.iter().map(|n| entry(n)).collect::<Result<Vec<_>>>()?;
            for e in entries {
                let path = zoo::weights(&e, offline)?;
                println!("{}: {}", e.name, path.display());
            }
        }
        ModelsCommand::Import { name, file } => {
            let path = zoo::import(&entry(&name)?, &file).map_err(|e| match e {
                zoo::ImportError::Mismatch { .. } => usage(e.to_string()),
                other => other.into(),
            })?;
            println!("{name}: {}", path.display());
        }
    }
    Ok(())
}
