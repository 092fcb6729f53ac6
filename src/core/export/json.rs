//! The graph as JSON: `{"schema": "lbsg.graph/v1", "nodes": […], "edges": […]}`, in key order.

use serde::Serialize;

use crate::core::graph::{EdgeKind, Node, Status, Topology};

#[derive(Serialize)]
struct NodeOut<'a> {
    #[serde(flatten)]
    node: &'a Node,
    column: u8,
}

#[derive(Serialize)]
struct EdgeOut<'a> {
    from: &'a str,
    to: &'a str,
    #[serde(flatten)]
    kind: &'a EdgeKind,
    label: String,
    status: Status,
}

#[derive(Serialize)]
struct GraphOut<'a> {
    schema: &'static str,
    nodes: Vec<NodeOut<'a>>,
    edges: Vec<EdgeOut<'a>>,
}

pub fn value(t: &Topology) -> serde_json::Value {
    let g = GraphOut {
        schema: "lbsg.graph/v1",
        nodes: t
            .nodes()
            .map(|n| NodeOut {
                node: n,
                column: n.column(),
            })
            .collect(),
        edges: t
            .edges()
            .map(|(a, b, e)| EdgeOut {
                from: &a.key,
                to: &b.key,
                kind: &e.kind,
                label: e.kind.label(),
                status: e.status,
            })
            .collect(),
    };
    serde_json::to_value(g).unwrap_or(serde_json::Value::Null)
}

/// Pretty JSON with a trailing newline.
pub fn render(t: &Topology) -> String {
    let mut s = serde_json::to_string_pretty(&value(t)).unwrap_or_default();
    s.push('\n');
    s
}
