//! Fetching against a local fault-injecting HTTP server: every test asserts the final cache
//! state (the good file present and verified, nothing partial or bad left behind).

mod support;

use std::fs;
use std::path::Path;
use std::time::Duration;

use datasets::checksum::{digest_reader, Expected};
use datasets::fetch::{FetchError, FetchOptions, Fetcher, Verified};
use datasets::registry::{Artifact, Integrity, Registry};
use datasets::vision::idx::{encode, IdxData};
use support::{Fault, TestServer};

const FILE: &str = "train-images-idx3-ubyte.gz";

/// A real gzipped IDX image file of ~60 KB (noise compresses poorly, so it stays large).
fn fixture() -> Vec<u8> {
    let mut state = 12345u32;
    let pixels = (0..80 * 784)
        .map(|_| {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (state >> 24) as u8
        })
        .collect();
    let idx = encode(&IdxData::Images {
        count: 80,
        rows: 28,
        cols: 28,
        pixels,
    });
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &idx).unwrap();
    gz.finish().unwrap()
}

fn sha256_of(bytes: &[u8]) -> Expected {
    Expected::Sha256(digest_reader(bytes).unwrap().sha256)
}

fn artifact(urls: Vec<String>, integrity: Integrity) -> Artifact {
    Artifact {
        name: "test-images".into(),
        file: FILE.into(),
        sources: datasets::registry::urls(&urls),
        integrity,
        size: None,
        extract: None,
        description: "fixture".into(),
    }
}

fn options(cache: &Path) -> FetchOptions {
    FetchOptions {
        retries: 3,
        backoff_base: Duration::from_millis(10),
        backoff_max: Duration::from_millis(50),
        connect_timeout: Duration::from_secs(2),
        stall_timeout: Duration::from_millis(400),
        progress: false,
        ..FetchOptions::new(cache)
    }
}

/// The cache holds exactly the good file (plus its lock, its verification stamp and, for
/// trust-on-first-use, its recorded digest).
fn assert_clean_cache(cache: &Path, want: &[u8]) {
    assert_eq!(fs::read(cache.join(FILE)).unwrap(), want, "cached bytes");
    let mut names: Vec<String> = fs::read_dir(cache)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in &names {
        assert!(
            [
                FILE.to_string(),
                format!("{FILE}.lock"),
                format!("{FILE}.verified"),
                format!("{FILE}.sha256")
            ]
            .contains(name),
            "unexpected file left in cache: {name} (all: {names:?})"
        );
    }
}

/// Serves the fixture at /f with `faults` (and `etag`), fetches it pinned to its digest
/// into a fresh cache, checks the cache then holds exactly the good file, and returns the
/// server for its request log.
fn fetch_through(faults: Vec<Fault>, etag: Option<&str>) -> TestServer {
    let body = fixture();
    let server = TestServer::start();
    server.route("/f", body.clone(), etag, faults);
    let cache = tempfile::tempdir().unwrap();
    let got = Fetcher::new(options(cache.path()))
        .fetch(&artifact(
            vec![server.url("/f")],
            Integrity::Pinned(sha256_of(&body)),
        ))
        .unwrap();
    assert!(got.downloaded);
    assert_clean_cache(cache.path(), &body);
    server
}

#[test]
fn server_error_then_success() {
    let server = fetch_through(vec![Fault::Status(500), Fault::Status(503)], None);
    assert_eq!(server.requests_to("/f").len(), 3);
}

#[test]
fn dropped_connection_resumes_with_range() {
    let server = fetch_through(vec![Fault::DropAfter(10_000)], Some("\"v1\""));
    let reqs = server.requests_to("/f");
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    assert_eq!(reqs[0].range, None);
    assert_eq!(reqs[1].range.as_deref(), Some("bytes=10000-"));
    assert_eq!(reqs[1].if_range.as_deref(), Some("\"v1\""));
}

#[test]
fn ignored_range_restarts_from_zero() {
    let server = fetch_through(vec![Fault::DropAfter(5_000), Fault::IgnoreRange], None);
    let reqs = server.requests_to("/f");
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[1].range.as_deref(), Some("bytes=5000-"));
}

#[test]
fn changed_file_upstream_restarts_via_if_range() {
    let old = fixture();
    let mut new = old.clone();
    new.extend_from_slice(b"appended in a new release");
    let server = TestServer::start();
    server.route("/f", old, Some("\"v1\""), vec![Fault::DropAfter(5_000)]);
    let cache = tempfile::tempdir().unwrap();
    let fetcher = Fetcher::new(options(cache.path()));
    // First run: interrupted, and the server keeps failing so the partial file stays.
    let mut a = artifact(vec![server.url("/f")], Integrity::Pinned(sha256_of(&new)));
    let opts = FetchOptions {
        retries: 0,
        ..options(cache.path())
    };
    assert!(Fetcher::new(opts).fetch(&a).is_err());
    assert!(cache.path().join(format!("{FILE}.part")).exists());
    // The file changes upstream; the resume's If-Range no longer matches, so 200 + whole file.
    server.route("/f", new.clone(), Some("\"v2\""), vec![]);
    a.size = Some(new.len() as u64);
    fetcher.fetch(&a).unwrap();
    let last = server.requests_to("/f").pop().unwrap();
    assert_eq!(last.if_range.as_deref(), Some("\"v1\""));
    assert_clean_cache(cache.path(), &new);
}

