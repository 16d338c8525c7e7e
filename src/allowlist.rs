//! Which URLs may receive trace context: the server-side twin of the browser
//! SDKs' `propagateTraceHeaderCorsUrls` (Faro, OpenTelemetry web) and
//! `tracePropagationTargets` (Sentry).

use regex_automata::Anchored;
use regex_automata::dfa::{Automaton, StartKind, dense};
use regex_automata::util::start;
use std::fmt;
use std::sync::Arc;

use http::Uri;

/// The parts of a request URL an [`Allowlist`] looks at, borrowed (no
/// userinfo, no fragment).
///
/// ```
/// use tower_trace_context::UrlParts;
/// let uri: http::Uri = "https://user:pw@API.example.com./v1/x?y=1".parse().unwrap();
/// let url = UrlParts::from_uri(&uri).unwrap();
/// assert_eq!(url.host(), "API.example.com.");
/// assert_eq!(url.port_or_default(), Some(443));
/// assert_eq!(url.to_string(), "https://API.example.com./v1/x?y=1");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UrlParts<'a> {
    scheme: &'a str,
    host: &'a str,
    port: Option<u16>,
    path: &'a str,
    query: Option<&'a str>,
}

impl<'a> UrlParts<'a> {
    /// Builds from parts (the host keeps IPv6 brackets, as in URLs).
    ///
    /// ```
    /// # use tower_trace_context::UrlParts;
    /// let url = UrlParts::new("http", "[::1]", Some(8080), "/", None);
    /// assert_eq!(url.to_string(), "http://[::1]:8080/");
    /// ```
    #[must_use]
    pub fn new(
        scheme: &'a str,
        host: &'a str,
        port: Option<u16>,
        path: &'a str,
        query: Option<&'a str>,
    ) -> Self {
        Self {
            scheme,
            host,
            port,
            path,
            query,
        }
    }

    /// The parts of an absolute `http::Uri`; `None` for a URI without
    /// scheme or host (which no allowlist rule matches).
    #[must_use]
    pub fn from_uri(uri: &'a Uri) -> Option<Self> {
        // One pass over the authority instead of `Uri::host` + `Uri::port_u16`,
        // which each parse it again.
        // Short strings: plain byte loops beat the generic `str` searchers.
        let authority = uri.authority()?.as_str();
        let bytes = authority.as_bytes();
        let host_port = match bytes.iter().rposition(|&b| b == b'@') {
            Some(at) => authority.get(at + 1..)?,
            None => authority,
        };
        let hp = host_port.as_bytes();
        let split = if hp.first() == Some(&b'[') {
            hp.iter().position(|&b| b == b']')? + 1
        } else {
            hp.iter().rposition(|&b| b == b':').unwrap_or(hp.len())
        };
        let (host, port) = (host_port.get(..split)?, host_port.get(split..)?);
        let port = match port.strip_prefix(':') {
            Some(digits) if !digits.is_empty() => Some(digits.parse().ok()?),
            _ => None,
        };
        Some(Self {
            scheme: uri.scheme_str()?,
            host,
            port,
            path: uri.path(),
            query: uri.query(),
        })
    }

    /// The parts of a `url::Url` as reqwest holds it.
    #[cfg(feature = "reqwest")]
    #[must_use]
    pub fn from_url(url: &'a reqwest::Url) -> Option<Self> {
        Some(Self {
            scheme: url.scheme(),
            host: url.host_str()?,
            port: url.port(),
            path: url.path(),
            query: url.query(),
        })
    }

    /// The scheme, as written.
    #[must_use]
    pub fn scheme(&self) -> &'a str {
        self.scheme
    }

    /// The host, as written (IPv6 literals keep their brackets).
    #[must_use]
    pub fn host(&self) -> &'a str {
        self.host
    }

    /// The explicit port, if any.
    #[must_use]
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The explicit port, or the scheme's default (`http`/`ws` 80,
    /// `https`/`wss` 443).
    #[must_use]
    pub fn port_or_default(&self) -> Option<u16> {
        self.port.or_else(|| default_port(self.scheme))
    }

    /// The path.
    #[must_use]
    pub fn path(&self) -> &'a str {
        self.path
    }

    /// The query, without `?`.
    #[must_use]
    pub fn query(&self) -> Option<&'a str> {
        self.query
    }
}

