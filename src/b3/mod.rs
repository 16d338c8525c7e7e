//! B3 (Zipkin) trace context, in and out, each opt-in: service meshes
//! (Envoy and Istio with Zipkin tracing) and Zipkin-era services send B3,
//! and without it a trace splits at the first Rust service behind them.
//!
//! - In: [`TraceContextLayer::b3`](crate::server::TraceContextLayer::b3)
//!   continues a trace from the single `b3` header or the `x-b3-*` headers
//!   when the request has no valid `traceparent` (precedence: `traceparent`,
//!   then `sentry-trace`, then B3, then Datadog), and adds the B3 headers to
//!   the preflight allow list. [`Decision::ContinuedFrom`] says
//!   [`IncomingFormat::B3Single`] or [`IncomingFormat::B3Multi`].
//! - Out: [`PropagateLayer::b3`](crate::client::PropagateLayer::b3) sends
//!   B3 next to `traceparent` / `tracestate` (always sent) to allowlisted
//!   URLs, built from the current span: multi headers by default (what
//!   Envoy and Istio read), or the single header.
//!
//! A 16-hex trace id is sent back as 16 hex, and a debug decision as debug.
//! A sampling-only `b3` (`0`, `1`, `d`, no ids) or `x-b3-sampled` alone
//! carries no context: the request starts a new trace, sampled as the
//! tracer provider's sampler decides (the caller's decision is not applied:
//! an OpenTelemetry root span has no parent whose flag a sampler could read).
//!
//! ```
//! use tower_trace_context::b3::{B3, B3Kind, B3Sampling, B3Support};
//! use tower_trace_context::{client::{Allowlist, PropagateLayer}, server::TraceContextLayer};
//!
//! let server = TraceContextLayer::new().b3(B3Support::new());
//! let client = PropagateLayer::new(Allowlist::all()).b3(B3Support::new());
//!
//! let mut headers = http::HeaderMap::new();
//! headers.insert("b3", "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-d".parse()?);
//! let (b3, kind) = B3::from_headers(&headers)?;
//! assert_eq!((b3.sampling(), kind), (B3Sampling::Debug, B3Kind::Single));
//! # let _ = (server, client);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`Decision::ContinuedFrom`]: crate::server::Decision::ContinuedFrom
//! [`IncomingFormat::B3Single`]: crate::IncomingFormat::B3Single
//! [`IncomingFormat::B3Multi`]: crate::IncomingFormat::B3Multi

pub(crate) mod wire;

use std::any::Any;
use std::sync::Arc;

use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::Context;

pub use wire::{
    B3, B3_SINGLE_MAX_LEN, B3Kind, B3Sampling, X_B3_FLAGS, X_B3_PARENTSPANID, X_B3_SAMPLED,
    X_B3_SPANID, X_B3_TRACEID,
};

use crate::client::PropagateLayer;
use crate::formats::{Carried, Format, IncomingFormat, Remote, remote_span_context, span_ids};
use crate::server::TraceContextLayer;
use crate::wire::baggage::BaggageView;
use crate::wire::headers::B3_HEADERS;

/// Which B3 encoding the client layer sends.
///
/// ```
/// use tower_trace_context::b3::{B3Encoding, B3Support};
/// assert_eq!(B3Encoding::default(), B3Encoding::Multi);
/// let single = B3Support::new().encoding(B3Encoding::Single);
/// assert_ne!(single, B3Support::new());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum B3Encoding {
    /// `x-b3-traceid`, `x-b3-spanid`, `x-b3-sampled` (or `x-b3-flags: 1`):
    /// what Envoy and Istio read (the default).
    #[default]
    Multi,
    /// The single `b3` header.
    Single,
}

/// B3 support, turned on with
/// [`TraceContextLayer::b3`](crate::server::TraceContextLayer::b3) and
/// [`PropagateLayer::b3`](crate::client::PropagateLayer::b3).
///
/// ```
/// use tower_trace_context::b3::{B3Encoding, B3Support};
/// let b3 = B3Support::new().encoding(B3Encoding::Single).deferred_sampled(false);
/// # let _ = b3;
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct B3Support {
    encoding: B3Encoding,
    deferred_sampled: bool,
}

impl Default for B3Support {
    fn default() -> Self {
        Self::new()
    }
}

impl B3Support {
    /// Multi-header encoding out; a deferred sampling decision in is
    /// recorded.
    ///
    /// ```
    /// # use tower_trace_context::b3::B3Support;
    /// assert_eq!(B3Support::new(), B3Support::default());
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        Self {
            encoding: B3Encoding::Multi,
            deferred_sampled: true,
        }
    }

    /// The encoding the client layer sends (default
    /// [`B3Encoding::Multi`]). A second call replaces the first.
    ///
    /// ```
    /// # use tower_trace_context::b3::{B3Encoding, B3Support};
    /// let b3 = B3Support::new().encoding(B3Encoding::Single);
    /// # let _ = b3;
    /// ```
    #[must_use]
    pub const fn encoding(mut self, encoding: B3Encoding) -> Self {
        self.encoding = encoding;
        self
    }

    /// Whether a continued B3 context that defers the sampling decision (no
    /// `x-b3-sampled`, no sampling state in `b3`) is continued as sampled
    /// (default `true`). A second call replaces the first.
    ///
    /// ```
    /// # use tower_trace_context::b3::B3Support;
    /// let b3 = B3Support::new().deferred_sampled(false);
    /// # let _ = b3;
    /// ```
    #[must_use]
    pub const fn deferred_sampled(mut self, sampled: bool) -> Self {
        self.deferred_sampled = sampled;
        self
    }
}

