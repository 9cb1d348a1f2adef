//! Safe extraction of `.tar.gz` and `.gz` files.
//!
//! Only regular files are ever written, each first to a temporary name beside its target and
//! then renamed, so a crash never leaves a half-written member under its real name. Member
//! paths that are absolute or contain `..` are refused, as are links whose target leaves the
//! destination; links that stay inside are skipped (never created), so no later member can
//! be written through one.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use flate2::read::GzDecoder;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveFormat {
    /// A gzip-compressed tar archive (`.tar.gz`, `.tgz`, and the LRA's `lra_release.gz`).
    TarGz,
    /// One gzip-compressed file.
    Gz,
}

impl ArchiveFormat {
    /// Guess from a file name: `.tar.gz`/`.tgz` is a tar archive, other `.gz` a single file.
    pub fn from_file_name(name: &str) -> Option<Self> {
        if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
            Some(Self::TarGz)
        } else if name.ends_with(".gz") {
            Some(Self::Gz)
        } else {
            None
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("{archive}: {source} (the archive is damaged or not a gzip/tar file; delete it and fetch again)")]
    Read { archive: PathBuf, source: io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("{archive}: refusing member {member:?}: {why}")]
    Unsafe {
        archive: PathBuf,
        member: String,
        why: &'static str,
    },
    #[error("{archive}: requested member {member:?} is {kind}, not a regular file")]
    NotAFile {
        archive: PathBuf,
        member: String,
        kind: &'static str,
    },
    #[error("{archive}: requested members not found: {missing:?}")]
    Missing {
        archive: PathBuf,
        missing: Vec<String>,
    },
}

/// A member path made safe: relative, no `..`, no root; components joined with '/'.
fn safe_relative(path: &Path) -> Result<String, &'static str> {
    let mut parts = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => parts.push(part.to_str().ok_or("path is not UTF-8")?),
            Component::CurDir => {}
            Component::ParentDir => return Err("path contains '..'"),
            Component::RootDir | Component::Prefix(_) => return Err("path is absolute"),
        }
    }
    if parts.is_empty() {
        return Err("path is empty");
    }
    Ok(parts.join("/"))
}

/// Whether a link at `member` pointing to `target` stays inside the extraction directory.
fn link_stays_inside(member: &str, target: &Path) -> bool {
    let mut depth: usize = member.matches('/').count();
    for component in target.components() {
        match component {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return false,
            },
            Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    true
}

/// Copy `reader` to `target` through a temporary file and a rename.
fn write_atomically(target: &Path, reader: &mut impl Read) -> Result<(), ArchiveError> {
    let write_err = |source| ArchiveError::Write {
        path: target.to_path_buf(),
        source,
    };
    if let Some(parent) = target.parent() {
        fs::create_dir_all(parent).map_err(write_err)?;
    }
    let mut tmp_name = target.as_os_str().to_owned();
    tmp_name.push(".extracting");
    let tmp = PathBuf::from(tmp_name);
    let result = File::create(&tmp)
        .and_then(|mut out| io::copy(reader, &mut out).and_then(|_| out.sync_all()))
        .and_then(|_| fs::rename(&tmp, target));
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(write_err(e));
    }
    Ok(())
}

/// Extract `members` (exact archive paths; all regular files when empty) from a `.tar.gz`
/// into `dest`, returning the written paths in archive order.
pub fn extract_tar_gz(
    archive: &Path,
    dest: &Path,
    members: &[String],
) -> Result<Vec<PathBuf>, ArchiveError> {
    for requested in members {
        safe_relative(Path::new(requested)).map_err(unsafe_member(archive, requested))?;
    }
    let file = File::open(archive).map_err(read_error(archive))?;
    let mut tar = tar::Archive::new(GzDecoder::new(io::BufReader::new(file)));
    let mut written = Vec::new();
    let mut found = vec![false; members.len()];
    for entry in tar.entries().map_err(read_error(archive))? {
        let mut entry = entry.map_err(read_error(archive))?;
        if let Some((target, wanted)) = extract_entry(archive, dest, members, &mut entry)? {
            written.push(target);
            if let Some(i) = wanted {
                found[i] = true;
            }
        }
    }
    let missing: Vec<String> = members
        .iter()
        .zip(&found)
        .filter(|(_, f)| !**f)
        .map(|(m, _)| m.clone())
        .collect();
    if !missing.is_empty() {
        return Err(ArchiveError::Missing {
            archive: archive.to_path_buf(),
            missing,
        });
    }
    Ok(written)
}

fn read_error(archive: &Path) -> impl FnOnce(io::Error) -> ArchiveError + '_ {
    move |source| ArchiveError::Read {
        archive: archive.to_path_buf(),
        source,
    }
}

