//! The OpenTelemetry bridge for trace context and baggage: `extract`,
//! `inject`, the `TextMapPropagator`s, and the conversions between the
//! validated wire formats and OpenTelemetry's `SpanContext`, `TraceState`
//! and `Baggage`.
//!
//! The validated wire context is the source of truth: extraction keeps what
//! arrived (every `traceparent` flag the crate keeps, every valid
//! `tracestate` member in order, `baggage` as received) in the `Context`
//! next to the OpenTelemetry types built from it, and injection starts from
//! it. So members OpenTelemetry's `TraceState` cannot hold and the `random`
//! flag survive the trip, and what the application changed through
//! OpenTelemetry's API is applied on top by the W3C mutation rules.

mod carried;

use std::sync::LazyLock;

use http::{HeaderMap, HeaderValue};
use opentelemetry::Context;
use opentelemetry::baggage::{Baggage, BaggageExt};
use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanContext, TraceContextExt, TraceState};

use crate::error::TraceParentError;
use crate::wire::baggage::{
    BaggageView, MAX_BAGGAGE_BYTES, MAX_BAGGAGE_MEMBERS, PLAIN, TCHAR, class, properties_end,
};
use crate::wire::context::{TraceContextHeaders, traceparent_of};
use crate::wire::headers::{BAGGAGE, TRACEPARENT, TRACESTATE};
use crate::wire::lines::trim_ows;
use crate::wire::traceparent::TraceParent;
use crate::wire::tracestate::{
    DEFAULT_TRACESTATE_LIMIT, MAX_TRACESTATE_MEMBERS, OwnedTraceState, TraceStateView,
    encode_members, valid_key, valid_value,
};

pub(crate) use carried::{WireBaggage, WireContext, WireTrace, WireTraceState};

/// Whether OpenTelemetry 0.33's `TraceState` accepts `key`, a key already
/// valid under the Level 2 grammar: at most one `@`, at most 13 characters
/// after it, the first of them a lowercase letter or digit.
pub(crate) fn otel_accepts_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    match bytes.iter().position(|&b| b == b'@') {
        None => true,
        Some(at) => {
            let vendor = bytes.get(at + 1..).unwrap_or_default();
            vendor.len() <= 13
                && !vendor.contains(&b'@')
                && vendor
                    .first()
                    .is_none_or(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        }
    }
}

impl<'a> TraceContextHeaders<'a> {
    /// Parses from an OpenTelemetry `Extractor` (every field through
    /// `Extractor::get_all`). Allocates only what the extractor does.
    ///
    /// ```
    /// use std::collections::HashMap;
    /// # use tower_trace_context::TraceContextHeaders;
    /// let mut carrier = HashMap::new();
    /// carrier.insert("traceparent".to_string(), "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".to_string());
    /// carrier.insert("tracestate".to_string(), "a=1".to_string());
    /// let cx = TraceContextHeaders::extract_span_context(&carrier)?;
    /// assert_eq!(cx.trace_state().get("a"), Some("1"));
    /// # Ok::<(), tower_trace_context::TraceParentError>(())
    /// ```
    pub fn extract_span_context(
        extractor: &dyn Extractor,
    ) -> Result<SpanContext, TraceParentError> {
        let fields = extractor.get_all(TRACESTATE.as_str()).unwrap_or_default();
        Ok(parse_extractor(extractor, &fields)?.span_context())
    }

