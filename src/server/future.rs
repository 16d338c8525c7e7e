//! The response future of `TraceContext`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, ready};
use std::time::Instant;

use http::header::ACCESS_CONTROL_ALLOW_ORIGIN;
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use opentelemetry::Context;
use pin_project_lite::pin_project;

use crate::grpc;
use crate::server::Config;
use crate::server::ResponseBody;
use crate::server::TimingAllowOrigin;
use crate::server::response_headers::{
    merge_allow_headers, merge_expose_headers, merge_timing_allow_origin,
};
use crate::server::{CacheRequest, shared_cache_may_store};
use crate::span::Recorder;
use crate::wire::headers::SERVER_TIMING;
use crate::wire::traceparent::TraceParent;

/// What the response needs, gathered from the request.
#[derive(Debug)]
pub(crate) struct ResponseState {
    pub(crate) config: Arc<Config>,
    pub(crate) origin: Option<HeaderValue>,
    pub(crate) preflight: bool,
    /// Whether to write the trace response headers (`server-timing`,
    /// `Access-Control-Expose-Headers`, `Timing-Allow-Origin`); without,
    /// only the preflight `Access-Control-Allow-Headers` merge.
    pub(crate) trace_headers: bool,
    /// What the request says about shared caching of the response.
    pub(crate) cache: CacheRequest,
    /// The server span's `traceparent`, for the Server-Timing entries.
    pub(crate) traceparent: Option<TraceParent>,
    /// When the request reached the layer (only when a duration entry is
    /// configured).
    pub(crate) start: Option<Instant>,
    /// The request's kind of gRPC, if any.
    pub(crate) grpc: Option<grpc::Grpc>,
    /// The Server-Timing entries of the other trace formats (e.g.
    /// `sentry-trace` and `baggage`).
    pub(crate) format_timing: Vec<HeaderValue>,
}

impl ResponseState {
    /// Appends and merges response headers; never removes or replaces what
    /// the application (or an inner CORS layer) set.
    fn apply(mut self, status: StatusCode, headers: &mut HeaderMap) {
        if !self.trace_headers {
            if let Some(origin) = &self.origin {
                self.merge_preflight(headers, cors_allows(headers, origin));
            }
            return;
        }
        // A response a shared cache may store names no span: every later
        // visitor would be linked to this one.
        let trace_entries = self.traceparent.is_some() || !self.format_timing.is_empty();
        if trace_entries && !self.config.trace_cacheable_responses {
            if let Some(reason) = shared_cache_may_store(self.cache, status, headers) {
                tracing::debug!(
                    target: "tower_trace_context",
                    reason,
                    "no trace entries in server-timing: a shared cache may store this response"
                );
                self.traceparent = None;
                self.format_timing.clear();
            }
        }
        let mut wrote_server_timing = false;
        if let Some(tp) = &self.traceparent {
            for name in &self.config.server_timing {
                headers.append(SERVER_TIMING, name.entry(tp));
                wrote_server_timing = true;
            }
        }
        if let (Some(name), Some(start)) = (&self.config.server_timing_duration, self.start) {
            headers.append(SERVER_TIMING, name.duration_entry(start.elapsed()));
            wrote_server_timing = true;
        }
        let wrote_server_timing = wrote_server_timing || !self.format_timing.is_empty();
        for value in std::mem::take(&mut self.format_timing) {
            headers.append(SERVER_TIMING, value);
        }
        if let TimingAllowOrigin::Any = self.config.timing_allow_origin {
            merge_timing_allow_origin(headers, &HeaderValue::from_static("*"));
        }
        let Some(origin) = self.origin.take() else {
            return;
        };
        if wrote_server_timing && self.config.expose_server_timing {
            merge_expose_headers(headers);
        }
        let cors_allows_origin = cors_allows(headers, &origin);
        let timing_allowed = match &self.config.timing_allow_origin {
            TimingAllowOrigin::MirrorCors => cors_allows_origin,
            TimingAllowOrigin::Origins(list) => list.contains(&origin),
            TimingAllowOrigin::Any | TimingAllowOrigin::Off => false,
        };
        if timing_allowed {
            merge_timing_allow_origin(headers, &origin);
        }
        self.merge_preflight(headers, cors_allows_origin);
    }

    /// On a preflight the response allows for the origin: the trace headers
    /// into `Access-Control-Allow-Headers`.
    fn merge_preflight(&self, headers: &mut HeaderMap, cors_allows_origin: bool) {
        if self.preflight && cors_allows_origin && !self.config.preflight_allow_headers.is_empty() {
            merge_allow_headers(headers, &self.config.preflight_allow_headers);
        }
    }
}

/// Whether the response lets `origin` read it through CORS
/// (`Access-Control-Allow-Origin` is that origin or `*`).
fn cors_allows(headers: &HeaderMap, origin: &HeaderValue) -> bool {
    headers
        .get(ACCESS_CONTROL_ALLOW_ORIGIN)
        .is_some_and(|allowed| allowed == "*" || allowed == origin)
}

pin_project! {
    /// Response future of [`TraceContext`](crate::server::TraceContext): runs
    /// the inner future inside the server span, then records the status,
    /// adds the trace response headers and hands the span to the
    /// [`ResponseBody`].
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        span: Recorder,
        state: Option<ResponseState>,
        attach: Option<Context>,
    }
}

impl<F> ResponseFuture<F> {
    /// `attach`: the context made current while polling when the layer
    /// has no span of its own (the incoming one, passed through).
    pub(crate) fn new(
        inner: F,
        span: Recorder,
        state: ResponseState,
        attach: Option<Context>,
    ) -> Self {
        Self {
            inner,
            span,
            state: Some(state),
            attach,
        }
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("span", &self.span)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(
            this.span
                .in_scope(this.attach.as_ref(), || this.inner.poll(cx))
        );
        match result {
            Ok(mut response) => {
                let status = response.status();
                this.span.http_status(status, status.is_server_error());
                // gRPC: a trailers-only response's status (one sent in the
                // body's trailers is recorded by `ResponseBody`). Only for
                // gRPC requests: the lookup is not free.
                // Untraced (no span to record on): nothing to look for.
                let grpc = match this.span.is_traced() {
                    true => this.state.as_ref().and_then(|state| state.grpc),
                    false => None,
                };
                if grpc.is_some() {
                    grpc::record_status(response.headers(), grpc::Side::Server, this.span);
                }
                if let Some(state) = this.state.take() {
                    state.apply(status, response.headers_mut());
                }
                // The span lives on with the body: it ends when the body
                // ends, fails or is dropped.
                let span = std::mem::take(this.span);
                let attach = this.attach.take();
                // A grpc-web body is read for its trailer frame, unless it
                // is compressed (`Content-Encoding` other than identity).
                let web =
                    grpc == Some(grpc::Grpc::Web) && grpc::is_readable_grpc_web(response.headers());
                Poll::Ready(Ok(
                    response.map(|body| ResponseBody::new(body, span, attach, web))
                ))
            }
            Err(err) => {
                // `error.type`: the inner service's error type.
                this.span.error(std::any::type_name::<E>());
                this.span.end();
                Poll::Ready(Err(err))
            }
        }
    }
}