fn unsafe_member<'a>(
    archive: &'a Path,
    member: &'a str,
) -> impl FnOnce(&'static str) -> ArchiveError + 'a {
    move |why| ArchiveError::Unsafe {
        archive: archive.to_path_buf(),
        member: member.to_string(),
        why,
    }
}

/// Writes `entry` under `dest` when it is wanted and a regular file, returning where, and
/// which requested member it is (see [`wanted`]); passes over the other kinds of entry
/// (links, directories) when they were not asked for by name.
fn extract_entry<R: Read>(
    archive: &Path,
    dest: &Path,
    members: &[String],
    entry: &mut tar::Entry<'_, R>,
) -> Result<Option<(PathBuf, Option<usize>)>, ArchiveError> {
    let raw = entry.path().map_err(read_error(archive))?.into_owned();
    let shown = raw.to_string_lossy().into_owned();
    let Some(wanted) = wanted(members, &raw) else {
        return Ok(None);
    };
    let name = safe_relative(&raw).map_err(unsafe_member(archive, &shown))?;
    let other = not_a_file(entry, &name)
        .map_err(read_error(archive))?
        .map_err(unsafe_member(archive, &shown))?;
    if let Some(kind) = other {
        if wanted.is_some() {
            return Err(ArchiveError::NotAFile {
                archive: archive.to_path_buf(),
                member: shown,
                kind,
            });
        }
        if kind == LINK {
            tracing::warn!(member = %shown, "skipping link inside archive (links are never created)");
        }
        return Ok(None);
    }
    let target = dest.join(&name);
    write_atomically(&target, entry)?;
    Ok(Some((target, wanted)))
}

/// Whether the archive entry at `raw` is extracted: `None` to pass it over, `Some(None)`
/// when every member is (no list), `Some(Some(i))` for the `i`-th requested member.
fn wanted(members: &[String], raw: &Path) -> Option<Option<usize>> {
    if members.is_empty() {
        return Some(None);
    }
    // An unsafe name was never requested (requests are validated first), so never written.
    let name = safe_relative(raw).ok()?;
    members
        .iter()
        .position(|m| safe_relative(Path::new(m)).as_deref() == Ok(&name))
        .map(Some)
}

const LINK: &str = "a link";

/// What an entry is when not a regular file (`a link`, `a directory`, `a special file`);
/// the inner error says why a link is unsafe: its target leaves the destination.
fn not_a_file<R: Read>(
    entry: &tar::Entry<'_, R>,
    name: &str,
) -> io::Result<Result<Option<&'static str>, &'static str>> {
    let kind = entry.header().entry_type();
    if kind.is_symlink() || kind.is_hard_link() {
        let target = entry.link_name()?.unwrap_or_default();
        let escapes = if kind.is_hard_link() {
            safe_relative(&target).is_err()
        } else {
            !link_stays_inside(name, &target)
        };
        return Ok(match escapes {
            true => Err("link target leaves the destination"),
            false => Ok(Some(LINK)),
        });
    }
    Ok(Ok(if kind.is_dir() {
        Some("a directory")
    } else if kind.is_file() {
        None
    } else {
        Some("a special file")
    }))
}

/// Decompress a single-file `.gz` archive to `target`.
pub fn gunzip(archive: &Path, target: &Path) -> Result<(), ArchiveError> {
    let file = File::open(archive).map_err(read_error(archive))?;
    let mut decoder = GzDecoder::new(io::BufReader::new(file));
    write_atomically(target, &mut decoder).map_err(|e| match e {
        // A decode failure surfaces as a write error from io::copy: report it as a bad archive.
        ArchiveError::Write { source, .. }
            if source.kind() == io::ErrorKind::InvalidInput
                || source.kind() == io::ErrorKind::InvalidData
                || source.kind() == io::ErrorKind::UnexpectedEof =>
        {
            ArchiveError::Read {
                archive: archive.to_path_buf(),
                source,
            }
        }
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{write::GzEncoder, Compression};
    use std::io::Write;

    enum Member<'a> {
        File(&'a str, &'a [u8]),
        Symlink(&'a str, &'a str),
        HardLink(&'a str, &'a str),
    }

    /// Builds tar headers by hand so that hostile names ('..', absolute) get through: the tar
    /// crate's own builder refuses them.
    fn tar_gz(path: &Path, members: &[Member]) {
        let mut builder = tar::Builder::new(GzEncoder::new(
            File::create(path).unwrap(),
            Compression::fast(),
        ));
        for m in members {
            let mut header = tar::Header::new_gnu();
            let (name, data, kind, link): (&str, &[u8], _, Option<&str>) = match m {
                Member::File(n, d) => (n, d, tar::EntryType::Regular, None),
                Member::Symlink(n, t) => (n, &[], tar::EntryType::Symlink, Some(t)),
                Member::HardLink(n, t) => (n, &[], tar::EntryType::Link, Some(t)),
            };
            let raw = &mut header.as_old_mut().name;
            raw[..name.len()].copy_from_slice(name.as_bytes());
            if let Some(t) = link {
                header.as_old_mut().linkname[..t.len()].copy_from_slice(t.as_bytes());
            }
            header.set_entry_type(kind);
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append(&header, data).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap();
    }

    fn files_under(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    out.push(p.strip_prefix(dir).unwrap().to_string_lossy().into_owned());
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn extracts_only_requested_members() {
        let tmp = tempfile::tempdir().unwrap();
        let archive = tmp.path().join("a.tar.gz");
        tar_gz(
            &archive,
            &[
                Member::File("top/a.txt", b"A"),
                Member::File("top/b.txt", b"B"),
                Member::File("../evil.txt", b"never requested, never written"),
            ],
        );
        let dest = tmp.path().join("out");
        let written = extract_tar_gz(&archive, &dest, &["top/b.txt".into()]).unwrap();
        assert_eq!(written, [dest.join("top/b.txt")]);
        assert_eq!(fs::read(dest.join("top/b.txt")).unwrap(), b"B");
        assert_eq!(files_under(&dest), ["top/b.txt"]);
        assert!(!tmp.path().join("evil.txt").exists());
    }

    #[test]
    fn refuses_parent_and_absolute_members() {
        for name in ["../evil.txt", "ok/../../evil.txt", "/tmp/evil-fpt.txt"] {
            let tmp = tempfile::tempdir().unwrap();
            let archive = tmp.path().join("a.tar.gz");
            tar_gz(&archive, &[Member::File(name, b"x")]);
            let dest = tmp.path().join("out");
            let err = extract_tar_gz(&archive, &dest, &[]).unwrap_err();
            assert!(matches!(err, ArchiveError::Unsafe { .. }), "{name}: {err}");
            let err = extract_tar_gz(&archive, &dest, &[name.into()]).unwrap_err();
            assert!(matches!(err, ArchiveError::Unsafe { .. }), "{name}: {err}");
            assert!(!tmp.path().join("evil.txt").exists());
        }
    }

    #[test]
    fn refuses_escaping_links_and_never_creates_links() {
        let tmp = tempfile::tempdir().unwrap();
        for (link, target) in [
            (Member::Symlink("d/link", "../../outside"), "symlink up"),
            (Member::Symlink("link", "/etc/passwd"), "absolute symlink"),
            (Member::HardLink("hl", "../outside"), "hard link up"),
        ] {
            let archive = tmp.path().join("a.tar.gz");
            tar_gz(&archive, &[link, Member::File("d/ok.txt", b"ok")]);
            let dest = tmp.path().join("out");
            let err = extract_tar_gz(&archive, &dest, &[]).unwrap_err();
            assert!(
                err.to_string().contains("link target leaves"),
                "{target}: {err}"
            );
        }
        let archive = tmp.path().join("inside.tar.gz");
        tar_gz(
            &archive,
            &[
                Member::Symlink("d/link", "ok.txt"),
                Member::File("d/ok.txt", b"ok"),
            ],
        );
        let dest = tmp.path().join("inside");
        extract_tar_gz(&archive, &dest, &[]).unwrap();
        assert_eq!(files_under(&dest), ["d/ok.txt"]);
        let err = extract_tar_gz(&archive, &dest, &["d/link".into()]).unwrap_err();
        assert!(
            matches!(err, ArchiveError::NotAFile { kind: "a link", .. }),
            "{err}"
        );
    }

    #[test]
    fn missing_members_and_garbage_archives_are_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let archive = tmp.path().join("a.tar.gz");
        tar_gz(&archive, &[Member::File("a", b"A")]);
        let err = extract_tar_gz(&archive, tmp.path(), &["b".into()]).unwrap_err();
        assert!(matches!(err, ArchiveError::Missing { ref missing, .. } if missing == &["b"]));
        let garbage = tmp.path().join("g.tar.gz");
        fs::write(&garbage, b"not gzip at all").unwrap();
        assert!(matches!(
            extract_tar_gz(&garbage, tmp.path(), &[]),
            Err(ArchiveError::Read { .. })
        ));
        assert!(matches!(
            gunzip(&garbage, &tmp.path().join("g")),
            Err(ArchiveError::Read { .. })
        ));
        assert!(!tmp.path().join("g").exists() && !tmp.path().join("g.extracting").exists());
    }

    #[test]
    fn gunzip_round_trip() {
        let tmp = tempfile::tempdir().unwrap();
        let gz = tmp.path().join("x.gz");
        let mut enc = GzEncoder::new(File::create(&gz).unwrap(), Compression::fast());
        enc.write_all(b"hello").unwrap();
        enc.finish().unwrap();
        gunzip(&gz, &tmp.path().join("x")).unwrap();
        assert_eq!(fs::read(tmp.path().join("x")).unwrap(), b"hello");
        assert_eq!(
            ArchiveFormat::from_file_name("a.tgz"),
            Some(ArchiveFormat::TarGz)
        );
        assert_eq!(
            ArchiveFormat::from_file_name("a.gz"),
            Some(ArchiveFormat::Gz)
        );
        assert_eq!(ArchiveFormat::from_file_name("a.bin"), None);
    }
}
