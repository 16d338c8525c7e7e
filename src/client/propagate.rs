//! The shared per-request logic of the client layer and the
//! reqwest-middleware middleware.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use http::{HeaderMap, HeaderValue};
use opentelemetry::Context;
use opentelemetry::trace::TraceContextExt;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::client::allowlist::{Allowlist, UrlParts};
use crate::client::span::MakeClientSpan;
use crate::client::{ClientRequest, ClientSpan, OutgoingRequest};
use crate::formats::Formats;
use crate::grpc::{self, Grpc};
use crate::propagation::{baggage_value, inject};
use crate::span::{SpanPath, TracerSlot};
use crate::wire::headers::{BAGGAGE, BROWSER_TRACE_HEADERS, SENTRY_TRACE};

#[derive(Clone, Debug)]
pub(crate) struct ClientConfig {
    pub(crate) allowlist: Allowlist,
    pub(crate) client_span: bool,
    pub(crate) strip: bool,
    pub(crate) baggage: bool,
    /// The trace formats besides W3C turned on.
    pub(crate) formats: Formats,
    /// Scheme, host and port path-only request URIs go to.
    pub(crate) origin: Option<(Box<str>, Box<str>, Option<u16>)>,
    /// The span hook; `None`: [`ClientRequest::default_span`].
    pub(crate) make_span: Option<MakeClientSpan>,
    /// How the client span is made.
    pub(crate) span_path: SpanPath,
    /// The direct path's tracer.
    pub(crate) tracer: Arc<TracerSlot>,
}

impl ClientConfig {
    pub(crate) fn new(allowlist: Allowlist) -> Arc<Self> {
        Arc::new(Self {
            allowlist,
            client_span: true,
            strip: true,
            baggage: true,
            formats: Formats::default(),
            origin: None,
            make_span: None,
            span_path: SpanPath::Tracing,
            tracer: Arc::default(),
        })
    }

    /// Opens the client span (or none), and injects or strips trace headers.
    pub(crate) fn prepare<R: OutgoingRequest + ?Sized>(&self, req: &mut R) -> ClientSpan {
        let absolute = req.url();
        // With an origin set, the request goes there (a tonic `Channel`
        // puts its endpoint on every request, whatever URI the client
        // wrote): an absolute URI naming another origin is not where the
        // headers would go, so it gets none.
        let elsewhere = match (&self.origin, &absolute) {
            (Some(origin), Some(url)) => !same_origin(origin, url),
            _ => false,
        };
        let url = absolute.or_else(|| {
            let (scheme, host, port) = self.origin.as_ref()?;
            let (path, query) = req.path_only()?;
            Some(UrlParts::new(scheme, host, *port, path, query))
        });
        let judged = url.is_some();
        let allowed = !elsewhere && url.is_some_and(|url| self.allowlist.matches(&url));
        let kind = Grpc::of(req.headers());
        let mut direct = None;
        // The client span's context, once worked out.
        let mut span_cx = None;
        let span = match (self.client_span, url) {
            (true, Some(url)) if self.span_path == SpanPath::OpenTelemetry => {
                let request =
                    ClientRequest::with_kind(req.method(), url, req.headers(), allowed, kind);
                direct = start_client(&self.tracer, &request);
                if direct.is_none() {
                    crate::span::warn_no_tracer_provider("client");
                }
                Span::none()
            }
            (true, Some(url)) => {
                let request =
                    ClientRequest::with_kind(req.method(), url, req.headers(), allowed, kind);
                match &self.make_span {
                    Some(make_span) => {
                        let span = make_span.0.make_span(&request);
                        // A hook handing back the current span makes no
                        // client span: the call's outcome must not land on
                        // the caller's span.
                        match span.id().is_some() && span.id() == Span::current().id() {
                            true => Span::none(),
                            false => span,
                        }
                    }
                    None => {
                        let span = request.lean_span();
                        // The other attributes, in one batch, only when the
                        // span records.
                        if !span.is_disabled() {
                            let cx = span.context();
                            if cx.span().is_recording() {
                                cx.span().set_attributes(request.attributes(false));
                            }
                            span_cx = Some(cx);
                        }
                        span
                    }
                }
            }
            _ => Span::none(),
        };
        let mut otel = None;
        if allowed {
            let (cx, own) = match &direct {
                Some((cx, _)) => (cx.clone(), Own::ClientSpan),
                None => outgoing_context(&span, span_cx),
            };
            if own == Own::ClientSpan {
                otel = Some(cx.clone());
            }
            let own = own != Own::Passed;
            let headers = req.headers_mut();
            inject(&cx, headers);
            if self.baggage {
                if let Some(value) = self.baggage_value(&cx, own) {
                    headers.insert(BAGGAGE, value);
                }
            }
            // A `sentry-trace` already on the request (e.g. copied from an
            // incoming one) would name another parent than `traceparent`.
            if cx.span().span_context().is_valid() {
                headers.remove(SENTRY_TRACE);
            }
            self.formats.inject(&cx, headers);
        } else {
            if self.strip {
                strip(req.headers_mut());
                self.formats.strip(req.headers_mut());
            }
            match judged {
                true if elsewhere => tracing::debug!(
                    target: "tower_trace_context",
                    parent: &span,
                    "trace context not propagated: the request URI names another origin than \
                     the one set with PropagateLayer::origin, where the request really goes"
                ),
                true => tracing::debug!(
                    target: "tower_trace_context",
                    parent: &span,
                    "trace context not propagated: URL not in the allowlist"
                ),
                false => {
                    warn_unjudged_uri();
                    tracing::debug!(
                        target: "tower_trace_context",
                        "trace context not propagated: the request URI has no scheme and host \
                         (or an authority the allowlist refuses), so no allowlist rule can match it"
                    );
                }
            }
        }
        let mut span = match direct {
            Some((cx, recording)) => ClientSpan::direct(cx, recording, kind.is_some()),
            None => ClientSpan::new(span, otel, kind.is_some()),
        };
        if allowed {
            span.sent = Some(self.allowlist.clone());
        }
        span
    }

