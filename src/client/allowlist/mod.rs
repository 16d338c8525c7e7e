//! Which URLs may receive trace context: the server-side twin of the browser
//! SDKs' `propagateTraceHeaderCorsUrls` (Faro, OpenTelemetry web) and
//! `tracePropagationTargets` (Sentry).

#[cfg(feature = "regex")]
mod regex;
mod url;

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use http::Uri;

use crate::IpNetwork;
use crate::error::AllowlistError;
#[cfg(feature = "regex")]
use regex::{Mode, RegexRule};
pub use url::{MAX_REGEX_URL_LEN, UrlParts};
use url::{NormalizedUrl, default_port, host_eq, trim_dot};

/// What every rule compares, worked out once per URL.
struct Prepared<'a> {
    /// The host without its trailing dot.
    host: &'a str,
    /// The explicit port, or the scheme's default.
    port: Option<u16>,
}

/// Worked out on first use by a rule that needs it, then shared by the
/// other rules.
#[derive(Default)]
struct Lazy<'u> {
    /// The normalised URL, as a view.
    url: Option<NormalizedUrl<'u>>,
    /// The host as an IP address (`None` inside: a name).
    ip: Option<Option<IpAddr>>,
}

impl<'u> Lazy<'u> {
    fn url(&mut self, url: &UrlParts<'u>) -> &NormalizedUrl<'u> {
        self.url.get_or_insert_with(|| NormalizedUrl::new(url))
    }

    fn ip(&mut self, host: &str) -> Option<IpAddr> {
        *self.ip.get_or_insert_with(|| match host.strip_prefix('[') {
            Some(v6) => v6
                .strip_suffix(']')
                .and_then(|v6| v6.parse().ok())
                .map(IpAddr::V6),
            None => host.parse().ok().map(IpAddr::V4),
        })
    }
}

/// Substring rules, checked together in one pass over the URL: only at
/// positions holding a byte some substring starts with.
#[derive(Clone)]
struct Substrings {
    /// Per byte: [`NONE`], [`STARTS`] (some substring of two or more bytes
    /// starts with it) or [`WHOLE`] (it is a one-byte substring).
    first: [u8; 256],
    /// One bit per two-byte start of a substring.
    pairs: Box<[u64; 1024]>,
    /// Non-empty (an empty substring is an allow-all rule).
    needles: Vec<Box<[u8]>>,
    /// The needles are lowercase and the whole URL is read lowercased
    /// (Sentry 11's `url.toLowerCase().includes(target.toLowerCase())`).
    ignore_case: bool,
}

const NONE: u8 = 0;
const STARTS: u8 = 1;
const WHOLE: u8 = 2;

impl Substrings {
    fn new(mut needles: Vec<Box<[u8]>>, ignore_case: bool) -> Self {
        if ignore_case {
            for needle in &mut needles {
                needle.make_ascii_lowercase();
            }
        }
        let mut first = [NONE; 256];
        let mut pairs = Box::new([0u64; 1024]);
        for needle in &needles {
            match **needle {
                [b] => first[usize::from(b)] = WHOLE,
                [b0, b1, ..] => {
                    let slot = &mut first[usize::from(b0)];
                    *slot = (*slot).max(STARTS);
                    let pair = usize::from(b0) << 8 | usize::from(b1);
                    pairs[pair >> 6] |= 1 << (pair & 63);
                }
                [] => {}
            }
        }
        Self {
            first,
            pairs,
            needles,
            ignore_case,
        }
    }

    /// Whether a substring may start at `text[0]`: a cheap filter before
    /// comparing the substrings.
    fn may_start(&self, text: &[u8]) -> bool {
        match text {
            [b0, b1, ..] => match self.first[usize::from(*b0)] {
                NONE => false,
                WHOLE => true,
                _ => {
                    let pair = usize::from(*b0) << 8 | usize::from(*b1);
                    self.pairs[pair >> 6] & (1 << (pair & 63)) != 0
                }
            },
            [b0] => self.first[usize::from(*b0)] == WHOLE,
            [] => false,
        }
    }

    /// Whether one of the substrings is in the URL's text: written into a
    /// small stack buffer when it fits, read in place otherwise.
    fn matches(&self, url: &NormalizedUrl<'_>) -> bool {
        if url.len() > MAX_REGEX_URL_LEN {
            return false;
        }
        let mut small = [0; 256];
        match url.write_into(&mut small) {
            Some(text) => {
                if self.ignore_case {
                    text.make_ascii_lowercase();
                }
                (0..text.len()).any(|i| {
                    let rest = text.get(i..).unwrap_or_default();
                    self.may_start(rest) && self.needles.iter().any(|n| rest.starts_with(n))
                })
            }
            None => self.matches_in_place(url),
        }
    }

