//! W3C Baggage: a zero-allocation validating view over every `baggage`
//! field of a request. The conversion to and from OpenTelemetry's
//! `Baggage` and the `TextMapPropagator` live in `propagation`.
//!
//! ```
//! use http::HeaderMap;
//! use opentelemetry::{Context, baggage::BaggageExt};
//! use tower_trace_context::{BAGGAGE, BaggageView, extract_baggage, inject_baggage};
//!
//! let mut incoming = HeaderMap::new();
//! incoming.insert(BAGGAGE, "userId=alice, serverNode=DF%2028;region=eu, sentry-sample_rate=0.5".parse()?);
//!
//! // Validate and read without allocating ...
//! let view = BaggageView::from_headers(&incoming)?;
//! let node = view.get("serverNode").unwrap();
//! assert_eq!((node.value(), node.decoded_value().as_ref(), node.properties()), ("DF%2028", "DF 28", "region=eu"));
//!
//! // ... or into the OpenTelemetry context, and out again.
//! let cx = extract_baggage(&Context::new(), &incoming);
//! assert_eq!(cx.baggage().get("userId").map(|v| v.as_str()), Some("alice"));
//! let mut outgoing = HeaderMap::new();
//! inject_baggage(&cx, &mut outgoing);
//! assert_eq!(BaggageView::from_headers(&outgoing)?.len(), 3);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::borrow::Cow;
use std::fmt;

use http::HeaderMap;

use crate::error::BaggageError;
use crate::wire::headers::BAGGAGE_FIELD;
use crate::wire::lines::{LineIter, Lines, trim_ows};

#[cfg(test)]
thread_local! {
    /// How many times this thread validated a `baggage` (tests check that a
    /// request's baggage is parsed once).
    pub(crate) static VALIDATIONS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// At most this many list members (W3C Baggage §3.3, limits).
pub const MAX_BAGGAGE_MEMBERS: usize = 64;
/// At most this many bytes in the combined `baggage` value (W3C Baggage
/// §3.3, limits).
pub const MAX_BAGGAGE_BYTES: usize = 8192;

pub(crate) const TCHAR: u8 = 1;
const HEX: u8 = 4;
/// A `baggage-octet` other than `%`.
pub(crate) const PLAIN: u8 = 8;

/// Character classes: RFC 9110 `tchar` (keys), W3C `baggage-octet`
/// (values), hex digits of a percent-encoded octet.
const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0x21;
    while b <= 0x7e {
        // baggage-octet: printable ASCII except DQUOTE, comma, semicolon
        // and backslash; `%` is checked apart, as it starts an encoded octet.
        let excluded = matches!(b as u8, b'"' | b',' | b';' | b'\\' | b'%');
        if !excluded {
            t[b] |= PLAIN;
        }
        let alnum = (b >= b'0' as usize && b <= b'9' as usize)
            || (b >= b'a' as usize && b <= b'z' as usize)
            || (b >= b'A' as usize && b <= b'Z' as usize);
        let special = matches!(
            b as u8,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        );
        if alnum || special {
            t[b] |= TCHAR;
        }
        let hex = (b >= b'0' as usize && b <= b'9' as usize)
            || (b >= b'a' as usize && b <= b'f' as usize)
            || (b >= b'A' as usize && b <= b'F' as usize);
        if hex {
            t[b] |= HEX;
        }
        b += 1;
    }
    t
};

#[inline]
pub(crate) fn class(b: u8) -> u8 {
    CLASS[usize::from(b)]
}

#[inline]
fn skip_ows(line: &[u8], i: usize) -> usize {
    let rest = line.get(i..).unwrap_or_default();
    i + rest
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(rest.len())
}

#[inline]
fn token_end(line: &[u8], i: usize) -> usize {
    let rest = line.get(i..).unwrap_or_default();
    i + rest
        .iter()
        .position(|&b| class(b) & TCHAR == 0)
        .unwrap_or(rest.len())
}

/// End of the value starting at `i`. A `%` must start a percent-encoded
/// octet (`%` and two hex digits).
#[inline]
fn value_end(line: &[u8], mut i: usize) -> Result<usize, ()> {
    loop {
        let rest = line.get(i..).unwrap_or_default();
        let stop = rest
            .iter()
            .position(|&b| class(b) & PLAIN == 0)
            .unwrap_or(rest.len());
        i += stop;
        match rest.get(stop..) {
            Some([b'%', hi, lo, ..]) if class(*hi) & class(*lo) & HEX != 0 => i += 3,
            Some([b'%', ..]) => return Err(()),
            _ => return Ok(i),
        }
    }
}

