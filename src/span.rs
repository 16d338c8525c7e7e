//! One span-outcome recorder for both span paths and both layers.
//!
//! A request's span is either a `tracing` span (turned into an
//! OpenTelemetry span by tracing-opentelemetry) or an OpenTelemetry span the
//! layer started itself (the direct path). Either way its outcome (status,
//! error type, gRPC code) is written once, here: on the OpenTelemetry span
//! directly when there is one (one lock, no trip through the subscriber),
//! else as `tracing` fields; and not at all when nobody records the span.

use std::borrow::Cow;
use std::sync::OnceLock;

use http::StatusCode;
use opentelemetry::global::BoxedTracer;
use opentelemetry::trace::{Status, TraceContextExt};
use opentelemetry::{Context, InstrumentationScope, KeyValue};
use tracing::Span;

use crate::grpc;

/// How a layer makes its span (see
/// [`TraceContextLayer::span_path`](crate::server::TraceContextLayer::span_path) and
/// [`PropagateLayer::span_path`](crate::client::PropagateLayer::span_path)).
///
/// ```
/// use tower_trace_context::SpanPath;
/// assert_eq!(SpanPath::default(), SpanPath::Tracing);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpanPath {
    /// A `tracing` span, which tracing-opentelemetry turns into an
    /// OpenTelemetry span: `tracing` filters, `fmt` output and
    /// `Span::current()` see it; the layers' span hooks make it.
    #[default]
    Tracing,
    /// An OpenTelemetry span started directly with the tracer of the global
    /// tracer provider (or the one given to the layer's `tracer`),
    /// instrumentation scope `tower-trace-context`: no `tracing` span, so
    /// `tracing` filters, the span hooks and `Span::current()` do not apply.
    OpenTelemetry,
}

/// The instrumentation scope of spans on the direct path.
pub(crate) const SCOPE_NAME: &str = "tower-trace-context";

/// The tracer of the direct path: one given, or the global provider's,
/// taken on first use and kept once it starts real spans (a provider
/// installed after the layer was built is still picked up).
#[derive(Debug, Default)]
pub(crate) struct TracerSlot {
    given: Option<BoxedTracer>,
    global: OnceLock<BoxedTracer>,
}

impl TracerSlot {
    /// A slot holding `tracer` (a layer's `tracer(..)` builder).
    pub(crate) fn of<T>(tracer: T) -> std::sync::Arc<Self>
    where
        T: opentelemetry::trace::Tracer + Send + Sync + 'static,
        T::Span: Send + Sync + 'static,
    {
        std::sync::Arc::new(Self {
            given: Some(BoxedTracer::new(Box::new(tracer))),
            global: OnceLock::new(),
        })
    }

    /// Runs `start` with the tracer: the given one, or the global
    /// provider's, kept once `start` reports a span of its own (`Some`).
    pub(crate) fn with<T>(&self, start: impl Fn(&BoxedTracer) -> Option<T>) -> Option<T> {
        if let Some(tracer) = self.given.as_ref().or_else(|| self.global.get()) {
            return start(tracer);
        }
        let scope = InstrumentationScope::builder(SCOPE_NAME)
            .with_version(env!("CARGO_PKG_VERSION"))
            .build();
        let tracer = opentelemetry::global::tracer_with_scope(scope);
        let started = start(&tracer);
        if started.is_some() {
            let _ = self.global.set(tracer);
        }
        started
    }
}

/// Logs, once per process, that the direct path's tracer starts no spans
/// (`layer`: which layer found out).
pub(crate) fn warn_no_tracer_provider(layer: &str) {
    use std::sync::atomic::{AtomicBool, Ordering};
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !WARNED.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            target: "tower_trace_context",
            layer,
            "the OpenTelemetry span path started no span: no tracer provider is installed \
             (opentelemetry::global::set_tracer_provider, or the layer's tracer(..)), or it is \
             shut down; traces are not continued here and no server-timing is written; the \
             current context is passed on as it is (logged once)"
        );
    }
}

/// The methods the HTTP semantic conventions know (RFC 9110, PATCH, QUERY),
/// as statics; `None` for any other.
pub(crate) fn known_method(method: &str) -> Option<&'static str> {
    Some(match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "CONNECT" => "CONNECT",
        "OPTIONS" => "OPTIONS",
        "TRACE" => "TRACE",
        "PATCH" => "PATCH",
        "QUERY" => "QUERY",
        _ => return None,
    })
}

/// A request's span and where its outcome goes.
pub(crate) struct Recorder {
    /// The `tracing` span (disabled on the direct path).
    span: Span,
    /// The OpenTelemetry context holding the span, when there is one.
    otel: Option<Context>,
    /// The layer started the OpenTelemetry span itself: it is made current
    /// while the request is polled, and ended here (not at the last drop
    /// of a context holding it: a `RequestTrace` may keep one).
    own: bool,
    /// The OpenTelemetry span records (sampled): attributes are worth
    /// computing.
    recording: bool,
}

impl Default for Recorder {
    fn default() -> Self {
        Self::none()
    }
}

impl Recorder {
    /// No span: nothing is recorded.
    pub(crate) fn none() -> Self {
        Self {
            span: Span::none(),
            otel: None,
            own: false,
            recording: false,
        }
    }

    /// A `tracing` span, with its OpenTelemetry context when it has one.
    pub(crate) fn tracing(span: Span, otel: Option<Context>) -> Self {
        let recording = otel.as_ref().is_some_and(|cx| cx.span().is_recording());
        Self {
            span,
            otel,
            own: false,
            recording,
        }
    }

