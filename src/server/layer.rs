//! `TraceContextLayer` and its configuration.

use std::sync::Arc;

use http::HeaderName;
use tower_layer::Layer;

use crate::IpNetwork;
use crate::formats::Format;
use crate::server::Config;
use crate::server::network::PeerAddr;
use crate::server::policy::{RequestHead, TimingAllowOrigin, Trust};
use crate::server::response_headers::ServerTimingName;
use crate::server::{DefaultMakeSpan, TraceContext};

/// Continues the browser's (or any caller's) W3C trace in a server span and
/// answers with `server-timing`, CORS and `Timing-Allow-Origin` headers.
///
/// See the [module docs](crate::server) for what it does per request and
/// where it must sit relative to tower-http's `CorsLayer`.
///
/// ```
/// use axum::{Router, routing::get};
/// use tower_trace_context::server::TraceContextLayer;
///
/// let app: Router = Router::new()
///     .route("/api/data", get(|| async { "ok" }))
///     .layer(TraceContextLayer::new());
/// # let _ = app;
/// ```
#[derive(Clone, Debug)]
pub struct TraceContextLayer<M = DefaultMakeSpan> {
    config: Arc<Config>,
    make_span: M,
}

impl Default for TraceContextLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl TraceContextLayer {
    /// The default layer: continue incoming traces, write
    /// `server-timing: traceparent;desc="..."`, expose it to cross-origin
    /// `fetch()`, mirror CORS into `Timing-Allow-Origin`, and add
    /// `traceparent, tracestate, baggage` ([`DEFAULT_PREFLIGHT_HEADERS`]) to
    /// preflight `Access-Control-Allow-Headers`.
    ///
    /// [`DEFAULT_PREFLIGHT_HEADERS`]: crate::DEFAULT_PREFLIGHT_HEADERS
    ///
    /// ```
    /// # use tower_trace_context::server::TraceContextLayer;
    /// let layer = TraceContextLayer::new();
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self {
            config: Arc::new(Config::default()),
            make_span: DefaultMakeSpan::new(),
        }
    }
}

impl<M> TraceContextLayer<M> {
    fn config_mut(&mut self) -> &mut Config {
        Arc::make_mut(&mut self.config)
    }

    /// Sets the trust policy for every request (a second call replaces the
    /// first, and clears a [`trust_fn`](Self::trust_fn)).
    ///
    /// ```
    /// # use tower_trace_context::server::{TraceContextLayer, Trust};
    /// let public = TraceContextLayer::new().trust(Trust::NewRootWithLink);
    /// # let _ = public;
    /// ```
    #[must_use]
    pub fn trust(mut self, trust: Trust) -> Self {
        let config = self.config_mut();
        config.trust = trust;
        config.trust_fn = None;
        self
    }

