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

use bytes::{Buf, Bytes};
use http::header::{CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE};
use http::{Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use opentelemetry::trace::TraceContextExt;
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

#[cfg(feature = "sentry")]
use crate::sentry::SentryTrace;
use crate::server::RequestTrace;
use crate::server::{CacheRequest, shared_cache_may_store};
use crate::wire::traceparent::TraceParent;

/// How far into a body the layer looks for `<head>` before giving up.
pub const HEAD_SEARCH_LIMIT: usize = 4096;

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
    #[cfg(feature = "sentry")]
    sentry_trace: Option<SentryTrace>,
    #[cfg(feature = "sentry")]
    baggage: Option<String>,
}

impl TraceMetaTags {
    /// Tags for a `traceparent` and an optional `tracestate` header value.
    #[must_use]
    pub fn new(traceparent: TraceParent, tracestate: Option<&str>) -> Self {
        Self {
            traceparent,
            tracestate: tracestate.filter(|s| !s.is_empty()).map(str::to_owned),
            #[cfg(feature = "sentry")]
            sentry_trace: None,
            #[cfg(feature = "sentry")]
            baggage: None,
        }
    }

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
    #[cfg(feature = "sentry")]
    #[must_use]
    pub fn with_sentry(mut self, sentry_trace: SentryTrace, baggage: Option<&str>) -> Self {
        self.sentry_trace = Some(sentry_trace);
        self.baggage = baggage.filter(|s| !s.is_empty()).map(str::to_owned);
        self
    }

    /// The tags for the server span of a request, or `None` when it has no
    /// span context (no OpenTelemetry layer). With Sentry interop on in the
    /// server layer (feature `sentry`), Sentry's `sentry-trace` and `baggage`
    /// tags too (see `RequestTrace::sentry_baggage`).
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
        let state = trace.context().span().span_context().trace_state().header();
        let tags = Self::new(traceparent, Some(&state));
        #[cfg(feature = "sentry")]
        if trace.sentry() {
            if let Some(st) = trace.sentry_trace() {
                let baggage = trace.sentry_baggage();
                let baggage = baggage.as_ref().and_then(|b| b.to_str().ok());
                return Some(tags.with_sentry(st, baggage));
            }
        }
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
        #[cfg(feature = "sentry")]
        if let Some(st) = &self.sentry_trace {
            write!(f, "<meta name=\"sentry-trace\" content=\"{st}\">")?;
            if let Some(baggage) = &self.baggage {
                f.write_str("<meta name=\"baggage\" content=\"")?;
                escape_attr(f, baggage)?;
                f.write_str("\">")?;
            }
        }
        Ok(())
    }
}

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

/// Where the scanner is in the search for the end of `<head ...>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scan {
    /// Looking for `<`.
    Text,
    /// Matched `<` and this many letters of `head`.
    Name(u8),
    /// Inside the `<head` tag, looking for its `>`.
    Attrs,
    /// After an attribute's `=`: a quote here starts a quoted value.
    AttrEq,
    /// Inside a quoted attribute value.
    Quoted(u8),
    /// Matched `<!` and this many `-`.
    Bang(u8),
    /// Inside `<!-- ... -->`, after this many `-` (at most 2).
    Comment(u8),
    /// Inserted, or gave up: pass everything through.
    Done,
}

impl Scan {
    /// Advances over `bytes`; returns the index just after the `>` that
    /// closes `<head ...>`, if it is in `bytes`.
    fn feed(&mut self, bytes: &[u8]) -> Option<usize> {
        for (i, &b) in bytes.iter().enumerate() {
            *self = match (*self, b) {
                (Scan::Done, _) => return None,
                (Scan::Text, b'<') => Scan::Name(0),
                (Scan::Text, _) => Scan::Text,
                // Comments are skipped: `<!-- <head> -->` is not the head.
                (Scan::Name(0), b'!') => Scan::Bang(0),
                (Scan::Bang(0), b'-') => Scan::Bang(1),
                (Scan::Bang(1), b'-') => Scan::Comment(0),
                (Scan::Bang(_), b'<') => Scan::Name(0),
                (Scan::Bang(_), _) => Scan::Text,
                (Scan::Comment(2), b'>') => Scan::Text,
                (Scan::Comment(n), b'-') => Scan::Comment((n + 1).min(2)),
                (Scan::Comment(_), _) => Scan::Comment(0),
                (Scan::Name(n), _) if n < 4 => {
                    if b.to_ascii_lowercase() == b"head"[n as usize] {
                        Scan::Name(n + 1)
                    } else if b == b'<' {
                        Scan::Name(0)
                    } else {
                        Scan::Text
                    }
                }
                // `<head` must end here: `<header>` is another element.
                (Scan::Name(_), b'>') => return Some(i + 1),
                (Scan::Name(_), b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' | b'/') => Scan::Attrs,
                (Scan::Name(_), _) => Scan::Text,
                (Scan::Attrs | Scan::AttrEq, b'>') => return Some(i + 1),
                // Only a value may be quoted: a stray `"` elsewhere is a
                // character of the tag, as HTML tokenizes it.
                (Scan::Attrs, b'=') => Scan::AttrEq,
                (Scan::Attrs, _) => Scan::Attrs,
                (Scan::AttrEq, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c') => Scan::AttrEq,
                (Scan::AttrEq, q @ (b'"' | b'\'')) => Scan::Quoted(q),
                (Scan::AttrEq, _) => Scan::Attrs,
                (Scan::Quoted(q), c) if c == q => Scan::Attrs,
                (Scan::Quoted(q), _) => Scan::Quoted(q),
            };
        }
        None
    }
}

pin_project! {
    /// A body that inserts bytes after the opening `<head ...>` tag.
    pub struct MetaTagsBody<B> {
        #[pin]
        inner: B,
        tags: Option<Bytes>,
        scan: Scan,
        scanned: usize,
        // Bytes still to emit before polling `inner` again.
        pending: [Option<Bytes>; 2],
    }
}

impl<B> MetaTagsBody<B> {
    fn new(inner: B, tags: Option<Bytes>) -> Self {
        let scan = if tags.is_some() {
            Scan::Text
        } else {
            Scan::Done
        };
        Self {
            inner,
            tags,
            scan,
            scanned: 0,
            pending: [None, None],
        }
    }
}

impl<B> fmt::Debug for MetaTagsBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetaTagsBody")
            .field("scan", &self.scan)
            .finish_non_exhaustive()
    }
}

