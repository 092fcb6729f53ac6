//! Edits for tests and benchmarks, chosen by numbers (so property tests can draw them): every
//! kind of annotation edit the planner treats differently, rule edits, and controller flags.

use std::collections::BTreeMap;

use crate::core::plan::edit::parse_rule;
use crate::core::plan::{Edit, ResourceRef};
use crate::world::World;

const SVC: &str = "service.beta.kubernetes.io/";
const ING: &str = "alb.ingress.kubernetes.io/";

/// Annotation changes on Services: (suffix, value); an empty value means "unset it".
const SERVICE_EDITS: &[(&str, &str)] = &[
    ("load-balancer-source-ranges", "10.0.0.0/8"),
    ("load-balancer-source-ranges", "0.0.0.0/0,203.0.113.0/24"),
    (
        "aws-load-balancer-manage-backend-security-group-rules",
        "true",
    ),
    (
        "aws-load-balancer-manage-backend-security-group-rules",
        "false",
    ),
    ("aws-load-balancer-scheme", "internal"),
    ("aws-load-balancer-scheme", "internet-facing"),
    ("aws-load-balancer-ip-address-type", "dualstack"),
    ("aws-load-balancer-enable-icmp-for-path-mtu-discovery", "on"),
    ("aws-load-balancer-nlb-target-type", "ip"),
    ("aws-load-balancer-nlb-target-type", "instance"),
    ("aws-load-balancer-disable-nlb-sg", "true"),
    ("aws-load-balancer-healthcheck-port", "8081"),
    (
        "aws-load-balancer-security-group-prefix-lists",
        "pl-0123456789abcdef0",
    ),
    (
        "aws-load-balancer-additional-resource-tags",
        "team=edge,cost=1",
    ),
    ("aws-load-balancer-type", "external"),
    ("aws-load-balancer-type", "nlb-ip"),
    ("aws-load-balancer-security-groups", "@sg"),
    ("aws-load-balancer-security-groups", "@name"),
    ("aws-load-balancer-security-groups", "no-such-group"),
    ("aws-load-balancer-security-groups", ""),
    ("aws-load-balancer-manage-backend-security-group-rules", ""),
    ("load-balancer-source-ranges", ""),
];

