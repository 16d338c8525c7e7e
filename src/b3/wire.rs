//! B3 propagation (Zipkin): the single `b3` header and the `X-B3-*` headers,
//! parsed and encoded without allocation.
//!
//! The grammar is the one of openzipkin's `b3-propagation` specification:
//!
//! ```text
//! b3: {TraceId}-{SpanId}[-{SamplingState}[-{ParentSpanId}]]   or   b3: {SamplingState}
//! X-B3-TraceId, X-B3-SpanId, X-B3-ParentSpanId, X-B3-Sampled, X-B3-Flags
//! ```
//!
//! Choices where the spec is loose, and the implementations that back them:
//!
//! - Ids are lowercase hex only ("32 or 16 lower-hex characters"). Brave, the
//!   OpenTelemetry Go, Rust and Java propagators and OpenTelemetry JS's
//!   single-header propagator reject uppercase; only OpenTelemetry JS's
//!   multi-header propagator, zipkin-go and the Datadog tracers accept it.
//! - A 16-hex trace id is the low 64 bits of a 128-bit id (every
//!   implementation pads it); [`B3::is_trace_id_64`] remembers the width so
//!   encoding sends it back as it came (as Brave does).
//! - All-zero trace, span or parent span ids are invalid (Brave, OpenTelemetry
//!   Go/Rust/JS). A 32-hex trace id needs only the whole 128 bits non-zero.
//! - No whitespace is trimmed: HTTP parsers already strip the field value's
//!   surrounding whitespace, and no B3 implementation trims inside it.
//! - `X-B3-Sampled` also takes `true` / `false` in any ASCII case: the spec
//!   says "a lenient implementation may accept them", and Brave, zipkin-go,
//!   OpenTelemetry Go and (case-sensitively) OpenTelemetry JS/Rust do.
//! - `X-B3-Flags: 1` means debug and overrides `X-B3-Sampled` (OpenTelemetry
//!   Go/Rust/JS); every other flags value is ignored, as in all of them. A
//!   malformed `X-B3-Sampled` is still an error (OpenTelemetry Go, zipkin-go).
//! - In the multi-header form an empty header value counts as absent
//!   (OpenTelemetry Go and JS cannot tell the two apart either).
//! - `b3: {TraceId}-{SpanId}-{ParentSpanId}` (parent without a sampling
//!   state) is rejected, as OpenTelemetry Go and Rust do.
//! - The single header wins when it parses; otherwise the multi headers are
//!   tried (spec: "the single-header variant takes precedence"; OpenTelemetry
//!   Go and Rust fall back the same way). Of several values of one header the
//!   first is used ("the first value wins").
//!
//! ```
//! use tower_trace_context::b3::{B3, B3Sampling};
//!
//! let b3 = B3::parse_single(b"80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90")?;
//! assert_eq!(b3.trace_id(), 0x80f1_98ee_5634_3ba8_64fe_8b2a_57d3_eff7);
//! assert_eq!(b3.parent_span_id(), Some(0x05e3_ac9a_4f6e_3b90));
//! assert_eq!(b3.sampling(), B3Sampling::Sampled);
//!
//! let mut buf = [0u8; tower_trace_context::b3::B3_SINGLE_MAX_LEN];
//! assert_eq!(b3.write_single(&mut buf), b"80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90");
//! # Ok::<(), tower_trace_context::B3Error>(())
//! ```

use std::fmt;

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::wire::hex;
use crate::wire::writer::Writer;

/// The single header, `b3` (the const and the [`B3`](struct@B3) context
/// share the name; one `use` brings both).
///
/// ```
/// use tower_trace_context::b3::B3;
/// let mut headers = http::HeaderMap::new();
/// headers.insert(B3, "a3ce929d0e0e4736-00f067aa0ba902b7".parse()?);
/// assert_eq!(B3::from_headers(&headers)?.0.span_id(), 0x00f067aa0ba902b7);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const B3: HeaderName = HeaderName::from_static("b3");
/// `X-B3-TraceId`: 16 or 32 lowercase hex.
///
/// ```
/// assert_eq!(tower_trace_context::b3::X_B3_TRACEID.as_str(), "x-b3-traceid");
/// ```
pub const X_B3_TRACEID: HeaderName = HeaderName::from_static("x-b3-traceid");
/// `X-B3-SpanId`: 16 lowercase hex.
///
/// ```
/// assert_eq!(tower_trace_context::b3::X_B3_SPANID.as_str(), "x-b3-spanid");
/// ```
pub const X_B3_SPANID: HeaderName = HeaderName::from_static("x-b3-spanid");
/// `X-B3-ParentSpanId`: 16 lowercase hex, absent on a root span.
///
/// ```
/// assert_eq!(tower_trace_context::b3::X_B3_PARENTSPANID.as_str(), "x-b3-parentspanid");
/// ```
pub const X_B3_PARENTSPANID: HeaderName = HeaderName::from_static("x-b3-parentspanid");
/// `X-B3-Sampled`: `1` accept, `0` deny, absent defer.
///
/// ```
/// assert_eq!(tower_trace_context::b3::X_B3_SAMPLED.as_str(), "x-b3-sampled");
/// ```
pub const X_B3_SAMPLED: HeaderName = HeaderName::from_static("x-b3-sampled");
/// `X-B3-Flags`: `1` means debug.
///
/// ```
/// assert_eq!(tower_trace_context::b3::X_B3_FLAGS.as_str(), "x-b3-flags");
/// ```
pub const X_B3_FLAGS: HeaderName = HeaderName::from_static("x-b3-flags");

/// Longest `b3` value: 32-hex trace id, span id, sampling state, parent id.
///
/// ```
/// assert_eq!(tower_trace_context::b3::B3_SINGLE_MAX_LEN, 68);
/// ```
pub const B3_SINGLE_MAX_LEN: usize = 32 + 1 + 16 + 1 + 1 + 1 + 16;

/// A B3 sampling state (spec, "Sampling State").
///
/// ```
/// # use tower_trace_context::b3::{B3, B3Sampling};
/// assert_eq!(B3::parse_single(b"a3ce929d0e0e4736-00f067aa0ba902b7")?.sampling(), B3Sampling::Deferred);
/// # Ok::<(), tower_trace_context::B3Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum B3Sampling {
    /// No decision: the receiver decides (absent field or header).
    Deferred,
    /// Deny: `0`.
    NotSampled,
    /// Accept: `1`.
    Sampled,
    /// Debug: `d` in `b3`, `X-B3-Flags: 1`; implies accept.
    Debug,
}

