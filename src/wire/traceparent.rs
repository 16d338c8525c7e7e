//! The `traceparent` header: parsing and encoding without allocation.

use std::fmt;
use std::str::FromStr;

use http::HeaderValue;
use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId};

use crate::error::TraceParentError;
use crate::wire::hex;

/// Length of a version `00` `traceparent` value.
pub const TRACEPARENT_LEN: usize = 55;

/// A validated `traceparent`: trace-id, parent-id and trace-flags.
///
/// Parsing follows every rule of
/// [W3C Trace Context §3.2](https://www.w3.org/TR/trace-context-2/#traceparent-header)
/// and allocates nothing. Encoding always writes version `00` and keeps only
/// the flags this version defines (`sampled` 0x01 and `random` 0x02).
///
/// ```
/// use tower_trace_context::TraceParent;
///
/// let tp = TraceParent::parse(b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")?;
/// assert!(tp.is_sampled());
/// assert_eq!(tp.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// assert_eq!(tp.to_string(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
/// # Ok::<(), tower_trace_context::TraceParentError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceParent {
    trace_id: u128,
    parent_id: u64,
    flags: u8,
    version: u8,
}

impl TraceParent {
    /// The `sampled` trace flag (bit 0).
    pub const FLAG_SAMPLED: u8 = 0x01;
    /// The `random` trace flag (bit 1, Trace Context Level 2): the trace-id's
    /// right-most 7 bytes are random.
    pub const FLAG_RANDOM: u8 = 0x02;
    /// Every flag version `00` defines; other bits are zeroed on output.
    pub const KNOWN_FLAGS: u8 = Self::FLAG_SAMPLED | Self::FLAG_RANDOM;

    /// Builds a `traceparent` from ids and flags. All-zero ids are rejected,
    /// unknown flag bits are dropped.
    ///
    /// ```
    /// use opentelemetry::trace::{SpanId, TraceFlags, TraceId};
    /// use tower_trace_context::{TraceParent, TraceParentError};
    ///
    /// let tp = TraceParent::new(TraceId::from(1), SpanId::from(2), TraceFlags::SAMPLED)?;
    /// assert_eq!(tp.to_string(), "00-00000000000000000000000000000001-0000000000000002-01");
    /// assert_eq!(
    ///     TraceParent::new(TraceId::INVALID, SpanId::from(2), TraceFlags::SAMPLED),
    ///     Err(TraceParentError::ZeroTraceId)
    /// );
    /// # Ok::<(), TraceParentError>(())
    /// ```
    pub fn new(
        trace_id: TraceId,
        parent_id: SpanId,
        flags: TraceFlags,
    ) -> Result<Self, TraceParentError> {
        let trace_id = u128::from_be_bytes(trace_id.to_bytes());
        let parent_id = u64::from_be_bytes(parent_id.to_bytes());
        if trace_id == 0 {
            return Err(TraceParentError::ZeroTraceId);
        }
        if parent_id == 0 {
            return Err(TraceParentError::ZeroParentId);
        }
        Ok(Self {
            trace_id,
            parent_id,
            flags: flags.to_u8() & Self::KNOWN_FLAGS,
            version: 0,
        })
    }

    /// The `traceparent` of an OpenTelemetry span context, or `None` when the
    /// context is invalid.
    ///
    /// ```
    /// use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
    /// use tower_trace_context::TraceParent;
    ///
    /// let sc = SpanContext::new(TraceId::from(7), SpanId::from(9), TraceFlags::SAMPLED, false, TraceState::NONE);
    /// assert_eq!(TraceParent::from_span_context(&sc).unwrap().parent_id(), SpanId::from(9));
    /// assert!(TraceParent::from_span_context(&SpanContext::empty_context()).is_none());
    /// ```
    #[must_use]
    pub fn from_span_context(span_context: &SpanContext) -> Option<Self> {
        Self::new(
            span_context.trace_id(),
            span_context.span_id(),
            span_context.trace_flags(),
        )
        .ok()
    }

