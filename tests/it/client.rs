//! The client layer end to end over real TCP on 127.0.0.1 with the real
//! OpenTelemetry SDK: test client -> A (server layer) -> B through the client
//! layer (reqwest) -> B (server layer) -> an external recording server that is
//! not allowlisted (hyper-util client).

use crate::support::http_support;
use crate::support::otel;

use axum::Router;
use axum::extract::Extension;
use axum::routing::{get, post};
use http::Method;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use opentelemetry::trace::{SpanKind, TraceContextExt};
use tower::{Layer, Service, ServiceBuilder, ServiceExt};
use tower_trace_context::client::{PropagateLayer, PropagateMiddleware};
use tower_trace_context::server::{RequestTrace, TraceContextLayer};
use tower_trace_context::{TraceParent, client::Allowlist};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";
const TP: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const TS: &str = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7";

use http_support::{Seen, recorder};
use std::net::SocketAddr;

use std::sync::{Arc, Mutex};

/// `tower_trace_context` events, with their level and message.
type Events = Arc<Mutex<Vec<(tracing::Level, String)>>>;
/// Records `tower_trace_context` events into [`Events`].
struct Record(Events);
impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Record {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Message(String);
        impl tracing::field::Visit for Message {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    self.0 = format!("{value:?}");
                }
            }
        }
        let mut message = Message(String::new());
        event.record(&mut message);
        if event.metadata().target() == "tower_trace_context" {
            self.0
                .lock()
                .unwrap()
                .push((*event.metadata().level(), message.0));
        }
    }
}

const LEAKY: [&str; 4] = ["traceparent", "tracestate", "baggage", "sentry-trace"];

#[tokio::test]
async fn three_hop_chain_propagates_only_to_allowlisted_hosts() {
    let otel = otel::install();
    let (external, external_seen) = recorder().await;

    // B: server layer; calls the external server through the client layer
    // (hyper-util client), with hand-set trace headers that must be stripped.
    let b_allow = Allowlist::builder()
        .host("allowed.invalid")
        .build()
        .unwrap();
    let b_client = ServiceBuilder::new()
        .layer(PropagateLayer::new(b_allow))
        .service(Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>());
    let b_handler = move |Extension(trace): Extension<RequestTrace>| {
        let mut client = b_client.clone();
        async move {
            let req = http::Request::get(format!("http://{external}/collect"))
                .header("baggage", "user=42")
                .header("sentry-trace", format!("{TRACE}-{PARENT}-1"))
                .header("traceparent", TP)
                .body(Empty::new())
                .unwrap();
            let res = client.ready().await.unwrap().call(req).await.unwrap();
            assert!(res.status().is_success());
            let _ = res.into_body().collect().await;
            trace.span_context().trace_state().header()
        }
    };
    let b = http_support::serve(
        Router::new()
            .route("/b", get(b_handler))
            .layer(TraceContextLayer::new()),
    )
    .await;

    // A: server layer; calls B through the client layer over reqwest.
    let a_allow = Allowlist::builder()
        .origin(format!("http://{b}"))
        .build()
        .unwrap();
    let a_client = ServiceBuilder::new()
        .layer(PropagateLayer::new(a_allow))
        .service(reqwest::Client::new());
    let a_handler = move || {
        let client = a_client.clone();
        async move {
            let req = reqwest::Request::new(Method::GET, format!("http://{b}/b").parse().unwrap());
            let res = client.oneshot(req).await.unwrap();
            res.text().await.unwrap()
        }
    };
    let a = http_support::serve(
        Router::new()
            .route("/a", get(a_handler))
            .layer(TraceContextLayer::new()),
    )
    .await;

    let reply = http_support::send(
        Method::GET,
        &format!("http://{a}/a"),
        &[("traceparent", TP), ("tracestate", TS)],
    )
    .await;
    // The original tracestate arrived at B unchanged.
    assert_eq!(reply.body, TS);

    // Spans: A server, A client, B server, B client.
    let spans = otel.spans(4).await;
    let find = |kind: SpanKind, name: &str| {
        spans
            .iter()
            .find(|s| s.span_kind == kind && s.name == name)
            .unwrap_or_else(|| {
                panic!(
                    "no {kind:?} {name}: {:?}",
                    spans
                        .iter()
                        .map(|s| (&s.span_kind, &s.name))
                        .collect::<Vec<_>>()
                )
            })
    };
    let a_server = find(SpanKind::Server, "GET /a");
    let b_server = find(SpanKind::Server, "GET /b");
    let clients: Vec<_> = spans
        .iter()
        .filter(|s| s.span_kind == SpanKind::Client)
        .collect();
    assert_eq!(clients.len(), 2);
    let a_client_span = clients
        .iter()
        .find(|s| s.parent_span_id == a_server.span_context.span_id())
        .expect("A's client span");
    let b_client_span = clients
        .iter()
        .find(|s| s.parent_span_id == b_server.span_context.span_id())
        .expect("B's client span");

    // One trace id across A and B.
    for span in [a_server, b_server, *a_client_span, *b_client_span] {
        assert_eq!(
            span.span_context.trace_id(),
            otel::trace_id(TRACE),
            "{}",
            span.name
        );
    }
    assert_eq!(a_server.parent_span_id, otel::span_id(PARENT));
    // B's server span is the child of A's client span.
    assert_eq!(
        b_server.parent_span_id,
        a_client_span.span_context.span_id()
    );
    let attr = |s: &opentelemetry_sdk::trace::SpanData, k: &str| {
        s.attributes
            .iter()
            .find(|kv| kv.key.as_str() == k)
            .map(|kv| kv.value.to_string())
    };
    assert_eq!(
        attr(a_client_span, "url.full"),
        Some(format!("http://{b}/b"))
    );
    assert_eq!(
        attr(a_client_span, "http.response.status_code").as_deref(),
        Some("200")
    );
    assert_eq!(
        attr(b_client_span, "server.port"),
        Some(external.port().to_string())
    );
    // An OpenTelemetry integer, not a string.
    assert!(
        b_client_span
            .attributes
            .iter()
            .any(|kv| kv.key.as_str() == "server.port"
                && kv.value == opentelemetry::Value::I64(external.port().into())),
        "{:?}",
        b_client_span.attributes
    );

    // The external server received no trace headers at all.
    let seen = external_seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    for name in LEAKY {
        assert!(
            !seen[0].contains_key(name),
            "external server got {name}: {:?}",
            seen[0]
        );
    }
}

