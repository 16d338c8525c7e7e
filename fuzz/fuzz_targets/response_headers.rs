//! The response-header merges on any existing values (several lines, junk,
//! `*`): what was there stays, in order; merging twice changes nothing the
//! second time; the returned flag says whether a line was added.
#![no_main]

use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_EXPOSE_HEADERS,
};
use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use tower_trace_context::server::cors::{
    merge_allow_headers, merge_expose_headers, merge_timing_allow_origin,
};
use tower_trace_context::{BROWSER_TRACE_HEADERS, TIMING_ALLOW_ORIGIN, TRACE_CONTEXT_HEADERS};

const NAMES: [HeaderName; 4] = [
    ACCESS_CONTROL_ALLOW_HEADERS,
    ACCESS_CONTROL_EXPOSE_HEADERS,
    TIMING_ALLOW_ORIGIN,
    ACCESS_CONTROL_ALLOW_CREDENTIALS,
];

fuzz_target!(|data: &[u8]| {
    let mut lines = data.split(|&b| b == b'\n');
    let origin = lines.next().and_then(|o| HeaderValue::from_bytes(o).ok());
    let mut headers = HeaderMap::new();
    for line in lines.take(16) {
        let Some((&k, value)) = line.split_first() else {
            continue;
        };
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.append(NAMES[usize::from(k) % NAMES.len()].clone(), value);
        }
    }
    let before = headers.clone();
    let tokens: &[HeaderName] = match data.first().copied().unwrap_or(0) % 2 {
        0 => &TRACE_CONTEXT_HEADERS,
        _ => &BROWSER_TRACE_HEADERS,
    };
    let merge = |h: &mut HeaderMap| {
        let mut changed = [
            merge_allow_headers(h, tokens),
            merge_expose_headers(h),
            false,
        ];
        if let Some(origin) = &origin {
            changed[2] = merge_timing_allow_origin(h, origin);
        }
        changed
    };
    let counts = |h: &HeaderMap| {
        NAMES
            .iter()
            .map(|n| h.get_all(n).iter().count())
            .collect::<Vec<_>>()
    };
    let n0 = counts(&headers);
    let changed = merge(&mut headers);
    let n1 = counts(&headers);
    // What was there stays, in its order, at the front.
    for name in &NAMES {
        let old: Vec<_> = before.get_all(name).iter().collect();
        let new: Vec<_> = headers.get_all(name).iter().collect();
        assert!(new.len() >= old.len(), "{name}: lines dropped");
        assert_eq!(
            &new[..old.len()],
            &old[..],
            "{name}: lines changed or reordered"
        );
    }
    // The flags say what changed.
    assert_eq!(changed[0], n1[0] > n0[0], "allow-headers flag");
    assert_eq!(changed[1], n1[1] > n0[1], "expose-headers flag");
    assert_eq!(changed[2], n1[2] > n0[2], "timing-allow-origin flag");
    // Idempotent.
    let again = headers.clone();
    assert_eq!(
        merge(&mut headers),
        [false; 3],
        "second merge changed something"
    );
    assert_eq!(headers, again);
});
