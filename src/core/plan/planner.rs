//! `plan(world, edit)`: the one entry point every front end uses to turn an edit into a plan.
//! The edit is validated first; then the world is edited in memory and the LBC's reaction is
//! the drift of the edited world.

use std::collections::BTreeSet;

use super::apply::apply_to_world;
use super::edit::{Edit, ResourceRef, parse_source, validate_cidr};
use super::quotas::quota_errors;
use super::{Change, ChangeKind, Owner, Plan, PlanError, Risk, drift};
use crate::core::lbc::annotations::{ING_PREFIX, SVC_PREFIX, split_list};
use crate::core::lbc::tags::{MANAGED_SG_RESOURCE_ID, managed_lb_sg_key};
use crate::core::lbc::target::is_lbc_managed;
use crate::world::{Origin, Rule, SecurityGroup, World};

/// Why an edit was refused before planning: the message names the value and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidEdit(pub String);

/// Plan an edit: validate it, and collect what the LBC would do once it is made. Runs the
/// incremental [`Planner`](super::incremental::Planner); the result equals [`plan_simple`].
pub fn plan(world: &World, edit: &Edit) -> Result<Plan, InvalidEdit> {
    super::incremental::Planner::new(world).plan(edit)
}

/// The reference planner, the specification [`plan`] is tested against: apply the edit to a
/// copy of the world, and the LBC's reaction is the drift of the copy.
pub fn plan_simple(world: &World, edit: &Edit) -> Result<Plan, InvalidEdit> {
    let (edited, first) = edited_world(world, edit)?;
    let before = drift(world);
    let after = drift(&edited);
    let pending: BTreeSet<String> = before.changes.iter().map(change_key).collect();
    let old_errors: BTreeSet<PlanError> = before.errors.iter().cloned().collect();
    let mut plan = combine(edit, first, &pending, &old_errors, after);
    let result = apply_to_world(world, &plan);
    plan.errors.extend(quota_errors(world, &result, &plan));
    plan.warnings.extend(edit_warnings(world, edit));
    finish(world, &mut plan);
    Ok(plan)
}

/// What every plan carries besides its changes: risk judged against the world before it, and
/// the exposure before and after.
/// (The reference: the whole world's exposure before and after; the incremental planner
/// re-evaluates only what the plan can affect.)
pub(crate) fn finish(world: &World, plan: &mut Plan) {
    super::risk::refine(world, plan);
    plan.exposure = crate::core::reach::exposure_diff(world, &apply_to_world(world, plan));
}

/// Validate an edit and make it on a copy of the world; also the user's own changes.
pub(crate) fn edited_world(
    world: &World,
    edit: &Edit,
) -> Result<(World, Vec<Change>), InvalidEdit> {
    match edit {
        Edit::Annotations {
            resource,
            set,
            unset,
        } => annotation_edit(world, resource, set, unset),
        Edit::Rules { sg, add, remove } => rule_edit(world, sg, add, remove),
        Edit::ControllerFlag { name, value } => {
            let mut w = world.clone();
            let mut cfg = w.controller_or_default();
            cfg.set(name, value, Origin::Override).map_err(|e| {
                InvalidEdit(format!(
                    "{e}; see `lbsg --help` for the controller flags lbsg models"
                ))
            })?;
            w.controller = Some(cfg);
            Ok((w, Vec::new()))
        }
    }
}

/// The plan of an edit from the user's changes (`first`), the drift after the edit, and what
/// was pending (and failing) before it. Quota errors and edit warnings are added by the caller.
pub(crate) fn combine(
    edit: &Edit,
    first: Vec<Change>,
    pending: &BTreeSet<String>,
    old_errors: &BTreeSet<PlanError>,
    after: Plan,
) -> Plan {
    let mut changes = first;
    for mut c in after.changes {
        c.pending = pending.contains(&change_key(&c));
        changes.push(c);
    }
    let mut plan = Plan {
        edit: Some(edit.clone()),
        changes,
        errors: after
            .errors
            .iter()
            .filter(|e| !old_errors.contains(*e))
            .cloned()
            .collect(),
        ..Plan::default()
    };
    let still = after
        .errors
        .iter()
        .filter(|e| old_errors.contains(*e))
        .count();
    if still > 0 {
        plan.warnings.push(format!(
            "{still} LBC error(s) already present before this edit remain (see `lbsg audit`)"
        ));
    }
    plan
}

/// Identity of a change for "was it already pending" (ignores owner and pending flag).
pub(crate) fn change_key(c: &Change) -> String {
    serde_json::to_string(&c.kind).unwrap_or_default()
}

