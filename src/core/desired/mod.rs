//! Desired state of a whole World: what the LBC would reconcile for every Service and
//! IngressGroup, the shared backend SG, and the rules of every target SG. This is the one place
//! that ties the LBC layers to a [`World`]; drift, plans, the audit and the TUI read it.

pub mod find;

use std::collections::{BTreeMap, BTreeSet};

use crate::core::lbc::ingress::{
    GroupMembers, IngressCtx, build_ingress_model, load_ingress_groups, member_class_params,
};
use crate::core::lbc::model::StackId;
use crate::core::lbc::model::{Frontend, StackModel};
use crate::core::lbc::naming::{self, GroupId};
use crate::core::lbc::resolve::LookupResolver;
use crate::core::lbc::service::{ExistingLb, ServiceCtx, build_service_model, is_lbc_service};
use crate::core::lbc::target::{
    TargetMemo, TargetRules, TgbSpec, target_rules_with, unowned_tgb_objects,
};
use crate::core::plan::{ResourceRef, new_sg_placeholder};
use crate::world::{ControllerConfig, Ingress, IngressClassParams, ObjKey, Service, Tags, World};

/// One stack (a Service's NLB or an IngressGroup's ALB) as the LBC would build it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackState {
    pub id: StackId,
    /// The Kubernetes objects behind it: the Service, or the group's Ingresses in LBC order.
    pub resources: Vec<ResourceRef>,
    /// The model, or the LBC's build error (`Failed build model due to …` without the prefix).
    pub model: Result<StackModel, String>,
    /// The LB the LBC built for it, when the world has one.
    pub lb: Option<String>,
    /// Managed SGs carrying this stack's tags (the first is kept, the rest deleted).
    pub managed_sgs: Vec<String>,
    /// The id the managed SG has or will have (an existing id, or a `$new:` placeholder).
    pub managed_sg_id: Option<String>,
}

impl StackState {
    /// The LB SG list with tokens replaced by ids (or placeholders).
    pub fn lb_security_groups(&self, backend_sg_id: &str) -> Vec<String> {
        let Ok(m) = &self.model else {
            return Vec::new();
        };
        m.lb_security_groups
            .iter()
            .map(|s| match s.as_str() {
                crate::core::lbc::model::MANAGED_SG_TOKEN => {
                    self.managed_sg_id.clone().unwrap_or_default()
                }
                crate::core::lbc::model::BACKEND_SG_TOKEN => backend_sg_id.to_string(),
                other => other.to_string(),
            })
            .collect()
    }
}

/// The shared backend SG as the LBC would have it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendSg {
    /// `--backend-security-group` given: used verbatim, never created, tagged or deleted.
    pub explicit: bool,
    /// Its id: the explicit one, the one found by tags, or a `$new:` placeholder.
    pub id: String,
    pub exists: bool,
    pub name: String,
    /// Desired tags (auto-created SG only).
    pub tags: Tags,
    /// Some stack needs it.
    pub needed: bool,
}

/// The desired state of everything the LBC reconciles in one world.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub config: ControllerConfig,
    pub cluster: String,
    pub vpc_id: Option<String>,
    pub backend_sg: Option<BackendSg>,
    pub stacks: BTreeMap<StackId, StackState>,
    pub targets: TargetRules,
    /// What could not be decided for lack of data ("no ENIs loaded: target rules not checked").
    pub unknowns: Vec<String>,
}

/// What every stack build of one world shares: configuration, the backend SG id, the SG
/// resolver, VPC CIDRs and the tag index of LBs and managed SGs. Building it is linear in the
/// world; building one stack with it is independent of the world's size (the incremental
/// planner rebuilds single stacks this way).
pub struct StackContext<'w> {
    pub world: &'w World,
    pub config: ControllerConfig,
    pub cluster: String,
    pub vpc: Option<String>,
    pub backend_sg: Option<BackendSg>,
    pub backend_id: String,
    resolver: LookupResolver<crate::core::lbc::resolve::IndexedWorldLookup<'w>>,
    vpc_v4: Vec<String>,
    vpc_v6: Vec<String>,
    finder: find::Finder<'w>,
}

