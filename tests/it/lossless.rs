//! Lossless propagation end to end over real TCP on 127.0.0.1 with the real
//! OpenTelemetry SDK: test client -> service (server layer) -> handler ->
//! client layer (hyper-util) -> recording server. Every valid W3C field the
//! service did not change arrives at the recorder; what the application
//! changed through OpenTelemetry's `TraceState` (here: a sampler, the SDK's
//! own way of changing it per span) is merged by the W3C mutation rules.

use crate::support::http_support;
use crate::support::otel;
use crate::support::relay;

use std::net::SocketAddr;

use http::{HeaderMap, Method};
use opentelemetry::trace::{Link, SpanKind, TraceContextExt, TraceId};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{Sampler, SamplingDecision, SamplingResult, ShouldSample};
use tower_trace_context::TraceParent;
use tower_trace_context::server::{Decision, TraceContextLayer};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";

/// The three Level 2 keys OpenTelemetry 0.33's `TraceState` refuses.
fn refused_keys() -> [String; 3] {
    [
        "foo@@bar".to_owned(),
        "foo@bar@baz".to_owned(),
        format!("{}@{}", "t".repeat(241), "v".repeat(14)),
    ]
}

/// The service under test (`support/relay.rs`), answering with its
/// `RequestTrace` decision.
async fn service(layer: TraceContextLayer, recorder: SocketAddr) -> SocketAddr {
    relay::service(layer, recorder, |trace| format!("{:?}", trace.decision())).await
}

/// One request into the service with `headers`; the reply and the headers
/// of the one outgoing request the recorder got.
async fn relay(headers: &[(&str, &str)]) -> (http_support::Reply, HeaderMap) {
    relay_with(TraceContextLayer::new(), headers).await
}

async fn relay_with(
    layer: TraceContextLayer,
    headers: &[(&str, &str)],
) -> (http_support::Reply, HeaderMap) {
    let (recorder, seen) = http_support::recorder().await;
    let addr = service(layer, recorder).await;
    let reply = http_support::send(Method::GET, &format!("http://{addr}/api"), headers).await;
    assert!(reply.status.is_success(), "{reply:?}");
    let mut seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    (reply, seen.remove(0))
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut all = headers.get_all(name).iter();
    let one = all.next().map(|v| v.to_str().unwrap().to_owned());
    assert!(all.next().is_none(), "one {name} field");
    one
}

fn tp(flags: &str) -> String {
    format!("00-{TRACE}-{PARENT}-{flags}")
}

/// The `traceparent` of the `server-timing` entry.
fn server_timing_traceparent(reply: &http_support::Reply) -> TraceParent {
    let entry = reply
        .all("server-timing")
        .into_iter()
        .find(|e| e.starts_with("traceparent;"))
        .expect("a traceparent server-timing entry");
    let desc = entry.split("desc=\"").nth(1).unwrap().trim_end_matches('"');
    desc.parse().unwrap()
}

#[tokio::test]
async fn level_2_keys_opentelemetry_refuses_go_out_unchanged() {
    let otel = otel::install();
    for key in refused_keys() {
        let tracestate = format!("rojo=00f067aa0ba902b7,{key}=1,congo=t61rcWkgMzE");
        let (_, out) = relay(&[("traceparent", &tp("01")), ("tracestate", &tracestate)]).await;
        assert_eq!(header(&out, "tracestate"), Some(tracestate), "key {key}");
        // The trace is continued: same trace id, the client span as parent.
        let sent: TraceParent = header(&out, "traceparent").unwrap().parse().unwrap();
        assert_eq!(sent.trace_id(), otel::trace_id(TRACE));
        assert_ne!(sent.parent_id(), otel::span_id(PARENT));
    }
    // The SDK's spans hold what its TraceState can: the refused key is not
    // in them, which is why the wire context has to carry it.
    let spans = otel.spans(6).await;
    let server = spans
        .iter()
        .find(|s| s.span_kind == SpanKind::Server)
        .unwrap();
    assert_eq!(
        server.span_context.trace_state().header(),
        "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"
    );
}