/// Validate an annotation edit; the patch it makes.
pub(crate) fn annotation_patch(
    world: &World,
    resource: &ResourceRef,
    set: &std::collections::BTreeMap<String, String>,
    unset: &[String],
) -> Result<Change, InvalidEdit> {
    let meta = match resource {
        ResourceRef::Service(k) => world.kube.services.as_ref().and_then(|m| m.get(k)).map(|s| &s.meta),
        ResourceRef::Ingress(k) => world.kube.ingresses.as_ref().and_then(|m| m.get(k)).map(|i| &i.meta),
    }
    .ok_or_else(|| InvalidEdit(format!("{resource} is not in this world; check the namespace and name (`lbsg audit` lists them)")))?;
    if set.is_empty() && unset.is_empty() {
        return Err(InvalidEdit(
            "nothing to change: give --set KEY=VALUE or --unset KEY".into(),
        ));
    }
    for (k, v) in set {
        validate_annotation(world, resource, k, v)?;
    }
    for k in unset {
        if !meta.annotations.contains_key(k) {
            return Err(InvalidEdit(format!(
                "{resource} has no annotation {k:?} to unset"
            )));
        }
    }
    Ok(Change {
        kind: ChangeKind::PatchAnnotations {
            resource: resource.clone(),
            resource_version: meta.resource_version.clone(),
            set: set.clone(),
            unset: unset.to_vec(),
        },
        owner: Owner::User,
        risk: Risk::Unchanged,
        stack: Some(resource.to_string()),
        pending: false,
    })
}

fn annotation_edit(
    world: &World,
    resource: &ResourceRef,
    set: &std::collections::BTreeMap<String, String>,
    unset: &[String],
) -> Result<(World, Vec<Change>), InvalidEdit> {
    let patch = annotation_patch(world, resource, set, unset)?;
    let edited = apply_to_world(
        world,
        &Plan {
            changes: vec![patch.clone()],
            ..Plan::default()
        },
    );
    Ok((edited, vec![patch]))
}

