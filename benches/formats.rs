//! B3 and Datadog incoming parsers (target: at most 40 ns for a valid
//! value, header lookups aside), against the hand-written minimum a user
//! could write in ten lines (`split` and `from_str_radix` / `parse`), in
//! one run. Both of ours validate fully; the hand-written ones check little.
//!
//! `cargo bench --bench formats`

// criterion's macros generate undocumented functions.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tower_trace_context::b3::B3;
use tower_trace_context::datadog::Datadog;

const B3_SINGLE: &[u8] = b"80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90";
const B3_TRACE: &[u8] = b"80f198ee56343ba864fe8b2a57d3eff7";
const B3_SPAN: &[u8] = b"e457b5a2e4d86bd1";
const DD_TRACE: &[u8] = b"11803532876627986230";
const DD_PARENT: &[u8] = b"67667974448284343";
const DD_TAGS: &[u8] = b"_dd.p.dm=-4,_dd.p.tid=4bf92f3577b34da6";

/// The hand-written B3 single-header parse: split, then radix parses.
fn hand_written_b3(value: &str) -> Option<(u128, u64, Option<bool>)> {
    let mut parts = value.split('-');
    let trace = u128::from_str_radix(parts.next()?, 16).ok()?;
    let span = u64::from_str_radix(parts.next()?, 16).ok()?;
    let sampled = parts.next().map(|s| s == "1" || s == "d");
    Some((trace, span, sampled))
}

/// The hand-written Datadog parse: `str::parse` of both ids, the tid found
/// with `split`.
fn hand_written_datadog(trace: &str, parent: &str, tags: &str) -> Option<(u128, u64)> {
    let low: u64 = trace.parse().ok()?;
    let parent: u64 = parent.parse().ok()?;
    let high = tags
        .split(',')
        .find_map(|t| t.strip_prefix("_dd.p.tid="))
        .and_then(|h| u64::from_str_radix(h, 16).ok())
        .unwrap_or(0);
    Some(((u128::from(high) << 64) | u128::from(low), parent))
}

fn parsers(c: &mut Criterion) {
    let mut group = c.benchmark_group("incoming formats: one valid value");
    group.bench_function("B3 single: tower-trace-context B3::parse_single", |b| {
        b.iter(|| B3::parse_single(black_box(B3_SINGLE)))
    });
    group.bench_function("B3 single: hand-written split + from_str_radix", |b| {
        let value = std::str::from_utf8(B3_SINGLE).unwrap();
        b.iter(|| hand_written_b3(black_box(value)))
    });
    group.bench_function("B3 multi: tower-trace-context B3::parse_multi", |b| {
        b.iter(|| {
            B3::parse_multi(
                black_box(Some(B3_TRACE)),
                black_box(Some(B3_SPAN)),
                None,
                black_box(Some(&b"1"[..])),
                None,
            )
        })
    });
    group.bench_function("Datadog: tower-trace-context Datadog::parse", |b| {
        b.iter(|| {
            Datadog::parse(
                black_box(DD_TRACE),
                black_box(DD_PARENT),
                black_box(Some(&b"2"[..])),
                black_box(Some(&b"rum"[..])),
                black_box(Some(DD_TAGS)),
            )
        })
    });
    group.bench_function(
        "Datadog ids and priority: tower-trace-context Datadog::parse",
        |b| {
            b.iter(|| {
                Datadog::parse(
                    black_box(DD_TRACE),
                    black_box(DD_PARENT),
                    black_box(Some(&b"1"[..])),
                    None,
                    None,
                )
            })
        },
    );
    group.bench_function("Datadog: hand-written str::parse + split", |b| {
        let trace = std::str::from_utf8(DD_TRACE).unwrap();
        let parent = std::str::from_utf8(DD_PARENT).unwrap();
        let tags = std::str::from_utf8(DD_TAGS).unwrap();
        b.iter(|| hand_written_datadog(black_box(trace), black_box(parent), black_box(tags)))
    });
    group.finish();
}

criterion_group!(benches, parsers);
criterion_main!(benches);