    /// Decides trust per request, like Go otelhttp's `WithPublicEndpointFn`
    /// (a second call replaces the first).
    ///
    /// ```
    /// use tower_trace_context::server::{TraceContextLayer, Trust};
    /// let layer = TraceContextLayer::new().trust_fn(|head| {
    ///     if head.uri().path().starts_with("/public/") { Trust::NewRootWithLink } else { Trust::Continue }
    /// });
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn trust_fn<F>(mut self, f: F) -> Self
    where
        F: Fn(&RequestHead<'_>) -> Trust + Send + Sync + 'static,
    {
        self.config_mut().trust_fn = Some(Arc::new(f));
        self
    }

    /// Trust by network: requests whose peer address is in one of
    /// `networks` are treated with [`Trust::Continue`], all others with
    /// `otherwise` (say [`Trust::NewRootWithLink`]), like a service mesh that
    /// trusts only its own callers. The peer address comes from a
    /// [`PeerAddr`](crate::server::PeerAddr) request extension or, with
    /// feature `axum`, axum's `ConnectInfo<SocketAddr>` (serve with
    /// `into_make_service_with_connect_info::<SocketAddr>()`). A request
    /// without one gets `otherwise`, and the first such request logs a `WARN`
    /// (target `tower_trace_context`): the server does not provide it. This is
    /// a [`trust_fn`](Self::trust_fn): a later `trust`, `trust_fn` or
    /// `trust_networks` replaces it.
    ///
    /// ```
    /// use tower_trace_context::{IpNetwork, server::{TraceContextLayer, Trust}};
    /// let mesh: Vec<IpNetwork> = ["10.0.0.0/8", "fd00::/8"]
    ///     .iter()
    ///     .map(|n| n.parse())
    ///     .collect::<Result<_, _>>()?;
    /// let layer = TraceContextLayer::new().trust_networks(mesh, Trust::NewRootWithLink);
    /// # let _ = layer;
    /// # Ok::<(), tower_trace_context::ConfigError>(())
    /// ```
    #[must_use]
    pub fn trust_networks(
        self,
        networks: impl IntoIterator<Item = IpNetwork>,
        otherwise: Trust,
    ) -> Self {
        let networks: Arc<[IpNetwork]> = networks.into_iter().collect();
        self.trust_fn(move |head| match PeerAddr::of(head.extensions()) {
            Some(peer) if networks.iter().any(|n| n.contains(peer)) => Trust::Continue,
            Some(_) => otherwise,
            None => {
                warn_no_peer_address();
                otherwise
            }
        })
    }

    /// The Server-Timing entries that carry the server span's `traceparent`,
    /// one per name, in order (an empty list writes none). Today's browser
    /// agents (Grafana Faro, Splunk) read `traceparent`; the W3C Trace
    /// Context Level 3 draft names it `trace`: send both to serve both. A
    /// second call replaces the list. Names are checked when built
    /// ([`ServerTimingName::new`]), so the builder chain cannot fail.
    ///
    /// ```
    /// use tower_trace_context::server::{ServerTimingName, TraceContextLayer};
    /// let layer = TraceContextLayer::new()
    ///     .server_timing_names([ServerTimingName::default(), ServerTimingName::trace()]);
    /// let custom = TraceContextLayer::new().server_timing_names([ServerTimingName::new("app-trace")?]);
    /// # let _ = (layer, custom);
    /// # Ok::<(), tower_trace_context::ConfigError>(())
    /// ```
    #[must_use]
    pub fn server_timing_names(
        mut self,
        names: impl IntoIterator<Item = ServerTimingName>,
    ) -> Self {
        self.config_mut().server_timing = names.into_iter().collect();
        self
    }

    /// A Server-Timing entry `name;dur=<ms>` with the time from the request
    /// reaching this layer to the response head leaving it, in milliseconds,
    /// so browser developer tools show the backend's time next to the trace
    /// (`None`, the default, writes none). Written with the other entries,
    /// also on responses a shared cache may store (it names no span). A
    /// second call replaces the first.
    ///
    /// ```
    /// use tower_trace_context::server::ServerTimingName;
    /// use tower_trace_context::server::TraceContextLayer;
    /// let layer = TraceContextLayer::new().server_timing_duration(Some(ServerTimingName::new("app")?));
    /// # let _ = layer;
    /// # Ok::<(), tower_trace_context::ConfigError>(())
    /// ```
    #[must_use]
    pub fn server_timing_duration(mut self, name: Option<ServerTimingName>) -> Self {
        self.config_mut().server_timing_duration = name;
        self
    }

    /// Turns the Server-Timing entry (and so the `Access-Control-Expose-Headers`
    /// addition) on or off.
    ///
    /// ```
    /// # use tower_trace_context::server::TraceContextLayer;
    /// let layer = TraceContextLayer::new().server_timing(false);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn server_timing(mut self, enabled: bool) -> Self {
        let config = self.config_mut();
        match (enabled, config.server_timing.is_empty()) {
            (true, true) => config.server_timing = vec![ServerTimingName::default()],
            (false, _) => config.server_timing.clear(),
            _ => {}
        }
        self
    }

