//! Responses a shared cache may store carry no trace ids: no `<meta>` tags
//! and no trace entries in `server-timing` (RFC 9111 rules in `src/cache.rs`),
//! unless switched on. Real TCP on 127.0.0.1 with the real OpenTelemetry SDK.

use crate::support::http_support;
use crate::support::otel;

use axum::Router;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use http::Method;
use tower_trace_context::html::MetaTagsLayer;
use tower_trace_context::server::TraceContextLayer;

const TP: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// A page whose `Cache-Control` (and other caching headers) the query sets.
async fn page(uri: http::Uri) -> impl IntoResponse {
    let mut headers = http::HeaderMap::new();
    for pair in uri.query().unwrap_or_default().split('&') {
        let Some((name, value)) = pair.split_once('=') else {
            continue;
        };
        headers.insert(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.replace("%20", " ").parse().unwrap(),
        );
    }
    (
        headers,
        Html("<html><head><title>t</title></head><body>hi</body></html>"),
    )
}

async fn serve(trace_cacheable: bool) -> std::net::SocketAddr {
    let app = Router::new()
        .route("/", get(page))
        .layer(MetaTagsLayer::new().trace_cacheable_responses(trace_cacheable))
        .layer(TraceContextLayer::new().trace_cacheable_responses(trace_cacheable));
    http_support::serve(app).await
}

/// Whether the page came with the meta tag and the `traceparent` entry.
async fn traced(addr: std::net::SocketAddr, query: &str, headers: &[(&str, &str)]) -> (bool, bool) {
    let mut sent = vec![("traceparent", TP)];
    sent.extend_from_slice(headers);
    let reply = http_support::send(Method::GET, &format!("http://{addr}/?{query}"), &sent).await;
    assert!(reply.status.is_success(), "{reply:?}");
    let meta = reply.body.contains(r#"<meta name="traceparent""#);
    let timing = reply
        .all("server-timing")
        .iter()
        .any(|e| e.starts_with("traceparent"));
    (meta, timing)
}

#[tokio::test]
async fn cacheable_responses_carry_no_trace_ids() {
    let _otel = otel::install();
    let addr = serve(false).await;
    for (query, request_headers, expect_traced) in [
        ("cache-control=public,%20max-age=60", &[][..], false),
        ("cache-control=s-maxage=600", &[], false),
        ("cache-control=max-age=60", &[], false),
        ("cache-control=private,%20max-age=60", &[], true),
        ("cache-control=no-store", &[], true),
        ("cache-control=no-cache", &[], true),
        ("", &[], true),
        (
            "expires=Thu,%2001%20Dec%202099%2016:00:00%20GMT",
            &[],
            false,
        ),
        (
            "last-modified=Tue,%2015%20Nov%201994%2012:45:26%20GMT",
            &[],
            false,
        ),
        // With Authorization only public / s-maxage / must-revalidate allow storing.
        (
            "cache-control=max-age=60",
            &[("authorization", "Bearer t")][..],
            true,
        ),
        (
            "cache-control=s-maxage=60",
            &[("authorization", "Bearer t")][..],
            false,
        ),
    ] {
        let got = traced(addr, query, request_headers).await;
        assert_eq!(
            got,
            (expect_traced, expect_traced),
            "{query} {request_headers:?}: (meta tag, server-timing)"
        );
    }

    // Switched on: cacheable pages are traced like any other.
    let addr = serve(true).await;
    assert_eq!(
        traced(addr, "cache-control=public,%20max-age=60", &[]).await,
        (true, true)
    );
}