    fn matches_in_place(&self, url: &NormalizedUrl<'_>) -> bool {
        let mut parts = url.parts();
        if self.ignore_case {
            for (_, lower) in &mut parts {
                *lower = true;
            }
        }
        parts.iter().enumerate().any(|(at, (part, lower))| {
            part.iter().enumerate().any(|(offset, &b)| {
                let b = if *lower { b.to_ascii_lowercase() } else { b };
                self.first[usize::from(b)] != NONE
                    && self
                        .needles
                        .iter()
                        .any(|needle| starts_at(&parts, at, offset, needle))
            })
        })
    }
}

/// Whether the text made of `parts` continues with `needle` from byte
/// `offset` of part `at` (across part boundaries).
fn starts_at(parts: &[(&[u8], bool)], at: usize, offset: usize, needle: &[u8]) -> bool {
    let mut rest = needle;
    let mut offset = offset;
    for (part, lower) in parts.iter().skip(at) {
        let avail = part.get(offset..).unwrap_or_default();
        let n = avail.len().min(rest.len());
        let (have, want) = (
            avail.get(..n).unwrap_or_default(),
            rest.get(..n).unwrap_or_default(),
        );
        let same = match lower {
            true => have
                .iter()
                .zip(want)
                .all(|(a, b)| a.to_ascii_lowercase() == *b),
            false => have == want,
        };
        if !same {
            return false;
        }
        rest = rest.get(n..).unwrap_or_default();
        if rest.is_empty() {
            return true;
        }
        offset = 0;
    }
    false
}

type Predicate = Arc<dyn Fn(&UrlParts<'_>) -> bool + Send + Sync>;

#[derive(Clone)]
enum Rule {
    All,
    Origin {
        scheme: Box<str>,
        host: Box<str>,
        port: u16,
    },
    Host(Box<str>),
    HostSuffix {
        /// Without the leading dot, lowercase.
        suffix: Box<str>,
        /// The suffix itself matches too (it was given without a leading dot).
        apex: bool,
    },
    Prefix {
        scheme: Box<str>,
        host: Box<str>,
        port: u16,
        path: Box<str>,
    },
    Network(IpNetwork),
    /// The normalised URL equals one of these (themselves normalised).
    ExactUrls(Box<[Box<str>]>),
    /// The normalised URL contains one of these.
    Substrings(Box<Substrings>),
    #[cfg(feature = "regex")]
    Regex(Box<RegexRule>),
    Predicate(Predicate),
}

impl Rule {
    /// Cheap comparisons first, then text rules, then regexes and closures
    /// (any match allows, so the order does not change the answer).
    fn cost(&self) -> u8 {
        match self {
            Rule::ExactUrls(_) | Rule::Substrings(_) => 1,
            #[cfg(feature = "regex")]
            Rule::Regex(_) => 2,
            Rule::Predicate(_) => 3,
            _ => 0,
        }
    }

    fn matches<'u>(
        &self,
        url: &UrlParts<'u>,
        prepared: &Prepared<'_>,
        lazy: &mut Lazy<'u>,
    ) -> bool {
        match self {
            Rule::All => true,
            Rule::Origin { scheme, host, port } => {
                prepared.port == Some(*port)
                    && host_eq(prepared.host, host)
                    && url.scheme().eq_ignore_ascii_case(scheme)
            }
            Rule::Host(host) => host_eq(prepared.host, host),
            Rule::HostSuffix { suffix, apex } => {
                // Bytes, not `str`: a host from `UrlParts::new` may hold
                // non-ASCII, and the split must not land inside a character.
                let host = prepared.host.as_bytes();
                if host.len() == suffix.len() {
                    *apex && host.eq_ignore_ascii_case(suffix.as_bytes())
                } else if host.len() > suffix.len() {
                    let (head, tail) = host.split_at(host.len() - suffix.len());
                    head.ends_with(b".") && tail.eq_ignore_ascii_case(suffix.as_bytes())
                } else {
                    false
                }
            }
            Rule::Prefix {
                scheme,
                host,
                port,
                path,
            } => {
                let url_path = url.path();
                url.scheme().eq_ignore_ascii_case(scheme)
                    && host_eq(prepared.host, host)
                    && prepared.port == Some(*port)
                    && url_path.starts_with(&**path)
                    && (path.ends_with('/')
                        || url_path.len() == path.len()
                        || url_path.as_bytes().get(path.len()) == Some(&b'/'))
            }
            Rule::Network(network) => lazy
                .ip(prepared.host)
                .is_some_and(|ip| network.contains(ip)),
            Rule::ExactUrls(urls) => {
                let url = lazy.url(url);
                urls.iter()
                    .any(|exact| exact.len() == url.len() && url.eq_text(exact.as_bytes()))
            }
            Rule::Substrings(set) => set.matches(lazy.url(url)),
            #[cfg(feature = "regex")]
            Rule::Regex(rule) => matches_regex(rule, url, lazy),
            Rule::Predicate(f) => f(url),
        }
    }
}

// Out of line: keeps the loop over the cheap rules small.
#[cfg(feature = "regex")]
#[inline(never)]
fn matches_regex<'u>(rule: &RegexRule, url: &UrlParts<'u>, lazy: &mut Lazy<'u>) -> bool {
    let normalized = lazy.url(url);
    if normalized.len() > MAX_REGEX_URL_LEN {
        return false;
    }
    match rule.dfa_is_match(normalized) {
        Some(matched) => matched,
        None => {
            // The meta engine needs the text in one piece.
            let mut buf = [0; MAX_REGEX_URL_LEN];
            normalized
                .write_into(&mut buf)
                .is_some_and(|text| rule.meta_is_match(text))
        }
    }
}

