//! Sentry interop (feature `sentry`): the `sentry-trace` formats from
//! Sentry's documentation, and end to end over real TCP on 127.0.0.1 with the
//! real OpenTelemetry SDK: a request carrying only `sentry-trace` + `baggage`
//! continues its trace, and the downstream call carries both formats to an
//! allowlisted host and neither to another.

use crate::support::http_support;
use crate::support::otel;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::Extension;
use axum::routing::get;
use http::Method;
use opentelemetry::trace::SpanKind;
use tower::{ServiceBuilder, ServiceExt};
use tower_http::cors::CorsLayer;
use tower_trace_context::client::PropagateLayer;
use tower_trace_context::{BaggageView, TraceParent, client::Allowlist};
use tower_trace_context::{SentryTraceError, sentry::SentryTrace};
use tower_trace_context::{
    sentry::{SentryPrecedence, SentrySupport},
    server::{RequestTrace, TraceContextLayer},
};

const TRACE: &str = "771a43a4192642f0b136d5159a501700";
const SPAN: &str = "b0e6f15b45c36b12";
/// Sentry's dynamic sampling context, as its browser SDK sends it.
const DSC: &str = "sentry-trace_id=771a43a4192642f0b136d5159a501700,sentry-public_key=49d0f7386ad645858ae85020e393bef3,sentry-sample_rate=0.25,sentry-sampled=true,sentry-environment=production";

#[test]
fn sentry_trace_formats() {
    use SentryTraceError::*;
    let ok: &[(&str, Option<bool>)] = &[
        (
            "771a43a4192642f0b136d5159a501700-b0e6f15b45c36b12-1",
            Some(true),
        ),
        (
            "771a43a4192642f0b136d5159a501700-b0e6f15b45c36b12-0",
            Some(false),
        ),
        // No sampled part: the decision is deferred to the receiver.
        ("771a43a4192642f0b136d5159a501700-b0e6f15b45c36b12", None),
        // Spaces and tabs around the value (Sentry's regex allows them).
        (
            "  771a43a4192642f0b136d5159a501700-b0e6f15b45c36b12-1 ",
            Some(true),
        ),
        (
            "\t771a43a4192642f0b136d5159a501700-b0e6f15b45c36b12\t",
            None,
        ),
    ];
    for (input, sampled) in ok {
        let st = SentryTrace::parse(input.as_bytes()).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(st.trace_id().to_string(), TRACE, "{input:?}");
        assert_eq!(st.span_id().to_string(), SPAN, "{input:?}");
        assert_eq!(st.sampled(), *sampled, "{input:?}");
        // Encoding gives the canonical form back.
        assert_eq!(st.to_string(), input.trim(), "{input:?}");
        assert_eq!(st.to_header_value(), input.trim(), "{input:?}");
    }
    let bad: &[(&str, SentryTraceError)] = &[
        ("", InvalidLength),
        ("771a43a4192642f0b136d5159a501700", InvalidLength),
        (
            "771a43a4192642f0b136d5159a501700-b0e6f15b45c36b12-",
            InvalidLength,
        ),
        (
            "771a43a4192642f0b136d5159a501700-b0e6f15b45c36b12-10",
            InvalidLength,
        ),
        (
            "771a43a4192642f0b136d5159a501700-b0e6f15b45c36b12-2",
            InvalidSampled,
        ),
        (
            "771a43a4192642f0b136d5159a501700-b0e6f15b45c36b12-t",
            InvalidSampled,
        ),
        (
            "771a43a4192642f0b136d5159a501700_b0e6f15b45c36b12-1",
            MissingDash,
        ),
        (
            "771a43a4192642f0b136d5159a501700-b0e6f15b45c36b12+1",
            MissingDash,
        ),
        (
            "771A43A4192642F0B136D5159A501700-b0e6f15b45c36b12-1",
            InvalidTraceId,
        ),
        (
            "771a43a4192642f0b136d5159a50170g-b0e6f15b45c36b12-1",
            InvalidTraceId,
        ),
        (
            "771a43a4192642f0b136d5159a501700-B0E6F15B45C36B12-1",
            InvalidSpanId,
        ),
        (
            "00000000000000000000000000000000-b0e6f15b45c36b12-1",
            ZeroTraceId,
        ),
        (
            "771a43a4192642f0b136d5159a501700-0000000000000000-1",
            ZeroSpanId,
        ),
        // A W3C traceparent is not a sentry-trace.
        (
            "00-771a43a4192642f0b136d5159a501700-b0e6f15b45c36b12-01",
            InvalidLength,
        ),
    ];
    for (input, err) in bad {
        assert_eq!(SentryTrace::parse(input.as_bytes()), Err(*err), "{input:?}");
    }
    assert_eq!(
        SentryTrace::parse(b"771a43a4192642f0b136d5159a501700-b0e6f15b45c36b12-1\xff"),
        Err(InvalidLength)
    );
}

