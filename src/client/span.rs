//! The client span: what the default one carries, and the hook that
//! replaces it.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use http::{HeaderMap, Method};
use opentelemetry::{Context, KeyValue};
use tracing::Span;
use tracing::field::Empty;

use crate::client::UrlParts;
use crate::grpc::{self, Grpc};
use crate::span::Recorder;

/// What the client layer knows of an outgoing request when it makes the
/// client span: given to the hook set with
/// [`PropagateLayer::make_span`](crate::client::PropagateLayer::make_span).
#[derive(Clone, Copy, Debug)]
pub struct ClientRequest<'a> {
    method: &'a Method,
    url: UrlParts<'a>,
    headers: &'a HeaderMap,
    allowed: bool,
    /// The `content-type`'s kind of gRPC, found once.
    kind: Option<Grpc>,
}

impl<'a> ClientRequest<'a> {
    /// A request as the layer describes it (for testing a span hook).
    ///
    /// ```
    /// # use tower_trace_context::client::{ClientRequest, UrlParts};
    /// let uri: http::Uri = "https://api.example.com/v1/orders".parse()?;
    /// let headers = http::HeaderMap::new();
    /// let req = ClientRequest::new(&http::Method::GET, UrlParts::from_uri(&uri).unwrap(), &headers, true);
    /// assert_eq!(req.url().host(), "api.example.com");
    /// # Ok::<(), http::uri::InvalidUri>(())
    /// ```
    pub fn new(
        method: &'a Method,
        url: UrlParts<'a>,
        headers: &'a HeaderMap,
        allowed: bool,
    ) -> Self {
        Self::with_kind(method, url, headers, allowed, Grpc::of(headers))
    }

    /// [`new`](Self::new), the kind of gRPC already known.
    pub(crate) fn with_kind(
        method: &'a Method,
        url: UrlParts<'a>,
        headers: &'a HeaderMap,
        allowed: bool,
        kind: Option<Grpc>,
    ) -> Self {
        Self {
            method,
            url,
            headers,
            allowed,
            kind,
        }
    }

