//! The request and response types the client layer works with.

use http::{HeaderMap, Method, StatusCode};

use crate::client::allowlist::UrlParts;

/// An outgoing HTTP request the client layer can inspect and add headers to:
/// `http::Request<B>` (hyper-util's client, tower stacks) and, with feature
/// `reqwest`, `reqwest::Request`.
pub trait OutgoingRequest {
    /// The method.
    fn method(&self) -> &Method;
    /// The URL; `None` when it is not absolute.
    fn url(&self) -> Option<UrlParts<'_>>;
    /// The headers, mutably.
    fn headers_mut(&mut self) -> &mut HeaderMap;
    /// Path and query of a path-only URI (`/pkg.Service/Method`, what a
    /// tonic `Channel` passes its layers), judged against the origin set
    /// with [`PropagateLayer::origin`](crate::client::PropagateLayer::origin);
    /// `None` (the default) for an absolute one.
    fn path_only(&self) -> Option<(&str, Option<&str>)> {
        None
    }
}

impl<B> OutgoingRequest for http::Request<B> {
    fn method(&self) -> &Method {
        self.method()
    }
    fn url(&self) -> Option<UrlParts<'_>> {
        UrlParts::from_uri(self.uri())
    }
    fn headers_mut(&mut self) -> &mut HeaderMap {
        self.headers_mut()
    }
    fn path_only(&self) -> Option<(&str, Option<&str>)> {
        let uri = self.uri();
        (uri.scheme().is_none() && uri.authority().is_none()).then(|| (uri.path(), uri.query()))
    }
}

#[cfg(feature = "reqwest")]
impl OutgoingRequest for reqwest::Request {
    fn method(&self) -> &Method {
        self.method()
    }
    fn url(&self) -> Option<UrlParts<'_>> {
        UrlParts::from_url(self.url())
    }
    fn headers_mut(&mut self) -> &mut HeaderMap {
        self.headers_mut()
    }
}

/// A response whose status the client span records.
pub trait OutgoingResponse {
    /// The status code.
    fn status(&self) -> StatusCode;
}

impl<B> OutgoingResponse for http::Response<B> {
    fn status(&self) -> StatusCode {
        self.status()
    }
}

#[cfg(feature = "reqwest")]
impl OutgoingResponse for reqwest::Response {
    fn status(&self) -> StatusCode {
        self.status()
    }
}
