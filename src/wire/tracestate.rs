//! The `tracestate` header: a zero-allocation validating view over every
//! field of a request, and an owned list for outgoing use.

use std::fmt;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};

use crate::error::TraceStateError;
use crate::wire::headers::TRACESTATE_FIELD;
use crate::wire::lines::{LineIter, Lines};

/// At most this many list members (W3C Trace Context §3.3.1).
pub const MAX_TRACESTATE_MEMBERS: usize = 32;
/// Longest key and longest value, in characters.
const MAX_KEY_LEN: usize = 256;
const MAX_VALUE_LEN: usize = 256;
/// Default size limit when writing `tracestate`: at least 512 characters must survive.
pub const DEFAULT_TRACESTATE_LIMIT: usize = 512;
/// Members longer than this are dropped first when truncating.
const LONG_MEMBER: usize = 128;

const KEY_FIRST: u8 = 1;
const KEY_REST: u8 = 2;
const VALUE: u8 = 4;

/// Character classes of the Level 2 key and value grammars.
const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0x20;
    while b <= 0x7e {
        if b != b',' as usize && b != b'=' as usize {
            t[b] |= VALUE;
        }
        b += 1;
    }
    let mut b = b'a' as usize;
    while b <= b'z' as usize {
        t[b] |= KEY_FIRST | KEY_REST;
        b += 1;
    }
    let mut b = b'0' as usize;
    while b <= b'9' as usize {
        t[b] |= KEY_FIRST | KEY_REST;
        b += 1;
    }
    t[b'_' as usize] |= KEY_REST;
    t[b'-' as usize] |= KEY_REST;
    t[b'*' as usize] |= KEY_REST;
    t[b'/' as usize] |= KEY_REST;
    t[b'@' as usize] |= KEY_REST;
    t
};

