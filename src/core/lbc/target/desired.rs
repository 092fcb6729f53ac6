//! The networking side over a whole World: every binding with networking → its rules per target
//! SG → the cluster-wide desired rules per target SG, and the SGs garbage collection clears
//! (lbc-semantics §8).

use std::cell::{OnceCell, RefCell};
use std::collections::{BTreeMap, BTreeSet};

use crate::world::{EndpointSlice, ObjKey, Pod, Rule, World};

use super::endpoints::{
    EndpointEni, PodEni, TargetEndpoints, check_instance_backend, eligible_before_selector,
    find_service_port, instance_eni_refs_of, pod_eni, pod_enis_with, ready_pods_in,
    resolve_endpoint_enis,
};
use super::gc::{TargetSgChanges, is_lbc_managed, reconcile_target_sg};
use super::node_index::NodesByLabel;
use super::permissions::permissions_for;
use super::select::select_target_sg;
use super::{StackId, TargetError, TgbSpec};

/// One binding with networking and what the networking manager computes for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TgbOutcome {
    pub key: String,
    /// Rules per target SG; an error leaves the binding uncomputed.
    pub result: Result<BTreeMap<String, Vec<Rule>>, TargetError>,
    /// Set when the Service or port is missing: the binding's rules are cleaned up.
    pub backend_not_found: Option<String>,
}

/// The desired state of every target SG.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetRules {
    /// Bindings with networking, in input order.
    pub tgbs: Vec<TgbOutcome>,
    /// Cluster-wide desired rules per target SG, one per identity.
    pub per_sg: BTreeMap<String, Vec<Rule>>,
    /// Every binding was computed. If not, the LBC only authorizes: it revokes nothing and
    /// collects no garbage.
    pub complete: bool,
    /// Cluster-tagged SGs of the VPC that receive no rule: the LBC revokes all its shared
    /// rules there (empty unless `complete`).
    pub gc: BTreeSet<String>,
    /// SGs without the cluster tag, referenced by nobody, still holding shared rules. The LBC
    /// clears them only if the running process wrote to them, never after a restart.
    pub untracked_stale: BTreeSet<String>,
}

/// The bindings of a cluster: the modelled stacks' bindings, plus every TargetGroupBinding
/// object that does not belong to a modelled stack (user-created ones and stacks not modelled).
/// Objects without a target type take it from their target group when it is loaded.
pub fn cluster_tgbs(world: &World, modelled: &[(StackId, Vec<TgbSpec>)]) -> Vec<TgbSpec> {
    let mut out: Vec<TgbSpec> = modelled.iter().flat_map(|(_, t)| t.clone()).collect();
    let stacks: BTreeSet<&StackId> = modelled.iter().map(|(s, _)| s).collect();
    out.extend(unowned_tgb_objects(world, |s| stacks.contains(s)));
    out
}

/// The TargetGroupBinding objects no modelled stack owns (`modelled` says which stacks are),
/// as bindings, in object order. Objects without a target type take it from their target group.
pub fn unowned_tgb_objects<'w>(
    world: &'w World,
    modelled: impl Fn(&StackId) -> bool + 'w,
) -> impl Iterator<Item = TgbSpec> + 'w {
    let objects = world
        .kube
        .target_group_bindings
        .iter()
        .flat_map(|m| m.values());
    objects
        .filter(move |tgb| !StackId::owners(&tgb.meta.labels).iter().any(&modelled))
        .map(|tgb| object_spec(world, tgb))
}

/// A TargetGroupBinding object as a binding; without a target type it takes its target
/// group's.
pub fn object_spec(world: &World, tgb: &crate::world::TargetGroupBinding) -> TgbSpec {
    let mut spec = TgbSpec::from_object(tgb);
    if spec.target_type.is_empty() {
        let tg = world
            .aws
            .target_groups
            .as_ref()
            .and_then(|tgs| tgs.get(&tgb.target_group_arn));
        if let Some(tg) = tg {
            spec.target_type = tg.target_type.clone();
        }
    }
    spec
}