use http_support::recorder;

/// A service behind the server layer (Sentry on) that calls `allowed` and
/// `other` through the client layer (`sentry-trace` on), allowlisting only
/// `allowed`.
async fn api(support: SentrySupport, allowed: SocketAddr, other: SocketAddr) -> SocketAddr {
    let allow = Allowlist::builder()
        .origin(format!("http://{allowed}"))
        .build()
        .unwrap();
    let client = ServiceBuilder::new()
        .layer(PropagateLayer::new(allow).sentry(support.clone()))
        .service(reqwest::Client::new());
    let handler = move |Extension(trace): Extension<RequestTrace>| {
        let client = client.clone();
        async move {
            for target in [allowed, other] {
                let url = format!("http://{target}/downstream").parse().unwrap();
                let res = client
                    .clone()
                    .oneshot(reqwest::Request::new(Method::GET, url))
                    .await
                    .unwrap();
                assert!(res.status().is_success());
            }
            format!("{:?}", trace.decision())
        }
    };
    let cors = CorsLayer::new()
        .allow_origin(["http://app.test".parse().unwrap()])
        .allow_methods([Method::GET]);
    http_support::serve(
        Router::new()
            .route("/api", get(handler))
            .layer(cors)
            .layer(TraceContextLayer::new().sentry(support)),
    )
    .await
}

#[tokio::test]
async fn sentry_trace_and_baggage_continue_and_flow_only_to_allowlisted_hosts() {
    let otel = otel::install();
    let (allowed, allowed_seen) = recorder().await;
    let (other, other_seen) = recorder().await;
    let api = api(SentrySupport::new(), allowed, other).await;

    let reply = http_support::send(
        Method::GET,
        &format!("http://{api}/api"),
        &[
            ("sentry-trace", &format!("{TRACE}-{SPAN}-1")),
            ("baggage", DSC),
            ("origin", "http://app.test"),
        ],
    )
    .await;
    assert_eq!(reply.body, "ContinuedFrom(SentryTrace)");

    // The server span is in the browser's trace, a child of its span.
    let spans = otel.spans(3).await;
    let server = spans
        .iter()
        .find(|s| s.span_kind == SpanKind::Server)
        .unwrap();
    assert_eq!(server.span_context.trace_id(), otel::trace_id(TRACE));
    assert_eq!(server.parent_span_id, otel::span_id(SPAN));
    assert!(server.span_context.is_sampled());
    let clients: Vec<_> = spans
        .iter()
        .filter(|s| s.span_kind == SpanKind::Client)
        .collect();
    assert_eq!(clients.len(), 2);

    // The allowlisted host got traceparent, sentry-trace and the baggage.
    let seen = allowed_seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    let tp = TraceParent::try_from(&seen[0]["traceparent"]).unwrap();
    assert_eq!(tp.trace_id(), otel::trace_id(TRACE));
    let client = clients
        .iter()
        .find(|s| s.span_context.span_id() == tp.parent_id())
        .expect("traceparent names a client span");
    assert_eq!(client.parent_span_id, server.span_context.span_id());
    let st = SentryTrace::from_headers(&seen[0]).unwrap();
    assert_eq!(st.trace_id(), otel::trace_id(TRACE));
    assert_eq!(st.span_id(), tp.parent_id());
    assert_eq!(st.sampled(), Some(true));
    // Sentry's dynamic sampling context, passed on exactly as it came.
    assert_eq!(seen[0]["baggage"], DSC);
    assert_eq!(BaggageView::from_headers(&seen[0]).unwrap().len(), 5);

    // The other host got none of them.
    let seen = other_seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    for name in ["traceparent", "tracestate", "baggage", "sentry-trace"] {
        assert!(!seen[0].contains_key(name), "{name} leaked: {:?}", seen[0]);
    }

    // Server-Timing carries the server span for Sentry's browser SDK, and
    // the baggage as a quoted description.
    let timing = reply.all("server-timing");
    let server_span = server.span_context.span_id();
    assert!(
        timing.contains(&format!("sentry-trace;desc=\"{TRACE}-{server_span}-1\"")),
        "{timing:?}"
    );
    let baggage_entry = timing
        .iter()
        .find(|e| e.starts_with("baggage;desc=\""))
        .expect("baggage entry");
    assert_eq!(baggage_entry, &format!("baggage;desc=\"{DSC}\""));
    assert!(
        timing
            .iter()
            .any(|e| e.starts_with("traceparent;desc=\"00-"))
    );
    assert_eq!(reply.headers["timing-allow-origin"], "http://app.test");
}