/// One validated member of a field: where its key starts, where its `=`
/// is, where scanning resumes, and a cheap signature of the key (equal keys
/// have equal signatures; a collision only costs a byte comparison).
struct Scanned {
    start: usize,
    eq: usize,
    /// Where the value ends (before trailing OWS).
    end: usize,
    next: usize,
    signature: u64,
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;
const LOW7: u64 = !HIGH;

/// Eight bytes from `at`, little-endian: byte `k` in lane `k`.
#[inline]
fn load(line: &[u8], at: usize) -> Option<u64> {
    let chunk: [u8; 8] = line.get(at..at + 8)?.try_into().ok()?;
    Some(u64::from_le_bytes(chunk))
}

/// The last bytes of `line` from `at` (fewer than eight, maybe none),
/// followed by a `,` lane that ends the field, as one chunk: a member that
/// ends the field ends at that `,`.
#[inline]
fn tail(line: &[u8], at: usize) -> Option<u64> {
    let rest = line.get(at..)?;
    let mut lanes = [0u8; 8];
    lanes.get_mut(..rest.len())?.copy_from_slice(rest);
    *lanes.get_mut(rest.len())? = b',';
    Some(u64::from_le_bytes(lanes))
}

/// The high bit of every lane of `x` whose byte is `b` (exact: no carries
/// cross lanes).
#[inline]
fn lanes_eq(x: u64, b: u8) -> u64 {
    let v = x ^ (ONES * u64::from(b));
    !(((v & LOW7) + LOW7) | v) & HIGH
}

/// The high bit of every lane whose byte is below `n` (`n <= 0x80`; exact).
#[inline]
fn lanes_lt(x: u64, n: u8) -> u64 {
    let ge = ((x & LOW7) + ONES * u64::from(0x80 - n)) & HIGH;
    !(ge | x) & HIGH
}

/// The lanes below the lowest lane set in `mask` (all when none is).
#[inline]
fn lanes_before(mask: u64) -> u64 {
    match mask {
        0 => u64::MAX,
        // Whole lanes: the lowest set bit is the high bit of its lane.
        _ => (1u64 << (mask.trailing_zeros() & !7)) - 1,
    }
}

/// Lanes that are not key characters after the first: `a-z 0-9 _ - * / @`.
#[inline]
fn lanes_not_key(x: u64) -> u64 {
    let lower = lanes_lt(x, 0x7b) & !lanes_lt(x, b'a');
    // '/' is 0x2f, right before the digits.
    let digit_or_slash = lanes_lt(x, b'9' + 1) & !lanes_lt(x, b'/');
    let special = lanes_eq(x, b'_') | lanes_eq(x, b'-') | lanes_eq(x, b'*') | lanes_eq(x, b'@');
    !(lower | digit_or_slash | special) & HIGH
}

/// Lanes that are not value characters: below 0x20 (tabs included: a tab
/// is only OWS, which the slow path handles), 0x7f and above, or `=`.
#[inline]
fn lanes_not_value(x: u64) -> u64 {
    lanes_lt(x, 0x20) | (x & HIGH) | lanes_eq(x, 0x7f) | lanes_eq(x, b'=')
}

/// Scans and validates the next non-empty member of `line` from byte `i`.
/// `Ok(None)`: the field has no more members.
///
/// Eight bytes at a time where it can (SWAR over a `u64`): the key up to its
/// `=`, the value up to the next `,`. A lane that is not plainly valid (a
/// tab, a bad byte) sends the member to the byte-wise scan, which decides
/// and says which rule failed.
#[inline]
fn scan_member(line: &[u8], mut i: usize, index: u8) -> Result<Option<Scanned>, TraceStateError> {
    // List OWS and empty members.
    while let Some(b' ' | b'\t' | b',') = line.get(i) {
        i += 1;
    }
    let Some(&first) = line.get(i) else {
        return Ok(None);
    };
    if CLASS[first as usize] & KEY_FIRST == 0 {
        return Err(TraceStateError::InvalidKey { member: index });
    }
    let start = i;
    // The key: whole chunks until the one holding `=` or `,`.
    let mut j = start + 1;
    let mut signature = u64::from(first);
    let eq = loop {
        let Some(x) = load(line, j).or_else(|| tail(line, j)) else {
            return scan_member_bytewise(line, start, index);
        };
        let stop = lanes_eq(x, b'=') | lanes_eq(x, b',');
        let before = lanes_before(stop);
        if lanes_not_key(x) & before != 0 {
            return scan_member_bytewise(line, start, index);
        }
        signature = (signature.rotate_left(23) ^ (x & before)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        if stop != 0 {
            let at = j + (stop.trailing_zeros() / 8) as usize;
            if line.get(at) != Some(&b'=') || at - start > MAX_KEY_LEN {
                return scan_member_bytewise(line, start, index);
            }
            break at;
        }
        j += 8;
    };
    // The value: whole chunks until the one holding `,`; then trailing
    // spaces are OWS.
    let value_start = eq + 1;
    let mut j = value_start;
    let next = loop {
        let Some(x) = load(line, j).or_else(|| tail(line, j)) else {
            return scan_member_bytewise(line, start, index);
        };
        let comma = lanes_eq(x, b',');
        if lanes_not_value(x) & lanes_before(comma) != 0 {
            return scan_member_bytewise(line, start, index);
        }
        if comma != 0 {
            break (j + (comma.trailing_zeros() / 8) as usize).min(line.len());
        }
        j += 8;
    };
    let value = line.get(value_start..next).unwrap_or_default();
    let len = value.iter().rposition(|&b| b != b' ').map_or(0, |p| p + 1);
    if len == 0 || len > MAX_VALUE_LEN {
        return Err(TraceStateError::InvalidValue { member: index });
    }
    Ok(Some(Scanned {
        start,
        eq,
        end: value_start + len,
        next,
        signature: signature ^ (((eq - start) as u64) << 56),
    }))
}

/// The byte-wise scan of the member starting at `start` (its first byte
/// already checked): near the end of the field, and for members with tabs
/// or bad bytes. Computes the same signature as the chunked scan.
#[cold]
fn scan_member_bytewise(
    line: &[u8],
    start: usize,
    index: u8,
) -> Result<Option<Scanned>, TraceStateError> {
    let invalid_key = TraceStateError::InvalidKey { member: index };
    let mut bad = 0u8;
    let after_first = line.get(start + 1..).unwrap_or_default();
    let mut eq = None;
    for (j, &b) in after_first.iter().enumerate() {
        if b == b'=' || b == b',' {
            eq = (b == b'=').then_some(start + 1 + j);
            break;
        }
        bad |= !CLASS[b as usize] & KEY_REST;
    }
    let eq = eq.ok_or(TraceStateError::MissingEquals { member: index })?;
    if bad != 0 || eq - start > MAX_KEY_LEN {
        return Err(invalid_key);
    }
    // The value runs to the next ',' or the end of the field; trailing spaces
    // and tabs are OWS, leading spaces belong to the value, tabs elsewhere
    // are invalid.
    let value_start = eq + 1;
    let rest = line.get(value_start..).unwrap_or_default();
    let mut value_len = 0;
    let mut next = line.len();
    let mut tab = 0u8;
    for (j, &b) in rest.iter().enumerate() {
        match b {
            b',' => {
                next = value_start + j;
                break;
            }
            b' ' => {}
            b'\t' => tab = VALUE,
            _ => {
                bad |= (!CLASS[b as usize] & VALUE) | tab;
                value_len = j + 1;
            }
        }
    }
    let value_end = value_start + value_len;
    if bad != 0 || value_len == 0 || value_len > MAX_VALUE_LEN {
        return Err(TraceStateError::InvalidValue { member: index });
    }
    Ok(Some(Scanned {
        start,
        eq,
        end: value_end,
        next,
        signature: key_signature(line.get(start..eq).unwrap_or_default()),
    }))
}

/// The signature the chunked scan computes for a (valid) key: the first
/// byte, then the following bytes eight at a time, and the length.
fn key_signature(key: &[u8]) -> u64 {
    let Some((&first, rest)) = key.split_first() else {
        return 0;
    };
    let mut signature = u64::from(first);
    let mut chunks = rest.chunks(8);
    // The chunked scan folds every whole chunk it loads, and last the one
    // holding `=`, masked to the lanes before it (zero lanes when the key
    // ends on a chunk boundary).
    loop {
        let (word, last) = match chunks.next() {
            Some(chunk) => {
                let mut lanes = [0u8; 8];
                lanes[..chunk.len()].copy_from_slice(chunk);
                (u64::from_le_bytes(lanes), chunk.len() < 8)
            }
            None => (0, true),
        };
        signature = (signature.rotate_left(23) ^ word).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        if last {
            break;
        }
    }
    signature ^ ((key.len() as u64) << 56)
}

/// Checks the Level 2 key grammar.
#[inline]
pub(crate) fn valid_key(key: &[u8]) -> bool {
    match key.split_first() {
        Some((&first, rest)) => {
            key.len() <= MAX_KEY_LEN
                && CLASS[first as usize] & KEY_FIRST != 0
                && rest.iter().all(|&b| CLASS[b as usize] & KEY_REST != 0)
        }
        None => false,
    }
}

/// Checks the value grammar: 1..=256 printable ASCII except `,` and `=`,
/// not ending in a space.
#[inline]
pub(crate) fn valid_value(value: &[u8]) -> bool {
    let ok = value
        .iter()
        .fold(VALUE, |acc, &b| acc & CLASS[b as usize] & VALUE);
    ok != 0 && !value.is_empty() && value.len() <= MAX_VALUE_LEN && value.last() != Some(&b' ')
}

/// A validated, borrowed view of a `tracestate` spread over any number of
/// header fields. Creating and iterating it allocates nothing.
///
/// All fields are combined in order (RFC 9110 §5.3); empty members are
/// skipped; keys follow the Level 2 grammar; more than 32 members or any
/// invalid member discards the whole `tracestate`. A duplicate key is kept
/// once, at its first position.
///
/// ```
/// use http::HeaderMap;
/// use tower_trace_context::{TRACESTATE, TraceStateView};
///
/// let mut headers = HeaderMap::new();
/// headers.append(TRACESTATE, "congo=t61rcWkgMzE, rojo=00f067aa0ba902b7".parse()?);
/// headers.append(TRACESTATE, "tenant@vendor=1,congo=dup".parse()?);
/// let view = TraceStateView::from_headers(&headers)?;
/// let members: Vec<_> = view.iter().collect();
/// assert_eq!(
///     members,
///     [("congo", "t61rcWkgMzE"), ("rojo", "00f067aa0ba902b7"), ("tenant@vendor", "1")]
/// );
/// assert_eq!(view.get("rojo"), Some("00f067aa0ba902b7"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy)]
pub struct TraceStateView<'a> {
    pub(crate) lines: Lines<'a>,
    /// Members, counting duplicates.
    pub(crate) members: u8,
    /// Bit `i` set: member `i` repeats an earlier key.
    pub(crate) duplicates: u32,
    /// The fields, joined with `,`, are exactly the members joined with `,`:
    /// no OWS, no empty members, no duplicate keys.
    pub(crate) canonical: bool,
}

impl<'a> TraceStateView<'a> {
    /// A view with no members.
    ///
    /// ```
    /// # use tower_trace_context::TraceStateView;
    /// assert!(TraceStateView::empty().is_empty());
    /// ```
    #[must_use]
    pub const fn empty() -> Self {
        Self {
            lines: Lines::One(&[]),
            members: 0,
            duplicates: 0,
            canonical: false,
        }
    }

