//! Mermaid `flowchart LR`: one subgraph per column, ids sanitised to `[A-Za-z0-9_]`, labels
//! quoted, classes per status, dotted arrows for missing rules and ownership.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::{colours, title};
use crate::core::graph::{COLUMNS, EdgeKind, Status, Topology};

/// Mermaid-safe label text inside `"…"` (entity codes for the characters it would parse).
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '#' => out.push_str("#35;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

fn status_class(s: Status) -> &'static str {
    match s {
        Status::Ok => "ok",
        Status::Exposed => "exposed",
        Status::Blocked => "blocked",
        Status::Unknown => "unknown",
        Status::Neutral => "neutral",
    }
}

/// Stable ids: the key with every other character turned into `_`, prefixed so it never starts
/// with a digit or spells a keyword, and suffixed in key order on collision.
fn ids(t: &Topology) -> HashMap<String, String> {
    let mut used = HashSet::new();
    let mut out = HashMap::new();
    for n in t.nodes() {
        let base: String = n
            .key
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let mut id = format!("n_{base}");
        let mut i = 2;
        while !used.insert(id.clone()) {
            id = format!("n_{base}_{i}");
            i += 1;
        }
        out.insert(n.key.clone(), id);
    }
    out
}

pub fn render(t: &Topology) -> String {
    let ids = ids(t);
    let id = |k: &str| ids.get(k).cloned().unwrap_or_default();
    let mut out = String::from("flowchart LR\n");
    let mut columns: BTreeMap<u8, Vec<String>> = BTreeMap::new();
    let mut classes: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    for n in t.nodes() {
        let label = title(&n.label, &n.key)
            .iter()
            .map(|l| text(l))
            .collect::<Vec<_>>()
            .join("<br/>");
        columns
            .entry(n.column())
            .or_default()
            .push(format!("{}[\"{}\"]", id(&n.key), label));
        classes
            .entry(status_class(n.status))
            .or_default()
            .push(id(&n.key));
    }
    for (col, lines) in &columns {
        let name = COLUMNS.get(usize::from(*col)).copied().unwrap_or("other");
        out.push_str(&format!("  subgraph col{col}[\"{}\"]\n", text(name)));
        for l in lines {
            out.push_str("    ");
            out.push_str(l);
            out.push('\n');
        }
        out.push_str("  end\n");
    }
    for (a, b, e) in t.edges() {
        let arrow = match e.kind {
            EdgeKind::MissingRule { .. } | EdgeKind::OwnedBy => "-.->",
            _ => "-->",
        };
        let label = e.kind.label();
        if label.is_empty() {
            out.push_str(&format!("  {} {arrow} {}\n", id(&a.key), id(&b.key)));
        } else {
            out.push_str(&format!(
                "  {} {arrow}|\"{}\"| {}\n",
                id(&a.key),
                text(&label),
                id(&b.key)
            ));
        }
    }
    for s in [
        Status::Ok,
        Status::Exposed,
        Status::Blocked,
        Status::Unknown,
        Status::Neutral,
    ] {
        let (fill, stroke) = colours(s);
        out.push_str(&format!(
            "  classDef {} fill:{fill},stroke:{stroke},color:#000\n",
            status_class(s)
        ));
    }
    for (class, members) in classes {
        out.push_str(&format!("  class {} {class}\n", members.join(",")));
    }
    out
}
