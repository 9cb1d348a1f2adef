//! Opening data files (plain or gzip, detected by content) and reading them with bounded
//! memory, plus [`FileError`], which puts a file's path in front of any parser's error.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;

/// A parser's error together with the file it was reading.
#[derive(Debug)]
pub struct FileError<E> {
    pub path: PathBuf,
    pub error: E,
}

impl<E: fmt::Display> fmt::Display for FileError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.error)
    }
}

impl<E: std::error::Error + 'static> std::error::Error for FileError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// Run `parse` on a file's contents (gunzipped when it starts with the gzip magic bytes),
/// attaching the path to any error. `parse` gets the reader and, for a plain file, its
/// size, which parsers use as an allocation bound before trusting any header.
pub fn parse_file<T, E: From<io::Error>>(
    path: &Path,
    parse: impl FnOnce(&mut dyn Read, Option<u64>) -> Result<T, E>,
) -> Result<T, FileError<E>> {
    let in_file = |error| FileError {
        path: path.to_path_buf(),
        error,
    };
    let file = File::open(path).map_err(|e| in_file(E::from(e)))?;
    let size = file.metadata().map_err(|e| in_file(E::from(e)))?.len();
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let gzip = reader
        .fill_buf()
        .map_err(|e| in_file(E::from(e)))?
        .starts_with(&[0x1f, 0x8b]);
    if gzip {
        parse(&mut GzDecoder::new(reader), None).map_err(in_file)
    } else {
        parse(&mut reader, Some(size)).map_err(in_file)
    }
}

/// How a body's length differed from what its header promised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LengthMismatch {
    /// The data ended after this many bytes.
    Short(u64),
    /// More bytes followed the promised length.
    Long,
}

/// Read exactly `len` bytes. Memory grows only with bytes actually read (never from `len`
/// alone beyond `size_hint`), so a header claiming gigabytes cannot force a huge allocation.
pub fn read_exact_len(
    reader: &mut dyn Read,
    len: u64,
    size_hint: Option<u64>,
) -> io::Result<Result<Vec<u8>, LengthMismatch>> {
    let initial = len.min(size_hint.unwrap_or(1 << 20)).min(usize::MAX as u64) as usize;
    let mut buf = Vec::with_capacity(initial);
    reader.take(len.saturating_add(1)).read_to_end(&mut buf)?;
    let got = buf.len() as u64;
    Ok(if got < len {
        Err(LengthMismatch::Short(got))
    } else if got > len {
        Err(LengthMismatch::Long)
    } else {
        Ok(buf)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_length_reads() {
        let data = [1u8, 2, 3];
        assert_eq!(
            read_exact_len(&mut &data[..], 3, None).unwrap(),
            Ok(vec![1, 2, 3])
        );
        assert_eq!(
            read_exact_len(&mut &data[..], 4, None).unwrap(),
            Err(LengthMismatch::Short(3))
        );
        assert_eq!(
            read_exact_len(&mut &data[..], 2, None).unwrap(),
            Err(LengthMismatch::Long)
        );
        // A lying length on a tiny input allocates only what is read.
        assert_eq!(
            read_exact_len(&mut &data[..], u64::MAX, Some(3)).unwrap(),
            Err(LengthMismatch::Short(3))
        );
    }
}
