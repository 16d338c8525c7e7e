//! The service shape the propagation tests drive over TCP: server layer ->
//! handler -> client layer (hyper-util) -> a recording server.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::Extension;
use axum::routing::get;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tower::{Service, ServiceBuilder, ServiceExt};
use tower_trace_context::client::Allowlist;
use tower_trace_context::client::PropagateLayer;
use tower_trace_context::server::{RequestTrace, TraceContextLayer};

/// Serves `/api` behind `layer`: the handler calls `recorder` through the
/// client layer (the recorder allowlisted), then answers with
/// `answer(&RequestTrace)`.
pub async fn service(
    layer: TraceContextLayer,
    recorder: SocketAddr,
    answer: fn(&RequestTrace) -> String,
) -> SocketAddr {
    let allow = Allowlist::builder()
        .origin(format!("http://{recorder}"))
        .build()
        .unwrap();
    let client = ServiceBuilder::new()
        .layer(PropagateLayer::new(allow))
        .service(Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>());
    let handler = move |Extension(trace): Extension<RequestTrace>| {
        let mut client = client.clone();
        async move {
            let req = http::Request::get(format!("http://{recorder}/next"))
                .body(Empty::new())
                .unwrap();
            let res = client.ready().await.unwrap().call(req).await.unwrap();
            let _ = res.into_body().collect().await;
            answer(&trace)
        }
    };
    super::http_support::serve(Router::new().route("/api", get(handler)).layer(layer)).await
}
