//! CRC-32C (Castagnoli), the checksum of TensorFlow's record files, and the masking
//! TFRecord applies to it.

/// The reflected Castagnoli polynomial 0x1EDC6F41.
const POLYNOMIAL: u32 = 0x82F6_3B78;

/// The CRC of every byte value, one step of the table-driven algorithm.
const TABLE: [u32; 256] = table();

const fn table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut byte = 0;
    while byte < 256 {
        let mut crc = byte as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLYNOMIAL
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[byte] = crc;
        byte += 1;
    }
    table
}

/// CRC-32C of `bytes`.
pub fn crc32c(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |crc, &b| {
        TABLE[((crc ^ u32::from(b)) & 0xFF) as usize] ^ (crc >> 8)
    })
}

/// TFRecord's masked CRC of `bytes`: rotated and offset, so that a CRC over data that
/// itself holds CRCs stays well distributed.
pub fn masked_crc32c(bytes: &[u8]) -> u32 {
    mask(crc32c(bytes))
}

fn mask(crc: u32) -> u32 {
    crc.rotate_right(15).wrapping_add(0xA282_EAD8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        // The check value of CRC-32C, and RFC 3720's (iSCSI) test patterns, B.4.
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(b""), 0);
        assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
        assert_eq!(crc32c(&[0xFFu8; 32]), 0x62A8_AB43);
        let ascending: Vec<u8> = (0..32).collect();
        assert_eq!(crc32c(&ascending), 0x46DD_794E);
        let descending: Vec<u8> = (0..32).rev().collect();
        assert_eq!(crc32c(&descending), 0x113F_DB5C);
    }

    #[test]
    fn masking_rotates_right_by_15_and_adds_the_offset() {
        assert_eq!(mask(0), 0xA282_EAD8);
        // 1 rotated right by 15 is bit 17.
        assert_eq!(mask(1), 0x0002_0000 + 0xA282_EAD8);
        // Bit 15 rotated right by 15 is bit 0; the sum wraps around 2^32.
        assert_eq!(mask(0x8000), 1 + 0xA282_EAD8);
        assert_eq!(mask(0xFFFF_FFFF), 0xFFFF_FFFFu32.wrapping_add(0xA282_EAD8));
        assert_eq!(masked_crc32c(b"123456789"), mask(0xE306_9283));
    }
}