impl B3Sampling {
    /// `Some(true)` for accept and debug, `Some(false)` for deny, `None` when deferred.
    ///
    /// ```
    /// # use tower_trace_context::b3::B3Sampling;
    /// assert_eq!(B3Sampling::Debug.is_sampled(), Some(true));
    /// assert_eq!(B3Sampling::Deferred.is_sampled(), None);
    /// ```
    #[must_use]
    pub const fn is_sampled(self) -> Option<bool> {
        match self {
            Self::Deferred => None,
            Self::NotSampled => Some(false),
            Self::Sampled | Self::Debug => Some(true),
        }
    }

    /// The state as a whole `b3` value (`0`, `1`, `d`), for propagating a
    /// decision without ids; `None` when deferred.
    ///
    /// ```
    /// # use tower_trace_context::b3::B3Sampling;
    /// assert_eq!(B3Sampling::NotSampled.single_value(), Some(&b"0"[..]));
    /// ```
    #[must_use]
    pub const fn single_value(self) -> Option<&'static [u8]> {
        match self {
            Self::Deferred => None,
            Self::NotSampled => Some(b"0"),
            Self::Sampled => Some(b"1"),
            Self::Debug => Some(b"d"),
        }
    }

    /// The `X-B3-Sampled` value: `1` or `0`; `None` when deferred and for
    /// debug (spec: "Debug implies an accept decision, so don't also send the
    /// `X-B3-Sampled` header").
    ///
    /// ```
    /// # use tower_trace_context::b3::B3Sampling;
    /// assert_eq!(B3Sampling::Sampled.sampled_header(), Some(&b"1"[..]));
    /// assert_eq!(B3Sampling::Debug.sampled_header(), None);
    /// ```
    #[must_use]
    pub const fn sampled_header(self) -> Option<&'static [u8]> {
        match self {
            Self::NotSampled => Some(b"0"),
            Self::Sampled => Some(b"1"),
            Self::Deferred | Self::Debug => None,
        }
    }

    /// The `X-B3-Flags` value: `1` for debug, otherwise `None`.
    ///
    /// ```
    /// # use tower_trace_context::b3::B3Sampling;
    /// assert_eq!(B3Sampling::Debug.flags_header(), Some(&b"1"[..]));
    /// assert_eq!(B3Sampling::Sampled.flags_header(), None);
    /// ```
    #[must_use]
    pub const fn flags_header(self) -> Option<&'static [u8]> {
        match self {
            Self::Debug => Some(b"1"),
            _ => None,
        }
    }
}

/// Which encoding [`B3::from_headers`] took the context from.
///
/// ```
/// # use tower_trace_context::b3::{B3, B3Kind};
/// let mut headers = http::HeaderMap::new();
/// headers.insert(B3, "a3ce929d0e0e4736-00f067aa0ba902b7".parse()?);
/// assert_eq!(B3::from_headers(&headers)?.1, B3Kind::Single);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum B3Kind {
    /// The `b3` header.
    Single,
    /// The `X-B3-*` headers.
    Multi,
}

/// Why a B3 context could not be read. Each variant names the rule that failed.
///
/// ```
/// # use tower_trace_context::{B3Error, b3::B3};
/// let err = B3::parse_single(b"a3ce929d0e0e4736").unwrap_err();
/// assert_eq!(err, B3Error::MissingSpanId);
/// assert_eq!(err.as_str(), "missing_span_id");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum B3Error {
    /// No B3 header at all.
    Missing,
    /// The `b3` value is empty.
    Empty,
    /// Only a sampling state was sent (`b3: 0`, `X-B3-Sampled: 1` alone, ...):
    /// valid B3, but no ids to continue (the server layer starts a new trace,
    /// which its sampler decides).
    SamplingOnly(B3Sampling),
    /// The trace id is not 16 or 32 lowercase hex digits.
    InvalidTraceId,
    /// The trace id is all zeros.
    ZeroTraceId,
    /// A span or parent span id came without a trace id.
    MissingTraceId,
    /// The span id is not 16 lowercase hex digits.
    InvalidSpanId,
    /// The span id is all zeros.
    ZeroSpanId,
    /// A trace id came without a span id.
    MissingSpanId,
    /// The parent span id is not 16 lowercase hex digits.
    InvalidParentSpanId,
    /// The parent span id is all zeros.
    ZeroParentSpanId,
    /// The sampling state is not `0`, `1` or `d` (`b3`), or not `0`, `1`,
    /// `true` or `false` (`X-B3-Sampled`).
    InvalidSampling,
    /// `b3` has a parent span id but no sampling state before it.
    ParentWithoutSampling,
}

impl B3Error {
    /// A short stable name for the failed rule, for logs and metrics.
    ///
    /// ```
    /// # use tower_trace_context::B3Error;
    /// assert_eq!(B3Error::ZeroSpanId.as_str(), "zero_span_id");
    /// ```
    #[must_use]
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Empty => "empty",
            Self::SamplingOnly(_) => "sampling_only",
            Self::InvalidTraceId => "invalid_trace_id",
            Self::ZeroTraceId => "zero_trace_id",
            Self::MissingTraceId => "missing_trace_id",
            Self::InvalidSpanId => "invalid_span_id",
            Self::ZeroSpanId => "zero_span_id",
            Self::MissingSpanId => "missing_span_id",
            Self::InvalidParentSpanId => "invalid_parent_span_id",
            Self::ZeroParentSpanId => "zero_parent_span_id",
            Self::InvalidSampling => "invalid_sampling",
            Self::ParentWithoutSampling => "parent_without_sampling",
        }
    }
}

impl fmt::Display for B3Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let msg = match self {
            Self::Missing => "no B3 header",
            Self::Empty => "b3 header is empty",
            Self::SamplingOnly(_) => "B3 carries only a sampling state, no trace context",
            Self::InvalidTraceId => "B3 trace id must be 16 or 32 lowercase hex digits",
            Self::ZeroTraceId => "B3 trace id must not be all zeros",
            Self::MissingTraceId => "B3 span id without a trace id",
            Self::InvalidSpanId => "B3 span id must be 16 lowercase hex digits",
            Self::ZeroSpanId => "B3 span id must not be all zeros",
            Self::MissingSpanId => "B3 trace id without a span id",
            Self::InvalidParentSpanId => "B3 parent span id must be 16 lowercase hex digits",
            Self::ZeroParentSpanId => "B3 parent span id must not be all zeros",
            Self::InvalidSampling => {
                "B3 sampling state must be 0, 1 or d (X-B3-Sampled: 0, 1, true or false)"
            }
            Self::ParentWithoutSampling => "b3 parent span id needs a sampling state before it",
        };
        f.write_str(msg)
    }
}

impl std::error::Error for B3Error {}

