//! A unary tonic call (tonic-health `Check`) over loopback TCP, client and
//! server in one current-thread runtime, tracing + tracing-opentelemetry +
//! the SDK (simple processor, dropping exporter) installed for every
//! variant:
//!
//! - `bare`: no layers;
//! - the floor: one server span (tonic's `trace_fn`), nothing else;
//! - the hand-written minimum: a `trace_fn` span parented with the global
//!   propagator's extract, and a client interceptor injecting the current
//!   span's context;
//! - `ours`: `TraceContextLayer` on the service, `PropagateLayer` (target
//!   allowlisted, origin set) on the channel;
//! - `ours, SpanPath::OpenTelemetry`: both layers on the direct path;
//! - `tonic-tracing-opentelemetry`: its server `OtelGrpcLayer` and client
//!   `OtelGrpcLayer` (W3C propagator set globally for it).
//!
//! Then the heap allocations of one call (client and server together) for
//! each, counted with a counting global allocator.
//!
//! `cargo bench --features tonic --bench tonic`

use std::net::SocketAddr;

use criterion::Criterion;
use http::uri::Scheme;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tonic::transport::{Channel, Server};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use tower::ServiceBuilder;
use tower_layer::Layer;
use tower_trace_context::SpanPath;
use tower_trace_context::client::{Allowlist, PropagateLayer};
use tower_trace_context::server::TraceContextLayer;
use tracing::level_filters::LevelFilter;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;

use tower_trace_context_test_support::counting_alloc::{self, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Drops every span (the SDK still builds and ends them).
#[derive(Debug)]
struct NoopExporter;

impl opentelemetry_sdk::trace::SpanExporter for NoopExporter {
    async fn export(
        &self,
        batch: Vec<opentelemetry_sdk::trace::SpanData>,
    ) -> opentelemetry_sdk::error::OTelSdkResult {
        std::hint::black_box(batch);
        Ok(())
    }
}

/// The client half of the hand-written minimum: a tonic interceptor
/// writing the current span's context into the metadata.
#[allow(clippy::result_large_err)]
fn inject_current(mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
    struct Metadata<'a>(&'a mut tonic::metadata::MetadataMap);
    impl opentelemetry::propagation::Injector for Metadata<'_> {
        fn set(&mut self, key: &str, value: String) {
            if let (Ok(key), Ok(value)) = (
                tonic::metadata::MetadataKey::from_bytes(key.as_bytes()),
                tonic::metadata::MetadataValue::try_from(value),
            ) {
                self.0.insert(key, value);
            }
        }
    }
    let cx = tracing::Span::current().context();
    opentelemetry::global::get_text_map_propagator(|p| {
        p.inject_context(&cx, &mut Metadata(req.metadata_mut()))
    });
    Ok(req)
}

#[derive(Clone, Copy, Debug)]
enum Variant {
    Bare,
    Floor,
    HandWritten,
    Ours,
    OursDirect,
    Tto,
}

/// Starts a server for `variant`; returns its address and a channel to it.
async fn start(variant: Variant) -> (SocketAddr, Channel) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("", tonic_health::ServingStatus::Serving)
        .await;
    let incoming = tonic::codegen::tokio_stream::wrappers::TcpListenerStream::new(listener);
    match variant {
        Variant::Bare => {
            let router = Server::builder().add_service(health);
            tokio::spawn(async move { router.serve_with_incoming(incoming).await.unwrap() });
        }
        Variant::Ours => {
            let router = Server::builder().add_service(TraceContextLayer::new().layer(health));
            tokio::spawn(async move { router.serve_with_incoming(incoming).await.unwrap() });
        }
        Variant::OursDirect => {
            let layer = TraceContextLayer::new().span_path(SpanPath::OpenTelemetry);
            let router = Server::builder().add_service(layer.layer(health));
            tokio::spawn(async move { router.serve_with_incoming(incoming).await.unwrap() });
        }
        Variant::Floor => {
            let router = Server::builder()
                .trace_fn(|_| tracing::info_span!("grpc request"))
                .add_service(health);
            tokio::spawn(async move { router.serve_with_incoming(incoming).await.unwrap() });
        }
        Variant::HandWritten => {
            // Ten lines a user could write: the global propagator's extract,
            // a span with the path as its name, `set_parent`.
            let router = Server::builder()
                .trace_fn(|req| {
                    let extractor = opentelemetry_http::HeaderExtractor(req.headers());
                    let parent =
                        opentelemetry::global::get_text_map_propagator(|p| p.extract(&extractor));
                    let span = tracing::info_span!(
                        "grpc request",
                        otel.kind = "server",
                        otel.name = req.uri().path(),
                    );
                    let _ = span.set_parent(parent);
                    span
                })
                .add_service(health);
            tokio::spawn(async move { router.serve_with_incoming(incoming).await.unwrap() });
        }
        Variant::Tto => {
            let router = Server::builder()
                .layer(tonic_tracing_opentelemetry::middleware::server::OtelGrpcLayer::default())
                .add_service(health);
            tokio::spawn(async move { router.serve_with_incoming(incoming).await.unwrap() });
        }
    }
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    (addr, channel)
}