impl fmt::Debug for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::All => f.write_str("All"),
            Rule::Origin { scheme, host, port } => write!(f, "Origin({scheme}://{host}:{port})"),
            Rule::Host(h) => write!(f, "Host({h})"),
            Rule::HostSuffix { suffix, apex } => {
                write!(f, "HostSuffix({}{suffix})", if *apex { "" } else { "." })
            }
            Rule::Prefix {
                scheme,
                host,
                port,
                path,
            } => write!(f, "Prefix({scheme}://{host}:{port}{path})"),
            Rule::Network(network) => write!(f, "Network({network})"),
            Rule::ExactUrls(urls) => f.debug_tuple("ExactUrls").field(urls).finish(),
            Rule::Substrings(set) => {
                let needles = set.needles.iter().map(|n| String::from_utf8_lossy(n));
                f.debug_tuple("Substrings")
                    .field(&needles.collect::<Vec<_>>())
                    .finish()
            }
            #[cfg(feature = "regex")]
            Rule::Regex(rule) => match rule.mode() {
                Mode::Full => write!(f, "Regex({})", rule.pattern()),
                Mode::Search => write!(f, "RegexSearch({})", rule.pattern()),
                Mode::SearchIgnoreCase => write!(f, "RegexSearchIgnoreCase({})", rule.pattern()),
            },
            Rule::Predicate(_) => f.write_str("Predicate(Fn(&UrlParts) -> bool)"),
        }
    }
}

/// The URLs outgoing requests may carry trace context to. Built explicitly:
/// there is no default, so trace ids never reach a third party by accident;
/// an allowlist without rules sends nothing.
///
/// Rules (any match allows):
/// - [`origin`](AllowlistBuilder::origin): exact scheme, host and port;
/// - [`host`](AllowlistBuilder::host): exact host, any scheme and port;
/// - [`host_suffix`](AllowlistBuilder::host_suffix): a domain and its
///   subdomains on a label boundary (`.svc.cluster.local` matches
///   `orders.svc.cluster.local`, never `evilsvc.cluster.local`);
/// - [`url_prefix`](AllowlistBuilder::url_prefix): origin plus a path prefix
///   on a segment boundary (`/v1` matches `/v1` and `/v1/x`, not `/v10`);
/// - [`networks`](AllowlistBuilder::networks): IP-literal hosts in a network
///   (`10.0.0.0/8`, `fd00::/8`; IPv4-mapped IPv6 hosts count as IPv4);
/// - [`exact_url`](AllowlistBuilder::exact_url) and
///   [`substring`](AllowlistBuilder::substring): text rules over the whole
///   URL;
/// - [`regex`](AllowlistBuilder::regex) (the whole URL matches) and
///   [`regex_search`](AllowlistBuilder::regex_search) (a match anywhere),
///   with feature `regex`;
/// - [`sentry_targets`](AllowlistBuilder::sentry_targets) and
///   [`propagate_trace_header_cors_urls`](AllowlistBuilder::propagate_trace_header_cors_urls):
///   a browser SDK's list pasted as is, with that SDK's semantics;
/// - [`predicate`](AllowlistBuilder::predicate): any closure.
///
/// Every rule sees the same normalised URL: scheme and host compared
/// without case, the host's trailing dot dropped (but for a host ending in a
/// number, such as `127.0.0.1.`: a connector resolves that as a name, so it
/// is no IP literal and matches no rule naming the IP), the scheme's
/// default port (80 for `http`, 443 for `https`; other schemes such as
/// `ws`/`wss` have none, as connectors differ: rules for them name a port,
/// and a URL of theirs without one matches no rule with a port) the same
/// as no port, and
/// userinfo never part of the host (`https://api.example.com@evil.test/` is
/// `evil.test`). Text rules and regexes match the URL written as
/// `scheme://host[:port]/path[?query]` with scheme and host lowercase, the
/// trailing dot and a default port left out, and no userinfo or fragment
/// (what a browser's `URL.href` shows, but for the trailing dot); a URL
/// longer than [`MAX_REGEX_URL_LEN`] matches no text rule.
///
/// Matching allocates nothing (a regex too large for a dense DFA uses
/// `regex-automata`'s meta engine, which takes a matching cache from a pool
/// and allocates it on first use).
///
/// ```
/// use tower_trace_context::client::{Allowlist, UrlParts};
///
/// let allow = Allowlist::builder()
///     .origin("https://orders.internal:8443")
///     .host_suffix(".svc.cluster.local")
///     .build()?;
/// let ok: http::Uri = "https://ORDERS.internal:8443/api".parse()?;
/// let evil: http::Uri = "https://orders.internal:8443@evil.test/".parse()?;
/// assert!(allow.matches_uri(&ok));
/// assert!(!allow.matches_uri(&evil));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Allowlist {
    rules: Arc<[Rule]>,
}

