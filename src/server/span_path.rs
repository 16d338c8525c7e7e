//! The direct-OpenTelemetry span path: the server span as an OpenTelemetry
//! span the layer starts itself, with no `tracing` span.

use std::borrow::Cow;
use std::sync::OnceLock;

use http::Request;
use opentelemetry::global::BoxedTracer;
use opentelemetry::trace::{Link, Span as _, SpanContext, SpanKind, TraceContextExt, Tracer as _};
use opentelemetry::{Context, InstrumentationScope};

use crate::server::make_span;

/// How the server layer makes its span (see
/// [`TraceContextLayer::span_path`](crate::server::TraceContextLayer::span_path)).
///
/// ```
/// use tower_trace_context::server::SpanPath;
/// assert_eq!(SpanPath::default(), SpanPath::Tracing);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpanPath {
    /// A `tracing` span, which tracing-opentelemetry turns into an
    /// OpenTelemetry span: `tracing` filters, `fmt` output and
    /// `Span::current()` see it; [`MakeSpan`](crate::server::MakeSpan)
    /// makes it.
    #[default]
    Tracing,
    /// An OpenTelemetry span started directly with the tracer of the global
    /// tracer provider (or the one given to
    /// [`TraceContextLayer::tracer`](crate::server::TraceContextLayer::tracer)),
    /// instrumentation scope `tower-trace-context`: no `tracing` span, so
    /// `tracing` filters, `MakeSpan` and `Span::current()` do not apply.
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
    pub(crate) fn given(tracer: BoxedTracer) -> Self {
        Self {
            given: Some(tracer),
            global: OnceLock::new(),
        }
    }

    /// Starts the server span of `req` under `parent` (with a link to
    /// `link`, a context the trust policy did not continue). `None` when
    /// the tracer started no span of its own: the no-op tracer (no tracer
    /// provider installed) hands back the parent's span context, and a
    /// shut-down or suppressed SDK an invalid one.
    pub(crate) fn start<B>(
        &self,
        req: &Request<B>,
        parent: &Context,
        link: Option<SpanContext>,
    ) -> Option<(Context, bool)> {
        if let Some(tracer) = self.given.as_ref().or_else(|| self.global.get()) {
            return start(tracer, req, parent, link);
        }
        let scope = InstrumentationScope::builder(SCOPE_NAME)
            .with_version(env!("CARGO_PKG_VERSION"))
            .build();
        let tracer = opentelemetry::global::tracer_with_scope(scope);
        let started = start(&tracer, req, parent, link);
        if started.is_some() {
            let _ = self.global.set(tracer);
        }
        started
    }
}

fn start<B>(
    tracer: &BoxedTracer,
    req: &Request<B>,
    parent: &Context,
    link: Option<SpanContext>,
) -> Option<(Context, bool)> {
    let name: Cow<'static, str> = make_span::span_name(req);
    let mut builder = tracer.span_builder(name).with_kind(SpanKind::Server);
    if let Some(link) = link {
        builder = builder.with_links(vec![Link::with_context(link)]);
    }
    // Under a sampled parent the span almost surely records (parent-based
    // sampling): the attributes go into the builder, where the sampler sees
    // them and the SDK takes the vector as it is. Otherwise they are
    // computed only once the span turns out to record.
    let (parent_id, eager) = {
        let parent = parent.span();
        let sc = parent.span_context();
        (sc.span_id(), sc.is_sampled())
    };
    if eager {
        let mut attributes = Vec::with_capacity(16);
        make_span::attributes(req, true, &mut attributes);
        builder = builder.with_attributes(attributes);
    }
    let mut span = tracer.build_with_context(builder, parent);
    let sc = span.span_context();
    if !sc.is_valid() || sc.span_id() == parent_id {
        return None;
    }
    let recording = span.is_recording();
    if recording && !eager {
        let mut attributes = Vec::with_capacity(16);
        make_span::attributes(req, true, &mut attributes);
        // On the span while it is still ours: no lock per call.
        span.set_attributes(attributes);
    }
    Some((parent.with_span(span), recording))
}
