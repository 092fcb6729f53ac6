//! Graphviz DOT: left to right, one cluster per column, boxes coloured by status, dashed red
//! edges for missing rules, dotted non-constraining edges for ownership.

use std::collections::BTreeMap;

use super::{colours, title};
use crate::core::graph::{COLUMNS, EdgeKind, Status, Topology};

/// A DOT double-quoted string.
fn q(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub fn render(t: &Topology) -> String {
    let mut out = String::new();
    out.push_str("digraph lbsg {\n");
    out.push_str("  rankdir=LR;\n  newrank=true;\n  nodesep=0.25;\n  ranksep=0.9;\n");
    out.push_str(
        "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=10];\n",
    );
    out.push_str("  edge [fontname=\"Helvetica\", fontsize=9, color=\"#607d8b\"];\n");
    let mut columns: BTreeMap<u8, Vec<String>> = BTreeMap::new();
    for n in t.nodes() {
        let (fill, stroke) = colours(n.status);
        let label = title(&n.label, &n.key).join("\n");
        columns.entry(n.column()).or_default().push(format!(
            "{} [label={}, fillcolor={}, color={}, tooltip={}];",
            q(&n.key),
            q(&label),
            q(fill),
            q(stroke),
            q(&n.key)
        ));
    }
    for (col, lines) in &columns {
        let name = COLUMNS.get(usize::from(*col)).copied().unwrap_or("other");
        out.push_str(&format!("  subgraph cluster_{col} {{\n"));
        out.push_str(&format!(
            "    label={};\n    style=dashed;\n    color=\"#b0bec5\";\n    rank=same;\n",
            q(name)
        ));
        for l in lines {
            out.push_str("    ");
            out.push_str(l);
            out.push('\n');
        }
        out.push_str("  }\n");
    }
    for (a, b, e) in t.edges() {
        let mut attrs = vec![format!("tooltip={}", q(e.kind.name()))];
        let label = e.kind.label();
        if !label.is_empty() {
            attrs.push(format!("label={}", q(&label)));
        }
        match &e.kind {
            EdgeKind::MissingRule { .. } => {
                attrs.push("style=dashed".into());
                attrs.push("color=\"#c62828\"".into());
                attrs.push("fontcolor=\"#c62828\"".into());
                attrs.push("constraint=false".into());
            }
            EdgeKind::OwnedBy => {
                attrs.push("style=dotted".into());
                attrs.push("arrowhead=empty".into());
            }
            _ => {
                if e.status == Status::Blocked {
                    attrs.push("color=\"#c62828\"".into());
                }
            }
        }
        // Edges pointing back to an earlier column (LB → its Service) must not pull ranks.
        if b.column() < a.column() && !attrs.iter().any(|x| x == "constraint=false") {
            attrs.push("constraint=false".into());
        }
        out.push_str(&format!(
            "  {} -> {} [{}];\n",
            q(&a.key),
            q(&b.key),
            attrs.join(", ")
        ));
    }
    out.push_str("}\n");
    out
}