impl Allowlist {
    /// Starts an allowlist.
    pub fn builder() -> AllowlistBuilder {
        AllowlistBuilder::default()
    }

    /// Allows every URL (what tracing crates without an allowlist do; trace
    /// ids then reach third parties too).
    ///
    /// ```
    /// # use tower_trace_context::client::Allowlist;
    /// assert!(Allowlist::all().matches_uri(&"https://anything.example/".parse().unwrap()));
    /// ```
    #[must_use]
    pub fn all() -> Self {
        Self {
            rules: Arc::new([Rule::All]),
        }
    }

    /// Allows no URL: the client layer then sends trace context nowhere
    /// (and strips hand-set trace headers from every request). The same as
    /// a builder with no rules.
    ///
    /// ```
    /// # use tower_trace_context::client::Allowlist;
    /// assert!(!Allowlist::none().matches_uri(&"http://localhost/".parse().unwrap()));
    /// assert!(!Allowlist::builder().build()?.matches_uri(&"http://localhost/".parse().unwrap()));
    /// # Ok::<(), tower_trace_context::AllowlistError>(())
    /// ```
    #[must_use]
    pub fn none() -> Self {
        Self {
            rules: Arc::new([]),
        }
    }

    /// Whether `url` may receive trace context.
    ///
    /// ```
    /// # use tower_trace_context::client::{Allowlist, UrlParts};
    /// let allow = Allowlist::builder().host("api.example.com").build()?;
    /// assert!(allow.matches(&UrlParts::new("http", "api.example.com", Some(81), "/", None)));
    /// # Ok::<(), tower_trace_context::AllowlistError>(())
    /// ```
    #[must_use]
    pub fn matches(&self, url: &UrlParts<'_>) -> bool {
        let prepared = Prepared {
            host: trim_dot(url.host()),
            port: url.port_or_default(),
        };
        let mut lazy = Lazy::default();
        self.rules
            .iter()
            .any(|rule| rule.matches(url, &prepared, &mut lazy))
    }

    /// Whether an absolute URI may receive trace context (a relative URI
    /// never does).
    ///
    /// ```
    /// # use tower_trace_context::client::Allowlist;
    /// let allow = Allowlist::all();
    /// assert!(!allow.matches_uri(&"/relative".parse().unwrap()));
    /// ```
    #[must_use]
    pub fn matches_uri(&self, uri: &Uri) -> bool {
        UrlParts::from_uri(uri).is_some_and(|url| self.matches(&url))
    }
}

/// An entry of a browser SDK's list of URLs: a string or a regex, as in
/// Sentry's `tracePropagationTargets` and OpenTelemetry JS's
/// `propagateTraceHeaderCorsUrls` (see
/// [`AllowlistBuilder::sentry_targets`]). A string converts into
/// [`Pattern::Text`].
///
/// ```
/// use tower_trace_context::client::Pattern;
/// assert_eq!(Pattern::from("api.example.com"), Pattern::Text("api.example.com".into()));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Pattern {
    /// A JavaScript string.
    Text(String),
    /// A JavaScript `RegExp`, written in the `regex` crate's syntax (the
    /// pattern between the slashes; `\/` is accepted; lookaround is not)
    /// (feature `regex`).
    #[cfg(feature = "regex")]
    Regex(String),
}

impl Pattern {
    /// A regex entry (feature `regex`).
    #[cfg(feature = "regex")]
    pub fn regex(pattern: impl Into<String>) -> Self {
        Self::Regex(pattern.into())
    }

    /// Needs feature `regex`: without it, a call is a compile error that
    /// names the feature.
    #[cfg(not(feature = "regex"))]
    pub fn regex<P: Into<String> + crate::needs_feature::Regex>(pattern: P) -> Self {
        Self::Text(pattern.into())
    }
}

impl From<&str> for Pattern {
    fn from(text: &str) -> Self {
        Self::Text(text.to_owned())
    }
}

impl From<String> for Pattern {
    fn from(text: String) -> Self {
        Self::Text(text)
    }
}

enum Pending {
    Origin(String),
    Host(String),
    HostSuffix(String),
    Prefix(String),
    Network(IpNetwork),
    ExactUrl(String),
    Substring(String),
    /// Sentry 11's string target: a substring, without case.
    SubstringIgnoreCase(String),
    #[cfg(feature = "regex")]
    Regex(String, Mode),
    Predicate(Predicate),
}

/// Builder of an [`Allowlist`]; every method adds a rule (calls accumulate)
/// and [`build`](Self::build) checks them all.
#[derive(Default)]
#[must_use]
pub struct AllowlistBuilder {
    pending: Vec<Pending>,
}

impl fmt::Debug for AllowlistBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AllowlistBuilder")
            .field("rules", &self.pending.len())
            .finish()
    }
}