/// A trace continued from W3C `traceparent` has no Sentry dynamic sampling
/// context yet: this service heads it, so the client layer sends the same
/// one the server layer hands the browser (trace id, sampled, and the
/// configured public key and release), with the other baggage entries.
#[tokio::test]
async fn client_adds_a_dynamic_sampling_context_when_this_service_heads_it() {
    let _otel = otel::install();
    let (allowed, allowed_seen) = recorder().await;
    let (other, other_seen) = recorder().await;
    let support = SentrySupport::new()
        .public_key("49d0f7386ad645858ae85020e393bef3")
        .release("shop@1.4.2");
    let api = api(support, allowed, other).await;
    let w3c_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let reply = http_support::send(
        Method::GET,
        &format!("http://{api}/api"),
        &[
            (
                "traceparent",
                &format!("00-{w3c_trace}-00f067aa0ba902b7-01"),
            ),
            (
                "baggage",
                "tenant=acme,sentry-trace_id=0123456789abcdef0123456789abcdef",
            ),
            ("origin", "http://app.test"),
        ],
    )
    .await;
    assert_eq!(reply.body, "Continued");

    let seen = allowed_seen.lock().unwrap();
    let sent = seen[0]["baggage"].to_str().unwrap().to_owned();
    let mut entries: Vec<&str> = sent.split(',').collect();
    entries.sort_unstable();
    assert_eq!(
        entries,
        [
            "sentry-public_key=49d0f7386ad645858ae85020e393bef3",
            "sentry-release=shop@1.4.2",
            "sentry-sampled=true",
            &format!("sentry-trace_id={w3c_trace}"),
            "tenant=acme",
        ],
        "{sent}"
    );
    // The browser is handed the same context in Server-Timing.
    let timing = reply.all("server-timing");
    assert!(
        timing.contains(&format!("baggage;desc=\"{sent}\"")),
        "{timing:?} vs {sent}"
    );
    let seen = other_seen.lock().unwrap();
    assert!(!seen[0].contains_key("baggage"), "{:?}", seen[0]);
}

/// Without an OpenTelemetry layer the service has no span of its own: the
/// incoming baggage, Sentry's context included, goes on as it came (found in
/// review: the client replaced it with a fresh context and dropped the rest).
#[tokio::test]
async fn without_opentelemetry_the_client_passes_sentry_baggage_on() {
    let (allowed, allowed_seen) = recorder().await;
    let (other, _) = recorder().await;
    let api = api(SentrySupport::new().public_key("ours"), allowed, other).await;
    let w3c_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let baggage = format!("tenant=acme,sentry-trace_id={w3c_trace},sentry-public_key=theirs");
    let reply = http_support::send(
        Method::GET,
        &format!("http://{api}/api"),
        &[
            (
                "traceparent",
                &format!("00-{w3c_trace}-00f067aa0ba902b7-01"),
            ),
            ("baggage", &baggage),
        ],
    )
    .await;
    assert!(reply.body.starts_with("PassedThrough"), "{}", reply.body);
    let seen = allowed_seen.lock().unwrap();
    assert_eq!(seen[0]["baggage"], baggage.as_str());
}

/// Asserts that some (or, with `false`, no) Server-Timing entry of `reply`
/// satisfies `pred`.
fn assert_timing(reply: &http_support::Reply, expected: bool, pred: impl Fn(&str) -> bool) {
    let timing = reply.all("server-timing");
    assert_eq!(timing.iter().any(|e| pred(e)), expected, "{timing:?}");
}