    /// A remote OpenTelemetry span context: the incoming trace-id, the
    /// caller's span as parent, its flags (`sampled`, `random`) and tracestate.
    ///
    /// ```
    /// # use http::HeaderMap;
    /// # use tower_trace_context::{TraceContextHeaders, TRACEPARENT};
    /// let mut headers = HeaderMap::new();
    /// headers.insert(TRACEPARENT, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".parse()?);
    /// let sc = TraceContextHeaders::from_headers(&headers)?.span_context();
    /// assert!(sc.is_remote() && sc.is_sampled());
    /// assert_eq!(sc.span_id().to_string(), "b7ad6b7169203331");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn span_context(&self) -> SpanContext {
        self.remote(true, false).0
    }

    /// The remote span context and, when OpenTelemetry's span context does
    /// not hold all of it, the wire context: a `random` flag (which the
    /// SDK's child spans may drop), `tracestate` members its `TraceState`
    /// refuses, or a `tracestate` not `convert`ed (then the `TraceState` is
    /// left empty). With `always`, the wire context is made anyway (to tell
    /// a continued trace from one started here when new traces get the
    /// `random` flag).
    #[inline]
    pub(crate) fn remote(&self, convert: bool, always: bool) -> (SpanContext, Option<WireTrace>) {
        let tp = self.traceparent();
        let tracestate = self.tracestate();
        let mut lossy = !convert;
        let state = match convert && !tracestate.is_empty() {
            // OpenTelemetry checks every key itself: only when it refuses
            // one are the members it accepts picked out.
            true => TraceState::from_key_value(tracestate.iter()).unwrap_or_else(|_| {
                lossy = true;
                TraceState::from_key_value(tracestate.iter().filter(|(k, _)| otel_accepts_key(k)))
                    .unwrap_or_default()
            }),
            false => TraceState::NONE,
        };
        let needed = always || tp.is_random() || (lossy && !tracestate.is_empty());
        let wire = needed.then(|| WireTrace {
            traceparent: tp,
            tracestate: WireTraceState::new(tracestate),
            converted: convert,
        });
        (remote_span_context(&tp, state), wire)
    }

    /// `cx` with the remote span context and, when it says more, the wire
    /// context of these headers.
    #[inline]
    fn attach_to(&self, cx: &Context, always: bool) -> Context {
        let (sc, wire) = self.remote(true, always);
        let cx = cx.with_remote_span_context(sc);
        match wire {
            Some(trace) => WireContext {
                trace: Some(trace),
                ..WireContext::default()
            }
            .merge_into(&cx),
            None => cx,
        }
    }
}

/// The incoming `traceparent` of `headers`, the remote span context to
/// continue and its wire context (see [`TraceContextHeaders::remote`]).
/// Without `convert` (tracing off: no span reads OpenTelemetry's
/// `TraceState`), or for an unsampled `traceparent` (no span of the trace
/// is recorded), `tracestate` is kept as received and validated only if it
/// is sent on; OpenTelemetry's `TraceState` stays empty.
pub(crate) fn remote_from_headers(
    headers: &HeaderMap,
    convert: bool,
    always: bool,
) -> Result<(TraceParent, SpanContext, Option<WireTrace>), TraceParentError> {
    let tp = traceparent_of(headers)?;
    // An unsampled parent's `tracestate` is not converted into
    // OpenTelemetry's `TraceState` (ten `String`s and a `VecDeque` for five
    // members, copied again into every span): no span of the trace is
    // recorded, and this crate's injection sends the wire `tracestate` on
    // unchanged, validated when it is first sent.
    if convert && tp.is_sampled() {
        let parsed =
            TraceContextHeaders::with_tracestate(tp, TraceStateView::from_headers(headers));
        let (sc, wire) = parsed.remote(true, always);
        return Ok((parsed.traceparent(), sc, wire));
    }
    let tracestate = WireTraceState::unvalidated(headers);
    let needed = always || tp.is_random() || tracestate.is_some();
    let wire = needed.then(|| WireTrace {
        traceparent: tp,
        tracestate,
        converted: false,
    });
    Ok((tp, remote_span_context(&tp, TraceState::NONE), wire))
}

/// The remote span context a `traceparent` names, with `state`.
fn remote_span_context(tp: &TraceParent, state: TraceState) -> SpanContext {
    SpanContext::new(tp.trace_id(), tp.parent_id(), tp.trace_flags(), true, state)
}

fn parse_extractor<'a>(
    extractor: &dyn Extractor,
    tracestate: &'a [&'a str],
) -> Result<TraceContextHeaders<'a>, TraceParentError> {
    let traceparent = match extractor.get_all(TRACEPARENT.as_str()).as_deref() {
        None | Some([]) => return Err(TraceParentError::Missing),
        Some([one]) => TraceParent::parse(one.as_bytes())?,
        Some(_) => return Err(TraceParentError::Duplicate),
    };
    Ok(TraceContextHeaders::with_tracestate(
        traceparent,
        TraceStateView::from_fields(tracestate),
    ))
}

