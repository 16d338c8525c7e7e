//! tonic over real TCP with the real SDK: a tonic server with the server
//! layer (per service, through `NamedService`) and tonic channels with the
//! client layer. Unary OK / NOT_FOUND / INTERNAL, a server stream that fails
//! in its trailers after 300 ms, a client stream, allowlisted and
//! non-allowlisted channels, and grpc-web (tonic-web) behind tower-http's
//! `CorsLayer`, preflight and call.

use crate::support::otel;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::uri::Scheme;
use http_body_util::{BodyExt, Full};
use opentelemetry::Value;
use opentelemetry::trace::{SpanId, SpanKind, Status as SpanStatus};
use opentelemetry_sdk::trace::SpanData;
use tonic::codegen::tokio_stream::{self, Stream};
use tonic::transport::{Channel, Server};
use tonic::{Code, Request, Response, Status, Streaming};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};
use tower::ServiceBuilder;
use tower_layer::Layer;
use tower_trace_context::client::{Allowlist, PropagateLayer};
use tower_trace_context::server::TraceContextLayer;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const TP: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// `traceparent`s the services saw (`None`: none came).
type Seen = Arc<Mutex<Vec<Option<String>>>>;

/// A health service by the real generated trait: `""` is SERVING,
/// `"internal"` fails with INTERNAL, anything else is NOT_FOUND (as
/// tonic-health's own service answers an unknown name). `Watch` streams one
/// message, works for 300 ms, then fails with INTERNAL in the trailers.
#[derive(Clone, Default)]
struct TestHealth {
    seen: Seen,
}

impl TestHealth {
    fn saw<T>(&self, req: &Request<T>) {
        let tp = req.metadata().get("traceparent");
        let tp = tp.map(|v| v.to_str().unwrap().to_owned());
        self.seen.lock().unwrap().push(tp);
    }
}

#[tonic::async_trait]
impl Health for TestHealth {
    async fn check(
        &self,
        req: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        self.saw(&req);
        // Work inside the handler.
        tracing::info_span!("lookup").in_scope(|| {});
        match req.into_inner().service.as_str() {
            "" => Ok(Response::new(HealthCheckResponse {
                status: ServingStatus::Serving as i32,
            })),
            "internal" => Err(Status::internal("db down: retry")),
            _ => Err(Status::not_found("unknown service")),
        }
    }

    type WatchStream = SlowWatch;

    async fn watch(&self, req: Request<HealthCheckRequest>) -> Result<Response<SlowWatch>, Status> {
        self.saw(&req);
        Ok(Response::new(SlowWatch {
            step: 0,
            sleep: Box::pin(tokio::time::sleep(Duration::from_millis(300))),
        }))
    }
}

/// One message, 300 ms of work (a span made while the stream is polled),
/// then INTERNAL.
struct SlowWatch {
    step: u8,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl Stream for SlowWatch {
    type Item = Result<HealthCheckResponse, Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.step {
            0 => {
                self.step = 1;
                Poll::Ready(Some(Ok(HealthCheckResponse {
                    status: ServingStatus::Serving as i32,
                })))
            }
            1 => {
                if self.sleep.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                self.step = 2;
                tracing::info_span!("inside the stream").in_scope(|| {});
                Poll::Ready(Some(Err(Status::internal("feed lost"))))
            }
            _ => Poll::Ready(None),
        }
    }
}

/// A client-streaming method, `test.Collector/Collect`, written against
/// tonic's server API (no generated code): counts the requests it gets.
#[derive(Clone, Default)]
struct Collector {
    seen: Seen,
}

impl tonic::server::NamedService for Collector {
    const NAME: &'static str = "test.Collector";
}

impl tower_service::Service<http::Request<tonic::body::Body>> for Collector {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        let seen = self.seen.clone();
        Box::pin(async move {
            let count = tower::service_fn(move |req: Request<Streaming<HealthCheckRequest>>| {
                let seen = seen.clone();
                async move {
                    let tp = req.metadata().get("traceparent");
                    seen.lock()
                        .unwrap()
                        .push(tp.map(|v| v.to_str().unwrap().to_owned()));
                    let mut stream = req.into_inner();
                    let mut n = 0;
                    while stream.message().await?.is_some() {
                        n += 1;
                    }
                    tracing::info_span!("collected", n).in_scope(|| {});
                    Ok::<_, Status>(Response::new(HealthCheckResponse { status: n }))
                }
            });
            let codec =
                tonic_prost::ProstCodec::<HealthCheckResponse, HealthCheckRequest>::default();
            Ok(tonic::server::Grpc::new(codec)
                .client_streaming(count, req)
                .await)
        })
    }
}