    /// Parses one `traceparent` field value.
    ///
    /// Leading and trailing spaces and tabs are tolerated. Version `00` must be
    /// exactly 55 bytes; a higher version (not `ff`) needs at least 55 bytes,
    /// its 56th byte, if any, must be `-`, and the rest is ignored. Hex must be
    /// lowercase; all-zero ids are invalid.
    ///
    /// ```
    /// use tower_trace_context::{TraceParent, TraceParentError};
    ///
    /// // A future version: parsed as version 00, the rest ignored.
    /// let tp = TraceParent::parse(b"cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-will-be-like")?;
    /// assert_eq!(tp.version(), 0xcc);
    /// assert!(tp.to_string().starts_with("00-"));
    ///
    /// // Version 00 with trailing data is invalid.
    /// assert_eq!(
    ///     TraceParent::parse(b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-"),
    ///     Err(TraceParentError::TrailingData)
    /// );
    /// # Ok::<(), TraceParentError>(())
    /// ```
    pub fn parse(src: &[u8]) -> Result<Self, TraceParentError> {
        let src = match src {
            [b' ' | b'\t', ..] | [.., b' ' | b'\t'] => crate::wire::lines::trim_ows_bytes(src),
            _ => src,
        };
        let Some((head, rest)) = src.split_first_chunk::<TRACEPARENT_LEN>() else {
            return Err(Self::diagnose(src));
        };
        // Fast path: every check of a well-formed value, with one branch.
        let [v0, v1, d0, ..] = *head;
        let (_, tail) = head.split_at(3);
        let (trace, tail) = tail.split_at(32);
        let (&d1, tail) = tail.split_first().ok_or(TraceParentError::TooShort)?;
        let (parent, tail) = tail.split_at(16);
        let [d2, f0, f1] = *tail else {
            return Err(TraceParentError::TooShort);
        };
        // Six independent 8-digit chunks; their error words are checked once.
        let chunk = |s: &[u8], at: usize| -> (u64, u64) {
            match s.get(at..).and_then(<[u8]>::first_chunk::<8>) {
                Some(c) => {
                    let (v, err) = hex::decode8(c);
                    (u64::from(v), err)
                }
                None => (0, 1),
            }
        };
        let (t0, e0) = chunk(trace, 0);
        let (t1, e1) = chunk(trace, 8);
        let (t2, e2) = chunk(trace, 16);
        let (t3, e3) = chunk(trace, 24);
        let (p0, e4) = chunk(parent, 0);
        let (p1, e5) = chunk(parent, 8);
        let version = hex::decode_u8(v0, v1);
        let flags = hex::decode_u8(f0, f1);
        let trace_id = (u128::from((t0 << 32) | t1) << 64) | u128::from((t2 << 32) | t3);
        let parent_id = (p0 << 32) | p1;
        let dashes_ok = d0 == b'-' && d1 == b'-' && d2 == b'-';
        let tail_ok = matches!(
            (version, rest.first()),
            (Some(0..=0xfe), None) | (Some(1..=0xfe), Some(b'-'))
        );
        match (version, flags) {
            (Some(version), Some(flags))
                if e0 | e1 | e2 | e3 | e4 | e5 == 0
                    && dashes_ok
                    && tail_ok
                    && trace_id != 0
                    && parent_id != 0 =>
            {
                Ok(Self {
                    trace_id,
                    parent_id,
                    flags,
                    version,
                })
            }
            _ => Err(Self::diagnose(src)),
        }
    }

