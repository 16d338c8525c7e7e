//! `MetaTagsLayer` over multi-chunk bodies: the `<head>` tag split across
//! chunks, bytes around the insertion passed through exactly, and responses
//! it must leave alone.

use crate::support::otel;

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use tower::{Layer, ServiceExt};
use tower_trace_context::html::MetaTagsLayer;
use tower_trace_context::server::TraceContextLayer;

/// A body that yields the given chunks one frame at a time.
struct Chunks(VecDeque<Bytes>);

impl Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.pop_front().map(|b| Ok(Frame::data(b))))
    }
}

const TP: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

async fn render(
    chunks: &[&'static str],
    headers: &[(&'static str, &'static str)],
) -> (http::HeaderMap, String) {
    let chunks: Vec<Bytes> = chunks
        .iter()
        .map(|c| Bytes::from_static(c.as_bytes()))
        .collect();
    let headers: Vec<_> = headers.to_vec();
    let svc = TraceContextLayer::new().layer(MetaTagsLayer::new().layer(tower::service_fn(
        move |_: Request<()>| {
            let mut res = Response::new(Chunks(chunks.clone().into()));
            for (k, v) in &headers {
                res.headers_mut().insert(*k, v.parse().unwrap());
            }
            async move { Ok::<_, Infallible>(res) }
        },
    )));
    let res = svc
        .oneshot(
            Request::get("/")
                .header("traceparent", TP)
                .body(())
                .unwrap(),
        )
        .await
        .unwrap();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (headers, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn inserts_across_chunks_and_fixes_content_length() {
    let _otel = otel::install();
    let (headers, body) = render(
        &[
            "<!DOCTYPE html><html><he",
            "AD data-a=\"x>y\"",
            ">",
            "<title>t</title></head><body>",
            "b</body></html>",
        ],
        &[
            ("content-type", "text/html; charset=utf-8"),
            ("content-length", "87"),
        ],
    )
    .await;
    assert!(
        headers.get("content-length").is_none(),
        "length changes: {headers:?}"
    );
    let start = "<!DOCTYPE html><html><heAD data-a=\"x>y\">";
    assert!(body.starts_with(start), "{body}");
    let rest = &body[start.len()..];
    let meta = rest
        .strip_prefix("<meta name=\"traceparent\" content=\"00-4bf92f3577b34da6a3ce929d0e0e4736-")
        .expect(rest);
    let (span, after) = meta.split_at(16);
    assert!(
        span.bytes().all(|b| b.is_ascii_hexdigit()) && span != "00f067aa0ba902b7",
        "the server span, not the caller's"
    );
    assert_eq!(after, "-01\"><title>t</title></head><body>b</body></html>");
}

#[tokio::test]
async fn leaves_other_responses_untouched() {
    let _otel = otel::install();
    let page = ["<html><head>", "</head></html>"];
    for headers in [
        &[("content-type", "application/json")][..],
        &[("content-type", "text/html"), ("content-encoding", "gzip")][..],
        &[][..],
    ] {
        let (got_headers, body) = render(&page, headers).await;
        assert_eq!(body, page.concat(), "{headers:?}");
        for (k, v) in headers {
            assert_eq!(got_headers[*k], *v);
        }
    }
    // No <head> at all: passed through byte for byte.
    let (_, body) = render(
        &["<p>fragment</p>", "<header>x</header>"],
        &[("content-type", "text/html")],
    )
    .await;
    assert_eq!(body, "<p>fragment</p><header>x</header>");
}

#[tokio::test]
async fn comments_and_stray_quotes_do_not_mislead_the_scanner() {
    let _otel = otel::install();
    let html = [("content-type", "text/html")];
    // A commented-out <head> is skipped (split across chunks too).
    let (_, body) = render(
        &[
            "<!doctype html><!-- <head> --",
            "><html><!--x--><head><title>t</title>",
        ],
        &html,
    )
    .await;
    let start = "<!doctype html><!-- <head> --><html><!--x--><head><meta name=\"traceparent\"";
    assert!(body.starts_with(start), "{body}");
    // A quote that does not start an attribute value is just a character.
    let (_, body) = render(&["<html><head a=b\"c><title>t</title>"], &html).await;
    assert!(
        body.starts_with("<html><head a=b\"c><meta name=\"traceparent\""),
        "{body}"
    );
    // A quoted value may hold `>`.
    let (_, body) = render(&["<html><head data-x = 'a>b'><title>t</title>"], &html).await;
    assert!(
        body.starts_with("<html><head data-x = 'a>b'><meta name=\"traceparent\""),
        "{body}"
    );
}

#[tokio::test]
async fn head_requests_and_partial_or_empty_responses_are_untouched() {
    let _otel = otel::install();
    let page = "<html><head><title>t</title></head></html>";
    for (method, status) in [
        (http::Method::HEAD, http::StatusCode::OK),
        (http::Method::GET, http::StatusCode::PARTIAL_CONTENT),
        (http::Method::GET, http::StatusCode::NOT_MODIFIED),
    ] {
        let svc = TraceContextLayer::new().layer(MetaTagsLayer::new().layer(tower::service_fn(
            move |_: Request<()>| async move {
                let mut res =
                    Response::new(Chunks(vec![Bytes::from_static(page.as_bytes())].into()));
                *res.status_mut() = status;
                res.headers_mut()
                    .insert("content-type", "text/html".parse().unwrap());
                res.headers_mut()
                    .insert("content-length", "41".parse().unwrap());
                Ok::<_, Infallible>(res)
            },
        )));
        let req = Request::builder()
            .method(method.clone())
            .uri("/")
            .header("traceparent", TP)
            .body(())
            .unwrap();
        let res = svc.oneshot(req).await.unwrap();
        assert_eq!(res.headers()["content-length"], "41", "{method} {status}");
        let body = res.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, page.as_bytes(), "{method} {status}");
    }
}

#[tokio::test]
async fn without_opentelemetry_no_tags_are_invented() {
    let (_, body) = render(
        &["<html><head></head></html>"],
        &[("content-type", "text/html")],
    )
    .await;
    assert_eq!(body, "<html><head></head></html>");
}

/// A page rendered for an unsampled request (flags `00`) still carries the
/// incoming `tracestate` in its meta tag, although OpenTelemetry's
/// `TraceState` is not built for such requests: the tag is what an outgoing
/// call would send.
#[tokio::test]
async fn unsampled_pages_keep_the_tracestate_meta_tag() {
    let _otel = otel::install();
    for (flags, state) in [
        ("00", "congo=t61rcWkgMzE,rojo=1"),
        ("01", "congo=t61rcWkgMzE,rojo=1"),
    ] {
        let svc = TraceContextLayer::new().layer(MetaTagsLayer::new().layer(tower::service_fn(
            |_: Request<()>| async {
                let mut res = Response::new(Chunks(
                    vec![Bytes::from_static(b"<html><head></head></html>")].into(),
                ));
                res.headers_mut()
                    .insert("content-type", "text/html".parse().unwrap());
                Ok::<_, Infallible>(res)
            },
        )));
        let res = svc
            .oneshot(
                Request::get("/")
                    .header(
                        "traceparent",
                        format!("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-{flags}"),
                    )
                    .header("tracestate", state)
                    .body(())
                    .unwrap(),
            )
            .await
            .unwrap();
        let html = String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec())
            .unwrap();
        assert!(
            html.contains(&format!("<meta name=\"tracestate\" content=\"{state}\">")),
            "flags {flags}: {html}"
        );
        assert!(
            html.contains(&format!("-{flags}\">")),
            "flags {flags}: {html}"
        );
    }
}

/// `MetaTagsLayer::datadog(true)` adds Datadog RUM's page-load tags: the
/// trace id's low 64 bits in decimal and the render time in milliseconds;
/// a page a shared cache may store gets none, like the other tags.
#[tokio::test]
async fn datadog_page_load_tags() {
    let _otel = otel::install();
    for cache_control in [None, Some("public, max-age=60")] {
        let svc = TraceContextLayer::new().layer(MetaTagsLayer::new().datadog(true).layer(
            tower::service_fn(move |_: Request<()>| async move {
                let mut res = Response::new(Chunks(
                    vec![Bytes::from_static(b"<html><head></head></html>")].into(),
                ));
                res.headers_mut()
                    .insert("content-type", "text/html".parse().unwrap());
                if let Some(value) = cache_control {
                    res.headers_mut()
                        .insert("cache-control", value.parse().unwrap());
                }
                Ok::<_, Infallible>(res)
            }),
        ));
        let before = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis();
        let res = svc
            .oneshot(
                Request::get("/")
                    .header("traceparent", TP)
                    .body(())
                    .unwrap(),
            )
            .await
            .unwrap();
        let html = String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec())
            .unwrap();
        let content = |name: &str| {
            let start = html.find(&format!("<meta name=\"{name}\" content=\""))?;
            let rest = &html[start..];
            let value = rest.split('"').nth(3)?;
            Some(value.to_owned())
        };
        match cache_control {
            Some(_) => assert_eq!(content("dd-trace-id"), None, "{html}"),
            None => {
                // 4bf92f3577b34da6a3ce929d0e0e4736: the low half, a3ce929d0e0e4736.
                let low = u64::from_str_radix("a3ce929d0e0e4736", 16).unwrap();
                assert_eq!(content("dd-trace-id"), Some(low.to_string()), "{html}");
                let ms: u128 = content("dd-trace-time").unwrap().parse().unwrap();
                assert!(ms >= before && ms < before + 60_000, "{ms} vs {before}");
            }
        }
    }
}
