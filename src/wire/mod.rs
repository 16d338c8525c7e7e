//! The wire formats, each parsed without allocating: `traceparent`,
//! `tracestate`, `baggage`, the header names, and the
//! grammar they share (optional whitespace, line splitting, hex).

pub(crate) mod baggage;
pub(crate) mod context;
pub(crate) mod headers;
pub(crate) mod hex;
pub(crate) mod lines;
pub(crate) mod percent;
pub(crate) mod traceparent;
pub(crate) mod tracestate;
pub(crate) mod writer;

pub use baggage::{
    BaggageIter, BaggageMember, BaggageView, MAX_BAGGAGE_BYTES, MAX_BAGGAGE_MEMBERS,
};
pub use context::TraceContextHeaders;
pub use headers::{
    APPLICATION_INSIGHTS_HEADERS, B3_HEADERS, BAGGAGE, BROWSER_TRACE_HEADERS, DATADOG_HEADERS,
    DEFAULT_PREFLIGHT_HEADERS, NEW_RELIC_HEADERS, SENTRY_TRACE, SERVER_TIMING, TIMING_ALLOW_ORIGIN,
    TRACE_CONTEXT_HEADERS, TRACEPARENT, TRACESTATE,
};
pub use traceparent::{TRACEPARENT_LEN, TraceParent};
pub use tracestate::{
    DEFAULT_TRACESTATE_LIMIT, MAX_TRACESTATE_MEMBERS, OwnedTraceState, TraceStateIter,
    TraceStateView,
};
