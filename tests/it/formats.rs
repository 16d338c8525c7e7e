//! B3 and Datadog trace context, end to end over real TCP on 127.0.0.1
//! with the real OpenTelemetry SDK: a request carrying only B3 or only
//! Datadog headers continues its trace; the downstream call to an
//! allowlisted host carries `traceparent` and the format, rebuilt from the
//! current span with what re-injection needs (B3 64-bit ids and debug,
//! Datadog priority, origin and `_dd.p.*` tags), and another host gets
//! none of them. Precedence when several formats arrive, opt-in, the
//! preflight, and a property test: any valid input round-trips.

use crate::support::http_support::{self, recorder};
use crate::support::otel;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::Extension;
use axum::routing::get;
use http::{HeaderMap, Method};
use opentelemetry::trace::SpanKind;
use tower::{ServiceBuilder, ServiceExt};
use tower_http::cors::CorsLayer;
use tower_trace_context::b3::{B3Encoding, B3Support};
use tower_trace_context::client::{Allowlist, PropagateLayer};
use tower_trace_context::datadog::DatadogSupport;
use tower_trace_context::server::{RequestTrace, TraceContextLayer};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const TRACE64: &str = "a3ce929d0e0e4736";
const SPAN: &str = "00f067aa0ba902b7";
/// `0xa3ce929d0e0e4736` in decimal.
const TRACE_LOW_DEC: &str = "11803532876627986230";
/// `0x00f067aa0ba902b7` in decimal.
const SPAN_DEC: &str = "67667974448284343";

/// A service behind the server layer (B3 and Datadog on, plus whatever
/// `server` adds) calling `allowed` and `other` through the client layer
/// (B3 in `encoding`, Datadog on), allowlisting only `allowed`. Answers
/// with the decision.
async fn api(encoding: B3Encoding, allowed: SocketAddr, other: SocketAddr) -> SocketAddr {
    let allow = Allowlist::builder()
        .origin(format!("http://{allowed}"))
        .build()
        .unwrap();
    let client = ServiceBuilder::new()
        .layer(
            PropagateLayer::new(allow)
                .b3(B3Support::new().encoding(encoding))
                .datadog(DatadogSupport::new()),
        )
        .service(reqwest::Client::new());
    let handler = move |Extension(trace): Extension<RequestTrace>| {
        let client = client.clone();
        async move {
            for target in [allowed, other] {
                let url = format!("http://{target}/downstream").parse().unwrap();
                let mut req = reqwest::Request::new(Method::GET, url);
                // Copied by hand from somewhere: replaced on `allowed`,
                // and must not reach `other`.
                for name in FORMAT_HEADERS {
                    req.headers_mut().insert(name, "1".parse().unwrap());
                }
                let res = client.clone().oneshot(req).await.unwrap();
                assert!(res.status().is_success());
            }
            format!("{:?}", trace.decision())
        }
    };
    let cors = CorsLayer::new()
        .allow_origin(["http://app.test".parse().unwrap()])
        .allow_methods([Method::GET]);
    // The formats go on a layer with its own span maker too.
    let layer = TraceContextLayer::new()
        .make_span(|req: &http::Request<axum::body::Body>| {
            tracing::info_span!("api", otel.kind = "server", otel.name = %req.uri().path())
        })
        .b3(B3Support::new())
        .datadog(DatadogSupport::new());
    http_support::serve(
        Router::new()
            .route("/api", get(handler))
            .layer(cors)
            .layer(layer),
    )
    .await
}

/// Every header B3 and Datadog read and write.
const FORMAT_HEADERS: [&str; 11] = [
    "b3",
    "x-b3-traceid",
    "x-b3-spanid",
    "x-b3-parentspanid",
    "x-b3-sampled",
    "x-b3-flags",
    "x-datadog-trace-id",
    "x-datadog-parent-id",
    "x-datadog-sampling-priority",
    "x-datadog-origin",
    "x-datadog-tags",
];

/// The API of [`api`] with its two recording downstream hosts: the
/// allowlisted one and the other, and what each received.
struct Setup {
    api: SocketAddr,
    allowed: http_support::Seen,
    other: http_support::Seen,
}

impl Setup {
    /// A GET of the API with `headers`; the reply's body is the decision.
    async fn call(&self, headers: &[(&str, &str)]) -> http_support::Reply {
        http_support::send(Method::GET, &format!("http://{}/api", self.api), headers).await
    }

    /// The headers of the one call to the allowlisted host and to the other.
    fn seen(&self) -> (HeaderMap, HeaderMap) {
        let first = |seen: &http_support::Seen| seen.lock().unwrap()[0].clone();
        (first(&self.allowed), first(&self.other))
    }
}