impl fmt::Display for UrlParts<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme, self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        f.write_str(self.path)?;
        if let Some(query) = self.query {
            write!(f, "?{query}")?;
        }
        Ok(())
    }
}

fn default_port(scheme: &str) -> Option<u16> {
    if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("ws") {
        Some(80)
    } else if scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("wss") {
        Some(443)
    } else {
        None
    }
}

/// A host without its one optional trailing dot (a fully qualified name).
fn trim_dot(host: &str) -> &str {
    host.strip_suffix('.').unwrap_or(host)
}

/// `rule` is stored lowercase; most hosts are lowercase too, so try a plain
/// comparison first.
/// `host` has had its trailing dot trimmed.
fn host_eq(host: &str, rule: &str) -> bool {
    host.len() == rule.len() && (host == rule || host.eq_ignore_ascii_case(rule))
}

/// What every rule compares, worked out once per URL.
struct Prepared<'a> {
    /// The host without its trailing dot.
    host: &'a str,
    /// The explicit port, or the scheme's default.
    port: Option<u16>,
}

/// Why an allowlist could not be built.
///
/// ```
/// use tower_trace_context::{Allowlist, AllowlistError};
/// let err = Allowlist::builder().origin("https://a.example/path").build().unwrap_err();
/// assert!(matches!(err, AllowlistError::InvalidOrigin { .. }));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum AllowlistError {
    /// No rule was added; use [`Allowlist::all`] to allow every URL.
    Empty,
    /// Not `scheme://host[:port]` (no userinfo, path, query or fragment).
    InvalidOrigin {
        /// The rule as given.
        rule: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Not a host name or IP literal.
    InvalidHost {
        /// The rule as given.
        rule: String,
    },
    /// Not an absolute `scheme://host[:port]/path` URL prefix.
    InvalidPrefix {
        /// The rule as given.
        rule: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The regex does not compile.
    InvalidRegex {
        /// The rule as given.
        rule: String,
        /// The regex crate's error.
        error: regex::Error,
    },
}

impl fmt::Display for AllowlistError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => {
                f.write_str("allowlist has no rules (use Allowlist::all() to allow every URL)")
            }
            Self::InvalidOrigin { rule, reason } => write!(f, "invalid origin {rule:?}: {reason}"),
            Self::InvalidHost { rule } => write!(f, "invalid host {rule:?}"),
            Self::InvalidPrefix { rule, reason } => {
                write!(f, "invalid URL prefix {rule:?}: {reason}")
            }
            Self::InvalidRegex { rule, error } => write!(f, "invalid regex {rule:?}: {error}"),
        }
    }
}

impl std::error::Error for AllowlistError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::InvalidRegex { error, .. } => Some(error),
            _ => None,
        }
    }
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
    Regex(Box<RegexRule>),
    Predicate(Predicate),
}

/// A compiled regex rule: a dense DFA run over the URL's parts in place
/// (no URL is assembled, no cache is taken from a pool) when the pattern's
/// DFA fits in [`DFA_SIZE_LIMIT`]; otherwise the `regex` crate on the URL
/// written into a stack buffer.
#[derive(Clone)]
struct RegexRule {
    dfa: Option<dense::DFA<Vec<u32>>>,
    re: regex::Regex,
}

/// Largest dense DFA built for a regex rule.
const DFA_SIZE_LIMIT: usize = 512 * 1024;

impl RegexRule {
    fn new(rule: &str) -> Result<Self, regex::Error> {
        // The rule must be a regex on its own: otherwise text such as
        // `a)|(?:b` would close the anchoring group below and escape it.
        regex::Regex::new(rule)?;
        let anchored = format!("^(?:{rule})$");
        let re = regex::Regex::new(&anchored)?;
        let dfa = dense::Builder::new()
            .configure(
                dense::Config::new()
                    .start_kind(StartKind::Anchored)
                    .dfa_size_limit(Some(DFA_SIZE_LIMIT))
                    .determinize_size_limit(Some(DFA_SIZE_LIMIT)),
            )
            .build(&anchored)
            .ok();
        Ok(Self { dfa, re })
    }

