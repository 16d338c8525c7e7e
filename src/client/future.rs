//! The response future of `Propagate`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use pin_project_lite::pin_project;
use tracing::Span;

use crate::client::OutgoingResponse;
use crate::client::propagate::{record_error, record_status};

pin_project! {
    /// Response future of [`Propagate`](crate::client::Propagate): polls the
    /// inner future inside the client span and records the outcome.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        span: Span,
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn new(inner: F, span: Span) -> Self {
        Self { inner, span }
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("span", &self.span)
            .finish_non_exhaustive()
    }
}

impl<F, T, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<T, E>>,
    T: OutgoingResponse,
    E: std::fmt::Display,
{
    type Output = Result<T, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let _enter = this.span.enter();
        let result = ready!(this.inner.poll(cx));
        match &result {
            Ok(response) => record_status(this.span, response.status()),
            Err(error) => record_error(this.span, error),
        }
        Poll::Ready(result)
    }
}
