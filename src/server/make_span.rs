//! Creating the server span.

use std::borrow::Cow;

use http::{Request, Version};
use opentelemetry::KeyValue;
use tracing::Span;
use tracing::field::Empty;

use crate::grpc;
use crate::server::network::PeerAddr;
use crate::span::known_method;

/// Creates the server span of a request, like tower-http's `MakeSpan`.
///
/// The layer sets the span's OpenTelemetry parent after this returns and
/// before it is entered, so a custom span keeps the parent wiring. Declare
/// `http.response.status_code` and `otel.status_code` as `Empty` fields to
/// have the layer record them.
///
/// ```
/// use tower_trace_context::server::TraceContextLayer;
///
/// let layer = TraceContextLayer::new().make_span(|req: &http::Request<()>| {
///     tracing::info_span!(
///         "request",
///         otel.kind = "server",
///         otel.name = %req.method(),
///         http.response.status_code = tracing::field::Empty,
///     )
/// });
/// # let _ = layer;
/// ```
pub trait MakeSpan<B> {
    /// Makes the span for `request`.
    fn make_span(&mut self, request: &Request<B>) -> Span;

    /// Whether the layer adds the default span's OpenTelemetry-only
    /// attributes (`url.*`, `server.*`, `network.*`, `client.address`,
    /// `user_agent.original`, ...) to the span's OpenTelemetry span, in
    /// one batch and only when it records. `false` (the default) for a
    /// custom span, which carries the fields it declares.
    fn layer_attributes(&self) -> bool {
        false
    }
}

impl<B, F> MakeSpan<B> for F
where
    F: FnMut(&Request<B>) -> Span,
{
    fn make_span(&mut self, request: &Request<B>) -> Span {
        self(request)
    }
}

/// The default server span: `INFO` level, named `{method} {route}` (or
/// `{method}`; `HTTP` for a method the conventions do not know), with the
/// attributes of the OpenTelemetry HTTP server semantic conventions
/// (stable; checked against semantic conventions 1.42.0):
/// `otel.kind = server`, `http.request.method` (`_OTHER` for an unknown
/// method, with `http.request.method_original`), `url.path`, `url.query`
/// (values of `X-Amz-Signature`, `X-Amz-Credential`, `X-Amz-Security-Token`,
/// `sig` and `X-Goog-Signature` replaced by `REDACTED`), `url.scheme` when
/// the request URI carries it (HTTP/2, absolute-form; never guessed),
/// `http.route` when axum's `MatchedPath` is known (feature `axum`),
/// `server.address` / `server.port` from the URI authority or `Host`,
/// `network.protocol.version`, `client.address` and `network.peer.address` /
/// `.port` when the peer address is known ([`PeerAddr`], or axum's
/// `ConnectInfo`), `user_agent.original`, and, recorded when the response
/// head is ready, `http.response.status_code`, and on 5xx or an inner error
/// `error.type` (the status code, or the error's type name) with
/// `otel.status_code = ERROR`. Attributes without a value are left out. The
/// list of known methods (RFC 9110's, `PATCH`, `QUERY`) is fixed: use your
/// own [`MakeSpan`] for others.
///
/// Only `http.request.method`, `http.route` and the status fields (for gRPC:
/// `rpc.service`, `rpc.method` and the status fields) are `tracing` fields,
/// what `fmt` output shows: tracing-opentelemetry copies every field into
/// an owned `String` before the sampler decides. The layer writes the other
/// attributes on the OpenTelemetry span in one batch, and only when it
/// records ([`MakeSpan::layer_attributes`]).
///
/// ```
/// use tower_trace_context::server::{DefaultMakeSpan, MakeSpan};
/// let span = DefaultMakeSpan::new().make_span(&http::Request::get("/").body(()).unwrap());
/// # let _ = span;
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct DefaultMakeSpan {
    _private: (),
}

