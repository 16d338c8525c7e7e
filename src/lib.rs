//! Tower middleware that joins browser and backend into one W3C distributed trace.
//!
//! - A strict, zero-allocation parser and encoder for the W3C Trace Context
//!   headers `traceparent` and `tracestate` ([`TraceParent`],
//!   [`TraceStateView`], [`TraceContextHeaders`]) and the bridge to
//!   OpenTelemetry ([`extract`], [`inject`] and [`TraceContextPropagator`]).
//! - The [`server`] layer: continue the caller's trace in a server span and
//!   answer with `server-timing`, CORS and `Timing-Allow-Origin` headers.
//! - The [`client`] layer: inject trace context into outgoing requests
//!   (hyper-util, reqwest, reqwest-middleware), only to URLs a
//!   [`client::Allowlist`] admits.
//! - `html` (feature `html`): `<meta name="traceparent">` tags for page loads.
//! - W3C Baggage: a zero-allocation validating view ([`BaggageView`]), the
//!   bridge to OpenTelemetry's `Baggage` ([`extract_baggage`],
//!   [`inject_baggage`], [`BaggagePropagator`]); the server layer reads it
//!   and the client layer forwards it to allowlisted URLs.
//! - `sentry` (feature `sentry`): Sentry's `sentry-trace` header in and out,
//!   its meta tags and Server-Timing entries (see `sentry::SentrySupport`,
//!   taken by both layers).
//! - [`b3`] and [`datadog`]: B3 (Zipkin, service meshes) and Datadog trace
//!   context in and out, each opt-in on both layers, with zero-allocation
//!   parsers. Precedence when several arrive: a valid `traceparent`, then
//!   `sentry-trace`, then B3, then Datadog ([`IncomingFormat`]).
//!
//! Where things are: the W3C wire formats, their header names (and the
//! vendor preflight sets), propagation functions, [`IpNetwork`] and every
//! error type at the crate root; each layer with its configuration types in
//! its module ([`server`], [`client`], `html`); each other trace format with
//! its parser, header names and configuration in its module (`sentry`,
//! [`b3`], [`datadog`]). Each item has one path.
//!
//! | feature | adds |
//! |---|---|
//! | `axum` | the route template names the server span; axum's `ConnectInfo` as the peer address |
//! | `html` | `html::MetaTagsLayer` and `html::TraceMetaTags` |
//! | `regex` | regex allowlist rules (off by default: a default build has no regex engine) |
//! | `reqwest` | `PropagateLayer` over `reqwest::Request`; its `redirect_policy` |
//! | `reqwest-middleware` | `client::PropagateMiddleware` |
//! | `sentry` | the `sentry` module and both layers' `sentry(..)` |
//! | `tonic` | `NamedService` for the server layer's service; tonic's peer address |
//! | `tower-http` | the client layer warns when tower-http's `FollowRedirect` inside it took trace headers to a denied URL |
//!
//! # Quick start
//!
//! The server layer continues the caller's trace in a `tracing` span, which
//! `tracing-opentelemetry` turns into an OpenTelemetry span:
//!
//! ```
//! use axum::{Router, routing::get};
//! use opentelemetry::trace::TracerProvider as _;
//! use opentelemetry_sdk::trace::SdkTracerProvider;
//! use tower_trace_context::server::TraceContextLayer;
//! use tracing_subscriber::layer::SubscriberExt;
//!
//! // The OpenTelemetry SDK (add your exporter: OTLP, stdout, in-memory, ...).
//! let provider = SdkTracerProvider::builder().build();
//! // tracing -> OpenTelemetry, through the tracing-opentelemetry version this
//! // crate uses (re-exported as `tower_trace_context::tracing_opentelemetry`).
//! let subscriber = tracing_subscriber::registry()
//!     .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("my-service")));
//! tracing::subscriber::set_global_default(subscriber)?;
//!
//! let app: Router = Router::new()
//!     .route("/api/data", get(|| async { "ok" }))
//!     .layer(TraceContextLayer::new());
//! # let _ = app;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The OpenTelemetry crates must be the versions this crate is built with
//! (opentelemetry 0.33, tracing-opentelemetry 0.34; re-exported as
//! [`opentelemetry`] and [`tracing_opentelemetry`]). With another version,
//! or no OpenTelemetry layer, the server layer logs one `WARN` per process
//! and [`RequestTrace::decision`](server::RequestTrace::decision) says
//! [`PassedThrough`](server::Decision::PassedThrough).
//!
//! The W3C core on its own:
//!
//! ```
//! use http::HeaderMap;
//! use opentelemetry::trace::TraceContextExt;
//! use tower_trace_context::{extract, inject, TraceContextHeaders, TRACEPARENT, TRACESTATE};
//!
//! let mut incoming = HeaderMap::new();
//! incoming.insert(TRACEPARENT, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse()?);
//! incoming.insert(TRACESTATE, "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7".parse()?);
//!
//! // Zero-allocation view of the headers ...
//! let parsed = TraceContextHeaders::from_headers(&incoming)?;
//! assert_eq!(parsed.tracestate().get("congo"), Some("t61rcWkgMzE"));
//!
//! // ... or straight to an OpenTelemetry context.
//! let cx = extract(&incoming);
//! assert_eq!(cx.span().span_context().trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
//!
//! let mut outgoing = HeaderMap::new();
//! inject(&cx, &mut outgoing);
//! assert_eq!(outgoing[TRACESTATE], "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What "strict" means
//!
//! Every rule of W3C Trace Context Level 1 and the Level 2 additions is
//! enforced: exact length for version `00`, lowercase hex only, no all-zero
//! ids, `ff` rejected, future versions parsed by their first 55 bytes, two
//! `traceparent` fields rejected, all `tracestate` fields combined, the
//! Level 2 key grammar, and a `tracestate` with any invalid member or more
//! than 32 members discarded as a whole. Errors say which rule failed
//! ([`TraceParentError`], [`TraceStateError`]).
//!
//! # Lossless propagation
//!
//! The validated wire context is the source of truth; OpenTelemetry's types
//! are a view of it. [`extract`], the propagators and the server layer keep
//! what arrived in the OpenTelemetry `Context`, and [`inject`], the
//! propagators and the client layer start from it: `tracestate` members
//! OpenTelemetry's `TraceState` refuses go out in their places, the
//! `random` flag goes out with the trace id it came with, changes the
//! application made through OpenTelemetry's `TraceState` are applied by the
//! W3C mutation rules, and unchanged `baggage` goes out byte for byte.

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod error;
mod grpc;
#[cfg(fuzzing)]
#[doc(hidden)]
pub use grpc::fuzzing as grpc_fuzzing;
mod formats;
mod net;
mod propagation;
mod span;
mod wire;

