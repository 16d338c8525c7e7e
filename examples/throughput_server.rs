//! The server the whole-server throughput benchmark drives
//! (`benches/throughput.sh`): one trivial axum handler behind one variant,
//! on one current-thread runtime.
//!
//! `cargo run --release --features axum --example throughput_server -- <variant> <port>`
//! with variant `bare`, `empty-layer` (a tower layer that does nothing),
//! `ours`, `ours-untraced` (no tracing subscriber at all), `floor`,
//! `hand-written` or `ato` (axum-tracing-opentelemetry).
//! Tracing variants use tracing-opentelemetry with the SDK (simple
//! processor, an exporter that drops spans), as the benches do.
//!
//! `... -- <variant> --oneshot N` sends N requests in-process instead (no
//! TCP), for a profiler: `valgrind --tool=callgrind` on it gives the
//! per-function breakdown in BENCHMARKS.md.

#[path = "../benches/support/axum_app.rs"]
mod axum_app;

fn main() {
    let mut args = std::env::args().skip(1);
    let variant = args.next().unwrap_or_else(|| "bare".to_owned());
    let next = args.next();
    let oneshot: Option<usize> = match next.as_deref() {
        Some("--oneshot") => args.next().and_then(|n| n.parse().ok()),
        _ => None,
    };
    let port: u16 = next.and_then(|p| p.parse().ok()).unwrap_or(3900);
    let [bare, empty, floor, hand_written, ours, ato] =
        axum_app::request_path_apps().map(|(_, app)| app);
    let app = match variant.as_str() {
        "bare" => bare,
        "empty-layer" => empty,
        "floor" => floor,
        "hand-written" => hand_written,
        "ours" | "ours-untraced" => ours,
        "ato" => ato,
        other => {
            eprintln!("unknown variant {other:?}");
            std::process::exit(2);
        }
    };
    let _provider = (variant != "ours-untraced").then(axum_app::install_global_otel);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    if let Some(n) = oneshot {
        use tower::ServiceExt;
        for _ in 0..n {
            let req = axum_app::request(
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7,vendor@tenant=abc123,foo=bar,dd=s:1;o:rum",
                None,
            );
            let res = rt.block_on(app.clone().oneshot(req)).expect("infallible");
            assert!(res.status().is_success());
        }
        return;
    }
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind");
        eprintln!("throughput_server: {variant} on 127.0.0.1:{port}");
        axum::serve(listener, app).await.expect("serve");
    });
}