#[tokio::test]
async fn strip_manual_headers_off_leaves_hand_set_headers() {
    let _otel = otel::install();
    let (external, seen) = recorder().await;
    let allow = Allowlist::builder()
        .host("allowed.invalid")
        .build()
        .unwrap();
    let client = ServiceBuilder::new()
        .layer(PropagateLayer::new(allow).strip_manual_headers(false))
        .service(Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>());
    let req = http::Request::get(format!("http://{external}/x"))
        .header("baggage", "k=v")
        .body(Empty::new())
        .unwrap();
    client.oneshot(req).await.unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0]["baggage"], "k=v");
    assert!(!seen[0].contains_key("traceparent"));
}

#[tokio::test]
async fn client_span_is_child_of_current_span_and_is_what_is_sent() {
    for path in otel::PATHS {
        println!("span path: {path:?}");
        let otel = otel::install();
        let (addr, seen) = recorder().await;
        let allow = Allowlist::builder()
            .origin(format!("http://{addr}"))
            .build()
            .unwrap();
        let client = ServiceBuilder::new()
            .layer(otel.on_client(path, PropagateLayer::new(allow)))
            .service(Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>());
        let parent = tracing::info_span!("job");
        // A stale `sentry-trace` (say, copied from an incoming request) would
        // name another parent than the `traceparent` sent: it is removed.
        let req = http::Request::post(format!("http://{addr}/x"))
            .header(
                "sentry-trace",
                "771a43a4192642f0b136d5159a501700-b0e6f15b45c36b12-1",
            )
            .body(Empty::new())
            .unwrap();
        let res = tracing::Instrument::instrument(client.oneshot(req), parent.clone())
            .await
            .unwrap();
        assert!(res.status().is_success());
        drop(parent);
        // The client span lasts until the response body is read to its end.
        let finished = otel.exporter.get_finished_spans().unwrap();
        match path {
            // The client span holds its `tracing` parent open too.
            otel::Path::Tracing => assert!(finished.is_empty(), "{finished:?}"),
            // An OpenTelemetry span does not hold the caller's `tracing`
            // span open: only the client span must still be running.
            otel::Path::OpenTelemetry => assert!(
                !finished.iter().any(|s| s.span_kind == SpanKind::Client),
                "{finished:?}"
            ),
        }
        let _ = res.into_body().collect().await.unwrap();
        let spans = otel.spans(2).await;
        let job = spans.iter().find(|s| s.name == "job").unwrap();
        let client_span = spans
            .iter()
            .find(|s| s.span_kind == SpanKind::Client)
            .unwrap();
        assert_eq!(client_span.name, "POST");
        assert_eq!(client_span.parent_span_id, job.span_context.span_id());
        let sent = TraceParent::parse(seen.lock().unwrap()[0]["traceparent"].as_bytes()).unwrap();
        assert_eq!(sent.trace_id(), job.span_context.trace_id());
        assert_eq!(sent.parent_id(), client_span.span_context.span_id());
        assert!(!seen.lock().unwrap()[0].contains_key("sentry-trace"));
    }
}

