//! W3C Baggage and `sentry-trace`: this crate against opentelemetry_sdk
//! 0.33's `BaggagePropagator` (with opentelemetry-http's `HeaderExtractor`),
//! on the same 10-member `baggage` header, in one run.
//!
//! `cargo bench --features sentry --bench baggage`

// criterion's macros generate undocumented functions.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use http::{HeaderMap, HeaderValue};
use opentelemetry::Context;
use opentelemetry::baggage::{Baggage, BaggageExt};
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use tower_trace_context::sentry::SentryTrace;
use tower_trace_context::{
    BAGGAGE, BaggagePropagator, BaggageView, encode_baggage, extract_baggage, inject_baggage,
};

#[path = "support/fixtures.rs"]
mod fixtures;

fn headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(BAGGAGE, HeaderValue::from_static(fixtures::BAGGAGE10));
    headers
}

fn parse(c: &mut Criterion) {
    let headers = headers();
    let sdk = opentelemetry_sdk::propagation::BaggagePropagator::new();
    let ours = BaggagePropagator::new();
    assert_eq!(BaggageView::from_headers(&headers).unwrap().len(), 10);

    let mut group = c.benchmark_group("baggage parse: 10 members");
    group.bench_function(
        "tower-trace-context BaggageView (validate + iterate)",
        |b| {
            b.iter(|| {
                BaggageView::from_headers(black_box(&headers))
                    .map(|view| view.iter().map(|m| m.value().len()).sum::<usize>())
            })
        },
    );
    group.bench_function("tower-trace-context extract_baggage (to Context)", |b| {
        b.iter(|| extract_baggage(&Context::new(), black_box(&headers)))
    });
    group.bench_function("tower-trace-context BaggagePropagator::extract", |b| {
        b.iter(|| ours.extract(&HeaderExtractor(black_box(&headers))))
    });
    group.bench_function("opentelemetry_sdk BaggagePropagator::extract", |b| {
        b.iter(|| sdk.extract(&HeaderExtractor(black_box(&headers))))
    });
    // OpenTelemetry's own type sets a floor for any extract into a Context:
    // a HashMap of Strings, from already split and decoded members.
    let members: Vec<(String, String)> = BaggageView::from_headers(&headers)
        .unwrap()
        .iter()
        .map(|m| (m.key().to_owned(), m.decoded_value().into_owned()))
        .collect();
    group.bench_function("floor: Baggage from owned members + Context only", |b| {
        b.iter(|| {
            let mut baggage = Baggage::new();
            for (k, v) in black_box(&members) {
                let _ = baggage.insert(k.clone(), v.clone());
            }
            Context::new().with_baggage(baggage)
        })
    });
    group.finish();

    let cx = extract_baggage(&Context::new(), &headers);
    let mut group = c.benchmark_group("baggage inject: 10 members");
    group.bench_function("tower-trace-context encode_baggage", |b| {
        b.iter(|| encode_baggage(black_box(&cx).baggage()))
    });
    group.bench_function(
        "tower-trace-context inject_baggage (unchanged: as received)",
        |b| {
            b.iter(|| {
                let mut out = HeaderMap::new();
                inject_baggage(black_box(&cx), &mut out);
                out
            })
        },
    );
    group.bench_function("opentelemetry_sdk BaggagePropagator::inject", |b| {
        b.iter(|| {
            let mut out = HeaderMap::new();
            sdk.inject_context(black_box(&cx), &mut HeaderInjector(&mut out));
            out
        })
    });
    group.finish();
}

fn sentry_trace(c: &mut Criterion) {
    let value = b"771a43a4192642f0b136d5159a501700-b0e6f15b45c36b12-1";
    let mut group = c.benchmark_group("sentry-trace");
    group.bench_function("tower-trace-context SentryTrace::parse", |b| {
        b.iter(|| SentryTrace::parse(black_box(value)))
    });
    let st = SentryTrace::parse(value).unwrap();
    group.bench_function("tower-trace-context SentryTrace::to_header_value", |b| {
        b.iter(|| black_box(&st).to_header_value())
    });
    group.finish();
}

criterion_group!(benches, parse, sentry_trace);
criterion_main!(benches);
