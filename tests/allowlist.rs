//! URL-matching table for every `Allowlist` rule kind, including the tricky
//! cases (userinfo, label and path boundaries, IPv6, ports, case, trailing dots).

use tower_trace_context::{Allowlist, AllowlistError, UrlParts};

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
    let huge = format!(
        "http://h/{}",
        "x".repeat(tower_trace_context::MAX_REGEX_URL_LEN)
    );
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
    let err = |b: tower_trace_context::AllowlistBuilder| b.build().unwrap_err();
    assert!(matches!(err(Allowlist::builder()), AllowlistError::Empty));
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
