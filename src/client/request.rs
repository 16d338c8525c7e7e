//! The request and response types the client layer works with.

use http::{HeaderMap, Method, StatusCode};

use crate::client::allowlist::UrlParts;
use crate::client::{ClientSpan, ResponseBody};

/// An outgoing HTTP request the client layer can inspect and add headers to:
/// `http::Request<B>` (hyper-util's client, tower stacks) and, with feature
/// `reqwest`, `reqwest::Request`.
pub trait OutgoingRequest {
    /// The method.
    fn method(&self) -> &Method;
    /// The URL; `None` when it is not absolute.
    fn url(&self) -> Option<UrlParts<'_>>;
    /// The headers.
    fn headers(&self) -> &HeaderMap;
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
    fn headers(&self) -> &HeaderMap {
        self.headers()
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
    fn headers(&self) -> &HeaderMap {
        self.headers()
    }
    fn headers_mut(&mut self) -> &mut HeaderMap {
        self.headers_mut()
    }
}

/// A response whose status the client span records.
pub trait OutgoingResponse {
    /// What the client layer returns: the response, holding the client
    /// span for as long as it is being read.
    type Traced;
    /// The status code.
    fn status(&self) -> StatusCode;
    /// The headers (a trailers-only gRPC response's `grpc-status` is here).
    fn headers(&self) -> &HeaderMap;
    /// Hands over the client span, once the layer has recorded the status.
    /// Dropping `span` ends it: `http::Response<B>` keeps it in its body
    /// until the body ends ([`ResponseBody`]); a `reqwest::Response` ends it
    /// here, at the response head.
    fn traced(self, span: ClientSpan) -> Self::Traced;
    /// The URL the response came from, when the client below the layer
    /// follows redirects itself and says where it ended: a
    /// `reqwest::Response`'s [`url`](reqwest::Response::url) (feature
    /// `reqwest`), or tower-http's `RequestUri` on an `http::Response`
    /// (feature `tower-http`: the layer sits outside `FollowRedirectLayer`).
    /// The layer logs a `WARN` (once per process) when trace headers went
    /// out and this URL is one the allowlist denies: a redirect carried
    /// them there. `None` (the default): not known.
    fn final_url(&self) -> Option<UrlParts<'_>> {
        None
    }
}

impl<B> OutgoingResponse for http::Response<B> {
    type Traced = http::Response<ResponseBody<B>>;
    fn status(&self) -> StatusCode {
        self.status()
    }
    fn headers(&self) -> &HeaderMap {
        self.headers()
    }
    fn traced(self, span: ClientSpan) -> Self::Traced {
        let web = span.grpc && crate::grpc::is_readable_grpc_web(self.headers());
        self.map(|body| ResponseBody::new(body, span, web))
    }
    #[cfg(feature = "tower-http")]
    fn final_url(&self) -> Option<UrlParts<'_>> {
        let uri = self
            .extensions()
            .get::<tower_http::follow_redirect::RequestUri>()?;
        UrlParts::from_uri(&uri.0)
    }
}

#[cfg(feature = "reqwest")]
impl OutgoingResponse for reqwest::Response {
    type Traced = Self;
    fn status(&self) -> StatusCode {
        self.status()
    }
    fn headers(&self) -> &HeaderMap {
        self.headers()
    }
    fn traced(self, span: ClientSpan) -> Self {
        drop(span);
        self
    }
    fn final_url(&self) -> Option<UrlParts<'_>> {
        UrlParts::from_url(self.url())
    }
}
