//! The server layer over real TCP on 127.0.0.1, with the real OpenTelemetry
//! SDK (in-memory exporter) checking trace ids and parent links.

use crate::support::http_support;
use crate::support::otel;
use crate::support::relay;

use axum::Router;
use axum::extract::Extension;
use axum::routing::get;
use http::{HeaderValue, Method, StatusCode};
use http_support::{send, serve};
use opentelemetry::trace::{SpanId, TraceContextExt, TraceId};
use opentelemetry_sdk::trace::Sampler;
use tower_http::cors::CorsLayer;
use tower_trace_context::server::{Decision, RequestTrace, ServerTimingName, TraceContextLayer};
use tower_trace_context::{
    TraceParentError,
    server::{TimingAllowOrigin, Trust},
};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";
const TP: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const ORIGIN: &str = "http://app.localhost:3000";

/// Echoes what the handler sees: the tracestate of its context and the decision.
async fn echo(Extension(trace): Extension<RequestTrace>) -> String {
    format!(
        "{}|{:?}",
        trace.span_context().trace_state().header(),
        trace.decision()
    )
}

fn app(layer: TraceContextLayer) -> Router {
    Router::new().route("/api/data", get(echo)).layer(layer)
}

/// The `desc` of the `traceparent` Server-Timing entry.
fn server_timing_desc(values: &[String], name: &str) -> String {
    let prefix = format!("{name};desc=\"");
    let entry = values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .find_map(|e| e.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {name} entry in {values:?}"));
    entry.trim_end_matches('"').to_owned()
}

#[tokio::test]
async fn continues_incoming_trace_and_reports_server_span() {
    for path in otel::PATHS {
        println!("span path: {path:?}");
        let otel = otel::install();
        let addr = serve(app(otel.on(path, TraceContextLayer::new()))).await;
        let reply = send(
            Method::GET,
            &format!("http://{addr}/api/data"),
            &[
                ("traceparent", TP),
                ("tracestate", "congo=t61rcWkgMzE"),
                ("tracestate", "rojo=1"),
            ],
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK);
        // tracestate passes through unchanged (both fields combined in order).
        assert_eq!(reply.body, "congo=t61rcWkgMzE,rojo=1|Continued");

        let span = otel.span("GET /api/data").await;
        assert_eq!(span.span_context.trace_id(), otel::trace_id(TRACE));
        assert_eq!(span.parent_span_id, otel::span_id(PARENT));
        assert!(span.parent_span_is_remote);
        assert_eq!(span.span_kind, opentelemetry::trace::SpanKind::Server);
        assert_eq!(
            span.span_context.trace_state().header(),
            "congo=t61rcWkgMzE,rojo=1"
        );
        let attr = |k: &str| {
            span.attributes
                .iter()
                .find(|kv| kv.key.as_str() == k)
                .map(|kv| kv.value.to_string())
        };
        assert_eq!(attr("http.request.method").as_deref(), Some("GET"));
        assert_eq!(attr("http.route").as_deref(), Some("/api/data"));
        assert_eq!(attr("url.path").as_deref(), Some("/api/data"));
        assert_eq!(attr("http.response.status_code").as_deref(), Some("200"));

        // server-timing carries exactly the exported server span.
        let desc = server_timing_desc(&reply.all("server-timing"), "traceparent");
        assert_eq!(
            desc,
            format!("00-{TRACE}-{}-01", span.span_context.span_id())
        );
        // No Origin: no CORS or timing headers.
        assert!(reply.headers.get("access-control-expose-headers").is_none());
        assert!(reply.headers.get("timing-allow-origin").is_none());
    }
}

#[tokio::test]
async fn invalid_or_duplicate_traceparent_starts_a_new_trace() {
    for path in otel::PATHS {
        println!("span path: {path:?}");
        let otel = otel::install();
        let addr = serve(app(otel.on(path, TraceContextLayer::new()))).await;
        let url = format!("http://{addr}/api/data");
        let upper = TP.to_uppercase();
        let cases: [(&[(&str, &str)], TraceParentError); 4] = [
            (&[("traceparent", &upper)], TraceParentError::InvalidTraceId),
            (
                &[("traceparent", TP), ("traceparent", TP)],
                TraceParentError::Duplicate,
            ),
            (
                &[(
                    "traceparent",
                    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
                )],
                TraceParentError::TrailingData,
            ),
            (&[("tracestate", "a=1")], TraceParentError::Missing),
        ];
        for (headers, err) in cases {
            let reply = send(Method::GET, &url, headers).await;
            assert_eq!(reply.status, StatusCode::OK);
            // A new trace: no tracestate is taken from the request.
            assert_eq!(reply.body, format!("|{:?}", Decision::NewTrace(err)));
            let desc = server_timing_desc(&reply.all("server-timing"), "traceparent");
            assert!(!desc.contains(TRACE), "{desc}");
        }
        let spans = otel.spans(4).await;
        for span in spans {
            assert_ne!(span.span_context.trace_id(), otel::trace_id(TRACE));
            assert_eq!(span.parent_span_id, SpanId::INVALID);
        }
    }
}

#[tokio::test]
async fn public_endpoint_starts_new_root_with_link() {
    for path in otel::PATHS {
        println!("span path: {path:?}");
        let otel = otel::install();
        let layer = otel.on(path, TraceContextLayer::new().trust(Trust::NewRootWithLink));
        let addr = serve(app(layer)).await;
        let reply = send(
            Method::GET,
            &format!("http://{addr}/api/data"),
            &[("traceparent", TP)],
        )
        .await;
        assert_eq!(reply.body, "|NotTrusted(NewRootWithLink)");
        let span = otel.span("GET /api/data").await;
        assert_ne!(span.span_context.trace_id(), otel::trace_id(TRACE));
        assert_eq!(span.parent_span_id, SpanId::INVALID);
        let link = span.links.links.first().expect("a link to the caller");
        assert_eq!(link.span_context.trace_id(), otel::trace_id(TRACE));
        assert_eq!(link.span_context.span_id(), otel::span_id(PARENT));
    }
}

#[tokio::test]
async fn public_endpoint_ignores_incoming_sampled_flag() {
    for path in otel::PATHS {
        println!("span path: {path:?}");
        // Roots are never sampled; children follow their parent.
        let otel = otel::install_with(Sampler::ParentBased(Box::new(Sampler::AlwaysOff)));
        let trusting = serve(app(otel.on(path, TraceContextLayer::new()))).await;
        let public = serve(app(otel.on(path, TraceContextLayer::new()).trust_fn(
            |head| {
                assert_eq!(head.uri().path(), "/api/data");
                Trust::NewRootWithLink
            },
        )))
        .await;

        let reply = send(
            Method::GET,
            &format!("http://{public}/api/data"),
            &[("traceparent", TP)],
        )
        .await;
        let desc = server_timing_desc(&reply.all("server-timing"), "traceparent");
        assert!(
            desc.ends_with("-00"),
            "public endpoint must not be forced to sample: {desc}"
        );

        let reply = send(
            Method::GET,
            &format!("http://{trusting}/api/data"),
            &[("traceparent", TP)],
        )
        .await;
        let desc = server_timing_desc(&reply.all("server-timing"), "traceparent");
        assert!(
            desc.starts_with(&format!("00-{TRACE}-")) && desc.ends_with("-01"),
            "{desc}"
        );

        // Only the trusting server's span was sampled and exported.
        let spans = otel.spans(1).await;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let spans_later = otel.exporter.get_finished_spans().unwrap();
        assert_eq!(spans_later.len(), 1, "{spans_later:?}");
        assert_eq!(spans[0].span_context.trace_id(), otel::trace_id(TRACE));
    }
}

#[tokio::test]
async fn ignore_policy_does_not_use_incoming_context() {
    for path in otel::PATHS {
        println!("span path: {path:?}");
        let otel = otel::install();
        let addr = serve(app(
            otel.on(path, TraceContextLayer::new().trust(Trust::Ignore))
        ))
        .await;
        let reply = send(
            Method::GET,
            &format!("http://{addr}/api/data"),
            &[("traceparent", TP)],
        )
        .await;
        assert_eq!(reply.body, "|NotTrusted(Ignore)");
        let span = otel.span("GET /api/data").await;
        assert_ne!(span.span_context.trace_id(), otel::trace_id(TRACE));
        assert!(span.links.links.is_empty());
    }
}

#[tokio::test]
async fn merges_with_headers_the_app_set() {
    let otel = otel::install();
    let handler = || async {
        (
            [
                ("server-timing", "db;dur=53"),
                ("access-control-expose-headers", "x-request-id"),
                ("access-control-allow-origin", ORIGIN),
            ],
            "ok",
        )
    };
    let preflight = || async {
        (
            [
                ("access-control-allow-origin", ORIGIN),
                ("access-control-allow-headers", "content-type, TraceParent"),
            ],
            "",
        )
    };
    let app = Router::new()
        .route("/api/data", get(handler).options(preflight))
        .layer(TraceContextLayer::new());
    let addr = serve(app).await;
    let url = format!("http://{addr}/api/data");

    let reply = send(
        Method::GET,
        &url,
        &[("origin", ORIGIN), ("traceparent", TP)],
    )
    .await;
    let timing = reply.all("server-timing");
    assert_eq!(timing[0], "db;dur=53", "the app's entry is kept, first");
    assert!(server_timing_desc(&timing, "traceparent").starts_with(&format!("00-{TRACE}-")));
    assert_eq!(
        reply.all("access-control-expose-headers"),
        ["x-request-id", "server-timing"]
    );
    // MirrorCors: CORS allows this origin, so timing is allowed too.
    assert_eq!(reply.all("timing-allow-origin"), [ORIGIN]);

    let reply = send(
        Method::OPTIONS,
        &url,
        &[
            ("origin", ORIGIN),
            ("access-control-request-method", "GET"),
            ("access-control-request-headers", "traceparent,tracestate"),
        ],
    )
    .await;
    assert_eq!(
        reply.all("access-control-allow-headers"),
        ["content-type, TraceParent", "tracestate, baggage"]
    );
    // The preflight is not traced (by default): only the GET has a span.
    let spans = otel.spans(1).await;
    assert_eq!(
        spans.iter().map(|s| s.name.as_ref()).collect::<Vec<&str>>(),
        ["GET /api/data"]
    );
}

/// CORS preflights carry no trace context: by default no span, no trace
/// response headers, only the `Access-Control-Allow-Headers` merge; with
/// `trace_preflights(true)` a server span and the headers, as for any
/// request. Behind tower-http's `CorsLayer`, over TCP.
#[tokio::test]
async fn preflights_are_not_traced_unless_asked() {
    let otel = otel::install();
    let app = |layer: TraceContextLayer| {
        let handler = |Extension(trace): Extension<RequestTrace>| async move {
            format!("{:?}", trace.decision())
        };
        let cors = CorsLayer::new()
            .allow_origin(HeaderValue::from_static(ORIGIN))
            .allow_methods([Method::GET, Method::OPTIONS]);
        Router::new()
            .route("/api/data", get(handler))
            .layer(cors)
            .layer(layer)
    };
    let preflight = [
        ("origin", ORIGIN),
        ("access-control-request-method", "GET"),
        ("access-control-request-headers", "traceparent,tracestate"),
    ];

    let addr = serve(app(TraceContextLayer::new())).await;
    let url = format!("http://{addr}/api/data");
    let reply = send(Method::OPTIONS, &url, &preflight).await;
    assert!(reply.status.is_success());
    assert_eq!(
        reply.all("access-control-allow-headers"),
        ["traceparent, tracestate, baggage"]
    );
    for name in [
        "server-timing",
        "timing-allow-origin",
        "access-control-expose-headers",
    ] {
        assert!(reply.all(name).is_empty(), "{name}: {reply:?}");
    }
    // A plain OPTIONS (no Access-Control-Request-Method) is a request like
    // any other, and so is the GET that follows the preflight.
    let reply = send(
        Method::GET,
        &url,
        &[("origin", ORIGIN), ("traceparent", TP)],
    )
    .await;
    assert_eq!(reply.body, "Continued");
    let spans = otel.spans(1).await;
    assert_eq!(
        spans.iter().map(|s| s.name.as_ref()).collect::<Vec<&str>>(),
        ["GET /api/data"],
        "no span for the preflight"
    );
    // The GET's entry names its own server span.
    assert_eq!(
        server_timing_desc(&reply.all("server-timing"), "traceparent"),
        format!("00-{TRACE}-{}-01", spans[0].span_context.span_id())
    );

    // Switched on: the preflight gets its span and the trace headers.
    let addr = serve(app(TraceContextLayer::new().trace_preflights(true))).await;
    let url = format!("http://{addr}/api/data");
    let reply = send(Method::OPTIONS, &url, &preflight).await;
    assert!(reply.status.is_success());
    assert_eq!(
        reply.all("access-control-allow-headers"),
        ["traceparent, tracestate, baggage"]
    );
    assert_eq!(reply.all("timing-allow-origin"), [ORIGIN]);
    let spans = otel.spans(2).await;
    let options = spans
        .iter()
        .find(|s| s.name.starts_with("OPTIONS"))
        .unwrap_or_else(|| panic!("{:?}", spans.iter().map(|s| &s.name).collect::<Vec<_>>()));
    // The preflight carries no trace context: a new trace, named in its entry.
    let desc = server_timing_desc(&reply.all("server-timing"), "traceparent");
    assert_eq!(
        desc,
        format!(
            "00-{}-{}-01",
            options.span_context.trace_id(),
            options.span_context.span_id()
        )
    );
}

#[tokio::test]
async fn timing_allow_origin_policies() {
    let _otel = otel::install();
    let other = "http://evil.localhost";
    let plain = Router::new().route("/", get(|| async { "ok" }));
    let cors = |allowed: &'static str| {
        Router::new().route(
            "/",
            get(move || async move { ([("access-control-allow-origin", allowed)], "ok") }),
        )
    };
    let cases = [
        // (app, policy, request origin, expected TAO)
        (
            cors(ORIGIN),
            TimingAllowOrigin::MirrorCors,
            ORIGIN,
            vec![ORIGIN],
        ),
        (cors(ORIGIN), TimingAllowOrigin::MirrorCors, other, vec![]),
        (cors("*"), TimingAllowOrigin::MirrorCors, other, vec![other]),
        (plain.clone(), TimingAllowOrigin::MirrorCors, ORIGIN, vec![]),
        (plain.clone(), TimingAllowOrigin::Any, ORIGIN, vec!["*"]),
        (
            plain.clone(),
            TimingAllowOrigin::origins([ORIGIN]).unwrap(),
            ORIGIN,
            vec![ORIGIN],
        ),
        (
            plain.clone(),
            TimingAllowOrigin::origins([ORIGIN]).unwrap(),
            other,
            vec![],
        ),
        (cors(ORIGIN), TimingAllowOrigin::Off, ORIGIN, vec![]),
    ];
    for (i, (app, policy, origin, expected)) in cases.into_iter().enumerate() {
        let addr = serve(app.layer(TraceContextLayer::new().timing_allow_origin(policy))).await;
        let reply = send(
            Method::GET,
            &format!("http://{addr}/"),
            &[("origin", origin)],
        )
        .await;
        assert_eq!(reply.all("timing-allow-origin"), expected, "case {i}");
    }
}