/// Scans and validates the next non-empty list member of `line` from byte
/// `i`, in one pass, and returns where scanning resumes. `Ok(None)`: the
/// field has no more members.
///
/// `list-member = key OWS "=" OWS value *( OWS ";" OWS property )`,
/// `property = key OWS "=" OWS value / key OWS` (W3C Baggage §3.2).
#[inline]
fn scan_member(line: &[u8], i: usize, member: u8) -> Result<Option<usize>, BaggageError> {
    // List OWS and empty list members (RFC 9110 §5.6.1).
    let mut i = i;
    while let Some(b' ' | b'\t' | b',') = line.get(i) {
        i += 1;
    }
    if i >= line.len() {
        return Ok(None);
    }
    let key_end = token_end(line, i);
    if key_end == i {
        return Err(BaggageError::InvalidKey { member });
    }
    i = skip_ows(line, key_end);
    match line.get(i) {
        Some(b'=') => i = skip_ows(line, i + 1),
        None | Some(b',' | b';') => return Err(BaggageError::MissingEquals { member }),
        Some(_) => return Err(BaggageError::InvalidKey { member }),
    }
    let end = value_end(line, i).map_err(|()| BaggageError::InvalidPercent { member })?;
    i = skip_ows(line, end);
    if line.get(i) == Some(&b';') {
        i = properties_end(line, skip_ows(line, i + 1))
            .map_err(|()| BaggageError::InvalidProperty { member })?;
    }
    match line.get(i) {
        None | Some(b',') => Ok(Some(i)),
        Some(_) => Err(BaggageError::InvalidValue { member }),
    }
}

/// Scans a property list (`property *( OWS ";" OWS property )`, property
/// `key` or `key OWS "=" OWS value`) from `i` to the `,` or the end that
/// follows it.
pub(crate) fn properties_end(line: &[u8], mut i: usize) -> Result<usize, ()> {
    loop {
        let key_end = token_end(line, i);
        if key_end == i {
            return Err(());
        }
        i = skip_ows(line, key_end);
        if line.get(i) == Some(&b'=') {
            i = skip_ows(line, value_end(line, skip_ows(line, i + 1))?);
        }
        match line.get(i) {
            Some(b';') => i = skip_ows(line, i + 1),
            None | Some(b',') => return Ok(i),
            Some(_) => return Err(()),
        }
    }
}

/// A validated, borrowed view of the W3C `baggage` spread over any number
/// of header fields. Creating and iterating it allocates nothing.
///
/// All fields are combined in order; empty list members are skipped; keys
/// are RFC 9110 tokens; values and property values are `baggage-octet`s
/// whose `%` always starts a percent-encoded octet; more than 64 members
/// or 8192 bytes, or any invalid member, rejects the whole `baggage` (the
/// trace context is unaffected). Members are kept in order, duplicates
/// included; [`get`](Self::get) and [`to_baggage`](Self::to_baggage) use a
/// key's first occurrence.
///
/// ```
/// use http::HeaderMap;
/// use tower_trace_context::{BAGGAGE, BaggageError, BaggageView};
///
/// let mut headers = HeaderMap::new();
/// headers.append(BAGGAGE, "a=1, b = 2 ;p1 ;p2=x".parse()?);
/// headers.append(BAGGAGE, "c=%E2%9C%93".parse()?);
/// let view = BaggageView::from_headers(&headers)?;
/// let members: Vec<_> = view.iter().map(|m| (m.key(), m.decoded_value().into_owned(), m.properties())).collect();
/// assert_eq!(members, [("a", "1".into(), ""), ("b", "2".into(), "p1 ;p2=x"), ("c", "✓".into(), "")]);
///
/// assert_eq!(BaggageView::parse("a=1,b=\"2\"").err(), Some(BaggageError::InvalidValue { member: 1 }));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy)]
pub struct BaggageView<'a> {
    pub(crate) lines: Lines<'a>,
    members: u8,
}

impl<'a> BaggageView<'a> {
    /// A view with no members.
    ///
    /// ```
    /// # use tower_trace_context::BaggageView;
    /// assert!(BaggageView::empty().is_empty());
    /// ```
    #[must_use]
    pub const fn empty() -> Self {
        Self {
            lines: Lines::One(&[]),
            members: 0,
        }
    }

