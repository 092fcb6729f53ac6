//! The topology graph: sources, security groups, load balancers, listeners, target groups, ENIs,
//! nodes/pods and their Kubernetes owners, with the edges traffic and ownership follow.
//!
//! Node identity is a stable key (SG id, ARN, ENI id, CIDR, `kind/ns/name`), never a petgraph
//! index: the graph is rebuilt per world snapshot and nodes/edges are inserted in key order, so
//! the same world always gives the same graph (and byte-identical exports).

mod build;

use std::collections::{BTreeSet, HashMap};

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use serde::Serialize;

use crate::core::reach::PortMap;

pub use build::{build, build_for, build_with};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    Service,
    Ingress,
    /// `0.0.0.0/0` or `::/0`.
    Internet,
    Cidr,
    PrefixList,
    SecurityGroup,
    LoadBalancer,
    Listener,
    TargetGroup,
    /// An ENI, or a placeholder for a target whose ENI is not loaded.
    Eni,
    /// An EC2 instance (a Kubernetes node when one names it).
    Instance,
    Pod,
}

/// What an SG does in the picture; one SG may do several things.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Attached to a load balancer.
    Frontend,
    /// The cluster's shared backend SG.
    Backend,
    /// On an ENI that is a load-balancer target.
    Target,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    /// Reachable from the whole internet.
    Exposed,
    /// Some traffic that should pass is blocked.
    Blocked,
    /// The world lacks the data to decide.
    Unknown,
    /// Nothing to say.
    Neutral,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Node {
    pub key: String,
    pub kind: NodeKind,
    /// Short human name (SG GroupName, LB name, node name, `TCP:443`…).
    pub label: String,
    pub roles: BTreeSet<Role>,
    pub status: Status,
}

impl Node {
    /// Display column, left to right in traffic order: owners | sources | LB SGs | LBs |
    /// listeners | target groups | target SGs | ENIs | nodes and pods.
    pub fn column(&self) -> u8 {
        match self.kind {
            NodeKind::Service | NodeKind::Ingress => 0,
            NodeKind::Internet | NodeKind::Cidr | NodeKind::PrefixList => 1,
            NodeKind::SecurityGroup
                if self.roles.contains(&Role::Frontend) || self.roles.contains(&Role::Backend) =>
            {
                2
            }
            NodeKind::SecurityGroup => 6,
            NodeKind::LoadBalancer => 3,
            NodeKind::Listener => 4,
            NodeKind::TargetGroup => 5,
            NodeKind::Eni => 7,
            NodeKind::Instance | NodeKind::Pod => 8,
        }
    }
}

/// Column titles for exporters, by [`Node::column`].
pub const COLUMNS: [&str; 9] = [
    "owners",
    "sources",
    "load balancer SGs",
    "load balancers",
    "listeners",
    "target groups",
    "target SGs",
    "ENIs",
    "nodes and pods",
];

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum EdgeKind {
    /// Source → SG: the SG admits these protocols/ports from the source.
    AllowsFrom { ports: PortMap },
    /// SG → LB or ENI.
    AttachedTo,
    /// LB → listener.
    ListensOn,
    /// Listener → target group.
    ForwardsTo,
    /// Target group → ENI (or instance) on a port.
    Targets { port: Option<u16> },
    /// Owned → owner (ENI → instance, LB/SG → Service, pod → node).
    OwnedBy,
    /// LB SG → target SG: a rule the targets need is missing.
    MissingRule { traffic: String },
}

impl EdgeKind {
    pub fn name(&self) -> &'static str {
        match self {
            EdgeKind::AllowsFrom { .. } => "allows_from",
            EdgeKind::AttachedTo => "attached_to",
            EdgeKind::ListensOn => "listens_on",
            EdgeKind::ForwardsTo => "forwards_to",
            EdgeKind::Targets { .. } => "targets",
            EdgeKind::OwnedBy => "owned_by",
            EdgeKind::MissingRule { .. } => "missing_rule",
        }
    }

    /// Short text for an edge label (empty when the kind says it all).
    pub fn label(&self) -> String {
        match self {
            EdgeKind::AllowsFrom { ports } => ports.to_string(),
            EdgeKind::Targets { port: Some(p) } => p.to_string(),
            EdgeKind::MissingRule { traffic } => format!("missing {traffic}"),
            _ => String::new(),
        }
    }

    /// Whether the edge follows traffic (as opposed to ownership).
    pub fn is_flow(&self) -> bool {
        !matches!(self, EdgeKind::OwnedBy)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edge {
    pub kind: EdgeKind,
    pub status: Status,
}

/// The graph plus its key index.
#[derive(Debug, Clone, Default)]
pub struct Topology {
    graph: DiGraph<Node, Edge>,
    by_key: HashMap<String, NodeIndex>,
}

impl Topology {
    pub fn graph(&self) -> &DiGraph<Node, Edge> {
        &self.graph
    }

    pub fn index(&self, key: &str) -> Option<NodeIndex> {
        self.by_key.get(key).copied()
    }

    pub fn node(&self, key: &str) -> Option<&Node> {
        self.index(key).map(|i| &self.graph[i])
    }

    /// Nodes in key order.
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.graph.node_weights()
    }

    /// Edges as (from, to, edge), ordered by (from key, to key, kind).
    pub fn edges(&self) -> impl Iterator<Item = (&Node, &Node, &Edge)> {
        self.graph
            .edge_references()
            .map(|e| (&self.graph[e.source()], &self.graph[e.target()], e.weight()))
    }

    pub fn node_count(&self) -> usize {
        self.graph.node_count()
    }

    pub fn edge_count(&self) -> usize {
        self.graph.edge_count()
    }

    /// Outgoing (`Direction::Outgoing`) or incoming neighbours of `key` with the edge, sorted.
    pub fn neighbors(&self, key: &str, dir: Direction) -> Vec<(&Node, &Edge)> {
        let Some(i) = self.index(key) else {
            return Vec::new();
        };
        let mut v: Vec<(&Node, &Edge)> = self
            .graph
            .edges_directed(i, dir)
            .map(|e| {
                let other = if dir == Direction::Outgoing {
                    e.target()
                } else {
                    e.source()
                };
                (&self.graph[other], e.weight())
            })
            .collect();
        v.sort_by(|a, b| (&a.0.key, &a.1.kind).cmp(&(&b.0.key, &b.1.kind)));
        v
    }

    /// Nodes already in key order; edges as (from position, to position, edge), sorted.
    fn from_sorted(nodes: Vec<Node>, edges: Vec<(u32, u32, Edge)>) -> Self {
        let mut graph = DiGraph::with_capacity(nodes.len(), edges.len());
        let mut by_key = HashMap::with_capacity(nodes.len());
        for n in nodes {
            let key = n.key.clone();
            let i = graph.add_node(n);
            by_key.insert(key, i);
        }
        for (a, b, e) in edges {
            graph.add_edge(NodeIndex::new(a as usize), NodeIndex::new(b as usize), e);
        }
        Self { graph, by_key }
    }
}

#[cfg(test)]
mod tests;
