//! The seams trace formats other than W3C plug into: Sentry's
//! `sentry-trace`, B3 and Datadog each implement [`Format`] in their own
//! module, and the layers call the seams without knowing which formats
//! exist:
//!
//! - incoming context → remote parent ([`Formats::remote`]);
//! - response entries: Server-Timing ([`Formats::server_timing`]) and
//!   `<meta>` tags ([`Formats::meta_tags`]);
//! - outgoing headers ([`Formats::inject`], [`Formats::baggage`]).
//!
//! (The fourth seam, outcome recording, is `crate::span::Recorder`.)
//! With no format turned on, every seam is one `is_none` check.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::Context;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};

use crate::server::RequestTrace;
use crate::wire::baggage::BaggageView;

/// The trace format other than W3C `traceparent` a request's trace was
/// continued from (see [`Decision::ContinuedFrom`](crate::server::Decision::ContinuedFrom)).
///
/// The precedence, when several arrive: a valid `traceparent`, then
/// `sentry-trace`, then B3, then Datadog. Each is read only when turned on.
///
/// ```
/// use tower_trace_context::IncomingFormat;
/// assert_eq!(IncomingFormat::B3Single.as_str(), "b3");
/// assert!(IncomingFormat::SentryTrace < IncomingFormat::Datadog);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum IncomingFormat {
    /// Sentry's `sentry-trace` (feature `sentry`).
    SentryTrace,
    /// B3's single `b3` header.
    B3Single,
    /// B3's `x-b3-*` headers.
    B3Multi,
    /// Datadog's `x-datadog-*` headers.
    Datadog,
}

impl IncomingFormat {
    /// A short, stable name: `sentry-trace`, `b3`, `b3multi` or `datadog`
    /// (OpenTelemetry's `OTEL_PROPAGATORS` names where there is one).
    ///
    /// ```
    /// use tower_trace_context::IncomingFormat;
    /// assert_eq!(IncomingFormat::Datadog.as_str(), "datadog");
    /// ```
    #[must_use]
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::SentryTrace => "sentry-trace",
            Self::B3Single => "b3",
            Self::B3Multi => "b3multi",
            Self::Datadog => "datadog",
        }
    }
}

/// What a format found in a request: the span context to continue and, for
/// a format whose re-injection needs more than ids and flags (Datadog's
/// sampling priority and tags), a value kept in the request's context.
pub(crate) struct Remote {
    pub(crate) span_context: SpanContext,
    pub(crate) format: IncomingFormat,
    pub(crate) carried: Option<Carried>,
}

/// The remote span context a format continues: its ids and sampled flag.
pub(crate) fn remote_span_context(trace_id: u128, span_id: u64, sampled: bool) -> SpanContext {
    let flags = match sampled {
        true => TraceFlags::SAMPLED,
        false => TraceFlags::default(),
    };
    SpanContext::new(
        TraceId::from(trace_id),
        SpanId::from(span_id),
        flags,
        true,
        TraceState::NONE,
    )
}

/// The trace id, span id and sampled flag of `cx`'s span, for a format's
/// outgoing headers.
pub(crate) fn span_ids(cx: &Context) -> (u128, u64, bool) {
    let span = cx.span();
    let sc = span.span_context();
    (
        u128::from_be_bytes(sc.trace_id().to_bytes()),
        u64::from_be_bytes(sc.span_id().to_bytes()),
        sc.is_sampled(),
    )
}

/// A format's own state, carried in the OpenTelemetry context of the
/// request (and of the spans under it) for re-injection.
#[derive(Clone, Debug)]
pub(crate) struct Carried(pub(crate) Arc<dyn Any + Send + Sync>);

impl Carried {
    /// The carried value of type `T` in `cx`, if any.
    pub(crate) fn of<T: Any>(cx: &Context) -> Option<&T> {
        cx.get::<Carried>()?.0.downcast_ref()
    }
}

/// A trace format plugged into the layers. Every method but the first
/// three has a default that does nothing.
pub(crate) trait Format: Any + fmt::Debug + Send + Sync {
    /// Its rank in the precedence (its first incoming kind).
    fn rank(&self) -> IncomingFormat;

    /// The request headers it reads, added to the preflight allow list.
    fn request_headers(&self) -> &'static [HeaderName];

    /// This value, for the format's own accessors.
    fn as_any(&self) -> &dyn Any;

    /// Whether it is read before a valid `traceparent`.
    fn before_traceparent(&self) -> bool {
        false
    }

    /// Incoming: the remote parent in `headers`, if valid.
    fn remote(&self, headers: &HeaderMap, baggage: Option<&BaggageView<'_>>) -> Option<Remote> {
        let _ = (headers, baggage);
        None
    }

    /// Whether the request's `RequestTrace` needs the formats (for `<meta>`
    /// tags or the format's own accessors).
    fn uses_request_trace(&self) -> bool {
        false
    }

    /// Whether [`server_timing`](Self::server_timing) may write entries.
    fn writes_server_timing(&self) -> bool {
        false
    }