    /// Validates a single `baggage` field value.
    ///
    /// ```
    /// # use tower_trace_context::{BaggageError, BaggageView};
    /// assert_eq!(BaggageView::parse("k=v;meta")?.len(), 1);
    /// assert_eq!(BaggageView::parse("k=%zz").err(), Some(BaggageError::InvalidPercent { member: 0 }));
    /// # Ok::<(), BaggageError>(())
    /// ```
    pub fn parse<S: AsRef<[u8]> + ?Sized>(field: &'a S) -> Result<Self, BaggageError> {
        Self::validate(Lines::One(field.as_ref()))
    }

    /// Validates every `baggage` field of `headers`, combined in order. A map
    /// without `baggage` gives an empty view.
    ///
    /// ```
    /// # use http::HeaderMap;
    /// # use tower_trace_context::BaggageView;
    /// assert!(BaggageView::from_headers(&HeaderMap::new())?.is_empty());
    /// # Ok::<(), tower_trace_context::BaggageError>(())
    /// ```
    pub fn from_headers(headers: &'a HeaderMap) -> Result<Self, BaggageError> {
        match Lines::of(headers, &BAGGAGE_FIELD) {
            Some(lines) => Self::validate(lines),
            None => Ok(Self::empty()),
        }
    }

    /// Validates fields given as strings, combined in order (what an
    /// OpenTelemetry `Extractor::get_all` returns).
    ///
    /// ```
    /// # use tower_trace_context::BaggageView;
    /// assert_eq!(BaggageView::from_fields(&["a=1", "b=2"])?.len(), 2);
    /// # Ok::<(), tower_trace_context::BaggageError>(())
    /// ```
    pub fn from_fields(fields: &'a [&'a str]) -> Result<Self, BaggageError> {
        Self::validate(Lines::Strs(fields))
    }

    fn validate(lines: Lines<'a>) -> Result<Self, BaggageError> {
        #[cfg(test)]
        VALIDATIONS.with(|n| n.set(n.get() + 1));
        // The size limit first: it also bounds the work below.
        let mut bytes = 0usize;
        for (n, line) in lines.iter().enumerate() {
            bytes += line.len() + usize::from(n > 0);
            if bytes > MAX_BAGGAGE_BYTES {
                return Err(BaggageError::TooLong);
            }
        }
        let mut members = 0usize;
        for line in lines.iter() {
            let mut i = 0;
            while let Some(next) = scan_member(line, i, members.min(MAX_BAGGAGE_MEMBERS) as u8)? {
                if members == MAX_BAGGAGE_MEMBERS {
                    return Err(BaggageError::TooManyMembers);
                }
                members += 1;
                i = next;
            }
        }
        Ok(Self {
            lines,
            members: members as u8,
        })
    }

    /// Number of list members (duplicates counted).
    ///
    /// ```
    /// # use tower_trace_context::BaggageView;
    /// assert_eq!(BaggageView::parse("a=1,,b=2")?.len(), 2);
    /// # Ok::<(), tower_trace_context::BaggageError>(())
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        usize::from(self.members)
    }

    /// Whether there are no members.
    ///
    /// ```
    /// # use tower_trace_context::BaggageView;
    /// assert!(BaggageView::parse(" , ")?.is_empty());
    /// # Ok::<(), tower_trace_context::BaggageError>(())
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.members == 0
    }

    /// Iterates the members in order.
    ///
    /// ```
    /// # use tower_trace_context::BaggageView;
    /// let view = BaggageView::parse("a=1,b=2")?;
    /// assert_eq!(view.iter().map(|m| m.key()).collect::<Vec<_>>(), ["a", "b"]);
    /// # Ok::<(), tower_trace_context::BaggageError>(())
    /// ```
    #[must_use]
    pub fn iter(&self) -> BaggageIter<'a> {
        BaggageIter {
            lines: self.lines.iter(),
            line: "",
            at: 0,
        }
    }

    /// The first member with key `key`.
    ///
    /// ```
    /// # use tower_trace_context::BaggageView;
    /// let view = BaggageView::parse("a=1,a=2")?;
    /// assert_eq!(view.get("a").map(|m| m.value()), Some("1"));
    /// assert!(view.get("b").is_none());
    /// # Ok::<(), tower_trace_context::BaggageError>(())
    /// ```
    #[must_use]
    pub fn get(&self, key: &str) -> Option<BaggageMember<'a>> {
        self.iter().find(|m| m.key == key)
    }
}

