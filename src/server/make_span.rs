//! Creating the server span.

use http::Request;
use tracing::Span;
use tracing::field::Empty;

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
}

impl<B, F> MakeSpan<B> for F
where
    F: FnMut(&Request<B>) -> Span,
{
    fn make_span(&mut self, request: &Request<B>) -> Span {
        self(request)
    }
}

/// The default server span: `INFO` level, named after the method and the
/// route, with OpenTelemetry HTTP semantic-convention fields
/// (`otel.kind = server`, `http.request.method`, `url.path`, `url.scheme` when
/// the request URI carries it (HTTP/2, absolute-form; never guessed),
/// `http.route` when axum's `MatchedPath` is known (feature `axum`),
/// `user_agent.original`, and, recorded later, `http.response.status_code`
/// and `otel.status_code = ERROR` for 5xx).
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

impl<B> MakeSpan<B> for DefaultMakeSpan {
    fn make_span(&mut self, request: &Request<B>) -> Span {
        // Tracing off at this level: the span would be disabled anyway, so
        // skip building its name.
        if !tracing::level_enabled!(tracing::Level::INFO) {
            return Span::none();
        }
        // Every field is given at creation: a later `record` costs a second
        // trip through the subscriber.
        let method = request.method().as_str();
        let route = route(request);
        let user_agent = request
            .headers()
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok());
        // `{method} {route}`, or `{method}` (HTTP semantic conventions). A
        // plain string: recording it as `Display` would go through `format!`.
        let with_route;
        let name = match route {
            Some(route) => {
                let mut s = String::with_capacity(method.len() + 1 + route.len());
                s.push_str(method);
                s.push(' ');
                s.push_str(route);
                with_route = s;
                with_route.as_str()
            }
            None => method,
        };
        tracing::info_span!(
            "HTTP request",
            otel.kind = "server",
            otel.name = name,
            http.request.method = method,
            url.path = request.uri().path(),
            url.scheme = request.uri().scheme_str(),
            http.route = route,
            user_agent.original = user_agent,
            http.response.status_code = Empty,
            otel.status_code = Empty,
        )
    }
}
