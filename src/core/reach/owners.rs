//! Which load balancer belongs to which Service or Ingress.
//!
//! The LBC tags what it creates with `elbv2.k8s.aws/cluster` and a stack tag
//! (`service.k8s.aws/stack = ns/name`, `ingress.k8s.aws/stack = <group>`); the in-tree cloud
//! provider tags `kubernetes.io/cluster/<c>` and `kubernetes.io/service-name = ns/name`. When no
//! tag matches, the object's `status.loadBalancer` hostname is joined to the LB's DNS name.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::core::plan::ResourceRef;
use crate::world::{Ingress, LoadBalancer, ObjKey, Tags, World};

pub const CLUSTER_TAG: &str = "elbv2.k8s.aws/cluster";
pub const SERVICE_STACK_TAG: &str = "service.k8s.aws/stack";
pub const INGRESS_STACK_TAG: &str = "ingress.k8s.aws/stack";
const IN_TREE_SERVICE_TAG: &str = "kubernetes.io/service-name";

/// How an owner was tied to its load balancer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    /// The LBC's cluster + stack tags.
    StackTags,
    /// The in-tree cloud provider's `kubernetes.io/service-name` tag.
    InTreeTags,
    /// `status.loadBalancer.ingress[].hostname` = the LB's DNS name.
    Hostname,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Owned {
    pub load_balancer: String,
    pub matched_by: MatchedBy,
}

/// The IngressGroup an Ingress belongs to, as the LBC's stack tag spells it: the
/// IngressClassParams group, else `alb.ingress.kubernetes.io/group.name`, else `ns/name`.
pub fn ingress_group(world: &World, ing: &Ingress) -> String {
    let class = ing.ingress_class_name.as_deref().or_else(|| {
        ing.meta
            .annotations
            .get("kubernetes.io/ingress.class")
            .map(String::as_str)
    });
    let from_params = class
        .and_then(|c| world.kube.ingress_classes.as_ref()?.get(c))
        .and_then(|c| c.params_name.as_deref())
        .and_then(|p| world.kube.ingress_class_params.as_ref()?.get(p))
        .and_then(|p| p.group_name.clone())
        .filter(|g| !g.is_empty());
    if let Some(g) = from_params {
        return g;
    }
    match ing
        .meta
        .annotations
        .get("alb.ingress.kubernetes.io/group.name")
    {
        Some(g) if !g.is_empty() => g.clone(),
        _ => ing.meta.key().to_string(),
    }
}

/// Tag-based owner keys of an AWS resource (LB or SG) of this cluster: `(kind, stack)`.
fn stack_key(tags: &Tags, cluster: Option<&str>) -> Option<(&'static str, String, MatchedBy)> {
    let ours = match cluster {
        Some(c) => tags.get(CLUSTER_TAG).map(String::as_str) == Some(c),
        None => tags.contains_key(CLUSTER_TAG),
    };
    if ours {
        if let Some(s) = tags.get(SERVICE_STACK_TAG) {
            return Some(("service", s.clone(), MatchedBy::StackTags));
        }
        if let Some(s) = tags.get(INGRESS_STACK_TAG) {
            return Some(("ingress", s.clone(), MatchedBy::StackTags));
        }
    }
    let in_tree = match cluster {
        Some(c) => tags.contains_key(&format!("kubernetes.io/cluster/{c}")),
        None => tags.keys().any(|k| k.starts_with("kubernetes.io/cluster/")),
    };
    if in_tree && let Some(s) = tags.get(IN_TREE_SERVICE_TAG) {
        return Some(("service", s.clone(), MatchedBy::InTreeTags));
    }
    None
}

/// The LBs of this cluster by stack, and every LB by DNS name: what ownership is decided by.
struct LbKeys<'a> {
    by_stack: HashMap<(&'static str, String), Vec<Owned>>,
    by_dns: HashMap<String, &'a str>,
}

