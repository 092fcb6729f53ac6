//! Which ENIs a binding's targets sit on, read from the World (lbc-semantics §8.1;
//! `pkg/backend/endpoint_resolver.go`, `node_eni_info_resolver.go`, `pod_eni_info_resolver.go`).
//!
//! Instance targets: the eligible nodes' primary ENIs. IP targets: the ENI owning each ready
//! pod endpoint's IP (SG-for-pods branch ENI, else a node ENI, else a VPC-wide lookup for
//! Fargate/HyperPod). Hybrid-node pods have no ENI and are skipped.
//!
//! Not modelled: `EndpointsFailOpen` (it needs a node's `Unknown` ready state, which the World
//! does not keep), the controller's ENI caches, and label selector expressions beyond
//! `matchLabels` in a binding's node selector.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde::Deserialize;

use crate::world::{
    EndpointSlice, Instance, NetworkInterface, Node, ObjKey, Pod, Service, ServicePort, World,
};

use super::{TargetError, TgbSpec};

const LABEL_COMPUTE_TYPE: &str = "eks.amazonaws.com/compute-type";
const LABEL_SAGEMAKER_COMPUTE_TYPE: &str = "sagemaker.amazonaws.com/compute-type";
/// Nodes carrying any of these labels never proxy LB traffic.
const EXCLUDING_NODE_LABELS: [&str; 3] = [
    "node-role.kubernetes.io/master",
    "node.kubernetes.io/exclude-from-external-load-balancers",
    "alpha.service-controller.kubernetes.io/exclude-balancer",
];
const POD_ENI_ANNOTATION: &str = "vpc.amazonaws.com/pod-eni";

/// One target's ENI and the SGs attached to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointEni {
    pub eni_id: String,
    pub security_groups: Vec<String>,
    /// The node (instance targets; empty namespace) or pod (ip targets) behind it.
    pub target: ObjKey,
}

/// The targets of a binding, or why the LBC drops its networking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetEndpoints {
    /// The Service or its port does not exist: the LBC cleans the binding's networking up
    /// (event `BackendNotFound` with this message) instead of failing.
    BackendNotFound(String),
    Enis(Vec<EndpointEni>),
}

/// Resolve the ENIs of a binding's endpoints. Errors are the LBC's own (e.g.
/// `cannot resolve node ENI for nodes: [...]`) or say what the World lacks.
pub fn resolve_endpoint_enis(world: &World, tgb: &TgbSpec) -> Result<TargetEndpoints, TargetError> {
    let (svc, port) = match find_service_port(world, tgb)? {
        Ok(found) => found,
        Err(not_found) => return Ok(TargetEndpoints::BackendNotFound(not_found)),
    };
    let enis = match tgb.target_type.as_str() {
        "instance" => node_enis(world, tgb, svc)?,
        "ip" => pod_enis(world, &ready_pods(world, tgb, port)?)?,
        other => {
            return Err(TargetError::Unknown(format!(
                "target type {other:?} of {} is neither instance nor ip",
                tgb.key
            )));
        }
    };
    Ok(TargetEndpoints::Enis(enis))
}

/// The Service and port a binding refers to; the inner `Err` is the LBC's not-found message.
pub fn find_service_port<'w>(
    world: &'w World,
    tgb: &TgbSpec,
) -> Result<Result<(&'w Service, &'w ServicePort), String>, TargetError> {
    let services = loaded(&world.kube.services, "services")?;
    let key = ObjKey::new(tgb.namespace.clone(), tgb.service_name.clone());
    let Some(svc) = services.get(&key) else {
        return Ok(Err(format!(
            "backend not found: services \"{}\" not found",
            tgb.service_name
        )));
    };
    let port = svc.spec.ports.iter().find(|p| match &tgb.service_port {
        crate::world::IntOrString::Int(n) => p.port == *n,
        crate::world::IntOrString::Str(name) => p.name.as_deref() == Some(name.as_str()),
    });
    Ok(port.map(|p| (svc, p)).ok_or_else(|| {
        format!(
            "backend not found: unable to find port {} on service {key}",
            tgb.service_port
        )
    }))
}

fn loaded<'w, T>(section: &'w Option<T>, what: &str) -> Result<&'w T, TargetError> {
    section
        .as_ref()
        .ok_or_else(|| TargetError::Unknown(format!("{what} not loaded")))
}

// ---- instance targets ----

/// Nodes that may proxy traffic for a binding: default exclusions, the binding's node
/// selector, no deletion taint, Ready.
pub fn eligible_nodes<'w>(world: &'w World, tgb: &TgbSpec) -> Result<Vec<&'w Node>, TargetError> {
    eligible_nodes_by(world, &tgb.node_selector)
}

