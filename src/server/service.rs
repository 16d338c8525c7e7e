//! The `TraceContext` service.

use std::fmt;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

#[cfg(feature = "sentry")]
use http::HeaderValue;
use http::header::{ACCESS_CONTROL_REQUEST_METHOD, ORIGIN};
use http::{HeaderMap, Method, Request, Response};
use opentelemetry::Context;
use opentelemetry::trace::{SpanContext, TraceContextExt};
use tower_service::Service;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::baggage::BaggageView;
use crate::context::TraceContextHeaders;
use crate::error::ParseError;
use crate::headers::BAGGAGE;
#[cfg(feature = "sentry")]
use crate::sentry::SentryTrace;
use crate::server::future::{ResponseFuture, ResponseState};
use crate::server::layer::Config;
#[cfg(feature = "sentry")]
use crate::server::policy::SentryPrecedence;
use crate::server::policy::{RequestHead, Trust};
use crate::server::{Decision, DefaultMakeSpan, MakeSpan, RequestTrace, TraceContextLayer};
use crate::traceparent::TraceParent;

/// Middleware that continues the caller's W3C trace in a server span; made
/// by [`TraceContextLayer`].
pub struct TraceContext<S, M = DefaultMakeSpan> {
    inner: S,
    config: Arc<Config>,
    make_span: M,
}

impl<S> TraceContext<S> {
    /// Wraps `inner` with the default configuration.
    ///
    /// ```
    /// use tower_trace_context::server::TraceContext;
    /// let svc = TraceContext::new(tower::service_fn(|_: http::Request<()>| async {
    ///     Ok::<_, std::convert::Infallible>(http::Response::new(()))
    /// }));
    /// # let _ = svc;
    /// ```
    pub fn new(inner: S) -> Self {
        Self::from_parts(inner, Arc::default(), DefaultMakeSpan::new())
    }
}

impl TraceContext<()> {
    /// The default layer, [`TraceContextLayer::new`].
    ///
    /// ```
    /// # use tower_trace_context::server::TraceContext;
    /// let layer = TraceContext::layer();
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn layer() -> TraceContextLayer {
        TraceContextLayer::new()
    }
}

impl<S, M> TraceContext<S, M> {
    pub(crate) fn from_parts(inner: S, config: Arc<Config>, make_span: M) -> Self {
        Self {
            inner,
            config,
            make_span,
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

impl<S: Clone, M: Clone> Clone for TraceContext<S, M> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            config: self.config.clone(),
            make_span: self.make_span.clone(),
        }
    }
}

impl<S: fmt::Debug, M> fmt::Debug for TraceContext<S, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TraceContext")
            .field("inner", &self.inner)
            .field("config", &self.config)
            .field("make_span", &std::any::type_name::<M>())
            .finish()
    }
}

