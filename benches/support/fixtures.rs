//! Header maps shared by the W3C benchmarks: identical inputs for this crate
//! and for opentelemetry_sdk's `TraceContextPropagator`.
#![allow(dead_code)]

use http::{HeaderMap, HeaderValue};
use opentelemetry::Context;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use tower_trace_context::{TRACEPARENT, TRACESTATE};

pub(crate) const TP: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
pub(crate) const TS5: &str =
    "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7,vendor@tenant=abc123,foo=bar,dd=s:1;o:rum";

/// A 10-member `baggage` as Sentry's and OpenTelemetry's SDKs send it:
/// Sentry's dynamic sampling context plus application entries, one with a
/// property and two percent-encoded.
pub(crate) const BAGGAGE10: &str = "sentry-trace_id=771a43a4192642f0b136d5159a501700,sentry-public_key=49d0f7386ad645858ae85020e393bef3,sentry-sample_rate=0.25,sentry-sampled=true,sentry-environment=production,sentry-release=shop%401.4.2,userId=alice,tenant=acme;source=web,serverNode=DF%2028,isProduction=false";

/// The cases every comparison runs on: name and headers.
pub(crate) fn cases() -> Vec<(&'static str, HeaderMap)> {
    let mut only = HeaderMap::new();
    only.insert(TRACEPARENT, HeaderValue::from_static(TP));

    let mut five = only.clone();
    five.insert(TRACESTATE, HeaderValue::from_static(TS5));

    let mut thirty_two = only.clone();
    for line in 0..3 {
        let members: Vec<String> = (0..32)
            .filter(|i| i % 3 == line)
            .map(|i| format!("vendor{i:02}=value{i:02}"))
            .collect();
        thirty_two.append(
            TRACESTATE,
            HeaderValue::from_str(&members.join(",")).unwrap(),
        );
    }
    vec![
        ("traceparent only", only),
        ("traceparent + 5-member tracestate", five),
        ("traceparent + 32 members over 3 lines", thirty_two),
    ]
}

/// A context to inject: a sampled span without tracestate.
pub(crate) fn inject_context() -> Context {
    let sc = SpanContext::new(
        TraceId::from(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736),
        SpanId::from(0x00f0_67aa_0ba9_02b7),
        TraceFlags::SAMPLED,
        true,
        TraceState::NONE,
    );
    Context::new().with_remote_span_context(sc)
}

/// A context to inject with the 5-member tracestate.
pub(crate) fn inject_context_with_state() -> Context {
    let sc = SpanContext::new(
        TraceId::from(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736),
        SpanId::from(0x00f0_67aa_0ba9_02b7),
        TraceFlags::SAMPLED,
        true,
        TS5.parse().unwrap(),
    );
    Context::new().with_remote_span_context(sc)
}
