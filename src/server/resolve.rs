//! Incoming-context resolution: what the request carries, what the trust
//! policy allows, and the remote context the server span continues.

use http::{HeaderMap, Request};
use opentelemetry::Context;
use opentelemetry::trace::{SpanContext, TraceContextExt};
use tracing::Span;
use tracing_opentelemetry::{OpenTelemetrySpanExt, SetParentError};

use crate::error::{BaggageError, TraceParentError};
use crate::formats::Carried;
use crate::propagation::{WireContext, WireTrace, remote_from_headers};
use crate::server::Config;
use crate::server::policy::{RequestHead, Trust};
use crate::server::{Decision, Unlinked};
use crate::wire::baggage::BaggageView;
use crate::wire::headers::BAGGAGE;
use crate::wire::traceparent::TraceParent;

/// The outcome of [`resolve`].
pub(super) struct Resolved {
    /// The `traceparent` the request arrived with, or why there was none.
    pub(super) incoming: Result<TraceParent, TraceParentError>,
    /// What the layer did with it.
    pub(super) decision: Decision,
    /// The context the server span continues (set as its parent when
    /// `traced`), if any.
    pub(super) remote: Option<Context>,
    /// A context the trust policy did not continue but links to
    /// ([`Trust::NewRootWithLink`]), for a span the caller starts itself
    /// (no `tracing` span given).
    pub(super) link: Option<SpanContext>,
}

/// Parses everything once (the wire context is the source of truth,
/// OpenTelemetry's types are views of it built only when `traced`), applies
/// the trust policy, and sets the `tracing` span's parent (`None`: the
/// caller starts its span from [`Resolved`], see [`otel_parent`]).
pub(super) fn resolve<B>(
    config: &Config,
    req: &Request<B>,
    span: Option<&Span>,
    traced: bool,
) -> Resolved {
    let none = Span::none();
    let tracing_span = span;
    let span = span.unwrap_or(&none);
    let mut link = None;
    // Everything is parsed once, here: the wire context is the source
    // of truth, OpenTelemetry's types are views of it.
    let headers = req.headers();
    let w3c = remote_from_headers(headers, traced, config.random_trace_ids);
    let incoming = w3c.as_ref().map(|(tp, _, _)| *tp).map_err(|err| *err);
    let baggage = match config.baggage && headers.contains_key(BAGGAGE) {
        true => Some(BaggageView::from_headers(headers)),
        false => None,
    };
    let found = remote(config, w3c, headers, baggage.as_ref(), traced);
    let has_baggage = matches!(&baggage, Some(Ok(view)) if !view.is_empty());
    let trust = match found.is_ok() || has_baggage {
        true => config.trust_for(&RequestHead::of(req)),
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
        Ok((sc, wire, continued, carried)) => match trust {
            Trust::Continue => (
                continued,
                Some(remote_context(
                    Some((sc, wire, carried)),
                    baggage,
                    random,
                    traced,
                    span,
                )),
            ),
            Trust::NewRootWithLink => {
                match tracing_span {
                    Some(span) if traced => {
                        let _ = span.set_parent(Context::new());
                        span.add_link(sc);
                    }
                    Some(_) => {}
                    None => link = Some(sc),
                }
                (Decision::NotTrusted(Trust::NewRootWithLink), None)
            }
            trust => (Decision::NotTrusted(trust), None),
        },
        Err(err) => {
            let remote = has_baggage.then(|| remote_context(None, baggage, random, traced, span));
            (Decision::NewTrace(err), remote)
        }
    };
    let new_root = matches!(decision, Decision::NotTrusted(Trust::NewRootWithLink));
    match (&remote, traced) {
        _ if tracing_span.is_none() => {}
        (Some(remote), true) => {
            if let Err(SetParentError::LayerNotFound) = span.set_parent(remote.clone()) {
                decision = unlinked(decision, Unlinked::NoOpenTelemetryLayer);
            }
        }
        (Some(_), false) => decision = unlinked(decision, Unlinked::SpanDisabled),
        (None, true) if random => {
            // Mark traces started under this span as random-id ones (a new
            // root stays one).
            let parent = match new_root {
                true => Context::new(),
                false => match Span::current().context() {
                    cx if cx.has_active_span() => cx,
                    _ => Context::current(),
                },
            };
            let _ = span.set_parent(mark_random(&parent));
        }
        (None, _) => {}
    }
    match decision {
        Decision::NotTrusted(trust) => tracing::debug!(
            target: "tower_trace_context",
            parent: span,
            policy = trust.as_str(),
            "incoming trace context not continued: trust policy"
        ),
        Decision::NewTrace(err) => tracing::debug!(
            target: "tower_trace_context",
            parent: span,
            reason = err.as_str(),
            "incoming trace context not continued: {err}"
        ),
        _ => {}
    }
    Resolved {
        incoming,
        decision,
        remote,
        link,
    }
}