impl TraceStateView<'_> {
    /// Converts to OpenTelemetry's `TraceState` (which allocates a `String`
    /// per key and value).
    ///
    /// OpenTelemetry 0.33 rejects some keys the Level 2 grammar allows (two
    /// `@`, or more than 13 characters after `@`). Such members are left out
    /// of the converted state; every other member is kept, in order. The
    /// context [`extract`] builds keeps them anyway, and [`inject`] sends
    /// them on.
    ///
    /// ```
    /// # use tower_trace_context::TraceStateView;
    /// let view = TraceStateView::parse("a=1,b@@c=2,d=3")?;
    /// assert_eq!(view.to_trace_state().header(), "a=1,d=3");
    /// # Ok::<(), tower_trace_context::TraceStateError>(())
    /// ```
    #[must_use]
    pub fn to_trace_state(&self) -> TraceState {
        if self.is_empty() {
            return TraceState::NONE;
        }
        TraceState::from_key_value(self.iter()).unwrap_or_else(|_| {
            TraceState::from_key_value(self.iter().filter(|(k, _)| otel_accepts_key(k)))
                .unwrap_or_default()
        })
    }
}

impl OwnedTraceState {
    /// Copies an OpenTelemetry `TraceState`, keeping the first 32 members
    /// whose key and value this crate's grammar accepts.
    ///
    /// ```
    /// # use opentelemetry::trace::TraceState;
    /// # use tower_trace_context::OwnedTraceState;
    /// let ts = TraceState::from_key_value([("a", "1")]).unwrap();
    /// assert_eq!(OwnedTraceState::from_trace_state(&ts).get("a"), Some("1"));
    /// ```
    #[must_use]
    pub fn from_trace_state(trace_state: &TraceState) -> Self {
        let mut members = Vec::new();
        for (k, v) in trace_state {
            if members.len() == MAX_TRACESTATE_MEMBERS {
                break;
            }
            if valid_key(k.as_bytes()) && valid_value(v.as_bytes()) {
                members.push((k.to_owned(), v.to_owned()));
            }
        }
        Self { members }
    }

    /// Converts to OpenTelemetry's `TraceState` (see
    /// [`TraceStateView::to_trace_state`] for keys it cannot hold).
    ///
    /// ```
    /// # use tower_trace_context::OwnedTraceState;
    /// let ts: OwnedTraceState = "a=1".parse()?;
    /// assert_eq!(ts.to_trace_state().get("a"), Some("1"));
    /// # Ok::<(), tower_trace_context::TraceStateError>(())
    /// ```
    #[must_use]
    pub fn to_trace_state(&self) -> TraceState {
        let pairs = self.iter().filter(|(k, _)| otel_accepts_key(k));
        TraceState::from_key_value(pairs).unwrap_or_default()
    }
}

impl BaggageView<'_> {
    /// Converts to OpenTelemetry's `Baggage`: values percent-decoded,
    /// properties kept as written (still encoded) in the metadata, the
    /// first occurrence of a key kept.
    ///
    /// ```
    /// # use tower_trace_context::BaggageView;
    /// let baggage = BaggageView::parse("a=x%20y;p=1,a=2")?.to_baggage();
    /// let (value, metadata) = baggage.get_with_metadata("a").unwrap();
    /// assert_eq!((value.as_str(), metadata.as_str()), ("x y", "p=1"));
    /// # Ok::<(), tower_trace_context::BaggageError>(())
    /// ```
    #[must_use]
    pub fn to_baggage(&self) -> Baggage {
        // Inserted last to first, so the first occurrence of a key is the
        // one that stays, without a lookup per member.
        let mut members = [None; MAX_BAGGAGE_MEMBERS];
        for (slot, member) in members.iter_mut().zip(self.iter()) {
            *slot = Some(member);
        }
        let mut baggage = Baggage::new();
        for member in members.iter().rev().flatten() {
            let _ = baggage.insert_with_metadata(
                member.key.to_owned(),
                member.decoded_value().into_owned(),
                member.properties,
            );
        }
        baggage
    }
}

