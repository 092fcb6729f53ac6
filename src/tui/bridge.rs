//! The one place the TUI calls the core. Everything the views need from `core::plan`,
//! `core::audit` and `core::reach` goes through these functions, so wiring a core function as
//! it lands is a change here and nowhere else.

use std::collections::BTreeSet;

use crate::core::plan::apply::apply_to_world;
use crate::core::plan::render::render_text;
use crate::core::plan::{Change, ChangeKind, Edit, Owner, Plan, ResourceRef, Risk};
use crate::world::World;

use super::model::plan::PlanPreview;
use super::model::{self, Analysis};

/// The core's view of a world: findings (when the audit is built in) and drift.
pub fn analyse(world: &World) -> Analysis {
    let drift = crate::core::plan::drift(world);
    let drift_text = render_text(world, &drift, &[]);
    Analysis {
        // core::audit is not in this build yet: the findings view says so instead of lying.
        findings: None,
        drift,
        drift_text,
    }
}

/// Plan an edit. Until `core::plan::plan` lands this plans only the change the user asks for
/// (the patch, or the rule edit) and says so in a warning; the LBC's follow-up changes come
/// with the core planner.
pub fn plan(world: &World, edit: &Edit) -> Result<Plan, String> {
    let mut plan = Plan {
        edit: Some(edit.clone()),
        ..Plan::default()
    };
    match edit {
        Edit::Annotations {
            resource,
            set,
            unset,
        } => {
            let rv = resource_version(world, resource)
                .ok_or_else(|| format!("{resource} is not in the loaded world"))?;
            plan.changes.push(Change {
                kind: ChangeKind::PatchAnnotations {
                    resource: resource.clone(),
                    resource_version: rv,
                    set: set.clone(),
                    unset: unset.clone(),
                },
                owner: Owner::User,
                risk: Risk::Unchanged,
                stack: Some(resource.to_string()),
                pending: false,
            });
            plan.warnings.push(
                "this build previews the annotation patch only; what the LBC does next is planned by the reconcile core once it is wired in"
                    .into(),
            );
        }
        Edit::Rules { sg, add, remove } => {
            let group = world
                .aws
                .security_groups
                .as_ref()
                .and_then(|m| m.get(sg))
                .ok_or_else(|| format!("{sg} is not in the loaded world"))?;
            let add: Vec<_> = add
                .iter()
                .filter(|r| !group.ingress.iter().any(|e| e.rule.key() == r.key()))
                .cloned()
                .collect();
            if !add.is_empty() {
                plan.changes.push(Change {
                    kind: ChangeKind::AuthorizeIngress {
                        sg: sg.clone(),
                        rules: add,
                    },
                    owner: Owner::User,
                    risk: Risk::Widened,
                    stack: None,
                    pending: false,
                });
            }
            let found: Vec<_> = remove
                .iter()
                .filter_map(|r| group.ingress.iter().find(|e| e.rule.key() == r.key()))
                .collect();
            if found.len() < remove.len() {
                plan.warnings
                    .push("some rules to remove are not on the group; they are left out".into());
            }
            if !found.is_empty() {
                plan.changes.push(Change {
                    kind: ChangeKind::RevokeIngress {
                        sg: sg.clone(),
                        rules: found.iter().map(|e| e.rule.clone()).collect(),
                        rule_ids: found.iter().map(|e| e.id.clone()).collect(),
                    },
                    owner: Owner::User,
                    risk: Risk::Narrowed,
                    stack: None,
                    pending: false,
                });
            }
        }
        Edit::ControllerFlag { .. } => {
            return Err(
                "controller flags are what-ifs for `lbsg plan`; the TUI never changes them".into(),
            );
        }
    }
    Ok(plan)
}

fn resource_version(world: &World, r: &ResourceRef) -> Option<String> {
    match r {
        ResourceRef::Service(k) => world
            .kube
            .services
            .as_ref()?
            .get(k)
            .map(|s| s.meta.resource_version.clone()),
        ResourceRef::Ingress(k) => world
            .kube
            .ingresses
            .as_ref()?
            .get(k)
            .map(|i| i.meta.resource_version.clone()),
    }
}

/// The resources whose exposure an edit can change: the annotated one, or every listed
/// resource whose chain contains the edited SG.
fn affected(world: &World, edit: &Edit) -> Vec<ResourceRef> {
    match edit {
        Edit::Annotations { resource, .. } => vec![resource.clone()],
        Edit::Rules { sg, .. } => {
            let idx = model::index::Index::new(world);
            let key = format!("sg:{sg}");
            model::listed_resources(world)
                .into_iter()
                .filter(|r| {
                    let g = model::graph::build(&idx, r);
                    g.node(&key).is_some()
                        || g.nodes.iter().any(|n| {
                            n.col == model::graph::TARGETS
                                && n.detail.iter().any(|d| d.contains(sg.as_str()))
                        })
                })
                .collect()
        }
        Edit::ControllerFlag { .. } => Vec::new(),
    }
}

/// `service/a/b: internet tcp/443 (2 reachable, 0 blocked) → …` lines.
pub fn exposure_lines(before: &World, after: &World, resources: &[ResourceRef]) -> Vec<String> {
    let (ib, ia) = (
        model::index::Index::new(before),
        model::index::Index::new(after),
    );
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for r in resources {
        if !seen.insert(r.clone()) {
            continue;
        }
        let (b, a) = (model::graph::build(&ib, r), model::graph::build(&ia, r));
        let text = |g: &model::GraphModel| {
            format!(
                "{} ({} reachable, {} blocked)",
                g.exposure.text, g.reach.reachable, g.reach.blocked
            )
        };
        let (tb, ta) = (text(&b), text(&a));
        if tb == ta {
            out.push(format!("{r}: {tb} (unchanged)"));
        } else {
            out.push(format!("{r}: {tb} → {ta}"));
        }
    }
    out
}

/// Plan an edit and render it for the preview dialog, with exposure before and after.
pub fn preview(world: &World, edit: &Edit) -> Result<PlanPreview, String> {
    let plan = plan(world, edit)?;
    let after = apply_to_world(world, &plan);
    let exposure = exposure_lines(world, &after, &affected(world, edit));
    let text = render_text(world, &plan, &exposure);
    Ok(PlanPreview::new(plan, &text))
}
