//! Allocation-counting tests: a counting `#[global_allocator]` in its own test
//! binary. Counts are per thread, so tests may run in parallel.

use http::{HeaderMap, HeaderValue};
use opentelemetry::trace::TraceContextExt;
use tower_trace_context::{
    BAGGAGE, BaggageView, TRACEPARENT, TRACESTATE, TraceContextHeaders, TraceContextPropagator,
    TraceParent, TraceStateView, extract, inject,
};

use tower_trace_context_test_support::allowlist_fixture;
use tower_trace_context_test_support::counting_alloc::{Counting, allocations};

#[global_allocator]
static GLOBAL: Counting = Counting;

const TP: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn thirty_two_members_over_three_lines() -> HeaderMap {
    let mut map = HeaderMap::new();
    map.insert(TRACEPARENT, HeaderValue::from_static(TP));
    for line in 0..3 {
        let members: Vec<String> = (0..32)
            .filter(|i| i % 3 == line)
            .map(|i| format!("vendor{i:02}@tenant=value{i:02}, "))
            .collect();
        map.append(
            TRACESTATE,
            HeaderValue::from_str(&members.concat()).unwrap(),
        );
    }
    map
}

#[test]
fn counting_allocator_sees_allocations() {
    // Guards against a counter that never moves: then every "0" below would be meaningless.
    let (n, v) = allocations(|| vec![1u8; 16]);
    assert_eq!(n, 1);
    assert_eq!(v.len(), 16);
}

#[test]
fn traceparent_parse_allocates_nothing() {
    let inputs: [&[u8]; 4] = [
        TP.as_bytes(),
        b"  cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03-future\t",
        b"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        b"garbage",
    ];
    for input in inputs {
        let (n, _) = allocations(|| TraceParent::parse(input));
        assert_eq!(n, 0, "{input:?}");
    }
    let tp = TraceParent::parse(TP.as_bytes()).unwrap();
    let (n, buf) = allocations(|| tp.encode());
    assert_eq!(n, 0);
    assert_eq!(&buf[..], TP.as_bytes());
}

#[test]
fn tracestate_32_members_over_3_lines_allocates_nothing() {
    let map = thirty_two_members_over_three_lines();
    let (n, count) = allocations(|| {
        let view = TraceStateView::from_headers(&map).unwrap();
        let mut count = 0;
        let mut bytes = 0;
        for (k, v) in view.iter() {
            count += 1;
            bytes += k.len() + v.len();
        }
        assert!(bytes > 0);
        assert_eq!(view.get("vendor31@tenant"), Some("value31"));
        count
    });
    assert_eq!(count, 32);
    assert_eq!(n, 0);

    // The whole header-map level parse, too.
    let (n, parsed) =
        allocations(|| TraceContextHeaders::from_headers(&map).map(|p| p.tracestate().len()));
    assert_eq!(parsed, Ok(32));
    assert_eq!(n, 0);

    // Rejection (a 33rd member) allocates nothing either.
    let mut map = map;
    map.append(TRACESTATE, HeaderValue::from_static("one=more"));
    let (n, result) = allocations(|| TraceStateView::from_headers(&map).map(|v| v.len()));
    assert!(result.is_err());
    assert_eq!(n, 0);
}

#[test]
fn extract_and_inject_allocation_budget() {
    let mut map = HeaderMap::new();
    map.insert(TRACEPARENT, HeaderValue::from_static(TP));
    // One allocation: the Arc OpenTelemetry's Context keeps the span context in.
    let (n, cx) = allocations(|| extract(&map));
    assert!(cx.has_active_span());
    assert_eq!(n, 1, "extract, traceparent only");

    // Inject into a map that already has room: one allocation, the header value's bytes.
    let mut out = HeaderMap::with_capacity(4);
    let (n, ()) = allocations(|| inject(&cx, &mut out));
    assert_eq!(out[TRACEPARENT], TP);
    assert!(n <= 2, "inject without tracestate: {n} allocations");
    assert_eq!(n, 1);

    // With a 5-member tracestate OpenTelemetry's TraceState sets the floor:
    // a String per key and value (10), its VecDeque (grown once past 4: 2),
    // and the Context's Arc (1).
    map.insert(TRACESTATE, HeaderValue::from_static("a=1,b=2,c=3,d=4,e=5"));
    let (n, cx) = allocations(|| extract(&map));
    assert_eq!(
        cx.span().span_context().trace_state().header(),
        "a=1,b=2,c=3,d=4,e=5"
    );
    assert!(n <= 13, "extract with 5-member tracestate: {n} allocations");

    // Inject with tracestate: traceparent bytes + tracestate bytes.
    let mut out = HeaderMap::with_capacity(4);
    let propagator = TraceContextPropagator::new();
    let (n, ()) = allocations(|| propagator.inject_headers(&cx, &mut out));
    assert_eq!(out[TRACESTATE], "a=1,b=2,c=3,d=4,e=5");
    assert_eq!(n, 2, "inject with tracestate");
}

