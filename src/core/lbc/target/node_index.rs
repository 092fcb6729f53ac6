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
