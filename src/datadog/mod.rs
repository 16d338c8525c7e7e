//! Datadog trace context, in and out, each opt-in: Datadog tracers send
//! `x-datadog-*` without `traceparent`, and without this a trace splits at
//! the first Rust service behind them.
//!
//! - In: [`TraceContextLayer::datadog`](crate::server::TraceContextLayer::datadog)
//!   continues a trace from `x-datadog-trace-id` / `x-datadog-parent-id`
//!   (decimal), `x-datadog-sampling-priority` and the high 64 bits of the
//!   trace id from `_dd.p.tid` in `x-datadog-tags`, when the request has no
//!   valid `traceparent` (precedence: `traceparent`, then `sentry-trace`,
//!   then B3, then Datadog), and adds
//!   [`DATADOG_HEADERS`](crate::DATADOG_HEADERS) and `x-datadog-tags` to the
//!   preflight allow list. [`Decision::ContinuedFrom`] says
//!   [`IncomingFormat::Datadog`]. The sampling priority, origin and `_dd.p.*`
//!   tags are kept in the request's context for re-injection.
//! - Out: [`PropagateLayer::datadog`](crate::client::PropagateLayer::datadog)
//!   sends `x-datadog-*` next to `traceparent` / `tracestate` (always sent)
//!   to allowlisted URLs, built from the current span: its trace id (low 64
//!   bits decimal, high 64 bits as `_dd.p.tid`), its span id as parent id,
//!   the incoming priority when it agrees with the span's sampled flag
//!   (else `1` / `0`), origin and `_dd.p.*` tags.
//!
//! ```
//! use tower_trace_context::datadog::{Datadog, DatadogSupport};
//! use tower_trace_context::{client::{Allowlist, PropagateLayer}, server::TraceContextLayer};
//!
//! let server = TraceContextLayer::new().datadog(DatadogSupport::new());
//! let client = PropagateLayer::new(Allowlist::all()).datadog(DatadogSupport::new());
//!
//! let dd = Datadog::parse(b"9532127138774266268", b"5678", Some(b"2"), Some(b"rum"),
//!     Some(b"_dd.p.tid=0af7651916cd43dd,_dd.p.dm=-4"))?;
//! assert_eq!(dd.trace_id(), 0x0af7651916cd43dd8448eb211c80319c);
//! assert_eq!(dd.sampled(), Some(true));
//! # let _ = (server, client);
//! # Ok::<(), tower_trace_context::DatadogError>(())
//! ```
//!
//! [`Decision::ContinuedFrom`]: crate::server::Decision::ContinuedFrom
//! [`IncomingFormat::Datadog`]: crate::IncomingFormat::Datadog

pub(crate) mod wire;

use std::any::Any;
use std::sync::Arc;

use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::Context;

pub use wire::{
    DECIMAL_MAX_LEN, Datadog, PRIORITY_MAX_LEN, PropagationTags, TAGS_MAX_LEN, TID_ENTRY_LEN,
    TID_TAG, X_DATADOG_ORIGIN, X_DATADOG_PARENT_ID, X_DATADOG_SAMPLING_PRIORITY, X_DATADOG_TAGS,
    X_DATADOG_TRACE_ID, write_decimal, write_priority, write_tid,
};

use crate::client::PropagateLayer;
use crate::formats::{Carried, Format, IncomingFormat, Remote, remote_span_context, span_ids};
use crate::server::TraceContextLayer;
use crate::wire::baggage::BaggageView;

/// Datadog support, turned on with
/// [`TraceContextLayer::datadog`](crate::server::TraceContextLayer::datadog)
/// and [`PropagateLayer::datadog`](crate::client::PropagateLayer::datadog).
///
/// ```
/// use tower_trace_context::datadog::DatadogSupport;
/// let dd = DatadogSupport::new().deferred_sampled(false);
/// # let _ = dd;
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DatadogSupport {
    deferred_sampled: bool,
}

impl Default for DatadogSupport {
    fn default() -> Self {
        Self::new()
    }
}

impl DatadogSupport {
    /// A context without a sampling priority is continued as sampled.
    ///
    /// ```
    /// # use tower_trace_context::datadog::DatadogSupport;
    /// assert_eq!(DatadogSupport::new(), DatadogSupport::default());
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        Self {
            deferred_sampled: true,
        }
    }

    /// Whether a continued context without `x-datadog-sampling-priority`
    /// (the caller left the decision to this service) is continued as
    /// sampled (default `true`). A second call replaces the first.
    ///
    /// ```
    /// # use tower_trace_context::datadog::DatadogSupport;
    /// let dd = DatadogSupport::new().deferred_sampled(false);
    /// # let _ = dd;
    /// ```
    #[must_use]
    pub const fn deferred_sampled(mut self, sampled: bool) -> Self {
        self.deferred_sampled = sampled;
        self
    }
}