    /// Runs the DFA over `scheme://host[:port]path[?query]`, part by part.
    fn dfa_matches(dfa: &dense::DFA<Vec<u32>>, url: &UrlParts<'_>) -> bool {
        let Ok(mut state) = dfa.start_state(&start::Config::new().anchored(Anchored::Yes)) else {
            return false;
        };
        let mut port = [0u8; 6];
        let port = port_bytes(url.port, &mut port);
        let query: &[u8] = url.query.map_or(&[], str::as_bytes);
        let parts: [&[u8]; 7] = [
            url.scheme.as_bytes(),
            b"://",
            url.host.as_bytes(),
            port,
            url.path.as_bytes(),
            if url.query.is_some() { b"?" } else { b"" },
            query,
        ];
        if parts.iter().map(|p| p.len()).sum::<usize>() > MAX_REGEX_URL_LEN {
            return false;
        }
        for part in parts {
            for &b in part {
                state = dfa.next_state(state, b);
            }
            if dfa.is_dead_state(state) {
                return false;
            }
        }
        dfa.is_match_state(dfa.next_eoi_state(state))
    }

    // Out of line: keeps the loop over the cheap rules small.
    #[inline(never)]
    fn matches(
        &self,
        url: &UrlParts<'_>,
        full: &mut Option<Option<([u8; MAX_REGEX_URL_LEN], usize)>>,
    ) -> bool {
        if let Some(dfa) = &self.dfa {
            return Self::dfa_matches(dfa, url);
        }
        let full = full.get_or_insert_with(|| write_url(url));
        match full {
            Some((buf, len)) => buf
                .get(..*len)
                .and_then(|b| std::str::from_utf8(b).ok())
                .is_some_and(|s| self.re.is_match(s)),
            None => false,
        }
    }
}

/// `:port` in decimal, written into `buf`; empty without a port.
fn port_bytes(port: Option<u16>, buf: &mut [u8; 6]) -> &[u8] {
    match port {
        Some(mut p) => {
            let mut i = buf.len();
            loop {
                i -= 1;
                buf[i] = b'0' + (p % 10) as u8;
                p /= 10;
                if p == 0 {
                    break;
                }
            }
            i -= 1;
            buf[i] = b':';
            buf.get(i..).unwrap_or_default()
        }
        None => &[],
    }
}

/// Writes `scheme://host[:port]path[?query]` into a stack buffer with plain
/// copies (no formatting machinery); `None` when it does not fit.
fn write_url(url: &UrlParts<'_>) -> Option<([u8; MAX_REGEX_URL_LEN], usize)> {
    let mut buf = [0u8; MAX_REGEX_URL_LEN];
    let mut len = 0;
    let mut port = [0u8; 6];
    let port = port_bytes(url.port, &mut port);
    let query: &[&[u8]] = match url.query {
        Some(q) => &[b"?", q.as_bytes()],
        None => &[],
    };
    let parts: [&[u8]; 5] = [
        url.scheme.as_bytes(),
        b"://",
        url.host.as_bytes(),
        port,
        url.path.as_bytes(),
    ];
    for part in parts.iter().chain(query) {
        buf.get_mut(len..len + part.len())?.copy_from_slice(part);
        len += part.len();
    }
    Some((buf, len))
}

/// Longest URL a regex rule is matched against (built in a stack buffer);
/// longer URLs never match a regex rule.
pub const MAX_REGEX_URL_LEN: usize = 2048;

impl Rule {
    fn matches(
        &self,
        url: &UrlParts<'_>,
        prepared: &Prepared<'_>,
        full: &mut Option<Option<([u8; MAX_REGEX_URL_LEN], usize)>>,
    ) -> bool {
        match self {
            Rule::All => true,
            Rule::Origin { scheme, host, port } => {
                prepared.port == Some(*port)
                    && host_eq(prepared.host, host)
                    && (url.scheme == &**scheme || url.scheme.eq_ignore_ascii_case(scheme))
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
                url.scheme.eq_ignore_ascii_case(scheme)
                    && host_eq(prepared.host, host)
                    && prepared.port == Some(*port)
                    && url.path.starts_with(&**path)
                    && (path.ends_with('/')
                        || url.path.len() == path.len()
                        || url.path.as_bytes().get(path.len()) == Some(&b'/'))
            }
            Rule::Regex(rule) => rule.matches(url, full),
            Rule::Predicate(f) => f(url),
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
            Rule::Regex(rule) => write!(f, "Regex({})", rule.re.as_str()),
            Rule::Predicate(_) => f.write_str("Predicate(Fn(&UrlParts) -> bool)"),
        }
    }
}

