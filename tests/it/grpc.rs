//! gRPC-shaped requests through the server layer over real TCP with the
//! real SDK: the span is named `{package.Service}/{Method}` with the RPC
//! attributes, a trailers-only `grpc-status` sets `rpc.grpc.status_code`
//! and (for server-error codes) the span status, and plain gRPC responses
//! get no browser headers while grpc-web ones do. (Statuses sent in body
//! trailers, tonic itself and the client side are the rest of the gRPC
//! issue.)

use crate::support::http_support;
use crate::support::otel;

use axum::Router;
use axum::response::IntoResponse;
use axum::routing::post;
use http::Method;
use opentelemetry::Value;
use opentelemetry::trace::Status;
use tower_trace_context::server::TraceContextLayer;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const TP: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// A trailers-only gRPC answer with `grpc-status: code` from the path's
/// last segment (`/pkg.Svc/Code5`).
async fn trailers_only(uri: http::Uri) -> impl IntoResponse {
    let code = uri.path().rsplit("Code").next().unwrap_or("0").to_owned();
    (
        [
            ("content-type", "application/grpc".to_owned()),
            ("grpc-status", code),
        ],
        "",
    )
}

#[tokio::test]
async fn grpc_spans_status_and_no_browser_headers() {
    for path in otel::PATHS {
        println!("span path: {path:?}");
        let otel = otel::install();
        let app = Router::new()
            .route("/{service}/{method}", post(trailers_only))
            .layer(otel.on(path, TraceContextLayer::new()));
        let addr = http_support::serve(app).await;

        for (code, error) in [(0, false), (5, false), (13, true), (14, true)] {
            let reply = http_support::send(
                Method::POST,
                &format!("http://{addr}/grpc.health.v1.Health/Code{code}"),
                &[
                    ("content-type", "application/grpc"),
                    ("te", "trailers"),
                    ("traceparent", TP),
                    ("origin", "http://app.test"),
                ],
            )
            .await;
            assert_eq!(reply.status, 200);
            // A gRPC client is no browser.
            assert!(reply.all("server-timing").is_empty(), "{:?}", reply.headers);
            assert!(!reply.headers.contains_key("access-control-expose-headers"));

            let spans = otel.spans(1).await;
            let span = spans.last().unwrap();
            assert_eq!(span.name, format!("grpc.health.v1.Health/Code{code}"));
            assert_eq!(span.span_context.trace_id(), otel::trace_id(TRACE));
            let attr = |key: &str| {
                span.attributes
                    .iter()
                    .find(|kv| kv.key.as_str() == key)
                    .map(|kv| kv.value.clone())
            };
            assert_eq!(attr("rpc.system"), Some(Value::from("grpc")));
            assert_eq!(
                attr("rpc.service"),
                Some(Value::from("grpc.health.v1.Health"))
            );
            assert_eq!(attr("rpc.method"), Some(Value::from(format!("Code{code}"))));
            assert_eq!(attr("rpc.grpc.status_code"), Some(Value::I64(code)));
            if error {
                assert!(
                    matches!(span.status, Status::Error { .. }),
                    "{:?}",
                    span.status
                );
                // The code's name (OpenTelemetry gRPC conventions).
                let name = if code == 13 {
                    "INTERNAL"
                } else {
                    "UNAVAILABLE"
                };
                assert_eq!(attr("error.type"), Some(Value::from(name)));
            } else {
                assert_eq!(span.status, Status::Unset);
                assert_eq!(attr("error.type"), None);
            }
            otel.exporter.reset();
        }

        // grpc-web is a browser: it gets server-timing as any page's fetch.
        let reply = http_support::send(
            Method::POST,
            &format!("http://{addr}/grpc.health.v1.Health/Code0"),
            &[
                ("content-type", "application/grpc-web+proto"),
                ("traceparent", TP),
            ],
        )
        .await;
        assert!(
            reply
                .all("server-timing")
                .iter()
                .any(|e| e.starts_with("traceparent;desc=\"00-")),
            "{:?}",
            reply.headers
        );
    }
}

