//! What every check reads: the world, the LBC's desired state, the drift plan and the exposure
//! facts, computed once per audit, plus small lookups.

use std::collections::{BTreeMap, BTreeSet};

use super::facts::{Facts, TgFacts};
use crate::core::desired::{Desired, StackState, desired};
use crate::core::lbc::model::StackModel;
use crate::core::plan::{Plan, ResourceRef};
use crate::world::{
    ControllerConfig, Event, LoadBalancer, ObjKey, SecurityGroup, Service, Source, World,
};

pub struct Ctx<'w> {
    pub world: &'w World,
    pub desired: Desired,
    pub drift: Plan,
    pub facts: Facts,
    pub cluster: String,
    users: BTreeMap<String, SgUsers>,
}

impl<'w> Ctx<'w> {
    pub fn new(world: &'w World) -> Self {
        let desired = desired(world);
        let drift = crate::core::plan::drift::drift_of(world, &desired);
        let facts = Facts::new(world, &desired);
        Self {
            world,
            users: sg_users_index(world),
            cluster: desired.cluster.clone(),
            desired,
            drift,
            facts,
        }
    }

    /// The cluster side the LBC reads is loaded (Services, Ingresses, bindings). Findings that
    /// say "X does not exist" or "the LBC wants no such rule" need it: unknown is not empty.
    pub fn kube_known(&self) -> bool {
        let k = &self.world.kube;
        k.services.is_some() && k.target_group_bindings.is_some()
    }

    /// The AWS side the LBC reconciles is loaded (SGs and load balancers).
    pub fn aws_known(&self) -> bool {
        let a = &self.world.aws;
        a.security_groups.is_some() && a.load_balancers.is_some()
    }

    pub fn config(&self) -> &ControllerConfig {
        &self.desired.config
    }