/// The URLs outgoing requests may carry trace context to. Built explicitly:
/// there is no default, so trace ids never reach a third party by accident.
///
/// Rules (any match allows):
/// - [`origin`](AllowlistBuilder::origin): exact scheme, host and port
///   (default ports normalised, host case-insensitive, trailing dot ignored);
/// - [`host`](AllowlistBuilder::host): exact host, any scheme and port;
/// - [`host_suffix`](AllowlistBuilder::host_suffix): a domain and its
///   subdomains on a label boundary (`.svc.cluster.local` matches
///   `orders.svc.cluster.local`, never `evilsvc.cluster.local`);
/// - [`url_prefix`](AllowlistBuilder::url_prefix): origin plus a path prefix
///   on a segment boundary (`/v1` matches `/v1` and `/v1/x`, not `/v10`);
/// - [`regex`](AllowlistBuilder::regex): a `regex` crate pattern (linear
///   time) that must match the whole `scheme://host[:port]/path[?query]`,
///   run as a dense DFA over the URL's parts in place (the `regex` crate
///   itself when the DFA would exceed 512 KiB);
/// - [`predicate`](AllowlistBuilder::predicate): any closure.
///
/// Userinfo never counts as the host (`https://api.example.com@evil.test/`
/// is `evil.test`). Matching allocates nothing (a regex rule too large for a
/// DFA allocates the `regex` crate's matching cache once per thread, on
/// first use).
///
/// ```
/// use tower_trace_context::{Allowlist, UrlParts};
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
    /// # use tower_trace_context::Allowlist;
    /// assert!(Allowlist::all().matches_uri(&"https://anything.example/".parse().unwrap()));
    /// ```
    #[must_use]
    pub fn all() -> Self {
        Self {
            rules: Arc::new([Rule::All]),
        }
    }

    /// Whether `url` may receive trace context.
    ///
    /// ```
    /// # use tower_trace_context::{Allowlist, UrlParts};
    /// let allow = Allowlist::builder().host("api.example.com").build()?;
    /// assert!(allow.matches(&UrlParts::new("http", "api.example.com", Some(81), "/", None)));
    /// # Ok::<(), tower_trace_context::AllowlistError>(())
    /// ```
    #[must_use]
    pub fn matches(&self, url: &UrlParts<'_>) -> bool {
        let mut full = None;
        let prepared = Prepared {
            host: trim_dot(url.host),
            port: url.port_or_default(),
        };
        self.rules
            .iter()
            .any(|rule| rule.matches(url, &prepared, &mut full))
    }

    /// Whether an absolute URI may receive trace context (a relative URI
    /// never does).
    ///
    /// ```
    /// # use tower_trace_context::Allowlist;
    /// let allow = Allowlist::all();
    /// assert!(!allow.matches_uri(&"/relative".parse().unwrap()));
    /// ```
    #[must_use]
    pub fn matches_uri(&self, uri: &Uri) -> bool {
        UrlParts::from_uri(uri).is_some_and(|url| self.matches(&url))
    }
}