impl<'w> StackContext<'w> {
    pub fn new(world: &'w World) -> Self {
        let config = world.controller_or_default();
        let cluster = world.cluster_name().unwrap_or_default().to_string();
        let vpc = world.vpc_id().map(String::from);
        let backend_sg = backend_sg_state(world, &config, &cluster, vpc.as_deref());
        let backend_id = backend_sg
            .as_ref()
            .map(|b| b.id.clone())
            .unwrap_or_default();
        let (vpc_v4, vpc_v6) = find::vpc_cidrs(world, vpc.as_deref());
        let finder = find::Finder::new(world, &cluster, vpc.as_deref());
        Self {
            world,
            resolver: LookupResolver::indexed_for_world(world),
            config,
            cluster,
            vpc,
            backend_sg,
            backend_id,
            vpc_v4,
            vpc_v6,
            finder,
        }
    }

    /// The stack of a Service, `None` when the LBC does not reconcile it.
    pub fn service_stack(&self, svc: &Service) -> Option<StackState> {
        if !is_lbc_service(&self.config, svc) {
            return None;
        }
        let id = StackId::Service(svc.meta.key());
        let lb = self.finder.stack_lb(&id, &svc.lb_hostnames);
        let existing = lb.map(|lb| ExistingLb {
            scheme: lb.scheme.clone(),
            security_groups: lb.security_groups.clone(),
            ip_address_type: lb.ip_address_type.clone(),
        });
        let scheme_guess = lb.map(|l| l.scheme.as_str()).unwrap_or("internet-facing");
        let subnets = find::lb_subnets(self.world, lb, self.vpc.as_deref(), scheme_guess);
        let ctx = ServiceCtx {
            config: &self.config,
            backend_sg_id: &self.backend_id,
            lb_subnets: &subnets,
            vpc_cidrs: &self.vpc_v4,
            vpc_ipv6_cidrs: &self.vpc_v6,
            existing_lb: existing,
            resolver: &self.resolver,
        };
        let model = build_service_model(&ctx, svc);
        let managed_sgs: Vec<String> = self
            .finder
            .stack_managed_sgs(&id)
            .iter()
            .map(|sg| sg.id.clone())
            .collect();
        let managed_sg_id = managed_id(&model, &managed_sgs);
        Some(StackState {
            id,
            resources: vec![ResourceRef::Service(svc.meta.key())],
            model,
            lb: lb.map(|l| l.arn.clone()),
            managed_sgs,
            managed_sg_id,
        })
    }

    /// The IngressGroups of `ingresses` as the LBC loads them, with the IngressClassParams of
    /// every member.
    pub fn ingress_groups(
        &self,
        ingresses: &BTreeMap<ObjKey, Ingress>,
    ) -> (
        BTreeMap<GroupId, GroupMembers>,
        BTreeMap<ObjKey, IngressClassParams>,
    ) {
        let empty_classes = BTreeMap::new();
        let empty_params = BTreeMap::new();
        let classes = self
            .world
            .kube
            .ingress_classes
            .as_ref()
            .unwrap_or(&empty_classes);
        let params = self
            .world
            .kube
            .ingress_class_params
            .as_ref()
            .unwrap_or(&empty_params);
        (
            load_ingress_groups(&self.config, ingresses, classes, params),
            member_class_params(&self.config, ingresses, classes, params),
        )
    }

