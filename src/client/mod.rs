//! The client layer: inject trace context into outgoing requests, but only
//! to URLs on an [`Allowlist`].
//!
//! Per request [`PropagateLayer`] opens a client span (`otel.kind = client`,
//! named after the method, with `http.request.method`, `server.address`,
//! `server.port`, `url.full` without userinfo, the response status, and
//! `otel.status_code = ERROR` on 4xx, 5xx or a transport error) as a child of the
//! current span, and, when the URL is allowed, writes the span's
//! `traceparent` (and the `tracestate` it carries, unchanged unless the SDK
//! changed it), the W3C `baggage` of the context (see
//! [`PropagateLayer::baggage`]) and, with feature `sentry` and
//! `PropagateLayer::sentry`, `sentry-trace`. Requests to other URLs
//! get no trace headers: `traceparent`,
//! `tracestate`, `baggage` and `sentry-trace` set by hand are removed too
//! (turn that off with [`PropagateLayer::strip_manual_headers`]), and a
//! `DEBUG` event says why nothing was injected. A request whose URI has no
//! scheme and host (path-only, as a tonic `Channel` passes its layers) can
//! match no rule; the layer logs one `WARN` per process when it sees one,
//! unless [`PropagateLayer::origin`] names where such requests go.
//!
//! A gRPC call (`content-type: application/grpc*`) gets a gRPC client span
//! instead: named `{package.Service}/{Method}`, with the `rpc.*` attributes
//! and its status from `grpc-status` (see [`ClientRequest::default_span`]).
//! Over `http::Response<B>` the client span lasts until the response body
//! ends ([`ResponseBody`]); [`PropagateLayer::make_span`] replaces it.
//!
//! The layer judges the URL it sees, so it must be innermost: redirect,
//! retry and failover layers that rewrite the URL go outside it (each
//! attempt is then judged again). reqwest follows redirects inside its
//! `Client`, where no layer sees them: build it with
//! [`PropagateLayer::redirect_policy`], which does not follow a redirect
//! carrying trace headers to a URL the allowlist denies. A response whose
//! final URL (see [`OutgoingResponse::final_url`]) is denied after trace
//! headers went out is reported with one `WARN` per process. Over a tonic
//! `Channel`, set [`PropagateLayer::origin_uri`] from the endpoint.
//!
//! [`PropagateLayer::span_path`] picks the span path as on the server
//! layer (see [Choosing a span path](crate::server#choosing-a-span-path)):
//! on [`SpanPath::OpenTelemetry`](crate::SpanPath::OpenTelemetry) the
//! client span is an OpenTelemetry span started under the current
//! OpenTelemetry context, with the same name, attributes and status, and
//! none of its attributes computed when it does not record. On both paths
//! the client span is never entered or made current.
//!
//! Without an OpenTelemetry layer the current OpenTelemetry context (for
//! example the incoming one the server layer made current) is passed on
//! unchanged.
//!
//! ```
//! use tower::ServiceBuilder;
//! use tower_trace_context::client::{Allowlist, PropagateLayer};
//!
//! let allow = Allowlist::builder()
//!     .origin("https://orders.internal:8443")
//!     .host_suffix(".svc.cluster.local")
//!     .build()?;
//! let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
//!     .build_http::<http_body_util::Empty<bytes::Bytes>>();
//! let client = ServiceBuilder::new().layer(PropagateLayer::new(allow)).service(client);
//! # let _ = client;
//! # Ok::<(), tower_trace_context::AllowlistError>(())
//! ```

mod allowlist;
mod body;
mod future;
mod layer;
#[cfg(feature = "reqwest-middleware")]
mod middleware;
mod propagate;
mod redirect;
mod request;
mod service;
mod span;

pub use allowlist::{Allowlist, AllowlistBuilder, MAX_REGEX_URL_LEN, Pattern, UrlParts};
pub use body::ResponseBody;
pub use future::ResponseFuture;
pub use layer::PropagateLayer;
#[cfg(feature = "reqwest-middleware")]
pub use middleware::PropagateMiddleware;
pub use request::{OutgoingRequest, OutgoingResponse};
pub use service::Propagate;
pub use span::{ClientRequest, ClientSpan, MakeSpan};
