//! Datadog propagation: the `x-datadog-*` headers, parsed and encoded without
//! allocation.
//!
//! ```text
//! x-datadog-trace-id:          low 64 bits of the trace id, decimal
//! x-datadog-parent-id:         caller's span id, decimal
//! x-datadog-sampling-priority: signed integer (-1 user reject, 0 auto reject, 1 auto keep, 2 user keep)
//! x-datadog-origin:            e.g. synthetics, rum
//! x-datadog-tags:              _dd.p.key=value,... ; _dd.p.tid = high 64 bits, 16 lowercase hex
//! ```
//!
//! There is no written spec; these choices follow the tracers (dd-trace-go
//! `ddtrace/tracer/textmap.go`, dd-trace-rs `propagation/datadog.rs`,
//! dd-trace-js `opentracing/propagation/text_map.js`):
//!
//! - Ids are plain decimal digits, leading zeros allowed (Go `ParseUint`, Rust
//!   `u64::from_str`); empty, signs, other bytes and values over `u64::MAX`
//!   are rejected. (dd-trace-go and dd-trace-js also read a negative id as
//!   two's complement; dd-trace-rs does not.)
//! - A zero trace id or parent id is invalid: dd-trace-go drops such a context
//!   (except a zero parent with origin `synthetics`, not modelled here).
//! - A malformed sampling priority, origin or tags header does not invalidate
//!   the context: the field is dropped and [`Datadog::dropped`] says why
//!   (dd-trace-rs and dd-trace-js keep the context; dd-trace-go fails it only
//!   for a malformed priority).
//! - Priority: optional `+`/`-` then decimal digits, within `i32` (Go `Atoi`,
//!   Rust `from_str`, JS `parseInt` all take a sign).
//! - Origin: printable ASCII (0x20-0x7E), kept as sent; the tracers accept any
//!   string and only sanitize it when writing `tracestate`. Empty = absent.
//! - Tags over [`TAGS_MAX_LEN`] (512, the default of
//!   `DD_TRACE_X_DATADOG_TAGS_MAX_LENGTH`; some old dd-trace-go releases used
//!   128) are ignored, not an error for the context (all three tracers:
//!   `_dd.propagation_error=extract_max_size`).
//! - A zero parent id is accepted by dd-trace-rs and dd-trace-js but not by
//!   dd-trace-go; it is rejected here because it cannot parent a span.
//! - Tags must be `key=value` entries joined by `,`: non-empty key of
//!   0x21-0x7E, non-empty value of 0x20-0x7E, no empty entry; otherwise the
//!   whole header is dropped (dd-trace-go `parsePropagatableTraceTags`,
//!   `decoding_error`). Keys other than `_dd.p.*` are kept in the raw header but
//!   skipped by [`Datadog::propagation_tags`], as dd-trace-rs does (dd-trace-js
//!   drops the whole header for them, dd-trace-go sends them on).
//! - `_dd.p.tid` must be exactly 16 lowercase hex (dd-trace-go `validateTID`);
//!   a malformed one drops only the high bits, the context and the other tags
//!   stay (dd-trace-go, -rs and -js). All zeros means "no high bits". If it
//!   appears twice the last wins (all three store tags in a map).
//!
//! ```
//! use tower_trace_context::datadog::Datadog;
//!
//! let dd = Datadog::parse(b"1234", b"5678", Some(b"1"), Some(b"synthetics"), Some(b"_dd.p.tid=0000000000004321,_dd.p.dm=-4"))?;
//! assert_eq!(dd.trace_id(), 0x4321 << 64 | 1234);
//! assert_eq!(dd.sampled(), Some(true));
//! assert_eq!(dd.propagation_tags().collect::<Vec<_>>(), [("_dd.p.dm", "-4")]);
//!
//! let mut buf = [0u8; 20];
//! assert_eq!(dd.write_parent_id(&mut buf), b"5678");
//! # Ok::<(), tower_trace_context::DatadogError>(())
//! ```

use std::fmt;

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::wire::hex;
use crate::wire::writer::Writer;

/// `x-datadog-trace-id`: low 64 bits of the trace id, decimal.
///
/// ```
/// assert_eq!(tower_trace_context::datadog::X_DATADOG_TRACE_ID.as_str(), "x-datadog-trace-id");
/// ```
pub const X_DATADOG_TRACE_ID: HeaderName = HeaderName::from_static("x-datadog-trace-id");
/// `x-datadog-parent-id`: the caller's span id, decimal.
///
/// ```
/// assert_eq!(tower_trace_context::datadog::X_DATADOG_PARENT_ID.as_str(), "x-datadog-parent-id");
/// ```
pub const X_DATADOG_PARENT_ID: HeaderName = HeaderName::from_static("x-datadog-parent-id");
/// `x-datadog-sampling-priority`: signed decimal; above zero means keep.
///
/// ```
/// assert_eq!(tower_trace_context::datadog::X_DATADOG_SAMPLING_PRIORITY.as_str(), "x-datadog-sampling-priority");
/// ```
pub const X_DATADOG_SAMPLING_PRIORITY: HeaderName =
    HeaderName::from_static("x-datadog-sampling-priority");
/// `x-datadog-origin`: where the trace started (`synthetics`, `rum`, ...).
///
/// ```
/// assert_eq!(tower_trace_context::datadog::X_DATADOG_ORIGIN.as_str(), "x-datadog-origin");
/// ```
pub const X_DATADOG_ORIGIN: HeaderName = HeaderName::from_static("x-datadog-origin");
/// `x-datadog-tags`: propagated `_dd.p.*` trace tags.
///
/// ```
/// assert_eq!(tower_trace_context::datadog::X_DATADOG_TAGS.as_str(), "x-datadog-tags");
/// ```
pub const X_DATADOG_TAGS: HeaderName = HeaderName::from_static("x-datadog-tags");

/// Longest `x-datadog-tags` value read or written (the tracers' default limit).
///
/// ```
/// assert_eq!(tower_trace_context::datadog::TAGS_MAX_LEN, 512);
/// ```
pub const TAGS_MAX_LEN: usize = 512;
/// Longest decimal `u64` (`18446744073709551615`).
///
/// ```
/// assert_eq!(u64::MAX.to_string().len(), tower_trace_context::datadog::DECIMAL_MAX_LEN);
/// ```
pub const DECIMAL_MAX_LEN: usize = 20;
/// Longest decimal `i32` (`-2147483648`).
///
/// ```
/// assert_eq!(i32::MIN.to_string().len(), tower_trace_context::datadog::PRIORITY_MAX_LEN);
/// ```
pub const PRIORITY_MAX_LEN: usize = 11;
/// The tag carrying the high 64 bits of the trace id.
///
/// ```
/// assert_eq!(tower_trace_context::datadog::TID_TAG, "_dd.p.tid");
/// ```
pub const TID_TAG: &str = "_dd.p.tid";
/// Length of a `_dd.p.tid=` entry: the key, `=` and 16 hex digits.
///
/// ```
/// assert_eq!("_dd.p.tid=4bf92f3577b34da6".len(), tower_trace_context::datadog::TID_ENTRY_LEN);
/// ```
pub const TID_ENTRY_LEN: usize = TID_TAG.len() + 1 + 16;

/// Prefix of the tags that are propagated.
const PROPAGATED_PREFIX: &str = "_dd.p.";

