//! What to do with incoming trace context, and with `Timing-Allow-Origin`.

use std::fmt;
use std::sync::Arc;

use http::{Extensions, HeaderMap, HeaderValue, Method, Uri};

use crate::error::ConfigError;

/// How the server layer treats a valid incoming `traceparent`.
///
/// ```
/// use tower_trace_context::server::{TraceContextLayer, Trust};
/// let layer = TraceContextLayer::new().trust(Trust::NewRootWithLink);
/// # let _ = layer;
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Trust {
    /// The server span is a child of the caller's span (the default).
    #[default]
    Continue,
    /// For public endpoints: the server span starts a new trace and links to
    /// the caller's span, so an untrusted caller cannot join your traces or
    /// force sampling with its `sampled` flag (like Go otelhttp's
    /// `WithPublicEndpointFn`).
    NewRootWithLink,
    /// The incoming context is not used at all.
    Ignore,
}

impl Trust {
    /// A short name for logs.
    ///
    /// ```
    /// # use tower_trace_context::server::Trust;
    /// assert_eq!(Trust::NewRootWithLink.as_str(), "new_root_with_link");
    /// ```
    #[must_use]
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Continue => "continue",
            Self::NewRootWithLink => "new_root_with_link",
            Self::Ignore => "ignore",
        }
    }
}

/// The parts of a request a [`Trust`] decision can look at.
#[derive(Debug, Clone, Copy)]
pub struct RequestHead<'a> {
    pub(crate) method: &'a Method,
    pub(crate) uri: &'a Uri,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) extensions: &'a Extensions,
}

impl<'a> RequestHead<'a> {
    /// Borrows the head of a request.
    ///
    /// ```
    /// # use tower_trace_context::server::RequestHead;
    /// let req = http::Request::get("/x").body(()).unwrap();
    /// assert_eq!(RequestHead::of(&req).uri().path(), "/x");
    /// ```
    #[must_use]
    pub fn of<B>(request: &'a http::Request<B>) -> Self {
        Self {
            method: request.method(),
            uri: request.uri(),
            headers: request.headers(),
            extensions: request.extensions(),
        }
    }

    /// The request method.
    ///
    /// ```
    /// # use tower_trace_context::server::RequestHead;
    /// let req = http::Request::post("/x").body(()).unwrap();
    /// assert_eq!(RequestHead::of(&req).method(), "POST");
    /// ```
    #[must_use]
    pub fn method(&self) -> &'a Method {
        self.method
    }

    /// The request URI.
    ///
    /// ```
    /// # use tower_trace_context::server::RequestHead;
    /// let req = http::Request::get("/x?y").body(()).unwrap();
    /// assert_eq!(RequestHead::of(&req).uri().query(), Some("y"));
    /// ```
    #[must_use]
    pub fn uri(&self) -> &'a Uri {
        self.uri
    }

    /// The request headers.
    ///
    /// ```
    /// # use tower_trace_context::server::RequestHead;
    /// let req = http::Request::get("/").header("x-internal", "1").body(()).unwrap();
    /// assert!(RequestHead::of(&req).headers().contains_key("x-internal"));
    /// ```
    #[must_use]
    pub fn headers(&self) -> &'a HeaderMap {
        self.headers
    }

    /// The request extensions (for example the peer address a server put there).
    ///
    /// ```
    /// # use tower_trace_context::server::RequestHead;
    /// let mut req = http::Request::get("/").body(()).unwrap();
    /// req.extensions_mut().insert(7u8);
    /// assert_eq!(RequestHead::of(&req).extensions().get::<u8>(), Some(&7));
    /// ```
    #[must_use]
    pub fn extensions(&self) -> &'a Extensions {
        self.extensions
    }
}

/// A per-request trust decision.
pub(crate) type TrustFn = Arc<dyn Fn(&RequestHead<'_>) -> Trust + Send + Sync>;

/// Which pages may read detailed timing (including `serverTiming`) of a
/// cross-origin response through `Timing-Allow-Origin`.
///
/// The default, [`TimingAllowOrigin::MirrorCors`], echoes the request's
/// `Origin` only when the response already lets that origin read it through
/// CORS (`Access-Control-Allow-Origin` is that origin or `*`): a page that
/// may read the body gains nothing sensitive from its timing, and no other
/// page learns anything. Same-origin pages need no header at all.
///
/// ```
/// use tower_trace_context::server::TimingAllowOrigin;
/// let tao = TimingAllowOrigin::origins(["https://app.example", "http://localhost:3000"])?;
/// assert!(TimingAllowOrigin::origins(["https://app.example/path"]).is_err());
/// # let _ = tao;
/// # Ok::<(), tower_trace_context::ConfigError>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimingAllowOrigin {
    /// Never write `Timing-Allow-Origin`.
    Off,
    /// Echo the `Origin` of requests whose response passes CORS for it.
    #[default]
    MirrorCors,
    /// `Timing-Allow-Origin: *` on every response.
    Any,
    /// Echo the request `Origin` when it is one of these.
    Origins(Arc<[HeaderValue]>),
}

impl TimingAllowOrigin {
    /// An explicit list of origins (`scheme://host[:port]`), checked now.
    pub fn origins<I, S>(origins: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut list = Vec::new();
        for origin in origins {
            let origin = origin.as_ref();
            list.push(
                parse_origin(origin)
                    .ok_or_else(|| ConfigError::InvalidOrigin(origin.to_owned()))?,
            );
        }
        Ok(Self::Origins(list.into()))
    }
}

/// Checks the shape of a serialized origin: `scheme "://" host [":" port]`.
fn parse_origin(origin: &str) -> Option<HeaderValue> {
    let (scheme, rest) = origin.split_once("://")?;
    let scheme_ok = scheme
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    let host_ok = !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b));
    (scheme_ok && host_ok)
        .then(|| HeaderValue::from_str(origin).ok())
        .flatten()
}

impl fmt::Debug for TimingAllowOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Off => f.write_str("Off"),
            Self::MirrorCors => f.write_str("MirrorCors"),
            Self::Any => f.write_str("Any"),
            Self::Origins(list) => f.debug_tuple("Origins").field(list).finish(),
        }
    }
}