/// The `traceparent` to send for the span context `sc` of `cx`: its ids and
/// `sampled` flag, and the `random` flag when the trace id is the one the
/// request arrived with and that had it, or, for a trace started here, when
/// trace ids are random (`random_trace_ids`, or the wire context says so).
pub(crate) fn outgoing_traceparent(
    cx: &Context,
    sc: &SpanContext,
    random_trace_ids: bool,
) -> Option<TraceParent> {
    let tp = TraceParent::from_span_context(sc)?;
    let random = match cx.get::<WireContext>() {
        Some(wire) => match &wire.trace {
            Some(trace) if trace.traceparent.trace_id() == sc.trace_id() => {
                trace.traceparent.is_random()
            }
            _ => random_trace_ids || wire.random_trace_ids,
        },
        None => random_trace_ids,
    };
    Some(if random { tp.with_random() } else { tp })
}

/// The `tracestate` to send for the span context `sc` of `cx` (see
/// [`WireTrace::tracestate`]).
pub(crate) fn outgoing_tracestate(
    cx: &Context,
    sc: &SpanContext,
    limit: usize,
) -> Option<HeaderValue> {
    match WireContext::trace_of(cx, sc.trace_id()) {
        Some(trace) => trace.tracestate(sc.trace_state(), limit),
        None => encode_members(|| sc.trace_state().into_iter(), limit),
    }
}

/// Extracts the remote context of a request into a new OpenTelemetry
/// `Context`, or returns the empty context when `traceparent` is absent or
/// invalid (the request then starts a new trace).
///
/// The context also keeps the headers as validated, so [`inject`] sends the
/// same `tracestate` members (those OpenTelemetry's `TraceState` cannot
/// hold included) and the `random` flag on.
///
/// ```
/// use http::HeaderMap;
/// use opentelemetry::trace::TraceContextExt;
/// use tower_trace_context::{extract, TRACEPARENT};
///
/// let mut headers = HeaderMap::new();
/// headers.insert(TRACEPARENT, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".parse()?);
/// let cx = extract(&headers);
/// assert_eq!(cx.span().span_context().trace_id().to_string(), "0af7651916cd43dd8448eb211c80319c");
///
/// headers.insert(TRACEPARENT, "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01".parse()?);
/// assert!(!extract(&headers).has_active_span());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use]
pub fn extract(headers: &HeaderMap) -> Context {
    extract_with_context(&Context::new(), headers)
}

/// Like [`extract`], on top of `cx` (returned unchanged when there is no
/// valid `traceparent`).
///
/// ```
/// # use http::HeaderMap;
/// # use opentelemetry::{Context, KeyValue};
/// # use tower_trace_context::extract_with_context;
/// let cx = Context::new().with_value(KeyValue::new("k", "v"));
/// let out = extract_with_context(&cx, &HeaderMap::new());
/// assert!(out.get::<KeyValue>().is_some());
/// ```
#[must_use]
pub fn extract_with_context(cx: &Context, headers: &HeaderMap) -> Context {
    match TraceContextHeaders::from_headers(headers) {
        Ok(parsed) => parsed.attach_to(cx, false),
        Err(_) => cx.clone(),
    }
}