/// Why Datadog headers could not be read, or (for the last five) which
/// optional field was dropped. Each variant names the rule that failed.
///
/// ```
/// # use tower_trace_context::{DatadogError, datadog::Datadog};
/// assert_eq!(Datadog::parse(b"1", b"x", None, None, None), Err(DatadogError::InvalidParentId));
/// assert_eq!(DatadogError::InvalidParentId.as_str(), "invalid_parent_id");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DatadogError {
    /// No `x-datadog-trace-id` header.
    MissingTraceId,
    /// The trace id is not decimal digits within `u64`.
    InvalidTraceId,
    /// The trace id is zero.
    ZeroTraceId,
    /// No `x-datadog-parent-id` header.
    MissingParentId,
    /// The parent id is not decimal digits within `u64`.
    InvalidParentId,
    /// The parent id is zero.
    ZeroParentId,
    /// Dropped: the sampling priority is not a decimal `i32`.
    InvalidSamplingPriority,
    /// Dropped: the origin is not printable ASCII.
    InvalidOrigin,
    /// Dropped: `x-datadog-tags` is longer than [`TAGS_MAX_LEN`].
    TagsTooLong,
    /// Dropped: `x-datadog-tags` is not `key=value` entries joined by `,`.
    MalformedTags,
    /// Dropped: `_dd.p.tid` is not 16 lowercase hex digits (only the high bits
    /// are lost).
    MalformedTid,
}

impl DatadogError {
    /// A short stable name for the failed rule, for logs and metrics.
    ///
    /// ```
    /// # use tower_trace_context::DatadogError;
    /// assert_eq!(DatadogError::ZeroParentId.as_str(), "zero_parent_id");
    /// ```
    #[must_use]
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::MissingTraceId => "missing_trace_id",
            Self::InvalidTraceId => "invalid_trace_id",
            Self::ZeroTraceId => "zero_trace_id",
            Self::MissingParentId => "missing_parent_id",
            Self::InvalidParentId => "invalid_parent_id",
            Self::ZeroParentId => "zero_parent_id",
            Self::InvalidSamplingPriority => "invalid_sampling_priority",
            Self::InvalidOrigin => "invalid_origin",
            Self::TagsTooLong => "tags_too_long",
            Self::MalformedTags => "malformed_tags",
            Self::MalformedTid => "malformed_tid",
        }
    }

    /// The value Datadog tracers record in the `_dd.propagation_error` span
    /// tag for this problem, if they record one.
    ///
    /// ```
    /// # use tower_trace_context::DatadogError;
    /// assert_eq!(DatadogError::TagsTooLong.propagation_error(), Some("extract_max_size"));
    /// ```
    #[must_use]
    pub const fn propagation_error(&self) -> Option<&'static str> {
        match self {
            Self::TagsTooLong => Some("extract_max_size"),
            Self::MalformedTags => Some("decoding_error"),
            Self::MalformedTid => Some("malformed_tid"),
            _ => None,
        }
    }
}

impl fmt::Display for DatadogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let msg = match self {
            Self::MissingTraceId => "no x-datadog-trace-id header",
            Self::InvalidTraceId => "x-datadog-trace-id must be decimal digits within u64",
            Self::ZeroTraceId => "x-datadog-trace-id must not be zero",
            Self::MissingParentId => "no x-datadog-parent-id header",
            Self::InvalidParentId => "x-datadog-parent-id must be decimal digits within u64",
            Self::ZeroParentId => "x-datadog-parent-id must not be zero",
            Self::InvalidSamplingPriority => "x-datadog-sampling-priority must be a decimal i32",
            Self::InvalidOrigin => "x-datadog-origin must be printable ASCII",
            Self::TagsTooLong => "x-datadog-tags is longer than 512 bytes",
            Self::MalformedTags => "x-datadog-tags must be key=value entries joined by commas",
            Self::MalformedTid => "_dd.p.tid must be 16 lowercase hex digits",
        };
        f.write_str(msg)
    }
}

impl std::error::Error for DatadogError {}

/// A validated Datadog trace context, borrowing origin and tags from the
/// request.
///
/// Invariant: the low trace id and the parent id are non-zero, the high trace
/// id is `None` or non-zero, origin is printable ASCII and tags are
/// well-formed and at most [`TAGS_MAX_LEN`] bytes.
///
/// ```
/// # use tower_trace_context::datadog::Datadog;
/// let dd = Datadog::parse(b"11803532876627986230", b"67667974448284343", Some(b"2"), Some(b"rum"), Some(b"_dd.p.tid=4bf92f3577b34da6,_dd.p.dm=-4"))?;
/// assert_eq!(dd.trace_id(), 0x4bf92f3577b34da6a3ce929d0e0e4736);
/// # Ok::<(), tower_trace_context::DatadogError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Datadog<'a> {
    trace_id_low: u64,
    trace_id_high: Option<u64>,
    parent_id: u64,
    sampling_priority: Option<i32>,
    /// Printable ASCII, so valid UTF-8 (converted when read).
    origin: Option<&'a [u8]>,
    /// Validated `x-datadog-tags`, printable ASCII.
    tags: Option<&'a [u8]>,
    dropped: Option<DatadogError>,
}

impl<'a> Datadog<'a> {
    /// A context for an outgoing request: `trace_id`'s low 64 bits must be
    /// non-zero (they are the only ones Datadog ids always carry), and so
    /// must `parent_id`.
    ///
    /// ```
    /// # use tower_trace_context::{DatadogError, datadog::Datadog};
    /// let dd = Datadog::new(1 << 64 | 5, 9)?;
    /// assert_eq!(dd.trace_id_high(), Some(1));
    /// assert_eq!(Datadog::new(1 << 64, 9), Err(DatadogError::ZeroTraceId));
    /// # Ok::<(), DatadogError>(())
    /// ```
    pub const fn new(trace_id: u128, parent_id: u64) -> Result<Self, DatadogError> {
        let low = trace_id as u64;
        let high = (trace_id >> 64) as u64;
        if low == 0 {
            return Err(DatadogError::ZeroTraceId);
        }
        if parent_id == 0 {
            return Err(DatadogError::ZeroParentId);
        }
        Ok(Self {
            trace_id_low: low,
            trace_id_high: if high == 0 { None } else { Some(high) },
            parent_id,
            sampling_priority: None,
            origin: None,
            tags: None,
            dropped: None,
        })
    }

    /// The same context with another parent id (the id of the span making
    /// an outgoing call); zero is rejected.
    ///
    /// ```
    /// # use tower_trace_context::datadog::Datadog;
    /// let dd = Datadog::new(5, 9)?.with_parent_id(10)?;
    /// assert_eq!(dd.parent_id(), 10);
    /// assert!(dd.with_parent_id(0).is_err());
    /// # Ok::<(), tower_trace_context::DatadogError>(())
    /// ```
    pub const fn with_parent_id(self, parent_id: u64) -> Result<Self, DatadogError> {
        if parent_id == 0 {
            return Err(DatadogError::ZeroParentId);
        }
        Ok(Self { parent_id, ..self })
    }

    /// The same context with another sampling priority.
    ///
    /// ```
    /// # use tower_trace_context::datadog::Datadog;
    /// let dd = Datadog::new(5, 9)?.with_sampling_priority(Some(2));
    /// assert_eq!(dd.sampled(), Some(true));
    /// # Ok::<(), tower_trace_context::DatadogError>(())
    /// ```
    #[must_use]
    pub const fn with_sampling_priority(self, priority: Option<i32>) -> Self {
        Self {
            sampling_priority: priority,
            ..self
        }
    }

    /// The same context with `tags`, an `x-datadog-tags` value taken from
    /// [`tags`](Self::tags) of a parsed context (so already valid).
    pub(crate) const fn with_parsed_tags(self, tags: Option<&'a str>) -> Self {
        let tags = match tags {
            Some(tags) => Some(tags.as_bytes()),
            None => None,
        };
        Self { tags, ..self }
    }

