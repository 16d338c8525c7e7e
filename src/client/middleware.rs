//! The client layer as a `reqwest_middleware::Middleware`.

use std::sync::Arc;

use http::Extensions;
use reqwest_middleware::{Middleware, Next, Result};

use crate::client::propagate::{ClientConfig, record_error, record_response};
use crate::client::redirect::check_final_url;
use crate::client::{OutgoingResponse, PropagateLayer};

/// Injects trace context into requests to allowlisted URLs, as a
/// `reqwest-middleware` middleware: a [`PropagateLayer`] and its
/// configuration, made into a middleware.
///
/// ```
/// use tower_trace_context::client::{Allowlist, PropagateLayer, PropagateMiddleware};
///
/// let allow = Allowlist::builder().host_suffix(".svc.cluster.local").build()?;
/// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     .with(PropagateMiddleware::new(PropagateLayer::new(allow).baggage(false)))
///     .build();
/// # let _ = client;
/// # Ok::<(), tower_trace_context::AllowlistError>(())
/// ```
#[derive(Clone, Debug)]
pub struct PropagateMiddleware {
    config: Arc<ClientConfig>,
}

impl PropagateMiddleware {
    /// The middleware with `layer`'s configuration.
    #[must_use]
    pub fn new(layer: PropagateLayer) -> Self {
        Self {
            config: layer.config().clone(),
        }
    }
}

impl From<PropagateLayer> for PropagateMiddleware {
    fn from(layer: PropagateLayer) -> Self {
        Self::new(layer)
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
        // The client span is not entered (as in `Propagate`): its context
        // reaches the request through the injected headers.
        let mut span = self.config.prepare(&mut req);
        let result = next.run(req, extensions).await;
        match &result {
            Ok(response) => {
                check_final_url(&span, OutgoingResponse::final_url(response));
                record_response(&mut span, response.status(), response.headers());
            }
            Err(_) => record_error::<reqwest_middleware::Error>(&span),
        }
        result
    }
}