/// Writes the span context of `cx` as `traceparent` (and `tracestate`
/// when non-empty) into `headers`, replacing earlier values.
///
/// When the context's span is invalid nothing is written. A `tracestate`
/// already in `headers` is removed when the context has none, so it never
/// travels with a `traceparent` it does not belong to.
///
/// Lossless: for a span of the trace `cx` was extracted from (by
/// [`extract`], [`TraceContextPropagator`] or the server layer), the
/// `random` flag the request arrived with is kept, and the incoming
/// `tracestate` goes out with every member (also those OpenTelemetry's
/// `TraceState` cannot hold), normalised (no OWS or empty members, the
/// first of duplicate keys), with the changes the application made through
/// OpenTelemetry's `TraceState` applied (inserted or updated keys on the
/// left, deleted keys removed). At most 32 members; truncated to 512
/// characters (see [`OwnedTraceState::to_header_value_limited`]).
///
/// ```
/// use http::HeaderMap;
/// use opentelemetry::Context;
/// use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
/// use tower_trace_context::{extract, inject, TRACEPARENT, TRACESTATE};
///
/// let sc = SpanContext::new(TraceId::from(1), SpanId::from(2), TraceFlags::SAMPLED, false, TraceState::NONE);
/// let mut headers = HeaderMap::new();
/// inject(&Context::new().with_remote_span_context(sc), &mut headers);
/// assert_eq!(headers[TRACEPARENT], "00-00000000000000000000000000000001-0000000000000002-01");
/// assert!(headers.get(TRACESTATE).is_none());
///
/// // A Level 2 key OpenTelemetry's TraceState refuses still goes out.
/// let mut incoming = HeaderMap::new();
/// incoming.insert(TRACEPARENT, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03".parse()?);
/// incoming.insert(TRACESTATE, "foo@@bar=1,rojo=2".parse()?);
/// let cx = extract(&incoming);
/// assert_eq!(cx.span().span_context().trace_state().header(), "rojo=2");
/// let mut out = HeaderMap::new();
/// inject(&cx, &mut out);
/// assert_eq!(out[TRACEPARENT], incoming[TRACEPARENT]);
/// assert_eq!(out[TRACESTATE], "foo@@bar=1,rojo=2");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn inject(cx: &Context, headers: &mut HeaderMap) {
    inject_limited(cx, headers, DEFAULT_TRACESTATE_LIMIT, false);
}

pub(crate) fn inject_limited(
    cx: &Context,
    headers: &mut HeaderMap,
    limit: usize,
    random_trace_ids: bool,
) {
    let span = cx.span();
    let sc = span.span_context();
    let Some(traceparent) = outgoing_traceparent(cx, sc, random_trace_ids) else {
        return;
    };
    headers.insert(TRACEPARENT, traceparent.to_header_value());
    match outgoing_tracestate(cx, sc, limit) {
        Some(value) => {
            headers.insert(TRACESTATE, value);
        }
        None => {
            headers.remove(TRACESTATE);
        }
    }
}

static FIELDS: LazyLock<[String; 2]> = LazyLock::new(|| {
    [
        TRACEPARENT.as_str().to_owned(),
        TRACESTATE.as_str().to_owned(),
    ]
});

/// W3C Trace Context as an OpenTelemetry `TextMapPropagator`: a drop-in for
/// `opentelemetry_sdk::propagation::TraceContextPropagator` with the strict
/// rules of this crate, all `tracestate` fields (through
/// `Extractor::get_all`), and no empty `tracestate`.
///
/// Lossless like [`extract`] / [`inject`]: extracting then injecting any
/// valid input gives it back, normalised (version `00`, no OWS or empty
/// `tracestate` members, the first of duplicate keys, 512 characters at
/// most), with the `random` flag and the `tracestate` members
/// OpenTelemetry's `TraceState` cannot hold.
///
/// ```
/// use std::collections::HashMap;
/// use opentelemetry::propagation::TextMapPropagator;
/// use tower_trace_context::TraceContextPropagator;
///
/// let propagator = TraceContextPropagator::new();
/// let mut carrier = HashMap::new();
/// carrier.insert("traceparent".to_string(), "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03".to_string());
/// carrier.insert("tracestate".to_string(), "t@vvvvvvvvvvvvvv=1".to_string());
/// let cx = propagator.extract(&carrier);
///
/// let mut out = HashMap::new();
/// propagator.inject_context(&cx, &mut out);
/// assert_eq!(out, carrier);
/// // opentelemetry::global::set_text_map_propagator(propagator);
/// ```
#[derive(Clone, Debug)]
pub struct TraceContextPropagator {
    tracestate_limit: usize,
    random_trace_ids: bool,
}

impl Default for TraceContextPropagator {
    fn default() -> Self {
        Self::new()
    }
}

