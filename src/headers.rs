//! Header names, as constants for `HeaderMap` lookups and CORS configuration.

use http::HeaderName;

/// The W3C `traceparent` header.
///
/// ```
/// assert_eq!(tower_trace_context::TRACEPARENT.as_str(), "traceparent");
/// ```
pub const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");

/// The W3C `tracestate` header.
///
/// ```
/// assert_eq!(tower_trace_context::TRACESTATE.as_str(), "tracestate");
/// ```
pub const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");

/// Both W3C trace context headers, for CORS configuration: a cross-origin
/// request carrying them is preflighted, and the preflight response must
/// list them in `Access-Control-Allow-Headers`.
///
/// ```
/// use http::header::CONTENT_TYPE;
/// use tower_trace_context::TRACE_CONTEXT_HEADERS;
///
/// let allowed: Vec<_> = [CONTENT_TYPE].into_iter().chain(TRACE_CONTEXT_HEADERS).collect();
/// assert_eq!(allowed.len(), 3);
/// // e.g. tower_http::cors::CorsLayer::new().allow_headers(allowed)
/// ```
pub const TRACE_CONTEXT_HEADERS: [HeaderName; 2] = [TRACEPARENT, TRACESTATE];