/// One `Check` inside a `caller` span, as a traced application makes it
/// (a macro: the three clients have three types).
macro_rules! call {
    ($client:expr) => {{
        let caller = tracing::info_span!("caller");
        let response =
            tracing::Instrument::instrument($client.check(HealthCheckRequest::default()), caller)
                .await
                .unwrap();
        std::hint::black_box(response);
    }};
}

/// Allocations of one call, client and server together (one thread: the
/// runtime is current-thread), after a warm-up (connection buffers,
/// callsite caches).
macro_rules! allocations_per_call {
    ($rt:expr, $client:expr) => {{
        for _ in 0..20 {
            $rt.block_on(async { call!($client) });
        }
        let rounds = 100u32;
        let (n, ()) = counting_alloc::allocations(|| {
            for _ in 0..rounds {
                $rt.block_on(async { call!($client) });
            }
        });
        n as f64 / f64::from(rounds)
    }};
}

fn main() {
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(NoopExporter)
        .build();
    // Every span of the three layers (tonic-tracing-opentelemetry's are at
    // TRACE), none of the transport's own.
    let filter = Targets::new()
        .with_default(LevelFilter::TRACE)
        .with_target("h2", LevelFilter::OFF)
        .with_target("hyper", LevelFilter::OFF)
        .with_target("hyper_util", LevelFilter::OFF)
        // Prefixes: `tower` alone would match `tower_trace_context`.
        .with_target("tower::", LevelFilter::OFF)
        .with_target("tonic::", LevelFilter::OFF);
    let subscriber = tracing_subscriber::registry()
        .with(filter)
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("bench")));
    tracing::subscriber::set_global_default(subscriber).unwrap();
    // The direct path takes the global provider's tracer.
    opentelemetry::global::set_tracer_provider(provider.clone());

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (_, channel) = rt.block_on(start(Variant::Bare));
    let mut bare = HealthClient::new(channel);
    let (addr, channel) = rt.block_on(start(Variant::Ours));
    let allow = Allowlist::builder().host("127.0.0.1").build().unwrap();
    let layer = PropagateLayer::new(allow).origin(Scheme::HTTP, addr.to_string().parse().unwrap());
    let mut ours = HealthClient::new(ServiceBuilder::new().layer(layer).service(channel));
    // The floor: one server span per call and nothing else (tonic's own
    // `trace_fn`; no parent, no propagation).
    let (_, channel) = rt.block_on(start(Variant::Floor));
    let mut floor = HealthClient::new(channel);
    // The hand-written minimum: the server above, and a client interceptor
    // that injects the current span's context with the global propagator.
    let (_, channel) = rt.block_on(start(Variant::HandWritten));
    let mut hand_written = HealthClient::with_interceptor(channel, inject_current);
    // The two halves of ours on their own: which side costs what.
    let (_, channel) = rt.block_on(start(Variant::Ours));
    let mut ours_server = HealthClient::new(channel);
    let (addr, channel) = rt.block_on(start(Variant::Bare));
    let allow = Allowlist::builder().host("127.0.0.1").build().unwrap();
    let layer = PropagateLayer::new(allow).origin(Scheme::HTTP, addr.to_string().parse().unwrap());
    let mut ours_client = HealthClient::new(ServiceBuilder::new().layer(layer).service(channel));
    // Both layers on the direct OpenTelemetry path.
    let (addr, channel) = rt.block_on(start(Variant::OursDirect));
    let allow = Allowlist::builder().host("127.0.0.1").build().unwrap();
    let layer = PropagateLayer::new(allow)
        .origin(Scheme::HTTP, addr.to_string().parse().unwrap())
        .span_path(SpanPath::OpenTelemetry);
    let mut ours_direct = HealthClient::new(ServiceBuilder::new().layer(layer).service(channel));
    let (_, channel) = rt.block_on(start(Variant::Tto));
    let mut tto = HealthClient::new(
        ServiceBuilder::new()
            .layer(tonic_tracing_opentelemetry::middleware::client::OtelGrpcLayer)
            .service(channel),
    );

    // `TONIC_BENCH_ONLY=<variant>:<calls>`: just that many calls of one
    // variant, no criterion (for callgrind / perf: subtract two call counts
    // to drop start-up).
    if let Ok(only) = std::env::var("TONIC_BENCH_ONLY") {
        let (variant, calls) = only.split_once(':').expect("<variant>:<calls>");
        let calls: u32 = calls.parse().expect("a number of calls");
        for _ in 0..calls {
            rt.block_on(async {
                match variant {
                    "bare" => call!(bare),
                    "floor" => call!(floor),
                    "hand-written" => call!(hand_written),
                    "ours" => call!(ours),
                    "ours-direct" => call!(ours_direct),
                    "ours-server" => call!(ours_server),
                    "ours-client" => call!(ours_client),
                    "tto" => call!(tto),
                    other => panic!("no variant {other}"),
                }
            });
        }
        return;
    }

    let mut criterion = Criterion::default().configure_from_args();
    {
        let mut group = criterion.benchmark_group("tonic_unary");
        group.bench_function("bare", |b| b.iter(|| rt.block_on(async { call!(bare) })));
        group.bench_function("ours", |b| b.iter(|| rt.block_on(async { call!(ours) })));
        group.bench_function("ours, SpanPath::OpenTelemetry", |b| {
            b.iter(|| rt.block_on(async { call!(ours_direct) }))
        });
        group.bench_function("hand-written minimum", |b| {
            b.iter(|| rt.block_on(async { call!(hand_written) }))
        });
        group.bench_function("floor (one server span)", |b| {
            b.iter(|| rt.block_on(async { call!(floor) }))
        });
        group.bench_function("ours, server layer only", |b| {
            b.iter(|| rt.block_on(async { call!(ours_server) }))
        });
        group.bench_function("ours, client layer only", |b| {
            b.iter(|| rt.block_on(async { call!(ours_client) }))
        });
        group.bench_function("tonic-tracing-opentelemetry", |b| {
            b.iter(|| rt.block_on(async { call!(tto) }))
        });
        group.finish();
    }
    criterion.final_summary();

    // The filter above must let this crate's spans through.
    assert!(
        tracing::enabled!(target: "tower_trace_context::server::make_span", tracing::Level::INFO)
    );

    println!("| set-up | variant | allocations per call | added over bare |");
    println!("|---|---|---:|---:|");
    let traced = [
        allocations_per_call!(rt, bare),
        allocations_per_call!(rt, hand_written),
        allocations_per_call!(rt, ours),
        allocations_per_call!(rt, tto),
    ];
    // No subscriber: no span allocates, what is left is the layers' own
    // (the body wrappers among them).
    let untraced =
        tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::new(), || {
            [
                allocations_per_call!(rt, bare),
                allocations_per_call!(rt, hand_written),
                allocations_per_call!(rt, ours),
                allocations_per_call!(rt, tto),
            ]
        });
    let names = [
        "bare",
        "hand-written minimum",
        "ours",
        "tonic-tracing-opentelemetry",
    ];
    for (setup, counts) in [
        ("tracing-opentelemetry + SDK", traced),
        ("no subscriber", untraced),
    ] {
        for (name, n) in names.iter().zip(counts) {
            println!("| {setup} | {name} | {n:.1} | {:.1} |", n - counts[0]);
        }
    }
    drop(provider);
}
