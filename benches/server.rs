//! Per-request cost of the server layer around a trivial axum handler, with
//! tracing + tracing-opentelemetry + the OpenTelemetry SDK (no-op exporter),
//! side by side with no trace layer and with axum-tracing-opentelemetry's
//! `OtelAxumLayer` + `OtelInResponseLayer` (W3C propagator), in one run.
//!
//! `cargo bench --bench server --features axum`

// criterion's macros generate undocumented functions.
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use http::Request;
use tower::ServiceExt;

#[path = "support/axum_app.rs"]
mod axum_app;

use axum_app::router;

const TP: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn request() -> Request<axum::body::Body> {
    axum_app::request(TP, "congo=t61rcWkgMzE", None)
}

fn server(c: &mut Criterion) {
    let _provider = axum_app::install_global_otel();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let [bare, ours, theirs] = axum_app::apps();

    // Sanity: every variant answers, and both trace layers continue the trace.
    for app in [&ours, &theirs] {
        let res = rt.block_on(app.clone().oneshot(request())).unwrap();
        assert!(res.status().is_success());
    }

    let mut group = c.benchmark_group("server layer per request");
    group.bench_function("no trace layer", |b| {
        b.iter(|| rt.block_on(bare.clone().oneshot(request())).unwrap())
    });
    group.bench_function("tower-trace-context TraceContextLayer", |b| {
        b.iter(|| rt.block_on(ours.clone().oneshot(request())).unwrap())
    });
    group.bench_function(
        "axum-tracing-opentelemetry OtelAxumLayer+OtelInResponseLayer",
        |b| b.iter(|| rt.block_on(theirs.clone().oneshot(request())).unwrap()),
    );
    group.finish();

    // A CORS preflight through tower-http's `CorsLayer`, with and without
    // this layer outside it (untraced by default: only the Allow-Headers
    // merge).
    let cors = || {
        tower_http::cors::CorsLayer::new()
            .allow_origin(http::HeaderValue::from_static("http://app.localhost"))
            .allow_methods([http::Method::GET])
    };
    let bare = router().layer(cors());
    let ours = router()
        .layer(cors())
        .layer(tower_trace_context::server::TraceContextLayer::new());
    let preflight = || {
        Request::options("/api/data")
            .header("origin", "http://app.localhost")
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "traceparent")
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let res = rt.block_on(ours.clone().oneshot(preflight())).unwrap();
    assert!(res.headers().contains_key("access-control-allow-headers"));
    let mut group = c.benchmark_group("CORS preflight");
    group.bench_function("CorsLayer only", |b| {
        b.iter(|| rt.block_on(bare.clone().oneshot(preflight())).unwrap())
    });
    group.bench_function("TraceContextLayer outside CorsLayer", |b| {
        b.iter(|| rt.block_on(ours.clone().oneshot(preflight())).unwrap())
    });
    group.finish();
}

criterion_group!(benches, server);
criterion_main!(benches);
