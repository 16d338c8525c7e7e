//! The integration tests, in one binary: one link instead of one per file.
//! What they share is the `tower-trace-context-test-support` crate
//! (`tests/support`). Tests that need a process of their own are separate
//! binaries: `tests/alloc.rs` (a counting global allocator),
//! `tests/otel_version.rs` (warnings logged once per process, and no global
//! tracer provider) and `tests/load.rs` (the server's resident memory). The
//! examples `demo` and `w3c_test_service` carry their own tests (`test =
//! true` in Cargo.toml).

use tower_trace_context_test_support as support;

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
