//! Real TCP servers on 127.0.0.1 and a hyper client for the tests.

use std::net::SocketAddr;

use axum::Router;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// Headers of every request a [`recorder`] got.
pub type Seen = std::sync::Arc<std::sync::Mutex<Vec<HeaderMap>>>;

/// A server that records the headers of every request it gets (any path,
/// GET or POST).
pub async fn recorder() -> (SocketAddr, Seen) {
    use axum::extract::State;
    use axum::routing::get;
    let seen: Seen = Seen::default();
    let record = |State(seen): State<Seen>, headers: HeaderMap| async move {
        seen.lock().unwrap().push(headers);
        "recorded"
    };
    let app = Router::new()
        .route("/{*path}", get(record).post(record))
        .with_state(seen.clone());
    (serve(app).await, seen)
}

/// Serves `app` on an ephemeral 127.0.0.1 port (on the current runtime).
pub async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// A response as the client saw it.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    /// All values of a header, in order.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }
}

/// Sends one request over TCP with the given headers (repeated names allowed).
pub async fn send(method: Method, url: &str, headers: &[(&str, &str)]) -> Reply {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut req = Request::builder().method(method).uri(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = client
        .request(req.body(Full::default()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}