fn cors_layer() -> CorsLayer {
    // Deliberately without the trace headers: the trace layer adds them.
    CorsLayer::new()
        .allow_origin(HeaderValue::from_static(ORIGIN))
        .allow_methods([Method::GET])
        .allow_headers([http::header::CONTENT_TYPE])
        .expose_headers([http::HeaderName::from_static("x-request-id")])
}

#[tokio::test]
async fn trace_layer_outside_cors_layer_works() {
    let otel = otel::install();
    // axum: the layer added last is the outer one.
    let app = Router::new()
        .route("/api/data", get(echo))
        .layer(cors_layer())
        .layer(TraceContextLayer::new());
    let addr = serve(app).await;
    let url = format!("http://{addr}/api/data");

    let preflight = send(
        Method::OPTIONS,
        &url,
        &[
            ("origin", ORIGIN),
            ("access-control-request-method", "GET"),
            // What Datadog's browser SDK 7 sends by default in
            // tracecontext mode: `baggage` must pass with the defaults.
            (
                "access-control-request-headers",
                "baggage,traceparent,tracestate",
            ),
        ],
    )
    .await;
    assert!(preflight.status.is_success());
    let allowed = preflight.all("access-control-allow-headers").join(",");
    for name in ["traceparent", "tracestate", "baggage"] {
        assert!(
            allowed.split(',').any(|n| n.trim() == name),
            "{name} not allowed: {allowed}"
        );
    }

    let reply = send(
        Method::GET,
        &url,
        &[("origin", ORIGIN), ("traceparent", TP)],
    )
    .await;
    let exposed = reply.all("access-control-expose-headers").join(",");
    assert!(
        exposed.contains("x-request-id") && exposed.contains("server-timing"),
        "{exposed}"
    );
    assert_eq!(reply.all("timing-allow-origin"), [ORIGIN]);
    let span = otel.span("GET /api/data").await;
    assert_eq!(span.span_context.trace_id(), otel::trace_id(TRACE));
}

