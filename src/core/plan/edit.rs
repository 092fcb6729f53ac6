//! Edits: what a user asks to change, parsed and validated before any planning.

use std::collections::BTreeMap;

use ipnet::IpNet;
use serde::Serialize;

use crate::world::{ObjKey, Rule, Source};

/// The object an annotation edit targets.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum ResourceRef {
    Service(ObjKey),
    Ingress(ObjKey),
}

impl ResourceRef {
    /// `service/NS/NAME` or `ingress/NS/NAME` (`svc`, `ing`, `services`, `ingresses` accepted).
    pub fn parse(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.split('/').collect();
        let [kind, ns, name] = parts.as_slice() else {
            return Err(format!(
                "resource {s:?}: expected service/NAMESPACE/NAME or ingress/NAMESPACE/NAME"
            ));
        };
        if ns.is_empty() || name.is_empty() {
            return Err(format!(
                "resource {s:?}: namespace and name must not be empty"
            ));
        }
        let key = ObjKey::new(*ns, *name);
        match kind.to_ascii_lowercase().as_str() {
            "service" | "services" | "svc" => Ok(ResourceRef::Service(key)),
            "ingress" | "ingresses" | "ing" => Ok(ResourceRef::Ingress(key)),
            other => Err(format!(
                "resource {s:?}: unknown kind {other:?}; use service/… or ingress/…"
            )),
        }
    }

    pub fn key(&self) -> &ObjKey {
        match self {
            ResourceRef::Service(k) | ResourceRef::Ingress(k) => k,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            ResourceRef::Service(_) => "service",
            ResourceRef::Ingress(_) => "ingress",
        }
    }
}

impl std::fmt::Display for ResourceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.kind(), self.key())
    }
}

/// One requested change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Edit {
    /// Set and remove annotations on a Service or Ingress.
    Annotations {
        resource: ResourceRef,
        set: BTreeMap<String, String>,
        unset: Vec<String>,
    },
    /// Add and remove inbound rules on a security group.
    Rules {
        sg: String,
        add: Vec<Rule>,
        remove: Vec<Rule>,
    },
    /// What if a controller flag had another value (never applied; planning only).
    ControllerFlag { name: String, value: String },
}

/// Parse `PROTO:PORTS:SOURCE[:DESCRIPTION]`, e.g. `tcp:443:0.0.0.0/0`, `tcp:8000-8100:sg-0abc`,
/// `udp:53:pl-0123`, `icmp:3,4:10.0.0.0/8`, `all:all:10.0.0.0/8`, `tcp:443:::/0:v6 clients`.
pub fn parse_rule(s: &str) -> Result<Rule, String> {
    let fail = |what: String| {
        format!(
            "rule {s:?}: {what}; expected PROTO:PORTS:SOURCE[:DESCRIPTION] like tcp:443:10.0.0.0/8"
        )
    };
    let mut it = s.splitn(3, ':');
    let proto_raw = it.next().unwrap_or_default();
    let ports_raw = it.next().ok_or_else(|| fail("missing ports".into()))?;
    let rest = it.next().ok_or_else(|| fail("missing source".into()))?;

    let protocol = match proto_raw.to_ascii_lowercase().as_str() {
        "tcp" | "6" => "tcp".to_string(),
        "udp" | "17" => "udp".to_string(),
        "icmp" | "1" => "icmp".to_string(),
        "icmpv6" | "58" => "icmpv6".to_string(),
        "all" | "-1" => "-1".to_string(),
        other => match other.parse::<u8>() {
            Ok(n) => n.to_string(),
            Err(_) => {
                return Err(fail(format!(
                    "unknown protocol {proto_raw:?} (use tcp, udp, icmp, icmpv6, all or a number)"
                )));
            }
        },
    };

    let (source_raw, description) = split_source(rest);
    if source_raw.is_empty() {
        return Err(fail("missing source".into()));
    }
    let source = parse_source(source_raw).map_err(fail)?;

    let (from, to) = match protocol.as_str() {
        "-1" => {
            if !matches!(ports_raw, "all" | "" | "-1") {
                return Err(fail(format!(
                    "protocol all covers every port; write all:all:…, not ports {ports_raw:?}"
                )));
            }
            (None, None)
        }
        "icmp" | "icmpv6" => {
            if ports_raw == "all" || ports_raw == "-1" {
                (Some(-1), Some(-1))
            } else {
                let (t, c) = ports_raw.split_once(',').unwrap_or((ports_raw, "-1"));
                let t = parse_icmp(t).map_err(|e| fail(format!("ICMP type {e}")))?;
                let c = parse_icmp(c).map_err(|e| fail(format!("ICMP code {e}")))?;
                (Some(t), Some(c))
            }
        }
        _ => {
            if ports_raw == "all" {
                (Some(0), Some(65535))
            } else {
                let (a, b) = ports_raw.split_once('-').unwrap_or((ports_raw, ports_raw));
                let a = parse_port(a).map_err(fail)?;
                let b = parse_port(b).map_err(fail)?;
                if a > b {
                    return Err(fail(format!("port range {a}-{b} is reversed")));
                }
                (Some(a), Some(b))
            }
        }
    };
    Ok(Rule {
        protocol,
        from_port: from,
        to_port: to,
        source,
        description: description.to_string(),
    })
}

