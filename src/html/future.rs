//! The response future of `MetaTags`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::header::{CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE};
use http::{Response, StatusCode};
use http_body::Body;
use pin_project_lite::pin_project;

use crate::html::body::ResponseBody;
use crate::server::{CacheRequest, shared_cache_may_store};

pin_project! {
    /// Response future of [`MetaTags`](crate::html::MetaTags).
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        tags: Option<Bytes>,
        // The request's side of the shared-cache rule (`None`: tags even
        // in cacheable pages).
        cache: Option<CacheRequest>,
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn new(inner: F, tags: Option<Bytes>, cache: Option<CacheRequest>) -> Self {
        Self { inner, tags, cache }
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
    type Output = Result<Response<ResponseBody<B>>, E>;

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
            ResponseBody::new(body, tags),
        )))
    }
}