    /// An OpenTelemetry span the layer started (`cx` holds it).
    pub(crate) fn opentelemetry(cx: Context, recording: bool) -> Self {
        Self {
            span: Span::none(),
            otel: Some(cx),
            own: true,
            recording,
        }
    }

    /// The `tracing` span (disabled on the direct path).
    pub(crate) fn span(&self) -> &Span {
        &self.span
    }

    /// Whether there is a span to record on at all.
    pub(crate) fn is_traced(&self) -> bool {
        self.otel.is_some() || !self.span.is_disabled()
    }

    /// Runs `f` inside the request's scope: the `tracing` span entered, and
    /// the current OpenTelemetry context set to the span's own (direct
    /// path) or to `pass` (no span of this service: the incoming context,
    /// passed through). The guard is dropped before this returns: it may
    /// not cross an `.await`.
    pub(crate) fn in_scope<R>(&self, pass: Option<&Context>, f: impl FnOnce() -> R) -> R {
        let _enter = self.span.enter();
        self.in_context(pass, f)
    }

    /// Runs `f` with the context the request's work sees made current: the
    /// direct path's span, or `pass`; the `tracing` span is not entered
    /// (what the layer does around `inner.call()`).
    pub(crate) fn in_context<R>(&self, pass: Option<&Context>, f: impl FnOnce() -> R) -> R {
        let cx = match self.own {
            true => self.otel.as_ref(),
            false => pass,
        };
        let _attached = cx.cloned().map(Context::attach);
        f()
    }

    /// Whether the OpenTelemetry span records (not for a `tracing` span
    /// without one).
    pub(crate) fn is_recording(&self) -> bool {
        self.recording
    }

    /// Writes `fields`, and the error status with `error` as description
    /// when given. Nothing when the OpenTelemetry span does not record.
    fn write<const N: usize>(
        &self,
        fields: [(&'static str, Field); N],
        error: Option<Cow<'static, str>>,
    ) {
        match &self.otel {
            Some(_) if !self.recording => {}
            Some(cx) => {
                let span = cx.span();
                span.set_attributes(fields.map(|(key, value)| KeyValue::new(key, value)));
                if let Some(description) = error {
                    span.set_status(Status::error(description));
                }
            }
            None if self.span.is_disabled() => {}
            None => {
                for (key, value) in fields {
                    match value {
                        Field::I64(n) => self.span.record(key, n),
                        Field::Str(s) => self.span.record(key, &*s),
                    };
                }
                if let Some(description) = error {
                    self.span.record("otel.status_code", "ERROR");
                    if !description.is_empty() {
                        self.span.record("otel.status_description", &*description);
                    }
                }
            }
        }
    }

    /// `http.response.status_code`, and, when `error` (5xx on a server, 4xx
    /// or 5xx on an HTTP client), `error.type` with the status code and the
    /// error status.
    pub(crate) fn http_status(&self, status: StatusCode, error: bool) {
        let code = Field::I64(i64::from(status.as_u16()));
        match error {
            true => self.write(
                [
                    ("http.response.status_code", code),
                    ("error.type", Field::Str(status_text(status))),
                ],
                Some(Cow::Borrowed("")),
            ),
            false => self.write([("http.response.status_code", code)], None),
        }
    }

    /// A failure without a status: `error.type` (a low-cardinality type
    /// name, never an error's message) and the error status.
    pub(crate) fn error(&self, error_type: &'static str) {
        self.write(
            [("error.type", Field::Str(Cow::Borrowed(error_type)))],
            Some(Cow::Borrowed("")),
        );
    }

    /// A gRPC status code: `rpc.grpc.status_code` (the number),
    /// `rpc.response.status_code` (its name), and for error codes on this
    /// `side` `error.type` (the name) and the error status with
    /// `description` (called only then, and only when recorded).
    pub(crate) fn grpc_code(
        &self,
        code: u16,
        side: grpc::Side,
        description: impl FnOnce() -> String,
    ) {
        let name = grpc::code_name(code);
        let number = ("rpc.grpc.status_code", Field::I64(i64::from(code)));
        let named = ("rpc.response.status_code", Field::Str(Cow::Borrowed(name)));
        if !side.is_error(code) {
            return self.write([number, named], None);
        }
        let recorded = match &self.otel {
            Some(_) => self.recording,
            None => !self.span.is_disabled(),
        };
        if recorded {
            let error = ("error.type", Field::Str(Cow::Borrowed(name)));
            self.write([number, named, error], Some(Cow::Owned(description())));
        }
    }

    /// A gRPC response that ended without any `grpc-status`: an error with
    /// `error.type = _OTHER`.
    pub(crate) fn grpc_missing_status(&self) {
        self.write(
            [("error.type", Field::Str(Cow::Borrowed("_OTHER")))],
            Some(Cow::Borrowed("the response ended without a grpc-status")),
        );
    }

    /// Ends the span now (the direct path's explicitly; a `tracing` span
    /// when its last handle goes).
    pub(crate) fn end(&mut self) {
        *self = Self::none();
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if self.own {
            if let Some(cx) = &self.otel {
                cx.span().end();
            }
        }
    }
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("span", &self.span)
            .field("opentelemetry", &self.otel.is_some())
            .field("own", &self.own)
            .field("recording", &self.recording)
            .finish()
    }
}

/// A value to record.
enum Field {
    I64(i64),
    Str(Cow<'static, str>),
}

impl From<Field> for opentelemetry::Value {
    fn from(field: Field) -> Self {
        match field {
            Field::I64(n) => n.into(),
            Field::Str(s) => s.into(),
        }
    }
}

/// A status code as text (allocated: only error statuses are written).
fn status_text(status: StatusCode) -> Cow<'static, str> {
    Cow::Owned(status.as_str().to_owned())
}