#[tokio::test]
async fn without_a_client_span_the_current_span_is_sent() {
    let otel = otel::install();
    let (addr, seen) = recorder().await;
    let allow = Allowlist::builder().host("127.0.0.1").build().unwrap();
    let client = ServiceBuilder::new()
        .layer(PropagateLayer::new(allow).client_span(false))
        .service(Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>());
    let parent = tracing::info_span!("job");
    let req = http::Request::get(format!("http://{addr}/x"))
        .body(Empty::new())
        .unwrap();
    tracing::Instrument::instrument(client.oneshot(req), parent.clone())
        .await
        .unwrap();
    drop(parent);
    let spans = otel.spans(1).await;
    let job = spans.iter().find(|s| s.name == "job").unwrap();
    let sent = TraceParent::parse(seen.lock().unwrap()[0]["traceparent"].as_bytes()).unwrap();
    assert_eq!(sent.parent_id(), job.span_context.span_id());
}

#[tokio::test]
async fn transport_errors_4xx_and_5xx_mark_the_client_span() {
    for path in otel::PATHS {
        println!("span path: {path:?}");
        let otel = otel::install();
        let allow = Allowlist::all();
        let failing =
            Router::new().route("/", get(|| async { (http::StatusCode::BAD_GATEWAY, "no") }));
        let addr = http_support::serve(failing).await;
        let client = ServiceBuilder::new()
            .layer(otel.on_client(path, PropagateLayer::new(allow)))
            .service(reqwest::Client::new());
        let res = client
            .clone()
            .oneshot(reqwest::Request::new(
                Method::GET,
                format!("http://{addr}/").parse().unwrap(),
            ))
            .await
            .unwrap();
        assert_eq!(res.status(), 502);
        // A 4xx is an error on a client span too (HTTP client conventions).
        let res = client
            .clone()
            .oneshot(reqwest::Request::new(
                Method::GET,
                format!("http://{addr}/missing").parse().unwrap(),
            ))
            .await
            .unwrap();
        assert_eq!(res.status(), 404);
        // A closed port: a transport error, passed through untouched.
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let err = client
            .oneshot(reqwest::Request::new(
                Method::GET,
                format!("http://{closed}/").parse().unwrap(),
            ))
            .await;
        assert!(err.is_err());
        let spans = otel.spans(3).await;
        let clients: Vec<_> = spans
            .iter()
            .filter(|s| s.span_kind == SpanKind::Client)
            .collect();
        assert_eq!(clients.len(), 3);
        assert!(clients.iter().any(|s| {
            s.attributes
                .iter()
                .any(|kv| kv.key.as_str() == "error.type" && kv.value.as_str() == "404")
        }));
        for span in clients {
            assert!(
                matches!(span.status, opentelemetry::trace::Status::Error { .. }),
                "{:?}",
                span.status
            );
        }
    }
}

#[tokio::test]
async fn reqwest_middleware_propagates_only_to_allowlisted_hosts() {
    for path in otel::PATHS {
        println!("span path: {path:?}");
        let otel = otel::install();
        let (allowed, allowed_seen) = recorder().await;
        let (other, other_seen) = recorder().await;
        let allow = Allowlist::builder()
            .origin(format!("http://{allowed}"))
            .build()
            .unwrap();
        let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
            .with(PropagateMiddleware::new(
                otel.on_client(path, PropagateLayer::new(allow)),
            ))
            .build();
        let root = tracing::info_span!("root");
        let calls = async {
            client
                .get(format!("http://{allowed}/x"))
                .send()
                .await
                .unwrap();
            client
                .get(format!("http://{other}/x"))
                .header("tracestate", "a=1")
                .send()
                .await
                .unwrap();
        };
        tracing::Instrument::instrument(calls, root.clone()).await;
        let root_cx = tracing_opentelemetry::OpenTelemetrySpanExt::context(&root);
        let root_trace = root_cx.span().span_context().trace_id();
        drop(root);
        otel.spans(3).await;
        let sent =
            TraceParent::parse(allowed_seen.lock().unwrap()[0]["traceparent"].as_bytes()).unwrap();
        assert_eq!(sent.trace_id(), root_trace);
        let other = &other_seen.lock().unwrap()[0];
        for name in LEAKY {
            assert!(!other.contains_key(name), "{name} leaked: {other:?}");
        }
    }
}

#[tokio::test]
async fn without_opentelemetry_the_incoming_context_passes_through() {
    // No subscriber: the server layer makes the incoming context current and
    // the client layer sends it on unchanged (as Dynatrace requires).
    let (addr, seen) = recorder().await;
    let allow = Allowlist::builder()
        .origin(format!("http://{addr}"))
        .build()
        .unwrap();
    let client = ServiceBuilder::new()
        .layer(PropagateLayer::new(allow))
        .service(Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>());
    let handler = move || {
        let client = client.clone();
        async move {
            let req = http::Request::get(format!("http://{addr}/down"))
                .body(Empty::new())
                .unwrap();
            client
                .oneshot(req)
                .await
                .unwrap()
                .status()
                .as_u16()
                .to_string()
        }
    };
    let app = Router::new()
        .route("/", post(handler))
        .layer(TraceContextLayer::new());
    let front = http_support::serve(app).await;
    let reply = http_support::send(
        Method::POST,
        &format!("http://{front}/"),
        &[("traceparent", TP), ("tracestate", TS)],
    )
    .await;
    assert_eq!(reply.body, "200");
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0]["traceparent"], TP);
    assert_eq!(seen[0]["tracestate"], TS);
}