/// [`eligible_nodes`] for a node selector (all a binding contributes to the choice).
pub fn eligible_nodes_by<'w>(
    world: &'w World,
    node_selector: &BTreeMap<String, String>,
) -> Result<Vec<&'w Node>, TargetError> {
    Ok(eligible_before_selector(world)?
        .into_iter()
        .filter(|n| matches_selector(n, node_selector))
        .collect())
}

/// Nodes eligible for any instance binding: default exclusions, no deletion taint, Ready; in
/// node order. A binding's selector then only narrows this list.
pub fn eligible_before_selector(world: &World) -> Result<Vec<&Node>, TargetError> {
    let nodes = loaded(&world.kube.nodes, "nodes")?;
    Ok(nodes
        .values()
        .filter(|n| {
            let labels = &n.meta.labels;
            !EXCLUDING_NODE_LABELS
                .iter()
                .any(|l| labels.contains_key(*l))
                && labels.get(LABEL_COMPUTE_TYPE).map(String::as_str) != Some("fargate")
        })
        .filter(|n| {
            !n.taints.iter().any(|t| {
                t.key == "ToBeDeletedByClusterAutoscaler"
                    || (t.key == "karpenter.sh/disrupted" && t.effect == "NoSchedule")
            })
        })
        .filter(|n| n.ready)
        .collect())
}

pub fn matches_selector(node: &Node, selector: &BTreeMap<String, String>) -> bool {
    selector
        .iter()
        .all(|(k, v)| node.meta.labels.get(k) == Some(v))
}

/// The node's instance id as the LBC extracts it from `spec.providerID`.
fn node_instance_id(node: &Node) -> Result<String, String> {
    let name = &node.meta.name;
    let provider = node.provider_id.as_deref().unwrap_or("");
    if provider.is_empty() {
        return Err(format!("providerID is not specified for node: {name}"));
    }
    let last = provider.rsplit('/').next().unwrap_or("");
    if provider.starts_with("eks-hybrid://") {
        return if last.starts_with("mi-") {
            Ok(format!("hybrid-{last}"))
        } else {
            Err(format!(
                "providerID {provider} is invalid for EKS hybrid instances, node: {name}"
            ))
        };
    }
    if last.starts_with("i-") {
        Ok(last.to_string())
    } else {
        Err(format!(
            "providerID {provider} is invalid for EC2 instances, node: {name}"
        ))
    }
}

/// The instance of a node, `None` when it is not an EC2 instance the World knows.
fn node_instance<'w>(world: &'w World, node: &Node) -> Result<Option<&'w Instance>, TargetError> {
    if node.meta.labels.get(LABEL_COMPUTE_TYPE).map(String::as_str) == Some("hybrid") {
        return Ok(None);
    }
    let id = node_instance_id(node).map_err(TargetError::Lbc)?;
    Ok(loaded(&world.aws.instances, "EC2 instances")?.get(&id))
}

fn node_enis(world: &World, tgb: &TgbSpec, svc: &Service) -> Result<Vec<EndpointEni>, TargetError> {
    check_instance_service(svc)?;
    instance_enis(world, &tgb.node_selector)
}

fn check_instance_service(svc: &Service) -> Result<(), TargetError> {
    if svc.spec.type_ != "NodePort" && svc.spec.type_ != "LoadBalancer" {
        return Err(TargetError::Lbc(format!(
            "service type must be either 'NodePort' or 'LoadBalancer': {}",
            svc.meta.key()
        )));
    }
    Ok(())
}

/// The checks [`resolve_endpoint_enis`] makes on an instance-target binding before it looks at
/// nodes: the Service and port exist (`Ok(Some(message))` = backend not found) and the Service
/// type allows instance targets. What follows depends only on the node selector
/// ([`instance_enis`]), so callers may share that part between bindings.
pub fn check_instance_backend(world: &World, tgb: &TgbSpec) -> Result<Option<String>, TargetError> {
    match find_service_port(world, tgb)? {
        Err(not_found) => Ok(Some(not_found)),
        Ok((svc, _)) => check_instance_service(svc).map(|()| None),
    }
}

/// The primary ENIs of the nodes eligible under `node_selector`, in node order.
pub fn instance_enis(
    world: &World,
    node_selector: &BTreeMap<String, String>,
) -> Result<Vec<EndpointEni>, TargetError> {
    Ok(instance_eni_refs(world, node_selector)?
        .into_iter()
        .map(|r| EndpointEni {
            eni_id: r.eni_id.to_string(),
            security_groups: r.security_groups.to_vec(),
            target: ObjKey::new("", r.node.to_string()),
        })
        .collect())
}

