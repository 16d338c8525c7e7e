//! Exercises `examples/w3c_test_service.rs` the way the W3C harness does: a
//! `POST /test` with two callback URLs; both callbacks must receive a valid
//! traceparent continuing the caller's trace, and the JSON arguments.

#[path = "it/support/http_support.rs"]
mod http_support;
#[path = "../examples/w3c_test_service.rs"]
#[allow(dead_code, unreachable_pub)]
mod service;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use http::{HeaderMap, Method};
use tower_trace_context::TraceParent;

type Seen = Arc<Mutex<Vec<(String, HeaderMap, String)>>>;

const TP: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

#[tokio::test]
async fn forwards_arguments_with_propagated_context() {
    let _provider = service::install_tracing();
    let seen: Seen = Arc::default();
    let record = |State(seen): State<Seen>, uri: http::Uri, headers: HeaderMap, body: Bytes| async move {
        seen.lock().unwrap().push((
            uri.path().to_owned(),
            headers,
            String::from_utf8_lossy(&body).into_owned(),
        ));
        ""
    };
    let harness = Router::new()
        .route("/callback1", post(record))
        .route("/callback2", post(record))
        .with_state(seen.clone());
    let harness = http_support::serve(harness).await;

    let allow = service::allowlist(&[format!("http://{harness}")]).unwrap();
    let svc = http_support::serve(service::app(allow)).await;

    let body = format!(
        r#"[{{"url": "http://{harness}/callback1", "arguments": [1, "a"]}}, {{"url": "http://{harness}/callback2", "arguments": []}}]"#
    );
    let reply = post_json(
        &format!("http://{svc}/test"),
        &body,
        &[("traceparent", TP), ("tracestate", "foo=1")],
    )
    .await;
    assert_eq!(reply, 200);

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "both callbacks, in order");
    assert_eq!(seen[0].0, "/callback1");
    assert_eq!(seen[1].0, "/callback2");
    assert_eq!(seen[0].2, r#"[1,"a"]"#);
    assert_eq!(seen[1].2, "[]");
    let incoming = TraceParent::parse(TP.as_bytes()).unwrap();
    for (_, headers, _) in seen.iter() {
        let tp =
            TraceParent::parse(headers["traceparent"].as_bytes()).expect("a valid traceparent");
        assert_eq!(tp.trace_id(), incoming.trace_id(), "same trace");
        assert_ne!(
            tp.parent_id(),
            incoming.parent_id(),
            "a new span of the service"
        );
        assert!(tp.is_sampled());
        assert_eq!(headers["tracestate"], "foo=1");
    }

    // A bad body is a 400, not a panic.
    assert_eq!(
        post_json(&format!("http://{svc}/test"), "{", &[]).await,
        400
    );
}

async fn post_json(url: &str, body: &str, headers: &[(&'static str, &str)]) -> u16 {
    let mut req = reqwest::Request::new(Method::POST, url.parse().unwrap());
    for (k, v) in headers {
        req.headers_mut().insert(*k, v.parse().unwrap());
    }
    *req.body_mut() = Some(body.to_owned().into());
    reqwest::Client::new()
        .execute(req)
        .await
        .unwrap()
        .status()
        .as_u16()
}