/// A validated B3 trace context.
///
/// ```
/// use tower_trace_context::b3::{B3, B3Sampling};
/// let b3 = B3::new(0x4bf92f3577b34da6a3ce929d0e0e4736, 0x00f067aa0ba902b7, B3Sampling::Sampled)?;
/// let mut buf = [0; tower_trace_context::b3::B3_SINGLE_MAX_LEN];
/// assert_eq!(b3.write_single(&mut buf), b"4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1");
/// # Ok::<(), tower_trace_context::B3Error>(())
/// ```
///
/// Invariant: the trace and span ids are non-zero, the parent span id is
/// `None` or non-zero, and `trace_id_64` implies the high 64 bits are zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct B3 {
    trace_id: u128,
    trace_id_64: bool,
    span_id: u64,
    parent_span_id: Option<u64>,
    sampling: B3Sampling,
}

impl B3 {
    /// A context with a 32-hex trace id and no parent; zero ids are rejected.
    ///
    /// ```
    /// # use tower_trace_context::{B3Error, b3::{B3, B3Sampling}};
    /// let b3 = B3::new(7, 9, B3Sampling::Sampled)?;
    /// assert_eq!(B3::new(0, 9, B3Sampling::Sampled), Err(B3Error::ZeroTraceId));
    /// # Ok::<(), B3Error>(())
    /// ```
    pub const fn new(trace_id: u128, span_id: u64, sampling: B3Sampling) -> Result<Self, B3Error> {
        if trace_id == 0 {
            return Err(B3Error::ZeroTraceId);
        }
        if span_id == 0 {
            return Err(B3Error::ZeroSpanId);
        }
        Ok(Self {
            trace_id,
            trace_id_64: false,
            span_id,
            parent_span_id: None,
            sampling,
        })
    }

    /// The same context, encoded with a 16-hex trace id when `yes` and the
    /// high 64 bits are zero (otherwise 32-hex, whatever `yes` says).
    ///
    /// ```
    /// # use tower_trace_context::b3::{B3, B3Sampling};
    /// let b3 = B3::new(7, 9, B3Sampling::Sampled)?.with_trace_id_64(true);
    /// assert!(b3.is_trace_id_64());
    /// assert!(!B3::new(1 << 64, 9, B3Sampling::Sampled)?.with_trace_id_64(true).is_trace_id_64());
    /// # Ok::<(), tower_trace_context::B3Error>(())
    /// ```
    #[must_use]
    pub const fn with_trace_id_64(self, yes: bool) -> Self {
        Self {
            trace_id_64: yes && self.trace_id >> 64 == 0,
            ..self
        }
    }

    /// The same context with another sampling state.
    ///
    /// ```
    /// # use tower_trace_context::b3::{B3, B3Sampling};
    /// let b3 = B3::new(7, 9, B3Sampling::Sampled)?.with_sampling(B3Sampling::Debug);
    /// assert_eq!(b3.sampling(), B3Sampling::Debug);
    /// # Ok::<(), tower_trace_context::B3Error>(())
    /// ```
    #[must_use]
    pub const fn with_sampling(self, sampling: B3Sampling) -> Self {
        Self { sampling, ..self }
    }

    /// A child: same trace and sampling, `span_id` as span id and this span
    /// as parent. A zero `span_id` is rejected.
    ///
    /// ```
    /// # use tower_trace_context::b3::{B3, B3Sampling};
    /// let child = B3::new(7, 9, B3Sampling::Sampled)?.child(10)?;
    /// assert_eq!((child.span_id(), child.parent_span_id()), (10, Some(9)));
    /// # Ok::<(), tower_trace_context::B3Error>(())
    /// ```
    pub const fn child(self, span_id: u64) -> Result<Self, B3Error> {
        if span_id == 0 {
            return Err(B3Error::ZeroSpanId);
        }
        Ok(Self {
            span_id,
            parent_span_id: Some(self.span_id),
            ..self
        })
    }

    /// The trace id (a 16-hex id is the low 64 bits).
    ///
    /// ```
    /// # use tower_trace_context::b3::{B3, B3Sampling};
    /// let b3 = B3::parse_single(b"a3ce929d0e0e4736-00f067aa0ba902b7-1-05e3ac9a4f6e3b90").unwrap();
    /// assert_eq!(b3.trace_id(), 0xa3ce929d0e0e4736);
    /// ```
    #[must_use]
    pub const fn trace_id(&self) -> u128 {
        self.trace_id
    }

    /// Whether the trace id arrived (or will be sent) as 16 hex digits.
    ///
    /// ```
    /// # use tower_trace_context::b3::{B3, B3Sampling};
    /// let b3 = B3::parse_single(b"a3ce929d0e0e4736-00f067aa0ba902b7-1-05e3ac9a4f6e3b90").unwrap();
    /// assert!(b3.is_trace_id_64());
    /// ```
    #[must_use]
    pub const fn is_trace_id_64(&self) -> bool {
        self.trace_id_64
    }

    /// The span id.
    ///
    /// ```
    /// # use tower_trace_context::b3::{B3, B3Sampling};
    /// let b3 = B3::parse_single(b"a3ce929d0e0e4736-00f067aa0ba902b7-1-05e3ac9a4f6e3b90").unwrap();
    /// assert_eq!(b3.span_id(), 0x00f067aa0ba902b7);
    /// ```
    #[must_use]
    pub const fn span_id(&self) -> u64 {
        self.span_id
    }

    /// The parent span id, `None` on a root span.
    ///
    /// ```
    /// # use tower_trace_context::b3::{B3, B3Sampling};
    /// let b3 = B3::parse_single(b"a3ce929d0e0e4736-00f067aa0ba902b7-1-05e3ac9a4f6e3b90").unwrap();
    /// assert_eq!(b3.parent_span_id(), Some(0x05e3ac9a4f6e3b90));
    /// ```
    #[must_use]
    pub const fn parent_span_id(&self) -> Option<u64> {
        self.parent_span_id
    }

    /// The sampling state.
    ///
    /// ```
    /// # use tower_trace_context::b3::{B3, B3Sampling};
    /// let b3 = B3::parse_single(b"a3ce929d0e0e4736-00f067aa0ba902b7-1-05e3ac9a4f6e3b90").unwrap();
    /// assert_eq!(b3.sampling(), B3Sampling::Sampled);
    /// ```
    #[must_use]
    pub const fn sampling(&self) -> B3Sampling {
        self.sampling
    }

    /// Parses a `b3` header value.
    ///
    /// A sampling-only value (`0`, `1`, `d`) returns
    /// [`B3Error::SamplingOnly`] with the decision.
    ///
    /// ```
    /// use tower_trace_context::{B3Error, b3::{B3, B3Sampling}};
    ///
    /// let b3 = B3::parse_single(b"a3ce929d0e0e4736-00f067aa0ba902b7-d")?;
    /// assert!(b3.is_trace_id_64());
    /// assert_eq!(b3.sampling(), B3Sampling::Debug);
    /// assert_eq!(B3::parse_single(b"0"), Err(B3Error::SamplingOnly(B3Sampling::NotSampled)));
    /// assert_eq!(B3::parse_single(b"A3CE929D0E0E4736-00f067aa0ba902b7"), Err(B3Error::InvalidTraceId));
    /// # Ok::<(), B3Error>(())
    /// ```
    pub fn parse_single(value: &[u8]) -> Result<Self, B3Error> {
        // Valid values have fixed field positions: read them directly; any
        // other value takes the field-by-field path, which names the rule.
        match Self::parse_single_fixed(value) {
            Some(b3) => Ok(b3),
            None => Self::parse_single_fields(value),
        }
    }