impl AllowlistBuilder {
    fn push(mut self, rule: Pending) -> Self {
        self.pending.push(rule);
        self
    }

    /// Allows one origin: `scheme://host[:port]`.
    ///
    /// ```
    /// # use tower_trace_context::client::Allowlist;
    /// let allow = Allowlist::builder().origin("https://api.example.com").build()?;
    /// assert!(allow.matches_uri(&"https://api.example.com:443/x".parse().unwrap()));
    /// assert!(!allow.matches_uri(&"http://api.example.com/x".parse().unwrap()));
    /// # Ok::<(), tower_trace_context::AllowlistError>(())
    /// ```
    pub fn origin(self, origin: impl Into<String>) -> Self {
        self.push(Pending::Origin(origin.into()))
    }

    /// Allows one host, on any scheme and port.
    ///
    /// ```
    /// # use tower_trace_context::client::Allowlist;
    /// let allow = Allowlist::builder().host("[::1]").build()?;
    /// assert!(allow.matches_uri(&"http://[::1]:9000/".parse().unwrap()));
    /// # Ok::<(), tower_trace_context::AllowlistError>(())
    /// ```
    pub fn host(self, host: impl Into<String>) -> Self {
        self.push(Pending::Host(host.into()))
    }

    /// Allows subdomains of a domain, on a label boundary. With a leading
    /// dot (`.example.com`) only subdomains match; without
    /// (`example.com`) the domain itself matches too.
    ///
    /// ```
    /// # use tower_trace_context::client::Allowlist;
    /// let allow = Allowlist::builder().host_suffix(".svc.cluster.local").build()?;
    /// assert!(allow.matches_uri(&"http://orders.svc.cluster.local/".parse().unwrap()));
    /// assert!(!allow.matches_uri(&"http://evilsvc.cluster.local/".parse().unwrap()));
    /// # Ok::<(), tower_trace_context::AllowlistError>(())
    /// ```
    pub fn host_suffix(self, suffix: impl Into<String>) -> Self {
        self.push(Pending::HostSuffix(suffix.into()))
    }

    /// Allows URLs under a prefix: same origin, and a path that equals the
    /// prefix's path or continues it after a `/`.
    ///
    /// ```
    /// # use tower_trace_context::client::Allowlist;
    /// let allow = Allowlist::builder().url_prefix("https://api.example.com/v1").build()?;
    /// assert!(allow.matches_uri(&"https://api.example.com/v1/orders".parse().unwrap()));
    /// assert!(!allow.matches_uri(&"https://api.example.com/v10".parse().unwrap()));
    /// # Ok::<(), tower_trace_context::AllowlistError>(())
    /// ```
    pub fn url_prefix(self, prefix: impl Into<String>) -> Self {
        self.push(Pending::Prefix(prefix.into()))
    }

