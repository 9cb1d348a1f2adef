//! `fpt train --data-dir` on folders in torchvision's layout, offline with an empty
//! FPT_HOME: MNIST's unpacked IDX files (no published checksum: trusted on first use, and
//! a later change refused) and CIFAR-10's pickled Python batches (refused against
//! torchvision's md5s, accepted once a manifest pins the fixtures' own, as a user would pin
//! a copy they trust). The run records which files it read and how each was checked.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use datasets::vision::idx::{encode, IdxData};

fn fpt(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fpt"))
        .args(args)
        .env("FPT_HOME", home)
        .env_remove("FPT_DATA_DIR")
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn sha256(path: &Path) -> String {
    datasets::checksum::digest_file(path)
        .unwrap()
        .sha256
        .to_string()
}

fn md5(path: &Path) -> String {
    datasets::checksum::digest_file(path)
        .unwrap()
        .md5
        .to_string()
}

/// A few steps of gpt2-tiny from a random init on `task`, reading `root`, into `out`.
fn train(home: &Path, task: &str, root: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "train",
        "--task",
        task,
        "--model",
        "gpt2-tiny",
        "--init",
        "random",
        "--steps",
        "3",
        "--batch-size",
        "8",
        "--offline",
        "--data-dir",
        root.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    fpt(home, &args)
}

fn result(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("result.json")).unwrap()).unwrap()
}

fn predictions(out: &Path) -> usize {
    std::fs::read_to_string(out.join("predictions.jsonl"))
        .unwrap()
        .lines()
        .count()
}

/// `root/MNIST/raw/` with unpacked IDX files: 60 training and 30 test digits.
fn mnist_root(root: &Path) -> PathBuf {
    let raw = root.join("MNIST/raw");
    std::fs::create_dir_all(&raw).unwrap();
    for (prefix, count) in [("train", 60), ("t10k", 30)] {
        let images = IdxData::Images {
            count,
            rows: 28,
            cols: 28,
            pixels: (0..count * 784).map(|i| (i * 7 % 256) as u8).collect(),
        };
        let labels = IdxData::Labels((0..count).map(|i| (i % 10) as u8).collect());
        std::fs::write(
            raw.join(format!("{prefix}-images-idx3-ubyte")),
            encode(&images),
        )
        .unwrap();
        std::fs::write(
            raw.join(format!("{prefix}-labels-idx1-ubyte")),
            encode(&labels),
        )
        .unwrap();
    }
    raw
}

