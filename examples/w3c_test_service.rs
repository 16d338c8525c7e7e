//! A service for the W3C trace-context test suite
//! (<https://github.com/w3c/trace-context/tree/main/test>), built from the
//! server and client layers.
//!
//! ```text
//! cargo run --features axum,reqwest --example w3c_test_service -- --port 5000 --allow http://127.0.0.1:7777
//! # then, in a checkout of w3c/trace-context/test:
//! python3 test.py http://127.0.0.1:5000/test
//! ```
//!
//! `POST /test` takes a JSON array of `{"url": "...", "arguments": [...]}`; for
//! each element, in order, it POSTs `arguments` as JSON to `url` with the
//! propagated trace context, waits for all of them, then answers 200.
//! `--allow URL` (repeatable, default `http://127.0.0.1:7777`) lists the
//! origins or URL prefixes that may receive trace context: the harness must
//! be among them.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::routing::post;
use opentelemetry::trace::TracerProvider as _;
use tower::{ServiceBuilder, ServiceExt};
use tower_trace_context::client::PropagateLayer;
use tower_trace_context::server::TraceContextLayer;
use tower_trace_context::{AllowlistError, client::Allowlist};
use tracing_subscriber::layer::SubscriberExt;

/// The allowlist for `--allow` values: an origin (`scheme://host[:port]`)
/// or, with a path, a URL prefix.
pub(crate) fn allowlist(allow: &[String]) -> Result<Allowlist, AllowlistError> {
    let mut builder = Allowlist::builder();
    for url in allow {
        let has_path = url
            .split_once("://")
            .is_some_and(|(_, rest)| rest.trim_end_matches('/').contains('/'));
        builder = if has_path {
            builder.url_prefix(url)
        } else {
            builder.origin(url.trim_end_matches('/'))
        };
    }
    builder.build()
}

/// The test service's router.
pub(crate) fn app(allow: Allowlist) -> Router {
    let layer = PropagateLayer::new(allow);
    let http = reqwest::Client::builder()
        .redirect(layer.redirect_policy())
        .build()
        .expect("reqwest client");
    let client = ServiceBuilder::new().layer(layer).service(http);
    let test = move |body: Bytes| {
        let client = client.clone();
        async move {
            let Ok(serde_json::Value::Array(calls)) =
                serde_json::from_slice::<serde_json::Value>(&body)
            else {
                return (StatusCode::BAD_REQUEST, "expected a JSON array");
            };
            for call in calls {
                let (Some(url), arguments) = (call["url"].as_str(), &call["arguments"]) else {
                    return (StatusCode::BAD_REQUEST, "each element needs a url");
                };
                let Ok(url) = url.parse() else {
                    return (StatusCode::BAD_REQUEST, "bad url");
                };
                let mut req = reqwest::Request::new(reqwest::Method::POST, url);
                req.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static("application/json"),
                );
                *req.body_mut() = Some(arguments.to_string().into());
                if let Err(err) = client.clone().oneshot(req).await {
                    tracing::warn!("callback failed: {err}");
                    return (StatusCode::BAD_GATEWAY, "callback failed");
                }
            }
            (StatusCode::OK, "")
        }
    };
    Router::new()
        .route("/test", post(test))
        .layer(TraceContextLayer::new())
}

/// Installs tracing + the OpenTelemetry SDK (no exporter: the suite only
/// looks at the headers).
pub(crate) fn install_tracing() -> opentelemetry_sdk::trace::SdkTracerProvider {
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("w3c-test-service")));
    let _ = tracing::subscriber::set_global_default(subscriber);
    provider
}

#[allow(dead_code)]
#[tokio::main]
async fn main() {
    let mut port = 5000u16;
    let mut allow = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--port", Some(p)) => port = p.parse().expect("--port takes a number"),
            ("--allow", Some(url)) => allow.push(url),
            _ => {
                eprintln!("usage: w3c_test_service [--port N] [--allow URL]...");
                std::process::exit(2);
            }
        }
    }
    if allow.is_empty() {
        allow.push("http://127.0.0.1:7777".to_owned());
    }
    let allow = match allowlist(&allow) {
        Ok(allow) => allow,
        Err(err) => {
            eprintln!("--allow: {err}");
            std::process::exit(2);
        }
    };
    let provider = install_tracing();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .expect("port is free");
    println!("W3C trace-context test service on http://{addr}/test");
    axum::serve(listener, app(allow))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .expect("server runs");
    let _ = provider.shutdown();
}

/// Exercised the way the W3C harness does (`cargo test` runs it: `test =
/// true` in Cargo.toml): a `POST /test` with two callback URLs; both
/// callbacks must receive a valid traceparent continuing the caller's
/// trace, and the JSON arguments.
#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::Router;
    use axum::body::Bytes;
    use axum::extract::State;
    use axum::routing::post;
    use http::{HeaderMap, Method};
    use tower_trace_context::TraceParent;
    use tower_trace_context_test_support::http_support;

    type Seen = Arc<Mutex<Vec<(String, HeaderMap, String)>>>;

    const TP: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    #[tokio::test]
    async fn forwards_arguments_with_propagated_context() {
        let _provider = super::install_tracing();
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

        let allow = super::allowlist(&[format!("http://{harness}")]).unwrap();
        let svc = http_support::serve(super::app(allow)).await;

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
}