/// A tonic server on 127.0.0.1 with the server layer on each service.
async fn serve(health: TestHealth, collector: Collector) -> SocketAddr {
    serve_with(TraceContextLayer::new(), health, collector).await
}

/// [`serve`] with this server layer.
async fn serve_with(
    layer: TraceContextLayer,
    health: TestHealth,
    collector: Collector,
) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = Server::builder()
        .add_service(layer.layer(HealthServer::new(health)))
        .add_service(layer.layer(collector));
    tokio::spawn(async move {
        router
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
            .await
            .unwrap();
    });
    addr
}

async fn connect(addr: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

fn attr(span: &SpanData, key: &str) -> Option<Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.clone())
}

fn server_span<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans
        .iter()
        .find(|s| s.name == name && s.span_kind == SpanKind::Server)
        .unwrap_or_else(|| panic!("no server span {name}: {spans:#?}"))
}

fn find_client_span<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans
        .iter()
        .find(|s| s.name == name && s.span_kind == SpanKind::Client)
        .unwrap_or_else(|| panic!("no client span {name}: {spans:#?}"))
}

fn with_traceparent<T>(message: T) -> Request<T> {
    let mut req = Request::new(message);
    req.metadata_mut()
        .insert("traceparent", TP.parse().unwrap());
    req
}

#[tokio::test]
async fn unary_calls_get_grpc_spans_and_statuses() {
    for path in otel::PATHS {
        println!("span path: {path:?}");
        let otel = otel::install();
        let layer = otel.on(path, TraceContextLayer::new());
        let addr = serve_with(layer, TestHealth::default(), Collector::default()).await;
        let mut client = HealthClient::new(connect(addr).await);

        // (service asked for, gRPC code, server span an error, description)
        for (service, code, error, description) in [
            ("", Code::Ok, false, ""),
            ("missing", Code::NotFound, false, ""),
            ("internal", Code::Internal, true, "db down: retry"),
        ] {
            otel.exporter.reset();
            let result = client
                .check(with_traceparent(HealthCheckRequest {
                    service: service.into(),
                }))
                .await;
            assert_eq!(result.err().map_or(Code::Ok, |s| s.code()), code);
            let spans = otel.spans(2).await;
            let server = server_span(&spans, "grpc.health.v1.Health/Check");
            assert_eq!(server.span_context.trace_id(), otel::trace_id(TRACE));
            assert_eq!(
                server.parent_span_id,
                SpanId::from_hex("00f067aa0ba902b7").unwrap()
            );
            assert_eq!(attr(server, "rpc.system"), Some(Value::from("grpc")));
            assert_eq!(attr(server, "rpc.system.name"), Some(Value::from("grpc")));
            assert_eq!(
                attr(server, "rpc.service"),
                Some(Value::from("grpc.health.v1.Health"))
            );
            assert_eq!(attr(server, "rpc.method"), Some(Value::from("Check")));
            assert_eq!(
                attr(server, "server.address"),
                Some(Value::from("127.0.0.1"))
            );
            // The peer, from tonic's `TcpConnectInfo`.
            assert_eq!(
                attr(server, "client.address"),
                Some(Value::from("127.0.0.1"))
            );
            assert!(matches!(
                attr(server, "network.peer.port"),
                Some(Value::I64(port)) if port > 0
            ));
            assert_eq!(
                attr(server, "server.port"),
                Some(Value::I64(i64::from(addr.port())))
            );
            assert_eq!(
                attr(server, "rpc.grpc.status_code"),
                Some(Value::I64(code as i64)),
                "{service}"
            );
            let name = match code {
                Code::Ok => "OK",
                Code::NotFound => "NOT_FOUND",
                _ => "INTERNAL",
            };
            assert_eq!(
                attr(server, "rpc.response.status_code"),
                Some(Value::from(name))
            );
            match error {
                true => {
                    assert_eq!(
                        server.status,
                        SpanStatus::Error {
                            description: description.to_owned().into()
                        }
                    );
                    assert_eq!(attr(server, "error.type"), Some(Value::from(name)));
                }
                false => {
                    assert_eq!(server.status, SpanStatus::Unset, "{service}");
                    assert_eq!(attr(server, "error.type"), None);
                }
            }
            let lookup = spans.iter().find(|s| s.name == "lookup").unwrap();
            assert_eq!(lookup.parent_span_id, server.span_context.span_id());
        }
    }
}

