//! `PropagateLayer`.

use std::sync::Arc;

use tower_layer::Layer;

use crate::client::allowlist::Allowlist;
use crate::client::propagate::ClientConfig;
use crate::client::service::Propagate;
use crate::client::span::{MakeClientSpan, MakeSpan};

/// Injects trace context into outgoing requests to allowlisted URLs (see the
/// [module docs](crate::client)).
#[derive(Clone, Debug)]
pub struct PropagateLayer {
    config: Arc<ClientConfig>,
}

impl PropagateLayer {
    /// Propagates to the URLs `allowlist` admits, with a client span per
    /// request, stripping hand-set trace headers from other requests.
    ///
    /// ```
    /// # use tower_trace_context::client::{Allowlist, PropagateLayer};
    /// let layer = PropagateLayer::new(Allowlist::builder().host("api.internal").build()?);
    /// # let _ = layer;
    /// # Ok::<(), tower_trace_context::AllowlistError>(())
    /// ```
    #[must_use]
    pub fn new(allowlist: Allowlist) -> Self {
        Self {
            config: ClientConfig::new(allowlist),
        }
    }

    /// The shared configuration (also what [`PropagateMiddleware`] runs).
    ///
    /// [`PropagateMiddleware`]: crate::client::PropagateMiddleware
    #[cfg_attr(not(feature = "reqwest-middleware"), allow(dead_code))]
    pub(crate) fn config(&self) -> &Arc<ClientConfig> {
        &self.config
    }

