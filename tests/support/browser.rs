//! Real headless Chromium for the tests: Debian's `chromium` and
//! `chromium-driver`, driven through chromedriver with fantoccini.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Installs Debian's `chromium` and `chromium-driver` when they are missing,
/// so that `cargo test --all-features` alone sets up a fresh Debian machine
/// (as root, like `.ci/run`). `flock` keeps test binaries running in
/// parallel from installing at the same time. Without apt, or not as root,
/// the install fails and so does the test: browser tests never skip.
fn install_chromium() {
    if [CHROMIUM, CHROMEDRIVER]
        .iter()
        .all(|bin| std::path::Path::new(bin).exists())
    {
        return;
    }
    let script = format!(
        "test -x {CHROMIUM} && test -x {CHROMEDRIVER} || \
         {{ apt-get update && apt-get install -y --no-install-recommends chromium chromium-driver; }}"
    );
    let status = Command::new("flock")
        .args(["/tmp/tower-trace-context-apt.lock", "sh", "-c", &script])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status();
    eprintln!("installing chromium and chromium-driver with apt-get: {status:?}");
}

/// One browser at a time per test binary: Chromium instances starting in
/// parallel on a 2-core machine made chromedriver drop session requests.
/// (An async mutex: tests run on their own runtimes, and a failed test
/// leaves nothing poisoned.)
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// chromedriver plus one browser session; both go away on drop.
pub struct Browser {
    driver: Child,
    client: Option<fantoccini::Client>,
    profile: std::path::PathBuf,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

impl Browser {
    pub async fn start() -> Self {
        let turn = ONE_AT_A_TIME.lock().await;
        install_chromium();
        for bin in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                std::path::Path::new(bin).exists(),
                "{bin} is missing: install Debian's chromium and chromium-driver"
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile =
            std::env::temp_dir().join(format!("ttc-chromium-{}-{port}", std::process::id()));
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    format!("--user-data-dir={}", profile.display()),
                ],
            }),
        );
        // chromedriver may accept connections a moment before it takes
        // session requests: a few tries.
        let mut attempt = 0;
        let client = loop {
            attempt += 1;
            let result = fantoccini::ClientBuilder::new(
                hyper_util::client::legacy::connect::HttpConnector::new(),
            )
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await;
            match result {
                Ok(client) => break client,
                Err(err) if attempt < 4 => {
                    eprintln!("chromedriver session attempt {attempt} failed: {err}; retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(err) => panic!("a Chromium session: {err}"),
            }
        };
        Self {
            driver,
            client: Some(client),
            profile,
            _turn: turn,
        }
    }

    pub fn client(&self) -> &fantoccini::Client {
        self.client.as_ref().expect("session open")
    }

    /// Runs `script` as an async WebDriver script; it calls `done(value)`.
    pub async fn run(&self, script: &str, args: Vec<Value>) -> Value {
        let script = format!("const done = arguments[arguments.length - 1];\n{script}");
        self.client()
            .execute_async(&script, args)
            .await
            .expect("script runs")
    }

    pub async fn close(mut self) {
        if let Some(client) = self.client.take() {
            let _ = client.close().await;
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