#[test]
fn allowlist_matching_allocates_nothing() {
    let allow = allowlist_fixture::twenty_rules();
    let urls = [
        "https://svc3.internal:8443/orders",
        "https://orders.ns4.svc.cluster.local/x",
        "https://gateway.example.com/v2/items?page=3",
        "https://shop.eu.example.org/api/cart",
        "https://payments.thirdparty.example/charge?amount=10",
        "https://api.example.com@evil.test/",
    ];
    // The fourth is the regex rule's (a CIDR rule's, which it does not
    // match, without feature `regex`).
    let expected = [true, true, true, cfg!(feature = "regex"), false, false];
    for (url, expected) in urls.iter().zip(expected) {
        let uri: http::Uri = url.parse().unwrap();
        // A regex too large for a DFA would set up the meta engine's cache
        // on a thread's first use (the fixture's fits in a DFA).
        let _ = allow.matches_uri(&uri);
        let (n, matched) = allocations(|| allow.matches_uri(&uri));
        assert_eq!(matched, expected, "{url}");
        assert_eq!(n, 0, "{url}");
    }
}

#[test]
fn browser_style_allowlist_matching_allocates_nothing() {
    let allow = allowlist_fixture::browser_rules();
    for (url, expected) in [
        ("https://api3.example.com/v1/orders", true),
        ("http://localhost:8080/api", true),
        ("https://cdn.thirdparty.example/lib.js?v=3", false),
    ] {
        let uri: http::Uri = url.parse().unwrap();
        let (n, matched) = allocations(|| allow.matches_uri(&uri));
        assert_eq!(matched, expected, "{url}");
        assert_eq!(n, 0, "{url}");
    }
}

fn baggage_members(n: usize, offset: usize) -> String {
    (offset..offset + n)
        .map(|i| format!("key{i}=value%20{i};prop{i}=x"))
        .collect::<Vec<_>>()
        .join(" , ")
}

#[test]
fn baggage_validation_and_iteration_allocate_nothing() {
    // 10 members in one field (the benchmark's input), and the 64-member
    // maximum over four fields.
    let mut ten = HeaderMap::new();
    ten.insert(BAGGAGE, baggage_members(10, 0).parse().unwrap());
    let mut sixty_four = HeaderMap::new();
    for line in 0..4 {
        sixty_four.append(BAGGAGE, baggage_members(16, line * 16).parse().unwrap());
    }
    for (map, expected) in [(&ten, 10), (&sixty_four, 64)] {
        let (n, count) = allocations(|| {
            let view = BaggageView::from_headers(map).unwrap();
            let mut count = 0;
            let mut bytes = 0;
            for member in view.iter() {
                count += 1;
                bytes += member.key().len() + member.value().len() + member.properties().len();
            }
            assert!(bytes > 0);
            let last = view.get(&format!("key{}", expected - 1)[..]);
            assert!(last.is_some());
            count
        });
        assert_eq!(count, expected);
        // `format!` above is the one allocation outside the parser.
        assert_eq!(n, 1, "{expected} members");
        let (n, found) = allocations(|| {
            BaggageView::from_headers(map).map(|view| view.get("key5").map(|m| m.value()))
        });
        assert_eq!(found, Ok(Some("value%205")));
        assert_eq!(n, 0);
    }
    // Rejection (a 65th member) allocates nothing either.
    sixty_four.append(BAGGAGE, HeaderValue::from_static("one=more"));
    let (n, result) = allocations(|| BaggageView::from_headers(&sixty_four).map(|v| v.len()));
    assert!(result.is_err());
    assert_eq!(n, 0);
}

#[cfg(feature = "sentry")]
#[test]
fn sentry_trace_parse_and_encode_allocate_nothing() {
    use tower_trace_context::sentry::SentryTrace;
    let inputs: [&[u8]; 4] = [
        b"771a43a4192642f0b136d5159a501700-b0e6f15b45c36b12-1",
        b" 771a43a4192642f0b136d5159a501700-b0e6f15b45c36b12 ",
        b"771A43A4192642F0B136D5159A501700-b0e6f15b45c36b12-1",
        b"garbage",
    ];
    for input in inputs {
        let (n, _) = allocations(|| SentryTrace::parse(input));
        assert_eq!(n, 0, "{input:?}");
    }
    let st = SentryTrace::parse(inputs[0]).unwrap();
    let (n, value) = allocations(|| st.to_header_value());
    assert_eq!(value, "771a43a4192642f0b136d5159a501700-b0e6f15b45c36b12-1");
    // `HeaderValue` owns its bytes: one allocation, none for encoding.
    assert_eq!(n, 1);
}