    /// Whether to open a client span per request (default on). Off, the
    /// current span's context is injected as it is.
    ///
    /// ```
    /// # use tower_trace_context::client::{Allowlist, PropagateLayer};
    /// let layer = PropagateLayer::new(Allowlist::all()).client_span(false);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn client_span(mut self, enabled: bool) -> Self {
        Arc::make_mut(&mut self.config).client_span = enabled;
        self
    }

    /// Makes the client span with `make_span` instead of
    /// [`ClientRequest::default_span`](crate::client::ClientRequest::default_span) (HTTP and gRPC alike). The trace
    /// context sent is the returned span's, so it should be a child of the
    /// current span (the default parent of a new span) and have an
    /// OpenTelemetry context. It must be a new span: one the hook hands back
    /// that is the current span is not used (no client span then; the
    /// current span's context is sent). When the URL is allowlisted the
    /// layer records the outcome on the span's OpenTelemetry span directly;
    /// otherwise through `tracing` fields, so declare as `Empty` the ones it
    /// fills in: `http.response.status_code`, `otel.status_code`,
    /// `error.type`, and for gRPC `rpc.grpc.status_code`,
    /// `rpc.response.status_code` and `otel.status_description`. Called only
    /// when the URL is known (see [`origin`](Self::origin)) and
    /// [`client_span`](Self::client_span) is on. A second call replaces the
    /// first.
    ///
    /// ```
    /// use tower_trace_context::client::{Allowlist, ClientRequest, PropagateLayer};
    ///
    /// let layer = PropagateLayer::new(Allowlist::all()).make_span(|req: &ClientRequest<'_>| {
    ///     match req.url().host() {
    ///         "payments.internal" => tracing::info_span!(
    ///             "payments call",
    ///             otel.kind = "client",
    ///             otel.name = %req.method(),
    ///             http.response.status_code = tracing::field::Empty,
    ///             otel.status_code = tracing::field::Empty,
    ///         ),
    ///         _ => req.default_span(),
    ///     }
    /// });
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn make_span<M: MakeSpan>(mut self, make_span: M) -> Self {
        Arc::make_mut(&mut self.config).make_span = Some(MakeClientSpan(Arc::new(make_span)));
        self
    }

    /// How the client span is made (default [`SpanPath::Tracing`], as on
    /// the server layer: see
    /// [Choosing a span path](crate::server#choosing-a-span-path)).
    /// [`SpanPath::OpenTelemetry`] starts an OpenTelemetry span under the
    /// current OpenTelemetry context with the global tracer provider's
    /// tracer (taken on first use): the same name, attributes and status
    /// as the default span, [`make_span`](Self::make_span) unused. It is
    /// never made current; it ends when the response body ends, fails or is
    /// dropped (over `reqwest::Response`, at the response head), and
    /// [`client_span(false)`](Self::client_span) still means no client
    /// span. A second call replaces the first.
    ///
    /// ```
    /// use tower_trace_context::SpanPath;
    /// use tower_trace_context::client::{Allowlist, PropagateLayer};
    /// let layer = PropagateLayer::new(Allowlist::all()).span_path(SpanPath::OpenTelemetry);
    /// # let _ = layer;
    /// ```
    ///
    /// [`SpanPath::Tracing`]: crate::SpanPath::Tracing
    /// [`SpanPath::OpenTelemetry`]: crate::SpanPath::OpenTelemetry
    #[must_use]
    pub fn span_path(mut self, path: crate::SpanPath) -> Self {
        Arc::make_mut(&mut self.config).span_path = path;
        self
    }

    /// The direct OpenTelemetry path ([`span_path`](Self::span_path)
    /// `(SpanPath::OpenTelemetry)`) with `tracer` instead of the global
    /// provider's. A second call replaces the tracer.
    ///
    /// ```
    /// use opentelemetry::trace::TracerProvider as _;
    /// use tower_trace_context::client::{Allowlist, PropagateLayer};
    ///
    /// let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    /// let layer = PropagateLayer::new(Allowlist::all()).tracer(provider.tracer("my-service"));
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn tracer<T>(mut self, tracer: T) -> Self
    where
        T: opentelemetry::trace::Tracer + Send + Sync + 'static,
        T::Span: Send + Sync + 'static,
    {
        let config = Arc::make_mut(&mut self.config);
        config.span_path = crate::SpanPath::OpenTelemetry;
        config.tracer = crate::span::TracerSlot::of(tracer);
        self
    }

    /// Whether to remove `traceparent`, `tracestate`, `baggage` and
    /// `sentry-trace`, and the headers of the formats turned on (B3,
    /// Datadog), set by hand on requests to URLs outside the allowlist
    /// (default on).
    ///
    /// ```
    /// # use tower_trace_context::client::{Allowlist, PropagateLayer};
    /// let layer = PropagateLayer::new(Allowlist::none()).strip_manual_headers(false);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn strip_manual_headers(mut self, enabled: bool) -> Self {
        Arc::make_mut(&mut self.config).strip = enabled;
        self
    }

    /// Where every request goes: a tonic `Channel` hands its layers
    /// `/pkg.Service/Method` URIs, which no allowlist rule can judge, and
    /// sends every call to its endpoint whatever URI the client wrote. With
    /// the channel's target here, a path-only request is judged (and its
    /// client span named) as `scheme://authority/pkg.Service/Method`, and an
    /// absolute URI naming another scheme, host or port (a tonic client's
    /// `with_origin`) gets no trace headers, as it is not where the call
    /// goes. [`origin_uri`](Self::origin_uri) takes it from the endpoint's
    /// URI, so the target is written once. A second call replaces the
    /// first.
    ///
    /// ```
    /// use http::uri::Scheme;
    /// use tower_trace_context::client::{Allowlist, PropagateLayer};
    /// let allow = Allowlist::builder().host("orders.internal").build()?;
    /// let layer = PropagateLayer::new(allow).origin(Scheme::HTTP, "orders.internal:50051".parse()?);
    /// # let _ = layer;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn origin(mut self, scheme: http::uri::Scheme, authority: http::uri::Authority) -> Self {
        let port = authority.port_u16();
        Arc::make_mut(&mut self.config).origin =
            Some((scheme.as_str().into(), authority.host().into(), port));
        self
    }

    /// [`origin`](Self::origin) from a URI such as a tonic `Endpoint`'s
    /// (`endpoint.uri()`), so the channel's target is written once. A URI
    /// without scheme or host, or with userinfo, a path or a query, is an
    /// [`AllowlistError::InvalidOrigin`](crate::AllowlistError::InvalidOrigin).
    ///
    /// ```
    /// use tower_trace_context::client::{Allowlist, PropagateLayer};
    /// let endpoint: http::Uri = "http://orders.internal:50051".parse()?;
    /// let allow = Allowlist::builder().host("orders.internal").build()?;
    /// let layer = PropagateLayer::new(allow).origin_uri(&endpoint)?;
    /// # let _ = layer;
    /// assert!(PropagateLayer::new(Allowlist::all()).origin_uri(&"/relative".parse()?).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn origin_uri(self, uri: &http::Uri) -> Result<Self, crate::AllowlistError> {
        let invalid = |reason| crate::AllowlistError::InvalidOrigin {
            rule: uri.to_string(),
            reason,
        };
        let scheme = uri.scheme().ok_or_else(|| invalid("no scheme"))?;
        let authority = uri.authority().ok_or_else(|| invalid("no host"))?;
        if authority.as_str().contains('@') {
            return Err(invalid("has userinfo"));
        }
        if !matches!(uri.path(), "" | "/") {
            return Err(invalid("has a path"));
        }
        if uri.query().is_some() {
            return Err(invalid("has a query"));
        }
        Ok(self.origin(scheme.clone(), authority.clone()))
    }

    /// A reqwest redirect policy for the client under this layer: reqwest's
    /// default (at most 10 redirects), except that a redirect is not
    /// followed when the request carries trace headers (its first URL is
    /// allowlisted) and the next URL is one the allowlist denies. reqwest
    /// keeps every header but credentials on a redirect, so following it
    /// would hand the trace headers to that host; the 3xx response is
    /// returned instead, with a `WARN` the first time. To go on, send a
    /// request to its `Location` through the layer: it is judged (and
    /// stripped) like any other. See
    /// [`redirect_policy_over`](Self::redirect_policy_over) to keep another
    /// policy.
    ///
    /// ```
    /// use tower::ServiceBuilder;
    /// use tower_trace_context::client::{Allowlist, PropagateLayer};
    ///
    /// let layer = PropagateLayer::new(Allowlist::builder().host("api.internal").build()?);
    /// let client = reqwest::Client::builder().redirect(layer.redirect_policy()).build()?;
    /// let client = ServiceBuilder::new().layer(layer).service(client);
    /// # let _ = client;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "reqwest")]
    #[must_use]
    pub fn redirect_policy(&self) -> reqwest::redirect::Policy {
        self.redirect_policy_over(reqwest::redirect::Policy::default())
    }

    /// [`redirect_policy`](Self::redirect_policy) over `base`: hops the
    /// allowlist permits (and every hop of a request that carries no trace
    /// headers) are decided by `base`.
    ///
    /// ```
    /// use tower_trace_context::client::{Allowlist, PropagateLayer};
    /// let layer = PropagateLayer::new(Allowlist::all());
    /// let policy = layer.redirect_policy_over(reqwest::redirect::Policy::limited(3));
    /// # let _ = policy;
    /// ```
    #[cfg(feature = "reqwest")]
    #[must_use]
    pub fn redirect_policy_over(
        &self,
        base: reqwest::redirect::Policy,
    ) -> reqwest::redirect::Policy {
        crate::client::redirect::policy(self.config.allowlist.clone(), base)
    }

    /// Whether to forward the W3C baggage of the current OpenTelemetry
    /// context as `baggage` to allowlisted URLs (default on). A `baggage`
    /// set by hand is kept when the context has none.
    ///
    /// ```
    /// # use tower_trace_context::client::{Allowlist, PropagateLayer};
    /// let layer = PropagateLayer::new(Allowlist::all()).baggage(false);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn baggage(mut self, enabled: bool) -> Self {
        Arc::make_mut(&mut self.config).baggage = enabled;
        self
    }

    /// Turns a trace format on for outgoing requests (replacing one of its
    /// type).
    pub(crate) fn with_format(mut self, format: Arc<dyn crate::formats::Format>) -> Self {
        Arc::make_mut(&mut self.config).formats.add(format);
        self
    }
}

impl<S> Layer<S> for PropagateLayer {
    type Service = Propagate<S>;

    fn layer(&self, inner: S) -> Propagate<S> {
        Propagate::from_parts(inner, self.config.clone())
    }
}
