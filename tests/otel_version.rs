//! Without a tracing-opentelemetry layer of the crate's version, the server
//! layer says so: one `WARN` per process, `RequestTrace::decision()` says
//! the context was only passed through, no `server-timing` is written, and
//! the incoming context still reaches outgoing calls unchanged. Real TCP on
//! 127.0.0.1; the subscriber is a real `tracing-subscriber` registry with a
//! layer that records events, and no OpenTelemetry layer.

use tower_trace_context_test_support::{http_support, relay};

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http::Method;
use tower_trace_context::SpanPath;
use tower_trace_context::TRACEPARENT;
use tower_trace_context::server::{Decision, TraceContextLayer, Unlinked};
use tracing_subscriber::layer::SubscriberExt;

const TP: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03";
const TS: &str = "rojo=00f067aa0ba902b7,foo@@bar=1,congo=t61rcWkgMzE";
const BAGGAGE: &str = "tenant=acme, user=%41lice;pii";

/// `(level, target, message)` of every event.
type Events = Arc<Mutex<Vec<(tracing::Level, String, String)>>>;

struct Record(Events);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Record {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Message(String);
        impl tracing::field::Visit for Message {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    self.0 = format!("{value:?}");
                }
            }
        }
        let mut message = Message(String::new());
        event.record(&mut message);
        let meta = event.metadata();
        self.0
            .lock()
            .unwrap()
            .push((*meta.level(), meta.target().to_owned(), message.0));
    }
}

/// The service under test (`tests/support/relay.rs`); the handler answers with
/// the decision, the server span's `traceparent` and the incoming
/// baggage's `tenant` as it reads them.
async fn service(recorder: SocketAddr) -> SocketAddr {
    service_with(TraceContextLayer::new(), recorder).await
}

/// [`service`] behind `layer`.
async fn service_with(layer: TraceContextLayer, recorder: SocketAddr) -> SocketAddr {
    relay::service(layer, recorder, |trace| {
        let tenant = trace.baggage().get("tenant").map(|v| v.as_str().to_owned());
        format!(
            "{:?} {:?} {tenant:?}",
            trace.decision(),
            trace.traceparent()
        )
    })
    .await
}

/// Two requests; checks what each passed on, returns the reply bodies.
async fn two_requests() -> Vec<String> {
    two_requests_to(TraceContextLayer::new()).await
}

/// [`two_requests`] behind `layer`.
async fn two_requests_to(layer: TraceContextLayer) -> Vec<String> {
    let (recorder, seen) = http_support::recorder().await;
    let addr = service_with(layer, recorder).await;
    let mut bodies = Vec::new();
    for _ in 0..2 {
        let reply = http_support::send(
            Method::GET,
            &format!("http://{addr}/api"),
            &[
                ("traceparent", TP),
                ("tracestate", TS),
                ("baggage", BAGGAGE),
            ],
        )
        .await;
        assert!(reply.status.is_success());
        assert!(
            reply.all("server-timing").is_empty(),
            "no server span, no entry"
        );
        bodies.push(reply.body);
    }
    // The incoming context reached the outgoing calls unchanged.
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    for headers in seen.iter() {
        assert_eq!(headers[TRACEPARENT], TP);
        assert_eq!(headers["tracestate"], TS);
        assert_eq!(headers["baggage"], BAGGAGE);
    }
    bodies
}

/// One test, so the three subscriber set-ups never run on parallel threads
/// (tracing shares callsite interest between threads), and the tracing-off
/// cases run before the warning is spent.
#[tokio::test]
async fn without_the_opentelemetry_layer_the_context_is_passed_through_and_said_so() {
    // Tracing off: no subscriber, the span is disabled, nothing is logged.
    let bodies = two_requests().await;
    let want = format!(
        "{:?} None Some(\"acme\")",
        Decision::PassedThrough(Unlinked::SpanDisabled)
    );
    assert_eq!(bodies, [want.clone(), want.clone()]);

    // With tracing off `tracestate` is validated only when it is sent on:
    // an invalid one is still dropped, OWS still normalised.
    let (recorder, seen) = http_support::recorder().await;
    let addr = service(recorder).await;
    for (tracestate, sent) in [
        ("rojo=1,BAD=2", None),
        (" rojo=1 ,, foo@@bar=2\t", Some("rojo=1,foo@@bar=2")),
    ] {
        let reply = http_support::send(
            Method::GET,
            &format!("http://{addr}/api"),
            &[("traceparent", TP), ("tracestate", tracestate)],
        )
        .await;
        assert!(reply.status.is_success());
        let headers = seen.lock().unwrap().pop().unwrap();
        assert_eq!(headers[TRACEPARENT], TP);
        assert_eq!(
            headers.get("tracestate").map(|v| v.to_str().unwrap()),
            sent,
            "{tracestate:?}"
        );
    }

    // A span filtered out by level is not a version problem either.
    let events = Events::default();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::filter::LevelFilter::WARN)
        .with(Record(events.clone()));
    let guard = tracing::subscriber::set_default(subscriber);
    let bodies = two_requests().await;
    assert_eq!(bodies, [want.clone(), want]);
    assert!(
        events.lock().unwrap().is_empty(),
        "{:?}",
        events.lock().unwrap()
    );
    drop(guard);

    // A subscriber without the OpenTelemetry layer: one warning for the
    // process, and the decision says why the trace was not continued.
    let events = Events::default();
    let subscriber = tracing_subscriber::registry().with(Record(events.clone()));
    let _guard = tracing::subscriber::set_default(subscriber);
    let bodies = two_requests().await;
    let want = format!(
        "{:?} None Some(\"acme\")",
        Decision::PassedThrough(Unlinked::NoOpenTelemetryLayer)
    );
    assert_eq!(bodies, [want.clone(), want]);

    let warnings: Vec<_> = events
        .lock()
        .unwrap()
        .iter()
        .filter(|(level, target, _)| {
            *level == tracing::Level::WARN && target == "tower_trace_context"
        })
        .cloned()
        .collect();
    assert_eq!(warnings.len(), 1, "one warning per process: {events:?}");
    let message = &warnings[0].2;
    for needle in [
        "tracing-opentelemetry 0.34",
        "opentelemetry 0.33",
        "tower_trace_context::opentelemetry",
    ] {
        assert!(message.contains(needle), "{needle:?} in {message:?}");
    }

    // The direct OpenTelemetry path with no tracer provider installed (this
    // process never installs one): the no-op tracer starts no span of its
    // own. One warning of its own, the decision says why, no server-timing,
    // and the incoming context still reaches the outgoing calls unchanged.
    let path_events = Events::default();
    let subscriber = tracing_subscriber::registry().with(Record(path_events.clone()));
    let _guard = tracing::subscriber::set_default(subscriber);
    let layer = TraceContextLayer::new().span_path(SpanPath::OpenTelemetry);
    let bodies = two_requests_to(layer).await;
    let want = format!(
        "{:?} None Some(\"acme\")",
        Decision::PassedThrough(Unlinked::NoTracerProvider)
    );
    assert_eq!(bodies, [want.clone(), want]);
    let events = path_events.lock().unwrap();
    let warnings: Vec<_> = events
        .iter()
        .filter(|(level, target, _)| {
            *level == tracing::Level::WARN && target == "tower_trace_context"
        })
        .collect();
    assert_eq!(warnings.len(), 1, "one warning per process: {events:?}");
    assert!(
        warnings[0].2.contains("no tracer provider"),
        "{}",
        warnings[0].2
    );
}
