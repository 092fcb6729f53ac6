//! TGB networking rules → EC2 rules (lbc-semantics §8.3, `computeIngressPermissionsForTGBNetworking`).

use std::collections::BTreeSet;

use crate::world::{
    IntOrString, NetworkingPeer, NetworkingPort, NetworkingRule, Pod, Rule, Source,
};

use super::SHARED_RULE_DESCRIPTION;

/// The EC2 rules for a binding's networking block, in the LBC's order (rule, then peer, then
/// port). `pods` are the endpoint pods behind one target SG (empty for instance targets); named
/// ports resolve against their container ports.
///
/// A rule with an empty `ports` list yields nothing: the LBC computes "all TCP" for it and then
/// discards the result (lbc-semantics §14.1, vector TPR-011), though errors still surface.
pub fn permissions_for(rules: &[NetworkingRule], pods: &[Pod]) -> Result<Vec<Rule>, String> {
    let mut out = Vec::new();
    for rule in rules {
        for peer in &rule.from {
            for port in &rule.ports {
                out.extend(peer_port(peer, port, pods)?);
            }
            if rule.ports.is_empty() {
                let all_tcp = NetworkingPort {
                    protocol: Some("TCP".into()),
                    port: None,
                };
                // computed for its errors only; the LBC drops the rules themselves
                peer_port(peer, &all_tcp, pods)?;
            }
        }
    }
    Ok(out)
}

/// The numeric ports a port reference stands for: itself, or for a name every distinct
/// container port of that name across `pods`, ascending.
pub fn numeric_ports(port: &IntOrString, pods: &[Pod]) -> Result<Vec<i32>, String> {
    let name = match port {
        IntOrString::Int(n) => return Ok(vec![*n]),
        IntOrString::Str(name) => name,
    };
    if pods.is_empty() {
        return Err("named ports can only be used with pod endpoints".into());
    }
    let mut found = BTreeSet::new();
    for pod in pods {
        let p = pod
            .ports
            .iter()
            .find(|p| p.name.as_deref() == Some(name.as_str()))
            .ok_or_else(|| format!("unable to find port {name} on pod {}", pod_key(pod)))?;
        found.insert(p.container_port);
    }
    Ok(found.into_iter().collect())
}

/// Go's `NamespacedName.String()`: always `namespace/name`.
fn pod_key(pod: &Pod) -> String {
    format!("{}/{}", pod.meta.namespace, pod.meta.name)
}

fn peer_port(
    peer: &NetworkingPeer,
    port: &NetworkingPort,
    pods: &[Pod],
) -> Result<Vec<Rule>, String> {
    // only an explicit UDP changes the protocol; anything else stays tcp
    let protocol = match port.protocol.as_deref() {
        Some("UDP") => "udp",
        _ => "tcp",
    };
    let ranges: Vec<(i32, i32)> = match &port.port {
        Some(p) => numeric_ports(p, pods)?
            .into_iter()
            .map(|n| (n, n))
            .collect(),
        None => vec![(0, 65535)],
    };
    let source = match peer {
        NetworkingPeer::SecurityGroup(id) => Source::Group(id.clone()),
        NetworkingPeer::IpBlock(cidr) => {
            if cidr.parse::<ipnet::IpNet>().is_err() {
                return Err(format!("invalid CIDR address: {cidr}"));
            }
            Source::from_cidr(cidr)
        }
        NetworkingPeer::Empty => {
            return Err("either ipBlock or securityGroup should be specified".into());
        }
    };
    Ok(ranges
        .into_iter()
        .map(|(from, to)| Rule::new(protocol, from, to, source.clone(), SHARED_RULE_DESCRIPTION))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::{ContainerPort, Meta};

    fn pod(name: &str, ports: &[(&str, i32)]) -> Pod {
        Pod {
            meta: Meta {
                namespace: "ns".into(),
                name: name.into(),
                ..Meta::default()
            },
            ports: ports
                .iter()
                .map(|(n, p)| ContainerPort {
                    name: Some(n.to_string()),
                    container_port: *p,
                    protocol: None,
                })
                .collect(),
            ..Pod::default()
        }
    }

    fn rule(peer: NetworkingPeer, ports: Vec<NetworkingPort>) -> NetworkingRule {
        NetworkingRule {
            from: vec![peer],
            ports,
        }
    }

    #[test]
    fn named_port_yields_one_rule_per_distinct_container_port() {
        let r = rule(
            NetworkingPeer::SecurityGroup("sg-1".into()),
            vec![NetworkingPort {
                protocol: Some("UDP".into()),
                port: Some(IntOrString::Str("dns".into())),
            }],
        );
        let pods = [
            pod("a", &[("dns", 5353)]),
            pod("b", &[("dns", 53)]),
            pod("c", &[("dns", 53)]),
        ];
        let ports = permissions_for(&[r], &pods).map(|got| {
            got.iter()
                .map(|r| (r.protocol.clone(), r.from_port, r.to_port))
                .collect::<Vec<_>>()
        });
        assert_eq!(
            ports,
            Ok(vec![
                ("udp".to_string(), Some(53), Some(53)),
                ("udp".to_string(), Some(5353), Some(5353))
            ])
        );
    }

    #[test]
    fn named_port_missing_on_a_pod_names_that_pod() {
        let pods = [pod("a", &[("http", 80)]), pod("b", &[("web", 80)])];
        assert_eq!(
            numeric_ports(&IntOrString::Str("http".into()), &pods),
            Err("unable to find port http on pod ns/b".to_string())
        );
    }

    #[test]
    fn bad_peers_fail_even_when_ports_are_empty() {
        let bad_cidr = rule(NetworkingPeer::IpBlock("10.0.0.300/8".into()), vec![]);
        assert_eq!(
            permissions_for(&[bad_cidr], &[]),
            Err("invalid CIDR address: 10.0.0.300/8".to_string())
        );
        let empty = rule(NetworkingPeer::Empty, vec![]);
        assert_eq!(
            permissions_for(&[empty], &[]),
            Err("either ipBlock or securityGroup should be specified".to_string())
        );
    }

    #[test]
    fn ipv6_cidr_goes_to_ipv6_ranges_and_unset_port_is_full_range() {
        let r = rule(
            NetworkingPeer::IpBlock("2001:db8::/64".into()),
            vec![NetworkingPort {
                protocol: None,
                port: None,
            }],
        );
        assert_eq!(
            permissions_for(&[r], &[]),
            Ok(vec![Rule::new(
                "tcp",
                0,
                65535,
                Source::CidrV6("2001:db8::/64".into()),
                SHARED_RULE_DESCRIPTION
            )])
        );
    }
}
