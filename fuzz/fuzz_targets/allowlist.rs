//! The allowlist on any URL and any rules: no panic; spellings of one URL
//! that differ in host case, an `http`/`https` default port or a trailing dot
//! on a name (not on one ending in a number, like `127.0.0.1.`) get the same
//! answer; and an origin, host or host-suffix rule never allows a URL whose
//! host, as the `url` crate parses it (WHATWG rules), is not the rule's.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tower_trace_context::client::{Allowlist, AllowlistBuilder};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let Some(url) = lines.next() else { return };
    let rules: Vec<(u8, &str)> = lines
        .filter_map(|l| Some((*l.as_bytes().first()?, l.get(1..)?)))
        // Long random regexes spend the run compiling DFAs.
        .filter(|(kind, rule)| kind % 9 < 7 || rule.len() <= 24)
        .take(8)
        .collect();
    let Ok(uri) = url.parse::<http::Uri>() else {
        return;
    };

    let add = |b: AllowlistBuilder, (kind, rule): (u8, &str)| match kind % 9 {
        0 => b.origin(rule),
        1 => b.host(rule),
        2 => b.host_suffix(rule),
        3 => b.url_prefix(rule),
        // A network that does not parse adds no rule (its error is typed
        // where it is parsed).
        4 => match rule.parse() {
            Ok(network) => b.networks([network]),
            Err(_) => b,
        },
        5 => b.exact_url(rule),
        6 => b.substring(rule),
        7 => b.regex(rule),
        _ => b.regex_search(rule),
    };
    let all = rules
        .iter()
        .fold(Allowlist::builder(), |b, r| add(b, *r))
        .build();
    let Ok(all) = all else { return };
    let answer = all.matches_uri(&uri);
    for variant in spellings(&uri) {
        if let Ok(v) = variant.parse::<http::Uri>() {
            assert_eq!(all.matches_uri(&v), answer, "{url} vs {variant}: {all:?}");
        }
    }

    // The WHATWG oracle, rule by rule.
    let Ok(parsed) = url::Url::parse(url) else {
        return;
    };
    let Some(host) = parsed.host_str().map(normal_host) else {
        return;
    };
    for &(kind, rule) in &rules {
        let kind = kind % 9;
        if kind > 2 {
            continue;
        }
        let Ok(one) = add(Allowlist::builder(), (kind, rule)).build() else {
            continue;
        };
        if !one.matches_uri(&uri) {
            continue;
        }
        let covered = match kind {
            0 => url::Url::parse(rule).is_ok_and(|o| {
                o.host_str().map(normal_host) == Some(host.clone())
                    && o.scheme() == parsed.scheme()
                    && o.port_or_known_default() == parsed.port_or_known_default()
            }),
            1 => rule_host(rule).is_some_and(|r| r == host),
            _ => {
                let bare = rule.strip_prefix('.').unwrap_or(rule);
                let apex = !rule.starts_with('.');
                rule_host(bare)
                    .is_some_and(|s| (apex && host == s) || host.ends_with(&format!(".{s}")))
            }
        };
        assert!(
            covered,
            "rule {kind}:{rule:?} allowed {url:?} whose WHATWG host is {host:?}"
        );
    }
});

/// A host as the `url` crate gives it, lowercase, without a trailing dot.
fn normal_host(host: &str) -> String {
    host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase()
}

/// A rule's host as the `url` crate parses it.
fn rule_host(rule: &str) -> Option<String> {
    let parsed = url::Url::parse(&format!("http://{rule}/")).ok()?;
    parsed.host_str().map(normal_host)
}

/// The same URL spelled differently: host in upper case, the default port
/// written out, a trailing dot on a host name.
fn spellings(uri: &http::Uri) -> Vec<String> {
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return Vec::new();
    };
    let path = uri.path_and_query().map_or("", |p| p.as_str());
    let auth = authority.as_str();
    let (userinfo, host_port) = match auth.rfind('@') {
        Some(at) => (&auth[..=at], &auth[at + 1..]),
        None => ("", auth),
    };
    let host = authority.host();
    // Only URLs with no port or a numeric one have equivalent spellings
    // (`h:x` is no URL the allowlist can match; `h` is another URL).
    let after_host = host_port.strip_prefix(host).unwrap_or(host_port);
    let numeric_port = after_host
        .strip_prefix(':')
        .is_some_and(|p| !p.is_empty() && p.parse::<u16>().is_ok());
    if !after_host.is_empty() && !numeric_port {
        return Vec::new();
    }
    let port = authority
        .port()
        .map(|p| format!(":{p}"))
        .unwrap_or_default();
    let mut out = vec![format!(
        "{scheme}://{userinfo}{}{port}{path}",
        host.to_ascii_uppercase()
    )];
    let default = match scheme.to_ascii_lowercase().as_str() {
        // Only these: connectors differ on `ws`/`wss` (hyper-util uses 80).
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    };
    if let (Some(d), true) = (default, port.is_empty()) {
        out.push(format!("{scheme}://{userinfo}{host}:{d}{path}"));
    }
    // A host ending in a number (`127.0.0.1`, `svc.8`) is another host with
    // a dot: a connector resolves `127.0.0.1.` as a name.
    let last = host.rsplit('.').next().unwrap_or(host);
    let ends_in_number = (!last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()))
        || last
            .strip_prefix("0x")
            .or_else(|| last.strip_prefix("0X"))
            .is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
    if !host.ends_with('.') && !host.starts_with('[') && !ends_in_number {
        out.push(format!("{scheme}://{userinfo}{host}.{port}{path}"));
    }
    out
}