/// Split `SOURCE[:DESCRIPTION]`, where an IPv6 CIDR contains colons itself.
fn split_source(rest: &str) -> (&str, &str) {
    if rest.starts_with("sg-") || rest.starts_with("pl-") || !rest.contains('/') {
        return rest.split_once(':').unwrap_or((rest, ""));
    }
    // A CIDR ends at the digits after its '/'.
    if let Some(slash) = rest.find('/') {
        let digits = rest[slash + 1..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
        let end = slash + 1 + digits;
        let (src, tail) = rest.split_at(end);
        return (src, tail.strip_prefix(':').unwrap_or(tail));
    }
    (rest, "")
}

/// A rule source: SG id, prefix list id, or a canonical IPv4/IPv6 CIDR.
pub fn parse_source(s: &str) -> Result<Source, String> {
    if let Some(id) = s.strip_prefix("sg-") {
        return if !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Ok(Source::Group(s.to_string()))
        } else {
            Err(format!(
                "{s:?} is not a security group id (sg- followed by letters and digits)"
            ))
        };
    }
    if let Some(id) = s.strip_prefix("pl-") {
        return if !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Ok(Source::PrefixList(s.to_string()))
        } else {
            Err(format!(
                "{s:?} is not a prefix list id (pl- followed by letters and digits)"
            ))
        };
    }
    validate_cidr(s)?;
    Ok(Source::from_cidr(s))
}

/// A CIDR EC2 would accept: parseable, with no host bits set.
pub fn validate_cidr(s: &str) -> Result<IpNet, String> {
    let net: IpNet = s.parse().map_err(|_| {
        if s.contains('/') {
            format!("{s:?} is not a CIDR block")
        } else {
            format!("{s:?} is not a CIDR block (did you mean \"{s}/32\"?)")
        }
    })?;
    if net.trunc() != net {
        return Err(format!(
            "{s:?} has host bits set; the network is {}",
            net.trunc()
        ));
    }
    Ok(net)
}

fn parse_port(s: &str) -> Result<i32, String> {
    match s.trim().parse::<i32>() {
        Ok(p) if (0..=65535).contains(&p) => Ok(p),
        _ => Err(format!("port {s:?} is not a number from 0 to 65535")),
    }
}

fn parse_icmp(s: &str) -> Result<i32, String> {
    match s.trim() {
        "all" | "-1" => Ok(-1),
        t => match t.parse::<i32>() {
            Ok(v) if (0..=255).contains(&v) => Ok(v),
            _ => Err(format!("{t:?} is not a number from 0 to 255 (or all)")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_contract_examples() {
        let r = parse_rule("tcp:443:0.0.0.0/0").unwrap();
        assert_eq!(
            (r.protocol.as_str(), r.from_port, r.to_port),
            ("tcp", Some(443), Some(443))
        );
        assert_eq!(r.source, Source::Cidr("0.0.0.0/0".into()));
        let r = parse_rule("tcp:8000-8100:sg-0abc").unwrap();
        assert_eq!((r.from_port, r.to_port), (Some(8000), Some(8100)));
        assert_eq!(r.source, Source::Group("sg-0abc".into()));
        assert_eq!(
            parse_rule("udp:53:pl-0123").unwrap().source,
            Source::PrefixList("pl-0123".into())
        );
        let r = parse_rule("icmp:3,4:10.0.0.0/8").unwrap();
        assert_eq!((r.from_port, r.to_port), (Some(3), Some(4)));
        let r = parse_rule("all:all:10.0.0.0/8").unwrap();
        assert_eq!((r.protocol.as_str(), r.from_port), ("-1", None));
    }

    #[test]
    fn ipv6_sources_and_descriptions() {
        let r = parse_rule("tcp:443:::/0:v6 clients").unwrap();
        assert_eq!(r.source, Source::CidrV6("::/0".into()));
        assert_eq!(r.description, "v6 clients");
        let r = parse_rule("tcp:80:2001:db8::/32").unwrap();
        assert_eq!(r.source, Source::CidrV6("2001:db8::/32".into()));
        assert_eq!(
            parse_rule("tcp:80:sg-1:from lb").unwrap().description,
            "from lb"
        );
    }

    #[test]
    fn rejects_bad_values_naming_them() {
        for (bad, needle) in [
            ("tcp:70000:10.0.0.0/8", "70000"),
            ("tcp:443:10.0.0.1/8", "host bits"),
            ("tcp:443:10.0.0.1", "/32"),
            ("gre:1:10.0.0.0/8", "gre"),
            ("tcp:443-80:10.0.0.0/8", "reversed"),
            ("tcp:443", "missing source"),
            ("tcp:443:sg-", "security group id"),
            ("all:443:10.0.0.0/8", "all:all"),
        ] {
            let e = parse_rule(bad).unwrap_err();
            assert!(e.contains(needle), "{bad}: {e}");
        }
    }

    #[test]
    fn resource_refs() {
        assert_eq!(
            ResourceRef::parse("svc/default/web").unwrap(),
            ResourceRef::Service(ObjKey::new("default", "web"))
        );
        assert!(ResourceRef::parse("ingress/shop/store").is_ok());
        assert!(
            ResourceRef::parse("pod/a/b")
                .unwrap_err()
                .contains("unknown kind")
        );
        assert!(ResourceRef::parse("svc/web").is_err());
    }
}