/// An [`EndpointEni`] borrowed from the World.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EniRef<'w> {
    pub eni_id: &'w str,
    pub security_groups: &'w [String],
    pub node: &'w str,
}

/// [`instance_enis`] without copying: the same ENIs and errors, borrowed.
pub fn instance_eni_refs<'w>(
    world: &'w World,
    node_selector: &BTreeMap<String, String>,
) -> Result<Vec<EniRef<'w>>, TargetError> {
    instance_eni_refs_of(world, eligible_nodes_by(world, node_selector)?)
}

/// [`instance_eni_refs`] for nodes already chosen (eligible and matching the selector).
pub fn instance_eni_refs_of<'w>(
    world: &'w World,
    nodes: Vec<&'w Node>,
) -> Result<Vec<EniRef<'w>>, TargetError> {
    // the endpoint resolver validates every provider id before any ENI lookup
    for node in &nodes {
        node_instance_id(node).map_err(TargetError::Lbc)?;
    }
    let mut out = Vec::new();
    let mut unresolved = Vec::new();
    for node in nodes {
        let Some(instance) = node_instance(world, node)? else {
            unresolved.push(format!("/{}", node.meta.name));
            continue;
        };
        let (eni_id, security_groups) = primary_eni(world, instance)?;
        out.push(EniRef {
            eni_id,
            security_groups,
            node: &node.meta.name,
        });
    }
    if unresolved.is_empty() {
        Ok(out)
    } else {
        Err(TargetError::Lbc(format!(
            "cannot resolve node ENI for nodes: [{}]",
            unresolved.join(" ")
        )))
    }
}

/// The primary ENI (device index 0) with its SGs: the ENI's own list when loaded, else the
/// instance's, which EC2 reports for the primary ENI.
fn primary_eni<'w>(
    world: &'w World,
    instance: &'w Instance,
) -> Result<(&'w str, &'w [String]), TargetError> {
    if instance.enis.is_empty() {
        return Err(TargetError::Unknown(format!(
            "network interfaces of instance {} not loaded",
            instance.id
        )));
    }
    let Some(eni_id) = instance.primary_eni() else {
        return Err(TargetError::Lbc(
            "[this should never happen] no primary ENI found".into(),
        ));
    };
    let groups = match world.aws.enis.as_ref().and_then(|e| e.get(eni_id)) {
        Some(eni) => &eni.groups,
        None if !instance.security_groups.is_empty() => &instance.security_groups,
        None => {
            return Err(TargetError::Unknown(format!(
                "security groups of ENI {eni_id} (instance {}) not loaded",
                instance.id
            )));
        }
    };
    Ok((eni_id, groups))
}

// ---- ip targets ----

/// The pods behind a binding's ready endpoints, in EndpointSlice order, each once.
/// Not-ready endpoints count when their containers are ready on a Ready node and the pod is
/// not terminating (pods held back by a readiness gate).
pub fn ready_pods<'w>(
    world: &'w World,
    tgb: &TgbSpec,
    svc_port: &ServicePort,
) -> Result<Vec<&'w Pod>, TargetError> {
    let slices = loaded(&world.kube.endpoint_slices, "EndpointSlices")?;
    let of_service = slices.values().filter(|s| {
        s.meta.namespace == tgb.namespace
            && s.service_name.as_deref() == Some(tgb.service_name.as_str())
    });
    ready_pods_in(world, of_service, tgb, svc_port)
}

/// [`ready_pods`] given the EndpointSlices of the binding's Service (in the world's order), for
/// callers that index slices once for many bindings.
pub fn ready_pods_in<'w>(
    world: &'w World,
    service_slices: impl Iterator<Item = &'w EndpointSlice>,
    tgb: &TgbSpec,
    svc_port: &ServicePort,
) -> Result<Vec<&'w Pod>, TargetError> {
    loaded(&world.kube.endpoint_slices, "EndpointSlices")?;
    let pods = loaded(&world.kube.pods, "pods")?;
    let family = if tgb.ip_address_type.as_deref() == Some("ipv6") {
        "IPv6"
    } else {
        "IPv4"
    };
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    let slices = service_slices.filter(|s| s.address_type == family);
    for slice in slices {
        for port in &slice.ports {
            // an unnamed service port takes every slice port
            let wanted = svc_port.name.as_deref().filter(|n| !n.is_empty());
            if wanted.is_some_and(|name| port.name.as_deref() != Some(name)) {
                continue;
            }
            for ep in &slice.endpoints {
                let (Some(pod_ref), false) = (&ep.pod, ep.addresses.is_empty()) else {
                    continue;
                };
                let namespace = if pod_ref.namespace.is_empty() {
                    tgb.namespace.clone()
                } else {
                    pod_ref.namespace.clone()
                };
                let key = ObjKey::new(namespace, pod_ref.name.clone());
                let Some(pod) = pods.get(&key) else { continue };
                if !ep.ready && !serving_behind_gate(world, pod)? {
                    continue;
                }
                if seen.insert(key) {
                    out.push(pod);
                }
            }
        }
    }
    Ok(out)
}