impl<'a> LbKeys<'a> {
    fn new(world: &World, lbs: impl Iterator<Item = &'a LoadBalancer>) -> Self {
        let cluster = world.cluster_name();
        let mut by_stack: HashMap<(&str, String), Vec<Owned>> = HashMap::new();
        let mut by_dns: HashMap<String, &str> = HashMap::new();
        for lb in lbs {
            if let Some((kind, stack, how)) = stack_key(&lb.tags, cluster) {
                by_stack.entry((kind, stack)).or_default().push(Owned {
                    load_balancer: lb.arn.clone(),
                    matched_by: how,
                });
            }
            if !lb.dns_name.is_empty() {
                by_dns.insert(lb.dns_name.to_ascii_lowercase(), lb.arn.as_str());
            }
        }
        Self { by_stack, by_dns }
    }

    /// The stack's tagged LBs, else those the object's status hostnames name (sorted).
    fn owned(&self, kind: &'static str, stack: String, hosts: &[String]) -> Vec<Owned> {
        let mut owned = self
            .by_stack
            .get(&(kind, stack))
            .cloned()
            .unwrap_or_default();
        if owned.is_empty() {
            owned = hosts
                .iter()
                .filter_map(|h| self.by_dns.get(&h.to_ascii_lowercase()))
                .map(|arn| Owned {
                    load_balancer: arn.to_string(),
                    matched_by: MatchedBy::Hostname,
                })
                .collect();
            owned.sort();
            owned.dedup();
        }
        owned.sort();
        owned
    }
}

/// Every existing Service/Ingress that owns an LB, with the LB ARNs (sorted).
pub fn resolve(world: &World) -> BTreeMap<ResourceRef, Vec<Owned>> {
    let keys = LbKeys::new(
        world,
        world.aws.load_balancers.iter().flat_map(|m| m.values()),
    );
    let groups = ingress_groups(world);
    let mut out = BTreeMap::new();
    for (key, svc) in world.kube.services.iter().flatten() {
        let owned = keys.owned("service", key.to_string(), &svc.lb_hostnames);
        if !owned.is_empty() {
            out.insert(ResourceRef::Service(key.clone()), owned);
        }
    }
    for (group, members) in &groups {
        for key in members {
            let Some(ing) = world.kube.ingresses.as_ref().and_then(|m| m.get(key)) else {
                continue;
            };
            let owned = keys.owned("ingress", group.clone(), &ing.lb_hostnames);
            if !owned.is_empty() {
                out.insert(ResourceRef::Ingress(key.clone()), owned);
            }
        }
    }
    out
}

/// The LBs `ing` owns among `lbs` (what [`resolve`] says of it in a world holding these): an
/// annotation edit can move an Ingress to another IngressGroup, and so to that group's LBs.
pub fn ingress_owned<'a>(
    world: &World,
    lbs: impl Iterator<Item = &'a LoadBalancer>,
    ing: &Ingress,
) -> Vec<Owned> {
    LbKeys::new(world, lbs).owned("ingress", ingress_group(world, ing), &ing.lb_hostnames)
}

/// Ingresses per IngressGroup (stack tag value).
pub fn ingress_groups(world: &World) -> HashMap<String, Vec<ObjKey>> {
    let mut out: HashMap<String, Vec<ObjKey>> = HashMap::new();
    for (key, ing) in world.kube.ingresses.iter().flatten() {
        out.entry(ingress_group(world, ing))
            .or_default()
            .push(key.clone());
    }
    out
}

/// The Services/Ingresses an AWS resource's stack tags name (a managed SG's owners); empty when
/// the tag names nothing that exists (a leftover).
pub fn tagged_owners(
    world: &World,
    groups: &HashMap<String, Vec<ObjKey>>,
    tags: &Tags,
) -> Vec<ResourceRef> {
    let Some((kind, stack, _)) = stack_key(tags, world.cluster_name()) else {
        return Vec::new();
    };
    if kind == "service" {
        let Some((ns, name)) = stack.split_once('/') else {
            return Vec::new();
        };
        let key = ObjKey::new(ns, name);
        let exists = world
            .kube
            .services
            .as_ref()
            .is_some_and(|m| m.contains_key(&key));
        if exists {
            vec![ResourceRef::Service(key)]
        } else {
            Vec::new()
        }
    } else {
        groups
            .get(&stack)
            .into_iter()
            .flatten()
            .map(|k| ResourceRef::Ingress(k.clone()))
            .collect()
    }
}