    /// The same context with another origin; it must be printable ASCII
    /// (empty means none).
    ///
    /// ```
    /// # use tower_trace_context::datadog::Datadog;
    /// let dd = Datadog::new(5, 9)?.with_origin(Some("rum"))?;
    /// assert_eq!(dd.origin(), Some("rum"));
    /// assert!(dd.with_origin(Some("caf\u{e9}")).is_err());
    /// # Ok::<(), tower_trace_context::DatadogError>(())
    /// ```
    pub fn with_origin(self, origin: Option<&'a str>) -> Result<Self, DatadogError> {
        let origin = match origin {
            None | Some("") => None,
            Some(o) if printable(o.as_bytes()) => Some(o.as_bytes()),
            Some(_) => return Err(DatadogError::InvalidOrigin),
        };
        Ok(Self { origin, ..self })
    }

    /// The low 64 bits of the trace id (`x-datadog-trace-id`).
    ///
    /// ```
    /// # use tower_trace_context::datadog::Datadog;
    /// let dd = Datadog::parse(b"11803532876627986230", b"67667974448284343", Some(b"2"), Some(b"rum"), Some(b"_dd.p.tid=4bf92f3577b34da6,_dd.p.dm=-4"))?;
    /// assert_eq!(dd.trace_id_low(), 11803532876627986230);
    /// # Ok::<(), tower_trace_context::DatadogError>(())
    /// ```
    #[must_use]
    pub const fn trace_id_low(&self) -> u64 {
        self.trace_id_low
    }

    /// The high 64 bits of the trace id (`_dd.p.tid`), if any.
    ///
    /// ```
    /// # use tower_trace_context::datadog::Datadog;
    /// let dd = Datadog::parse(b"11803532876627986230", b"67667974448284343", Some(b"2"), Some(b"rum"), Some(b"_dd.p.tid=4bf92f3577b34da6,_dd.p.dm=-4"))?;
    /// assert_eq!(dd.trace_id_high(), Some(0x4bf92f3577b34da6));
    /// # Ok::<(), tower_trace_context::DatadogError>(())
    /// ```
    #[must_use]
    pub const fn trace_id_high(&self) -> Option<u64> {
        self.trace_id_high
    }

    /// The full 128-bit trace id (high bits zero when there is no `_dd.p.tid`).
    ///
    /// ```
    /// # use tower_trace_context::datadog::Datadog;
    /// let dd = Datadog::parse(b"11803532876627986230", b"67667974448284343", Some(b"2"), Some(b"rum"), Some(b"_dd.p.tid=4bf92f3577b34da6,_dd.p.dm=-4"))?;
    /// assert_eq!(dd.trace_id() as u64, dd.trace_id_low());
    /// # Ok::<(), tower_trace_context::DatadogError>(())
    /// ```
    #[must_use]
    pub const fn trace_id(&self) -> u128 {
        let high = match self.trace_id_high {
            Some(high) => high,
            None => 0,
        };
        ((high as u128) << 64) | self.trace_id_low as u128
    }

    /// The caller's span id.
    ///
    /// ```
    /// # use tower_trace_context::datadog::Datadog;
    /// let dd = Datadog::parse(b"11803532876627986230", b"67667974448284343", Some(b"2"), Some(b"rum"), Some(b"_dd.p.tid=4bf92f3577b34da6,_dd.p.dm=-4"))?;
    /// assert_eq!(dd.parent_id(), 67667974448284343);
    /// # Ok::<(), tower_trace_context::DatadogError>(())
    /// ```
    #[must_use]
    pub const fn parent_id(&self) -> u64 {
        self.parent_id
    }

    /// The sampling priority, if one was sent.
    ///
    /// ```
    /// # use tower_trace_context::datadog::Datadog;
    /// let dd = Datadog::parse(b"11803532876627986230", b"67667974448284343", Some(b"2"), Some(b"rum"), Some(b"_dd.p.tid=4bf92f3577b34da6,_dd.p.dm=-4"))?;
    /// assert_eq!(dd.sampling_priority(), Some(2));
    /// # Ok::<(), tower_trace_context::DatadogError>(())
    /// ```
    #[must_use]
    pub const fn sampling_priority(&self) -> Option<i32> {
        self.sampling_priority
    }

    /// Whether to keep the trace: priority above zero; `None` without priority.
    ///
    /// ```
    /// # use tower_trace_context::datadog::Datadog;
    /// let dd = Datadog::parse(b"1", b"2", Some(b"-1"), None, None)?;
    /// assert_eq!(dd.sampled(), Some(false));
    /// # Ok::<(), tower_trace_context::DatadogError>(())
    /// ```
    #[must_use]
    pub const fn sampled(&self) -> Option<bool> {
        match self.sampling_priority {
            Some(p) => Some(p > 0),
            None => None,
        }
    }

