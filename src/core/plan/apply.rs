//! Applying a plan to a world in memory: what the world looks like once the patch is in and
//! the LBC (and the user) made every change. Used by world-file apply, `--demo` apply, and the
//! property "re-planning after apply gives an empty plan".

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use super::{ChangeKind, Plan, ResourceRef};
use crate::core::lbc::naming::sha256_hex;
use crate::world::{LoadBalancer, SecurityGroup, SgRule, World, WorldOverlay};

/// The id a created SG gets in memory: stable for the same name, shaped like an EC2 id.
pub fn simulated_sg_id(name: &str) -> String {
    format!("sg-0{}", &sha256_hex(&[name])[..16])
}

/// Apply every change of `plan` to a copy of `world`. Changes that cannot be done in place
/// (`RecreateRequired`) are left out: the caller reports them.
pub fn apply_to_world(world: &World, plan: &Plan) -> World {
    let overlay = overlay_of(world, plan);
    let mut w = world.clone();
    overlay.write_into(&mut w);
    w
}

/// What applying `plan` replaces in `world`, without copying the world: every object the plan
/// touches, as the plan leaves it (what [`apply_to_world`] writes into its copy).
pub fn overlay_of(world: &World, plan: &Plan) -> WorldOverlay {
    let mut o = WorldOverlay::default();
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    let real = |ids: &BTreeMap<String, String>, sg: &str| {
        ids.get(sg).cloned().unwrap_or_else(|| sg.to_string())
    };
    for change in &plan.changes {
        match &change.kind {
            ChangeKind::PatchAnnotations {
                resource,
                set,
                unset,
                ..
            } => patch_annotations(world, &mut o, resource, set, unset),
            ChangeKind::CreateSecurityGroup {
                id,
                name,
                description,
                vpc_id,
                tags,
            } => {
                let new_id = simulated_sg_id(name);
                ids.insert(id.clone(), new_id.clone());
                let sg = SecurityGroup {
                    id: new_id.clone(),
                    name: name.clone(),
                    description: description.clone(),
                    vpc_id: vpc_id.clone(),
                    owner_id: world.cluster.account.clone(),
                    tags: tags.clone(),
                    ingress: Vec::new(),
                    egress: Vec::new(),
                };
                if world.aws.security_groups.is_none() {
                    o.creates_sg_list = true;
                }
                o.security_groups.insert(new_id, Some(sg));
            }
            ChangeKind::DeleteSecurityGroup { sg } => {
                o.security_groups.insert(real(&ids, sg), None);
            }
            ChangeKind::AuthorizeIngress { sg, rules } => {
                if let Some(g) = sg_mut(world, &mut o, &real(&ids, sg)) {
                    for r in rules {
                        let mut r = r.clone();
                        if let crate::world::Source::Group(src) = &r.source {
                            r.source = crate::world::Source::Group(real(&ids, src));
                        }
                        if !g.ingress.iter().any(|e| e.rule.key() == r.key()) {
                            g.ingress.push(SgRule {
                                rule: r,
                                id: None,
                                tags: BTreeMap::new(),
                            });
                        }
                    }
                }
            }
            ChangeKind::RevokeIngress { sg, rules, .. } => {
                if let Some(g) = sg_mut(world, &mut o, &real(&ids, sg)) {
                    let keys: Vec<_> = rules.iter().map(|r| r.key()).collect();
                    g.ingress.retain(|e| !keys.contains(&e.rule.key()));
                }
            }
            ChangeKind::SetSecurityGroups {
                load_balancer,
                security_groups,
                private_link,
            } => {
                if let Some(lb) = lb_mut(world, &mut o, load_balancer) {
                    lb.security_groups = security_groups.iter().map(|s| real(&ids, s)).collect();
                    if private_link.is_some() {
                        lb.enforce_private_link_sg = private_link.clone();
                    }
                }
            }
            ChangeKind::CreateTags { sg, tags } => {
                if let Some(g) = sg_mut(world, &mut o, &real(&ids, sg)) {
                    g.tags.extend(tags.clone());
                }
            }
            ChangeKind::DeleteTags { sg, keys } => {
                if let Some(g) = sg_mut(world, &mut o, &real(&ids, sg)) {
                    for k in keys {
                        g.tags.remove(k);
                    }
                }
            }
            ChangeKind::RecreateRequired { .. } => {}
        }
    }
    o
}

fn patch_annotations(
    world: &World,
    o: &mut WorldOverlay,
    resource: &ResourceRef,
    set: &BTreeMap<String, String>,
    unset: &[String],
) {
    let meta = match resource {
        ResourceRef::Service(k) => match o.services.entry(k.clone()) {
            Entry::Occupied(e) => Some(&mut e.into_mut().meta),
            Entry::Vacant(e) => world
                .kube
                .services
                .as_ref()
                .and_then(|m| m.get(k))
                .map(|s| &mut e.insert(s.clone()).meta),
        },
        ResourceRef::Ingress(k) => match o.ingresses.entry(k.clone()) {
            Entry::Occupied(e) => Some(&mut e.into_mut().meta),
            Entry::Vacant(e) => world
                .kube
                .ingresses
                .as_ref()
                .and_then(|m| m.get(k))
                .map(|i| &mut e.insert(i.clone()).meta),
        },
    };
    if let Some(meta) = meta {
        for k in unset {
            meta.annotations.remove(k);
        }
        meta.annotations.extend(set.clone());
        meta.resource_version = next_resource_version(&meta.resource_version);
    }
}

/// The API server hands out a new resourceVersion on every write; numeric ones count up.
pub fn next_resource_version(rv: &str) -> String {
    match rv.parse::<u64>() {
        Ok(n) => (n + 1).to_string(),
        Err(_) => format!("{rv}+1"),
    }
}

/// The SG as the plan so far leaves it, copied into the overlay to be changed.
fn sg_mut<'a>(world: &World, o: &'a mut WorldOverlay, id: &str) -> Option<&'a mut SecurityGroup> {
    o.security_groups
        .entry(id.to_string())
        .or_insert_with(|| world.aws.security_groups.as_ref()?.get(id).cloned())
        .as_mut()
}

fn lb_mut<'a>(world: &World, o: &'a mut WorldOverlay, arn: &str) -> Option<&'a mut LoadBalancer> {
    match o.load_balancers.entry(arn.to_string()) {
        Entry::Occupied(e) => Some(e.into_mut()),
        Entry::Vacant(e) => {
            let lb = world.aws.load_balancers.as_ref()?.get(arn)?;
            Some(e.insert(lb.clone()))
        }
    }
}
