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
    /// Make checkpoints available: a good copy in the Hugging Face cache ($HF_HUB_CACHE,
    /// else $HF_HOME/hub, else ~/.cache/huggingface/hub) is used in place, else one in
    /// $FPT_HOME/models, else it is downloaded (resumable, verified; from $HF_ENDPOINT when
    /// set) into the Hugging Face cache.
    Fetch {
        #[arg(required = true)]
        names: Vec<String>,
        /// Never touch the network; only check what is cached (also: HF_HUB_OFFLINE=1).
        #[arg(long)]
        offline: bool,
    },
    /// Put a checkpoint obtained elsewhere (a model.safetensors) into $FPT_HOME/models,
    /// after checking it against the registry's checksum.
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
                let state = match zoo::located(&e) {
                    Some(path) => format!("at {}", path.display()),
                    None => "not cached".into(),
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
            let path = zoo::import(&entry(&name)?, &file).map_err(super::data::import_error)?;
            println!("{name}: {}", path.display());
        }
    }
    Ok(())
}