    /// The method.
    pub fn method(&self) -> &'a Method {
        self.method
    }

    /// The URL the request goes to (for a path-only URI, the origin set with
    /// [`PropagateLayer::origin`](crate::client::PropagateLayer::origin)
    /// plus the path).
    pub fn url(&self) -> UrlParts<'a> {
        self.url
    }

    /// The request headers, before the layer adds trace headers.
    pub fn headers(&self) -> &'a HeaderMap {
        self.headers
    }

    /// Whether the allowlist admits the URL, so the trace context will be
    /// sent.
    pub fn allowed(&self) -> bool {
        self.allowed
    }

    /// `(package.Service, Method)` when the request is a gRPC call
    /// (`content-type: application/grpc*` and a `/{package.Service}/{Method}`
    /// path).
    ///
    /// ```
    /// # use tower_trace_context::client::{ClientRequest, UrlParts};
    /// # let uri: http::Uri = "http://h/grpc.health.v1.Health/Check".parse().unwrap();
    /// # let mut headers = http::HeaderMap::new();
    /// # headers.insert("content-type", "application/grpc".parse().unwrap());
    /// # let req = ClientRequest::new(&http::Method::POST, UrlParts::from_uri(&uri).unwrap(), &headers, true);
    /// assert_eq!(req.grpc(), Some(("grpc.health.v1.Health", "Check")));
    /// ```
    pub fn grpc(&self) -> Option<(&'a str, &'a str)> {
        self.kind?;
        grpc::service_and_method(self.url.path())
    }

    /// The direct path's span name: the method, or `{package.Service}/{Method}`.
    pub(crate) fn span_name(&self) -> Cow<'static, str> {
        if self.grpc().is_some() {
            return Cow::Owned(grpc::span_name(self.url.path()).to_owned());
        }
        static_method(self.method)
    }

    /// The default span's attributes as OpenTelemetry key-values: all of
    /// them with `fields` (the direct path), or without the ones
    /// [`lean_span`](Self::lean_span) declares as fields.
    pub(crate) fn attributes(&self, fields: bool) -> Vec<KeyValue> {
        let mut out = Vec::with_capacity(6);
        match self.grpc() {
            Some((service, method)) => grpc::attributes(service, method, fields, &mut out),
            None => {
                if fields {
                    let method = static_method(self.method);
                    out.push(KeyValue::new("http.request.method", method));
                }
                out.push(KeyValue::new("url.full", self.url.to_string()));
            }
        }
        out.push(KeyValue::new("server.address", self.url.host().to_owned()));
        if let Some(port) = self.url.port_or_default() {
            out.push(KeyValue::new("server.port", i64::from(port)));
        }
        out
    }

    /// The layer's own default span (no hook): [`default_span`](Self::default_span)
    /// with only what `fmt` output needs as `tracing` fields (name, method;
    /// for gRPC `rpc.service`, `rpc.method`; the status fields). The layer
    /// writes the other attributes on its OpenTelemetry span in one batch,
    /// only when it records: tracing-opentelemetry copies every field into an
    /// owned `String` before the sampler decides.
    pub(crate) fn lean_span(&self) -> Span {
        if let Some((service, method)) = self.grpc() {
            let name = grpc::span_name(self.url.path());
            return grpc::grpc_span!("gRPC client request", "client", name, service, method);
        }
        let method = self.method.as_str();
        tracing::info_span!(
            "HTTP client request",
            otel.kind = "client",
            otel.name = method,
            http.request.method = method,
            http.response.status_code = Empty,
            otel.status_code = Empty,
            error.type = Empty,
        )
    }

    /// The default client span, at `INFO` (without a hook the layer makes
    /// the same span with only the name, method and status as `tracing`
    /// fields, what `fmt` output shows, and writes the other attributes to
    /// its OpenTelemetry span in one batch, only when it records):
    ///
    /// - HTTP: named after the method (`GET`), with `otel.kind = client`,
    ///   `http.request.method`, `server.address`, `server.port`, `url.full`
    ///   (no userinfo), and, recorded later, `http.response.status_code`,
    ///   `error.type` and `otel.status_code = ERROR` on a 4xx, 5xx or a transport
    ///   error (OpenTelemetry HTTP client conventions).
    /// - gRPC ([`grpc`](Self::grpc)): named `{package.Service}/{Method}`, with
    ///   `otel.kind = client`, `rpc.system` and `rpc.system.name = grpc`,
    ///   `rpc.service`, `rpc.method`, `server.address`, `server.port`, and,
    ///   recorded from `grpc-status` in the response head or trailers,
    ///   `rpc.grpc.status_code`, `rpc.response.status_code` (the code's name)
    ///   and, for every code but OK, `error.type` and the error status with the
    ///   `grpc-message` as description (OpenTelemetry gRPC conventions: on a
    ///   client span every non-OK code is an error). A non-200 response
    ///   without `grpc-status` is recorded as the code a gRPC client derives
    ///   from the HTTP status (404 UNIMPLEMENTED, 503 UNAVAILABLE, ...); a
    ///   body that ends without any is an error with `error.type = _OTHER`.
    ///
    /// A hook can start from it:
    ///
    /// ```
    /// # use tower_trace_context::client::{ClientRequest, UrlParts};
    /// # let uri: http::Uri = "http://h/".parse().unwrap();
    /// # let headers = http::HeaderMap::new();
    /// # let req = ClientRequest::new(&http::Method::GET, UrlParts::from_uri(&uri).unwrap(), &headers, true);
    /// let span = req.default_span();
    /// # assert!(span.is_disabled()); // no subscriber in this example
    /// ```
    pub fn default_span(&self) -> Span {
        if let Some((service, method)) = self.grpc() {
            let name = grpc::span_name(self.url.path());
            return grpc::grpc_span!(
                "gRPC client request",
                "client",
                name,
                service,
                method,
                rpc.system = "grpc",
                rpc.system.name = "grpc",
                server.address = self.url.host(),
                server.port = self.url.port_or_default().map(i64::from),
            );
        }
        let method = self.method.as_str();
        tracing::info_span!(
            "HTTP client request",
            otel.kind = "client",
            otel.name = method,
            http.request.method = method,
            server.address = self.url.host(),
            server.port = self.url.port_or_default().map(i64::from),
            url.full = %self.url,
            http.response.status_code = Empty,
            otel.status_code = Empty,
            error.type = Empty,
        )
    }
}

