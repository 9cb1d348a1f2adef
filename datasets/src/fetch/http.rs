//! Downloading one URL into a partial file, resuming and retrying.
//!
//! The partial file `<file>.part` survives failures, so the next attempt (or the next run)
//! asks for the rest with `Range: bytes=N-`. When the first response carried an `ETag`
//! (or `Last-Modified`), it is kept in `<file>.part-validator` and sent as `If-Range`, so a
//! server whose file changed answers with the whole new file. A `200` to a ranged request
//! (Range ignored, or If-Range failed) restarts from zero; so does a `206` whose
//! `Content-Range` does not start where the partial file ends.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::Path;
use std::thread;

use indicatif::ProgressBar;
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::header::{CONTENT_RANGE, ETAG, IF_RANGE, LAST_MODIFIED, RANGE};
use reqwest::StatusCode;

use super::sibling::sibling;
use super::FetchOptions;

/// Why one attempt failed, and whether another attempt may help.
enum Failure {
    Retry(String),
    Fatal(String),
}

fn validator_path(part: &Path) -> std::path::PathBuf {
    sibling(part, "-validator")
}

/// Delete a partial download and its validator.
pub fn discard_partial(part: &Path) {
    let _ = fs::remove_file(part);
    let _ = fs::remove_file(validator_path(part));
}

/// Download `url` into `part`, resuming what is there. On success `part` holds the whole
/// response body. Retries with exponential backoff on connection errors, timeouts (including
/// stalls), truncated bodies and 5xx/408/429 answers; other 4xx answers fail at once.
pub fn download(
    client: &Client,
    options: &FetchOptions,
    url: &str,
    part: &Path,
    bar: &ProgressBar,
) -> Result<(), String> {
    let mut failures = 0u32;
    let mut best = 0u64;
    loop {
        let result = attempt(client, url, part, bar);
        let have = fs::metadata(part).map(|m| m.len()).unwrap_or(0);
        if have > best {
            // Real progress: a flaky connection that keeps delivering is not out of retries.
            best = have;
            failures = 0;
        }
        match result {
            Ok(()) => return Ok(()),
            Err(Failure::Fatal(why)) => return Err(why),
            Err(Failure::Retry(why)) => {
                failures += 1;
                if failures > options.retries {
                    return Err(format!("{why} (gave up after {} retries)", options.retries));
                }
                let delay = options.backoff(failures);
                tracing::warn!(%url, %why, retry = failures, ?delay, "download attempt failed; retrying");
                thread::sleep(delay);
            }
        }
    }
}

fn attempt(client: &Client, url: &str, part: &Path, bar: &ProgressBar) -> Result<(), Failure> {
    let existing = fs::metadata(part).map(|m| m.len()).unwrap_or(0);
    let validator = fs::read_to_string(validator_path(part)).ok();
    let response = request(client, url, existing, validator.as_deref())
        .send()
        .map_err(|e| transport_failure(&e))?;
    let append = appends(&response, url, part, existing, validator.as_deref())?;
    let start = if append { existing } else { 0 };
    let expected = response.content_length().map(|len| start + len);
    if let Some(total) = expected {
        bar.set_length(total);
    }
    bar.set_position(start);
    let file = open_part(part, append)?;
    let written = copy_body(response, file, bar)?;
    match expected {
        Some(total) if start + written != total => Err(Failure::Retry(format!(
            "connection closed after {} of {total} bytes",
            start + written
        ))),
        _ => Ok(()),
    }
}

/// A GET of `url`, asking for the bytes after the `existing` ones of the partial file.
fn request(client: &Client, url: &str, existing: u64, validator: Option<&str>) -> RequestBuilder {
    let mut request = client.get(url);
    if existing > 0 {
        request = request.header(RANGE, format!("bytes={existing}-"));
        if let Some(v) = validator {
            request = request.header(IF_RANGE, v);
        }
    }
    request
}

