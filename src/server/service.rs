//! The `TraceContext` service.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context as TaskContext, Poll};

use http::header::{ACCESS_CONTROL_REQUEST_METHOD, ORIGIN};
use http::{Method, Request, Response};
use opentelemetry::Context;
use opentelemetry::trace::TraceContextExt;
use tower_service::Service;
use tracing::subscriber::NoSubscriber;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::error::TraceParentError;
use crate::grpc::{Grpc, service_and_method};
use crate::server::CacheRequest;
use crate::server::Config;
use crate::server::future::{ResponseFuture, ResponseState};
use crate::server::resolve::{Resolved, otel_parent, resolve, unlinked};
use crate::server::{
    Decision, DefaultMakeSpan, MakeSpan, RequestTrace, TraceContextLayer, Unlinked,
};
use crate::span::{Recorder, SpanPath};

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

/// A tonic service keeps its gRPC name through the layer, so
/// `Server::builder().add_service(layer.layer(svc))` routes to it.
///
/// ```
/// # use tower_trace_context::server::TraceContext;
/// struct Greeter;
/// impl tonic::server::NamedService for Greeter {
///     const NAME: &'static str = "hello.Greeter";
/// }
/// fn name<S: tonic::server::NamedService>(_: &S) -> &'static str {
///     S::NAME
/// }
/// assert_eq!(name(&TraceContext::new(Greeter)), "hello.Greeter");
/// ```
#[cfg(feature = "tonic")]
#[cfg_attr(docsrs, doc(cfg(feature = "tonic")))]
impl<S: tonic::server::NamedService, M> tonic::server::NamedService for TraceContext<S, M> {
    const NAME: &'static str = S::NAME;
}

impl<S, M, ReqBody, ResBody> Service<Request<ReqBody>> for TraceContext<S, M>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    M: MakeSpan<ReqBody>,
{
    type Response = Response<crate::server::ResponseBody<ResBody>>;
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
        let config = &*self.config;
        let grpc = Grpc::of(req.headers());
        let Opened {
            span,
            cx,
            attach,
            server_span,
            incoming,
            decision,
        } = match config.span_path {
            SpanPath::Tracing => open_tracing(config, &mut self.make_span, &req, grpc),
            SpanPath::OpenTelemetry => open_opentelemetry(config, &req, grpc),
        };
        let trace = RequestTrace {
            cx,
            incoming,
            decision,
            server_span,
            formats: config.formats.for_request(),
        };
        // A gRPC client is no browser: no browser headers, unless asked.
        let browser = config.grpc_browser_headers || grpc != Some(Grpc::Plain);
        let traceparent = match config.server_timing.is_empty() || !server_span || !browser {
            true => None,
            false => trace.traceparent(),
        };
        let format_timing = match browser {
            true => config.formats.server_timing(&trace),
            false => Vec::new(),
        };
        let state = ResponseState {
            format_timing,
            config: self.config.clone(),
            origin: req.headers().get(ORIGIN).filter(|_| browser).cloned(),
            preflight,
            trace_headers: true,
            cache: match config.trace_cacheable_responses {
                true => CacheRequest::NOT_CACHEABLE,
                false => CacheRequest::of(req.method(), req.headers()),
            },
            traceparent,
            start: start.filter(|_| browser),
            grpc,
        };
        req.extensions_mut().insert(trace);

        // The inner future runs inside the span: `ResponseFuture` enters it
        // (or makes the direct path's context current) on every poll, which
        // is where handlers do their work.
        let future = span.in_context(attach.as_ref(), || self.inner.call(req));
        ResponseFuture::new(future, span, state, attach)
    }
}

/// The server span of a request, opened on either path.
struct Opened {
    span: Recorder,
    /// The context handlers and outgoing calls see (`RequestTrace`).
    cx: Context,
    /// The context made current while polling when there is no span of
    /// this service (the incoming one, passed through).
    attach: Option<Context>,
    /// Whether `cx` holds a span of this service.
    server_span: bool,
    incoming: Result<crate::wire::traceparent::TraceParent, TraceParentError>,
    decision: Decision,
}

