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
