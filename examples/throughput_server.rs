//! The server the whole-server throughput benchmark drives
//! (`benches/throughput.sh`): one trivial axum handler behind one variant,
//! on one current-thread runtime.
//!
//! `cargo run --release --features axum --example throughput_server -- <variant> <port>`
//! with variant `bare`, `empty-layer` (a tower layer that does nothing),
//! `ours`, `ours-untraced` (no tracing subscriber at all), `floor`,
//! `hand-written`, `direct` (`SpanPath::OpenTelemetry`), `direct-floor`,
//! `ours-formats` / `direct-formats` (B3 and Datadog in turned on),
//! `oitower` (opentelemetry-instrumentation-tower, tracing only) or `ato`
//! (axum-tracing-opentelemetry); with `--oneshot`, suffixes in any order:
//! `-unsampled` sends flags `00`; `-lean` turns off tracing-opentelemetry's
//! per-span extras (threads, location, busy/idle times); `-tponly` sends
//! `traceparent` without `tracestate`.
//! Tracing variants use tracing-opentelemetry with the SDK (simple
//! processor, an exporter that drops spans), as the benches do.
//!
//! `... -- <variant> --oneshot N` sends N requests in-process instead (no
//! TCP), for a profiler: `benches/callgrind.sh` runs it under
//! `valgrind --tool=callgrind`.

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
    // Suffixes, in any order: `-tponly`, requests with `traceparent` alone;
    // `-lean`, tracing-opentelemetry without its per-span extras;
    // `-unsampled`, requests with flags 00 (the last two in-process only).
    let (mut key, mut tponly, mut lean, mut unsampled) = (variant.as_str(), false, false, false);
    loop {
        if let Some(k) = key.strip_suffix("-tponly") {
            (key, tponly) = (k, true);
        } else if let Some(k) = key.strip_suffix("-lean") {
            (key, lean) = (k, true);
        } else if let Some(k) = key.strip_suffix("-unsampled") {
            (key, unsampled) = (k, true);
        } else {
            break;
        }
    }
    // Before the apps are built: opentelemetry-instrumentation-tower takes
    // the global provider's tracer when its layer is built.
    let _provider = (key != "ours-untraced").then(|| axum_app::install_global_otel_with(lean));
    let key = match key {
        "ours-untraced" => "ours",
        key => key,
    };
    let Some(app) = axum_app::request_path_apps(unsampled)
        .into_iter()
        .find_map(|(k, _, app)| (k == key).then_some(app))
    else {
        eprintln!("unknown variant {variant:?}");
        std::process::exit(2);
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    if let Some(n) = oneshot {
        use tower::ServiceExt;
        for _ in 0..n {
            let mut req =
                axum_app::request(axum_app::traceparent(unsampled), axum_app::TRACESTATE, None);
            if tponly {
                req.headers_mut().remove("tracestate");
            }
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
