//! gRPC calls through the server and client layers (OpenTelemetry
//! semantic conventions for gRPC), one home for both sides: which requests
//! are gRPC and their `/{package.Service}/{Method}` path (here), their
//! status (`status`: `grpc-status` in a trailers-only response's head or in
//! the body's trailers), grpc-web trailer frames (`web`), and the span
//! fields both sides write (`fields`).

mod fields;
mod status;
mod web;

use http::HeaderMap;
use http::header::CONTENT_TYPE;

pub(crate) use fields::{attributes, grpc_span, span_name};
pub(crate) use status::{Side, code_name, code_of_http_status, record_status};
#[cfg(fuzzing)]
pub use web::fuzzing;
pub(crate) use web::{WebFrames, frame_trailers, is_readable_grpc_web};

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

/// The `(service, method)` of a gRPC call: a gRPC `content-type` and a
/// `/{package.Service}/{Method}` path.
pub(crate) fn call<'a>(headers: &HeaderMap, path: &'a str) -> Option<(&'a str, &'a str)> {
    Grpc::of(headers)?;
    service_and_method(path)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
