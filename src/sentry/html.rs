//! Sentry's page-load `<meta>` tags (features `sentry` and `html`).

use crate::html::TraceMetaTags;
use crate::sentry::SentryTrace;

impl TraceMetaTags {
    /// Adds Sentry's tags (feature `sentry`): `<meta name="sentry-trace">`
    /// and, when `baggage` is a non-empty header value, `<meta name="baggage">`,
    /// which Sentry's browser SDK reads on page load. A second call replaces
    /// the first.
    ///
    /// ```
    /// use tower_trace_context::{html::TraceMetaTags, sentry::SentryTrace, TraceParent};
    ///
    /// let tp: TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".parse()?;
    /// let st = SentryTrace::new(tp.trace_id(), tp.parent_id(), Some(true)).unwrap();
    /// let tags = TraceMetaTags::new(tp, None).with_sentry(st, Some("sentry-environment=prod,a=1"));
    /// assert!(tags.to_string().ends_with(
    ///     "<meta name=\"sentry-trace\" content=\"0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-1\">\
    ///      <meta name=\"baggage\" content=\"sentry-environment=prod,a=1\">"
    /// ));
    /// # Ok::<(), tower_trace_context::TraceParentError>(())
    /// ```
    #[must_use]
    pub fn with_sentry(mut self, sentry_trace: SentryTrace, baggage: Option<&str>) -> Self {
        self.extra
            .retain(|(name, _)| *name != "sentry-trace" && *name != "baggage");
        self.extra.push(("sentry-trace", sentry_trace.to_string()));
        if let Some(baggage) = baggage.filter(|s| !s.is_empty()) {
            self.extra.push(("baggage", baggage.to_owned()));
        }
        self
    }
}