/// The B3 and Datadog parsers and encoders (the incoming formats' hot path)
/// allocate nothing, valid or not.
#[test]
fn b3_and_datadog_parse_and_encode_allocate_nothing() {
    use tower_trace_context::b3::{self, B3};
    use tower_trace_context::datadog::{self, Datadog};
    let mut headers = HeaderMap::new();
    headers.insert(b3::B3, HeaderValue::from_static("0"));
    headers.insert(
        b3::X_B3_TRACEID,
        HeaderValue::from_static("80f198ee56343ba864fe8b2a57d3eff7"),
    );
    headers.insert(
        b3::X_B3_SPANID,
        HeaderValue::from_static("e457b5a2e4d86bd1"),
    );
    headers.insert(b3::X_B3_SAMPLED, HeaderValue::from_static("true"));
    headers.insert(
        datadog::X_DATADOG_TRACE_ID,
        HeaderValue::from_static("1234"),
    );
    headers.insert(
        datadog::X_DATADOG_PARENT_ID,
        HeaderValue::from_static("5678"),
    );
    headers.insert(
        datadog::X_DATADOG_SAMPLING_PRIORITY,
        HeaderValue::from_static("2"),
    );
    headers.insert(
        datadog::X_DATADOG_TAGS,
        HeaderValue::from_static("_dd.p.dm=-4,_dd.p.tid=640cfd8d00000000"),
    );
    let (n, found) = allocations(|| {
        let single = B3::parse_single(
            b"80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90",
        );
        let bad = B3::parse_single(b"80f198ee56343ba8-XYZ");
        let (multi, _) = B3::from_headers(&headers).unwrap();
        let mut buf = [0u8; b3::B3_SINGLE_MAX_LEN];
        let written = multi.write_single(&mut buf).len();
        let dd = Datadog::from_headers(&headers).unwrap();
        let dd_bad = Datadog::parse(b"18446744073709551616", b"1", None, None, None);
        let mut tags = [0u8; datadog::TAGS_MAX_LEN];
        let tags = dd.write_tags(&mut tags).map_or(0, <[u8]>::len);
        (
            single.is_ok(),
            bad.is_err(),
            written,
            dd.trace_id(),
            dd_bad.is_err(),
            tags,
        )
    });
    assert_eq!(n, 0);
    assert!(found.0 && found.1 && found.4, "{found:?}");
    assert_eq!((found.2, found.5), (51, 38));
    assert_eq!(found.3, 0x640c_fd8d_0000_0000_0000_0000_0000_04d2);
}

/// Requests through the server layer with the SDK installed, on both span
/// paths: allocations of one `oneshot` (the response dropped inside the
/// count), with `traceparent` sampled or not and a 5-member `tracestate`.
fn server_request_allocations(direct: bool, sampled: bool) -> usize {
    use opentelemetry::trace::TracerProvider as _;
    use tower::{Layer, ServiceExt};
    use tower_trace_context::server::TraceContextLayer;
    use tracing_subscriber::layer::SubscriberExt;

    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    let _guard = tracing::subscriber::set_default(subscriber);
    let layer = match direct {
        true => TraceContextLayer::new().tracer(provider.tracer("test")),
        false => TraceContextLayer::new(),
    };
    let svc = layer.layer(tower::service_fn(|_: http::Request<()>| async {
        Ok::<_, std::convert::Infallible>(http::Response::new(()))
    }));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let flags = if sampled { "01" } else { "00" };
    let request = || {
        http::Request::get("/")
            .header(
                TRACEPARENT,
                format!("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-{flags}"),
            )
            .header(
                TRACESTATE,
                "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7,a=1,b=2,c=3",
            )
            .body(())
            .unwrap()
    };
    for _ in 0..3 {
        drop(rt.block_on(svc.clone().oneshot(request())).unwrap());
    }
    let (req, svc) = (request(), svc.clone());
    let (n, ()) = allocations(|| drop(rt.block_on(svc.oneshot(req)).unwrap()));
    n
}

/// Spans nobody records cost little: under an unsampled parent neither path
/// converts `tracestate` into OpenTelemetry's `TraceState` (ten `String`s
/// and a `VecDeque`, copied again into the span) nor computes the
/// OpenTelemetry-only attributes.
#[test]
fn unsampled_requests_allocate_little_on_both_paths() {
    for direct in [false, true] {
        let sampled = server_request_allocations(direct, true);
        let unsampled = server_request_allocations(direct, false);
        println!("direct {direct}: sampled {sampled}, unsampled {unsampled}");
        // The TraceState alone is 11 allocations, and it is copied twice.
        assert!(
            unsampled + 30 <= sampled,
            "direct {direct}: sampled {sampled}, unsampled {unsampled}"
        );
        let budget = if direct { 16 } else { 24 };
        assert!(
            unsampled <= budget,
            "direct {direct}: unsampled {unsampled} allocations (budget {budget})"
        );
    }
}
