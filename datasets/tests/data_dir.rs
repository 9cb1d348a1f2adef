//! A `--data-dir` folder in torchvision's layout: which files are read, how each is checked
//! (the registry's digests, which tests override with a manifest as a user would, or trust
//! on first use), and the errors for damaged, changed or partial folders.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use datasets::checksum::{digest_file, Check, Expected};
use datasets::data_dir::{DataDir, DataDirError};
use datasets::registry::Registry;
use datasets::vision::cifar::{self, BatchFormat, Split};
use datasets::vision::idx::{encode, IdxData};
use flate2::{write::GzEncoder, Compression};

fn cifar_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cifar-py")
        .join(name)
}

fn md5(path: &Path) -> String {
    digest_file(path).unwrap().md5.to_string()
}

fn sha256(path: &Path) -> String {
    digest_file(path).unwrap().sha256.to_string()
}

/// MNIST's files under `root/MNIST/raw/`, unpacked or gzipped.
fn write_mnist(root: &Path, gzipped: bool) -> PathBuf {
    let raw = root.join("MNIST/raw");
    fs::create_dir_all(&raw).unwrap();
    let images = |count| IdxData::Images {
        count,
        rows: 28,
        cols: 28,
        pixels: (0..count * 784).map(|i| (i % 251) as u8).collect(),
    };
    let labels = |count| IdxData::Labels((0..count).map(|i| (i % 10) as u8).collect());
    for (file, data) in [
        ("train-images-idx3-ubyte", images(20)),
        ("train-labels-idx1-ubyte", labels(20)),
        ("t10k-images-idx3-ubyte", images(10)),
        ("t10k-labels-idx1-ubyte", labels(10)),
    ] {
        let bytes = encode(&data);
        if gzipped {
            let mut gz = GzEncoder::new(
                File::create(raw.join(format!("{file}.gz"))).unwrap(),
                Compression::fast(),
            );
            std::io::Write::write_all(&mut gz, &bytes).unwrap();
            gz.finish().unwrap();
        } else {
            fs::write(raw.join(file), bytes).unwrap();
        }
    }
    raw
}

/// `root/cifar-10-batches-py/` holding the protocol-4 fixture as every batch.
fn write_python_batches(root: &Path) -> PathBuf {
    let dir = root.join(BatchFormat::Python.folder());
    fs::create_dir_all(&dir).unwrap();
    for batch in BatchFormat::Python.all_batches() {
        fs::copy(cifar_fixture("protocol4.pickle"), dir.join(batch)).unwrap();
    }
    dir
}

/// A registry whose `cifar10-python` pins the fixture batches' md5 (as torchvision pins the
/// real ones), from a manifest.
fn registry_pinning_batches(dir: &Path, archive_md5: &str) -> Registry {
    let mut members = String::new();
    for batch in BatchFormat::Python.all_batches() {
        members.push_str(&format!(
            "\"cifar-10-batches-py/{batch}\" = \"{}\", ",
            md5(&dir.join(batch))
        ));
    }
    let manifest = format!(
        "[[artifact]]\nname = \"cifar10-python\"\nfile = \"cifar-10-python.tar.gz\"\n\
         urls = [\"http://127.0.0.1:9/cifar-10-python.tar.gz\"]\nmd5 = \"{archive_md5}\"\n\
         member_md5 = {{ {} }}\n",
        members.trim_end_matches(", ")
    );
    let mut registry = Registry::builtin();
    registry
        .apply_manifest_str(&manifest, "test manifest")
        .unwrap();
    registry
}

struct Folders {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    cache: PathBuf,
}

fn folders() -> Folders {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("torchvision");
    let cache = tmp.path().join("fpt-home");
    fs::create_dir_all(&root).unwrap();
    Folders {
        _tmp: tmp,
        root,
        cache,
    }
}

#[test]
fn unpacked_mnist_is_trusted_on_first_use_and_a_change_is_refused() {
    let f = folders();
    let raw = write_mnist(&f.root, false);
    let dir = DataDir::open(&f.root, &f.cache).unwrap();
    let found = dir.mnist(&Registry::builtin()).unwrap().unwrap();
    assert_eq!(found.files[1], raw.join("train-labels-idx1-ubyte"));
    assert!(found
        .used
        .iter()
        .all(|u| u.check == Check::TrustedOnFirstUse));
    assert_eq!(found.used[0].sha256.to_string(), sha256(&found.files[0]));
    let (train, test) = (
        datasets::vision::idx::read_split(&found.files[0], &found.files[1]).unwrap(),
        datasets::vision::idx::read_split(&found.files[2], &found.files[3]).unwrap(),
    );
    assert_eq!((train.count, test.count), (20, 10));
    // The records live in the cache, not in the user's folder.
    assert_eq!(
        fs::read_dir(f.cache.join("data-dir-trust"))
            .unwrap()
            .count(),
        4
    );
    assert_eq!(fs::read_dir(&raw).unwrap().count(), 4);
    // Unchanged: accepted again. Changed: refused, saying how to re-trust.
    assert!(dir.mnist(&Registry::builtin()).unwrap().is_some());
    let mut labels = fs::read(raw.join("t10k-labels-idx1-ubyte")).unwrap();
    labels[8] = (labels[8] + 1) % 10;
    fs::write(raw.join("t10k-labels-idx1-ubyte"), labels).unwrap();
    let err = dir.mnist(&Registry::builtin()).unwrap_err();
    assert!(matches!(err, DataDirError::Changed { .. }), "{err}");
    let message = err.to_string();
    assert!(
        message.contains("t10k-labels-idx1-ubyte changed since")
            && message.contains("delete")
            && message.contains("data-dir-trust"),
        "{message}"
    );
}

