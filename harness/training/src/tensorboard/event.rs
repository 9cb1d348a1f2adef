//! The part of TensorFlow's `Event` protobuf that scalar logs need, encoded and decoded by
//! hand (proto3 wire format):
//!
//! ```text
//! message Event   { double wall_time = 1; int64 step = 2;
//!                   oneof what { string file_version = 3; Summary summary = 5; } }
//! message Summary { repeated Value value = 1; }
//! message Value   { string tag = 1; float simple_value = 2; }
//! ```

/// What the first event of every file says: the format its readers should expect.
pub const FILE_VERSION: &str = "brain.Event:2";

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Seconds since the Unix epoch.
    pub wall_time: f64,
    pub step: i64,
    pub what: What,
}

#[derive(Debug, Clone, PartialEq)]
pub enum What {
    FileVersion(String),
    Summary(Vec<Value>),
}

/// One scalar of a summary.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    pub tag: String,
    pub simple_value: f32,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DecodeError {
    #[error("the message ends inside a field")]
    Truncated,
    #[error("a varint runs past 64 bits")]
    LongVarint,
    #[error("wire type {0} is not one protobuf defines")]
    WireType(u8),
    #[error("field {field} has wire type {found}, not {expected}")]
    FieldType { field: u64, found: u8, expected: u8 },
    #[error("a string is not UTF-8")]
    Utf8,
    #[error("the event holds neither a file version nor a summary")]
    Empty,
}

// Protobuf's wire types.
const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const BYTES: u8 = 2;
const FIXED32: u8 = 5;

impl Event {
    /// The event that opens a file.
    pub fn file_version(wall_time: f64) -> Self {
        Self {
            wall_time,
            step: 0,
            what: What::FileVersion(FILE_VERSION.into()),
        }
    }

    /// The serialised message.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        put_key(&mut out, 1, FIXED64);
        out.extend_from_slice(&self.wall_time.to_le_bytes());
        put_key(&mut out, 2, VARINT);
        // int64 is sent as its two's complement, so a negative step takes ten bytes.
        put_varint(&mut out, self.step as u64);
        match &self.what {
            What::FileVersion(version) => put_bytes(&mut out, 3, version.as_bytes()),
            What::Summary(values) => {
                let summary: Vec<u8> = values
                    .iter()
                    .flat_map(|v| {
                        let mut field = Vec::new();
                        put_bytes(&mut field, 1, &v.encode());
                        field
                    })
                    .collect();
                put_bytes(&mut out, 5, &summary);
            }
        }
        out
    }

    /// Reads a message [`Event::encode`] writes; fields it does not know are skipped.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let (mut wall_time, mut step, mut what) = (0.0, 0, None);
        for field in Fields(bytes) {
            let (number, payload) = field?;
            match number {
                1 => wall_time = f64::from_le_bytes(payload.fixed64(number)?),
                2 => step = payload.varint(number)? as i64,
                3 => what = Some(What::FileVersion(utf8(payload.bytes(number)?)?)),
                5 => what = Some(What::Summary(decode_summary(payload.bytes(number)?)?)),
                _ => {}
            }
        }
        Ok(Self {
            wall_time,
            step,
            what: what.ok_or(DecodeError::Empty)?,
        })
    }
}

impl Value {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        put_bytes(&mut out, 1, self.tag.as_bytes());
        put_key(&mut out, 2, FIXED32);
        out.extend_from_slice(&self.simple_value.to_le_bytes());
        out
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let (mut tag, mut simple_value) = (String::new(), 0.0);
        for field in Fields(bytes) {
            let (number, payload) = field?;
            match number {
                1 => tag = utf8(payload.bytes(number)?)?,
                2 => simple_value = f32::from_le_bytes(payload.fixed32(number)?),
                _ => {}
            }
        }
        Ok(Self { tag, simple_value })
    }
}