fn serving_behind_gate(world: &World, pod: &Pod) -> Result<bool, TargetError> {
    if !pod.ready || pod.meta.deleting {
        return Ok(false);
    }
    let nodes = loaded(&world.kube.nodes, "nodes")?;
    Ok(pod
        .node_name
        .as_ref()
        .and_then(|n| nodes.get(n))
        .is_some_and(|n| n.ready))
}

/// An entry of the `vpc.amazonaws.com/pod-eni` annotation (SG-for-pods branch ENI).
#[derive(Deserialize)]
struct BranchEni {
    #[serde(rename = "eniId", default)]
    eni_id: String,
    #[serde(rename = "privateIp", default)]
    private_ip: String,
    #[serde(rename = "ipv6Addr", default)]
    ipv6_addr: String,
}

enum ComputeType {
    Ec2,
    /// Fargate or SageMaker HyperPod: the pod's ENI is found VPC-wide.
    Vpc {
        hyperpod_node_ip: Option<String>,
    },
    Hybrid,
}

fn pod_ip(pod: &Pod) -> &str {
    pod.pod_ips.first().map(String::as_str).unwrap_or("")
}

fn eni_of(eni: &NetworkInterface, target: &ObjKey) -> EndpointEni {
    EndpointEni {
        eni_id: eni.id.clone(),
        security_groups: eni.groups.clone(),
        target: target.clone(),
    }
}

/// Where one pod's traffic lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodEni<'w> {
    /// A hybrid-node pod: no ENI, left out.
    Skip,
    Found(&'w NetworkInterface),
    /// No ENI holds the pod's IP.
    Unresolved,
}

/// The ENI of one pod (the step [`pod_enis`] takes for each).
pub fn pod_eni<'w>(world: &'w World, pod: &Pod) -> Result<PodEni<'w>, TargetError> {
    let found = match compute_type(world, pod)? {
        ComputeType::Hybrid => return Ok(PodEni::Skip),
        ComputeType::Ec2 => match branch_eni(world, pod)? {
            Some(eni) => Some(eni),
            None => node_eni_for_pod(world, pod)?,
        },
        ComputeType::Vpc { hyperpod_node_ip } => {
            vpc_eni_for_pod(world, pod, hyperpod_node_ip.as_deref())?
        }
    };
    Ok(found.map_or(PodEni::Unresolved, PodEni::Found))
}

/// The ENI of every pod, hybrid-node pods left out.
pub fn pod_enis(world: &World, pods: &[&Pod]) -> Result<Vec<EndpointEni>, TargetError> {
    pod_enis_with(pods, |p| pod_eni(world, p))
}

/// [`pod_enis`] with the per-pod step supplied (callers may memoise it).
pub fn pod_enis_with<'w>(
    pods: &[&Pod],
    mut one: impl FnMut(&Pod) -> Result<PodEni<'w>, TargetError>,
) -> Result<Vec<EndpointEni>, TargetError> {
    let mut out = Vec::new();
    let mut unresolved = Vec::new();
    for pod in pods {
        let key = pod.meta.key();
        match one(pod)? {
            PodEni::Skip => {}
            PodEni::Found(eni) => out.push(eni_of(eni, &key)),
            PodEni::Unresolved => unresolved.push(format!("{}/{}", key.namespace, key.name)),
        }
    }
    if unresolved.is_empty() {
        Ok(out)
    } else {
        Err(TargetError::Lbc(format!(
            "cannot resolve pod ENI for pods: [{}]",
            unresolved.join(" ")
        )))
    }
}

