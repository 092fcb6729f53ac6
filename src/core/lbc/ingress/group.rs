//! IngressGroup membership and member order (`pkg/ingress/group_loader.go`).
//!
//! An owned Ingress belongs to the explicit group named by its IngressClassParams `group.name`
//! (which wins) or its `group.name` annotation, else to its own implicit group. Members are
//! ordered by `group.order` (default 0, within [-1000, 1000]) and then by `ns/name`.

use std::collections::BTreeMap;

use crate::core::lbc::annotations::{Annotations, Kind};
use crate::core::lbc::naming::GroupId;
use crate::world::controller::parse_go_bool;
use crate::world::{ControllerConfig, Ingress, IngressClass, IngressClassParams, ObjKey};

use super::class::{ClassMatch, classify};
use super::int32_annotation;

/// Finalizer on every Ingress of an implicit group.
pub const IMPLICIT_FINALIZER: &str = "ingress.k8s.aws/resources";
/// Prefix of the finalizer on members of an explicit group (`group.ingress.k8s.aws/<group>`).
pub const EXPLICIT_FINALIZER_PREFIX: &str = "group.ingress.k8s.aws/";

const MIN_ORDER: i64 = -1000;
const MAX_ORDER: i64 = 1000;
const MAX_GROUP_NAME_LEN: usize = 63;

/// Members of one group as the LBC loads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupMembers {
    /// Active members in the LBC's order (by name when `error` is set, since the LBC has none).
    pub members: Vec<ObjKey>,
    /// Ingresses that still hold the group's finalizer but are no longer members (left the
    /// group, or being deleted); see [`check_inactive_members`].
    pub inactive: Vec<ObjKey>,
    /// Why the LBC cannot load (hence cannot reconcile) this group at all.
    pub error: Option<String>,
}

/// `groupName` rules: lower-case alphanumerics, `-` and `.`, alphanumeric at both ends, ≤ 63.
pub fn validate_group_name(name: &str) -> Result<(), String> {
    let b = name.as_bytes();
    let edge_ok = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let inner_ok = |c: u8| edge_ok(c) || c == b'-' || c == b'.';
    let shape_ok = match b {
        [] => false,
        [only] => edge_ok(*only),
        [first, inner @ .., last] => {
            edge_ok(*first) && edge_ok(*last) && inner.iter().all(|c| inner_ok(*c))
        }
    };
    if !shape_ok {
        return Err("groupName must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character".into());
    }
    if name.len() > MAX_GROUP_NAME_LEN {
        return Err(format!(
            "groupName must be no more than {MAX_GROUP_NAME_LEN} characters"
        ));
    }
    Ok(())
}

/// The group of an owned Ingress; `Err` = invalid group name (the LBC then treats the Ingress
/// as leaving its group).
pub fn group_id_of(ing: &Ingress, params: Option<&IngressClassParams>) -> Result<GroupId, String> {
    let explicit = match params.and_then(|p| p.group_name.as_deref()) {
        Some(g) => Some(g),
        None => Annotations::new(Kind::Ingress, &ing.meta.annotations).get("group.name"),
    };
    match explicit {
        Some(g) => validate_group_name(g)
            .map(|()| GroupId::Explicit(g.to_string()))
            .map_err(|e| format!("invalid ingress group: {e}")),
        None => Ok(GroupId::Implicit {
            namespace: ing.meta.namespace.clone(),
            name: ing.meta.name.clone(),
        }),
    }
}

/// The finalizer an Ingress carries while it is a member of `group`.
pub fn group_finalizer(group: &GroupId) -> String {
    match group {
        GroupId::Implicit { .. } => IMPLICIT_FINALIZER.to_string(),
        GroupId::Explicit(g) => format!("{EXPLICIT_FINALIZER_PREFIX}{g}"),
    }
}

/// Groups whose finalizer this Ingress still holds (it may have left them since).
fn finalizer_groups(ing: &Ingress) -> Vec<GroupId> {
    ing.meta
        .finalizers
        .iter()
        .filter_map(|f| {
            if f == IMPLICIT_FINALIZER {
                Some(GroupId::Implicit {
                    namespace: ing.meta.namespace.clone(),
                    name: ing.meta.name.clone(),
                })
            } else {
                f.strip_prefix(EXPLICIT_FINALIZER_PREFIX)
                    .map(|g| GroupId::Explicit(g.to_string()))
            }
        })
        .collect()
}

/// A deleted former member with `deletion_protection.enabled=true` in its
/// `load-balancer-attributes` stops the whole group from being built (`model_builder.go` run).
pub fn check_inactive_members(inactive: &[&Ingress]) -> Result<(), String> {
    for ing in inactive.iter().filter(|i| i.meta.deleting) {
        let ann = Annotations::new(Kind::Ingress, &ing.meta.annotations);
        let attrs = ann
            .string_map("load-balancer-attributes")?
            .unwrap_or_default();
        if let Some(raw) = attrs.get("deletion_protection.enabled") {
            let enabled = parse_go_bool(raw)
                .ok_or_else(|| format!("strconv.ParseBool: parsing {raw:?}: invalid syntax"))?;
            if enabled {
                return Err(format!(
                    "deletion_protection is enabled, cannot delete the ingress: {}",
                    ing.meta.name
                ));
            }
        }
    }
    Ok(())
}