#[tokio::test]
async fn trace_layer_inside_cors_layer_loses_the_preflight() {
    let _otel = otel::install();
    // The wrong order: CorsLayer is outer, answers the preflight itself and
    // replaces Access-Control-Expose-Headers.
    let app = Router::new()
        .route("/api/data", get(echo))
        .layer(TraceContextLayer::new())
        .layer(cors_layer());
    let addr = serve(app).await;
    let url = format!("http://{addr}/api/data");

    let preflight = send(
        Method::OPTIONS,
        &url,
        &[
            ("origin", ORIGIN),
            ("access-control-request-method", "GET"),
            ("access-control-request-headers", "traceparent"),
        ],
    )
    .await;
    let allowed = preflight.all("access-control-allow-headers").join(",");
    assert!(
        !allowed.contains("traceparent"),
        "a browser would drop traceparent: {allowed}"
    );

    let reply = send(
        Method::GET,
        &url,
        &[("origin", ORIGIN), ("traceparent", TP)],
    )
    .await;
    let exposed = reply.all("access-control-expose-headers").join(",");
    assert!(!exposed.contains("server-timing"), "{exposed}");
}

#[tokio::test]
async fn custom_server_timing_name() {
    let _otel = otel::install();
    let addr = serve(app(
        TraceContextLayer::new().server_timing_names([ServerTimingName::trace()])
    ))
    .await;
    let reply = send(
        Method::GET,
        &format!("http://{addr}/api/data"),
        &[("traceparent", TP)],
    )
    .await;
    assert!(
        server_timing_desc(&reply.all("server-timing"), "trace")
            .starts_with(&format!("00-{TRACE}-"))
    );
}

