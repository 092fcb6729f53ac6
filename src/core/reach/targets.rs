//! The targets of a target group and the security groups that guard each of them.
//!
//! DescribeTargetHealth is the truth (instance ids → the instance's primary ENI, IPs → the ENI
//! holding the IP). Without it, the TargetGroupBinding says what the LBC would register:
//! eligible nodes for instance targets, ready EndpointSlice addresses for ip targets.

use std::net::IpAddr;

use serde::Serialize;

use super::index::WorldIndex;
use crate::world::{IntOrString, NetworkInterface, Node, TargetGroup, TargetGroupBinding};

/// Where the target list came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetsFrom {
    TargetHealth,
    /// Inferred from the TargetGroupBinding (nodes or EndpointSlices).
    TargetGroupBinding,
    /// Neither target health nor a TGB with resolvable endpoints.
    NotLoaded,
}

/// How a target's SGs were found.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "detail")]
pub enum SgOrigin {
    /// The target's ENI.
    Eni,
    /// The ENI is not loaded; the instance's SGs stand in (they are the union over its ENIs).
    Instance,
    /// An ALB registered as an NLB target: the ALB's SGs.
    AlbTarget,
    /// A Lambda target: no SG in the path.
    Lambda,
    /// No ENI could be found for the target.
    Unresolved(String),
}

#[derive(Debug, Clone)]
pub struct ResolvedTarget<'w> {
    /// Instance id, IP address or ALB ARN.
    pub id: String,
    /// The port traffic is sent to.
    pub port: Option<u16>,
    pub health_check_port: Option<u16>,
    /// Target health state, when loaded.
    pub health: Option<String>,
    pub eni: Option<&'w NetworkInterface>,
    /// SGs evaluated for this target, sorted (borrowed: targets are many, SG sets few).
    pub sgs: Vec<&'w str>,
    pub origin: SgOrigin,
}

/// The targets of `tg` and where that list came from.
pub fn resolve<'w>(
    idx: &WorldIndex<'w>,
    tg: &'w TargetGroup,
) -> (TargetsFrom, Vec<ResolvedTarget<'w>>) {
    let hc_numeric = tg
        .health_check_port
        .as_deref()
        .and_then(|p| p.parse::<u16>().ok());
    let tg_port = tg.port.and_then(|p| u16::try_from(p).ok());
    if let Some(health) = idx
        .world
        .aws
        .target_health
        .as_ref()
        .and_then(|m| m.get(&tg.arn))
    {
        let out = health
            .iter()
            .map(|h| {
                let port = h.port.and_then(|p| u16::try_from(p).ok()).or(tg_port);
                let hc = h
                    .health_check_port
                    .as_deref()
                    .and_then(|p| p.parse::<u16>().ok())
                    .or(hc_numeric)
                    .or(port);
                let mut t = locate(idx, tg, &h.id);
                t.port = port;
                t.health_check_port = hc;
                t.health = Some(h.state.clone());
                t
            })
            .collect();
        return (TargetsFrom::TargetHealth, out);
    }
    let tgbs = idx.tgbs_of_tg(&tg.arn);
    let mut out = Vec::new();
    for tgb in tgbs {
        let target_type = tgb.target_type.as_deref().unwrap_or(&tg.target_type);
        if target_type == "instance" {
            for inst in eligible_instances(idx, tgb) {
                let mut t = locate(idx, tg, inst);
                t.port = tg_port;
                t.health_check_port = hc_numeric.or(tg_port);
                out.push(t);
            }
        } else {
            for (ip, port) in endpoint_addresses(idx, tgb) {
                let mut t = locate(idx, tg, &ip);
                t.port = port.or(tg_port);
                t.health_check_port = hc_numeric.or(t.port);
                out.push(t);
            }
        }
    }
    if out.is_empty() {
        (TargetsFrom::NotLoaded, out)
    } else {
        out.sort_by(|a, b| (&a.id, a.port).cmp(&(&b.id, b.port)));
        out.dedup_by(|a, b| a.id == b.id && a.port == b.port);
        (TargetsFrom::TargetGroupBinding, out)
    }
}

