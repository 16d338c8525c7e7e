//! The response body of `TraceContext`: the server span lives until the
//! body ends.

use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use http_body::{Body, Frame, SizeHint};
use opentelemetry::Context;
use pin_project_lite::pin_project;

use crate::grpc;
use crate::span::Recorder;

pin_project! {
    /// Response body of [`TraceContext`](crate::server::TraceContext): the
    /// inner body, with the server span entered (and, without an
    /// OpenTelemetry layer, the incoming context made current) while it is
    /// polled, so work done while streaming belongs to the request's span.
    /// The span ends when the body ends, fails or is dropped; a `grpc-status`
    /// in the trailers (for grpc-web, in the body's trailer frame) is
    /// recorded on it first.
    pub struct ResponseBody<B> {
        #[pin]
        inner: B,
        span: Recorder,
        attach: Option<Context>,
        // A grpc-web response: its trailers are a frame of the body.
        // Boxed: every other response keeps the body small.
        web: Option<Box<grpc::WebFrames>>,
    }
}

impl<B> ResponseBody<B> {
    pub(crate) fn new(inner: B, span: Recorder, attach: Option<Context>, web: bool) -> Self {
        Self {
            inner,
            span,
            attach,
            web: web.then(Box::default),
        }
    }

    /// The wrapped body.
    pub fn get_ref(&self) -> &B {
        &self.inner
    }

    /// Unwraps the body (the span ends here).
    pub fn into_inner(self) -> B {
        self.inner
    }
}

impl<B> std::fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseBody")
            .field("span", &self.span)
            .finish_non_exhaustive()
    }
}

impl<B: Body> Body for ResponseBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let this = self.project();
        let polled = this
            .span
            .in_scope(this.attach.as_ref(), || this.inner.poll_frame(cx));
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(trailers) = grpc::frame_trailers(frame, this.web.as_deref_mut()) {
                    grpc::record_status(&trailers, grpc::Side::Server, this.span);
                }
            }
            Poll::Ready(Some(Err(_))) => {
                // `error.type`: the body's error type.
                this.span.error(std::any::type_name::<B::Error>());
                this.span.end();
                *this.attach = None;
            }
            // The body is done: end the span now, not when the connection
            // gets round to dropping the body.
            Poll::Ready(None) => {
                this.span.end();
                *this.attach = None;
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
