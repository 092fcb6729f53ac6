//! Does a target ENI admit traffic from its load balancer on a port? The graph needs a yes/no
//! per hop and the rule that says so. This is a deliberately small check over the world's SG
//! rules (group references to the LB's SGs, CIDRs covering the LB's subnets, any CIDR for an
//! SG-less NLB that keeps client IPs); `core::reach` is the full model and replaces it when
//! it lands, behind the same [`Hop`] shape.

use ipnet::IpNet;

use super::index::Index;
use crate::world::{LoadBalancer, NetworkInterface, Rule, Source};

/// The verdict for one hop (LB → target on one port).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    pub allowed: Option<bool>,
    /// `sg-0nodes: tcp 5514-32443 from sg-0backend`, or why nothing admits it.
    pub why: String,
}

/// The transport protocols a target-group protocol needs rules for.
pub fn protocols_of(tg_protocol: Option<&str>) -> Vec<&'static str> {
    match tg_protocol.unwrap_or("TCP").to_ascii_uppercase().as_str() {
        "UDP" | "QUIC" => vec!["udp"],
        "TCP_UDP" | "TCP_QUIC" => vec!["tcp", "udp"],
        _ => vec!["tcp"],
    }
}

fn covers(rule: &Rule, proto: &str, port: i32) -> bool {
    if rule.is_all_traffic() {
        return true;
    }
    if rule.protocol != proto {
        return false;
    }
    match (rule.from_port, rule.to_port) {
        (Some(f), Some(t)) => f <= port && port <= t,
        _ => true,
    }
}

fn cidr_contains(outer: &str, inner: &str) -> bool {
    match (outer.parse::<IpNet>(), inner.parse::<IpNet>()) {
        (Ok(o), Ok(i)) => o.contains(&i),
        _ => false,
    }
}

/// Whether `eni` admits traffic of `lb` on `proto`/`port`.
pub fn admits(
    idx: &Index<'_>,
    lb: &LoadBalancer,
    eni: &NetworkInterface,
    proto: &str,
    port: i32,
) -> Hop {
    if !idx.sgs_loaded() {
        return Hop {
            allowed: None,
            why: "security groups not loaded".into(),
        };
    }
    let subnets = idx.lb_subnet_cidrs(lb);
    let mut unknown = Vec::new();
    for sg_id in &eni.groups {
        let Some(sg) = idx.sg(sg_id) else {
            unknown.push(sg_id.clone());
            continue;
        };
        for r in sg.ingress.iter().map(|r| &r.rule) {
            if !covers(r, proto, port) {
                continue;
            }
            let hit = match &r.source {
                Source::Group(g) => lb.security_groups.contains(g),
                Source::Cidr(c) | Source::CidrV6(c) if lb.security_groups.is_empty() => {
                    // SG-less NLB: client IPs (or, for health checks, LB subnet IPs) arrive as is.
                    !c.is_empty()
                }
                Source::Cidr(c) | Source::CidrV6(c) => {
                    !subnets.is_empty() && subnets.iter().all(|s| cidr_contains(c, s))
                }
                Source::PrefixList(_) | Source::None => false,
            };
            if hit {
                return Hop {
                    allowed: Some(true),
                    why: format!("{sg_id}: {} from {}", r.ports_text(), r.source),
                };
            }
        }
    }
    let froms = if lb.security_groups.is_empty() {
        "the clients".to_string()
    } else {
        lb.security_groups.join(" or ")
    };
    let sgs = eni.groups.join(", ");
    if !unknown.is_empty() {
        return Hop {
            allowed: None,
            why: format!(
                "{} not found; cannot tell whether {sgs} admits {froms}",
                unknown.join(", ")
            ),
        };
    }
    Hop {
        allowed: Some(false),
        why: format!("no rule on {sgs} admits {froms} on {proto}/{port}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::{SecurityGroup, SgRule, Subnet, World};
    use std::collections::BTreeMap;

    fn world(rules: Vec<Rule>) -> World {
        let mut w = World::default();
        let sg = SecurityGroup {
            id: "sg-n".into(),
            ingress: rules
                .into_iter()
                .map(|rule| SgRule {
                    rule,
                    id: None,
                    tags: BTreeMap::new(),
                })
                .collect(),
            ..Default::default()
        };
        w.aws.security_groups = Some(BTreeMap::from([("sg-n".into(), sg)]));
        w.aws.subnets = Some(BTreeMap::from([(
            "subnet-a".into(),
            Subnet {
                id: "subnet-a".into(),
                cidr: "10.0.1.0/24".into(),
                ..Default::default()
            },
        )]));
        w
    }

    fn lb(sgs: &[&str]) -> LoadBalancer {
        LoadBalancer {
            security_groups: sgs.iter().map(|s| s.to_string()).collect(),
            subnets: vec!["subnet-a".into()],
            ..Default::default()
        }
    }

    fn eni() -> NetworkInterface {
        NetworkInterface {
            id: "eni-1".into(),
            groups: vec!["sg-n".into()],
            ..Default::default()
        }
    }

    #[test]
    fn group_rule_in_range_admits() {
        let w = world(vec![Rule::new(
            "tcp",
            5000,
            32000,
            Source::Group("sg-be".into()),
            "",
        )]);
        let idx = Index::new(&w);
        let hop = admits(&idx, &lb(&["sg-fe", "sg-be"]), &eni(), "tcp", 30643);
        assert_eq!(hop.allowed, Some(true), "{hop:?}");
        assert!(hop.why.contains("sg-n: tcp 5000-32000 from sg-be"));
        let hop = admits(&idx, &lb(&["sg-fe"]), &eni(), "tcp", 30643);
        assert_eq!(hop.allowed, Some(false));
        assert!(
            hop.why.contains("no rule on sg-n admits sg-fe"),
            "{}",
            hop.why
        );
        let hop = admits(&idx, &lb(&["sg-be"]), &eni(), "udp", 30643);
        assert_eq!(hop.allowed, Some(false), "protocol matters");
    }

    #[test]
    fn cidr_rules_count_when_they_cover_the_lb_subnets() {
        let w = world(vec![Rule::new(
            "tcp",
            80,
            80,
            Source::Cidr("10.0.0.0/16".into()),
            "",
        )]);
        let idx = Index::new(&w);
        assert_eq!(
            admits(&idx, &lb(&["sg-x"]), &eni(), "tcp", 80).allowed,
            Some(true)
        );
        let w = world(vec![Rule::new(
            "tcp",
            80,
            80,
            Source::Cidr("10.9.0.0/16".into()),
            "",
        )]);
        let idx = Index::new(&w);
        assert_eq!(
            admits(&idx, &lb(&["sg-x"]), &eni(), "tcp", 80).allowed,
            Some(false)
        );
        // SG-less NLB: any CIDR rule on the port is the client filter.
        assert_eq!(
            admits(&idx, &lb(&[]), &eni(), "tcp", 80).allowed,
            Some(true)
        );
    }

    #[test]
    fn unknown_sg_is_not_a_verdict() {
        let w = world(vec![]);
        let idx = Index::new(&w);
        let mut e = eni();
        e.groups.push("sg-gone".into());
        assert_eq!(admits(&idx, &lb(&["sg-x"]), &e, "tcp", 80).allowed, None);
    }
}
