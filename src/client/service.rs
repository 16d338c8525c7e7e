//! The `Propagate` service.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use tower_service::Service;

use crate::client::allowlist::Allowlist;
use crate::client::future::ResponseFuture;
use crate::client::propagate::ClientConfig;
use crate::client::request::{OutgoingRequest, OutgoingResponse};

/// Middleware made by [`PropagateLayer`](crate::client::PropagateLayer).
pub struct Propagate<S> {
    inner: S,
    config: Arc<ClientConfig>,
}

impl<S> Propagate<S> {
    pub(crate) fn from_parts(inner: S, config: Arc<ClientConfig>) -> Self {
        Self { inner, config }
    }

    /// Wraps `inner`.
    ///
    /// ```
    /// # use tower_trace_context::client::{Allowlist, Propagate};
    /// let svc = Propagate::new(tower::service_fn(|_: http::Request<()>| async {
    ///     Ok::<_, std::io::Error>(http::Response::new(()))
    /// }), Allowlist::all());
    /// # let _ = svc;
    /// ```
    pub fn new(inner: S, allowlist: Allowlist) -> Self {
        Self {
            inner,
            config: ClientConfig::new(allowlist),
        }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: Clone> Clone for Propagate<S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            config: self.config.clone(),
        }
    }
}

impl<S: fmt::Debug> fmt::Debug for Propagate<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Propagate")
            .field("inner", &self.inner)
            .field("config", &self.config)
            .finish()
    }
}

impl<S, R> Service<R> for Propagate<S>
where
    R: OutgoingRequest,
    S: Service<R>,
    S::Response: OutgoingResponse,
    S::Error: fmt::Display,
{
    type Response = <S::Response as OutgoingResponse>::Traced;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: R) -> Self::Future {
        let span = self.config.prepare(&mut req);
        // The client span is never entered: tracing-opentelemetry ends a
        // span at its last exit, so an entered span would end when the
        // response head arrives; never entered, it ends when it is dropped,
        // with the response body. (Entering also costs: each enter makes
        // its OpenTelemetry context current.) Its context reaches the
        // request through the injected headers, not through `Span::current`.
        let future = self.inner.call(req);
        ResponseFuture::new(future, span)
    }
}