/// Whether the body continues the partial file (`true`) or replaces it (`false`); an answer
/// that is neither is a failure.
fn appends(
    response: &Response,
    url: &str,
    part: &Path,
    existing: u64,
    validator: Option<&str>,
) -> Result<bool, Failure> {
    match response.status() {
        StatusCode::PARTIAL_CONTENT if existing > 0 => {
            check_resumed(response, part, existing, validator)?;
            Ok(true)
        }
        StatusCode::OK => {
            if existing > 0 {
                tracing::info!(%url, "server sent the whole file instead of the rest; restarting from zero");
            }
            restart(response, part)?;
            Ok(false)
        }
        StatusCode::RANGE_NOT_SATISFIABLE => {
            discard_partial(part);
            Err(Failure::Retry(
                "partial file is longer than the server's file; restarting from zero".into(),
            ))
        }
        s if s.is_server_error()
            || s == StatusCode::REQUEST_TIMEOUT
            || s == StatusCode::TOO_MANY_REQUESTS =>
        {
            Err(Failure::Retry(format!("HTTP {s}")))
        }
        s => Err(Failure::Fatal(format!("HTTP {s}"))),
    }
}

/// Checks that a `206` starts where the partial file ends and is still the same file,
/// discarding the partial file when not.
fn check_resumed(
    response: &Response,
    part: &Path,
    existing: u64,
    validator: Option<&str>,
) -> Result<(), Failure> {
    if range_start(response) != Some(existing) {
        discard_partial(part);
        return Err(Failure::Retry(format!(
            "server answered a range other than the requested bytes={existing}-; restarting from zero"
        )));
    }
    if let (Some(saved), Some(now)) = (validator, response_validator(response)) {
        if saved != now {
            discard_partial(part);
            return Err(Failure::Retry(
                "file changed on the server; restarting from zero".into(),
            ));
        }
    }
    Ok(())
}

/// Drops the partial file before a whole new body, keeping the new body's validator.
fn restart(response: &Response, part: &Path) -> Result<(), Failure> {
    discard_partial(part);
    if let Some(v) = response_validator(response) {
        fs::write(validator_path(part), v).map_err(|e| Failure::Fatal(e.to_string()))?;
    }
    Ok(())
}

fn open_part(part: &Path, append: bool) -> Result<File, Failure> {
    OpenOptions::new()
        .create(true)
        .append(append)
        .write(true)
        .truncate(!append)
        .open(part)
        .map_err(|e| Failure::Fatal(format!("cannot write {}: {e}", part.display())))
}

/// Stream the body to `file`, keeping whatever arrived before an error for the next resume.
fn copy_body(mut response: Response, mut file: File, bar: &ProgressBar) -> Result<u64, Failure> {
    let mut buf = vec![0u8; 1 << 16];
    let mut written = 0u64;
    loop {
        let n = match response.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let _ = file.flush();
                return Err(Failure::Retry(format!(
                    "transfer interrupted after {written} bytes: {e}"
                )));
            }
        };
        file.write_all(&buf[..n])
            .map_err(|e| Failure::Fatal(format!("cannot write download: {e}")))?;
        written += n as u64;
        bar.inc(n as u64);
    }
    file.sync_all()
        .map_err(|e| Failure::Fatal(format!("cannot write download: {e}")))?;
    Ok(written)
}

fn transport_failure(e: &reqwest::Error) -> Failure {
    // reqwest's own message repeats the URL the error is reported under; its causes say
    // what went wrong.
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        causes.push(s.to_string());
        source = s.source();
    }
    let why = match causes.is_empty() {
        true => e.to_string(),
        false => causes.join(": "),
    };
    // A host name that does not resolve will not resolve a second later either (no network,
    // or a typo): move on to the next source instead of backing off.
    if e.is_builder() || why.contains("dns error") {
        Failure::Fatal(why)
    } else {
        Failure::Retry(why)
    }
}

fn response_validator(response: &Response) -> Option<String> {
    let headers = response.headers();
    headers
        .get(ETAG)
        .filter(|v| !v.as_bytes().starts_with(b"W/")) // weak ETags cannot be used with If-Range
        .or_else(|| headers.get(LAST_MODIFIED))
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Start offset of `Content-Range: bytes START-END/TOTAL`.
fn range_start(response: &Response) -> Option<u64> {
    let value = response.headers().get(CONTENT_RANGE)?.to_str().ok()?;
    let range = value.strip_prefix("bytes ")?;
    range.split(['-', '/']).next()?.trim().parse().ok()
}