    /// [`parse_single`](Self::parse_single) field by field.
    fn parse_single_fields(value: &[u8]) -> Result<Self, B3Error> {
        match value {
            [] => return Err(B3Error::Empty),
            [state] => return Err(B3Error::SamplingOnly(single_sampling(*state)?)),
            _ => {}
        }
        // At most 4 fields; a 4th field keeps any further `-`, so extra
        // fields fail as an invalid parent span id.
        let mut fields = value.splitn(4, |&b| b == b'-');
        let (trace_id, trace_id_64) = parse_trace_id(fields.next().unwrap_or_default())?;
        let span_id = match fields.next() {
            Some(span) => parse_span_id(span, B3Error::InvalidSpanId, B3Error::ZeroSpanId)?,
            None => return Err(B3Error::MissingSpanId),
        };
        let sampling = match fields.next() {
            None => B3Sampling::Deferred,
            Some([state]) => single_sampling(*state)?,
            Some(other) => {
                let looks_like_parent = <&[u8; 16]>::try_from(other)
                    .ok()
                    .and_then(hex::decode_u64)
                    .is_some();
                return Err(if looks_like_parent && fields.next().is_none() {
                    B3Error::ParentWithoutSampling
                } else {
                    B3Error::InvalidSampling
                });
            }
        };
        let parent_span_id = match fields.next() {
            None => None,
            Some(parent) => Some(parse_span_id(
                parent,
                B3Error::InvalidParentSpanId,
                B3Error::ZeroParentSpanId,
            )?),
        };
        Ok(Self {
            trace_id,
            trace_id_64,
            span_id,
            parent_span_id,
            sampling,
        })
    }

    /// A valid `b3` value read at fixed positions, or `None` (the value may
    /// still be valid only if this returns `Some`: every valid form is one
    /// of the fixed layouts).
    fn parse_single_fixed(value: &[u8]) -> Option<Self> {
        let (trace_id, trace_id_64, rest) = match value {
            _ if value.get(16) == Some(&b'-') => {
                let (trace, rest) = value.split_first_chunk::<16>()?;
                (u128::from(hex::decode_u64(trace)?), true, &rest[1..])
            }
            _ if value.get(32) == Some(&b'-') => {
                let (trace, rest) = value.split_first_chunk::<32>()?;
                (hex::decode_u128(trace)?, false, &rest[1..])
            }
            _ => return None,
        };
        let (span, rest) = rest.split_first_chunk::<16>()?;
        let span_id = hex::decode_u64(span)?;
        let (sampling, parent) = match rest {
            [] => (B3Sampling::Deferred, None),
            [b'-', state] => (single_sampling(*state).ok()?, None),
            [b'-', state, b'-', parent @ ..] => {
                let parent = hex::decode_u64(<&[u8; 16]>::try_from(parent).ok()?)?;
                (single_sampling(*state).ok()?, Some(parent))
            }
            _ => return None,
        };
        if trace_id == 0 || span_id == 0 || parent == Some(0) {
            return None;
        }
        Some(Self {
            trace_id,
            trace_id_64,
            span_id,
            parent_span_id: parent,
            sampling,
        })
    }

    /// Parses the values of the `X-B3-*` headers (`None` = header absent; an
    /// empty value counts as absent).
    ///
    /// Without trace and span ids, a sampling decision returns
    /// [`B3Error::SamplingOnly`] and nothing at all [`B3Error::Missing`].
    ///
    /// ```
    /// use tower_trace_context::{B3Error, b3::{B3, B3Sampling}};
    ///
    /// let b3 = B3::parse_multi(
    ///     Some(b"463ac35c9f6413ad48485a3953bb6124"),
    ///     Some(b"a2fb4a1d1a96d312"),
    ///     Some(b"0020000000000001"),
    ///     Some(b"1"),
    ///     None,
    /// )?;
    /// assert_eq!(b3.sampling(), B3Sampling::Sampled);
    /// assert_eq!(
    ///     B3::parse_multi(None, None, None, None, Some(b"1")),
    ///     Err(B3Error::SamplingOnly(B3Sampling::Debug))
    /// );
    /// # Ok::<(), B3Error>(())
    /// ```
    pub fn parse_multi(
        trace_id: Option<&[u8]>,
        span_id: Option<&[u8]>,
        parent_span_id: Option<&[u8]>,
        sampled: Option<&[u8]>,
        flags: Option<&[u8]>,
    ) -> Result<Self, B3Error> {
        fn present(v: Option<&[u8]>) -> Option<&[u8]> {
            v.filter(|v| !v.is_empty())
        }
        let (trace, span, parent) = (present(trace_id), present(span_id), present(parent_span_id));
        let mut sampling = match present(sampled) {
            None => B3Sampling::Deferred,
            Some(v) => multi_sampled(v)?,
        };
        if let Some([b'1']) = flags {
            sampling = B3Sampling::Debug;
        }
        let (trace, span) = match (trace, span, parent) {
            (Some(trace), Some(span), _) => (trace, span),
            (Some(_), None, _) => return Err(B3Error::MissingSpanId),
            (None, Some(_), _) | (None, None, Some(_)) => return Err(B3Error::MissingTraceId),
            (None, None, None) => {
                return Err(match sampling {
                    B3Sampling::Deferred => B3Error::Missing,
                    decided => B3Error::SamplingOnly(decided),
                });
            }
        };
        let (trace_id, trace_id_64) = parse_trace_id(trace)?;
        let span_id = parse_span_id(span, B3Error::InvalidSpanId, B3Error::ZeroSpanId)?;
        let parent_span_id = match parent {
            None => None,
            Some(parent) => Some(parse_span_id(
                parent,
                B3Error::InvalidParentSpanId,
                B3Error::ZeroParentSpanId,
            )?),
        };
        Ok(Self {
            trace_id,
            trace_id_64,
            span_id,
            parent_span_id,
            sampling,
        })
    }

