//! The `TraceContext` service.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context as TaskContext, Poll};

#[cfg(feature = "sentry")]
use http::HeaderValue;
use http::header::{ACCESS_CONTROL_REQUEST_METHOD, ORIGIN};
use http::{HeaderMap, Method, Request, Response};
use opentelemetry::Context;
use opentelemetry::trace::{SpanContext, TraceContextExt};
use tower_service::Service;
use tracing::Span;
use tracing::subscriber::NoSubscriber;
use tracing_opentelemetry::{OpenTelemetrySpanExt, SetParentError};

use crate::error::{BaggageError, TraceParentError};
use crate::propagation::{WireContext, WireTrace, remote_from_headers};
#[cfg(feature = "sentry")]
use crate::sentry::SentryPrecedence;
#[cfg(feature = "sentry")]
use crate::sentry::SentryTrace;
use crate::server::CacheRequest;
use crate::server::Config;
use crate::server::future::{ResponseFuture, ResponseState};
use crate::server::policy::{RequestHead, Trust};
use crate::server::{
    Decision, DefaultMakeSpan, MakeSpan, RequestTrace, TraceContextLayer, Unlinked,
};
use crate::wire::baggage::BaggageView;
use crate::wire::headers::BAGGAGE;
use crate::wire::traceparent::TraceParent;

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
        let preflight = req.method() == Method::OPTIONS
            && req.headers().contains_key(ACCESS_CONTROL_REQUEST_METHOD);
        if preflight && !self.config.trace_preflights {
            return self.preflight(req);
        }
        let start = self
            .config
            .server_timing_duration
            .is_some()
            .then(std::time::Instant::now);
        let span = self.make_span.make_span(&req);
        // Tracing off (no subscriber, or the span filtered out): no
        // OpenTelemetry types are built for the span; the incoming context
        // is still passed through.
        let traced = !span.is_disabled()
            && span
                .with_subscriber(|(_, dispatch)| !dispatch.is::<NoSubscriber>())
                .unwrap_or(false);
        let config = &*self.config;

        // Everything is parsed once, here: the wire context is the source
        // of truth, OpenTelemetry's types are views of it.
        let headers = req.headers();
        let w3c = remote_from_headers(headers, traced, config.random_trace_ids);
        let incoming = w3c.as_ref().map(|(tp, _, _)| *tp).map_err(|err| *err);
        let baggage = match config.baggage && headers.contains_key(BAGGAGE) {
            true => Some(BaggageView::from_headers(headers)),
            false => None,
        };
        let found = self.remote(w3c, headers, baggage.as_ref(), traced);
        let has_baggage = matches!(&baggage, Some(Ok(view)) if !view.is_empty());
        let trust = match found.is_ok() || has_baggage {
            true => config.trust_for(&RequestHead::of(&req)),
            false => Trust::Continue,
        };
        // Baggage travels with requests the policy trusts, also when they
        // start a new trace.
        let baggage = match trust {
            Trust::Continue => baggage.as_ref(),
            _ => None,
        };
        let random = config.random_trace_ids;
        let (mut decision, remote) = match found {
            Ok((sc, wire, continued)) => match trust {
                Trust::Continue => (
                    continued,
                    Some(remote_context(
                        Some((sc, wire)),
                        baggage,
                        random,
                        traced,
                        &span,
                    )),
                ),
                Trust::NewRootWithLink => {
                    if traced {
                        let _ = span.set_parent(Context::new());
                        span.add_link(sc);
                    }
                    (Decision::NotTrusted(Trust::NewRootWithLink), None)
                }
                trust => (Decision::NotTrusted(trust), None),
            },
            Err(err) => {
                let remote =
                    has_baggage.then(|| remote_context(None, baggage, random, traced, &span));
                (Decision::NewTrace(err), remote)
            }
        };
        match (&remote, traced) {
            (Some(remote), true) => {
                if let Err(SetParentError::LayerNotFound) = span.set_parent(remote.clone()) {
                    decision = unlinked(decision, Unlinked::NoOpenTelemetryLayer);
                }
            }
            (Some(_), false) => decision = unlinked(decision, Unlinked::SpanDisabled),
            (None, true) if random => {
                // Mark traces started under this span as random-id ones.
                let parent = match Span::current().context() {
                    cx if cx.has_active_span() => cx,
                    _ => Context::current(),
                };
                let marked = WireContext {
                    random_trace_ids: true,
                    ..WireContext::default()
                }
                .merge_into(&parent);
                let _ = span.set_parent(marked);
            }
            (None, _) => {}
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
        let server_cx = match traced {
            true => span.context(),
            false => Context::new(),
        };
        let server_span = server_cx.span().span_context().is_valid();
        if traced && !server_span {
            warn_no_opentelemetry_layer();
            decision = unlinked(decision, Unlinked::NoOpenTelemetryLayer);
        }
        let otel = server_span.then(|| server_cx.clone());
        let (cx, attach) = match (server_span, remote) {
            (true, _) => (server_cx, None),
            (false, Some(remote)) => (remote.clone(), Some(remote)),
            (false, None) => (Context::new(), None),
        };

        let trace = RequestTrace {
            cx,
            incoming,
            decision,
            server_span,
            #[cfg(feature = "sentry")]
            sentry: config.sentry.clone(),
        };
        let traceparent = match config.server_timing.is_empty() || !server_span {
            true => None,
            false => trace.traceparent(),
        };
        #[cfg(feature = "sentry")]
        let sentry_timing = match &config.sentry {
            Some(support) if support.server_timing => sentry_server_timing(&trace),
            _ => Vec::new(),
        };
        let state = ResponseState {
            #[cfg(feature = "sentry")]
            sentry_timing,
            config: self.config.clone(),
            origin: req.headers().get(ORIGIN).cloned(),
            preflight,
            trace_headers: true,
            cache: match config.trace_cacheable_responses {
                true => CacheRequest::NOT_CACHEABLE,
                false => CacheRequest::of(req.method(), req.headers()),
            },
            traceparent,
            start,
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
    /// A CORS preflight, untraced: no span, nothing parsed, only the
    /// `Access-Control-Allow-Headers` merge on the response.
    fn preflight<ReqBody, ResBody>(
        &mut self,
        mut req: Request<ReqBody>,
    ) -> ResponseFuture<S::Future>
    where
        S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    {
        let state = ResponseState {
            #[cfg(feature = "sentry")]
            sentry_timing: Vec::new(),
            config: self.config.clone(),
            origin: req.headers().get(ORIGIN).cloned(),
            preflight: true,
            trace_headers: false,
            cache: CacheRequest::NOT_CACHEABLE,
            traceparent: None,
            start: None,
        };
        req.extensions_mut().insert(RequestTrace {
            cx: Context::new(),
            incoming: Err(TraceParentError::Missing),
            decision: Decision::Preflight,
            server_span: false,
            #[cfg(feature = "sentry")]
            sentry: self.config.sentry.clone(),
        });
        ResponseFuture::new(self.inner.call(req), Span::none(), state, None, None)
    }
}

/// Logs, once per process, that the server span has no OpenTelemetry
/// context: the subscriber has no tracing-opentelemetry layer of the
/// version this crate uses (or that layer filters the span out).
fn warn_no_opentelemetry_layer() {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !WARNED.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            target: "tower_trace_context",
            "the server span has no OpenTelemetry context, so traces are not continued and no \
             server-timing is written: the tracing subscriber has no tracing-opentelemetry layer of \
             the version tower-trace-context uses (tracing-opentelemetry {}, \
             opentelemetry {}), or that layer filters the span out; align the versions, \
             e.g. through the re-exports tower_trace_context::opentelemetry and \
             tower_trace_context::tracing_opentelemetry (logged once)",
            crate::TRACING_OPENTELEMETRY_VERSION,
            crate::OPENTELEMETRY_VERSION,
        );
    }
}

