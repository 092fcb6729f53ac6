//! Finding in a World the AWS objects the LBC would find for a stack: its LB and managed SG by
//! tracking tags (never by name), the shared backend SG, the VPC's CIDRs and the LB's subnets.

use std::collections::BTreeMap;

use crate::world::{LoadBalancer, SecurityGroup, Subnet, World};

use crate::core::lbc::model::StackId;

pub const CLUSTER_TAG: &str = "elbv2.k8s.aws/cluster";
pub const LEGACY_CLUSTER_TAG: &str = "ingress.k8s.aws/cluster";
pub const RESOURCE_TAG: &str = "elbv2.k8s.aws/resource";
pub const BACKEND_SG_RESOURCE: &str = "backend-sg";
pub const MANAGED_SG_RESOURCE: &str = "ManagedLBSecurityGroup";

fn carries_stack(tags: &crate::world::Tags, cluster: &str, stack: &StackId) -> bool {
    let cluster_ok = tags.get(CLUSTER_TAG).map(String::as_str) == Some(cluster)
        || tags.get(LEGACY_CLUSTER_TAG).map(String::as_str) == Some(cluster);
    cluster_ok
        && tags.get(&stack.stack_key()).map(String::as_str) == Some(stack.stack_id().as_str())
}

/// The LB the LBC built for this stack: stack tags first, else the DNS name in the object's
/// status (a world may lack LB tags when DescribeTags was not pasted). An LB tagged for some
/// stack is never taken by DNS name: an Ingress that just moved to another group still shows
/// its old group's ALB in its status.
pub fn stack_lb<'w>(
    world: &'w World,
    cluster: &str,
    stack: &StackId,
    status_hostnames: &[String],
) -> Option<&'w LoadBalancer> {
    let lbs = world.aws.load_balancers.as_ref()?;
    lbs.values()
        .find(|lb| carries_stack(&lb.tags, cluster, stack))
        .or_else(|| {
            lbs.values().find(|lb| {
                !lb.dns_name.is_empty()
                    && !has_stack_tag(&lb.tags)
                    && status_hostnames.contains(&lb.dns_name)
            })
        })
}

fn has_stack_tag(tags: &crate::world::Tags) -> bool {
    STACK_KEYS.iter().any(|k| tags.contains_key(*k))
}

/// Managed SGs of this stack in the VPC, by tags; the LBC keeps the first and deletes the rest.
pub fn stack_managed_sgs<'w>(
    world: &'w World,
    cluster: &str,
    vpc: Option<&str>,
    stack: &StackId,
) -> Vec<&'w SecurityGroup> {
    let Some(sgs) = world.aws.security_groups.as_ref() else {
        return Vec::new();
    };
    let res_key = stack.resource_key();
    sgs.values()
        .filter(|sg| vpc.is_none() || sg.vpc_id.as_deref() == vpc || sg.vpc_id.is_none())
        .filter(|sg| carries_stack(&sg.tags, cluster, stack))
        .filter(|sg| sg.tags.get(&res_key).map(String::as_str) == Some(MANAGED_SG_RESOURCE))
        .collect()
}

/// The auto-created backend SG, found by its tags in the VPC (first match, as the LBC does).
pub fn backend_sg<'w>(
    world: &'w World,
    cluster: &str,
    vpc: Option<&str>,
) -> Option<&'w SecurityGroup> {
    world.aws.security_groups.as_ref()?.values().find(|sg| {
        (vpc.is_none() || sg.vpc_id.as_deref() == vpc || sg.vpc_id.is_none())
            && sg.tags.get(CLUSTER_TAG).map(String::as_str) == Some(cluster)
            && sg.tags.get(RESOURCE_TAG).map(String::as_str) == Some(BACKEND_SG_RESOURCE)
    })
}

/// [`stack_lb`] and [`stack_managed_sgs`] for every stack of a world at once: the tracking tags
/// of all LBs and SGs are indexed in one pass (each lookup would otherwise scan them all, which
/// is quadratic over a world's stacks). Answers are the same, in the same order.
pub struct Finder<'w> {
    lbs_by_stack: BTreeMap<(&'w str, &'w str), &'w LoadBalancer>,
    lbs_by_dns: BTreeMap<&'w str, &'w LoadBalancer>,
    managed_by_stack: BTreeMap<(&'w str, &'w str), Vec<&'w SecurityGroup>>,
}

const STACK_KEYS: [&str; 2] = ["service.k8s.aws/stack", "ingress.k8s.aws/stack"];

fn cluster_ok(tags: &crate::world::Tags, cluster: &str) -> bool {
    tags.get(CLUSTER_TAG).map(String::as_str) == Some(cluster)
        || tags.get(LEGACY_CLUSTER_TAG).map(String::as_str) == Some(cluster)
}

