//! W3C Baggage: a table per rule (each row cites the rule of
//! <https://www.w3.org/TR/baggage/>), limits, round trips through
//! OpenTelemetry's `Baggage`, and the `TextMapPropagator`.

use std::collections::HashMap;

use http::{HeaderMap, HeaderValue};
use opentelemetry::baggage::{Baggage, BaggageExt};
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::{Context, KeyValue};
use tower_trace_context::{
    BAGGAGE, BaggageError, BaggagePropagator, BaggageView, MAX_BAGGAGE_BYTES, MAX_BAGGAGE_MEMBERS,
    encode_baggage, extract_baggage, inject_baggage,
};

/// `(key, decoded value, properties)`.
type Member = (String, String, String);

/// Every member of a view.
fn members(view: &BaggageView<'_>) -> Vec<Member> {
    view.iter()
        .map(|m| {
            (
                m.key().to_owned(),
                m.decoded_value().into_owned(),
                m.properties().to_owned(),
            )
        })
        .collect()
}

fn m(k: &str, v: &str, p: &str) -> Member {
    (k.to_owned(), v.to_owned(), p.to_owned())
}

#[test]
fn accepted_values() {
    let rows: &[(&str, &str, Vec<Member>)] = &[
        (
            "§3.2.1 list-member = key OWS \"=\" OWS value",
            "k=v",
            vec![m("k", "v", "")],
        ),
        (
            "§3.2.1 OWS around key, '=' and value",
            " \tk \t= \tv \t",
            vec![m("k", "v", "")],
        ),
        (
            "§3.2.1 OWS around ','",
            "a=1 , b=2\t,c=3",
            vec![m("a", "1", ""), m("b", "2", ""), m("c", "3", "")],
        ),
        (
            "§3.2.1.2 value = *baggage-octet: may be empty",
            "k=",
            vec![m("k", "", "")],
        ),
        (
            "§3.2.1.2 every baggage-octet",
            "k=!#$%25&'()*+-./09:<=>?@AZ[]^_`az{|}~",
            vec![m("k", "!#$%&'()*+-./09:<=>?@AZ[]^_`az{|}~", "")],
        ),
        (
            "§3.2.1.1 key = token: every tchar",
            "!#$%&'*+-.^_`|~09AZaz=1",
            vec![m("!#$%&'*+-.^_`|~09AZaz", "1", "")],
        ),
        (
            "§3.2.1.2 percent-encoded UTF-8 is decoded",
            "k=%E2%9C%93%20ok",
            vec![m("k", "✓ ok", "")],
        ),
        (
            "§3.2.1.2 percent-encoding in either case",
            "k=%c3%a9%C3%A9",
            vec![m("k", "éé", "")],
        ),
        (
            "§3.2.1.2 octets that are not UTF-8 become U+FFFD",
            "k=a%FFb",
            vec![m("k", "a\u{FFFD}b", "")],
        ),
        ("§3.2.1.3 property = key", "k=v;p", vec![m("k", "v", "p")]),
        (
            "§3.2.1.3 property = key OWS \"=\" OWS value",
            "k=v;p=1",
            vec![m("k", "v", "p=1")],
        ),
        (
            "§3.2.1.3 several properties with OWS",
            "k=v ; p1 ; p2 = x ;p3",
            vec![m("k", "v", "p1 ; p2 = x ;p3")],
        ),
        (
            "§3.2.1.3 property value may be empty",
            "k=v;p=",
            vec![m("k", "v", "p=")],
        ),
        (
            "RFC 9110 §5.6.1: empty list members are ignored",
            ",a=1,, ,b=2,",
            vec![m("a", "1", ""), m("b", "2", "")],
        ),
        (
            "duplicate keys are kept in order",
            "a=1,a=2",
            vec![m("a", "1", ""), m("a", "2", "")],
        ),
        (
            "a value may hold '=' (it is a baggage-octet)",
            "k=a=b",
            vec![m("k", "a=b", "")],
        ),
        ("no members at all", "", vec![]),
    ];
    for (rule, input, expected) in rows {
        let view = BaggageView::parse(input).unwrap_or_else(|e| panic!("{rule}: {input:?}: {e}"));
        assert_eq!(&members(&view), expected, "{rule}: {input:?}");
        assert_eq!(view.len(), expected.len(), "{rule}: {input:?}");
    }
}

