//! Two tonic services in one trace.
//!
//! ```text
//! cargo run --features tonic --example tonic
//! ```
//!
//! `backend` is tonic-health's own health service; `gateway` answers the same
//! `grpc.health.v1.Health/Check` by asking `backend` through a tonic channel
//! wrapped in the client layer (the backend's address is allowlisted and
//! set as the channel's origin). Both servers carry the server layer. The
//! example makes one call to `gateway` from a `caller` span, through a channel
//! with the client layer, asks once more for an unknown service (NOT_FOUND)
//! and prints every exported span as it ends (trace id, span id, parent id,
//! kind, name): one trace id, caller -> client -> gateway server -> client ->
//! backend server, each named `grpc.health.v1.Health/Check`.

use std::net::SocketAddr;

use tonic::transport::{Channel, Server};
use tonic::{Request, Response, Status};
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};
use tower::ServiceBuilder;
use tower_layer::Layer;
use tower_trace_context::client::{Allowlist, Propagate, PropagateLayer};
use tower_trace_context::server::TraceContextLayer;

#[path = "support/print_exporter.rs"]
mod print_exporter;

/// A channel to `addr` whose calls carry the trace context (`addr` is the
/// only allowlisted target).
async fn traced_channel(
    addr: SocketAddr,
) -> Result<Propagate<Channel>, Box<dyn std::error::Error>> {
    let endpoint = Channel::from_shared(format!("http://{addr}"))?;
    let channel = endpoint.connect().await?;
    let allow = Allowlist::builder()
        .origin(format!("http://{addr}"))
        .build()?;
    // A tonic channel hands its layers path-only URIs and sends every call
    // to its endpoint: say where they go, from the endpoint itself.
    let layer = PropagateLayer::new(allow).origin_uri(endpoint.uri())?;
    Ok(ServiceBuilder::new().layer(layer).service(channel))
}

/// Answers a health check by asking the backend.
struct Gateway {
    backend: HealthClient<Propagate<Channel>>,
}

#[tonic::async_trait]
impl Health for Gateway {
    async fn check(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        tracing::info!("gateway: asking the backend");
        let mut backend = self.backend.clone();
        backend.check(request.into_inner()).await
    }

    type WatchStream = tonic::codegen::BoxStream<HealthCheckResponse>;

    async fn watch(
        &self,
        _request: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        Err(Status::unimplemented("watch the backend instead"))
    }
}

async fn serve(router: tonic::transport::server::Router) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let incoming = tonic::codegen::tokio_stream::wrappers::TcpListenerStream::new(listener);
    tokio::spawn(async move {
        if let Err(error) = router.serve_with_incoming(incoming).await {
            eprintln!("server stopped: {error}");
        }
    });
    Ok(addr)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let provider = print_exporter::install();
    let layer = TraceContextLayer::new();

    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("", tonic_health::ServingStatus::Serving)
        .await;
    let backend = serve(Server::builder().add_service(layer.layer(health))).await?;
    println!("backend on {backend}");

    let gateway = Gateway {
        backend: HealthClient::new(traced_channel(backend).await?),
    };
    let gateway =
        serve(Server::builder().add_service(layer.layer(HealthServer::new(gateway)))).await?;
    println!("gateway on {gateway}");

    let mut client = HealthClient::new(traced_channel(gateway).await?);
    let caller = tracing::info_span!("caller");
    println!("\ncheck \"\" (served):");
    let answer = tracing::Instrument::instrument(
        client.check(HealthCheckRequest {
            service: String::new(),
        }),
        caller.clone(),
    )
    .await?;
    println!("  answer: {:?}", answer.into_inner());
    println!("\ncheck \"orders\" (unknown):");
    let refused = tracing::Instrument::instrument(
        client.check(HealthCheckRequest {
            service: "orders".into(),
        }),
        caller.clone(),
    )
    .await;
    println!("  answer: {:?}", refused.map_err(|status| status.code()));
    drop(caller);
    // The `caller` span ends last; flush so every span is printed.
    provider.force_flush()?;
    println!("\nall spans above share the caller's trace id; each names its parent");
    Ok(())
}