impl<'w> Finder<'w> {
    pub fn new(world: &'w World, cluster: &str, vpc: Option<&str>) -> Self {
        let mut f = Finder {
            lbs_by_stack: BTreeMap::new(),
            lbs_by_dns: BTreeMap::new(),
            managed_by_stack: BTreeMap::new(),
        };
        // maps iterate in key order, so the first entry kept is the one `find` would return
        for lb in world.aws.load_balancers.iter().flat_map(|m| m.values()) {
            if !lb.dns_name.is_empty() && !has_stack_tag(&lb.tags) {
                f.lbs_by_dns.entry(lb.dns_name.as_str()).or_insert(lb);
            }
            if !cluster_ok(&lb.tags, cluster) {
                continue;
            }
            for key in STACK_KEYS {
                if let Some((k, v)) = lb.tags.get_key_value(key) {
                    f.lbs_by_stack.entry((k.as_str(), v.as_str())).or_insert(lb);
                }
            }
        }
        for sg in world.aws.security_groups.iter().flat_map(|m| m.values()) {
            let in_vpc = vpc.is_none() || sg.vpc_id.as_deref() == vpc || sg.vpc_id.is_none();
            if !in_vpc || !cluster_ok(&sg.tags, cluster) {
                continue;
            }
            for (key, res) in STACK_KEYS.iter().zip(RESOURCE_KEYS) {
                if sg.tags.get(res).map(String::as_str) != Some(MANAGED_SG_RESOURCE) {
                    continue;
                }
                if let Some((k, v)) = sg.tags.get_key_value(*key) {
                    f.managed_by_stack
                        .entry((k.as_str(), v.as_str()))
                        .or_default()
                        .push(sg);
                }
            }
        }
        f
    }

    /// Same answer as [`stack_lb`] for the world and cluster this index was built for.
    pub fn stack_lb(
        &self,
        stack: &StackId,
        status_hostnames: &[String],
    ) -> Option<&'w LoadBalancer> {
        let (key, id) = (stack.stack_key(), stack.stack_id());
        self.lbs_by_stack
            .get(&(key.as_str(), id.as_str()))
            .copied()
            .or_else(|| {
                status_hostnames
                    .iter()
                    .filter_map(|h| self.lbs_by_dns.get(h.as_str()).copied())
                    .min_by(|a, b| a.arn.cmp(&b.arn))
            })
    }

    /// Same answer as [`stack_managed_sgs`] for the world, cluster and VPC of this index.
    pub fn stack_managed_sgs(&self, stack: &StackId) -> Vec<&'w SecurityGroup> {
        let (key, id) = (stack.stack_key(), stack.stack_id());
        self.managed_by_stack
            .get(&(key.as_str(), id.as_str()))
            .cloned()
            .unwrap_or_default()
    }
}

const RESOURCE_KEYS: [&str; 2] = ["service.k8s.aws/resource", "ingress.k8s.aws/resource"];

/// Associated IPv4 and IPv6 CIDR blocks of the VPC.
pub fn vpc_cidrs(world: &World, vpc: Option<&str>) -> (Vec<String>, Vec<String>) {
    let associated = |s: &Option<String>| s.as_deref().is_none_or(|s| s == "associated");
    let Some(v) = world
        .aws
        .vpcs
        .as_ref()
        .and_then(|vs| vs.iter().find(|v| Some(v.id.as_str()) == vpc))
    else {
        return (Vec::new(), Vec::new());
    };
    (
        v.cidr_blocks
            .iter()
            .filter(|b| associated(&b.state))
            .map(|b| b.cidr.clone())
            .collect(),
        v.ipv6_cidr_blocks
            .iter()
            .filter(|b| associated(&b.state))
            .map(|b| b.cidr.clone())
            .collect(),
    )
}

/// The subnets an LB uses: its own when it exists; otherwise the VPC's subnets tagged for the
/// scheme (`kubernetes.io/role/elb` / `internal-elb`), else every subnet of the VPC.
pub fn lb_subnets(
    world: &World,
    lb: Option<&LoadBalancer>,
    vpc: Option<&str>,
    scheme: &str,
) -> Vec<Subnet> {
    let Some(all) = world.aws.subnets.as_ref() else {
        return Vec::new();
    };
    if let Some(lb) = lb {
        let own: Vec<Subnet> = lb
            .subnets
            .iter()
            .filter_map(|id| all.get(id).cloned())
            .collect();
        if !own.is_empty() {
            return own;
        }
    }
    let in_vpc: Vec<&Subnet> = all
        .values()
        .filter(|s| vpc.is_none_or(|v| s.vpc_id == v))
        .collect();
    let role = if scheme == "internet-facing" {
        "kubernetes.io/role/elb"
    } else {
        "kubernetes.io/role/internal-elb"
    };
    let tagged: Vec<Subnet> = in_vpc
        .iter()
        .filter(|s| s.tags.get(role).is_some_and(|v| v == "1" || v.is_empty()))
        .map(|s| (*s).clone())
        .collect();
    if tagged.is_empty() {
        in_vpc.into_iter().cloned().collect()
    } else {
        tagged
    }
}
