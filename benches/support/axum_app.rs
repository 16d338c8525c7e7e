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

/// Installs tracing + tracing-opentelemetry + the SDK (simple processor,
/// [`NoopExporter`]) as the global subscriber; returns the provider, which
/// must outlive the measurements.
pub(crate) fn install_global_otel() -> opentelemetry_sdk::trace::SdkTracerProvider {
    install_global_otel_with(false)
}

/// [`install_global_otel`]; `lean`: tracing-opentelemetry without its
/// per-span extras (thread name and id, code location, busy/idle times).
pub(crate) fn install_global_otel_with(lean: bool) -> opentelemetry_sdk::trace::SdkTracerProvider {
    use opentelemetry::trace::TracerProvider as _;
    use tracing_subscriber::layer::SubscriberExt;
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_simple_exporter(NoopExporter)
        .build();
    let layer = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("bench"))
        .with_threads(!lean)
        .with_location(!lean)
        .with_tracked_inactivity(!lean);
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
    // The direct-OpenTelemetry variants take the global provider's tracer.
    opentelemetry::global::set_tracer_provider(provider.clone());
    provider
}

/// The `traceparent` of the requests: sampled, or flags `00` (under the
/// SDK's default parent-based sampler, nothing is recorded).
pub(crate) fn traceparent(unsampled: bool) -> &'static str {
    match unsampled {
        false => "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        true => "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
    }
}

/// The 5-member `tracestate` of the requests.
pub(crate) const TRACESTATE: &str =
    "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7,vendor@tenant=abc123,foo=bar,dd=s:1;o:rum";

/// The remote context the requests carry, extracted once by the SDK's
/// propagator: the floors' fixed parents.
fn fixed_parent(unsampled: bool) -> &'static opentelemetry::Context {
    use opentelemetry::propagation::TextMapPropagator;
    use std::sync::LazyLock;
    fn extract(unsampled: bool) -> opentelemetry::Context {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            "traceparent",
            http::HeaderValue::from_static(traceparent(unsampled)),
        );
        headers.insert("tracestate", http::HeaderValue::from_static(TRACESTATE));
        opentelemetry_sdk::propagation::TraceContextPropagator::new()
            .extract(&opentelemetry_http::HeaderExtractor(&headers))
    }
    static SAMPLED: LazyLock<opentelemetry::Context> = LazyLock::new(|| extract(false));
    static UNSAMPLED: LazyLock<opentelemetry::Context> = LazyLock::new(|| extract(true));
    match unsampled {
        false => &SAMPLED,
        true => &UNSAMPLED,
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

/// A server span made per request by `make`, entered around the inner
/// service's future with `tracing::Instrument`: the shape of the floor and
/// of the hand-written variant below (no boxing, no response headers).
#[derive(Clone)]
pub(crate) struct SpanLayer(pub(crate) fn(&Request<axum::body::Body>) -> tracing::Span);

impl<S> tower::Layer<S> for SpanLayer {
    type Service = SpanService<S>;

    fn layer(&self, inner: S) -> SpanService<S> {
        SpanService {
            inner,
            make: self.0,
        }
    }
}

#[derive(Clone)]
pub(crate) struct SpanService<S> {
    inner: S,
    make: fn(&Request<axum::body::Body>) -> tracing::Span,
}

impl<S> tower::Service<Request<axum::body::Body>> for SpanService<S>
where
    S: tower::Service<Request<axum::body::Body>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = tracing::instrument::Instrumented<S::Future>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<axum::body::Body>) -> Self::Future {
        use tracing::Instrument;
        let span = (self.make)(&req);
        let future = {
            let _entered = span.enter();
            self.inner.call(req)
        };
        future.instrument(span)
    }
}

/// The floor any tracing-based layer pays: an `info_span!` whose parent is
/// a remote context extracted once, at start-up, from the same
/// `traceparent` + 5-member `tracestate` the requests carry (the SDK copies
/// the parent's `TraceState` into every child); nothing read from the
/// request, nothing written to the response.
pub(crate) fn floor_span(_: &Request<axum::body::Body>) -> tracing::Span {
    floor(false)
}

/// [`floor_span`] under the unsampled parent.
pub(crate) fn floor_span_unsampled(_: &Request<axum::body::Body>) -> tracing::Span {
    floor(true)
}

fn floor(unsampled: bool) -> tracing::Span {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let span = tracing::info_span!("request");
    let _ = span.set_parent(fixed_parent(unsampled).clone());
    span
}

/// The floor of the direct-OpenTelemetry path: the global tracer's
/// `start_with_context` under the fixed parent, the context attached
/// around the inner call and on every poll
/// (`opentelemetry::context::FutureExt`), the span ended when the future
/// is done; nothing read from the request, nothing written.
#[derive(Clone)]
pub(crate) struct DirectFloorLayer(pub(crate) bool);