/// A path-only URI (what a tonic `Channel` passes its layers) cannot be
/// judged by any allowlist rule: nothing is sent, hand-set trace headers
/// are stripped, and the layer says so once with a `WARN`, instead of a
/// `DEBUG` "not in the allowlist" that would send users looking at their
/// rules.
#[tokio::test]
async fn path_only_uris_are_said_once_and_get_no_trace_headers() {
    use tracing_subscriber::layer::SubscriberExt;

    let events = Events::default();
    let _guard = tracing::subscriber::set_default(
        tracing_subscriber::registry().with(Record(events.clone())),
    );
    let inner = tower::service_fn(|req: http::Request<()>| async move {
        Ok::<_, std::io::Error>(http::Response::new(
            LEAKY.iter().any(|name| req.headers().contains_key(*name)),
        ))
    });
    let mut svc = PropagateLayer::new(Allowlist::all()).layer(inner);
    for _ in 0..3 {
        let req = http::Request::post("/grpc.health.v1.Health/Check")
            .header("traceparent", TP)
            .body(())
            .unwrap();
        let leaked = svc
            .ready()
            .await
            .unwrap()
            .call(req)
            .await
            .unwrap()
            .into_body()
            .into_inner();
        assert!(!leaked, "trace headers reached a path-only request");
    }
    let events = events.lock().unwrap();
    let warnings: Vec<_> = events
        .iter()
        .filter(|(level, _)| *level == tracing::Level::WARN)
        .collect();
    assert_eq!(warnings.len(), 1, "{events:?}");
    assert!(warnings[0].1.contains("path-only"), "{}", warnings[0].1);
    assert!(
        !events
            .iter()
            .any(|(_, m)| m.contains("not in the allowlist")),
        "{events:?}"
    );
    assert_eq!(
        events
            .iter()
            .filter(|(level, m)| *level == tracing::Level::DEBUG && m.contains("no scheme and host"))
            .count(),
        3
    );
}

/// With the channel's target set, a path-only URI is judged as
/// `scheme://authority/path`: trace context goes to an allowlisted target
/// and its client span names the full URL; another target gets nothing.
#[tokio::test]
async fn path_only_uris_are_judged_against_the_configured_origin() {
    let otel = otel::install();
    let allow = Allowlist::builder()
        .host("orders.internal")
        .build()
        .unwrap();
    let inner = || {
        tower::service_fn(|req: http::Request<()>| async move {
            Ok::<_, std::io::Error>(http::Response::new(
                req.headers()
                    .get("traceparent")
                    .map(|v| v.to_str().unwrap().to_owned()),
            ))
        })
    };
    let call = |layer: PropagateLayer| async move {
        let mut svc = layer.layer(inner());
        let req = http::Request::post("/pkg.Orders/Place")
            .header("traceparent", TP)
            .body(())
            .unwrap();
        svc.ready()
            .await
            .unwrap()
            .call(req)
            .await
            .unwrap()
            .into_body()
            .into_inner()
    };
    let to = |authority: &str| {
        PropagateLayer::new(allow.clone())
            .origin(http::uri::Scheme::HTTP, authority.parse().unwrap())
    };

    let sent = call(to("orders.internal:50051"))
        .await
        .expect("traceparent sent");
    let spans = otel.spans(1).await;
    let client = &spans[0];
    assert_eq!(client.span_kind, SpanKind::Client);
    let tp = TraceParent::parse(sent.as_bytes()).unwrap();
    assert_eq!(tp.parent_id(), client.span_context.span_id());
    let url = client
        .attributes
        .iter()
        .find(|kv| kv.key.as_str() == "url.full")
        .map(|kv| kv.value.to_string());
    assert_eq!(
        url.as_deref(),
        Some("http://orders.internal:50051/pkg.Orders/Place")
    );

    // Another target: the hand-set header is stripped, nothing is sent.
    assert_eq!(call(to("evil.test:443")).await, None);
}

/// A server that records the headers of every request and answers `status`,
/// with `location` as `Location` when given.
async fn hop(status: http::StatusCode, location: Option<String>) -> (SocketAddr, Seen) {
    use axum::extract::State;
    let seen = Seen::default();
    let answer = move |State(seen): State<Seen>, headers: http::HeaderMap| {
        let location = location.clone();
        async move {
            seen.lock().unwrap().push(headers);
            let mut response = http::Response::new(axum::body::Body::from("hop"));
            *response.status_mut() = status;
            if let Some(location) = location {
                response
                    .headers_mut()
                    .insert(http::header::LOCATION, location.parse().unwrap());
            }
            response
        }
    };
    let app = Router::new()
        .route("/{*path}", get(answer))
        .with_state(seen.clone());
    (http_support::serve(app).await, seen)
}

