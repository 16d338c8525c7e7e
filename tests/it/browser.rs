//! Browser behaviour in real headless Chromium (Debian `chromium` +
//! `chromium-driver`, driven through chromedriver with fantoccini): CORS
//! preflights, `serverTiming` and the `server-timing` header read
//! cross-origin, page-load meta tags, and a broken CORS order failing.
//!
//! A missing browser fails this test: `bash .ci/run` installs it.

use crate::support::browser as browser_support;
use crate::support::otel;

use browser_support::Browser;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::Extension;
use axum::response::Html;
use axum::routing::get;
use http::{HeaderValue, Method};
use serde_json::{Value, json};
use tower_http::cors::CorsLayer;
use tower_trace_context::BaggageView;
use tower_trace_context::html::MetaTagsLayer;
use tower_trace_context::{
    sentry::SentrySupport,
    server::{RequestTrace, TraceContextLayer},
};

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// What the API handler saw: the incoming traceparent.
async fn api(Extension(trace): Extension<RequestTrace>) -> String {
    match trace.incoming() {
        Ok(tp) => format!(
            "{}|{}",
            tp.trace_id(),
            trace.span_context().trace_state().header()
        ),
        Err(err) => format!("none: {err}"),
    }
}

fn cors(page: SocketAddr) -> CorsLayer {
    // The trace headers are deliberately not listed: the trace layer adds them.
    CorsLayer::new()
        .allow_origin(HeaderValue::from_str(&format!("http://{page}")).unwrap())
        .allow_methods([Method::GET])
        .allow_headers([http::header::CONTENT_TYPE])
}

/// Fetches `url` with a fresh traceparent and reports what the page can see.
const FETCH: &str = r#"
const url = arguments[0];
const hex = n => Array.from(crypto.getRandomValues(new Uint8Array(n)), b => b.toString(16).padStart(2, '0')).join('');
const trace = hex(16), span = hex(8);
fetch(url, { headers: { traceparent: `00-${trace}-${span}-01`, tracestate: 'page=1' } })
  .then(async (r) => {
    const body = await r.text();
    const header = r.headers.get('server-timing');
    let entry;
    for (let i = 0; i < 50 && !entry; i++) {
      entry = performance.getEntriesByName(url).pop();
      if (!entry) await new Promise((res) => setTimeout(res, 20));
    }
    const timing = entry ? entry.serverTiming.map((e) => ({ name: e.name, desc: e.description })) : null;
    done({ trace, span, body, header, timing });
  })
  .catch((e) => done({ trace, span, error: String(e) }));
"#;

fn timing_desc(timing: &Value, name: &str) -> Option<String> {
    timing
        .as_array()?
        .iter()
        .find(|e| e["name"] == name)
        .and_then(|e| e["desc"].as_str())
        .map(str::to_owned)
}