    /// Whether to add `server-timing` to `Access-Control-Expose-Headers` of
    /// responses to requests with an `Origin` (default on).
    ///
    /// ```
    /// # use tower_trace_context::server::TraceContextLayer;
    /// let layer = TraceContextLayer::new().expose_server_timing(false);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn expose_server_timing(mut self, enabled: bool) -> Self {
        self.config_mut().expose_server_timing = enabled;
        self
    }

    /// Sets the `Timing-Allow-Origin` policy (default
    /// [`TimingAllowOrigin::MirrorCors`]).
    ///
    /// ```
    /// # use tower_trace_context::server::{TimingAllowOrigin, TraceContextLayer};
    /// let layer = TraceContextLayer::new().timing_allow_origin(TimingAllowOrigin::Off);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn timing_allow_origin(mut self, policy: TimingAllowOrigin) -> Self {
        self.config_mut().timing_allow_origin = policy;
        self
    }

    /// Header names merged into `Access-Control-Allow-Headers` of CORS
    /// preflight responses (default [`DEFAULT_PREFLIGHT_HEADERS`]: every
    /// header the layer reads, `traceparent, tracestate, baggage`, so a
    /// browser SDK sending W3C `baggage` is not blocked; an empty list turns
    /// the merge off). A second call replaces the list, so include the
    /// defaults when adding a vendor's headers.
    ///
    /// ```
    /// use http::HeaderName;
    /// use tower_trace_context::{server::TraceContextLayer, DEFAULT_PREFLIGHT_HEADERS};
    /// let names = [&DEFAULT_PREFLIGHT_HEADERS[..], &[HeaderName::from_static("request-id")]].concat();
    /// assert_eq!(names.len(), 4);
    /// let layer = TraceContextLayer::new().preflight_allow_headers(names);
    /// # let _ = layer;
    /// ```
    ///
    /// [`DEFAULT_PREFLIGHT_HEADERS`]: crate::DEFAULT_PREFLIGHT_HEADERS
    #[must_use]
    pub fn preflight_allow_headers(mut self, names: impl IntoIterator<Item = HeaderName>) -> Self {
        self.config_mut().preflight_allow_headers = names.into_iter().collect();
        self
    }

    /// Adds `names` to the preflight `Access-Control-Allow-Headers` list
    /// (see [`preflight_allow_headers`](Self::preflight_allow_headers)),
    /// keeping what is there: for a browser SDK's own headers, such as
    /// [`DATADOG_HEADERS`](crate::DATADOG_HEADERS),
    /// [`APPLICATION_INSIGHTS_HEADERS`](crate::APPLICATION_INSIGHTS_HEADERS),
    /// [`NEW_RELIC_HEADERS`](crate::NEW_RELIC_HEADERS) or
    /// [`B3_HEADERS`](crate::B3_HEADERS). A name already listed is not added
    /// twice; calls add up.
    ///
    /// ```
    /// use tower_trace_context::{server::TraceContextLayer, DATADOG_HEADERS};
    /// let layer = TraceContextLayer::new().preflight_allow_more(DATADOG_HEADERS);
    /// assert!(format!("{layer:?}").contains("x-datadog-trace-id"));
    /// assert!(format!("{layer:?}").contains("baggage"));
    /// ```
    #[must_use]
    pub fn preflight_allow_more(mut self, names: impl IntoIterator<Item = HeaderName>) -> Self {
        let list = &mut self.config_mut().preflight_allow_headers;
        for name in names {
            if !list.contains(&name) {
                list.push(name);
            }
        }
        self
    }

    /// Whether to read the W3C `baggage` of requests the [`Trust`] policy
    /// continues (default on): a valid `baggage` goes into the server span's
    /// OpenTelemetry context (OpenTelemetry `Baggage`, see
    /// [`RequestTrace::baggage`](crate::server::RequestTrace::baggage)), where
    /// the client layer finds it and forwards it to allowlisted URLs. An
    /// invalid one is dropped as a whole and logged at `DEBUG`; the trace
    /// continues. A second call replaces the first.
    ///
    /// ```
    /// # use tower_trace_context::server::TraceContextLayer;
    /// let layer = TraceContextLayer::new().baggage(false);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn baggage(mut self, enabled: bool) -> Self {
        self.config_mut().baggage = enabled;
        self
    }

    /// Whether the trace ids of traces this service starts are random, so the
    /// `traceparent` of their server span (in `server-timing`, meta tags and
    /// outgoing calls made under it) carries the Trace Context Level 2
    /// `random` flag. Default off: only the application knows its id
    /// generator (the OpenTelemetry SDK's default `RandomIdGenerator` is
    /// random). Traces continued from a request keep the flag the request
    /// had, whatever this says. A second call replaces the first.
    ///
    /// ```
    /// # use tower_trace_context::server::TraceContextLayer;
    /// let layer = TraceContextLayer::new().random_trace_ids(true);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn random_trace_ids(mut self, random: bool) -> Self {
        self.config_mut().random_trace_ids = random;
        self
    }

    /// Whether CORS preflights (`OPTIONS` with `Access-Control-Request-Method`)
    /// get a server span and the trace response headers. Default off: a
    /// preflight carries no trace context (browsers never send custom
    /// headers on it), so tracing it only adds a one-span root trace per
    /// cross-origin call. Off, the layer opens no span, parses nothing,
    /// writes no `server-timing`, `Access-Control-Expose-Headers` or
    /// `Timing-Allow-Origin`, and only merges the trace headers into
    /// `Access-Control-Allow-Headers` (see
    /// [`preflight_allow_headers`](Self::preflight_allow_headers));
    /// [`RequestTrace::decision`](crate::server::RequestTrace::decision) is
    /// [`Decision::Preflight`](crate::server::Decision::Preflight). A second
    /// call replaces the first.
    ///
    /// ```
    /// # use tower_trace_context::server::TraceContextLayer;
    /// let layer = TraceContextLayer::new().trace_preflights(true);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn trace_preflights(mut self, enabled: bool) -> Self {
        self.config_mut().trace_preflights = enabled;
        self
    }

    /// Whether plain gRPC responses (`content-type: application/grpc*`, not
    /// grpc-web) get the browser headers: `server-timing`,
    /// `Access-Control-Expose-Headers` and `Timing-Allow-Origin`. Default
    /// off: a gRPC client is no browser. grpc-web responses always get them.
    /// A second call replaces the first.
    ///
    /// gRPC requests get a span named `{package.Service}/{Method}` with the
    /// OpenTelemetry semantic conventions for gRPC (`rpc.system` and
    /// `rpc.system.name` = `"grpc"`, `rpc.service`, `rpc.method`, and
    /// `rpc.grpc.status_code` / `rpc.response.status_code` from `grpc-status`
    /// in a trailers-only response's head, the body's trailers, or a grpc-web
    /// body's trailer frame; UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED,
    /// INTERNAL, UNAVAILABLE and DATA_LOSS mark the server span as an error,
    /// with the code's name as `error.type` and `grpc-message`,
    /// percent-decoded, as the description). The span lives until the body
    /// ends.
    ///
    /// ```
    /// # use tower_trace_context::server::TraceContextLayer;
    /// let layer = TraceContextLayer::new().grpc_browser_headers(true);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn grpc_browser_headers(mut self, enabled: bool) -> Self {
        self.config_mut().grpc_browser_headers = enabled;
        self
    }

    /// Whether responses a shared cache may store still get the trace
    /// entries in `server-timing` (`traceparent`, and Sentry's `sentry-trace`
    /// and `baggage`). Default off: behind a CDN or proxy, every later visitor
    /// served from the cache would be linked to the one server span that
    /// produced the response, and unrelated users' traces would merge. Which
    /// responses count (RFC 9111: `Cache-Control` `public`, `s-maxage`,
    /// `max-age` without `private` or `no-store`, else `Expires`, or
    /// `Last-Modified` on a heuristically cacheable status; GET and HEAD only;
    /// with `Authorization` only when `public`, `s-maxage` or
    /// `must-revalidate`) is in the server guide (`guide::server`). A `DEBUG` event names the
    /// directive each time entries are left out. Turn it on if your caches
    /// vary on or strip these headers. A second call replaces the first.
    ///
    /// ```
    /// # use tower_trace_context::server::TraceContextLayer;
    /// let layer = TraceContextLayer::new().trace_cacheable_responses(true);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn trace_cacheable_responses(mut self, enabled: bool) -> Self {
        self.config_mut().trace_cacheable_responses = enabled;
        self
    }

    /// Turns a trace format on (replacing one of its type) and adds the
    /// request headers it reads to the preflight allow list.
    pub(crate) fn with_format(mut self, format: Arc<dyn Format>) -> Self {
        let names: Vec<HeaderName> = format.request_headers().to_vec();
        self.config_mut().formats.add(format);
        self.preflight_allow_more(names)
    }

    /// How the server span is made (default [`SpanPath::Tracing`]; see
    /// [Choosing a span path](crate::server#choosing-a-span-path)).
    /// [`SpanPath::OpenTelemetry`] starts an OpenTelemetry span directly
    /// with the global tracer provider's tracer (scope
    /// `tower-trace-context`), taken on first use: no `tracing` span,
    /// `make_span` unused, `tracing` filters not applied. A second call
    /// replaces the first.
    ///
    /// ```
    /// use tower_trace_context::{SpanPath, server::TraceContextLayer};
    /// let layer = TraceContextLayer::new().span_path(SpanPath::OpenTelemetry);
    /// # let _ = layer;
    /// ```
    ///
    /// [`SpanPath::Tracing`]: crate::SpanPath::Tracing
    /// [`SpanPath::OpenTelemetry`]: crate::SpanPath::OpenTelemetry
    #[must_use]
    pub fn span_path(mut self, path: crate::SpanPath) -> Self {
        self.config_mut().span_path = path;
        self
    }

    /// The direct OpenTelemetry path ([`span_path`](Self::span_path)
    /// `(SpanPath::OpenTelemetry)`) with `tracer` instead of the global
    /// provider's: for a provider that is not the global one (tests, several
    /// pipelines). A second call replaces the tracer.
    ///
    /// ```
    /// use opentelemetry::trace::TracerProvider as _;
    /// use tower_trace_context::server::TraceContextLayer;
    ///
    /// let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    /// let layer = TraceContextLayer::new().tracer(provider.tracer("tower-trace-context"));
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn tracer<T>(mut self, tracer: T) -> Self
    where
        T: opentelemetry::trace::Tracer + Send + Sync + 'static,
        T::Span: Send + Sync + 'static,
    {
        let config = self.config_mut();
        config.span_path = crate::SpanPath::OpenTelemetry;
        config.tracer = crate::span::TracerSlot::of(tracer);
        self
    }

    /// Replaces how the server span is made on the `tracing` path (see [`MakeSpan`](crate::server::MakeSpan)).
    ///
    /// ```
    /// # use tower_trace_context::server::TraceContextLayer;
    /// let layer = TraceContextLayer::new()
    ///     .make_span(|_: &http::Request<()>| tracing::info_span!("req", otel.kind = "server"));
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn make_span<M2>(self, make_span: M2) -> TraceContextLayer<M2> {
        TraceContextLayer {
            config: self.config,
            make_span,
        }
    }
}

impl<S, M: Clone> Layer<S> for TraceContextLayer<M> {
    type Service = TraceContext<S, M>;

    fn layer(&self, inner: S) -> Self::Service {
        TraceContext::from_parts(inner, self.config.clone(), self.make_span.clone())
    }
}

/// Logs, once per process, that network trust has no peer address to go by.
fn warn_no_peer_address() {
    static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        tracing::warn!(
            target: "tower_trace_context",
            "trust_networks is set but a request has no peer address, so it is not trusted: \
             insert tower_trace_context::server::PeerAddr into the request extensions, or with \
             axum serve with into_make_service_with_connect_info::<SocketAddr>() (logged once)"
        );
    }
}