/// Compute every binding's rules and merge them per target SG, with the controller
/// configuration of `world` (cluster name, `--service-target-eni-security-group-tags`,
/// `--disable-restricted-sg-rules`).
pub fn desired_target_rules(world: &World, tgbs: &[TgbSpec]) -> TargetRules {
    target_rules_with(world, &TargetMemo::new(world), tgbs)
}

/// [`desired_target_rules`] with a memo the caller keeps for later bindings of the same world.
pub fn target_rules_with(world: &World, memo: &TargetMemo<'_>, tgbs: &[TgbSpec]) -> TargetRules {
    let restricted = !world.controller_or_default().disable_restricted_sg_rules;
    let mut outcomes = Vec::new();
    let mut with_networking = BTreeSet::new();
    for tgb in tgbs {
        if tgb.networking.is_none() {
            continue;
        }
        let key = unique_key(&with_networking, &tgb.key);
        with_networking.insert(key.clone());
        outcomes.push(memo.outcome(tgb, key));
    }
    let (per_sg, complete) = merge_outcomes(&outcomes, &with_networking, restricted);
    let (gc, untracked_stale) = if complete {
        garbage(world, &per_sg)
    } else {
        Default::default()
    };
    TargetRules {
        tgbs: outcomes,
        per_sg,
        complete,
        gc,
        untracked_stale,
    }
}

/// The cluster-wide rules per target SG from the bindings' outcomes, and whether every binding
/// with networking was computed (the networking manager's record, consolidate and aggregate).
pub fn merge_outcomes(
    outcomes: &[TgbOutcome],
    with_networking: &BTreeSet<String>,
    restricted: bool,
) -> (BTreeMap<String, Vec<Rule>>, bool) {
    // the networking manager records each computed binding by key and merges in key order
    let computed: BTreeMap<&str, &PerSg> = outcomes
        .iter()
        .filter(|o| with_networking.contains(&o.key))
        .filter_map(|o| Some((o.key.as_str(), o.result.as_ref().ok()?)))
        .collect();
    let complete = computed.len() == with_networking.len();
    let mut by_sg: BTreeMap<&str, Vec<&[Rule]>> = BTreeMap::new();
    for per_sg in computed.values() {
        for (sg, rules) in *per_sg {
            by_sg.entry(sg).or_default().push(rules);
        }
    }
    let per_sg = by_sg
        .into_iter()
        .map(|(sg, lists)| (sg.to_string(), target_sg_rules(lists, restricted)))
        .collect();
    (per_sg, complete)
}

/// What the bindings of one world share: the controller's target-SG settings, the EndpointSlices
/// by Service, and the target SGs of instance targets by node selector (every instance binding
/// with the same selector lands on the same node ENIs, so they are resolved once).
pub struct TargetMemo<'w> {
    world: &'w World,
    select: SelectCtx<'w>,
    slices: BTreeMap<(&'w str, &'w str), Vec<&'w EndpointSlice>>,
    instance_sgs: RefCell<InstanceSgs>,
    /// Eligible nodes by label, built on the first instance binding.
    nodes: OnceCell<Result<EligibleNodes<'w>, TargetError>>,
    pod_enis: RefCell<BTreeMap<ObjKey, Result<PodEni<'w>, TargetError>>>,
}

/// The nodes eligible before any selector; a binding's selector narrows them.
type EligibleNodes<'w> = NodesByLabel<'w, ()>;

fn eligible_nodes(world: &World) -> Result<EligibleNodes<'_>, TargetError> {
    Ok(NodesByLabel::new(
        eligible_before_selector(world)?
            .into_iter()
            .map(|n| ((), n))
            .collect(),
    ))
}

type InstanceSgs = BTreeMap<BTreeMap<String, String>, Result<BTreeSet<String>, TargetError>>;

