//! A folder of TensorBoard event files with one writer at a time: each process that opens
//! it writes a file of its own (named as TensorFlow names them, so TensorBoard reads the
//! files in the order they were started), after cutting the files of earlier processes back
//! to the scalars that stay.
//!
//! The files are a view of numbers a run keeps elsewhere, so no I/O error here reaches the
//! caller: the first one is logged as a warning and the log writes nothing from then on.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use super::event::{Event, Value, What};
use super::record::{frame, read_records, End};

/// What every event file's name contains (TensorBoard reads only such files).
const EVENT_FILE_MARK: &str = "tfevents";

/// Event files this process opened so far: the last part of their names.
static FILES_OPENED: AtomicU64 = AtomicU64::new(0);

#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
struct IoError {
    path: PathBuf,
    source: io::Error,
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> IoError + '_ {
    move |source| IoError {
        path: path.to_path_buf(),
        source,
    }
}

/// This process's event file in a folder.
pub struct EventLog {
    /// `None` once writing failed (or the folder could not be prepared).
    file: Option<EventFile>,
}

struct EventFile {
    path: PathBuf,
    out: BufWriter<File>,
}

impl EventLog {
    /// Cuts the event files already in `folder` back to the scalars `keep` accepts (given
    /// tag and step), then starts this process's file there. Files left without a scalar are
    /// removed; a file whose end was torn by a kill, or damaged, keeps its sound start.
    pub fn open(folder: &Path, keep: impl Fn(&str, i64) -> bool) -> Self {
        match start(folder, &keep) {
            Ok(file) => Self { file: Some(file) },
            Err(e) => {
                warn_off(&e);
                Self { file: None }
            }
        }
    }

    /// The file this log writes, while it writes one.
    pub fn path(&self) -> Option<&Path> {
        self.file.as_ref().map(|f| f.path.as_path())
    }

    /// One event at `step` holding `values` (tag, value), stored as 32-bit floats.
    pub fn scalars(&mut self, step: u64, values: &[(&str, f64)]) {
        let values = values
            .iter()
            .map(|&(tag, value)| Value {
                tag: tag.into(),
                simple_value: value as f32,
            })
            .collect();
        let event = Event {
            wall_time: now(),
            step: step as i64,
            what: What::Summary(values),
        };
        self.write(|out| out.write_all(&frame(&event.encode())));
    }

    /// Hands what was written to the OS, so a process killed after this keeps it.
    pub fn flush(&mut self) {
        self.write(|out| out.flush());
    }

    fn write(&mut self, op: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>) {
        let Some(file) = &mut self.file else { return };
        if let Err(e) = op(&mut file.out) {
            warn_off(&io_err(&file.path)(e));
            self.file = None;
        }
    }
}