#[tokio::test]
async fn chromium_links_page_and_backend() {
    let otel = otel::install();

    // Origin A: the page, with meta tags for its own load.
    let page_app = Router::new()
        .route("/", get(|| async { Html("<!doctype html><html><HEAD lang=en><title>shop</title></head><body>shop</body></html>") }))
        .layer(MetaTagsLayer::new())
        .layer(TraceContextLayer::new());
    let page = serve(page_app).await;
    // Origin B: the API, trace layer outside CorsLayer (the working order).
    let good = serve(
        Router::new()
            .route("/api/data", get(api))
            .layer(cors(page))
            .layer(TraceContextLayer::new()),
    )
    .await;
    // Origin C: the API with the layers the other way round (broken).
    let bad = serve(
        Router::new()
            .route("/api/data", get(api))
            .layer(TraceContextLayer::new())
            .layer(cors(page)),
    )
    .await;

    let browser = Browser::start().await;
    browser
        .client()
        .goto(&format!("http://{page}/"))
        .await
        .unwrap();

    // 1. Page load: the meta tag names the server span of the HTML request,
    //    and the navigation entry's serverTiming carries it too.
    let nav = browser
        .run(
            r#"
const meta = document.querySelector('meta[name="traceparent"]');
const nav = performance.getEntriesByType('navigation')[0];
done({ meta: meta && meta.content, timing: nav.serverTiming.map((e) => ({ name: e.name, desc: e.description })) });
"#,
            vec![],
        )
        .await;
    let meta = nav["meta"]
        .as_str()
        .expect("a traceparent meta tag")
        .to_owned();
    let page_span = otel
        .spans(1)
        .await
        .into_iter()
        .find(|s| s.name == "GET /")
        .expect("the page's server span");
    assert_eq!(
        meta,
        format!(
            "00-{}-{}-01",
            page_span.span_context.trace_id(),
            page_span.span_context.span_id()
        )
    );
    assert_eq!(
        timing_desc(&nav["timing"], "traceparent").as_deref(),
        Some(meta.as_str())
    );

    // 2. Cross-origin fetch with traceparent + tracestate: the preflight
    //    passes, the backend continues the page's trace, and the page reads
    //    serverTiming (Timing-Allow-Origin) and the header (Expose-Headers).
    let url = format!("http://{good}/api/data");
    let got = browser.run(FETCH, vec![json!(url)]).await;
    assert!(got.get("error").is_none(), "fetch failed: {got}");
    let (trace, span) = (
        got["trace"].as_str().unwrap(),
        got["span"].as_str().unwrap(),
    );
    assert_eq!(
        got["body"],
        format!("{trace}|page=1"),
        "the handler saw the page's trace and tracestate"
    );
    // The preflight passed through the trace layer (the CorsLayer does not
    // list the trace headers: the layer merged them in, or the browser
    // would have failed the fetch), and got no span of its own.
    let spans = otel.spans(2).await;
    assert!(
        !spans.iter().any(|s| s.name.starts_with("OPTIONS")),
        "preflights are not traced by default: {:?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    let api_span = spans
        .iter()
        .find(|s| s.name == "GET /api/data")
        .expect("the API's server span");
    assert_eq!(api_span.span_context.trace_id().to_string(), trace);
    assert_eq!(
        api_span.parent_span_id.to_string(),
        span,
        "server span parent is the page's span"
    );
    let expected = format!("00-{trace}-{}-01", api_span.span_context.span_id());
    assert_eq!(
        timing_desc(&got["timing"], "traceparent").as_deref(),
        Some(expected.as_str()),
        "{got}"
    );
    assert!(
        got["header"]
            .as_str()
            .is_some_and(|h| h.contains(&expected)),
        "{got}"
    );

    // 3. The same fetch with the trace headers left out of CORS fails.
    let got = browser
        .run(FETCH, vec![json!(format!("http://{bad}/api/data"))])
        .await;
    assert!(
        got["error"]
            .as_str()
            .is_some_and(|e| e.contains("TypeError")),
        "expected a CORS failure: {got}"
    );

    browser.close().await;
}

/// The API's server span: in `trace`, a child of the page's span `parent`;
/// and the page read it from the `sentry-trace` Server-Timing entry.
fn assert_api_joined(
    spans: &[opentelemetry_sdk::trace::SpanData],
    got: &Value,
    trace: &str,
    parent: &str,
) {
    let api_span = spans
        .iter()
        .find(|s| s.name == "GET /api/data")
        .expect("the API's server span");
    assert_eq!(api_span.span_context.trace_id().to_string(), trace);
    assert_eq!(api_span.parent_span_id.to_string(), parent);
    assert_eq!(
        timing_desc(&got["timing"], "sentry-trace"),
        Some(format!("{trace}-{}-1", api_span.span_context.span_id())),
        "{got}"
    );
}

/// What the Sentry-enabled API saw: the sentry-trace and baggage it got.
async fn sentry_api(headers: http::HeaderMap) -> String {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("none")
            .to_owned()
    };
    format!("{}|{}", get("sentry-trace"), get("baggage"))
}