/// What choosing a target SG reads besides the ENI.
struct SelectCtx<'w> {
    world: &'w World,
    cluster: Option<&'w str>,
    extra_tags: BTreeMap<String, String>,
    /// The chosen SG by an ENI's SG list (only successes: errors name the ENI).
    chosen: RefCell<BTreeMap<Vec<String>, String>>,
}

impl<'w> TargetMemo<'w> {
    pub fn new(world: &'w World) -> Self {
        let mut slices: BTreeMap<(&str, &str), Vec<&EndpointSlice>> = BTreeMap::new();
        for s in world.kube.endpoint_slices.iter().flat_map(|m| m.values()) {
            if let Some(svc) = s.service_name.as_deref() {
                slices
                    .entry((s.meta.namespace.as_str(), svc))
                    .or_default()
                    .push(s);
            }
        }
        TargetMemo {
            world,
            select: SelectCtx {
                world,
                cluster: world.cluster_name(),
                extra_tags: world.controller_or_default().service_target_eni_sg_tags,
                chosen: RefCell::new(BTreeMap::new()),
            },
            slices,
            instance_sgs: RefCell::new(BTreeMap::new()),
            nodes: OnceCell::new(),
            pod_enis: RefCell::new(BTreeMap::new()),
        }
    }

    /// One binding's outcome under `key`.
    pub fn outcome(&self, tgb: &TgbSpec, key: String) -> TgbOutcome {
        let networking = tgb.networking.as_deref().unwrap_or_default();
        match self.compute_tgb(tgb, networking) {
            Ok((per_sg, not_found)) => TgbOutcome {
                key,
                result: Ok(per_sg),
                backend_not_found: not_found,
            },
            Err(e) => TgbOutcome {
                key,
                result: Err(e),
                backend_not_found: None,
            },
        }
    }

    /// One binding: its rules per target SG, and the not-found message when the backend is gone.
    /// Same result and error precedence as resolving its ENIs with [`resolve_endpoint_enis`].
    fn compute_tgb(
        &self,
        tgb: &TgbSpec,
        networking: &[crate::world::NetworkingRule],
    ) -> Result<(PerSg, Option<String>), TargetError> {
        let world = self.world;
        let mut per_sg = PerSg::new();
        match tgb.target_type.as_str() {
            "instance" => {
                if let Some(msg) = check_instance_backend(world, tgb)? {
                    return Ok((per_sg, Some(msg)));
                }
                let sgs = self.instance_sgs(&tgb.node_selector)?;
                let rules = permissions_for(networking, &[]).map_err(TargetError::Lbc)?;
                per_sg.extend(sgs.into_iter().map(|sg| (sg, rules.clone())));
            }
            "ip" => {
                let (_, port) = match find_service_port(world, tgb)? {
                    Ok(found) => found,
                    Err(msg) => return Ok((per_sg, Some(msg))),
                };
                let slices = self
                    .slices
                    .get(&(tgb.namespace.as_str(), tgb.service_name.as_str()))
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                let ready = ready_pods_in(world, slices.iter().copied(), tgb, port)?;
                let enis = pod_enis_with(&ready, |pod| self.pod_eni(pod))?;
                let pods = world.kube.pods.as_ref();
                let mut pods_by_sg: BTreeMap<String, Vec<Pod>> = BTreeMap::new();
                for eni in &enis {
                    let sg = self.select.endpoint_sg(eni)?;
                    let pod = pods.and_then(|p| p.get(&eni.target)).cloned();
                    pods_by_sg.entry(sg).or_default().extend(pod);
                }
                for (sg, pods) in pods_by_sg {
                    let rules = permissions_for(networking, &pods).map_err(TargetError::Lbc)?;
                    per_sg.insert(sg, rules);
                }
            }
            // the generic resolver gives the error for any other target type
            _ => match resolve_endpoint_enis(world, tgb)? {
                TargetEndpoints::BackendNotFound(msg) => return Ok((per_sg, Some(msg))),
                TargetEndpoints::Enis(_) => {}
            },
        }
        Ok((per_sg, None))
    }