impl<B: Body> Body for MetaTagsBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.project();
        for slot in this.pending.iter_mut() {
            if let Some(bytes) = slot.take() {
                return Poll::Ready(Some(Ok(Frame::data(bytes))));
            }
        }
        let Some(frame) = ready!(this.inner.poll_frame(cx)) else {
            return Poll::Ready(None);
        };
        let frame = match frame {
            Ok(frame) => frame,
            Err(err) => return Poll::Ready(Some(Err(err))),
        };
        let mut data = match frame.into_data() {
            Ok(mut data) => data.copy_to_bytes(data.remaining()),
            Err(frame) => {
                // Trailers: nothing more to scan.
                *this.scan = Scan::Done;
                return Poll::Ready(Some(Ok(
                    frame.map_data(|mut d| d.copy_to_bytes(d.remaining()))
                )));
            }
        };
        if *this.scan == Scan::Done {
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
        let window = (HEAD_SEARCH_LIMIT - *this.scanned).min(data.len());
        match this.scan.feed(&data[..window]) {
            Some(at) => {
                *this.scan = Scan::Done;
                let rest = data.split_off(at);
                this.pending[0] = this.tags.take();
                this.pending[1] = (!rest.is_empty()).then_some(rest);
            }
            None => {
                *this.scanned += window;
                if *this.scanned >= HEAD_SEARCH_LIMIT {
                    *this.scan = Scan::Done;
                }
            }
        }
        Poll::Ready(Some(Ok(Frame::data(data))))
    }

    fn is_end_stream(&self) -> bool {
        self.pending.iter().all(Option::is_none) && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        // Pending bytes are certain; the tags may or may not be inserted.
        let inner = self.inner.size_hint();
        let pending: u64 = self.pending.iter().flatten().map(|b| b.len() as u64).sum();
        let tags = self.tags.as_ref().map_or(0, |t| t.len() as u64);
        let mut hint = SizeHint::new();
        hint.set_lower(inner.lower().saturating_add(pending));
        if let Some(upper) = inner.upper() {
            hint.set_upper(upper.saturating_add(pending).saturating_add(tags));
        }
        hint
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(chunks: &[&[u8]], tags: &[u8]) -> Vec<u8> {
        let mut scan = Scan::Text;
        let mut out = Vec::new();
        let mut scanned = 0;
        for chunk in chunks {
            if scan == Scan::Done {
                out.extend_from_slice(chunk);
                continue;
            }
            let window = (HEAD_SEARCH_LIMIT - scanned).min(chunk.len());
            match scan.feed(&chunk[..window]) {
                Some(at) => {
                    scan = Scan::Done;
                    out.extend_from_slice(&chunk[..at]);
                    out.extend_from_slice(tags);
                    out.extend_from_slice(&chunk[at..]);
                }
                None => {
                    scanned += window;
                    if scanned >= HEAD_SEARCH_LIMIT {
                        scan = Scan::Done;
                    }
                    out.extend_from_slice(chunk);
                }
            }
        }
        out
    }

    #[test]
    fn inserts_after_head_in_any_split() {
        let page = b"<!doctype html><html lang=en><HEAD data-x=\"a>b\" class='c'><title>t</title></head><body><header>h</header></body></html>";
        let expected = {
            let at = page
                .windows(4)
                .position(|w| w == b"'c'>")
                .map(|p| p + 4)
                .unwrap_or(0);
            [&page[..at], b"TAGS", &page[at..]].concat()
        };
        for split_a in 0..page.len() {
            for split_b in split_a..page.len() {
                let chunks = [&page[..split_a], &page[split_a..split_b], &page[split_b..]];
                assert_eq!(
                    run(&chunks, b"TAGS"),
                    expected,
                    "splits at {split_a}, {split_b}"
                );
            }
        }
    }

    #[test]
    fn header_element_and_no_head_are_left_alone() {
        let page = b"<html><header>x</header><body>no head</body></html>";
        assert_eq!(run(&[page], b"TAGS"), page);
        let page = b"<html><head>";
        assert_eq!(run(&[page], b"T"), b"<html><head>T");
        let page = b"<html><head/>";
        assert_eq!(run(&[page], b"T"), b"<html><head/>T");
    }

    #[test]
    fn gives_up_after_the_limit() {
        let mut page = vec![b'x'; HEAD_SEARCH_LIMIT];
        page.extend_from_slice(b"<head>");
        assert_eq!(run(&[&page], b"T"), page);
    }
}
