//! `MetaTagsLayer`'s streaming `<head>` finder: any HTML, split anywhere,
//! gives the same bytes as in one piece, and those are the input with the
//! tags inserted once right after the first real `<head ...>` (found by an
//! independent whole-buffer scan below), or the input unchanged.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use tower_trace_context::html::HEAD_SEARCH_LIMIT;
use tower_trace_context::html::fuzzing::insert_meta_tags;

const TAGS: &[u8] = b"<meta name=\"traceparent\" content=\"00-x\">";

fuzz_target!(|data: &[u8]| {
    let Some((&seed, html)) = data.split_first() else {
        return;
    };
    let single = insert_meta_tags(vec![Bytes::copy_from_slice(html)], Bytes::from_static(TAGS));
    let expected = match find_head(&html[..html.len().min(HEAD_SEARCH_LIMIT)]) {
        Some(at) => [&html[..at], TAGS, &html[at..]].concat(),
        None => html.to_vec(),
    };
    assert_eq!(single, expected, "single chunk vs the reference scan");

    // Split at up to 8 points drawn from the seed.
    let mut cuts = Vec::new();
    let mut x = u32::from(seed) | 1;
    for _ in 0..(seed % 8) {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        if !html.is_empty() {
            cuts.push((x >> 8) as usize % html.len());
        }
    }
    cuts.sort_unstable();
    let mut chunks = Vec::new();
    let mut start = 0;
    for cut in cuts {
        chunks.push(Bytes::copy_from_slice(&html[start..cut]));
        start = cut;
    }
    chunks.push(Bytes::copy_from_slice(&html[start..]));
    let split = insert_meta_tags(chunks, Bytes::from_static(TAGS));
    assert_eq!(split, single, "chunked vs single");
});

fn space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0c)
}

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

/// Index just after the `>` closing the first `<head ...>` start tag, by a
/// whole-buffer scan with lookahead (HTML tokenizer rules: comments, bogus
/// comments, attribute values, raw-text elements, plaintext).
fn find_head(h: &[u8]) -> Option<usize> {
    let n = h.len();
    let mut i = 0;
    while i < n {
        if h[i] != b'<' {
            i += 1;
            continue;
        }
        let j = i + 1;
        let c = *h.get(j)?;
        if c == b'!' {
            if h[j + 1..].starts_with(b"--") {
                let k = j + 3;
                if h.get(k) == Some(&b'>') {
                    i = k + 1;
                } else if h.get(k..k + 2) == Some(b"->") {
                    i = k + 2;
                } else {
                    i = comment_end(h, k)?;
                }
            } else {
                i = j + 1 + h[j + 1..].iter().position(|&b| b == b'>')? + 1;
            }
        } else if c == b'?' {
            i = j + 1 + h[j + 1..].iter().position(|&b| b == b'>')? + 1;
        } else if c == b'/' {
            match *h.get(j + 1)? {
                b'>' => i = j + 2,
                b if b.is_ascii_alphabetic() => {
                    let (_, after) = tag(h, j + 1)?;
                    i = after;
                }
                _ => i = j + 1 + h[j + 1..].iter().position(|&b| b == b'>')? + 1,
            }
        } else if c.is_ascii_alphabetic() {
            let (name, after) = tag(h, j)?;
            if name == b"head" {
                return Some(after);
            }
            if name == b"plaintext" {
                return None;
            }
            i = after;
            if RAW_TEXT.contains(&name.as_slice()) {
                i = raw_text_end(h, i, &name)?;
            }
        } else {
            i = j;
        }
    }
    None
}

/// After `<!--` (content from `k`): the index after `-->`, `--->`, `--!>`.
fn comment_end(h: &[u8], k: usize) -> Option<usize> {
    let mut p = k;
    while p + 1 < h.len() {
        if h[p] == b'-' && h[p + 1] == b'-' {
            let mut q = p + 2;
            while h.get(q) == Some(&b'-') {
                q += 1;
            }
            match h.get(q) {
                Some(b'>') => return Some(q + 1),
                Some(b'!') if h.get(q + 1) == Some(&b'>') => return Some(q + 2),
                _ => {}
            }
        }
        p += 1;
    }
    None
}

/// A tag whose name starts at `s`: its lowercase name and the index after
/// its closing `>`.
fn tag(h: &[u8], s: usize) -> Option<(Vec<u8>, usize)> {
    let mut p = s;
    while p < h.len() && !space(h[p]) && h[p] != b'/' && h[p] != b'>' {
        p += 1;
    }
    let name = h[s..p].to_ascii_lowercase();
    Some((name, attributes_end(h, p)?))
}

/// From the end of a tag name: the index after the tag's closing `>`.
fn attributes_end(h: &[u8], mut p: usize) -> Option<usize> {
    let n = h.len();
    loop {
        while p < n && (space(h[p]) || (h[p] == b'/' && h.get(p + 1) != Some(&b'>'))) {
            p += 1;
        }
        match *h.get(p)? {
            b'/' => return Some(p + 2),
            b'>' => return Some(p + 1),
            _ => {}
        }
        // An attribute name; its first character may be `=`.
        p += 1;
        while p < n && !space(h[p]) && !matches!(h[p], b'/' | b'>' | b'=') {
            p += 1;
        }
        while p < n && space(h[p]) {
            p += 1;
        }
        if *h.get(p)? != b'=' {
            continue;
        }
        p += 1;
        while p < n && space(h[p]) {
            p += 1;
        }
        match *h.get(p)? {
            q @ (b'"' | b'\'') => p = p + 1 + h[p + 1..].iter().position(|&b| b == q)? + 1,
            b'>' => return Some(p + 1),
            _ => {
                while p < n && !space(h[p]) && h[p] != b'>' {
                    p += 1;
                }
            }
        }
    }
}

/// From the end of a raw-text start tag: the index after its end tag.
fn raw_text_end(h: &[u8], from: usize, name: &[u8]) -> Option<usize> {
    let mut p = from;
    loop {
        let at = p + h[p..].windows(2).position(|w| w == b"</")?;
        let s = at + 2;
        let matched = h
            .get(s..s + name.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(name));
        match h.get(s + name.len()) {
            Some(&b) if matched && (space(b) || b == b'/' || b == b'>') => {
                return attributes_end(h, s + name.len());
            }
            None if matched => return None,
            _ => p = at + 1,
        }
    }
}