    pub fn sg(&self, id: &str) -> Option<&'w SecurityGroup> {
        self.world.aws.security_groups.as_ref()?.get(id)
    }

    pub fn sgs(&self) -> impl Iterator<Item = &'w SecurityGroup> {
        self.world
            .aws
            .security_groups
            .iter()
            .flat_map(|m| m.values())
    }

    pub fn lb(&self, arn: &str) -> Option<&'w LoadBalancer> {
        self.world.aws.load_balancers.as_ref()?.get(arn)
    }

    pub fn service(&self, key: &ObjKey) -> Option<&'w Service> {
        self.world.kube.services.as_ref()?.get(key)
    }

    pub fn services(&self) -> impl Iterator<Item = &'w Service> {
        self.world.kube.services.iter().flat_map(|m| m.values())
    }

    /// Every stack with its model (stacks whose build failed are skipped).
    pub fn modelled(&self) -> impl Iterator<Item = (&StackState, &StackModel)> {
        self.desired
            .stacks
            .values()
            .filter_map(|s| s.model.as_ref().ok().map(|m| (s, m)))
    }

    /// The stack's load balancer as the world holds it.
    pub fn stack_lb(&self, s: &StackState) -> Option<&'w LoadBalancer> {
        s.lb.as_deref().and_then(|a| self.lb(a))
    }

    /// The shared backend SG's id, when it exists.
    pub fn backend_sg(&self) -> Option<&str> {
        self.desired
            .backend_sg
            .as_ref()
            .filter(|b| b.exists)
            .map(|b| b.id.as_str())
    }

    /// The VPC's associated IPv4 and IPv6 CIDRs.
    pub fn vpc_cidrs(&self) -> (Vec<String>, Vec<String>) {
        crate::core::desired::find::vpc_cidrs(self.world, self.desired.vpc_id.as_deref())
    }

    /// `sg-0abc (name)`.
    pub fn sg_label(&self, id: &str) -> String {
        match self.sg(id) {
            Some(sg) => {
                let name = sg.name_tag().unwrap_or(&sg.name);
                if name.is_empty() {
                    id.to_string()
                } else {
                    format!("{id} ({name})")
                }
            }
            None => id.to_string(),
        }
    }

    /// Events about one object (`kind` as in `involvedObject.kind`), oldest first as loaded.
    pub fn events_about(&self, kind: &str, key: &ObjKey) -> Vec<&'w Event> {
        self.world
            .kube
            .events
            .iter()
            .flatten()
            .filter(|e| e.involved_kind == kind && &e.involved == key)
            .collect()
    }

    /// The annotations of a Service or Ingress.
    pub fn annotations(&self, r: &ResourceRef) -> Option<&'w BTreeMap<String, String>> {
        match r {
            ResourceRef::Service(k) => self.service(k).map(|s| &s.meta.annotations),
            ResourceRef::Ingress(k) => self
                .world
                .kube
                .ingresses
                .as_ref()?
                .get(k)
                .map(|i| &i.meta.annotations),
        }
    }

    /// The resource a TargetGroupBinding reports about: its stack (from a modelled binding's
    /// key `<stack> <tg id>`, or the object's stack labels), else the object itself.
    pub fn tgb_resource(&self, key: &str) -> String {
        if let Some((stack, _)) = key.split_once(' ') {
            return stack.to_string();
        }
        let tgb = key.split_once('/').and_then(|(ns, name)| {
            self.world
                .kube
                .target_group_bindings
                .as_ref()?
                .get(&ObjKey::new(ns, name))
        });
        let Some(tgb) = tgb else {
            return format!("targetgroupbinding/{key}");
        };
        self.stack_of_labels(&tgb.meta.labels)
            .unwrap_or_else(|| format!("targetgroupbinding/{key}"))
    }

    /// The stack whose labels an object carries.
    pub fn stack_of_labels(&self, labels: &BTreeMap<String, String>) -> Option<String> {
        self.desired
            .stacks
            .values()
            .find(|s| s.id.owns(labels))
            .map(|s| s.id.to_string())
    }

    /// The TargetGroupBinding object key for a TG ARN, if one exists.
    pub fn tgb_of_tg(&self, tg_arn: &str) -> Option<ObjKey> {
        self.world
            .kube
            .target_group_bindings
            .iter()
            .flat_map(|m| m.values())
            .find(|t| t.target_group_arn == tg_arn)
            .map(|t| t.meta.key())
    }

    /// The distinct (SGs, traffic port, health-check port) of a stack's target group: from its
    /// targets when known, else from the SGs the LBC writes this stack's target rules to.
    pub fn target_sets(&self, s: &StackState, tg: &TgFacts) -> Vec<(Vec<String>, i32, i32)> {
        let mut out = BTreeSet::new();
        if let Some(targets) = &tg.targets {
            for t in targets {
                if let Some(p) = t.port.or(tg.port) {
                    out.insert((t.sgs.clone(), p, tg.health_port.unwrap_or(p)));
                }
            }
        } else if let Some(p) = tg.port {
            let prefix = format!("{} ", s.id);
            for o in self
                .desired
                .targets
                .tgbs
                .iter()
                .filter(|o| o.key.starts_with(&prefix))
            {
                for sg in o.result.iter().flat_map(|m| m.keys()) {
                    out.insert((vec![sg.clone()], p, tg.health_port.unwrap_or(p)));
                }
            }
        }
        out.into_iter().collect()
    }

    /// Who uses an SG: load balancers (names), loaded ENIs and SGs whose rules reference it.
    pub fn sg_users(&self, id: &str) -> SgUsers {
        self.users.get(id).cloned().unwrap_or_default()
    }
}

/// Every SG's users, in one pass over LBs, ENIs and rules (the checks ask per SG).
fn sg_users_index(world: &World) -> BTreeMap<String, SgUsers> {
    let mut out: BTreeMap<String, SgUsers> = BTreeMap::new();
    for lb in world.aws.load_balancers.iter().flat_map(|m| m.values()) {
        for sg in &lb.security_groups {
            out.entry(sg.clone())
                .or_default()
                .load_balancers
                .push(lb.name.clone());
        }
    }
    for eni in world.aws.enis.iter().flat_map(|m| m.values()) {
        for sg in &eni.groups {
            out.entry(sg.clone()).or_default().enis.push(eni.id.clone());
        }
    }
    for sg in world.aws.security_groups.iter().flat_map(|m| m.values()) {
        let referenced: BTreeSet<&str> = sg
            .ingress
            .iter()
            .chain(&sg.egress)
            .filter_map(|r| match &r.rule.source {
                Source::Group(g) if *g != sg.id => Some(g.as_str()),
                _ => None,
            })
            .collect();
        for g in referenced {
            out.entry(g.to_string())
                .or_default()
                .referenced_by
                .push(sg.id.clone());
        }
    }
    out
}

/// What uses a security group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SgUsers {
    pub load_balancers: Vec<String>,
    pub enis: Vec<String>,
    /// SGs with a rule whose source is this SG.
    pub referenced_by: Vec<String>,
}

impl SgUsers {
    pub fn is_unused(&self) -> bool {
        self.load_balancers.is_empty() && self.enis.is_empty() && self.referenced_by.is_empty()
    }
}