#[tokio::test]
async fn without_opentelemetry_layer_the_context_passes_through() {
    // No subscriber at all on this thread.
    async fn handler(Extension(trace): Extension<RequestTrace>) -> String {
        let current = opentelemetry::Context::current();
        let sc = current.span().span_context().clone();
        format!(
            "{}-{}|{:?}",
            sc.trace_id(),
            sc.span_id(),
            trace.traceparent()
        )
    }
    let addr = serve(
        Router::new()
            .route("/", get(handler))
            .layer(TraceContextLayer::new()),
    )
    .await;
    let reply = send(
        Method::GET,
        &format!("http://{addr}/"),
        &[("traceparent", TP), ("origin", ORIGIN)],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    // The handler sees the caller's context, unchanged, as current.
    assert_eq!(reply.body, format!("{TRACE}-{PARENT}|None"));
    // No server span id to report: no server-timing, nothing to expose.
    assert!(reply.headers.get("server-timing").is_none());
    assert!(reply.headers.get("access-control-expose-headers").is_none());

    let reply = send(Method::GET, &format!("http://{addr}/"), &[]).await;
    assert_eq!(
        reply.body,
        format!("{}-{}|None", TraceId::INVALID, SpanId::INVALID)
    );
}

#[tokio::test]
async fn inner_errors_propagate_untouched() {
    use tower::{Layer, ServiceExt};
    #[derive(Debug, PartialEq)]
    struct Boom(u32);
    let _otel = otel::install();
    let svc = TraceContextLayer::new().layer(tower::service_fn(|_: http::Request<()>| async {
        Err::<http::Response<()>, _>(Boom(42))
    }));
    let req = http::Request::get("/")
        .header("traceparent", TP)
        .body(())
        .unwrap();
    assert_eq!(svc.oneshot(req).await.unwrap_err(), Boom(42));
}

#[test]
fn services_are_clone_and_debug() {
    fn check_clone<T: Clone + std::fmt::Debug>(_: &T) {}
    let layer = TraceContextLayer::new();
    check_clone(&layer);
    let svc = tower::Layer::layer(
        &layer,
        tower::service_fn(|_: http::Request<()>| async {
            Ok::<_, std::convert::Infallible>(http::Response::new(()))
        }),
    );
    check_clone(&svc);
    assert!(format!("{svc:?}").starts_with("TraceContext {"));
    assert!(format!("{layer:?}").contains("trust: Continue"));
}

/// Server-Timing: the `traceparent` entry, the Level 3 `trace` entry, or
/// both, and a `dur` entry browser tools show; all next to the app's own.
#[tokio::test]
async fn server_timing_entry_names_and_duration() {
    let _otel = otel::install();
    let app = |layer: TraceContextLayer| {
        Router::new()
            .route(
                "/",
                get(|| async {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    ([("server-timing", "db;dur=3")], "ok")
                }),
            )
            .layer(layer)
    };
    // The Server-Timing fields of a traced request through `layer`.
    let timing_of = |layer: TraceContextLayer| async move {
        let addr = serve(app(layer)).await;
        send(
            Method::GET,
            &format!("http://{addr}/"),
            &[("traceparent", TP)],
        )
        .await
        .all("server-timing")
    };
    let timing = timing_of(
        TraceContextLayer::new()
            .server_timing_names([ServerTimingName::default(), ServerTimingName::trace()])
            .server_timing_duration(Some(ServerTimingName::new("app").unwrap())),
    )
    .await;
    assert_eq!(timing[0], "db;dur=3", "the app's entry first: {timing:?}");
    let traceparent = server_timing_desc(&timing, "traceparent");
    let trace = server_timing_desc(&timing, "trace");
    assert!(
        traceparent.starts_with(&format!("00-{TRACE}-")),
        "{timing:?}"
    );
    assert_eq!(trace, traceparent, "both entries name the server span");
    let dur = timing
        .iter()
        .find_map(|e| e.strip_prefix("app;dur="))
        .expect("a dur entry");
    let ms: f64 = dur.parse().expect("dur is a number");
    assert!((20.0..10_000.0).contains(&ms), "{ms} ms");

    // Only the Level 3 name; no duration by default.
    let timing =
        timing_of(TraceContextLayer::new().server_timing_names([ServerTimingName::trace()])).await;
    assert_eq!(timing.len(), 2, "{timing:?}");
    assert!(timing[1].starts_with("trace;desc=\"00-"), "{timing:?}");
    // An empty list writes no trace entry.
    let timing = timing_of(TraceContextLayer::new().server_timing_names([])).await;
    assert_eq!(timing, ["db;dur=3"]);
}

/// Serves `app` with axum's `ConnectInfo<SocketAddr>` on `bind`.
async fn serve_with_peer(app: Router, bind: &str) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind(bind).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, service).await.unwrap() });
    addr
}

