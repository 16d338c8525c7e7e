//! No incoming header value (trace context, baggage, Sentry fields) can put
//! markup into a page through `MetaTagsLayer`, or a second entry or an
//! unterminated string into `server-timing`: property test over the real
//! layers and the real OpenTelemetry SDK, with values drawn from the
//! characters that matter (`<`, `>`, `"`, `'`, `&`, `\`, `,`, `;`, `=`,
//! `%`, spaces, non-ASCII).

use crate::support::otel;

use axum::body::Body;
use axum::{Router, response::Html, routing::get};
use http::Request;
use http_body_util::BodyExt;
use proptest::prelude::*;
use tower::ServiceExt;
use tower_trace_context::html::MetaTagsLayer;
use tower_trace_context::sentry::SentrySupport;
use tower_trace_context::server::TraceContextLayer;

const PAGE: &str = "<html><head><title>t</title></head><body>b</body></html>";

/// Values near the grammars, with the dangerous characters mixed in.
fn hostile() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("4bf92f3577b34da6a3ce929d0e0e4736".to_owned()),
        Just("00f067aa0ba902b7".to_owned()),
        Just("-".to_owned()),
        Just("=".to_owned()),
        Just(",".to_owned()),
        Just(";".to_owned()),
        Just("sentry-".to_owned()),
        Just("%3C".to_owned()),
        "[<>\"'&\\\\ =;,%a-z0-9é]{1,6}",
    ];
    proptest::collection::vec(piece, 0..8).prop_map(|p| p.concat())
}

fn well_formed_meta(inserted: &str) -> Result<(), String> {
    let mut rest = inserted;
    while !rest.is_empty() {
        let tail = rest
            .strip_prefix("<meta name=\"")
            .ok_or_else(|| format!("not a meta tag: {rest:?}"))?;
        let (name, tail) = tail.split_once("\" content=\"").ok_or("no content")?;
        if !["traceparent", "tracestate", "sentry-trace", "baggage"].contains(&name) {
            return Err(format!("unexpected meta name {name:?}"));
        }
        let (content, tail) = tail.split_once("\">").ok_or("unterminated content")?;
        if content.contains(['<', '>', '"', '\'']) {
            return Err(format!("unescaped markup in content {content:?}"));
        }
        rest = tail;
    }
    Ok(())
}

/// One `name;desc="..."` or `name;dur=...` entry, the quoted-string per
/// RFC 9110 §5.6.4, nothing after it.
fn well_formed_timing(value: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(value);
    let (name, params) = text.split_once(';').ok_or("no parameter")?;
    if !["traceparent", "trace", "sentry-trace", "baggage"].contains(&name) {
        return Err(format!("unexpected entry {name:?}"));
    }
    let Some(quoted) = params.strip_prefix("desc=\"") else {
        return Err(format!("not a desc: {params:?}"));
    };
    let bytes = quoted.as_bytes();
    let mut i = 0;
    loop {
        match bytes.get(i) {
            None => return Err("unterminated quoted-string".to_owned()),
            Some(b'"') => break,
            Some(b'\\') => i += 2,
            Some(&b) if b == b'\t' || b >= 0x20 && b != 0x7f => i += 1,
            Some(b) => return Err(format!("control byte {b:#x} in quoted-string")),
        }
    }
    match &quoted[i + 1..] {
        "" => Ok(()),
        after => Err(format!("something after the entry: {after:?}")),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn incoming_values_never_become_markup(
        tracestate in hostile(),
        baggage in hostile(),
        sentry_trace in hostile(),
        valid_traceparent in any::<bool>(),
    ) {
        let _otel = otel::install();
        let app = Router::new()
            .route("/", get(|| async { Html(PAGE) }))
            .layer(MetaTagsLayer::new())
            .layer(TraceContextLayer::new().sentry(SentrySupport::new().release("r\"<x>")));
        let mut req = Request::get("/");
        if valid_traceparent {
            req = req.header("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        }
        for (name, value) in [("tracestate", &tracestate), ("baggage", &baggage), ("sentry-trace", &sentry_trace)] {
            if let Ok(value) = http::HeaderValue::from_str(value) {
                req = req.header(name, value);
            }
        }
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let (status, timing, body) = runtime.block_on(async {
            let res = app.oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
            let timing: Vec<_> = res.headers().get_all("server-timing").iter().cloned().collect();
            let status = res.status();
            let body = res.into_body().collect().await.unwrap().to_bytes();
            (status, timing, String::from_utf8(body.to_vec()).unwrap())
        });
        prop_assert_eq!(status, 200);
        // The page around the insertion point is unchanged, and what was
        // inserted is only meta tags with escaped content.
        let head = "<html><head>";
        prop_assert!(body.starts_with(head), "{}", body);
        let rest = &body[head.len()..];
        let end = rest.find("<title>").expect("the page goes on");
        prop_assert_eq!(&rest[end..], &PAGE[head.len()..]);
        prop_assert!(end > 0, "no tags inserted");
        if let Err(why) = well_formed_meta(&rest[..end]) {
            prop_assert!(false, "{}: {}", why, body);
        }
        prop_assert!(!timing.is_empty());
        for value in &timing {
            if let Err(why) = well_formed_timing(value.as_bytes()) {
                prop_assert!(false, "{}: {:?}", why, value);
            }
        }
    }
}