pub mod b3;
pub mod client;
pub mod datadog;
#[cfg(feature = "html")]
pub mod html;
#[cfg(feature = "sentry")]
pub mod sentry;
pub mod server;

pub use b3::wire::B3Error;
pub use datadog::wire::DatadogError;
pub use error::{AllowlistError, BaggageError, ConfigError, TraceParentError, TraceStateError};
pub use formats::IncomingFormat;
pub use net::IpNetwork;
#[cfg(feature = "sentry")]
pub use sentry::wire::SentryTraceError;

/// Marker traits that make the compiler name the feature a method needs:
/// a feature-gated method exists without its feature, bound by a trait
/// nothing implements, whose error message says which feature to turn on.
#[doc(hidden)]
pub mod needs_feature {
    /// Implemented by nothing: the `regex` methods without feature `regex`.
    #[diagnostic::on_unimplemented(
        message = "this method needs the `regex` feature of tower-trace-context",
        label = "regex allowlist rules are behind feature `regex`",
        note = "enable it: `cargo add tower-trace-context --features regex`"
    )]
    pub trait Regex {}
}
pub use propagation::{
    BaggagePropagator, TraceContextPropagator, encode_baggage, extract, extract_baggage,
    extract_with_context, inject, inject_baggage,
};
pub use span::SpanPath;
pub use wire::{
    APPLICATION_INSIGHTS_HEADERS, B3_HEADERS, BAGGAGE, BROWSER_TRACE_HEADERS, BaggageIter,
    BaggageMember, BaggageView, DATADOG_HEADERS, DEFAULT_PREFLIGHT_HEADERS,
    DEFAULT_TRACESTATE_LIMIT, MAX_BAGGAGE_BYTES, MAX_BAGGAGE_MEMBERS, MAX_TRACESTATE_MEMBERS,
    NEW_RELIC_HEADERS, OwnedTraceState, SENTRY_TRACE, SERVER_TIMING, TIMING_ALLOW_ORIGIN,
    TRACE_CONTEXT_HEADERS, TRACEPARENT, TRACEPARENT_LEN, TRACESTATE, TraceContextHeaders,
    TraceParent, TraceStateIter, TraceStateView,
};

