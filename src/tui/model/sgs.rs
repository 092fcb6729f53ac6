//! Security groups as the SG view shows them: who owns the group and each rule (LBC or user),
//! and who uses the group (load balancers, ENIs, rules of other groups).

use std::collections::BTreeMap;

use super::index::{is_backend_sg, managed_sg_stack};
use crate::core::lbc::target::gc::is_lbc_managed;
use crate::core::plan::ResourceRef;
use crate::world::{ObjKey, Source, World};

/// Who owns the group as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SgOwner {
    /// A frontend SG the LBC created for a stack: it owns every inbound rule.
    LbcFrontend {
        stack: String,
        resources: Vec<ResourceRef>,
    },
    /// The cluster's shared backend SG: no inbound rules by design.
    LbcBackend,
    /// Anything else: the user's, with possibly some LBC-managed target rules in it.
    User,
}

impl SgOwner {
    pub fn label(&self) -> &'static str {
        match self {
            SgOwner::LbcFrontend { .. } => "LBC frontend",
            SgOwner::LbcBackend => "LBC backend",
            SgOwner::User => "user",
        }
    }

    pub fn is_lbc(&self) -> bool {
        !matches!(self, SgOwner::User)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleOwner {
    Lbc,
    InTree,
    User,
}

impl RuleOwner {
    pub fn label(self) -> &'static str {
        match self {
            RuleOwner::Lbc => "LBC",
            RuleOwner::InTree => "in-tree",
            RuleOwner::User => "user",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRow {
    pub rule: crate::world::Rule,
    pub ports: String,
    pub source: String,
    pub description: String,
    pub owner: RuleOwner,
    /// `0.0.0.0/0` or `::/0`.
    pub open: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SgRow {
    pub id: String,
    pub name: String,
    pub owner: SgOwner,
    pub rules: Vec<RuleRow>,
    pub used_by: Vec<String>,
}

/// Every SG of the world, sorted by id.
pub fn build(world: &World) -> Vec<SgRow> {
    let mut used: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for lb in world.aws.load_balancers.iter().flat_map(|m| m.values()) {
        for sg in &lb.security_groups {
            used.entry(sg).or_default().push(format!("LB {}", lb.name));
        }
    }
    for eni in world.aws.enis.iter().flat_map(|m| m.values()) {
        for sg in &eni.groups {
            used.entry(sg).or_default().push(format!("ENI {}", eni.id));
        }
    }
    for sg in world.aws.security_groups.iter().flat_map(|m| m.values()) {
        for r in &sg.ingress {
            if let Source::Group(src) = &r.rule.source
                && src != &sg.id
            {
                let text = format!("rule on {}", sg.id);
                let list = used.entry(src).or_default();
                if !list.contains(&text) {
                    list.push(text);
                }
            }
        }
    }
    world
        .aws
        .security_groups
        .iter()
        .flat_map(|m| m.values())
        .map(|sg| {
            let owner = if is_backend_sg(world, sg) {
                SgOwner::LbcBackend
            } else if let Some((kind, stack)) = managed_sg_stack(sg) {
                SgOwner::LbcFrontend {
                    stack: stack.to_string(),
                    resources: stack_resources(world, kind, stack),
                }
            } else {
                SgOwner::User
            };
            let rules = sg
                .ingress
                .iter()
                .map(|r| {
                    let rule_owner = if owner.is_lbc() || is_lbc_managed(&r.rule) {
                        RuleOwner::Lbc
                    } else if r.rule.description.starts_with("kubernetes.io/rule/nlb/") {
                        RuleOwner::InTree
                    } else {
                        RuleOwner::User
                    };
                    RuleRow {
                        rule: r.rule.clone(),
                        ports: r.rule.ports_text(),
                        source: r.rule.source.to_string(),
                        description: r.rule.description.clone(),
                        owner: rule_owner,
                        open: matches!(&r.rule.source, Source::Cidr(c) if c == "0.0.0.0/0")
                            || matches!(&r.rule.source, Source::CidrV6(c) if c == "::/0"),
                    }
                })
                .collect();
            SgRow {
                id: sg.id.clone(),
                name: sg.name_tag().unwrap_or(&sg.name).to_string(),
                owner,
                rules,
                used_by: used.remove(sg.id.as_str()).unwrap_or_default(),
            }
        })
        .collect()
}

/// The Services or Ingresses behind a stack tag (`ns/name`, or an IngressGroup name).
pub fn stack_resources(world: &World, kind: &str, stack: &str) -> Vec<ResourceRef> {
    let key = stack.split_once('/').map(|(ns, n)| ObjKey::new(ns, n));
    match kind {
        "service" => key
            .filter(|k| {
                world
                    .kube
                    .services
                    .as_ref()
                    .is_some_and(|m| m.contains_key(k))
            })
            .map(ResourceRef::Service)
            .into_iter()
            .collect(),
        _ => {
            let ings = world.kube.ingresses.iter().flat_map(|m| m.values());
            let grouped: Vec<ResourceRef> = ings
                .filter(|i| {
                    i.meta
                        .annotations
                        .get(super::index::INGRESS_GROUP_ANNOTATION)
                        .map(String::as_str)
                        == Some(stack)
                        || key.as_ref() == Some(&i.meta.key())
                })
                .map(|i| ResourceRef::Ingress(i.meta.key()))
                .collect();
            grouped
        }
    }
}
