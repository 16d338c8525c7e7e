//! The response body of `Propagate`: the client span lives until the body
//! ends.

use std::pin::Pin;
use std::task::{Context, Poll};

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use crate::client::ClientSpan;
use crate::grpc;

pin_project! {
    /// Response body of [`Propagate`](crate::client::Propagate) over
    /// `http::Response<B>`: the inner body, holding the client span until
    /// the body ends, fails or is dropped, so a streamed response (a gRPC
    /// stream, a large download) is timed whole. A `grpc-status` in the
    /// trailers (for grpc-web, in the body's trailer frame) is recorded on
    /// the span first.
    pub struct ResponseBody<B> {
        #[pin]
        inner: B,
        span: Option<ClientSpan>,
        // A grpc-web response: its trailers are a frame of the body.
        web: Option<Box<grpc::WebFrames>>,
    }
}

impl<B> ResponseBody<B> {
    /// `web`: the body is grpc-web (binary, not compressed) and its trailer
    /// frame is read for the status.
    pub(crate) fn new(inner: B, span: ClientSpan, web: bool) -> Self {
        Self {
            inner,
            span: Some(span),
            web: web.then(Box::default),
        }
    }

    /// The wrapped body.
    pub fn get_ref(&self) -> &B {
        &self.inner
    }

    /// The wrapped body, mutably.
    pub fn get_mut(&mut self) -> &mut B {
        &mut self.inner
    }

    /// Unwraps the body (the client span ends here).
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
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let this = self.project();
        let polled = this.inner.poll_frame(cx);
        match (&polled, this.span.as_mut()) {
            (Poll::Ready(Some(Ok(frame))), Some(span)) if span.grpc => {
                if let Some(trailers) = grpc::frame_trailers(frame, this.web.as_deref_mut()) {
                    let side = grpc::Side::Client;
                    span.status_seen |= grpc::record_status(&trailers, side, &span.span);
                }
            }
            (Poll::Ready(Some(Err(_))), Some(span)) => {
                // `error.type`: the body's error type.
                span.span.error(std::any::type_name::<B::Error>());
                *this.span = None;
            }
            (Poll::Ready(None), Some(span)) => {
                if span.grpc && !span.status_seen {
                    span.span.grpc_missing_status();
                }
                *this.span = None;
            }
            _ => {}
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