/// A continued decision turned into "passed through" when there is no
/// server span; other decisions stay.
fn unlinked(decision: Decision, why: Unlinked) -> Decision {
    match decision {
        Decision::Continued => Decision::PassedThrough(why),
        #[cfg(feature = "sentry")]
        Decision::ContinuedFromSentryTrace => Decision::PassedThrough(why),
        other => other,
    }
}

/// The context a trusted request continues: the remote span context and the
/// wire context it came from (when there is one), and its baggage.
fn remote_context(
    remote: Option<(SpanContext, Option<WireTrace>)>,
    baggage: Option<&Result<BaggageView<'_>, BaggageError>>,
    random_trace_ids: bool,
    convert: bool,
    span: &Span,
) -> Context {
    let (cx, trace) = match remote {
        Some((sc, trace)) => (Context::new().with_remote_span_context(sc), trace),
        None => (Context::new(), None),
    };
    let (cx, baggage) = match baggage {
        // With tracing off, OpenTelemetry's `Baggage` is built only if the
        // application asks for it (`RequestTrace::baggage`).
        Some(Ok(view)) if !view.is_empty() => match view.wire() {
            Some(mut wire) if convert => (wire.attach(&cx, view.to_baggage()), Some(wire)),
            wire => (cx, wire),
        },
        Some(Err(err)) => {
            tracing::debug!(
                target: "tower_trace_context",
                parent: span,
                reason = err.as_str(),
                "incoming baggage dropped: {err}"
            );
            (cx, None)
        }
        _ => (cx, None),
    };
    match trace.is_some() || baggage.is_some() || random_trace_ids {
        true => cx.with_value(WireContext {
            trace,
            baggage,
            random_trace_ids,
        }),
        false => cx,
    }
}

