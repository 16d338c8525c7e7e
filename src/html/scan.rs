//! Finds the end of the opening `<head ...>` tag in a stream of bytes.

/// Where the scanner is in the search for the end of `<head ...>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Scan {
    /// Looking for `<`.
    Text,
    /// Matched `<` and this many letters of `head`.
    Name(u8),
    /// Inside the `<head` tag, looking for its `>`.
    Attrs,
    /// After an attribute's `=`: a quote here starts a quoted value.
    AttrEq,
    /// Inside a quoted attribute value.
    Quoted(u8),
    /// Matched `<!` and this many `-`.
    Bang(u8),
    /// Inside `<!-- ... -->`, after this many `-` (at most 2).
    Comment(u8),
    /// Inserted, or gave up: pass everything through.
    Done,
}

impl Scan {
    /// Advances over `bytes`; returns the index just after the `>` that
    /// closes `<head ...>`, if it is in `bytes`.
    pub(super) fn feed(&mut self, bytes: &[u8]) -> Option<usize> {
        for (i, &b) in bytes.iter().enumerate() {
            *self = match (*self, b) {
                (Scan::Done, _) => return None,
                (Scan::Text, b'<') => Scan::Name(0),
                (Scan::Text, _) => Scan::Text,
                // Comments are skipped: `<!-- <head> -->` is not the head.
                (Scan::Name(0), b'!') => Scan::Bang(0),
                (Scan::Bang(0), b'-') => Scan::Bang(1),
                (Scan::Bang(1), b'-') => Scan::Comment(0),
                (Scan::Bang(_), b'<') => Scan::Name(0),
                (Scan::Bang(_), _) => Scan::Text,
                (Scan::Comment(2), b'>') => Scan::Text,
                (Scan::Comment(n), b'-') => Scan::Comment((n + 1).min(2)),
                (Scan::Comment(_), _) => Scan::Comment(0),
                (Scan::Name(n), _) if n < 4 => {
                    if b.to_ascii_lowercase() == b"head"[n as usize] {
                        Scan::Name(n + 1)
                    } else if b == b'<' {
                        Scan::Name(0)
                    } else {
                        Scan::Text
                    }
                }
                // `<head` must end here: `<header>` is another element.
                (Scan::Name(_), b'>') => return Some(i + 1),
                (Scan::Name(_), b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' | b'/') => Scan::Attrs,
                (Scan::Name(_), _) => Scan::Text,
                (Scan::Attrs | Scan::AttrEq, b'>') => return Some(i + 1),
                // Only a value may be quoted: a stray `"` elsewhere is a
                // character of the tag, as HTML tokenizes it.
                (Scan::Attrs, b'=') => Scan::AttrEq,
                (Scan::Attrs, _) => Scan::Attrs,
                (Scan::AttrEq, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c') => Scan::AttrEq,
                (Scan::AttrEq, q @ (b'"' | b'\'')) => Scan::Quoted(q),
                (Scan::AttrEq, _) => Scan::Attrs,
                (Scan::Quoted(q), c) if c == q => Scan::Attrs,
                (Scan::Quoted(q), _) => Scan::Quoted(q),
            };
        }
        None
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
}
