//! Trace context for page loads: a document navigation cannot send request
//! headers, so the backend puts the server span's context into the HTML, as
//! `<meta name="traceparent" content="00-...">` (read by OpenTelemetry JS's
//! DocumentLoad instrumentation) and `<meta name="tracestate">`; with the
//! server layer's Sentry interop on (feature `sentry`), also
//! `<meta name="sentry-trace">` and `<meta name="baggage">` (read by Sentry's
//! browser SDK).
//!
//! Two ways in: [`TraceMetaTags`] renders the tags for a template engine, and
//! [`MetaTagsLayer`] inserts them right after the opening `<head ...>` tag of
//! `text/html` responses while streaming.
//!
//! ```
//! use axum::{Router, routing::get, response::Html};
//! use tower_trace_context::html::MetaTagsLayer;
//! use tower_trace_context::server::TraceContextLayer;
//!
//! let app: Router = Router::new()
//!     .route("/", get(|| async { Html("<!doctype html><html><head><title>Shop</title></head><body>hi</body></html>") }))
//!     .layer(MetaTagsLayer::new())          // inner: reads the RequestTrace the server layer inserted
//!     .layer(TraceContextLayer::new());     // outer
//! # let _ = app;
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::header::{CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE};
use http::{Request, Response, StatusCode};
use http_body::Body;
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::server::RequestTrace;
use crate::server::{CacheRequest, shared_cache_may_store};

mod body;
mod scan;
mod tags;

pub use body::MetaTagsBody;
pub use tags::TraceMetaTags;

/// How far into a body the layer looks for `<head>` before giving up.
pub const HEAD_SEARCH_LIMIT: usize = 4096;

/// Inserts [`TraceMetaTags`] after the opening `<head ...>` tag of `text/html`
/// responses. Must sit inside [`TraceContextLayer`](crate::server::TraceContextLayer),
/// which provides the request's [`RequestTrace`].
///
/// The body is streamed, never buffered: the tag may be split across chunks,
/// may carry attributes and any letter case. Bytes before and after the
/// insertion pass through unchanged. `Content-Length` is removed when tags
/// may be inserted. Responses that are not `text/html`, have a
/// `Content-Encoding`, or have no `<head>` in their first
/// [`HEAD_SEARCH_LIMIT`] bytes are left untouched.
///
/// Responses a shared cache may store get no tags (see
/// [`trace_cacheable_responses`](Self::trace_cacheable_responses)).
#[derive(Clone, Copy, Debug, Default)]
pub struct MetaTagsLayer {
    trace_cacheable_responses: bool,
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

impl<S> Layer<S> for MetaTagsLayer {
    type Service = MetaTags<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MetaTags {
            inner,
            trace_cacheable_responses: self.trace_cacheable_responses,
        }
    }
}

/// Service made by [`MetaTagsLayer`].
#[derive(Clone, Debug)]
pub struct MetaTags<S> {
    inner: S,
    trace_cacheable_responses: bool,
}

impl<S> MetaTags<S> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for MetaTags<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Body,
{
    type Response = Response<MetaTagsBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        // A HEAD response has no body to put tags in (and keeps its
        // Content-Length).
        let tags = (req.method() != http::Method::HEAD)
            .then(|| req.extensions().get::<RequestTrace>())
            .flatten()
            .and_then(TraceMetaTags::for_request)
            .map(|tags| tags.to_bytes());
        let cache = (!self.trace_cacheable_responses)
            .then(|| CacheRequest::of(req.method(), req.headers()));
        ResponseFuture {
            inner: self.inner.call(req),
            tags,
            cache,
        }
    }
}

pin_project! {
    /// Response future of [`MetaTags`].
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        tags: Option<Bytes>,
        // The request's side of the shared-cache rule (`None`: tags even
        // in cacheable pages).
        cache: Option<CacheRequest>,
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("tags", &self.tags)
            .finish_non_exhaustive()
    }
}

fn is_plain_html(headers: &http::HeaderMap) -> bool {
    let html = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("text/html"))
        });
    let encoded = headers
        .get_all(CONTENT_ENCODING)
        .iter()
        .any(|v| !v.as_bytes().eq_ignore_ascii_case(b"identity"));
    html && !encoded
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Body,
{
    type Output = Result<Response<MetaTagsBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = ready!(this.inner.poll(cx))?;
        // Whole documents only: a partial (206) body would be corrupted and
        // 204 / 304 have none.
        let whole = !matches!(
            response.status(),
            StatusCode::NO_CONTENT | StatusCode::PARTIAL_CONTENT | StatusCode::NOT_MODIFIED
        );
        let cached = this.cache.and_then(|request| {
            shared_cache_may_store(request, response.status(), response.headers())
        });
        if let (Some(reason), Some(_)) = (cached, &this.tags) {
            tracing::debug!(
                target: "tower_trace_context",
                reason,
                "no trace meta tags: a shared cache may store this page"
            );
        }
        let tags = this
            .tags
            .take()
            .filter(|_| whole && cached.is_none() && is_plain_html(response.headers()));
        let (mut parts, body) = response.into_parts();
        if tags.is_some() {
            parts.headers.remove(CONTENT_LENGTH);
        }
        Poll::Ready(Ok(Response::from_parts(
            parts,
            MetaTagsBody::new(body, tags),
        )))
    }
}

/// Hooks for the fuzz targets (built only under `cargo fuzz`).
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing {
    use std::collections::VecDeque;
    use std::convert::Infallible;
    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};

    use bytes::Bytes;
    use http_body::{Body, Frame};

    use super::MetaTagsBody;

    struct Chunks(VecDeque<Bytes>);

    impl Body for Chunks {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            Poll::Ready(self.0.pop_front().map(|chunk| Ok(Frame::data(chunk))))
        }
    }

    /// Streams `chunks` through the meta-tag inserter with `tags`; returns
    /// the bytes it yields.
    pub fn insert_meta_tags(chunks: Vec<Bytes>, tags: Bytes) -> Vec<u8> {
        let mut body = std::pin::pin!(MetaTagsBody::new(Chunks(chunks.into()), Some(tags)));
        let mut cx = Context::from_waker(Waker::noop());
        let mut out = Vec::new();
        while let Poll::Ready(Some(frame)) = body.as_mut().poll_frame(&mut cx) {
            match frame {
                Ok(frame) => {
                    if let Ok(data) = frame.into_data() {
                        out.extend_from_slice(&data);
                    }
                }
                Err(never) => match never {},
            }
        }
        out
    }
}