fn warn_off(e: &IoError) {
    tracing::warn!(
        "TensorBoard events are not written from here on ({e}); the run goes on, its numbers \
         are in metrics.jsonl and steps.jsonl"
    );
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Trims the folder's files, then creates this process's, opened by its file-version event.
fn start(folder: &Path, keep: &dyn Fn(&str, i64) -> bool) -> Result<EventFile, IoError> {
    fs::create_dir_all(folder).map_err(io_err(folder))?;
    for path in event_files(folder)? {
        trim(&path, keep)?;
    }
    let wall_time = now();
    let path = folder.join(format!(
        "events.out.{EVENT_FILE_MARK}.{:010}.{}.{}.{}",
        wall_time as u64,
        datasets::lock::host_name(),
        std::process::id(),
        FILES_OPENED.fetch_add(1, Ordering::Relaxed)
    ));
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(io_err(&path))?;
    let mut out = BufWriter::new(file);
    out.write_all(&frame(&Event::file_version(wall_time).encode()))
        .and_then(|()| out.flush())
        .map_err(io_err(&path))?;
    Ok(EventFile { path, out })
}

/// The event files in `folder`, by name.
fn event_files(folder: &Path) -> Result<Vec<PathBuf>, IoError> {
    let mut files = Vec::new();
    for entry in fs::read_dir(folder).map_err(io_err(folder))? {
        let entry = entry.map_err(io_err(folder))?;
        if entry
            .file_name()
            .to_string_lossy()
            .contains(EVENT_FILE_MARK)
        {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

/// Rewrites the file at `path` with only the scalars `keep` accepts, and its sound records
/// only; removes it when no scalar is left, and leaves it untouched when nothing changes.
fn trim(path: &Path, keep: &dyn Fn(&str, i64) -> bool) -> Result<(), IoError> {
    let bytes = fs::read(path).map_err(io_err(path))?;
    let mut events = sound_events(path, &bytes);
    for event in &mut events {
        if let What::Summary(values) = &mut event.what {
            values.retain(|v| keep(&v.tag, event.step));
        }
    }
    events.retain(|e| !matches!(&e.what, What::Summary(values) if values.is_empty()));
    if !events.iter().any(|e| matches!(e.what, What::Summary(_))) {
        return fs::remove_file(path).map_err(io_err(path));
    }
    let kept: Vec<u8> = events.iter().flat_map(|e| frame(&e.encode())).collect();
    // An own file re-encodes to its bytes, so equal bytes mean nothing was dropped.
    if kept != bytes {
        replace(path, &kept)?;
    }
    Ok(())
}

/// The events of a file's bytes up to its first torn, damaged or unreadable record.
fn sound_events(path: &Path, bytes: &[u8]) -> Vec<Event> {
    let (records, end) = read_records(bytes);
    if let End::Corrupt { at } = end {
        tracing::warn!(
            "{}: the record at byte {at} fails its checksum; keeping the events before it",
            path.display()
        );
    }
    let mut events = Vec::new();
    for data in records {
        match Event::decode(data) {
            Ok(event) => events.push(event),
            Err(e) => {
                tracing::warn!(
                    "{}: an event cannot be read ({e}); keeping the events before it",
                    path.display()
                );
                break;
            }
        }
    }
    events
}

/// Replaces the file at `path` by `bytes` through a temporary file and a rename, so a
/// crash never leaves it half-written. The temporary name lacks [`EVENT_FILE_MARK`]:
/// TensorBoard never reads it.
fn replace(path: &Path, bytes: &[u8]) -> Result<(), IoError> {
    let tmp = path.with_file_name(format!(".trim.{}.tmp", std::process::id()));
    fs::write(&tmp, bytes)
        .and_then(|()| fs::rename(&tmp, path))
        .map_err(io_err(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every event of the file at `path`, which must end cleanly.
    fn read_file(path: &Path) -> Vec<Event> {
        let bytes = fs::read(path).unwrap();
        let (records, end) = read_records(&bytes);
        assert_eq!(end, End::Clean, "{}", path.display());
        records
            .into_iter()
            .map(|r| Event::decode(r).unwrap())
            .collect()
    }

    /// The (step, tag, value) of every scalar in the file at `path`.
    fn scalars(path: &Path) -> Vec<(i64, String, f32)> {
        read_file(path)
            .iter()
            .flat_map(|e| match &e.what {
                What::Summary(values) => values
                    .iter()
                    .map(|v| (e.step, v.tag.clone(), v.simple_value))
                    .collect(),
                What::FileVersion(_) => Vec::new(),
            })
            .collect()
    }

    fn steps(path: &Path) -> Vec<i64> {
        scalars(path).iter().map(|s| s.0).collect()
    }

    /// A process's log: steps `steps` of scalars "loss" (step / 4) and "other" (1), after
    /// earlier files were cut to what `keep` accepts. Returns the file it wrote.
    fn write_steps(
        folder: &Path,
        steps: std::ops::Range<u64>,
        keep: impl Fn(&str, i64) -> bool,
    ) -> PathBuf {
        let mut log = EventLog::open(folder, keep);
        for step in steps {
            log.scalars(step, &[("loss", step as f64 / 4.0), ("other", 1.0)]);
        }
        log.flush();
        log.path().unwrap().to_path_buf()
    }

    fn files_in(folder: &Path) -> usize {
        fs::read_dir(folder).unwrap().count()
    }

    #[test]
    fn a_file_starts_with_its_version_and_holds_the_scalars_written() {
        let tmp = tempfile::tempdir().unwrap();
        let folder = tmp.path().join("tb");
        let mut log = EventLog::open(&folder, |_, _| true);
        log.scalars(3, &[("a", 0.1), ("b", 2.0)]);
        log.flush();
        let path = log.path().unwrap();
        let name = path.file_name().unwrap().to_string_lossy();
        let parts: Vec<&str> = name.split('.').collect();
        assert_eq!(parts[..3], ["events", "out", "tfevents"]);
        assert_eq!(parts[3].len(), 10, "{name}: seconds, ten digits");
        let pid = parts[parts.len() - 2];
        assert_eq!(pid, std::process::id().to_string(), "{name}");
        let events = read_file(path);
        assert_eq!(events[0].what, What::FileVersion("brain.Event:2".into()));
        assert_eq!(
            scalars(path),
            [(3, "a".into(), 0.1f32), (3, "b".into(), 2.0)]
        );
        let now = now();
        assert!(events.iter().all(|e| (now - e.wall_time).abs() < 60.0));
    }

    #[test]
    fn earlier_files_are_cut_to_what_the_next_process_keeps() {
        let tmp = tempfile::tempdir().unwrap();
        let first = write_steps(tmp.path(), 0..10, |_, _| true);
        // The second process keeps steps below 6, and of step 6 only "other".
        let second = write_steps(tmp.path(), 6..8, |tag, step| {
            step < 6 || (step == 6 && tag == "other")
        });
        let mut expected: Vec<(i64, String, f32)> = (0..6)
            .flat_map(|s| [(s, "loss".into(), s as f32 / 4.0), (s, "other".into(), 1.0)])
            .collect();
        expected.push((6, "other".into(), 1.0));
        assert_eq!(scalars(&first), expected);
        assert_eq!(
            read_file(&first)[0].what,
            What::FileVersion("brain.Event:2".into())
        );
        assert_eq!(steps(&second), [6, 6, 7, 7]);
        assert_eq!(files_in(tmp.path()), 2, "no temporary file stays behind");
    }

    #[test]
    fn a_file_left_without_scalars_is_removed_and_an_untouched_one_kept_as_it_was() {
        let tmp = tempfile::tempdir().unwrap();
        let first = write_steps(tmp.path(), 0..3, |_, _| true);
        let second = write_steps(tmp.path(), 5..7, |_, _| true);
        let bytes = fs::read(&first).unwrap();
        // Steps below 5 stay: the first file byte for byte; the second is emptied.
        let third = write_steps(tmp.path(), 5..6, |_, step| step < 5);
        assert_eq!(fs::read(&first).unwrap(), bytes);
        assert!(!second.exists());
        assert!(third.exists());
        // A fresh start keeps nothing.
        let fresh = write_steps(tmp.path(), 0..1, |_, _| false);
        assert_eq!(files_in(tmp.path()), 1);
        assert_eq!(steps(&fresh), [0, 0]);
    }

    #[test]
    fn a_torn_or_damaged_end_is_cut_off() {
        let tmp = tempfile::tempdir().unwrap();
        let path = write_steps(tmp.path(), 0..4, |_, _| true);
        let mut bytes = fs::read(&path).unwrap();
        // A kill in the middle of the last record.
        bytes.truncate(bytes.len() - 3);
        fs::write(&path, &bytes).unwrap();
        write_steps(tmp.path(), 4..5, |_, _| true);
        assert_eq!(steps(&path), [0, 0, 1, 1, 2, 2]);
        // A flipped bit in the data of the second scalar event (the third record).
        let mut bytes = fs::read(&path).unwrap();
        let (records, _) = read_records(&bytes);
        let third_record = records[0].len() + 16 + records[1].len() + 16;
        bytes[third_record + 14] ^= 1;
        fs::write(&path, &bytes).unwrap();
        write_steps(tmp.path(), 5..6, |_, _| true);
        assert_eq!(steps(&path), [0, 0]);
    }

    #[test]
    fn a_folder_that_cannot_be_written_makes_a_log_that_writes_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let not_a_folder = tmp.path().join("file");
        fs::write(&not_a_folder, b"").unwrap();
        let mut log = EventLog::open(&not_a_folder, |_, _| true);
        assert!(log.path().is_none());
        log.scalars(1, &[("a", 1.0)]);
        log.flush();
        assert_eq!(fs::read(&not_a_folder).unwrap(), b"");
    }
}