    /// The origin, if one was sent.
    ///
    /// ```
    /// # use tower_trace_context::datadog::Datadog;
    /// let dd = Datadog::parse(b"11803532876627986230", b"67667974448284343", Some(b"2"), Some(b"rum"), Some(b"_dd.p.tid=4bf92f3577b34da6,_dd.p.dm=-4"))?;
    /// assert_eq!(dd.origin(), Some("rum"));
    /// # Ok::<(), tower_trace_context::DatadogError>(())
    /// ```
    #[must_use]
    pub const fn origin(&self) -> Option<&'a str> {
        ascii(self.origin)
    }

    /// The `x-datadog-tags` value as it arrived (validated), including
    /// `_dd.p.tid` and any non-`_dd.p.` entries.
    ///
    /// ```
    /// # use tower_trace_context::datadog::Datadog;
    /// let dd = Datadog::parse(b"11803532876627986230", b"67667974448284343", Some(b"2"), Some(b"rum"), Some(b"_dd.p.tid=4bf92f3577b34da6,_dd.p.dm=-4"))?;
    /// assert_eq!(dd.tags(), Some("_dd.p.tid=4bf92f3577b34da6,_dd.p.dm=-4"));
    /// # Ok::<(), tower_trace_context::DatadogError>(())
    /// ```
    #[must_use]
    pub const fn tags(&self) -> Option<&'a str> {
        ascii(self.tags)
    }

    /// The first optional field that was malformed and dropped (priority,
    /// origin, tags, `_dd.p.tid`, in that order), for logs or a
    /// `_dd.propagation_error` tag. The context itself is valid.
    ///
    /// ```
    /// # use tower_trace_context::{DatadogError, datadog::Datadog};
    /// let dd = Datadog::parse(b"1", b"2", None, None, Some(b"_dd.p.tid=XYZ,_dd.p.dm=-4"))?;
    /// assert_eq!((dd.trace_id_high(), dd.dropped()), (None, Some(DatadogError::MalformedTid)));
    /// assert_eq!(dd.propagation_tags().count(), 1);
    /// # Ok::<(), DatadogError>(())
    /// ```
    #[must_use]
    pub const fn dropped(&self) -> Option<DatadogError> {
        self.dropped
    }

    /// The `_dd.p.*` tags to propagate, as `(key, value)`, in arrival order;
    /// `_dd.p.tid` is left out (it follows [`Datadog::trace_id_high`]).
    ///
    /// ```
    /// # use tower_trace_context::datadog::Datadog;
    /// let dd = Datadog::parse(b"11803532876627986230", b"67667974448284343", Some(b"2"), Some(b"rum"), Some(b"_dd.p.tid=4bf92f3577b34da6,_dd.p.dm=-4"))?;
    /// assert_eq!(dd.propagation_tags().collect::<Vec<_>>(), [("_dd.p.dm", "-4")]);
    /// # Ok::<(), tower_trace_context::DatadogError>(())
    /// ```
    pub fn propagation_tags(&self) -> PropagationTags<'a> {
        PropagationTags {
            rest: self.tags().map(|tags| tags.split(',')),
        }
    }

    /// Parses the header values (`priority`, `origin` and `tags` optional).
    ///
    /// ```
    /// use tower_trace_context::{DatadogError, datadog::Datadog};
    ///
    /// let dd = Datadog::parse(b"18446744073709551615", b"1", Some(b"2"), None, None)?;
    /// assert_eq!(dd.trace_id_low(), u64::MAX);
    /// assert_eq!(Datadog::parse(b"18446744073709551616", b"1", None, None, None), Err(DatadogError::InvalidTraceId));
    /// assert_eq!(Datadog::parse(b"+1", b"1", None, None, None), Err(DatadogError::InvalidTraceId));
    /// assert_eq!(Datadog::parse(b"1", b"0", None, None, None), Err(DatadogError::ZeroParentId));
    /// # Ok::<(), DatadogError>(())
    /// ```
    pub fn parse(
        trace_id: &[u8],
        parent_id: &[u8],
        priority: Option<&[u8]>,
        origin: Option<&'a [u8]>,
        tags: Option<&'a [u8]>,
    ) -> Result<Self, DatadogError> {
        let trace_id_low = match parse_u64(trace_id) {
            None => return Err(DatadogError::InvalidTraceId),
            Some(0) => return Err(DatadogError::ZeroTraceId),
            Some(id) => id,
        };
        let parent_id = match parse_u64(parent_id) {
            None => return Err(DatadogError::InvalidParentId),
            Some(0) => return Err(DatadogError::ZeroParentId),
            Some(id) => id,
        };
        let mut dropped = None;
        let sampling_priority = priority.and_then(|p| {
            let parsed = parse_i32(p);
            if parsed.is_none() {
                dropped = dropped.or(Some(DatadogError::InvalidSamplingPriority));
            }
            parsed
        });
        let origin = match origin {
            None | Some([]) => None,
            Some(o) if printable(o) => Some(o),
            Some(_) => {
                dropped = dropped.or(Some(DatadogError::InvalidOrigin));
                None
            }
        };
        let (tags, trace_id_high, tags_error) = match tags {
            None => (None, None, None),
            Some(t) => parse_tags(t),
        };
        Ok(Self {
            trace_id_low,
            trace_id_high,
            parent_id,
            sampling_priority,
            origin,
            tags,
            dropped: dropped.or(tags_error),
        })
    }

    /// Reads the `x-datadog-*` request headers (first value of each).
    ///
    /// ```
    /// use http::{HeaderMap, HeaderValue};
    /// use tower_trace_context::DatadogError;
    /// use tower_trace_context::datadog::{Datadog, X_DATADOG_PARENT_ID, X_DATADOG_TRACE_ID};
    ///
    /// let mut headers = HeaderMap::new();
    /// assert_eq!(Datadog::from_headers(&headers), Err(DatadogError::MissingTraceId));
    /// headers.insert(X_DATADOG_TRACE_ID, HeaderValue::from_static("1234"));
    /// headers.insert(X_DATADOG_PARENT_ID, HeaderValue::from_static("5678"));
    /// assert_eq!(Datadog::from_headers(&headers)?.parent_id(), 5678);
    /// # Ok::<(), DatadogError>(())
    /// ```
    pub fn from_headers(headers: &'a HeaderMap) -> Result<Self, DatadogError> {
        let get = |name: HeaderName| headers.get(name).map(HeaderValue::as_bytes);
        let trace_id = get(X_DATADOG_TRACE_ID).ok_or(DatadogError::MissingTraceId)?;
        let parent_id = get(X_DATADOG_PARENT_ID).ok_or(DatadogError::MissingParentId)?;
        Self::parse(
            trace_id,
            parent_id,
            get(X_DATADOG_SAMPLING_PRIORITY),
            get(X_DATADOG_ORIGIN),
            get(X_DATADOG_TAGS),
        )
    }

    /// Encodes `x-datadog-trace-id` (the low 64 bits) into `buf`.
    ///
    /// ```
    /// # use tower_trace_context::datadog::Datadog;
    /// let dd = Datadog::parse(b"11803532876627986230", b"67667974448284343", Some(b"2"), Some(b"rum"), Some(b"_dd.p.tid=4bf92f3577b34da6,_dd.p.dm=-4"))?;
    /// assert_eq!(dd.write_trace_id(&mut [0; 20]), b"11803532876627986230");
    /// # Ok::<(), tower_trace_context::DatadogError>(())
    /// ```
    pub fn write_trace_id<'b>(&self, buf: &'b mut [u8; DECIMAL_MAX_LEN]) -> &'b [u8] {
        write_decimal(self.trace_id_low, buf)
    }

    /// Encodes `x-datadog-parent-id` into `buf`.
    ///
    /// ```
    /// # use tower_trace_context::datadog::Datadog;
    /// let dd = Datadog::parse(b"11803532876627986230", b"67667974448284343", Some(b"2"), Some(b"rum"), Some(b"_dd.p.tid=4bf92f3577b34da6,_dd.p.dm=-4"))?;
    /// assert_eq!(dd.write_parent_id(&mut [0; 20]), b"67667974448284343");
    /// # Ok::<(), tower_trace_context::DatadogError>(())
    /// ```
    pub fn write_parent_id<'b>(&self, buf: &'b mut [u8; DECIMAL_MAX_LEN]) -> &'b [u8] {
        write_decimal(self.parent_id, buf)
    }

    /// Encodes `x-datadog-sampling-priority` into `buf`; `None` without priority.
    ///
    /// ```
    /// # use tower_trace_context::datadog::Datadog;
    /// let dd = Datadog::parse(b"11803532876627986230", b"67667974448284343", Some(b"2"), Some(b"rum"), Some(b"_dd.p.tid=4bf92f3577b34da6,_dd.p.dm=-4"))?;
    /// assert_eq!(dd.write_sampling_priority(&mut [0; 11]), Some(&b"2"[..]));
    /// # Ok::<(), tower_trace_context::DatadogError>(())
    /// ```
    pub fn write_sampling_priority<'b>(
        &self,
        buf: &'b mut [u8; PRIORITY_MAX_LEN],
    ) -> Option<&'b [u8]> {
        Some(write_priority(self.sampling_priority?, buf))
    }

    /// Encodes `x-datadog-tags`: `_dd.p.tid` from the high trace id bits, then
    /// the [`propagation tags`](Datadog::propagation_tags). `None` when there
    /// is nothing to send or it would exceed [`TAGS_MAX_LEN`] (then no tags
    /// are sent, as dd-trace-go and dd-trace-rs do: `inject_max_size`).
    ///
    /// ```
    /// # use tower_trace_context::datadog::{Datadog, TAGS_MAX_LEN};
    /// let dd = Datadog::parse(b"1", b"2", None, None, Some(b"_dd.p.dm=-4,other=x,_dd.p.tid=0000000000000001"))?;
    /// let mut buf = [0u8; TAGS_MAX_LEN];
    /// assert_eq!(dd.write_tags(&mut buf), Some(&b"_dd.p.tid=0000000000000001,_dd.p.dm=-4"[..]));
    /// # Ok::<(), tower_trace_context::DatadogError>(())
    /// ```
    pub fn write_tags<'b>(&self, buf: &'b mut [u8; TAGS_MAX_LEN]) -> Option<&'b [u8]> {
        let mut w = Writer::new(buf);
        if let Some(high) = self.trace_id_high {
            w.push(TID_TAG.as_bytes());
            w.push(b"=");
            w.push(&hex::encode_u64(high));
        }
        for (key, value) in self.propagation_tags() {
            if w.len() > 0 {
                w.push(b",");
            }
            w.push(key.as_bytes());
            w.push(b"=");
            w.push(value.as_bytes());
        }
        w.finish().filter(|out| !out.is_empty())
    }
}