impl<S, M, ReqBody, ResBody> Service<Request<ReqBody>> for TraceContext<S, M>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    M: MakeSpan<ReqBody>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let span = self.make_span.make_span(&req);

        // Decide what to do with the incoming context, and wire the parent
        // before the span is entered or started.
        let parsed = TraceContextHeaders::from_headers(req.headers());
        let incoming = parsed.map(|p| p.traceparent());
        let found = self.remote_span_context(parsed, req.headers());
        let mut trust = None;
        let mut trust_for =
            || *trust.get_or_insert_with(|| self.config.trust_for(&RequestHead::of(&req)));
        let (decision, remote) = match found {
            Ok((sc, continued)) => match trust_for() {
                Trust::Continue => (continued, Some(Context::new().with_remote_span_context(sc))),
                Trust::NewRootWithLink => {
                    let _ = span.set_parent(Context::new());
                    span.add_link(sc);
                    (Decision::NotTrusted(Trust::NewRootWithLink), None)
                }
                trust => (Decision::NotTrusted(trust), None),
            },
            Err(err) => (Decision::NewTrace(err), None),
        };
        // Baggage travels with requests the policy trusts.
        let remote = match self.config.baggage && req.headers().contains_key(BAGGAGE) {
            true if trust_for() == Trust::Continue => {
                match BaggageView::from_headers(req.headers()) {
                    Ok(view) if !view.is_empty() => {
                        Some(view.attach_to(&remote.unwrap_or_default()))
                    }
                    Ok(_) => remote,
                    Err(err) => {
                        tracing::debug!(
                            target: "tower_trace_context",
                            parent: &span,
                            reason = err.as_str(),
                            "incoming baggage dropped: {err}"
                        );
                        remote
                    }
                }
            }
            _ => remote,
        };
        if let Some(remote) = &remote {
            let _ = span.set_parent(remote.clone());
        }
        match decision {
            Decision::NotTrusted(trust) => tracing::debug!(
                target: "tower_trace_context",
                parent: &span,
                policy = trust.as_str(),
                "incoming trace context not continued: trust policy"
            ),
            Decision::NewTrace(err) => tracing::debug!(
                target: "tower_trace_context",
                parent: &span,
                reason = err.as_str(),
                "incoming trace context not continued: {err}"
            ),
            _ => {}
        }

        // The server span's own context. Without an OpenTelemetry layer (or
        // with the span filtered out) it is invalid: then the incoming
        // context is passed through unchanged to code that reads the current
        // OpenTelemetry context, and no server-timing is written.
        let server_cx = span.context();
        let server_span = server_cx.span().span_context().is_valid();
        let otel = server_span.then(|| server_cx.clone());
        let (cx, attach) = match (server_span, remote) {
            (true, _) => (server_cx, None),
            (false, Some(remote)) => (remote.clone(), Some(remote)),
            (false, None) => (Context::new(), None),
        };

        let server_timing = match (&self.config.server_timing, server_span) {
            (Some(name), true) => {
                TraceParent::from_span_context(cx.span().span_context()).map(|tp| name.entry(&tp))
            }
            _ => None,
        };
        let trace = RequestTrace {
            cx,
            incoming,
            decision,
            server_span,
            #[cfg(feature = "sentry")]
            sentry: self.config.sentry.clone(),
        };
        #[cfg(feature = "sentry")]
        let sentry_timing = match &self.config.sentry {
            Some(support) if support.server_timing => sentry_server_timing(&trace),
            _ => Vec::new(),
        };
        let state = ResponseState {
            #[cfg(feature = "sentry")]
            sentry_timing,
            config: self.config.clone(),
            origin: req.headers().get(ORIGIN).cloned(),
            preflight: req.method() == Method::OPTIONS
                && req.headers().contains_key(ACCESS_CONTROL_REQUEST_METHOD),
            server_timing,
        };
        req.extensions_mut().insert(trace);

        // The inner future runs inside the span: `ResponseFuture` enters it
        // on every poll, which is where handlers do their work.
        let future = {
            let _attached = attach.clone().map(Context::attach);
            self.inner.call(req)
        };
        ResponseFuture::new(future, span, state, attach, otel)
    }
}

impl<S, M> TraceContext<S, M> {
    /// The remote span context to continue and how it was found, or why
    /// there is none.
    fn remote_span_context(
        &self,
        parsed: Result<TraceContextHeaders<'_>, ParseError>,
        headers: &HeaderMap,
    ) -> Result<(SpanContext, Decision), ParseError> {
        let w3c = parsed.map(|p| (p.span_context(), Decision::Continued));
        #[cfg(feature = "sentry")]
        if let Some(support) = &self.config.sentry {
            let sentry = || {
                let st = SentryTrace::from_headers(headers).ok()?;
                let deferred = match st.sampled() {
                    Some(_) => support.deferred_sampled,
                    None => sentry_sampled_baggage(headers).unwrap_or(support.deferred_sampled),
                };
                Some((
                    st.span_context(deferred),
                    Decision::ContinuedFromSentryTrace,
                ))
            };
            return match (support.precedence, w3c) {
                (SentryPrecedence::TraceparentFirst, Ok(found)) => Ok(found),
                (SentryPrecedence::TraceparentFirst, Err(err)) => sentry().ok_or(err),
                (SentryPrecedence::SentryTraceFirst, w3c) => sentry().map_or(w3c, Ok),
            };
        }
        #[cfg(not(feature = "sentry"))]
        let _ = headers;
        w3c
    }
}

/// `sentry-sampled` from the incoming baggage (Sentry's dynamic sampling
/// context), for a `sentry-trace` that defers the decision.
#[cfg(feature = "sentry")]
fn sentry_sampled_baggage(headers: &HeaderMap) -> Option<bool> {
    let view = BaggageView::from_headers(headers).ok()?;
    match view.get("sentry-sampled")?.value() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// The `sentry-trace` and `baggage` Server-Timing entries for the server
/// span (none without one).
#[cfg(feature = "sentry")]
fn sentry_server_timing(trace: &RequestTrace) -> Vec<HeaderValue> {
    use crate::response_headers::server_timing_entry;
    let Some(st) = trace.sentry_trace() else {
        return Vec::new();
    };
    let mut entries = Vec::with_capacity(2);
    entries.extend(server_timing_entry(
        "sentry-trace",
        st.to_string().as_bytes(),
    ));
    if let Some(baggage) = trace.sentry_baggage() {
        entries.extend(server_timing_entry("baggage", baggage.as_bytes()));
    }
    entries
}