/// Trust by network: the peer address (axum's `ConnectInfo`, or the crate's
/// `PeerAddr` extension) inside a configured CIDR block continues the trace,
/// any other peer, or none known, gets the fallback policy. IPv4 and IPv6
/// over real TCP.
#[tokio::test]
async fn trust_by_peer_network() {
    use tower::{Layer, ServiceExt};
    use tower_trace_context::IpNetwork;
    use tower_trace_context::server::PeerAddr;
    let _otel = otel::install();
    let layer = |networks: &[&str]| {
        let networks: Vec<IpNetwork> = networks.iter().map(|n| n.parse().unwrap()).collect();
        TraceContextLayer::new().trust_networks(networks, Trust::NewRootWithLink)
    };
    for (bind, networks, decision) in [
        ("127.0.0.1:0", &["127.0.0.0/8"][..], "Continued"),
        (
            "127.0.0.1:0",
            &["10.0.0.0/8", "fd00::/8"][..],
            "NotTrusted(NewRootWithLink)",
        ),
        ("[::1]:0", &["::1/128"][..], "Continued"),
        (
            "[::1]:0",
            &["127.0.0.0/8"][..],
            "NotTrusted(NewRootWithLink)",
        ),
    ] {
        let addr = serve_with_peer(app(layer(networks)), bind).await;
        let reply = send(
            Method::GET,
            &format!("http://{addr}/api/data"),
            &[("traceparent", TP)],
        )
        .await;
        assert_eq!(reply.body, format!("|{decision}"), "{bind} {networks:?}");
    }

    // No peer address known (served without ConnectInfo): the fallback.
    let addr = serve(app(layer(&["127.0.0.0/8"]))).await;
    let reply = send(
        Method::GET,
        &format!("http://{addr}/api/data"),
        &[("traceparent", TP)],
    )
    .await;
    assert_eq!(reply.body, "|NotTrusted(NewRootWithLink)");

    // Any server can say who the peer is with the `PeerAddr` extension.
    let svc =
        layer(&["10.0.0.0/8"]).layer(tower::service_fn(|req: http::Request<()>| async move {
            let trace = req.extensions().get::<RequestTrace>().unwrap();
            Ok::<_, std::convert::Infallible>(http::Response::new(format!(
                "{:?}",
                trace.decision()
            )))
        }));
    for (peer, decision) in [
        ("10.1.2.3:4000", "Continued"),
        ("192.0.2.1:4000", "NotTrusted(NewRootWithLink)"),
    ] {
        let mut req = http::Request::get("/")
            .header("traceparent", TP)
            .body(())
            .unwrap();
        req.extensions_mut().insert(PeerAddr(peer.parse().unwrap()));
        let res = svc.clone().oneshot(req).await.unwrap();
        assert_eq!(res.into_body().into_inner(), decision, "{peer}");
    }
}

