//! Property tests: no input panics, encodings round-trip, accepted values
//! re-encode to their canonical form.

use http::{HeaderMap, HeaderValue};
use opentelemetry::trace::{SpanId, TraceFlags, TraceId};
use proptest::prelude::*;
use tower_trace_context::{
    OwnedTraceState, TRACEPARENT, TRACESTATE, TraceContextHeaders, TraceParent, TraceStateView,
    extract, inject,
};

/// A key of the Level 2 grammar.
fn key() -> impl Strategy<Value = String> {
    "[a-z0-9][a-z0-9_*/@-]{0,20}"
}

/// A value of the value grammar (no trailing space).
fn value() -> impl Strategy<Value = String> {
    "[ -+\\--<>-~]{0,12}[!-+\\--<>-~]"
}

fn ows() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just(""), Just(" "), Just("\t"), Just(" \t ")]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn traceparent_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
        let _ = TraceParent::parse(&bytes);
    }

    #[test]
    fn near_valid_traceparent_never_panics(
        mut bytes in Just(b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_vec()),
        at in 0usize..55,
        byte in any::<u8>(),
        cut in 0usize..70,
    ) {
        bytes[at] = byte;
        bytes.truncate(cut);
        if let Ok(tp) = TraceParent::parse(&bytes) {
            // Whatever is accepted re-parses to itself.
            let back = TraceParent::parse(&tp.encode()).map(|b| b.to_string());
            prop_assert_eq!(back, Ok(tp.to_string()));
        }
    }

    #[test]
    fn tracestate_never_panics(fields in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..80), 0..5)) {
        let mut map = HeaderMap::new();
        map.insert(TRACEPARENT, HeaderValue::from_static("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
        for field in &fields {
            let _ = TraceStateView::parse(field.as_slice()).map(|v| v.iter().count());
            if let Ok(value) = HeaderValue::from_bytes(field) {
                map.append(TRACESTATE, value);
            }
        }
        let parsed = TraceContextHeaders::from_headers(&map);
        prop_assert!(parsed.is_ok(), "a bad tracestate never invalidates the traceparent");
        let mut out = HeaderMap::new();
        inject(&extract(&map), &mut out);
        prop_assert!(out.contains_key(TRACEPARENT));
        if let Some(ts) = out.get(TRACESTATE) {
            prop_assert!(!ts.is_empty());
        }
    }

    #[test]
    fn traceparent_round_trips(trace in 1u128.., parent in 1u64.., flags in any::<u8>()) {
        let tp = TraceParent::new(TraceId::from(trace), SpanId::from(parent), TraceFlags::new(flags)).unwrap();
        let encoded = tp.encode();
        let back = TraceParent::parse(&encoded).unwrap();
        prop_assert_eq!(back, tp);
        prop_assert_eq!(back.trace_id(), TraceId::from(trace));
        prop_assert_eq!(back.parent_id(), SpanId::from(parent));
        prop_assert_eq!(back.trace_flags().to_u8(), flags & 0x03);
    }

    #[test]
    fn accepted_traceparent_reencodes_canonically(
        version in 0u8..0xff,
        trace in 1u128..,
        parent in 1u64..,
        flags in any::<u8>(),
        suffix in "(-[a-z0-9.]{0,10})?",
        lead in ows(),
        trail in ows(),
    ) {
        let suffix = if version == 0 { String::new() } else { suffix };
        let input = format!("{lead}{version:02x}-{trace:032x}-{parent:016x}-{flags:02x}{suffix}{trail}");
        let tp = TraceParent::parse(input.as_bytes()).unwrap();
        prop_assert_eq!(tp.version(), version);
        prop_assert_eq!(tp.to_string(), format!("00-{trace:032x}-{parent:016x}-{:02x}", flags & 3));
    }

    #[test]
    fn tracestate_round_trips(
        members in proptest::collection::vec((key(), value()), 0..32),
        seps in proptest::collection::vec((ows(), ows(), 0usize..3), 32),
        split in 0usize..32,
    ) {
        // Build the header with random OWS and empty members, split over two fields.
        let mut text = String::new();
        for (i, ((k, v), (before, after, empties))) in members.iter().zip(&seps).enumerate() {
            if i > 0 { text.push(','); }
            for _ in 0..*empties { text.push_str(" ,"); }
            text.push_str(before);
            text.push_str(&format!("{k}={v}"));
            text.push_str(after);
        }
        let cut = text.match_indices(',').nth(split).map_or(text.len(), |(i, _)| i);
        let (first, second) = (&text[..cut], text[cut..].trim_start_matches(','));
        let mut map = HeaderMap::new();
        map.append(TRACESTATE, HeaderValue::from_str(first).unwrap());
        map.append(TRACESTATE, HeaderValue::from_str(second).unwrap());

        let view = TraceStateView::from_headers(&map).unwrap();
        let mut expected: Vec<(&str, &str)> = Vec::new();
        for (k, v) in &members {
            if !expected.iter().any(|(ek, _)| ek == k) {
                expected.push((k.as_str(), v.as_str()));
            }
        }
        prop_assert_eq!(view.iter().collect::<Vec<_>>(), expected.clone());

        // Owned form re-encodes canonically and re-parses to the same members.
        let owned = OwnedTraceState::from_view(&view);
        let canonical = owned.to_header_value_limited(usize::MAX);
        prop_assert_eq!(canonical.is_none(), expected.is_empty());
        if let Some(canonical) = canonical {
            let again = TraceStateView::parse(canonical.as_bytes()).unwrap();
            prop_assert_eq!(again.iter().collect::<Vec<_>>(), expected);
        }
    }

    #[test]
    fn truncation_respects_limit(
        members in proptest::collection::vec((key(), "[a-z]{1,200}"), 1..32),
        limit in 0usize..2000,
    ) {
        let mut owned = OwnedTraceState::new();
        for (k, v) in members.iter().rev() {
            owned.insert(k.as_str(), v.as_str()).unwrap();
        }
        // Model of W3C Trace Context §3.3.1.5: while too long, drop the
        // right-most member over 128 characters, else the right-most member.
        let mut model: Vec<String> = owned.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let size = |m: &Vec<String>| m.iter().map(String::len).sum::<usize>() + m.len().saturating_sub(1);
        while !model.is_empty() && size(&model) > limit {
            match model.iter().rposition(|m| m.len() > 128) {
                Some(i) => model.remove(i),
                None => model.pop().unwrap(),
            };
        }
        let got = owned.to_header_value_limited(limit);
        prop_assert_eq!(got.as_ref().map(|v| v.to_str().unwrap().to_string()), (!model.is_empty()).then(|| model.join(",")));
        if let Some(value) = got {
            prop_assert!(value.len() <= limit);
        }
    }
}

mod baggage {
    use std::collections::HashMap;

    use http::{HeaderMap, HeaderValue};
    use opentelemetry::baggage::Baggage;
    use proptest::prelude::*;
    use tower_trace_context::{BAGGAGE, BaggageView, encode_baggage};

    /// Bytes drawn mostly from the baggage alphabet, so that many inputs get
    /// deep into the grammar.
    fn near_baggage() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![
                4 => proptest::sample::select(b"ab=,;% \t0F\"\\%e9".to_vec()),
                1 => any::<u8>(),
            ],
            0..80,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn never_panics_and_iteration_agrees_with_validation(
            fields in proptest::collection::vec(near_baggage(), 0..4)
        ) {
            let mut headers = HeaderMap::new();
            for field in &fields {
                if let Ok(value) = HeaderValue::from_bytes(field) {
                    headers.append(BAGGAGE, value);
                }
            }
            if let Ok(view) = BaggageView::from_headers(&headers) {
                let members: Vec<_> = view.iter().collect();
                prop_assert_eq!(members.len(), view.len());
                for m in members {
                    prop_assert!(!m.key().is_empty());
                    prop_assert!(!m.key().contains([' ', '\t', '=', ',', ';']));
                    prop_assert!(!m.value().contains([' ', '\t', ',', ';']));
                    let _ = m.decoded_value();
                }
                let _ = view.to_baggage();
            }
        }

        #[test]
        fn open_telemetry_baggage_round_trips(
            entries in proptest::collection::hash_map("[A-Za-z0-9!#$&'*+.^_`|~-]{1,12}", "\\PC{0,16}", 0..20),
        ) {
            let baggage: Baggage = entries
                .iter()
                .map(|(k, v)| opentelemetry::KeyValue::new(k.clone(), v.clone()))
                .collect();
            let Some(encoded) = encode_baggage(&baggage) else {
                prop_assert!(entries.is_empty());
                return Ok(());
            };
            let view = BaggageView::parse(encoded.as_bytes()).unwrap();
            let back: HashMap<String, String> = view
                .iter()
                .map(|m| (m.key().to_owned(), m.decoded_value().into_owned()))
                .collect();
            prop_assert_eq!(back, entries);
        }
    }
}

