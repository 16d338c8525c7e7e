//! URL-matching table for every `Allowlist` rule kind, including the tricky
//! cases (userinfo, label and path boundaries, IPv6, ports, case, trailing dots).

use crate::client::{Allowlist, AllowlistBuilder, Pattern, UrlParts};
use crate::{AllowlistError, ConfigError, IpNetwork};

fn check(allow: &Allowlist, rule: &str, cases: &[(&str, bool)]) {
    for (url, expected) in cases {
        let uri: http::Uri = url.parse().unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(allow.matches_uri(&uri), *expected, "{rule} vs {url}");
    }
}

#[test]
fn origin_rules() {
    let allow = Allowlist::builder()
        .origin("https://orders.internal:8443")
        .build()
        .unwrap();
    check(
        &allow,
        "origin https://orders.internal:8443",
        &[
            ("https://orders.internal:8443/api", true),
            ("https://ORDERS.Internal:8443/", true), // host case-insensitive
            ("https://orders.internal.:8443/", true), // trailing-dot FQDN
            ("http://orders.internal:8443/", false), // scheme differs
            ("https://orders.internal/", false),     // port 443 != 8443
            ("https://orders.internal:8444/", false),
            ("https://orders.internal.evil.test:8443/", false), // suffix tricks
            ("https://orders.internal:8443@evil.test/", false), // userinfo trick: host is evil.test
            ("https://evil.test@orders.internal:8443/", true),  // userinfo ignored, host is right
            ("https://xorders.internal:8443/", false),
        ],
    );
    let allow = Allowlist::builder()
        .origin("https://api.example.com")
        .build()
        .unwrap();
    check(
        &allow,
        "origin https://api.example.com",
        &[
            ("https://api.example.com/", true),
            ("https://api.example.com:443/x", true), // default port normalised
            ("https://api.example.com:8443/x", false),
            ("http://api.example.com:443/", false),
            ("https://api.example.com@evil.test/", false),
            ("https://evil.test/?https://api.example.com/", false),
        ],
    );
    let allow = Allowlist::builder()
        .origin("http://[::1]:8080")
        .origin("http://127.0.0.1:7777")
        .build()
        .unwrap();
    check(
        &allow,
        "origins [::1]:8080, 127.0.0.1:7777",
        &[
            ("http://[::1]:8080/", true),
            ("http://[0:0:0:0:0:0:0:1]:8080/", false), // no IP canonicalisation: exact literal
            ("http://[::1]:8081/", false),
            ("http://127.0.0.1:7777/test", true),
            ("http://127.0.0.1:7778/test", false),
            ("http://127.0.0.10:7777/", false),
            // `127.0.0.1.` is a name the connector resolves, not the IP.
            ("http://127.0.0.1.:7777/test", false),
        ],
    );
    // A name ending in a number: its dot is kept, so it is not the
    // dotless name either.
    let allow = Allowlist::builder().host("svc.8").build().unwrap();
    check(
        &allow,
        "host svc.8",
        &[("http://svc.8/", true), ("http://svc.8./", false)],
    );
}

