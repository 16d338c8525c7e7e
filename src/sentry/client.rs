//! Sentry on the client: `sentry-trace` and a dynamic sampling context in
//! `baggage` out, plugged into the layer's format seams.

use std::sync::Arc;

use http::{HeaderMap, HeaderValue};
use opentelemetry::Context;
use opentelemetry::trace::TraceContextExt;

use crate::client::PropagateLayer;
use crate::sentry::{SentrySupport, SentryTrace};
use crate::wire::headers::SENTRY_TRACE;

impl PropagateLayer {
    /// Sentry interop (feature `sentry`; default off), set up as on the
    /// server layer: sends Sentry's `sentry-trace` (`<trace>-<span>-<0|1>`)
    /// alongside `traceparent` to allowlisted URLs, and, when the context's
    /// `baggage` carries no dynamic sampling context for this trace (this
    /// service heads it), adds one: `sentry-trace_id`, `sentry-sampled` and
    /// the public key, environment and release set on `support` (with
    /// baggage forwarding on). `support`'s precedence, deferred-sampling and
    /// Server-Timing settings concern incoming requests and are not used
    /// here.
    ///
    /// ```
    /// use tower_trace_context::client::{Allowlist, PropagateLayer};
    /// use tower_trace_context::sentry::SentrySupport;
    /// let layer = PropagateLayer::new(Allowlist::all())
    ///     .sentry(SentrySupport::new().public_key("49d0f7386ad645858ae85020e393bef3"));
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn sentry(self, support: SentrySupport) -> Self {
        self.with_format(Arc::new(support))
    }
}

/// The client's half of [`Format`](crate::formats::Format) for Sentry; the
/// server's half is in `server.rs`.
impl SentrySupport {
    /// `sentry-trace` for `cx`'s span.
    pub(super) fn inject_sentry_trace(cx: &Context, headers: &mut HeaderMap) {
        if let Some(st) = SentryTrace::from_span_context(cx.span().span_context()) {
            headers.insert(SENTRY_TRACE, st.to_header_value());
        }
    }

    /// The `baggage` to send: a fresh dynamic sampling context only from a
    /// span of this service (`own`); a context passed through (no
    /// OpenTelemetry layer) goes on as it came.
    pub(super) fn outgoing_baggage(&self, cx: &Context, own: bool) -> Option<HeaderValue> {
        self.baggage(cx, crate::propagation::context_baggage(cx), false, own)
    }
}