async fn setup(encoding: B3Encoding) -> Setup {
    let (allowed, allowed_seen) = recorder().await;
    let (other, other_seen) = recorder().await;
    Setup {
        api: api(encoding, allowed, other).await,
        allowed: allowed_seen,
        other: other_seen,
    }
}

/// The one server span and the client span of the call to `allowed` (the
/// first client span), from `spans`.
fn server_and_client(
    spans: &[opentelemetry_sdk::trace::SpanData],
) -> (
    &opentelemetry_sdk::trace::SpanData,
    &opentelemetry_sdk::trace::SpanData,
) {
    let server = spans
        .iter()
        .find(|s| s.span_kind == SpanKind::Server)
        .unwrap();
    let mut clients: Vec<_> = spans
        .iter()
        .filter(|s| s.span_kind == SpanKind::Client)
        .collect();
    clients.sort_by_key(|s| s.start_time);
    (server, clients[0])
}

/// No header of B3, Datadog or W3C on a request to a host the allowlist
/// denies, not even the ones set by hand.
fn assert_nothing_leaked(seen: &HeaderMap) {
    for name in FORMAT_HEADERS.iter().chain(&["traceparent", "tracestate"]) {
        assert!(!seen.contains_key(*name), "{name} leaked: {seen:?}");
    }
}

#[tokio::test]
async fn b3_single_with_a_64_bit_id_and_debug_continues_and_goes_out_as_it_came() {
    let otel = otel::install();
    let setup = setup(B3Encoding::Multi).await;
    let reply = setup.call(&[("b3", &format!("{TRACE64}-{SPAN}-d"))]).await;
    assert_eq!(reply.body, "ContinuedFrom(B3Single)");
    let spans = otel.spans(3).await;
    let (server, client) = server_and_client(&spans);
    let trace = otel::trace_id(&format!("0000000000000000{TRACE64}"));
    assert_eq!(server.span_context.trace_id(), trace);
    assert_eq!(server.parent_span_id, otel::span_id(SPAN));
    assert!(server.span_context.is_sampled());

    let (seen, denied) = setup.seen();
    let seen = &seen;
    let client_span = client.span_context.span_id().to_string();
    assert_eq!(
        seen["traceparent"],
        format!("00-0000000000000000{TRACE64}-{client_span}-01").as_str()
    );
    // 64 bits in, 64 bits out; debug in, debug out (no x-b3-sampled).
    assert_eq!(seen["x-b3-traceid"], TRACE64);
    assert_eq!(seen["x-b3-spanid"], client_span.as_str());
    assert_eq!(seen["x-b3-flags"], "1");
    assert!(!seen.contains_key("x-b3-sampled"), "{seen:?}");
    // The single header set by hand is replaced by the encoding chosen.
    assert!(!seen.contains_key("b3"), "{seen:?}");
    // Datadog out too (on in the client), from the same span.
    assert_eq!(seen["x-datadog-trace-id"], TRACE_LOW_DEC);
    assert_eq!(
        seen["x-datadog-parent-id"],
        u64::from_str_radix(&client_span, 16)
            .unwrap()
            .to_string()
            .as_str()
    );
    assert_eq!(seen["x-datadog-sampling-priority"], "1");
    assert!(!seen.contains_key("x-datadog-origin"), "{seen:?}");
    assert_nothing_leaked(&denied);
}

#[tokio::test]
async fn b3_multi_unsampled_continues_unsampled_and_single_goes_out() {
    let _otel = otel::install();
    let setup = setup(B3Encoding::Single).await;
    let reply = setup
        .call(&[
            ("x-b3-traceid", TRACE),
            ("x-b3-spanid", SPAN),
            ("x-b3-parentspanid", "05e3ac9a4f6e3b90"),
            ("x-b3-sampled", "0"),
        ])
        .await;
    assert_eq!(reply.body, "ContinuedFrom(B3Multi)");
    let (seen, denied) = setup.seen();
    let seen = &seen;
    // Not sampled: the decision goes on.
    let traceparent = seen["traceparent"].to_str().unwrap();
    assert!(
        traceparent.starts_with(&format!("00-{TRACE}-")),
        "{traceparent}"
    );
    assert!(traceparent.ends_with("-00"), "{traceparent}");
    let span = &traceparent[36..52];
    assert_eq!(seen["b3"], format!("{TRACE}-{span}-0").as_str());
    assert!(!seen.contains_key("x-b3-traceid"), "{seen:?}");
    assert_eq!(seen["x-datadog-sampling-priority"], "0");
    assert_nothing_leaked(&denied);
}

