//! Any bytes: `TraceParent::parse` returns, never panics; what it accepts
//! re-encodes to 55 canonical bytes that parse to the same ids.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tower_trace_context::TraceParent;

fuzz_target!(|data: &[u8]| {
    if let Ok(tp) = TraceParent::parse(data) {
        let encoded = tp.encode();
        let back = TraceParent::parse(&encoded).expect("canonical form parses");
        assert_eq!(back.trace_id(), tp.trace_id());
        assert_eq!(back.parent_id(), tp.parent_id());
        assert_eq!(back.trace_flags(), tp.trace_flags());
        assert_eq!(tp.to_string().as_bytes(), &encoded[..]);
    }
});