/// A server stream: one message, then 300 ms of work, then `grpc-status:
/// 13` in the trailers. The span covers the whole stream, the work done
/// while streaming is its child, and the trailers' status is recorded.
struct SlowStream {
    step: u8,
    sleep: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl http_body::Body for SlowStream {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, Self::Error>>> {
        use std::task::Poll;
        match self.step {
            0 => {
                self.step = 1;
                Poll::Ready(Some(Ok(http_body::Frame::data(bytes::Bytes::from_static(
                    b"\0\0\0\0\0",
                )))))
            }
            1 => {
                if self.sleep.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                self.step = 2;
                // Work done while the body streams.
                tracing::info_span!("inside the stream").in_scope(|| {});
                let mut trailers = http::HeaderMap::new();
                trailers.insert("grpc-status", "13".parse().unwrap());
                trailers.insert("grpc-message", "boom%3A%20db%20down".parse().unwrap());
                Poll::Ready(Some(Ok(http_body::Frame::trailers(trailers))))
            }
            _ => Poll::Ready(None),
        }
    }
}

#[tokio::test]
async fn a_server_stream_is_covered_until_its_trailers() {
    for path in otel::PATHS {
        println!("span path: {path:?}");
        let otel = otel::install();
        let stream = || async {
            let body = SlowStream {
                step: 0,
                sleep: Box::pin(tokio::time::sleep(std::time::Duration::from_millis(300))),
            };
            http::Response::builder()
                .header("content-type", "application/grpc")
                .body(axum::body::Body::new(body))
                .unwrap()
        };
        let app = Router::new()
            .route("/pkg.Feed/Watch", post(stream))
            .layer(otel.on(path, TraceContextLayer::new()));
        let addr = http_support::serve(app).await;
        let reply = http_support::send(
            Method::POST,
            &format!("http://{addr}/pkg.Feed/Watch"),
            &[("content-type", "application/grpc"), ("traceparent", TP)],
        )
        .await;
        assert_eq!(reply.status, 200);
        let spans = otel.spans(2).await;
        let server = spans.iter().find(|s| s.name == "pkg.Feed/Watch").unwrap();
        let inside = spans
            .iter()
            .find(|s| s.name == "inside the stream")
            .unwrap();
        assert_eq!(inside.parent_span_id, server.span_context.span_id());
        assert_eq!(inside.span_context.trace_id(), otel::trace_id(TRACE));
        let lasted = server.end_time.duration_since(server.start_time).unwrap();
        assert!(
            lasted >= std::time::Duration::from_millis(300),
            "{lasted:?}"
        );
        // `grpc-message`, percent-decoded, is the status description.
        assert_eq!(
            server.status,
            Status::Error {
                description: "boom: db down".into()
            }
        );
        assert!(
            server
                .attributes
                .iter()
                .any(|kv| kv.key.as_str() == "rpc.grpc.status_code" && kv.value == Value::I64(13))
        );
    }
}

/// A gRPC client span whose response carries no `grpc-status`: a non-200
/// answer (a proxy's 404, 503) is recorded as the status a gRPC client
/// derives from it, and a 200 whose body ends without trailers is an error.
/// A span hook that hands back the current span makes no client span.
/// (The server here has no layer: every exported span is the client's, or
/// the caller's.)
#[tokio::test]
async fn grpc_client_spans_without_grpc_status() {
    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};
    use tower::{ServiceBuilder, ServiceExt};
    use tower_trace_context::client::{Allowlist, ClientRequest, PropagateLayer};

    let otel = otel::install();
    let app = Router::new()
        .route(
            "/pkg.Svc/Missing",
            post(|| async { http::StatusCode::NOT_FOUND }),
        )
        .route(
            "/pkg.Svc/Down",
            post(|| async { http::StatusCode::SERVICE_UNAVAILABLE }),
        )
        .route(
            "/pkg.Svc/NoTrailers",
            post(|| async { ([("content-type", "application/grpc")], "") }),
        );
    let addr = http_support::serve(app).await;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let call = |layer: PropagateLayer, method: &str| {
        let req = http::Request::post(format!("http://{addr}/pkg.Svc/{method}"))
            .header("content-type", "application/grpc")
            .body(Full::default())
            .unwrap();
        let svc = ServiceBuilder::new().layer(layer).service(client.clone());
        async move {
            let res = svc.oneshot(req).await.unwrap();
            let _ = res.into_body().collect().await.unwrap();
        }
    };
    for (method, code, name) in [
        ("Missing", 12, "UNIMPLEMENTED"),
        ("Down", 14, "UNAVAILABLE"),
    ] {
        otel.exporter.reset();
        call(PropagateLayer::new(Allowlist::all()), method).await;
        let spans = otel.spans(1).await;
        let span = spans
            .iter()
            .find(|s| {
                s.name == format!("pkg.Svc/{method}")
                    && s.span_kind == opentelemetry::trace::SpanKind::Client
            })
            .unwrap();
        let attr = |key: &str| {
            span.attributes
                .iter()
                .find(|kv| kv.key.as_str() == key)
                .map(|kv| kv.value.clone())
        };
        assert_eq!(
            attr("rpc.grpc.status_code"),
            Some(Value::I64(code)),
            "{method}"
        );
        assert_eq!(attr("error.type"), Some(Value::from(name)), "{method}");
        assert!(matches!(span.status, Status::Error { .. }), "{method}");
    }

    otel.exporter.reset();
    call(PropagateLayer::new(Allowlist::all()), "NoTrailers").await;
    let spans = otel.spans(1).await;
    let span = spans
        .iter()
        .find(|s| s.span_kind == opentelemetry::trace::SpanKind::Client)
        .unwrap();
    assert_eq!(
        span.status,
        Status::Error {
            description: "the response ended without a grpc-status".into()
        }
    );
    assert!(
        span.attributes
            .iter()
            .any(|kv| kv.key.as_str() == "error.type" && kv.value == Value::from("_OTHER"))
    );

    // A hook handing back the current span: no client span, and the
    // caller's span gets none of the call's outcome.
    otel.exporter.reset();
    let job = tracing::info_span!("job", error.type = tracing::field::Empty);
    let layer = PropagateLayer::new(Allowlist::all())
        .make_span(|_: &ClientRequest<'_>| tracing::Span::current());
    tracing::Instrument::instrument(call(layer, "Down"), job.clone()).await;
    drop(job);
    let spans = otel.spans(1).await;
    assert!(
        spans
            .iter()
            .all(|s| s.span_kind != opentelemetry::trace::SpanKind::Client),
        "{spans:?}"
    );
    let job = spans.iter().find(|s| s.name == "job").unwrap();
    assert_eq!(job.status, Status::Unset);
    assert!(
        !job.attributes
            .iter()
            .any(|kv| kv.key.as_str() == "error.type")
    );
}
