//! The response future of `Propagate`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use pin_project_lite::pin_project;

use crate::client::propagate::{record_error, record_response};
use crate::client::redirect::check_final_url;
use crate::client::{ClientSpan, OutgoingResponse};

pin_project! {
    /// Response future of [`Propagate`](crate::client::Propagate): polls the
    /// inner future, records the outcome and hands
    /// the span to the response
    /// ([`OutgoingResponse::traced`](crate::client::OutgoingResponse::traced)).
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        span: Option<ClientSpan>,
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn new(inner: F, span: ClientSpan) -> Self {
        Self {
            inner,
            span: Some(span),
        }
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
    type Output = Result<T::Traced, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        let mut span = this.span.take().expect("polled after completion");
        Poll::Ready(match result {
            Ok(response) => {
                check_final_url(&span, response.final_url());
                record_response(&mut span, response.status(), response.headers());
                Ok(response.traced(span))
            }
            Err(error) => {
                record_error::<E>(&span);
                Err(error)
            }
        })
    }
}