impl Opened {
    /// No span of this service: `remote` (if any) is passed through.
    fn passed_through(
        span: Recorder,
        remote: Option<Context>,
        incoming: Result<crate::wire::traceparent::TraceParent, TraceParentError>,
        decision: Decision,
    ) -> Self {
        let (cx, attach) = match remote {
            Some(remote) => (remote.clone(), Some(remote)),
            None => (Context::new(), None),
        };
        Self {
            span,
            cx,
            attach,
            server_span: false,
            incoming,
            decision,
        }
    }
}

/// The `tracing` path: the span `make_span` makes, parented by
/// tracing-opentelemetry; the default span's OpenTelemetry-only attributes
/// in one batch when it records.
fn open_tracing<B, M: MakeSpan<B>>(
    config: &Config,
    make_span: &mut M,
    req: &Request<B>,
    grpc: Option<Grpc>,
) -> Opened {
    let span = make_span.make_span(req);
    // Tracing off (no subscriber, or the span filtered out): no
    // OpenTelemetry types are built for the span; the incoming context is
    // still passed through.
    let traced = !span.is_disabled()
        && span
            .with_subscriber(|(_, dispatch)| !dispatch.is::<NoSubscriber>())
            .unwrap_or(false);
    let Resolved {
        incoming,
        mut decision,
        remote,
        link: _,
    } = resolve(config, req, Some(&span), traced);

    // The server span's own context. Without an OpenTelemetry layer (or
    // with the span filtered out) it is invalid: then the incoming context
    // is passed through unchanged to code that reads the current
    // OpenTelemetry context, and no server-timing is written.
    let server_cx = match traced {
        true => span.context(),
        false => Context::new(),
    };
    if !server_cx.span().span_context().is_valid() {
        if traced {
            warn_no_opentelemetry_layer();
            decision = unlinked(decision, Unlinked::NoOpenTelemetryLayer);
        }
        return Opened::passed_through(Recorder::tracing(span, None), remote, incoming, decision);
    }
    let recorder = Recorder::tracing(span, Some(server_cx.clone()));
    if recorder.is_recording() && make_span.layer_attributes() {
        let mut attributes = Vec::with_capacity(12);
        let call = grpc.and_then(|_| service_and_method(req.uri().path()));
        crate::server::make_span::attributes(req, call, false, &mut attributes);
        server_cx.span().set_attributes(attributes);
    }
    Opened {
        span: recorder,
        cx: server_cx,
        attach: None,
        server_span: true,
        incoming,
        decision,
    }
}

/// The direct path: an OpenTelemetry span started with the remote parent
/// (or the current context), no `tracing` span.
fn open_opentelemetry<B>(config: &Config, req: &Request<B>, grpc: Option<Grpc>) -> Opened {
    let call = grpc.and_then(|_| service_and_method(req.uri().path()));
    let resolved = resolve(config, req, None, true);
    let parent = otel_parent(&resolved, config.random_trace_ids);
    let Resolved {
        incoming,
        mut decision,
        remote,
        link,
    } = resolved;
    match config
        .tracer
        .with(|tracer| crate::server::span_path::start(tracer, req, call, &parent, link.clone()))
    {
        Some((cx, recording)) => Opened {
            span: Recorder::opentelemetry(cx.clone(), recording),
            cx,
            attach: None,
            server_span: true,
            incoming,
            decision,
        },
        None => {
            // Never name the caller's span as ours: no server span.
            crate::span::warn_no_tracer_provider("server");
            decision = unlinked(decision, Unlinked::NoTracerProvider);
            Opened::passed_through(Recorder::none(), remote, incoming, decision)
        }
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
            format_timing: Vec::new(),
            config: self.config.clone(),
            origin: req.headers().get(ORIGIN).cloned(),
            preflight: true,
            trace_headers: false,
            cache: CacheRequest::NOT_CACHEABLE,
            traceparent: None,
            start: None,
            grpc: None,
        };
        req.extensions_mut().insert(RequestTrace {
            cx: Context::new(),
            incoming: Err(TraceParentError::Missing),
            decision: Decision::Preflight,
            server_span: false,
            formats: self.config.formats.for_request(),
        });
        ResponseFuture::new(self.inner.call(req), Recorder::none(), state, None)
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
