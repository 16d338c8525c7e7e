//! Any bytes as the `b3` header, or split at `0xff` into the five `x-b3-*`
//! values: the parsers never panic, an accepted single value re-encodes to
//! its input, and every accepted context survives encode and parse.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tower_trace_context::b3::{B3, B3_SINGLE_MAX_LEN, B3Sampling};

fuzz_target!(|data: &[u8]| {
    let mut buf = [0; B3_SINGLE_MAX_LEN];
    if let Ok(b3) = B3::parse_single(data) {
        let written = b3.write_single(&mut buf);
        assert_eq!(written, data);
        assert_eq!(B3::parse_single(written), Ok(b3));
    }
    let mut parts = data.split(|&b| b == 0xff);
    let mut next = || parts.next().filter(|p| !p.is_empty());
    let (trace, span, parent, sampled, flags) = (next(), next(), next(), next(), next());
    if let Ok(b3) = B3::parse_multi(trace, span, parent, sampled, flags) {
        let (mut t, mut s, mut p) = ([0; 32], [0; 16], [0; 16]);
        let again = B3::parse_multi(
            Some(b3.write_trace_id(&mut t)),
            Some(b3.write_span_id(&mut s)),
            b3.write_parent_span_id(&mut p).map(|p| &*p),
            b3.sampling().sampled_header(),
            b3.sampling().flags_header(),
        );
        assert_eq!(again, Ok(b3));
        if b3.sampling() != B3Sampling::Deferred || b3.parent_span_id().is_none() {
            assert_eq!(B3::parse_single(b3.write_single(&mut buf)), Ok(b3));
        }
    }
});