/// The `_dd.p.*` entries of `x-datadog-tags`, without `_dd.p.tid`; see
/// [`Datadog::propagation_tags`].
///
/// ```
/// # use tower_trace_context::datadog::Datadog;
/// let dd = Datadog::parse(b"11803532876627986230", b"67667974448284343", Some(b"2"), Some(b"rum"), Some(b"_dd.p.tid=4bf92f3577b34da6,_dd.p.dm=-4"))?;
/// let mut tags = dd.propagation_tags();
/// assert_eq!(tags.next(), Some(("_dd.p.dm", "-4")));
/// assert_eq!(tags.next(), None);
/// # Ok::<(), tower_trace_context::DatadogError>(())
/// ```
#[derive(Clone, Debug)]
pub struct PropagationTags<'a> {
    rest: Option<std::str::Split<'a, char>>,
}

impl<'a> Iterator for PropagationTags<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        self.rest.as_mut()?.find_map(|entry| {
            entry.split_once('=').filter(|(key, _)| {
                key.len() > PROPAGATED_PREFIX.len()
                    && key.starts_with(PROPAGATED_PREFIX)
                    && *key != TID_TAG
            })
        })
    }
}

/// Writes `value` in decimal into `buf` and returns the digits.
///
/// ```
/// let mut buf = [0u8; 20];
/// assert_eq!(tower_trace_context::datadog::write_decimal(u64::MAX, &mut buf), b"18446744073709551615");
/// ```
pub fn write_decimal(value: u64, buf: &mut [u8; DECIMAL_MAX_LEN]) -> &[u8] {
    let start = write_digits(value, buf);
    let buf: &[u8] = buf;
    buf.get(start..).unwrap_or_default()
}

/// Writes a sampling priority in decimal (with `-` when negative) into `buf`.
///
/// ```
/// let mut buf = [0u8; 11];
/// assert_eq!(tower_trace_context::datadog::write_priority(-1, &mut buf), b"-1");
/// ```
pub fn write_priority(value: i32, buf: &mut [u8; PRIORITY_MAX_LEN]) -> &[u8] {
    let mut start = write_digits(u64::from(value.unsigned_abs()), buf);
    if value < 0 {
        if let Some(slot) = start.checked_sub(1).and_then(|i| buf.get_mut(i)) {
            *slot = b'-';
            start -= 1;
        }
    }
    let buf: &[u8] = buf;
    buf.get(start..).unwrap_or_default()
}

/// Writes the `_dd.p.tid=` entry for the high 64 bits of a trace id.
///
/// ```
/// let mut buf = [0u8; tower_trace_context::datadog::TID_ENTRY_LEN];
/// assert_eq!(tower_trace_context::datadog::write_tid(0x4321, &mut buf), b"_dd.p.tid=0000000000004321");
/// ```
pub fn write_tid(high: u64, buf: &mut [u8; TID_ENTRY_LEN]) -> &[u8] {
    let mut w = Writer::new(buf);
    w.push(TID_TAG.as_bytes());
    w.push(b"=");
    w.push(&hex::encode_u64(high));
    w.finish().unwrap_or_default()
}

/// Writes the decimal digits of `value` at the end of `buf`; returns where
/// they start. `buf` must hold 20 bytes for any `u64` (fewer digits are kept
/// when it does not, never a panic).
fn write_digits(mut value: u64, buf: &mut [u8]) -> usize {
    let mut start = buf.len();
    for (i, slot) in buf.iter_mut().enumerate().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
        start = i;
        if value == 0 {
            break;
        }
    }
    start
}

/// Decimal digits within `u64`; no sign, no whitespace, leading zeros allowed.
#[inline]
fn parse_u64(src: &[u8]) -> Option<u64> {
    match src.len() {
        0 => None,
        1..=8 => parse_up_to_8(src, src),
        9..=16 => {
            let (head, low) = src.split_last_chunk::<8>()?;
            Some(parse_up_to_8(head, src)? * 100_000_000 + parse8(u64::from_le_bytes(*low))?)
        }
        17..=20 => {
            // Only here can a value overflow: at most 20 digits, the first
            // 1-4 of them times 10^16.
            let (rest, low) = src.split_last_chunk::<8>()?;
            let (head, middle) = rest.split_last_chunk::<8>()?;
            let middle = parse8(u64::from_le_bytes(*middle))?;
            let low = parse8(u64::from_le_bytes(*low))?;
            parse_up_to_8(head, src)?
                .checked_mul(10_000_000_000_000_000)?
                .checked_add(middle * 100_000_000 + low)
        }
        // Longer: only leading zeros can make it fit.
        _ => match src.iter().position(|&b| b != b'0') {
            None => Some(0),
            Some(first) if src.len() - first <= 20 => parse_u64(&src[first..]),
            Some(_) => None,
        },
    }
}

/// 1 to 8 digits, `head`, at the start of `whole`: with eight bytes of
/// `whole` to load, one word shifted so that `0`s pad it on the left;
/// otherwise byte by byte.
#[inline(always)]
fn parse_up_to_8(head: &[u8], whole: &[u8]) -> Option<u64> {
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    let k = head.len();
    if let (1..=8, Some(word)) = (k, whole.first_chunk::<8>()) {
        // Little-endian: `head` is the low `k` bytes; move it to the top
        // and fill the bottom with `0`s.
        let shift = 8 * (8 - k as u32);
        let word = match shift {
            0 => u64::from_le_bytes(*word),
            _ => (u64::from_le_bytes(*word) << shift) | (ZEROS >> (64 - shift)),
        };
        return parse8(word);
    }
    let mut value = 0u64;
    for &b in head {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        value = value * 10 + u64::from(digit);
    }
    (k > 0).then_some(value)
}

/// Eight decimal digits at once (SWAR), read little-endian into `v`: each
/// byte checked to be `0`-`9` and the digits combined pairwise.
#[inline(always)]
fn parse8(v: u64) -> Option<u64> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let digits = v.wrapping_sub(0x30 * ONES);
    // A byte's top bit is set in `v + 0x46` when it is above `9`, in
    // `v - 0x30` when it is below `0`, and in `v` when it is not ASCII.
    if (v.wrapping_add(0x46 * ONES) | digits | v) & (0x80 * ONES) != 0 {
        return None;
    }
    // Little-endian: the first (most significant) digit is the low byte.
    let pairs = (digits * 10 + (digits >> 8)) & 0x00ff_00ff_00ff_00ff;
    let quads = (pairs * 100 + (pairs >> 16)) & 0x0000_ffff_0000_ffff;
    Some((quads * 10_000 + (quads >> 32)) & 0xffff_ffff)
}

/// An optional `+` or `-`, then decimal digits, within `i32`.
fn parse_i32(src: &[u8]) -> Option<i32> {
    let (negative, digits) = match src {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, src),
    };
    // Digits of i32::MIN's magnitude fit in u64 long before it overflows.
    let magnitude = i64::try_from(parse_u64(digits)?).ok()?;
    i32::try_from(if negative { -magnitude } else { magnitude }).ok()
}

