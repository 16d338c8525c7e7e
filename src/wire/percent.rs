//! Percent-decoding (RFC 3986 2.1), shared by W3C baggage values and gRPC's
//! `grpc-message`.

use std::borrow::Cow;

use crate::wire::hex::any_case_value;

/// `bytes` percent-decoded as text: `%XX` (either case) is the octet, a `%`
/// not followed by two hex digits is kept as is, and invalid UTF-8 is
/// replaced. Borrowed when there is nothing to decode.
pub(crate) fn percent_decode(bytes: &[u8]) -> Cow<'_, str> {
    if !bytes.contains(&b'%') {
        return String::from_utf8_lossy(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let octet = match (b, bytes.get(i + 1..i + 3)) {
            (b'%', Some(&[hi, lo])) => any_case_value(hi)
                .zip(any_case_value(lo))
                .map(|(h, l)| (h << 4) | l),
            _ => None,
        };
        match octet {
            Some(octet) => {
                out.push(octet);
                i += 3;
            }
            None => {
                out.push(b);
                i += 1;
            }
        }
    }
    match String::from_utf8(out) {
        Ok(s) => Cow::Owned(s),
        Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn decodes_octets_keeps_stray_percents_and_replaces_bad_utf8() {
        for (input, decoded) in [
            (&b"db%20down%3A%20retry"[..], "db down: retry"),
            (b"caf%C3%A9 100%", "caf\u{e9} 100%"),
            (b"caf%c3%a9", "caf\u{e9}"),
            (b"%zz%4", "%zz%4"),
            (b"%FF", "\u{fffd}"),
            (b"plain", "plain"),
        ] {
            assert_eq!(percent_decode(input), decoded, "{input:?}");
        }
        assert!(matches!(
            percent_decode(b"plain"),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