/// The page reads Sentry's meta tag on load and, like Sentry's browser SDK,
/// continues that trace in a cross-origin fetch with `sentry-trace` +
/// `baggage`; the backend joins it and answers with Sentry's Server-Timing
/// entries, which the page can read.
#[tokio::test]
async fn chromium_reads_the_sentry_meta_tag_and_server_timing() {
    let otel = otel::install();
    let page_app = Router::new()
        .route(
            "/",
            get(|| async {
                Html(
                    "<!doctype html><html><head><title>shop</title></head><body>shop</body></html>",
                )
            }),
        )
        .layer(MetaTagsLayer::new())
        .layer(TraceContextLayer::new().sentry(SentrySupport::new()));
    let page = serve(page_app).await;
    // CorsLayer lists neither Sentry header: the trace layer adds them.
    let api = serve(
        Router::new()
            .route("/api/data", get(sentry_api))
            .layer(cors(page))
            .layer(TraceContextLayer::new().sentry(SentrySupport::new())),
    )
    .await;

    let browser = Browser::start().await;
    browser
        .client()
        .goto(&format!("http://{page}/"))
        .await
        .unwrap();
    let url = format!("http://{api}/api/data");
    let got = browser
        .run(
            r#"
const url = arguments[0];
const meta = (name) => { const m = document.querySelector(`meta[name="${name}"]`); return m && m.content; };
const sentryTrace = meta('sentry-trace');
const nav = performance.getEntriesByType('navigation')[0];
const navTiming = nav.serverTiming.map((e) => ({ name: e.name, desc: e.description }));
// Continue the page-load trace the way Sentry's SDK does: same trace id,
// a new span id, the sampled flag, and the dynamic sampling context.
const [trace] = sentryTrace.split('-');
const span = Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, '0')).join('');
const baggage = `sentry-trace_id=${trace},sentry-environment=test,sentry-release=shop%401.0`;
fetch(url, { headers: { 'sentry-trace': `${trace}-${span}-1`, baggage } })
  .then(async (r) => {
    const body = await r.text();
    let entry;
    for (let i = 0; i < 50 && !entry; i++) {
      entry = performance.getEntriesByName(url).pop();
      if (!entry) await new Promise((res) => setTimeout(res, 20));
    }
    done({ sentryTrace, baggageMeta: meta('baggage'), navTiming, span, baggage, body,
           timing: entry ? entry.serverTiming.map((e) => ({ name: e.name, desc: e.description })) : null });
  })
  .catch((e) => done({ sentryTrace, error: String(e) }));
"#,
            vec![json!(url)],
        )
        .await;
    assert!(got.get("error").is_none(), "fetch failed: {got}");

    // The meta tag names the page's server span, sampled.
    let page_span = otel
        .spans(1)
        .await
        .into_iter()
        .find(|s| s.name == "GET /")
        .expect("the page's server span");
    let trace = page_span.span_context.trace_id().to_string();
    let meta = format!("{trace}-{}-1", page_span.span_context.span_id());
    assert_eq!(got["sentryTrace"], meta.as_str(), "{got}");
    // The page load brings no baggage: this service heads the trace, so the
    // baggage tag is a dynamic sampling context for Sentry to freeze.
    assert_eq!(
        got["baggageMeta"],
        format!("sentry-trace_id={trace},sentry-sampled=true").as_str(),
        "{got}"
    );
    assert_eq!(
        timing_desc(&got["navTiming"], "sentry-trace").as_deref(),
        Some(meta.as_str())
    );

    // The preflight allowed both headers; the API got them and joined the
    // page's trace as a child of the fetch's span.
    let span = got["span"].as_str().unwrap();
    let baggage = got["baggage"].as_str().unwrap();
    assert_eq!(got["body"], format!("{trace}-{span}-1|{baggage}"), "{got}");
    // The page reads Sentry's entries cross-origin: the API's server span,
    // and the baggage it continued with (quoted on the wire, plain here).
    assert_api_joined(&otel.spans(3).await, &got, &trace, span);
    // Compared decoded: `@` needs no percent-encoding in baggage.
    let decoded = |value: &str| {
        let mut members: Vec<_> = BaggageView::parse(value)
            .unwrap()
            .iter()
            .map(|m| (m.key().to_owned(), m.decoded_value().into_owned()))
            .collect();
        members.sort();
        members
    };
    let entry = timing_desc(&got["timing"], "baggage").expect("a baggage entry");
    assert_eq!(decoded(&entry), decoded(baggage));
    assert!(decoded(baggage).contains(&("sentry-release".to_owned(), "shop@1.0".to_owned())));

    browser.close().await;
}

