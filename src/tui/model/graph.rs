//! The chain of one Service or Ingress as four columns: frontend SGs → load balancer →
//! backend SG → targets. Plain data keyed by stable ids (`sg:…`, `lb:<arn>`, `eni:…`), built
//! once per world from the core's reachability (`core::reach`); layout and painting happen
//! elsewhere.

use std::collections::BTreeMap;

use super::index::{Index, is_backend_sg};
use crate::core::plan::ResourceRef;
use crate::core::reach::{Exposure as Reach, LbReach};
use crate::world::{SecurityGroup, Source};

pub const FRONTEND: usize = 0;
pub const LOAD_BALANCER: usize = 1;
pub const BACKEND: usize = 2;
pub const TARGETS: usize = 3;
pub const COLUMN_TITLES: [&str; 4] = ["frontend SGs", "load balancer", "backend SG", "targets"];
/// Targets beyond this many are folded into one "+N more" node.
pub const MAX_TARGETS: usize = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NodeStatus {
    Ok,
    /// Plain information (an SG with nothing wrong to say, a neutral placeholder).
    Neutral,
    Warn,
    Error,
    /// Referenced but absent from the world (red placeholder).
    Missing,
    /// Open to the internet.
    Exposed,
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EdgeStatus {
    /// An SG attached to the LB (no rule decides it).
    Attached,
    Allowed,
    Blocked,
    Unknown,
}

/// What Enter on a node opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeLink {
    Sg(String),
    Lb(String),
    None,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GNode {
    pub key: String,
    pub col: usize,
    pub title: String,
    pub subtitle: String,
    pub status: NodeStatus,
    pub link: NodeLink,
    /// Lines for the details pane.
    pub detail: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GEdge {
    pub from: String,
    pub to: String,
    pub status: EdgeStatus,
    pub label: String,
}

/// How exposed a resource is, for the table and the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExposureLevel {
    Internet,
    Restricted,
    Internal,
    NoLb,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exposure {
    pub level: ExposureLevel,
    pub text: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReachCount {
    pub reachable: usize,
    pub blocked: usize,
    pub unknown: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphModel {
    pub root: ResourceRef,
    /// Nodes by column, in display order within a column.
    pub nodes: Vec<GNode>,
    pub edges: Vec<GEdge>,
    pub notes: Vec<String>,
    pub exposure: Exposure,
    pub reach: ReachCount,
    pub lbs: Vec<String>,
}

impl GraphModel {
    pub fn node(&self, key: &str) -> Option<&GNode> {
        self.nodes.iter().find(|n| n.key == key)
    }

    pub fn column(&self, col: usize) -> impl Iterator<Item = &GNode> {
        self.nodes.iter().filter(move |n| n.col == col)
    }
}

fn is_open(s: &Source) -> bool {
    matches!(s, Source::Cidr(c) if c == "0.0.0.0/0")
        || matches!(s, Source::CidrV6(c) if c == "::/0")
}

/// `0.0.0.0/0 → tcp/443, ::/0 → tcp/443` style summary of an SG's inbound rules.
fn sources_text(sg: &SecurityGroup, max: usize) -> String {
    let mut by_source: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in &sg.ingress {
        let p = r.rule.ports_text().replace(' ', "/");
        let e = by_source.entry(r.rule.source.to_string()).or_default();
        if !e.contains(&p) {
            e.push(p);
        }
    }
    if by_source.is_empty() {
        return "no inbound rules".into();
    }
    let mut parts: Vec<String> = by_source
        .iter()
        .take(max)
        .map(|(s, ports)| format!("{s} → {}", ports.join(",")))
        .collect();
    if by_source.len() > max {
        parts.push(format!("+{} more", by_source.len() - max));
    }
    parts.join("; ")
}

/// Build the chain of `r` from the core's exposure of the world. Always returns a model: what
/// is missing becomes a placeholder.
pub fn build(idx: &Index<'_>, reach: &Reach, r: &ResourceRef) -> GraphModel {
    let mut g = GraphModel {
        root: r.clone(),
        nodes: Vec::new(),
        edges: Vec::new(),
        notes: Vec::new(),
        exposure: Exposure {
            level: ExposureLevel::NoLb,
            text: "no LB".into(),
        },
        reach: ReachCount::default(),
        lbs: Vec::new(),
    };
    for ev in idx
        .world
        .kube
        .events
        .iter()
        .flatten()
        .filter(|e| e.involved == *r.key() && e.type_ == "Warning")
    {
        g.notes.push(format!(
            "{} {}: {}",
            e_kind(&ev.involved_kind),
            ev.reason,
            ev.message
        ));
    }
    let lbs: Vec<&LbReach> = reach
        .resources
        .get(&r.to_string())
        .map(|rr| {
            rr.load_balancers
                .iter()
                .filter_map(|o| reach.load_balancers.get(&o.load_balancer))
                .collect()
        })
        .unwrap_or_default();
    if lbs.is_empty() {
        no_lb(idx, r, &mut g);
        return g;
    }
    let mut exposures = Vec::new();
    for lb in lbs {
        exposures.push(add_lb(idx, lb, &mut g));
    }
    exposures.sort_by_key(|e| e.level);
    if let Some(first) = exposures.into_iter().next() {
        g.exposure = first;
    }
    super::targets::fold_targets(&mut g);
    g
}

fn e_kind(k: &str) -> &str {
    if k.is_empty() { "event" } else { k }
}

fn no_lb(idx: &Index<'_>, r: &ResourceRef, g: &mut GraphModel) {
    let key = "ph:nolb".to_string();
    let reason = g
        .notes
        .last()
        .cloned()
        .unwrap_or_else(|| "the controller has not created one (yet)".into());
    // Custom SGs the annotation names but the world lacks are the usual reason.
    let ann_key = match r {
        ResourceRef::Service(_) => "service.beta.kubernetes.io/aws-load-balancer-security-groups",
        ResourceRef::Ingress(_) => "alb.ingress.kubernetes.io/security-groups",
    };
    let annotations = idx.annotations(r);
    if let Some(list) = annotations.and_then(|a| a.get(ann_key)) {
        for item in crate::core::lbc::annotations::split_list(list) {
            let found = idx
                .sgs()
                .find(|sg| sg.id == item || sg.name_tag() == Some(item.as_str()));
            let (nkey, status, subtitle, link) = match found {
                Some(sg) => (
                    format!("sg:{}", sg.id),
                    NodeStatus::Neutral,
                    sources_text(sg, 2),
                    NodeLink::Sg(sg.id.clone()),
                ),
                None => {
                    let by_group_name = idx.sgs().find(|sg| sg.name == item);
                    let sub = match by_group_name {
                        Some(sg) => {
                            format!("not found by Name tag; {} has GroupName {item}", sg.id)
                        }
                        None => "not found".into(),
                    };
                    (
                        format!("missing:{item}"),
                        NodeStatus::Missing,
                        sub,
                        NodeLink::None,
                    )
                }
            };
            g.nodes.push(GNode {
                key: nkey.clone(),
                col: FRONTEND,
                title: item.clone(),
                subtitle: subtitle.clone(),
                status,
                link,
                detail: vec![
                    format!("{item}: {subtitle}"),
                    format!("requested by {ann_key}"),
                ],
            });
            g.edges.push(GEdge {
                from: nkey,
                to: key.clone(),
                status: EdgeStatus::Blocked,
                label: "no load balancer to attach to".into(),
            });
        }
    }
    g.nodes.push(GNode {
        key,
        col: LOAD_BALANCER,
        title: "no load balancer".into(),
        subtitle: reason.clone(),
        status: NodeStatus::Error,
        link: NodeLink::None,
        detail: vec![format!("{r} has no load balancer."), reason],
    });
}

fn listener_text(lb: &LbReach) -> String {
    lb.listeners
        .iter()
        .map(|l| format!("{}/{}", l.protocol.to_ascii_lowercase(), l.port))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Add one LB, its SGs and targets. Returns the LB's exposure.
fn add_lb(idx: &Index<'_>, lb: &LbReach, g: &mut GraphModel) -> Exposure {
    let lb_key = format!("lb:{}", lb.arn);
    g.lbs.push(lb.arn.clone());
    let listeners = listener_text(lb);
    let internet = lb.listeners.iter().any(|l| l.internet_v4 || l.internet_v6);
    let kind = match lb.type_.as_str() {
        "network" => "NLB",
        "application" => "ALB",
        "gateway" => "GWLB",
        _ => "LB",
    };

    let mut backend: Option<String> = None;
    if lb.sg_less {
        let key = format!("ph:nosg:{}", lb.arn);
        g.nodes.push(GNode {
            key: key.clone(),
            col: FRONTEND,
            title: "no security groups".into(),
            subtitle: "created without SGs; targets filter clients".into(),
            status: NodeStatus::Warn,
            link: NodeLink::None,
            detail: vec![
                "This NLB was created without security groups and cannot gain them in place."
                    .into(),
                "Client filtering happens on the target SGs (recreate the LB to migrate).".into(),
            ],
        });
        g.edges
            .push(edge(&key, &lb_key, EdgeStatus::Attached, "no SG"));
    }
    let mut open_internal = false;
    for sg_id in &lb.security_groups {
        let key = format!("sg:{sg_id}");
        match idx.sg(sg_id) {
            None => {
                g.nodes.push(GNode {
                    key: key.clone(),
                    col: FRONTEND,
                    title: sg_id.clone(),
                    subtitle: "not found in the world".into(),
                    status: NodeStatus::Missing,
                    link: NodeLink::None,
                    detail: vec![format!(
                        "{sg_id} is attached to {} but does not exist (or was not loaded).",
                        lb.name
                    )],
                });
                g.edges
                    .push(edge(&key, &lb_key, EdgeStatus::Unknown, "attached"));
            }
            Some(sg) if is_backend_sg(idx.world, sg) => {
                backend = Some(sg_id.clone());
                g.nodes.push(GNode {
                    key: key.clone(),
                    col: BACKEND,
                    title: sg_id.clone(),
                    subtitle: sg.name_tag().unwrap_or(&sg.name).to_string(),
                    status: NodeStatus::Neutral,
                    link: NodeLink::Sg(sg_id.clone()),
                    detail: vec![
                        format!("{sg_id} ({}) is the cluster's shared backend SG.", sg.name),
                        "It has no inbound rules by design; target SGs admit it.".into(),
                    ],
                });
                g.edges
                    .push(edge(&lb_key, &key, EdgeStatus::Attached, "backend SG"));
            }
            Some(sg) => {
                let sg_open = sg.ingress.iter().any(|r| is_open(&r.rule.source));
                open_internal |= sg_open && lb.internal;
                let status = match (sg_open, internet, lb.internal) {
                    (true, true, _) => NodeStatus::Exposed,
                    (true, _, true) => NodeStatus::Warn,
                    _ => NodeStatus::Ok,
                };
                let mut detail = vec![format!("{sg_id} ({}): frontend of {}", sg.name, lb.name)];
                detail.extend(
                    sg.ingress
                        .iter()
                        .take(6)
                        .map(|r| format!("  in: {}", r.rule)),
                );
                if sg.ingress.len() > 6 {
                    detail.push(format!("  … {} more rules", sg.ingress.len() - 6));
                }
                g.nodes.push(GNode {
                    key: key.clone(),
                    col: FRONTEND,
                    title: sg_id.clone(),
                    subtitle: sources_text(sg, 2),
                    status,
                    link: NodeLink::Sg(sg_id.clone()),
                    detail,
                });
                g.edges
                    .push(edge(&key, &lb_key, EdgeStatus::Attached, "attached"));
            }
        }
    }
    let mut detail = vec![format!(
        "{} ({kind}, {}, {})",
        lb.name, lb.scheme, lb.ip_address_type
    )];
    detail.extend(lb.listeners.iter().map(|l| l.summary.clone()));
    detail.extend(lb.notes.iter().cloned());
    g.nodes.push(GNode {
        key: lb_key.clone(),
        col: LOAD_BALANCER,
        title: lb.name.clone(),
        subtitle: format!("{kind} {} {listeners}", lb.scheme)
            .trim_end()
            .to_string(),
        status: if internet {
            NodeStatus::Exposed
        } else {
            NodeStatus::Ok
        },
        link: NodeLink::Lb(lb.arn.clone()),
        detail,
    });

    // The hop into the targets starts at the backend SG, or at a placeholder saying there is none.
    let from = match &backend {
        Some(b) => format!("sg:{b}"),
        None => {
            let key = format!("ph:nobe:{}", lb.arn);
            let subtitle = if lb.sg_less {
                "targets see the clients' addresses"
            } else {
                "targets must admit the frontend SGs"
            };
            g.nodes.push(GNode {
                key: key.clone(),
                col: BACKEND,
                title: "no backend SG".into(),
                subtitle: subtitle.into(),
                status: NodeStatus::Neutral,
                link: NodeLink::None,
                detail: vec![format!(
                    "{} carries no shared backend SG; {subtitle}.",
                    lb.name
                )],
            });
            g.edges
                .push(edge(&lb_key, &key, EdgeStatus::Attached, "no backend SG"));
            key
        }
    };
    super::targets::add_targets(idx, lb, &from, g);

    let ports = lb
        .listeners
        .iter()
        .map(|l| format!("{}/{}", l.protocol.to_ascii_lowercase(), l.port))
        .collect::<Vec<_>>()
        .join(",");
    let (level, text) = if internet {
        (ExposureLevel::Internet, format!("internet {ports}"))
    } else if lb.internal {
        let open = if open_internal { ", 0.0.0.0/0" } else { "" };
        (ExposureLevel::Internal, format!("internal{open} {ports}"))
    } else if lb.sg_less {
        (ExposureLevel::Restricted, format!("no LB SG {ports}"))
    } else {
        let who = lb
            .listeners
            .first()
            .map(|l| l.sources.describe())
            .unwrap_or_else(|| "nobody".into());
        let mut parts = who.split(", ");
        let first = parts.next().unwrap_or("nobody").to_string();
        let more = parts.count();
        let more = if more > 0 {
            format!("+{more}")
        } else {
            String::new()
        };
        (ExposureLevel::Restricted, format!("{first}{more} {ports}"))
    };
    Exposure {
        level,
        text: text.trim_end().to_string(),
    }
}

pub(super) fn edge(from: &str, to: &str, status: EdgeStatus, label: &str) -> GEdge {
    GEdge {
        from: from.into(),
        to: to.into(),
        status,
        label: label.into(),
    }
}