#[test]
fn bad_mirror_is_deleted_and_next_mirror_used() {
    let body = fixture();
    let mut wrong = body.clone();
    wrong[100] ^= 0xff;
    let server = TestServer::start();
    server.route("/m1/f", wrong, None, vec![]);
    server.route("/m2/f", body.clone(), None, vec![]);
    let cache = tempfile::tempdir().unwrap();
    let a = artifact(
        vec![server.url("/m1/f"), server.url("/m2/f")],
        Integrity::Pinned(sha256_of(&body)),
    );
    Fetcher::new(options(cache.path())).fetch(&a).unwrap();
    assert_eq!(server.requests_to("/m1/f").len(), 1);
    assert_eq!(server.requests_to("/m2/f").len(), 1);
    assert_clean_cache(cache.path(), &body);
}

#[test]
fn all_mirrors_bad_reports_expected_actual_and_urls() {
    let body = fixture();
    let server = TestServer::start();
    server.route("/m1/f", b"wrong one".to_vec(), None, vec![]);
    let cache = tempfile::tempdir().unwrap();
    let a = artifact(
        vec![server.url("/m1/f"), server.url("/missing/f")],
        Integrity::Pinned(sha256_of(&body)),
    );
    let err = Fetcher::new(options(cache.path())).fetch(&a).unwrap_err();
    let msg = err.to_string();
    let actual = digest_reader(&b"wrong one"[..]).unwrap().sha256;
    assert!(msg.contains(&sha256_of(&body).to_string()), "{msg}");
    assert!(msg.contains(actual.as_hex()), "{msg}");
    assert!(
        msg.contains("/m1/f") && msg.contains("/missing/f: HTTP 404"),
        "{msg}"
    );
    assert_eq!(
        server.requests_to("/missing/f").len(),
        1,
        "404 is not retried"
    );
    assert!(!cache.path().join(FILE).exists());
    assert!(!cache.path().join(format!("{FILE}.part")).exists());
}

#[test]
fn stall_times_out_and_resumes() {
    // The server stalls for 3 s after 7,000 bytes; the 400 ms stall timeout gives up on that
    // attempt and resumes, so a second, ranged request appears (without the timeout the
    // first one would simply have finished).
    let server = fetch_through(vec![Fault::StallAfter(7_000, Duration::from_secs(3))], None);
    let reqs = server.requests_to("/f");
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[1].range.as_deref(), Some("bytes=7000-"));
}

#[test]
fn retries_are_bounded() {
    let server = TestServer::start();
    server.route("/f", fixture(), None, vec![Fault::Status(500); 10]);
    let cache = tempfile::tempdir().unwrap();
    let err = Fetcher::new(options(cache.path()))
        .fetch(&artifact(
            vec![server.url("/f")],
            Integrity::Pinned(sha256_of(b"x")),
        ))
        .unwrap_err();
    assert!(err.to_string().contains("gave up after 3 retries"), "{err}");
    assert_eq!(server.requests_to("/f").len(), 4);
}