#[tokio::test]
async fn every_flag_combination_is_kept_in_traceparent_and_server_timing() {
    let _otel = otel::install();
    for flags in ["00", "01", "02", "03"] {
        let (reply, out) = relay(&[("traceparent", &tp(flags))]).await;
        let sent: TraceParent = header(&out, "traceparent").unwrap().parse().unwrap();
        let want = u8::from_str_radix(flags, 16).unwrap();
        assert_eq!(sent.trace_id(), otel::trace_id(TRACE), "flags {flags}");
        assert_eq!(sent.received_flags(), want, "outgoing flags for {flags}");
        let timing = server_timing_traceparent(&reply);
        assert_eq!(timing.trace_id(), otel::trace_id(TRACE));
        assert_eq!(
            timing.received_flags(),
            want,
            "server-timing flags for {flags}"
        );
        assert!(header(&out, "tracestate").is_none());
        assert_eq!(reply.body, "Continued");
    }
    // Unknown flag bits are not passed on.
    let (_, out) = relay(&[("traceparent", &tp("ff"))]).await;
    assert!(header(&out, "traceparent").unwrap().ends_with("-03"));
}

/// A sampler that samples every span and changes its `TraceState` through
/// OpenTelemetry's API: inserts, updates (an insert of an existing key) and
/// deletes, in order.
#[derive(Clone, Debug)]
struct Mutate(Vec<(&'static str, Option<&'static str>)>);

impl ShouldSample for Mutate {
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        _trace_id: TraceId,
        _name: &str,
        _span_kind: &SpanKind,
        _attributes: &[KeyValue],
        _links: &[Link],
    ) -> SamplingResult {
        let mut trace_state = parent_context
            .map(|cx| cx.span().span_context().trace_state().clone())
            .unwrap_or_default();
        for (key, value) in &self.0 {
            trace_state = match value {
                Some(value) => trace_state.insert(*key, *value).unwrap(),
                None => trace_state.delete(*key).unwrap(),
            };
        }
        SamplingResult {
            decision: SamplingDecision::RecordAndSample,
            attributes: Vec::new(),
            trace_state,
        }
    }
}

#[tokio::test]
async fn changes_through_opentelemetry_are_merged_with_refused_members() {
    let [two_ats, three_parts, long] = refused_keys();
    let _otel = otel::install_with(Mutate(vec![
        ("ours", Some("v1")),   // insert
        ("congo", Some("new")), // update
        ("rojo", None),         // delete
    ]));
    let incoming = format!("rojo=1,{two_ats}=x,congo=2,{three_parts}=y,last=3,{long}=z");
    let (reply, out) = relay(&[("traceparent", &tp("03")), ("tracestate", &incoming)]).await;
    // Changed keys on the left (in the order OpenTelemetry holds them), the
    // deleted one gone, every other member in its place.
    assert_eq!(
        header(&out, "tracestate"),
        Some(format!(
            "congo=new,ours=v1,{two_ats}=x,{three_parts}=y,last=3,{long}=z"
        ))
    );
    // The random flag is kept with the trace id.
    assert!(header(&out, "traceparent").unwrap().ends_with("-03"));
    assert_eq!(server_timing_traceparent(&reply).received_flags(), 0x03);

    // Deleting a key nobody sent changes nothing; inserting a key again with
    // the same value moves it left, as OpenTelemetry's TraceState holds it.
    let incoming = format!("ours=v1,congo=new,{two_ats}=x");
    let (_, out) = relay(&[("traceparent", &tp("01")), ("tracestate", &incoming)]).await;
    assert_eq!(
        header(&out, "tracestate").unwrap(),
        format!("congo=new,ours=v1,{two_ats}=x")
    );
}

