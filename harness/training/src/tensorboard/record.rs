//! TFRecord framing, the container of TensorBoard's event files: each record is its
//! length (u64, little-endian), the masked CRC-32C of those 8 bytes, the data, and the
//! masked CRC-32C of the data.

use super::crc32c::masked_crc32c;

/// Bytes of a record besides its data: length, length CRC, data CRC.
const OVERHEAD: usize = 8 + 4 + 4;

/// `data` framed as one record.
pub fn frame(data: &[u8]) -> Vec<u8> {
    let length = (data.len() as u64).to_le_bytes();
    let mut record = Vec::with_capacity(data.len() + OVERHEAD);
    record.extend_from_slice(&length);
    record.extend_from_slice(&masked_crc32c(&length).to_le_bytes());
    record.extend_from_slice(data);
    record.extend_from_slice(&masked_crc32c(data).to_le_bytes());
    record
}

/// How a file's bytes end after its last sound record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Exactly after a record.
    Clean,
    /// In a record cut short at byte `at` (a process killed while writing it).
    Torn { at: usize },
    /// At a record whose length or data fails its checksum, starting at byte `at`.
    Corrupt { at: usize },
}

/// The data of `bytes`' records, in order, up to where they stop being whole and sound,
/// and how they end there.
pub fn read_records(bytes: &[u8]) -> (Vec<&[u8]>, End) {
    let mut records = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        match record_at(bytes, at) {
            Ok((data, next)) => {
                records.push(data);
                at = next;
            }
            Err(end) => return (records, end),
        }
    }
    (records, End::Clean)
}

/// The data of the record starting at `at` and where the next starts.
fn record_at(bytes: &[u8], at: usize) -> Result<(&[u8], usize), End> {
    let rest = &bytes[at..];
    let torn = End::Torn { at };
    let length_bytes = rest.get(..8).ok_or(torn)?;
    let length_crc = rest.get(8..12).ok_or(torn)?;
    if masked_crc32c(length_bytes).to_le_bytes() != length_crc {
        return Err(End::Corrupt { at });
    }
    let length = u64::from_le_bytes(length_bytes.try_into().expect("8 bytes"));
    let data_end = usize::try_from(length)
        .ok()
        .and_then(|n| n.checked_add(12))
        .ok_or(End::Corrupt { at })?;
    let data = rest.get(12..data_end).ok_or(torn)?;
    let data_crc = rest.get(data_end..data_end + 4).ok_or(torn)?;
    if masked_crc32c(data).to_le_bytes() != data_crc {
        return Err(End::Corrupt { at });
    }
    Ok((data, at + data_end + 4))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_length_its_crc_data_and_the_datas_crc() {
        let record = frame(b"abc");
        assert_eq!(record.len(), 3 + OVERHEAD);
        assert_eq!(record[..8], [3, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            record[8..12],
            masked_crc32c(&3u64.to_le_bytes()).to_le_bytes()
        );
        assert_eq!(&record[12..15], b"abc");
        assert_eq!(record[15..], masked_crc32c(b"abc").to_le_bytes());
    }

    #[test]
    fn records_read_back_in_order() {
        let bytes = [frame(b"first"), frame(b""), frame(b"third")].concat();
        let (records, end) = read_records(&bytes);
        assert_eq!(records, [&b"first"[..], b"", b"third"]);
        assert_eq!(end, End::Clean);
    }

    #[test]
    fn a_torn_last_record_is_left_out() {
        let whole = frame(b"kept");
        let bytes = [whole.clone(), frame(b"cut short")].concat();
        for cut in whole.len() + 1..bytes.len() {
            let (records, end) = read_records(&bytes[..cut]);
            assert_eq!(records, [&b"kept"[..]], "cut at {cut}");
            assert_eq!(end, End::Torn { at: whole.len() }, "cut at {cut}");
        }
    }

    #[test]
    fn a_flipped_bit_stops_the_reading_there() {
        let whole = frame(b"kept");
        let mut bytes = [whole.clone(), frame(b"damaged"), frame(b"after")].concat();
        // In the second record's data, then in its length.
        for flip in [whole.len() + 13, whole.len() + 2] {
            let mut damaged = bytes.clone();
            damaged[flip] ^= 0x10;
            let (records, end) = read_records(&damaged);
            assert_eq!(records, [&b"kept"[..]], "bit flipped at {flip}");
            assert_eq!(end, End::Corrupt { at: whole.len() });
        }
        // A length past anything addressable is corrupt, not a panic: its CRC is made to fit.
        let huge = u64::MAX.to_le_bytes();
        bytes[whole.len()..whole.len() + 8].copy_from_slice(&huge);
        bytes[whole.len() + 8..whole.len() + 12]
            .copy_from_slice(&masked_crc32c(&huge).to_le_bytes());
        assert_eq!(read_records(&bytes).1, End::Corrupt { at: whole.len() });
    }
}
