//! The main demo: one trace from a click in the browser to a downstream
//! service, shown as a waterfall in the page and as a tree in the terminal.
//!
//! ```text
//! cargo run --example demo
//! # open http://127.0.0.1:8080 and click "Checkout"; Ctrl-C stops it
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 cargo run --example demo   # also export over OTLP/HTTP
//! ```
//!
//! Four local servers: the frontend origin serving the page (`:8080`), the
//! API on another origin (`:8081`: server layer, tower-http `CorsLayer`,
//! client layer), the downstream inventory service it calls (`:8082`,
//! allowlisted) and a third-party payments service (`:8083`, not
//! allowlisted: it receives no trace headers). Finished spans are kept in
//! memory and served as JSON for the page's waterfall.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use axum::extract::{Extension, Path};
use axum::response::Html;
use axum::routing::{get, post};
use axum::{Json, Router};
use http::{HeaderMap, HeaderValue, Method, Request};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use opentelemetry::trace::{SpanKind, TraceId, TracerProvider as _};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use serde_json::{Value, json};
use tower::ServiceExt;
use tower_http::cors::CorsLayer;
use tower_trace_context::client::Allowlist;
use tower_trace_context::client::PropagateLayer;
use tower_trace_context::server::{RequestTrace, TraceContextLayer};
use tracing::field::Empty as EmptyField;
use tracing_subscriber::layer::SubscriberExt;

/// Finished spans, by trace id.
#[derive(Clone, Debug, Default)]
pub(crate) struct Store(Arc<Mutex<HashMap<TraceId, Vec<SpanData>>>>);

impl Store {
    fn spans(&self, trace: TraceId) -> Vec<SpanData> {
        self.0
            .lock()
            .map(|m| m.get(&trace).cloned().unwrap_or_default())
            .unwrap_or_default()
    }
}

impl SpanExporter for Store {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        if let Ok(mut map) = self.0.lock() {
            for span in batch {
                map.entry(span.span_context.trace_id())
                    .or_default()
                    .push(span);
            }
        }
        Ok(())
    }
}

fn millis(t: std::time::SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

fn kind(kind: &SpanKind) -> &'static str {
    match kind {
        SpanKind::Server => "server",
        SpanKind::Client => "client",
        _ => "internal",
    }
}

/// Prints the spans of a trace as a tree.
fn print_tree(trace: TraceId, spans: &[SpanData]) {
    println!("trace {trace}");
    let ids: Vec<_> = spans.iter().map(|s| s.span_context.span_id()).collect();
    fn walk(spans: &[SpanData], parent: opentelemetry::trace::SpanId, depth: usize) {
        let mut children: Vec<_> = spans
            .iter()
            .filter(|s| s.parent_span_id == parent)
            .collect();
        children.sort_by_key(|s| s.start_time);
        for s in children {
            let ms = s
                .end_time
                .duration_since(s.start_time)
                .unwrap_or_default()
                .as_secs_f64()
                * 1000.0;
            println!(
                "{}└─ {} [{}] {} {:.1} ms",
                "   ".repeat(depth),
                s.name,
                kind(&s.span_kind),
                s.span_context.span_id(),
                ms
            );
            walk(spans, s.span_context.span_id(), depth + 1);
        }
    }
    // Roots here: spans whose parent is not in this process (the browser's span).
    let mut roots: Vec<_> = spans
        .iter()
        .map(|s| s.parent_span_id)
        .filter(|p| !ids.contains(p))
        .collect();
    roots.dedup();
    for root in roots {
        println!("└─ {root} (remote parent: the browser's span)");
        walk(spans, root, 1);
    }
}

/// A server whose span names are `METHOD /path` (the `MakeSpan` hook; with
/// feature `axum` the default span uses the route template instead).
fn layer() -> TraceContextLayer<impl Fn(&Request<axum::body::Body>) -> tracing::Span + Clone> {
    TraceContextLayer::new().make_span(|req: &Request<axum::body::Body>| {
        tracing::info_span!(
            "HTTP request",
            otel.kind = "server",
            otel.name = %format_args!("{} {}", req.method(), req.uri().path()),
            http.request.method = %req.method(),
            url.path = req.uri().path(),
            http.response.status_code = EmptyField,
            otel.status_code = EmptyField,
        )
    })
}

