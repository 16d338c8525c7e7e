//! The URL an allowlist looks at: borrowed parts, and the normalised text
//! the text rules match.

use std::fmt;

use http::Uri;

/// The parts of a request URL an [`Allowlist`](super::Allowlist) looks at, borrowed (no
/// userinfo, no fragment).
///
/// ```
/// use tower_trace_context::client::UrlParts;
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
    /// # use tower_trace_context::client::UrlParts;
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
        // Host and port split as the `http` crate splits them (what hyper
        // connects to): after the last `@`, a bracketed IPv6 literal or
        // everything up to the first `:`; then nothing, or `:` and a decimal
        // port. Any other authority (`evil.test:1[x].svc.local:443`,
        // `[::1]x:8080`) gives `None`: the allowlist must never judge a
        // host other than the one the request goes to.
        let authority = uri.authority()?.as_str();
        let host_port = match authority.rfind('@') {
            Some(at) => authority.get(at + 1..)?,
            None => authority,
        };
        let split = if host_port.starts_with('[') {
            host_port.find(']')? + 1
        } else {
            host_port.find(':').unwrap_or(host_port.len())
        };
        let (host, rest) = (host_port.get(..split)?, host_port.get(split..)?);
        let port = match rest {
            "" => None,
            ":" => None,
            rest => {
                let digits = rest.strip_prefix(':')?;
                if !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                Some(digits.parse().ok()?)
            }
        };
        if host.is_empty() {
            return None;
        }
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
            // `url` leaves out a special scheme's default port (`wss://a:443`
            // has none), which for `ws`/`wss` this crate does not assume.
            port: match url.scheme() {
                "http" | "https" => url.port(),
                _ => url.port_or_known_default(),
            },
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

    /// The explicit port, or the port a connector uses for the scheme: 80
    /// for `http`, 443 for `https`. Other schemes (`ws`, `wss`, ...) have
    /// none here: hyper-util's connector uses 80 for every scheme but
    /// `https`, a WebSocket client uses 443 for `wss`, so a rule with a port
    /// can only be sure of an explicit one.
    ///
    /// ```
    /// # use tower_trace_context::client::UrlParts;
    /// assert_eq!(UrlParts::new("wss", "a.example", None, "/", None).port_or_default(), None);
    /// assert_eq!(UrlParts::new("wss", "a.example", Some(443), "/", None).port_or_default(), Some(443));
    /// ```
    #[must_use]
    pub fn port_or_default(&self) -> Option<u16> {
        self.port.or_else(|| default_port(self.scheme))
    }

    /// Whether both name the same host: without case, and with the trailing
    /// dot of a name dropped (not of a host ending in a number, which a
    /// connector resolves as a name).
    ///
    /// ```
    /// # use tower_trace_context::client::UrlParts;
    /// let a = UrlParts::new("http", "Orders.internal.", None, "/", None);
    /// assert!(a.same_host(&UrlParts::new("http", "orders.internal", None, "/x", None)));
    /// let ip = UrlParts::new("http", "127.0.0.1.", None, "/", None);
    /// assert!(!ip.same_host(&UrlParts::new("http", "127.0.0.1", None, "/", None)));
    /// ```
    #[must_use]
    pub fn same_host(&self, other: &UrlParts<'_>) -> bool {
        trim_dot(self.host).eq_ignore_ascii_case(trim_dot(other.host))
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

/// The port every connector agrees on for `scheme`: 80 for `http`, 443 for
/// `https`. For `ws`/`wss` they do not (hyper-util's `HttpConnector`
/// connects to 80 for every scheme but `https`), so those have none.
pub(super) fn default_port(scheme: &str) -> Option<u16> {
    if scheme.eq_ignore_ascii_case("http") {
        Some(80)
    } else if scheme.eq_ignore_ascii_case("https") {
        Some(443)
    } else {
        None
    }
}

/// A host without its one optional trailing dot (a fully qualified name).
/// A host whose last label is a number (`127.0.0.1.`, `10.0.0.0x1.`) keeps
/// its dot: it is no IP literal, as a connector resolves it as a DNS name,
/// so neither an IP rule nor a host rule naming the IP may take it.
pub(super) fn trim_dot(host: &str) -> &str {
    match host.strip_suffix('.') {
        Some(name) if !ends_in_number(name) => name,
        _ => host,
    }
}

/// Whether the last label is a number (WHATWG URL's "ends in a number":
/// decimal digits, or `0x` and hex digits).
fn ends_in_number(host: &str) -> bool {
    let last = host.rsplit('.').next().unwrap_or(host);
    let hex = last
        .strip_prefix("0x")
        .or_else(|| last.strip_prefix("0X"))
        .is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
    hex || (!last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()))
}

