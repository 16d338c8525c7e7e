//! The server layer on any header map: no panic, the handler always runs
//! and its response comes back, and a trace is continued only from exactly
//! one valid `traceparent` (and always from one, under the default trust).
#![no_main]

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use http::{HeaderName, HeaderValue, Method, Request, Response};
use libfuzzer_sys::fuzz_target;
use tower_layer::Layer;
use tower_service::Service;
use tower_trace_context::TraceParent;
use tower_trace_context::server::{Decision, RequestTrace, TraceContextLayer};

const NAMES: [&str; 8] = [
    "traceparent",
    "tracestate",
    "baggage",
    "sentry-trace",
    "origin",
    "access-control-request-method",
    "access-control-request-headers",
    "x-other",
];

/// Answers with the decision the layer recorded.
#[derive(Clone)]
struct Handler;

impl Service<Request<()>> for Handler {
    type Response = Response<Option<Decision>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<()>) -> Self::Future {
        let decision = req
            .extensions()
            .get::<RequestTrace>()
            .map(RequestTrace::decision);
        ready(Ok(Response::new(decision)))
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let method = if first & 1 == 1 {
        Method::OPTIONS
    } else {
        Method::GET
    };
    let mut req = Request::builder()
        .method(method)
        .uri("/x")
        .body(())
        .unwrap();
    for line in rest.split(|&b| b == b'\n').take(32) {
        let Some((&k, value)) = line.split_first() else {
            continue;
        };
        let name = match k % 10 {
            8 | 9 => match line.iter().position(|&b| b == b':') {
                Some(colon) => match HeaderName::from_bytes(line.get(1..colon).unwrap_or_default()) {
                    Ok(name) => name,
                    Err(_) => continue,
                },
                None => continue,
            },
            i => HeaderName::from_static(NAMES[usize::from(i)]),
        };
        if let Ok(value) = HeaderValue::from_bytes(value) {
            req.headers_mut().append(name, value);
        }
    }
    let preflight = req.method() == Method::OPTIONS
        && req.headers().contains_key("access-control-request-method");
    let traceparents: Vec<HeaderValue> = req
        .headers()
        .get_all("traceparent")
        .iter()
        .cloned()
        .collect();
    let valid = traceparents.len() == 1 && TraceParent::parse(traceparents[0].as_bytes()).is_ok();

    let mut svc = TraceContextLayer::new().layer(Handler);
    let mut cx = Context::from_waker(Waker::noop());
    assert!(svc.poll_ready(&mut cx).is_ready());
    let fut = pin!(svc.call(req));
    let Poll::Ready(Ok(response)) = fut.poll(&mut cx) else {
        panic!("no response");
    };
    // The body is the layer's `ResponseBody` around the handler's answer.
    let decision = response
        .into_body()
        .into_inner()
        .expect("the handler ran and saw a RequestTrace");
    let continued = matches!(decision, Decision::Continued | Decision::PassedThrough(_));
    if preflight {
        assert_eq!(decision, Decision::Preflight);
    } else {
        assert_eq!(
            continued, valid,
            "{decision:?} with traceparent {traceparents:?}"
        );
    }
});