/// The client span of one request, handed to the response
/// ([`OutgoingResponse::traced`](crate::client::OutgoingResponse::traced)):
/// dropping it ends the span.
pub struct ClientSpan {
    /// The span and where its outcome goes.
    pub(crate) span: Recorder,
    /// A gRPC call: its status comes from `grpc-status`.
    pub(crate) grpc: bool,
    /// A `grpc-status` (or the HTTP status standing in for it) was recorded.
    pub(crate) status_seen: bool,
    /// Trace headers went out, under this allowlist: a response from
    /// another URL (a redirect the client followed) is checked against it.
    pub(crate) sent: Option<crate::client::Allowlist>,
}

impl ClientSpan {
    /// `otel`: the span's OpenTelemetry context, when it has one (the
    /// outcome is recorded on it directly).
    pub(crate) fn new(span: Span, otel: Option<Context>, grpc: bool) -> Self {
        Self {
            span: Recorder::tracing(span, otel),
            grpc,
            status_seen: false,
            sent: None,
        }
    }

    /// A client span on the direct path (`cx` holds it).
    pub(crate) fn direct(cx: Context, recording: bool, grpc: bool) -> Self {
        Self {
            span: Recorder::opentelemetry(cx, recording),
            grpc,
            status_seen: false,
            sent: None,
        }
    }

    /// The tracing span (disabled when the layer made none, and on the
    /// direct OpenTelemetry path).
    pub fn span(&self) -> &Span {
        self.span.span()
    }
}

impl fmt::Debug for ClientSpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientSpan")
            .field("span", self.span.span())
            .finish_non_exhaustive()
    }
}

/// A method's name, static for the ones the conventions know.
fn static_method(method: &Method) -> Cow<'static, str> {
    match crate::span::known_method(method.as_str()) {
        Some(known) => Cow::Borrowed(known),
        None => Cow::Owned(method.as_str().to_owned()),
    }
}

/// Creates the client span of a request, the client's counterpart of the
/// server's [`MakeSpan`](crate::server::MakeSpan); closures
/// `Fn(&ClientRequest<'_>) -> Span` implement it. See
/// [`PropagateLayer::make_span`](crate::client::PropagateLayer::make_span).
///
/// ```
/// use tower_trace_context::client::{ClientRequest, MakeSpan};
///
/// struct Named;
/// impl MakeSpan for Named {
///     fn make_span(&self, req: &ClientRequest<'_>) -> tracing::Span {
///         tracing::info_span!("call", otel.kind = "client", url = %req.url())
///     }
/// }
/// # let _ = Named;
/// ```
pub trait MakeSpan: Send + Sync + 'static {
    /// Makes the span for `request`.
    fn make_span(&self, request: &ClientRequest<'_>) -> Span;
}

impl<F> MakeSpan for F
where
    F: Fn(&ClientRequest<'_>) -> Span + Send + Sync + 'static,
{
    fn make_span(&self, request: &ClientRequest<'_>) -> Span {
        self(request)
    }
}

/// The span hook of a client configuration.
#[derive(Clone)]
pub(crate) struct MakeClientSpan(pub(crate) Arc<dyn MakeSpan>);

impl fmt::Debug for MakeClientSpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MakeClientSpan(..)")
    }
}