    /// Validates a single `tracestate` field value.
    ///
    /// ```
    /// # use tower_trace_context::{TraceStateError, TraceStateView};
    /// let view = TraceStateView::parse("foo=1 \t, bar= 2")?;
    /// assert_eq!(view.iter().collect::<Vec<_>>(), [("foo", "1"), ("bar", " 2")]);
    /// assert_eq!(TraceStateView::parse("foo"), Err(TraceStateError::MissingEquals { member: 0 }));
    /// # Ok::<(), TraceStateError>(())
    /// ```
    pub fn parse<S: AsRef<[u8]> + ?Sized>(field: &'a S) -> Result<Self, TraceStateError> {
        Self::validate(Lines::One(field.as_ref()))
    }

    /// Validates every `tracestate` field of `headers`, combined in order.
    /// A map without `tracestate` gives an empty view.
    ///
    /// ```
    /// # use http::HeaderMap;
    /// # use tower_trace_context::TraceStateView;
    /// assert!(TraceStateView::from_headers(&HeaderMap::new())?.is_empty());
    /// # Ok::<(), tower_trace_context::TraceStateError>(())
    /// ```
    pub fn from_headers(headers: &'a HeaderMap) -> Result<Self, TraceStateError> {
        match Lines::of(headers, &TRACESTATE_FIELD) {
            Some(lines) => Self::validate(lines),
            None => Ok(Self::empty()),
        }
    }