impl fmt::Debug for BaggageView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// One member of a [`BaggageView`], borrowed from the header.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct BaggageMember<'a> {
    pub(crate) key: &'a str,
    value: &'a str,
    pub(crate) properties: &'a str,
}

impl<'a> BaggageMember<'a> {
    /// The key.
    ///
    /// ```
    /// # use tower_trace_context::BaggageView;
    /// assert_eq!(BaggageView::parse(" k = v ")?.iter().next().unwrap().key(), "k");
    /// # Ok::<(), tower_trace_context::BaggageError>(())
    /// ```
    #[must_use]
    pub fn key(&self) -> &'a str {
        self.key
    }

    /// The value as written (percent-encoded, surrounding OWS removed).
    ///
    /// ```
    /// # use tower_trace_context::BaggageView;
    /// assert_eq!(BaggageView::parse("k=a%2Cb")?.iter().next().unwrap().value(), "a%2Cb");
    /// # Ok::<(), tower_trace_context::BaggageError>(())
    /// ```
    #[must_use]
    pub fn value(&self) -> &'a str {
        self.value
    }

    /// The value percent-decoded as UTF-8; octets that do not form UTF-8
    /// become U+FFFD (W3C Baggage §3.2.1.2). Borrowed when there is no `%`.
    ///
    /// ```
    /// # use std::borrow::Cow;
    /// # use tower_trace_context::BaggageView;
    /// let view = BaggageView::parse("a=plain,b=%F0%9F%90%BE,c=%FF")?;
    /// let decoded: Vec<_> = view.iter().map(|m| m.decoded_value()).collect();
    /// assert!(matches!(decoded[0], Cow::Borrowed("plain")));
    /// assert_eq!(decoded[1], "🐾");
    /// assert_eq!(decoded[2], "\u{FFFD}");
    /// # Ok::<(), tower_trace_context::BaggageError>(())
    /// ```
    #[must_use]
    pub fn decoded_value(&self) -> Cow<'a, str> {
        crate::wire::percent::percent_decode(self.value.as_bytes())
    }

    /// The properties as written, without the first `;` (empty when none),
    /// e.g. `p1;p2=x`.
    ///
    /// ```
    /// # use tower_trace_context::BaggageView;
    /// assert_eq!(BaggageView::parse("k=v;p1;p2=x")?.iter().next().unwrap().properties(), "p1;p2=x");
    /// # Ok::<(), tower_trace_context::BaggageError>(())
    /// ```
    #[must_use]
    pub fn properties(&self) -> &'a str {
        self.properties
    }
}

impl fmt::Debug for BaggageMember<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BaggageMember")
            .field("key", &self.key)
            .field("value", &self.value)
            .field("properties", &self.properties)
            .finish()
    }
}

/// Iterator over the members of a [`BaggageView`].
pub struct BaggageIter<'a> {
    lines: LineIter<'a>,
    /// The current field; validated, so ASCII.
    line: &'a str,
    at: usize,
}

impl fmt::Debug for BaggageIter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BaggageIter").finish_non_exhaustive()
    }
}

impl<'a> Iterator for BaggageIter<'a> {
    type Item = BaggageMember<'a>;

    #[inline]
    fn next(&mut self) -> Option<BaggageMember<'a>> {
        // The fields are validated, so members are found by their
        // delimiters alone: values and properties hold no ',' and values no
        // ';', keys no '='.
        loop {
            let rest = self.line.get(self.at..).unwrap_or_default();
            if rest.is_empty() {
                // Validated fields are ASCII: one UTF-8 check per field.
                self.line = std::str::from_utf8(self.lines.next()?).unwrap_or_default();
                self.at = 0;
                continue;
            }
            let comma = rest.bytes().position(|b| b == b',').unwrap_or(rest.len());
            self.at += comma + 1;
            let member = rest.get(..comma).unwrap_or_default();
            let Some(eq) = member.bytes().position(|b| b == b'=') else {
                continue; // an empty list member
            };
            let (key, after) = (
                member.get(..eq).unwrap_or_default(),
                member.get(eq + 1..).unwrap_or_default(),
            );
            let (value, properties) = match after.bytes().position(|b| b == b';') {
                Some(semi) => (
                    after.get(..semi).unwrap_or_default(),
                    after.get(semi + 1..).unwrap_or_default(),
                ),
                None => (after, ""),
            };
            return Some(BaggageMember {
                key: trim_ows(key),
                value: trim_ows(value),
                properties: trim_ows(properties),
            });
        }
    }
}