#[test]
fn two_fetchers_download_once() {
    let body = fixture();
    let server = TestServer::start();
    server.route(
        "/f",
        body.clone(),
        None,
        vec![Fault::Delay(Duration::from_millis(300))],
    );
    let cache = tempfile::tempdir().unwrap();
    let a = artifact(vec![server.url("/f")], Integrity::Pinned(sha256_of(&body)));
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|_| s.spawn(|| Fetcher::new(options(cache.path())).fetch(&a).unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(server.requests_to("/f").len(), 1);
    assert_eq!(results.iter().filter(|r| r.downloaded).count(), 1);
    assert_clean_cache(cache.path(), &body);
}

#[test]
fn offline_never_touches_the_network() {
    let server = TestServer::start();
    server.route("/f", fixture(), None, vec![]);
    let cache = tempfile::tempdir().unwrap();
    let opts = FetchOptions {
        offline: true,
        ..options(cache.path())
    };
    let err = Fetcher::new(opts)
        .fetch(&artifact(
            vec![server.url("/f")],
            Integrity::Pinned(sha256_of(b"x")),
        ))
        .unwrap_err();
    assert!(matches!(err, FetchError::Offline { .. }));
    let dir = cache.path().display();
    assert_eq!(
        err.to_string(),
        format!(
            "test-images: {dir}/{FILE} is not in the cache and offline mode (--offline, or HF_HUB_OFFLINE=1) forbids downloading it
ways on:
  - run `fpt data fetch test-images` where the network is reachable (without --offline or HF_HUB_OFFLINE)
  - download {FILE} elsewhere and put it in {dir}/ (it is verified like any download)
  - or run `fpt data import test-images FILE` on a copy you have
  - or run `fpt data fetch test-images --mirror URL` with a mirror that serves {FILE}"
        )
    );
    assert!(server.requests().is_empty());
}

#[test]
fn a_failed_download_names_each_cause_once_then_the_ways_on() {
    let server = TestServer::start();
    let cache = tempfile::tempdir().unwrap();
    let missing = server.url("/missing");
    let err = Fetcher::new(options(cache.path()))
        .fetch(&artifact(vec![missing.clone()], Integrity::TrustOnFirstUse))
        .unwrap_err();
    let dir = cache.path().display();
    assert_eq!(
        err.to_string(),
        format!(
            "test-images: cannot download {FILE}:
  - {missing}: HTTP 404 Not Found
ways on:
  - download {FILE} elsewhere and put it in {dir}/ (it is verified like any download)
  - or run `fpt data import test-images FILE` on a copy you have
  - or run `fpt data fetch test-images --mirror URL` with a mirror that serves {FILE}"
        )
    );
    assert_eq!(
        fs::read_dir(cache.path()).unwrap().count(),
        1,
        "only the lock file is left"
    );
}

#[test]
fn corrupt_cache_is_detected_by_verify_and_refetched() {
    let body = fixture();
    let server = TestServer::start();
    server.route("/f", body.clone(), None, vec![]);
    let cache = tempfile::tempdir().unwrap();
    let fetcher = Fetcher::new(options(cache.path()));
    let a = artifact(vec![server.url("/f")], Integrity::Pinned(sha256_of(&body)));
    assert!(matches!(
        fetcher.verify(&a),
        Err(FetchError::NotCached { .. })
    ));
    fetcher.fetch(&a).unwrap();
    assert!(matches!(fetcher.verify(&a), Ok(Verified::Pinned(_))));
    assert!(
        !fetcher.fetch(&a).unwrap().downloaded,
        "a good cached file is not fetched again"
    );
    fs::write(cache.path().join(FILE), b"bit rot").unwrap();
    let err = fetcher.verify(&a).unwrap_err().to_string();
    assert!(
        err.contains("corrupt") && err.contains("fpt data fetch test-images"),
        "{err}"
    );
    assert!(fetcher.fetch(&a).unwrap().downloaded);
    assert_eq!(server.requests_to("/f").len(), 2);
    assert_clean_cache(cache.path(), &body);
}

#[test]
fn trust_on_first_use_records_and_checks_the_digest() {
    let body = fixture();
    let server = TestServer::start();
    server.route("/f", body.clone(), None, vec![]);
    let cache = tempfile::tempdir().unwrap();
    let fetcher = Fetcher::new(options(cache.path()));
    let a = artifact(vec![server.url("/f")], Integrity::TrustOnFirstUse);
    let got = fetcher.fetch(&a).unwrap();
    let stamp = fs::read_to_string(cache.path().join(format!("{FILE}.sha256"))).unwrap();
    assert_eq!(stamp.trim(), got.sha256.as_hex());
    assert_eq!(fetcher.verify(&a).unwrap(), Verified::Recorded(got.sha256));
    fs::write(cache.path().join(FILE), b"tampered").unwrap();
    assert!(fetcher
        .verify(&a)
        .unwrap_err()
        .to_string()
        .contains("recorded on first fetch"));
}

#[test]
fn manifest_and_mirror_drive_a_fetch_with_extraction() {
    // A CIFAR-like tar.gz with one batch, fetched through the registry as the CLI would.
    let mut record = vec![3u8];
    record.extend(vec![7u8; 3072]);
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    let mut header = tar::Header::new_gnu();
    header.set_size(record.len() as u64);
    header.set_mode(0o644);
    builder
        .append_data(
            &mut header,
            "cifar-10-batches-bin/test_batch.bin",
            &record[..],
        )
        .unwrap();
    let tgz = builder.into_inner().unwrap().finish().unwrap();
    let server = TestServer::start();
    server.route(
        "/mirror/cifar-10-binary.tar.gz",
        tgz.clone(),
        None,
        vec![Fault::DropAfter(100)],
    );
    let manifest = format!(
        "[[artifact]]\nname = \"cifar10\"\nfile = \"cifar-10-binary.tar.gz\"\nurls = [\"https://upstream.invalid/x/cifar-10-binary.tar.gz\"]\nsha256 = \"{}\"\nsize = {}\nextract = [\"cifar-10-batches-bin/test_batch.bin\"]\n",
        digest_reader(&tgz[..]).unwrap().sha256,
        tgz.len()
    );
    let mut registry = Registry::builtin();
    registry.apply_manifest_str(&manifest, "test.toml").unwrap();
    registry
        .use_mirror(&format!("{}/mirror/", server.base()))
        .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let fetcher = Fetcher::new(options(cache.path()));
    let a = registry.resolve(&["cifar10"]).unwrap()[0].clone();
    let got = fetcher.fetch(&a).unwrap();
    assert_eq!(
        got.extracted,
        [cache
            .path()
            .join("cifar10/cifar-10-batches-bin/test_batch.bin")]
    );
    let set = datasets::vision::cifar::read(&got.extracted[0]).unwrap();
    assert_eq!((set.count, set.labels[0]), (1, 3));
    assert_eq!(server.requests().len(), 2, "one drop, one resume");
}
