//! The trace context headers of a whole request, validated together (the
//! OpenTelemetry bridge is in `propagation`).

use http::HeaderMap;

use crate::error::{TraceParentError, TraceStateError};
use crate::wire::headers::TRACEPARENT;
use crate::wire::traceparent::TraceParent;
use crate::wire::tracestate::TraceStateView;

/// The trace context headers of one request, validated together.
///
/// Rules applied at this level (W3C Trace Context §3.2, §3.3):
/// two or more `traceparent` fields are invalid; an invalid `traceparent`
/// means `tracestate` is not parsed; an invalid `tracestate` is discarded
/// while the `traceparent` is kept. Nothing here allocates.
///
/// ```
/// use http::HeaderMap;
/// use tower_trace_context::{TraceContextHeaders, TRACEPARENT, TraceParentError, TRACESTATE, TraceStateError};
///
/// let mut headers = HeaderMap::new();
/// headers.insert(TRACEPARENT, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".parse()?);
/// headers.insert(TRACESTATE, "rojo=1,BAD=2".parse()?);
/// let parsed = TraceContextHeaders::from_headers(&headers)?;
/// assert!(parsed.tracestate().is_empty());
/// assert_eq!(parsed.tracestate_error(), Some(TraceStateError::InvalidKey { member: 1 }));
///
/// headers.append(TRACEPARENT, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".parse()?);
/// assert_eq!(TraceContextHeaders::from_headers(&headers).unwrap_err(), TraceParentError::Duplicate);
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
    pub fn from_headers(headers: &'a HeaderMap) -> Result<Self, TraceParentError> {
        let traceparent = traceparent_of(headers)?;
        Ok(Self::with_tracestate(
            traceparent,
            TraceStateView::from_headers(headers),
        ))
    }

    pub(crate) fn with_tracestate(
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
}

/// The one valid `traceparent` of `headers` (two or more fields are
/// invalid), without looking at `tracestate`.
#[inline]
pub(crate) fn traceparent_of(headers: &HeaderMap) -> Result<TraceParent, TraceParentError> {
    let mut fields = headers.get_all(&TRACEPARENT).iter();
    match (fields.next(), fields.next()) {
        (None, _) => Err(TraceParentError::Missing),
        (Some(_), Some(_)) => Err(TraceParentError::Duplicate),
        (Some(one), None) => TraceParent::parse(one.as_bytes()),
    }
}