/// Default ports are the ones a connector uses: 80 for `http`, 443 for
/// `https`. For `ws`/`wss` connectors differ (hyper-util's connects to 80
/// for anything but `https`; a WebSocket client to 443 for `wss`), so a rule
/// for them must name its port, and only an explicit port matches it.
#[test]
fn default_ports_as_connectors_use_them() {
    let allow = Allowlist::builder()
        .origin("wss://127.0.0.1:443")
        .origin("ws://127.0.0.1:8080")
        .url_prefix("wss://a.example:8443/socket")
        .build()
        .unwrap();
    check(
        &allow,
        "wss/ws origins with ports",
        &[
            ("wss://127.0.0.1:443/socket", true),
            ("wss://127.0.0.1/socket", false), // hyper-util would connect to :80
            ("ws://127.0.0.1:8080/", true),
            ("ws://127.0.0.1/", false),
            ("wss://a.example:8443/socket/1", true),
            ("wss://a.example/socket/1", false),
        ],
    );
    for rule in ["wss://127.0.0.1", "ws://127.0.0.1"] {
        let err = Allowlist::builder().origin(rule).build().unwrap_err();
        assert!(
            matches!(err, AllowlistError::InvalidOrigin { .. }),
            "{rule}: {err}"
        );
        assert!(err.to_string().contains("no default port"), "{err}");
        let err = Allowlist::builder()
            .url_prefix(format!("{rule}/x"))
            .build()
            .unwrap_err();
        assert!(matches!(err, AllowlistError::InvalidPrefix { .. }), "{err}");
    }
    // `http`/`https` keep their defaults.
    let allow = Allowlist::builder()
        .origin("http://127.0.0.1")
        .origin("https://127.0.0.1")
        .build()
        .unwrap();
    check(
        &allow,
        "http/https default ports",
        &[
            ("http://127.0.0.1:80/", true),
            ("https://127.0.0.1:443/", true),
            ("http://127.0.0.1:443/", false),
            ("ws://127.0.0.1:80/", false), // scheme differs
        ],
    );
    // Exact URLs keep a `wss` port in their text: `:443` is not dropped.
    let allow = Allowlist::builder()
        .exact_url("wss://a.example:443/s")
        .build()
        .unwrap();
    check(
        &allow,
        "exact wss URL",
        &[
            ("wss://a.example:443/s", true),
            ("wss://a.example/s", false),
        ],
    );
}

#[test]
fn host_rules() {
    let allow = Allowlist::builder()
        .host("api.example.com")
        .host("[2001:db8::1]")
        .build()
        .unwrap();
    check(
        &allow,
        "host",
        &[
            ("http://api.example.com/", true),
            ("https://api.example.com:9999/x", true), // any scheme and port
            ("https://API.EXAMPLE.COM./", true),
            ("https://api.example.com.evil.test/", false),
            ("https://evil-api.example.com/", false),
            ("https://sub.api.example.com/", false), // exact host only
            ("https://api.example.com@evil.test/", false),
            ("http://[2001:db8::1]:80/", true),
            ("http://[2001:db8::2]/", false),
        ],
    );
}

#[test]
fn host_suffix_rules() {
    let allow = Allowlist::builder()
        .host_suffix(".svc.cluster.local")
        .build()
        .unwrap();
    check(
        &allow,
        "suffix .svc.cluster.local",
        &[
            ("http://orders.svc.cluster.local/", true),
            ("http://a.b.svc.cluster.local:8080/", true),
            ("http://ORDERS.SVC.CLUSTER.LOCAL./", true),
            ("http://evilsvc.cluster.local/", false), // label boundary
            ("http://svc.cluster.local/", false),     // leading dot: subdomains only
            ("http://orders.svc.cluster.local.evil.test/", false),
            ("http://orders.svc.cluster.local@evil.test/", false),
            ("http://evil.test/.svc.cluster.local", false),
        ],
    );
    let allow = Allowlist::builder()
        .host_suffix("example.com")
        .build()
        .unwrap();
    check(
        &allow,
        "suffix example.com",
        &[
            ("https://example.com/", true), // no leading dot: apex too
            ("https://www.example.com/", true),
            ("https://notexample.com/", false),
            ("https://example.com.evil.test/", false),
        ],
    );
}

#[test]
fn url_prefix_rules() {
    let allow = Allowlist::builder()
        .url_prefix("https://api.example.com/v1")
        .build()
        .unwrap();
    check(
        &allow,
        "prefix https://api.example.com/v1",
        &[
            ("https://api.example.com/v1", true),
            ("https://api.example.com/v1/", true),
            ("https://api.example.com/v1/orders?x=1", true),
            ("https://api.example.com/v1?x=1", true),
            ("https://api.example.com/v10", false), // path boundary
            ("https://api.example.com/v", false),
            ("https://api.example.com/V1", false), // paths are case-sensitive
            ("https://api.example.com:443/v1/x", true),
            ("http://api.example.com/v1/x", false),
            ("https://api.example.com.evil.test/v1/x", false),
            ("https://api.example.com/v1@evil.test/", false), // '@' after a path: not userinfo, path /v1@evil.test/
        ],
    );
    let allow = Allowlist::builder()
        .url_prefix("https://api.example.com/v2/")
        .build()
        .unwrap();
    check(
        &allow,
        "prefix ending in /",
        &[
            ("https://api.example.com/v2/x", true),
            ("https://api.example.com/v2", false),
        ],
    );
}