#[tokio::test]
async fn thirty_two_members_kept_and_a_33rd_drops_the_right_most() {
    let _otel = otel::install_with(Mutate(vec![("ours", Some("1"))]));
    // 32 members, every fourth one a key OpenTelemetry refuses.
    let members: Vec<String> = (0..32)
        .map(|i| match i % 4 {
            0 => format!("k{i}@@x=v"),
            _ => format!("k{i}=v"),
        })
        .collect();
    let incoming = members.join(",");
    assert!(incoming.len() < 512);
    let (_, out) = relay(&[("traceparent", &tp("01")), ("tracestate", &incoming)]).await;
    let want = format!("ours=1,{}", members[..31].join(","));
    assert_eq!(header(&out, "tracestate"), Some(want));
}

#[tokio::test]
async fn truncation_to_512_applies_to_the_merged_list() {
    let _otel = otel::install_with(Mutate(vec![("ours", Some("1"))]));
    // No member over 128 characters: members go from the right.
    let (a, b, c, d) = (
        "a".repeat(122),
        "b".repeat(122),
        "c".repeat(122),
        "d".repeat(122),
    );
    let incoming = format!("a@@x={a},bbbb={b},c@@y={c},dddd={d}");
    assert!(incoming.len() <= 512 && incoming.len() + 7 > 512);
    let (_, out) = relay(&[("traceparent", &tp("01")), ("tracestate", &incoming)]).await;
    assert_eq!(
        header(&out, "tracestate"),
        Some(format!("ours=1,a@@x={a},bbbb={b},c@@y={c}"))
    );
}

#[tokio::test]
async fn unchanged_input_is_passed_on_normalised() {
    let _otel = otel::install();
    // OWS, empty members, a duplicate key and two fields: normalised, first
    // occurrence kept, refused keys in place.
    let (_, out) = relay(&[
        ("traceparent", &tp("02")),
        ("tracestate", " rojo=1 ,, foo@@bar= x\t"),
        ("tracestate", "rojo=2,congo=3"),
    ])
    .await;
    assert_eq!(
        header(&out, "tracestate"),
        Some("rojo=1,foo@@bar= x,congo=3".to_owned())
    );
    // A future version goes out as version 00 with the known flags.
    let (_, out) = relay(&[("traceparent", &format!("cc-{TRACE}-{PARENT}-03-future"))]).await;
    let sent = header(&out, "traceparent").unwrap();
    assert!(
        sent.starts_with(&format!("00-{TRACE}-")) && sent.ends_with("-03"),
        "{sent}"
    );
}

#[tokio::test]
async fn traces_started_here_get_the_random_flag_only_when_configured() {
    let _otel = otel::install_with(Sampler::AlwaysOn);
    let (reply, out) = relay(&[]).await;
    assert!(header(&out, "traceparent").unwrap().ends_with("-01"));
    assert_eq!(server_timing_traceparent(&reply).received_flags(), 0x01);
    assert!(reply.body.starts_with("NewTrace"));

    let random = || TraceContextLayer::new().random_trace_ids(true);
    let (reply, out) = relay_with(random(), &[]).await;
    let sent: TraceParent = header(&out, "traceparent").unwrap().parse().unwrap();
    assert_eq!(sent.received_flags(), 0x03);
    let timing = server_timing_traceparent(&reply);
    assert_eq!(
        (timing.trace_id(), timing.received_flags()),
        (sent.trace_id(), 0x03)
    );

    // A continued trace keeps the flag it came with, whatever the switch.
    let (reply, out) = relay_with(random(), &[("traceparent", &tp("01"))]).await;
    assert!(header(&out, "traceparent").unwrap().ends_with("-01"));
    assert_eq!(server_timing_traceparent(&reply).received_flags(), 0x01);
    assert_eq!(reply.body, format!("{:?}", Decision::Continued));
}

#[tokio::test]
async fn trace_state_built_by_the_sdk_alone_is_encoded_as_is() {
    // No incoming tracestate: what the application inserts goes out alone.
    let _otel = otel::install_with(Mutate(vec![("ours", Some("1"))]));
    let (_, out) = relay(&[("traceparent", &tp("01"))]).await;
    assert_eq!(header(&out, "tracestate"), Some("ours=1".to_owned()));
}
