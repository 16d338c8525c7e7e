//! Sentry's `sentry-trace` header: a zero-allocation parser and a
//! stack-buffer encoder (public as `sentry::SentryTrace`).

use std::fmt;
use std::str::FromStr;

use http::{HeaderMap, HeaderValue};
use opentelemetry::trace::{SpanContext, SpanId, TraceId};

use crate::wire::headers::SENTRY_TRACE;
use crate::wire::hex;
use crate::wire::lines::trim_ows_bytes as trim_ows;

/// Longest encoded `sentry-trace`: 32 + 1 + 16 + 2.
pub const SENTRY_TRACE_MAX_LEN: usize = 51;

/// A parsed `sentry-trace` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SentryTrace {
    trace_id: u128,
    span_id: u64,
    sampled: Option<bool>,
}

impl SentryTrace {
    /// A value from ids and an optional sampling decision; `None` when an id
    /// is invalid (all zeros).
    ///
    /// ```
    /// # use opentelemetry::trace::{SpanId, TraceId};
    /// # use tower_trace_context::sentry::SentryTrace;
    /// let st = SentryTrace::new(TraceId::from(1), SpanId::from(2), None).unwrap();
    /// assert_eq!(st.to_string(), "00000000000000000000000000000001-0000000000000002");
    /// assert!(SentryTrace::new(TraceId::INVALID, SpanId::from(2), None).is_none());
    /// ```
    #[must_use]
    pub fn new(trace_id: TraceId, span_id: SpanId, sampled: Option<bool>) -> Option<Self> {
        let (trace_id, span_id) = (
            u128::from_be_bytes(trace_id.to_bytes()),
            u64::from_be_bytes(span_id.to_bytes()),
        );
        (trace_id != 0 && span_id != 0).then_some(Self {
            trace_id,
            span_id,
            sampled,
        })
    }

    /// The value for an OpenTelemetry span context (its sampled flag as the
    /// decision), or `None` when the span context is invalid.
    ///
    /// ```
    /// # use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
    /// # use tower_trace_context::sentry::SentryTrace;
    /// let sc = SpanContext::new(TraceId::from(1), SpanId::from(2), TraceFlags::SAMPLED, false, TraceState::NONE);
    /// assert_eq!(SentryTrace::from_span_context(&sc).unwrap().sampled(), Some(true));
    /// ```
    #[must_use]
    pub fn from_span_context(span_context: &SpanContext) -> Option<Self> {
        if !span_context.is_valid() {
            return None;
        }
        Self::new(
            span_context.trace_id(),
            span_context.span_id(),
            Some(span_context.is_sampled()),
        )
    }

    /// Parses a `sentry-trace` value without allocating.
    ///
    /// ```
    /// # use tower_trace_context::{sentry::SentryTrace, SentryTraceError};
    /// assert!(SentryTrace::parse(b"771a43a4192642f0b136d5159a501700-b0e6f15b45c36b12-0").is_ok());
    /// assert_eq!(
    ///     SentryTrace::parse(b"771A43A4192642F0B136D5159A501700-b0e6f15b45c36b12"),
    ///     Err(SentryTraceError::InvalidTraceId)
    /// );
    /// ```
    pub fn parse(src: &[u8]) -> Result<Self, SentryTraceError> {
        let src = trim_ows(src);
        let (ids, sampled) = match src.len() {
            49 => (src, None),
            51 => {
                let (ids, tail) = src.split_at(49);
                match tail {
                    [b'-', b'1'] => (ids, Some(true)),
                    [b'-', b'0'] => (ids, Some(false)),
                    [b'-', _] => return Err(SentryTraceError::InvalidSampled),
                    _ => return Err(SentryTraceError::MissingDash),
                }
            }
            _ => return Err(SentryTraceError::InvalidLength),
        };
        let Some((trace, rest)) = ids.split_first_chunk::<32>() else {
            return Err(SentryTraceError::InvalidLength);
        };
        let Some((&dash, span)) = rest.split_first() else {
            return Err(SentryTraceError::InvalidLength);
        };
        if dash != b'-' {
            return Err(SentryTraceError::MissingDash);
        }
        let Some(span) = span.first_chunk::<16>() else {
            return Err(SentryTraceError::InvalidLength);
        };
        let trace_id = hex::decode_u128(trace).ok_or(SentryTraceError::InvalidTraceId)?;
        let span_id = hex::decode_u64(span).ok_or(SentryTraceError::InvalidSpanId)?;
        if trace_id == 0 {
            return Err(SentryTraceError::ZeroTraceId);
        }
        if span_id == 0 {
            return Err(SentryTraceError::ZeroSpanId);
        }
        Ok(Self {
            trace_id,
            span_id,
            sampled,
        })
    }