/// `parent` with traces started under it marked as random-id ones.
fn mark_random(parent: &Context) -> Context {
    WireContext {
        random_trace_ids: true,
        ..WireContext::default()
    }
    .merge_into(parent)
}

/// The parent of a span the layer starts itself (the direct path): the
/// continued context; a new root when the policy links instead; else the
/// current context, as a `tracing` span without a parent gets. With random
/// trace ids, marked so.
pub(super) fn otel_parent(resolved: &Resolved, random: bool) -> Context {
    let parent = match (&resolved.remote, &resolved.link) {
        (Some(remote), _) => return remote.clone(),
        (None, Some(_)) => Context::new(),
        (None, None) => Context::current(),
    };
    match random {
        true => mark_random(&parent),
        false => parent,
    }
}

/// A continued decision turned into "passed through" when there is no
/// server span; other decisions stay.
pub(super) fn unlinked(decision: Decision, why: Unlinked) -> Decision {
    match decision {
        Decision::Continued | Decision::ContinuedFrom(_) => Decision::PassedThrough(why),
        other => other,
    }
}

/// The context a trusted request continues: the remote span context and the
/// wire context it came from (when there is one), and its baggage.
fn remote_context(
    remote: Option<(SpanContext, Option<WireTrace>, Option<Carried>)>,
    baggage: Option<&Result<BaggageView<'_>, BaggageError>>,
    random_trace_ids: bool,
    convert: bool,
    span: &Span,
) -> Context {
    let (cx, trace) = match remote {
        Some((sc, trace, carried)) => {
            let cx = Context::new().with_remote_span_context(sc);
            match carried {
                Some(carried) => (cx.with_value(carried), trace),
                None => (cx, trace),
            }
        }
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

/// The remote span context to continue, its wire context, how it was
/// found and a format's carried state, or why there is none. The span
/// context's `TraceState` is built only when `convert` (a span will read
/// it).
fn remote(
    config: &Config,
    w3c: Result<(TraceParent, SpanContext, Option<WireTrace>), TraceParentError>,
    headers: &HeaderMap,
    baggage: Option<&Result<BaggageView<'_>, BaggageError>>,
    convert: bool,
) -> Result<Found, TraceParentError> {
    let w3c = w3c.map(|(_, sc, wire)| (sc, wire, Decision::Continued, None));
    let baggage = baggage.and_then(|b| b.as_ref().ok());
    let Some(other) = config.formats.remote(w3c.is_ok(), headers, baggage) else {
        return w3c;
    };
    let sc = other.span_context;
    // The other formats have no `random` flag: a wire context is only
    // needed to tell this trace from new ones.
    let wire = match config.random_trace_ids {
        true => TraceParent::from_span_context(&sc).map(|traceparent| WireTrace {
            traceparent,
            tracestate: None,
            converted: convert,
        }),
        false => None,
    };
    Ok((
        sc,
        wire,
        Decision::ContinuedFrom(other.format),
        other.carried,
    ))
}

/// A remote context found: span context, wire context, decision, carried
/// format state.
type Found = (SpanContext, Option<WireTrace>, Decision, Option<Carried>);