#[cfg(feature = "regex")]
#[test]
fn regex_rules() {
    let allow = Allowlist::builder()
        .regex(r"https://[a-z0-9-]+\.example\.com(:\d+)?/api/.*")
        .build()
        .unwrap();
    check(
        &allow,
        "regex",
        &[
            ("https://eu.example.com/api/x", true),
            ("https://eu.example.com:8443/api/x?y=1", true),
            ("https://eu.example.com/other", false),
            ("https://eu.example.com.evil.test/api/x", false), // anchored at the end of the host
            ("https://evil.test/api/https://eu.example.com/api/", false), // anchored at the start
            ("https://eu.example.com@evil.test/api/x", false), // matched against the URL without userinfo
            ("https://user@eu.example.com/api/x", true),
        ],
    );
    // Pathological patterns are linear-time in the regex crate: this returns quickly.
    let allow = Allowlist::builder().regex(r"(a+)+b").build().unwrap();
    let long = format!("http://{}.test/", "a".repeat(200));
    assert!(!allow.matches_uri(&long.parse().unwrap()));
    // URLs longer than the regex buffer never match a regex rule.
    let allow = Allowlist::builder().regex(r"http://h/.*").build().unwrap();
    let huge = format!("http://h/{}", "x".repeat(super::MAX_REGEX_URL_LEN));
    assert!(!allow.matches_uri(&huge.parse().unwrap()));
    assert!(allow.matches_uri(&"http://h/short".parse().unwrap()));
}