/// The server span's attributes follow the OpenTelemetry HTTP server
/// conventions (1.42.0): redacted `url.query`, `server.address` /
/// `server.port` from `Host`, `network.protocol.version`, `client.address`
/// and `network.peer.*` from the peer address, `error.type` on 5xx, `_OTHER`
/// with `http.request.method_original` for unknown methods.
#[tokio::test]
async fn server_span_attributes_follow_the_http_conventions() {
    for path in otel::PATHS {
        println!("span path: {path:?}");
        let otel = otel::install();
        let app = Router::new()
            .route("/api/data", get(echo))
            .route("/fail", get(|| async { StatusCode::INTERNAL_SERVER_ERROR }))
            .fallback(|| async { "any" })
            .layer(otel.on(path, TraceContextLayer::new()));
        let addr = serve_with_peer(app, "127.0.0.1:0").await;
        let query = "q=OpenTelemetry&sig=abc&X-Amz-Signature=s&Sig=kept";
        send(Method::GET, &format!("http://{addr}/api/data?{query}"), &[]).await;
        send(Method::GET, &format!("http://{addr}/fail"), &[]).await;
        send(
            Method::from_bytes(b"PURGE").unwrap(),
            &format!("http://{addr}/thing"),
            &[],
        )
        .await;

        let spans = otel.spans(3).await;
        let attr = |span: &opentelemetry_sdk::trace::SpanData, key: &str| {
            span.attributes
                .iter()
                .find(|kv| kv.key.as_str() == key)
                .map(|kv| kv.value.to_string())
        };
        let by_name = |name: &str| {
            spans.iter().find(|s| s.name == name).unwrap_or_else(|| {
                panic!(
                    "no span {name}: {:?}",
                    spans.iter().map(|s| &s.name).collect::<Vec<_>>()
                )
            })
        };
        let get = by_name("GET /api/data");
        for (key, value) in [
            ("http.request.method", Some("GET".to_owned())),
            ("http.request.method_original", None),
            ("url.path", Some("/api/data".to_owned())),
            (
                "url.query",
                Some("q=OpenTelemetry&sig=REDACTED&X-Amz-Signature=REDACTED&Sig=kept".to_owned()),
            ),
            ("server.address", Some("127.0.0.1".to_owned())),
            ("server.port", Some(addr.port().to_string())),
            ("network.protocol.version", Some("1.1".to_owned())),
            ("client.address", Some("127.0.0.1".to_owned())),
            ("network.peer.address", Some("127.0.0.1".to_owned())),
            ("http.route", Some("/api/data".to_owned())),
            ("http.response.status_code", Some("200".to_owned())),
            ("error.type", None),
        ] {
            assert_eq!(attr(get, key), value, "{key}");
        }
        // Numbers are OpenTelemetry integers, not strings.
        let value = |key: &str| {
            get.attributes
                .iter()
                .find(|kv| kv.key.as_str() == key)
                .map(|kv| kv.value.clone())
        };
        assert_eq!(
            value("server.port"),
            Some(opentelemetry::Value::I64(addr.port().into()))
        );
        assert!(matches!(
            value("network.peer.port"),
            Some(opentelemetry::Value::I64(port)) if port > 0
        ));
        assert_eq!(
            value("http.response.status_code"),
            Some(opentelemetry::Value::I64(200))
        );

        let fail = by_name("GET /fail");
        assert_eq!(attr(fail, "error.type").as_deref(), Some("500"));
        assert_eq!(
            attr(fail, "http.response.status_code").as_deref(),
            Some("500")
        );

        let purge = by_name("HTTP");
        assert_eq!(
            attr(purge, "http.request.method").as_deref(),
            Some("_OTHER")
        );
        assert_eq!(
            attr(purge, "http.request.method_original").as_deref(),
            Some("PURGE")
        );
    }
}