impl DefaultMakeSpan {
    /// The default span maker.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

/// The route template of a request: axum's `MatchedPath` when available.
pub(crate) fn route<B>(request: &Request<B>) -> Option<&str> {
    #[cfg(feature = "axum")]
    if let Some(path) = request.extensions().get::<axum::extract::MatchedPath>() {
        return Some(path.as_str());
    }
    let _ = request;
    None
}

/// `(package.Service, Method)` of a gRPC call (`content-type:
/// application/grpc*` and a `/{package.Service}/{Method}` path), found once
/// per request for the name and the attributes.
pub(crate) fn grpc_call<B>(request: &Request<B>) -> Option<(&str, &str)> {
    grpc::call(request.headers(), request.uri().path())
}

/// The span name: `{method} {route}`, `{method}` (`HTTP` for an unknown
/// method), or a gRPC call's `{package.Service}/{Method}` (`grpc`: see
/// [`grpc_call`]). Allocated only with a route or for gRPC.
pub(crate) fn span_name<B>(request: &Request<B>, grpc: Option<(&str, &str)>) -> Cow<'static, str> {
    if grpc.is_some() {
        return Cow::Owned(grpc::span_name(request.uri().path()).to_owned());
    }
    let method = known_method(request.method().as_str()).unwrap_or("HTTP");
    match route(request) {
        Some(route) => {
            let mut s = String::with_capacity(method.len() + 1 + route.len());
            s.push_str(method);
            s.push(' ');
            s.push_str(route);
            Cow::Owned(s)
        }
        None => Cow::Borrowed(method),
    }
}

/// The default span's attributes as OpenTelemetry key-values, HTTP or gRPC
/// (the semantic conventions listed on [`DefaultMakeSpan`]): all of them
/// with `fields` (the direct path), or without the ones the `tracing` span
/// declares as fields (`http.request.method`, `http.route`; `rpc.service`,
/// `rpc.method`). Static values allocate nothing.
pub(crate) fn attributes<B>(
    request: &Request<B>,
    grpc: Option<(&str, &str)>,
    fields: bool,
    out: &mut Vec<KeyValue>,
) {
    let (server_address, server_port) = server_address(request);
    let peer = PeerAddr::socket_of(request.extensions());
    match grpc {
        Some((service, method)) => grpc::attributes(service, method, fields, out),
        None => {
            let original = request.method().as_str();
            let method = known_method(original);
            if fields {
                out.push(KeyValue::new(
                    "http.request.method",
                    method.unwrap_or("_OTHER"),
                ));
                if let Some(route) = route(request) {
                    out.push(KeyValue::new("http.route", route.to_owned()));
                }
            }
            if method.is_none() {
                out.push(KeyValue::new(
                    "http.request.method_original",
                    original.to_owned(),
                ));
            }
            out.push(KeyValue::new("url.path", request.uri().path().to_owned()));
            if let Some(query) = request.uri().query() {
                out.push(KeyValue::new("url.query", redact_query(query).into_owned()));
            }
            match request.uri().scheme_str() {
                Some("http") => out.push(KeyValue::new("url.scheme", "http")),
                Some("https") => out.push(KeyValue::new("url.scheme", "https")),
                Some(other) => out.push(KeyValue::new("url.scheme", other.to_owned())),
                None => {}
            }
        }
    }
    if let Some(address) = server_address {
        out.push(KeyValue::new("server.address", address.to_owned()));
    }
    if let Some(port) = server_port {
        out.push(KeyValue::new("server.port", i64::from(port)));
    }
    if let Some(version) = protocol_version(request.version()) {
        out.push(KeyValue::new("network.protocol.version", version));
    }
    if let Some(peer) = peer {
        let ip: std::sync::Arc<str> = IpText::new().of(peer.ip()).into();
        out.push(KeyValue::new("client.address", ip.clone()));
        out.push(KeyValue::new("network.peer.address", ip));
        out.push(KeyValue::new("network.peer.port", i64::from(peer.port())));
    }
    if grpc.is_none() {
        let user_agent = request
            .headers()
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok());
        if let Some(user_agent) = user_agent {
            out.push(KeyValue::new("user_agent.original", user_agent.to_owned()));
        }
    }
}

/// Query parameters whose values the conventions redact (case-sensitive keys).
const SENSITIVE_QUERY_KEYS: [&str; 5] = [
    "X-Amz-Signature",
    "X-Amz-Credential",
    "X-Amz-Security-Token",
    "sig",
    "X-Goog-Signature",
];

/// `url.query` with the values of signature-like parameters replaced by
/// `REDACTED`, keys kept (borrowed when there is nothing to redact).
pub(crate) fn redact_query(query: &str) -> Cow<'_, str> {
    let sensitive = |pair: &str| {
        let key = pair.split_once('=').map_or(pair, |(key, _)| key);
        SENSITIVE_QUERY_KEYS.contains(&key)
    };
    if !query.split('&').any(sensitive) {
        return Cow::Borrowed(query);
    }
    let mut out = String::with_capacity(query.len());
    for (i, pair) in query.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        match pair.split_once('=') {
            Some((key, _)) if sensitive(pair) => {
                out.push_str(key);
                out.push_str("=REDACTED");
            }
            _ => out.push_str(pair),
        }
    }
    Cow::Owned(out)
}

