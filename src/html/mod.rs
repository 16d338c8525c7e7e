//! Trace context for page loads: a document navigation cannot send request
//! headers, so the backend puts the server span's context into the HTML, as
//! `<meta name="traceparent" content="00-...">` (read by OpenTelemetry JS's
//! DocumentLoad instrumentation) and `<meta name="tracestate">`; with the
//! server layer's Sentry interop on (feature `sentry`), also
//! `<meta name="sentry-trace">` and `<meta name="baggage">` (read by Sentry's
//! browser SDK).
//!
//! Two ways in: [`TraceMetaTags`] renders the tags for a template engine, and
//! [`MetaTagsLayer`] inserts them right after the opening `<head ...>` tag of
//! `text/html` responses while streaming.
//!
//! ```
//! use axum::{Router, routing::get, response::Html};
//! use tower_trace_context::html::MetaTagsLayer;
//! use tower_trace_context::server::TraceContextLayer;
//!
//! let app: Router = Router::new()
//!     .route("/", get(|| async { Html("<!doctype html><html><head><title>Shop</title></head><body>hi</body></html>") }))
//!     .layer(MetaTagsLayer::new())          // inner: reads the RequestTrace the server layer inserted
//!     .layer(TraceContextLayer::new());     // outer
//! # let _ = app;
//! ```

mod body;
mod future;
mod layer;
mod scan;
mod service;
mod tags;

pub use body::ResponseBody;
pub use future::ResponseFuture;
pub use layer::MetaTagsLayer;
pub use service::MetaTags;
pub use tags::TraceMetaTags;

/// How far into a body the layer looks for `<head>` before giving up.
pub const HEAD_SEARCH_LIMIT: usize = 4096;

/// Hooks for the fuzz targets (built only under `cargo fuzz`).
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing {
    use std::collections::VecDeque;
    use std::convert::Infallible;
    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};

    use bytes::Bytes;
    use http_body::{Body, Frame};

    use super::ResponseBody;

    struct Chunks(VecDeque<Bytes>);

    impl Body for Chunks {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            Poll::Ready(self.0.pop_front().map(|chunk| Ok(Frame::data(chunk))))
        }
    }

    /// Streams `chunks` through the meta-tag inserter with `tags`; returns
    /// the bytes it yields.
    pub fn insert_meta_tags(chunks: Vec<Bytes>, tags: Bytes) -> Vec<u8> {
        let mut body = std::pin::pin!(ResponseBody::new(Chunks(chunks.into()), Some(tags)));
        let mut cx = Context::from_waker(Waker::noop());
        let mut out = Vec::new();
        while let Poll::Ready(Some(frame)) = body.as_mut().poll_frame(&mut cx) {
            match frame {
                Ok(frame) => {
                    if let Ok(data) = frame.into_data() {
                        out.extend_from_slice(&data);
                    }
                }
                Err(never) => match never {},
            }
        }
        out
    }
}
