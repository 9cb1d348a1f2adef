//! Verification stamps: `<file>.verified` records the size, modification time and SHA-256 a
//! file had when it was last hashed and found good, so loading a multi-hundred-megabyte
//! checkpoint does not re-hash it every time. Any change of size or mtime voids the stamp.

use std::fs;
use std::path::Path;
use std::time::UNIX_EPOCH;

use super::sibling;
use crate::checksum::Sha256;

fn identity(path: &Path) -> Option<(u64, u128)> {
    let meta = fs::metadata(path).ok()?;
    let mtime = meta
        .modified()
        .ok()?
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_nanos();
    Some((meta.len(), mtime))
}

/// The SHA-256 recorded for `path`, if its stamp still matches the file.
pub fn fresh(path: &Path) -> Option<Sha256> {
    fresh_at(&sibling::sibling(path, ".verified"), path)
}

/// As [`fresh`], with the stamp kept at `stamp` rather than beside the file (for files in
/// folders that are not ours, such as the Hugging Face hub cache).
pub fn fresh_at(stamp: &Path, path: &Path) -> Option<Sha256> {
    let text = fs::read_to_string(stamp).ok()?;
    let mut parts = text.split_whitespace();
    let size: u64 = parts.next()?.parse().ok()?;
    let mtime: u128 = parts.next()?.parse().ok()?;
    let sha: Sha256 = parts.next()?.parse().ok()?;
    (identity(path)? == (size, mtime)).then_some(sha)
}

/// Records that `path`, as it is now, hashed to `sha256` and was found good. Best effort:
/// without a stamp the next load simply hashes again.
pub fn record(path: &Path, sha256: &Sha256) {
    record_at(&sibling::sibling(path, ".verified"), path, sha256)
}

/// As [`record`], with the stamp kept at `stamp`.
pub fn record_at(stamp: &Path, path: &Path, sha256: &Sha256) {
    if let Some((size, mtime)) = identity(path) {
        let tmp = sibling::sibling(stamp, ".tmp");
        let written = fs::write(&tmp, format!("{size} {mtime} {sha256}\n"))
            .and_then(|()| fs::rename(&tmp, stamp));
        if let Err(e) = written {
            tracing::debug!(stamp = %stamp.display(), %e, "could not write verification stamp");
        }
    }
}

/// Drops `path`'s stamp (the file moved away).
pub fn forget(path: &Path) {
    let _ = fs::remove_file(sibling::sibling(path, ".verified"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_holds_until_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("weights.bin");
        fs::write(&file, b"0123456789").unwrap();
        let sha: Sha256 = "aa".repeat(32).parse().unwrap();
        assert_eq!(fresh(&file), None);
        record(&file, &sha);
        assert_eq!(fresh(&file), Some(sha));
        // Same size, new contents: the modification time voids the stamp.
        std::thread::sleep(std::time::Duration::from_millis(10));
        fs::write(&file, b"9876543210").unwrap();
        assert_eq!(fresh(&file), None);
    }
}
