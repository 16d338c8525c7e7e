//! Trace context headers of a whole request, and the OpenTelemetry bridge:
//! `extract`, `inject` and a `TextMapPropagator`.

use std::sync::LazyLock;

use http::{HeaderMap, HeaderValue};
use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanContext, TraceContextExt};
use opentelemetry::{Context, trace::TraceState};

use crate::error::{ParseError, TraceStateError};
use crate::headers::{TRACEPARENT, TRACESTATE};
use crate::traceparent::TraceParent;
use crate::tracestate::{DEFAULT_TRACESTATE_LIMIT, TraceStateView, encode_members};

/// The trace context headers of one request, validated together.
///
/// Rules applied at this level (W3C Trace Context §3.2, §3.3):
/// two or more `traceparent` fields are invalid; an invalid `traceparent`
/// means `tracestate` is not parsed; an invalid `tracestate` is discarded
/// while the `traceparent` is kept. Nothing here allocates.
///
/// ```
/// use http::HeaderMap;
/// use tower_trace_context::{ParseError, TRACEPARENT, TRACESTATE, TraceContextHeaders, TraceStateError};
///
/// let mut headers = HeaderMap::new();
/// headers.insert(TRACEPARENT, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".parse()?);
/// headers.insert(TRACESTATE, "rojo=1,BAD=2".parse()?);
/// let parsed = TraceContextHeaders::from_headers(&headers)?;
/// assert!(parsed.tracestate().is_empty());
/// assert_eq!(parsed.tracestate_error(), Some(TraceStateError::InvalidKey { member: 1 }));
///
/// headers.append(TRACEPARENT, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".parse()?);
/// assert_eq!(TraceContextHeaders::from_headers(&headers).unwrap_err(), ParseError::Duplicate);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceContextHeaders<'a> {
    traceparent: TraceParent,
    tracestate: TraceStateView<'a>,
    tracestate_error: Option<TraceStateError>,
}

impl<'a> TraceContextHeaders<'a> {
    /// Parses `traceparent` and `tracestate` from a header map.
    pub fn from_headers(headers: &'a HeaderMap) -> Result<Self, ParseError> {
        let mut fields = headers.get_all(&TRACEPARENT).iter();
        let traceparent = match (fields.next(), fields.next()) {
            (None, _) => return Err(ParseError::Missing),
            (Some(_), Some(_)) => return Err(ParseError::Duplicate),
            (Some(one), None) => TraceParent::parse(one.as_bytes())?,
        };
        Ok(Self::with_tracestate(
            traceparent,
            TraceStateView::from_headers(headers),
        ))
    }

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
    /// # Ok::<(), tower_trace_context::ParseError>(())
    /// ```
    pub fn extract_span_context(extractor: &dyn Extractor) -> Result<SpanContext, ParseError> {
        let traceparent = match extractor.get_all(TRACEPARENT.as_str()).as_deref() {
            None | Some([]) => return Err(ParseError::Missing),
            Some([one]) => TraceParent::parse(one.as_bytes())?,
            Some(_) => return Err(ParseError::Duplicate),
        };
        let fields = extractor.get_all(TRACESTATE.as_str()).unwrap_or_default();
        let parsed =
            TraceContextHeaders::with_tracestate(traceparent, TraceStateView::from_fields(&fields));
        Ok(parsed.span_context())
    }

    fn with_tracestate(
        traceparent: TraceParent,
        tracestate: Result<TraceStateView<'a>, TraceStateError>,
    ) -> Self {
        let (tracestate, tracestate_error) = match tracestate {
            Ok(view) => (view, None),
            Err(err) => (TraceStateView::empty(), Some(err)),
        };
        Self {
            traceparent,
            tracestate,
            tracestate_error,
        }
    }

    /// The validated `traceparent`.
    #[must_use]
    pub fn traceparent(&self) -> TraceParent {
        self.traceparent
    }

    /// The validated `tracestate`: empty when absent or discarded.
    #[must_use]
    pub fn tracestate(&self) -> &TraceStateView<'a> {
        &self.tracestate
    }

    /// Why `tracestate` was discarded, if it was.
    #[must_use]
    pub fn tracestate_error(&self) -> Option<TraceStateError> {
        self.tracestate_error
    }

    /// A remote OpenTelemetry span context: the incoming trace-id, the
    /// caller's span as parent, its flags (`sampled`, `random`) and tracestate.
    ///
    /// ```
    /// # use http::HeaderMap;
    /// # use tower_trace_context::{TRACEPARENT, TraceContextHeaders};
    /// let mut headers = HeaderMap::new();
    /// headers.insert(TRACEPARENT, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".parse()?);
    /// let sc = TraceContextHeaders::from_headers(&headers)?.span_context();
    /// assert!(sc.is_remote() && sc.is_sampled());
    /// assert_eq!(sc.span_id().to_string(), "b7ad6b7169203331");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn span_context(&self) -> SpanContext {
        SpanContext::new(
            self.traceparent.trace_id(),
            self.traceparent.parent_id(),
            self.traceparent.trace_flags(),
            true,
            self.tracestate.to_trace_state(),
        )
    }
}