#[test]
fn gzipped_mnist_is_checked_against_the_registry() {
    let f = folders();
    let raw = write_mnist(&f.root, true);
    let dir = DataDir::open(&f.root, &f.cache).unwrap();
    // The built-in registry pins torchvision's md5s, which these fixtures are not.
    let err = dir.mnist(&Registry::builtin()).unwrap_err().to_string();
    assert!(
        err.contains("train-images-idx3-ubyte.gz fails its checksum")
            && err.contains("expected md5 f68b3c2dcbeaaa9fbdd348bbdeb94873")
            && err.contains(&format!(
                "found md5 {}",
                md5(&raw.join("train-images-idx3-ubyte.gz"))
            )),
        "{err}"
    );
    // A manifest pinning these files' digests makes the same code path accept them.
    let mut manifest = String::new();
    for (name, file) in [
        ("mnist-train-images", "train-images-idx3-ubyte.gz"),
        ("mnist-train-labels", "train-labels-idx1-ubyte.gz"),
        ("mnist-test-images", "t10k-images-idx3-ubyte.gz"),
        ("mnist-test-labels", "t10k-labels-idx1-ubyte.gz"),
    ] {
        manifest.push_str(&format!(
            "[[artifact]]\nname = \"{name}\"\nfile = \"{file}\"\nurls = [\"http://127.0.0.1:9/{file}\"]\nmd5 = \"{}\"\n",
            md5(&raw.join(file))
        ));
    }
    let mut registry = Registry::builtin();
    registry.apply_manifest_str(&manifest, "test").unwrap();
    let found = dir.mnist(&registry).unwrap().unwrap();
    assert_eq!(found.files[0], raw.join("train-images-idx3-ubyte.gz"));
    assert!(matches!(
        &found.used[3].check,
        Check::Published(Expected::Md5(d)) if d.to_string() == md5(&raw.join("t10k-labels-idx1-ubyte.gz"))
    ));
    assert!(!f.cache.join("data-dir-trust").exists());
}

#[test]
fn partial_and_absent_data_sets() {
    let f = folders();
    let dir = DataDir::open(&f.root, &f.cache).unwrap();
    assert!(dir.mnist(&Registry::builtin()).unwrap().is_none());
    assert!(dir.cifar10(&Registry::builtin()).unwrap().is_none());
    let raw = write_mnist(&f.root, false);
    fs::remove_file(raw.join("t10k-images-idx3-ubyte")).unwrap();
    let err = dir.mnist(&Registry::builtin()).unwrap_err().to_string();
    assert!(
        err.contains("holds part of MNIST")
            && err.contains("t10k-images-idx3-ubyte.gz (or t10k-images-idx3-ubyte)"),
        "{err}"
    );
    let batches = write_python_batches(&f.root);
    fs::remove_file(batches.join("data_batch_3")).unwrap();
    let err = dir.cifar10(&Registry::builtin()).unwrap_err().to_string();
    assert!(err.contains("missing: data_batch_3"), "{err}");
    let not_a_dir = f.root.join("MNIST/raw/train-labels-idx1-ubyte");
    let err = DataDir::open(&not_a_dir, &f.cache)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("is not a directory"), "{err}");
}

#[test]
fn python_batches_are_checked_against_torchvisions_md5s() {
    let f = folders();
    let batches = write_python_batches(&f.root);
    let dir = DataDir::open(&f.root, &f.cache).unwrap();
    let err = dir.cifar10(&Registry::builtin()).unwrap_err().to_string();
    assert!(
        err.contains("data_batch_1 fails its checksum")
            && err.contains("expected md5 c99cafc152244af753f735de768cd75f"),
        "{err}"
    );
    let registry = registry_pinning_batches(&batches, "c58f30108f718f92721af3b95e74349a");
    let found = dir.cifar10(&registry).unwrap().unwrap();
    assert_eq!(found.files.format, BatchFormat::Python);
    assert_eq!(found.files.dir, batches);
    assert_eq!(found.used.len(), 6);
    assert!(found
        .used
        .iter()
        .all(|u| matches!(u.check, Check::Published(_))));
    let expected = cifar::read(&cifar_fixture("expected.bin")).unwrap();
    assert_eq!(found.files.read(Split::Test).unwrap(), expected);
    assert_eq!(found.files.read(Split::Train).unwrap().count, 50);
    // A binary folder beside it is not read: the Python version comes first.
    fs::create_dir_all(f.root.join("cifar-10-batches-bin")).unwrap();
    assert_eq!(
        dir.cifar10(&registry).unwrap().unwrap().files.format,
        BatchFormat::Python
    );
}

