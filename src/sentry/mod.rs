//! Sentry's `sentry-trace` header (feature `sentry`): a zero-allocation
//! parser and a stack-buffer encoder, so a backend behind Sentry's browser
//! SDK joins its trace without the Sentry Rust SDK.
//!
//! The format is `<32 hex trace id>-<16 hex span id>[-<sampled>]`, sampled
//! `1` or `0`; without it the sampling decision is deferred to the
//! receiver. Spaces and tabs around the value are ignored; hex is lowercase,
//! as Sentry's SDKs write and match it.
//!
//! Turn it on for the server layer with
//! [`TraceContextLayer::sentry`](crate::server::TraceContextLayer::sentry), for the
//! client layer with [`PropagateLayer::sentry`](crate::client::PropagateLayer::sentry), both taking a [`SentrySupport`].
//!
//! ```
//! use tower_trace_context::sentry::SentryTrace;
//!
//! let st = SentryTrace::parse(b" 771a43a4192642f0b136d5159a501700-b0e6f15b45c36b12-1 ")?;
//! assert_eq!(st.trace_id().to_string(), "771a43a4192642f0b136d5159a501700");
//! assert_eq!(st.sampled(), Some(true));
//! assert_eq!(st.to_string(), "771a43a4192642f0b136d5159a501700-b0e6f15b45c36b12-1");
//!
//! let deferred = SentryTrace::parse(b"771a43a4192642f0b136d5159a501700-b0e6f15b45c36b12")?;
//! assert_eq!(deferred.sampled(), None);
//! # Ok::<(), tower_trace_context::SentryTraceError>(())
//! ```

use std::sync::Arc;

use http::HeaderValue;
use opentelemetry::Context;
use opentelemetry::baggage::Baggage;
use opentelemetry::trace::TraceContextExt;

use crate::error::ConfigError;

mod client;
#[cfg(feature = "html")]
mod html;
mod server;
pub(crate) mod wire;

pub use wire::{SENTRY_TRACE_MAX_LEN, SentryTrace};

/// Which header wins when a request carries both a valid `traceparent` and
/// a valid `sentry-trace` (feature `sentry`).
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

/// Sentry interop (feature `sentry`), turned on with
/// [`TraceContextLayer::sentry`](crate::server::TraceContextLayer::sentry) and
/// [`PropagateLayer::sentry`](crate::client::PropagateLayer::sentry); give
/// both the same value.
///
/// The client layer then sends `sentry-trace` next to `traceparent`, and a
/// dynamic sampling context in `baggage` when this service heads it (the
/// one the server layer hands the browser). With it the server layer continues a trace from `sentry-trace` when there is no
/// valid `traceparent` (or first, per [`SentryPrecedence`]), adds
/// `baggage, sentry-trace` to preflight `Access-Control-Allow-Headers`,
/// writes `server-timing` entries `sentry-trace` and `baggage` (the entries
/// Sentry's browser SDK reads), and makes
/// [`TraceMetaTags::for_request`](crate::html::TraceMetaTags::for_request) (feature
/// `html`) render `<meta name="sentry-trace">` and `<meta name="baggage">`.
///
/// ```
/// use tower_trace_context::{sentry::{SentryPrecedence, SentrySupport}, server::TraceContextLayer};
/// let layer = TraceContextLayer::new().sentry(
///     SentrySupport::new()
///         .precedence(SentryPrecedence::SentryTraceFirst)
///         .deferred_sampled(false),
/// );
/// # let _ = layer;
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SentrySupport {
    pub(crate) precedence: SentryPrecedence,
    pub(crate) deferred_sampled: bool,
    pub(crate) server_timing: bool,
    /// `(key, value)` entries of the dynamic sampling context this service
    /// writes when it heads the trace, besides `trace_id` and `sampled`.
    pub(crate) dsc: Vec<(&'static str, Arc<str>)>,
}

impl Default for SentrySupport {
    fn default() -> Self {
        Self::new()
    }
}

impl SentrySupport {
    /// `traceparent` first; a deferred sampling decision is recorded; the
    /// Server-Timing entries on.
    ///
    /// ```
    /// # use tower_trace_context::sentry::SentrySupport;
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
    /// use tower_trace_context::sentry::SentrySupport;
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
    /// # use tower_trace_context::sentry::SentrySupport;
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
    /// # use tower_trace_context::sentry::{SentryPrecedence, SentrySupport};
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
    /// # use tower_trace_context::sentry::SentrySupport;
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
    /// # use tower_trace_context::sentry::SentrySupport;
    /// let s = SentrySupport::new().server_timing(false);
    /// # let _ = s;
    /// ```
    #[must_use]
    pub const fn server_timing(mut self, enabled: bool) -> Self {
        self.server_timing = enabled;
        self
    }
}

impl SentrySupport {
    /// The `baggage` to send with the trace of `cx`: `baggage` as it is when
    /// its `sentry-` entries describe this trace (`frozen`, or a
    /// `sentry-trace_id` of this trace: Sentry's SDKs never change a
    /// dynamic sampling context once made); otherwise, when `head` (this
    /// service heads the trace's dynamic sampling context) and the span is
    /// valid, the other entries plus a fresh context: `sentry-trace_id`,
    /// `sentry-sampled` and the entries set on this value.
    pub(crate) fn baggage(
        &self,
        cx: &Context,
        baggage: &Baggage,
        frozen: bool,
        head: bool,
    ) -> Option<HeaderValue> {
        let span = cx.span();
        let sc = span.span_context();
        let trace_id = sc.trace_id().to_string();
        let keep = frozen
            || baggage
                .get("sentry-trace_id")
                .is_some_and(|v| v.as_str() == trace_id);
        let dsc = (!keep && head && sc.is_valid()).then(|| {
            let mut dsc = vec![
                ("sentry-trace_id", trace_id),
                ("sentry-sampled", sc.is_sampled().to_string()),
            ];
            dsc.extend(self.dsc.iter().map(|(k, v)| (*k, v.to_string())));
            dsc
        });
        match dsc {
            // Nothing to change: the baggage as it arrived.
            None if keep => crate::propagation::baggage_value(cx),
            dsc => crate::propagation::encode_baggage_with(
                baggage,
                |key| keep || !key.starts_with("sentry-"),
                dsc.as_deref().unwrap_or_default(),
            ),
        }
    }
}

/// The public key of a Sentry DSN, checked as Sentry's SDKs check a DSN.
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
