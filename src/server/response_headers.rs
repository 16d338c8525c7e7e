//! Response headers a browser needs to link a page to the backend trace:
//! `Server-Timing`, `Timing-Allow-Origin`, and the CORS lists that let a page
//! send trace headers and read `server-timing`. Plain header-map functions:
//! no tower, no tracing.

use bytes::{BufMut, Bytes, BytesMut};
use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_EXPOSE_HEADERS,
};
use http::{HeaderMap, HeaderName, HeaderValue};

use crate::wire::traceparent::{TRACEPARENT_LEN, TraceParent};

use crate::error::ConfigError;
use crate::wire::headers::{SERVER_TIMING, TIMING_ALLOW_ORIGIN};

/// Whether `token` appears in the comma-separated list held by all `name`
/// fields of `headers` (ASCII case-insensitive, OWS ignored).
///
/// ```
/// use http::{HeaderMap, header::ACCESS_CONTROL_ALLOW_HEADERS};
/// use tower_trace_context::server::cors::list_contains;
///
/// let mut headers = HeaderMap::new();
/// headers.append(ACCESS_CONTROL_ALLOW_HEADERS, "content-type".parse()?);
/// headers.append(ACCESS_CONTROL_ALLOW_HEADERS, " X-Foo , TraceParent".parse()?);
/// assert!(list_contains(&headers, &ACCESS_CONTROL_ALLOW_HEADERS, "traceparent"));
/// assert!(!list_contains(&headers, &ACCESS_CONTROL_ALLOW_HEADERS, "tracestate"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use]
pub fn list_contains(headers: &HeaderMap, name: &HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|value| {
        value.as_bytes().split(|&b| b == b',').any(|item| {
            crate::wire::lines::trim_ows_bytes(item).eq_ignore_ascii_case(token.as_bytes())
        })
    })
}

/// Whether the response allows credentials (`Access-Control-Allow-Credentials: true`),
/// in which case `*` in CORS lists is a literal name, not a wildcard.
fn allows_credentials(headers: &HeaderMap) -> bool {
    headers
        .get(ACCESS_CONTROL_ALLOW_CREDENTIALS)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"))
}

/// Appends to the `name` list the `tokens` it does not already admit, as
/// one new field (fields of a list header combine, so nothing set before is
/// lost). Returns whether a field was added.
fn append_missing(headers: &mut HeaderMap, name: &HeaderName, tokens: &[HeaderName]) -> bool {
    // Without the header nothing is covered: one lookup, not three per token.
    let existing = headers.contains_key(name);
    if existing && !allows_credentials(headers) && list_contains(headers, name, "*") {
        return false;
    }
    let missing = |token: &&HeaderName| !existing || !list_contains(headers, name, token.as_str());
    let len = tokens
        .iter()
        .filter(missing)
        .map(|t| t.as_str().len() + 2)
        .sum::<usize>();
    let mut value = BytesMut::with_capacity(len);
    for token in tokens.iter().filter(missing) {
        if !value.is_empty() {
            value.put_slice(b", ");
        }
        value.put_slice(token.as_str().as_bytes());
    }
    if value.is_empty() {
        return false;
    }
    match HeaderValue::from_maybe_shared(value.freeze()) {
        Ok(value) => {
            headers.append(name.clone(), value);
            true
        }
        Err(_) => false,
    }
}

/// Adds `tokens` (for example [`TRACE_CONTEXT_HEADERS`](crate::TRACE_CONTEXT_HEADERS))
/// to `Access-Control-Allow-Headers` of a preflight response, unless each is
/// already listed or covered by `*` (without credentials).
///
/// ```
/// use http::{HeaderMap, header::ACCESS_CONTROL_ALLOW_HEADERS};
/// use tower_trace_context::{server::cors::merge_allow_headers, TRACE_CONTEXT_HEADERS};
///
/// let mut headers = HeaderMap::new();
/// headers.insert(ACCESS_CONTROL_ALLOW_HEADERS, "content-type, traceparent".parse()?);
/// merge_allow_headers(&mut headers, &TRACE_CONTEXT_HEADERS);
/// let all: Vec<_> = headers.get_all(ACCESS_CONTROL_ALLOW_HEADERS).iter().collect();
/// assert_eq!(all, ["content-type, traceparent", "tracestate"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn merge_allow_headers(headers: &mut HeaderMap, tokens: &[HeaderName]) -> bool {
    append_missing(headers, &ACCESS_CONTROL_ALLOW_HEADERS, tokens)
}