impl TraceContextPropagator {
    /// A propagator writing at most 512 characters of `tracestate`.
    #[must_use]
    pub fn new() -> Self {
        Self {
            tracestate_limit: DEFAULT_TRACESTATE_LIMIT,
            random_trace_ids: false,
        }
    }

    /// Sets the `tracestate` size limit for injection (at least 512 is
    /// recommended by the specification; a second call replaces the first).
    ///
    /// ```
    /// # use tower_trace_context::TraceContextPropagator;
    /// let propagator = TraceContextPropagator::new().with_tracestate_limit(8192);
    /// # let _ = propagator;
    /// ```
    #[must_use]
    pub fn with_tracestate_limit(mut self, limit: usize) -> Self {
        self.tracestate_limit = limit;
        self
    }

    /// Whether the trace ids of traces this service starts are random, so
    /// their `traceparent` carries the Level 2 `random` flag (default off: only
    /// the application knows its id generator; the OpenTelemetry SDK's
    /// default `RandomIdGenerator` is random). Traces continued from a
    /// request keep the flag the request had, whatever this says: extract
    /// with this propagator (or through the server layer with
    /// [`random_trace_ids`](crate::server::TraceContextLayer::random_trace_ids)
    /// on), so the context remembers which trace it continues. A second
    /// call replaces the first.
    ///
    /// ```
    /// use http::HeaderMap;
    /// use opentelemetry::Context;
    /// use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
    /// use tower_trace_context::{TraceContextPropagator, TRACEPARENT};
    ///
    /// let sc = SpanContext::new(TraceId::from(1), SpanId::from(2), TraceFlags::SAMPLED, false, TraceState::NONE);
    /// let cx = Context::new().with_remote_span_context(sc);
    /// let mut headers = HeaderMap::new();
    /// TraceContextPropagator::new().with_random_trace_ids(true).inject_headers(&cx, &mut headers);
    /// assert!(headers[TRACEPARENT].to_str()?.ends_with("-03"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn with_random_trace_ids(mut self, random: bool) -> Self {
        self.random_trace_ids = random;
        self
    }

    /// Writes the context into a header map (the fast path: no `String`s).
    ///
    /// ```
    /// # use http::HeaderMap;
    /// # use opentelemetry::Context;
    /// # use tower_trace_context::TraceContextPropagator;
    /// let mut headers = HeaderMap::new();
    /// TraceContextPropagator::new().inject_headers(&Context::new(), &mut headers);
    /// assert!(headers.is_empty());
    /// ```
    pub fn inject_headers(&self, cx: &Context, headers: &mut HeaderMap) {
        inject_limited(cx, headers, self.tracestate_limit, self.random_trace_ids);
    }
}

impl TextMapPropagator for TraceContextPropagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let span = cx.span();
        let sc = span.span_context();
        let Some(traceparent) = outgoing_traceparent(cx, sc, self.random_trace_ids) else {
            return;
        };
        injector.set(TRACEPARENT.as_str(), traceparent.to_string());
        if let Some(value) = outgoing_tracestate(cx, sc, self.tracestate_limit) {
            if let Ok(value) = value.to_str() {
                injector.set(TRACESTATE.as_str(), value.to_owned());
            }
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        let fields = extractor.get_all(TRACESTATE.as_str()).unwrap_or_default();
        match parse_extractor(extractor, &fields) {
            Ok(parsed) => parsed.attach_to(cx, self.random_trace_ids),
            Err(_) => cx.clone(),
        }
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(FIELDS.as_slice())
    }
}

/// Encodes OpenTelemetry `Baggage` as a `baggage` header value, or `None`
/// when nothing is left to send.
///
/// Values are percent-encoded (every byte outside `baggage-octet`, and
/// `%`). Members whose key is not a token are left out, as is metadata that
/// is not a valid property list; members that would take the header past
/// 64 members or 8192 bytes are dropped (W3C Baggage §3.3).
///
/// ```
/// use opentelemetry::baggage::Baggage;
/// use tower_trace_context::encode_baggage;
///
/// let mut baggage = Baggage::new();
/// let _ = baggage.insert_with_metadata("user", "Amélie, 100%", "pii");
/// assert_eq!(encode_baggage(&baggage).unwrap(), "user=Am%C3%A9lie%2C%20100%25;pii");
/// assert!(encode_baggage(&Baggage::new()).is_none());
/// ```
#[must_use]
pub fn encode_baggage(baggage: &Baggage) -> Option<HeaderValue> {
    encode_baggage_with(baggage, |_| true, &[])
}