    /// Allows URLs whose host is an IP literal in one of `networks` (the
    /// [`IpNetwork`] type the server layer's `trust_networks` takes too;
    /// parse one from CIDR notation, a bare address being a `/32` or
    /// `/128`), on any scheme and port. An IPv4-mapped IPv6 host
    /// (`[::ffff:10.1.2.3]`) counts as its IPv4 address; host names never
    /// match (no DNS lookup). A second call adds its networks to the first's.
    ///
    /// ```
    /// # use tower_trace_context::client::Allowlist;
    /// use tower_trace_context::IpNetwork;
    /// let private: IpNetwork = "10.0.0.0/8".parse()?;
    /// let allow = Allowlist::builder().networks([private, "fd00::/8".parse()?]).build()?;
    /// assert!(allow.matches_uri(&"http://10.42.0.7:8080/".parse().unwrap()));
    /// assert!(allow.matches_uri(&"http://[::ffff:10.42.0.7]/".parse().unwrap()));
    /// assert!(allow.matches_uri(&"http://[fd12::1]/".parse().unwrap()));
    /// assert!(!allow.matches_uri(&"http://192.168.0.1/".parse().unwrap()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn networks(mut self, networks: impl IntoIterator<Item = IpNetwork>) -> Self {
        for network in networks {
            self = self.push(Pending::Network(network));
        }
        self
    }

    /// Allows one URL exactly (after normalisation on both sides: a query
    /// or another path does not match).
    ///
    /// ```
    /// # use tower_trace_context::client::Allowlist;
    /// let allow = Allowlist::builder().exact_url("https://API.example.com:443/v1/orders").build()?;
    /// assert!(allow.matches_uri(&"https://api.example.com/v1/orders".parse().unwrap()));
    /// assert!(!allow.matches_uri(&"https://api.example.com/v1/orders?page=2".parse().unwrap()));
    /// # Ok::<(), tower_trace_context::AllowlistError>(())
    /// ```
    pub fn exact_url(self, url: impl Into<String>) -> Self {
        self.push(Pending::ExactUrl(url.into()))
    }

    /// Allows URLs whose normalised text contains `text` anywhere: in the
    /// host, the path or the query (case-sensitive; the scheme and host of
    /// the URL are lowercase). An empty string allows every URL.
    ///
    /// **Leak risk**: a substring also matches a third-party URL that
    /// carries it elsewhere, e.g. `api.example.com` matches
    /// `https://evil.test/?next=https://api.example.com/`. Prefer
    /// [`origin`](Self::origin), [`host`](Self::host) or
    /// [`host_suffix`](Self::host_suffix) in new configuration.
    ///
    /// ```
    /// # use tower_trace_context::client::Allowlist;
    /// let allow = Allowlist::builder().substring("api.example.com").build()?;
    /// assert!(allow.matches_uri(&"https://api.example.com/x".parse().unwrap()));
    /// assert!(allow.matches_uri(&"https://evil.test/?next=https://api.example.com/".parse().unwrap()));
    /// # Ok::<(), tower_trace_context::AllowlistError>(())
    /// ```
    pub fn substring(self, text: impl Into<String>) -> Self {
        self.push(Pending::Substring(text.into()))
    }

    /// Allows URLs whose whole normalised text matches `pattern` (`regex`
    /// crate syntax, anchored at both ends; compiled once, linear-time
    /// matching) (feature `regex`).
    ///
    /// ```
    /// # use tower_trace_context::client::Allowlist;
    /// let allow = Allowlist::builder().regex(r"https://[a-z]+\.example\.com/.*").build()?;
    /// assert!(allow.matches_uri(&"https://API.example.com:443/x".parse().unwrap()));
    /// // Anchored: a match inside the query does not count.
    /// assert!(!allow.matches_uri(&"https://evil.test/?https://api.example.com/".parse().unwrap()));
    /// # Ok::<(), tower_trace_context::AllowlistError>(())
    /// ```
    #[cfg(feature = "regex")]
    pub fn regex(self, pattern: impl Into<String>) -> Self {
        self.push(Pending::Regex(pattern.into(), Mode::Full))
    }

    /// Allows URLs whose normalised text contains a match of `pattern`
    /// anywhere, as JavaScript's `url.match(regex)` does (feature `regex`).
    ///
    /// **Leak risk**: without `^` the pattern also matches inside a
    /// third-party URL's query; `^https://api\.example\.com/` is safe,
    /// `api\.example\.com` is not.
    ///
    /// ```
    /// # use tower_trace_context::client::Allowlist;
    /// let allow = Allowlist::builder().regex_search(r"^https://([a-z0-9-]+\.)?corp\.example\.net/").build()?;
    /// assert!(allow.matches_uri(&"https://eu.corp.example.net/orders".parse().unwrap()));
    /// assert!(!allow.matches_uri(&"https://evil.test/?u=https://corp.example.net/".parse().unwrap()));
    /// # Ok::<(), tower_trace_context::AllowlistError>(())
    /// ```
    #[cfg(feature = "regex")]
    pub fn regex_search(self, pattern: impl Into<String>) -> Self {
        self.push(Pending::Regex(pattern.into(), Mode::Search))
    }

    /// Needs feature `regex`: without it, a call is a compile error that
    /// names the feature.
    #[cfg(not(feature = "regex"))]
    pub fn regex<P: Into<String> + crate::needs_feature::Regex>(self, pattern: P) -> Self {
        let _ = pattern;
        self
    }

    /// Needs feature `regex`: without it, a call is a compile error that
    /// names the feature.
    #[cfg(not(feature = "regex"))]
    pub fn regex_search<P: Into<String> + crate::needs_feature::Regex>(self, pattern: P) -> Self {
        let _ = pattern;
        self
    }

    /// Adds Sentry's `tracePropagationTargets`, pasted from the browser
    /// config, with the semantics of Sentry's JavaScript SDK 11
    /// (`matchesTracePropagationTargets` in `@sentry/core` 11): a string
    /// matches when it is a **substring** of the URL, both lowercased; a
    /// regex when it matches **anywhere** in it, without case (Sentry adds
    /// the `i` flag). Sentry 10 compared strings with their case; a target
    /// with capitals that Sentry 10 never matched now matches as in the
    /// browser.
    ///
    /// **Leak risk**: both match a third-party URL that carries the text in
    /// its query (`"api.example.com"` matches
    /// `https://evil.test/?next=https://api.example.com/`); anchor regexes
    /// with `^https://host/` where you can. Sentry's relative-URL default
    /// (`/^\/(?!\/)/`) has no meaning here: outgoing URLs are absolute.
    ///
    /// ```
    /// # use tower_trace_context::client::Allowlist;
    /// // tracePropagationTargets: ["localhost", "api.example.com"]
    /// let allow = Allowlist::builder().sentry_targets(["localhost", "api.example.com"]).build()?;
    /// assert!(allow.matches_uri(&"http://localhost:3000/api".parse().unwrap()));
    /// assert!(allow.matches_uri(&"https://api.example.com/v1".parse().unwrap()));
    /// assert!(!allow.matches_uri(&"https://cdn.example.org/lib.js".parse().unwrap()));
    /// // Without case, as Sentry 11 compares.
    /// let allow = Allowlist::builder().sentry_targets(["/API/Orders"]).build()?;
    /// assert!(allow.matches_uri(&"https://shop.example/api/orders/7".parse().unwrap()));
    /// # Ok::<(), tower_trace_context::AllowlistError>(())
    /// ```
    pub fn sentry_targets<P: Into<Pattern>>(
        mut self,
        targets: impl IntoIterator<Item = P>,
    ) -> Self {
        for target in targets {
            self = match target.into() {
                Pattern::Text(text) => self.push(Pending::SubstringIgnoreCase(text)),
                #[cfg(feature = "regex")]
                Pattern::Regex(pattern) => {
                    self.push(Pending::Regex(pattern, Mode::SearchIgnoreCase))
                }
            };
        }
        self
    }

    /// Adds OpenTelemetry JS's (and Grafana Faro's)
    /// `propagateTraceHeaderCorsUrls`, pasted from the browser config, with
    /// its semantics: a string matches when it **equals** the URL
    /// ([`exact_url`](Self::exact_url)), a regex when it matches
    /// **anywhere** in it ([`regex_search`](Self::regex_search)).
    ///
    /// **Leak risk**: an unanchored regex such as `api\.example\.com` also
    /// matches a third-party URL that carries it in its query; anchor it
    /// with `^https://`.
    ///
    /// Where it differs from OpenTelemetry JS: the browser also propagates to
    /// every same-origin URL, which has no server-side meaning; and the URL
    /// compared here is the normalised one (see [`Allowlist`]), which is
    /// what the browser's `URL.href` gives, except that a host's trailing
    /// dot is dropped here.
    ///
    /// ```
    /// use tower_trace_context::client::{Allowlist, Pattern};
    /// // propagateTraceHeaderCorsUrls: ["http://localhost:8080/api", /^https:\/\/api\.example\.com\//]
    /// let allow = Allowlist::builder()
    ///     .propagate_trace_header_cors_urls([
    ///         Pattern::from("http://localhost:8080/api"),
    ///         Pattern::regex(r"^https:\/\/api\.example\.com\/"),
    ///     ])
    ///     .build()?;
    /// assert!(allow.matches_uri(&"http://localhost:8080/api".parse().unwrap()));
    /// assert!(!allow.matches_uri(&"http://localhost:8080/api/x".parse().unwrap()));
    /// assert!(allow.matches_uri(&"https://api.example.com/v1".parse().unwrap()));
    /// # Ok::<(), tower_trace_context::AllowlistError>(())
    /// ```
    pub fn propagate_trace_header_cors_urls<P: Into<Pattern>>(
        mut self,
        urls: impl IntoIterator<Item = P>,
    ) -> Self {
        for url in urls {
            self = match url.into() {
                Pattern::Text(text) => self.exact_url(text),
                #[cfg(feature = "regex")]
                Pattern::Regex(pattern) => self.regex_search(pattern),
            };
        }
        self
    }

    /// Allows URLs for which `f` returns true.
    ///
    /// ```
    /// # use tower_trace_context::client::Allowlist;
    /// let allow = Allowlist::builder().predicate(|url| url.port() == Some(7777)).build()?;
    /// assert!(allow.matches_uri(&"http://127.0.0.1:7777/".parse().unwrap()));
    /// # Ok::<(), tower_trace_context::AllowlistError>(())
    /// ```
    pub fn predicate<F>(self, f: F) -> Self
    where
        F: Fn(&UrlParts<'_>) -> bool + Send + Sync + 'static,
    {
        self.push(Pending::Predicate(Arc::new(f)))
    }

    /// Checks every rule. No rules: an allowlist that allows nothing.
    pub fn build(self) -> Result<Allowlist, AllowlistError> {
        let mut rules = self
            .pending
            .into_iter()
            .map(compile)
            .collect::<Result<Vec<_>, _>>()?;
        // All substring rules in one pass over the URL, all exact URLs in
        // one rule.
        let (mut needles, mut folded, mut exact) = (Vec::new(), Vec::new(), Vec::new());
        rules.retain(|rule| match rule {
            Rule::Substrings(set) => {
                match set.ignore_case {
                    true => folded.extend(set.needles.iter().cloned()),
                    false => needles.extend(set.needles.iter().cloned()),
                }
                false
            }
            Rule::ExactUrls(urls) => {
                exact.extend(urls.iter().cloned());
                false
            }
            _ => true,
        });
        if !exact.is_empty() {
            rules.push(Rule::ExactUrls(exact.into()));
        }
        if !needles.is_empty() {
            rules.push(Rule::Substrings(Box::new(Substrings::new(needles, false))));
        }
        if !folded.is_empty() {
            rules.push(Rule::Substrings(Box::new(Substrings::new(folded, true))));
        }
        rules.sort_by_key(Rule::cost);
        Ok(Allowlist {
            rules: rules.into(),
        })
    }
}