    /// The `sentry-trace` field of `headers` (exactly one).
    ///
    /// ```
    /// # use http::HeaderMap;
    /// # use tower_trace_context::{sentry::SentryTrace, SENTRY_TRACE, SentryTraceError};
    /// let mut headers = HeaderMap::new();
    /// assert_eq!(SentryTrace::from_headers(&headers), Err(SentryTraceError::Missing));
    /// headers.append(SENTRY_TRACE, "771a43a4192642f0b136d5159a501700-b0e6f15b45c36b12".parse()?);
    /// assert!(SentryTrace::from_headers(&headers).is_ok());
    /// headers.append(SENTRY_TRACE, "771a43a4192642f0b136d5159a501700-b0e6f15b45c36b12".parse()?);
    /// assert_eq!(SentryTrace::from_headers(&headers), Err(SentryTraceError::Duplicate));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, SentryTraceError> {
        let mut fields = headers.get_all(&SENTRY_TRACE).iter();
        match (fields.next(), fields.next()) {
            (None, _) => Err(SentryTraceError::Missing),
            (Some(one), None) => Self::parse(one.as_bytes()),
            (Some(_), Some(_)) => Err(SentryTraceError::Duplicate),
        }
    }

    /// The trace id.
    #[must_use]
    pub fn trace_id(&self) -> TraceId {
        TraceId::from(self.trace_id)
    }

    /// The caller's span id.
    #[must_use]
    pub fn span_id(&self) -> SpanId {
        SpanId::from(self.span_id)
    }

    /// The caller's sampling decision; `None`: deferred to the receiver.
    #[must_use]
    pub fn sampled(&self) -> Option<bool> {
        self.sampled
    }

    /// A remote OpenTelemetry span context; a deferred decision becomes
    /// `deferred_sampled`.
    ///
    /// ```
    /// # use tower_trace_context::sentry::SentryTrace;
    /// let st: SentryTrace = "771a43a4192642f0b136d5159a501700-b0e6f15b45c36b12".parse()?;
    /// assert!(st.span_context(true).is_sampled());
    /// assert!(st.span_context(true).is_remote());
    /// # Ok::<(), tower_trace_context::SentryTraceError>(())
    /// ```
    #[must_use]
    pub fn span_context(&self, deferred_sampled: bool) -> SpanContext {
        let sampled = self.sampled.unwrap_or(deferred_sampled);
        crate::formats::remote_span_context(self.trace_id, self.span_id, sampled)
    }

    /// Encodes into a stack buffer; the value is the first `len` bytes.
    fn encode(&self) -> ([u8; SENTRY_TRACE_MAX_LEN], usize) {
        let mut buf = [b'-'; SENTRY_TRACE_MAX_LEN];
        let (trace, rest) = buf.split_at_mut(32);
        trace.copy_from_slice(&hex::encode_u128(self.trace_id));
        if let Some(span) = rest.get_mut(1..17) {
            span.copy_from_slice(&hex::encode_u64(self.span_id));
        }
        match self.sampled {
            Some(sampled) => {
                buf[50] = if sampled { b'1' } else { b'0' };
                (buf, 51)
            }
            None => (buf, 49),
        }
    }

    /// The value as a `HeaderValue`.
    ///
    /// ```
    /// # use tower_trace_context::sentry::SentryTrace;
    /// let st: SentryTrace = "771a43a4192642f0b136d5159a501700-b0e6f15b45c36b12-1".parse()?;
    /// assert_eq!(st.to_header_value(), "771a43a4192642f0b136d5159a501700-b0e6f15b45c36b12-1");
    /// # Ok::<(), tower_trace_context::SentryTraceError>(())
    /// ```
    #[must_use]
    pub fn to_header_value(&self) -> HeaderValue {
        let (buf, len) = self.encode();
        // Hex digits and dashes only: always a valid header value.
        HeaderValue::from_bytes(buf.get(..len).unwrap_or_default())
            .unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

impl fmt::Display for SentryTrace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (buf, len) = self.encode();
        f.write_str(std::str::from_utf8(buf.get(..len).unwrap_or_default()).unwrap_or_default())
    }
}

impl FromStr for SentryTrace {
    type Err = SentryTraceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s.as_bytes())
    }
}

/// Why a `sentry-trace` value was not accepted (the request then starts a
/// new trace, or continues a valid `traceparent`).
///
/// ```
/// use tower_trace_context::{sentry::SentryTrace, SentryTraceError};
/// assert_eq!(SentryTrace::parse(b"abc"), Err(SentryTraceError::InvalidLength));
/// assert_eq!(SentryTraceError::InvalidLength.as_str(), "invalid_length");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SentryTraceError {
    /// The request carries no `sentry-trace` field.
    Missing,
    /// The request carries two or more `sentry-trace` fields.
    Duplicate,
    /// Not 49 (no sampled part) or 51 bytes after trimming spaces and tabs.
    InvalidLength,
    /// A `-` is missing after the trace id or the span id.
    MissingDash,
    /// The trace id is not 32 lowercase hex digits.
    InvalidTraceId,
    /// The trace id is all zeros.
    ZeroTraceId,
    /// The span id is not 16 lowercase hex digits.
    InvalidSpanId,
    /// The span id is all zeros.
    ZeroSpanId,
    /// The sampled part is not `0` or `1`.
    InvalidSampled,
}

impl SentryTraceError {
    /// A short, stable name for the rule.
    #[must_use]
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Duplicate => "duplicate",
            Self::InvalidLength => "invalid_length",
            Self::MissingDash => "missing_dash",
            Self::InvalidTraceId => "invalid_trace_id",
            Self::ZeroTraceId => "zero_trace_id",
            Self::InvalidSpanId => "invalid_span_id",
            Self::ZeroSpanId => "zero_span_id",
            Self::InvalidSampled => "invalid_sampled",
        }
    }
}

impl fmt::Display for SentryTraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rule = match self {
            Self::Missing => "no sentry-trace field",
            Self::Duplicate => "more than one sentry-trace field",
            Self::InvalidLength => "not <32 hex>-<16 hex>[-<0|1>]",
            Self::MissingDash => "'-' expected after the trace id and the span id",
            Self::InvalidTraceId => "trace id is not 32 lowercase hex digits",
            Self::ZeroTraceId => "trace id is all zeros",
            Self::InvalidSpanId => "span id is not 16 lowercase hex digits",
            Self::ZeroSpanId => "span id is all zeros",
            Self::InvalidSampled => "sampled is not 0 or 1",
        };
        write!(f, "sentry-trace: {rule}")
    }
}

impl std::error::Error for SentryTraceError {}