fn decode_summary(bytes: &[u8]) -> Result<Vec<Value>, DecodeError> {
    let mut values = Vec::new();
    for field in Fields(bytes) {
        let (number, payload) = field?;
        if number == 1 {
            values.push(Value::decode(payload.bytes(number)?)?);
        }
    }
    Ok(values)
}

fn put_key(out: &mut Vec<u8>, field: u64, wire_type: u8) {
    put_varint(out, field << 3 | u64::from(wire_type));
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7F) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A length-delimited field: strings and embedded messages.
fn put_bytes(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    put_key(out, field, BYTES);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// A field's payload, by wire type.
#[derive(Debug, Clone, Copy)]
enum Field<'a> {
    Varint(u64),
    Fixed64([u8; 8]),
    Bytes(&'a [u8]),
    Fixed32([u8; 4]),
}

/// The payload as the type field `number` is declared with, or why it is not that.
impl<'a> Field<'a> {
    fn varint(self, number: u64) -> Result<u64, DecodeError> {
        match self {
            Field::Varint(v) => Ok(v),
            other => Err(other.mismatch(number, VARINT)),
        }
    }

    fn fixed64(self, number: u64) -> Result<[u8; 8], DecodeError> {
        match self {
            Field::Fixed64(b) => Ok(b),
            other => Err(other.mismatch(number, FIXED64)),
        }
    }

    fn fixed32(self, number: u64) -> Result<[u8; 4], DecodeError> {
        match self {
            Field::Fixed32(b) => Ok(b),
            other => Err(other.mismatch(number, FIXED32)),
        }
    }

    fn bytes(self, number: u64) -> Result<&'a [u8], DecodeError> {
        match self {
            Field::Bytes(b) => Ok(b),
            other => Err(other.mismatch(number, BYTES)),
        }
    }

    fn mismatch(self, field: u64, expected: u8) -> DecodeError {
        let found = match self {
            Field::Varint(_) => VARINT,
            Field::Fixed64(_) => FIXED64,
            Field::Bytes(_) => BYTES,
            Field::Fixed32(_) => FIXED32,
        };
        DecodeError::FieldType {
            field,
            found,
            expected,
        }
    }
}

fn utf8(bytes: &[u8]) -> Result<String, DecodeError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError::Utf8)
}

