//! `PropagateLayer` and the `Propagate` service.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use tower_layer::Layer;
use tower_service::Service;

use crate::client::allowlist::Allowlist;
use crate::client::propagate::ClientConfig;
use crate::client::{OutgoingRequest, OutgoingResponse, ResponseFuture};

/// Injects trace context into outgoing requests to allowlisted URLs (see the
/// [module docs](crate::client)).
#[derive(Clone, Debug)]
pub struct PropagateLayer {
    config: Arc<ClientConfig>,
}

impl PropagateLayer {
    /// Propagates to the URLs `allowlist` admits, with a client span per
    /// request, stripping hand-set trace headers from other requests.
    ///
    /// ```
    /// # use tower_trace_context::client::{Allowlist, PropagateLayer};
    /// let layer = PropagateLayer::new(Allowlist::builder().host("api.internal").build()?);
    /// # let _ = layer;
    /// # Ok::<(), tower_trace_context::AllowlistError>(())
    /// ```
    #[must_use]
    pub fn new(allowlist: Allowlist) -> Self {
        Self {
            config: ClientConfig::new(allowlist),
        }
    }

    /// Injects the current span's context without opening a client span.
    ///
    /// ```
    /// # use tower_trace_context::client::{Allowlist, PropagateLayer};
    /// let layer = PropagateLayer::new(Allowlist::all()).without_client_span();
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn without_client_span(mut self) -> Self {
        Arc::make_mut(&mut self.config).client_span = false;
        self
    }

    /// Leaves trace headers the caller set by hand on requests to URLs
    /// outside the allowlist (by default they are removed).
    ///
    /// ```
    /// # use tower_trace_context::client::{Allowlist, PropagateLayer};
    /// let layer = PropagateLayer::new(Allowlist::all()).keep_manual_headers();
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn keep_manual_headers(mut self) -> Self {
        Arc::make_mut(&mut self.config).strip = false;
        self
    }

    /// Whether to forward the W3C baggage of the current OpenTelemetry
    /// context as `baggage` to allowlisted URLs (default on; a second call
    /// replaces the first). A `baggage` set by hand is kept when the context
    /// has none.
    ///
    /// ```
    /// # use tower_trace_context::client::{Allowlist, PropagateLayer};
    /// let layer = PropagateLayer::new(Allowlist::all()).baggage(false);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn baggage(mut self, enabled: bool) -> Self {
        Arc::make_mut(&mut self.config).baggage = enabled;
        self
    }

    /// Whether to send Sentry's `sentry-trace` (`<trace>-<span>-<0|1>`)
    /// alongside `traceparent` to allowlisted URLs (feature `sentry`;
    /// default off; a second call replaces the first). Sentry's dynamic
    /// sampling context travels in `baggage`.
    ///
    /// ```
    /// # use tower_trace_context::client::{Allowlist, PropagateLayer};
    /// let layer = PropagateLayer::new(Allowlist::all()).sentry_trace(true);
    /// # let _ = layer;
    /// ```
    #[cfg(feature = "sentry")]
    #[must_use]
    pub fn sentry_trace(mut self, enabled: bool) -> Self {
        Arc::make_mut(&mut self.config).sentry_trace = enabled;
        self
    }
}

impl<S> Layer<S> for PropagateLayer {
    type Service = Propagate<S>;

    fn layer(&self, inner: S) -> Propagate<S> {
        Propagate {
            inner,
            config: self.config.clone(),
        }
    }
}

/// Middleware made by [`PropagateLayer`].
pub struct Propagate<S> {
    inner: S,
    config: Arc<ClientConfig>,
}

impl<S> Propagate<S> {
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
    type Response = S::Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: R) -> Self::Future {
        let span = self.config.prepare(&mut req);
        let future = {
            let _enter = span.enter();
            self.inner.call(req)
        };
        ResponseFuture::new(future, span)
    }
}
