//! A span exporter for the examples: prints each finished span on one line.

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// Prints `trace-id span-id <- parent-id name` for every exported span.
#[derive(Debug, Default)]
pub(crate) struct PrintExporter;

impl SpanExporter for PrintExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        for span in batch {
            println!(
                "  span {} {} <- parent {} {:?} {:?}",
                span.span_context.trace_id(),
                span.span_context.span_id(),
                span.parent_span_id,
                span.span_kind,
                span.name,
            );
        }
        Ok(())
    }
}

/// Installs tracing + tracing-opentelemetry + the SDK with `PrintExporter`
/// as the global subscriber.
pub(crate) fn install() -> opentelemetry_sdk::trace::SdkTracerProvider {
    use opentelemetry::trace::TracerProvider as _;
    use tracing_subscriber::layer::SubscriberExt;
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_simple_exporter(PrintExporter)
        .build();
    // INFO and up: libraries' own debug spans (h2's, say) stay out.
    let subscriber = tracing_subscriber::registry()
        .with(tracing::level_filters::LevelFilter::INFO)
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("example")));
    tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber");
    provider
}
