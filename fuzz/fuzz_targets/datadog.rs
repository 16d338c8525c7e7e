//! Any bytes split at `0xff` into the five `x-datadog-*` values: the parser
//! never panics, and an accepted context survives encode and parse (ids,
//! priority, origin, and the `_dd.p.*` tags when they fit).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tower_trace_context::datadog::{
    DECIMAL_MAX_LEN, Datadog, PRIORITY_MAX_LEN, TAGS_MAX_LEN,
};

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|&b| b == 0xff);
    let trace = parts.next().unwrap_or_default();
    let parent = parts.next().unwrap_or_default();
    let mut next = || parts.next().filter(|p| !p.is_empty());
    let (priority, origin, tags) = (next(), next(), next());
    let Ok(dd) = Datadog::parse(trace, parent, priority, origin, tags) else {
        return;
    };
    let (mut t, mut p) = ([0; DECIMAL_MAX_LEN], [0; DECIMAL_MAX_LEN]);
    let mut prio = [0; PRIORITY_MAX_LEN];
    let mut tag_buf = [0; TAGS_MAX_LEN];
    let tags_out = dd.write_tags(&mut tag_buf);
    let again = Datadog::parse(
        dd.write_trace_id(&mut t),
        dd.write_parent_id(&mut p),
        dd.write_sampling_priority(&mut prio).map(|v| &*v),
        dd.origin().map(str::as_bytes),
        tags_out,
    )
    .expect("an encoded context parses");
    assert_eq!(again.trace_id_low(), dd.trace_id_low());
    assert_eq!(again.parent_id(), dd.parent_id());
    assert_eq!(again.sampling_priority(), dd.sampling_priority());
    assert_eq!(again.origin(), dd.origin());
    if tags_out.is_some() {
        assert_eq!(again.trace_id_high(), dd.trace_id_high());
        assert!(again.propagation_tags().eq(dd.propagation_tags()));
    }
});
