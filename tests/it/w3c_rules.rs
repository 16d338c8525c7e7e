//! Table-driven checks of W3C Trace Context rules. Each row cites the rule it checks:
//! "L1 §x" is <https://www.w3.org/TR/trace-context/>, "L2 §x" is
//! <https://www.w3.org/TR/trace-context-2/>, "suite" is a case of the W3C
//! trace-context test suite (test/test.py).

use http::{HeaderMap, HeaderValue};
use opentelemetry::trace::TraceContextExt;
use tower_trace_context::{
    OwnedTraceState, TRACEPARENT, TRACESTATE, TraceContextHeaders, TraceParent, TraceParentError,
    TraceStateError, TraceStateView, extract, inject,
};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";

fn tp(version: &str, trace: &str, parent: &str, flags: &str) -> String {
    format!("{version}-{trace}-{parent}-{flags}")
}

#[test]
fn traceparent_rules() {
    let valid = tp("00", TRACE, PARENT, "01");
    let cases: Vec<(String, Result<&str, TraceParentError>, &str)> = vec![
        (
            valid.clone(),
            Ok("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            "L1 §3.2.2 basic",
        ),
        (
            tp("00", TRACE, PARENT, "00"),
            Ok("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"),
            "L1 §3.2.2.5 not sampled",
        ),
        (
            tp("00", TRACE, PARENT, "02"),
            Ok("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-02"),
            "L2 §3.2.2.5.2 random flag kept",
        ),
        (
            tp("00", TRACE, PARENT, "03"),
            Ok("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03"),
            "L2 §3.2.2.5 sampled+random",
        ),
        (
            tp("00", TRACE, PARENT, "ff"),
            Ok("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03"),
            "L1 §3.2.2.5 unknown flags zeroed on output",
        ),
        (
            tp("00", TRACE, PARENT, "09"),
            Ok("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            "L1 §3.2.2.5 unknown flag bit 3 zeroed",
        ),
        (
            format!(" {valid}"),
            Ok(valid.as_str()),
            "suite test_traceparent_ows_handling: leading space",
        ),
        (
            format!("\t{valid}\t "),
            Ok(valid.as_str()),
            "suite test_traceparent_ows_handling: tabs",
        ),
        (
            format!("{valid} "),
            Ok(valid.as_str()),
            "suite test_traceparent_ows_handling: trailing space",
        ),
        (
            tp("cc", TRACE, PARENT, "01"),
            Ok(valid.as_str()),
            "L1 §3.2.4 higher version, exactly 55 bytes",
        ),
        (
            format!(
                "{}-what-the-future-will-be-like",
                tp("cc", TRACE, PARENT, "01")
            ),
            Ok(valid.as_str()),
            "L1 §3.2.4 higher version with more fields",
        ),
        (
            format!("{}-", tp("01", TRACE, PARENT, "01")),
            Ok(valid.as_str()),
            "L1 §3.2.4 higher version, dash then nothing",
        ),
        (
            format!("{}.what", tp("cc", TRACE, PARENT, "01")),
            Err(TraceParentError::TrailingData),
            "suite test_traceparent_version_0xcc: byte 55 must be '-'",
        ),
        (
            format!("{}-", valid),
            Err(TraceParentError::TrailingData),
            "suite test_traceparent_version_0x00: trailing dash",
        ),
        (
            format!("{}-what", valid),
            Err(TraceParentError::TrailingData),
            "L1 §3.2.4 version 00 has no trailing data",
        ),
        (
            format!("{}0", valid),
            Err(TraceParentError::TrailingData),
            "L1 §3.2.2 version 00 is 55 bytes",
        ),
        (
            tp("ff", TRACE, PARENT, "01"),
            Err(TraceParentError::ForbiddenVersion),
            "L1 §3.2.2.1 version ff forbidden",
        ),
        (
            tp("0", TRACE, PARENT, "01"),
            Err(TraceParentError::InvalidVersion),
            "suite test_traceparent_version_too_short",
        ),
        (
            tp("000", TRACE, PARENT, "01"),
            Err(TraceParentError::MissingDash),
            "suite test_traceparent_version_too_long",
        ),
        (
            tp("0000", TRACE, PARENT, "01"),
            Err(TraceParentError::MissingDash),
            "suite test_traceparent_version_too_long",
        ),
        (
            tp(".0", TRACE, PARENT, "01"),
            Err(TraceParentError::InvalidVersion),
            "suite test_traceparent_version_illegal_characters",
        ),
        (
            tp("0.", TRACE, PARENT, "01"),
            Err(TraceParentError::InvalidVersion),
            "suite test_traceparent_version_illegal_characters",
        ),
        (
            tp("0A", TRACE, PARENT, "01"),
            Err(TraceParentError::InvalidVersion),
            "L1 §3.2.2 lowercase hex only (version)",
        ),
        (
            tp("+0", TRACE, PARENT, "01"),
            Err(TraceParentError::InvalidVersion),
            "lowercase hex only: '+' is not a digit",
        ),
        (
            tp("00", &TRACE.to_uppercase(), PARENT, "01"),
            Err(TraceParentError::InvalidTraceId),
            "L1 §3.2.2.3 lowercase hex only (trace-id)",
        ),
        (
            tp("00", "4bf92f3577b34da6a3ce929d0e0e473.", PARENT, "01"),
            Err(TraceParentError::InvalidTraceId),
            "suite test_traceparent_trace_id_illegal_characters",
        ),
        (
            tp("00", "+bf92f3577b34da6a3ce929d0e0e4736", PARENT, "01"),
            Err(TraceParentError::InvalidTraceId),
            "'+' is not hex (from_str_radix accepts it)",
        ),
        (
            tp("00", "00000000000000000000000000000000", PARENT, "01"),
            Err(TraceParentError::ZeroTraceId),
            "L1 §3.2.2.3 all-zero trace-id",
        ),
        (
            tp("00", "4bf92f3577b34da6a3ce929d0e0e473", PARENT, "01"),
            Err(TraceParentError::TooShort),
            "suite test_traceparent_trace_id_too_short",
        ),
        (
            tp("00", "4bf92f3577b34da6a3ce929d0e0e47366", PARENT, "01"),
            Err(TraceParentError::MissingDash),
            "suite test_traceparent_trace_id_too_long",
        ),
        (
            tp("00", TRACE, "00F067AA0BA902B7", "01"),
            Err(TraceParentError::InvalidParentId),
            "L1 §3.2.2.4 lowercase hex only (parent-id)",
        ),
        (
            tp("00", TRACE, "00f067aa0ba902b.", "01"),
            Err(TraceParentError::InvalidParentId),
            "suite test_traceparent_parent_id_illegal_characters",
        ),
        (
            tp("00", TRACE, "0000000000000000", "01"),
            Err(TraceParentError::ZeroParentId),
            "L1 §3.2.2.4 all-zero parent-id",
        ),
        (
            tp("00", TRACE, "00f067aa0ba902b", "01"),
            Err(TraceParentError::TooShort),
            "suite test_traceparent_parent_id_too_short",
        ),
        (
            tp("00", TRACE, "00f067aa0ba902b77", "01"),
            Err(TraceParentError::MissingDash),
            "suite test_traceparent_parent_id_too_long",
        ),
        (
            tp("00", TRACE, PARENT, ".0"),
            Err(TraceParentError::InvalidFlags),
            "suite test_traceparent_trace_flags_illegal_characters",
        ),
        (
            tp("00", TRACE, PARENT, "0A"),
            Err(TraceParentError::InvalidFlags),
            "L1 §3.2.2.5 lowercase hex only (flags)",
        ),
        (
            tp("00", TRACE, PARENT, "0"),
            Err(TraceParentError::TooShort),
            "suite test_traceparent_trace_flags_too_short",
        ),
        (
            tp("00", TRACE, PARENT, "001"),
            Err(TraceParentError::TrailingData),
            "suite test_traceparent_trace_flags_too_long",
        ),
        (
            format!("00_{TRACE}-{PARENT}-01"),
            Err(TraceParentError::MissingDash),
            "L1 §3.2.2 dash at byte 2",
        ),
        (
            format!("00-{TRACE}_{PARENT}-01"),
            Err(TraceParentError::MissingDash),
            "L1 §3.2.2 dash at byte 35",
        ),
        (
            format!("00-{TRACE}-{PARENT}_01"),
            Err(TraceParentError::MissingDash),
            "L1 §3.2.2 dash at byte 52",
        ),
        (
            String::new(),
            Err(TraceParentError::TooShort),
            "empty value",
        ),
        (
            "   ".to_string(),
            Err(TraceParentError::TooShort),
            "OWS only",
        ),
        (
            format!("00-{TRACE}-{PARENT}-01,00-{TRACE}-{PARENT}-01"),
            Err(TraceParentError::TrailingData),
            "two values joined in one field",
        ),
        (
            format!("00-{TRACE}-{PARENT}- 1"),
            Err(TraceParentError::InvalidFlags),
            "space inside the value",
        ),
    ];
    for (input, expected, rule) in &cases {
        let got = TraceParent::parse(input.as_bytes()).map(|tp| tp.to_string());
        assert_eq!(
            got.as_deref().map_err(|e| *e),
            *expected,
            "{rule}: {input:?}"
        );
    }
}

#[test]
fn traceparent_accessors_match_input() {
    let parsed = TraceParent::parse(tp("00", TRACE, PARENT, "03").as_bytes()).unwrap();
    assert_eq!(parsed.trace_id().to_string(), TRACE);
    assert_eq!(parsed.parent_id().to_string(), PARENT);
    assert!(parsed.is_sampled() && parsed.is_random());
    assert_eq!(parsed.trace_flags().to_u8(), 3);
}

fn headers(fields: &[(&http::HeaderName, &[u8])]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in fields {
        map.append((*name).clone(), HeaderValue::from_bytes(value).unwrap());
    }
    map
}

#[test]
fn header_map_rules() {
    let valid = tp("00", TRACE, PARENT, "01");
    let other = tp(
        "00",
        "0af7651916cd43dd8448eb211c80319c",
        "b7ad6b7169203331",
        "01",
    );

    // suite test_traceparent_duplicated: two traceparent fields start a new trace.
    let map = headers(&[
        (&TRACEPARENT, valid.as_bytes()),
        (&TRACEPARENT, other.as_bytes()),
    ]);
    assert_eq!(
        TraceContextHeaders::from_headers(&map),
        Err(TraceParentError::Duplicate)
    );
    assert!(!extract(&map).has_active_span());

    // L1 §3.2: even two identical fields are invalid.
    let map = headers(&[
        (&TRACEPARENT, valid.as_bytes()),
        (&TRACEPARENT, valid.as_bytes()),
    ]);
    assert_eq!(
        TraceContextHeaders::from_headers(&map),
        Err(TraceParentError::Duplicate)
    );

    // No traceparent: missing; tracestate alone is ignored (L1 §3.3).
    let map = headers(&[(&TRACESTATE, b"foo=1")]);
    assert_eq!(
        TraceContextHeaders::from_headers(&map),
        Err(TraceParentError::Missing)
    );
    assert!(!extract(&map).has_active_span());

    // L1 §3.3: an invalid traceparent means tracestate is not parsed; the
    // error reported is the traceparent's, never the tracestate's.
    let map = headers(&[(&TRACEPARENT, b"00-bad"), (&TRACESTATE, b"BAD KEY")]);
    assert_eq!(
        TraceContextHeaders::from_headers(&map),
        Err(TraceParentError::TooShort)
    );

    // Non-UTF-8 / obs-text bytes are just invalid input.
    let map = headers(&[(&TRACEPARENT, b"00-\xff\xfe")]);
    assert_eq!(
        TraceContextHeaders::from_headers(&map),
        Err(TraceParentError::TooShort)
    );
    let map = headers(&[
        (&TRACEPARENT, valid.as_bytes()),
        (&TRACESTATE, b"foo=\xe9t\xe9"),
    ]);
    let parsed = TraceContextHeaders::from_headers(&map).unwrap();
    assert_eq!(
        parsed.tracestate_error(),
        Some(TraceStateError::InvalidValue { member: 0 })
    );

    // L1 §3.3.1.1: an invalid tracestate is discarded, traceparent kept.
    let map = headers(&[(&TRACEPARENT, valid.as_bytes()), (&TRACESTATE, b"foo=1,=2")]);
    let parsed = TraceContextHeaders::from_headers(&map).unwrap();
    assert!(parsed.tracestate().is_empty());
    assert_eq!(parsed.traceparent().to_string(), valid);
    let cx = extract(&map);
    assert_eq!(cx.span().span_context().trace_id().to_string(), TRACE);
    assert!(cx.span().span_context().trace_state().header().is_empty());
}

/// Validates `fields` (each one `tracestate` field) and renders the result as
/// the combined header, or the error.
fn tracestate(fields: &[&[u8]]) -> Result<String, TraceStateError> {
    let valid = tp("00", TRACE, PARENT, "01");
    let mut map = headers(&[(&TRACEPARENT, valid.as_bytes())]);
    for field in fields {
        match HeaderValue::from_bytes(field) {
            Ok(value) => map.append(TRACESTATE, value),
            // Control characters never reach a HeaderMap; check the parser directly.
            Err(_) => {
                return TraceStateView::parse(field).map(|_| unreachable!("{field:?} parsed"));
            }
        };
    }
    let view = TraceStateView::from_headers(&map)?;
    Ok(view
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(","))
}

#[test]
fn tracestate_rules() {
    let k256 = "k".repeat(256);
    let k257 = "k".repeat(257);
    let v256 = "v".repeat(256);
    let v257 = "v".repeat(257);
    let tenant = format!("{}@{}", "t".repeat(241), "v".repeat(14));
    let long_vendor = format!("t@{}", "v".repeat(20));
    let thirty_two = (1..=32)
        .map(|i| format!("bar{i:02}={i:02}"))
        .collect::<Vec<_>>()
        .join(",");
    let thirty_three = format!("{thirty_two},bar33=33");
    let with_k256 = format!("{k256}=1");
    let with_k257 = format!("{k257}=1");
    let with_v256 = format!("foo={v256}");
    let with_v257 = format!("foo={v257}");
    let with_tenant = format!("{tenant}=1");
    let with_long_vendor = format!("{long_vendor}=1");

    let ok = |s: &str| Ok::<String, TraceStateError>(s.to_string());
    type Case<'a> = (Vec<&'a [u8]>, Result<String, TraceStateError>, &'a str);
    let cases: Vec<Case<'_>> = vec![
        (vec![b"foo=1"], ok("foo=1"), "L1 §3.3.1 one member"),
        (vec![b"foo=1,bar=2"], ok("foo=1,bar=2"), "L1 §3.3.1 list"),
        (
            vec![b"foo=1", b"bar=2"],
            ok("foo=1,bar=2"),
            "suite test_tracestate_multiple_headers_different_keys: fields combined in order",
        ),
        (
            vec![b"", b"foo=1", b""],
            ok("foo=1"),
            "suite test_tracestate_empty_header: empty fields skipped",
        ),
        (
            vec![b"foo=1,,bar=2"],
            ok("foo=1,bar=2"),
            "L1 §3.3.1 empty members allowed",
        ),
        (
            vec![b" , \t,foo=1"],
            ok("foo=1"),
            "L1 §3.3.1 whitespace-only members allowed",
        ),
        (
            vec![b"foo=1 \t"],
            ok("foo=1"),
            "L2 §3.3.1.1 trailing OWS of a member",
        ),
        (
            vec![b"foo=1,\t\tbar=2"],
            ok("foo=1,bar=2"),
            "suite test_tracestate_ows_handling: leading OWS",
        ),
        (
            vec![b"foo= 1"],
            ok("foo= 1"),
            "L2 §3.3.1.3.2 leading spaces are part of the value",
        ),
        (
            vec![b"foo=1,foo=2"],
            ok("foo=1"),
            "suite test_tracestate_duplicated_keys: keep the first",
        ),
        (
            vec![b"foo=1", b"bar=2,foo=3"],
            ok("foo=1,bar=2"),
            "duplicate across fields: keep the first",
        ),
        (
            vec![b"tenant@vendor=1"],
            ok("tenant@vendor=1"),
            "L1 §3.3.1.3.1 multi-tenant key",
        ),
        (
            vec![b"foo@bar@baz=1"],
            ok("foo@bar@baz=1"),
            "L2 §3.3.1.3.1 key: '@' allowed anywhere after the first char",
        ),
        (
            vec![b"foo@=1"],
            ok("foo@=1"),
            "L2 §3.3.1.3.1 key may end in '@'",
        ),
        (
            vec![b"a_-*/@9=1"],
            ok("a_-*/@9=1"),
            "L2 §3.3.1.3.1 every special key character",
        ),
        (
            vec![b"0foo=1"],
            ok("0foo=1"),
            "L2 §3.3.1.3.1 key may start with a digit",
        ),
        (
            vec![with_k256.as_bytes()],
            ok(&with_k256),
            "L2 §3.3.1.3.1 key of 256 chars",
        ),
        (
            vec![with_tenant.as_bytes()],
            ok(&with_tenant),
            "suite test_tracestate_key_length_limit: 241@14",
        ),
        (
            vec![with_long_vendor.as_bytes()],
            ok(&with_long_vendor),
            "L2: long vendor part after '@'",
        ),
        (
            vec![with_v256.as_bytes()],
            ok(&with_v256),
            "L1 §3.3.1.3.2 value of 256 chars",
        ),
        (
            vec![b"foo=!\"#$%&'()*+-./:;<>?@[\\]^_`{|}~"],
            ok("foo=!\"#$%&'()*+-./:;<>?@[\\]^_`{|}~"),
            "L1 §3.3.1.3.2 printable ASCII value",
        ),
        (
            vec![thirty_two.as_bytes()],
            ok(&thirty_two),
            "suite test_tracestate_member_count_limit: 32 members",
        ),
        (
            vec![b"@foo=1"],
            Err(TraceStateError::InvalidKey { member: 0 }),
            "L2 §3.3.1.3.1 key must not start with '@'",
        ),
        (
            vec![b"Foo=1"],
            Err(TraceStateError::InvalidKey { member: 0 }),
            "L1 §3.3.1.3.1 uppercase key",
        ),
        (
            vec![b"foo=1,_bar=2"],
            Err(TraceStateError::InvalidKey { member: 1 }),
            "L1 §3.3.1.3.1 key must start with lcalpha/digit",
        ),
        (
            vec![b"foo =1"],
            Err(TraceStateError::InvalidKey { member: 0 }),
            "suite test_tracestate_key_illegal_characters: space in key",
        ),
        (
            vec![b"foo.bar=1"],
            Err(TraceStateError::InvalidKey { member: 0 }),
            "suite test_tracestate_key_illegal_characters: '.'",
        ),
        (
            vec![with_k257.as_bytes()],
            Err(TraceStateError::InvalidKey { member: 0 }),
            "L2 §3.3.1.3.1 key over 256 chars",
        ),
        (
            vec![b"=1"],
            Err(TraceStateError::InvalidKey { member: 0 }),
            "L1 §3.3.1.3.1 empty key",
        ),
        (
            vec![b"foo"],
            Err(TraceStateError::MissingEquals { member: 0 }),
            "L1 §3.3.1.3 member without '='",
        ),
        (
            vec![b"foo="],
            Err(TraceStateError::InvalidValue { member: 0 }),
            "L1 §3.3.1.3.2 empty value",
        ),
        (
            vec![b"foo=  "],
            Err(TraceStateError::InvalidValue { member: 0 }),
            "L1 §3.3.1.3.2 blank value",
        ),
        (
            vec![b"foo=1=2"],
            Err(TraceStateError::InvalidValue { member: 0 }),
            "suite test_tracestate_value_illegal_characters: '='",
        ),
        (
            vec![b"foo=\x19"],
            Err(TraceStateError::InvalidValue { member: 0 }),
            "L1 §3.3.1.3.2 control character",
        ),
        (
            vec![b"foo=a\tb"],
            Err(TraceStateError::InvalidValue { member: 0 }),
            "L1 §3.3.1.3.2 tab inside a value",
        ),
        (
            vec![b"foo=\x7f"],
            Err(TraceStateError::InvalidValue { member: 0 }),
            "L1 §3.3.1.3.2 DEL",
        ),
        (
            vec![with_v257.as_bytes()],
            Err(TraceStateError::InvalidValue { member: 0 }),
            "L1 §3.3.1.3.2 value over 256 chars",
        ),
        (
            vec![thirty_three.as_bytes()],
            Err(TraceStateError::TooManyMembers),
            "suite test_tracestate_member_count_limit: 33 members discard all",
        ),
        (
            vec![thirty_two.as_bytes(), b"x=1"],
            Err(TraceStateError::TooManyMembers),
            "L1 §3.3.1.1 the limit spans all fields",
        ),
        (
            vec![b"foo=1", b"bar"],
            Err(TraceStateError::MissingEquals { member: 1 }),
            "an invalid member in a later field discards all",
        ),
    ];
    for (fields, expected, rule) in &cases {
        assert_eq!(tracestate(fields), *expected, "{rule}: {fields:?}");
    }
}

#[test]
fn tracestate_survives_extract_and_inject_unchanged() {
    // L1 §3.3: an unchanged trace keeps its tracestate; all fields are combined.
    let valid = tp("00", TRACE, PARENT, "01");
    let map = headers(&[
        (&TRACEPARENT, valid.as_bytes()),
        (&TRACESTATE, b"congo=t61rcWkgMzE"),
        (&TRACESTATE, b"rojo=00f067aa0ba902b7, foo= 1"),
    ]);
    let mut out = HeaderMap::new();
    inject(&extract(&map), &mut out);
    assert_eq!(out[TRACEPARENT], valid.as_str());
    assert_eq!(
        out[TRACESTATE],
        "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7,foo= 1"
    );
    assert_eq!(out.get_all(TRACESTATE).iter().count(), 1);
}

#[test]
fn vendor_tracestates_from_the_seed_documents_pass_through() {
    // Dynatrace RUM's `dtr` entry (multi-tenant key, `;` in the value) and
    // Datadog's `dd` entry (`:` and `;`): kept as received.
    let dynatrace = "2ead957c-980df25b@dtr=1;97039bf817c8584a;1;745a78fe5b6e57f6;1777270045450K7QJCFPI7NLPJ913DJBJK2MLMAS2UG2F;VAELUWHBCWKLNEOKJHEPMSKMITTKOBUT-0";
    let combined = format!("{dynatrace},dd=s:1;o:rum");
    let valid = "00-5b9e8443aa84b5cb5c329fbd8dc9a520-97039bf817c8584a-01";
    let map = headers(&[
        (&TRACEPARENT, valid.as_bytes()),
        (&TRACESTATE, combined.as_bytes()),
    ]);
    let parsed = TraceContextHeaders::from_headers(&map).unwrap();
    assert_eq!(parsed.tracestate().len(), 2);
    let mut out = HeaderMap::new();
    inject(&extract(&map), &mut out);
    assert_eq!(out[TRACEPARENT], valid);
    assert_eq!(out[TRACESTATE], combined.as_str());
}

#[test]
fn inject_never_writes_an_empty_tracestate() {
    let valid = tp("00", TRACE, PARENT, "01");
    let map = headers(&[(&TRACEPARENT, valid.as_bytes()), (&TRACESTATE, b" , ")]);
    let mut out = headers(&[(&TRACESTATE, b"stale=1")]);
    inject(&extract(&map), &mut out);
    assert_eq!(out[TRACEPARENT], valid.as_str());
    assert!(out.get(TRACESTATE).is_none(), "{out:?}");

    // An invalid context writes nothing at all.
    let mut out = HeaderMap::new();
    inject(&opentelemetry::Context::new(), &mut out);
    assert!(out.is_empty());
}

#[test]
fn owned_tracestate_mutation_rules() {
    // L1 §3.5: a modified key moves to the left.
    let mut ts: OwnedTraceState = "a=1,b=2,c=3".parse().unwrap();
    ts.insert("c", "9").unwrap();
    assert_eq!(ts.to_string(), "c=9,a=1,b=2");
    // L1 §3.5: a new key is added to the left.
    ts.insert("d", "4").unwrap();
    assert_eq!(ts.to_string(), "d=4,c=9,a=1,b=2");

    // L1 §3.3.1.1: adding a 33rd member drops the right-most.
    let mut full: OwnedTraceState = (0..32)
        .map(|i| format!("k{i}=v"))
        .collect::<Vec<_>>()
        .join(",")
        .parse()
        .unwrap();
    assert_eq!(full.len(), 32);
    let dropped = full.insert("new", "1").unwrap();
    assert_eq!(dropped, Some(("k31".into(), "v".into())));
    assert_eq!(full.len(), 32);
    assert_eq!(full.iter().next(), Some(("new", "1")));

    // Invalid keys and values are typed errors, the list is unchanged.
    assert_eq!(
        full.insert("x", "a,b"),
        Err(TraceStateError::InvalidValue { member: 0 })
    );
    assert_eq!(
        full.insert("x", ""),
        Err(TraceStateError::InvalidValue { member: 0 })
    );
    assert_eq!(full.len(), 32);
}

#[test]
fn owned_tracestate_truncation() {
    // L1 §3.3.1.5: at least 512 characters survive; when truncating, members
    // over 128 characters go first, then members from the right.
    let big = format!("big={}", "x".repeat(200));
    let small: Vec<String> = (0..40)
        .map(|i| format!("k{i:02}={}", "y".repeat(20)))
        .take(32)
        .collect();
    // 31 members of 24 chars + one of 204: 31*24 + 204 + 31 commas = 979 chars.
    let mut ts = OwnedTraceState::new();
    for member in small.iter().take(31).rev() {
        let (k, v) = member.split_once('=').unwrap();
        ts.insert(k, v).unwrap();
    }
    let (k, v) = big.split_once('=').unwrap();
    ts.insert(k, v).unwrap();
    assert_eq!(ts.len(), 32);
    let out = ts.to_header_value().unwrap();
    let out = out.to_str().unwrap();
    assert!(out.len() <= 512, "{}", out.len());
    assert!(!out.contains("big="), "the long member goes first");
    assert!(out.starts_with("k00="), "left-most members are kept");
    // Greedy from the right: 20 members of 24 chars + 19 commas = 499.
    assert_eq!(out.split(',').count(), 20);
    assert_eq!(out.len(), 499);

    // Under the limit nothing is dropped.
    let short: OwnedTraceState = "a=1,b=2".parse().unwrap();
    assert_eq!(short.to_header_value().unwrap(), "a=1,b=2");
}

#[test]
fn otel_trace_state_conversion_keeps_what_it_can_hold() {
    // OpenTelemetry 0.33 rejects keys with two '@'; the other members survive in order.
    let view = TraceStateView::parse("a=1,foo@bar@baz=2,b=3").unwrap();
    assert_eq!(view.len(), 3);
    assert_eq!(view.to_trace_state().header(), "a=1,b=3");
}

/// An `Extractor` over a `HeaderMap` that, like opentelemetry-http's
/// `HeaderExtractor`, returns every field from `get_all`.
struct Headers<'a>(&'a HeaderMap);

