//! The server layer's configuration, shared by the layer, the service and
//! the response future.

use std::fmt;
use std::sync::Arc;

use http::HeaderName;

use crate::formats::Formats;
use crate::server::policy::{RequestHead, TimingAllowOrigin, Trust, TrustFn};
use crate::server::response_headers::ServerTimingName;
use crate::span::{SpanPath, TracerSlot};
use crate::wire::headers::DEFAULT_PREFLIGHT_HEADERS;

/// Shared, immutable configuration of the server layer.
#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) trust: Trust,
    pub(crate) trust_fn: Option<TrustFn>,
    /// Names of the Server-Timing entries carrying the server span's
    /// `traceparent` (empty: none).
    pub(crate) server_timing: Vec<ServerTimingName>,
    /// Name of the entry with the time until the response head, if any.
    pub(crate) server_timing_duration: Option<ServerTimingName>,
    pub(crate) expose_server_timing: bool,
    pub(crate) timing_allow_origin: TimingAllowOrigin,
    pub(crate) preflight_allow_headers: Vec<HeaderName>,
    pub(crate) baggage: bool,
    pub(crate) random_trace_ids: bool,
    pub(crate) trace_preflights: bool,
    pub(crate) trace_cacheable_responses: bool,
    /// Browser headers (`server-timing`, CORS, `Timing-Allow-Origin`) on
    /// plain gRPC responses.
    pub(crate) grpc_browser_headers: bool,
    /// The trace formats besides W3C turned on.
    pub(crate) formats: Formats,
    /// How the server span is made.
    pub(crate) span_path: SpanPath,
    /// The direct path's tracer.
    pub(crate) tracer: Arc<TracerSlot>,
}

impl Config {
    pub(crate) fn trust_for(&self, head: &RequestHead<'_>) -> Trust {
        match &self.trust_fn {
            Some(f) => f(head),
            None => self.trust,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            trust: Trust::Continue,
            trust_fn: None,
            server_timing: vec![ServerTimingName::default()],
            server_timing_duration: None,
            expose_server_timing: true,
            timing_allow_origin: TimingAllowOrigin::MirrorCors,
            preflight_allow_headers: DEFAULT_PREFLIGHT_HEADERS.to_vec(),
            baggage: true,
            random_trace_ids: false,
            trace_preflights: false,
            trace_cacheable_responses: false,
            grpc_browser_headers: false,
            formats: Formats::default(),
            span_path: SpanPath::Tracing,
            tracer: Arc::default(),
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut f = f.debug_struct("Config");
        f.field("trust", &self.trust)
            .field(
                "trust_fn",
                &self.trust_fn.as_ref().map(|_| "Fn(&RequestHead) -> Trust"),
            )
            .field("server_timing", &self.server_timing)
            .field("server_timing_duration", &self.server_timing_duration)
            .field("expose_server_timing", &self.expose_server_timing)
            .field("timing_allow_origin", &self.timing_allow_origin)
            .field("preflight_allow_headers", &self.preflight_allow_headers)
            .field("baggage", &self.baggage)
            .field("random_trace_ids", &self.random_trace_ids)
            .field("trace_preflights", &self.trace_preflights)
            .field("trace_cacheable_responses", &self.trace_cacheable_responses)
            .field("grpc_browser_headers", &self.grpc_browser_headers)
            .field("span_path", &self.span_path)
            .field("formats", &self.formats);
        f.finish()
    }
}
