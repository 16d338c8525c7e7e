//! The per-request value handlers read from the request extensions.

use opentelemetry::Context;
use opentelemetry::baggage::Baggage;
use opentelemetry::trace::{SpanContext, TraceContextExt};

use crate::error::TraceParentError;
use crate::formats::{Formats, IncomingFormat};
use crate::server::Trust;
use crate::wire::traceparent::TraceParent;

/// What happened to the incoming trace context of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decision {
    /// The server span continues the caller's trace (from `traceparent`).
    Continued,
    /// The server span continues the caller's trace from another format
    /// turned on in the layer, read when `traceparent` is absent or invalid
    /// (or before it, as Sentry's `SentryPrecedence` can ask).
    ContinuedFrom(IncomingFormat),
    /// A valid incoming context was not continued because of the trust policy.
    NotTrusted(Trust),
    /// No usable `traceparent`: a new trace was started.
    NewTrace(TraceParentError),
    /// A CORS preflight, not traced (see
    /// [`TraceContextLayer::trace_preflights`](crate::server::TraceContextLayer::trace_preflights)).
    Preflight,
    /// A valid incoming context the policy trusts, but no server span to
    /// continue it in (see [`Unlinked`]): it is passed on unchanged (same
    /// ids, flags, `tracestate` and `baggage`) to outgoing calls made while
    /// the request is handled, and no `server-timing` entry is written.
    PassedThrough(Unlinked),
}

/// Why the server span could not continue a trusted incoming context.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Unlinked {
    /// The server span is disabled: no `tracing` subscriber, or one whose
    /// filter turns the span off. Tracing is off on purpose; nothing is
    /// logged.
    SpanDisabled,
    /// The subscriber has no `tracing-opentelemetry` layer of the version
    /// this crate is built with (tracing-opentelemetry 0.34 with
    /// opentelemetry 0.33; see [`crate::opentelemetry`]), or that layer
    /// filters the span out. Logged once per process as a `WARN` with
    /// target `tower_trace_context`.
    NoOpenTelemetryLayer,
    /// The direct OpenTelemetry path
    /// ([`SpanPath::OpenTelemetry`](crate::SpanPath::OpenTelemetry))
    /// started no span of its own: no tracer provider is installed (the
    /// no-op tracer copies the parent's span context), or the provider is
    /// shut down. Logged once per process as a `WARN` with target
    /// `tower_trace_context`.
    NoTracerProvider,
}

impl Unlinked {
    /// A short name for logs.
    ///
    /// ```
    /// # use tower_trace_context::server::Unlinked;
    /// assert_eq!(Unlinked::NoOpenTelemetryLayer.as_str(), "no_opentelemetry_layer");
    /// ```
    #[must_use]
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::SpanDisabled => "span_disabled",
            Self::NoOpenTelemetryLayer => "no_opentelemetry_layer",
            Self::NoTracerProvider => "no_tracer_provider",
        }
    }
}

/// Trace context of the current request, inserted into the request
/// extensions by [`TraceContext`](crate::server::TraceContext) so handlers
/// can log the trace id or render meta tags.
///
/// ```
/// use axum::{Extension, Router, routing::get};
/// use tower_trace_context::server::{RequestTrace, TraceContextLayer};
///
/// async fn handler(Extension(trace): Extension<RequestTrace>) -> String {
///     match trace.traceparent() {
///         Some(tp) => format!("trace {}", tp.trace_id()),
///         None => "not traced".to_owned(),
///     }
/// }
/// let app: Router = Router::new().route("/", get(handler)).layer(TraceContextLayer::new());
/// # let _ = app;
/// ```
#[derive(Clone, Debug)]
pub struct RequestTrace {
    pub(crate) cx: Context,
    pub(crate) incoming: Result<TraceParent, TraceParentError>,
    pub(crate) decision: Decision,
    pub(crate) server_span: bool,
    /// The formats besides W3C the layer has on (read by Sentry's accessors
    /// and the meta tags).
    #[cfg_attr(not(any(feature = "sentry", feature = "html")), allow(dead_code))]
    pub(crate) formats: Formats,
}

impl RequestTrace {
    /// The OpenTelemetry context of the server span; without an
    /// OpenTelemetry subscriber layer, the incoming remote context (or the
    /// empty context).
    ///
    /// ```
    /// # use tower_trace_context::server::RequestTrace;
    /// # fn f(trace: &RequestTrace) {
    /// let cx = trace.context().clone(); // e.g. to `attach()` in a spawned task
    /// # let _ = cx; }
    /// ```
    #[must_use]
    pub fn context(&self) -> &Context {
        &self.cx
    }

    /// The span context of [`RequestTrace::context`]. For an unsampled
    /// request its `TraceState` is empty: the incoming `tracestate` is not
    /// converted into OpenTelemetry's type for spans nobody records; the
    /// crate's injection (and [`TraceMetaTags`](crate::html::TraceMetaTags))
    /// still send it on.
    #[must_use]
    pub fn span_context(&self) -> SpanContext {
        self.cx.span().span_context().clone()
    }

    /// `traceparent` of the server span (trace id, server span id, flags):
    /// what `server-timing` and meta tags carry. `None` without an
    /// OpenTelemetry layer. The `random` flag is the incoming one for a
    /// continued trace (OpenTelemetry's span context does not keep it), and
    /// set on a new trace when
    /// [`TraceContextLayer::random_trace_ids`](crate::server::TraceContextLayer::random_trace_ids)
    /// is on.
    #[must_use]
    pub fn traceparent(&self) -> Option<TraceParent> {
        if !self.server_span {
            return None;
        }
        crate::propagation::outgoing_traceparent(&self.cx, self.cx.span().span_context(), false)
    }

    /// The W3C baggage of the request's context: what the request brought
    /// (when the layer reads baggage and trusts the caller), for the handler
    /// to read or extend. With tracing off (no server span) the incoming
    /// baggage is not put into the OpenTelemetry context as `Baggage` (it is
    /// still passed on to outgoing calls as received): read it here, where
    /// it is converted on first use.
    ///
    /// ```
    /// # use tower_trace_context::server::RequestTrace;
    /// # fn f(trace: &RequestTrace) {
    /// let tenant = trace.baggage().get("tenant").map(|v| v.as_str().to_owned());
    /// # let _ = tenant; }
    /// ```
    #[must_use]
    pub fn baggage(&self) -> &Baggage {
        crate::propagation::context_baggage(&self.cx)
    }

    /// The `traceparent` the request arrived with, or why there was none.
    pub fn incoming(&self) -> Result<TraceParent, TraceParentError> {
        self.incoming
    }

    /// What the layer did with the incoming context.
    #[must_use]
    pub fn decision(&self) -> Decision {
        self.decision
    }
}
