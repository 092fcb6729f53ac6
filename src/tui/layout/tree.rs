//! The graph as an indented tree for narrow terminals: each load balancer with its frontend
//! SGs and its backend hop as children, the targets under the backend hop. Same nodes, same
//! keys, same statuses; blocked hops get a line saying why.

use std::collections::BTreeSet;

use crate::tui::config::Glyphs;
use crate::tui::model::graph::{BACKEND, EdgeStatus, FRONTEND, GNode, GraphModel, LOAD_BALANCER};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeLine {
    /// Indentation and branch glyphs.
    pub prefix: String,
    /// The node on this line; `None` for explanation lines.
    pub key: Option<String>,
    /// `frontend`, `backend`, … before the title.
    pub role: &'static str,
    pub text: String,
    /// The status of the edge leading here, if any.
    pub edge: Option<EdgeStatus>,
}

fn line(prefix: String, n: &GNode, role: &'static str, edge: Option<EdgeStatus>) -> TreeLine {
    let text = if n.subtitle.is_empty() {
        n.title.clone()
    } else {
        format!("{}  {}", n.title, n.subtitle)
    };
    TreeLine {
        prefix,
        key: Some(n.key.clone()),
        role,
        text,
        edge,
    }
}

pub fn tree(model: &GraphModel, g: &Glyphs) -> Vec<TreeLine> {
    let mut out = Vec::new();
    let mut shown: BTreeSet<&str> = BTreeSet::new();
    for lb in model.nodes.iter().filter(|n| n.col == LOAD_BALANCER) {
        shown.insert(&lb.key);
        out.push(line(String::new(), lb, "", None));
        let fronts: Vec<&GNode> = model
            .edges
            .iter()
            .filter(|e| e.to == lb.key)
            .filter_map(|e| model.node(&e.from))
            .filter(|n| n.col == FRONTEND)
            .collect();
        let backs: Vec<&GNode> = model
            .edges
            .iter()
            .filter(|e| e.from == lb.key)
            .filter_map(|e| model.node(&e.to))
            .filter(|n| n.col == BACKEND)
            .collect();
        let total = fronts.len() + backs.len();
        for (i, n) in fronts.iter().chain(backs.iter()).enumerate() {
            shown.insert(&n.key);
            let last = i + 1 == total;
            let branch = if last { g.tree_last } else { g.tree_branch };
            let role = if n.col == FRONTEND {
                "frontend"
            } else {
                "backend"
            };
            out.push(line(branch.to_string(), n, role, None));
            if n.col != BACKEND {
                continue;
            }
            let pad = if last { "   " } else { g.tree_pipe };
            let kids: Vec<_> = model.edges.iter().filter(|e| e.from == n.key).collect();
            for (j, e) in kids.iter().enumerate() {
                let Some(t) = model.node(&e.to) else { continue };
                shown.insert(&t.key);
                let klast = j + 1 == kids.len();
                let kb = if klast { g.tree_last } else { g.tree_branch };
                out.push(line(format!("{pad}{kb}"), t, "", Some(e.status)));
                if e.status == EdgeStatus::Blocked && !e.label.is_empty() {
                    let kp = if klast { "   " } else { g.tree_pipe };
                    out.push(TreeLine {
                        prefix: format!("{pad}{kp}   "),
                        key: None,
                        role: "",
                        text: e.label.clone(),
                        edge: Some(EdgeStatus::Blocked),
                    });
                }
            }
        }
    }
    // Anything not hanging off a load balancer (e.g. an SG requested for an LB that was never built).
    for n in model
        .nodes
        .iter()
        .filter(|n| !shown.contains(n.key.as_str()))
    {
        out.push(line(g.tree_last.to_string(), n, "", None));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::plan::ResourceRef;
    use crate::tui::model::graph::*;
    use crate::world::ObjKey;

    fn node(key: &str, col: usize) -> GNode {
        GNode {
            key: key.into(),
            col,
            title: key.into(),
            subtitle: "sub".into(),
            status: NodeStatus::Ok,
            link: NodeLink::None,
            detail: vec![],
        }
    }

    #[test]
    fn lb_with_frontends_backend_and_targets() {
        let e = |f: &str, t: &str, s, l: &str| GEdge {
            from: f.into(),
            to: t.into(),
            status: s,
            label: l.into(),
        };
        let m = GraphModel {
            root: ResourceRef::Service(ObjKey::new("a", "b")),
            nodes: vec![
                node("fe", 0),
                node("lb", 1),
                node("be", 2),
                node("t1", 3),
                node("t2", 3),
            ],
            edges: vec![
                e("fe", "lb", EdgeStatus::Attached, ""),
                e("lb", "be", EdgeStatus::Attached, ""),
                e("be", "t1", EdgeStatus::Allowed, "ok"),
                e("be", "t2", EdgeStatus::Blocked, "no rule admits it"),
            ],
            notes: vec![],
            exposure: Exposure {
                level: ExposureLevel::Internet,
                text: String::new(),
            },
            reach: ReachCount::default(),
            lbs: vec![],
        };
        let lines: Vec<String> = tree(&m, &Glyphs::UNICODE)
            .iter()
            .map(|l| {
                format!("{}{} {}", l.prefix, l.role, l.text)
                    .trim_end()
                    .to_string()
            })
            .collect();
        assert_eq!(
            lines,
            vec![
                " lb  sub",
                "├─ frontend fe  sub",
                "└─ backend be  sub",
                "   ├─  t1  sub",
                "   └─  t2  sub",
                "          no rule admits it",
            ]
        );
    }
}
