//! The server the whole-server throughput benchmark drives
//! (`benches/throughput.sh`): one trivial axum handler behind one variant,
//! on one current-thread runtime.
//!
//! `cargo run --release --features axum --example throughput_server -- <variant> <port>`
//! with variant `bare`, `ours`, `ours-untraced` (no tracing subscriber at
//! all), `floor`, `hand-written` or `ato` (axum-tracing-opentelemetry).
//! Tracing variants use tracing-opentelemetry with the SDK (simple
//! processor, an exporter that drops spans), as the benches do.

#[path = "../benches/support/axum_app.rs"]
mod axum_app;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;

fn main() {
    let mut args = std::env::args().skip(1);
    let variant = args.next().unwrap_or_else(|| "bare".to_owned());
    let port: u16 = args.next().and_then(|p| p.parse().ok()).unwrap_or(3900);
    let [bare, floor, hand_written, ours, ato] = axum_app::request_path_apps().map(|(_, app)| app);
    let app = match variant.as_str() {
        "bare" => bare,
        "floor" => floor,
        "hand-written" => hand_written,
        "ours" | "ours-untraced" => ours,
        "ato" => ato,
        other => {
            eprintln!("unknown variant {other:?}");
            std::process::exit(2);
        }
    };
    let _provider = (variant != "ours-untraced").then(|| {
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(axum_app::NoopExporter)
            .build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("throughput")));
        tracing::subscriber::set_global_default(subscriber).expect("one subscriber");
        provider
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind");
        eprintln!("throughput_server: {variant} on 127.0.0.1:{port}");
        axum::serve(listener, app).await.expect("serve");
    });
}
