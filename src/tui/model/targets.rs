//! The targets column of a chain: one node per target ENI across the LB's target groups, with
//! the core's verdict (`core::reach`) on its edge, and the column folded when it is long.

use std::collections::BTreeMap;

use super::graph::{
    EdgeStatus, GEdge, GNode, GraphModel, MAX_TARGETS, NodeLink, NodeStatus, TARGETS, edge,
};
use super::index::Index;
use crate::core::reach::{Check, LbReach, Verdict};

/// One target node (an ENI, or a target whose ENI is unknown) across the LB's target groups.
struct TargetAcc {
    eni: Option<String>,
    owner: Option<String>,
    ports: Vec<String>,
    health: Vec<String>,
    sgs: Vec<String>,
    verdict: Verdict,
    /// (verdict, explanation) of each check, deduplicated.
    checks: Vec<(Verdict, String)>,
}

fn worse(a: Verdict, b: Verdict) -> Verdict {
    let rank = |v| match v {
        Verdict::Admitted => 0,
        Verdict::Unknown => 1,
        Verdict::Partial => 2,
        Verdict::Blocked => 3,
    };
    if rank(b) > rank(a) { b } else { a }
}

fn check_text(c: &Check) -> String {
    if c.verdict == Verdict::Admitted
        && let Some(r) = c.rules.first()
    {
        return r.to_string();
    }
    c.explanation.clone()
}

pub(super) fn add_targets(idx: &Index<'_>, lb: &LbReach, from: &str, g: &mut GraphModel) {
    let mut acc: BTreeMap<String, TargetAcc> = BTreeMap::new();
    let mut unknown_tgs = Vec::new();
    for tg in lb.target_groups.values() {
        if tg.sets.is_empty() {
            unknown_tgs.push((tg.name.clone(), tg.summary.clone()));
        }
        for set in &tg.sets {
            let mut checks = vec![(set.traffic_check.verdict, check_text(&set.traffic_check))];
            if let Some(hc) = &set.health_check_check {
                checks.push((hc.verdict, format!("health check: {}", check_text(hc))));
            }
            for t in &set.targets {
                let key = match &t.eni {
                    Some(e) => format!("eni:{e}"),
                    None => format!("tgt:{}", t.id),
                };
                let a = acc.entry(key).or_insert_with(|| TargetAcc {
                    eni: t.eni.clone(),
                    owner: idx.target_owner(&t.id, t.eni.as_deref()),
                    ports: Vec::new(),
                    health: Vec::new(),
                    sgs: set.sgs.clone(),
                    verdict: Verdict::Admitted,
                    checks: Vec::new(),
                });
                a.verdict = worse(a.verdict, set.verdict);
                for tr in &set.traffic {
                    let p = tr.to_string().replace(' ', "/");
                    if !a.ports.contains(&p) {
                        a.ports.push(p);
                    }
                }
                if let Some(h) = &t.health
                    && !a.health.contains(h)
                {
                    a.health.push(h.clone());
                }
                for c in &checks {
                    if !a.checks.contains(c) {
                        a.checks.push(c.clone());
                    }
                }
            }
        }
    }
    for (key, a) in acc {
        let healthy = a.health.iter().all(|h| h == "healthy");
        let (edge_status, node_status) = match a.verdict {
            Verdict::Blocked | Verdict::Partial => {
                g.reach.blocked += 1;
                (EdgeStatus::Blocked, NodeStatus::Error)
            }
            Verdict::Unknown => {
                g.reach.unknown += 1;
                (EdgeStatus::Unknown, NodeStatus::Unknown)
            }
            Verdict::Admitted => {
                g.reach.reachable += 1;
                let s = if healthy {
                    NodeStatus::Ok
                } else {
                    NodeStatus::Warn
                };
                (EdgeStatus::Allowed, s)
            }
        };
        let label = a
            .checks
            .iter()
            .find(|(v, _)| *v != Verdict::Admitted)
            .or(a.checks.first())
            .map(|(_, t)| t.clone())
            .unwrap_or_default();
        let title = a
            .eni
            .clone()
            .unwrap_or_else(|| key.trim_start_matches("tgt:").to_string());
        let owner = a.owner.clone().unwrap_or_default();
        let mut detail = vec![format!("{title} {owner}").trim_end().to_string()];
        detail.push(format!(
            "ports {} · {}",
            a.ports.join(" "),
            a.health.join(", ")
        ));
        for (v, text) in &a.checks {
            let mark = match v {
                Verdict::Admitted => "allowed",
                Verdict::Blocked => "BLOCKED",
                Verdict::Partial => "BLOCKED (partly)",
                Verdict::Unknown => "unknown",
            };
            detail.push(format!("{mark}: {text}"));
        }
        if !a.sgs.is_empty() {
            detail.push(format!("SGs {}", a.sgs.join(", ")));
        }
        g.nodes.push(GNode {
            key: key.clone(),
            col: TARGETS,
            title,
            subtitle: format!("{owner} {} {}", a.ports.join(","), a.health.join(","))
                .trim()
                .to_string(),
            status: node_status,
            link: NodeLink::None,
            detail,
        });
        g.edges.push(GEdge {
            from: from.to_string(),
            to: key,
            status: edge_status,
            label,
        });
    }
    for (tg, summary) in unknown_tgs {
        let key = format!("ph:tg:{tg}");
        g.nodes.push(GNode {
            key: key.clone(),
            col: TARGETS,
            title: tg.clone(),
            subtitle: "targets unknown".into(),
            status: NodeStatus::Unknown,
            link: NodeLink::None,
            detail: vec![format!("{tg}: {summary}")],
        });
        g.edges
            .push(edge(from, &key, EdgeStatus::Unknown, "targets unknown"));
        g.reach.unknown += 1;
    }
}

/// Keep the target column readable: blocked targets first, then fold the rest past the cap.
pub(super) fn fold_targets(g: &mut GraphModel) {
    let targets: Vec<usize> = g
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.col == TARGETS)
        .map(|(i, _)| i)
        .collect();
    if targets.len() <= MAX_TARGETS {
        return;
    }
    let mut keep: Vec<&GNode> = targets.iter().map(|i| &g.nodes[*i]).collect();
    keep.sort_by_key(|n| {
        (
            std::cmp::Reverse(n.status == NodeStatus::Error),
            n.key.clone(),
        )
    });
    let folded: Vec<String> = keep[MAX_TARGETS - 1..]
        .iter()
        .map(|n| n.key.clone())
        .collect();
    let blocked = keep[MAX_TARGETS - 1..]
        .iter()
        .filter(|n| n.status == NodeStatus::Error)
        .count();
    let key = "ph:more".to_string();
    let more = GNode {
        key: key.clone(),
        col: TARGETS,
        title: format!("+{} more targets", folded.len()),
        subtitle: if blocked > 0 {
            format!("{blocked} blocked")
        } else {
            "all reachable".into()
        },
        status: if blocked > 0 {
            NodeStatus::Error
        } else {
            NodeStatus::Neutral
        },
        link: NodeLink::None,
        detail: folded.iter().take(20).cloned().collect(),
    };
    g.nodes.retain(|n| !folded.contains(&n.key));
    let mut merged: BTreeMap<String, EdgeStatus> = BTreeMap::new();
    for e in g.edges.iter().filter(|e| folded.contains(&e.to)) {
        let s = merged.entry(e.from.clone()).or_insert(e.status);
        *s = (*s).max(e.status);
    }
    g.edges.retain(|e| !folded.contains(&e.to));
    for (from, status) in merged {
        g.edges.push(edge(&from, &key, status, "folded targets"));
    }
    g.nodes.push(more);
}
