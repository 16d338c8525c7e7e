//! Sentry on the server: `sentry-trace` in, its Server-Timing entries and
//! `<meta>` tags out, plugged into the layer's format seams.

use std::any::Any;
use std::sync::Arc;

use bytes::{BufMut, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::Context;
use opentelemetry::trace::TraceContextExt;

use crate::formats::{Format, IncomingFormat, Remote};
use crate::sentry::{SentryPrecedence, SentrySupport, SentryTrace};
use crate::server::{Decision, RequestTrace, TraceContextLayer};
use crate::wire::baggage::BaggageView;
use crate::wire::headers::{BAGGAGE, SENTRY_TRACE};

impl<M> TraceContextLayer<M> {
    /// Turns on Sentry interop (feature `sentry`; see [`SentrySupport`]):
    /// continue traces from `sentry-trace`, write its Server-Timing entries,
    /// and add `baggage, sentry-trace` to the preflight allow list (call
    /// [`preflight_allow_headers`](Self::preflight_allow_headers) afterwards
    /// to replace the list). A second call replaces the settings.
    ///
    /// ```
    /// use tower_trace_context::{sentry::SentrySupport, server::TraceContextLayer};
    /// let layer = TraceContextLayer::new().sentry(SentrySupport::new());
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn sentry(self, support: SentrySupport) -> Self {
        self.with_format(Arc::new(support))
    }
}

impl RequestTrace {
    /// `sentry-trace` of the server span (feature `sentry`): trace id, server
    /// span id and its sampled flag. `None` without an OpenTelemetry layer.
    #[must_use]
    pub fn sentry_trace(&self) -> Option<SentryTrace> {
        if !self.server_span {
            return None;
        }
        SentryTrace::from_span_context(self.cx.span().span_context())
    }

    /// Whether the server layer has Sentry interop on (feature `sentry`),
    /// e.g. to decide whether a template renders Sentry's meta tags.
    ///
    /// ```
    /// # use tower_trace_context::server::RequestTrace;
    /// # fn f(trace: &RequestTrace) {
    /// if trace.sentry() { /* render sentry-trace and baggage meta tags */ }
    /// # }
    /// ```
    #[must_use]
    pub fn sentry(&self) -> bool {
        self.formats.get::<SentrySupport>().is_some()
    }

    /// The `baggage` to hand a browser with the server span (feature
    /// `sentry`, Sentry interop on): the request context's baggage and, when
    /// this service heads the trace for Sentry (not continued from
    /// `sentry-trace`, and no incoming `sentry-trace_id` entry naming this
    /// trace), a fresh dynamic sampling context in place of any incoming
    /// `sentry-` entries: `sentry-trace_id`, `sentry-sampled` and the entries
    /// of [`SentrySupport`](SentrySupport). What
    /// `<meta name="baggage">` and the `baggage` Server-Timing entry carry.
    ///
    /// ```
    /// # use tower_trace_context::server::RequestTrace;
    /// # fn f(trace: &RequestTrace) {
    /// let baggage = trace.sentry_baggage().map(|b| b.to_str().unwrap_or_default().to_owned());
    /// # let _ = baggage; }
    /// ```
    #[must_use]
    pub fn sentry_baggage(&self) -> Option<http::HeaderValue> {
        let support = self.formats.get::<SentrySupport>()?;
        support.baggage(
            &self.cx,
            self.baggage(),
            self.decision == Decision::ContinuedFrom(IncomingFormat::SentryTrace),
            self.server_span,
        )
    }
}

impl Format for SentrySupport {
    fn rank(&self) -> IncomingFormat {
        IncomingFormat::SentryTrace
    }

    fn request_headers(&self) -> &'static [HeaderName] {
        static HEADERS: [HeaderName; 2] = [BAGGAGE, SENTRY_TRACE];
        &HEADERS
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn before_traceparent(&self) -> bool {
        self.precedence == SentryPrecedence::SentryTraceFirst
    }

    fn remote(&self, headers: &HeaderMap, baggage: Option<&BaggageView<'_>>) -> Option<Remote> {
        let st = SentryTrace::from_headers(headers).ok()?;
        let deferred = match st.sampled() {
            Some(_) => self.deferred_sampled,
            None => baggage
                .and_then(sentry_sampled_baggage)
                .unwrap_or(self.deferred_sampled),
        };
        Some(Remote {
            span_context: st.span_context(deferred),
            format: IncomingFormat::SentryTrace,
            carried: None,
        })
    }

    fn uses_request_trace(&self) -> bool {
        true
    }

    fn writes_server_timing(&self) -> bool {
        self.server_timing
    }

    /// The `sentry-trace` and `baggage` entries for the server span (none
    /// without one).
    fn server_timing(&self, trace: &RequestTrace, out: &mut Vec<HeaderValue>) {
        if !self.server_timing {
            return;
        }
        let Some(st) = trace.sentry_trace() else {
            return;
        };
        out.extend(server_timing_entry(
            "sentry-trace",
            st.to_string().as_bytes(),
        ));
        if let Some(baggage) = trace.sentry_baggage() {
            out.extend(server_timing_entry("baggage", baggage.as_bytes()));
        }
    }

    fn inject(&self, cx: &Context, headers: &mut HeaderMap) {
        Self::inject_sentry_trace(cx, headers);
    }

    fn baggage(&self, cx: &Context, own: bool) -> Option<Option<HeaderValue>> {
        Some(self.outgoing_baggage(cx, own))
    }

    /// `<meta name="sentry-trace">` and `<meta name="baggage">`.
    fn meta_tags(&self, trace: &RequestTrace, out: &mut Vec<(&'static str, String)>) {
        let Some(st) = trace.sentry_trace() else {
            return;
        };
        out.push(("sentry-trace", st.to_string()));
        let baggage = trace.sentry_baggage();
        if let Some(baggage) = baggage.as_ref().and_then(|b| b.to_str().ok()) {
            if !baggage.is_empty() {
                out.push(("baggage", baggage.to_owned()));
            }
        }
    }
}

/// `sentry-sampled` from the incoming baggage (Sentry's dynamic sampling
/// context), for a `sentry-trace` that defers the decision.
fn sentry_sampled_baggage(view: &BaggageView<'_>) -> Option<bool> {
    match view.get("sentry-sampled")?.value() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// A Server-Timing entry `name;desc="<desc>"`, the description a
/// quoted-string (`"` and `\` escaped, RFC 9110 §5.6.4). `None` when `desc`
/// has bytes a header value cannot carry.
fn server_timing_entry(name: &str, desc: &[u8]) -> Option<HeaderValue> {
    let mut value = BytesMut::with_capacity(name.len() + desc.len() + 10);
    value.put_slice(name.as_bytes());
    value.put_slice(b";desc=\"");
    for &b in desc {
        if b == b'"' || b == b'\\' {
            value.put_u8(b'\\');
        }
        value.put_u8(b);
    }
    value.put_u8(b'"');
    HeaderValue::from_maybe_shared(value.freeze()).ok()
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use http::{HeaderMap, Request, Response};
    use opentelemetry::trace::TracerProvider as _;
    use tower::{ServiceExt, service_fn};
    use tower_layer::Layer;
    use tracing_subscriber::layer::SubscriberExt;

    use crate::server::{RequestTrace, TraceContextLayer};
    use crate::wire::baggage::VALIDATIONS;
    use crate::wire::headers::BAGGAGE;

    const BAGGAGE_VALUE: &str =
        "sentry-trace_id=4bf92f3577b34da6a3ce929d0e0e4736, sentry-sampled=true,tenant=acme;p";

    /// Server layer with Sentry interop on, the handler's
    /// outgoing injection and the Sentry Server-Timing entries: the
    /// `baggage` is validated once for all of them.
    #[tokio::test]
    async fn baggage_is_parsed_once_per_request() {
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        let _guard = tracing::subscriber::set_default(subscriber);
        let layer = TraceContextLayer::new();
        let layer = layer.sentry(crate::sentry::SentrySupport::new());
        let svc = layer.layer(service_fn(|req: Request<()>| async move {
            let trace = req.extensions().get::<RequestTrace>().unwrap();
            let mut out = HeaderMap::new();
            crate::propagation::inject_baggage(trace.context(), &mut out);
            Ok::<_, Infallible>(Response::new(out))
        }));
        for headers in [
            [(
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            )],
            [(
                "sentry-trace",
                "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            )],
        ] {
            let mut req = Request::get("/").header(BAGGAGE, BAGGAGE_VALUE);
            for (name, value) in headers {
                req = req.header(name, value);
            }
            VALIDATIONS.with(|n| n.set(0));
            let res = svc.clone().oneshot(req.body(()).unwrap()).await.unwrap();
            assert_eq!(VALIDATIONS.with(|n| n.get()), 1, "{headers:?}");
            assert_eq!(res.body().get_ref()[BAGGAGE], BAGGAGE_VALUE);
            assert!(
                res.headers()
                    .get_all("server-timing")
                    .iter()
                    .any(|v| v.to_str().unwrap().starts_with("baggage;")),
                "{res:?}"
            );
        }
    }
}