#[tokio::test]
async fn precedence_deferred_sampling_and_preflight() {
    let otel = otel::install();
    let (allowed, _) = recorder().await;
    let (other, _) = recorder().await;
    let w3c_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let traceparent = format!("00-{w3c_trace}-00f067aa0ba902b7-01");
    let sentry_trace = format!("{TRACE}-{SPAN}-1");
    let both = [
        ("traceparent", traceparent.as_str()),
        ("sentry-trace", sentry_trace.as_str()),
    ];

    // Both valid: traceparent first by default ...
    let default_api = api(SentrySupport::new(), allowed, other).await;
    let reply = http_support::send(Method::GET, &format!("http://{default_api}/api"), &both).await;
    assert_eq!(reply.body, "Continued");
    // ... sentry-trace first when configured.
    let sentry_first = api(
        SentrySupport::new().precedence(SentryPrecedence::SentryTraceFirst),
        allowed,
        other,
    )
    .await;
    let reply = http_support::send(Method::GET, &format!("http://{sentry_first}/api"), &both).await;
    assert_eq!(reply.body, "ContinuedFrom(SentryTrace)");
    let spans = otel.spans(6).await;
    let servers: Vec<_> = spans
        .iter()
        .filter(|s| s.span_kind == SpanKind::Server)
        .map(|s| s.span_context.trace_id().to_string())
        .collect();
    assert_eq!(servers, [w3c_trace, TRACE]);

    // An invalid sentry-trace with no traceparent: a new trace.
    let reply = http_support::send(
        Method::GET,
        &format!("http://{default_api}/api"),
        &[("sentry-trace", "not-a-sentry-trace")],
    )
    .await;
    assert_eq!(reply.body, "NewTrace(Missing)");

    // Deferred decision (no sampled part): the baggage's sentry-sampled
    // decides; without it, `deferred_sampled` (default: record).
    let deferred = format!("{TRACE}-{SPAN}");
    let reply = http_support::send(
        Method::GET,
        &format!("http://{default_api}/api"),
        &[
            ("sentry-trace", &deferred),
            ("baggage", "sentry-sampled=false"),
        ],
    )
    .await;
    assert_timing(&reply, true, |e| {
        e.starts_with("sentry-trace;desc=\"") && e.ends_with("-0\"")
    });
    let reply = http_support::send(
        Method::GET,
        &format!("http://{default_api}/api"),
        &[("sentry-trace", &deferred)],
    )
    .await;
    assert_timing(&reply, true, |e| {
        e.starts_with("sentry-trace;desc=\"") && e.ends_with("-1\"")
    });
    // Continued from sentry-trace without baggage: Sentry freezes an empty
    // dynamic sampling context, so none is handed on.
    assert_timing(&reply, false, |e| e.starts_with("baggage;"));

    // Sentry entries of another trace are replaced, the rest kept: here the
    // sentry-trace is invalid (uppercase), so a new trace starts.
    let reply = http_support::send(
        Method::GET,
        &format!("http://{default_api}/api"),
        &[
            (
                "sentry-trace",
                "771A43A4192642F0B136D5159A501700-b0e6f15b45c36b12-1",
            ),
            ("baggage", DSC),
            ("baggage", "tenant=acme"),
        ],
    )
    .await;
    let timing = reply.all("server-timing");
    let new_trace = &timing
        .iter()
        .find_map(|e| e.strip_prefix("sentry-trace;desc=\""))
        .expect("sentry-trace entry")[..32];
    assert_ne!(new_trace, TRACE);
    assert!(
        timing.contains(&format!(
            "baggage;desc=\"tenant=acme,sentry-trace_id={new_trace},sentry-sampled=true\""
        )),
        "{timing:?}"
    );
    // And when traceparent wins over sentry-trace, the Sentry entries that
    // describe the sentry-trace's trace are replaced too.
    let reply = http_support::send(
        Method::GET,
        &format!("http://{default_api}/api"),
        &[
            ("traceparent", traceparent.as_str()),
            ("sentry-trace", sentry_trace.as_str()),
            ("baggage", DSC),
        ],
    )
    .await;
    assert_timing(&reply, true, |e| {
        e.starts_with(&format!(
            "baggage;desc=\"sentry-trace_id={w3c_trace},sentry-sampled=true"
        ))
    });

    // No incoming trace: this service heads it and hands the browser a
    // dynamic sampling context.
    let reply = http_support::send(Method::GET, &format!("http://{default_api}/api"), &[]).await;
    let timing = reply.all("server-timing");
    let st = timing
        .iter()
        .find_map(|e| e.strip_prefix("sentry-trace;desc=\""))
        .expect("sentry-trace entry");
    let trace_id = &st[..32];
    assert!(
        timing.contains(&format!(
            "baggage;desc=\"sentry-trace_id={trace_id},sentry-sampled=true\""
        )),
        "{timing:?}"
    );
    let not_sampled = api(SentrySupport::new().deferred_sampled(false), allowed, other).await;
    let reply = http_support::send(
        Method::GET,
        &format!("http://{not_sampled}/api"),
        &[("sentry-trace", &deferred)],
    )
    .await;
    assert_timing(&reply, true, |e| e.ends_with("-0\""));

    // A preflight from an allowed origin may send both Sentry headers.
    let reply = http_support::send(
        Method::OPTIONS,
        &format!("http://{default_api}/api"),
        &[
            ("origin", "http://app.test"),
            ("access-control-request-method", "GET"),
            ("access-control-request-headers", "baggage,sentry-trace"),
        ],
    )
    .await;
    let allowed_headers = reply.all("access-control-allow-headers").join(",");
    for name in ["traceparent", "tracestate", "baggage", "sentry-trace"] {
        assert!(allowed_headers.contains(name), "{name}: {allowed_headers}");
    }
}