#[test]
fn mnist_from_unpacked_idx_files_is_trusted_on_first_use() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let raw = mnist_root(&tmp.path().join("torchvision"));
    let root = tmp.path().join("torchvision");
    let out = tmp.path().join("run");
    let trained = train(&home, "mnist", &root, &out, &[]);
    let log = stderr(&trained);
    assert!(trained.status.success(), "{log}");
    assert!(log.contains("UNVERIFIED"), "{log}");
    // It evaluated on the folder's 30 test digits...
    assert_eq!(predictions(&out), 30);
    // ...and records the four files it read, each unverified, with its sha256.
    let files = result(&out)["data_files"].as_array().unwrap().clone();
    let mut recorded: Vec<(String, String)> = files
        .iter()
        .map(|f| {
            assert_eq!(f["check"], "trusted_on_first_use", "{f}");
            (
                f["path"].as_str().unwrap().to_string(),
                f["sha256"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    recorded.sort();
    let mut expected: Vec<(String, String)> = std::fs::read_dir(&raw)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            (path.display().to_string(), sha256(&path))
        })
        .collect();
    expected.sort();
    assert_eq!(recorded, expected);
    // The folder is untouched: the first-use records are in FPT_HOME.
    assert_eq!(std::fs::read_dir(&raw).unwrap().count(), 4);
    assert_eq!(
        std::fs::read_dir(home.join("data-dir-trust"))
            .unwrap()
            .count(),
        4
    );

    // A later change to a trusted file is refused, saying how to re-trust it.
    let labels = raw.join("t10k-labels-idx1-ubyte");
    let mut bytes = std::fs::read(&labels).unwrap();
    bytes[8] = (bytes[8] + 1) % 10;
    std::fs::write(&labels, bytes).unwrap();
    let refused = train(&home, "mnist", &root, &tmp.path().join("again"), &[]);
    let log = stderr(&refused);
    assert_eq!(refused.status.code(), Some(2), "{log}");
    assert!(
        log.contains("t10k-labels-idx1-ubyte changed since its sha256 was recorded on first use")
            && log.contains("delete"),
        "{log}"
    );
}

/// `root/cifar-10-batches-py/`: the py2-style fixture as each training batch, the
/// protocol-4 one as the test batch (10 images each).
fn cifar_root(root: &Path) -> PathBuf {
    let fixtures =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/tests/fixtures/cifar-py");
    let batches = root.join("cifar-10-batches-py");
    std::fs::create_dir_all(&batches).unwrap();
    for i in 1..=5 {
        std::fs::copy(
            fixtures.join("py2-protocol2.pickle"),
            batches.join(format!("data_batch_{i}")),
        )
        .unwrap();
    }
    std::fs::copy(
        fixtures.join("protocol4.pickle"),
        batches.join("test_batch"),
    )
    .unwrap();
    batches
}

/// A manifest pinning the fixture batches' md5s in place of torchvision's.
fn pinning_manifest(batches: &Path, path: &Path) {
    let members: Vec<String> = [
        "data_batch_1",
        "data_batch_2",
        "data_batch_3",
        "data_batch_4",
        "data_batch_5",
        "test_batch",
    ]
    .iter()
    .map(|b| {
        format!(
            "\"cifar-10-batches-py/{b}\" = \"{}\"",
            md5(&batches.join(b))
        )
    })
    .collect();
    std::fs::write(
        path,
        format!(
            "[[artifact]]\nname = \"cifar10-python\"\nfile = \"cifar-10-python.tar.gz\"\n\
             urls = [\"http://127.0.0.1:9/cifar-10-python.tar.gz\"]\n\
             md5 = \"c58f30108f718f92721af3b95e74349a\"\nmember_md5 = {{ {} }}\n",
            members.join(", ")
        ),
    )
    .unwrap();
}

#[test]
fn cifar10_from_pickled_python_batches_is_checked_against_md5s() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let root = tmp.path().join("torchvision");
    let batches = cifar_root(&root);

    // Against torchvision's md5s the fixtures are refused, before any training.
    let out = tmp.path().join("refused");
    let refused = train(&home, "cifar10", &root, &out, &[]);
    let log = stderr(&refused);
    assert_eq!(refused.status.code(), Some(2), "{log}");
    assert!(
        log.contains(
            "data_batch_1 fails its checksum: expected md5 c99cafc152244af753f735de768cd75f"
        ) && log.contains(&format!("found md5 {}", md5(&batches.join("data_batch_1")))),
        "{log}"
    );
    assert!(!out.join("result.json").exists());

    // Pinned to their own md5s, the same check passes and the run trains on them.
    let manifest = tmp.path().join("pinned.toml");
    pinning_manifest(&batches, &manifest);
    let out = tmp.path().join("run");
    let trained = train(
        &home,
        "cifar10",
        &root,
        &out,
        &["--manifest", manifest.to_str().unwrap()],
    );
    assert!(trained.status.success(), "{}", stderr(&trained));
    assert_eq!(predictions(&out), 10);
    let result = result(&out);
    let files = result["data_files"].as_array().unwrap();
    assert_eq!(files.len(), 6);
    for file in files {
        let path = Path::new(file["path"].as_str().unwrap());
        assert_eq!(path.parent().unwrap(), batches);
        assert_eq!(file["check"]["published"], format!("md5 {}", md5(path)));
        assert_eq!(file["sha256"], sha256(path));
    }
    // Nothing was downloaded or unpacked: FPT_HOME holds no CIFAR-10 copy.
    assert!(!home.join("cifar10").exists() && !home.join("cifar-10-binary.tar.gz").exists());
}

#[test]
fn a_data_dir_that_is_no_folder_is_bad_usage() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nowhere");
    let home = tmp.path().join("home");
    let train = train(&home, "mnist", &missing, &tmp.path().join("run"), &[]);
    assert_eq!(train.status.code(), Some(2), "{}", stderr(&train));
    assert!(stderr(&train).contains("is not a directory"));
    let reproduce = fpt(
        &home,
        &[
            "reproduce",
            "--profile",
            "smoke",
            "--dry-run",
            "--data-dir",
            missing.to_str().unwrap(),
        ],
    );
    assert_eq!(reproduce.status.code(), Some(2), "{}", stderr(&reproduce));
    assert!(stderr(&reproduce).contains("nowhere is not a directory"));
}