    /// Names the first rule `src` (already trimmed) breaks. Only called on
    /// the error path, so it favours clarity over speed.
    #[cold]
    fn diagnose(src: &[u8]) -> TraceParentError {
        let [v0, v1, ..] = *src else {
            return TraceParentError::TooShort;
        };
        let Some(version) = hex::decode_u8(v0, v1) else {
            return TraceParentError::InvalidVersion;
        };
        if version == 0xff {
            return TraceParentError::ForbiddenVersion;
        }
        let Some((head, rest)) = src.split_first_chunk::<TRACEPARENT_LEN>() else {
            return TraceParentError::TooShort;
        };
        if head[2] != b'-' || head[35] != b'-' || head[52] != b'-' {
            return TraceParentError::MissingDash;
        }
        match (version, rest.first()) {
            (_, None) | (1.., Some(b'-')) => {}
            _ => return TraceParentError::TrailingData,
        }
        let trace_id = head[3..35].first_chunk::<32>().and_then(hex::decode_u128);
        let parent_id = head[36..52].first_chunk::<16>().and_then(hex::decode_u64);
        match (trace_id, parent_id, hex::decode_u8(head[53], head[54])) {
            (None, _, _) => TraceParentError::InvalidTraceId,
            (_, None, _) => TraceParentError::InvalidParentId,
            (_, _, None) => TraceParentError::InvalidFlags,
            (Some(0), _, _) => TraceParentError::ZeroTraceId,
            (_, Some(0), _) => TraceParentError::ZeroParentId,
            // Unreachable for input the fast path rejected; name the most
            // general rule rather than panic.
            _ => TraceParentError::TooShort,
        }
    }

    /// The trace-id.
    ///
    /// ```
    /// # use tower_trace_context::TraceParent;
    /// let tp: TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".parse()?;
    /// assert_eq!(tp.trace_id().to_string(), "0af7651916cd43dd8448eb211c80319c");
    /// # Ok::<(), tower_trace_context::TraceParentError>(())
    /// ```
    #[must_use]
    pub fn trace_id(&self) -> TraceId {
        TraceId::from(self.trace_id)
    }

    /// The parent-id: the span id of the caller's span.
    ///
    /// ```
    /// # use tower_trace_context::TraceParent;
    /// let tp: TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".parse()?;
    /// assert_eq!(tp.parent_id().to_string(), "b7ad6b7169203331");
    /// # Ok::<(), tower_trace_context::TraceParentError>(())
    /// ```
    #[must_use]
    pub fn parent_id(&self) -> SpanId {
        SpanId::from(self.parent_id)
    }

    /// The trace-flags this version defines (`sampled`, `random`); other bits
    /// of the received byte are dropped.
    ///
    /// ```
    /// # use tower_trace_context::TraceParent;
    /// let tp: TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-ff".parse()?;
    /// assert_eq!(tp.trace_flags().to_u8(), 0x03);
    /// assert_eq!(tp.received_flags(), 0xff);
    /// # Ok::<(), tower_trace_context::TraceParentError>(())
    /// ```
    #[must_use]
    pub fn trace_flags(&self) -> TraceFlags {
        TraceFlags::new(self.flags & Self::KNOWN_FLAGS)
    }

    /// The trace-flags byte exactly as received.
    ///
    /// ```
    /// # use tower_trace_context::TraceParent;
    /// let tp: TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-09".parse()?;
    /// assert_eq!(tp.received_flags(), 0x09);
    /// # Ok::<(), tower_trace_context::TraceParentError>(())
    /// ```
    #[must_use]
    pub fn received_flags(&self) -> u8 {
        self.flags
    }

    /// Whether the `sampled` flag is set.
    ///
    /// ```
    /// # use tower_trace_context::TraceParent;
    /// let tp: TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00".parse()?;
    /// assert!(!tp.is_sampled());
    /// # Ok::<(), tower_trace_context::TraceParentError>(())
    /// ```
    #[must_use]
    pub fn is_sampled(&self) -> bool {
        self.flags & Self::FLAG_SAMPLED != 0
    }

    /// Whether the Level 2 `random` flag is set.
    ///
    /// ```
    /// # use tower_trace_context::TraceParent;
    /// let tp: TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-02".parse()?;
    /// assert!(tp.is_random());
    /// # Ok::<(), tower_trace_context::TraceParentError>(())
    /// ```
    #[must_use]
    pub fn is_random(&self) -> bool {
        self.flags & Self::FLAG_RANDOM != 0
    }