/// Builds (once, cached under `target/browser-sdk`) a real browser SDK from
/// npm: `name` is `sentry` or `otel-web`, see `tests/support/browser-sdk/browser-sdk.sh`.
fn browser_sdk(name: &str) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("target/browser-sdk");
    std::fs::create_dir_all(&dir).unwrap();
    let status = std::process::Command::new("flock")
        .arg(dir.join("lock"))
        .arg("sh")
        .arg(root.join("tests/support/browser-sdk/browser-sdk.sh"))
        .arg(&dir)
        .arg(name)
        .status()
        .expect("sh runs");
    assert!(
        status.success(),
        "building the {name} browser SDK failed: {status}"
    );
    std::fs::read_to_string(dir.join(format!("{name}.js"))).unwrap()
}

/// The page origin of a real-SDK test: `html` at `/`, the `name` SDK bundle
/// at `/{name}.js`.
fn sdk_page(html: String, name: &str) -> Router {
    let sdk = browser_sdk(name);
    Router::new()
        .route("/", get(move || async move { Html(html) }))
        .route(
            &format!("/{name}.js"),
            get(move || async move { ([("content-type", "text/javascript")], sdk) }),
        )
}

/// A listener for the API, bound before the page that names its address.
fn bind_api() -> (std::net::TcpListener, SocketAddr) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    (listener, addr)
}

/// Serves `app` on `listener` (on the current runtime).
fn serve_on(listener: std::net::TcpListener, app: Router) {
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
}

/// Opens the page at `page` in Chromium and returns its `window.result`.
async fn page_result(page: SocketAddr) -> (Browser, Value) {
    let browser = Browser::start().await;
    browser
        .client()
        .goto(&format!("http://{page}/"))
        .await
        .unwrap();
    let got = browser.run("window.result.then(done);", vec![]).await;
    assert!(got.get("error").is_none(), "page failed: {got}");
    (browser, got)
}

