//! The request path with tracing on, every variant in one run: an axum
//! router with one trivial handler, tracing + tracing-opentelemetry 0.34 +
//! the SDK (simple processor, no-op exporter), request with `traceparent` +
//! a 5-member `tracestate`. Variants: no layer; the floor any tracing-based
//! layer pays (an `info_span!` with `set_parent` to a context extracted once
//! at start-up); the hand-written minimum (global propagator extract,
//! `info_span!`, `set_parent`, `Instrument`); this crate's
//! `TraceContextLayer` on both span paths; the direct-path floor
//! (`start_with_context` + attach + end under a fixed parent);
//! opentelemetry-instrumentation-tower (tracing only);
//! axum-tracing-opentelemetry. Each sampled and unsampled (flags 00 under
//! the SDK's default parent-based sampler).
//!
//! `cargo bench --features axum --bench request_path`

// criterion's macros generate undocumented functions.
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use tower::ServiceExt;

#[path = "support/axum_app.rs"]
mod axum_app;
#[path = "support/fixtures.rs"]
mod fixtures;

fn request(unsampled: bool) -> http::Request<axum::body::Body> {
    axum_app::request(axum_app::traceparent(unsampled), fixtures::TS5, None)
}

fn request_path(c: &mut Criterion) {
    let _provider = axum_app::install_global_otel();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for unsampled in [false, true] {
        let apps = axum_app::request_path_apps(unsampled);
        for (_, _, app) in &apps {
            let res = rt
                .block_on(app.clone().oneshot(request(unsampled)))
                .unwrap();
            assert!(res.status().is_success());
        }
        let mut group = c.benchmark_group(match unsampled {
            false => "request path, traceparent + 5-member tracestate",
            true => "request path, unsampled (flags 00, parent-based sampler)",
        });
        for (_, name, app) in &apps {
            group.bench_function(*name, |b| {
                b.iter(|| {
                    rt.block_on(app.clone().oneshot(request(unsampled)))
                        .unwrap()
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, request_path);
criterion_main!(benches);
