//! gRPC calls through the server and client layers (OpenTelemetry
//! semantic conventions for gRPC): which requests are gRPC, their
//! `/{package.Service}/{Method}` path, and their status (`grpc-status` in a
//! trailers-only response's head or in the body's trailers).

use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderName};

use crate::span::Recorder;
use crate::wire::percent::percent_decode;

/// What kind of gRPC a request is, from its `content-type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Grpc {
    /// `application/grpc`, `application/grpc+proto`, ...: a gRPC client,
    /// no browser.
    Plain,
    /// `application/grpc-web`, `application/grpc-web+proto`, ...: a
    /// browser through grpc-web, binary framing.
    Web,
    /// `application/grpc-web-text`, ...: grpc-web in base64.
    WebText,
}

impl Grpc {
    /// The kind of `headers`' `content-type`, if gRPC.
    pub(crate) fn of(headers: &HeaderMap) -> Option<Self> {
        let value = headers.get(CONTENT_TYPE)?.as_bytes();
        let rest = strip_prefix_ignore_case(value, b"application/grpc")?;
        match rest.first() {
            None | Some(b'+' | b';') => Some(Self::Plain),
            Some(b'-') => {
                // `-web` or `-web-text`, then the end, `+` or `;`.
                let ends = |rest: &[u8]| matches!(rest.first(), None | Some(b'+' | b';'));
                let web = strip_prefix_ignore_case(rest, b"-web")?;
                match strip_prefix_ignore_case(web, b"-text") {
                    Some(text) if ends(text) => Some(Self::WebText),
                    None if ends(web) => Some(Self::Web),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

/// The trailers a response body frame carries: HTTP trailers, or, for a
/// grpc-web body being read (`web`), the trailer frame this data frame
/// completes.
pub(crate) fn frame_trailers<'a, D: bytes::Buf>(
    frame: &'a http_body::Frame<D>,
    web: Option<&mut WebFrames>,
) -> Option<std::borrow::Cow<'a, HeaderMap>> {
    if let Some(trailers) = frame.trailers_ref() {
        return Some(std::borrow::Cow::Borrowed(trailers));
    }
    web?.read(frame.data_ref()?).map(std::borrow::Cow::Owned)
}

/// Whether a response's body is grpc-web whose trailer frame can be read:
/// binary framing (not `-text`), not compressed (`Content-Encoding` absent
/// or identity).
pub(crate) fn is_readable_grpc_web(headers: &HeaderMap) -> bool {
    Grpc::of(headers) == Some(Grpc::Web)
        && headers
            .get(http::header::CONTENT_ENCODING)
            .is_none_or(|e| e.as_bytes().eq_ignore_ascii_case(b"identity"))
}

fn strip_prefix_ignore_case<'a>(value: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    let (head, rest) = value.split_at_checked(prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then_some(rest)
}

/// `(service, method)` of a gRPC path `/{package.Service}/{Method}`.
pub(crate) fn service_and_method(path: &str) -> Option<(&str, &str)> {
    let (service, method) = path.strip_prefix('/')?.split_once('/')?;
    (!service.is_empty() && !method.is_empty() && !method.contains('/'))
        .then_some((service, method))
}

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

/// The largest grpc-web trailer frame read; a bigger one is not decoded.
const MAX_WEB_TRAILERS: usize = 16 * 1024;

/// Finds the trailers of a grpc-web response body (binary framing) as it
/// streams past in chunks of any size: each frame is a flag byte, a
/// big-endian 4-byte length and the payload; flag bit `0x80` marks the
/// trailer frame, whose payload is HTTP/1-style `name:value` lines (gRPC
/// over HTTP/1 protocol, "grpc-web"). Message payloads are skipped, not
/// copied.
#[derive(Debug, Default)]
pub(crate) struct WebFrames {
    /// The current frame's header, and how much of it has been seen.
    header: [u8; 5],
    have: usize,
    /// Payload bytes of the current frame still to come.
    left: usize,
    /// The trailer frame's payload so far.
    trailer: Option<Vec<u8>>,
    /// Trailers found, or the framing given up on.
    done: bool,
}

impl WebFrames {
    /// Reads `data`, the next bytes of the body; returns the trailers when
    /// their frame completes.
    pub(crate) fn feed(&mut self, mut data: &[u8]) -> Option<HeaderMap> {
        while !self.done && !data.is_empty() {
            if self.have < 5 {
                let n = (5 - self.have).min(data.len());
                let (head, rest) = data.split_at(n);
                self.header[self.have..self.have + n].copy_from_slice(head);
                self.have += n;
                data = rest;
                if self.have < 5 {
                    break;
                }
                let [flags, len @ ..] = self.header;
                self.left = u32::from_be_bytes(len) as usize;
                if flags & 0x80 != 0 {
                    if self.left > MAX_WEB_TRAILERS {
                        self.done = true;
                        break;
                    }
                    self.trailer = Some(Vec::with_capacity(self.left));
                }
            }
            let n = self.left.min(data.len());
            let (payload, rest) = data.split_at(n);
            if let Some(trailer) = &mut self.trailer {
                trailer.extend_from_slice(payload);
            }
            self.left -= n;
            data = rest;
            if self.left == 0 {
                self.have = 0;
                if let Some(trailer) = self.trailer.take() {
                    self.done = true;
                    return Some(trailer_lines(&trailer));
                }
            }
        }
        None
    }

    /// [`feed`](Self::feed) for a body's data frame. A chunk in pieces
    /// (not `Bytes`) cannot be followed without copying it: the framing is
    /// given up on.
    pub(crate) fn read(&mut self, data: &impl bytes::Buf) -> Option<HeaderMap> {
        if self.done {
            return None;
        }
        let chunk = data.chunk();
        if chunk.len() != data.remaining() {
            self.done = true;
            self.trailer = None;
            return None;
        }
        self.feed(chunk)
    }

    /// Whether nothing more can come of this body.
    #[cfg(test)]
    fn is_done(&self) -> bool {
        self.done
    }
}

/// `grpc-status` and `grpc-message` of a grpc-web trailer block (lines
/// ending in CRLF, or LF; names in any case; other lines ignored).
fn trailer_lines(block: &[u8]) -> HeaderMap {
    let mut trailers = HeaderMap::new();
    for line in block.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (
            &line[..colon],
            crate::wire::lines::trim_ows_bytes(&line[colon + 1..]),
        );
        let name = match name {
            n if n.eq_ignore_ascii_case(b"grpc-status") => GRPC_STATUS,
            n if n.eq_ignore_ascii_case(b"grpc-message") => GRPC_MESSAGE,
            _ => continue,
        };
        if let Ok(value) = http::HeaderValue::from_bytes(value) {
            trailers.insert(name, value);
        }
    }
    trailers
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

/// Hooks for the fuzz targets (built only under `cargo fuzz`).
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing {
    /// `grpc-status` and `grpc-message` the body reader finds in a grpc-web
    /// body that arrives as `chunks`.
    pub fn web_trailers(chunks: &[&[u8]]) -> Option<(Option<Vec<u8>>, Option<Vec<u8>>)> {
        let mut frames = super::WebFrames::default();
        let trailers = chunks.iter().find_map(|chunk| frames.feed(chunk))?;
        let get = |name| {
            trailers
                .get(name)
                .map(|v: &http::HeaderValue| v.as_bytes().to_vec())
        };
        Some((get("grpc-status"), get("grpc-message")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A grpc-web body (two messages, then the trailer frame) split at
    /// every point gives the same trailers.
    #[test]
    fn grpc_web_trailers_across_any_split() {
        let mut body = Vec::new();
        for message in [&b"abc"[..], &b""[..]] {
            body.push(0);
            body.extend_from_slice(&(message.len() as u32).to_be_bytes());
            body.extend_from_slice(message);
        }
        let block = b"grpc-status:13\r\nGRPC-Message: db%20down\r\nx-other:1\r\n";
        body.push(0x80);
        body.extend_from_slice(&(block.len() as u32).to_be_bytes());
        body.extend_from_slice(block);
        for split in 0..=body.len() {
            let mut frames = WebFrames::default();
            let (a, b) = body.split_at(split);
            let found = frames.feed(a).or_else(|| frames.feed(b));
            let found = found.unwrap_or_else(|| panic!("split {split}"));
            assert_eq!(found["grpc-status"], "13");
            assert_eq!(found["grpc-message"], "db%20down");
            assert_eq!(found.len(), 2);
            assert!(frames.is_done());
        }
        // Byte by byte.
        let mut frames = WebFrames::default();
        let found = body
            .iter()
            .find_map(|b| frames.feed(std::slice::from_ref(b)));
        assert_eq!(found.unwrap()["grpc-status"], "13");
        // An oversized trailer frame is not buffered.
        let mut frames = WebFrames::default();
        assert_eq!(frames.feed(&[0x80, 0xff, 0xff, 0xff, 0xff, b'g']), None);
        assert!(frames.is_done());
    }

    #[test]
    fn kinds_paths_and_codes() {
        let kind = |ct: &str| {
            let mut h = HeaderMap::new();
            h.insert(CONTENT_TYPE, ct.parse().unwrap());
            Grpc::of(&h)
        };
        assert_eq!(kind("application/grpc"), Some(Grpc::Plain));
        assert_eq!(kind("application/grpc+proto"), Some(Grpc::Plain));
        assert_eq!(kind("Application/GRPC; charset=utf-8"), Some(Grpc::Plain));
        assert_eq!(kind("application/grpc-web"), Some(Grpc::Web));
        assert_eq!(kind("application/grpc-web-text+proto"), Some(Grpc::WebText));
        assert_eq!(kind("application/grpc-web;charset=x"), Some(Grpc::Web));
        assert_eq!(kind("application/grpc-webx"), None);
        assert_eq!(kind("application/grpc-web-text"), Some(Grpc::WebText));
        assert_eq!(kind("application/grpc-web-textx"), None);
        assert_eq!(kind("application/grpcx"), None);
        assert_eq!(kind("application/json"), None);
        assert_eq!(
            service_and_method("/grpc.health.v1.Health/Check"),
            Some(("grpc.health.v1.Health", "Check"))
        );
        for bad in ["/", "/a", "/a/", "//b", "/a/b/c", "a/b"] {
            assert_eq!(service_and_method(bad), None, "{bad}");
        }
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