/// Adds `server-timing` to `Access-Control-Expose-Headers` unless it is
/// already listed or covered by `*` (without credentials), so `fetch()` can
/// read the header cross-origin.
///
/// ```
/// use http::{HeaderMap, header::ACCESS_CONTROL_EXPOSE_HEADERS};
/// use tower_trace_context::server::cors::merge_expose_headers;
///
/// let mut headers = HeaderMap::new();
/// headers.insert(ACCESS_CONTROL_EXPOSE_HEADERS, "x-request-id".parse()?);
/// merge_expose_headers(&mut headers);
/// let all: Vec<_> = headers.get_all(ACCESS_CONTROL_EXPOSE_HEADERS).iter().collect();
/// assert_eq!(all, ["x-request-id", "server-timing"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn merge_expose_headers(headers: &mut HeaderMap) -> bool {
    append_missing(headers, &ACCESS_CONTROL_EXPOSE_HEADERS, &[SERVER_TIMING])
}

/// Sets `Timing-Allow-Origin: <origin>` unless the response already allows
/// that origin (listed, or `*`). Returns whether a field was added. A value
/// that is not one list member (empty, or holding a `,`) is never added.
///
/// ```
/// use http::{HeaderMap, HeaderValue};
/// use tower_trace_context::{server::cors::merge_timing_allow_origin, TIMING_ALLOW_ORIGIN};
///
/// let mut headers = HeaderMap::new();
/// let origin = HeaderValue::from_static("https://app.example");
/// assert!(merge_timing_allow_origin(&mut headers, &origin));
/// assert!(!merge_timing_allow_origin(&mut headers, &origin));
/// assert_eq!(headers[TIMING_ALLOW_ORIGIN], "https://app.example");
/// let two = HeaderValue::from_static("https://a.example, https://b.example");
/// assert!(!merge_timing_allow_origin(&mut headers, &two));
/// ```
pub fn merge_timing_allow_origin(headers: &mut HeaderMap, origin: &HeaderValue) -> bool {
    // One list member only: an `Origin` holding `a, b` (no browser sends
    // one) must not allow two origins, nor be appended on every merge.
    let member = crate::wire::lines::trim_ows_bytes(origin.as_bytes());
    if member.is_empty() || member.contains(&b',') {
        return false;
    }
    let covered = headers.get_all(TIMING_ALLOW_ORIGIN).iter().any(|value| {
        value.as_bytes().split(|&b| b == b',').any(|item| {
            let item = crate::wire::lines::trim_ows_bytes(item);
            item == b"*" || item == member
        })
    });
    if !covered {
        headers.append(TIMING_ALLOW_ORIGIN, origin.clone());
    }
    !covered
}

/// A validated Server-Timing metric name (an RFC 9110 token), used as the
/// name of the entry carrying the trace context.
///
/// ```
/// use tower_trace_context::server::ServerTimingName;
/// assert!(ServerTimingName::new("trace").is_ok());
/// assert!(ServerTimingName::new("not a token").is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerTimingName {
    /// `name;desc="`
    prefix: Bytes,
}

/// RFC 9110 `tchar`.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

impl ServerTimingName {
    /// `traceparent`: what Grafana Faro and Splunk RUM read.
    pub const TRACEPARENT: &'static str = "traceparent";
    /// `trace`: the name in the W3C Trace Context Level 3 draft.
    pub const TRACE: &'static str = "trace";