async fn bind(port: u16) -> tokio::net::TcpListener {
    match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(listener) => listener,
        Err(_) => tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port"),
    }
}

fn spawn(listener: tokio::net::TcpListener, app: Router) {
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await;
    });
}

/// The addresses of the demo's servers.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Demo {
    pub(crate) frontend: SocketAddr,
    pub(crate) api: SocketAddr,
    pub(crate) inventory: SocketAddr,
    pub(crate) payments: SocketAddr,
}

/// Starts the four servers (ports from `base`, or free ones when taken or
/// when `base` is 0).
pub(crate) async fn start(base: u16, store: Store) -> Demo {
    // Base 0: every server on a free port (tests).
    let port = |k: u16| if base == 0 { 0 } else { base + k };
    let (frontend_l, api_l, inventory_l, payments_l) = (
        bind(port(0)).await,
        bind(port(1)).await,
        bind(port(2)).await,
        bind(port(3)).await,
    );
    let addr = |l: &tokio::net::TcpListener| l.local_addr().expect("bound");
    let demo = Demo {
        frontend: addr(&frontend_l),
        api: addr(&api_l),
        inventory: addr(&inventory_l),
        payments: addr(&payments_l),
    };

    // Downstream services: print the trace headers they receive.
    let show = |name: &'static str| {
        move |headers: HeaderMap| async move {
            let tp = headers
                .get("traceparent")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("none");
            println!("{name:>9} received traceparent: {tp}");
            Json(json!({ "ok": true }))
        }
    };
    spawn(
        inventory_l,
        Router::new()
            .route("/inventory", get(show("inventory")))
            .layer(layer()),
    );
    spawn(
        payments_l,
        Router::new().route("/charge", post(show("payments"))),
    );

    // The API: CORS for the frontend origin (trace headers are merged in by
    // the trace layer, which sits outside CorsLayer), client layer towards
    // the inventory service only.
    let allow = Allowlist::builder()
        .origin(format!("http://{}", demo.inventory))
        .build()
        .expect("valid allowlist");
    let client = tower::ServiceBuilder::new()
        .layer(PropagateLayer::new(allow))
        .service(Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>());
    let checkout = {
        let store = store.clone();
        move |Extension(trace): Extension<RequestTrace>| {
            let client = client.clone();
            let store = store.clone();
            async move {
                for (method, url) in [
                    (Method::GET, format!("http://{}/inventory", demo.inventory)),
                    (Method::POST, format!("http://{}/charge", demo.payments)),
                ] {
                    let req = Request::builder()
                        .method(method)
                        .uri(url)
                        .body(Empty::new())
                        .expect("valid request");
                    if let Ok(res) = client.clone().oneshot(req).await {
                        let _ = res.into_body().collect().await;
                    }
                }
                let trace_id = trace.span_context().trace_id();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    print_tree(trace_id, &store.spans(trace_id));
                });
                Json(json!({ "trace_id": trace_id.to_string() }))
            }
        }
    };
    let traces = move |Path(id): Path<String>| {
        let store = store.clone();
        async move {
            let spans: Vec<Value> = TraceId::from_hex(&id)
                .map(|t| store.spans(t))
                .unwrap_or_default()
                .iter()
                .map(|s| {
                    json!({
                        "name": s.name,
                        "span_id": s.span_context.span_id().to_string(),
                        "parent_id": s.parent_span_id.to_string(),
                        "kind": kind(&s.span_kind),
                        "start_ms": millis(s.start_time),
                        "end_ms": millis(s.end_time),
                    })
                })
                .collect();
            Json(spans)
        }
    };
    let cors = CorsLayer::new()
        .allow_origin(HeaderValue::from_str(&format!("http://{}", demo.frontend)).expect("origin"))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([http::header::CONTENT_TYPE]);
    spawn(
        api_l,
        Router::new()
            .route("/api/checkout", post(checkout))
            .route("/api/traces/{id}", get(traces))
            .layer(cors)
            .layer(layer()),
    );

    // The frontend origin serves the page.
    let page = include_str!("index.html").replace("__API__", &format!("http://{}", demo.api));
    spawn(
        frontend_l,
        Router::new().route("/", get(move || async move { Html(page) })),
    );
    demo
}

