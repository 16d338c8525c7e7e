//! What the integration tests, the examples' tests and the benches share:
//! real TCP servers and a client, the OpenTelemetry SDK wired to `tracing`,
//! the relay service, the browser driver, a counting allocator (each binary
//! that counts declares it its `#[global_allocator]`) and allowlist
//! fixtures. A crate, so that no test includes another file by `#[path]`.

pub mod allowlist_fixture;
pub mod browser;
pub mod counting_alloc;
pub mod http_support;
pub mod otel;
pub mod relay;
