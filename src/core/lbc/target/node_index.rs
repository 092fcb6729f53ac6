//! Nodes indexed by label, so a binding's node selector reads the nodes of its rarest label
//! instead of every node (on a large cluster each selector names one node group).

use std::collections::{BTreeMap, HashMap};

use super::endpoints::matches_selector;
use crate::world::Node;

/// Nodes, each with a key of the caller's choosing, in the caller's order.
pub struct NodesByLabel<'w, K> {
    items: Vec<(K, &'w Node)>,
    /// Positions in `items` of the nodes carrying each label, ascending.
    by_label: HashMap<(&'w str, &'w str), Vec<u32>>,
}

impl<'w, K: Copy> NodesByLabel<'w, K> {
    pub fn new(items: Vec<(K, &'w Node)>) -> Self {
        let mut by_label: HashMap<(&str, &str), Vec<u32>> = HashMap::new();
        for (pos, (_, n)) in (0u32..).zip(&items) {
            for (k, v) in &n.meta.labels {
                by_label.entry((k, v)).or_default().push(pos);
            }
        }
        Self { items, by_label }
    }

    pub fn items(&self) -> &[(K, &'w Node)] {
        &self.items
    }

    /// The items whose node carries every label of `selector`, in item order.
    pub fn matching(&self, selector: &BTreeMap<String, String>) -> Vec<(K, &'w Node)> {
        let rarest = selector
            .iter()
            .map(|(k, v)| {
                self.by_label
                    .get(&(k.as_str(), v.as_str()))
                    .map_or(&[][..], Vec::as_slice)
            })
            .min_by_key(|positions| positions.len());
        let Some(positions) = rarest else {
            return self.items.clone();
        };
        positions
            .iter()
            .filter_map(|&p| self.items.get(p as usize).copied())
            .filter(|(_, n)| matches_selector(n, selector))
            .collect()
    }
}

/// Selectors to test a node-by-label index against a scan of every node: each binding's of
/// `world` (a generated world pins some), then edge cases: none, a zone, a zone and a node
/// group (third from last), and labels no node carries.
#[cfg(test)]
pub(crate) fn probe_selectors(world: &crate::world::World) -> Vec<BTreeMap<String, String>> {
    let mut selectors: Vec<BTreeMap<String, String>> = world
        .kube
        .target_group_bindings
        .iter()
        .flat_map(|m| m.values())
        .map(|b| b.node_selector.clone())
        .collect();
    let pinned = selectors.iter().filter(|s| !s.is_empty()).count();
    assert!(pinned > 0, "the generator pins some bindings");
    let sel = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    selectors.extend([
        sel(&[]),
        sel(&[("topology.kubernetes.io/zone", "us-east-1a")]),
        sel(&[
            ("topology.kubernetes.io/zone", "us-east-1a"),
            ("eks.amazonaws.com/nodegroup", "ng-1-managed"),
        ]),
        sel(&[("topology.kubernetes.io/zone", "us-east-1b")]),
        sel(&[
            ("topology.kubernetes.io/zone", "us-east-1b"),
            ("eks.amazonaws.com/nodegroup", "ng-0-managed"),
        ]),
        sel(&[("eks.amazonaws.com/nodegroup", "no-such-group")]),
        sel(&[("no-such-label", "x")]),
    ]);
    selectors
}
