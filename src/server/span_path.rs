//! The server span on the direct-OpenTelemetry path: an OpenTelemetry span
//! the layer starts itself, with no `tracing` span.

use std::borrow::Cow;

use http::Request;
use opentelemetry::Context;
use opentelemetry::global::BoxedTracer;
use opentelemetry::trace::{Link, Span as _, SpanContext, SpanKind, TraceContextExt, Tracer as _};

use crate::server::make_span;

/// Starts the server span of `req` under `parent` (with a link to `link`,
/// a context the trust policy did not continue). `None` when the tracer
/// started no span of its own: the no-op tracer (no tracer provider
/// installed) hands back the parent's span context, and a shut-down or
/// suppressed SDK an invalid one.
pub(crate) fn start<B>(
    tracer: &BoxedTracer,
    req: &Request<B>,
    grpc: Option<(&str, &str)>,
    parent: &Context,
    link: Option<SpanContext>,
) -> Option<(Context, bool)> {
    let name: Cow<'static, str> = make_span::span_name(req, grpc);
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
        make_span::attributes(req, grpc, true, &mut attributes);
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
        make_span::attributes(req, grpc, true, &mut attributes);
        // On the span while it is still ours: no lock per call.
        span.set_attributes(attributes);
    }
    Some((parent.with_span(span), recording))
}
