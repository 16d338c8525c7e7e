//! The server layer: continue the caller's trace, answer with
//! `server-timing`, CORS and `Timing-Allow-Origin`.
//!
//! Per request, [`TraceContextLayer`]:
//!
//! 1. parses `traceparent` / `tracestate` / `baggage` once, with the
//!    zero-allocation parsers (and, with `SentrySupport` on,
//!    `sentry-trace`), and keeps what arrived in the OpenTelemetry context
//!    so outgoing calls pass it on losslessly (see
//!    [`inject`](crate::inject));
//! 2. opens a server span (see [Choosing a span path](#choosing-a-span-path):
//!    by default a `tracing` span made by [`MakeSpan`], [`DefaultMakeSpan`]
//!    with the OpenTelemetry HTTP semantic conventions) whose OpenTelemetry
//!    parent is the incoming context as the [`Trust`] policy allows, with the
//!    W3C `baggage` of trusted requests in that context (see
//!    [`TraceContextLayer::baggage`]);
//! 3. inserts a [`RequestTrace`] into the request extensions and runs the
//!    inner service inside the span;
//! 4. records `http.response.status_code` (and `otel.status_code = ERROR`
//!    on 5xx or an inner error) and merges response headers, never
//!    replacing what the application set:
//!    `server-timing: traceparent;desc="00-<trace>-<server span>-<flags>"`,
//!    `Access-Control-Expose-Headers: server-timing` for requests with an
//!    `Origin`, `Timing-Allow-Origin` per [`TimingAllowOrigin`], and, on CORS
//!    preflight responses that allow the origin,
//!    `Access-Control-Allow-Headers: traceparent, tracestate, baggage`.
//!
//! Responses a shared cache may store (RFC 9111; see
//! [`TraceContextLayer::trace_cacheable_responses`]) get no trace entries in
//! `server-timing`: a cached copy would link every later visitor to this
//! request's span.
//!
//! CORS preflights (`OPTIONS` with `Access-Control-Request-Method`) skip
//! steps 1 to 3 and get only the `Access-Control-Allow-Headers` merge,
//! unless [`TraceContextLayer::trace_preflights`] is on: they carry no trace
//! context, and a span each would be a one-span trace per cross-origin call.
//!
//! Why a trace was not continued is logged as a `DEBUG` event with target
//! `tower_trace_context` (no header, which rule failed, or the policy).
//!
//! The span ends when the response body ends, fails or is dropped
//! ([`ResponseBody`]), and is entered while the body is polled: work done
//! while a response streams (server-sent events, downloads, gRPC streams)
//! is its child.
//!
//! # Choosing a span path
//!
//! [`TraceContextLayer::span_path`] picks how the server span is made; every
//! other behaviour (attributes by the HTTP and RPC semantic conventions,
//! `server-timing`, meta tags, [`RequestTrace`], the [`Trust`] policy, gRPC
//! status from the head, the trailers or grpc-web frames, lossless
//! propagation, preflight and cacheable-response rules) is the same on both.
//!
//! - [`SpanPath::Tracing`](crate::SpanPath::Tracing) (the default): a `tracing` span, which
//!   tracing-opentelemetry turns into an OpenTelemetry span. `tracing`
//!   filters and `fmt` output see it (fields: name, method, route, status;
//!   the other attributes go to the OpenTelemetry span in one batch when it
//!   records), [`MakeSpan`] replaces it, `tracing::Span::current()` is it.
//! - [`SpanPath::OpenTelemetry`](crate::SpanPath::OpenTelemetry): an OpenTelemetry span started directly
//!   with the global tracer provider's tracer (instrumentation scope
//!   `tower-trace-context`, taken on first use) or the one given to
//!   [`TraceContextLayer::tracer`], made the current OpenTelemetry context
//!   around the inner call and every poll of the response future and body,
//!   and ended explicitly when the body ends, fails or is dropped. It costs
//!   less (see the performance guide, `guide::performance`), and gives up:
//!   - `tracing::Span::current()` is not the server span: use
//!     `opentelemetry::Context::current()` (or [`RequestTrace::context`]);
//!   - `tracing` filters and `fmt` output do not see it, and
//!     [`TraceContextLayer::make_span`] is not used;
//!   - events outside a handler's `tracing` span do not become span events
//!     (the OpenTelemetry logs bridge still correlates them by the current
//!     context);
//!   - a `tracing` span made outside the layer (tower-http's `TraceLayer`,
//!     say) is not its parent: the parent is the remote context, or the
//!     current OpenTelemetry context.
//!
//!   Handler `tracing` spans are still its children: tracing-opentelemetry
//!   parents a span without a `tracing` parent on the current OpenTelemetry
//!   context. With no tracer provider installed the no-op tracer starts no
//!   span of its own: the layer logs one `WARN` per process, says
//!   [`Decision::PassedThrough`]`(`[`Unlinked::NoTracerProvider`]`)`, passes
//!   the incoming context through, and writes no `server-timing` (it would
//!   name the caller's span as the server's).
//!
//! Spans nobody records cost little on both paths: under an unsampled
//! parent (flags `00` with a parent-based sampler) the OpenTelemetry-only
//! attributes are not computed, and the parent's `tracestate` is not
//! converted into OpenTelemetry's `TraceState` (the crate's own injection,
//! the client layer and [`inject`](crate::inject), sends it on unchanged;
//! an injector reading only OpenTelemetry's `TraceState`, such as the SDK's
//! `TraceContextPropagator`, sends none for such requests).
//!
//! ```
//! use opentelemetry::trace::TracerProvider as _;
//! use tower_trace_context::{SpanPath, server::TraceContextLayer};
//!
//! // The global tracer provider's tracer, taken on first use:
//! let layer = TraceContextLayer::new().span_path(SpanPath::OpenTelemetry);
//! # let _ = layer;
//! // Or a tracer of your own:
//! let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
//! let layer = TraceContextLayer::new().tracer(provider.tracer("my-service"));
//! # let _ = layer;
//! ```
//!
//! # Without an OpenTelemetry layer
//!
//! Nothing panics. The span has no OpenTelemetry context, so no
//! `server-timing` entry is written (there is no server span id to
//! report), and a valid incoming context is made the current OpenTelemetry
//! context while the inner service runs, so outgoing calls that inject the
//! current context pass it through unchanged. [`RequestTrace::context`]
//! holds it too, and [`RequestTrace::decision`] says
//! [`Decision::PassedThrough`] with the reason ([`Unlinked`]).
//!
//! When a subscriber is installed but has no `tracing-opentelemetry` layer
//! of the version this crate uses (0.34, with opentelemetry 0.33: an app on
//! another version compiles, and silently loses its traces), the layer logs
//! one `WARN` per process with target `tower_trace_context` naming those
//! versions. With tracing off on purpose (no subscriber, or the span
//! filtered out) nothing is logged, and the layer builds no OpenTelemetry
//! `TraceState`: `tracestate` is kept as received and validated only if an
//! outgoing call sends it on.
//!
//! # With tower-http's `CorsLayer`
//!
//! `CorsLayer` answers every preflight itself, without calling the service
//! it wraps, and replaces `Access-Control-Expose-Headers`. So this layer
//! must be **outside** it: in axum, call `.layer(TraceContextLayer)`
//! *after* `.layer(CorsLayer)`; in a `ServiceBuilder`, list this layer
//! *before* `CorsLayer`. Inside it, preflights never reach this layer, and a
//! browser drops the trace headers (or the whole request).
//!
//! ```
//! use axum::{Router, routing::get};
//! use http::{Method, header::CONTENT_TYPE};
//! use tower_http::cors::CorsLayer;
//! use tower_trace_context::{server::TraceContextLayer, TRACE_CONTEXT_HEADERS};
//!
//! let cors = CorsLayer::new()
//!     .allow_origin(["http://localhost:3000".parse().unwrap()])
//!     .allow_methods([Method::GET, Method::POST])
//!     // Either list the trace headers here, or let TraceContextLayer merge them in.
//!     .allow_headers([CONTENT_TYPE, TRACE_CONTEXT_HEADERS[0].clone(), TRACE_CONTEXT_HEADERS[1].clone()]);
//!
//! let app: Router = Router::new()
//!     .route("/api/data", get(|| async { "ok" }))
//!     .layer(cors)                         // inner
//!     .layer(TraceContextLayer::new());    // outer: added last
//! # let _ = app;
//! ```

mod body;
mod cache;
mod config;
mod future;
mod info;
mod layer;
mod make_span;
mod network;
mod policy;
mod resolve;
mod response_headers;
mod service;
mod span_path;

pub use body::ResponseBody;
pub use future::ResponseFuture;
pub use info::{Decision, RequestTrace, Unlinked};
pub use layer::TraceContextLayer;
pub use make_span::{DefaultMakeSpan, MakeSpan};
pub use network::PeerAddr;
pub use policy::{RequestHead, TimingAllowOrigin, Trust};
pub use response_headers::ServerTimingName;
pub use service::TraceContext;

pub(crate) use cache::{CacheRequest, shared_cache_may_store};
pub(crate) use config::Config;

/// The header-list merges the layer does, for responses it does not see
/// (a handler behind another router, a hand-written preflight answer).
pub mod cors {
    pub use super::response_headers::{
        list_contains, merge_allow_headers, merge_expose_headers, merge_timing_allow_origin,
    };
}