    /// Validates fields given as strings, combined in order (what an
    /// OpenTelemetry `Extractor::get_all` returns).
    ///
    /// ```
    /// # use tower_trace_context::TraceStateView;
    /// let fields = ["a=1", "b=2"];
    /// assert_eq!(TraceStateView::from_fields(&fields)?.len(), 2);
    /// # Ok::<(), tower_trace_context::TraceStateError>(())
    /// ```
    pub fn from_fields(fields: &'a [&'a str]) -> Result<Self, TraceStateError> {
        Self::validate(Lines::Strs(fields))
    }

    fn validate(lines: Lines<'a>) -> Result<Self, TraceStateError> {
        let mut signatures = [0u64; MAX_TRACESTATE_MEMBERS];
        // A 256-bit filter over the signatures: a key is compared with the
        // earlier ones only when its bit was already set, so the duplicate
        // check is linear in the common case (no repeated keys).
        let mut seen = [0u64; 4];
        let mut members = 0usize;
        let mut duplicates = 0u32;
        let mut canonical = true;
        for line in lines.iter() {
            let mut i = 0;
            // Where the next member starts in a canonical field.
            let mut expected = 0;
            while let Some(m) = scan_member(line, i, members.min(MAX_TRACESTATE_MEMBERS) as u8)? {
                if members == MAX_TRACESTATE_MEMBERS {
                    return Err(TraceStateError::TooManyMembers);
                }
                canonical &= m.start == expected && m.end == m.next;
                expected = m.next + 1;
                i = m.next;
                let slot = (m.signature.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as usize;
                let (word, bit) = (slot >> 6, 1u64 << (slot & 63));
                if seen[word] & bit != 0 {
                    let key = line.get(m.start..m.eq).unwrap_or_default();
                    for (earlier, &sig) in signatures[..members].iter().enumerate() {
                        if sig == m.signature
                            && duplicates & (1 << earlier) == 0
                            && nth_key(lines, earlier) == key
                        {
                            duplicates |= 1 << members;
                            break;
                        }
                    }
                }
                seen[word] |= bit;
                signatures[members] = m.signature;
                members += 1;
            }
            canonical &= expected == line.len() + 1;
        }
        Ok(Self {
            lines,
            members: members as u8,
            duplicates,
            canonical: canonical && duplicates == 0 && members > 0,
        })
    }

    /// Number of distinct keys.
    ///
    /// ```
    /// # use tower_trace_context::TraceStateView;
    /// assert_eq!(TraceStateView::parse("a=1,b=2,a=3")?.len(), 2);
    /// # Ok::<(), tower_trace_context::TraceStateError>(())
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        usize::from(self.members) - self.duplicates.count_ones() as usize
    }