#[cfg(feature = "sentry")]
mod sentry_trace {
    use proptest::prelude::*;
    use tower_trace_context::sentry::SentryTrace;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..70)) {
            let _ = SentryTrace::parse(&bytes);
        }

        #[test]
        fn round_trips(trace in 1u128.., span in 1u64.., sampled in proptest::option::of(any::<bool>())) {
            let st = SentryTrace::new(trace.into(), span.into(), sampled).unwrap();
            let parsed = SentryTrace::parse(st.to_string().as_bytes()).unwrap();
            prop_assert_eq!(parsed, st);
            prop_assert_eq!(st.to_header_value(), st.to_string());
        }
    }
}

/// Extract then inject reproduces any valid input byte for byte, after the
/// documented normalisations: `traceparent` as version `00` with the known
/// flags; `tracestate` without OWS or empty members, the first of duplicate
/// keys, fields joined with `,`; `baggage` exactly as received (fields
/// joined with `,`). Keys OpenTelemetry's `TraceState` refuses included.
mod lossless {
    use std::collections::HashMap;

    use http::{HeaderMap, HeaderValue};
    use opentelemetry::Context;
    use opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator};
    use opentelemetry_http::HeaderExtractor;
    use proptest::prelude::*;
    use tower_trace_context::{
        BAGGAGE, BaggagePropagator, TRACEPARENT, TRACESTATE, TraceContextPropagator,
        extract_baggage, extract_with_context, inject, inject_baggage,
    };

    /// Level 2 keys, many with one or more `@` and long vendor parts (which
    /// OpenTelemetry's `TraceState` refuses).
    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z0-9][a-z0-9_*/-]{0,8}",
            "[a-z0-9][a-z0-9_*/-]{0,8}@[a-z0-9_*/@-]{0,20}",
        ]
    }

    fn value() -> impl Strategy<Value = String> {
        "[ -+\\--<>-~]{0,8}[!-+\\--<>-~]"
    }

    fn ows() -> impl Strategy<Value = &'static str> {
        prop_oneof![Just(""), Just(""), Just(" "), Just("\t ")]
    }

    fn baggage_member() -> impl Strategy<Value = String> {
        (
            "[A-Za-z0-9_.-]{1,8}",
            "[A-Za-z0-9%]{0,8}",
            ows(),
            proptest::option::of("[a-z]{1,4}(=[a-z0-9]{1,4})?"),
        )
            .prop_map(|(k, v, ows, prop)| {
                // `%` only as a valid percent-encoded octet.
                let v = v.replace('%', "%41");
                match prop {
                    Some(p) => format!("{k}{ows}={ows}{v};{p}"),
                    None => format!("{k}={v}{ows}"),
                }
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn extract_then_inject_reproduces_the_input(
            trace in 1u128..,
            parent in 1u64..,
            flags in any::<u8>(),
            future in proptest::option::of("[0-9a-e][0-9a-f]"),
            members in proptest::collection::vec((key(), value(), ows(), ows()), 0..12),
            duplicate in proptest::option::of(0usize..12),
            split in 0usize..12,
            baggage in proptest::collection::vec(baggage_member(), 0..6),
            baggage_split in 0usize..6,
        ) {
            let version = future.filter(|v| v != "00");
            let tp = match &version {
                Some(v) => format!("{v}-{trace:032x}-{parent:016x}-{flags:02x}-anything"),
                None => format!("00-{trace:032x}-{parent:016x}-{flags:02x}"),
            };
            let mut written: Vec<String> = members
                .iter()
                .map(|(k, v, before, after)| format!("{before}{k}={v}{after}"))
                .collect();
            if let Some(at) = duplicate.filter(|&at| at < members.len()) {
                // A repeated key with another value: the first one wins.
                written.push(format!("{}=dup", members[at].0));
            }
            let mut expected: Vec<String> = Vec::new();
            let mut keys: Vec<&str> = Vec::new();
            for (k, v, _, _) in &members {
                if !keys.contains(&k.as_str()) {
                    keys.push(k);
                    expected.push(format!("{k}={v}"));
                }
            }
            let expected = expected.join(",");
            prop_assume!(expected.len() <= 512);

            let mut headers = HeaderMap::new();
            headers.insert(TRACEPARENT, HeaderValue::from_str(&tp).unwrap());
            let cut = split.min(written.len());
            for field in [&written[..cut], &written[cut..]] {
                if !field.is_empty() {
                    headers.append(TRACESTATE, HeaderValue::from_str(&field.join(",")).unwrap());
                }
            }
            let cut = baggage_split.min(baggage.len());
            let mut baggage_fields = Vec::new();
            for field in [&baggage[..cut], &baggage[cut..]] {
                if !field.is_empty() {
                    baggage_fields.push(field.join(","));
                    headers.append(BAGGAGE, HeaderValue::from_str(&field.join(",")).unwrap());
                }
            }
            let want_tp = format!("00-{trace:032x}-{parent:016x}-{:02x}", flags & 3);
            let want_baggage = baggage_fields.join(",");

            // The header-map functions.
            let cx = extract_baggage(&extract_with_context(&Context::new(), &headers), &headers);
            let mut out = HeaderMap::new();
            inject(&cx, &mut out);
            inject_baggage(&cx, &mut out);
            prop_assert_eq!(out.get(TRACEPARENT).map(|v| v.to_str().unwrap()), Some(want_tp.as_str()));
            prop_assert_eq!(
                out.get(TRACESTATE).map(|v| v.to_str().unwrap()),
                (!expected.is_empty()).then_some(expected.as_str())
            );
            prop_assert_eq!(
                out.get(BAGGAGE).map(|v| v.to_str().unwrap()),
                (!want_baggage.is_empty()).then_some(want_baggage.as_str())
            );

            // The propagators alone, as any OpenTelemetry user composes them.
            let propagator = TextMapCompositePropagator::new(vec![
                Box::new(TraceContextPropagator::new()),
                Box::new(BaggagePropagator::new()),
            ]);
            let cx = propagator.extract(&HeaderExtractor(&headers));
            let mut carrier = HashMap::new();
            propagator.inject_context(&cx, &mut carrier);
            prop_assert_eq!(carrier.get("traceparent"), Some(&want_tp));
            prop_assert_eq!(carrier.get("tracestate"), (!expected.is_empty()).then_some(&expected));
            prop_assert_eq!(carrier.get("baggage"), (!want_baggage.is_empty()).then_some(&want_baggage));
        }
    }
}

/// B3 and Datadog in and out (both layers on, the direct span path with the
/// real SDK): any valid incoming context continues, and the downstream
/// call carries the same trace, sampling and kept state.
mod formats {
    use std::convert::Infallible;
    use std::sync::{Arc, Mutex};

    use http::{HeaderMap, HeaderValue, Request, Response};
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use proptest::prelude::*;
    use tower::{Layer, ServiceExt, service_fn};
    use tower_trace_context::SpanPath;
    use tower_trace_context::b3::B3Support;
    use tower_trace_context::client::{Allowlist, PropagateLayer};
    use tower_trace_context::datadog::DatadogSupport;
    use tower_trace_context::server::TraceContextLayer;

    /// The headers a downstream call made while handling a request with
    /// `incoming` headers carries.
    fn downstream(incoming: &[(&str, String)]) -> HeaderMap {
        let provider = SdkTracerProvider::builder().build();
        let server = TraceContextLayer::new()
            .span_path(SpanPath::OpenTelemetry)
            .tracer(provider.tracer("server"))
            .b3(B3Support::new())
            .datadog(DatadogSupport::new());
        let client = PropagateLayer::new(Allowlist::all())
            .client_span(false)
            .b3(B3Support::new())
            .datadog(DatadogSupport::new());
        let seen = Arc::new(Mutex::new(HeaderMap::new()));
        let record = seen.clone();
        let svc = server.layer(service_fn(move |_req: Request<()>| {
            let record = record.clone();
            let client = client.clone();
            async move {
                let recorder = service_fn(move |req: Request<()>| {
                    *record.lock().unwrap() = req.headers().clone();
                    async { Ok::<_, Infallible>(Response::new(())) }
                });
                let out = Request::get("http://downstream.test/").body(()).unwrap();
                client.layer(recorder).oneshot(out).await
            }
        }));
        let mut req = Request::get("/");
        for (name, value) in incoming {
            req = req.header(*name, HeaderValue::from_str(value).unwrap());
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(svc.oneshot(req.body(()).unwrap())).unwrap();
        seen.lock().unwrap().clone()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn b3_round_trips(
            trace in 1u128..,
            span in 1u64..,
            short in any::<bool>(),
            sampling in 0usize..4,
            single in any::<bool>(),
        ) {
            let trace = match short {
                true => trace & u128::from(u64::MAX),
                false => trace,
            };
            prop_assume!(trace != 0);
            let trace_hex = match short {
                true => format!("{trace:016x}"),
                false => format!("{trace:032x}"),
            };
            // Deferred, not sampled, sampled, debug.
            let (state, multi): (&str, &[(&str, &str)]) = [
                ("", &[][..]),
                ("-0", &[("x-b3-sampled", "0")][..]),
                ("-1", &[("x-b3-sampled", "1")][..]),
                ("-d", &[("x-b3-flags", "1")][..]),
            ][sampling];
            let mut incoming = Vec::new();
            match single {
                true => incoming.push(("b3", format!("{trace_hex}-{span:016x}{state}"))),
                false => {
                    incoming.push(("x-b3-traceid", trace_hex.clone()));
                    incoming.push(("x-b3-spanid", format!("{span:016x}")));
                    incoming.extend(multi.iter().map(|(k, v)| (*k, (*v).to_owned())));
                }
            }
            let out = downstream(&incoming);
            let traceparent = out["traceparent"].to_str().unwrap();
            prop_assert_eq!(&traceparent[3..35], format!("{trace:032x}"));
            prop_assert_eq!(out["x-b3-traceid"].to_str().unwrap(), trace_hex);
            prop_assert_eq!(out["x-b3-spanid"].to_str().unwrap(), &traceparent[36..52]);
            let (sampled, flags) = match sampling {
                1 => (Some("0"), None),
                3 => (None, Some("1")),
                _ => (Some("1"), None),
            };
            prop_assert_eq!(out.get("x-b3-sampled").map(|v| v.to_str().unwrap()), sampled);
            prop_assert_eq!(out.get("x-b3-flags").map(|v| v.to_str().unwrap()), flags);
            prop_assert_eq!(&traceparent[53..], if sampling == 1 { "00" } else { "01" });
        }

        #[test]
        fn datadog_round_trips(
            low in 1u64..,
            high in any::<u64>(),
            parent in 1u64..,
            priority in proptest::option::of(-1i32..=2),
            origin in proptest::option::of("[a-z]{1,12}"),
            dm in proptest::option::of("-[0-9]"),
        ) {
            let mut tags = Vec::new();
            if let Some(dm) = &dm {
                tags.push(format!("_dd.p.dm={dm}"));
            }
            if high != 0 {
                tags.push(format!("_dd.p.tid={high:016x}"));
            }
            let mut incoming = vec![
                ("x-datadog-trace-id", low.to_string()),
                ("x-datadog-parent-id", parent.to_string()),
            ];
            incoming.extend(priority.map(|p| ("x-datadog-sampling-priority", p.to_string())));
            incoming.extend(origin.clone().map(|o| ("x-datadog-origin", o)));
            if !tags.is_empty() {
                incoming.push(("x-datadog-tags", tags.join(",")));
            }
            let out = downstream(&incoming);
            let trace = (u128::from(high) << 64) | u128::from(low);
            let traceparent = out["traceparent"].to_str().unwrap();
            prop_assert_eq!(&traceparent[3..35], format!("{trace:032x}"));
            prop_assert_eq!(out["x-datadog-trace-id"].to_str().unwrap(), low.to_string());
            let span = u64::from_str_radix(&traceparent[36..52], 16).unwrap();
            prop_assert_eq!(out["x-datadog-parent-id"].to_str().unwrap(), span.to_string());
            let sampled = priority.is_none_or(|p| p > 0);
            prop_assert_eq!(&traceparent[53..], if sampled { "01" } else { "00" });
            let expected_priority = priority.unwrap_or(1).to_string();
            prop_assert_eq!(
                out["x-datadog-sampling-priority"].to_str().unwrap(),
                expected_priority
            );
            prop_assert_eq!(
                out.get("x-datadog-origin").map(|v| v.to_str().unwrap().to_owned()),
                origin
            );
            let mut expected_tags = Vec::new();
            if high != 0 {
                expected_tags.push(format!("_dd.p.tid={high:016x}"));
            }
            if let Some(dm) = &dm {
                expected_tags.push(format!("_dd.p.dm={dm}"));
            }
            prop_assert_eq!(
                out.get("x-datadog-tags").map(|v| v.to_str().unwrap().to_owned()),
                (!expected_tags.is_empty()).then(|| expected_tags.join(","))
            );
        }
    }
}