/// Annotation changes on Ingresses.
const INGRESS_EDITS: &[(&str, &str)] = &[
    ("inbound-cidrs", "10.0.0.0/8"),
    ("inbound-cidrs", "0.0.0.0/0,::/0"),
    ("scheme", "internal"),
    ("scheme", "internet-facing"),
    ("target-type", "ip"),
    ("target-type", "instance"),
    ("listen-ports", r#"[{"HTTP": 8080}]"#),
    ("listen-ports", r#"[{"HTTP": 80}, {"HTTPS": 443}]"#),
    ("group.name", "moved-group"),
    ("group.name", "shared-alb-1"),
    ("group.order", "5"),
    ("security-groups", "@sg"),
    ("manage-backend-security-group-rules", "true"),
    ("ip-address-type", "dualstack"),
    ("tags", "team=web"),
    ("group.name", ""),
    ("inbound-cidrs", ""),
    ("security-groups", ""),
];

const RULES: &[&str] = &[
    "tcp:8443:10.0.0.0/8:edit",
    "tcp:30000-32767:0.0.0.0/0",
    "udp:53:10.1.0.0/16",
    "all:all:10.0.0.0/8",
    "tcp:443:::/0",
    "icmp:3,4:0.0.0.0/0",
];

const FLAGS: &[(&str, &str)] = &[
    ("enable-backend-security-group", "false"),
    ("enable-manage-backend-security-group-rules", "true"),
    ("disable-restricted-sg-rules", "true"),
    ("default-target-type", "ip"),
    ("feature-gates", "NLBSecurityGroup=false"),
];

/// How many choices each kind has; [`edit_for`] takes any numbers and wraps them.
pub const KINDS: usize = 5;

/// The edit `(kind, object, variant)` stands for in `world`; `None` when the world has no
/// object of that kind. Kinds: 0 Service annotation, 1 Ingress annotation, 2 add a rule,
/// 3 remove a user rule, 4 controller flag. `@sg`/`@name` values become an existing SG's id or
/// `Name` tag.
pub fn edit_for(world: &World, kind: usize, object: usize, variant: usize) -> Option<Edit> {
    let sgs: Vec<_> = world
        .aws
        .security_groups
        .iter()
        .flat_map(|m| m.values())
        .collect();
    let resolve = |v: &str| -> Option<String> {
        match v {
            "@sg" => Some(sgs.get(object % sgs.len().max(1))?.id.clone()),
            "@name" => sgs
                .iter()
                .cycle()
                .skip(object % sgs.len().max(1))
                .take(sgs.len())
                .find_map(|g| g.name_tag().map(String::from)),
            other => Some(other.to_string()),
        }
    };
    match kind % KINDS {
        0 => {
            let svcs = world.kube.services.as_ref()?;
            let svc = svcs.values().nth(object % svcs.len().max(1))?;
            let (suffix, value) = SERVICE_EDITS[variant % SERVICE_EDITS.len()];
            annotation(
                ResourceRef::Service(svc.meta.key()),
                &svc.meta.annotations,
                &format!("{SVC}{suffix}"),
                &resolve(value)?,
            )
        }
        1 => {
            let ings = world.kube.ingresses.as_ref()?;
            let ing = ings.values().nth(object % ings.len().max(1))?;
            let (suffix, value) = INGRESS_EDITS[variant % INGRESS_EDITS.len()];
            annotation(
                ResourceRef::Ingress(ing.meta.key()),
                &ing.meta.annotations,
                &format!("{ING}{suffix}"),
                &resolve(value)?,
            )
        }
        2 => {
            let sg = sgs.get(object % sgs.len().max(1))?;
            Some(Edit::Rules {
                sg: sg.id.clone(),
                add: vec![parse_rule(RULES[variant % RULES.len()]).ok()?],
                remove: Vec::new(),
            })
        }
        3 => {
            let sg = sgs.get(object % sgs.len().max(1))?;
            let rule = sg.ingress.get(variant % sg.ingress.len().max(1))?;
            Some(Edit::Rules {
                sg: sg.id.clone(),
                add: Vec::new(),
                remove: vec![rule.rule.clone()],
            })
        }
        _ => {
            let (name, value) = FLAGS[variant % FLAGS.len()];
            Some(Edit::ControllerFlag {
                name: name.into(),
                value: value.into(),
            })
        }
    }
}

/// Set `key` to `value`, or unset it when `value` is empty (skipped if it is not set).
fn annotation(
    resource: ResourceRef,
    current: &BTreeMap<String, String>,
    key: &str,
    value: &str,
) -> Option<Edit> {
    if value.is_empty() {
        current.contains_key(key).then(|| Edit::Annotations {
            resource,
            set: BTreeMap::new(),
            unset: vec![key.to_string()],
        })
    } else {
        Some(Edit::Annotations {
            resource,
            set: BTreeMap::from([(key.to_string(), value.to_string())]),
            unset: Vec::new(),
        })
    }
}

/// Every edit of the catalogue on every object, for exhaustive comparisons on small worlds.
pub fn all_edits(world: &World) -> Vec<Edit> {
    let n_svc = world.kube.services.as_ref().map_or(0, |m| m.len());
    let n_ing = world.kube.ingresses.as_ref().map_or(0, |m| m.len());
    let n_sg = world.aws.security_groups.as_ref().map_or(0, |m| m.len());
    let mut out = Vec::new();
    for o in 0..n_svc {
        for v in 0..SERVICE_EDITS.len() {
            out.extend(edit_for(world, 0, o, v));
        }
    }
    for o in 0..n_ing {
        for v in 0..INGRESS_EDITS.len() {
            out.extend(edit_for(world, 1, o, v));
        }
    }
    for o in 0..n_sg {
        for v in 0..RULES.len() {
            out.extend(edit_for(world, 2, o, v));
            out.extend(edit_for(world, 3, o, v));
        }
    }
    for v in 0..FLAGS.len() {
        out.extend(edit_for(world, 4, 0, v));
    }
    out.dedup();
    out
}
