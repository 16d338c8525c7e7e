//! Malformed-header load over real TCP: many keep-alive connections send a
//! mix of valid requests and every invalid `traceparent` / `tracestate` /
//! `baggage` / `sentry-trace` shape, 33- and 64-member lists, 32 KiB
//! headers, non-UTF-8 and obs-text bytes and many repeated lines, as raw
//! HTTP/1.1 bytes (no client library cleans them up). Every request must get
//! a non-5xx answer from the handler; valid ones continue their trace,
//! invalid ones start a new one; the server's resident memory stays flat
//! after the warm-up.
//!
//! CI runs a bounded count; `LOAD_TEST_REQUESTS=1000000 cargo test --release
//! --all-features --test load -- --nocapture` is the long run (the performance guide,
//! "Reliability").

use tower_trace_context_test_support::http_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::{Extension, Router, routing::get};
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tower_trace_context::sentry::SentrySupport;
use tower_trace_context::server::{RequestTrace, TraceContextLayer};
use tracing_subscriber::layer::SubscriberExt;

/// The real SDK, exporting nowhere: spans are made and ended as in
/// production, and nothing accumulates (the memory check needs that).
#[derive(Debug)]
struct DropExporter;

impl SpanExporter for DropExporter {
    async fn export(&self, _batch: Vec<SpanData>) -> OTelSdkResult {
        Ok(())
    }
}

/// What a request must lead to.
#[derive(Clone, Debug)]
enum Expect {
    /// Continued from this trace id (W3C or Sentry).
    Continued(String),
    /// A new trace.
    New,
}

#[derive(Clone, Debug)]
struct Case {
    headers: Vec<(&'static str, Vec<u8>)>,
    expect: Expect,
}

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN: &str = "00f067aa0ba902b7";

fn tp(trace: &str) -> Vec<u8> {
    format!("00-{trace}-{SPAN}-01").into_bytes()
}

fn list(n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| format!("k{i}=v{i}"))
        .collect::<Vec<_>>()
        .join(",")
        .into_bytes()
}

/// The mix: about half valid, the rest every invalid shape.
fn cases() -> Vec<Case> {
    let valid = |extra: Vec<(&'static str, Vec<u8>)>| {
        let mut headers = vec![("traceparent", tp(TRACE))];
        headers.extend(extra);
        Case {
            headers,
            expect: Expect::Continued(TRACE.to_owned()),
        }
    };
    let new = |headers: Vec<(&'static str, Vec<u8>)>| Case {
        headers,
        expect: Expect::New,
    };
    let bad_traceparents: Vec<Vec<u8>> = vec![
        format!("00-{}-{SPAN}-01", TRACE.to_uppercase()).into_bytes(),
        format!("00-{}-{SPAN}-01", "0".repeat(32)).into_bytes(),
        format!("00-{TRACE}-{}-01", "0".repeat(16)).into_bytes(),
        format!("ff-{TRACE}-{SPAN}-01").into_bytes(),
        format!("00-{TRACE}-{SPAN}-01-extra").into_bytes(),
        format!("00-{TRACE}-{SPAN}-0").into_bytes(),
        format!("00_{TRACE}-{SPAN}-01").into_bytes(),
        format!("0-{TRACE}-{SPAN}-01").into_bytes(),
        format!("00-{TRACE}-{SPAN}-zz").into_bytes(),
        b"".to_vec(),
        b"garbage".to_vec(),
        [b"00-".as_slice(), &[0xff; 52]].concat(),
        [
            b"00-4bf92f3577b34da6a3ce929d0e0e47\xe9\x80-".as_slice(),
            SPAN.as_bytes(),
            b"-01",
        ]
        .concat(),
        vec![b'a'; 32 * 1024],
    ];
    let mut out = Vec::new();
    for bad in bad_traceparents {
        out.push(new(vec![("traceparent", bad)]));
    }
    // Two traceparent lines, even valid ones, are invalid.
    out.push(new(vec![
        ("traceparent", tp(TRACE)),
        ("traceparent", tp(TRACE)),
    ]));
    // Invalid sentry-trace shapes, no traceparent.
    for bad in [
        b"abc".as_slice(),
        b"771a43a4192642f0b136d5159a501700-b0e6f15b45c36b12-2",
        b"771A43A4192642F0B136D5159A501700-b0e6f15b45c36b12-1",
        b"00000000000000000000000000000000-b0e6f15b45c36b12-1",
        b"771a43a4192642f0b136d5159a501700-0000000000000000",
        b"\xff\xfe",
    ] {
        out.push(new(vec![("sentry-trace", bad.to_vec())]));
    }
    // Nothing at all, and junk in other headers.
    out.push(new(vec![]));
    out.push(new((0..60)
        .map(|i| ("x-junk", format!("{i}\u{0}").replace('\u{0}', "\t")))
        .map(|(k, v)| (k, v.into_bytes()))
        .collect()));

    // Valid traceparent with every kind of bad company: still continued.
    for extra in [
        vec![],
        vec![("tracestate", list(32))],
        vec![("tracestate", list(33))],
        vec![("tracestate", list(64))],
        vec![("tracestate", b"Bad Key=1,ok=2".to_vec())],
        vec![("tracestate", vec![b'x'; 32 * 1024])],
        vec![("tracestate", b"a=\xff\xfe".to_vec())],
        (0..60).map(|_| ("tracestate", b"a=1".to_vec())).collect(),
        vec![("baggage", list(64))],
        vec![("baggage", b"k=v;;;,=".to_vec())],
        vec![("baggage", vec![b'b'; 32 * 1024])],
        vec![("baggage", b"user=Zo\xc3\xab,bad=\x80".to_vec())],
        vec![("sentry-trace", b"not-a-sentry-trace".to_vec())],
        vec![("x-obs-text", b"caf\xe9 \x80\xff".to_vec())],
    ] {
        out.push(valid(extra));
    }
    // Valid sentry-trace alone.
    out.push(Case {
        headers: vec![(
            "sentry-trace",
            b"771a43a4192642f0b136d5159a501700-b0e6f15b45c36b12-1".to_vec(),
        )],
        expect: Expect::Continued("771a43a4192642f0b136d5159a501700".to_owned()),
    });
    // About half valid: repeat the plain valid request.
    let invalid = out
        .iter()
        .filter(|c| matches!(c.expect, Expect::New))
        .count();
    for _ in 0..invalid {
        out.push(valid(vec![]));
    }
    out
}