/// Checks a host: a DNS name (letters, digits, `-`, `_`, `.`) or a
/// bracketed IPv6 literal; returns it lowercase without a trailing dot.
fn normalize_host(host: &str) -> Option<Box<str>> {
    let host = trim_dot(host);
    let ok = if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        !inner.is_empty()
            && inner
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
    } else {
        !host.is_empty()
            && !host.starts_with('.')
            && !host.contains("..")
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    };
    ok.then(|| host.to_ascii_lowercase().into_boxed_str())
}

/// Scheme, host, port and path of a configured URL, normalised.
type ParsedUrl = (Box<str>, Box<str>, u16, Box<str>);

/// Parses `scheme://host[:port]` plus a path, rejecting userinfo, query and
/// fragment.
fn parse_origin_and_path(rule: &str) -> Result<ParsedUrl, &'static str> {
    if rule.contains('#') {
        return Err("has a fragment");
    }
    let uri: Uri = rule.parse().map_err(|_| "not a URL")?;
    let scheme = uri.scheme_str().ok_or("no scheme")?;
    let authority = uri.authority().ok_or("no host")?;
    if authority.as_str().contains('@') {
        return Err("has userinfo");
    }
    if uri.query().is_some() {
        return Err("has a query");
    }
    let host = normalize_host(authority.host()).ok_or("invalid host")?;
    let port = uri
        .port_u16()
        .or_else(|| default_port(scheme))
        .ok_or("no port and no default port for this scheme")?;
    Ok((
        scheme.to_ascii_lowercase().into_boxed_str(),
        host,
        port,
        uri.path().into(),
    ))
}