/// A page requested with Sentry headers (e.g. a server-rendered page behind
/// another Sentry-instrumented service) gets Sentry's meta tags: the server
/// span as `sentry-trace`, the continued dynamic sampling context as
/// `baggage` (HTML-escaped).
#[tokio::test]
async fn meta_tags_carry_sentry_trace_and_baggage() {
    use axum::response::Html;
    use tower_trace_context::html::MetaTagsLayer;

    let otel = otel::install();
    let page = http_support::serve(
        Router::new()
            .route(
                "/",
                get(|| async { Html("<html><head><title>t</title></head><body></body></html>") }),
            )
            .layer(MetaTagsLayer::new())
            .layer(TraceContextLayer::new().sentry(SentrySupport::new())),
    )
    .await;
    let reply = http_support::send(
        Method::GET,
        &format!("http://{page}/"),
        &[
            ("sentry-trace", &format!("{TRACE}-{SPAN}-1")),
            (
                "baggage",
                "sentry-trace_id=771a43a4192642f0b136d5159a501700,sentry-transaction=a&b",
            ),
        ],
    )
    .await;
    let server = otel.span("GET /").await;
    let expected_trace = format!(
        "<meta name=\"sentry-trace\" content=\"{TRACE}-{}-1\">",
        server.span_context.span_id()
    );
    assert!(reply.body.contains(&expected_trace), "{}", reply.body);
    // The baggage tag holds the baggage as it arrived, HTML-escaped (`&` is
    // a baggage-octet).
    let start = reply
        .body
        .find("<meta name=\"baggage\" content=\"")
        .expect("baggage tag")
        + "<meta name=\"baggage\" content=\"".len();
    let content = &reply.body[start..start + reply.body[start..].find('"').unwrap()];
    assert_eq!(
        content,
        "sentry-trace_id=771a43a4192642f0b136d5159a501700,sentry-transaction=a&amp;b"
    );
    assert!(
        reply
            .body
            .starts_with("<html><head><meta name=\"traceparent\""),
        "{}",
        reply.body
    );
}

/// `SentrySupport::from_dsn`: the DSN shapes Sentry issues, and a typed
/// error naming the part that is wrong (never repeating a secret key).
#[test]
fn sentry_support_from_dsn() {
    use tower_trace_context::ConfigError;
    use tower_trace_context::sentry::SentrySupport;
    let key = "49d0f7386ad645858ae85020e393bef3";
    for dsn in [
        format!("https://{key}@o447951.ingest.sentry.io/5439"),
        format!("https://{key}:deadbeefsecret@o1.ingest.us.sentry.io/5439"),
        format!("http://{key}@sentry.internal:9000/2"),
        format!("https://{key}@sentry.example.com/prefix/path/42"),
        format!("http://{key}@[::1]:9000/7"),
        format!("  https://{key}@localhost/1  "),
    ] {
        assert_eq!(
            SentrySupport::from_dsn(&dsn),
            Ok(SentrySupport::new().public_key(key)),
            "{dsn}"
        );
    }
    for (dsn, why) in [
        ("", "no '://' after the protocol"),
        ("o1.ingest.sentry.io/5439", "no '://' after the protocol"),
        ("ftp://k@host/1", "the protocol is not http or https"),
        ("https://host/1", "no public key before '@'"),
        (
            "https://@host/1",
            "the public key is empty or not letters, digits and '_'",
        ),
        (
            "https://a-b:secret@host/1",
            "the public key is empty or not letters, digits and '_'",
        ),
        ("https://k@host", "no '/{PROJECT_ID}' after the host"),
        ("https://k@/1", "no host"),
        ("https://k@host:x/1", "the port is not a number"),
        ("https://k@host:/1", "the port is not a number"),
        ("https://k@host/", "the project id is not a number"),
        ("https://k@host/abc", "the project id is not a number"),
    ] {
        let err = SentrySupport::from_dsn(dsn).unwrap_err();
        assert_eq!(err, ConfigError::InvalidDsn(why), "{dsn}");
        assert!(!err.to_string().contains("secret"), "{err}");
    }
}