/// A `302` to `to`, recording what it got.
async fn redirect_to(to: String) -> (SocketAddr, Seen) {
    hop(http::StatusCode::FOUND, Some(to)).await
}

/// Which of the trace headers each request a server got carried.
fn trace_headers(seen: &Seen) -> Vec<Vec<&'static str>> {
    seen.lock()
        .unwrap()
        .iter()
        .map(|h| LEAKY.into_iter().filter(|n| h.contains_key(*n)).collect())
        .collect()
}

/// A retry middleware that sends a request failing with a 5xx to a backup
/// host: the URL-rewriting kind that must sit outside `PropagateMiddleware`.
struct Failover(SocketAddr);

#[async_trait::async_trait]
impl reqwest_middleware::Middleware for Failover {
    async fn handle(
        &self,
        req: reqwest::Request,
        extensions: &mut http::Extensions,
        next: reqwest_middleware::Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let backup = req.try_clone().map(|mut backup| {
            let url = format!("http://{}{}", self.0, req.url().path());
            *backup.url_mut() = url.parse().unwrap();
            backup
        });
        let response = next.clone().run(req, extensions).await?;
        match backup {
            Some(backup) if response.status().is_server_error() => {
                next.run(backup, extensions).await
            }
            _ => Ok(response),
        }
    }
}

