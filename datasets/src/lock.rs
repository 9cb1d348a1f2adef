//! Exclusive locks on files: one helper for the artifact fetches (`<file>.lock`, where a
//! second fetch waits) and the run folders (`run.lock`, where a second writer is refused).
//!
//! The lock is an OS advisory lock (`flock` on Linux) held on an open handle, so the OS
//! releases it when the holder exits, a `kill -9` or a crash included: a dead process never
//! blocks anyone. The file also holds a [`Holder`] record (process, host, since when), so a
//! refusal can name who holds it. Lock files are left in place: removing them would race
//! with a process that has just opened one.
//!
//! Some filesystems (some NFS set-ups) refuse OS locks. There the record alone is the lock:
//! a record naming a process of this host that no longer runs (its pid gone, or reused by a
//! process that started later) is stale and replaced; one naming another host cannot be
//! checked from here, and the error says so and what to do.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

/// How long [`FileLock::try_claim`] keeps trying before it reports the lock held: long
/// enough to ride out a moment's probe by [`FileLock::holder_of`], short enough to count as
/// "at once".
const CLAIM_GRACE: Duration = Duration::from_millis(500);

/// Who holds a lock: written into the lock file by the holder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub pid: u32,
    pub host: String,
    /// When the lock was taken (RFC 3339, UTC).
    pub since: String,
    /// The process's start time in clock ticks since boot (Linux `/proc/PID/stat`), which
    /// tells a live holder from a later process that reuses its pid.
    #[serde(default)]
    pub process_start: Option<u64>,
}

impl Holder {
    /// This process, now.
    pub fn current() -> Self {
        let pid = std::process::id();
        Self {
            pid,
            host: host_name(),
            since: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            process_start: process_start(pid),
        }
    }

    /// Whether the holder still runs: `None` when it ran on another host (not checkable
    /// from here).
    pub fn is_alive(&self) -> Option<bool> {
        if self.host != host_name() {
            return None;
        }
        Some(match process_start(self.pid) {
            None => false,
            Some(start) => self.process_start.is_none_or(|recorded| recorded == start),
        })
    }

    fn is_current_process(&self) -> bool {
        self.pid == std::process::id() && self.host == host_name()
    }
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "process {} on host {} since {}",
            self.pid, self.host, self.since
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    /// Another live process holds it (`holder` is `None` when its record could not be read).
    #[error("{} is held by {}", path.display(), holder.as_ref().map_or("another process".into(), Holder::to_string))]
    Held {
        path: PathBuf,
        holder: Option<Holder>,
    },
    /// No OS locks here, and the record names a process on another host.
    #[error(
        "{} names {holder} as its holder, but this filesystem refuses locks, so whether that process still runs cannot be checked from host {here}; if it has stopped, delete {}",
        path.display(),
        path.display()
    )]
    Unverifiable {
        path: PathBuf,
        holder: Holder,
        here: String,
    },
}

/// A held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct FileLock {
    file: File,
    path: PathBuf,
    /// The filesystem refused OS locks: the record in the file is the lock, cleared on drop.
    by_record: bool,
}

impl FileLock {
    /// Takes the lock at `path`, waiting while another process holds it (fetches: the
    /// second one then finds the file done).
    pub fn wait(path: &Path) -> io::Result<Self> {
        let file = open_file(path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                tracing::info!(lock = %path.display(), "another process holds the lock; waiting");
                file.lock()?;
            }
            Err(fs::TryLockError::Error(e)) => return Err(e),
        }
        Self::record(file, path, false)
    }

    /// Takes the lock at `path` if no other process holds it (after a grace of
    /// [`CLAIM_GRACE`]); otherwise [`LockError::Held`] naming the holder.
    pub fn try_claim(path: &Path) -> Result<Self, LockError> {
        let file = open(path)?;
        let deadline = Instant::now() + CLAIM_GRACE;
        loop {
            match file.try_lock() {
                Ok(()) => return Self::record(file, path, false).map_err(io_err(path)),
                Err(fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(25));
                }
                Err(fs::TryLockError::WouldBlock) => {
                    return Err(LockError::Held {
                        path: path.to_path_buf(),
                        holder: read_holder(path),
                    })
                }
                Err(fs::TryLockError::Error(e)) => {
                    tracing::debug!(lock = %path.display(), "no OS lock ({e}); locking by record");
                    return claim_by_record(file, path);
                }
            }
        }
    }

    /// Who holds the lock at `path` now, if anyone. A moment's shared probe on a read-only
    /// handle: probes never conflict with each other, work on folders this process cannot
    /// write, and a claim's grace rides out the moment one overlaps it.
    pub fn holder_of(path: &Path) -> Result<Option<Holder>, LockError> {
        if !path.exists() {
            return Ok(None);
        }
        let file = File::open(path).map_err(io_err(path))?;
        match file.try_lock_shared() {
            Ok(()) => Ok(None),
            Err(fs::TryLockError::WouldBlock) => Ok(Some(read_holder(path).unwrap_or(Holder {
                pid: 0,
                host: "unknown".into(),
                since: "unknown".into(),
                process_start: None,
            }))),
            Err(fs::TryLockError::Error(_)) => Ok(read_holder(path)
                .filter(|h| h.is_alive() != Some(false) && !h.is_current_process())),
        }
    }

    /// Writes this process's [`Holder`] record into the (held) lock file.
    fn record(mut file: File, path: &Path, by_record: bool) -> io::Result<Self> {
        let mut line = serde_json::to_string(&Holder::current()).expect("a holder serialises");
        line.push('\n');
        file.set_len(0)?;
        file.rewind()?;
        file.write_all(line.as_bytes())?;
        file.sync_data()?;
        Ok(Self {
            file,
            path: path.to_path_buf(),
            by_record,
        })
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        // OS locks go with the handle; a record lock is released by emptying the record,
        // if it is still ours.
        if self.by_record && read_holder(&self.path).is_some_and(|h| h.is_current_process()) {
            let _ = self.file.set_len(0);
        }
    }
}