#[tokio::test]
async fn a_server_stream_failing_in_its_trailers_is_one_span() {
    for path in otel::PATHS {
        println!("span path: {path:?}");
        let otel = otel::install();
        let layer = otel.on(path, TraceContextLayer::new());
        let addr = serve_with(layer, TestHealth::default(), Collector::default()).await;
        let mut client = HealthClient::new(connect(addr).await);
        let mut stream = client
            .watch(with_traceparent(HealthCheckRequest::default()))
            .await
            .unwrap()
            .into_inner();
        assert!(stream.message().await.unwrap().is_some());
        let status = stream.message().await.unwrap_err();
        assert_eq!(status.code(), Code::Internal);

        let spans = otel.spans(2).await;
        let server = server_span(&spans, "grpc.health.v1.Health/Watch");
        let inside = spans
            .iter()
            .find(|s| s.name == "inside the stream")
            .unwrap();
        assert_eq!(inside.parent_span_id, server.span_context.span_id());
        assert_eq!(inside.span_context.trace_id(), otel::trace_id(TRACE));
        let lasted = server.end_time.duration_since(server.start_time).unwrap();
        assert!(lasted >= Duration::from_millis(300), "{lasted:?}");
        assert_eq!(attr(server, "rpc.grpc.status_code"), Some(Value::I64(13)));
        assert_eq!(
            server.status,
            SpanStatus::Error {
                description: "feed lost".into()
            }
        );
    }
}

