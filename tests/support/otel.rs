//! Real OpenTelemetry SDK with its in-memory exporter, wired to `tracing`
//! through tracing-opentelemetry, for one test thread.

use std::time::Duration;

use opentelemetry::trace::{SpanId, TraceId, TracerProvider as _};
use opentelemetry_sdk::trace::{InMemorySpanExporter, Sampler, SdkTracerProvider, SpanData};
use tracing_subscriber::layer::SubscriberExt;

/// The exporter to read finished spans from, and the guard that keeps the
/// subscriber installed on this thread.
pub struct Otel {
    pub exporter: InMemorySpanExporter,
    pub provider: SdkTracerProvider,
    _guard: tracing::subscriber::DefaultGuard,
}

/// Installs a subscriber with the OpenTelemetry layer for this thread (use a
/// current-thread runtime so every task sees it).
pub fn install() -> Otel {
    install_with(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)))
}

pub fn install_with(sampler: impl opentelemetry_sdk::trace::ShouldSample + 'static) -> Otel {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .with_sampler(sampler)
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    let guard = tracing::subscriber::set_default(subscriber);
    Otel {
        exporter,
        provider,
        _guard: guard,
    }
}

impl Otel {
    /// Waits (up to 5 s) until `n` spans are exported, and returns them.
    pub async fn spans(&self, n: usize) -> Vec<SpanData> {
        for _ in 0..500 {
            let spans = self.exporter.get_finished_spans().unwrap();
            if spans.len() >= n {
                return spans;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let spans = self.exporter.get_finished_spans().unwrap();
        panic!(
            "expected {n} spans, got {}: {:?}",
            spans.len(),
            spans.iter().map(|s| &s.name).collect::<Vec<_>>()
        );
    }

    /// The one exported span named like `name`.
    pub async fn span(&self, name: &str) -> SpanData {
        let spans = self.spans(1).await;
        spans
            .into_iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no span named {name:?}"))
    }
}

pub fn trace_id(hex: &str) -> TraceId {
    TraceId::from_hex(hex).unwrap()
}

pub fn span_id(hex: &str) -> SpanId {
    SpanId::from_hex(hex).unwrap()
}

/// The server layer's two span paths, for tests that run on both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    /// A `tracing` span bridged by tracing-opentelemetry (the default).
    Tracing,
    /// An OpenTelemetry span started directly, with this provider's tracer.
    OpenTelemetry,
}

/// Both paths.
pub const PATHS: [Path; 2] = [Path::Tracing, Path::OpenTelemetry];

impl Otel {
    /// `layer` on `path`: the direct path gets this provider's tracer (the
    /// global provider is shared by every test of a binary).
    pub fn on<M>(
        &self,
        path: Path,
        layer: tower_trace_context::server::TraceContextLayer<M>,
    ) -> tower_trace_context::server::TraceContextLayer<M> {
        match path {
            Path::Tracing => layer,
            Path::OpenTelemetry => layer.tracer(self.provider.tracer("tower-trace-context")),
        }
    }
}

impl Otel {
    /// The client `layer` on `path` (see [`Otel::on`]).
    pub fn on_client(
        &self,
        path: Path,
        layer: tower_trace_context::client::PropagateLayer,
    ) -> tower_trace_context::client::PropagateLayer {
        match path {
            Path::Tracing => layer,
            Path::OpenTelemetry => layer.tracer(self.provider.tracer("tower-trace-context")),
        }
    }
}
