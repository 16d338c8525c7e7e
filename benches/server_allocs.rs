//! Heap allocations per request for the server layer: one axum `oneshot`
//! request with `traceparent` + a 5-member `tracestate` + a 10-member
//! `baggage`, counted with a counting global allocator, with tracing off (no
//! subscriber) and with tracing + tracing-opentelemetry + the OpenTelemetry
//! SDK (no-op exporter). Prints a Markdown table; "added" is over the bare
//! router in the same set-up.
//!
//! `cargo bench --features axum --bench server_allocs`

use http::Request;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tower::ServiceExt;
use tracing_subscriber::layer::SubscriberExt;

#[path = "support/fixtures.rs"]
mod fixtures;

use tower_trace_context_test_support::counting_alloc::{Counting, allocations};

#[global_allocator]
static GLOBAL: Counting = Counting;

#[path = "support/axum_app.rs"]
mod axum_app;

use axum_app::{NoopExporter, router};

fn request(baggage: bool) -> Request<axum::body::Body> {
    axum_app::request(
        fixtures::TP,
        fixtures::TS5,
        baggage.then_some(fixtures::BAGGAGE10),
    )
}

/// Allocations of one request through `app`, the request itself not
/// counted, the response dropped.
fn per_request(rt: &tokio::runtime::Runtime, app: &axum::Router, baggage: bool) -> usize {
    // Warm up lazily-initialised statics and the callsite cache.
    for _ in 0..3 {
        let _ = rt.block_on(app.clone().oneshot(request(baggage))).unwrap();
    }
    let req = request(baggage);
    let app = app.clone();
    // The response is dropped inside the count: the server span (and its
    // export) lives until the body is done.
    let (n, ok) = allocations(|| rt.block_on(app.oneshot(req)).unwrap().status().is_success());
    assert!(ok);
    n
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let bare = router();
    let ours = router().layer(tower_trace_context::server::TraceContextLayer::new());

    println!("| request | set-up | bare router | with TraceContextLayer | added |");
    println!("|---|---|---:|---:|---:|");
    rows(&rt, &bare, &ours, "tracing off");

    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(NoopExporter)
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("bench")));
    let _guard = tracing::subscriber::set_default(subscriber);
    rows(&rt, &bare, &ours, "tracing-opentelemetry + SDK");

    // Every variant of the request-path comparison (`benches/request_path.rs`),
    // traceparent + 5-member tracestate, tracing on (the subscriber and the
    // global tracer provider share one SDK provider), sampled and unsampled.
    drop(_guard);
    let _provider = axum_app::install_global_otel();
    println!();
    println!(
        "| variant | sampled: allocations | added over no layer | unsampled: allocations | added |"
    );
    println!("|---|---:|---:|---:|---:|");
    let sampled = axum_app::request_path_apps(false);
    let unsampled = axum_app::request_path_apps(true);
    let count = |app: &axum::Router, unsampled: bool| {
        for _ in 0..3 {
            let _ = rt
                .block_on(app.clone().oneshot(path_request(unsampled)))
                .unwrap();
        }
        let (req, app) = (path_request(unsampled), app.clone());
        let (n, ok) = allocations(|| rt.block_on(app.oneshot(req)).unwrap().status().is_success());
        assert!(ok);
        n
    };
    let base = (count(&sampled[0].2, false), count(&unsampled[0].2, true));
    for ((_, name, app), (_, _, app_unsampled)) in sampled.iter().zip(&unsampled) {
        let (n, u) = (count(app, false), count(app_unsampled, true));
        println!("| {name} | {n} | {} | {u} | {} |", n - base.0, u - base.1);
    }
}

/// A request of the request-path comparison.
fn path_request(unsampled: bool) -> Request<axum::body::Body> {
    axum_app::request(axum_app::traceparent(unsampled), fixtures::TS5, None)
}

/// One table row per request kind.
fn rows(rt: &tokio::runtime::Runtime, bare: &axum::Router, ours: &axum::Router, setup: &str) {
    for (name, baggage) in [
        ("traceparent + 5-member tracestate", false),
        (
            "traceparent + 5-member tracestate + 10-member baggage",
            true,
        ),
    ] {
        let (b, o) = (
            per_request(rt, bare, baggage),
            per_request(rt, ours, baggage),
        );
        println!("| {name} | {setup} | {b} | {o} | {} |", o - b);
    }
}
