//! Parses trace context headers and prints what the crate makes of them.
//!
//! ```text
//! cargo run --example parse -- '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' 'congo=t61rcWkgMzE,rojo=00f067aa0ba902b7'
//! ```
//! Without arguments it parses a built-in set of valid and invalid headers.

use http::{HeaderMap, HeaderValue};
use opentelemetry::trace::TraceContextExt;
use tower_trace_context::{TRACEPARENT, TRACESTATE, TraceContextHeaders, extract, inject};

fn show(traceparent: &str, tracestate: Option<&str>) {
    let mut headers = HeaderMap::new();
    let (Ok(tp), ts) = (
        HeaderValue::from_str(traceparent),
        tracestate.map(HeaderValue::from_str),
    ) else {
        println!("{traceparent:?}: not a valid HTTP header value");
        return;
    };
    headers.insert(TRACEPARENT, tp);
    if let Some(Ok(ts)) = ts {
        headers.insert(TRACESTATE, ts);
    }
    println!("traceparent: {traceparent:?}");
    if let Some(ts) = tracestate {
        println!("tracestate:  {ts:?}");
    }
    match TraceContextHeaders::from_headers(&headers) {
        Ok(parsed) => {
            let tp = parsed.traceparent();
            println!(
                "  => continue trace {} from parent {} (sampled: {}, random: {})",
                tp.trace_id(),
                tp.parent_id(),
                tp.is_sampled(),
                tp.is_random()
            );
            match parsed.tracestate_error() {
                Some(err) => println!("  => tracestate discarded: {err}"),
                None => println!("  => tracestate members: {:?}", parsed.tracestate()),
            }
            let cx = extract(&headers);
            let mut out = HeaderMap::new();
            inject(&cx, &mut out);
            println!(
                "  => re-encoded: {:?}",
                out.iter()
                    .map(|(k, v)| format!("{k}: {}", v.to_str().unwrap_or("?")))
                    .collect::<Vec<_>>()
            );
            assert!(cx.span().span_context().is_valid());
        }
        Err(err) => println!("  => new trace: {err}"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(traceparent) = args.first() {
        show(traceparent, args.get(1).map(String::as_str));
        return;
    }
    let samples: &[(&str, Option<&str>)] = &[
        (
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            Some("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"),
        ),
        (
            "  00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03\t",
            Some("tenant@vendor=1, foo=1 \t"),
        ),
        (
            "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future",
            None,
        ),
        (
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            Some("Bad=1"),
        ),
        (
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            None,
        ),
        (
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
            None,
        ),
        (
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            None,
        ),
        (
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            None,
        ),
    ];
    for (tp, ts) in samples {
        show(tp, *ts);
    }
}