enum Pending {
    Origin(String),
    Host(String),
    HostSuffix(String),
    Prefix(String),
    Regex(String),
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
    /// Allows one origin: `scheme://host[:port]`.
    ///
    /// ```
    /// # use tower_trace_context::Allowlist;
    /// let allow = Allowlist::builder().origin("https://api.example.com").build()?;
    /// assert!(allow.matches_uri(&"https://api.example.com:443/x".parse().unwrap()));
    /// assert!(!allow.matches_uri(&"http://api.example.com/x".parse().unwrap()));
    /// # Ok::<(), tower_trace_context::AllowlistError>(())
    /// ```
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.pending.push(Pending::Origin(origin.into()));
        self
    }

    /// Allows one host, on any scheme and port.
    ///
    /// ```
    /// # use tower_trace_context::Allowlist;
    /// let allow = Allowlist::builder().host("[::1]").build()?;
    /// assert!(allow.matches_uri(&"http://[::1]:9000/".parse().unwrap()));
    /// # Ok::<(), tower_trace_context::AllowlistError>(())
    /// ```
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.pending.push(Pending::Host(host.into()));
        self
    }

    /// Allows subdomains of a domain, on a label boundary. With a leading
    /// dot (`.example.com`) only subdomains match; without
    /// (`example.com`) the domain itself matches too.
    ///
    /// ```
    /// # use tower_trace_context::Allowlist;
    /// let allow = Allowlist::builder().host_suffix(".svc.cluster.local").build()?;
    /// assert!(allow.matches_uri(&"http://orders.svc.cluster.local/".parse().unwrap()));
    /// assert!(!allow.matches_uri(&"http://evilsvc.cluster.local/".parse().unwrap()));
    /// # Ok::<(), tower_trace_context::AllowlistError>(())
    /// ```
    pub fn host_suffix(mut self, suffix: impl Into<String>) -> Self {
        self.pending.push(Pending::HostSuffix(suffix.into()));
        self
    }

    /// Allows URLs under a prefix: same origin, and a path that equals the
    /// prefix's path or continues it after a `/`.
    ///
    /// ```
    /// # use tower_trace_context::Allowlist;
    /// let allow = Allowlist::builder().url_prefix("https://api.example.com/v1").build()?;
    /// assert!(allow.matches_uri(&"https://api.example.com/v1/orders".parse().unwrap()));
    /// assert!(!allow.matches_uri(&"https://api.example.com/v10".parse().unwrap()));
    /// # Ok::<(), tower_trace_context::AllowlistError>(())
    /// ```
    pub fn url_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.pending.push(Pending::Prefix(prefix.into()));
        self
    }

    /// Allows URLs whose whole `scheme://host[:port]/path[?query]` (no
    /// userinfo) matches `pattern` (anchored at both ends; compiled once,
    /// linear-time matching).
    ///
    /// ```
    /// # use tower_trace_context::Allowlist;
    /// let allow = Allowlist::builder().regex(r"https://[a-z]+\.example\.com/.*").build()?;
    /// assert!(allow.matches_uri(&"https://api.example.com/x".parse().unwrap()));
    /// // Anchored: a match inside the query does not count.
    /// assert!(!allow.matches_uri(&"https://evil.test/?https://api.example.com/".parse().unwrap()));
    /// # Ok::<(), tower_trace_context::AllowlistError>(())
    /// ```
    pub fn regex(mut self, pattern: impl Into<String>) -> Self {
        self.pending.push(Pending::Regex(pattern.into()));
        self
    }

    /// Allows URLs for which `f` returns true.
    ///
    /// ```
    /// # use tower_trace_context::Allowlist;
    /// let allow = Allowlist::builder().predicate(|url| url.port() == Some(7777)).build()?;
    /// assert!(allow.matches_uri(&"http://127.0.0.1:7777/".parse().unwrap()));
    /// # Ok::<(), tower_trace_context::AllowlistError>(())
    /// ```
    pub fn predicate<F>(mut self, f: F) -> Self
    where
        F: Fn(&UrlParts<'_>) -> bool + Send + Sync + 'static,
    {
        self.pending.push(Pending::Predicate(Arc::new(f)));
        self
    }

    /// Checks every rule.
    pub fn build(self) -> Result<Allowlist, AllowlistError> {
        if self.pending.is_empty() {
            return Err(AllowlistError::Empty);
        }
        let mut rules = self
            .pending
            .into_iter()
            .map(compile)
            .collect::<Result<Vec<_>, _>>()?;
        // Any match allows, so order does not change the answer: check the
        // cheap comparisons before regexes and closures.
        rules.sort_by_key(|rule| matches!(rule, Rule::Regex(_) | Rule::Predicate(_)));
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

/// Parses `scheme://host[:port]` plus a path, rejecting userinfo, query and
/// fragment.
/// Scheme, host, port and path of a configured URL, normalised.
type ParsedUrl = (Box<str>, Box<str>, u16, Box<str>);

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
        Pending::Regex(rule) => {
            let compiled = RegexRule::new(&rule)
                .map_err(|error| AllowlistError::InvalidRegex { rule, error })?;
            Rule::Regex(Box::new(compiled))
        }
        Pending::Predicate(f) => Rule::Predicate(f),
    })
}