    /// Whether there are no members.
    ///
    /// ```
    /// # use tower_trace_context::TraceStateView;
    /// assert!(TraceStateView::parse(" , ,\t")?.is_empty());
    /// # Ok::<(), tower_trace_context::TraceStateError>(())
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.members == 0
    }

    /// Iterates `(key, value)` pairs in order, each key once.
    ///
    /// ```
    /// # use tower_trace_context::TraceStateView;
    /// let view = TraceStateView::parse("a=1,b=2")?;
    /// assert_eq!(view.iter().next(), Some(("a", "1")));
    /// # Ok::<(), tower_trace_context::TraceStateError>(())
    /// ```
    #[must_use]
    pub fn iter(&self) -> TraceStateIter<'a> {
        TraceStateIter {
            lines: self.lines.iter(),
            rest: "",
            index: 0,
            duplicates: self.duplicates,
        }
    }

    /// The value of `key`, if present.
    ///
    /// ```
    /// # use tower_trace_context::TraceStateView;
    /// let view = TraceStateView::parse("a=1,b=2")?;
    /// assert_eq!(view.get("b"), Some("2"));
    /// assert_eq!(view.get("c"), None);
    /// # Ok::<(), tower_trace_context::TraceStateError>(())
    /// ```
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&'a str> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }
}

/// The key of member `n` of already validated fields (the rare path of
/// duplicate detection: only when two signatures match).
fn nth_key(lines: Lines<'_>, n: usize) -> &[u8] {
    let mut seen = 0;
    for line in lines.iter() {
        let mut i = 0;
        while let Ok(Some(m)) = scan_member(line, i, 0) {
            if seen == n {
                return line.get(m.start..m.eq).unwrap_or_default();
            }
            seen += 1;
            i = m.next;
        }
    }
    &[]
}

impl fmt::Debug for TraceStateView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl PartialEq for TraceStateView<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for TraceStateView<'_> {}

impl<'a> IntoIterator for TraceStateView<'a> {
    type Item = (&'a str, &'a str);
    type IntoIter = TraceStateIter<'a>;

    fn into_iter(self) -> TraceStateIter<'a> {
        self.iter()
    }
}

impl<'a> IntoIterator for &TraceStateView<'a> {
    type Item = (&'a str, &'a str);
    type IntoIter = TraceStateIter<'a>;

    fn into_iter(self) -> TraceStateIter<'a> {
        self.iter()
    }
}

/// Iterator over the `(key, value)` pairs of a [`TraceStateView`].
pub struct TraceStateIter<'a> {
    lines: LineIter<'a>,
    /// The rest of the current field; validated, so ASCII.
    rest: &'a str,
    index: u8,
    duplicates: u32,
}

impl<'a> Iterator for TraceStateIter<'a> {
    type Item = (&'a str, &'a str);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.rest.is_empty() {
                // Validated fields are ASCII: one UTF-8 check per field, and
                // members are then sliced out without further checks.
                self.rest = std::str::from_utf8(self.lines.next()?).unwrap_or_default();
                continue;
            }
            // The member runs to the next ',' and its key to the first '=',
            // both found eight bytes at a time.
            let bytes = self.rest.as_bytes();
            let (mut comma, mut eq) = (bytes.len(), None);
            let mut j = 0;
            while j < bytes.len() {
                let x = load(bytes, j).or_else(|| tail(bytes, j)).unwrap_or(0);
                let c = lanes_eq(x, b',');
                let e = lanes_eq(x, b'=') & lanes_before(c);
                if eq.is_none() && e != 0 {
                    eq = Some(j + (e.trailing_zeros() / 8) as usize);
                }
                if c != 0 {
                    comma = (j + (c.trailing_zeros() / 8) as usize).min(bytes.len());
                    break;
                }
                j += 8;
            }
            let member = self.rest.get(..comma).unwrap_or_default();
            self.rest = self.rest.get(comma + 1..).unwrap_or_default();
            let Some(eq) = eq else {
                continue; // an empty member
            };
            let index = self.index;
            self.index = self.index.saturating_add(1);
            if index < 32 && self.duplicates & (1 << index) != 0 {
                continue;
            }
            // Validated: OWS only before the key and after the value (a
            // value's leading spaces are its own).
            let ows = |b: &u8| *b == b' ' || *b == b'\t';
            let key_start = member.bytes().position(|b| !ows(&b)).unwrap_or(eq);
            let value_end = member.bytes().rposition(|b| !ows(&b)).map_or(eq, |p| p + 1);
            if let (Some(key), Some(value)) = (
                member.get(key_start..eq),
                member.get(eq + 1..value_end.max(eq + 1)),
            ) {
                return Some((key, value));
            }
        }
    }
}