    /// `trace`, the name in the W3C Trace Context Level 3 draft.
    ///
    /// ```
    /// # use tower_trace_context::server::ServerTimingName;
    /// assert_eq!(ServerTimingName::trace().as_str(), "trace");
    /// ```
    #[must_use]
    pub fn trace() -> Self {
        Self {
            prefix: Bytes::from_static(b"trace;desc=\""),
        }
    }

    /// The entry `name;dur=<milliseconds>` (three decimals).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use tower_trace_context::server::ServerTimingName;
    /// let name = ServerTimingName::new("app")?;
    /// assert_eq!(name.duration_entry(Duration::from_micros(12_345)), "app;dur=12.345");
    /// # Ok::<(), tower_trace_context::ConfigError>(())
    /// ```
    #[must_use]
    pub fn duration_entry(&self, elapsed: std::time::Duration) -> HeaderValue {
        let micros = elapsed.as_micros();
        let value = format!(
            "{};dur={}.{:03}",
            self.as_str(),
            micros / 1000,
            micros % 1000
        );
        HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// Validates a metric name.
    pub fn new(name: &str) -> Result<Self, ConfigError> {
        if !is_token(name) {
            return Err(ConfigError::InvalidToken(name.to_owned()));
        }
        let mut prefix = BytesMut::with_capacity(name.len() + 7);
        prefix.put_slice(name.as_bytes());
        prefix.put_slice(b";desc=\"");
        Ok(Self {
            prefix: prefix.freeze(),
        })
    }

    /// The metric name.
    ///
    /// ```
    /// # use tower_trace_context::server::ServerTimingName;
    /// assert_eq!(ServerTimingName::default().as_str(), "traceparent");
    /// ```
    #[must_use]
    pub fn as_str(&self) -> &str {
        let name = self.prefix.get(..self.prefix.len() - 7).unwrap_or_default();
        std::str::from_utf8(name).unwrap_or_default()
    }

    /// The entry `name;desc="00-<trace-id>-<span-id>-<flags>"` (one
    /// allocation, for the value's bytes).
    ///
    /// ```
    /// # use tower_trace_context::{server::ServerTimingName, TraceParent};
    /// let tp: TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".parse()?;
    /// assert_eq!(
    ///     ServerTimingName::default().entry(&tp),
    ///     r#"traceparent;desc="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01""#
    /// );
    /// # Ok::<(), tower_trace_context::TraceParentError>(())
    /// ```
    #[must_use]
    pub fn entry(&self, traceparent: &TraceParent) -> HeaderValue {
        let mut value = BytesMut::with_capacity(self.prefix.len() + TRACEPARENT_LEN + 1);
        value.put_slice(&self.prefix);
        value.put_slice(&traceparent.encode());
        value.put_u8(b'"');
        HeaderValue::from_maybe_shared(value.freeze())
            .unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

impl Default for ServerTimingName {
    fn default() -> Self {
        Self {
            prefix: Bytes::from_static(b"traceparent;desc=\""),
        }
    }
}

#[cfg(test)]
mod tests {
    use http::{HeaderMap, HeaderValue};

    use super::merge_timing_allow_origin;
    use crate::wire::headers::TIMING_ALLOW_ORIGIN;

    /// Found by the `response_headers` fuzz target: an origin holding a
    /// comma was appended on every merge (and allowed two origins); one
    /// with spaces around it was appended twice.
    #[test]
    fn timing_allow_origin_merge_is_idempotent_for_odd_origins() {
        for (origin, added) in [("`Y,A", false), (" https://a.example ", true), ("", false)] {
            let mut headers = HeaderMap::new();
            let origin = HeaderValue::from_str(origin).unwrap();
            assert_eq!(
                merge_timing_allow_origin(&mut headers, &origin),
                added,
                "{origin:?}"
            );
            assert!(
                !merge_timing_allow_origin(&mut headers, &origin),
                "{origin:?} twice"
            );
            assert_eq!(
                headers.get_all(TIMING_ALLOW_ORIGIN).iter().count(),
                usize::from(added)
            );
        }
    }
}
