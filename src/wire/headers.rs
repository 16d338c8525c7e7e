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

/// The W3C `baggage` header.
///
/// ```
/// assert_eq!(tower_trace_context::BAGGAGE.as_str(), "baggage");
/// ```
pub const BAGGAGE: HeaderName = HeaderName::from_static("baggage");

/// Sentry's `sentry-trace` header (`<trace id>-<span id>[-<0|1>]`).
///
/// ```
/// assert_eq!(tower_trace_context::SENTRY_TRACE.as_str(), "sentry-trace");
/// ```
pub const SENTRY_TRACE: HeaderName = HeaderName::from_static("sentry-trace");

/// Every header a browser SDK may send to continue a trace: the W3C pair,
/// W3C `baggage` and Sentry's `sentry-trace`. For CORS configuration of
/// backends behind Sentry's browser SDK (which sends `sentry-trace` and
/// `baggage`) or OpenTelemetry web with its baggage propagator.
///
/// ```
/// use tower_trace_context::BROWSER_TRACE_HEADERS;
/// let names: Vec<String> = BROWSER_TRACE_HEADERS.into_iter().map(|n| n.as_str().to_owned()).collect();
/// assert_eq!(names, ["traceparent", "tracestate", "baggage", "sentry-trace"]);
/// ```
pub const BROWSER_TRACE_HEADERS: [HeaderName; 4] = [TRACEPARENT, TRACESTATE, BAGGAGE, SENTRY_TRACE];

/// The headers the server layer reads by default, and so what it adds to a
/// CORS preflight's `Access-Control-Allow-Headers` by default: the W3C pair
/// and W3C `baggage` (which Datadog's browser SDK 7 and OpenTelemetry web's
/// baggage propagator send). A browser blocks a cross-origin `fetch` whose
/// preflight answer does not list every header it carries.
///
/// ```
/// use tower_trace_context::DEFAULT_PREFLIGHT_HEADERS;
/// let names: Vec<String> = DEFAULT_PREFLIGHT_HEADERS.into_iter().map(|n| n.as_str().to_owned()).collect();
/// assert_eq!(names, ["traceparent", "tracestate", "baggage"]);
/// ```
pub const DEFAULT_PREFLIGHT_HEADERS: [HeaderName; 3] = [TRACEPARENT, TRACESTATE, BAGGAGE];

/// Datadog's browser SDK (`@datadog/browser-rum` 7) default extra request
/// headers: with its default `propagatorTypes` (`tracecontext` and
/// `datadog`) it sends these next to `traceparent`, `tracestate` and
/// `baggage`. Add them to the preflight answer with
/// [`TraceContextLayer::preflight_allow_more`](crate::server::TraceContextLayer::preflight_allow_more),
/// or the browser blocks the app's cross-origin fetch and XHR.
///
/// ```
/// use tower_trace_context::DATADOG_HEADERS;
/// assert_eq!(DATADOG_HEADERS[0].as_str(), "x-datadog-origin");
/// ```
pub const DATADOG_HEADERS: [HeaderName; 4] = [
    HeaderName::from_static("x-datadog-origin"),
    HeaderName::from_static("x-datadog-parent-id"),
    HeaderName::from_static("x-datadog-sampling-priority"),
    HeaderName::from_static("x-datadog-trace-id"),
];

/// Application Insights' (`@microsoft/applicationinsights-web` 3) default
/// extra request headers: its default `distributedTracingMode`
/// (`AI_AND_W3C`) sends `Request-Id` and `Request-Context` next to
/// `traceparent`.
///
/// ```
/// use tower_trace_context::APPLICATION_INSIGHTS_HEADERS;
/// assert_eq!(APPLICATION_INSIGHTS_HEADERS.len(), 2);
/// ```
pub const APPLICATION_INSIGHTS_HEADERS: [HeaderName; 2] = [
    HeaderName::from_static("request-id"),
    HeaderName::from_static("request-context"),
];

/// New Relic's browser agent: cross-origin it sends its own `newrelic`
/// header (and `traceparent` / `tracestate` only with
/// `cors_use_tracecontext_headers: true`).
///
/// ```
/// use tower_trace_context::NEW_RELIC_HEADERS;
/// assert_eq!(NEW_RELIC_HEADERS[0].as_str(), "newrelic");
/// ```
pub const NEW_RELIC_HEADERS: [HeaderName; 1] = [HeaderName::from_static("newrelic")];

/// The B3 headers (openzipkin/b3-propagation), single and multi: what a
/// browser instrumented for Zipkin sends.
///
/// ```
/// use tower_trace_context::B3_HEADERS;
/// assert_eq!(B3_HEADERS[0].as_str(), "b3");
/// ```
pub const B3_HEADERS: [HeaderName; 6] = [
    HeaderName::from_static("b3"),
    HeaderName::from_static("x-b3-traceid"),
    HeaderName::from_static("x-b3-spanid"),
    HeaderName::from_static("x-b3-parentspanid"),
    HeaderName::from_static("x-b3-sampled"),
    HeaderName::from_static("x-b3-flags"),
];

/// The `Server-Timing` header (W3C Server Timing).
///
/// ```
/// assert_eq!(tower_trace_context::SERVER_TIMING.as_str(), "server-timing");
/// ```
pub const SERVER_TIMING: HeaderName = HeaderName::from_static("server-timing");

/// The `Timing-Allow-Origin` header (W3C Resource Timing): lets a
/// cross-origin page read detailed timing, including `serverTiming`.
///
/// ```
/// assert_eq!(tower_trace_context::TIMING_ALLOW_ORIGIN.as_str(), "timing-allow-origin");
/// ```
pub const TIMING_ALLOW_ORIGIN: HeaderName = HeaderName::from_static("timing-allow-origin");

pub(crate) static TRACESTATE_FIELD: HeaderName = TRACESTATE;
pub(crate) static BAGGAGE_FIELD: HeaderName = BAGGAGE;