#[test]
fn rejected_values() {
    use BaggageError::*;
    let rows: &[(&str, &str, BaggageError)] = &[
        (
            "§3.2.1.1 key = token: not empty",
            "=v",
            InvalidKey { member: 0 },
        ),
        (
            "§3.2.1.1 key = token: no separators",
            "a=1,k{=v",
            InvalidKey { member: 1 },
        ),
        (
            "§3.2.1.1 key = token: no space inside",
            "my key=v",
            InvalidKey { member: 0 },
        ),
        (
            "§3.2.1.1 key = token: ASCII only",
            "ké=v",
            InvalidKey { member: 0 },
        ),
        ("§3.2.1 '=' is required", "k", MissingEquals { member: 0 }),
        (
            "§3.2.1 '=' is required before ','",
            "a=1,k,b=2",
            MissingEquals { member: 1 },
        ),
        (
            "§3.2.1 '=' is required before ';'",
            "k;p=1",
            MissingEquals { member: 0 },
        ),
        (
            "§3.2.1.2 value: no DQUOTE",
            "k=\"v\"",
            InvalidValue { member: 0 },
        ),
        (
            "§3.2.1.2 value: no backslash",
            "k=a\\b",
            InvalidValue { member: 0 },
        ),
        (
            "§3.2.1.2 value: no whitespace inside",
            "k=a b",
            InvalidValue { member: 0 },
        ),
        (
            "§3.2.1.2 value: no tab inside",
            "k=a\tb",
            InvalidValue { member: 0 },
        ),
        (
            "§3.2.1.2 value: no non-ASCII",
            "k=é",
            InvalidValue { member: 0 },
        ),
        (
            "§3.2.1.2 value: no controls",
            "k=a\u{7f}",
            InvalidValue { member: 0 },
        ),
        (
            "§3.2.1.2 '%' must start a percent-encoded octet",
            "k=100%",
            InvalidPercent { member: 0 },
        ),
        (
            "§3.2.1.2 '%' needs two hex digits",
            "k=%4",
            InvalidPercent { member: 0 },
        ),
        (
            "§3.2.1.2 '%' needs hex digits",
            "a=1,k=%zz",
            InvalidPercent { member: 1 },
        ),
        (
            "§3.2.1.3 property needs a key",
            "k=v;",
            InvalidProperty { member: 0 },
        ),
        (
            "§3.2.1.3 property needs a key after ';'",
            "k=v;;p",
            InvalidProperty { member: 0 },
        ),
        (
            "§3.2.1.3 property key = token",
            "k=v;p q",
            InvalidProperty { member: 0 },
        ),
        (
            "§3.2.1.3 property value = baggage-octets",
            "k=v;p=\"x\"",
            InvalidProperty { member: 0 },
        ),
        (
            "§3.2.1.3 property value: percent-encoding",
            "k=v;p=%g0",
            InvalidProperty { member: 0 },
        ),
    ];
    for (rule, input, expected) in rows {
        assert_eq!(
            BaggageView::parse(input).err(),
            Some(*expected),
            "{rule}: {input:?}"
        );
    }
}

fn member_list(n: usize) -> String {
    (0..n)
        .map(|i| format!("key{i}=value{i}"))
        .collect::<Vec<_>>()
        .join(",")
}

#[test]
fn limits_64_members_and_8192_bytes() {
    // §3.3: at most 64 list-members ...
    assert_eq!(
        BaggageView::parse(&member_list(MAX_BAGGAGE_MEMBERS))
            .unwrap()
            .len(),
        64
    );
    assert_eq!(
        BaggageView::parse(&member_list(65)).err(),
        Some(BaggageError::TooManyMembers)
    );
    // ... and at most 8192 bytes.
    let exactly = format!("k={}", "v".repeat(MAX_BAGGAGE_BYTES - 2));
    assert_eq!(exactly.len(), 8192);
    assert_eq!(BaggageView::parse(&exactly).unwrap().len(), 1);
    let over = format!("k={}", "v".repeat(MAX_BAGGAGE_BYTES - 1));
    assert_eq!(over.len(), 8193);
    assert_eq!(BaggageView::parse(&over).err(), Some(BaggageError::TooLong));
}

