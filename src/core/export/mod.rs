//! Deterministic exports of a [`Topology`]: Graphviz DOT, Mermaid flowcharts, and JSON.
//! Nodes and edges are written in key order, so the same world always gives the same bytes.

pub mod dot;
pub mod json;
pub mod mermaid;
pub mod sarif;

use crate::core::graph::{Status, Topology};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Dot,
    Mermaid,
    Json,
}

impl Format {
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "dot" | "graphviz" => Some(Format::Dot),
            "mermaid" | "mmd" => Some(Format::Mermaid),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
}

pub fn render(t: &Topology, f: Format) -> String {
    match f {
        Format::Dot => dot::render(t),
        Format::Mermaid => mermaid::render(t),
        Format::Json => json::render(t),
    }
}

/// Fill and stroke colours per status, shared by DOT and Mermaid.
pub(crate) fn colours(s: Status) -> (&'static str, &'static str) {
    match s {
        Status::Ok => ("#d4edda", "#2e7d32"),
        Status::Exposed => ("#ffe0b2", "#e65100"),
        Status::Blocked => ("#f8d7da", "#c62828"),
        Status::Unknown => ("#eeeeee", "#757575"),
        Status::Neutral => ("#ffffff", "#455a64"),
    }
}

/// `label`, plus the key on a second line when it adds something short (ARNs are long and the
/// name already identifies the LB/TG/listener within the picture; they stay in tooltips/JSON).
pub(crate) fn title(label: &str, key: &str) -> Vec<String> {
    if label == key || label.contains(key) || key.starts_with("arn:") {
        vec![label.to_string()]
    } else {
        vec![label.to_string(), key.to_string()]
    }
}

#[cfg(test)]
mod tests;
