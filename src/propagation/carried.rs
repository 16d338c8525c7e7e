//! The carried context: what a request brought, as validated on the wire,
//! carried in the OpenTelemetry `Context` next to the remote span context.
//! Outgoing injection starts from it; OpenTelemetry's `TraceState` and
//! `Baggage` are views of it that the application may have changed.

use std::sync::OnceLock;

use http::{HeaderMap, HeaderValue};
use opentelemetry::Context;
use opentelemetry::baggage::Baggage;
use opentelemetry::trace::{TraceId, TraceState};

use crate::wire::baggage::BaggageView;
use crate::wire::headers::TRACESTATE_FIELD;
use crate::wire::lines::Lines;
use crate::wire::traceparent::TraceParent;
use crate::wire::tracestate::{MAX_TRACESTATE_MEMBERS, TraceStateView, encode_members};

use super::otel_accepts_key;

/// The incoming trace context of a request (a `Context` value).
#[derive(Clone, Debug, Default)]
pub(crate) struct WireContext {
    pub(crate) trace: Option<WireTrace>,
    pub(crate) baggage: Option<WireBaggage>,
    /// Traces started under this context have random trace ids (the
    /// `random` flag is set on them).
    pub(crate) random_trace_ids: bool,
}

/// The incoming `traceparent` and `tracestate`.
#[derive(Clone, Debug)]
pub(crate) struct WireTrace {
    pub(crate) traceparent: TraceParent,
    pub(crate) tracestate: Option<WireTraceState>,
    /// Whether the remote span context's `TraceState` was built from
    /// `tracestate` (when it was not, an empty `TraceState` means
    /// "unchanged").
    pub(crate) converted: bool,
}

/// An incoming `tracestate`, its fields joined with `,`: validated when it
/// arrives, or (with tracing off, when nothing reads it on the request path)
/// the first time it is sent on.
#[derive(Clone, Debug)]
pub(crate) struct WireTraceState {
    value: HeaderValue,
    /// What validation found; `None` inside: invalid, so discarded.
    parsed: OnceLock<Option<Parsed>>,
}

#[derive(Clone, Copy, Debug)]
struct Parsed {
    members: u8,
    duplicates: u32,
    /// The value is already what encoding its members would write (no OWS,
    /// no empty members, no duplicate keys).
    canonical: bool,
}

impl Parsed {
    fn of(view: &TraceStateView<'_>) -> Self {
        Self {
            members: view.members,
            duplicates: view.duplicates,
            canonical: view.canonical,
        }
    }
}

impl WireTraceState {
    /// Keeps a validated, non-empty view (a single header field without
    /// copying its bytes).
    pub(crate) fn new(view: &TraceStateView<'_>) -> Option<Self> {
        if view.is_empty() {
            return None;
        }
        Some(Self {
            value: value_of(view.lines)?,
            parsed: OnceLock::from(Some(Parsed::of(view))),
        })
    }

    /// Keeps the fields of `headers` to validate later; `None` without any.
    pub(crate) fn unvalidated(headers: &HeaderMap) -> Option<Self> {
        Some(Self {
            value: value_of(Lines::of(headers, &TRACESTATE_FIELD)?)?,
            parsed: OnceLock::new(),
        })
    }

    /// The members, as validated; `None` when the value is invalid (or has
    /// no members).
    pub(crate) fn view(&self) -> Option<TraceStateView<'_>> {
        let parsed = self
            .parsed
            .get_or_init(|| {
                TraceStateView::parse(self.value.as_bytes())
                    .ok()
                    .map(|view| Parsed::of(&view))
            })
            .filter(|parsed| parsed.members > 0)?;
        Some(TraceStateView {
            lines: Lines::One(self.value.as_bytes()),
            members: parsed.members,
            duplicates: parsed.duplicates,
            canonical: parsed.canonical,
        })
    }

    /// The value to send when nothing changed: the value as received when
    /// it is canonical and within `limit`, else its members re-encoded.
    fn unchanged(&self, view: &TraceStateView<'_>, limit: usize) -> Option<HeaderValue> {
        if view.canonical && self.value.len() <= limit {
            return Some(self.value.clone());
        }
        encode_members(|| view.iter(), limit)
    }
}

/// The one field as it is, or the fields joined with `,`.
fn value_of(lines: Lines<'_>) -> Option<HeaderValue> {
    match lines.field() {
        Some(value) => Some(value.clone()),
        None => join(lines),
    }
}

/// The incoming `baggage` (validated), and the OpenTelemetry `Baggage`
/// built from it: put in the context when a span reads it, or (with
/// tracing off) built the first time the application asks for it.
#[derive(Debug)]
pub(crate) struct WireBaggage {
    /// The fields joined with `,`.
    pub(crate) value: HeaderValue,
    /// The context the converted `Baggage` was put in: kept alive so that
    /// the `Baggage`'s address names it (an identity check tells that
    /// nobody replaced it). `None`: not put in the context.
    origin: Option<Context>,
    /// The conversion, when it was not put in the context.
    lazy: OnceLock<Baggage>,
}

impl Clone for WireBaggage {
    /// (OpenTelemetry's `Baggage` is not `Clone`: a clone converts again if
    /// asked.)
    fn clone(&self) -> Self {
        Self {
            value: self.value.clone(),
            origin: self.origin.clone(),
            lazy: OnceLock::new(),
        }
    }
}

impl WireBaggage {
    pub(crate) fn new(view: &BaggageView<'_>) -> Option<Self> {
        Some(Self {
            value: value_of(view.lines)?,
            origin: None,
            lazy: OnceLock::new(),
        })
    }