/// Bytes known to be ASCII as `&str`.
const fn ascii(bytes: Option<&[u8]>) -> Option<&str> {
    match bytes {
        Some(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) => Some(text),
            Err(_) => None,
        },
        None => None,
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// The top bit of each byte of `w` that equals `b` (exact: no false
/// positives from borrows).
#[inline(always)]
fn bytes_equal(w: u64, b: u8) -> u64 {
    let t = w ^ (ONES * u64::from(b));
    !(((t & !HIGH) + !HIGH) | t) & HIGH
}

/// The top bit of each byte of `w` that is not printable ASCII
/// (0x20-0x7E). With the top bit masked off, adding `0x80 - bound` sets a
/// byte's top bit exactly when it is at least `bound`, with no carry.
#[inline(always)]
fn not_printable(w: u64) -> u64 {
    let low = w & !HIGH;
    let at_least = |bound: u64| low + (0x80 - bound) * ONES;
    (!at_least(0x20) | at_least(0x7f) | w) & HIGH
}

/// The eight bytes of `src` from `at` as a little-endian word, past the
/// end padded with `a` (printable, and neither `,`, `=` nor a space).
#[inline(always)]
fn word_at(src: &[u8], at: usize) -> u64 {
    const PAD: u64 = 0x6161_6161_6161_6161;
    if let Some(word) = src.get(at..).and_then(<[u8]>::first_chunk::<8>) {
        return u64::from_le_bytes(*word);
    }
    let rest = src.len().saturating_sub(at).min(7);
    if rest == 0 {
        return PAD;
    }
    if let Some(last) = src.last_chunk::<8>() {
        // The last eight bytes, shifted so that the rest comes first.
        let shift = 8 * (8 - rest as u32);
        return (u64::from_le_bytes(*last) >> shift) | (PAD << (64 - shift));
    }
    let mut word = [b'a'; 8];
    for (slot, &b) in word.iter_mut().zip(&src[at.min(src.len())..]) {
        *slot = b;
    }
    u64::from_le_bytes(word)
}

/// Whether `src` is all printable ASCII (0x20-0x7E), eight bytes at a time.
fn printable(src: &[u8]) -> bool {
    let mut bad = 0;
    for at in (0..src.len()).step_by(8) {
        bad |= not_printable(word_at(src, at));
    }
    bad == 0
}

/// Validates `x-datadog-tags`: returns the header, the high trace id bits
/// and the reason anything was dropped.
fn parse_tags(src: &[u8]) -> (Option<&[u8]>, Option<u64>, Option<DatadogError>) {
    if src.is_empty() {
        return (None, None, None);
    }
    if src.len() > TAGS_MAX_LEN {
        return (None, None, Some(DatadogError::TagsTooLong));
    }
    let Some(tid) = scan_tags(src) else {
        return (None, None, Some(DatadogError::MalformedTags));
    };
    match tid.map(|v| <&[u8; 16]>::try_from(v).ok().and_then(hex::decode_u64)) {
        None | Some(Some(0)) => (Some(src), None, None),
        Some(Some(high)) => (Some(src), Some(high), None),
        Some(None) => (Some(src), None, Some(DatadogError::MalformedTid)),
    }
}

/// Scans `key=value` entries joined by `,`: every byte printable, each key
/// non-empty without spaces (so 0x21-0x7E), each value non-empty (and may
/// hold `=`). Eight bytes at a time: only `,`, `=` and spaces are looked
/// at one by one. Returns the last `_dd.p.tid` value, or `None` when
/// malformed.
fn scan_tags(src: &[u8]) -> Option<Option<&[u8]>> {
    const NONE: usize = usize::MAX;
    let mut tid = None;
    let (mut start, mut eq) = (0, NONE);
    // Ends the entry `start..end` whose `=` is at `eq`.
    let mut entry = |start: usize, eq: usize, end: usize| {
        if eq == NONE || eq == start || eq + 1 >= end {
            return false;
        }
        if &src[start..eq] == TID_TAG.as_bytes() {
            tid = Some(&src[eq + 1..end]);
        }
        true
    };
    let mut at = 0;
    while at < src.len() {
        let w = word_at(src, at);
        if not_printable(w) != 0 {
            return None;
        }
        let mut special = bytes_equal(w, b',') | bytes_equal(w, b'=') | bytes_equal(w, b' ');
        while special != 0 {
            let i = at + (special.trailing_zeros() / 8) as usize;
            special &= special - 1;
            match src[i] {
                b',' => {
                    if !entry(start, eq, i) {
                        return None;
                    }
                    (start, eq) = (i + 1, NONE);
                }
                b'=' if eq == NONE => eq = i,
                b'=' => {}
                // A space, in the key.
                _ if eq == NONE => return None,
                _ => {}
            }
        }
        at += 8;
    }
    entry(start, eq, src.len()).then_some(tid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    type Fields<'s> = (
        &'s str,
        &'s str,
        Option<&'s str>,
        Option<&'s str>,
        Option<&'s str>,
    );

    fn parse<'s>(f: Fields<'s>) -> Result<Datadog<'s>, DatadogError> {
        let b = |v: Option<&'s str>| v.map(str::as_bytes);
        Datadog::parse(f.0.as_bytes(), f.1.as_bytes(), b(f.2), b(f.3), b(f.4))
    }

    type IdRow = (
        &'static str,
        &'static str,
        Result<(u64, u64), DatadogError>,
        &'static str,
    );

    #[test]
    #[rustfmt::skip]
    fn ids_table() {
        use DatadogError::*;
        let cases: [IdRow; 22] = [
            // (x-datadog-trace-id, x-datadog-parent-id, (low trace id, parent id) or error, rule)
            ("1234", "5678", Ok((1234, 5678)), "decimal u64"),
            ("18446744073709551615", "1", Ok((u64::MAX, 1)), "u64::MAX"),
            ("00001234", "0005678", Ok((1234, 5678)), "leading zeros (Go ParseUint, Rust from_str)"),
            ("000000000000000000000000001", "1", Ok((1, 1)), "leading zeros never overflow"),
            ("18446744073709551616", "1", Err(InvalidTraceId), "> u64::MAX"),
            ("99999999999999999999", "1", Err(InvalidTraceId), "20 digits > u64::MAX"),
            ("", "1", Err(InvalidTraceId), "empty"),
            ("+1", "1", Err(InvalidTraceId), "no leading +"),
            ("-1", "1", Err(InvalidTraceId), "no sign (two's complement form not read)"),
            ("12a", "1", Err(InvalidTraceId), "digits only"),
            (" 1", "1", Err(InvalidTraceId), "no whitespace"),
            ("1 ", "1", Err(InvalidTraceId), "no trailing whitespace"),
            ("0x10", "1", Err(InvalidTraceId), "no hex"),
            ("0", "1", Err(ZeroTraceId), "zero trace id"),
            ("000", "1", Err(ZeroTraceId), "zero trace id with leading zeros"),
            ("1", "", Err(InvalidParentId), "empty parent"),
            ("1", "+5", Err(InvalidParentId), "parent: no sign"),
            ("1", "18446744073709551616", Err(InvalidParentId), "parent > u64::MAX"),
            ("1", "5.0", Err(InvalidParentId), "parent digits only"),
            ("1", "0", Err(ZeroParentId), "zero parent id"),
            ("0", "0", Err(ZeroTraceId), "trace id is checked first"),
            ("x", "0", Err(InvalidTraceId), "trace id is checked first"),
        ];
        for (trace, parent, expected, rule) in cases {
            let got = parse((trace, parent, None, None, None)).map(|d| (d.trace_id_low(), d.parent_id()));
            assert_eq!(got, expected, "{rule}: {trace:?} {parent:?}");
        }
    }

    type FieldRow = (
        [Option<&'static str>; 2],
        (Option<i32>, Option<&'static str>, Option<DatadogError>),
        &'static str,
    );

    #[test]
    #[rustfmt::skip]
    fn priority_and_origin_table() {
        use DatadogError::*;
        let cases: [FieldRow; 18] = [
            // ([priority, origin], (priority, origin, dropped), rule)
            ([None, None], (None, None, None), "both optional"),
            ([Some("1"), None], (Some(1), None, None), "auto keep"),
            ([Some("2"), None], (Some(2), None, None), "user keep"),
            ([Some("0"), None], (Some(0), None, None), "auto reject"),
            ([Some("-1"), None], (Some(-1), None, None), "user reject"),
            ([Some("+1"), None], (Some(1), None, None), "sign allowed (Atoi, from_str, parseInt)"),
            ([Some("2147483647"), None], (Some(i32::MAX), None, None), "i32::MAX"),
            ([Some("-2147483648"), None], (Some(i32::MIN), None, None), "i32::MIN"),
            ([Some("2147483648"), None], (None, None, Some(InvalidSamplingPriority)), "> i32::MAX"),
            ([Some("-99999999999999999999"), None], (None, None, Some(InvalidSamplingPriority)), "far below i32::MIN"),
            ([Some(""), None], (None, None, Some(InvalidSamplingPriority)), "empty priority"),
            ([Some("1.0"), None], (None, None, Some(InvalidSamplingPriority)), "not an integer"),
            ([Some("-"), None], (None, None, Some(InvalidSamplingPriority)), "sign alone"),
            ([None, Some("synthetics")], (None, Some("synthetics"), None), "origin"),
            ([None, Some("rum browser;x=y,z")], (None, Some("rum browser;x=y,z"), None), "any printable ASCII"),
            ([None, Some("")], (None, None, None), "empty origin is none"),
            ([None, Some("syn\tthetics")], (None, None, Some(InvalidOrigin)), "control byte"),
            ([Some("x"), Some("\u{e9}")], (None, None, Some(InvalidSamplingPriority)), "first dropped field reported"),
        ];
        for ([priority, origin], (want_priority, want_origin, want_dropped), rule) in cases {
            let dd = parse(("1", "2", priority, origin, None)).unwrap();
            assert_eq!(dd.sampling_priority(), want_priority, "{rule}");
            assert_eq!(dd.sampled(), want_priority.map(|p| p > 0), "{rule}");
            assert_eq!(dd.origin(), want_origin, "{rule}");
            assert_eq!(dd.dropped(), want_dropped, "{rule}");
        }
    }

    /// (tags, high bits, tags kept, propagation tags, dropped, rule)
    type TagRow<'s> = (
        &'s str,
        Option<u64>,
        bool,
        &'s [(&'s str, &'s str)],
        Option<DatadogError>,
        &'s str,
    );

    #[test]
    #[rustfmt::skip]
    fn tags_table() {
        use DatadogError::*;
        let long = format!("_dd.p.x={}", "a".repeat(TAGS_MAX_LEN - 8));
        let too_long = format!("{long}b");
        assert_eq!(long.len(), TAGS_MAX_LEN);
        let (long, too_long) = (long.as_str(), too_long.as_str());
        let long_tags = [("_dd.p.x", &long[8..])];
        let cases: Vec<TagRow<'_>> = vec![
            ("_dd.p.tid=0000000000004321", Some(0x4321), true, &[], None, "_dd.p.tid: high 64 bits"),
            ("_dd.p.test=value,_dd.p.tid=640cfd8d00000000,any=tag", Some(0x640c_fd8d_0000_0000), true, &[("_dd.p.test", "value")], None, "other keys kept raw, not propagated"),
            ("_dd.p.dm=-4,_dd.p.usr.id=a b=c", None, true, &[("_dd.p.dm", "-4"), ("_dd.p.usr.id", "a b=c")], None, "value may hold space and ="),
            ("", None, false, &[], None, "empty header is none"),
            (long, None, true, &long_tags, None, "512 bytes is allowed"),
            (too_long, None, false, &[], Some(TagsTooLong), "over 512: ignored"),
            ("_dd.p.tid=4321,_dd.p.dm=-4", None, true, &[("_dd.p.dm", "-4")], Some(MalformedTid), "tid: exactly 16 hex"),
            ("_dd.p.tid=000000000000ABCD", None, true, &[], Some(MalformedTid), "tid: lowercase"),
            ("_dd.p.tid=+000000000000001", None, true, &[], Some(MalformedTid), "tid: no sign"),
            ("_dd.p.tid=0000000000000000", None, true, &[], None, "zero tid: no high bits"),
            ("_dd.p.tid=0000000000000001,_dd.p.tid=0000000000000002", Some(2), true, &[], None, "last tid wins"),
            ("_dd.p.a=1,,_dd.p.b=2", None, false, &[], Some(MalformedTags), "empty entry"),
            ("_dd.p.a=1,", None, false, &[], Some(MalformedTags), "trailing comma"),
            ("_dd.p.a", None, false, &[], Some(MalformedTags), "no ="),
            ("=1", None, false, &[], Some(MalformedTags), "empty key"),
            ("_dd.p.a=", None, false, &[], Some(MalformedTags), "empty value"),
            (" _dd.p.a=1", None, false, &[], Some(MalformedTags), "space in key"),
            ("_dd.p.a=\t", None, false, &[], Some(MalformedTags), "control byte in value"),
            ("_dd.p.=1,_dd.p.b=2", None, true, &[("_dd.p.b", "2")], None, "bare _dd.p. is not propagated"),
        ];
        for (tags, high, kept, propagated, dropped, rule) in cases {
            let dd = parse(("1", "2", None, None, Some(tags))).unwrap();
            assert_eq!(dd.trace_id_high(), high, "{rule}");
            assert_eq!(dd.tags().is_some(), kept, "{rule}");
            assert_eq!(dd.propagation_tags().collect::<Vec<_>>(), propagated, "{rule}");
            assert_eq!(dd.dropped(), dropped, "{rule}");
            assert_eq!(dd.trace_id(), u128::from(high.unwrap_or(0)) << 64 | 1, "{rule}");
        }
        let bad = Datadog::parse(b"1", b"2", None, None, Some(b"_dd.p.a=\xe9")).unwrap();
        assert_eq!(bad.dropped(), Some(MalformedTags), "non-ASCII value");
    }

    #[test]
    fn from_headers_reads_first_values() {
        let mut headers = HeaderMap::new();
        headers.insert(X_DATADOG_TRACE_ID, HeaderValue::from_static("7"));
        assert_eq!(
            Datadog::from_headers(&headers),
            Err(DatadogError::MissingParentId)
        );
        headers.append(X_DATADOG_TRACE_ID, HeaderValue::from_static("8"));
        headers.insert(X_DATADOG_PARENT_ID, HeaderValue::from_static("9"));
        headers.insert(X_DATADOG_SAMPLING_PRIORITY, HeaderValue::from_static("2"));
        headers.insert(X_DATADOG_ORIGIN, HeaderValue::from_static("rum"));
        headers.insert(X_DATADOG_TAGS, HeaderValue::from_static("_dd.p.dm=-4"));
        let dd = Datadog::from_headers(&headers).unwrap();
        assert_eq!(
            (
                dd.trace_id(),
                dd.parent_id(),
                dd.sampling_priority(),
                dd.origin(),
                dd.tags()
            ),
            (7, 9, Some(2), Some("rum"), Some("_dd.p.dm=-4"))
        );
        let mut bad = HeaderMap::new();
        bad.insert(X_DATADOG_TRACE_ID, HeaderValue::from_static("0"));
        bad.insert(X_DATADOG_PARENT_ID, HeaderValue::from_static("9"));
        assert_eq!(Datadog::from_headers(&bad), Err(DatadogError::ZeroTraceId));
    }

    #[test]
    fn encoders() {
        let mut d = [0u8; DECIMAL_MAX_LEN];
        assert_eq!(write_decimal(0, &mut d), b"0");
        assert_eq!(write_decimal(1_000, &mut d), b"1000");
        let mut p = [0u8; PRIORITY_MAX_LEN];
        assert_eq!(write_priority(i32::MIN, &mut p), b"-2147483648");
        assert_eq!(write_priority(i32::MAX, &mut p), b"2147483647");
        assert_eq!(write_priority(0, &mut p), b"0");
        let mut t = [0u8; TID_ENTRY_LEN];
        assert_eq!(write_tid(u64::MAX, &mut t), b"_dd.p.tid=ffffffffffffffff");

        let mut tags = [0u8; TAGS_MAX_LEN];
        let plain = Datadog::new(5, 6).unwrap();
        assert_eq!(plain.write_tags(&mut tags), None, "nothing to send");
        assert_eq!(plain.write_sampling_priority(&mut p), None);
        // A header at the limit plus a tid no longer fits: no tags are sent.
        let at_limit = format!("_dd.p.x={}", "a".repeat(TAGS_MAX_LEN - 8));
        let dd = Datadog::new(1 << 64 | 5, 6).unwrap();
        let dd = Datadog {
            tags: Some(at_limit.as_bytes()),
            ..dd
        };
        assert_eq!(dd.write_tags(&mut tags), None);
        assert_eq!(Datadog::new(5, 0), Err(DatadogError::ZeroParentId));
        assert_eq!(plain.with_parent_id(0), Err(DatadogError::ZeroParentId));
        assert_eq!(
            plain.with_origin(Some("a\nb")),
            Err(DatadogError::InvalidOrigin)
        );
        assert_eq!(plain.with_origin(Some("")).map(|d| d.origin()), Ok(None));
    }

    #[test]
    fn error_names_are_distinct_and_displayed() {
        use DatadogError::*;
        let all = [
            MissingTraceId,
            InvalidTraceId,
            ZeroTraceId,
            MissingParentId,
            InvalidParentId,
            ZeroParentId,
            InvalidSamplingPriority,
            InvalidOrigin,
            TagsTooLong,
            MalformedTags,
            MalformedTid,
        ];
        for (i, a) in all.iter().enumerate() {
            assert!(!a.to_string().is_empty());
            for b in &all[i + 1..] {
                assert_ne!(a.as_str(), b.as_str());
            }
        }
    }

    fn header_bytes() -> impl Strategy<Value = Option<Vec<u8>>> {
        proptest::option::of(prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..40),
            "[-+0-9]{0,25}".prop_map(String::into_bytes),
            "(_dd\\.p\\.[a-z]{1,3}|_dd\\.p\\.tid)?=?[0-9a-fA-F=, ]{0,20}"
                .prop_map(String::into_bytes),
        ])
    }

    /// `x-datadog-tags` checked the plain way: `None` when malformed, else
    /// the last `_dd.p.tid` value.
    fn reference_tags(tags: &str) -> Option<Option<&str>> {
        let mut tid = None;
        for entry in tags.split(',') {
            let (key, value) = entry.split_once('=')?;
            let ok = !key.is_empty()
                && key.bytes().all(|b| (0x21..=0x7e).contains(&b))
                && !value.is_empty()
                && value.bytes().all(|b| (0x20..=0x7e).contains(&b));
            if !ok {
                return None;
            }
            if key == TID_TAG {
                tid = Some(value);
            }
        }
        Some(tid)
    }

    proptest! {
        #[test]
        fn never_panics_on_any_bytes(
            t in header_bytes(), p in header_bytes(), s in header_bytes(),
            o in header_bytes(), g in header_bytes(),
        ) {
            let e = Vec::new();
            let _ = Datadog::parse(
                t.as_deref().unwrap_or(&e),
                p.as_deref().unwrap_or(&e),
                s.as_deref(),
                o.as_deref(),
                g.as_deref(),
            );
        }

        /// The word-at-a-time tag scanner and the digit loop agree with
        /// plain reference versions (split on `,`, then on the first `=`;
        /// `str::parse`).
        #[test]
        fn parsers_agree_with_references(
            tags in prop_oneof![
                "[_a-z.=, ~]{0,40}",
                "(_dd\\.p\\.tid=[0-9a-f]{16},)?_dd\\.p\\.[a-z]{1,4}=[ -~]{1,9}(,_dd\\.p\\.tid=[0-9a-fA-F]{15,17})?",
                "[ -~\u{7f}-\u{ff}]{0,30}",
            ],
            digits in "[0-9]{0,26}|[0-9x]{0,22}",
        ) {
            let ours = parse_tags(tags.as_bytes());
            match reference_tags(&tags) {
                _ if tags.is_empty() => prop_assert_eq!(ours, (None, None, None)),
                None => prop_assert_eq!(ours, (None, None, Some(DatadogError::MalformedTags))),
                Some(tid) => {
                    prop_assert_eq!(ours.0, Some(tags.as_bytes()));
                    let high = tid.and_then(|t| u64::from_str_radix(t, 16).ok().filter(|_| {
                        t.len() == 16 && t.bytes().all(|b| !b.is_ascii_uppercase())
                    }));
                    prop_assert_eq!(ours.1, high.filter(|&h| h != 0));
                }
            }
            prop_assert_eq!(parse_u64(digits.as_bytes()), digits.parse::<u64>().ok());
        }

        #[test]
        fn decimal_agrees_with_std(v in any::<u64>(), i in any::<i32>()) {
            let mut d = [0u8; DECIMAL_MAX_LEN];
            let (vs, is) = (v.to_string(), i.to_string());
            prop_assert_eq!(write_decimal(v, &mut d), vs.as_bytes());
            prop_assert_eq!(parse_u64(vs.as_bytes()), Some(v));
            let mut p = [0u8; PRIORITY_MAX_LEN];
            prop_assert_eq!(write_priority(i, &mut p), is.as_bytes());
            prop_assert_eq!(parse_i32(is.as_bytes()), Some(i));
        }

        #[test]
        fn round_trip(
            low in 1..=u64::MAX,
            high in any::<u64>(),
            parent in 1..=u64::MAX,
            priority in proptest::option::of(any::<i32>()),
            origin in proptest::option::of("[ -~]{1,16}"),
            extra in proptest::collection::vec(("[a-z.]{1,8}", "[ -+\\--~]{1,12}"), 0..6),
        ) {
            // Propagated tags as they would arrive (well-formed by construction).
            let incoming: Vec<String> = extra.iter().map(|(k, v)| format!("_dd.p.{k}={v}")).collect();
            let incoming = incoming.join(",");
            let sent = Datadog::new(u128::from(high) << 64 | u128::from(low), parent)
                .unwrap()
                .with_sampling_priority(priority)
                .with_origin(origin.as_deref())
                .unwrap();
            let sent = Datadog { tags: Some(incoming.as_bytes()).filter(|t| !t.is_empty()), ..sent };

            let (mut t, mut p, mut s, mut g) =
                ([0u8; DECIMAL_MAX_LEN], [0u8; DECIMAL_MAX_LEN], [0u8; PRIORITY_MAX_LEN], [0u8; TAGS_MAX_LEN]);
            let back = Datadog::parse(
                sent.write_trace_id(&mut t),
                sent.write_parent_id(&mut p),
                sent.write_sampling_priority(&mut s),
                sent.origin().map(str::as_bytes),
                sent.write_tags(&mut g),
            ).unwrap();
            prop_assert_eq!(back.trace_id(), sent.trace_id());
            prop_assert_eq!(back.parent_id(), sent.parent_id());
            prop_assert_eq!(back.sampling_priority(), sent.sampling_priority());
            prop_assert_eq!(back.origin(), sent.origin());
            prop_assert_eq!(back.dropped(), None);
            prop_assert_eq!(
                back.propagation_tags().collect::<Vec<_>>(),
                sent.propagation_tags().collect::<Vec<_>>()
            );
            if high == 0 && sent.tags().is_none() {
                prop_assert_eq!(back, sent);
            }
        }
    }
}
