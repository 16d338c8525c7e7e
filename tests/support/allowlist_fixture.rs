//! Twenty mixed allowlist rules, the shape of a real configuration; shared
//! by the allocation test and the client bench.

/// 5 origins, 5 hosts, 5 host suffixes, 3 URL prefixes, 1 regex, 1
/// predicate.
pub fn twenty_rules() -> tower_trace_context::client::Allowlist {
    let mut b = tower_trace_context::client::Allowlist::builder();
    for i in 0..5 {
        b = b.origin(format!("https://svc{i}.internal:8443"));
        b = b.host(format!("api{i}.example.com"));
        b = b.host_suffix(format!(".ns{i}.svc.cluster.local"));
    }
    for i in 0..3 {
        b = b.url_prefix(format!("https://gateway.example.com/v{i}"));
    }
    let b = b.regex(r"https://[a-z]+\.eu\.example\.org/api/.*");
    b.predicate(|url| url.port() == Some(7777)).build().unwrap()
}

/// Twenty rules pasted from browser SDK configs: ten Sentry
/// `tracePropagationTargets` strings (substrings) and ten OpenTelemetry JS
/// `propagateTraceHeaderCorsUrls` strings (exact URLs).
pub fn browser_rules() -> tower_trace_context::client::Allowlist {
    tower_trace_context::client::Allowlist::builder()
        .sentry_targets((0..10).map(|i| format!("api{i}.example.com/v1/")))
        .propagate_trace_header_cors_urls(
            (0..9)
                .map(|i| format!("https://svc{i}.internal:8443/api"))
                .chain(["http://localhost:8080/api".to_owned()]),
        )
        .build()
        .unwrap()
}