    /// Reads B3 from request headers: the `b3` header when it parses, else the
    /// `X-B3-*` headers. The first value of each header is used.
    ///
    /// When both fail, the error is, in order of preference: a
    /// [`B3Error::SamplingOnly`] (single first), the single header's error,
    /// the multi headers' error ([`B3Error::Missing`] when there is no B3
    /// header at all).
    ///
    /// ```
    /// use http::{HeaderMap, HeaderValue};
    /// use tower_trace_context::b3::{B3, B3Kind, X_B3_SAMPLED, X_B3_SPANID, X_B3_TRACEID};
    ///
    /// let mut headers = HeaderMap::new();
    /// headers.insert(X_B3_TRACEID, HeaderValue::from_static("a3ce929d0e0e4736"));
    /// headers.insert(X_B3_SPANID, HeaderValue::from_static("00f067aa0ba902b7"));
    /// headers.insert(X_B3_SAMPLED, HeaderValue::from_static("1"));
    /// let (b3, kind) = B3::from_headers(&headers)?;
    /// assert_eq!((b3.trace_id(), kind), (0xa3ce_929d_0e0e_4736, B3Kind::Multi));
    /// # Ok::<(), tower_trace_context::B3Error>(())
    /// ```
    pub fn from_headers(headers: &HeaderMap) -> Result<(Self, B3Kind), B3Error> {
        let get = |name: HeaderName| headers.get(name).map(HeaderValue::as_bytes);
        let single = match get(B3).map(Self::parse_single) {
            Some(Ok(b3)) => return Ok((b3, B3Kind::Single)),
            Some(Err(e)) => Some(e),
            None => None,
        };
        let multi = Self::parse_multi(
            get(X_B3_TRACEID),
            get(X_B3_SPANID),
            get(X_B3_PARENTSPANID),
            get(X_B3_SAMPLED),
            get(X_B3_FLAGS),
        );
        match (single, multi) {
            (_, Ok(b3)) => Ok((b3, B3Kind::Multi)),
            (None, Err(m)) => Err(m),
            (Some(s), Err(B3Error::Missing)) | (Some(s @ B3Error::SamplingOnly(_)), Err(_)) => {
                Err(s)
            }
            (Some(_), Err(m @ B3Error::SamplingOnly(_))) => Err(m),
            (Some(s), Err(_)) => Err(s),
        }
    }

    /// Encodes the `b3` value into `buf` and returns the written part.
    ///
    /// The trace id is 16 hex when [`B3::is_trace_id_64`], else 32. A deferred
    /// decision omits the sampling field and therefore the parent span id,
    /// which may only follow a sampling state.
    ///
    /// ```
    /// # use tower_trace_context::b3::{B3, B3Sampling, B3_SINGLE_MAX_LEN};
    /// let b3 = B3::new(0xa3ce_929d_0e0e_4736, 0xb7, B3Sampling::Debug)?.with_trace_id_64(true);
    /// let mut buf = [0u8; B3_SINGLE_MAX_LEN];
    /// assert_eq!(b3.write_single(&mut buf), b"a3ce929d0e0e4736-00000000000000b7-d");
    /// # Ok::<(), tower_trace_context::B3Error>(())
    /// ```
    pub fn write_single<'b>(&self, buf: &'b mut [u8; B3_SINGLE_MAX_LEN]) -> &'b [u8] {
        let mut w = Writer::new(buf);
        w.push(self.write_trace_id(&mut [0; 32]));
        w.push(b"-");
        w.push(&hex::encode_u64(self.span_id));
        if let Some(state) = self.sampling.single_value() {
            w.push(b"-");
            w.push(state);
            if let Some(parent) = self.parent_span_id {
                w.push(b"-");
                w.push(&hex::encode_u64(parent));
            }
        }
        // The buffer holds the longest value.
        w.finish().unwrap_or_default()
    }

    /// Encodes the `X-B3-TraceId` value (16 or 32 hex) into `buf`.
    ///
    /// ```
    /// # use tower_trace_context::b3::{B3, B3Sampling};
    /// let b3 = B3::parse_single(b"a3ce929d0e0e4736-00f067aa0ba902b7-1-05e3ac9a4f6e3b90").unwrap();
    /// assert_eq!(b3.write_trace_id(&mut [0; 32]), b"a3ce929d0e0e4736");
    /// ```
    pub fn write_trace_id<'b>(&self, buf: &'b mut [u8; 32]) -> &'b [u8] {
        *buf = hex::encode_u128(self.trace_id);
        match self.trace_id_64 {
            // The high half is zero: its 16 hex digits are the last 16.
            true => &buf[16..],
            false => buf,
        }
    }

    /// Encodes the `X-B3-SpanId` value into `buf`.
    ///
    /// ```
    /// # use tower_trace_context::b3::{B3, B3Sampling};
    /// let b3 = B3::parse_single(b"a3ce929d0e0e4736-00f067aa0ba902b7-1-05e3ac9a4f6e3b90").unwrap();
    /// assert_eq!(b3.write_span_id(&mut [0; 16]), b"00f067aa0ba902b7");
    /// ```
    pub fn write_span_id<'b>(&self, buf: &'b mut [u8; 16]) -> &'b [u8] {
        *buf = hex::encode_u64(self.span_id);
        buf
    }

    /// Encodes the `X-B3-ParentSpanId` value into `buf`; `None` on a root span.
    ///
    /// ```
    /// # use tower_trace_context::b3::{B3, B3Sampling};
    /// let b3 = B3::parse_single(b"a3ce929d0e0e4736-00f067aa0ba902b7-1-05e3ac9a4f6e3b90").unwrap();
    /// assert_eq!(b3.write_parent_span_id(&mut [0; 16]), Some(&b"05e3ac9a4f6e3b90"[..]));
    /// ```
    pub fn write_parent_span_id<'b>(&self, buf: &'b mut [u8; 16]) -> Option<&'b [u8]> {
        let parent = self.parent_span_id?;
        *buf = hex::encode_u64(parent);
        Some(buf)
    }
}

/// Parses a 16- or 32-hex trace id; `true` when it was 16 hex.
fn parse_trace_id(src: &[u8]) -> Result<(u128, bool), B3Error> {
    let parsed = if let Ok(short) = <&[u8; 16]>::try_from(src) {
        hex::decode_u64(short).map(|v| (u128::from(v), true))
    } else if let Ok(long) = <&[u8; 32]>::try_from(src) {
        hex::decode_u128(long).map(|v| (v, false))
    } else {
        None
    };
    match parsed {
        None => Err(B3Error::InvalidTraceId),
        Some((0, _)) => Err(B3Error::ZeroTraceId),
        Some(ok) => Ok(ok),
    }
}

/// Parses a 16-hex span id, reporting `invalid` or `zero`.
fn parse_span_id(src: &[u8], invalid: B3Error, zero: B3Error) -> Result<u64, B3Error> {
    match <&[u8; 16]>::try_from(src).ok().and_then(hex::decode_u64) {
        None => Err(invalid),
        Some(0) => Err(zero),
        Some(id) => Ok(id),
    }
}