    /// The stack of one IngressGroup; `None` for a group with neither members nor an error.
    pub fn ingress_stack<'i>(
        &self,
        ingress: &dyn Fn(&ObjKey) -> Option<&'i Ingress>,
        services: &BTreeMap<ObjKey, Service>,
        class_params: &BTreeMap<ObjKey, IngressClassParams>,
        group: &GroupId,
        members: &GroupMembers,
    ) -> Option<StackState> {
        let member_objs: Vec<&Ingress> = members.members.iter().filter_map(ingress).collect();
        if member_objs.is_empty() && members.error.is_none() {
            return None;
        }
        let ctx = IngressCtx {
            config: &self.config,
            backend_sg_id: &self.backend_id,
            services,
            class_params,
            resolver: &self.resolver,
        };
        let id = StackId::Ingress(group.clone());
        let model = match &members.error {
            Some(e) => Err(e.clone()),
            None => build_ingress_model(&ctx, group, &member_objs),
        };
        let hostnames: Vec<String> = member_objs
            .iter()
            .flat_map(|i| i.lb_hostnames.clone())
            .collect();
        let lb = self.finder.stack_lb(&id, &hostnames);
        let managed_sgs: Vec<String> = self
            .finder
            .stack_managed_sgs(&id)
            .iter()
            .map(|sg| sg.id.clone())
            .collect();
        let managed_sg_id = managed_id(&model, &managed_sgs);
        Some(StackState {
            id,
            resources: members
                .members
                .iter()
                .cloned()
                .map(ResourceRef::Ingress)
                .collect(),
            model,
            lb: lb.map(|l| l.arn.clone()),
            managed_sgs,
            managed_sg_id,
        })
    }

    /// The target-rule bindings of a modelled stack (TGB networking with real SG ids).
    pub fn stack_tgbs(&self, s: &StackState) -> Option<Vec<TgbSpec>> {
        let m = s.model.as_ref().ok()?;
        Some(with_real_ids(
            TgbSpec::from_stack(&s.id, m),
            s,
            &self.backend_id,
        ))
    }

    /// The backend SG state, `needed` when some stack allocates it.
    pub fn backend_sg_for<'s>(
        &self,
        stacks: impl IntoIterator<Item = &'s StackState>,
    ) -> Option<BackendSg> {
        let needed = stacks
            .into_iter()
            .any(|s| s.model.as_ref().is_ok_and(|m| m.backend_sg_allocated));
        self.backend_sg.clone().map(|mut b| {
            b.needed = needed;
            b
        })
    }
}

/// Compute the desired state of `world`.
pub fn desired(world: &World) -> Desired {
    let cx = StackContext::new(world);
    compute(&cx, &TargetMemo::new(world)).desired
}

/// The desired state together with what an incremental planner updates it from.
pub struct Computed {
    pub desired: Desired,
    /// The IngressGroups as loaded, and the IngressClassParams of each member.
    pub groups: BTreeMap<GroupId, GroupMembers>,
    pub class_params: BTreeMap<ObjKey, IngressClassParams>,
    /// Keys of each modelled stack's bindings that have networking.
    pub stack_bindings: BTreeMap<StackId, Vec<String>>,
}