#[tokio::test]
async fn datadog_continues_with_its_high_bits_and_keeps_priority_origin_and_tags() {
    let otel = otel::install();
    let setup = setup(B3Encoding::Multi).await;
    let reply = setup
        .call(&[
            ("x-datadog-trace-id", TRACE_LOW_DEC),
            ("x-datadog-parent-id", SPAN_DEC),
            ("x-datadog-sampling-priority", "2"),
            ("x-datadog-origin", "rum"),
            (
                "x-datadog-tags",
                "_dd.p.dm=-4,_dd.p.tid=4bf92f3577b34da6,_dd.p.usr.id=baz64",
            ),
        ])
        .await;
    assert_eq!(reply.body, "ContinuedFrom(Datadog)");
    let spans = otel.spans(3).await;
    let (server, client) = server_and_client(&spans);
    assert_eq!(server.span_context.trace_id(), otel::trace_id(TRACE));
    assert_eq!(server.parent_span_id, otel::span_id(SPAN));
    assert!(server.span_context.is_sampled());

    let (seen, denied) = setup.seen();
    let seen = &seen;
    let client_span = client.span_context.span_id().to_string();
    assert_eq!(
        seen["traceparent"],
        format!("00-{TRACE}-{client_span}-01").as_str()
    );
    assert_eq!(seen["x-datadog-trace-id"], TRACE_LOW_DEC);
    assert_eq!(
        seen["x-datadog-parent-id"],
        u64::from_str_radix(&client_span, 16)
            .unwrap()
            .to_string()
            .as_str()
    );
    // User keep (2) agrees with sampled: kept; so are origin and tags.
    assert_eq!(seen["x-datadog-sampling-priority"], "2");
    assert_eq!(seen["x-datadog-origin"], "rum");
    assert_eq!(
        seen["x-datadog-tags"],
        "_dd.p.tid=4bf92f3577b34da6,_dd.p.dm=-4,_dd.p.usr.id=baz64"
    );
    // B3 out as well (on in the client): 128 bits, since it came as such.
    assert_eq!(seen["x-b3-traceid"], TRACE);
    assert_eq!(seen["x-b3-sampled"], "1");
    assert_nothing_leaked(&denied);
}

/// With Sentry on too, `SentryPrecedence::SentryTraceFirst` puts a valid
/// `sentry-trace` before `traceparent`, and the order of the rest holds:
/// `traceparent`, then B3, then Datadog.
#[tokio::test]
async fn sentry_first_with_b3_and_datadog() {
    use tower_trace_context::sentry::{SentryPrecedence, SentrySupport};
    let _otel = otel::install();
    let decision = |Extension(trace): Extension<RequestTrace>| async move {
        format!("{:?}", trace.decision())
    };
    let layer = TraceContextLayer::new()
        .datadog(DatadogSupport::new())
        .sentry(SentrySupport::new().precedence(SentryPrecedence::SentryTraceFirst))
        .b3(B3Support::new());
    let api = http_support::serve(Router::new().route("/", get(decision)).layer(layer)).await;
    let traceparent = format!("00-{TRACE}-{SPAN}-01");
    let sentry = format!("{TRACE}-{SPAN}-1");
    let b3 = format!("{TRACE}-{SPAN}-1");
    let datadog = [
        ("x-datadog-trace-id", TRACE_LOW_DEC),
        ("x-datadog-parent-id", SPAN_DEC),
    ];
    let rows: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![
                ("traceparent", &traceparent),
                ("sentry-trace", &sentry),
                ("b3", &b3),
            ],
            "ContinuedFrom(SentryTrace)",
        ),
        (
            vec![
                ("traceparent", &traceparent),
                ("sentry-trace", "bad"),
                ("b3", &b3),
            ],
            "Continued",
        ),
        (
            vec![
                ("traceparent", "bad"),
                ("sentry-trace", "bad"),
                ("b3", &b3),
                datadog[0],
                datadog[1],
            ],
            "ContinuedFrom(B3Single)",
        ),
        (
            vec![
                ("sentry-trace", "bad"),
                ("b3", "bad"),
                datadog[0],
                datadog[1],
            ],
            "ContinuedFrom(Datadog)",
        ),
    ];
    for (headers, expected) in rows {
        let reply = http_support::send(Method::GET, &format!("http://{api}/"), &headers).await;
        assert_eq!(reply.body, expected, "{headers:?}");
    }
}

