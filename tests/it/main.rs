//! The integration tests, in one binary: one link instead of one per file.
//! Tests that need a process of their own are separate binaries:
//! `tests/alloc.rs` (a counting global allocator), `tests/otel_version.rs`
//! (warnings logged once per process, and no global tracer provider) and
//! `tests/load.rs` (the server's resident memory); `tests/demo.rs` and
//! `tests/w3c_test_service.rs` exercise the examples.

mod support;

mod baggage;
mod browser;
mod cache;
mod client;
mod formats;
mod grpc;
mod html;
mod lossless;
mod markup;
mod properties;
mod sentry;
mod server;
mod tonic;
mod w3c_rules;
