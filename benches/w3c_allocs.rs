//! Heap allocations per operation, this crate against opentelemetry_sdk 0.33,
//! on the same inputs as `benches/w3c.rs`. Prints a Markdown table.
//!
//! `cargo bench --bench w3c_allocs`

use http::{HeaderMap, HeaderValue};
use opentelemetry::Context;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use tower_trace_context::{
    BAGGAGE, BaggageView, TraceContextHeaders, TraceParent, extract, extract_baggage,
    inject_baggage,
};

#[path = "support/fixtures.rs"]
mod fixtures;

use tower_trace_context_test_support::counting_alloc::{Counting, allocations};

#[global_allocator]
static GLOBAL: Counting = Counting;

fn main() {
    // `cargo bench` passes `--bench`; this harness has no options.
    let sdk = opentelemetry_sdk::propagation::TraceContextPropagator::new();
    let ours = tower_trace_context::TraceContextPropagator::new();
    println!("| operation | tower-trace-context | opentelemetry_sdk |");
    println!("|---|---:|---:|");
    let (n, _) = allocations(|| TraceParent::parse(fixtures::TP.as_bytes()));
    println!("| TraceParent::parse | {n} | - |");
    for (name, headers) in fixtures::cases() {
        // Warm up lazily-initialised statics on both sides first.
        let _ = extract(&headers);
        let _ = sdk.extract_with_context(&Context::new(), &HeaderExtractor(&headers));
        let (view, _) = allocations(|| {
            TraceContextHeaders::from_headers(&headers).map(|p| p.tracestate().iter().count())
        });
        let (ours_n, _) = allocations(|| extract(&headers));
        let (sdk_n, _) =
            allocations(|| sdk.extract_with_context(&Context::new(), &HeaderExtractor(&headers)));
        println!("| extract, {name} | {ours_n} (view only: {view}) | {sdk_n} |");
    }
    for (name, cx) in [
        ("no tracestate", fixtures::inject_context()),
        ("5-member tracestate", fixtures::inject_context_with_state()),
    ] {
        let mut headers = HeaderMap::with_capacity(8);
        ours.inject_headers(&cx, &mut headers);
        sdk.inject_context(&cx, &mut HeaderInjector(&mut headers));
        let (ours_n, ()) = allocations(|| ours.inject_headers(&cx, &mut headers));
        let (sdk_n, ()) =
            allocations(|| sdk.inject_context(&cx, &mut HeaderInjector(&mut headers)));
        println!("| inject, {name} | {ours_n} | {sdk_n} |");
    }

    // W3C Baggage, 10 members, against opentelemetry_sdk's BaggagePropagator.
    let mut headers = HeaderMap::new();
    headers.insert(BAGGAGE, HeaderValue::from_static(fixtures::BAGGAGE10));
    let sdk = opentelemetry_sdk::propagation::BaggagePropagator::new();
    let _ = extract_baggage(&Context::new(), &headers);
    let _ = sdk.extract(&HeaderExtractor(&headers));
    let (view, _) = allocations(|| {
        BaggageView::from_headers(&headers)
            .map(|v| v.iter().map(|m| m.value().len()).sum::<usize>())
    });
    let (ours_n, cx) = allocations(|| extract_baggage(&Context::new(), &headers));
    let (sdk_n, _) = allocations(|| sdk.extract(&HeaderExtractor(&headers)));
    println!("| baggage extract, 10 members | {ours_n} (view only: {view}) | {sdk_n} |");
    let mut out = HeaderMap::with_capacity(8);
    inject_baggage(&cx, &mut out);
    sdk.inject_context(&cx, &mut HeaderInjector(&mut out));
    let (ours_n, ()) = allocations(|| inject_baggage(&cx, &mut out));
    let (sdk_n, ()) = allocations(|| sdk.inject_context(&cx, &mut HeaderInjector(&mut out)));
    println!("| baggage inject, 10 members | {ours_n} | {sdk_n} |");
}