    /// The version the value was received with (encoding always writes `00`).
    ///
    /// ```
    /// # use tower_trace_context::TraceParent;
    /// let tp: TraceParent = "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".parse()?;
    /// assert_eq!(tp.version(), 1);
    /// # Ok::<(), tower_trace_context::TraceParentError>(())
    /// ```
    #[must_use]
    pub fn version(&self) -> u8 {
        self.version
    }

    /// The same trace with another parent-id (for example the id of the span
    /// that makes an outgoing call). A zero id is rejected.
    ///
    /// ```
    /// # use tower_trace_context::TraceParent;
    /// use opentelemetry::trace::SpanId;
    /// let tp: TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".parse()?;
    /// let child = tp.with_parent_id(SpanId::from(0xabc)).unwrap();
    /// assert_eq!(child.to_string(), "00-0af7651916cd43dd8448eb211c80319c-0000000000000abc-01");
    /// assert!(tp.with_parent_id(SpanId::INVALID).is_none());
    /// # Ok::<(), tower_trace_context::TraceParentError>(())
    /// ```
    #[must_use]
    pub fn with_parent_id(self, parent_id: SpanId) -> Option<Self> {
        let parent_id = u64::from_be_bytes(parent_id.to_bytes());
        (parent_id != 0).then_some(Self { parent_id, ..self })
    }

    /// The same `traceparent` with the `random` flag set.
    pub(crate) fn with_random(self) -> Self {
        Self {
            flags: self.flags | Self::FLAG_RANDOM,
            ..self
        }
    }

    /// Encodes as version `00` into a stack buffer.
    ///
    /// ```
    /// # use tower_trace_context::TraceParent;
    /// let tp: TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".parse()?;
    /// assert_eq!(&tp.encode(), b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    /// # Ok::<(), tower_trace_context::TraceParentError>(())
    /// ```
    #[must_use]
    pub fn encode(&self) -> [u8; TRACEPARENT_LEN] {
        let mut buf = [b'-'; TRACEPARENT_LEN];
        buf[0] = b'0';
        buf[1] = b'0';
        buf[3..35].copy_from_slice(&hex::encode_u128(self.trace_id));
        buf[36..52].copy_from_slice(&hex::encode_u64(self.parent_id));
        hex::encode_into(u128::from(self.flags & Self::KNOWN_FLAGS), &mut buf[53..55]);
        buf
    }

    /// Encodes as a header value (one allocation, for the value's bytes).
    ///
    /// ```
    /// # use tower_trace_context::TraceParent;
    /// let tp: TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".parse()?;
    /// assert_eq!(tp.to_header_value(), "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    /// # Ok::<(), tower_trace_context::TraceParentError>(())
    /// ```
    #[must_use]
    pub fn to_header_value(&self) -> HeaderValue {
        let buf = self.encode();
        match HeaderValue::from_bytes(&buf) {
            Ok(value) => value,
            // The buffer holds only `0-9a-f` and `-`, which are always valid.
            Err(_) => HeaderValue::from_static(""),
        }
    }
}

impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let buf = self.encode();
        // `encode` writes ASCII only.
        f.write_str(std::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TraceParent")
            .field("version", &self.version)
            .field("trace_id", &self.trace_id())
            .field("parent_id", &self.parent_id())
            .field("flags", &self.flags)
            .finish()
    }
}

impl FromStr for TraceParent {
    type Err = TraceParentError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s.as_bytes())
    }
}

impl TryFrom<&HeaderValue> for TraceParent {
    type Error = TraceParentError;

    fn try_from(value: &HeaderValue) -> Result<Self, Self::Error> {
        Self::parse(value.as_bytes())
    }
}

impl From<TraceParent> for HeaderValue {
    fn from(tp: TraceParent) -> Self {
        tp.to_header_value()
    }
}
