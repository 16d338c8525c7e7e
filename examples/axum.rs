//! An axum API that continues the browser's trace.
//!
//! ```text
//! cargo run --example axum            # serves http://127.0.0.1:3000 until Ctrl-C
//! cargo run --example axum -- --once  # one self-request, then exit
//! ```
//!
//! On start it calls itself like a browser would (with a `traceparent` and an
//! `Origin`), prints the response headers and the exported server span, then
//! keeps serving: try
//! `curl -i -H 'traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' http://127.0.0.1:3000/api/data`.

use std::net::SocketAddr;

use axum::{Extension, Router, routing::get};
use http::{HeaderValue, Method, header::CONTENT_TYPE};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tower_http::cors::CorsLayer;
use tower_trace_context::server::{RequestTrace, TraceContextLayer};
use tower_trace_context::{TRACE_CONTEXT_HEADERS, TRACEPARENT};

#[path = "support/print_exporter.rs"]
mod print_exporter;

const FRONTEND: &str = "http://localhost:8080";

async fn data(Extension(trace): Extension<RequestTrace>) -> String {
    tracing::info!("handling /api/data");
    match trace.traceparent() {
        Some(tp) => format!(
            "{{\"trace_id\":\"{}\",\"server_span\":\"{}\"}}\n",
            tp.trace_id(),
            tp.parent_id()
        ),
        None => "{}\n".to_owned(),
    }
}

fn app() -> Router {
    let cors = CorsLayer::new()
        .allow_origin(HeaderValue::from_static(FRONTEND))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            CONTENT_TYPE,
            TRACE_CONTEXT_HEADERS[0].clone(),
            TRACE_CONTEXT_HEADERS[1].clone(),
        ]);
    Router::new()
        .route("/api/data", get(data))
        .layer(cors) // inner: answers preflights
        .layer(TraceContextLayer::new()) // outer: sees every response, CORS ones too
}

async fn call_self(addr: SocketAddr) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let req = http::Request::get(format!("http://{addr}/api/data"))
        .header(
            TRACEPARENT,
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .header("origin", FRONTEND)
        .body(Empty::new())
        .expect("valid request");
    let res = client.request(req).await.expect("server answers");
    println!("GET /api/data -> {}", res.status());
    for (name, value) in res.headers() {
        println!("  {name}: {}", value.to_str().unwrap_or("<binary>"));
    }
    let body = res.into_body().collect().await.expect("body").to_bytes();
    print!("  body: {}", String::from_utf8_lossy(&body));
}

#[tokio::main]
async fn main() {
    let provider = print_exporter::install();
    let once = std::env::args().any(|a| a == "--once");
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(if once { 0 } else { 3000 });
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("port is free");
    let addr = listener.local_addr().expect("bound");
    println!("serving on http://{addr}");
    let server = tokio::spawn(async move {
        axum::serve(listener, app())
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
    });
    call_self(addr).await;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    if !once {
        println!("Ctrl-C to stop");
        let _ = server.await;
    }
    let _ = provider.shutdown();
}
