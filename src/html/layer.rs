//! `MetaTagsLayer`.

use tower_layer::Layer;

use crate::html::service::MetaTags;

/// Inserts [`TraceMetaTags`](crate::html::TraceMetaTags) after the opening `<head ...>` tag of `text/html`
/// responses. Must sit inside [`TraceContextLayer`](crate::server::TraceContextLayer),
/// which provides the request's [`RequestTrace`](crate::server::RequestTrace).
///
/// The body is streamed, never buffered: the tag may be split across chunks,
/// may carry attributes and any letter case. Bytes before and after the
/// insertion pass through unchanged. `Content-Length` is removed when tags
/// may be inserted. Responses that are not `text/html`, have a
/// `Content-Encoding`, or have no `<head>` in their first
/// [`HEAD_SEARCH_LIMIT`](crate::html::HEAD_SEARCH_LIMIT) bytes are left untouched.
///
/// Responses a shared cache may store get no tags (see
/// [`trace_cacheable_responses`](Self::trace_cacheable_responses)).
#[derive(Clone, Copy, Debug, Default)]
pub struct MetaTagsLayer {
    trace_cacheable_responses: bool,
    datadog: bool,
}

impl MetaTagsLayer {
    /// The layer.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether pages a shared cache may store still get the tags. Default
    /// off: a cached page would hand every later visitor the one server span
    /// that rendered it, merging unrelated users' traces. The rules (RFC
    /// 9111) are those of
    /// [`TraceContextLayer::trace_cacheable_responses`](crate::server::TraceContextLayer::trace_cacheable_responses);
    /// a `DEBUG` event names the directive each time tags are left out.
    /// Turn it on if your caches vary on or purge such pages. A second call
    /// replaces the first.
    ///
    /// ```
    /// # use tower_trace_context::html::MetaTagsLayer;
    /// let layer = MetaTagsLayer::new().trace_cacheable_responses(true);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn trace_cacheable_responses(mut self, enabled: bool) -> Self {
        self.trace_cacheable_responses = enabled;
        self
    }
}

impl MetaTagsLayer {
    /// Whether to add Datadog RUM's page-load tags, `dd-trace-id` and
    /// `dd-trace-time` (see [`TraceMetaTags::with_datadog`](crate::html::TraceMetaTags::with_datadog);
    /// default off). They follow the same shared-cache rule as the other
    /// tags. A second call replaces the first.
    ///
    /// ```
    /// # use tower_trace_context::html::MetaTagsLayer;
    /// let layer = MetaTagsLayer::new().datadog(true);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn datadog(mut self, enabled: bool) -> Self {
        self.datadog = enabled;
        self
    }
}

impl<S> Layer<S> for MetaTagsLayer {
    type Service = MetaTags<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MetaTags::from_parts(inner, self.trace_cacheable_responses, self.datadog)
    }
}
