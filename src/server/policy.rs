//! What to do with incoming trace context, and with `Timing-Allow-Origin`.

use std::fmt;
use std::sync::Arc;

use http::{Extensions, HeaderMap, HeaderValue, Method, Uri};

use crate::response_headers::ConfigError;

/// How the server layer treats a valid incoming `traceparent`.
///
/// ```
/// use tower_trace_context::{Trust, server::TraceContextLayer};
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
    /// # use tower_trace_context::Trust;
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
/// use tower_trace_context::TimingAllowOrigin;
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

/// Which header wins when a request carries both a valid `traceparent` and
/// a valid `sentry-trace` (feature `sentry`).
#[cfg(feature = "sentry")]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SentryPrecedence {
    /// W3C `traceparent` first, `sentry-trace` when it is absent or invalid
    /// (the default).
    #[default]
    TraceparentFirst,
    /// `sentry-trace` first, `traceparent` when it is absent or invalid.
    SentryTraceFirst,
}

/// Sentry interop for the server layer (feature `sentry`), turned on with
/// [`TraceContextLayer::sentry`](crate::server::TraceContextLayer::sentry).
///
/// With it the layer continues a trace from `sentry-trace` when there is no
/// valid `traceparent` (or first, per [`SentryPrecedence`]), adds
/// `baggage, sentry-trace` to preflight `Access-Control-Allow-Headers`,
/// writes `server-timing` entries `sentry-trace` and `baggage` (the entries
/// Sentry's browser SDK reads), and makes
/// [`MetaTags::for_request`](crate::html::MetaTags::for_request) (feature
/// `html`) render `<meta name="sentry-trace">` and `<meta name="baggage">`.
///
/// ```
/// use tower_trace_context::server::{SentryPrecedence, SentrySupport, TraceContextLayer};
/// let layer = TraceContextLayer::new().sentry(
///     SentrySupport::new()
///         .precedence(SentryPrecedence::SentryTraceFirst)
///         .deferred_sampled(false),
/// );
/// # let _ = layer;
/// ```
#[cfg(feature = "sentry")]
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SentrySupport {
    pub(crate) precedence: SentryPrecedence,
    pub(crate) deferred_sampled: bool,
    pub(crate) server_timing: bool,
    /// `(key, value)` entries of the dynamic sampling context this service
    /// writes when it heads the trace, besides `trace_id` and `sampled`.
    pub(crate) dsc: Vec<(&'static str, Arc<str>)>,
}

#[cfg(feature = "sentry")]
impl Default for SentrySupport {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "sentry")]
impl SentrySupport {
    /// `traceparent` first; a deferred sampling decision is recorded; the
    /// Server-Timing entries on.
    ///
    /// ```
    /// # use tower_trace_context::server::SentrySupport;
    /// assert_eq!(SentrySupport::new(), SentrySupport::default());
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        Self {
            precedence: SentryPrecedence::TraceparentFirst,
            deferred_sampled: true,
            server_timing: true,
            dsc: Vec::new(),
        }
    }

    /// Sentry interop with the public key of your project's DSN (see
    /// [`public_key`](Self::public_key)), the DSN as Sentry shows it:
    /// `{PROTOCOL}://{PUBLIC_KEY}[:{SECRET_KEY}]@{HOST}[:{PORT}][/{PATH}]/{PROJECT_ID}`
    /// with protocol `http` or `https`, a non-empty key of letters, digits
    /// and `_`, a host, a numeric port if any, and a numeric project id, as
    /// Sentry's SDKs check it. Only the public key is kept.
    ///
    /// ```
    /// use tower_trace_context::ConfigError;
    /// use tower_trace_context::server::SentrySupport;
    ///
    /// let s = SentrySupport::from_dsn("https://49d0f7386ad645858ae85020e393bef3@o1.ingest.sentry.io/4505")?;
    /// assert_eq!(s, SentrySupport::new().public_key("49d0f7386ad645858ae85020e393bef3"));
    /// assert_eq!(
    ///     SentrySupport::from_dsn("https://o1.ingest.sentry.io/4505"),
    ///     Err(ConfigError::InvalidDsn("no public key before '@'"))
    /// );
    /// # Ok::<(), ConfigError>(())
    /// ```
    pub fn from_dsn(dsn: &str) -> Result<Self, ConfigError> {
        Ok(Self::new().public_key(dsn_public_key(dsn)?))
    }

    fn with_dsc(mut self, key: &'static str, value: &str) -> Self {
        self.dsc.retain(|(k, _)| *k != key);
        self.dsc.push((key, Arc::from(value)));
        self
    }

    /// The public key of your Sentry DSN, for the dynamic sampling context
    /// (`sentry-public_key`) this service hands the browser when it heads a
    /// trace (a second call replaces the first).
    ///
    /// When this service starts a trace (a page load, or a request without
    /// `sentry-trace` and without `sentry-` baggage), Sentry's browser SDK
    /// takes the page's `<meta name="baggage">` (or the `baggage`
    /// Server-Timing entry) as the trace's frozen dynamic sampling context:
    /// without one it sends no `baggage` at all for the rest of the trace.
    /// So the layer writes `sentry-trace_id`, `sentry-sampled` and the
    /// entries set here.
    ///
    /// ```
    /// # use tower_trace_context::server::SentrySupport;
    /// let s = SentrySupport::new()
    ///     .public_key("49d0f7386ad645858ae85020e393bef3")
    ///     .environment("production")
    ///     .release("shop@1.4.2");
    /// # let _ = s;
    /// ```
    #[must_use]
    pub fn public_key(self, key: &str) -> Self {
        self.with_dsc("sentry-public_key", key)
    }

    /// `sentry-environment` of the dynamic sampling context (see
    /// [`public_key`](Self::public_key); a second call replaces the first).
    #[must_use]
    pub fn environment(self, environment: &str) -> Self {
        self.with_dsc("sentry-environment", environment)
    }

    /// `sentry-release` of the dynamic sampling context (see
    /// [`public_key`](Self::public_key); a second call replaces the first).
    #[must_use]
    pub fn release(self, release: &str) -> Self {
        self.with_dsc("sentry-release", release)
    }

    /// Which header wins when both are valid (a second call replaces the
    /// first).
    ///
    /// ```
    /// # use tower_trace_context::server::{SentryPrecedence, SentrySupport};
    /// let s = SentrySupport::new().precedence(SentryPrecedence::SentryTraceFirst);
    /// # let _ = s;
    /// ```
    #[must_use]
    pub const fn precedence(mut self, precedence: SentryPrecedence) -> Self {
        self.precedence = precedence;
        self
    }

    /// What a `sentry-trace` without its sampled part (a deferred decision)
    /// becomes when no `sentry-sampled` baggage entry decides it either:
    /// the remote parent's `sampled` flag, which OpenTelemetry's
    /// `ParentBased` sampler follows. Default `true` (record, as a new root
    /// would under the default sampler). A second call replaces the first.
    ///
    /// ```
    /// # use tower_trace_context::server::SentrySupport;
    /// let s = SentrySupport::new().deferred_sampled(false);
    /// # let _ = s;
    /// ```
    #[must_use]
    pub const fn deferred_sampled(mut self, sampled: bool) -> Self {
        self.deferred_sampled = sampled;
        self
    }

    /// Whether to write the `sentry-trace` and `baggage` Server-Timing
    /// entries (default on; a second call replaces the first).
    ///
    /// ```
    /// # use tower_trace_context::server::SentrySupport;
    /// let s = SentrySupport::new().server_timing(false);
    /// # let _ = s;
    /// ```
    #[must_use]
    pub const fn server_timing(mut self, enabled: bool) -> Self {
        self.server_timing = enabled;
        self
    }
}