/// `server.address` and `server.port`: the request URI's authority
/// (HTTP/2, absolute-form) or the `Host` header, as the client named the
/// server; the port only when given.
fn server_address<B>(request: &Request<B>) -> (Option<&str>, Option<u16>) {
    if let Some(authority) = request.uri().authority() {
        return (Some(authority.host()), authority.port_u16());
    }
    let Some(host) = request
        .headers()
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
    else {
        return (None, None);
    };
    // `host[:port]`; an IPv6 literal keeps its brackets, as `Uri` gives it.
    let (name, port) = match host.find(']') {
        Some(end) if host.starts_with('[') => {
            let after = host.get(end + 1..).unwrap_or_default();
            (
                host.get(..=end).unwrap_or_default(),
                after.strip_prefix(':'),
            )
        }
        _ => match host.rsplit_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (host, None),
        },
    };
    let port = port.and_then(|p| p.parse::<u16>().ok());
    ((!name.is_empty()).then_some(name), port)
}

/// An IP address as text, formatted once into a stack buffer for both
/// `client.address` and `network.peer.address` (a `Display` field is
/// formatted again for each).
struct IpText {
    buf: [u8; 45],
}

impl IpText {
    fn new() -> Self {
        Self { buf: [0; 45] }
    }

    fn of(&mut self, ip: std::net::IpAddr) -> &str {
        use std::io::Write;
        let mut cursor = std::io::Cursor::new(&mut self.buf[..]);
        // The longest IPv6 text (45 bytes) fits: this write cannot fail.
        let _ = write!(cursor, "{ip}");
        let len = cursor.position() as usize;
        std::str::from_utf8(&self.buf[..len]).unwrap_or_default()
    }
}

/// `network.protocol.version`.
fn protocol_version(version: Version) -> Option<&'static str> {
    match version {
        Version::HTTP_09 => Some("0.9"),
        Version::HTTP_10 => Some("1.0"),
        Version::HTTP_11 => Some("1.1"),
        Version::HTTP_2 => Some("2"),
        Version::HTTP_3 => Some("3"),
        _ => None,
    }
}

impl<B> MakeSpan<B> for DefaultMakeSpan {
    fn make_span(&mut self, request: &Request<B>) -> Span {
        // Tracing off at this level: the span would be disabled anyway, so
        // skip building its name.
        if !tracing::level_enabled!(tracing::Level::INFO) {
            return Span::none();
        }
        // Fields only for what `fmt` readers need (name, method, route,
        // status): tracing-opentelemetry copies every field into an owned
        // `String` before the sampler decides. The other attributes go to
        // the OpenTelemetry span in one batch, when it records
        // (`layer_attributes`).
        let grpc = grpc_call(request);
        let name = span_name(request, grpc);
        if let Some((service, method)) = grpc {
            return grpc::grpc_span!("gRPC request", "server", &*name, service, method);
        }
        let method = known_method(request.method().as_str()).unwrap_or("_OTHER");
        tracing::info_span!(
            "HTTP request",
            otel.kind = "server",
            otel.name = &*name,
            http.request.method = method,
            http.route = route(request),
            http.response.status_code = Empty,
            otel.status_code = Empty,
            error.type = Empty,
        )
    }

    fn layer_attributes(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::{IpText, redact_query, server_address};

    #[test]
    fn ip_text_is_the_display_form() {
        for ip in [
            "127.0.0.1",
            "255.255.255.255",
            "::1",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "::ffff:255.255.255.255",
            "fe80::1234:5678:9abc:def0",
        ] {
            let ip: std::net::IpAddr = ip.parse().unwrap();
            assert_eq!(IpText::new().of(ip), ip.to_string());
        }
    }

    #[test]
    fn query_redaction_and_server_address() {
        for (query, redacted) in [
            ("q=1", "q=1"),
            ("sig=abc", "sig=REDACTED"),
            (
                "a=1&X-Goog-Signature=x&b",
                "a=1&X-Goog-Signature=REDACTED&b",
            ),
            ("SIG=case-sensitive", "SIG=case-sensitive"),
            ("sig", "sig"),
        ] {
            assert_eq!(redact_query(query), redacted, "{query}");
        }
        for (host, address, port) in [
            ("example.com", Some("example.com"), None),
            ("example.com:8443", Some("example.com"), Some(8443)),
            ("[::1]:9000", Some("[::1]"), Some(9000)),
            ("[::1]", Some("[::1]"), None),
            ("example.com:nope", Some("example.com"), None),
            ("", None, None),
        ] {
            let req = http::Request::get("/")
                .header("host", host)
                .body(())
                .unwrap();
            assert_eq!(server_address(&req), (address, port), "{host}");
        }
    }
}
