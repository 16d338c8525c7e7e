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

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Decodes 8 lowercase hex digits at once (SWAR: all eight bytes are checked
/// and converted in one `u64`, with no per-byte branches or table lookups).
///
/// Returns the value and an error word that is non-zero when any byte is
/// not a lowercase hex digit, so callers can check several chunks at once.
#[inline(always)]
pub(crate) fn decode8(src: &[u8; 8]) -> (u32, u64) {
    let x = u64::from_be_bytes(*src);
    // With the top bit of each byte masked off, adding a constant below 0x80
    // never carries into the next byte, and each byte's top bit answers
    // "b >= bound". Bytes >= 0x80 are reported through `x & HIGH`.
    let low = x & !HIGH;
    let ge = |bound: u64| low + (0x80 - bound) * ONES;
    let digit = ge(0x30) & !ge(0x3a);
    let alpha = ge(0x61) & !ge(0x67);
    let err = (x & HIGH) | (!(digit | alpha) & HIGH);
    // '0'..'9' -> low nibble; 'a'..'f' -> low nibble + 9.
    let a = (alpha & HIGH) >> 7;
    let mut v = (x & (0x0f * ONES)) + (a << 3) + a;
    // Pack the eight nibbles (one per byte, most significant first).
    v = (v | (v >> 4)) & 0x00ff_00ff_00ff_00ff;
    v = (v | (v >> 8)) & 0x0000_ffff_0000_ffff;
    v |= v >> 16;
    (v as u32, err)
}

/// Decodes 32 lowercase hex digits.
#[inline]
pub(crate) fn decode_u128(src: &[u8; 32]) -> Option<u128> {
    let (a, rest) = src.split_first_chunk::<16>()?;
    let (b, _) = rest.split_first_chunk::<16>()?;
    Some((u128::from(decode_u64(a)?) << 64) | u128::from(decode_u64(b)?))
}

/// Decodes 16 lowercase hex digits.
#[inline]
pub(crate) fn decode_u64(src: &[u8; 16]) -> Option<u64> {
    let (a, rest) = src.split_first_chunk::<8>()?;
    let (b, _) = rest.split_first_chunk::<8>()?;
    let ((hi, e1), (lo, e2)) = (decode8(a), decode8(b));
    (e1 | e2 == 0).then_some((u64::from(hi) << 32) | u64::from(lo))
}

/// The value of a hex digit in either case (percent-encoding allows both,
/// RFC 3986 2.1); `None` for any other byte.
#[inline]
pub(crate) fn any_case_value(b: u8) -> Option<u8> {
    match DECODE[b.to_ascii_lowercase() as usize] {
        INVALID => None,
        v => Some(v),
    }
}

/// Decodes 2 lowercase hex digits.
#[inline]
pub(crate) fn decode_u8(hi: u8, lo: u8) -> Option<u8> {
    let (h, l) = (DECODE[hi as usize], DECODE[lo as usize]);
    ((h | l) & INVALID == 0).then_some((h << 4) | l)
}

/// 16 lowercase hex digits of `value`, most significant first (SWAR: the
/// nibbles are spread into bytes and turned into ASCII eight at a time).
#[inline]
pub(crate) fn encode_u64(value: u64) -> [u8; 16] {
    // 0x1234_5678 -> 0x0102_0304_0506_0708: one nibble per byte, in order.
    let spread = |half: u32| -> u64 {
        let x = u64::from(half);
        let x = (x | (x << 16)) & 0x0000_ffff_0000_ffff;
        let x = (x | (x << 8)) & 0x00ff_00ff_00ff_00ff;
        (x | (x << 4)) & 0x0f0f_0f0f_0f0f_0f0f
    };
    // 0..=9 -> '0'..='9', 10..=15 -> 'a'..='f' (no byte carries into the next).
    let ascii = |n: u64| -> u64 {
        let letters = ((n + 0x0606_0606_0606_0606) >> 4) & ONES;
        n + 0x3030_3030_3030_3030 + letters * u64::from(b'a' - b'0' - 10)
    };
    let hi = ascii(spread((value >> 32) as u32)).to_be_bytes();
    let lo = ascii(spread(value as u32)).to_be_bytes();
    let mut out = [0u8; 16];
    let (a, b) = out.split_at_mut(8);
    a.copy_from_slice(&hi);
    b.copy_from_slice(&lo);
    out
}

/// 32 lowercase hex digits of `value`, most significant first.
#[inline]
pub(crate) fn encode_u128(value: u128) -> [u8; 32] {
    let mut out = [0u8; 32];
    let (a, b) = out.split_at_mut(16);
    a.copy_from_slice(&encode_u64((value >> 64) as u64));
    b.copy_from_slice(&encode_u64(value as u64));
    out
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
    fn swar_encoding_agrees_with_the_table() {
        for value in [
            0u64,
            1,
            0x0123_4567_89ab_cdef,
            u64::MAX,
            0xa0b0_c0d0_e0f0_0909,
        ] {
            let mut expected = [0u8; 16];
            encode_into(u128::from(value), &mut expected);
            assert_eq!(encode_u64(value), expected, "{value:x}");
        }
        let value = 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736_u128;
        assert_eq!(&encode_u128(value), b"4bf92f3577b34da6a3ce929d0e0e4736");
        for shift in 0..64 {
            let value = 0x9e37_79b9_7f4a_7c15_u64.rotate_left(shift);
            let mut expected = [0u8; 16];
            encode_into(u128::from(value), &mut expected);
            assert_eq!(encode_u64(value), expected, "{value:x}");
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

    #[test]
    fn swar_agrees_with_the_table_for_every_byte_in_every_position() {
        for pos in 0..8 {
            for b in 0..=255u8 {
                let mut src = *b"0123abcd";
                src[pos] = b;
                let table = src.iter().try_fold(0u32, |acc, &c| {
                    let v = DECODE[c as usize];
                    (v != INVALID).then_some((acc << 4) | u32::from(v))
                });
                let (v, err) = decode8(&src);
                assert_eq!((err == 0).then_some(v), table, "byte {b:#04x} at {pos}");
            }
        }
    }
}