    fn instance_sgs(
        &self,
        selector: &BTreeMap<String, String>,
    ) -> Result<BTreeSet<String>, TargetError> {
        if let Some(hit) = self.instance_sgs.borrow().get(selector) {
            return hit.clone();
        }
        let nodes = match self.nodes.get_or_init(|| eligible_nodes(self.world)) {
            Ok(nodes) => Ok(nodes
                .matching(selector)
                .into_iter()
                .map(|(_, n)| n)
                .collect()),
            Err(e) => Err(e.clone()),
        };
        let computed = nodes
            .and_then(|nodes| instance_eni_refs_of(self.world, nodes))
            .and_then(|enis| {
                enis.iter()
                    .map(|eni| self.select.sg_of(eni.eni_id, eni.security_groups))
                    .collect::<Result<BTreeSet<_>, _>>()
            });
        self.instance_sgs
            .borrow_mut()
            .insert(selector.clone(), computed.clone());
        computed
    }
}

/// What the LBC would authorize and revoke on each target SG of the World, for the desired
/// state `rules` (SGs not loaded are left out).
pub fn target_sg_changes(world: &World, rules: &TargetRules) -> BTreeMap<String, TargetSgChanges> {
    let Some(sgs) = world.aws.security_groups.as_ref() else {
        return BTreeMap::new();
    };
    let current = |id: &str| -> Option<Vec<Rule>> {
        sgs.get(id)
            .map(|sg| sg.ingress.iter().map(|r| r.rule.clone()).collect())
    };
    let mut out = BTreeMap::new();
    for (sg, desired) in &rules.per_sg {
        if let Some(have) = current(sg) {
            out.insert(
                sg.clone(),
                reconcile_target_sg(desired, &have, !rules.complete),
            );
        }
    }
    for sg in &rules.gc {
        if let Some(have) = current(sg) {
            out.insert(sg.clone(), reconcile_target_sg(&[], &have, false));
        }
    }
    out
}

fn unique_key(taken: &BTreeSet<String>, key: &str) -> String {
    let mut candidate = key.to_string();
    let mut n = 2;
    while taken.contains(&candidate) {
        candidate = format!("{key}#{n}");
        n += 1;
    }
    candidate
}

/// The desired rules of one target SG from its bindings' rules for it, in binding-key order:
/// the per-SG part of [`merge_outcomes`].
pub fn target_sg_rules<'a>(
    lists: impl IntoIterator<Item = &'a [Rule]>,
    restricted: bool,
) -> Vec<Rule> {
    dedupe_identities(super::aggregate::aggregate_sg(lists, restricted))
}

/// Keep the first rule of each identity, in order.
pub fn dedupe_identities(rules: Vec<Rule>) -> Vec<Rule> {
    let mut seen = BTreeSet::new();
    rules
        .into_iter()
        .filter(|r| seen.insert(r.identity()))
        .collect()
}

type PerSg = BTreeMap<String, Vec<Rule>>;

impl<'w> TargetMemo<'w> {
    fn pod_eni(&self, pod: &Pod) -> Result<PodEni<'w>, TargetError> {
        let key = pod.meta.key();
        if let Some(hit) = self.pod_enis.borrow().get(&key) {
            return hit.clone();
        }
        let found = pod_eni(self.world, pod);
        self.pod_enis.borrow_mut().insert(key, found.clone());
        found
    }
}