/// tracing + tracing-opentelemetry + the SDK exporting to `store`, and over
/// OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
pub(crate) fn install(store: Store) -> SdkTracerProvider {
    let mut builder = SdkTracerProvider::builder().with_simple_exporter(store);
    if std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_some() {
        match opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .build()
        {
            Ok(otlp) => {
                println!("also exporting over OTLP/HTTP");
                builder = builder.with_batch_exporter(otlp);
            }
            Err(err) => eprintln!("OTLP exporter not started: {err}"),
        }
    }
    let provider = builder
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name("tower-trace-context-demo")
                .build(),
        )
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("demo")));
    let _ = tracing::subscriber::set_global_default(subscriber);
    provider
}

#[allow(dead_code)]
#[tokio::main]
async fn main() {
    let store = Store::default();
    let provider = install(store.clone());
    let demo = start(8080, store).await;
    println!(
        "frontend  http://{}   <- open this page and click Checkout",
        demo.frontend
    );
    println!(
        "api       http://{}   (server layer + CorsLayer + client layer)",
        demo.api
    );
    println!(
        "inventory http://{}   (allowlisted: receives the trace)",
        demo.inventory
    );
    println!(
        "payments  http://{}   (third party: receives no trace headers)",
        demo.payments
    );
    println!("Ctrl-C stops the demo.");
    let _ = tokio::signal::ctrl_c().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let _ = provider.shutdown();
}

/// The demo, end to end in real headless Chromium (`cargo test` runs it:
/// `test = true` in Cargo.toml): click "Checkout" on the frontend origin
/// and check the page shows the joined trace.
#[cfg(test)]
mod tests {
    use serde_json::Value;
    use tower_trace_context_test_support::browser::Browser;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn checkout_shows_one_trace_from_browser_to_downstream() {
        let store = super::Store::default();
        let _provider = super::install(store.clone());
        let servers = super::start(0, store).await;

        let browser = Browser::start().await;
        browser
            .client()
            .goto(&format!("http://{}/", servers.frontend))
            .await
            .unwrap();
        let got: Value = browser
            .run(
                r#"
    document.getElementById('go').click();
    const wait = async () => {
      for (let i = 0; i < 100; i++) {
        const rows = [...document.querySelectorAll('#waterfall .row .label')].map((e) => e.textContent);
        if (rows.length >= 5) return done({ rows, status: document.getElementById('status').textContent });
        await new Promise((r) => setTimeout(r, 50));
      }
      done({ rows: [], status: document.getElementById('status').textContent });
    };
    wait();
    "#,
                vec![],
            )
            .await;
        let rows: Vec<String> = got["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_owned())
            .collect();
        let status = got["status"].as_str().unwrap();
        assert!(status.contains("names server span"), "{status}");
        // The browser span is the root, then the API's server span, its two
        // client spans, and the inventory service's server span.
        assert!(
            rows[0].starts_with("browser: POST /api/checkout"),
            "{rows:?}"
        );
        assert!(rows[1].starts_with("POST /api/checkout"), "{rows:?}");
        assert!(
            rows.iter().any(|r| r.starts_with("GET /inventory")),
            "{rows:?}"
        );
        assert_eq!(
            rows.iter()
                .filter(|r| r.starts_with("GET ") || r.starts_with("POST "))
                .count(),
            4,
            "{rows:?}"
        );
        browser.close().await;
    }
}
