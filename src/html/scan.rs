//! Finds the end of the opening `<head ...>` tag in a stream of bytes.
//!
//! A byte-at-a-time subset of the HTML tokenizer (WHATWG HTML §13.2.5):
//! start and end tags with their attributes (quoted, unquoted, `=` where
//! a name is expected), comments (`<!-- -->`, `<!-->`, `--!>`), bogus
//! comments (`<!doctype ...>`, `<?...>`, `</ ...>`), and the raw text of
//! `script`, `style`, `title`, `textarea`, `xmp`, `iframe`, `noembed`,
//! `noframes` and `noscript`, which ends only at its own end tag. So a
//! `<head>` inside a comment, an attribute value or a script is not the
//! head. Simplifications: script data's escape states (`<!--` inside a
//! script) are not tracked, and tree construction is not modelled (a
//! `<head>` after body content would be ignored by a browser; the tags
//! still land in the document). After `<plaintext>` nothing is a tag.

/// Elements whose content is raw text, ending only at their end tag.
const RAW_TEXT: [&[u8]; 9] = [
    b"script",
    b"style",
    b"title",
    b"textarea",
    b"xmp",
    b"iframe",
    b"noembed",
    b"noframes",
    b"noscript",
];

/// Longest tag name worth remembering (`plaintext`, `noframes`).
const NAME_MAX: usize = 9;

/// What a tag being read will do when it closes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// `<head ...>`: the insertion point follows it.
    Head,
    /// The start tag of [`RAW_TEXT`]`[i]`.
    Raw(u8),
    /// `<plaintext>`: the rest of the document is text.
    Plaintext,
    /// Any other tag, or an end tag.
    Other,
}

/// Where the scanner is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Scan {
    /// Text, looking for `<`.
    Text,
    /// After `<`.
    TagOpen,
    /// After `</`.
    EndTagOpen,
    /// In a tag name: its first `len` bytes lowercase (`len` past
    /// [`NAME_MAX`]: a name of no interest).
    TagName {
        end: bool,
        name: [u8; NAME_MAX],
        len: u8,
    },
    BeforeAttrName(Kind),
    AttrName(Kind),
    AfterAttrName(Kind),
    BeforeAttrValue(Kind),
    /// In a quoted attribute value.
    Quoted(Kind, u8),
    Unquoted(Kind),
    AfterQuoted(Kind),
    /// After a `/` in a tag.
    SelfClosing(Kind),
    /// After `<!`, with this many `-`.
    MarkupDecl(u8),
    CommentStart,
    CommentStartDash,
    Comment,
    CommentEndDash,
    CommentEnd,
    CommentEndBang,
    /// `<!...>`, `<?...>`, `</ ...>`: until `>`.
    Bogus,
    /// In the raw text of [`RAW_TEXT`]`[kind]`, having matched this many
    /// bytes of `</name`.
    RawText {
        kind: u8,
        matched: u8,
    },
    /// Inserted, or gave up: pass everything through.
    Done,
}

/// One transition.
enum Step {
    /// Move on to the next byte in this state.
    Next(Scan),
    /// Look at the same byte again in this state.
    Again(Scan),
    /// The `<head ...>` tag ends at this byte.
    Head,
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c')
}

/// What a tag does when it closes, from its (lowercased) name.
fn kind_of(end: bool, name: &[u8]) -> Kind {
    if end {
        Kind::Other
    } else if name == b"head" {
        Kind::Head
    } else if name == b"plaintext" {
        Kind::Plaintext
    } else {
        match RAW_TEXT.iter().position(|raw| *raw == name) {
            Some(i) => Kind::Raw(i as u8),
            None => Kind::Other,
        }
    }
}

/// The state after a tag of `kind` closes (or the head is found).
fn close(kind: Kind) -> Step {
    match kind {
        Kind::Head => Step::Head,
        Kind::Raw(kind) => Step::Next(Scan::RawText { kind, matched: 0 }),
        Kind::Plaintext => Step::Next(Scan::Done),
        Kind::Other => Step::Next(Scan::Text),
    }
}

