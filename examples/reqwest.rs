//! Outgoing calls with reqwest: trace context goes to the allowlisted
//! service and nowhere else.
//!
//! ```text
//! cargo run --features reqwest-middleware --example reqwest
//! ```
//!
//! Starts two local servers, "orders" (allowlisted) and "payments" (a third
//! party), then calls both from inside a span, once through `PropagateLayer`
//! around `reqwest::Client` (a tower `Service`) and once through
//! `reqwest-middleware`. Each server prints the trace headers it received.

use std::convert::Infallible;
use std::net::SocketAddr;

use http::{Request, Response};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::TokioIo;
use tower::{ServiceBuilder, ServiceExt};
use tower_trace_context::client::Allowlist;
use tower_trace_context::client::{PropagateLayer, PropagateMiddleware};
use tracing::Instrument;

#[path = "support/print_exporter.rs"]
mod print_exporter;

/// A server that prints the trace headers of each request.
async fn server(name: &'static str) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("bound");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let svc = hyper::service::service_fn(move |req: Request<Incoming>| async move {
                let get = |h: &str| {
                    req.headers()
                        .get(h)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-")
                        .to_owned()
                };
                println!(
                    "{name:>8} got traceparent={} tracestate={}",
                    get("traceparent"),
                    get("tracestate")
                );
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc),
            );
        }
    });
    addr
}

#[tokio::main]
async fn main() {
    let provider = print_exporter::install();
    let orders = server("orders").await;
    let payments = server("payments").await;
    let allow = Allowlist::builder()
        .origin(format!("http://{orders}"))
        .build()
        .expect("valid allowlist");

    // reqwest follows redirects inside its Client: the layer's policy keeps
    // trace headers from following one to a URL the allowlist denies.
    let layer = PropagateLayer::new(allow);
    let http = reqwest::Client::builder()
        .redirect(layer.redirect_policy())
        .build()
        .expect("client");
    // reqwest's Client is a tower Service: wrap it with the layer.
    let client = ServiceBuilder::new()
        .layer(layer.clone())
        .service(http.clone());
    // Or, with reqwest-middleware (the propagating middleware innermost):
    let mw_client = reqwest_middleware::ClientBuilder::new(http)
        .with(PropagateMiddleware::new(layer))
        .build();

    async {
        for addr in [orders, payments] {
            let req = reqwest::Request::new(
                reqwest::Method::GET,
                format!("http://{addr}/").parse().expect("url"),
            );
            let res = client.clone().oneshot(req).await.expect("request");
            assert!(res.status().is_success());
        }
        for addr in [orders, payments] {
            mw_client
                .get(format!("http://{addr}/"))
                .send()
                .await
                .expect("request");
        }
    }
    .instrument(tracing::info_span!("checkout"))
    .await;
    let _ = provider.shutdown();
}
