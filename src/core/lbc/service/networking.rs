//! The `spec.networking.ingress` block of a Service's generated TargetGroupBinding: SG mode
//! (lbc-semantics §7.2) and the legacy CIDR mode of an NLB without SGs (§7.3).

use super::frontend::source_ranges;
use super::lb_attrs::SCHEME_INTERNAL;
use super::target_group::TG_IP_TYPE_IPV4;
use super::{int_value, is_traffic_port, service_annotations};
use crate::core::lbc::manage_rules;
use crate::world::{IntOrString, NetworkingPeer, NetworkingPort, NetworkingRule, Service, Subnet};

fn port(protocol: &str, port: Option<&IntOrString>) -> NetworkingPort {
    NetworkingPort {
        protocol: Some(protocol.to_string()),
        port: port.cloned(),
    }
}

/// TG protocols that carry UDP (and so always keep client IPs).
fn is_udp_family(tg_protocol: &str) -> bool {
    matches!(tg_protocol, "UDP" | "QUIC" | "TCP_UDP" | "TCP_QUIC")
}

/// SG mode: one rule from the source SG. Unrestricted opens all TCP (and all UDP for UDP-family
/// TGs); restricted opens the traffic port by protocol, plus a TCP rule on a numeric health-check
/// port that differs from it. No source SG (custom SGs without manage-rules) ⇒ no networking.
pub fn sg_mode(
    source_sg: Option<&str>,
    tg_port: &IntOrString,
    hc_port: &IntOrString,
    tg_protocol: &str,
    unrestricted: bool,
) -> Option<Vec<NetworkingRule>> {
    let sg = source_sg?;
    let hc_numeric = matches!(hc_port, IntOrString::Int(_));
    let mut ports = Vec::new();
    if unrestricted {
        ports.push(port("TCP", None));
        if is_udp_family(tg_protocol) {
            ports.push(port("UDP", None));
        }
    } else {
        match tg_protocol {
            "TCP" | "TLS" => ports.push(port("TCP", Some(tg_port))),
            "UDP" | "QUIC" | "TCP_UDP" | "TCP_QUIC" => {
                ports.push(port("UDP", Some(tg_port)));
                // UDP health checks are TCP: open TCP on the traffic port when it is checked there.
                if matches!(tg_protocol, "TCP_UDP" | "TCP_QUIC")
                    || is_traffic_port(hc_port)
                    || (hc_numeric && int_value(hc_port) == int_value(tg_port))
                {
                    ports.push(port("TCP", Some(tg_port)));
                }
            }
            // Any other protocol (e.g. an unset one) opens no traffic port.
            _ => {}
        }
        if hc_numeric && int_value(hc_port) != int_value(tg_port) {
            ports.push(port("TCP", Some(hc_port)));
        }
    }
    Some(vec![NetworkingRule {
        from: vec![NetworkingPeer::SecurityGroup(sg.to_string())],
        ports,
    }])
}

/// What the legacy (SG-less NLB) builder reads.
#[derive(Debug, Clone, Copy)]
pub struct LegacyInput<'a> {
    pub svc: &'a Service,
    pub tg_port: &'a IntOrString,
    pub hc_port: &'a IntOrString,
    pub tg_protocol: &'a str,
    /// `ipv4` or `ipv6`.
    pub tg_ip_address_type: &'a str,
    pub preserve_client_ip: bool,
    pub scheme: &'a str,
    pub lb_subnets: &'a [Subnet],
    /// Associated VPC CIDR blocks only.
    pub vpc_cidrs: &'a [String],
    pub vpc_ipv6_cidrs: &'a [String],
}

fn cidr_peers(cidrs: &[String]) -> Vec<NetworkingPeer> {
    cidrs
        .iter()
        .map(|c| NetworkingPeer::IpBlock(c.clone()))
        .collect()
}

/// Legacy mode: CIDR sources. Clients (source ranges, else `0.0.0.0/0`/`::/0`, or the VPC CIDRs
/// when internal) when the NLB keeps client IPs, else the LB subnets; plus a TCP health-check
/// rule from the LB subnets unless the traffic rule already admits the health checks.
/// `manage-backend-security-group-rules: false` (default true here) ⇒ no networking.
pub fn legacy(inp: &LegacyInput<'_>) -> Result<Option<Vec<NetworkingRule>>, String> {
    if !manage_rules::service_flag(&service_annotations(inp.svc), true)? {
        return Ok(None);
    }
    let ipv4 = inp.tg_ip_address_type == TG_IP_TYPE_IPV4;
    let subnet_cidrs: Vec<String> = if ipv4 {
        inp.lb_subnets.iter().map(|s| s.cidr.clone()).collect()
    } else {
        inp.lb_subnets
            .iter()
            .flat_map(|s| s.ipv6_cidrs.iter().cloned())
            .collect()
    };
    let clients_seen = is_udp_family(inp.tg_protocol) || inp.preserve_client_ip;
    let mut traffic_source = subnet_cidrs.clone();
    let mut defaults_used = false;
    if clients_seen {
        traffic_source = source_ranges(inp.svc);
        if traffic_source.is_empty() {
            traffic_source = match (inp.scheme == SCHEME_INTERNAL, ipv4) {
                (true, true) => inp.vpc_cidrs.to_vec(),
                (true, false) => inp.vpc_ipv6_cidrs.to_vec(),
                (false, true) => vec!["0.0.0.0/0".to_string()],
                (false, false) => vec!["::/0".to_string()],
            };
            defaults_used = true;
        }
    }
    let traffic_ports = match inp.tg_protocol {
        "TCP_UDP" | "TCP_QUIC" => vec![
            port("TCP", Some(inp.tg_port)),
            port("UDP", Some(inp.tg_port)),
        ],
        "UDP" | "QUIC" => vec![port("UDP", Some(inp.tg_port))],
        _ => vec![port("TCP", Some(inp.tg_port))],
    };
    let mut rules = vec![NetworkingRule {
        from: cidr_peers(&traffic_source),
        ports: traffic_ports,
    }];
    let hc_admitted_already = inp.tg_protocol != "UDP"
        && (is_traffic_port(inp.hc_port) || int_value(inp.hc_port) == int_value(inp.tg_port))
        && (!inp.preserve_client_ip
            || defaults_used
            || traffic_source
                .iter()
                .any(|c| c == "0.0.0.0/0" || c == "::/0"));
    if !hc_admitted_already && !subnet_cidrs.is_empty() {
        let hc = if is_traffic_port(inp.hc_port) {
            inp.tg_port
        } else {
            inp.hc_port
        };
        rules.push(NetworkingRule {
            from: cidr_peers(&subnet_cidrs),
            ports: vec![port("TCP", Some(hc))],
        });
    }
    Ok(Some(rules))
}
