//! grpc-web responses: their trailers arrive as the body's last frame.

use std::borrow::Cow;

use http::HeaderMap;

use crate::grpc::Grpc;
use crate::grpc::status::{GRPC_MESSAGE, GRPC_STATUS};

/// The trailers a response body frame carries: HTTP trailers, or, for a
/// grpc-web body being read (`web`), the trailer frame this data frame
/// completes.
pub(crate) fn frame_trailers<'a, D: bytes::Buf>(
    frame: &'a http_body::Frame<D>,
    web: Option<&mut WebFrames>,
) -> Option<Cow<'a, HeaderMap>> {
    if let Some(trailers) = frame.trailers_ref() {
        return Some(Cow::Borrowed(trailers));
    }
    web?.read(frame.data_ref()?).map(Cow::Owned)
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
}
