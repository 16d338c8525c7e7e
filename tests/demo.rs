//! The demo, end to end in real headless Chromium: click "Checkout" on the
//! frontend origin and check the page shows the joined trace.

#[path = "it/support/browser.rs"]
mod browser_support;
#[path = "../examples/demo/main.rs"]
#[allow(dead_code, unreachable_pub)]
mod demo;

use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkout_shows_one_trace_from_browser_to_downstream() {
    let store = demo::Store::default();
    let _provider = demo::install(store.clone());
    let servers = demo::start(0, store).await;

    let browser = browser_support::Browser::start().await;
    browser
        .client()
        .goto(&format!("http://{}/", servers.frontend))
        .await
        .unwrap();
    let got: Value = browser
        .run(
            r#"
document.getElementById('go').click();
const wait = async () => {
  for (let i = 0; i < 100; i++) {
    const rows = [...document.querySelectorAll('#waterfall .row .label')].map((e) => e.textContent);
    if (rows.length >= 5) return done({ rows, status: document.getElementById('status').textContent });
    await new Promise((r) => setTimeout(r, 50));
  }
  done({ rows: [], status: document.getElementById('status').textContent });
};
wait();
"#,
            vec![],
        )
        .await;
    let rows: Vec<String> = got["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_owned())
        .collect();
    let status = got["status"].as_str().unwrap();
    assert!(status.contains("names server span"), "{status}");
    // The browser span is the root, then the API's server span, its two
    // client spans, and the inventory service's server span.
    assert!(
        rows[0].starts_with("browser: POST /api/checkout"),
        "{rows:?}"
    );
    assert!(rows[1].starts_with("POST /api/checkout"), "{rows:?}");
    assert!(
        rows.iter().any(|r| r.starts_with("GET /inventory")),
        "{rows:?}"
    );
    assert_eq!(
        rows.iter()
            .filter(|r| r.starts_with("GET ") || r.starts_with("POST "))
            .count(),
        4,
        "{rows:?}"
    );
    browser.close().await;
}