impl<S> tower::Layer<S> for DirectFloorLayer {
    type Service = DirectFloor<S>;

    fn layer(&self, inner: S) -> DirectFloor<S> {
        DirectFloor {
            inner,
            unsampled: self.0,
        }
    }
}

#[derive(Clone)]
pub(crate) struct DirectFloor<S> {
    inner: S,
    unsampled: bool,
}

impl<S> tower::Service<Request<axum::body::Body>> for DirectFloor<S>
where
    S: tower::Service<Request<axum::body::Body>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = opentelemetry::context::WithContext<S::Future>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<axum::body::Body>) -> Self::Future {
        use opentelemetry::context::FutureExt;
        use opentelemetry::trace::{SpanKind, TraceContextExt, Tracer};
        static TRACER: std::sync::LazyLock<opentelemetry::global::BoxedTracer> =
            std::sync::LazyLock::new(|| opentelemetry::global::tracer("floor"));
        let parent = fixed_parent(self.unsampled);
        let span = TRACER
            .span_builder("request")
            .with_kind(SpanKind::Server)
            .start_with_context(&*TRACER, parent);
        let cx = parent.with_span(span);
        let future = {
            let _attached = cx.clone().attach();
            self.inner.call(req)
        };
        future.with_context(cx)
    }
}

/// The hand-written minimum a user could write in ten lines: the global
/// propagator's extract, an `info_span!` with a few fields, `set_parent`,
/// `Instrument` (no response headers).
pub(crate) fn hand_written_span(req: &Request<axum::body::Body>) -> tracing::Span {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let parent = opentelemetry::global::get_text_map_propagator(|p| {
        p.extract(&opentelemetry_http::HeaderExtractor(req.headers()))
    });
    let span = tracing::info_span!(
        "HTTP request",
        otel.kind = "server",
        http.request.method = %req.method(),
        url.path = req.uri().path(),
    );
    let _ = span.set_parent(parent);
    span
}

/// The variants of the request-path comparison, `(key, description,
/// app)`, with the W3C propagator set globally: bare, an empty layer, the
/// `tracing` floor, hand-written, this crate's layer on both span paths,
/// the direct-path floor, opentelemetry-instrumentation-tower (tracing
/// only, metrics off; global provider and propagator) and
/// axum-tracing-opentelemetry. `unsampled`: the floors' fixed parents are
/// the unsampled ones the requests then carry.
pub(crate) fn request_path_apps(
    unsampled: bool,
) -> Vec<(&'static str, &'static str, axum::Router)> {
    use tower_trace_context::{SpanPath, server::TraceContextLayer};
    let [bare, ours, theirs] = apps();
    let oitower = opentelemetry_instrumentation_tower::http::server::LayerBuilder::builder()
        .with_metrics(false)
        .build()
        .expect("layer");
    vec![
        ("bare", "no trace layer", bare),
        (
            "empty-layer",
            "an empty tower layer (what axum adds per layer)",
            router().layer(tower::layer::util::Identity::new()),
        ),
        (
            "floor",
            "floor: info_span! + set_parent to a fixed context",
            router().layer(SpanLayer(match unsampled {
                false => floor_span,
                true => floor_span_unsampled,
            })),
        ),
        (
            "hand-written",
            "hand-written: extract + info_span! + set_parent",
            router().layer(SpanLayer(hand_written_span)),
        ),
        ("ours", "tower-trace-context TraceContextLayer", ours),
        (
            "direct-floor",
            "direct floor: start_with_context + attach + end",
            router().layer(DirectFloorLayer(unsampled)),
        ),
        (
            "direct",
            "tower-trace-context, SpanPath::OpenTelemetry",
            router().layer(TraceContextLayer::new().span_path(SpanPath::OpenTelemetry)),
        ),
        (
            "ours-formats",
            "tower-trace-context, B3 and Datadog in on",
            router().layer(
                TraceContextLayer::new()
                    .b3(tower_trace_context::b3::B3Support::new())
                    .datadog(tower_trace_context::datadog::DatadogSupport::new()),
            ),
        ),
        (
            "direct-formats",
            "tower-trace-context, SpanPath::OpenTelemetry, B3 and Datadog in on",
            router().layer(
                TraceContextLayer::new()
                    .span_path(SpanPath::OpenTelemetry)
                    .b3(tower_trace_context::b3::B3Support::new())
                    .datadog(tower_trace_context::datadog::DatadogSupport::new()),
            ),
        ),
        (
            "oitower",
            "opentelemetry-instrumentation-tower 0.19 (tracing only)",
            router().layer(oitower),
        ),
        ("ato", "axum-tracing-opentelemetry", theirs),
    ]
}
