//! The client layer as a `reqwest_middleware::Middleware`.

use std::sync::Arc;

use http::Extensions;
use reqwest_middleware::{Middleware, Next, Result};
use tracing::Instrument;

use crate::client::allowlist::Allowlist;
use crate::client::propagate::{ClientConfig, record_error, record_status};

/// Injects trace context into requests to allowlisted URLs, as a
/// `reqwest-middleware` middleware (same behaviour as
/// [`PropagateLayer`](crate::client::PropagateLayer)).
///
/// ```
/// use tower_trace_context::client::{Allowlist, PropagateMiddleware};
///
/// let allow = Allowlist::builder().host_suffix(".svc.cluster.local").build()?;
/// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     .with(PropagateMiddleware::new(allow))
///     .build();
/// # let _ = client;
/// # Ok::<(), tower_trace_context::AllowlistError>(())
/// ```
#[derive(Clone, Debug)]
pub struct PropagateMiddleware {
    config: Arc<ClientConfig>,
}

impl PropagateMiddleware {
    /// Propagates to the URLs `allowlist` admits.
    #[must_use]
    pub fn new(allowlist: Allowlist) -> Self {
        Self {
            config: ClientConfig::new(allowlist),
        }
    }

    /// Leaves hand-set trace headers on requests outside the allowlist.
    #[must_use]
    pub fn keep_manual_headers(mut self) -> Self {
        Arc::make_mut(&mut self.config).strip = false;
        self
    }

    /// Injects the current span's context without a client span.
    #[must_use]
    pub fn without_client_span(mut self) -> Self {
        Arc::make_mut(&mut self.config).client_span = false;
        self
    }

    /// Whether to forward the context's W3C baggage (default on), as
    /// [`PropagateLayer::baggage`](crate::client::PropagateLayer::baggage).
    #[must_use]
    pub fn baggage(mut self, enabled: bool) -> Self {
        Arc::make_mut(&mut self.config).baggage = enabled;
        self
    }

    /// Whether to send `sentry-trace` too (feature `sentry`, default off), as
    /// [`PropagateLayer::sentry_trace`](crate::client::PropagateLayer::sentry_trace).
    #[cfg(feature = "sentry")]
    #[must_use]
    pub fn sentry_trace(mut self, enabled: bool) -> Self {
        Arc::make_mut(&mut self.config).sentry_trace = enabled;
        self
    }
}

#[async_trait::async_trait]
impl Middleware for PropagateMiddleware {
    async fn handle(
        &self,
        mut req: reqwest::Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> Result<reqwest::Response> {
        let span = self.config.prepare(&mut req);
        let result = next.run(req, extensions).instrument(span.clone()).await;
        match &result {
            Ok(response) => record_status(&span, response.status()),
            Err(error) => record_error(&span, error),
        }
        result
    }
}