/// Spec rows over TCP: which format continues, or a new trace; never a
/// failed request.
#[tokio::test]
async fn precedence_and_malformed_input() {
    let _otel = otel::install();
    let setup = setup(B3Encoding::Multi).await;
    let traceparent = format!("00-{TRACE}-{SPAN}-01");
    let b3 = format!("{TRACE}-{SPAN}-1");
    let b3_upper = format!("{}-{SPAN}-1", TRACE.to_uppercase());
    let b3_multi = [("x-b3-traceid", TRACE), ("x-b3-spanid", SPAN)];
    let datadog = [
        ("x-datadog-trace-id", TRACE_LOW_DEC),
        ("x-datadog-parent-id", SPAN_DEC),
    ];
    let rows: Vec<(Vec<(&str, &str)>, &str)> = vec![
        // W3C first, whatever else arrives.
        (
            vec![
                ("traceparent", &traceparent),
                ("b3", &b3),
                datadog[0],
                datadog[1],
            ],
            "Continued",
        ),
        // An invalid traceparent: B3, then Datadog; the NewTrace error
        // would have named the traceparent rule.
        (
            vec![
                ("traceparent", "00-xyz"),
                ("b3", &b3),
                datadog[0],
                datadog[1],
            ],
            "ContinuedFrom(B3Single)",
        ),
        (
            vec![("b3", &b3), datadog[0], datadog[1]],
            "ContinuedFrom(B3Single)",
        ),
        // Single before multi; an invalid single falls back to multi.
        (
            vec![("b3", "not-b3"), b3_multi[0], b3_multi[1]],
            "ContinuedFrom(B3Multi)",
        ),
        (
            vec![("b3", "0"), datadog[0], datadog[1]],
            "ContinuedFrom(Datadog)",
        ),
        (vec![datadog[0], datadog[1]], "ContinuedFrom(Datadog)"),
        // Malformed: a new trace.
        (vec![("b3", "0")], "NewTrace(Missing)"),
        (vec![("b3", &b3_upper)], "NewTrace(Missing)"),
        (
            vec![
                ("x-b3-traceid", "00000000000000000000000000000000"),
                b3_multi[1],
            ],
            "NewTrace(Missing)",
        ),
        (
            vec![("x-datadog-trace-id", "-1"), datadog[1]],
            "NewTrace(Missing)",
        ),
        (
            vec![("x-datadog-trace-id", "18446744073709551616"), datadog[1]],
            "NewTrace(Missing)",
        ),
        (
            vec![datadog[0], ("x-datadog-parent-id", "0")],
            "NewTrace(Missing)",
        ),
        (vec![datadog[0]], "NewTrace(Missing)"),
    ];
    for (headers, expected) in rows {
        let reply = setup.call(&headers).await;
        assert!(reply.status.is_success(), "{headers:?}: {reply:?}");
        assert_eq!(reply.body, expected, "{headers:?}");
    }
}

#[tokio::test]
async fn formats_are_opt_in_and_add_their_headers_to_the_preflight() {
    // Off: B3 and Datadog are not read.
    let plain = http_support::serve(
        Router::new().route(
            "/api",
            get(|Extension(trace): Extension<RequestTrace>| async move {
                format!("{:?}", trace.decision())
            })
            .layer(TraceContextLayer::new()),
        ),
    )
    .await;
    let reply = http_support::send(
        Method::GET,
        &format!("http://{plain}/api"),
        &[
            ("b3", &format!("{TRACE}-{SPAN}-1")),
            ("x-datadog-trace-id", TRACE_LOW_DEC),
            ("x-datadog-parent-id", SPAN_DEC),
        ],
    )
    .await;
    assert_eq!(reply.body, "NewTrace(Missing)");

    // On: a preflight for them passes behind tower-http's CorsLayer.
    let api = setup(B3Encoding::Multi).await.api;
    let reply = http_support::send(
        Method::OPTIONS,
        &format!("http://{api}/api"),
        &[
            ("origin", "http://app.test"),
            ("access-control-request-method", "GET"),
            (
                "access-control-request-headers",
                "b3,traceparent,x-b3-sampled,x-datadog-tags,x-datadog-trace-id",
            ),
        ],
    )
    .await;
    let allowed: Vec<String> = reply
        .all("access-control-allow-headers")
        .iter()
        .flat_map(|v| v.split(',').map(|n| n.trim().to_ascii_lowercase()))
        .collect();
    for name in [
        "traceparent",
        "tracestate",
        "baggage",
        "b3",
        "x-b3-traceid",
        "x-b3-spanid",
        "x-b3-parentspanid",
        "x-b3-sampled",
        "x-b3-flags",
        "x-datadog-trace-id",
        "x-datadog-parent-id",
        "x-datadog-sampling-priority",
        "x-datadog-origin",
        "x-datadog-tags",
    ] {
        assert!(allowed.iter().any(|n| n == name), "{name}: {allowed:?}");
    }
}
