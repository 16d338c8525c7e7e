//! A plain hyper 1 server (no axum) with the server layer, through a tower
//! `ServiceBuilder` and hyper-util's `TowerToHyperService`, called by
//! hyper-util's client through the client layer.
//!
//! ```text
//! cargo run --example hyper            # serves http://127.0.0.1:3001 until Ctrl-C
//! cargo run --example hyper -- --once  # one self-request, then exit
//! ```

use std::convert::Infallible;

use http::{Request, Response};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Bytes, Incoming};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use tower::{ServiceBuilder, ServiceExt};
use tower_trace_context::client::Allowlist;
use tower_trace_context::client::PropagateLayer;
use tower_trace_context::server::{RequestTrace, TraceContextLayer};
use tracing::Instrument;

#[path = "support/print_exporter.rs"]
mod print_exporter;

async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let trace = req
        .extensions()
        .get::<RequestTrace>()
        .and_then(RequestTrace::traceparent);
    let body = match trace {
        Some(tp) => format!("trace {} server span {}\n", tp.trace_id(), tp.parent_id()),
        None => "no trace\n".to_owned(),
    };
    Ok(Response::new(Full::new(Bytes::from(body))))
}

#[tokio::main]
async fn main() {
    let provider = print_exporter::install();
    let once = std::env::args().any(|a| a == "--once");
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(if once { 0 } else { 3001 });
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("port is free");
    let addr = listener.local_addr().expect("bound");
    println!("serving on http://{addr}");

    let service = ServiceBuilder::new()
        .layer(TraceContextLayer::new())
        .service_fn(handle);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let service = TowerToHyperService::new(service.clone());
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });

    // The hyper-util client through the client layer: only this server is
    // allowlisted, and the request is made inside a "job" span, so the server
    // span continues the job's trace through the client span.
    let allow = Allowlist::builder()
        .origin(format!("http://{addr}"))
        .build()
        .expect("valid allowlist");
    let client = ServiceBuilder::new()
        .layer(PropagateLayer::new(allow))
        .service(Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>());
    let req = Request::get(format!("http://{addr}/"))
        .body(Empty::new())
        .expect("valid request");
    let res = client
        .oneshot(req)
        .instrument(tracing::info_span!("job"))
        .await
        .expect("server answers");
    println!("GET / -> {}", res.status());
    if let Some(timing) = res.headers().get("server-timing") {
        println!("  server-timing: {}", timing.to_str().unwrap_or("?"));
    }
    let body = res.into_body().collect().await.expect("body").to_bytes();
    print!("  body: {}", String::from_utf8_lossy(&body));
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    if !once {
        println!("Ctrl-C to stop");
        let _ = tokio::signal::ctrl_c().await;
    }
    let _ = provider.shutdown();
}