/// Sentry's own browser SDK (`@sentry/browser` 10.78, `browserTracingIntegration`)
/// against the server layer with `SentrySupport`: its page-load span
/// continues the trace of the `<meta name="sentry-trace">` tag, its fetch
/// instrumentation sends `sentry-trace` + `baggage` through the preflight,
/// the API joins that trace, and the page reads the API's Server-Timing.
#[tokio::test]
async fn real_sentry_browser_sdk_joins_the_backend_trace() {
    let otel = otel::install();
    // Sentry's ingest endpoint for the DSN: accepts envelopes.
    let ingest = serve(Router::new().route(
        "/api/{project}/envelope/",
        axum::routing::post(|| async { ([("access-control-allow-origin", "*")], "{}") }),
    ))
    .await;
    let (api_listener, api_addr) = bind_api();
    let page_html = format!(
        r#"<!doctype html><html><head><title>shop</title></head><body>shop
<script src="/sentry.js"></script>
<script>
Sentry.init({{
  dsn: "http://0123456789abcdef0123456789abcdef@{ingest}/1",
  integrations: [Sentry.browserTracingIntegration()],
  tracesSampleRate: 1.0,
  tracePropagationTargets: ["http://{api_addr}"],
}});
window.result = (async () => {{
  const active = Sentry.getActiveSpan();
  const pageload = active && Sentry.spanToJSON(Sentry.getRootSpan(active));
  const url = "http://{api_addr}/api/data";
  const res = await fetch(url);
  const body = await res.text();
  let entry;
  for (let i = 0; i < 50 && !entry; i++) {{
    entry = performance.getEntriesByName(url).pop();
    if (!entry) await new Promise((r) => setTimeout(r, 20));
  }}
  return {{
    pageload: pageload && {{ trace: pageload.trace_id, parent: pageload.parent_span_id, op: pageload.op }},
    body,
    timing: entry ? entry.serverTiming.map((e) => ({{ name: e.name, desc: e.description }})) : null,
  }};
}})().catch((e) => ({{ error: String(e) }}));
</script></body></html>"#
    );
    let page = serve(
        sdk_page(page_html, "sentry")
            .layer(MetaTagsLayer::new())
            .layer(
                TraceContextLayer::new().sentry(
                    SentrySupport::new()
                        .public_key("0123456789abcdef0123456789abcdef")
                        .environment("e2e test"),
                ),
            ),
    )
    .await;
    let api_app = Router::new()
        .route("/api/data", get(sentry_api))
        .layer(cors(page))
        .layer(TraceContextLayer::new().sentry(SentrySupport::new()));
    serve_on(api_listener, api_app);
    let (browser, got) = page_result(page).await;

    // Sentry's page-load span continues the page's server span, read from
    // the meta tag this crate wrote.
    let spans = otel.spans(1).await;
    let page_span = spans.iter().find(|s| s.name == "GET /").expect("page span");
    let trace = page_span.span_context.trace_id().to_string();
    assert_eq!(got["pageload"]["op"], "pageload", "{got}");
    assert_eq!(got["pageload"]["trace"], trace.as_str(), "{got}");
    assert_eq!(
        got["pageload"]["parent"],
        page_span.span_context.span_id().to_string().as_str(),
        "{got}"
    );

    // Its fetch instrumentation sent sentry-trace and baggage (through the
    // preflight this layer allowed), in the same trace; the baggage is the
    // dynamic sampling context the page's meta tag handed it.
    let body = got["body"].as_str().unwrap();
    let (sentry_trace, baggage) = body.split_once('|').unwrap();
    assert!(sentry_trace.starts_with(&format!("{trace}-")), "{body}");
    let fetch_span = &sentry_trace[33..49];
    let members: Vec<_> = BaggageView::parse(baggage)
        .unwrap()
        .iter()
        .map(|m| format!("{}={}", m.key(), m.decoded_value()))
        .collect();
    for expected in [
        format!("sentry-trace_id={trace}"),
        "sentry-sampled=true".to_owned(),
        "sentry-public_key=0123456789abcdef0123456789abcdef".to_owned(),
        "sentry-environment=e2e test".to_owned(),
    ] {
        assert!(members.contains(&expected), "{expected} not in {body}");
    }
    assert_api_joined(&otel.spans(3).await, &got, &trace, fetch_span);

    browser.close().await;
}