fn compute_type(world: &World, pod: &Pod) -> Result<ComputeType, TargetError> {
    let nodes = loaded(&world.kube.nodes, "nodes")?;
    let name = pod.node_name.as_deref().unwrap_or("");
    let node = nodes
        .get(name)
        .ok_or_else(|| TargetError::Lbc(format!("nodes \"{name}\" not found")))?;
    let label = |k: &str| node.meta.labels.get(k).map(String::as_str);
    Ok(
        match (
            label(LABEL_COMPUTE_TYPE),
            label(LABEL_SAGEMAKER_COMPUTE_TYPE),
        ) {
            (Some("fargate"), _) => ComputeType::Vpc {
                hyperpod_node_ip: None,
            },
            (_, Some("hyperpod")) => ComputeType::Vpc {
                hyperpod_node_ip: node.internal_ips.first().cloned(),
            },
            (Some("hybrid"), _) => ComputeType::Hybrid,
            _ => ComputeType::Ec2,
        },
    )
}

fn enis(
    world: &World,
) -> Result<&std::collections::BTreeMap<String, NetworkInterface>, TargetError> {
    loaded(&world.aws.enis, "network interfaces")
}

/// The branch ENI the annotation names for the pod's IP. A malformed annotation is ignored,
/// as the LBC does.
fn branch_eni<'w>(
    world: &'w World,
    pod: &Pod,
) -> Result<Option<&'w NetworkInterface>, TargetError> {
    let Some(raw) = pod.meta.annotations.get(POD_ENI_ANNOTATION) else {
        return Ok(None);
    };
    let entries: Vec<BranchEni> = serde_json::from_str(raw).unwrap_or_default();
    let ip = pod_ip(pod);
    let Some(entry) = entries
        .iter()
        .find(|e| e.private_ip == ip || (!e.ipv6_addr.is_empty() && e.ipv6_addr == ip))
    else {
        return Ok(None);
    };
    match enis(world)?.get(&entry.eni_id) {
        Some(eni) => Ok(Some(eni)),
        None => Err(TargetError::Unknown(format!(
            "branch ENI {} of pod {} not loaded",
            entry.eni_id,
            pod.meta.key()
        ))),
    }
}

fn in_prefixes(ip: &str, prefixes: &[String]) -> bool {
    let Ok(addr) = ip.parse::<IpAddr>() else {
        return false;
    };
    prefixes
        .iter()
        .filter_map(|p| p.parse::<ipnet::IpNet>().ok())
        .any(|net| net.contains(&addr))
}

/// The ENI of the pod's node holding the pod IP as a private IPv4 or inside a delegated prefix.
fn node_eni_for_pod<'w>(
    world: &'w World,
    pod: &Pod,
) -> Result<Option<&'w NetworkInterface>, TargetError> {
    let nodes = loaded(&world.kube.nodes, "nodes")?;
    let Some(node) = pod.node_name.as_ref().and_then(|n| nodes.get(n)) else {
        return Ok(None);
    };
    let Some(instance) = node_instance(world, node)? else {
        return Ok(None);
    };
    let enis = enis(world)?;
    let ip = pod_ip(pod);
    Ok(instance
        .enis
        .iter()
        .filter_map(|e| enis.get(&e.id))
        .find(|eni| {
            eni.private_ips.iter().any(|p| p == ip)
                || in_prefixes(ip, &eni.ipv4_prefixes)
                || in_prefixes(ip, &eni.ipv6_prefixes)
        }))
}

/// Fargate and HyperPod: any ENI of the VPC holding the pod IP; for HyperPod, else the ENI
/// holding the node's IP whose delegated prefixes contain the pod IP.
fn vpc_eni_for_pod<'w>(
    world: &'w World,
    pod: &Pod,
    hyperpod_node_ip: Option<&str>,
) -> Result<Option<&'w NetworkInterface>, TargetError> {
    let vpc = world.vpc_id();
    let in_vpc = |eni: &&NetworkInterface| match (vpc, eni.vpc_id.as_deref()) {
        (Some(want), Some(have)) => want == have,
        _ => true,
    };
    let ip = pod_ip(pod);
    let enis = enis(world)?;
    let direct = enis.values().filter(in_vpc).find(|eni| {
        if ip.contains(':') {
            eni.ipv6_addresses.iter().any(|a| a == ip)
        } else {
            eni.private_ips.iter().any(|a| a == ip)
        }
    });
    if direct.is_some() {
        return Ok(direct);
    }
    let Some(node_ip) = hyperpod_node_ip.filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    Ok(enis.values().filter(in_vpc).find(|eni| {
        eni.private_ips.iter().any(|a| a == node_ip)
            && (in_prefixes(ip, &eni.ipv4_prefixes) || in_prefixes(ip, &eni.ipv6_prefixes))
    }))
}

#[cfg(test)]
#[path = "endpoints_tests.rs"]
mod tests;