impl<M> TraceContextLayer<M> {
    /// Turns on Datadog in (see [`datadog`](crate::datadog)): continue a
    /// trace from `x-datadog-*` when there is no valid `traceparent` (nor
    /// `sentry-trace` or B3, when on), and add the Datadog headers to the
    /// preflight allow list. A second call replaces the settings.
    ///
    /// ```
    /// use tower_trace_context::{datadog::DatadogSupport, server::TraceContextLayer};
    /// let layer = TraceContextLayer::new().datadog(DatadogSupport::new());
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn datadog(self, support: DatadogSupport) -> Self {
        self.with_format(Arc::new(support))
    }
}

impl PropagateLayer {
    /// Turns on Datadog out (see [`datadog`](crate::datadog)): allowlisted
    /// requests also get the current span's context as `x-datadog-*`, for a
    /// Datadog agent or tracer downstream. Datadog headers already on a
    /// request are replaced when the current context is valid (allowlisted
    /// URLs), and removed on the others (unless
    /// `strip_manual_headers(false)`). A second call replaces the settings.
    ///
    /// ```
    /// use tower_trace_context::client::{Allowlist, PropagateLayer};
    /// use tower_trace_context::datadog::DatadogSupport;
    /// let layer = PropagateLayer::new(Allowlist::all()).datadog(DatadogSupport::new());
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn datadog(self, support: DatadogSupport) -> Self {
        self.with_format(Arc::new(support))
    }
}

/// What re-injection needs beyond the span context: the sampling priority,
/// origin and `x-datadog-tags` as they arrived (validated).
#[derive(Debug)]
struct DatadogCarried {
    priority: Option<i32>,
    origin: Option<Box<str>>,
    tags: Option<Box<str>>,
}

/// Every header the format reads and writes.
static HEADERS: [HeaderName; 5] = [
    X_DATADOG_ORIGIN,
    X_DATADOG_PARENT_ID,
    X_DATADOG_SAMPLING_PRIORITY,
    X_DATADOG_TRACE_ID,
    X_DATADOG_TAGS,
];

impl Format for DatadogSupport {
    fn rank(&self) -> IncomingFormat {
        IncomingFormat::Datadog
    }

    fn request_headers(&self) -> &'static [HeaderName] {
        &HEADERS
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn strip(&self, headers: &mut HeaderMap) {
        for name in &HEADERS {
            headers.remove(name);
        }
    }

    fn remote(&self, headers: &HeaderMap, _: Option<&BaggageView<'_>>) -> Option<Remote> {
        let dd = Datadog::from_headers(headers).ok()?;
        let sampled = dd.sampled().unwrap_or(self.deferred_sampled);
        let span_context = remote_span_context(dd.trace_id(), dd.parent_id(), sampled);
        // Nothing to keep (no priority, origin or tags): no allocation.
        let keep = dd.sampling_priority().is_some() || dd.origin().is_some() || dd.tags().is_some();
        let carried = keep.then(|| {
            Carried(Arc::new(DatadogCarried {
                priority: dd.sampling_priority(),
                origin: dd.origin().map(Box::from),
                tags: dd.tags().map(Box::from),
            }))
        });
        Some(Remote {
            span_context,
            format: IncomingFormat::Datadog,
            carried,
        })
    }

    fn inject(&self, cx: &Context, headers: &mut HeaderMap) {
        self.strip(headers);
        let (trace_id, span_id, sampled) = span_ids(cx);
        // A trace whose low 64 bits are zero has no Datadog form.
        let Ok(dd) = Datadog::new(trace_id, span_id) else {
            return;
        };
        let carried = Carried::of::<DatadogCarried>(cx);
        let priority = match carried.and_then(|c| c.priority) {
            Some(p) if (p > 0) == sampled => p,
            _ => i32::from(sampled),
        };
        let origin = carried.and_then(|c| c.origin.as_deref());
        let dd = dd
            .with_sampling_priority(Some(priority))
            .with_parsed_tags(carried.and_then(|c| c.tags.as_deref()));
        let dd = dd.with_origin(origin).unwrap_or(dd);
        let value = |bytes: &[u8]| HeaderValue::from_bytes(bytes).ok();
        let mut buf = [0; DECIMAL_MAX_LEN];
        headers.extend(value(dd.write_trace_id(&mut buf)).map(|v| (X_DATADOG_TRACE_ID, v)));
        headers.extend(value(dd.write_parent_id(&mut buf)).map(|v| (X_DATADOG_PARENT_ID, v)));
        let mut buf = [0; PRIORITY_MAX_LEN];
        let priority = dd.write_sampling_priority(&mut buf).and_then(value);
        headers.extend(priority.map(|v| (X_DATADOG_SAMPLING_PRIORITY, v)));
        headers.extend(
            dd.origin()
                .and_then(|o| value(o.as_bytes()))
                .map(|v| (X_DATADOG_ORIGIN, v)),
        );
        let mut buf = [0; TAGS_MAX_LEN];
        headers.extend(
            dd.write_tags(&mut buf)
                .and_then(value)
                .map(|v| (X_DATADOG_TAGS, v)),
        );
    }
}