/// The one-character sampling state of `b3`.
fn single_sampling(state: u8) -> Result<B3Sampling, B3Error> {
    match state {
        b'0' => Ok(B3Sampling::NotSampled),
        b'1' => Ok(B3Sampling::Sampled),
        b'd' => Ok(B3Sampling::Debug),
        _ => Err(B3Error::InvalidSampling),
    }
}

/// An `X-B3-Sampled` value: `1`, `0`, or legacy `true` / `false`.
fn multi_sampled(value: &[u8]) -> Result<B3Sampling, B3Error> {
    match value {
        b"1" => Ok(B3Sampling::Sampled),
        b"0" => Ok(B3Sampling::NotSampled),
        v if v.eq_ignore_ascii_case(b"true") => Ok(B3Sampling::Sampled),
        v if v.eq_ignore_ascii_case(b"false") => Ok(B3Sampling::NotSampled),
        _ => Err(B3Error::InvalidSampling),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T128: &str = "80f198ee56343ba864fe8b2a57d3eff7";
    const T128_V: u128 = 0x80f1_98ee_5634_3ba8_64fe_8b2a_57d3_eff7;
    const T64: &str = "a3ce929d0e0e4736";
    const T64_V: u128 = 0xa3ce_929d_0e0e_4736;
    const S: &str = "e457b5a2e4d86bd1";
    const S_V: u64 = 0xe457_b5a2_e4d8_6bd1;
    const P: &str = "05e3ac9a4f6e3b90";
    const P_V: u64 = 0x05e3_ac9a_4f6e_3b90;

    fn ok(
        trace_id: u128,
        trace_id_64: bool,
        parent: Option<u64>,
        sampling: B3Sampling,
    ) -> Result<B3, B3Error> {
        Ok(B3 {
            trace_id,
            trace_id_64,
            span_id: S_V,
            parent_span_id: parent,
            sampling,
        })
    }

    #[test]
    #[rustfmt::skip]
    fn single_header_spec_table() {
        use B3Error::*;
        use B3Sampling::*;
        let cases: Vec<(String, Result<B3, B3Error>, &str)> = vec![
            // "Single Header": b3={TraceId}-{SpanId}-{SamplingState}-{ParentSpanId}
            (format!("{T128}-{S}-1-{P}"), ok(T128_V, false, Some(P_V), Sampled), "spec example, all four fields"),
            (format!("{T128}-{S}-1"), ok(T128_V, false, None, Sampled), "last two fields optional"),
            (format!("{T128}-{S}"), ok(T128_V, false, None, Deferred), "Defer is absence of the sampling field"),
            (format!("{T128}-{S}-0"), ok(T128_V, false, None, NotSampled), "Deny: 0"),
            (format!("{T128}-{S}-d"), ok(T128_V, false, None, Debug), "Debug: d"),
            (format!("{T128}-{S}-d-{P}"), ok(T128_V, false, Some(P_V), Debug), "Debug with parent"),
            (format!("{T64}-{S}-1"), ok(T64_V, true, None, Sampled), "TraceId: 16 lower-hex"),
            (format!("0000000000000000{T64}-{S}"), ok(T64_V, false, None, Deferred), "32-hex with zero high bits keeps its width"),
            (format!("00000000000000010000000000000000-{S}"), ok(1 << 64, false, None, Deferred), "only the whole 128 bits must be non-zero"),
            // "Sampling State can also be sent on its own"
            ("0".into(), Err(SamplingOnly(NotSampled)), "b3: 0, deny-only"),
            ("1".into(), Err(SamplingOnly(Sampled)), "b3: 1"),
            ("d".into(), Err(SamplingOnly(Debug)), "b3: d"),
            ("".into(), Err(Empty), "empty value"),
            ("x".into(), Err(InvalidSampling), "sampling: 0, 1 or d"),
            ("D".into(), Err(InvalidSampling), "sampling is lowercase d"),
            ("-".into(), Err(InvalidSampling), "one byte is a sampling state"),
            ("1-1".into(), Err(InvalidTraceId), "Brave's old sampled-debug form is not in the spec"),
            ("-1".into(), Err(InvalidTraceId), "no trace id"),
            // TraceId: "32 or 16 lower-hex characters", required
            (format!("{}-{S}", T128.to_uppercase()), Err(InvalidTraceId), "uppercase trace id"),
            (format!("{}-{S}", &T128[1..]), Err(InvalidTraceId), "31 hex"),
            (format!("0{T128}-{S}"), Err(InvalidTraceId), "33 hex"),
            (format!("{}-{S}", &T64[1..]), Err(InvalidTraceId), "15 hex"),
            (format!("0{T64}-{S}"), Err(InvalidTraceId), "17 hex"),
            (format!("+{}-{S}", &T64[1..]), Err(InvalidTraceId), "sign is not hex"),
            (format!(" {T64}-{S}"), Err(InvalidTraceId), "no whitespace tolerance"),
            (format!("{}-{S}", "0".repeat(16)), Err(ZeroTraceId), "zero 64-bit trace id"),
            (format!("{}-{S}", "0".repeat(32)), Err(ZeroTraceId), "zero 128-bit trace id"),
            // SpanId: "16 lower-hex character", required
            (T128.into(), Err(MissingSpanId), "trace id alone"),
            (T64.into(), Err(MissingSpanId), "64-bit trace id alone"),
            (format!("{T128}-{}", S.to_uppercase()), Err(InvalidSpanId), "uppercase span id"),
            (format!("{T128}-{}", &S[1..]), Err(InvalidSpanId), "15 hex span id"),
            (format!("{T128}-0{S}"), Err(InvalidSpanId), "17 hex span id"),
            (format!("{T128}-{S} "), Err(InvalidSpanId), "trailing space"),
            (format!("{T128}-"), Err(InvalidSpanId), "empty span id"),
            (format!("{T128}-{}", "0".repeat(16)), Err(ZeroSpanId), "zero span id"),
            // SamplingState: "a single hex character"
            (format!("{T128}-{S}-"), Err(InvalidSampling), "trailing dash"),
            (format!("{T128}-{S}-2"), Err(InvalidSampling), "2"),
            (format!("{T128}-{S}-true"), Err(InvalidSampling), "true is multi-header only"),
            (format!("{T128}-{S}-1 "), Err(InvalidSampling), "trailing space after state"),
            (format!("{T128}-{S}--{P}"), Err(InvalidSampling), "empty state before parent"),
            (format!("{T128}-{S}-{P}"), Err(ParentWithoutSampling), "parent needs a sampling state"),
            // ParentSpanId: "16 lower-hex characters in the final position"
            (format!("{T128}-{S}-1-"), Err(InvalidParentSpanId), "empty parent"),
            (format!("{T128}-{S}-1-{}", P.to_uppercase()), Err(InvalidParentSpanId), "uppercase parent"),
            (format!("{T128}-{S}-1-{P}-1"), Err(InvalidParentSpanId), "a fifth field"),
            (format!("{T128}-{S}-1-{P}0"), Err(InvalidParentSpanId), "17 hex parent"),
            (format!("{T128}-{S}-1-{}", "0".repeat(16)), Err(ZeroParentSpanId), "zero parent"),
        ];
        for (input, expected, rule) in cases {
            assert_eq!(B3::parse_single(input.as_bytes()), expected, "{rule}: {input:?}");
        }
    }

    type MultiRow = ([Option<&'static str>; 5], Result<B3, B3Error>, &'static str);

    #[test]
    #[rustfmt::skip]
    fn multi_header_spec_table() {
        use B3Error::*;
        use B3Sampling::*;
        let cases: Vec<MultiRow> = vec![
            // [X-B3-TraceId, X-B3-SpanId, X-B3-ParentSpanId, X-B3-Sampled, X-B3-Flags]
            ([Some(T128), Some(S), None, None, None], ok(T128_V, false, None, Deferred), "Sampled absent: defer"),
            ([Some(T128), Some(S), None, Some("1"), None], ok(T128_V, false, None, Sampled), "X-B3-Sampled: 1"),
            ([Some(T128), Some(S), None, Some("0"), None], ok(T128_V, false, None, NotSampled), "X-B3-Sampled: 0"),
            ([Some(T128), Some(S), None, Some("true"), None], ok(T128_V, false, None, Sampled), "lenient: true"),
            ([Some(T128), Some(S), None, Some("False"), None], ok(T128_V, false, None, NotSampled), "lenient: False"),
            ([Some(T128), Some(S), None, None, Some("1")], ok(T128_V, false, None, Debug), "X-B3-Flags: 1 is debug"),
            ([Some(T128), Some(S), None, Some("0"), Some("1")], ok(T128_V, false, None, Debug), "debug overrides sampled"),
            ([Some(T128), Some(S), None, Some("1"), Some("0")], ok(T128_V, false, None, Sampled), "flags 0 ignored"),
            ([Some(T128), Some(S), None, None, Some("2")], ok(T128_V, false, None, Deferred), "other flags ignored"),
            ([Some(T64), Some(S), Some(P), Some("1"), None], ok(T64_V, true, Some(P_V), Sampled), "16-hex trace id and parent"),
            ([Some(T128), Some(S), Some(""), Some(""), Some("")], ok(T128_V, false, None, Deferred), "empty values count as absent"),
            ([Some(T128), Some(S), None, Some("d"), None], Err(InvalidSampling), "d is single-header only"),
            ([Some(T128), Some(S), None, Some("2"), None], Err(InvalidSampling), "2"),
            ([Some(T128), Some(S), None, Some(" 1"), None], Err(InvalidSampling), "no whitespace tolerance"),
            ([Some(T128), Some(S), None, Some("yes"), Some("1")], Err(InvalidSampling), "malformed sampled even with debug"),
            ([None, None, None, Some("0"), None], Err(SamplingOnly(NotSampled)), "deny without ids"),
            ([None, None, None, Some("1"), None], Err(SamplingOnly(Sampled)), "accept without ids"),
            ([None, None, None, None, Some("1")], Err(SamplingOnly(Debug)), "debug without ids"),
            ([None, None, None, None, None], Err(Missing), "no headers"),
            ([Some(""), Some(""), None, None, Some("0")], Err(Missing), "nothing usable"),
            ([Some(T128), None, None, Some("1"), None], Err(MissingSpanId), "SpanId is required"),
            ([None, Some(S), None, Some("1"), None], Err(MissingTraceId), "TraceId is required"),
            ([None, None, Some(P), None, None], Err(MissingTraceId), "parent alone"),
            ([Some("80F198EE56343BA864FE8B2A57D3EFF7"), Some(S), None, None, None], Err(InvalidTraceId), "lower-hex only"),
            ([Some("123"), Some(S), None, None, None], Err(InvalidTraceId), "length 16 or 32"),
            ([Some("00000000000000000000000000000000"), Some(S), None, None, None], Err(ZeroTraceId), "zero trace id"),
            ([Some(T128), Some("E457B5A2E4D86BD1"), None, None, None], Err(InvalidSpanId), "lower-hex span id"),
            ([Some(T128), Some("0000000000000000"), None, None, None], Err(ZeroSpanId), "zero span id"),
            ([Some(T128), Some(S), Some("xyz"), None, None], Err(InvalidParentSpanId), "bad parent"),
            ([Some(T128), Some(S), Some("0000000000000000"), None, None], Err(ZeroParentSpanId), "zero parent"),
        ];
        for ([t, s, p, smp, f], expected, rule) in cases {
            let b = |v: Option<&'static str>| v.map(str::as_bytes);
            assert_eq!(B3::parse_multi(b(t), b(s), b(p), b(smp), b(f)), expected, "{rule}");
        }
    }

    fn headers(pairs: &[(HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn from_headers_precedence() {
        let single = &*format!("{T64}-{S}-1");
        let multi = [(X_B3_TRACEID, T128), (X_B3_SPANID, S), (X_B3_SAMPLED, "0")];

        // "The single-header variant takes precedence over the multiple header one."
        let mut both = headers(&multi);
        both.insert(B3, HeaderValue::from_str(single).unwrap());
        let (b3, kind) = B3::from_headers(&both).unwrap();
        assert_eq!((b3.trace_id(), kind), (T64_V, B3Kind::Single));

        // An invalid single header falls back to the multi headers.
        let mut bad_single = headers(&multi);
        bad_single.insert(B3, HeaderValue::from_static("garbage"));
        let (b3, kind) = B3::from_headers(&bad_single).unwrap();
        assert_eq!(
            (b3.sampling(), kind),
            (B3Sampling::NotSampled, B3Kind::Multi)
        );

        // A sampling-only single header does not hide valid multi headers...
        let mut deny = headers(&multi);
        deny.insert(B3, HeaderValue::from_static("0"));
        assert_eq!(B3::from_headers(&deny).unwrap().1, B3Kind::Multi);
        // ...and is reported when there is nothing else.
        let deny = headers(&[(B3, "0")]);
        assert_eq!(
            B3::from_headers(&deny),
            Err(B3Error::SamplingOnly(B3Sampling::NotSampled))
        );
        // It also beats a broken multi context.
        let deny = headers(&[(B3, "d"), (X_B3_TRACEID, "nothex")]);
        assert_eq!(
            B3::from_headers(&deny),
            Err(B3Error::SamplingOnly(B3Sampling::Debug))
        );

        // Single error when only the single header is there; multi error when
        // only multi; single error when both are broken.
        assert_eq!(
            B3::from_headers(&headers(&[(B3, "x")])),
            Err(B3Error::InvalidSampling)
        );
        assert_eq!(
            B3::from_headers(&headers(&[(X_B3_TRACEID, T128)])),
            Err(B3Error::MissingSpanId)
        );
        assert_eq!(
            B3::from_headers(&headers(&[(B3, "x"), (X_B3_TRACEID, T128)])),
            Err(B3Error::InvalidSampling)
        );
        assert_eq!(
            B3::from_headers(&headers(&[(B3, "x"), (X_B3_SAMPLED, "1")])),
            Err(B3Error::SamplingOnly(B3Sampling::Sampled))
        );
        assert_eq!(B3::from_headers(&HeaderMap::new()), Err(B3Error::Missing));

        // "When extracting state headers, the first value wins."
        let twice = headers(&[(X_B3_TRACEID, T128), (X_B3_TRACEID, T64), (X_B3_SPANID, S)]);
        assert_eq!(B3::from_headers(&twice).unwrap().0.trace_id(), T128_V);
        let twice = headers(&[(B3, single), (B3, "0")]);
        assert_eq!(B3::from_headers(&twice).unwrap().1, B3Kind::Single);
    }

    #[test]
    fn encoders() {
        let b3 = B3::parse_single(format!("{T128}-{S}-1-{P}").as_bytes()).unwrap();
        let (mut t, mut s, mut p) = ([0u8; 32], [0u8; 16], [0u8; 16]);
        assert_eq!(b3.write_trace_id(&mut t), T128.as_bytes());
        assert_eq!(b3.write_span_id(&mut s), S.as_bytes());
        assert_eq!(b3.write_parent_span_id(&mut p), Some(P.as_bytes()));
        assert_eq!(b3.sampling().sampled_header(), Some(&b"1"[..]));
        assert_eq!(b3.sampling().flags_header(), None);

        let debug = b3.with_sampling(B3Sampling::Debug).with_trace_id_64(true);
        assert!(!debug.is_trace_id_64(), "high bits set: stays 32-hex");
        assert_eq!(
            debug.sampling().sampled_header(),
            None,
            "spec: don't also send X-B3-Sampled"
        );
        assert_eq!(debug.sampling().flags_header(), Some(&b"1"[..]));

        let mut buf = [0u8; B3_SINGLE_MAX_LEN];
        let deferred = b3.with_sampling(B3Sampling::Deferred);
        assert_eq!(
            deferred.write_single(&mut buf),
            format!("{T128}-{S}").as_bytes(),
            "a parent may only follow a sampling state"
        );
        let short = B3::parse_single(format!("{T64}-{S}-0").as_bytes()).unwrap();
        assert_eq!(short.write_trace_id(&mut t), T64.as_bytes());
        assert_eq!(
            short.write_single(&mut buf),
            format!("{T64}-{S}-0").as_bytes()
        );
        assert_eq!(short.write_parent_span_id(&mut p), None);
        assert_eq!(
            B3::new(1, 1, B3Sampling::Deferred).map(|b| b.child(0)),
            Ok(Err(B3Error::ZeroSpanId))
        );
    }

    #[test]
    fn error_names_are_distinct_and_displayed() {
        use B3Error::*;
        let all = [
            Missing,
            Empty,
            SamplingOnly(B3Sampling::Sampled),
            InvalidTraceId,
            ZeroTraceId,
            MissingTraceId,
            InvalidSpanId,
            ZeroSpanId,
            MissingSpanId,
            InvalidParentSpanId,
            ZeroParentSpanId,
            InvalidSampling,
            ParentWithoutSampling,
        ];
        for (i, a) in all.iter().enumerate() {
            assert!(!a.to_string().is_empty());
            for b in &all[i + 1..] {
                assert_ne!(a.as_str(), b.as_str());
            }
        }
    }

    fn any_b3() -> impl Strategy<Value = B3> {
        let sampling = prop_oneof![
            Just(B3Sampling::Deferred),
            Just(B3Sampling::NotSampled),
            Just(B3Sampling::Sampled),
            Just(B3Sampling::Debug),
        ];
        (
            1..=u128::MAX,
            1..=u64::MAX,
            proptest::option::of(1..=u64::MAX),
            sampling,
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(trace, span, parent, sampling, short, narrow)| {
                let trace = if narrow { trace >> 64 | 1 } else { trace };
                let mut b3 = B3::new(trace, span, sampling)
                    .unwrap()
                    .with_trace_id_64(short);
                b3.parent_span_id = parent;
                b3
            })
    }

    proptest! {
        /// The fixed-position reader accepts exactly what the field-by-field
        /// parser accepts, with the same result.
        #[test]
        fn fixed_positions_agree_with_fields(
            fields in proptest::collection::vec(
                prop_oneof![
                    "[0-9a-f]{16}",
                    "[0-9a-f]{32}",
                    "0{16}|0{32}|[0-9a-f]{15}|[0-9a-f]{17}|[0-9a-fA-F]{0,33}",
                    "[01dx]",
                ],
                1..6,
            ),
        ) {
            let value = fields.join("-");
            prop_assert_eq!(
                B3::parse_single_fixed(value.as_bytes()),
                B3::parse_single_fields(value.as_bytes()).ok()
            );
        }

        #[test]
        fn never_panics_on_any_bytes(input in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = B3::parse_single(&input);
            let _ = B3::parse_multi(Some(&input), Some(&input), Some(&input), Some(&input), Some(&input));
        }

        #[test]
        fn never_panics_on_near_valid_input(
            fields in proptest::collection::vec("[0-9a-fA-F]{0,33}|[01dx]", 0..6),
        ) {
            let joined = fields.join("-");
            let _ = B3::parse_single(joined.as_bytes());
            let f = |i: usize| fields.get(i).map(String::as_bytes);
            let _ = B3::parse_multi(f(0), f(1), f(2), f(3), f(4));
        }

        #[test]
        fn single_round_trip(b3 in any_b3()) {
            let mut buf = [0u8; B3_SINGLE_MAX_LEN];
            let parsed = B3::parse_single(b3.write_single(&mut buf)).unwrap();
            let expected = if b3.sampling == B3Sampling::Deferred {
                B3 { parent_span_id: None, ..b3 }
            } else {
                b3
            };
            prop_assert_eq!(parsed, expected);
        }

        #[test]
        fn multi_round_trip(b3 in any_b3()) {
            let (mut t, mut s, mut p) = ([0u8; 32], [0u8; 16], [0u8; 16]);
            let parsed = B3::parse_multi(
                Some(b3.write_trace_id(&mut t)),
                Some(b3.write_span_id(&mut s)),
                b3.write_parent_span_id(&mut p),
                b3.sampling().sampled_header(),
                b3.sampling().flags_header(),
            );
            prop_assert_eq!(parsed, Ok(b3));
        }
    }
}
