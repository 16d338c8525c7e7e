//! The response body of `Propagate`: the client span lives until the body
//! ends.

use std::pin::Pin;
use std::task::{Context, Poll};

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tracing::Span;

use crate::grpc;

pin_project! {
    /// Response body of [`Propagate`](crate::client::Propagate) over
    /// `http::Response<B>`: the inner body, holding the client span until
    /// the body ends, fails or is dropped, so a streamed response (a gRPC
    /// stream, a large download) is timed whole. The span is entered while
    /// the body is polled. A `grpc-status` in the
    /// trailers is recorded on the span first.
    pub struct ResponseBody<B> {
        #[pin]
        inner: B,
        span: Span,
    }
}

impl<B> ResponseBody<B> {
    pub(crate) fn new(inner: B, span: Span) -> Self {
        Self { inner, span }
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
        // Entered while polled: tracing-opentelemetry ends a span at its
        // last exit, not when it is dropped.
        let polled = {
            let _enter = this.span.enter();
            this.inner.poll_frame(cx)
        };
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(trailers) = frame.trailers_ref() {
                    grpc::record_status(trailers, grpc::Side::Client, this.span, None);
                }
            }
            Poll::Ready(Some(Err(_))) => {
                this.span.record("otel.status_code", "ERROR");
                this.span
                    .record("error.type", std::any::type_name::<B::Error>());
                *this.span = Span::none();
            }
            Poll::Ready(None) => *this.span = Span::none(),
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