/// Trace headers never follow a redirect (or a failover) to a URL the
/// allowlist denies, in every documented set-up; the undocumented orders
/// are shown to leak (so the client guide's rules matter) and are reported with
/// one `WARN`. Real servers on 127.0.0.1 record what each one got.
#[tokio::test]
async fn redirects_and_failovers_never_carry_trace_headers_to_denied_hosts() {
    use opentelemetry::trace::TracerProvider as _;
    use tower_http::follow_redirect::FollowRedirectLayer;
    use tower_trace_context::client::OutgoingResponse;
    use tracing_subscriber::layer::SubscriberExt;

    let events = Events::default();
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    let _guard = tracing::subscriber::set_default(
        tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")))
            .with(Record(events.clone())),
    );
    let warnings = |text: &str| {
        events
            .lock()
            .unwrap()
            .iter()
            .filter(|(level, m)| *level == tracing::Level::WARN && m.contains(text))
            .count()
    };
    let only = |addr: SocketAddr| {
        PropagateLayer::new(
            Allowlist::builder()
                .origin(format!("http://{addr}"))
                .build()
                .unwrap(),
        )
    };
    const ALL: [&str; 2] = ["traceparent", "baggage"];

    // 1. PropagateLayer over reqwest with the layer's redirect policy: the
    //    302 to a denied host is not followed; that host gets nothing.
    let (b, b_seen) = hop(http::StatusCode::OK, None).await;
    let (a, a_seen) = redirect_to(format!("http://{b}/landed")).await;
    let layer = only(a);
    let client = reqwest::Client::builder()
        .redirect(layer.redirect_policy())
        .build()
        .unwrap();
    let client = ServiceBuilder::new().layer(layer).service(client);
    let req = reqwest::Request::new(Method::GET, format!("http://{a}/start").parse().unwrap());
    let response = client.oneshot(req).await.unwrap();
    assert_eq!(response.status(), http::StatusCode::FOUND);
    assert_eq!(trace_headers(&a_seen), [["traceparent"]]);
    assert!(
        b_seen.lock().unwrap().is_empty(),
        "the denied host was called"
    );
    assert_eq!(warnings("was not followed"), 1);

    // 2. The same with PropagateMiddleware (and a hand-set baggage, which
    //    the allowlisted host gets and the denied one must not).
    let (b, b_seen) = hop(http::StatusCode::OK, None).await;
    let (a, a_seen) = redirect_to(format!("http://{b}/landed")).await;
    let layer = only(a);
    let client = reqwest::Client::builder()
        .redirect(layer.redirect_policy())
        .build()
        .unwrap();
    let client = reqwest_middleware::ClientBuilder::new(client)
        .with(PropagateMiddleware::new(layer))
        .build();
    let response = client
        .get(format!("http://{a}/start"))
        .header("baggage", "k=v")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), http::StatusCode::FOUND);
    assert_eq!(trace_headers(&a_seen), [ALL]);
    assert!(
        b_seen.lock().unwrap().is_empty(),
        "the denied host was called"
    );
    assert_eq!(warnings("was not followed"), 1, "once per process");

    // 3. A chain through allowlisted hosts only is followed to the end, each
    //    hop with the same trace headers.
    let (d, d_seen) = hop(http::StatusCode::OK, None).await;
    let (c, c_seen) = redirect_to(format!("http://{d}/end")).await;
    let (a, a_seen) = redirect_to(format!("http://{c}/next")).await;
    let layer = PropagateLayer::new(
        Allowlist::builder()
            .origin(format!("http://{a}"))
            .origin(format!("http://{c}"))
            .origin(format!("http://{d}"))
            .build()
            .unwrap(),
    );
    let client = reqwest::Client::builder()
        .redirect(layer.redirect_policy())
        .build()
        .unwrap();
    let client = ServiceBuilder::new().layer(layer).service(client);
    let req = reqwest::Request::new(Method::GET, format!("http://{a}/start").parse().unwrap());
    let response = client.oneshot(req).await.unwrap();
    assert_eq!(response.status(), http::StatusCode::OK);
    assert_eq!(response.url().port(), Some(d.port()));
    let tp = |seen: &Seen| seen.lock().unwrap()[0]["traceparent"].clone();
    assert_eq!(tp(&a_seen), tp(&c_seen));
    assert_eq!(tp(&c_seen), tp(&d_seen));

    // ... and a chain through a denied host stops at its first hop, even
    //    when it would come back to an allowlisted one.
    let (c, c_seen) = hop(http::StatusCode::OK, None).await;
    let (b, b_seen) = redirect_to(format!("http://{c}/back")).await;
    let (a, a_seen) = redirect_to(format!("http://{b}/out")).await;
    let layer = PropagateLayer::new(
        Allowlist::builder()
            .origin(format!("http://{a}"))
            .origin(format!("http://{c}"))
            .build()
            .unwrap(),
    );
    let client = reqwest::Client::builder()
        .redirect(layer.redirect_policy())
        .build()
        .unwrap();
    let client = ServiceBuilder::new().layer(layer).service(client);
    let req = reqwest::Request::new(Method::GET, format!("http://{a}/start").parse().unwrap());
    assert_eq!(
        client.oneshot(req).await.unwrap().status(),
        http::StatusCode::FOUND
    );
    assert_eq!(trace_headers(&a_seen), [["traceparent"]]);
    assert!(b_seen.lock().unwrap().is_empty() && c_seen.lock().unwrap().is_empty());

    // ... while a chain that starts at a denied host carries no trace
    //    headers (they were stripped), so it is followed everywhere.
    let (a, a_seen) = hop(http::StatusCode::OK, None).await;
    let (e, e_seen) = redirect_to(format!("http://{a}/in")).await;
    let layer = only(a);
    let client = reqwest::Client::builder()
        .redirect(layer.redirect_policy())
        .build()
        .unwrap();
    let client = reqwest_middleware::ClientBuilder::new(client)
        .with(PropagateMiddleware::new(layer))
        .build();
    let response = client
        .get(format!("http://{e}/start"))
        .header("baggage", "k=v")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), http::StatusCode::OK);
    assert_eq!(trace_headers(&e_seen), [Vec::<&str>::new()]);
    assert_eq!(trace_headers(&a_seen), [Vec::<&str>::new()]);

    // 4. Before: reqwest's own policy follows the 302 with the trace
    //    headers (the leak the policy above prevents); the layer sees the
    //    response come from the denied URL and says so, once.
    let (b, b_seen) = hop(http::StatusCode::OK, None).await;
    let (a, _) = redirect_to(format!("http://{b}/landed")).await;
    let client = ServiceBuilder::new()
        .layer(only(a))
        .service(reqwest::Client::new());
    let req = reqwest::Request::new(Method::GET, format!("http://{a}/start").parse().unwrap());
    assert_eq!(
        client.oneshot(req).await.unwrap().status(),
        http::StatusCode::OK
    );
    assert_eq!(trace_headers(&b_seen), [["traceparent"]]);
    assert_eq!(warnings("followed a redirect with them"), 1);

    // 5. hyper-util with tower-http's FollowRedirectLayer outside
    //    PropagateLayer (the documented order): every hop is judged, and
    //    the denied one gets nothing, hand-set headers included.
    let hyper_client = || Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let get = |url: String| {
        http::Request::get(url)
            .header("baggage", "k=v")
            .body(Empty::<Bytes>::new())
            .unwrap()
    };
    let (b, b_seen) = hop(http::StatusCode::OK, None).await;
    let (a, a_seen) = redirect_to(format!("http://{b}/landed")).await;
    let client = ServiceBuilder::new()
        .layer(FollowRedirectLayer::new())
        .layer(only(a))
        .service(hyper_client());
    let response = client
        .oneshot(get(format!("http://{a}/start")))
        .await
        .unwrap();
    assert_eq!(response.status(), http::StatusCode::OK);
    assert_eq!(trace_headers(&a_seen), [ALL]);
    assert_eq!(trace_headers(&b_seen), [Vec::<&str>::new()]);

    //    The other order leaks: FollowRedirect re-sends the headers the
    //    layer added. The layer sees tower-http's RequestUri on the
    //    response (feature `tower-http`): the denied final URL is reported.
    let (b, b_seen) = hop(http::StatusCode::OK, None).await;
    let (a, _) = redirect_to(format!("http://{b}/landed")).await;
    let client = ServiceBuilder::new()
        .layer(only(a))
        .layer(FollowRedirectLayer::new())
        .service(hyper_client());
    let response = client
        .oneshot(get(format!("http://{a}/start")))
        .await
        .unwrap();
    assert_eq!(trace_headers(&b_seen), [ALL]);
    let final_url = response.final_url().unwrap();
    assert_eq!(final_url.port(), Some(b.port()));
    assert!(
        !Allowlist::builder()
            .origin(format!("http://{a}"))
            .build()
            .unwrap()
            .matches(&final_url)
    );

    // 6. A failover middleware outside PropagateMiddleware (documented):
    //    the backup host is judged on its own and gets nothing.
    let (backup, backup_seen) = hop(http::StatusCode::OK, None).await;
    let (primary, primary_seen) = hop(http::StatusCode::SERVICE_UNAVAILABLE, None).await;
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(Failover(backup))
        .with(PropagateMiddleware::new(only(primary)))
        .build();
    let response = client
        .get(format!("http://{primary}/x"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), http::StatusCode::OK);
    assert_eq!(trace_headers(&primary_seen), [["traceparent"]]);
    assert_eq!(trace_headers(&backup_seen), [Vec::<&str>::new()]);

    //    Inside it, the failover rewrites the URL after the layer judged
    //    it: the backup gets the headers (hence the client guide's rule).
    let (backup, backup_seen) = hop(http::StatusCode::OK, None).await;
    let (primary, primary_seen) = hop(http::StatusCode::SERVICE_UNAVAILABLE, None).await;
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(PropagateMiddleware::new(only(primary)))
        .with(Failover(backup))
        .build();
    client
        .get(format!("http://{primary}/x"))
        .send()
        .await
        .unwrap();
    assert_eq!(trace_headers(&primary_seen), [["traceparent"]]);
    assert_eq!(trace_headers(&backup_seen), [["traceparent"]]);

    // One WARN of each kind for the whole process.
    assert_eq!(warnings("was not followed"), 1);
    assert_eq!(warnings("followed a redirect with them"), 1);
}