impl fmt::Debug for TraceStateIter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TraceStateIter")
            .field("index", &self.index)
            .finish()
    }
}

/// An owned `tracestate` list for outgoing requests, with the W3C mutation
/// rules: an inserted or updated key moves to the left, a 33rd member drops
/// the right-most one, and writing truncates to a size limit.
///
/// ```
/// use tower_trace_context::OwnedTraceState;
///
/// let mut ts: OwnedTraceState = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE".parse()?;
/// ts.insert("congo", "ucfJifl5GOE")?;
/// assert_eq!(ts.to_string(), "congo=ucfJifl5GOE,rojo=00f067aa0ba902b7");
/// assert_eq!(ts.to_header_value().unwrap(), "congo=ucfJifl5GOE,rojo=00f067aa0ba902b7");
/// # Ok::<(), tower_trace_context::TraceStateError>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct OwnedTraceState {
    pub(crate) members: Vec<(String, String)>,
}

impl OwnedTraceState {
    /// An empty list.
    ///
    /// ```
    /// # use tower_trace_context::OwnedTraceState;
    /// assert!(OwnedTraceState::new().to_header_value().is_none());
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Copies a validated view.
    ///
    /// ```
    /// # use tower_trace_context::{OwnedTraceState, TraceStateView};
    /// let view = TraceStateView::parse("a=1,b=2")?;
    /// assert_eq!(OwnedTraceState::from_view(&view).len(), 2);
    /// # Ok::<(), tower_trace_context::TraceStateError>(())
    /// ```
    #[must_use]
    pub fn from_view(view: &TraceStateView<'_>) -> Self {
        Self {
            members: view
                .iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        }
    }

    /// Inserts or updates `key`, moving it to the left-most position. When
    /// this makes 33 members, the right-most is dropped and returned.
    ///
    /// ```
    /// # use tower_trace_context::{OwnedTraceState, TraceStateError};
    /// let mut ts = OwnedTraceState::new();
    /// for i in 0..32 {
    ///     ts.insert(format!("k{i}"), "v")?;
    /// }
    /// let dropped = ts.insert("new", "1")?;
    /// assert_eq!(dropped, Some(("k0".to_string(), "v".to_string())));
    /// assert_eq!(ts.iter().next(), Some(("new", "1")));
    /// assert_eq!(ts.insert("Bad", "1"), Err(TraceStateError::InvalidKey { member: 0 }));
    /// # Ok::<(), TraceStateError>(())
    /// ```
    pub fn insert(
        &mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Option<(String, String)>, TraceStateError> {
        let (key, value) = (key.into(), value.into());
        if !valid_key(key.as_bytes()) {
            return Err(TraceStateError::InvalidKey { member: 0 });
        }
        if !valid_value(value.as_bytes()) {
            return Err(TraceStateError::InvalidValue { member: 0 });
        }
        if let Some(pos) = self.members.iter().position(|(k, _)| *k == key) {
            self.members.remove(pos);
        }
        self.members.insert(0, (key, value));
        Ok(if self.members.len() > MAX_TRACESTATE_MEMBERS {
            self.members.pop()
        } else {
            None
        })
    }

    /// Removes `key`, returning its value.
    ///
    /// ```
    /// # use tower_trace_context::OwnedTraceState;
    /// let mut ts: OwnedTraceState = "a=1,b=2".parse()?;
    /// assert_eq!(ts.remove("a").as_deref(), Some("1"));
    /// assert_eq!(ts.to_string(), "b=2");
    /// # Ok::<(), tower_trace_context::TraceStateError>(())
    /// ```
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let pos = self.members.iter().position(|(k, _)| k == key)?;
        Some(self.members.remove(pos).1)
    }