    /// Response entries: Server-Timing entries for a browser.
    fn server_timing(&self, trace: &RequestTrace, out: &mut Vec<HeaderValue>) {
        let _ = (trace, out);
    }

    /// Response entries: `<meta>` tags (name, content) for a page.
    fn meta_tags(&self, trace: &RequestTrace, out: &mut Vec<(&'static str, String)>) {
        let _ = (trace, out);
    }

    /// Removes its headers from a request to a URL the allowlist denies
    /// (set by hand, or copied from an incoming request).
    fn strip(&self, headers: &mut HeaderMap) {
        let _ = headers;
    }

    /// Outgoing headers for the context `cx`, to an allowlisted URL.
    fn inject(&self, cx: &Context, headers: &mut HeaderMap) {
        let _ = (cx, headers);
    }

    /// The outgoing `baggage`, when this format decides it (`own`: `cx`'s
    /// span is this service's).
    fn baggage(&self, cx: &Context, own: bool) -> Option<Option<HeaderValue>> {
        let _ = (cx, own);
        None
    }
}

/// The formats turned on, in precedence order; cloning is a reference
/// count at most. What a request with a valid `traceparent` would ask of
/// every format is answered once, when a format is added.
#[derive(Clone, Debug, Default)]
pub(crate) struct Formats {
    list: Option<Arc<[Arc<dyn Format>]>>,
    /// Some format is read before a valid `traceparent`.
    before_traceparent: bool,
    /// Some format writes Server-Timing entries.
    server_timing: bool,
    /// Some format reads the formats from a request's `RequestTrace`.
    per_request: bool,
}

impl Formats {
    /// Turns `format` on, replacing one of the same type.
    pub(crate) fn add(&mut self, format: Arc<dyn Format>) {
        let mut list: Vec<Arc<dyn Format>> = self.iter().cloned().collect();
        list.retain(|f| f.as_any().type_id() != format.as_any().type_id());
        list.push(format);
        list.sort_by_key(|f| f.rank());
        self.before_traceparent = list.iter().any(|f| f.before_traceparent());
        self.server_timing = list.iter().any(|f| f.writes_server_timing());
        self.per_request = list.iter().any(|f| f.uses_request_trace());
        self.list = Some(list.into());
    }

    fn iter(&self) -> impl Iterator<Item = &Arc<dyn Format>> {
        self.list.iter().flat_map(|list| list.iter())
    }

    /// The formats a request's `RequestTrace` keeps: these, when a format
    /// reads them from there, else none (no reference count per request).
    pub(crate) fn for_request(&self) -> Self {
        match self.per_request {
            true => self.clone(),
            false => Self::default(),
        }
    }

    /// The format of type `T`, when on.
    #[cfg_attr(not(feature = "sentry"), allow(dead_code))]
    pub(crate) fn get<T: Format>(&self) -> Option<&T> {
        self.iter().find_map(|f| f.as_any().downcast_ref())
    }

    /// Incoming context → remote parent: the first valid context in
    /// precedence order; with a valid `traceparent` (`w3c_valid`), only
    /// formats read before it are tried.
    pub(crate) fn remote(
        &self,
        w3c_valid: bool,
        headers: &HeaderMap,
        baggage: Option<&BaggageView<'_>>,
    ) -> Option<Remote> {
        if self.list.is_none() || (w3c_valid && !self.before_traceparent) {
            return None;
        }
        let mut found = None;
        for format in self.iter() {
            if w3c_valid && !format.before_traceparent() {
                continue;
            }
            if let Some(remote) = format.remote(headers, baggage) {
                found = Some(remote);
                break;
            }
        }
        found
    }

    /// Response entries: the Server-Timing entries of every format.
    pub(crate) fn server_timing(&self, trace: &RequestTrace) -> Vec<HeaderValue> {
        let mut out = Vec::new();
        if !self.server_timing {
            return out;
        }
        for format in self.iter() {
            format.server_timing(trace, &mut out);
        }
        out
    }

    /// Response entries: the `<meta>` tags of every format.
    #[cfg_attr(not(feature = "html"), allow(dead_code))]
    pub(crate) fn meta_tags(&self, trace: &RequestTrace) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        for format in self.iter() {
            format.meta_tags(trace, &mut out);
        }
        out
    }

    /// Outgoing headers of every format, for `cx`.
    pub(crate) fn inject(&self, cx: &Context, headers: &mut HeaderMap) {
        if self.list.is_none() || !cx.span().span_context().is_valid() {
            return;
        }
        for format in self.iter() {
            format.inject(cx, headers);
        }
    }

    /// Removes every format's headers from a request to a denied URL.
    pub(crate) fn strip(&self, headers: &mut HeaderMap) {
        for format in self.iter() {
            format.strip(headers);
        }
    }

    /// The outgoing `baggage` when a format decides it.
    pub(crate) fn baggage(&self, cx: &Context, own: bool) -> Option<Option<HeaderValue>> {
        self.iter().find_map(|f| f.baggage(cx, own))
    }
}