fn rss_kib() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4
}

#[derive(Default)]
struct Counts {
    sent: AtomicUsize,
    continued: AtomicUsize,
    new: AtomicUsize,
}

/// Sends `case` on `conn` and checks the answer; panics (failing the test)
/// on no answer, a 5xx, or the wrong decision.
async fn exchange(
    conn: &mut BufReader<TcpStream>,
    case: &Case,
    line: &mut String,
    counts: &Counts,
) {
    let mut req = b"GET /x HTTP/1.1\r\nhost: 127.0.0.1\r\n".to_vec();
    for (name, value) in &case.headers {
        req.extend_from_slice(name.as_bytes());
        req.extend_from_slice(b": ");
        req.extend_from_slice(value);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"\r\n");
    conn.get_mut().write_all(&req).await.unwrap();

    line.clear();
    conn.read_line(line).await.unwrap();
    let status: u16 = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {line:?} for {case:?}"));
    let mut length = 0;
    loop {
        line.clear();
        conn.read_line(line).await.unwrap();
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    conn.read_exact(&mut body).await.unwrap();
    let body = String::from_utf8_lossy(&body);
    assert_eq!(status, 200, "{body} for {case:?}");
    counts.sent.fetch_add(1, Ordering::Relaxed);
    let (decision, trace_id) = body.split_once(' ').unwrap();
    match &case.expect {
        Expect::Continued(trace) => {
            assert!(decision.starts_with("Continued"), "{body} for {case:?}");
            assert_eq!(trace_id, trace, "for {case:?}");
            counts.continued.fetch_add(1, Ordering::Relaxed);
        }
        Expect::New => {
            assert!(decision.starts_with("NewTrace"), "{body} for {case:?}");
            counts.new.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[test]
fn malformed_header_load() {
    let total: usize = std::env::var("LOAD_TEST_REQUESTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(6_000);
    let connections = 32;
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(DropExporter)
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("load")));
    let _guard = tracing::subscriber::set_default(subscriber);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let handler = |Extension(trace): Extension<RequestTrace>| async move {
            let trace_id = trace.context().span().span_context().trace_id();
            format!("{:?} {trace_id}", trace.decision())
        };
        let app = Router::new()
            .route("/x", get(handler))
            .layer(TraceContextLayer::new().sentry(SentrySupport::new()));
        let addr = http_support::serve(app).await;
        let cases = Arc::new(cases());
        let counts = Arc::new(Counts::default());

        let run = |n: usize| {
            let (cases, counts) = (cases.clone(), counts.clone());
            let tasks: Vec<_> = (0..connections)
                .map(|c| {
                    let (cases, counts) = (cases.clone(), counts.clone());
                    tokio::spawn(async move {
                        let mut conn = BufReader::new(TcpStream::connect(addr).await.unwrap());
                        let mut line = String::new();
                        for i in (c..n).step_by(connections) {
                            exchange(&mut conn, &cases[i % cases.len()], &mut line, &counts)
                                .await;
                        }
                    })
                })
                .collect();
            async move {
                for task in tasks {
                    task.await.expect("a connection's checks failed");
                }
            }
        };
        let warm_up = (total / 5).max(cases.len());
        run(warm_up).await;
        let before = rss_kib();
        run(total).await;
        let after = rss_kib();

        let sent = counts.sent.load(Ordering::Relaxed);
        let (continued, new) = (
            counts.continued.load(Ordering::Relaxed),
            counts.new.load(Ordering::Relaxed),
        );
        println!(
            "load: {sent} requests over {connections} connections ({} kinds), {continued} continued, \
             {new} new traces; RSS after warm-up {before} KiB, after the run {after} KiB",
            cases.len()
        );
        assert_eq!(sent, warm_up + total);
        assert_eq!(continued + new, sent);
        // Flat memory: the layer keeps nothing per request once answered.
        // A few percent, plus allocator slack on a small heap.
        assert!(
            after <= before + before / 20 + 2048,
            "RSS grew from {before} KiB to {after} KiB"
        );
    });
}
