//! Twenty mixed allowlist rules, the shape of a real configuration; shared
//! by the allocation test and the client bench.

/// 5 origins, 5 hosts, 5 host suffixes, 3 URL prefixes, 1 regex (a CIDR
/// rule without feature `regex`), 1 predicate.
pub(crate) fn twenty_rules() -> tower_trace_context::client::Allowlist {
    let mut b = tower_trace_context::client::Allowlist::builder();
    for i in 0..5 {
        b = b.origin(format!("https://svc{i}.internal:8443"));
        b = b.host(format!("api{i}.example.com"));
        b = b.host_suffix(format!(".ns{i}.svc.cluster.local"));
    }
    for i in 0..3 {
        b = b.url_prefix(format!("https://gateway.example.com/v{i}"));
    }
    #[cfg(feature = "regex")]
    let b = b.regex(r"https://[a-z]+\.eu\.example\.org/api/.*");
    #[cfg(not(feature = "regex"))]
    let b = b.cidr("10.0.0.0/8");
    b.predicate(|url| url.port() == Some(7777)).build().unwrap()
}