#[test]
fn fields_combine_in_order_and_limits_count_all_of_them() {
    let mut headers = HeaderMap::new();
    headers.append(BAGGAGE, HeaderValue::from_static("a=1"));
    headers.append(BAGGAGE, HeaderValue::from_static(" b=2 ;p"));
    let view = BaggageView::from_headers(&headers).unwrap();
    assert_eq!(members(&view), [m("a", "1", ""), m("b", "2", "p")]);

    // 33 + 32 members over two fields: 65 in all.
    let mut headers = HeaderMap::new();
    headers.append(BAGGAGE, member_list(33).parse().unwrap());
    headers.append(BAGGAGE, member_list(32).parse().unwrap());
    assert_eq!(
        BaggageView::from_headers(&headers).err(),
        Some(BaggageError::TooManyMembers)
    );
    // 2 x 4096 bytes plus the joining comma: 8193.
    let mut headers = HeaderMap::new();
    let half = format!("k={}", "v".repeat(4094));
    headers.append(BAGGAGE, half.parse().unwrap());
    headers.append(BAGGAGE, half.parse().unwrap());
    assert_eq!(
        BaggageView::from_headers(&headers).err(),
        Some(BaggageError::TooLong)
    );
    // An invalid second field rejects the whole baggage; the index counts
    // across fields.
    let mut headers = HeaderMap::new();
    headers.append(BAGGAGE, HeaderValue::from_static("a=1,b=2"));
    headers.append(BAGGAGE, HeaderValue::from_static("c=\"3\""));
    assert_eq!(
        BaggageView::from_headers(&headers).err(),
        Some(BaggageError::InvalidValue { member: 2 })
    );
}

#[test]
fn obs_text_and_non_utf8_bytes_are_invalid_not_a_panic() {
    let mut headers = HeaderMap::new();
    headers.insert(BAGGAGE, HeaderValue::from_bytes(b"k=\xff\xfe").unwrap());
    assert_eq!(
        BaggageView::from_headers(&headers).err(),
        Some(BaggageError::InvalidValue { member: 0 })
    );
    assert!(
        extract_baggage(&Context::new(), &headers)
            .baggage()
            .is_empty()
    );
}

#[test]
fn to_open_telemetry_and_back() {
    let view = BaggageView::parse(
        "userId=alice,serverNode=DF%2028;region=eu,isProduction=false,userId=bob",
    )
    .unwrap();
    let baggage = view.to_baggage();
    assert_eq!(baggage.len(), 3);
    // The first occurrence of a duplicate key wins.
    assert_eq!(baggage.get("userId").map(|v| v.as_str()), Some("alice"));
    let (node, meta) = baggage.get_with_metadata("serverNode").unwrap();
    assert_eq!((node.as_str(), meta.as_str()), ("DF 28", "region=eu"));

    // Encoding writes the same members back (OpenTelemetry's map has no order).
    let encoded = encode_baggage(&baggage).unwrap();
    let mut again = members(&BaggageView::parse(encoded.as_bytes()).unwrap());
    again.sort();
    assert_eq!(
        again,
        [
            m("isProduction", "false", ""),
            m("serverNode", "DF 28", "region=eu"),
            m("userId", "alice", "")
        ]
    );
}

#[test]
fn encoding_percent_encodes_and_enforces_the_limits() {
    let mut baggage = Baggage::new();
    let _ = baggage.insert("k", "a,b;c d\"e\\f%g=h✓");
    let encoded = encode_baggage(&baggage).unwrap();
    assert_eq!(encoded, "k=a%2Cb%3Bc%20d%22e%5Cf%25g=h%E2%9C%93");
    let view = BaggageView::parse(encoded.as_bytes()).unwrap();
    assert_eq!(members(&view), [m("k", "a,b;c d\"e\\f%g=h✓", "")]);

    // Metadata that is not a property list is left out; the member stays.
    let mut baggage = Baggage::new();
    let _ = baggage.insert_with_metadata("k", "v", "not a property");
    assert_eq!(encode_baggage(&baggage).unwrap(), "k=v");

    // More than 64 members or 8192 bytes: members are dropped until both fit
    // (§3.3). OpenTelemetry's own `Baggage` stops at 64 entries, so the byte
    // limit is the one to exercise here.
    let mut baggage = Baggage::new();
    for i in 0..3 {
        let _ = baggage.insert(format!("k{i}"), "x".repeat(3000));
    }
    let encoded = encode_baggage(&baggage).unwrap();
    assert!(encoded.len() <= MAX_BAGGAGE_BYTES, "{}", encoded.len());
    assert_eq!(BaggageView::parse(encoded.as_bytes()).unwrap().len(), 2);
}

