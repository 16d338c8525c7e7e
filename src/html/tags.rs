//! The `<meta>` tags, rendered.

use std::fmt;

use bytes::Bytes;
use opentelemetry::trace::TraceContextExt;

use crate::server::RequestTrace;
use crate::wire::traceparent::TraceParent;

/// `<meta>` tags carrying a trace context, rendered with `Display`
/// (attribute values HTML-escaped).
///
/// ```
/// use tower_trace_context::{html::TraceMetaTags, TraceParent};
///
/// let tp: TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".parse()?;
/// let tags = TraceMetaTags::new(tp, Some("vendor=a&b"));
/// assert_eq!(
///     tags.to_string(),
///     "<meta name=\"traceparent\" content=\"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\">\
///      <meta name=\"tracestate\" content=\"vendor=a&amp;b\">"
/// );
/// # Ok::<(), tower_trace_context::TraceParentError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceMetaTags {
    traceparent: TraceParent,
    tracestate: Option<String>,
    /// Tags of other trace formats (e.g. Sentry's), name and content.
    pub(crate) extra: Vec<(&'static str, String)>,
    /// Datadog's `dd-trace-id` (decimal) and `dd-trace-time` (ms).
    datadog: Option<(u64, u128)>,
}

impl TraceMetaTags {
    /// Tags for a `traceparent` and an optional `tracestate` header value.
    #[must_use]
    pub fn new(traceparent: TraceParent, tracestate: Option<&str>) -> Self {
        Self {
            traceparent,
            tracestate: tracestate.filter(|s| !s.is_empty()).map(str::to_owned),
            extra: Vec::new(),
            datadog: None,
        }
    }

    /// Adds Datadog RUM's page-load tags: `<meta name="dd-trace-id">`, the
    /// trace id's low 64 bits in decimal (Datadog's own trace ids are 64-bit),
    /// and `<meta name="dd-trace-time">`, `rendered_at` in milliseconds since
    /// the Unix epoch (Datadog's browser SDK ignores tags older than two
    /// minutes). Datadog RUM reads only these on page load, never
    /// `traceparent`. A second call replaces the first.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use tower_trace_context::{html::TraceMetaTags, TraceParent};
    ///
    /// let tp: TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".parse()?;
    /// let at = UNIX_EPOCH + Duration::from_millis(1_765_000_000_123);
    /// let tags = TraceMetaTags::new(tp, None).with_datadog(at);
    /// assert!(tags.to_string().ends_with(
    ///     "<meta name=\"dd-trace-id\" content=\"9532127138774266268\">\
    ///      <meta name=\"dd-trace-time\" content=\"1765000000123\">"
    /// ));
    /// # Ok::<(), tower_trace_context::TraceParentError>(())
    /// ```
    #[must_use]
    pub fn with_datadog(mut self, rendered_at: std::time::SystemTime) -> Self {
        // The low 64 bits.
        let low = u128::from_be_bytes(self.traceparent.trace_id().to_bytes()) as u64;
        let ms = rendered_at
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        self.datadog = Some((low, ms));
        self
    }

    /// The tags for the server span of a request, or `None` when it has no
    /// span context (no OpenTelemetry layer). With other trace formats on in
    /// the server layer, their tags too: Sentry's `sentry-trace` and
    /// `baggage` (feature `sentry`, see `RequestTrace::sentry_baggage`).
    ///
    /// ```
    /// use axum::{Extension, response::Html};
    /// use tower_trace_context::{html::TraceMetaTags, server::RequestTrace};
    ///
    /// async fn page(Extension(trace): Extension<RequestTrace>) -> Html<String> {
    ///     let tags = TraceMetaTags::for_request(&trace).map(|t| t.to_string()).unwrap_or_default();
    ///     Html(format!("<!doctype html><html><head>{tags}</head><body>...</body></html>"))
    /// }
    /// # let _ = page;
    /// ```
    #[must_use]
    pub fn for_request(trace: &RequestTrace) -> Option<Self> {
        let traceparent = trace.traceparent()?;
        // What an outgoing call would send: the incoming `tracestate` as
        // carried (an unsampled request's is not in OpenTelemetry's
        // `TraceState`), with what the application changed.
        let cx = trace.context();
        let span = cx.span();
        let state = crate::propagation::outgoing_tracestate(
            cx,
            span.span_context(),
            crate::wire::DEFAULT_TRACESTATE_LIMIT,
        );
        let mut tags = Self::new(traceparent, state.as_ref().and_then(|v| v.to_str().ok()));
        tags.extra = trace.formats.meta_tags(trace);
        Some(tags)
    }

    /// The rendered tags as bytes.
    #[must_use]
    pub fn to_bytes(&self) -> Bytes {
        Bytes::from(self.to_string())
    }
}

/// Escapes an HTML attribute value (double-quoted).
fn escape_attr(f: &mut fmt::Formatter<'_>, value: &str) -> fmt::Result {
    let mut rest = value;
    while let Some(i) = rest.find(['&', '"', '<', '>', '\'']) {
        f.write_str(&rest[..i])?;
        f.write_str(match rest.as_bytes()[i] {
            b'&' => "&amp;",
            b'"' => "&quot;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            _ => "&#39;",
        })?;
        rest = &rest[i + 1..];
    }
    f.write_str(rest)
}

impl fmt::Display for TraceMetaTags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<meta name=\"traceparent\" content=\"{}\">",
            self.traceparent
        )?;
        if let Some(state) = &self.tracestate {
            f.write_str("<meta name=\"tracestate\" content=\"")?;
            escape_attr(f, state)?;
            f.write_str("\">")?;
        }
        for (name, content) in &self.extra {
            write!(f, "<meta name=\"{name}\" content=\"")?;
            escape_attr(f, content)?;
            f.write_str("\">")?;
        }
        if let Some((trace_id, ms)) = self.datadog {
            write!(
                f,
                "<meta name=\"dd-trace-id\" content=\"{trace_id}\">\
                 <meta name=\"dd-trace-time\" content=\"{ms}\">"
            )?;
        }
        Ok(())
    }
}