    /// `cx` with `baggage` added, remembered as the one converted from this
    /// value.
    pub(crate) fn attach(&mut self, cx: &Context, baggage: Baggage) -> Context {
        use opentelemetry::baggage::BaggageExt;
        let cx = cx.with_baggage(baggage);
        self.origin = Some(cx.clone());
        cx
    }

    /// Whether the baggage of `cx` (a context carrying this wire context) is
    /// the incoming one, unchanged: the very `Baggage` converted from it (the
    /// same object, not an equal one), or, when none was put in the
    /// context, no `Baggage` set since.
    pub(crate) fn is_unchanged(&self, cx: &Context) -> bool {
        use opentelemetry::baggage::BaggageExt;
        match &self.origin {
            Some(origin) => std::ptr::eq(origin.baggage(), cx.baggage()),
            // A context without baggage hands out one shared empty value.
            None => std::ptr::eq(Context::new().baggage(), cx.baggage()),
        }
    }

    /// The incoming baggage as OpenTelemetry `Baggage`, when it was not put
    /// in the context (converted on first use).
    pub(crate) fn unattached(&self) -> Option<&Baggage> {
        if self.origin.is_some() {
            return None;
        }
        Some(self.lazy.get_or_init(|| {
            BaggageView::parse(self.value.as_bytes())
                .map(|view| view.to_baggage())
                .unwrap_or_default()
        }))
    }
}

/// The fields of `lines` as one value, joined with `,`.
fn join(lines: Lines<'_>) -> Option<HeaderValue> {
    let mut joined = Vec::new();
    for line in lines.iter() {
        if !joined.is_empty() {
            joined.push(b',');
        }
        joined.extend_from_slice(line);
    }
    HeaderValue::from_maybe_shared(bytes::Bytes::from(joined)).ok()
}

impl WireContext {
    /// The incoming trace of `cx` when `trace_id` continues it.
    pub(crate) fn trace_of(cx: &Context, trace_id: TraceId) -> Option<&WireTrace> {
        let trace = cx.get::<WireContext>()?.trace.as_ref()?;
        (trace.traceparent.trace_id() == trace_id).then_some(trace)
    }

    /// `cx` with this wire context, keeping parts of one already there that
    /// this one does not set.
    pub(crate) fn merge_into(mut self, cx: &Context) -> Context {
        if let Some(old) = cx.get::<WireContext>() {
            if self.trace.is_none() {
                self.trace = old.trace.clone();
            }
            if self.baggage.is_none() {
                self.baggage = old.baggage.clone();
            }
            self.random_trace_ids |= old.random_trace_ids;
        }
        cx.with_value(self)
    }
}

impl WireTrace {
    /// The `tracestate` to send with a span of this trace whose
    /// OpenTelemetry `TraceState` is `current`: the incoming members as
    /// received when `current` is what was converted from them; otherwise
    /// the application's changes (inserted or updated keys on the left,
    /// deleted keys gone) applied to the incoming list, keeping members
    /// OpenTelemetry could not hold in their places. At most 32 members
    /// (right-most dropped), then truncated to `limit`.
    pub(crate) fn tracestate(&self, current: &TraceState, limit: usize) -> Option<HeaderValue> {
        let Some((incoming, view)) = self
            .tracestate
            .as_ref()
            .and_then(|state| Some((state, state.view()?)))
        else {
            return encode_members(|| current.into_iter(), limit);
        };
        let converted = || {
            view.iter()
                .filter(|(k, _)| self.converted && otel_accepts_key(k))
        };
        if current.into_iter().eq(converted()) {
            return incoming.unchanged(&view, limit);
        }
        // The members of `current` that kept their value and their order
        // relative to each other are its longest suffix found, in order, in
        // the converted list; the members before it were inserted, updated
        // or moved by the application (OpenTelemetry puts them left).
        let mut held: [(&str, &str); MAX_TRACESTATE_MEMBERS] = [("", ""); MAX_TRACESTATE_MEMBERS];
        let mut held_len = 0;
        for (slot, member) in held.iter_mut().zip(converted()) {
            *slot = member;
            held_len += 1;
        }
        let mut now: [(&str, &str); MAX_TRACESTATE_MEMBERS] = [("", ""); MAX_TRACESTATE_MEMBERS];
        let mut now_len = 0;
        for (slot, member) in now.iter_mut().zip(current) {
            *slot = member;
            now_len += 1;
        }
        let mut changed = now_len;
        let mut j = held_len;
        while changed > 0 {
            match held[..j].iter().rposition(|m| *m == now[changed - 1]) {
                Some(p) => (j, changed) = (p, changed - 1),
                None => break,
            }
        }
        let mut merged: [(&str, &str); 2 * MAX_TRACESTATE_MEMBERS] =
            [("", ""); 2 * MAX_TRACESTATE_MEMBERS];
        merged[..changed].copy_from_slice(&now[..changed]);
        let mut n = changed;
        for (k, v) in view.iter() {
            if now[..changed].iter().any(|(key, _)| *key == k) {
                continue; // changed: moved left
            }
            let representable = self.converted && otel_accepts_key(k);
            // A converted member stays unless the application deleted it;
            // one OpenTelemetry could not hold (or never saw) stays.
            if !representable || now[changed..now_len].iter().any(|(key, _)| *key == k) {
                merged[n] = (k, v);
                n += 1;
            }
        }
        let n = n.min(MAX_TRACESTATE_MEMBERS);
        encode_members(|| merged[..n].iter().copied(), limit)
    }
}