#[test]
fn predicate_and_all() {
    let allow = Allowlist::builder()
        .predicate(|url: &UrlParts<'_>| url.port_or_default() == Some(7777))
        .build()
        .unwrap();
    check(
        &allow,
        "predicate",
        &[
            ("http://127.0.0.1:7777/", true),
            ("http://127.0.0.1/", false),
        ],
    );
    check(
        &Allowlist::all(),
        "all",
        &[("https://anything.example/", true), ("http://[::1]/", true)],
    );
    // Relative URLs never match, whatever the rules.
    assert!(!Allowlist::all().matches_uri(&"/relative".parse().unwrap()));
}

#[test]
fn non_ascii_hosts_from_url_parts_never_panic() {
    // `http::Uri` hosts are ASCII, but `UrlParts::new` takes any string.
    let allow = Allowlist::builder()
        .host_suffix("example.com")
        .host("api.example.com")
        .origin("https://api.example.com")
        .build()
        .unwrap();
    for host in [
        "üxample.com",
        "ü.example.com",
        "éé",
        "example.cöm",
        "äpi.example.com",
    ] {
        let url = UrlParts::new("https", host, None, "/", None);
        let expected = host.ends_with(".example.com");
        assert_eq!(allow.matches(&url), expected, "{host}");
    }
}

#[test]
fn bad_config_is_a_typed_error() {
    let err = |b: AllowlistBuilder| b.build().unwrap_err();
    for origin in [
        "api.example.com",
        "https://user@api.example.com",
        "https://api.example.com/path",
        "https://api.example.com?x",
        "ftp://files.example.com",
        "https://exa mple.com",
        "https://api.example.com#f",
    ] {
        assert!(
            matches!(
                err(Allowlist::builder().origin(origin)),
                AllowlistError::InvalidOrigin { .. }
            ),
            "{origin}"
        );
    }
    for host in ["", "exa mple.com", "a..b", "[zz::1]", "host/path"] {
        assert!(
            matches!(
                err(Allowlist::builder().host(host)),
                AllowlistError::InvalidHost { .. }
            ),
            "{host:?}"
        );
    }
    assert!(matches!(
        err(Allowlist::builder().host_suffix(".")),
        AllowlistError::InvalidHost { .. }
    ));
    assert!(matches!(
        err(Allowlist::builder().url_prefix("/v1")),
        AllowlistError::InvalidPrefix { .. }
    ));
    #[cfg(feature = "regex")]
    {
        assert!(matches!(
            err(Allowlist::builder().regex("(unclosed")),
            AllowlistError::InvalidRegex { .. }
        ));
        // A rule must be a regex on its own: this one would otherwise close the
        // anchoring group and match `https://evil.test/health`.
        assert!(matches!(
            err(Allowlist::builder().regex(r"https://a\.example/)|(?:/health")),
            AllowlistError::InvalidRegex { .. }
        ));
        // One bad rule fails the whole build, and the error names it.
        let e = err(Allowlist::builder().host("ok.example").regex("["));
        assert!(e.to_string().contains("\"[\""), "{e}");
    }
}

#[test]
fn empty_allowlist_sends_nothing() {
    for allow in [Allowlist::builder().build().unwrap(), Allowlist::none()] {
        check(
            &allow,
            "empty",
            &[
                ("http://localhost/", false),
                ("https://api.example.com/x", false),
            ],
        );
    }
}

/// Every rule sees the same URL: spellings that differ only in scheme or
/// host case, a default port or a trailing dot get the same answer.
#[test]
fn every_rule_sees_the_normalised_url() {
    let spellings = [
        "https://api.example.com/v1/orders?page=2",
        "HTTPS://API.Example.COM/v1/orders?page=2",
        "https://api.example.com:443/v1/orders?page=2",
        "https://api.example.com./v1/orders?page=2",
        "https://user:pw@api.example.com./v1/orders?page=2",
    ];
    let mut rules: Vec<(&str, AllowlistBuilder)> = vec![
        (
            "origin",
            Allowlist::builder().origin("https://api.example.com"),
        ),
        ("host", Allowlist::builder().host("api.example.com")),
        ("suffix", Allowlist::builder().host_suffix(".example.com")),
        (
            "prefix",
            Allowlist::builder().url_prefix("https://api.example.com/v1"),
        ),
        (
            "exact",
            Allowlist::builder().exact_url("https://api.example.com/v1/orders?page=2"),
        ),
        (
            "substring",
            Allowlist::builder().substring("https://api.example.com/v1/"),
        ),
    ];
    #[cfg(feature = "regex")]
    rules.extend([
        (
            "regex",
            Allowlist::builder().regex(r"https://api\.example\.com/.*"),
        ),
        (
            "regex_search",
            Allowlist::builder().regex_search(r"^https://api\.example\.com/"),
        ),
    ]);
    for (name, builder) in rules {
        let allow = builder.build().unwrap();
        for url in spellings {
            let uri: http::Uri = url.parse().unwrap();
            assert!(allow.matches_uri(&uri), "{name} vs {url}");
        }
        // And the same rule still tells another host apart.
        let other: http::Uri = "https://api.example.net/v1/orders?page=2".parse().unwrap();
        assert!(!allow.matches_uri(&other), "{name} vs another host");
    }
}

#[test]
fn exact_url_rules() {
    let allow = Allowlist::builder()
        .exact_url("http://localhost:8080/api")
        .exact_url("https://api.example.com")
        .build()
        .unwrap();
    check(
        &allow,
        "exact_url",
        &[
            ("http://localhost:8080/api", true),
            ("http://LOCALHOST:8080/api", true),
            ("http://localhost:8080/api/", false),
            ("http://localhost:8080/api?x=1", false),
            ("http://localhost:8081/api", false),
            ("https://localhost:8080/api", false),
            ("https://api.example.com/", true), // an empty path is `/`, as in `URL.href`
            ("https://api.example.com:443", true),
            ("https://api.example.com/x", false),
        ],
    );
}

/// Sentry's `tracePropagationTargets` strings are substrings of the URL,
/// which is also their leak: a third-party URL carrying the text anywhere.
#[test]
fn sentry_targets_are_substrings_and_leak_through_queries() {
    let allow = Allowlist::builder()
        .sentry_targets(["localhost", "api.example.com"])
        .build()
        .unwrap();
    check(
        &allow,
        "sentry_targets",
        &[
            ("http://localhost:3000/api", true),
            ("https://api.example.com/v1", true),
            ("https://eu.api.example.com/v1", true),
            ("https://cdn.example.org/lib.js", false),
            // The leak the docs warn about: the text sits in the query.
            ("https://evil.test/?next=https://api.example.com/", true),
            ("https://evil.test/localhost", true),
        ],
    );
}

/// Sentry 11 (`matchesTracePropagationTargets`, `@sentry/core` 11.x):
/// `url.toLowerCase().includes(target.toLowerCase())` for strings, and each
/// regex tested with the `i` flag.
#[test]
fn sentry_targets_match_as_sentry_11_does() {
    let allow = Allowlist::builder()
        .sentry_targets(["API.Example.com", "/Orders/"])
        .build()
        .unwrap();
    check(
        &allow,
        "sentry_targets, Sentry 11 strings",
        &[
            ("https://api.example.com/v1", true), // target lowercased
            ("https://API.EXAMPLE.COM/v1", true), // URL lowercased
            ("https://shop.test/ORDERS/7", true), // path without case too
            ("https://shop.test/orders/7", true),
            ("https://shop.test/order/7", false),
            ("https://cdn.example.org/", false),
        ],
    );
    // A plain `substring` rule keeps its case.
    let allow = Allowlist::builder()
        .substring("/Orders/")
        .sentry_targets(["api.example.com"])
        .build()
        .unwrap();
    check(
        &allow,
        "substring with case next to Sentry targets",
        &[
            ("https://shop.test/Orders/7", true),
            ("https://shop.test/orders/7", false),
            ("https://API.example.com/x", true),
        ],
    );
    #[cfg(feature = "regex")]
    {
        let allow = Allowlist::builder()
            .sentry_targets([Pattern::regex(r"^https://API\.example\.com/V1/")])
            .build()
            .unwrap();
        check(
            &allow,
            "sentry_targets, Sentry 11 regex with i",
            &[
                ("https://api.example.com/v1/x", true),
                ("https://api.example.com/V1/x", true),
                ("https://evil.test/?https://api.example.com/v1/", false),
            ],
        );
        // `regex_search` itself keeps its case.
        let allow = Allowlist::builder().regex_search(r"/V1/").build().unwrap();
        check(
            &allow,
            "regex_search with case",
            &[
                ("https://a.test/V1/x", true),
                ("https://a.test/v1/x", false),
            ],
        );
    }
    // A URL longer than the stack buffer is read in place, without case too.
    let long = format!("https://a.test/{}/ORDERS/", "x".repeat(300));
    let allow = Allowlist::builder()
        .sentry_targets(["/orders/"])
        .build()
        .unwrap();
    assert!(allow.matches_uri(&long.parse().unwrap()));
}

#[test]
fn propagate_trace_header_cors_urls_are_exact_strings() {
    let allow = Allowlist::builder()
        .propagate_trace_header_cors_urls(["http://localhost:8080/api"])
        .build()
        .unwrap();
    check(
        &allow,
        "propagateTraceHeaderCorsUrls",
        &[
            ("http://localhost:8080/api", true),
            ("http://localhost:8080/api/orders", false),
            ("http://evil.test/?u=http://localhost:8080/api", false),
        ],
    );
}

/// Regex entries search anywhere, as `url.match(regex)` does in the browser:
/// a pattern copied from a frontend config keeps its meaning, and an
/// unanchored one leaks through a query just as it does there.
#[cfg(feature = "regex")]
#[test]
fn browser_regex_entries_search_unanchored() {
    let allow = Allowlist::builder()
        .sentry_targets([Pattern::regex(
            r"^https://([a-z0-9-]+\.)?corp\.example\.net/",
        )])
        .propagate_trace_header_cors_urls([Pattern::regex(r"^https:\/\/api\.example\.com\/")])
        .build()
        .unwrap();
    check(
        &allow,
        "anchored search",
        &[
            ("https://eu.corp.example.net/orders", true),
            ("https://corp.example.net/", true),
            ("https://EU.corp.example.net:443/orders", true),
            ("https://api.example.com/v1", true),
            ("https://evil.test/?u=https://corp.example.net/", false),
            ("https://corp.example.net.evil.test/", false),
        ],
    );
    let unanchored = Allowlist::builder()
        .sentry_targets([Pattern::regex(r"api\.example\.com")])
        .build()
        .unwrap();
    check(
        &unanchored,
        "unanchored search",
        &[
            ("https://api.example.com/v1", true),
            // The leak the docs warn about.
            ("https://evil.test/?next=https://api.example.com/", true),
            ("https://cdn.example.org/", false),
        ],
    );
    // The anchored rule of 0.1 and this crate's `regex` would deny the
    // first URL: the match must cover the whole URL.
    let full = Allowlist::builder()
        .regex(r"^https://([a-z0-9-]+\.)?corp\.example\.net/")
        .build()
        .unwrap();
    assert!(!full.matches_uri(&"https://eu.corp.example.net/orders".parse().unwrap()));
    assert!(full.matches_uri(&"https://eu.corp.example.net/".parse().unwrap()));
}

#[test]
fn cidr_rules() {
    let allow = Allowlist::builder()
        .networks(
            ["10.0.0.0/8", "192.168.1.7", "fd00::/8"].map(|n| n.parse::<IpNetwork>().unwrap()),
        )
        .build()
        .unwrap();
    check(
        &allow,
        "cidr",
        &[
            ("http://10.0.0.1/", true),
            ("https://10.255.255.255:8443/x", true),
            ("http://11.0.0.1/", false),
            ("http://192.168.1.7/", true),
            ("http://192.168.1.8/", false),
            ("http://[fd12:3456::1]:8080/", true),
            ("http://[FD12::1]/", true),
            ("http://[fe80::1]/", false),
            ("http://[::ffff:10.1.2.3]/", true), // IPv4-mapped IPv6 counts as IPv4
            ("http://[::ffff:11.1.2.3]/", false),
            ("http://[::1]/", false),
            ("http://10.0.0.1.nip.io/", false), // a name, not an IP literal
            ("http://0x0a.0.0.1/", false),      // not dotted decimal: no match (fail closed)
            ("http://10.0.0.1@evil.test/", false),
            // A trailing dot after an IP literal makes it a DNS name to the
            // connector (hyper-util resolves `127.0.0.1.`): no IP rule.
            ("http://10.0.0.1./", false),
            ("http://10.0.0.1.:8080/", false),
            ("http://192.168.1.7./", false),
            ("http://10.0.0.0x1./", false),
        ],
    );
    let loopback: IpNetwork = "127.0.0.0/8".parse().unwrap();
    let allow = Allowlist::builder().networks([loopback]).build().unwrap();
    check(
        &allow,
        "cidr 127.0.0.0/8",
        &[
            ("http://127.0.0.1:8080/", true),
            ("http://127.0.0.1.:8080/", false),
        ],
    );
    // Bad networks are typed errors where they are parsed.
    for bad in ["10.0.0.1/8", "example.com/8", "10.0.0.0/33", ""] {
        let err = bad.parse::<IpNetwork>().unwrap_err();
        assert!(
            matches!(err, ConfigError::InvalidNetwork(_)),
            "{bad}: {err}"
        );
    }
}

#[test]
fn bad_exact_urls_are_typed_errors() {
    for url in [
        "/relative",
        "https://u@api.example.com/",
        "https://api.example.com/#top",
        "not a url",
    ] {
        let err = Allowlist::builder().exact_url(url).build().unwrap_err();
        assert!(
            matches!(err, AllowlistError::InvalidUrl { .. }),
            "{url}: {err}"
        );
    }
}

/// Each regex rule is compiled once, to one engine: a DFA when it fits, the
/// meta engine otherwise; both give the same answers.
#[cfg(feature = "regex")]
#[test]
fn regexes_too_large_for_a_dfa_still_match() {
    // `\w{50}` with Unicode classes blows the DFA size limit.
    let pattern = r"https://\w{60}\.example/.*";
    let rule = super::regex::RegexRule::new(pattern, super::regex::Mode::Full).unwrap();
    assert!(
        format!("{rule:?}").contains("Meta"),
        "expected the meta engine"
    );
    let allow = Allowlist::builder().regex(pattern).build().unwrap();
    let host = "a".repeat(60);
    assert!(allow.matches_uri(&format!("https://{host}.example/x").parse().unwrap()));
    assert!(!allow.matches_uri(&format!("https://{host}.example.evil/x").parse().unwrap()));
    let small =
        super::regex::RegexRule::new(r"https://a\.example/.*", super::regex::Mode::Full).unwrap();
    assert!(format!("{small:?}").contains("Dfa"), "expected a DFA");
}

/// Substring rules read the URL in place, also across its parts, and never
/// match past `MAX_REGEX_URL_LEN`; exact URLs compare at any length.
#[test]
fn text_rules_on_long_urls() {
    let allow = Allowlist::builder().substring("needle").build().unwrap();
    let at = |n: usize| format!("http://h/{}needle", "x".repeat(n));
    assert!(allow.matches_uri(&at(10).parse().unwrap()));
    assert!(allow.matches_uri(&at(400).parse().unwrap()));
    assert!(!allow.matches_uri(&at(super::MAX_REGEX_URL_LEN).parse().unwrap()));
    // One-byte substrings next to longer ones with the same first byte.
    let one = Allowlist::builder()
        .substring("qz")
        .substring("~")
        .build()
        .unwrap();
    assert!(one.matches_uri(&"http://h/a~b".parse().unwrap()));
    assert!(one.matches_uri(&"http://h/?q=qz".parse().unwrap()));
    assert!(!one.matches_uri(&"http://h/?q=q".parse().unwrap()));
    // A substring spanning the scheme, the host (lowercased) and the path.
    let across = Allowlist::builder()
        .substring("p://api.example.com/v")
        .build()
        .unwrap();
    assert!(across.matches_uri(&"HTTP://API.Example.com/v1".parse().unwrap()));
    assert!(!across.matches_uri(&"http://api.example.com:8080/v1".parse().unwrap()));
    let long = format!("https://api.example.com/{}", "y".repeat(3000));
    let exact = Allowlist::builder().exact_url(&long).build();
    assert!(matches!(exact, Err(AllowlistError::InvalidUrl { .. })));
    let exact = Allowlist::builder()
        .exact_url(format!("https://api.example.com/{}", "y".repeat(1000)))
        .build()
        .unwrap();
    let url = format!("https://API.example.com:443/{}", "y".repeat(1000));
    assert!(exact.matches_uri(&url.parse().unwrap()));
    let url = format!("https://api.example.com/{}z", "y".repeat(999));
    assert!(!exact.matches_uri(&url.parse().unwrap()));
}

/// Found in review: authorities the `http` crate splits differently (hyper
/// connects to `evil.test:443` and to port 8080) must never be judged by
/// another host or port.
#[test]
fn authorities_split_as_the_request_is_sent() {
    let allow = Allowlist::builder()
        .host_suffix(".svc.cluster.local")
        .origin("http://[::1]")
        .url_prefix("http://[::1]/")
        .exact_url("http://[::1]/")
        .substring("svc.cluster.local/")
        .build()
        .unwrap();
    for url in [
        "https://evil.test:1[x].svc.cluster.local:443/",
        "http://[::1]x:8080/",
        "http://[::1]:80x/",
        "http://orders.svc.cluster.local:+80/",
    ] {
        if let Ok(uri) = url.parse::<http::Uri>() {
            assert!(!allow.matches_uri(&uri), "{url}");
        }
    }
    // What the `http` crate reads, this reads.
    for url in [
        "http://orders.svc.cluster.local/",
        "http://orders.svc.cluster.local:8080/",
        "http://u:p@orders.svc.cluster.local:/",
        "http://[::1]/",
        "http://[::1]:80/",
    ] {
        let uri: http::Uri = url.parse().unwrap();
        assert!(allow.matches_uri(&uri), "{url}");
        let parts = UrlParts::from_uri(&uri).unwrap();
        assert_eq!(parts.host(), uri.host().unwrap(), "{url}");
        assert_eq!(parts.port(), uri.port_u16(), "{url}");
    }
    #[cfg(feature = "regex")]
    {
        let allow = Allowlist::builder()
            .regex_search(r"^https://[^/]*\.svc\.cluster\.local/")
            .build()
            .unwrap();
        let uri: http::Uri = "https://evil.test:1[x].svc.cluster.local:443/"
            .parse()
            .unwrap();
        assert!(!allow.matches_uri(&uri));
    }
}