impl<S, M> TraceContext<S, M> {
    /// The remote span context to continue, its wire context and how it
    /// was found, or why there is none. The span context's `TraceState` is
    /// built only when `convert` (a span will read it).
    fn remote(
        &self,
        w3c: Result<(TraceParent, SpanContext, Option<WireTrace>), TraceParentError>,
        headers: &HeaderMap,
        baggage: Option<&Result<BaggageView<'_>, BaggageError>>,
        convert: bool,
    ) -> Result<(SpanContext, Option<WireTrace>, Decision), TraceParentError> {
        let w3c = w3c.map(|(_, sc, wire)| (sc, wire, Decision::Continued));
        #[cfg(feature = "sentry")]
        if let Some(support) = &self.config.sentry {
            let sentry = || {
                let st = SentryTrace::from_headers(headers).ok()?;
                let deferred = match st.sampled() {
                    Some(_) => support.deferred_sampled,
                    None => baggage
                        .and_then(|b| b.as_ref().ok())
                        .and_then(sentry_sampled_baggage)
                        .unwrap_or(support.deferred_sampled),
                };
                let sc = st.span_context(deferred);
                // `sentry-trace` has no `random` flag: a wire context is only
                // needed to tell this trace from new ones.
                let wire = match self.config.random_trace_ids {
                    true => TraceParent::from_span_context(&sc).map(|traceparent| WireTrace {
                        traceparent,
                        tracestate: None,
                        converted: convert,
                    }),
                    false => None,
                };
                Some((sc, wire, Decision::ContinuedFromSentryTrace))
            };
            return match (support.precedence, w3c) {
                (SentryPrecedence::TraceparentFirst, Ok(found)) => Ok(found),
                (SentryPrecedence::TraceparentFirst, Err(err)) => sentry().ok_or(err),
                (SentryPrecedence::SentryTraceFirst, w3c) => sentry().map_or(w3c, Ok),
            };
        }
        #[cfg(not(feature = "sentry"))]
        let _ = (headers, baggage, convert);
        w3c
    }
}

/// `sentry-sampled` from the incoming baggage (Sentry's dynamic sampling
/// context), for a `sentry-trace` that defers the decision.
#[cfg(feature = "sentry")]
fn sentry_sampled_baggage(view: &BaggageView<'_>) -> Option<bool> {
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
    use crate::server::response_headers::server_timing_entry;
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

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use http::{HeaderMap, Request, Response};
    use opentelemetry::trace::TracerProvider as _;
    use tower::{ServiceExt, service_fn};
    use tower_layer::Layer;
    use tracing_subscriber::layer::SubscriberExt;

    use crate::server::{RequestTrace, TraceContextLayer};
    use crate::wire::baggage::VALIDATIONS;
    use crate::wire::headers::BAGGAGE;

    const BAGGAGE_VALUE: &str =
        "sentry-trace_id=4bf92f3577b34da6a3ce929d0e0e4736, sentry-sampled=true,tenant=acme;p";

    /// Server layer (Sentry interop on when the feature is), the handler's
    /// outgoing injection and the Sentry Server-Timing entries: the
    /// `baggage` is validated once for all of them.
    #[tokio::test]
    async fn baggage_is_parsed_once_per_request() {
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        let _guard = tracing::subscriber::set_default(subscriber);
        let layer = TraceContextLayer::new();
        #[cfg(feature = "sentry")]
        let layer = layer.sentry(crate::sentry::SentrySupport::new());
        let svc = layer.layer(service_fn(|req: Request<()>| async move {
            let trace = req.extensions().get::<RequestTrace>().unwrap();
            let mut out = HeaderMap::new();
            crate::propagation::inject_baggage(trace.context(), &mut out);
            Ok::<_, Infallible>(Response::new(out))
        }));
        for headers in [
            [(
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            )],
            [(
                "sentry-trace",
                "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            )],
        ] {
            let mut req = Request::get("/").header(BAGGAGE, BAGGAGE_VALUE);
            for (name, value) in headers {
                req = req.header(name, value);
            }
            VALIDATIONS.with(|n| n.set(0));
            let res = svc.clone().oneshot(req.body(()).unwrap()).await.unwrap();
            assert_eq!(VALIDATIONS.with(|n| n.get()), 1, "{headers:?}");
            assert_eq!(res.body()[BAGGAGE], BAGGAGE_VALUE);
            #[cfg(feature = "sentry")]
            assert!(
                res.headers()
                    .get_all("server-timing")
                    .iter()
                    .any(|v| v.to_str().unwrap().starts_with("baggage;")),
                "{res:?}"
            );
        }
    }
}
