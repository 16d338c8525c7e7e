//! The fields of one list-valued header (`tracestate`, `baggage`), combined
//! in order without copying (RFC 9110 §5.3).

use http::{HeaderMap, HeaderName, HeaderValue};

/// Where the fields of a view live.
#[derive(Clone, Copy)]
pub(crate) enum Lines<'a> {
    /// One field (or none: an empty slice).
    One(&'a [u8]),
    /// The one field of a header map (kept so it can be passed on without
    /// copying).
    Field(&'a HeaderValue),
    /// Several fields named `.1` of a header map.
    Map(&'a HeaderMap, &'static HeaderName),
    /// Several fields as strings (from an OpenTelemetry `Extractor`).
    Strs(&'a [&'a str]),
}

pub(crate) enum LineIter<'a> {
    One(Option<&'a [u8]>),
    Map(http::header::ValueIter<'a, HeaderValue>),
    Strs(std::slice::Iter<'a, &'a str>),
}

impl<'a> Iterator for LineIter<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        match self {
            LineIter::One(line) => line.take(),
            LineIter::Map(values) => values.next().map(HeaderValue::as_bytes),
            LineIter::Strs(strs) => strs.next().map(|s| s.as_bytes()),
        }
    }
}

impl<'a> Lines<'a> {
    /// The one field these lines are, when they are a header map's only
    /// field.
    pub(crate) fn field(self) -> Option<&'a HeaderValue> {
        match self {
            Lines::Field(value) => Some(value),
            _ => None,
        }
    }

    /// The fields named `name` in `headers`: `None` when there are none.
    #[inline]
    pub(crate) fn of(headers: &'a HeaderMap, name: &'static HeaderName) -> Option<Self> {
        let mut fields = headers.get_all(name).iter();
        match (fields.next(), fields.next()) {
            (None, _) => None,
            (Some(one), None) => Some(Lines::Field(one)),
            (Some(_), Some(_)) => Some(Lines::Map(headers, name)),
        }
    }

    pub(crate) fn iter(self) -> LineIter<'a> {
        match self {
            Lines::One(line) => LineIter::One(Some(line)),
            Lines::Field(value) => LineIter::One(Some(value.as_bytes())),
            Lines::Map(map, name) => LineIter::Map(map.get_all(name).into_iter()),
            Lines::Strs(strs) => LineIter::Strs(strs.iter()),
        }
    }
}

/// `src` without leading and trailing spaces and tabs (HTTP OWS).
#[inline]
pub(crate) fn trim_ows_bytes(mut src: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = src {
        src = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = src {
        src = rest;
    }
    src
}

/// [`trim_ows_bytes`] of a `str` (byte-wise: faster than
/// `str::trim_matches` with a `char` pattern).
#[inline]
pub(crate) fn trim_ows(s: &str) -> &str {
    let trimmed = trim_ows_bytes(s.as_bytes());
    // OWS is ASCII, so the trimmed bytes start and end on char boundaries.
    let start = trimmed.as_ptr() as usize - s.as_ptr() as usize;
    s.get(start..start + trimmed.len()).unwrap_or_default()
}
