//! The fields of one list-valued header (`tracestate`, `baggage`), combined
//! in order without copying (RFC 9110 §5.3).

use http::{HeaderMap, HeaderName, HeaderValue};

/// Where the fields of a view live.
#[derive(Clone, Copy)]
pub(crate) enum Lines<'a> {
    /// One field (or none: an empty slice).
    One(&'a [u8]),
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
    /// The fields named `name` in `headers`: `None` when there are none.
    #[inline]
    pub(crate) fn of(headers: &'a HeaderMap, name: &'static HeaderName) -> Option<Self> {
        let mut fields = headers.get_all(name).iter();
        match (fields.next(), fields.next()) {
            (None, _) => None,
            (Some(one), None) => Some(Lines::One(one.as_bytes())),
            (Some(_), Some(_)) => Some(Lines::Map(headers, name)),
        }
    }

    pub(crate) fn iter(self) -> LineIter<'a> {
        match self {
            Lines::One(line) => LineIter::One(Some(line)),
            Lines::Map(map, name) => LineIter::Map(map.get_all(name).into_iter()),
            Lines::Strs(strs) => LineIter::Strs(strs.iter()),
        }
    }
}