fn compile(pending: Pending) -> Result<Rule, AllowlistError> {
    Ok(match pending {
        Pending::Origin(rule) => {
            let (scheme, host, port, path) =
                parse_origin_and_path(&rule).map_err(|reason| AllowlistError::InvalidOrigin {
                    rule: rule.clone(),
                    reason,
                })?;
            if !(path.is_empty() || &*path == "/") {
                return Err(AllowlistError::InvalidOrigin {
                    rule,
                    reason: "has a path",
                });
            }
            Rule::Origin { scheme, host, port }
        }
        Pending::Host(rule) => {
            Rule::Host(normalize_host(&rule).ok_or(AllowlistError::InvalidHost { rule })?)
        }
        Pending::HostSuffix(rule) => {
            let (apex, bare) = match rule.strip_prefix('.') {
                Some(bare) => (false, bare),
                None => (true, rule.as_str()),
            };
            let suffix = normalize_host(bare)
                .filter(|s| !s.starts_with('['))
                .ok_or_else(|| AllowlistError::InvalidHost { rule: rule.clone() })?;
            Rule::HostSuffix { suffix, apex }
        }
        Pending::Prefix(rule) => {
            let (scheme, host, port, path) =
                parse_origin_and_path(&rule).map_err(|reason| AllowlistError::InvalidPrefix {
                    rule: rule.clone(),
                    reason,
                })?;
            let path = if path.is_empty() { "/".into() } else { path };
            Rule::Prefix {
                scheme,
                host,
                port,
                path,
            }
        }
        Pending::Network(network) => Rule::Network(network),
        Pending::ExactUrl(rule) => {
            let url = normalize_url(&rule)
                .map_err(|reason| AllowlistError::InvalidUrl { rule, reason })?;
            Rule::ExactUrls(Box::new([url]))
        }
        // Gathered into one `Rule::Substrings` by `build`; an empty
        // substring is in every URL.
        Pending::Substring(text) | Pending::SubstringIgnoreCase(text) if text.is_empty() => {
            Rule::All
        }
        Pending::Substring(text) => Rule::Substrings(Box::new(Substrings::new(
            vec![text.into_bytes().into()],
            false,
        ))),
        Pending::SubstringIgnoreCase(text) => Rule::Substrings(Box::new(Substrings::new(
            vec![text.into_bytes().into()],
            true,
        ))),
        #[cfg(feature = "regex")]
        Pending::Regex(rule, mode) => match RegexRule::new(&rule, mode) {
            Ok(compiled) => Rule::Regex(Box::new(compiled)),
            Err(error) => return Err(AllowlistError::InvalidRegex { rule, error }),
        },
        Pending::Predicate(f) => Rule::Predicate(f),
    })
}

/// A configured URL as text rules see URLs (see [`Allowlist`]).
fn normalize_url(rule: &str) -> Result<Box<str>, &'static str> {
    if rule.contains('#') {
        return Err("has a fragment");
    }
    let uri: Uri = rule.parse().map_err(|_| "not a URL")?;
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        return Err("has userinfo");
    }
    let parts = UrlParts::from_uri(&uri).ok_or("not an absolute URL")?;
    let url = NormalizedUrl::new(&parts);
    let mut buf = [0; MAX_REGEX_URL_LEN];
    let text = url
        .write_into(&mut buf)
        .ok_or("longer than MAX_REGEX_URL_LEN")?;
    // The parts were `str`s and only ASCII letters were lowercased.
    Ok(String::from_utf8_lossy(text).into())
}

#[cfg(test)]
mod tests;