impl opentelemetry::propagation::Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
    fn get_all(&self, key: &str) -> Option<Vec<&str>> {
        let all: Vec<&str> = self
            .0
            .get_all(key)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        (!all.is_empty()).then_some(all)
    }
}

#[test]
fn text_map_propagator_uses_every_field() {
    use opentelemetry::propagation::TextMapPropagator;
    use std::collections::HashMap;
    use tower_trace_context::TraceContextPropagator;

    let propagator = TraceContextPropagator::new();
    assert_eq!(
        propagator.fields().collect::<Vec<_>>(),
        ["traceparent", "tracestate"]
    );

    let valid = tp("00", TRACE, PARENT, "01");
    let map = headers(&[
        (&TRACEPARENT, valid.as_bytes()),
        (&TRACESTATE, b"a=1"),
        (&TRACESTATE, b"b=2"),
    ]);
    let cx = propagator.extract(&Headers(&map));
    let sc = cx.span().span_context().clone();
    assert!(sc.is_remote());
    assert_eq!(sc.trace_state().header(), "a=1,b=2");

    let mut out: HashMap<String, String> = HashMap::new();
    propagator.inject_context(&cx, &mut out);
    assert_eq!(out["traceparent"], valid);
    assert_eq!(out["tracestate"], "a=1,b=2");

    // Duplicate traceparent through the extractor: a new trace.
    let map = headers(&[
        (&TRACEPARENT, valid.as_bytes()),
        (&TRACEPARENT, valid.as_bytes()),
    ]);
    assert!(!propagator.extract(&Headers(&map)).has_active_span());
}