impl Scan {
    fn step(self, b: u8) -> Step {
        use Step::{Again, Next};
        match self {
            Scan::Done => Next(Scan::Done),
            Scan::Text => Next(if b == b'<' { Scan::TagOpen } else { Scan::Text }),
            Scan::TagOpen => match b {
                b'!' => Next(Scan::MarkupDecl(0)),
                b'/' => Next(Scan::EndTagOpen),
                b'?' => Next(Scan::Bogus),
                b if b.is_ascii_alphabetic() => Again(Scan::TagName {
                    end: false,
                    name: [0; NAME_MAX],
                    len: 0,
                }),
                _ => Again(Scan::Text),
            },
            Scan::EndTagOpen => match b {
                b'>' => Next(Scan::Text),
                b if b.is_ascii_alphabetic() => Again(Scan::TagName {
                    end: true,
                    name: [0; NAME_MAX],
                    len: 0,
                }),
                _ => Again(Scan::Bogus),
            },
            Scan::TagName { end, mut name, len } => {
                let kind = || kind_of(end, name.get(..usize::from(len)).unwrap_or(&[0]));
                match b {
                    b if is_space(b) => Next(Scan::BeforeAttrName(kind())),
                    b'/' => Next(Scan::SelfClosing(kind())),
                    b'>' => close(kind()),
                    _ => {
                        if let Some(slot) = name.get_mut(usize::from(len)) {
                            *slot = b.to_ascii_lowercase();
                        }
                        // Past NAME_MAX, `len` stays one over it: no name
                        // of interest is that long.
                        let len = (len + 1).min(NAME_MAX as u8 + 1);
                        Next(Scan::TagName { end, name, len })
                    }
                }
            }
            Scan::BeforeAttrName(k) => match b {
                b if is_space(b) => Next(self),
                b'/' | b'>' => Again(Scan::AfterAttrName(k)),
                _ => Next(Scan::AttrName(k)),
            },
            Scan::AttrName(k) => match b {
                b if is_space(b) => Again(Scan::AfterAttrName(k)),
                b'/' | b'>' => Again(Scan::AfterAttrName(k)),
                b'=' => Next(Scan::BeforeAttrValue(k)),
                _ => Next(self),
            },
            Scan::AfterAttrName(k) => match b {
                b if is_space(b) => Next(self),
                b'/' => Next(Scan::SelfClosing(k)),
                b'=' => Next(Scan::BeforeAttrValue(k)),
                b'>' => close(k),
                _ => Next(Scan::AttrName(k)),
            },
            Scan::BeforeAttrValue(k) => match b {
                b if is_space(b) => Next(self),
                b'"' | b'\'' => Next(Scan::Quoted(k, b)),
                b'>' => close(k),
                _ => Next(Scan::Unquoted(k)),
            },
            Scan::Quoted(k, q) => Next(if b == q { Scan::AfterQuoted(k) } else { self }),
            Scan::Unquoted(k) => match b {
                b if is_space(b) => Next(Scan::BeforeAttrName(k)),
                b'>' => close(k),
                _ => Next(self),
            },
            Scan::AfterQuoted(k) => match b {
                b if is_space(b) => Next(Scan::BeforeAttrName(k)),
                b'/' => Next(Scan::SelfClosing(k)),
                b'>' => close(k),
                _ => Again(Scan::BeforeAttrName(k)),
            },
            Scan::SelfClosing(k) => match b {
                b'>' => close(k),
                _ => Again(Scan::BeforeAttrName(k)),
            },
            Scan::MarkupDecl(0) if b == b'-' => Next(Scan::MarkupDecl(1)),
            Scan::MarkupDecl(1) if b == b'-' => Next(Scan::CommentStart),
            // `<!-x`: a bogus comment that began with `-`.
            Scan::MarkupDecl(_) => Again(Scan::Bogus),
            Scan::CommentStart => match b {
                b'-' => Next(Scan::CommentStartDash),
                b'>' => Next(Scan::Text),
                _ => Again(Scan::Comment),
            },
            Scan::CommentStartDash => match b {
                b'-' => Next(Scan::CommentEnd),
                b'>' => Next(Scan::Text),
                _ => Again(Scan::Comment),
            },
            Scan::Comment => Next(if b == b'-' {
                Scan::CommentEndDash
            } else {
                self
            }),
            Scan::CommentEndDash => match b {
                b'-' => Next(Scan::CommentEnd),
                _ => Again(Scan::Comment),
            },
            Scan::CommentEnd => match b {
                b'>' => Next(Scan::Text),
                b'!' => Next(Scan::CommentEndBang),
                b'-' => Next(self),
                _ => Again(Scan::Comment),
            },
            Scan::CommentEndBang => match b {
                b'-' => Next(Scan::CommentEndDash),
                b'>' => Next(Scan::Text),
                _ => Again(Scan::Comment),
            },
            Scan::Bogus => Next(if b == b'>' { Scan::Text } else { self }),
            Scan::RawText { kind, matched } => {
                let name = RAW_TEXT.get(usize::from(kind)).copied().unwrap_or_default();
                let restart = Scan::RawText { kind, matched: 0 };
                match matched {
                    0 => Next(if b == b'<' {
                        Scan::RawText { kind, matched: 1 }
                    } else {
                        self
                    }),
                    1 if b == b'/' => Next(Scan::RawText { kind, matched: 2 }),
                    1 => Again(restart).or_text(b),
                    m if usize::from(m) - 2 < name.len() => {
                        if name.get(usize::from(m) - 2) == Some(&b.to_ascii_lowercase()) {
                            Next(Scan::RawText {
                                kind,
                                matched: m + 1,
                            })
                        } else {
                            Again(restart).or_text(b)
                        }
                    }
                    m if usize::from(m) - 2 == name.len() => match b {
                        // The element's own end tag.
                        b if is_space(b) => Next(Scan::BeforeAttrName(Kind::Other)),
                        b'/' => Next(Scan::SelfClosing(Kind::Other)),
                        b'>' => Next(Scan::Text),
                        _ => Again(restart).or_text(b),
                    },
                    _ => Again(restart).or_text(b),
                }
            }
        }
    }

