//! W3C Trace Context: this crate against opentelemetry_sdk 0.33's
//! `TraceContextPropagator` (with opentelemetry-http's `HeaderExtractor` /
//! `HeaderInjector`), on identical `HeaderMap`s, in one run.
//!
//! `cargo bench --bench w3c` (allocation counts: `cargo bench --bench w3c_allocs`).

// criterion's macros generate undocumented functions.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use http::HeaderMap;
use opentelemetry::Context;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use tower_trace_context::{TraceContextHeaders, TraceParent, extract, inject};

#[path = "support/fixtures.rs"]
mod fixtures;

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("traceparent parse");
    group.bench_function("tower-trace-context TraceParent::parse", |b| {
        b.iter(|| TraceParent::parse(black_box(fixtures::TP.as_bytes())))
    });
    group.finish();

    // The same parser on 64 different headers per iteration: criterion's own
    // per-iteration cost (about a third of the single-parse time above) is
    // spread over 64 parses, so the time per element is the parser's.
    let headers: Vec<Vec<u8>> = (1..=64u128)
        .map(|i| {
            let trace = 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736_u128.wrapping_mul(i);
            format!("00-{trace:032x}-{:016x}-01", i * 0x00f0_67aa_0ba9_02b7).into_bytes()
        })
        .collect();
    let mut group = c.benchmark_group("traceparent parse: 64 headers");
    group.throughput(criterion::Throughput::Elements(64));
    group.bench_function("tower-trace-context TraceParent::parse", |b| {
        b.iter(|| {
            black_box(&headers)
                .iter()
                .filter_map(|h| TraceParent::parse(h).ok())
                .count()
        })
    });
    group.finish();
}

fn extract_cases(c: &mut Criterion) {
    let sdk = opentelemetry_sdk::propagation::TraceContextPropagator::new();
    for (name, headers) in fixtures::cases() {
        let mut group = c.benchmark_group(format!("extract: {name}"));
        group.bench_function("tower-trace-context extract", |b| {
            b.iter(|| extract(black_box(&headers)))
        });
        group.bench_function(
            "tower-trace-context TraceContextHeaders (no Context)",
            |b| {
                b.iter(|| {
                    TraceContextHeaders::from_headers(black_box(&headers))
                        .map(|p| p.tracestate().iter().count())
                })
            },
        );
        // The floor OpenTelemetry's own types set: building the `TraceState`
        // (a String per key and value) and the `Context`, from already split members.
        let members: Vec<(String, String)> = TraceContextHeaders::from_headers(&headers)
            .map(|p| {
                p.tracestate()
                    .iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        group.bench_function("floor: TraceState::from_key_value + Context only", |b| {
            b.iter(|| {
                let ts = if members.is_empty() {
                    TraceState::NONE
                } else {
                    TraceState::from_key_value(
                        black_box(&members)
                            .iter()
                            .map(|(k, v)| (k.as_str(), v.as_str())),
                    )
                    .unwrap()
                };
                Context::new().with_remote_span_context(SpanContext::new(
                    TraceId::from(1),
                    SpanId::from(1),
                    TraceFlags::SAMPLED,
                    true,
                    ts,
                ))
            })
        });
        group.bench_function("opentelemetry_sdk extract", |b| {
            b.iter(|| {
                sdk.extract_with_context(&Context::new(), &HeaderExtractor(black_box(&headers)))
            })
        });
        group.finish();
    }
}

fn inject_cases(c: &mut Criterion) {
    let sdk = opentelemetry_sdk::propagation::TraceContextPropagator::new();
    let ours = tower_trace_context::TraceContextPropagator::new();
    for (name, cx) in [
        ("no tracestate", fixtures::inject_context()),
        ("5-member tracestate", fixtures::inject_context_with_state()),
    ] {
        let mut group = c.benchmark_group(format!("inject: {name}"));
        let mut headers = HeaderMap::with_capacity(8);
        group.bench_function("tower-trace-context inject", |b| {
            b.iter(|| ours.inject_headers(black_box(&cx), &mut headers))
        });
        group.bench_function("opentelemetry_sdk inject", |b| {
            b.iter(|| sdk.inject_context(black_box(&cx), &mut HeaderInjector(&mut headers)))
        });
        group.finish();
        let _ = inject;
    }
}

criterion_group!(w3c, parse, extract_cases, inject_cases);
criterion_main!(w3c);
