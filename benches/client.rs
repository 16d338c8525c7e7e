//! Client layer: the inject path (allowlist match + client span + header
//! write) side by side with the same span plus opentelemetry_sdk's
//! `TraceContextPropagator` and opentelemetry-http's `HeaderInjector`;
//! reqwest GETs over loopback through `PropagateLayer` and
//! `PropagateMiddleware` on both span paths, with `client_span(false)`, and
//! the hand-written global-propagator injection; allowlist matching with 20
//! mixed rules. One run:
//!
//! `cargo bench --features reqwest-middleware --bench client`
//!
//! reqwest-tracing is not in the comparison: its newest release (0.7.1)
//! supports OpenTelemetry up to 0.32 only.
//!
//! For callgrind, `CLIENT_VARIANT=<key> CLIENT_CALLS=<n>` runs n calls of
//! one reqwest variant and exits (`bash benches/callgrind.sh client`).

// criterion's macros generate undocumented functions.
#![allow(missing_docs)]

use std::convert::Infallible;
use std::hint::black_box;

use criterion::{Criterion, criterion_group};
use http::{Request, Response};
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use tower::{Service, ServiceExt};
use tower_trace_context::client::Propagate;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;

use tower_trace_context_test_support::allowlist_fixture;

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

/// tracing + tracing-opentelemetry + the SDK (dropping exporter) as the
/// global subscriber, the provider global too (the direct path uses it), the
/// W3C propagator global (the hand-written variant uses it).
fn install() -> SdkTracerProvider {
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(NoopExporter)
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("bench")));
    tracing::subscriber::set_global_default(subscriber).unwrap();
    opentelemetry::global::set_tracer_provider(provider.clone());
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    provider
}

type Call = Box<dyn Fn(&tokio::runtime::Runtime, &str) -> u16>;

/// The reqwest variants, `(key, description, one call)`.
fn reqwest_variants(addr: std::net::SocketAddr) -> Vec<(&'static str, &'static str, Call)> {
    use tower_trace_context::SpanPath;
    use tower_trace_context::client::{Allowlist, PropagateLayer, PropagateMiddleware};
    let allow = Allowlist::builder()
        .origin(format!("http://{addr}"))
        .build()
        .unwrap();
    let http = reqwest::Client::new();
    let layer = |layer: PropagateLayer| -> Call {
        let svc = tower::ServiceBuilder::new()
            .layer(layer)
            .service(http.clone());
        Box::new(move |rt, url| {
            let req = reqwest::Request::new(http::Method::GET, url.parse().unwrap());
            rt.block_on(svc.clone().oneshot(req))
                .unwrap()
                .status()
                .as_u16()
        })
    };
    let middleware = |layer: PropagateLayer| {
        middleware_call(
            reqwest_middleware::ClientBuilder::new(http.clone())
                .with(PropagateMiddleware::new(layer))
                .build(),
        )
    };
    let plain = http.clone();
    let hand = http.clone();
    vec![
        (
            "bare",
            "reqwest, no layer",
            Box::new(move |rt, url| {
                rt.block_on(plain.get(url).send())
                    .unwrap()
                    .status()
                    .as_u16()
            }),
        ),
        (
            "middleware-bare",
            "reqwest-middleware client, no middleware",
            middleware_bare(http.clone()),
        ),
        (
            "middleware-noop",
            "reqwest-middleware client, a middleware that only calls next",
            middleware_noop(http.clone()),
        ),
        (
            "layer",
            "PropagateLayer",
            layer(PropagateLayer::new(allow.clone())),
        ),
        (
            "layer-direct",
            "PropagateLayer, SpanPath::OpenTelemetry",
            layer(PropagateLayer::new(allow.clone()).span_path(SpanPath::OpenTelemetry)),
        ),
        (
            "middleware",
            "PropagateMiddleware",
            middleware(PropagateLayer::new(allow.clone())),
        ),
        (
            "middleware-direct",
            "PropagateMiddleware, SpanPath::OpenTelemetry",
            middleware(PropagateLayer::new(allow.clone()).span_path(SpanPath::OpenTelemetry)),
        ),
        (
            "no-client-span",
            "PropagateLayer, client_span(false)",
            layer(PropagateLayer::new(allow).client_span(false)),
        ),
        (
            "hand-written",
            "hand-written: global propagator inject, no span",
            Box::new(move |rt, url| {
                let mut req = hand.get(url).build().unwrap();
                let cx = tracing::Span::current().context();
                opentelemetry::global::get_text_map_propagator(|p| {
                    p.inject_context(
                        &cx,
                        &mut opentelemetry_http::HeaderInjector(req.headers_mut()),
                    )
                });
                rt.block_on(hand.execute(req)).unwrap().status().as_u16()
            }),
        ),
    ]
}

/// A reqwest-middleware client with no middleware: what the middleware
/// variants pay before any middleware runs.
fn middleware_bare(http: reqwest::Client) -> Call {
    middleware_call(reqwest_middleware::ClientBuilder::new(http).build())
}

/// One GET through a reqwest-middleware client.
fn middleware_call(client: reqwest_middleware::ClientWithMiddleware) -> Call {
    Box::new(move |rt, url| {
        rt.block_on(client.get(url).send())
            .unwrap()
            .status()
            .as_u16()
    })
}

/// A middleware that does nothing but call the next: what any
/// reqwest-middleware middleware costs (its boxed future).
struct Noop;

#[async_trait::async_trait]
impl reqwest_middleware::Middleware for Noop {
    async fn handle(
        &self,
        req: reqwest::Request,
        extensions: &mut http::Extensions,
        next: reqwest_middleware::Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        next.run(req, extensions).await
    }
}

/// A reqwest-middleware client with [`Noop`].
fn middleware_noop(http: reqwest::Client) -> Call {
    middleware_call(
        reqwest_middleware::ClientBuilder::new(http)
            .with(Noop)
            .build(),
    )
}

/// A loopback server answering every GET.
fn serve(rt: &tokio::runtime::Runtime) -> std::net::SocketAddr {
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new().route("/{*path}", axum::routing::get(|| async { "ok" }));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        addr
    })
}

fn reqwest_calls(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let addr = serve(&rt);
    let url = format!("http://{addr}/orders");
    let parent = tracing::info_span!("caller");
    let _entered = parent.enter();
    let mut group = c.benchmark_group("reqwest GET over loopback, inside a caller span");
    for (_, name, call) in reqwest_variants(addr) {
        assert_eq!(call(&rt, &url), 200);
        group.bench_function(name, |b| b.iter(|| call(&rt, &url)));
    }
    group.finish();
}

/// `CLIENT_VARIANT` + `CLIENT_CALLS`: that many calls of one variant.
fn callgrind_mode() -> bool {
    let (Ok(key), Ok(calls)) = (
        std::env::var("CLIENT_VARIANT"),
        std::env::var("CLIENT_CALLS"),
    ) else {
        return false;
    };
    let calls: usize = calls.parse().expect("CLIENT_CALLS: a number");
    let _provider = install();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let addr = serve(&rt);
    let url = format!("http://{addr}/orders");
    let parent = tracing::info_span!("caller");
    let _entered = parent.enter();
    let (_, _, call) = reqwest_variants(addr)
        .into_iter()
        .find(|(k, _, _)| *k == key)
        .expect("CLIENT_VARIANT: a key of reqwest_variants");
    for _ in 0..calls {
        assert_eq!(call(&rt, &url), 200);
    }
    true
}

fn client(c: &mut Criterion) {
    let _provider = install();
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
    reqwest_calls(c);
}

criterion_group!(benches, client);

fn main() {
    if callgrind_mode() {
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