impl SelectCtx<'_> {
    fn endpoint_sg(&self, eni: &EndpointEni) -> Result<String, TargetError> {
        self.sg_of(&eni.eni_id, &eni.security_groups)
    }

    /// The target SG of an ENI; ENIs with the same SGs get the same answer.
    fn sg_of(&self, eni_id: &str, security_groups: &[String]) -> Result<String, TargetError> {
        if let Some(hit) = self.chosen.borrow().get(security_groups) {
            return Ok(hit.clone());
        }
        let chosen = self.choose(eni_id, security_groups)?;
        self.chosen
            .borrow_mut()
            .insert(security_groups.to_vec(), chosen.clone());
        Ok(chosen)
    }

    fn choose(&self, eni_id: &str, security_groups: &[String]) -> Result<String, TargetError> {
        let eni = EniView {
            eni_id,
            security_groups,
        };
        let world = self.world;
        if eni.security_groups.len() != 1 {
            if world.aws.security_groups.is_none() {
                return Err(TargetError::Unknown(format!(
                    "security groups not loaded (needed to choose among the SGs of {})",
                    eni.eni_id
                )));
            }
            if self.cluster.is_none() {
                return Err(TargetError::Unknown(format!(
                    "cluster name unknown (needed to choose among the SGs of {})",
                    eni.eni_id
                )));
            }
        }
        let lookup = |id: &str| {
            world
                .aws
                .security_groups
                .as_ref()
                .and_then(|m| m.get(id))
                .map(|sg| &sg.tags)
        };
        select_target_sg(
            self.cluster.unwrap_or_default(),
            &self.extra_tags,
            eni.eni_id,
            eni.security_groups,
            &lookup,
        )
        .map_err(TargetError::Lbc)
    }
}

struct EniView<'a> {
    eni_id: &'a str,
    security_groups: &'a [String],
}

/// Cluster-tagged SGs (value `owned`/`shared`, in the cluster's VPC) receiving no rule, and
/// untagged unreferenced SGs that still hold shared rules.
fn garbage(world: &World, per_sg: &PerSg) -> (BTreeSet<String>, BTreeSet<String>) {
    let (Some(sgs), Some(_)) = (world.aws.security_groups.as_ref(), world.cluster_name()) else {
        return Default::default();
    };
    let mut gc = BTreeSet::new();
    let mut stale = BTreeSet::new();
    for (id, sg) in sgs {
        if per_sg.contains_key(id) {
            continue;
        }
        if collects_garbage(world, sg) {
            gc.insert(id.clone());
        } else if sg.ingress.iter().any(|r| is_lbc_managed(&r.rule)) {
            stale.insert(id.clone());
        }
    }
    (gc, stale)
}

/// Whether garbage collection clears `sg` when no binding gives it rules: it carries the
/// cluster tag with value `owned` or `shared` and is in the cluster's VPC.
pub fn collects_garbage(world: &World, sg: &crate::world::SecurityGroup) -> bool {
    let Some(cluster) = world.cluster_name() else {
        return false;
    };
    let tagged = matches!(
        sg.tags
            .get(&format!("kubernetes.io/cluster/{cluster}"))
            .map(String::as_str),
        Some("owned" | "shared")
    );
    let in_vpc = match (world.vpc_id(), sg.vpc_id.as_deref()) {
        (Some(want), Some(have)) => want == have,
        _ => true,
    };
    tagged && in_vpc
}

#[cfg(test)]
mod eligible_tests {
    use super::*;
    use crate::core::lbc::target::endpoints::eligible_nodes_by;
    use crate::devtools::worldgen::{GenSpec, Size, generate};

    #[test]
    fn the_label_index_finds_what_a_scan_of_every_node_finds() {
        let world = generate(&GenSpec::new(11, Size::Small, 0.0)).unwrap().world;
        let index = eligible_nodes(&world).unwrap();
        let selectors = super::super::node_index::probe_selectors(&world);
        let names = |nodes: Vec<&crate::world::Node>| -> Vec<String> {
            nodes.iter().map(|n| n.meta.name.clone()).collect()
        };
        for s in &selectors {
            let want = names(eligible_nodes_by(&world, s).unwrap());
            let found = index.matching(s).into_iter().map(|(_, n)| n).collect();
            assert_eq!(names(found), want, "{s:?}");
        }
    }
}