/// The `opentelemetry` crate this crate is built with (0.33): use it, or
/// depend on the same version, so the contexts, span contexts and
/// propagators you pass in are the ones this crate reads.
pub use opentelemetry;
/// The `tracing-opentelemetry` crate this crate is built with (0.34): the
/// server layer finds the OpenTelemetry context of its span only through a
/// layer of this version (see [`server::Unlinked::NoOpenTelemetryLayer`]).
pub use tracing_opentelemetry;

/// The `opentelemetry` version this crate is built with.
pub(crate) const OPENTELEMETRY_VERSION: &str = "0.33";
/// The `tracing-opentelemetry` version this crate is built with.
pub(crate) const TRACING_OPENTELEMETRY_VERSION: &str = "0.34";

/// Guides: how to set the layers up and why, one page each. Their code
/// blocks are doc tests. Built with the features they use (docs.rs builds
/// with all of them).
#[cfg(all(
    any(doc, doctest),
    feature = "axum",
    feature = "html",
    feature = "reqwest-middleware",
    feature = "sentry",
    feature = "tonic"
))]
pub mod guide {
    #[doc = include_str!("guide/server.md")]
    pub mod server {}
    #[doc = include_str!("guide/client.md")]
    pub mod client {}
    #[doc = include_str!("guide/frontend.md")]
    pub mod frontend {}
    #[doc = include_str!("guide/sentry.md")]
    pub mod sentry {}
    #[doc = include_str!("guide/grpc.md")]
    pub mod grpc {}
    #[doc = include_str!("guide/w3c.md")]
    pub mod w3c {}
    #[doc = include_str!("guide/performance.md")]
    pub mod performance {}
}

/// The README's code blocks, compiled and run as doc tests so they stay true
/// (`cargo test --all-features`).
#[cfg(all(
    doctest,
    feature = "axum",
    feature = "html",
    feature = "reqwest-middleware",
    feature = "sentry",
    feature = "tonic"
))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

#[cfg(test)]
mod tests {
    /// The versions the warning names are the ones Cargo.toml builds with.
    #[test]
    fn versions_match_cargo_toml() {
        let manifest = include_str!("../Cargo.toml");
        let dep = |name: &str| {
            manifest
                .lines()
                .find(|line| line.starts_with(&format!("{name} = ")))
                .and_then(|line| line.split("version = \"").nth(1))
                .and_then(|rest| rest.split('"').next())
                .map(str::to_owned)
        };
        assert_eq!(
            dep("opentelemetry").as_deref(),
            Some(super::OPENTELEMETRY_VERSION)
        );
        assert_eq!(
            dep("tracing-opentelemetry").as_deref(),
            Some(super::TRACING_OPENTELEMETRY_VERSION)
        );
    }
}
