//! Per-request cost of the server layer with tracing off (no `tracing`
//! subscriber, so no OpenTelemetry layer): the layer still passes the
//! incoming context through to outgoing calls, and should cost little.
//! Side by side in one run: a bare axum router, `TraceContextLayer`, and
//! axum-tracing-opentelemetry's `OtelAxumLayer` + `OtelInResponseLayer`.
//! Requests carry `traceparent` + a 5-member `tracestate` (and, in the
//! second group, a 10-member `baggage`).
//!
//! `cargo bench --features axum --bench server_untraced`

// criterion's macros generate undocumented functions.
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use http::Request;
use tower::ServiceExt;

#[path = "support/fixtures.rs"]
mod fixtures;

#[path = "support/axum_app.rs"]
mod axum_app;

fn request(baggage: bool) -> Request<axum::body::Body> {
    axum_app::request(
        fixtures::TP,
        fixtures::TS5,
        baggage.then_some(fixtures::BAGGAGE10),
    )
}

fn untraced(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let [bare, ours, theirs] = axum_app::apps();
    for app in [&bare, &ours, &theirs] {
        let res = rt.block_on(app.clone().oneshot(request(true))).unwrap();
        assert!(res.status().is_success());
    }

    for (name, baggage) in [
        ("traceparent + 5-member tracestate", false),
        ("+ 10-member baggage", true),
    ] {
        let mut group = c.benchmark_group(format!("server layer, tracing off: {name}"));
        group.bench_function("no trace layer", |b| {
            b.iter(|| rt.block_on(bare.clone().oneshot(request(baggage))).unwrap())
        });
        group.bench_function("tower-trace-context TraceContextLayer", |b| {
            b.iter(|| rt.block_on(ours.clone().oneshot(request(baggage))).unwrap())
        });
        group.bench_function(
            "axum-tracing-opentelemetry OtelAxumLayer+OtelInResponseLayer",
            |b| {
                b.iter(|| {
                    rt.block_on(theirs.clone().oneshot(request(baggage)))
                        .unwrap()
                })
            },
        );
        group.finish();
    }
}

criterion_group!(benches, untraced);
criterion_main!(benches);
