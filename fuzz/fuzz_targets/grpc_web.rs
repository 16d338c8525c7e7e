//! The grpc-web trailer-frame reader of the server's response body on any
//! body split into any chunks: no panic, and the same `grpc-status` /
//! `grpc-message` as a reference walk over the whole body (frames: a flag
//! byte, a big-endian 4-byte length, the payload; flag 0x80 = trailers,
//! at most 16 KiB read).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tower_trace_context::grpc_fuzzing::web_trailers;

type Found = Option<(Option<Vec<u8>>, Option<Vec<u8>>)>;

fn reference(body: &[u8]) -> Found {
    let mut i = 0;
    while body.len() - i >= 5 {
        let len = u32::from_be_bytes(body[i + 1..i + 5].try_into().unwrap()) as usize;
        let trailer = body[i] & 0x80 != 0;
        if trailer && len > 16 * 1024 {
            return None;
        }
        let payload = body.get(i + 5..i + 5 + len)?;
        if trailer {
            let (mut status, mut message) = (None, None);
            for line in payload.split(|&b| b == b'\n') {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                let Some(colon) = line.iter().position(|&b| b == b':') else {
                    continue;
                };
                let name = &line[..colon];
                let mut value = &line[colon + 1..];
                while let [b' ' | b'\t', rest @ ..] = value {
                    value = rest;
                }
                while let [rest @ .., b' ' | b'\t'] = value {
                    value = rest;
                }
                if http::HeaderValue::from_bytes(value).is_err() {
                    continue;
                }
                if name.eq_ignore_ascii_case(b"grpc-status") {
                    status = Some(value.to_vec());
                } else if name.eq_ignore_ascii_case(b"grpc-message") {
                    message = Some(value.to_vec());
                }
            }
            return Some((status, message));
        }
        i += 5 + len;
    }
    None
}

fuzz_target!(|data: &[u8]| {
    // First byte: how many split points follow (0..=7), each one byte.
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let n = usize::from(n % 8).min(rest.len());
    let (points, body) = rest.split_at(n);
    let mut cuts: Vec<usize> = points
        .iter()
        .map(|&p| usize::from(p) * body.len() / 256)
        .collect();
    cuts.sort_unstable();
    let mut chunks = Vec::new();
    let mut start = 0;
    for cut in cuts {
        chunks.push(&body[start..cut]);
        start = cut;
    }
    chunks.push(&body[start..]);
    assert_eq!(web_trailers(&chunks), reference(body), "chunks {chunks:?}");
});