/// `group.order` of a member, validated.
pub fn group_order(ing: &Ingress) -> Result<i32, String> {
    let key = format!("{}/{}", ing.meta.namespace, ing.meta.name);
    let ann = Annotations::new(Kind::Ingress, &ing.meta.annotations);
    let order = int32_annotation(&ann, "group.order")
        .map_err(|e| format!("failed to load Ingress group order for ingress: {key}: {e}"))?;
    match order {
        Some(o) if !(MIN_ORDER..=MAX_ORDER).contains(&i64::from(o)) => Err(format!(
            "explicit Ingress group order must be within [{MIN_ORDER}:{MAX_ORDER}], Ingress: {key}, order: {o}"
        )),
        o => Ok(o.unwrap_or(0)),
    }
}

/// Order members by (`group.order`, `ns/name`), the LBC's member order.
pub fn sort_members(members: &[&Ingress]) -> Result<Vec<ObjKey>, String> {
    let mut keyed = Vec::with_capacity(members.len());
    for ing in members {
        let name = format!("{}/{}", ing.meta.namespace, ing.meta.name);
        keyed.push((group_order(ing)?, name, ing.meta.key()));
    }
    keyed.sort();
    Ok(keyed.into_iter().map(|(_, _, k)| k).collect())
}

/// Every group with its members (or the reason it cannot be loaded), as the LBC sees them.
pub fn load_ingress_groups(
    cfg: &ControllerConfig,
    ingresses: &BTreeMap<ObjKey, Ingress>,
    classes: &BTreeMap<String, IngressClass>,
    class_params: &BTreeMap<String, IngressClassParams>,
) -> BTreeMap<GroupId, GroupMembers> {
    let mut active: BTreeMap<GroupId, Vec<&Ingress>> = BTreeMap::new();
    let mut errors: BTreeMap<GroupId, String> = BTreeMap::new();
    // A classification failure fails the load of every group the LBC would load while it lasts.
    let mut global_error: Option<String> = None;
    for ing in ingresses.values() {
        let key = format!("{}/{}", ing.meta.namespace, ing.meta.name);
        match classify(cfg, ing, classes, class_params) {
            ClassMatch::Owned(params) => {
                if let Ok(g) = group_id_of(ing, params) {
                    active.entry(g).or_default().push(ing);
                }
            }
            ClassMatch::NotOwned => {}
            ClassMatch::InvalidClass(e) => {
                // Kept out of groups it never joined; fatal for groups whose finalizer it holds.
                for g in finalizer_groups(ing) {
                    errors.entry(g).or_insert_with(|| {
                        format!(
                            "Ingress: {key}: Ingress has invalid IngressClass configuration: {e}"
                        )
                    });
                }
            }
            ClassMatch::Failed(e) => {
                global_error.get_or_insert_with(|| format!("Ingress: {key}: {e}"));
            }
        }
    }
    let mut out: BTreeMap<GroupId, GroupMembers> = BTreeMap::new();
    for (g, e) in errors {
        out.entry(g).or_default().error = Some(e);
    }
    for ing in ingresses.values() {
        for g in finalizer_groups(ing) {
            let is_active = active
                .get(&g)
                .is_some_and(|ms| ms.iter().any(|m| m.meta.key() == ing.meta.key()));
            if !is_active {
                out.entry(g).or_default().inactive.push(ing.meta.key());
            }
        }
    }
    for (g, members) in active {
        let entry = out.entry(g).or_default();
        match sort_members(&members) {
            Ok(sorted) => entry.members = sorted,
            Err(e) => {
                entry.members = members.iter().map(|i| i.meta.key()).collect();
                entry.error.get_or_insert(e);
            }
        }
    }
    if let Some(e) = global_error {
        for g in out.values_mut() {
            g.error.get_or_insert_with(|| e.clone());
        }
    }
    out
}

