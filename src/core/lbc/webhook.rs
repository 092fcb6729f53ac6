//! The LBC's validating webhook for IngressClassParams, `spec.inboundCIDRs` part
//! (`webhooks/elbv2/ingressclassparams_validator.go`), with Kubernetes' field-error texts.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::world::IngressClassParams;

/// A CIDR as Go's `net.ParseCIDR` reads it: the address as written and the network address
/// (the address with host bits cleared), plus the prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GoCidr {
    pub addr: IpAddr,
    pub network: IpAddr,
    pub prefix: u8,
}

/// Go's `net.ParseCIDR`: `addr/len`, strict dotted-quad IPv4 (no leading zeros) or IPv6
/// without zone, decimal length up to 32/128. `None` when Go would fail.
pub fn parse_go_cidr(s: &str) -> Option<GoCidr> {
    let (addr, len) = s.split_once('/')?;
    let addr = parse_go_ip(addr)?;
    if len.is_empty() || !len.bytes().all(|b| b.is_ascii_digit()) || len.len() > 6 {
        return None;
    }
    let prefix: u32 = len.parse().ok()?;
    let bits = if addr.is_ipv4() { 32 } else { 128 };
    if prefix > bits {
        return None;
    }
    let network = match addr {
        IpAddr::V4(a) => {
            let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask))
        }
        IpAddr::V6(a) => {
            let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask))
        }
    };
    Some(GoCidr {
        addr,
        network,
        prefix: prefix as u8,
    })
}

/// Go's `net.ParseIP` (no zones).
pub fn parse_go_ip(s: &str) -> Option<IpAddr> {
    if s.contains(':') {
        s.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
    } else {
        s.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
    }
}

/// Go's `IP.String()`: IPv4-mapped IPv6 addresses print as dotted quads.
fn go_ip_string(ip: IpAddr) -> String {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => v6.to_string(),
        },
        IpAddr::V4(v4) => v4.to_string(),
    }
}

/// Go's `%q` for a string.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\x7f' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The webhook's check of one inbound CIDR; `None` when valid, else the field error body detail.
fn cidr_problem(cidr: &str) -> Option<String> {
    match parse_go_cidr(cidr) {
        None => {
            let mut detail = "Could not be parsed as a CIDR".to_string();
            if !cidr.contains('/')
                && let Some(ip) = parse_go_ip(cidr)
            {
                let v4 = match ip {
                    IpAddr::V4(_) => true,
                    IpAddr::V6(v6) => v6.to_ipv4_mapped().is_some(),
                };
                let len = if v4 && !cidr.contains(':') { 32 } else { 64 };
                detail.push_str(&format!(" (did you mean \"{cidr}/{len}\")"));
            }
            Some(detail)
        }
        Some(c) if c.addr != c.network => Some(format!(
            "Network contains bits outside prefix (did you mean \"{}/{}\")",
            go_ip_string(c.network),
            c.prefix
        )),
        Some(_) => None,
    }
}

/// Field errors for `spec.inboundCIDRs`, in list order, as Kubernetes renders them.
pub fn inbound_cidr_errors(cidrs: &[String]) -> Vec<String> {
    cidrs
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            cidr_problem(c).map(|detail| {
                format!(
                    "spec.inboundCIDRs[{i}]: Invalid value: {}: {detail}",
                    go_quote(c)
                )
            })
        })
        .collect()
}

/// Kubernetes' error aggregate: one message as-is, several as `[a, b]` (duplicates dropped).
pub fn aggregate(errors: &[String]) -> Option<String> {
    let mut seen: Vec<&str> = Vec::new();
    for e in errors {
        if !seen.contains(&e.as_str()) {
            seen.push(e);
        }
    }
    match seen.as_slice() {
        [] => None,
        [one] => Some(one.to_string()),
        many => Some(format!("[{}]", many.join(", "))),
    }
}

/// Validate an IngressClassParams on create/update (the CIDR part; the subnet-selector part is not
/// modelled because the world does not carry selectors).
pub fn validate_ingress_class_params(params: &IngressClassParams) -> Result<(), String> {
    match aggregate(&inbound_cidr_errors(&params.inbound_cidrs)) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
mod tests {
    use super::*;

    fn check(cidrs: &[&str]) -> Result<(), String> {
        let p = IngressClassParams {
            inbound_cidrs: cidrs.iter().map(|s| s.to_string()).collect(),
            ..IngressClassParams::default()
        };
        validate_ingress_class_params(&p)
    }

    #[test]
    fn lbc_test_cases() {
        assert_eq!(check(&["10.0.0.0/8", "2001:db8::/32"]), Ok(()));
        assert_eq!(
            check(&["2001:DB8::"]).unwrap_err(),
            "spec.inboundCIDRs[0]: Invalid value: \"2001:DB8::\": Could not be parsed as a CIDR (did you mean \"2001:DB8::/64\")"
        );
        assert_eq!(
            check(&["10.128.0.0/8"]).unwrap_err(),
            "spec.inboundCIDRs[0]: Invalid value: \"10.128.0.0/8\": Network contains bits outside prefix (did you mean \"10.0.0.0/8\")"
        );
    }

    #[test]
    fn several_errors_aggregate() {
        assert_eq!(
            check(&["1.2.3.4", "ok", "10.0.0.0/8"]).unwrap_err(),
            "[spec.inboundCIDRs[0]: Invalid value: \"1.2.3.4\": Could not be parsed as a CIDR (did you mean \"1.2.3.4/32\"), spec.inboundCIDRs[1]: Invalid value: \"ok\": Could not be parsed as a CIDR]"
        );
    }

    #[test]
    fn go_cidr_quirks() {
        // leading zeros in the address are rejected, in the length accepted
        assert!(parse_go_cidr("010.0.0.0/8").is_none());
        assert!(parse_go_cidr("10.0.0.0/08").is_some());
        assert!(parse_go_cidr("10.0.0.0/33").is_none());
        assert!(parse_go_cidr("10.0.0.0/").is_none());
        assert!(parse_go_cidr("fe80::1%eth0/64").is_none());
        let c = parse_go_cidr("2001:db8::1/32").unwrap();
        assert_eq!(c.network.to_string(), "2001:db8::");
        assert_eq!(
            cidr_problem("::ffff:10.1.2.3/120").unwrap(),
            "Network contains bits outside prefix (did you mean \"10.1.2.0/120\")"
        );
        assert_eq!(go_quote("a\"b\\\n"), "\"a\\\"b\\\\\\n\"");
    }
}