/// On both span paths: a handler's `tracing` span, an `#[instrument]`
/// function, a span in a task spawned with the current OpenTelemetry
/// context carried over, and an outgoing call through the client layer are
/// children of the server span; a body streamed for 300 ms is timed whole.
#[tokio::test]
async fn work_under_the_server_span_is_its_child_on_both_paths() {
    use opentelemetry::context::FutureExt as _;
    use opentelemetry::trace::SpanKind;
    use tonic::codegen::tokio_stream::wrappers::ReceiverStream;
    use tower::ServiceExt;
    use tower_trace_context::client::{Allowlist, PropagateLayer};

    #[tracing::instrument]
    async fn lookup() {}

    for path in otel::PATHS {
        println!("span path: {path:?}");
        let otel = otel::install();
        let (recorder, seen) = http_support::recorder().await;
        let allow = Allowlist::builder()
            .origin(format!("http://{recorder}"))
            .build()
            .unwrap();
        let client = tower::ServiceBuilder::new()
            .layer(PropagateLayer::new(allow))
            .service(
                hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                    .build_http::<http_body_util::Empty<bytes::Bytes>>(),
            );
        let work = move || {
            let client = client.clone();
            async move {
                tracing::info_span!("handler work").in_scope(|| {});
                lookup().await;
                let cx = opentelemetry::Context::current();
                tokio::spawn(
                    async { tracing::info_span!("spawned").in_scope(|| {}) }.with_context(cx),
                )
                .await
                .unwrap();
                let req = http::Request::get(format!("http://{recorder}/next"))
                    .body(http_body_util::Empty::new())
                    .unwrap();
                let response = client.oneshot(req).await.unwrap();
                http_body_util::BodyExt::collect(response.into_body())
                    .await
                    .unwrap();
                "done"
            }
        };
        let stream = || async {
            let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(1);
            tokio::spawn(async move {
                tx.send(Ok("first ".into())).await.unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                tx.send(Ok("last".into())).await.unwrap();
            });
            axum::body::Body::from_stream(ReceiverStream::new(rx))
        };
        let app = Router::new()
            .route("/work", get(work))
            .route("/stream", get(stream))
            .layer(otel.on(path, TraceContextLayer::new()));
        let addr = serve(app).await;

        let reply = send(
            Method::GET,
            &format!("http://{addr}/work"),
            &[("traceparent", TP)],
        )
        .await;
        assert_eq!(reply.body, "done");
        let spans = otel.spans(5).await;
        let server = spans
            .iter()
            .find(|s| s.span_kind == SpanKind::Server)
            .unwrap();
        assert_eq!(server.parent_span_id, otel::span_id(PARENT));
        let server_id = server.span_context.span_id();
        for name in ["handler work", "lookup", "spawned"] {
            let span = spans.iter().find(|s| s.name == name).unwrap_or_else(|| {
                panic!(
                    "no {name}: {:?}",
                    spans.iter().map(|s| &s.name).collect::<Vec<_>>()
                )
            });
            assert_eq!(span.parent_span_id, server_id, "{name}");
            assert_eq!(
                span.span_context.trace_id(),
                otel::trace_id(TRACE),
                "{name}"
            );
        }
        let client_span = spans
            .iter()
            .find(|s| s.span_kind == SpanKind::Client)
            .unwrap();
        assert_eq!(client_span.parent_span_id, server_id);
        let sent = seen.lock().unwrap()[0]["traceparent"].clone();
        assert_eq!(
            sent,
            format!("00-{TRACE}-{}-01", client_span.span_context.span_id())
        );

        otel.exporter.reset();
        let reply = send(Method::GET, &format!("http://{addr}/stream"), &[]).await;
        assert_eq!(reply.body, "first last");
        let span = otel.span("GET /stream").await;
        let lasted = span.end_time.duration_since(span.start_time).unwrap();
        assert!(
            lasted >= std::time::Duration::from_millis(300),
            "{lasted:?}"
        );
    }
}