    /// Advances over `bytes`; returns the index just after the `>` that
    /// closes `<head ...>`, if it is in `bytes`.
    pub(super) fn feed(&mut self, bytes: &[u8]) -> Option<usize> {
        for (i, &b) in bytes.iter().enumerate() {
            loop {
                match self.step(b) {
                    Step::Next(next) => {
                        *self = next;
                        break;
                    }
                    Step::Again(next) => *self = next,
                    Step::Head => return Some(i + 1),
                }
            }
            if *self == Scan::Done {
                return None;
            }
        }
        None
    }
}

impl Step {
    /// A failed match inside raw text: look at the byte again from the
    /// start, unless it cannot start a match (then it is just text).
    fn or_text(self, b: u8) -> Step {
        match self {
            Step::Again(Scan::RawText { kind, .. }) if b != b'<' => {
                Step::Next(Scan::RawText { kind, matched: 0 })
            }
            step => step,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::html::HEAD_SEARCH_LIMIT;

    fn run(chunks: &[&[u8]], tags: &[u8]) -> Vec<u8> {
        let mut scan = Scan::Text;
        let mut out = Vec::new();
        let mut scanned = 0;
        for chunk in chunks {
            if scan == Scan::Done {
                out.extend_from_slice(chunk);
                continue;
            }
            let window = (HEAD_SEARCH_LIMIT - scanned).min(chunk.len());
            match scan.feed(&chunk[..window]) {
                Some(at) => {
                    scan = Scan::Done;
                    out.extend_from_slice(&chunk[..at]);
                    out.extend_from_slice(tags);
                    out.extend_from_slice(&chunk[at..]);
                }
                None => {
                    scanned += window;
                    if scanned >= HEAD_SEARCH_LIMIT {
                        scan = Scan::Done;
                    }
                    out.extend_from_slice(chunk);
                }
            }
        }
        out
    }

    #[test]
    fn inserts_after_head_in_any_split() {
        let page = b"<!doctype html><html lang=en><HEAD data-x=\"a>b\" class='c'><title>t</title></head><body><header>h</header></body></html>";
        let expected = {
            let at = page
                .windows(4)
                .position(|w| w == b"'c'>")
                .map(|p| p + 4)
                .unwrap_or(0);
            [&page[..at], b"TAGS", &page[at..]].concat()
        };
        for split_a in 0..page.len() {
            for split_b in split_a..page.len() {
                let chunks = [&page[..split_a], &page[split_a..split_b], &page[split_b..]];
                assert_eq!(
                    run(&chunks, b"TAGS"),
                    expected,
                    "splits at {split_a}, {split_b}"
                );
            }
        }
    }

    #[test]
    fn header_element_and_no_head_are_left_alone() {
        let page = b"<html><header>x</header><body>no head</body></html>";
        assert_eq!(run(&[page], b"TAGS"), page);
        let page = b"<html><head>";
        assert_eq!(run(&[page], b"T"), b"<html><head>T");
        let page = b"<html><head/>";
        assert_eq!(run(&[page], b"T"), b"<html><head/>T");
    }

    #[test]
    fn gives_up_after_the_limit() {
        let mut page = vec![b'x'; HEAD_SEARCH_LIMIT];
        page.extend_from_slice(b"<head>");
        assert_eq!(run(&[&page], b"T"), page);
    }

    /// Where the tags go (or that they do not), for the cases a naive
    /// search for `<head` gets wrong.
    #[test]
    fn only_a_real_head_tag_counts() {
        let cases: &[(&[u8], Option<&[u8]>)] = &[
            // In an attribute value of another tag.
            (
                b"<html lang=\"<head>\"><head>x",
                Some(b"<html lang=\"<head>\"><head>"),
            ),
            (b"<html data-a='<head>'>", None),
            (b"<html data-a=<head>x", None),
            // In comments, also the short and bang-closed forms.
            (b"<!-- <head> --><head>", Some(b"<!-- <head> --><head>")),
            (b"<!--><head>", Some(b"<!--><head>")),
            (b"<!---><head>", Some(b"<!---><head>")),
            (b"<!-- x --!><head>", Some(b"<!-- x --!><head>")),
            (b"<!-- -- <head> -->", None),
            // In bogus comments and the doctype.
            (
                b"<!doctype html><? <head> ?><head>",
                Some(b"<!doctype html><? <head> ?><head>"),
            ),
            (b"</ <head>>", None),
            // In raw text: a script, a title, a style; their end tags end it.
            (
                b"<script>var h = '<head>';</script><head>",
                Some(b"<script>var h = '<head>';</script><head>"),
            ),
            (
                b"<script>'</scrip><head>'</SCRIPT ><head>",
                Some(b"<script>'</scrip><head>'</SCRIPT ><head>"),
            ),
            (b"<title><head></title>", None),
            (b"<style>/*<head>*/", None),
            (b"<plaintext><head>", None),
            // Other elements whose names start like it.
            (
                b"<header><heading><head2><head>",
                Some(b"<header><heading><head2><head>"),
            ),
            // Attributes on the head itself, with `>` in values and odd `=`.
            (
                b"<head a=\"1>2\" b='>' c=d>",
                Some(b"<head a=\"1>2\" b='>' c=d>"),
            ),
            (b"<head =\"x>\" y>", Some(b"<head =\"x>")),
            (b"<HEAD/>", Some(b"<HEAD/>")),
            (b"</head><head>", Some(b"</head><head>")),
            (b"< head>", None),
        ];
        for (page, expected) in cases {
            let out = run(&[page], b"T");
            let want = match expected {
                Some(prefix) => [*prefix, b"T", &page[prefix.len()..]].concat(),
                None => page.to_vec(),
            };
            assert_eq!(
                String::from_utf8_lossy(&out),
                String::from_utf8_lossy(&want),
                "{}",
                String::from_utf8_lossy(page)
            );
            // The same in every two-chunk split.
            for at in 0..page.len() {
                assert_eq!(run(&[&page[..at], &page[at..]], b"T"), want);
            }
        }
    }
}