/// Extracts the remote context of a request into a new OpenTelemetry
/// `Context`, or returns the empty context when `traceparent` is absent or
/// invalid (the request then starts a new trace).
///
/// ```
/// use http::HeaderMap;
/// use opentelemetry::trace::TraceContextExt;
/// use tower_trace_context::{TRACEPARENT, extract};
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
        Ok(parsed) => cx.with_remote_span_context(parsed.span_context()),
        Err(_) => cx.clone(),
    }
}

/// Writes the span context of `cx` as `traceparent` (and `tracestate`
/// when non-empty) into `headers`, replacing earlier values.
///
/// When the context's span is invalid nothing is written. A `tracestate`
/// already in `headers` is removed when the context has none, so it never
/// travels with a `traceparent` it does not belong to. `tracestate` is
/// truncated to 512 characters (see [`OwnedTraceState::to_header_value_limited`](crate::OwnedTraceState::to_header_value_limited)).
///
/// ```
/// use http::HeaderMap;
/// use opentelemetry::Context;
/// use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
/// use tower_trace_context::{TRACEPARENT, TRACESTATE, inject};
///
/// let sc = SpanContext::new(TraceId::from(1), SpanId::from(2), TraceFlags::SAMPLED, false, TraceState::NONE);
/// let mut headers = HeaderMap::new();
/// inject(&Context::new().with_remote_span_context(sc), &mut headers);
/// assert_eq!(headers[TRACEPARENT], "00-00000000000000000000000000000001-0000000000000002-01");
/// assert!(headers.get(TRACESTATE).is_none());
/// ```
pub fn inject(cx: &Context, headers: &mut HeaderMap) {
    inject_limited(cx, headers, DEFAULT_TRACESTATE_LIMIT);
}

fn inject_limited(cx: &Context, headers: &mut HeaderMap, limit: usize) {
    let span = cx.span();
    let sc = span.span_context();
    let Some(traceparent) = TraceParent::from_span_context(sc) else {
        return;
    };
    headers.insert(TRACEPARENT, traceparent.to_header_value());
    match tracestate_value(sc.trace_state(), limit) {
        Some(value) => {
            headers.insert(TRACESTATE, value);
        }
        None => {
            headers.remove(TRACESTATE);
        }
    }
}

fn tracestate_value(trace_state: &TraceState, limit: usize) -> Option<HeaderValue> {
    encode_members(|| trace_state.into_iter(), limit)
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
/// `Extractor::get_all`), the `random` flag kept, and no empty `tracestate`.
///
/// ```
/// use std::collections::HashMap;
/// use opentelemetry::propagation::TextMapPropagator;
/// use opentelemetry::trace::TraceContextExt;
/// use tower_trace_context::TraceContextPropagator;
///
/// let propagator = TraceContextPropagator::new();
/// let mut carrier = HashMap::new();
/// carrier.insert("traceparent".to_string(), "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03".to_string());
/// let cx = propagator.extract(&carrier);
///
/// let mut out = HashMap::new();
/// propagator.inject_context(&cx, &mut out);
/// assert_eq!(out["traceparent"], "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03");
/// assert!(!out.contains_key("tracestate"));
/// // opentelemetry::global::set_text_map_propagator(propagator);
/// ```
#[derive(Clone, Debug)]
pub struct TraceContextPropagator {
    tracestate_limit: usize,
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
        inject_limited(cx, headers, self.tracestate_limit);
    }
}

impl TextMapPropagator for TraceContextPropagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let span = cx.span();
        let sc = span.span_context();
        let Some(traceparent) = TraceParent::from_span_context(sc) else {
            return;
        };
        injector.set(TRACEPARENT.as_str(), traceparent.to_string());
        if let Some(value) = tracestate_value(sc.trace_state(), self.tracestate_limit) {
            if let Ok(value) = value.to_str() {
                injector.set(TRACESTATE.as_str(), value.to_owned());
            }
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        match TraceContextHeaders::extract_span_context(extractor) {
            Ok(sc) => cx.with_remote_span_context(sc),
            Err(_) => cx.clone(),
        }
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(FIELDS.as_slice())
    }
}