    /// The value of `key`.
    ///
    /// ```
    /// # use tower_trace_context::OwnedTraceState;
    /// let ts: OwnedTraceState = "a=1".parse()?;
    /// assert_eq!(ts.get("a"), Some("1"));
    /// # Ok::<(), tower_trace_context::TraceStateError>(())
    /// ```
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&str> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// Iterates `(key, value)` left to right.
    ///
    /// ```
    /// # use tower_trace_context::OwnedTraceState;
    /// let ts: OwnedTraceState = "a=1,b=2".parse()?;
    /// assert_eq!(ts.iter().count(), 2);
    /// # Ok::<(), tower_trace_context::TraceStateError>(())
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + Clone + '_ {
        self.members.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Number of members.
    ///
    /// ```
    /// # use tower_trace_context::OwnedTraceState;
    /// assert_eq!(OwnedTraceState::new().len(), 0);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether the list is empty.
    ///
    /// ```
    /// # use tower_trace_context::OwnedTraceState;
    /// assert!(OwnedTraceState::new().is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Encodes with the default 512-character limit; `None` when empty (an
    /// empty `tracestate` is never sent).
    ///
    /// ```
    /// # use tower_trace_context::OwnedTraceState;
    /// let ts: OwnedTraceState = "a=1,b=2".parse()?;
    /// assert_eq!(ts.to_header_value().unwrap(), "a=1,b=2");
    /// # Ok::<(), tower_trace_context::TraceStateError>(())
    /// ```
    #[must_use]
    pub fn to_header_value(&self) -> Option<HeaderValue> {
        self.to_header_value_limited(DEFAULT_TRACESTATE_LIMIT)
    }

    /// Encodes, truncating to at most `limit` characters: members longer
    /// than 128 characters go first (right to left), then members from the
    /// right. `None` when nothing is left.
    ///
    /// ```
    /// # use tower_trace_context::OwnedTraceState;
    /// let long = "x".repeat(200);
    /// let ts: OwnedTraceState = format!("a=1,big={long},b=2").parse()?;
    /// assert_eq!(ts.to_header_value_limited(100).unwrap(), "a=1,b=2");
    /// assert_eq!(ts.to_header_value_limited(4).unwrap(), "a=1");
    /// assert!(ts.to_header_value_limited(2).is_none());
    /// # Ok::<(), tower_trace_context::TraceStateError>(())
    /// ```
    #[must_use]
    pub fn to_header_value_limited(&self, limit: usize) -> Option<HeaderValue> {
        encode_members(|| self.iter(), limit)
    }
}

/// Writes `members` as one `tracestate` value of at most `limit` characters
/// (at most the first 32 members), or `None` when nothing is left.
///
/// One allocation: the value's bytes, handed to `HeaderValue` without a copy.
pub(crate) fn encode_members<'m, I>(members: impl Fn() -> I, limit: usize) -> Option<HeaderValue>
where
    I: Iterator<Item = (&'m str, &'m str)>,
{
    // The common case first, before zeroing the length table.
    members().next()?;
    let mut lens = [0usize; MAX_TRACESTATE_MEMBERS];
    let mut n = 0;
    for ((k, v), len) in members().zip(lens.iter_mut()) {
        *len = k.len() + 1 + v.len();
        n += 1;
    }
    if n == 0 {
        return None;
    }
    let mut keep: u32 = if n == 32 { u32::MAX } else { (1 << n) - 1 };
    let total = |keep: u32| {
        let (sum, count) = (0..n)
            .filter(|i| keep & (1 << i) != 0)
            .fold((0, 0), |(sum, count), i| (sum + lens[i], count + 1));
        sum + count.max(1) - 1
    };
    let mut size = total(keep);
    if size > limit {
        for i in (0..n).rev() {
            if size <= limit {
                break;
            }
            if lens[i] > LONG_MEMBER {
                keep &= !(1 << i);
                size = total(keep);
            }
        }
        for i in (0..n).rev() {
            if size <= limit || keep == 0 {
                break;
            }
            if keep & (1 << i) != 0 {
                keep &= !(1 << i);
                size = total(keep);
            }
        }
    }
    if keep == 0 {
        return None;
    }
    let mut buf = Vec::with_capacity(size);
    for (i, (k, v)) in members().take(n).enumerate() {
        if keep & (1 << i) != 0 {
            if !buf.is_empty() {
                buf.push(b',');
            }
            buf.extend_from_slice(k.as_bytes());
            buf.push(b'=');
            buf.extend_from_slice(v.as_bytes());
        }
    }
    HeaderValue::from_maybe_shared(Bytes::from(buf)).ok()
}

