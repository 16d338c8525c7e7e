//! IP networks in CIDR notation.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use crate::error::ConfigError;

/// An IPv4 or IPv6 network in CIDR notation (`10.0.0.0/8`,
/// `fd00::/8`; a bare address is a `/32` or `/128`). Host bits must be zero.
/// IPv4-mapped IPv6 addresses (`::ffff:10.1.2.3`) match IPv4 networks.
///
/// The server layer trusts peers by network
/// ([`TraceContextLayer::trust_networks`](crate::server::TraceContextLayer::trust_networks));
/// the client allowlist admits IP-literal hosts by network
/// ([`AllowlistBuilder::networks`](crate::client::AllowlistBuilder::networks)).
///
/// ```
/// use tower_trace_context::IpNetwork;
/// let mesh: IpNetwork = "10.0.0.0/8".parse()?;
/// assert!(mesh.contains("10.42.0.7".parse().unwrap()));
/// assert!(mesh.contains("::ffff:10.42.0.7".parse().unwrap()));
/// assert!(!mesh.contains("192.168.0.1".parse().unwrap()));
/// assert!("10.0.0.1/8".parse::<IpNetwork>().is_err());
/// # Ok::<(), tower_trace_context::ConfigError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpNetwork {
    addr: IpAddr,
    prefix: u8,
}

impl IpNetwork {
    /// A network from its address and prefix length, checked.
    pub fn new(addr: IpAddr, prefix: u8) -> Result<Self, ConfigError> {
        let invalid = || ConfigError::InvalidNetwork(format!("{addr}/{prefix}"));
        let bits = match addr {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        if prefix > bits {
            return Err(invalid());
        }
        let network = Self { addr, prefix };
        if network.masked(addr) != Some(bits_of(addr)) {
            return Err(invalid());
        }
        Ok(network)
    }

    /// `addr`'s bits under this network's mask, when it is of the same
    /// family (an IPv4-mapped IPv6 address counts as IPv4).
    fn masked(&self, addr: IpAddr) -> Option<u128> {
        let addr = addr.to_canonical();
        let (value, bits) = match (self.addr, addr) {
            (IpAddr::V4(_), IpAddr::V4(a)) => (u128::from(u32::from(a)), 32u32),
            (IpAddr::V6(_), IpAddr::V6(a)) => (u128::from(a), 128),
            _ => return None,
        };
        let host_bits = bits - u32::from(self.prefix);
        let mask = u128::MAX.checked_shl(host_bits).unwrap_or(0);
        Some(value & mask)
    }

    /// Whether `addr` is in this network.
    #[must_use]
    pub fn contains(&self, addr: IpAddr) -> bool {
        self.masked(addr) == Some(bits_of(self.addr))
    }
}

/// The address as an integer (IPv4 in the low 32 bits).
fn bits_of(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

impl FromStr for IpNetwork {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, ConfigError> {
        let invalid = || ConfigError::InvalidNetwork(s.to_owned());
        let (addr, prefix) = match s.split_once('/') {
            Some((addr, prefix)) => {
                let prefix = match prefix.bytes().all(|b| b.is_ascii_digit()) {
                    true => prefix.parse::<u8>().map_err(|_| invalid())?,
                    false => return Err(invalid()),
                };
                (addr.parse::<IpAddr>().map_err(|_| invalid())?, prefix)
            }
            None => {
                let addr = s.parse::<IpAddr>().map_err(|_| invalid())?;
                (addr, if addr.is_ipv4() { 32 } else { 128 })
            }
        };
        Self::new(addr, prefix).map_err(|_| invalid())
    }
}

impl fmt::Debug for IpNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for IpNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::IpNetwork;

    #[test]
    fn parses_and_matches() {
        for (network, addr, inside) in [
            ("10.0.0.0/8", "10.255.0.1", true),
            ("10.0.0.0/8", "11.0.0.1", false),
            ("10.0.0.0/8", "::ffff:10.0.0.1", true),
            ("192.168.1.7", "192.168.1.7", true),
            ("192.168.1.7", "192.168.1.8", false),
            ("0.0.0.0/0", "8.8.8.8", true),
            ("0.0.0.0/0", "::1", false),
            ("fd00::/8", "fd12::1", true),
            ("fd00::/8", "fe80::1", false),
            ("::/0", "2001:db8::1", true),
            ("::1", "::1", true),
            ("::1", "127.0.0.1", false),
        ] {
            let net: IpNetwork = network.parse().unwrap();
            assert_eq!(
                net.contains(addr.parse().unwrap()),
                inside,
                "{network} {addr}"
            );
        }
        for bad in [
            "",
            "10.0.0.0/",
            "10.0.0.0/33",
            "10.0.0.1/8",
            "::1/129",
            "10.0.0.0/+8",
            "x/8",
            "10.0.0.0/8/8",
        ] {
            assert!(bad.parse::<IpNetwork>().is_err(), "{bad:?}");
        }
    }
}