/// [`encode_baggage`] of the members of `baggage` whose key `keep` accepts,
/// then `extra` members (raw values).
pub(crate) fn encode_baggage_with(
    baggage: &Baggage,
    keep: impl Fn(&str) -> bool,
    extra: &[(&str, String)],
) -> Option<HeaderValue> {
    if baggage.is_empty() && extra.is_empty() {
        return None;
    }
    let mut out: Vec<u8> =
        Vec::with_capacity(64 * (baggage.len() + extra.len()).min(MAX_BAGGAGE_MEMBERS));
    let mut members = 0;
    let entries = baggage
        .iter()
        .filter(|(k, _)| keep(k.as_str()))
        .map(|(k, (v, m))| (k.as_str(), v.as_str(), m.as_str()))
        .chain(extra.iter().map(|(k, v)| (*k, v.as_str(), "")));
    for (key, value, metadata) in entries {
        if key.is_empty() || !key.bytes().all(|b| class(b) & TCHAR != 0) {
            continue;
        }
        // Written in place; taken back if it breaks the size limit.
        let start = out.len();
        if start > 0 {
            out.push(b',');
        }
        out.extend_from_slice(key.as_bytes());
        out.push(b'=');
        for &b in value.as_bytes() {
            if class(b) & PLAIN != 0 {
                out.push(b);
            } else {
                const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";
                out.extend_from_slice(&[
                    b'%',
                    HEX_UPPER[usize::from(b >> 4)],
                    HEX_UPPER[usize::from(b & 0xf)],
                ]);
            }
        }
        let metadata = trim_ows(metadata);
        if !metadata.is_empty() && valid_properties(metadata) {
            out.push(b';');
            out.extend_from_slice(metadata.as_bytes());
        }
        if out.len() > MAX_BAGGAGE_BYTES {
            out.truncate(start);
            continue;
        }
        members += 1;
        if members == MAX_BAGGAGE_MEMBERS {
            break;
        }
    }
    if out.is_empty() {
        return None;
    }
    HeaderValue::from_maybe_shared(bytes::Bytes::from(out)).ok()
}

/// Whether `s` is a property list, as OpenTelemetry metadata to write.
fn valid_properties(s: &str) -> bool {
    properties_end(s.as_bytes(), 0) == Ok(s.len())
}

impl BaggageView<'_> {
    /// The wire value of this baggage, to keep next to the converted one.
    pub(crate) fn wire(&self) -> Option<WireBaggage> {
        WireBaggage::new(self)
    }

    /// `cx` with this baggage, and the value it came from kept next to it.
    fn attach_to(&self, cx: &Context) -> Context {
        let Some(mut wire) = self.wire() else {
            return cx.with_baggage(self.to_baggage());
        };
        let cx = wire.attach(cx, self.to_baggage());
        WireContext {
            baggage: Some(wire),
            ..WireContext::default()
        }
        .merge_into(&cx)
    }
}

/// The `baggage` header value for the baggage of `cx`: the incoming value
/// as received when the context's `Baggage` is still the one converted
/// from it (an identity check), or none was set on a context whose incoming
/// baggage was kept unconverted; else [`encode_baggage`].
/// The baggage of `cx`: its OpenTelemetry `Baggage`, or, when the server
/// layer kept the incoming baggage as received (tracing off) and nothing
/// replaced it, that baggage converted on first use.
pub(crate) fn context_baggage(cx: &Context) -> &Baggage {
    let wire = cx.get::<WireContext>();
    match wire.and_then(|w| w.baggage.as_ref()?.unattached()) {
        Some(baggage) if std::ptr::eq(cx.baggage(), Context::new().baggage()) => baggage,
        _ => cx.baggage(),
    }
}