impl fmt::Display for OwnedTraceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (k, v)) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{k}={v}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for OwnedTraceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl std::str::FromStr for OwnedTraceState {
    type Err = TraceStateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TraceStateView::parse(s).map(|view| Self::from_view(&view))
    }
}

impl From<TraceStateView<'_>> for OwnedTraceState {
    fn from(view: TraceStateView<'_>) -> Self {
        Self::from_view(&view)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{CLASS, KEY_FIRST, TraceStateView, scan_member, scan_member_bytewise};

    /// Every member as `(start, eq, end, next, signature)`, or the error, by
    /// the chunked scan or by the byte-wise one alone.
    fn members(line: &[u8], chunked: bool) -> Result<Vec<[u64; 5]>, super::TraceStateError> {
        let mut out = Vec::new();
        let mut i = 0;
        loop {
            let m = match chunked {
                true => scan_member(line, i, 0)?,
                false => {
                    while let Some(b' ' | b'\t' | b',') = line.get(i) {
                        i += 1;
                    }
                    match line.get(i) {
                        None => None,
                        Some(&b) if CLASS[b as usize] & KEY_FIRST == 0 => {
                            return Err(super::TraceStateError::InvalidKey { member: 0 });
                        }
                        Some(_) => scan_member_bytewise(line, i, 0)?,
                    }
                }
            };
            let Some(m) = m else { return Ok(out) };
            let [start, eq, end, next] = [m.start, m.eq, m.end, m.next].map(|n| n as u64);
            out.push([start, eq, end, next, m.signature]);
            i = m.next;
        }
    }

    /// Bytes drawn mostly from the tracestate alphabet.
    fn near_tracestate() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![
                8 => proptest::sample::select(b"abz09_-*/@=, \tXY~".to_vec()),
                1 => any::<u8>(),
            ],
            0..90,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5000))]

        /// Iteration agrees with splitting by hand: members between
        /// commas, OWS trimmed, key before the first `=`, the first of
        /// duplicate keys.
        #[test]
        fn iteration_agrees_with_splitting(line in near_tracestate()) {
            if let Ok(view) = TraceStateView::parse(&line) {
                let text = std::str::from_utf8(&line).unwrap();
                let mut expected: Vec<(&str, &str)> = Vec::new();
                for member in text.split(',') {
                    let member = crate::wire::lines::trim_ows(member);
                    let Some((k, v)) = member.split_once('=') else { continue };
                    if !expected.iter().any(|(key, _)| *key == k) {
                        expected.push((k, v));
                    }
                }
                prop_assert_eq!(view.iter().collect::<Vec<_>>(), expected);
            }
        }

        /// The chunked (SWAR) scan agrees with the byte-wise one on every
        /// input: same members, same positions, same signatures, same error.
        #[test]
        fn chunked_scan_agrees_with_the_bytewise_scan(line in near_tracestate()) {
            prop_assert_eq!(members(&line, true), members(&line, false));
        }
    }

    /// `canonical`: the value can be passed on as it is.
    #[test]
    fn canonical_means_the_value_is_its_members_joined() {
        for (value, canonical) in [
            ("a=1", true),
            ("a=1,b= 2", true),
            ("a=1,b=2,a=3", false),
            ("a=1 ", false),
            (" a=1", false),
            ("a=1,,b=2", false),
            ("a=1, b=2", false),
            ("a=1,b=2,", false),
            ("a=1\t,b=2", false),
            ("", false),
        ] {
            let view = TraceStateView::parse(value).unwrap();
            assert_eq!(view.canonical, canonical, "{value:?}");
        }
        let fields = ["a=1", "b=2"];
        assert!(TraceStateView::from_fields(&fields).unwrap().canonical);
        let fields = ["a=1", " ", "b=2"];
        assert!(!TraceStateView::from_fields(&fields).unwrap().canonical);
    }
}
