//! Any bytes, split into header fields at `\n`: the header-map level parser
//! never panics; an accepted `tracestate` has at most 32 distinct keys and
//! re-encodes to a value that parses to the same members.
#![no_main]

use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use tower_trace_context::{
    OwnedTraceState, TRACEPARENT, TRACESTATE, TraceContextHeaders, TraceStateView,
};

fuzz_target!(|data: &[u8]| {
    let mut map = HeaderMap::new();
    let mut fields = data.split(|&b| b == b'\n');
    if let Some(Ok(tp)) = fields.next().map(HeaderValue::from_bytes) {
        map.insert(TRACEPARENT, tp);
    }
    for field in fields {
        let _ = TraceStateView::parse(field).map(|view| view.iter().count());
        if let Ok(value) = HeaderValue::from_bytes(field) {
            map.append(TRACESTATE, value);
        }
    }
    let _ = TraceContextHeaders::from_headers(&map);
    if let Ok(view) = TraceStateView::from_headers(&map) {
        let members: Vec<_> = view.iter().collect();
        assert!(members.len() <= 32);
        assert_eq!(members.len(), view.len());
        if let Some(value) = OwnedTraceState::from_view(&view).to_header_value_limited(usize::MAX) {
            let again = TraceStateView::parse(value.as_bytes()).expect("canonical form parses");
            assert!(again.iter().eq(members.iter().copied()));
        }
    }
});