/// The client layer around a channel: allowlisted, the client span is the
/// server span's parent; not allowlisted, nothing is sent, not even a
/// `traceparent` set by hand.
#[tokio::test]
async fn channels_propagate_only_when_allowlisted() {
    for path in otel::PATHS {
        println!("span path: {path:?}");
        let otel = otel::install();
        let health = TestHealth::default();
        let layer = otel.on(path, TraceContextLayer::new());
        let addr = serve_with(layer, health.clone(), Collector::default()).await;
        let channel = connect(addr).await;
        let authority: http::uri::Authority = addr.to_string().parse().unwrap();
        let allowed = otel
            .on_client(
                path,
                PropagateLayer::new(Allowlist::builder().host("127.0.0.1").build().unwrap()),
            )
            .origin(Scheme::HTTP, authority.clone());
        let refused = PropagateLayer::new(
            Allowlist::builder()
                .host("orders.internal")
                .build()
                .unwrap(),
        )
        .origin(Scheme::HTTP, authority);

        // Allowlisted: unary NOT_FOUND, a client stream, and a server stream
        // failing in its trailers.
        let mut client = HealthClient::new(
            ServiceBuilder::new()
                .layer(allowed.clone())
                .service(channel.clone()),
        );
        let job = tracing::info_span!("job");
        let status = tracing::Instrument::instrument(
            client.check(HealthCheckRequest {
                service: "missing".into(),
            }),
            job.clone(),
        )
        .await
        .unwrap_err();
        assert_eq!(status.code(), Code::NotFound);
        drop(job);
        let spans = otel.spans(3).await;
        let job = spans.iter().find(|s| s.name == "job").unwrap();
        let client_span = find_client_span(&spans, "grpc.health.v1.Health/Check");
        let server = server_span(&spans, "grpc.health.v1.Health/Check");
        assert_eq!(client_span.parent_span_id, job.span_context.span_id());
        assert_eq!(server.parent_span_id, client_span.span_context.span_id());
        assert_eq!(server.span_context.trace_id(), job.span_context.trace_id());
        assert_eq!(attr(client_span, "rpc.system"), Some(Value::from("grpc")));
        assert_eq!(attr(client_span, "rpc.method"), Some(Value::from("Check")));
        assert_eq!(
            attr(client_span, "server.address"),
            Some(Value::from("127.0.0.1"))
        );
        assert_eq!(
            attr(client_span, "rpc.grpc.status_code"),
            Some(Value::I64(5))
        );
        // On a client span every code but OK is an error; the server's
        // NOT_FOUND is the caller's doing.
        assert_eq!(
            client_span.status,
            SpanStatus::Error {
                description: "unknown service".into()
            }
        );
        assert_eq!(server.status, SpanStatus::Unset);

        otel.exporter.reset();
        let mut collect = tonic::client::Grpc::new(
            ServiceBuilder::new()
                .layer(allowed.clone())
                .service(channel.clone()),
        );
        collect.ready().await.unwrap();
        let messages = tokio_stream::iter(vec![HealthCheckRequest::default(); 3]);
        let counted = collect
            .client_streaming(
                Request::new(messages),
                http::uri::PathAndQuery::from_static("/test.Collector/Collect"),
                tonic_prost::ProstCodec::<HealthCheckRequest, HealthCheckResponse>::default(),
            )
            .await
            .unwrap();
        assert_eq!(counted.into_inner().status, 3);
        let spans = otel.spans(3).await;
        let client_span = find_client_span(&spans, "test.Collector/Collect");
        let server = server_span(&spans, "test.Collector/Collect");
        assert_eq!(server.parent_span_id, client_span.span_context.span_id());
        assert_eq!(
            attr(client_span, "rpc.grpc.status_code"),
            Some(Value::I64(0))
        );
        assert_eq!(client_span.status, SpanStatus::Unset);
        let collected = spans.iter().find(|s| s.name == "collected").unwrap();
        assert_eq!(collected.parent_span_id, server.span_context.span_id());

        otel.exporter.reset();
        let mut stream = client
            .watch(HealthCheckRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert!(stream.message().await.unwrap().is_some());
        assert_eq!(stream.message().await.unwrap_err().code(), Code::Internal);
        drop(stream);
        let spans = otel.spans(3).await;
        let client_span = find_client_span(&spans, "grpc.health.v1.Health/Watch");
        let lasted = client_span
            .end_time
            .duration_since(client_span.start_time)
            .unwrap();
        assert!(lasted >= Duration::from_millis(300), "{lasted:?}");
        assert_eq!(
            attr(client_span, "rpc.grpc.status_code"),
            Some(Value::I64(13))
        );
        assert_eq!(
            server_span(&spans, "grpc.health.v1.Health/Watch").parent_span_id,
            client_span.span_context.span_id()
        );

        // Not allowlisted: a hand-set traceparent is removed, no client span
        // context reaches the server, which starts its own trace.
        otel.exporter.reset();
        health.seen.lock().unwrap().clear();
        let mut client = HealthClient::new(ServiceBuilder::new().layer(refused).service(channel));
        client
            .check(with_traceparent(HealthCheckRequest::default()))
            .await
            .unwrap();
        assert_eq!(*health.seen.lock().unwrap(), vec![None]);
        let spans = otel.spans(2).await;
        let server = server_span(&spans, "grpc.health.v1.Health/Check");
        assert_eq!(server.parent_span_id, SpanId::INVALID);
        assert_ne!(server.span_context.trace_id(), otel::trace_id(TRACE));
    }
}

/// A tonic client's `with_origin` names a host the `Channel` never goes to:
/// tonic's `AddOrigin` sends the call to the channel's endpoint. With the
/// layer's origin taken from that endpoint (`origin_uri`), such an absolute
/// URI is judged as going elsewhere and gets no trace headers, although its
/// host is allowlisted; path-only calls to the endpoint are judged as
/// `http://127.0.0.1:port/...`.
#[tokio::test]
async fn with_origin_over_a_channel_to_another_endpoint_gets_no_trace_headers() {
    let otel = otel::install();
    let health = TestHealth::default();
    let addr = serve(health.clone(), Collector::default()).await;
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{addr}")).unwrap();
    let channel = endpoint.connect().await.unwrap();
    let orders = Allowlist::builder()
        .host("orders.internal")
        .build()
        .unwrap();

    // Without an origin the layer can only judge the URI tonic wrote (hence
    // `origin_uri` for channels).
    let mut client = HealthClient::with_origin(
        ServiceBuilder::new()
            .layer(PropagateLayer::new(orders.clone()))
            .service(channel.clone()),
        "http://orders.internal:50051".parse().unwrap(),
    );
    client.check(HealthCheckRequest::default()).await.unwrap();
    assert!(health.seen.lock().unwrap()[0].is_some(), "the old leak");
    health.seen.lock().unwrap().clear();

    // With the endpoint's origin: nothing is sent, hand-set headers are
    // stripped.
    let layer = PropagateLayer::new(orders)
        .origin_uri(endpoint.uri())
        .unwrap();
    let mut client = HealthClient::with_origin(
        ServiceBuilder::new().layer(layer).service(channel.clone()),
        "http://orders.internal:50051".parse().unwrap(),
    );
    client
        .check(with_traceparent(HealthCheckRequest::default()))
        .await
        .unwrap();
    assert_eq!(*health.seen.lock().unwrap(), vec![None]);
    health.seen.lock().unwrap().clear();

    // An allowlisted endpoint: path-only calls, and `with_origin` naming
    // the endpoint itself, carry the client span's traceparent.
    otel.exporter.reset();
    let layer = PropagateLayer::new(
        Allowlist::builder()
            .origin(format!("http://{addr}"))
            .build()
            .unwrap(),
    )
    .origin_uri(endpoint.uri())
    .unwrap();
    let svc = ServiceBuilder::new().layer(layer).service(channel);
    HealthClient::new(svc.clone())
        .check(HealthCheckRequest::default())
        .await
        .unwrap();
    HealthClient::with_origin(svc, endpoint.uri().clone())
        .check(HealthCheckRequest::default())
        .await
        .unwrap();
    let seen = health.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    let spans = otel.spans(4).await;
    for tp in seen {
        let tp = tp.expect("traceparent sent to the allowlisted endpoint");
        let parent = tp.split('-').nth(2).unwrap().to_owned();
        assert!(
            spans.iter().any(|s| s.span_kind == SpanKind::Client
                && s.span_context.span_id().to_string() == parent),
            "{tp} is not a client span's"
        );
    }
}

/// grpc-web as a browser sends it, through tonic-web's `GrpcWebLayer`
/// behind tower-http's `CorsLayer` (configured as tonic-web documents), with
/// the server layer outside: the preflight allows the trace headers next to
/// grpc-web's own, and the call continues the trace and exposes
/// `server-timing` next to `grpc-status` / `grpc-message`.
#[tokio::test]
async fn grpc_web_behind_cors_layer() {
    for path in otel::PATHS {
        println!("span path: {path:?}");
        use http::header::{self, HeaderName};
        use tower_http::cors::{AllowOrigin, CorsLayer};

        let otel = otel::install();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cors = CorsLayer::new()
            .allow_origin(AllowOrigin::exact("http://app.test".parse().unwrap()))
            .allow_methods([http::Method::POST])
            .allow_headers([
                header::CONTENT_TYPE,
                HeaderName::from_static("x-grpc-web"),
                HeaderName::from_static("x-user-agent"),
            ])
            .expose_headers([
                HeaderName::from_static("grpc-status"),
                HeaderName::from_static("grpc-message"),
            ]);
        let router = Server::builder()
            .accept_http1(true)
            .layer(otel.on(path, TraceContextLayer::new()))
            .layer(cors)
            .layer(tonic_web::GrpcWebLayer::new())
            .add_service(HealthServer::new(TestHealth::default()));
        tokio::spawn(async move {
            router
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
                .await
                .unwrap();
        });
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http::<Full<Bytes>>();
        let url = format!("http://{addr}/grpc.health.v1.Health/Check");

        let preflight = http::Request::options(&url)
            .header("origin", "http://app.test")
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type,traceparent,tracestate,x-grpc-web,x-user-agent",
            )
            .body(Full::default())
            .unwrap();
        let res = client.request(preflight).await.unwrap();
        assert!(res.status().is_success(), "{res:?}");
        // One list, over however many field lines.
        let allowed: Vec<String> = res
            .headers()
            .get_all("access-control-allow-headers")
            .iter()
            .flat_map(|v| v.to_str().unwrap().split(','))
            .map(|h| h.trim().to_ascii_lowercase())
            .collect();
        for name in [
            "content-type",
            "x-grpc-web",
            "x-user-agent",
            "traceparent",
            "tracestate",
        ] {
            assert!(allowed.iter().any(|h| h == name), "{name} in {allowed:?}");
        }

        // An empty HealthCheckRequest in one grpc-web frame.
        let call = http::Request::post(&url)
            .header("origin", "http://app.test")
            .header("content-type", "application/grpc-web+proto")
            .header("x-grpc-web", "1")
            .header("traceparent", TP)
            .body(Full::new(Bytes::from_static(&[0, 0, 0, 0, 0])))
            .unwrap();
        let res = client.request(call).await.unwrap();
        assert_eq!(res.status(), 200);
        let headers = res.headers().clone();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        // The trailer frame (flag 0x80) says OK.
        let trailer = body.iter().position(|&b| b == 0x80).expect("trailer frame");
        assert!(
            String::from_utf8_lossy(&body[trailer + 5..]).contains("grpc-status:0"),
            "{body:?}"
        );
        let timing: Vec<_> = headers
            .get_all("server-timing")
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert!(
            timing
                .iter()
                .any(|t| t.starts_with("traceparent;desc=\"00-4bf92f3577b34da6a3ce929d0e0e4736-")),
            "{timing:?}"
        );
        let exposed: Vec<String> = headers
            .get_all("access-control-expose-headers")
            .iter()
            .flat_map(|v| v.to_str().unwrap().split(','))
            .map(|h| h.trim().to_ascii_lowercase())
            .collect();
        for name in ["grpc-status", "grpc-message", "server-timing"] {
            assert!(exposed.iter().any(|h| h == name), "{name} in {exposed:?}");
        }
        assert_eq!(headers["access-control-allow-origin"], "http://app.test");

        let spans = otel.spans(2).await;
        let server = server_span(&spans, "grpc.health.v1.Health/Check");
        assert_eq!(server.span_context.trace_id(), otel::trace_id(TRACE));
        assert_eq!(attr(server, "rpc.grpc.status_code"), Some(Value::I64(0)));

        // A Rust grpc-web client through the client layer: its span reads the
        // status from the trailer frame too (OK here; the server's INTERNAL
        // comes trailers-only, in the head).
        for (service, code) in [("", 0), ("internal", 13)] {
            otel.exporter.reset();
            let message = HealthCheckRequest {
                service: service.into(),
            };
            let mut frame = vec![0];
            frame.extend_from_slice(&(prost_len(&message) as u32).to_be_bytes());
            frame.extend_from_slice(&prost_bytes(&message));
            let call = http::Request::post(&url)
                .header("content-type", "application/grpc-web+proto")
                .header("x-grpc-web", "1")
                .body(Full::new(Bytes::from(frame)))
                .unwrap();
            let traced = ServiceBuilder::new()
                .layer(otel.on_client(
                    path,
                    PropagateLayer::new(Allowlist::builder().host("127.0.0.1").build().unwrap()),
                ))
                .service(client.clone());
            let res = tower::ServiceExt::oneshot(traced, call).await.unwrap();
            assert_eq!(res.status(), 200);
            let _ = res.into_body().collect().await.unwrap();
            let spans = otel.spans(2).await;
            let client_span = find_client_span(&spans, "grpc.health.v1.Health/Check");
            let server = server_span(&spans, "grpc.health.v1.Health/Check");
            assert_eq!(server.parent_span_id, client_span.span_context.span_id());
            assert_eq!(
                attr(client_span, "rpc.grpc.status_code"),
                Some(Value::I64(code)),
                "{service:?}"
            );
            match code {
                0 => assert_eq!(client_span.status, SpanStatus::Unset),
                _ => assert!(matches!(client_span.status, SpanStatus::Error { .. })),
            }
        }
    }
}

fn prost_len(message: &HealthCheckRequest) -> usize {
    prost::Message::encoded_len(message)
}

fn prost_bytes(message: &HealthCheckRequest) -> Vec<u8> {
    prost::Message::encode_to_vec(message)
}
