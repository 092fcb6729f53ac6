//! Properties of planning on generated worlds and random edits: deterministic; the incremental
//! planner equals the reference one; applying a plan leaves nothing for the LBC to do; a plan
//! revokes only rules and deletes only SGs it owns; egress is never touched.
//!
//! Worlds are generated once per process (a few tiny ones for thousands of cases, the small
//! preset for fewer); edits are drawn from `lbsg::devtools::edits`.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use lbsg::core::lbc::target::is_lbc_managed;
use lbsg::core::plan::apply::apply_to_world;
use lbsg::core::plan::{ChangeKind, Edit, Owner, Plan, drift, plan, plan_simple};
use lbsg::devtools::edits::{KINDS, edit_for};
use lbsg::devtools::worldgen::{GenSpec, Size, generate};
use lbsg::world::{Origin, RuleKey, World};
use proptest::prelude::*;

/// Tiny worlds: four seeds, the odd ones with planted problems, and the fifth is the first
/// one run with `--disable-restricted-sg-rules` (so its target rules drift).
fn tiny(seed: usize) -> &'static World {
    static WORLDS: OnceLock<Vec<World>> = OnceLock::new();
    let worlds = WORLDS.get_or_init(|| {
        let mut worlds: Vec<World> = (0..4)
            .map(|s| {
                let problems = if s % 2 == 1 { 0.3 } else { 0.0 };
                let spec = GenSpec {
                    seed: 100 + s as u64,
                    counts: Size::Tiny.counts(),
                    problems,
                };
                generate(&spec).unwrap().world
            })
            .collect();
        let mut unrestricted = worlds[0].clone();
        let mut cfg = unrestricted.controller_or_default();
        cfg.set("disable-restricted-sg-rules", "true", Origin::Args)
            .unwrap();
        unrestricted.controller = Some(cfg);
        worlds.push(unrestricted);
        worlds
    });
    &worlds[seed % worlds.len()]
}

fn small() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| generate(&GenSpec::new(3, Size::Small, 0.1)).unwrap().world)
}

/// Every property for one (world, edit).
fn check(world: &World, edit: &Edit) -> Result<(), TestCaseError> {
    let fast = plan(world, edit);
    // deterministic, and equal to the reference planner
    prop_assert_eq!(&fast, &plan(world, edit));
    prop_assert_eq!(&fast, &plan_simple(world, edit));
    let Ok(p) = fast else {
        return Ok(());
    };
    owns_what_it_revokes(world, edit, &p)?;
    // a flag edit is a what-if: its plan applies to the world running with that flag
    let base = match edit {
        Edit::ControllerFlag { name, value } => {
            let mut w = world.clone();
            let mut cfg = w.controller_or_default();
            cfg.set(name, value, Origin::Override).unwrap();
            w.controller = Some(cfg);
            w
        }
        _ => world.clone(),
    };
    let after = apply_to_world(&base, &p);
    // applied, nothing is left for the LBC but what AWS cannot do in place
    let left: Vec<_> = drift(&after)
        .changes
        .into_iter()
        .filter(|c| !matches!(c.kind, ChangeKind::RecreateRequired { .. }))
        .collect();
    prop_assert!(left.is_empty(), "left after applying {edit:?}: {left:#?}");
    // egress is never touched
    for (id, sg) in world.aws.security_groups.iter().flat_map(|m| m.iter()) {
        if let Some(now) = after.aws.security_groups.as_ref().and_then(|m| m.get(id)) {
            prop_assert_eq!(&now.egress, &sg.egress, "egress of {} changed", id);
        }
    }
    Ok(())
}

/// The LBC revokes any inbound rule only on managed SGs, elsewhere only rules labelled
/// `elbv2.k8s.aws/targetGroupBinding=shared`; the user revokes only what the edit removes;
/// only the LBC's managed and backend SGs are deleted.
fn owns_what_it_revokes(world: &World, edit: &Edit, p: &Plan) -> Result<(), TestCaseError> {
    let cluster = world.cluster_name().unwrap_or_default();
    let sgs = world.aws.security_groups.as_ref();
    let asked: BTreeSet<RuleKey> = match edit {
        Edit::Rules { remove, .. } => remove.iter().map(|r| r.key()).collect(),
        _ => BTreeSet::new(),
    };
    for c in &p.changes {
        match (&c.kind, c.owner) {
            (ChangeKind::RevokeIngress { sg, rules, .. }, Owner::User) => {
                for r in rules {
                    prop_assert!(asked.contains(&r.key()), "user revokes {r} unasked on {sg}");
                }
            }
            (ChangeKind::RevokeIngress { sg, rules, .. }, Owner::Lbc) => {
                let Some(group) = sgs.and_then(|m| m.get(sg)) else {
                    continue;
                };
                let managed = ["service.k8s.aws/resource", "ingress.k8s.aws/resource"]
                    .iter()
                    .any(|k| {
                        group.tags.get(*k).map(String::as_str) == Some("ManagedLBSecurityGroup")
                    });
                if managed {
                    continue;
                }
                for r in rules {
                    let theirs = group.ingress.iter().find(|e| e.rule.key() == r.key());
                    prop_assert!(
                        theirs.is_some_and(|e| is_lbc_managed(&e.rule)),
                        "the LBC revokes {r} it does not own on {sg}"
                    );
                }
            }
            (ChangeKind::DeleteSecurityGroup { sg }, _) => {
                let group = sgs.and_then(|m| m.get(sg));
                let lbc_tagged = group.is_some_and(|g| {
                    g.tags.get("elbv2.k8s.aws/cluster").map(String::as_str) == Some(cluster)
                        && [
                            "service.k8s.aws/resource",
                            "ingress.k8s.aws/resource",
                            "elbv2.k8s.aws/resource",
                        ]
                        .iter()
                        .any(|k| {
                            matches!(
                                g.tags.get(*k).map(String::as_str),
                                Some("ManagedLBSecurityGroup" | "backend-sg")
                            )
                        })
                });
                prop_assert!(lbc_tagged, "deletes {sg}, which the LBC does not own");
            }
            _ => {}
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    #[test]
    fn planning_tiny_worlds(seed in 0usize..5, kind in 0..KINDS, object in 0usize..64, variant in 0usize..64) {
        let world = tiny(seed);
        if let Some(edit) = edit_for(world, kind, object, variant) {
            check(world, &edit)?;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 60, ..ProptestConfig::default() })]

    #[test]
    fn planning_the_small_world(kind in 0..KINDS, object in 0usize..400, variant in 0usize..64) {
        let world = small();
        if let Some(edit) = edit_for(world, kind, object, variant) {
            check(world, &edit)?;
        }
    }
}