/// What a destination got, over hyper-util's connector with
/// `enforce_http(false)` (so `ws://` URIs are sent as HTTP requests) and a
/// resolver that answers 127.0.0.1 for every DNS name (as a hostile DNS
/// answers for its names; IP literals never reach it).
async fn send_through(layer: PropagateLayer, uri: &str) -> Result<http::StatusCode, String> {
    use hyper_util::client::legacy::connect::{HttpConnector, dns::Name};
    let resolver = tower::service_fn(|_: Name| async {
        Ok::<_, std::io::Error>(std::iter::once(SocketAddr::from(([127, 0, 0, 1], 0))))
    });
    let mut connector = HttpConnector::new_with_resolver(resolver);
    connector.enforce_http(false);
    let client = ServiceBuilder::new()
        .layer(layer)
        .service(Client::builder(TokioExecutor::new()).build::<_, Empty<Bytes>>(connector));
    let req = http::Request::get(uri)
        .header("baggage", "k=v")
        .body(Empty::<Bytes>::new())
        .unwrap();
    match client.oneshot(req).await {
        Ok(response) => Ok(response.status()),
        Err(error) => Err(error.to_string()),
    }
}

/// hyper-util connects to port 80 for every scheme but `https`: a `ws`
/// rule names its port, and a `ws://` URL without one (which goes to :80)
/// is not taken for port 443 or any other. Real listeners on 127.0.0.1:80
/// and an ephemeral port record what they got.
#[tokio::test]
async fn ws_urls_are_judged_on_the_port_the_connector_uses() {
    let _otel = otel::install();
    let (b, b_seen) = hop(http::StatusCode::OK, None).await;
    // Port 80, where hyper-util sends `ws://127.0.0.1/...`.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:80")
        .await
        .expect("this test listens on 127.0.0.1:80 (run as root, port free)");
    let seen80 = Seen::default();
    let app = Router::new()
        .route(
            "/{*path}",
            get(
                |axum::extract::State(seen): axum::extract::State<Seen>,
                 headers: http::HeaderMap| async move {
                    seen.lock().unwrap().push(headers);
                    "port 80"
                },
            ),
        )
        .with_state(seen80.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    // An explicit port: allowed and sent.
    let allow =
        |rule: String| PropagateLayer::new(Allowlist::builder().origin(rule).build().unwrap());
    let port = b.port();
    let status = send_through(
        allow(format!("ws://127.0.0.1:{port}")),
        &format!("ws://127.0.0.1:{port}/socket"),
    )
    .await;
    assert_eq!(status, Ok(http::StatusCode::OK));
    assert_eq!(trace_headers(&b_seen), [["traceparent", "baggage"]]);

    // `wss://127.0.0.1/socket` once matched `origin("wss://127.0.0.1")`
    // (443 to the crate) and went to :80 in plain text. Such a rule is now
    // an error, and the URL matches `wss://127.0.0.1:443` no more.
    assert!(
        Allowlist::builder()
            .origin("wss://127.0.0.1")
            .build()
            .is_err()
    );
    let status = send_through(
        allow("wss://127.0.0.1:443".into()),
        "wss://127.0.0.1/socket",
    )
    .await;
    assert_eq!(status, Ok(http::StatusCode::OK));
    let status = send_through(allow("ws://127.0.0.1:80".into()), "ws://127.0.0.1/socket").await;
    assert_eq!(status, Ok(http::StatusCode::OK));
    // Both reached :80 (so that is where the connector goes), neither with
    // trace headers or the hand-set baggage.
    assert_eq!(
        trace_headers(&seen80),
        [Vec::<&str>::new(), Vec::<&str>::new()]
    );
}

/// `cidr("127.0.0.0/8")` and `origin("http://127.0.0.1:B")` do not take
/// `http://127.0.0.1.:B/` for the IP: hyper-util resolves `127.0.0.1.` as a
/// DNS name, which a resolver may send anywhere (here: to the same server,
/// which then gets no trace header).
#[tokio::test]
async fn an_ip_literal_with_a_trailing_dot_is_not_the_ip() {
    let _otel = otel::install();
    let (b, b_seen) = hop(http::StatusCode::OK, None).await;
    let port = b.port();
    let cidr = PropagateLayer::new(
        Allowlist::builder()
            .networks(["127.0.0.0/8".parse().unwrap()])
            .build()
            .unwrap(),
    );
    let origin = PropagateLayer::new(
        Allowlist::builder()
            .origin(format!("http://127.0.0.1:{port}"))
            .build()
            .unwrap(),
    );
    // The plain IP is allowed by both.
    for layer in [cidr.clone(), origin.clone()] {
        let status = send_through(layer, &format!("http://127.0.0.1:{port}/x")).await;
        assert_eq!(status, Ok(http::StatusCode::OK));
    }
    // `127.0.0.1.` goes through the resolver, which sends it to B too.
    for layer in [cidr, origin] {
        let status = send_through(layer, &format!("http://127.0.0.1.:{port}/x")).await;
        assert_eq!(status, Ok(http::StatusCode::OK));
    }
    assert_eq!(
        trace_headers(&b_seen),
        [
            vec!["traceparent", "baggage"],
            vec!["traceparent", "baggage"],
            vec![],
            vec![]
        ]
    );
}

/// Unsampled calls (under an unsampled parent, with the SDK's parent-based
/// sampler) export nothing on either path, yet carry `traceparent` with
/// flags `00` naming a span of this service, and the parent's `tracestate`.
#[tokio::test]
async fn unsampled_calls_export_nothing_and_still_carry_flags_00() {
    use opentelemetry::trace::{TraceContextExt as _, TraceState};
    for path in otel::PATHS {
        println!("span path: {path:?}");
        let otel = otel::install();
        let (addr, seen) = recorder().await;
        let allow = Allowlist::builder().host("127.0.0.1").build().unwrap();
        let client = ServiceBuilder::new()
            .layer(otel.on_client(path, PropagateLayer::new(allow)))
            .service(reqwest::Client::new());
        let parent = opentelemetry::trace::SpanContext::new(
            otel::trace_id(TRACE),
            otel::span_id(PARENT),
            opentelemetry::trace::TraceFlags::NOT_SAMPLED,
            true,
            TraceState::from_key_value([("congo", "t61rcWkgMzE")]).unwrap(),
        );
        let cx = opentelemetry::Context::new().with_remote_span_context(parent);
        let _attached = cx.attach();
        let req = reqwest::Request::new(Method::GET, format!("http://{addr}/x").parse().unwrap());
        let res = client.oneshot(req).await.unwrap();
        assert!(res.status().is_success());
        let headers = seen.lock().unwrap().pop().unwrap();
        let sent = TraceParent::parse(headers["traceparent"].as_bytes()).unwrap();
        assert_eq!(sent.trace_id(), otel::trace_id(TRACE));
        assert!(!sent.trace_flags().is_sampled());
        assert_ne!(
            sent.parent_id(),
            otel::span_id(PARENT),
            "a span of this service"
        );
        assert_eq!(headers["tracestate"], "congo=t61rcWkgMzE");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(otel.exporter.get_finished_spans().unwrap().is_empty());
    }
}