pub(crate) fn baggage_value(cx: &Context) -> Option<HeaderValue> {
    if let Some(wire) = cx.get::<WireContext>().and_then(|w| w.baggage.as_ref()) {
        if wire.is_unchanged(cx) {
            return Some(wire.value.clone());
        }
    }
    encode_baggage(cx.baggage())
}

/// Adds the `baggage` of `headers` (when present and valid) to `cx`;
/// otherwise returns `cx` unchanged.
///
/// ```
/// # use http::HeaderMap;
/// # use opentelemetry::{Context, baggage::BaggageExt};
/// # use tower_trace_context::{BAGGAGE, extract_baggage};
/// let mut headers = HeaderMap::new();
/// headers.insert(BAGGAGE, "k=v".parse()?);
/// assert_eq!(extract_baggage(&Context::new(), &headers).baggage().len(), 1);
/// headers.insert(BAGGAGE, "k=v w".parse()?);
/// assert!(extract_baggage(&Context::new(), &headers).baggage().is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use]
pub fn extract_baggage(cx: &Context, headers: &HeaderMap) -> Context {
    match BaggageView::from_headers(headers) {
        Ok(view) if !view.is_empty() => view.attach_to(cx),
        _ => cx.clone(),
    }
}

/// Writes the baggage of `cx` as the `baggage` header, replacing earlier
/// values; leaves `headers` alone when `cx` has no baggage. Baggage that
/// came from [`extract_baggage`] (or the server layer) and was not changed
/// is written exactly as it arrived: same members, order and encoding.
///
/// ```
/// # use http::HeaderMap;
/// # use opentelemetry::{Context, KeyValue, baggage::BaggageExt};
/// # use tower_trace_context::{BAGGAGE, inject_baggage};
/// let cx = Context::new().with_baggage([KeyValue::new("tenant", "acme")]);
/// let mut headers = HeaderMap::new();
/// inject_baggage(&cx, &mut headers);
/// assert_eq!(headers[BAGGAGE], "tenant=acme");
/// ```
pub fn inject_baggage(cx: &Context, headers: &mut HeaderMap) {
    if let Some(value) = baggage_value(cx) {
        headers.insert(BAGGAGE, value);
    }
}

static BAGGAGE_FIELDS: LazyLock<[String; 1]> = LazyLock::new(|| [BAGGAGE.as_str().to_owned()]);

/// W3C Baggage as an OpenTelemetry `TextMapPropagator`: a drop-in for
/// `opentelemetry_sdk::propagation::BaggagePropagator` that validates the
/// whole header (an invalid one is dropped as a whole rather than member by
/// member), reads every `baggage` field (through `Extractor::get_all`) and
/// enforces the limits on the way out too.
///
/// ```
/// use std::collections::HashMap;
/// use opentelemetry::{Context, baggage::BaggageExt, propagation::TextMapPropagator};
/// use tower_trace_context::BaggagePropagator;
///
/// let propagator = BaggagePropagator::new();
/// let mut carrier = HashMap::new();
/// carrier.insert("baggage".to_string(), "k=v%201".to_string());
/// let cx = propagator.extract(&carrier);
/// assert_eq!(cx.baggage().get("k").map(|v| v.as_str()), Some("v 1"));
///
/// let mut out = HashMap::new();
/// propagator.inject_context(&cx, &mut out);
/// assert_eq!(out["baggage"], "k=v%201");
/// // opentelemetry::global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
/// //     Box::new(TraceContextPropagator::new()), Box::new(BaggagePropagator::new())]));
/// ```
#[derive(Clone, Debug, Default)]
pub struct BaggagePropagator {
    _private: (),
}

impl BaggagePropagator {
    /// The propagator.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

impl TextMapPropagator for BaggagePropagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        if let Some(value) = baggage_value(cx) {
            if let Ok(value) = value.to_str() {
                injector.set(BAGGAGE.as_str(), value.to_owned());
            }
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        let fields = extractor.get_all(BAGGAGE.as_str()).unwrap_or_default();
        match BaggageView::from_fields(&fields) {
            Ok(view) if !view.is_empty() => view.attach_to(cx),
            _ => cx.clone(),
        }
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(BAGGAGE_FIELDS.as_slice())
    }
}