/// OpenTelemetry JS in the browser (`@opentelemetry/sdk-trace-web` 2.12 with
/// `DocumentLoadInstrumentation` and `FetchInstrumentation`): the document
/// load span continues the trace of the `<meta name="traceparent">` tag
/// this crate wrote, and a cross-origin fetch to an allowlisted API sends
/// `traceparent` through the preflight this crate answers; the API's server
/// span is the child of the fetch span.
#[tokio::test]
async fn real_opentelemetry_web_sdk_joins_the_backend_trace() {
    let otel = otel::install();
    let (api_listener, api_addr) = bind_api();
    let api_pattern = api_addr.to_string().replace('.', "\\\\.");
    let page_html = format!(
        r#"<!doctype html><html><head><title>shop</title></head><body>shop
<script src="/otel-web.js"></script>
<script>
const {{ WebTracerProvider, SimpleSpanProcessor, InMemorySpanExporter, registerInstrumentations,
        DocumentLoadInstrumentation, FetchInstrumentation }} = OTel;
const exporter = new InMemorySpanExporter();
const provider = new WebTracerProvider({{ spanProcessors: [new SimpleSpanProcessor(exporter)] }});
provider.register();
registerInstrumentations({{ instrumentations: [
  new DocumentLoadInstrumentation(),
  new FetchInstrumentation({{ propagateTraceHeaderCorsUrls: [new RegExp("^http://{api_pattern}/")] }}),
] }});
window.result = new Promise((resolve) => window.addEventListener("load", () => setTimeout(async () => {{
  try {{
    const res = await fetch("http://{api_addr}/api/data");
    const body = await res.text();
    // The fetch span ends once its resource timing entry is in.
    for (let i = 0; i < 200 && !exporter.getFinishedSpans().some((s) => s.name === "GET"); i++) {{
      await new Promise((r) => setTimeout(r, 50));
    }}
    const spans = exporter.getFinishedSpans().map((s) => ({{
      name: s.name,
      trace: s.spanContext().traceId,
      span: s.spanContext().spanId,
      parent: (s.parentSpanContext && s.parentSpanContext.spanId) || s.parentSpanId || null,
    }}));
    resolve({{ body, spans }});
  }} catch (e) {{ resolve({{ error: String(e) }}); }}
}}, 100)));
</script></body></html>"#
    );
    let page = serve(
        sdk_page(page_html, "otel-web")
            .layer(MetaTagsLayer::new())
            .layer(TraceContextLayer::new()),
    )
    .await;
    let api_app = Router::new()
        .route("/api/data", get(api))
        .layer(cors(page))
        .layer(TraceContextLayer::new());
    serve_on(api_listener, api_app);
    let (browser, got) = page_result(page).await;
    let browser_spans = got["spans"].as_array().expect("spans").clone();
    let find = |name: &str| {
        browser_spans
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no {name} span in {got}"))
            .clone()
    };

    // The document load span continues the page's server span (meta tag).
    let spans = otel.spans(1).await;
    let page_span = spans.iter().find(|s| s.name == "GET /").expect("page span");
    let document_load = find("documentLoad");
    assert_eq!(
        document_load["trace"],
        page_span.span_context.trace_id().to_string().as_str()
    );
    assert_eq!(
        document_load["parent"],
        page_span.span_context.span_id().to_string().as_str()
    );

    // The fetch span's traceparent reached the API, whose server span is
    // its child.
    let fetch = find("GET");
    let trace = fetch["trace"].as_str().unwrap();
    assert_eq!(got["body"], format!("{trace}|"), "{got}");
    let spans = otel.spans(3).await;
    let api_span = spans
        .iter()
        .find(|s| s.name == "GET /api/data")
        .expect("the API's server span");
    assert_eq!(api_span.span_context.trace_id().to_string(), trace);
    assert_eq!(
        api_span.parent_span_id.to_string(),
        fetch["span"].as_str().unwrap()
    );

    browser.close().await;
}

