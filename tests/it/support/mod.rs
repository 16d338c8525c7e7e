//! What the integration tests share: real TCP servers and a client,
//! the OpenTelemetry SDK wired to `tracing`, the relay service, the browser
//! driver.

pub(crate) mod browser;
pub(crate) mod http_support;
pub(crate) mod otel;
pub(crate) mod relay;