/// `rule` is stored lowercase; most hosts are lowercase too, so try a plain
/// comparison first.
/// `host` has had its trailing dot trimmed.
pub(super) fn host_eq(host: &str, rule: &str) -> bool {
    host.len() == rule.len() && (host == rule || host.eq_ignore_ascii_case(rule))
}

/// Longest URL a text rule (exact URL, substring, regex) is matched against:
/// the normalised URL is written into a stack buffer of this size, and a
/// longer URL never matches a text rule.
pub const MAX_REGEX_URL_LEN: usize = 2048;

/// A URL as text rules see it, normalised: scheme and host lowercase, the
/// host's trailing dot dropped, the scheme's default port dropped, an empty
/// path written `/`; no userinfo, no fragment. A view over the URL's parts
/// (nothing is copied): the parts are lowercased as they are read.
pub(super) struct NormalizedUrl<'a> {
    scheme: &'a [u8],
    host: &'a [u8],
    port: [u8; 6],
    port_start: usize,
    path: &'a [u8],
    query: Option<&'a [u8]>,
    len: usize,
}

impl<'a> NormalizedUrl<'a> {
    pub(super) fn new(url: &UrlParts<'a>) -> Self {
        let port = url.port.filter(|&p| Some(p) != default_port(url.scheme));
        let mut digits = [0u8; 6];
        let port_start = digits.len() - port_bytes(port, &mut digits).len();
        let path: &[u8] = if url.path.is_empty() {
            b"/"
        } else {
            url.path.as_bytes()
        };
        let host = trim_dot(url.host).as_bytes();
        let query = url.query.map(str::as_bytes);
        let len = url.scheme.len()
            + 3
            + host.len()
            + (digits.len() - port_start)
            + path.len()
            + query.map_or(0, |q| q.len() + 1);
        Self {
            scheme: url.scheme.as_bytes(),
            host,
            port: digits,
            port_start,
            path,
            query,
            len,
        }
    }

    /// The length of the text, in bytes.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// The text's parts in order, each with whether it is read lowercased.
    pub(super) fn parts(&self) -> [(&[u8], bool); 7] {
        let (question, query): (&[u8], &[u8]) = match self.query {
            Some(q) => (b"?", q),
            None => (b"", b""),
        };
        [
            (self.scheme, true),
            (b"://", false),
            (self.host, true),
            (self.port.get(self.port_start..).unwrap_or_default(), false),
            (self.path, false),
            (question, false),
            (query, false),
        ]
    }

    /// Whether the text equals `other` (already normalised).
    pub(super) fn eq_text(&self, other: &[u8]) -> bool {
        if other.len() != self.len {
            return false;
        }
        let mut rest = other;
        for (part, lower) in self.parts() {
            let Some((head, tail)) = rest.split_at_checked(part.len()) else {
                return false;
            };
            let same = match lower {
                true => part
                    .iter()
                    .zip(head)
                    .all(|(a, b)| a.to_ascii_lowercase() == *b),
                false => part == head,
            };
            if !same {
                return false;
            }
            rest = tail;
        }
        true
    }

    /// The text written into `buf`; `None` when it does not fit.
    pub(super) fn write_into<'b>(&self, buf: &'b mut [u8]) -> Option<&'b mut [u8]> {
        let out = buf.get_mut(..self.len)?;
        let mut at = 0;
        for (part, lower) in self.parts() {
            let dst = out.get_mut(at..at + part.len())?;
            dst.copy_from_slice(part);
            if lower {
                dst.make_ascii_lowercase();
            }
            at += part.len();
        }
        Some(out)
    }
}

/// `:port` in decimal, written into `buf`; empty without a port.
fn port_bytes(port: Option<u16>, buf: &mut [u8; 6]) -> &[u8] {
    let Some(mut p) = port else { return &[] };
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