/// The (field number, payload) pairs of a message, in order.
struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut v = 0u64;
        for (i, &byte) in self.0.iter().enumerate().take(10) {
            let bits = u64::from(byte & 0x7F);
            if i == 9 && bits > 1 {
                return Err(DecodeError::LongVarint);
            }
            v |= bits << (7 * i);
            if byte & 0x80 == 0 {
                self.0 = &self.0[i + 1..];
                return Ok(v);
            }
        }
        Err(if self.0.len() >= 10 {
            DecodeError::LongVarint
        } else {
            DecodeError::Truncated
        })
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.0.len() {
            return Err(DecodeError::Truncated);
        }
        let (taken, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(taken)
    }

    fn field(&mut self) -> Result<(u64, Field<'a>), DecodeError> {
        let key = self.varint()?;
        let payload = match (key & 7) as u8 {
            VARINT => Field::Varint(self.varint()?),
            FIXED64 => Field::Fixed64(self.take(8)?.try_into().expect("8 bytes")),
            BYTES => {
                let n = usize::try_from(self.varint()?).map_err(|_| DecodeError::Truncated)?;
                Field::Bytes(self.take(n)?)
            }
            FIXED32 => Field::Fixed32(self.take(4)?.try_into().expect("4 bytes")),
            other => return Err(DecodeError::WireType(other)),
        };
        Ok((key >> 3, payload))
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u64, Field<'a>), DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.0.is_empty() {
            return None;
        }
        let field = self.field();
        if field.is_err() {
            // Nothing after a malformed field can be trusted.
            self.0 = &[];
        }
        Some(field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(tag: &str, simple_value: f32) -> Value {
        Value {
            tag: tag.into(),
            simple_value,
        }
    }

    #[test]
    fn a_scalar_event_encodes_to_the_bytes_worked_out_by_hand() {
        let event = Event {
            wall_time: 1.5,
            step: 300,
            what: What::Summary(vec![scalar("a/b", 0.25)]),
        };
        #[rustfmt::skip]
        let expected = [
            0x09, 0, 0, 0, 0, 0, 0, 0xF8, 0x3F, // field 1, 64-bit: 1.5 = 0x3FF8_0000_0000_0000
            0x10, 0xAC, 0x02,                   // field 2, varint: 300 = 0b10_0101100
            0x2A, 12,                           // field 5, 12 bytes: the summary
              0x0A, 10,                         //   value 1, 10 bytes
                0x0A, 3, b'a', b'/', b'b',      //     tag
                0x15, 0, 0, 0x80, 0x3E,         //     field 2, 32-bit: 0.25 = 0x3E80_0000
        ];
        assert_eq!(event.encode(), expected);
        assert_eq!(Event::decode(&expected), Ok(event));
    }

    #[test]
    fn the_file_version_event_encodes_to_the_bytes_worked_out_by_hand() {
        let event = Event::file_version(0.0);
        let mut expected = vec![0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0x1A, 13];
        expected.extend_from_slice(b"brain.Event:2");
        assert_eq!(event.encode(), expected);
        assert_eq!(Event::decode(&expected), Ok(event));
    }

    #[test]
    fn varints_take_seven_bits_a_byte() {
        let encoded = |v: u64| {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            out
        };
        assert_eq!(encoded(0), [0]);
        assert_eq!(encoded(127), [0x7F]);
        assert_eq!(encoded(128), [0x80, 0x01]);
        assert_eq!(encoded(16_384), [0x80, 0x80, 0x01]);
        let mut max = vec![0xFF; 9];
        max.push(0x01);
        assert_eq!(encoded(u64::MAX), max);
        for v in [0, 1, 127, 128, 300, 1 << 35, u64::MAX] {
            assert_eq!(Fields(&encoded(v)).varint(), Ok(v));
        }
        assert_eq!(Fields(&[0x80, 0x80]).varint(), Err(DecodeError::Truncated));
        assert_eq!(Fields(&[0xFF; 11]).varint(), Err(DecodeError::LongVarint));
    }

    #[test]
    fn events_round_trip_and_unknown_fields_are_skipped() {
        let event = Event {
            wall_time: 1_700_000_000.125,
            step: -3,
            what: What::Summary(vec![scalar("train/loss", 0.693), scalar("é", -1e-9)]),
        };
        let mut bytes = event.encode();
        assert_eq!(Event::decode(&bytes), Ok(event.clone()));
        // A field 4 (an int64 this module does not read) and a field 9 string.
        bytes.extend_from_slice(&[0x20, 0x07, 0x4A, 2, b'h', b'i']);
        assert_eq!(Event::decode(&bytes), Ok(event));
    }

    #[test]
    fn malformed_messages_are_refused() {
        let good = Event::file_version(2.0).encode();
        assert_eq!(
            Event::decode(&good[..good.len() - 1]),
            Err(DecodeError::Truncated)
        );
        // Step sent as a 64-bit field.
        let mut wrong = good.clone();
        wrong[9] = 0x11;
        assert_eq!(
            Event::decode(&wrong),
            Err(DecodeError::FieldType {
                field: 2,
                found: FIXED64,
                expected: VARINT
            })
        );
        // Wire type 7 does not exist.
        assert_eq!(Event::decode(&[0x0F]), Err(DecodeError::WireType(7)));
        // Only a wall time.
        assert_eq!(Event::decode(&good[..9]), Err(DecodeError::Empty));
        let invalid_utf8 = [&good[..9], &[0x1A, 1, 0xFF]].concat();
        assert_eq!(Event::decode(&invalid_utf8), Err(DecodeError::Utf8));
    }
}