impl<M> TraceContextLayer<M> {
    /// Turns on B3 in (see [`b3`](crate::b3)): continue a trace from `b3`
    /// or `x-b3-*` when there is no valid `traceparent` (or `sentry-trace`),
    /// and add [`B3_HEADERS`](crate::B3_HEADERS) to the preflight allow
    /// list. A second call replaces the settings.
    ///
    /// ```
    /// use tower_trace_context::{b3::B3Support, server::TraceContextLayer};
    /// let layer = TraceContextLayer::new().b3(B3Support::new());
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn b3(self, support: B3Support) -> Self {
        self.with_format(Arc::new(support))
    }
}

impl PropagateLayer {
    /// Turns on B3 out (see [`b3`](crate::b3)): allowlisted requests also
    /// get the current span's context as B3, in `support`'s encoding, for a
    /// mesh or a Zipkin-era service. B3 headers already on a request are
    /// replaced when the current context is valid (allowlisted URLs), and
    /// removed on the others (unless `strip_manual_headers(false)`). A
    /// second call replaces the settings.
    ///
    /// ```
    /// use tower_trace_context::b3::B3Support;
    /// use tower_trace_context::client::{Allowlist, PropagateLayer};
    /// let layer = PropagateLayer::new(Allowlist::all()).b3(B3Support::new());
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn b3(self, support: B3Support) -> Self {
        self.with_format(Arc::new(support))
    }
}

/// What re-injection needs beyond the span context, kept only when it
/// cannot be told from it: a debug decision, or a 32-hex trace id whose
/// high half is zero.
#[derive(Debug)]
struct B3Carried {
    trace_id_64: bool,
    debug: bool,
}

impl Format for B3Support {
    fn rank(&self) -> IncomingFormat {
        IncomingFormat::B3Single
    }

    fn request_headers(&self) -> &'static [HeaderName] {
        static HEADERS: [HeaderName; 6] = B3_HEADERS;
        &HEADERS
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn strip(&self, headers: &mut HeaderMap) {
        for name in self.request_headers() {
            headers.remove(name);
        }
    }

    fn remote(&self, headers: &HeaderMap, _: Option<&BaggageView<'_>>) -> Option<Remote> {
        let (b3, kind) = B3::from_headers(headers).ok()?;
        let sampled = b3.sampling().is_sampled().unwrap_or(self.deferred_sampled);
        let span_context = remote_span_context(b3.trace_id(), b3.span_id(), sampled);
        let high_zero = b3.trace_id() >> 64 == 0;
        let debug = b3.sampling() == B3Sampling::Debug;
        let carried = (debug || (high_zero && !b3.is_trace_id_64())).then(|| {
            Carried(Arc::new(B3Carried {
                trace_id_64: b3.is_trace_id_64(),
                debug,
            }))
        });
        Some(Remote {
            span_context,
            format: match kind {
                B3Kind::Single => IncomingFormat::B3Single,
                B3Kind::Multi => IncomingFormat::B3Multi,
            },
            carried,
        })
    }

    fn inject(&self, cx: &Context, headers: &mut HeaderMap) {
        self.strip(headers);
        let (trace_id, span_id, sampled) = span_ids(cx);
        let carried = Carried::of::<B3Carried>(cx);
        let sampling = match (sampled, carried.is_some_and(|c| c.debug)) {
            (true, true) => B3Sampling::Debug,
            (true, false) => B3Sampling::Sampled,
            (false, _) => B3Sampling::NotSampled,
        };
        let trace_id_64 = carried.map_or(trace_id >> 64 == 0, |c| c.trace_id_64);
        let Ok(b3) = B3::new(trace_id, span_id, sampling) else {
            return;
        };
        let b3 = b3.with_trace_id_64(trace_id_64);
        let value = |bytes: &[u8]| HeaderValue::from_bytes(bytes).ok();
        match self.encoding {
            B3Encoding::Single => {
                let mut buf = [0; B3_SINGLE_MAX_LEN];
                headers.extend(value(b3.write_single(&mut buf)).map(|v| (B3, v)));
            }
            B3Encoding::Multi => {
                let (mut trace, mut span) = ([0; 32], [0; 16]);
                headers.extend(value(b3.write_trace_id(&mut trace)).map(|v| (X_B3_TRACEID, v)));
                headers.extend(value(b3.write_span_id(&mut span)).map(|v| (X_B3_SPANID, v)));
                let sampled = sampling.sampled_header().and_then(value);
                headers.extend(sampled.map(|v| (X_B3_SAMPLED, v)));
                let flags = sampling.flags_header().and_then(value);
                headers.extend(flags.map(|v| (X_B3_FLAGS, v)));
            }
        }
    }
}
