//! gRPC-shaped requests through the server layer over real TCP with the
//! real SDK: the span is named `{package.Service}/{Method}` with the RPC
//! attributes, a trailers-only `grpc-status` sets `rpc.grpc.status_code`
//! and (for server-error codes) the span status, and plain gRPC responses
//! get no browser headers while grpc-web ones do. (Statuses sent in body
//! trailers, tonic itself and the client side are the rest of the gRPC
//! issue.)

#[path = "support/http.rs"]
mod http_support;
#[path = "support/otel.rs"]
mod otel;

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
    let otel = otel::install();
    let app = Router::new()
        .route("/{service}/{method}", post(trailers_only))
        .layer(TraceContextLayer::new());
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
            assert!(attr("error.type").is_some());
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
