//! Any bytes, split into `baggage` fields at `\n`: validation never panics;
//! an accepted baggage has at most 64 members, iteration agrees with
//! validation, and its OpenTelemetry form re-encodes to a value that parses
//! to the same decoded members.
#![no_main]

use std::collections::HashMap;

use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use tower_trace_context::{BAGGAGE, BaggageView, encode_baggage};

fuzz_target!(|data: &[u8]| {
    let mut map = HeaderMap::new();
    for field in data.split(|&b| b == b'\n') {
        if let Ok(value) = HeaderValue::from_bytes(field) {
            map.append(BAGGAGE, value);
        }
    }
    let Ok(view) = BaggageView::from_headers(&map) else {
        return;
    };
    assert!(view.len() <= 64);
    assert_eq!(view.iter().count(), view.len());
    let mut first: HashMap<String, String> = HashMap::new();
    for m in view.iter() {
        first
            .entry(m.key().to_owned())
            .or_insert_with(|| m.decoded_value().into_owned());
    }
    let baggage = view.to_baggage();
    if let Some(value) = encode_baggage(&baggage) {
        let again = BaggageView::parse(value.as_bytes()).expect("encoded baggage parses");
        for m in again.iter() {
            assert_eq!(
                first.get(m.key()).map(String::as_str),
                Some(m.decoded_value().as_ref())
            );
        }
    }
});