/// The ENI and SGs behind one target id.
fn locate<'w>(idx: &WorldIndex<'w>, tg: &TargetGroup, id: &str) -> ResolvedTarget<'w> {
    let mut t = ResolvedTarget {
        id: id.to_string(),
        port: None,
        health_check_port: None,
        health: None,
        eni: None,
        sgs: Vec::new(),
        origin: SgOrigin::Eni,
    };
    match tg.target_type.as_str() {
        "lambda" => t.origin = SgOrigin::Lambda,
        "alb" => match idx.lb(id) {
            Some(lb) => {
                t.sgs = lb.security_groups.iter().map(String::as_str).collect();
                t.origin = SgOrigin::AlbTarget;
            }
            None => t.origin = SgOrigin::Unresolved(format!("target ALB {id} not loaded")),
        },
        _ if id.starts_with("i-") => {
            if let Some(eni) = idx.primary_eni(id) {
                t.eni = Some(eni);
                t.sgs = eni.groups.iter().map(String::as_str).collect();
            } else if let Some(inst) = idx
                .world
                .aws
                .instances
                .as_ref()
                .and_then(|m| m.get(id))
                .filter(|i| !i.security_groups.is_empty())
            {
                t.sgs = inst.security_groups.iter().map(String::as_str).collect();
                t.origin = SgOrigin::Instance;
            } else {
                t.origin = SgOrigin::Unresolved(format!("primary ENI of {id} not loaded"));
            }
        }
        _ => match id.parse::<IpAddr>().ok().and_then(|ip| idx.eni_by_ip(ip)) {
            Some(eni) => {
                t.eni = Some(eni);
                t.sgs = eni.groups.iter().map(String::as_str).collect();
            }
            None => {
                t.origin = SgOrigin::Unresolved(format!("no loaded ENI holds {id}"));
            }
        },
    }
    t.sgs.sort_unstable();
    t.sgs.dedup();
    t
}

const EXCLUDE_LABELS: [&str; 2] = [
    "node.kubernetes.io/exclude-from-external-load-balancers",
    "alpha.service-controller.kubernetes.io/exclude-balancer",
];

/// Whether the LBC registers this node for any instance TGB (before the TGB's own selector).
pub(super) fn registrable(n: &Node) -> bool {
    let l = &n.meta.labels;
    !EXCLUDE_LABELS.iter().any(|k| l.contains_key(*k))
        && !l.contains_key("node-role.kubernetes.io/master")
        && l.get("eks.amazonaws.com/compute-type").map(String::as_str) != Some("fargate")
}

/// Instance ids of the nodes the LBC registers for an instance TGB (lbc-semantics §8.1).
fn eligible_instances<'w>(idx: &WorldIndex<'w>, tgb: &TargetGroupBinding) -> Vec<&'w str> {
    // registrable nodes are indexed once, by label: only the selector is per TGB
    idx.registrable_matching(&tgb.node_selector)
}

/// Ready endpoint addresses of the TGB's Service port, with the endpoint port.
fn endpoint_addresses(
    idx: &WorldIndex<'_>,
    tgb: &TargetGroupBinding,
) -> Vec<(String, Option<u16>)> {
    let ns = tgb.meta.namespace.as_str();
    let svc = idx.service(&crate::world::ObjKey::new(ns, tgb.service_name.clone()));
    // The EndpointSlice port carries the Service port's name.
    let port_name: Option<Option<String>> = svc.and_then(|s| {
        s.spec
            .ports
            .iter()
            .find(|p| match &tgb.service_port {
                IntOrString::Int(n) => p.port == *n,
                IntOrString::Str(name) => p.name.as_deref() == Some(name.as_str()),
            })
            .map(|p| p.name.clone().filter(|n| !n.is_empty()))
    });
    let mut out = Vec::new();
    for slice in idx.endpoint_slices(ns, &tgb.service_name) {
        let port = slice
            .ports
            .iter()
            .find(|p| match &port_name {
                Some(want) => p.name.clone().filter(|n| !n.is_empty()) == *want,
                None => slice.ports.len() == 1,
            })
            .and_then(|p| p.port)
            .and_then(|p| u16::try_from(p).ok());
        for ep in slice.endpoints.iter().filter(|e| e.ready) {
            for a in &ep.addresses {
                out.push((a.clone(), port));
            }
        }
    }
    out
}
