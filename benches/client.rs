//! Client layer: the inject path (allowlist match + client span + header
//! write) side by side with the same span plus opentelemetry_sdk's
//! `TraceContextPropagator` and opentelemetry-http's `HeaderInjector`, and
//! allowlist matching with 20 mixed rules. One run:
//!
//! `cargo bench --bench client`

// criterion's macros generate undocumented functions.
#![allow(missing_docs)]

use std::convert::Infallible;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use http::{Request, Response};
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use tower::{Service, ServiceExt};
use tower_trace_context::client::Propagate;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;

#[path = "../tests/support/allowlist_fixture.rs"]
mod allowlist_fixture;

#[derive(Debug)]
struct NoopExporter;

impl SpanExporter for NoopExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        black_box(batch);
        Ok(())
    }
}

fn request() -> Request<()> {
    Request::get("https://svc3.internal:8443/orders?id=7")
        .body(())
        .unwrap()
}

async fn inner(req: Request<()>) -> Result<Response<()>, Infallible> {
    black_box(req.headers());
    Ok(Response::new(()))
}

fn client(c: &mut Criterion) {
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(NoopExporter)
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("bench")));
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let allow = allowlist_fixture::twenty_rules();

    let ours = Propagate::new(tower::service_fn(inner), allow.clone());
    let sdk = opentelemetry_sdk::propagation::TraceContextPropagator::new();
    let parent = tracing::info_span!("parent");
    let _entered = parent.enter();

    let mut group = c.benchmark_group("client inject path");
    group.bench_function(
        "tower-trace-context Propagate (allowlist + client span + inject)",
        |b| b.iter(|| rt.block_on(ours.clone().oneshot(request())).unwrap()),
    );
    group.bench_function(
        "same span + opentelemetry_sdk propagator + HeaderInjector",
        |b| {
            b.iter(|| {
                let mut req = request();
                let span = tracing::info_span!(
                    "HTTP client request",
                    otel.kind = "client",
                    otel.name = "GET",
                    http.request.method = "GET",
                    server.address = "svc3.internal",
                    server.port = 8443,
                    url.full = %req.uri(),
                    http.response.status_code = tracing::field::Empty,
                );
                let cx = span.context();
                sdk.inject_context(
                    &cx,
                    &mut opentelemetry_http::HeaderInjector(req.headers_mut()),
                );
                // Like any client middleware: the call runs inside the span.
                let mut svc = tower::service_fn(inner);
                let call = async { svc.ready().await.unwrap().call(req).await };
                let res = rt
                    .block_on(tracing::Instrument::instrument(call, span.clone()))
                    .unwrap();
                span.record("http.response.status_code", res.status().as_u16());
                res
            })
        },
    );
    group.finish();

    let mut group = c.benchmark_group("allowlist, 20 mixed rules");
    for url in [
        "https://svc0.internal:8443/orders",
        "https://orders.ns4.svc.cluster.local/x",
        "https://shop.eu.example.org/api/cart",
        "https://payments.thirdparty.example/charge?amount=10",
    ] {
        let uri: http::Uri = url.parse().unwrap();
        group.bench_function(url, |b| b.iter(|| allow.matches_uri(black_box(&uri))));
    }
    group.finish();

    let browser = allowlist_fixture::browser_rules();
    let mut group = c.benchmark_group("allowlist, 20 browser-style rules");
    for url in [
        "https://api3.example.com/v1/orders",
        "http://localhost:8080/api",
        "https://cdn.thirdparty.example/lib.js?v=3",
    ] {
        let uri: http::Uri = url.parse().unwrap();
        group.bench_function(url, |b| b.iter(|| browser.matches_uri(black_box(&uri))));
    }
    group.finish();
}

criterion_group!(benches, client);
criterion_main!(benches);