/// Without OS locks: take the lock unless the record names a live process (or one that
/// cannot be checked), then read the record back to see that no one raced us to it.
fn claim_by_record(file: File, path: &Path) -> Result<FileLock, LockError> {
    if let Some(holder) = read_holder(path).filter(|h| !h.is_current_process()) {
        match holder.is_alive() {
            Some(true) => {
                return Err(LockError::Held {
                    path: path.to_path_buf(),
                    holder: Some(holder),
                })
            }
            Some(false) => {
                tracing::warn!(lock = %path.display(), "{holder} no longer runs: its stale lock is replaced")
            }
            None => {
                return Err(LockError::Unverifiable {
                    path: path.to_path_buf(),
                    holder,
                    here: host_name(),
                })
            }
        }
    }
    let lock = FileLock::record(file, path, true).map_err(io_err(path))?;
    std::thread::sleep(Duration::from_millis(50));
    match read_holder(path) {
        Some(h) if h.is_current_process() => Ok(lock),
        holder => {
            std::mem::forget(lock); // the record is the winner's now
            Err(LockError::Held {
                path: path.to_path_buf(),
                holder,
            })
        }
    }
}

fn open(path: &Path) -> Result<File, LockError> {
    open_file(path).map_err(io_err(path))
}

fn open_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
}

fn read_holder(path: &Path) -> Option<Holder> {
    let mut text = String::new();
    File::open(path).ok()?.read_to_string(&mut text).ok()?;
    serde_json::from_str(text.trim()).ok()
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> LockError + '_ {
    move |source| LockError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// This machine's host name (Linux), else `$HOSTNAME`, else "unknown".
pub fn host_name() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// The start time of process `pid` in clock ticks since boot (field 22 of
/// `/proc/PID/stat`); `None` when no such process runs (or not on Linux).
fn process_start(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_claim_is_refused_naming_the_holder_and_freed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.lock");
        let first = FileLock::try_claim(&path).unwrap();
        match FileLock::try_claim(&path) {
            Err(LockError::Held {
                holder: Some(h), ..
            }) => {
                assert_eq!(h.pid, std::process::id());
                assert!(h.to_string().contains(&host_name()), "{h}");
            }
            other => panic!("expected Held, got {other:?}"),
        }
        assert_eq!(
            FileLock::holder_of(&path).unwrap().map(|h| h.pid),
            Some(std::process::id())
        );
        drop(first);
        assert_eq!(FileLock::holder_of(&path).unwrap(), None);
        FileLock::try_claim(&path).unwrap();
    }

    #[test]
    fn this_process_is_alive_and_a_reused_pid_is_not() {
        let me = Holder::current();
        assert_eq!(me.is_alive(), Some(true));
        let reused = Holder {
            process_start: me.process_start.map(|s| s + 1),
            ..me.clone()
        };
        assert_eq!(reused.is_alive(), Some(false));
        let elsewhere = Holder {
            host: format!("{}-elsewhere", me.host),
            ..me
        };
        assert_eq!(elsewhere.is_alive(), None);
    }

    /// The record fallback, as on a filesystem without OS locks.
    #[test]
    fn without_os_locks_a_dead_holder_is_replaced_and_a_remote_one_explained() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.lock");
        let write = |h: &Holder| fs::write(&path, serde_json::to_string(h).unwrap()).unwrap();
        let dead = Holder {
            pid: u32::MAX - 1,
            ..Holder::current()
        };
        write(&dead);
        let lock = claim_by_record(open(&path).unwrap(), &path).unwrap();
        assert!(read_holder(&path).unwrap().is_current_process());
        drop(lock);
        assert_eq!(read_holder(&path), None, "released by emptying the record");

        let remote = Holder {
            host: "node-17".into(),
            ..dead
        };
        write(&remote);
        let err = claim_by_record(open(&path).unwrap(), &path).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, LockError::Unverifiable { .. }), "{text}");
        assert!(
            text.contains("node-17") && text.contains("delete"),
            "{text}"
        );
    }
}
