//! A metaservice's egress rules (`egress = [...]` in its manifest): which
//! hosts and ports its bots may call over HTTP, and which addresses a name
//! may lead to. Pure rules; the runtime resolves and connects.
//!
//! An entry is `host` (port 443), `host:port`, or `host:*` (any port);
//! `host` is a name or an IP address (IPv6 in brackets when a port
//! follows). A name may lead only to public addresses: loopback, private,
//! link-local, unspecified, shared, broadcast and multicast ones are
//! refused, unless an entry names that very address — so that a listed
//! name pointed at `127.0.0.1` cannot reach Baton itself or scan the
//! machine's ports.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The port an entry allows when it names none: HTTPS.
pub const DEFAULT_PORT: u16 = 443;

/// One entry of the egress list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EgressRule {
    /// Lowercase name, or an IP address written canonically.
    pub host: String,
    /// `None`: any port.
    pub port: Option<u16>,
}

impl EgressRule {
    /// Parses `host`, `host:port`, `host:*`, `[v6]:port`.
    pub fn parse(entry: &str) -> Result<EgressRule, String> {
        let entry = entry.trim().to_ascii_lowercase();
        let bad = || {
            format!(
                "egress entry {entry:?} must be a host name or IP address with an optional \
                 :port or :* (no scheme or path)"
            )
        };
        let (host, port) = split_port(&entry).ok_or_else(bad)?;
        let port = match port {
            None => Some(DEFAULT_PORT),
            Some("*") => None,
            Some(p) => Some(p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(bad)?),
        };
        let host = match host.parse::<IpAddr>() {
            Ok(ip) => ip.to_string(),
            Err(_) if is_name(host) => host.to_string(),
            Err(_) => return Err(bad()),
        };
        Ok(EgressRule { host, port })
    }

    /// Whether this entry covers `host` (as in a URL) on `port`.
    pub fn covers(&self, host: &str, port: u16) -> bool {
        canonical_host(host) == self.host && self.port.is_none_or(|p| p == port)
    }

    /// Whether this entry names the address itself.
    fn names(&self, ip: IpAddr) -> bool {
        self.host
            .parse::<IpAddr>()
            .is_ok_and(|own| same_address(own, ip))
    }
}

impl fmt::Display for EgressRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match self.port {
            Some(p) => write!(f, "{host}:{p}"),
            None => write!(f, "{host}:*"),
        }
    }
}

/// A URL's host as the rules compare it: lowercase, IPs canonical, no
/// brackets.
pub fn canonical_host(host: &str) -> String {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.to_string(),
        Err(_) => bare.to_ascii_lowercase(),
    }
}

/// Whether a connection to `ip` is allowed under `rules` (those that
/// covered the request): public addresses always, the others only when a
/// rule names them.
pub fn address_allowed(ip: IpAddr, rules: &[&EgressRule]) -> Result<(), String> {
    match special(ip) {
        None => Ok(()),
        Some(_) if rules.iter().any(|r| r.names(ip)) => Ok(()),
        Some(kind) => Err(format!(
            "{ip}, a {kind} address, which only an egress entry naming it allows"
        )),
    }
}

/// What kind of non-public address `ip` is, if it is one. An IPv6
/// address that carries an IPv4 one (mapped, compatible, NAT64, 6to4) is
/// judged by the IPv4 address it leads to.
pub fn special(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => special_v4(v4).or(special_v6(v6)),
            None => special_v6(v6),
        },
    }
}

fn special_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if ip.is_unspecified() || a == 0 {
        Some("unspecified")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if ip.is_broadcast() || a >= 240 {
        Some("reserved")
    } else if a == 100 && (64..128).contains(&b) {
        Some("shared (carrier-grade NAT)")
    } else if a == 198 && (b == 18 || b == 19) {
        Some("benchmarking")
    } else if (a, b, c) == (192, 0, 0) {
        Some("protocol-assignment")
    } else if ip.is_documentation() {
        Some("documentation")
    } else {
        None
    }
}

