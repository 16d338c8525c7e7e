//! Lowercase hexadecimal, the only form W3C Trace Context allows.

/// Marks a byte that is not a lowercase hex digit in [`DECODE`].
pub(crate) const INVALID: u8 = 0x10;

/// Maps `0-9a-f` to their value and every other byte to [`INVALID`].
///
/// Uppercase, `+`, `-` and whitespace are all invalid: `u8::from_str_radix`
/// accepts some of them, which is why the crate never uses it.
pub(crate) const DECODE: [u8; 256] = {
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// The digits used when encoding.
pub(crate) const ENCODE: &[u8; 16] = b"0123456789abcdef";

/// Decodes exactly `N` bytes of lowercase hex into an integer, or `None`.
///
/// Every byte is looked up and the invalid bits are OR-ed together, so the
/// loop has no early exit and the compiler can unroll it.
#[inline]
pub(crate) fn decode_u128(src: &[u8; 32]) -> Option<u128> {
    let mut acc: u128 = 0;
    let mut bad = 0u8;
    for &b in src {
        let v = DECODE[b as usize];
        bad |= v;
        acc = (acc << 4) | u128::from(v & 0x0f);
    }
    (bad & INVALID == 0).then_some(acc)
}

/// Decodes 16 lowercase hex digits.
#[inline]
pub(crate) fn decode_u64(src: &[u8; 16]) -> Option<u64> {
    let mut acc: u64 = 0;
    let mut bad = 0u8;
    for &b in src {
        let v = DECODE[b as usize];
        bad |= v;
        acc = (acc << 4) | u64::from(v & 0x0f);
    }
    (bad & INVALID == 0).then_some(acc)
}

/// Decodes 2 lowercase hex digits.
#[inline]
pub(crate) fn decode_u8(hi: u8, lo: u8) -> Option<u8> {
    let (h, l) = (DECODE[hi as usize], DECODE[lo as usize]);
    ((h | l) & INVALID == 0).then_some((h << 4) | l)
}

/// Writes `value` as `dst.len()` lowercase hex digits, most significant first.
#[inline]
pub(crate) fn encode_into(mut value: u128, dst: &mut [u8]) {
    for slot in dst.iter_mut().rev() {
        *slot = ENCODE[(value & 0x0f) as usize];
        value >>= 4;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_accepts_only_lowercase_hex() {
        for b in 0..=255u8 {
            let expected = b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
            assert_eq!(DECODE[b as usize] != INVALID, expected, "byte {b:#04x}");
        }
    }

    #[test]
    fn decode_encode_round_trip() {
        let mut buf = [0u8; 32];
        encode_into(0x0123_4567_89ab_cdef_fedc_ba98_7654_3210, &mut buf);
        assert_eq!(&buf, b"0123456789abcdeffedcba9876543210");
        assert_eq!(
            decode_u128(&buf),
            Some(0x0123_4567_89ab_cdef_fedc_ba98_7654_3210)
        );
        assert_eq!(decode_u8(b'f', b'F'), None);
        assert_eq!(decode_u8(b'+', b'1'), None);
        assert_eq!(decode_u8(b'0', b'9'), Some(9));
        assert_eq!(decode_u64(b"00f067aa0ba902b7"), Some(0x00f0_67aa_0ba9_02b7));
        assert_eq!(decode_u64(b"00f067aa0ba902B7"), None);
    }
}