/// Grafana Faro's web SDK (`@grafana/faro-web-sdk` 2.12, performance
/// instrumentation): its `faro.performance.navigation` event links the page
/// load to the page's server span through the `server-timing: traceparent`
/// entry this crate writes, and its `faro.performance.resource` event links
/// a cross-origin fetch to the API's server span (readable only because of
/// the `Timing-Allow-Origin` this crate mirrors from CORS).
#[tokio::test]
async fn real_grafana_faro_sdk_links_page_load_and_fetch_to_server_spans() {
    let otel = otel::install();
    let (api_listener, api_addr) = bind_api();
    let page_html = format!(
        r#"<!doctype html><html><head><title>shop</title></head><body>shop
<script src="/faro.js"></script>
<script>
window.items = [];
FaroWeb.initializeFaro({{
  url: "http://127.0.0.1:9/collect",
  app: {{ name: "shop", version: "1.0.0" }},
  instrumentations: FaroWeb.getWebInstrumentations(),
  batching: {{ enabled: false }},
  beforeSend: (item) => {{ window.items.push(item); return null; }},
}});
const hex = (n) => Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => b.toString(16).padStart(2, "0")).join("");
window.result = new Promise((resolve) => window.addEventListener("load", () => setTimeout(async () => {{
  try {{
    // What Faro's tracing package does for allowlisted URLs.
    const trace = hex(16), span = hex(8);
    const url = "http://{api_addr}/api/data";
    const body = await (await fetch(url, {{ headers: {{ traceparent: `00-${{trace}}-${{span}}-01` }} }})).text();
    const has = (name, u) => window.items.some((i) => i.type === "event" && i.payload.name === name
      && (!u || (i.payload.attributes && i.payload.attributes.name === u)));
    for (let i = 0; i < 200 && !(has("faro.performance.navigation") && has("faro.performance.resource", url)); i++) {{
      await new Promise((r) => setTimeout(r, 50));
    }}
    const events = window.items
      .filter((i) => i.type === "event")
      .map((i) => ({{ name: i.payload.name, url: i.payload.attributes && i.payload.attributes.name, trace: i.payload.trace || null }}));
    resolve({{ trace, span, url, body, events }});
  }} catch (e) {{ resolve({{ error: String(e) }}); }}
}}, 100)));
</script></body></html>"#
    );
    let page = serve(sdk_page(page_html, "faro").layer(TraceContextLayer::new())).await;
    let api_app = Router::new()
        .route("/api/data", get(api))
        .layer(cors(page))
        .layer(TraceContextLayer::new());
    serve_on(api_listener, api_app);
    let (browser, got) = page_result(page).await;
    let events = got["events"].as_array().expect("events").clone();
    let event = |name: &str, url: Option<&str>| {
        events
            .iter()
            .find(|e| e["name"] == name && url.is_none_or(|u| e["url"] == u))
            .unwrap_or_else(|| panic!("no {name} event in {got}"))
            .clone()
    };

    // The page load is linked to the page's server span.
    let spans = otel.spans(1).await;
    let page_span = spans.iter().find(|s| s.name == "GET /").expect("page span");
    let navigation = event("faro.performance.navigation", None);
    assert_eq!(
        navigation["trace"]["trace_id"],
        page_span.span_context.trace_id().to_string().as_str(),
        "{got}"
    );
    assert_eq!(
        navigation["trace"]["span_id"],
        page_span.span_context.span_id().to_string().as_str(),
        "{got}"
    );

    // The fetch is linked to the API's server span, itself the child of the
    // page's fetch span.
    let trace = got["trace"].as_str().unwrap();
    assert_eq!(got["body"], format!("{trace}|"), "{got}");
    let spans = otel.spans(3).await;
    let api_span = spans
        .iter()
        .find(|s| s.name == "GET /api/data")
        .expect("the API's server span");
    assert_eq!(
        api_span.parent_span_id.to_string(),
        got["span"].as_str().unwrap()
    );
    let resource = event("faro.performance.resource", got["url"].as_str());
    assert_eq!(resource["trace"]["trace_id"], trace, "{got}");
    assert_eq!(
        resource["trace"]["span_id"],
        api_span.span_context.span_id().to_string().as_str(),
        "{got}"
    );

    browser.close().await;
}

