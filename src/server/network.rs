//! The peer address of a request, for trust by network.

use std::net::{IpAddr, SocketAddr};

use http::Extensions;

/// The address of the peer a request came from, as a request extension.
///
/// Under feature `axum` the layer also reads axum's
/// `ConnectInfo<SocketAddr>` (serve with
/// `into_make_service_with_connect_info::<SocketAddr>()`), and under
/// feature `tonic` tonic's `TcpConnectInfo` (tonic's server inserts it on
/// plain TCP; with tonic's TLS it inserts `TlsConnectInfo`, which is not
/// read: insert this type there);
/// any other server inserts this type itself, e.g. in hyper's connection
/// loop:
///
/// ```
/// use tower_trace_context::server::PeerAddr;
/// let mut req = http::Request::get("/").body(()).unwrap();
/// req.extensions_mut().insert(PeerAddr("10.1.2.3:51000".parse().unwrap()));
/// # let _ = req;
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PeerAddr(pub SocketAddr);

impl PeerAddr {
    /// The peer address in `extensions`: a [`PeerAddr`], or (feature `axum`)
    /// axum's `ConnectInfo<SocketAddr>`, or (feature `tonic`) tonic's
    /// `TcpConnectInfo`.
    pub(crate) fn of(extensions: &Extensions) -> Option<IpAddr> {
        Self::socket_of(extensions).map(|addr| addr.ip())
    }

    /// The peer's socket address in `extensions` (see [`PeerAddr::of`]).
    pub(crate) fn socket_of(extensions: &Extensions) -> Option<SocketAddr> {
        if let Some(PeerAddr(addr)) = extensions.get::<PeerAddr>() {
            return Some(*addr);
        }
        #[cfg(feature = "axum")]
        if let Some(info) = extensions.get::<axum::extract::ConnectInfo<SocketAddr>>() {
            return Some(info.0);
        }
        #[cfg(feature = "tonic")]
        if let Some(info) = extensions.get::<tonic::transport::server::TcpConnectInfo>() {
            return info.remote_addr();
        }
        None
    }
}