/// The public key of a Sentry DSN, checked as Sentry's SDKs check a DSN.
#[cfg(feature = "sentry")]
fn dsn_public_key(dsn: &str) -> Result<&str, ConfigError> {
    let invalid = ConfigError::InvalidDsn;
    let (scheme, rest) = dsn
        .trim()
        .split_once("://")
        .ok_or(invalid("no '://' after the protocol"))?;
    if scheme != "http" && scheme != "https" {
        return Err(invalid("the protocol is not http or https"));
    }
    let (userinfo, rest) = rest
        .split_once('@')
        .ok_or(invalid("no public key before '@'"))?;
    let key = userinfo.split_once(':').map_or(userinfo, |(key, _)| key);
    let word = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if key.is_empty() || !word(key) {
        return Err(invalid(
            "the public key is empty or not letters, digits and '_'",
        ));
    }
    let (authority, path) = rest
        .split_once('/')
        .ok_or(invalid("no '/{PROJECT_ID}' after the host"))?;
    // `host[:port]`, where an IPv6 host is in brackets.
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((host, "")) => (host, None),
            Some((host, after)) => (host, Some(after.strip_prefix(':').unwrap_or(after))),
            None => ("", None),
        },
        None => match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    if host.is_empty() {
        return Err(invalid("no host"));
    }
    if port.is_some_and(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit())) {
        return Err(invalid("the port is not a number"));
    }
    let project = path.rsplit('/').next().unwrap_or_default();
    if project.is_empty() || !project.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("the project id is not a number"));
    }
    Ok(key)
}
