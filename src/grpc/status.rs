//! A gRPC call's status: `grpc-status` and `grpc-message`, how each side
//! judges a code, and the code a client derives from an HTTP status.

use http::{HeaderMap, HeaderName};

use crate::span::Recorder;
use crate::wire::percent::percent_decode;

/// `grpc-status` of a trailers-only response (in the response headers).
pub(crate) fn status_in_headers(headers: &HeaderMap) -> Option<u16> {
    std::str::from_utf8(headers.get(GRPC_STATUS)?.as_bytes())
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The name of a gRPC status code, as `error.type`.
pub(crate) fn code_name(code: u16) -> &'static str {
    match code {
        0 => "OK",
        1 => "CANCELLED",
        2 => "UNKNOWN",
        3 => "INVALID_ARGUMENT",
        4 => "DEADLINE_EXCEEDED",
        5 => "NOT_FOUND",
        6 => "ALREADY_EXISTS",
        7 => "PERMISSION_DENIED",
        8 => "RESOURCE_EXHAUSTED",
        9 => "FAILED_PRECONDITION",
        10 => "ABORTED",
        11 => "OUT_OF_RANGE",
        12 => "UNIMPLEMENTED",
        13 => "INTERNAL",
        14 => "UNAVAILABLE",
        15 => "DATA_LOSS",
        16 => "UNAUTHENTICATED",
        _ => "_OTHER",
    }
}

/// Which end of the call a span stands for: the conventions judge status
/// codes differently for each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    /// UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE and
    /// DATA_LOSS are errors; the others are the caller's doing and leave the
    /// status unset.
    Server,
    /// Every code but OK is an error.
    Client,
}

impl Side {
    /// Whether `code` makes this side's span an error (OpenTelemetry
    /// semantic conventions for gRPC, "Span status").
    pub(crate) fn is_error(self, code: u16) -> bool {
        match self {
            Self::Server => matches!(code, 2 | 4 | 12 | 13 | 14 | 15),
            Self::Client => code != 0,
        }
    }
}

/// `grpc-status`.
pub(crate) const GRPC_STATUS: HeaderName = HeaderName::from_static("grpc-status");
/// `grpc-message`.
pub(crate) const GRPC_MESSAGE: HeaderName = HeaderName::from_static("grpc-message");

/// The status a gRPC client derives from an HTTP status when the response
/// carries no `grpc-status` ("HTTP to gRPC Status Code Mapping" in the gRPC
/// documentation): 400 INTERNAL, 401 UNAUTHENTICATED, 403
/// PERMISSION_DENIED, 404 UNIMPLEMENTED, 429/502/503/504 UNAVAILABLE,
/// anything else UNKNOWN.
pub(crate) fn code_of_http_status(status: http::StatusCode) -> u16 {
    match status.as_u16() {
        400 => 13,
        401 => 16,
        403 => 7,
        404 => 12,
        429 | 502 | 503 | 504 => 14,
        _ => 2,
    }
}

/// Records a `grpc-status` found in `headers` (a trailers-only response's
/// head, or the body's trailers) on a gRPC span (see
/// [`Recorder::grpc_code`]), with the percent-decoded `grpc-message` as the
/// error description. Returns whether there was one.
pub(crate) fn record_status(headers: &HeaderMap, side: Side, span: &Recorder) -> bool {
    let Some(code) = status_in_headers(headers) else {
        return false;
    };
    span.grpc_code(code, side, || {
        headers
            .get(GRPC_MESSAGE)
            .map(|m| percent_decode(m.as_bytes()).into_owned())
            .unwrap_or_default()
    });
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_sides_and_messages() {
        let mut h = HeaderMap::new();
        h.insert("grpc-status", " 13 ".parse().unwrap());
        assert_eq!(status_in_headers(&h), Some(13));
        assert!(Side::Server.is_error(13) && !Side::Server.is_error(5));
        assert!(!Side::Server.is_error(0) && !Side::Client.is_error(0));
        assert!(Side::Client.is_error(5) && Side::Client.is_error(1));
        assert_eq!(code_name(5), "NOT_FOUND");
        assert_eq!(percent_decode(b"db%20down%3A%20retry"), "db down: retry");
        assert_eq!(percent_decode(b"caf%C3%A9 100%"), "caf\u{e9} 100%");
        assert_eq!(percent_decode(b"%zz%4"), "%zz%4");
        assert_eq!(percent_decode(b"%FF"), "\u{fffd}");
    }
}