/// A cross-origin fetch carrying a browser SDK's default request headers
/// passes the preflight behind tower-http's `CorsLayer` with the layer's
/// defaults plus that SDK's set (`preflight_allow_more`); with the defaults
/// alone, the SDK's own headers are blocked (Datadog's default set-up
/// broke apps so). Real Chromium, real TCP.
#[tokio::test]
async fn each_vendor_header_set_passes_the_preflight() {
    use tower_trace_context::{
        APPLICATION_INSIGHTS_HEADERS, B3_HEADERS, DATADOG_HEADERS, NEW_RELIC_HEADERS,
    };
    const TP: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let page = serve(Router::new().route(
        "/",
        get(|| async { Html("<!doctype html><html><head><title>p</title></head></html>") }),
    ))
    .await;
    let api = |extra: &[http::HeaderName]| {
        Router::new()
            .route("/api/data", get(|| async { "ok" }))
            .layer(cors(page))
            .layer(TraceContextLayer::new().preflight_allow_more(extra.iter().cloned()))
    };
    // What each SDK sends by default (values as the SDKs write them).
    let sets: [(&str, &[http::HeaderName], Value); 4] = [
        (
            "Datadog RUM 7",
            &DATADOG_HEADERS,
            json!({
                "traceparent": "00-00000000000000004bf92f3577b34da6-00f067aa0ba902b7-01",
                "tracestate": "dd=s:1;o:rum",
                "baggage": "session.id=2a7c5e0e-97e5-4ad6-a48c-5c0a27a6a3c4",
                "x-datadog-origin": "rum",
                "x-datadog-parent-id": "67667974448284343",
                "x-datadog-sampling-priority": "1",
                "x-datadog-trace-id": "5473484318431510070",
            }),
        ),
        (
            "Application Insights 3",
            &APPLICATION_INSIGHTS_HEADERS,
            json!({
                "traceparent": TP,
                "request-id": "|4bf92f3577b34da6a3ce929d0e0e4736.00f067aa0ba902b7.",
                "request-context": "appId=cid-v1:2b4c5d6e",
            }),
        ),
        (
            "New Relic",
            &NEW_RELIC_HEADERS,
            json!({ "newrelic": "eyJ2IjpbMCwxXSwiZCI6e319" }),
        ),
        (
            "B3",
            &B3_HEADERS,
            json!({
                "b3": "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
                "x-b3-traceid": "4bf92f3577b34da6a3ce929d0e0e4736",
                "x-b3-spanid": "00f067aa0ba902b7",
                "x-b3-sampled": "1",
            }),
        ),
    ];
    const FETCH_WITH: &str = r#"
fetch(arguments[0], { headers: arguments[1] })
  .then(async (r) => done({ status: r.status, body: await r.text() }))
  .catch((e) => done({ error: String(e) }));
"#;
    let browser = Browser::start().await;
    browser
        .client()
        .goto(&format!("http://{page}/"))
        .await
        .unwrap();
    for (sdk, set, headers) in sets {
        let with_set = serve(api(set)).await;
        let reply = browser
            .run(
                FETCH_WITH,
                vec![
                    json!(format!("http://{with_set}/api/data")),
                    headers.clone(),
                ],
            )
            .await;
        assert_eq!(reply["body"], "ok", "{sdk} with its set: {reply}");
        // The defaults alone do not allow the SDK's own headers.
        let defaults_only = serve(api(&[])).await;
        let reply = browser
            .run(
                FETCH_WITH,
                vec![json!(format!("http://{defaults_only}/api/data")), headers],
            )
            .await;
        assert!(
            reply["error"].as_str().is_some(),
            "{sdk} without its set should be blocked: {reply}"
        );
    }
    // Turning the B3 and Datadog formats on adds their headers (Datadog's
    // `x-datadog-tags` too) without `preflight_allow_more`.
    let formats = serve(
        Router::new()
            .route("/api/data", get(|| async { "ok" }))
            .layer(cors(page))
            .layer(
                TraceContextLayer::new()
                    .b3(tower_trace_context::b3::B3Support::new())
                    .datadog(tower_trace_context::datadog::DatadogSupport::new()),
            ),
    )
    .await;
    let all = json!({
        "b3": "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
        "x-b3-traceid": "4bf92f3577b34da6a3ce929d0e0e4736",
        "x-b3-spanid": "00f067aa0ba902b7",
        "x-b3-parentspanid": "05e3ac9a4f6e3b90",
        "x-b3-sampled": "1",
        "x-b3-flags": "1",
        "x-datadog-origin": "rum",
        "x-datadog-parent-id": "67667974448284343",
        "x-datadog-sampling-priority": "1",
        "x-datadog-trace-id": "5473484318431510070",
        "x-datadog-tags": "_dd.p.tid=4bf92f3577b34da6,_dd.p.dm=-4",
    });
    let reply = browser
        .run(
            FETCH_WITH,
            vec![json!(format!("http://{formats}/api/data")), all],
        )
        .await;
    assert_eq!(reply["body"], "ok", "B3 and Datadog turned on: {reply}");
    browser.close().await;
}