/// Groups of LBC-owned Ingresses with their active members in the LBC's order. Groups the LBC
/// cannot load are included (members by name); [`load_ingress_groups`] says why.
pub fn ingress_groups(
    cfg: &ControllerConfig,
    ingresses: &BTreeMap<ObjKey, Ingress>,
    classes: &BTreeMap<String, IngressClass>,
    class_params: &BTreeMap<String, IngressClassParams>,
) -> BTreeMap<GroupId, Vec<ObjKey>> {
    load_ingress_groups(cfg, ingresses, classes, class_params)
        .into_iter()
        .filter(|(_, g)| !g.members.is_empty())
        .map(|(id, g)| (id, g.members))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::Meta;

    fn ing(ns: &str, name: &str, ann: &[(&str, &str)]) -> Ingress {
        Ingress {
            meta: Meta {
                namespace: ns.into(),
                name: name.into(),
                annotations: ann
                    .iter()
                    .map(|(k, v)| (format!("alb.ingress.kubernetes.io/{k}"), v.to_string()))
                    .chain([("kubernetes.io/ingress.class".into(), "alb".into())])
                    .collect(),
                ..Meta::default()
            },
            ..Ingress::default()
        }
    }

    fn world(list: Vec<Ingress>) -> BTreeMap<ObjKey, Ingress> {
        list.into_iter().map(|i| (i.meta.key(), i)).collect()
    }

    #[test]
    fn group_names_follow_the_lbc_regex() {
        assert!(validate_group_name("a").is_ok());
        assert!(validate_group_name("public-alb.v2").is_ok());
        assert!(validate_group_name("Public").is_err());
        assert!(validate_group_name("-a").is_err());
        assert!(validate_group_name("a-").is_err());
        assert!(validate_group_name("").is_err());
        assert_eq!(
            validate_group_name(&"a".repeat(64)).unwrap_err(),
            "groupName must be no more than 63 characters"
        );
    }

    #[test]
    fn params_group_wins_over_annotation() {
        let i = ing("ns", "a", &[("group.name", "from-ann")]);
        let p = IngressClassParams {
            group_name: Some("from-params".into()),
            ..IngressClassParams::default()
        };
        assert_eq!(
            group_id_of(&i, Some(&p)),
            Ok(GroupId::Explicit("from-params".into()))
        );
        assert_eq!(
            group_id_of(&i, None),
            Ok(GroupId::Explicit("from-ann".into()))
        );
    }

    #[test]
    fn members_sorted_by_order_then_name_and_bad_groups_left_out() {
        let ings = world(vec![
            ing("b", "x", &[("group.name", "g")]),
            ing("a", "y", &[("group.name", "g"), ("group.order", "10")]),
            ing("a", "z", &[("group.name", "g"), ("group.order", "-5")]),
            ing("c", "solo", &[]),
            ing("c", "bad", &[("group.name", "Bad_Name")]),
        ]);
        let cfg = ControllerConfig::default();
        let groups = ingress_groups(&cfg, &ings, &BTreeMap::new(), &BTreeMap::new());
        assert_eq!(
            groups[&GroupId::Explicit("g".into())],
            vec![
                ObjKey::new("a", "z"),
                ObjKey::new("b", "x"),
                ObjKey::new("a", "y")
            ]
        );
        assert_eq!(groups.len(), 2);
        assert!(groups.contains_key(&GroupId::Implicit {
            namespace: "c".into(),
            name: "solo".into()
        }));
    }

    #[test]
    fn out_of_range_order_fails_the_group() {
        let ings = world(vec![ing(
            "a",
            "y",
            &[("group.name", "g"), ("group.order", "1001")],
        )]);
        let loaded = load_ingress_groups(
            &ControllerConfig::default(),
            &ings,
            &BTreeMap::new(),
            &BTreeMap::new(),
        );
        assert_eq!(
            loaded[&GroupId::Explicit("g".into())].error.as_deref(),
            Some(
                "explicit Ingress group order must be within [-1000:1000], Ingress: a/y, order: 1001"
            )
        );
    }

    #[test]
    fn deleted_former_member_with_deletion_protection_blocks_the_group() {
        let mut gone = ing(
            "default",
            "hello-ingress",
            &[(
                "load-balancer-attributes",
                "deletion_protection.enabled=true",
            )],
        );
        gone.meta.finalizers = vec![IMPLICIT_FINALIZER.into()];
        gone.meta.deleting = true;
        let loaded = load_ingress_groups(
            &ControllerConfig::default(),
            &world(vec![gone.clone()]),
            &BTreeMap::new(),
            &BTreeMap::new(),
        );
        let g = &loaded[&GroupId::Implicit {
            namespace: "default".into(),
            name: "hello-ingress".into(),
        }];
        assert_eq!(g.inactive, vec![ObjKey::new("default", "hello-ingress")]);
        assert_eq!(
            check_inactive_members(&[&gone]).unwrap_err(),
            "deletion_protection is enabled, cannot delete the ingress: hello-ingress"
        );
        gone.meta.deleting = false;
        assert_eq!(check_inactive_members(&[&gone]), Ok(()));
    }

    #[test]
    fn invalid_class_with_finalizer_blocks_the_group() {
        let mut i = ing("a", "y", &[("group.name", "g")]);
        i.meta.annotations.remove("kubernetes.io/ingress.class");
        i.ingress_class_name = Some("gone".into());
        i.meta.finalizers = vec!["group.ingress.k8s.aws/g".into()];
        let loaded = load_ingress_groups(
            &ControllerConfig::default(),
            &world(vec![i]),
            &BTreeMap::new(),
            &BTreeMap::new(),
        );
        let g = &loaded[&GroupId::Explicit("g".into())];
        assert!(g.members.is_empty());
        assert!(g.error.as_deref().is_some_and(|e| e.starts_with(
            "Ingress: a/y: Ingress has invalid IngressClass configuration: invalid ingress class"
        )));
    }
}
