//! The `MetaTags` service.

use std::task::{Context, Poll};

use http::{Request, Response};
use http_body::Body;
use tower_service::Service;

use crate::html::body::ResponseBody;
use crate::html::future::ResponseFuture;
use crate::html::tags::TraceMetaTags;
use crate::server::{CacheRequest, RequestTrace};

/// Service made by [`MetaTagsLayer`](crate::html::MetaTagsLayer).
#[derive(Clone, Debug)]
pub struct MetaTags<S> {
    inner: S,
    trace_cacheable_responses: bool,
    datadog: bool,
}

impl<S> MetaTags<S> {
    pub(crate) fn from_parts(inner: S, trace_cacheable_responses: bool, datadog: bool) -> Self {
        Self {
            inner,
            trace_cacheable_responses,
            datadog,
        }
    }

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
    type Response = Response<ResponseBody<ResBody>>;
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
            .map(|tags| match self.datadog {
                true => tags.with_datadog(std::time::SystemTime::now()),
                false => tags,
            })
            .map(|tags| tags.to_bytes());
        let cache = (!self.trace_cacheable_responses)
            .then(|| CacheRequest::of(req.method(), req.headers()));
        ResponseFuture::new(self.inner.call(req), tags, cache)
    }
}
