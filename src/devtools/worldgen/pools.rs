//! Node pools: pinning an instance-mode load balancer to one node group with
//! `target-node-labels`, so a generated world stays within AWS's target quotas (a cluster with
//! more nodes than a target group may hold does the same).

use super::Gen;

const NODE_GROUP_LABEL: &str = "eks.amazonaws.com/nodegroup";

impl Gen {
    /// `target-node-labels` pinning an instance-mode LB to one node group, when registering
    /// every node would pass AWS's target quotas (`fits(nodes per target group)` is false).
    /// Clusters within the quotas still pin one LB in five, as teams do for placement.
    pub(super) fn node_pool(&mut self, fits: impl Fn(usize) -> bool) -> Option<String> {
        if fits(self.net.nodes.len()) && !self.rng.chance(0.2) {
            return None;
        }
        let serving: Vec<String> = self
            .net
            .groups
            .iter()
            .filter(|g| !g.excluded)
            .map(|g| g.name.clone())
            .collect();
        let group = self.rng.pick(&serving)?;
        Some(format!("{NODE_GROUP_LABEL}={group}"))
    }

    /// Nodes per node group (the generator sizes them equally).
    pub(super) fn pool_size(&self) -> usize {
        self.net.nodes.len().div_ceil(self.net.groups.len().max(1))
    }
}