/// A tar.gz of `members` (archive path, bytes).
fn tar_gz(path: &Path, members: &[(String, Vec<u8>)]) {
    let mut builder = tar::Builder::new(GzEncoder::new(
        File::create(path).unwrap(),
        Compression::fast(),
    ));
    for (name, data) in members {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append_data(&mut header, name, &data[..]).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap();
}

#[test]
fn the_python_archive_is_verified_and_unpacked_into_the_cache() {
    let f = folders();
    let archive = f.root.join("cifar-10-python.tar.gz");
    let pickle = fs::read(cifar_fixture("protocol3.pickle")).unwrap();
    let mut members: Vec<(String, Vec<u8>)> = BatchFormat::Python
        .all_batches()
        .map(|b| (format!("cifar-10-batches-py/{b}"), pickle.clone()))
        .collect();
    members.push(("cifar-10-batches-py/batches.meta".into(), b"meta".to_vec()));
    tar_gz(&archive, &members);
    let dir = DataDir::open(&f.root, &f.cache).unwrap();
    let err = dir.cifar10(&Registry::builtin()).unwrap_err().to_string();
    assert!(
        err.contains("cifar-10-python.tar.gz fails its checksum")
            && err.contains("c58f30108f718f92721af3b95e74349a"),
        "{err}"
    );
    let mut registry = Registry::builtin();
    registry
        .apply_manifest_str(
            &format!(
                "[[artifact]]\nname = \"cifar10-python\"\nfile = \"cifar-10-python.tar.gz\"\n\
                 urls = [\"http://127.0.0.1:9/x.tar.gz\"]\nmd5 = \"{}\"\n",
                md5(&archive)
            ),
            "test",
        )
        .unwrap();
    let found = dir.cifar10(&registry).unwrap().unwrap();
    assert_eq!(
        found.files.dir,
        f.cache.join("cifar10-python/cifar-10-batches-py")
    );
    assert_eq!(found.used.len(), 1);
    assert_eq!(found.used[0].path, archive);
    let expected = cifar::read(&cifar_fixture("expected.bin")).unwrap();
    assert_eq!(found.files.read(Split::Test).unwrap(), expected);
    // Nothing was written into the user's folder.
    assert_eq!(fs::read_dir(&f.root).unwrap().count(), 1);
}

#[test]
fn the_binary_version_placed_there_is_read_too() {
    let f = folders();
    let dir = DataDir::open(&f.root, &f.cache).unwrap();
    let bin = f.root.join("cifar-10-batches-bin");
    fs::create_dir_all(&bin).unwrap();
    for batch in BatchFormat::Binary.all_batches() {
        fs::copy(cifar_fixture("expected.bin"), bin.join(batch)).unwrap();
    }
    // No checksum is published per binary batch: trusted on first use.
    let found = dir.cifar10(&Registry::builtin()).unwrap().unwrap();
    assert_eq!(found.files.format, BatchFormat::Binary);
    assert!(found
        .used
        .iter()
        .all(|u| u.check == Check::TrustedOnFirstUse));
    assert_eq!(found.files.read(Split::Train).unwrap().count, 50);
    fs::remove_dir_all(&bin).unwrap();

    // The archive is checked against the registry's sha256.
    let archive = f.root.join("cifar-10-binary.tar.gz");
    let record = fs::read(cifar_fixture("expected.bin")).unwrap();
    let mut members: Vec<(String, Vec<u8>)> = BatchFormat::Binary
        .all_batches()
        .map(|b| (format!("cifar-10-batches-bin/{b}"), record.clone()))
        .collect();
    members.push((
        "cifar-10-batches-bin/batches.meta.txt".into(),
        b"airplane\n".to_vec(),
    ));
    tar_gz(&archive, &members);
    let err = dir.cifar10(&Registry::builtin()).unwrap_err().to_string();
    assert!(
        err.contains("cifar-10-binary.tar.gz fails its checksum") && err.contains("sha256"),
        "{err}"
    );
    let mut registry = Registry::builtin();
    registry
        .apply_manifest_str(
            &format!(
                "[[artifact]]\nname = \"cifar10\"\nfile = \"cifar-10-binary.tar.gz\"\n\
                 urls = [\"http://127.0.0.1:9/x.tar.gz\"]\nsha256 = \"{}\"\n",
                sha256(&archive)
            ),
            "test",
        )
        .unwrap();
    let found = dir.cifar10(&registry).unwrap().unwrap();
    assert_eq!(
        found.files.dir,
        f.cache.join("cifar10/cifar-10-batches-bin")
    );
    assert_eq!(found.files.read(Split::Test).unwrap().count, 10);
}