/// Reject values the LBC would fail on or silently misread, naming the value and the fix.
fn validate_annotation(
    world: &World,
    resource: &ResourceRef,
    key: &str,
    value: &str,
) -> Result<(), InvalidEdit> {
    let (own, other, kind) = match resource {
        ResourceRef::Service(_) => (SVC_PREFIX, ING_PREFIX, "Service"),
        ResourceRef::Ingress(_) => (ING_PREFIX, SVC_PREFIX, "Ingress"),
    };
    if key.starts_with(other) {
        return Err(InvalidEdit(format!(
            "{key} is an annotation for the other object kind; on a {kind} the LBC reads {own}…"
        )));
    }
    let Some(suffix) = key.strip_prefix(own) else {
        return Ok(()); // not an LBC annotation: passed through untouched
    };
    let suffix = suffix.trim_start_matches("aws-load-balancer-");
    let bad = |what: &str| InvalidEdit(format!("{key}={value:?}: {what}"));
    match suffix {
        "load-balancer-source-ranges" | "inbound-cidrs" => {
            for c in split_list(value) {
                validate_cidr(&c).map_err(|e| bad(&e))?;
            }
        }
        "security-group-prefix-lists" => {
            for p in split_list(value) {
                if !p.starts_with("pl-") {
                    return Err(bad(&format!("{p:?} is not a prefix list id (pl-…)")));
                }
            }
        }
        "manage-backend-security-group-rules" | "disable-nlb-sg" | "internal"
            if crate::world::controller::parse_go_bool(value).is_none() =>
        {
            return Err(bad("expected true or false"));
        }
        "ip-address-type" => {
            let ok: &[&str] = match resource {
                ResourceRef::Service(_) => &["ipv4", "dualstack"],
                ResourceRef::Ingress(_) => &["ipv4", "dualstack", "dualstack-without-public-ipv4"],
            };
            if !ok.contains(&value) {
                return Err(bad(&format!(
                    "expected one of {} (case-sensitive)",
                    ok.join(", ")
                )));
            }
        }
        "scheme" if !matches!(value, "internal" | "internet-facing") => {
            return Err(bad("expected internal or internet-facing"));
        }
        "inbound-sg-rules-on-private-link-traffic" | "enable-icmp-for-path-mtu-discovery"
            if !matches!(value, "on" | "off") =>
        {
            return Err(bad("expected on or off (lowercase)"));
        }
        "security-groups" => {
            for tok in split_list(value) {
                if let Some(tag) = managed_lb_sg_tag(world, &tok) {
                    return Err(bad(&format!(
                        "{tok} is a security group the LBC manages for a load balancer ({tag}={MANAGED_SG_RESOURCE_ID}): it rewrites its rules and deletes it when its own object stops needing it (this object's own: at once, while the load balancer still uses it) — name a security group you own"
                    )));
                }
                if tok.starts_with("sg-") {
                    parse_source(&tok).map_err(|e| bad(&e))?;
                    let known = world.aws.security_groups.as_ref();
                    if known.is_some_and(|m| !m.contains_key(&tok)) {
                        return Err(bad(&format!(
                            "no security group {tok} in this world; check the id"
                        )));
                    }
                } else if let Some(m) = world.aws.security_groups.as_ref()
                    && !m.values().any(|sg| sg.name_tag() == Some(tok.as_str()))
                {
                    {
                        return Err(bad(&format!(
                            "no security group has the Name tag {tok:?}; the LBC resolves names by the Name tag, not the group name — use the sg- id or tag the SG"
                        )));
                    }
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// The tag by which the SG `tok` names (an id or a Name tag) is an LBC-managed load balancer SG.
fn managed_lb_sg_tag(world: &World, tok: &str) -> Option<&'static str> {
    let sgs = world.aws.security_groups.as_ref()?;
    let sg = match sgs.get(tok) {
        Some(sg) => sg,
        None => sgs.values().find(|sg| sg.name_tag() == Some(tok))?,
    };
    managed_lb_sg_key(sg)
}

fn rule_edit(
    world: &World,
    sg_id: &str,
    add: &[Rule],
    remove: &[Rule],
) -> Result<(World, Vec<Change>), InvalidEdit> {
    let changes = rule_changes(world, sg_id, add, remove)?;
    let edited = apply_to_world(
        world,
        &Plan {
            changes: changes.clone(),
            ..Plan::default()
        },
    );
    Ok((edited, changes))
}

/// Validate a rule edit; the user's changes it makes.
pub(crate) fn rule_changes(
    world: &World,
    sg_id: &str,
    add: &[Rule],
    remove: &[Rule],
) -> Result<Vec<Change>, InvalidEdit> {
    let sg = world
        .aws
        .security_groups
        .as_ref()
        .and_then(|m| m.get(sg_id))
        .ok_or_else(|| {
            InvalidEdit(format!(
                "no security group {sg_id} in this world; check the id"
            ))
        })?;
    if add.is_empty() && remove.is_empty() {
        return Err(InvalidEdit(
            "nothing to change: give --add-rule or --remove-rule".into(),
        ));
    }
    if let Some(hint) = lbc_owned_hint(world, sg) {
        return Err(InvalidEdit(format!(
            "{sg_id} is managed by the LBC: it would revert this edit. {hint}"
        )));
    }
    for r in remove {
        let found = sg
            .ingress
            .iter()
            .find(|e| e.rule.key() == r.key())
            .ok_or_else(|| {
                InvalidEdit(format!(
                    "{sg_id} has no inbound rule {}; `lbsg graph` shows its rules",
                    r
                ))
            })?;
        if is_lbc_managed(&found.rule) {
            return Err(InvalidEdit(format!(
                "{sg_id}'s rule {} belongs to the LBC (description elbv2.k8s.aws/targetGroupBinding=shared) and would come back; change the Service/Ingress instead (e.g. its manage-backend-security-group-rules annotation)",
                found.rule
            )));
        }
    }
    let mut changes = Vec::new();
    let new: Vec<Rule> = add
        .iter()
        .filter(|r| !sg.ingress.iter().any(|e| e.rule.key() == r.key()))
        .cloned()
        .collect();
    if !new.is_empty() {
        changes.push(Change {
            kind: ChangeKind::AuthorizeIngress {
                sg: sg_id.to_string(),
                rules: new,
            },
            owner: Owner::User,
            risk: Risk::Widened,
            stack: None,
            pending: false,
        });
    }
    if !remove.is_empty() {
        let ids = remove
            .iter()
            .map(|r| {
                sg.ingress
                    .iter()
                    .find(|e| e.rule.key() == r.key())
                    .and_then(|e| e.id.clone())
            })
            .collect();
        changes.push(Change {
            kind: ChangeKind::RevokeIngress {
                sg: sg_id.to_string(),
                rules: remove.to_vec(),
                rule_ids: ids,
            },
            owner: Owner::User,
            risk: Risk::Narrowed,
            stack: None,
            pending: false,
        });
    }
    Ok(changes)
}

/// For an SG whose inbound rules the LBC owns: the annotation that expresses the same intent.
fn lbc_owned_hint(world: &World, sg: &SecurityGroup) -> Option<String> {
    let cluster = world.cluster_name().unwrap_or_default();
    let stack = ["service.k8s.aws", "ingress.k8s.aws"]
        .iter()
        .find_map(|p| {
            (sg.tags.get(&format!("{p}/resource")).map(String::as_str)
                == Some("ManagedLBSecurityGroup"))
            .then(|| {
                (
                    p,
                    sg.tags
                        .get(&format!("{p}/stack"))
                        .cloned()
                        .unwrap_or_default(),
                )
            })
        })?;
    let _ = cluster;
    Some(match *stack.0 {
        "service.k8s.aws" => format!(
            "It is the managed frontend SG of service/{}: set service.beta.kubernetes.io/load-balancer-source-ranges (or spec.loadBalancerSourceRanges) instead, e.g. `lbsg plan service/{} --set service.beta.kubernetes.io/load-balancer-source-ranges=10.0.0.0/8`",
            stack.1, stack.1
        ),
        _ => format!(
            "It is the managed frontend SG of IngressGroup {}: set alb.ingress.kubernetes.io/inbound-cidrs on its Ingress(es) instead",
            stack.1
        ),
    })
}

/// Warnings about who else may change the same thing back.
pub(crate) fn edit_warnings(world: &World, edit: &Edit) -> Vec<String> {
    let Edit::Annotations {
        resource,
        set,
        unset,
    } = edit
    else {
        return Vec::new();
    };
    let meta = match resource {
        ResourceRef::Service(k) => world
            .kube
            .services
            .as_ref()
            .and_then(|m| m.get(k))
            .map(|s| &s.meta),
        ResourceRef::Ingress(k) => world
            .kube
            .ingresses
            .as_ref()
            .and_then(|m| m.get(k))
            .map(|i| &i.meta),
    };
    let Some(meta) = meta else { return Vec::new() };
    let mut out = Vec::new();
    let keys: Vec<&String> = set.keys().chain(unset.iter()).collect();
    let mut managers: BTreeSet<String> = BTreeSet::new();
    for k in &keys {
        for m in meta.annotation_managers.get(*k).into_iter().flatten() {
            let l = m.to_ascii_lowercase();
            if l.contains("helm")
                || l.contains("argo")
                || l.contains("flux")
                || l.contains("kustomize")
            {
                managers.insert(m.clone());
            }
        }
    }
    if meta
        .labels
        .get("app.kubernetes.io/managed-by")
        .is_some_and(|v| v.eq_ignore_ascii_case("helm"))
    {
        managers.insert("Helm (label app.kubernetes.io/managed-by)".into());
    }
    if meta.labels.contains_key("argocd.argoproj.io/instance")
        || meta
            .annotations
            .contains_key("argocd.argoproj.io/tracking-id")
    {
        managers.insert("Argo CD".into());
    }
    out.extend(no_effect_warnings(world, resource, set));
    if !managers.is_empty() {
        out.push(format!(
            "{resource} is managed by {}: change the chart/manifest too, or this edit may be reverted",
            managers.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    out
}

/// Edits the LBC will accept but not act on: a Service it does not own, or SGs on an NLB that
/// was created without any (lbc-semantics §4.1 case 2, §11.1).
fn no_effect_warnings(
    world: &World,
    resource: &ResourceRef,
    set: &std::collections::BTreeMap<String, String>,
) -> Vec<String> {
    let ResourceRef::Service(key) = resource else {
        return Vec::new();
    };
    let Some(svc) = world.kube.services.as_ref().and_then(|m| m.get(key)) else {
        return Vec::new();
    };
    let cfg = world.controller_or_default();
    let mut out = Vec::new();
    if !crate::core::lbc::service::is_lbc_service(&cfg, svc) {
        out.push(format!(
            "the LBC does not handle {resource} (no loadBalancerClass {} and no aws-load-balancer-type external/nlb-ip): its service.beta.kubernetes.io/aws-load-balancer-* annotations are read by the in-tree cloud provider, if at all",
            cfg.load_balancer_class
        ));
        return out;
    }
    let sg_key = format!("{SVC_PREFIX}aws-load-balancer-security-groups");
    if set.contains_key(&sg_key) {
        let cluster = world.cluster_name().unwrap_or_default();
        let stack = crate::core::lbc::model::StackId::Service(key.clone());
        let lb = crate::core::desired::find::stack_lb(world, cluster, &stack, &svc.lb_hostnames);
        if let Some(lb) = lb.filter(|lb| lb.is_nlb() && lb.security_groups.is_empty()) {
            out.push(format!(
                "{} was created without security groups and can never gain any: {sg_key} takes effect only if the Service is recreated (a new NLB, new DNS name)",
                lb.name
            ));
        }
    }
    out
}