    /// The `baggage` to send: the context's, unless a format decides it
    /// (Sentry adds a dynamic sampling context when none describes this
    /// trace yet).
    fn baggage_value(&self, cx: &Context, own: bool) -> Option<HeaderValue> {
        self.formats
            .baggage(cx, own)
            .unwrap_or_else(|| baggage_value(cx))
    }
}

/// Starts the client span on the direct path: an OpenTelemetry span under
/// the current context, its attributes in the builder under a sampled
/// parent, else computed only when it records. `None` when the tracer
/// starts no span of its own (no tracer provider).
fn start_client(tracer: &TracerSlot, request: &ClientRequest<'_>) -> Option<(Context, bool)> {
    use opentelemetry::trace::{Span as _, SpanKind, Tracer as _};
    let parent = Context::current();
    let (parent_id, eager) = {
        let parent = parent.span();
        let sc = parent.span_context();
        (sc.span_id(), sc.is_sampled())
    };
    tracer.with(|tracer| {
        let mut builder = tracer
            .span_builder(request.span_name())
            .with_kind(SpanKind::Client);
        if eager {
            builder = builder.with_attributes(request.attributes(true));
        }
        let mut span = tracer.build_with_context(builder, &parent);
        let sc = span.span_context();
        if !sc.is_valid() || sc.span_id() == parent_id {
            return None;
        }
        let recording = span.is_recording();
        if recording && !eager {
            span.set_attributes(request.attributes(true));
        }
        Some((parent.with_span(span), recording))
    })
}

/// Whether `url` has the origin's scheme, host and port (the scheme's
/// default when not written).
fn same_origin(
    (scheme, host, port): &(Box<str>, Box<str>, Option<u16>),
    url: &UrlParts<'_>,
) -> bool {
    let origin = UrlParts::new(scheme, host, *port, "/", None);
    url.scheme().eq_ignore_ascii_case(scheme)
        && url.port_or_default() == origin.port_or_default()
        && url.same_host(&origin)
}

/// The context to send (`span_cx`: the client span's, when already worked
/// out), and whether it is a span of this service: the
/// client span's; without an OpenTelemetry layer, the current span's or,
/// failing that, the current OpenTelemetry context
/// (which the server layer sets to the incoming one), passed on unchanged.
fn outgoing_context(span: &Span, span_cx: Option<Context>) -> (Context, Own) {
    let own = span_cx.unwrap_or_else(|| span.context());
    if own.span().span_context().is_valid() {
        return (own, Own::ClientSpan);
    }
    let current = Span::current().context();
    if current.span().span_context().is_valid() {
        return (current, Own::CurrentSpan);
    }
    (Context::current(), Own::Passed)
}

/// Whose context [`outgoing_context`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Own {
    /// The client span's.
    ClientSpan,
    /// The current span's (no client span).
    CurrentSpan,
    /// None of this service: the current OpenTelemetry context, passed on.
    Passed,
}

/// Logs, once per process, that requests reach the client layer with URIs
/// no allowlist rule can match: a silent "not propagated" would look like a
/// configuration mistake elsewhere.
fn warn_unjudged_uri() {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !WARNED.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            target: "tower_trace_context",
            "the client layer got a request whose URI has no scheme and host (a path-only URI, \
             as a tonic Channel passes on) or an authority the allowlist refuses; no trace \
             context is sent with such requests; set PropagateLayer::origin to the channel's \
             target, or put the layer where requests carry absolute URIs (logged once)"
        );
    }
}

fn strip(headers: &mut HeaderMap) {
    for name in &BROWSER_TRACE_HEADERS {
        headers.remove(name);
    }
}

/// Records the response head on the client span. HTTP: the status, and
/// `error.type` with the error status for a 4xx or 5xx (HTTP client
/// conventions). gRPC: a trailers-only response's `grpc-status`, or, when a
/// non-200 response carries none, the gRPC status a client derives from the
/// HTTP status.
pub(crate) fn record_response(
    span: &mut ClientSpan,
    status: http::StatusCode,
    headers: &HeaderMap,
) {
    span.span
        .http_status(status, !span.grpc && status.as_u16() >= 400);
    if span.grpc {
        let side = grpc::Side::Client;
        span.status_seen = grpc::record_status(headers, side, &span.span);
        if !span.status_seen && status != http::StatusCode::OK {
            let code = grpc::code_of_http_status(status);
            span.span
                .grpc_code(code, side, || format!("HTTP status {status}"));
            span.status_seen = true;
        }
    }
}

/// Records a transport error: `error.type` is the error's type name (low
/// cardinality, never its message).
pub(crate) fn record_error<E>(span: &ClientSpan) {
    span.span.error(std::any::type_name::<E>());
}
