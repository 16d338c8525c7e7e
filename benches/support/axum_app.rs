//! The axum app and requests shared by the server-layer benchmarks.
#![allow(dead_code)]

use http::Request;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// An exporter that drops every span (the SDK still builds and ends them).
#[derive(Debug)]
pub(crate) struct NoopExporter;

impl SpanExporter for NoopExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        std::hint::black_box(batch);
        Ok(())
    }
}

/// A router with one trivial handler at `/api/data`.
pub(crate) fn router() -> axum::Router {
    axum::Router::new().route("/api/data", axum::routing::get(|| async { "ok" }))
}

/// `GET /api/data` with `traceparent`, `tracestate` and, if given, `baggage`.
pub(crate) fn request(
    traceparent: &str,
    tracestate: &str,
    baggage: Option<&str>,
) -> Request<axum::body::Body> {
    let req = Request::get("/api/data")
        .header("traceparent", traceparent)
        .header("tracestate", tracestate);
    let req = match baggage {
        Some(baggage) => req.header("baggage", baggage),
        None => req,
    };
    req.body(axum::body::Body::empty()).unwrap()
}

/// The three apps every server-layer comparison runs, with the W3C
/// propagator set globally for axum-tracing-opentelemetry: the bare router,
/// with `TraceContextLayer`, and with axum-tracing-opentelemetry's
/// `OtelAxumLayer` + `OtelInResponseLayer`.
pub(crate) fn apps() -> [axum::Router; 3] {
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    [
        router(),
        router().layer(tower_trace_context::server::TraceContextLayer::new()),
        router()
            .layer(axum_tracing_opentelemetry::middleware::OtelInResponseLayer)
            .layer(axum_tracing_opentelemetry::middleware::OtelAxumLayer::default()),
    ]
}