/// Unsampled requests (flags 00 under a parent-based sampler) export
/// nothing on either path, yet still pass `traceparent` with flags 00 and
/// `tracestate` unchanged through the client layer, and still write
/// `server-timing`.
#[tokio::test]
async fn unsampled_requests_export_nothing_and_still_propagate_on_both_paths() {
    const UNSAMPLED: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
    const STATE: &str = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7";
    for path in otel::PATHS {
        println!("span path: {path:?}");
        let otel = otel::install();
        let (recorder, seen) = http_support::recorder().await;
        let layer = otel.on(path, TraceContextLayer::new());
        let addr = relay::service(layer, recorder, |trace| format!("{:?}", trace.decision())).await;
        let reply = send(
            Method::GET,
            &format!("http://{addr}/api"),
            &[("traceparent", UNSAMPLED), ("tracestate", STATE)],
        )
        .await;
        assert_eq!(reply.body, "Continued");
        let desc = server_timing_desc(&reply.all("server-timing"), "traceparent");
        assert!(
            desc.starts_with(&format!("00-{TRACE}-")) && desc.ends_with("-00"),
            "{desc}"
        );
        let headers = seen.lock().unwrap().pop().unwrap();
        let sent = headers["traceparent"].to_str().unwrap();
        assert!(
            sent.starts_with(&format!("00-{TRACE}-")) && sent.ends_with("-00"),
            "{sent}"
        );
        assert_ne!(sent, UNSAMPLED, "a span of this service is the parent");
        assert_eq!(headers["tracestate"], STATE);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert!(otel.exporter.get_finished_spans().unwrap().is_empty());
    }
}

/// The direct path ends its span when the body ends, even while a handler
/// keeps a `RequestTrace` (which holds the span's context).
#[tokio::test]
async fn a_kept_request_trace_does_not_keep_the_direct_span_open() {
    let kept = std::sync::Arc::new(std::sync::Mutex::new(Vec::<RequestTrace>::new()));
    let otel = otel::install();
    let stash = kept.clone();
    let app = Router::new()
        .route(
            "/keep",
            get(move |Extension(trace): Extension<RequestTrace>| {
                stash.lock().unwrap().push(trace);
                async { "kept" }
            }),
        )
        .layer(otel.on(otel::Path::OpenTelemetry, TraceContextLayer::new()));
    let addr = serve(app).await;
    let reply = send(
        Method::GET,
        &format!("http://{addr}/keep"),
        &[("traceparent", TP)],
    )
    .await;
    assert_eq!(reply.body, "kept");
    let span = otel.span("GET /keep").await;
    assert_eq!(
        kept.lock().unwrap()[0].span_context().span_id(),
        span.span_context.span_id()
    );
}

/// A tracer that starts no span of its own (the no-op tracer of an
/// OpenTelemetry without a tracer provider) is no server span: the caller's
/// context is passed through, said in the decision, and no `server-timing`
/// names the caller's span as ours.
#[tokio::test]
async fn the_no_op_tracer_is_no_server_span() {
    let (recorder, seen) = http_support::recorder().await;
    let layer = TraceContextLayer::new().tracer(opentelemetry::trace::noop::NoopTracer::new());
    let addr = relay::service(layer, recorder, |trace| {
        format!("{:?} {:?}", trace.decision(), trace.traceparent())
    })
    .await;
    let reply = send(
        Method::GET,
        &format!("http://{addr}/api"),
        &[("traceparent", TP)],
    )
    .await;
    assert_eq!(
        reply.body,
        format!(
            "{:?} None",
            Decision::PassedThrough(tower_trace_context::server::Unlinked::NoTracerProvider)
        )
    );
    assert!(reply.all("server-timing").is_empty(), "{reply:?}");
    assert_eq!(seen.lock().unwrap()[0]["traceparent"], TP);
}