/// [`desired`] from a prepared context and target memo (kept by the caller for later edits).
pub fn compute(cx: &StackContext<'_>, memo: &TargetMemo<'_>) -> Computed {
    let world = cx.world;
    let mut unknowns = Vec::new();
    if world.controller.is_none() {
        unknowns.push("controller configuration not loaded: LBC defaults assumed".to_string());
    }
    if cx.cluster.is_empty() {
        unknowns.push(
            "cluster name unknown: managed SG names and target SG selection cannot be checked"
                .to_string(),
        );
    }
    let mut stacks = BTreeMap::new();
    for svc in world.kube.services.iter().flat_map(|m| m.values()) {
        if let Some(s) = cx.service_stack(svc) {
            stacks.insert(s.id.clone(), s);
        }
    }
    let (mut groups, mut class_params) = (BTreeMap::new(), BTreeMap::new());
    if let Some(ings) = world.kube.ingresses.as_ref() {
        let empty = BTreeMap::new();
        let services = world.kube.services.as_ref().unwrap_or(&empty);
        (groups, class_params) = cx.ingress_groups(ings);
        for (group, members) in &groups {
            let lookup = |k: &ObjKey| ings.get(k);
            if let Some(s) = cx.ingress_stack(&lookup, services, &class_params, group, members) {
                stacks.insert(s.id.clone(), s);
            }
        }
    }
    let backend_sg = cx.backend_sg_for(stacks.values());

    // Target rules: modelled stacks' bindings, then the TGB objects no modelled stack owns (a
    // stack whose build fails keeps its old TGBs) — what `cluster_tgbs` gives, without copies.
    let mut tgbs: Vec<TgbSpec> = Vec::new();
    let mut modelled: BTreeSet<&StackId> = BTreeSet::new();
    let mut stack_bindings = BTreeMap::new();
    for s in stacks.values() {
        let Some(specs) = cx.stack_tgbs(s) else {
            continue;
        };
        modelled.insert(&s.id);
        let keys = specs
            .iter()
            .filter(|t| t.networking.is_some())
            .map(|t| t.key.clone())
            .collect();
        stack_bindings.insert(s.id.clone(), keys);
        tgbs.extend(specs);
    }
    tgbs.extend(unowned_tgb_objects(world, |id| modelled.contains(id)));
    let targets = target_rules_with(world, memo, &tgbs);
    if world.aws.enis.is_none() {
        unknowns.push("no ENIs loaded: target rules not checked".to_string());
    }

    Computed {
        desired: Desired {
            config: cx.config.clone(),
            cluster: cx.cluster.clone(),
            vpc_id: cx.vpc.clone(),
            backend_sg,
            stacks,
            targets,
            unknowns,
        },
        groups,
        class_params,
        stack_bindings,
    }
}

fn managed_id(model: &Result<StackModel, String>, existing: &[String]) -> Option<String> {
    match model {
        Ok(StackModel {
            frontend: Frontend::Managed(m),
            ..
        }) => Some(
            existing
                .first()
                .cloned()
                .unwrap_or_else(|| new_sg_placeholder(&m.name)),
        ),
        _ => None,
    }
}

/// TGB networking names the managed SG by token when it is the rule source; use its id.
fn with_real_ids(mut specs: Vec<TgbSpec>, s: &StackState, backend_id: &str) -> Vec<TgbSpec> {
    use crate::core::lbc::model::{BACKEND_SG_TOKEN, MANAGED_SG_TOKEN};
    use crate::world::NetworkingPeer;
    for spec in &mut specs {
        for rule in spec.networking.iter_mut().flatten() {
            for peer in &mut rule.from {
                if let NetworkingPeer::SecurityGroup(sg) = peer {
                    if sg == MANAGED_SG_TOKEN {
                        *sg = s.managed_sg_id.clone().unwrap_or_default();
                    } else if sg == BACKEND_SG_TOKEN {
                        *sg = backend_id.to_string();
                    }
                }
            }
        }
    }
    specs
}

fn backend_sg_state(
    world: &World,
    cfg: &ControllerConfig,
    cluster: &str,
    vpc: Option<&str>,
) -> Option<BackendSg> {
    if !cfg.enable_backend_security_group {
        return None;
    }
    if !cfg.backend_security_group.is_empty() {
        return Some(BackendSg {
            explicit: true,
            id: cfg.backend_security_group.clone(),
            exists: true,
            name: String::new(),
            tags: Tags::new(),
            needed: false,
        });
    }
    let name = naming::backend_sg_name(cluster);
    let mut tags = cfg.default_tags.clone();
    tags.insert(find::CLUSTER_TAG.into(), cluster.to_string());
    tags.insert(find::RESOURCE_TAG.into(), find::BACKEND_SG_RESOURCE.into());
    let found = find::backend_sg(world, cluster, vpc);
    Some(BackendSg {
        explicit: false,
        id: found
            .map(|sg| sg.id.clone())
            .unwrap_or_else(|| new_sg_placeholder(&name)),
        exists: found.is_some(),
        name,
        tags,
        needed: false,
    })
}
