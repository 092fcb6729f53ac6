//! The networking side over a whole World: every binding with networking → its rules per target
//! SG → the cluster-wide desired rules per target SG, and the SGs garbage collection clears
//! (lbc-semantics §8).

use std::collections::{BTreeMap, BTreeSet};

use crate::world::{Pod, Rule, World};

use super::endpoints::{EndpointEni, TargetEndpoints, resolve_endpoint_enis};
use super::gc::{NetworkingState, TargetSgChanges, is_lbc_managed, reconcile_target_sg};
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
    let objects = world
        .kube
        .target_group_bindings
        .iter()
        .flat_map(|m| m.values());
    for tgb in objects {
        if modelled.iter().any(|(s, _)| s.owns(&tgb.meta.labels)) {
            continue;
        }
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
        out.push(spec);
    }
    out
}

/// Compute every binding's rules and merge them per target SG, with the controller
/// configuration of `world` (cluster name, `--service-target-eni-security-group-tags`,
/// `--disable-restricted-sg-rules`).
pub fn desired_target_rules(world: &World, tgbs: &[TgbSpec]) -> TargetRules {
    let restricted = !world.controller_or_default().disable_restricted_sg_rules;
    let mut state = NetworkingState::default();
    let mut outcomes = Vec::new();
    let mut with_networking = BTreeSet::new();
    for tgb in tgbs {
        let Some(networking) = &tgb.networking else {
            continue;
        };
        let key = unique_key(&with_networking, &tgb.key);
        with_networking.insert(key.clone());
        let outcome = match compute_tgb(world, tgb, networking) {
            Ok((per_sg, not_found)) => {
                state.record(&key, Some(per_sg.clone()));
                TgbOutcome {
                    key,
                    result: Ok(per_sg),
                    backend_not_found: not_found,
                }
            }
            Err(e) => TgbOutcome {
                key,
                result: Err(e),
                backend_not_found: None,
            },
        };
        outcomes.push(outcome);
    }
    let complete = state.consolidate(&with_networking);
    let per_sg: BTreeMap<String, Vec<Rule>> = state
        .aggregated(restricted)
        .into_iter()
        .map(|(sg, rules)| (sg, dedupe(rules)))
        .collect();
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

fn dedupe(rules: Vec<Rule>) -> Vec<Rule> {
    let mut seen = BTreeSet::new();
    rules
        .into_iter()
        .filter(|r| seen.insert(r.identity()))
        .collect()
}

type PerSg = BTreeMap<String, Vec<Rule>>;

/// One binding: its rules per target SG, and the not-found message when the backend is gone.
fn compute_tgb(
    world: &World,
    tgb: &TgbSpec,
    networking: &[crate::world::NetworkingRule],
) -> Result<(PerSg, Option<String>), TargetError> {
    let enis = match resolve_endpoint_enis(world, tgb)? {
        TargetEndpoints::BackendNotFound(msg) => return Ok((PerSg::new(), Some(msg))),
        TargetEndpoints::Enis(enis) => enis,
    };
    let mut per_sg = PerSg::new();
    if tgb.target_type == "ip" {
        let pods = world.kube.pods.as_ref();
        let mut pods_by_sg: BTreeMap<String, Vec<Pod>> = BTreeMap::new();
        for eni in &enis {
            let sg = endpoint_sg(world, eni)?;
            let pod = pods.and_then(|p| p.get(&eni.target)).cloned();
            pods_by_sg.entry(sg).or_default().extend(pod);
        }
        for (sg, pods) in pods_by_sg {
            let rules = permissions_for(networking, &pods).map_err(TargetError::Lbc)?;
            per_sg.insert(sg, rules);
        }
    } else {
        let sgs = enis
            .iter()
            .map(|eni| endpoint_sg(world, eni))
            .collect::<Result<BTreeSet<_>, _>>()?;
        let rules = permissions_for(networking, &[]).map_err(TargetError::Lbc)?;
        per_sg.extend(sgs.into_iter().map(|sg| (sg, rules.clone())));
    }
    Ok((per_sg, None))
}

fn endpoint_sg(world: &World, eni: &EndpointEni) -> Result<String, TargetError> {
    if eni.security_groups.len() != 1 {
        if world.aws.security_groups.is_none() {
            return Err(TargetError::Unknown(format!(
                "security groups not loaded (needed to choose among the SGs of {})",
                eni.eni_id
            )));
        }
        if world.cluster_name().is_none() {
            return Err(TargetError::Unknown(format!(
                "cluster name unknown (needed to choose among the SGs of {})",
                eni.eni_id
            )));
        }
    }
    let cfg = world.controller_or_default();
    let cluster = world.cluster_name().unwrap_or_default();
    let lookup = |id: &str| {
        world
            .aws
            .security_groups
            .as_ref()
            .and_then(|m| m.get(id))
            .map(|sg| &sg.tags)
    };
    select_target_sg(
        cluster,
        &cfg.service_target_eni_sg_tags,
        &eni.eni_id,
        &eni.security_groups,
        &lookup,
    )
    .map_err(TargetError::Lbc)
}

/// Cluster-tagged SGs (value `owned`/`shared`, in the cluster's VPC) receiving no rule, and
/// untagged unreferenced SGs that still hold shared rules.
fn garbage(world: &World, per_sg: &PerSg) -> (BTreeSet<String>, BTreeSet<String>) {
    let (Some(sgs), Some(cluster)) = (world.aws.security_groups.as_ref(), world.cluster_name())
    else {
        return Default::default();
    };
    let tag = format!("kubernetes.io/cluster/{cluster}");
    let vpc = world.vpc_id();
    let mut gc = BTreeSet::new();
    let mut stale = BTreeSet::new();
    for (id, sg) in sgs {
        if per_sg.contains_key(id) {
            continue;
        }
        let tagged = matches!(
            sg.tags.get(&tag).map(String::as_str),
            Some("owned" | "shared")
        );
        let in_vpc = match (vpc, sg.vpc_id.as_deref()) {
            (Some(want), Some(have)) => want == have,
            _ => true,
        };
        if tagged && in_vpc {
            gc.insert(id.clone());
        } else if sg.ingress.iter().any(|r| is_lbc_managed(&r.rule)) {
            stale.insert(id.clone());
        }
    }
    (gc, stale)
}
