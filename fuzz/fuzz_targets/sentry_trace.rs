//! Any bytes: `SentryTrace::parse` never panics, and an accepted value
//! re-encodes to its trimmed input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tower_trace_context::sentry::SentryTrace;

fuzz_target!(|data: &[u8]| {
    if let Ok(st) = SentryTrace::parse(data) {
        let trimmed = data
            .iter()
            .position(|b| !matches!(b, b' ' | b'\t'))
            .map(|start| {
                let end = data
                    .iter()
                    .rposition(|b| !matches!(b, b' ' | b'\t'))
                    .unwrap_or(start);
                &data[start..=end]
            })
            .unwrap_or_default();
        assert_eq!(st.to_string().as_bytes(), trimmed);
    }
});