#[test]
fn extract_and_inject_through_header_maps() {
    let mut incoming = HeaderMap::new();
    incoming.append(BAGGAGE, HeaderValue::from_static("tenant=acme"));
    incoming.append(BAGGAGE, HeaderValue::from_static("sentry-sample_rate=0.25"));
    let cx = extract_baggage(&Context::new(), &incoming);
    assert_eq!(cx.baggage().len(), 2);

    let mut outgoing = HeaderMap::new();
    outgoing.insert(BAGGAGE, HeaderValue::from_static("stale=1"));
    inject_baggage(&cx, &mut outgoing);
    let mut sent = members(&BaggageView::from_headers(&outgoing).unwrap());
    sent.sort();
    assert_eq!(
        sent,
        [m("sentry-sample_rate", "0.25", ""), m("tenant", "acme", "")]
    );

    // A context without baggage leaves the headers alone.
    let mut untouched = HeaderMap::new();
    untouched.insert(BAGGAGE, HeaderValue::from_static("manual=1"));
    inject_baggage(&Context::new(), &mut untouched);
    assert_eq!(untouched[BAGGAGE], "manual=1");

    // An invalid baggage is dropped as a whole.
    let mut invalid = HeaderMap::new();
    invalid.append(BAGGAGE, HeaderValue::from_static("a=1"));
    invalid.append(BAGGAGE, HeaderValue::from_static("b=%"));
    assert!(
        extract_baggage(&Context::new(), &invalid)
            .baggage()
            .is_empty()
    );
}

#[test]
fn unchanged_baggage_is_passed_on_byte_for_byte() {
    // Order, OWS and percent-encoding as received; two fields joined.
    let mut incoming = HeaderMap::new();
    incoming.append(
        BAGGAGE,
        HeaderValue::from_static("z=1, sentry-release=shop%401.0;p"),
    );
    incoming.append(BAGGAGE, HeaderValue::from_static("a=%E2%9C%93"));
    let cx = extract_baggage(&Context::new(), &incoming);
    let mut outgoing = HeaderMap::new();
    inject_baggage(&cx, &mut outgoing);
    assert_eq!(
        outgoing[BAGGAGE],
        "z=1, sentry-release=shop%401.0;p,a=%E2%9C%93"
    );

    // Through the propagator and any carrier, too.
    let propagator = BaggagePropagator::new();
    let mut carrier = HashMap::new();
    carrier.insert("baggage".to_owned(), "z=1,y=%41".to_owned());
    let mut out = HashMap::new();
    propagator.inject_context(&propagator.extract(&carrier), &mut out);
    assert_eq!(out["baggage"], "z=1,y=%41");

    // Changed baggage is encoded afresh.
    let mut changed = Baggage::new();
    let _ = changed.insert("z", "2");
    let cx = cx.with_baggage(changed);
    let mut outgoing = HeaderMap::new();
    inject_baggage(&cx, &mut outgoing);
    assert_eq!(outgoing[BAGGAGE], "z=2");
}

#[test]
fn propagator_reads_every_field_and_agrees_with_the_sdk_on_valid_input() {
    let propagator = BaggagePropagator::new();
    let mut headers = HeaderMap::new();
    headers.append(BAGGAGE, HeaderValue::from_static("a=1"));
    headers.append(BAGGAGE, HeaderValue::from_static("b=x%20y;p=1"));
    let ours = propagator.extract(&opentelemetry_http::HeaderExtractor(&headers));
    assert_eq!(ours.baggage().len(), 2);
    assert_eq!(ours.baggage().get("b").map(|v| v.as_str()), Some("x y"));

    let mut carrier = HashMap::new();
    carrier.insert("baggage".to_owned(), "a=1,b=x%20y,c=%E2%9C%93".to_owned());
    let ours = propagator.extract(&carrier);
    let sdk = opentelemetry_sdk::propagation::BaggagePropagator::new().extract(&carrier);
    for key in ["a", "b", "c"] {
        assert_eq!(ours.baggage().get(key), sdk.baggage().get(key), "{key}");
    }

    let mut out = HashMap::new();
    propagator.inject_context(
        &Context::new().with_baggage([KeyValue::new("user", "Zoë")]),
        &mut out,
    );
    assert_eq!(out["baggage"], "user=Zo%C3%AB");
    // What the SDK's propagator extracts from ours.
    let back = opentelemetry_sdk::propagation::BaggagePropagator::new().extract(&out);
    assert_eq!(back.baggage().get("user").map(|v| v.as_str()), Some("Zoë"));
    assert_eq!(propagator.fields().collect::<Vec<_>>(), ["baggage"]);
}