fn special_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_unspecified() {
        Some("unspecified")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if s[0] & 0xfe00 == 0xfc00 {
        Some("private (unique local)")
    } else if s[0] & 0xffc0 == 0xfe80 {
        Some("link-local")
    } else if s[0] & 0xffc0 == 0xfec0 {
        Some("site-local")
    } else if s[0] == 0x2001 && s[1] == 0x0db8 {
        Some("documentation")
    } else {
        None
    }
}

/// The IPv4 address an IPv6 one carries: IPv4-mapped `::ffff:a.b.c.d`,
/// IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::a.b.c.d` (and
/// `64:ff9b:1::/48`), 6to4 `2002:aabb:ccdd::`.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = |hi: u16, lo: u16| {
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    match s {
        [0, 0, 0, 0, 0, 0, hi, lo] if (hi, lo) != (0, 0) && (hi, lo) != (0, 1) => Some(low(hi, lo)),
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(low(hi, lo)),
        [0x64, 0xff9b, 1, _, _, _, hi, lo] => Some(low(hi, lo)),
        [0x2002, hi, lo, ..] => Some(low(hi, lo)),
        _ => None,
    }
}

/// The same address, an IPv4 one written as IPv4-mapped IPv6 included.
fn same_address(a: IpAddr, b: IpAddr) -> bool {
    let v4 = |ip: IpAddr| match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        other => other,
    };
    v4(a) == v4(b)
}

/// `host[:port]` or `[v6][:port]`; a bare IPv6 address has no port.
fn split_port(entry: &str) -> Option<(&str, Option<&str>)> {
    if let Some(rest) = entry.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after {
            "" => Some((host, None)),
            p => Some((host, Some(p.strip_prefix(':')?))),
        };
    }
    if entry.parse::<Ipv6Addr>().is_ok() {
        return Some((entry, None));
    }
    match entry.rsplit_once(':') {
        Some((host, port)) => Some((host, Some(port))),
        None => Some((entry, None)),
    }
}

fn is_name(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(s: &str) -> EgressRule {
        EgressRule::parse(s).unwrap()
    }

    #[test]
    fn entries_name_a_host_and_a_port() {
        assert_eq!(
            rule("API.example.org"),
            EgressRule {
                host: "api.example.org".into(),
                port: Some(443)
            }
        );
        assert_eq!(rule("127.0.0.1:*").port, None);
        assert_eq!(
            rule("[::1]:8080"),
            EgressRule {
                host: "::1".into(),
                port: Some(8080)
            }
        );
        assert_eq!(rule("::1").port, Some(443));
        for bad in [
            "",
            "http://x.org",
            "x.org/path",
            "x.org:0",
            "x.org:99999",
            "a b",
            "x.org:",
        ] {
            assert!(EgressRule::parse(bad).is_err(), "{bad}");
        }
        let r = rule("api.example.org");
        assert!(r.covers("API.EXAMPLE.ORG", 443));
        assert!(
            !r.covers("api.example.org", 80),
            "443 unless a port is named"
        );
        assert!(!r.covers("api.example.org.evil.net", 443));
        assert!(rule("[::1]:*").covers("[::1]", 1234));
    }

    #[test]
    fn names_lead_only_to_public_addresses_unless_an_entry_names_the_address() {
        let name = rule("api.example.org:*");
        let lo = rule("127.0.0.1:*");
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "100.64.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(address_allowed(ip, &[&name]).is_err(), "{ip}");
        }
        let public: IpAddr = "93.184.216.34".parse().unwrap();
        assert!(address_allowed(public, &[&name]).is_ok());
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(address_allowed(loopback, &[&lo]).is_ok());
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        assert!(address_allowed(mapped, &[&lo]).is_ok());
        let other: IpAddr = "127.0.0.2".parse().unwrap();
        assert!(address_allowed(other, &[&lo]).is_err());
    }
}
