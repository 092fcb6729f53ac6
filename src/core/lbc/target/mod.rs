//! The TargetGroupBinding controller's networking side: turning each TGB's
//! `spec.networking` into inbound rules on the SGs of the target ENIs (lbc-semantics §8, §9).
//!
//! Layers, each in its own file and usable alone:
//! - [`endpoints`]: which ENIs a binding's targets sit on, read from the World (§8.1);
//! - [`select`]: which SG of an ENI receives the rules (§8.2);
//! - [`permissions`]: networking rules → EC2 rules (§8.3);
//! - [`aggregate`]: cluster-wide merge per target SG (§8.4);
//! - [`gc`]: the rules the LBC owns on a target SG, its diff, and garbage collection (§8.5, §8.6);
//! - [`desired`]: the composition over a whole World.

pub mod aggregate;
pub mod desired;
pub mod endpoints;
pub mod gc;
pub mod node_index;
pub mod permissions;
pub mod select;

use std::collections::BTreeMap;

use crate::world::{IntOrString, NetworkingRule, ObjKey, TargetGroupBinding};

use super::model::{StackModel, TargetGroupModel};
use super::naming::GroupId;

pub use aggregate::{aggregate, aggregate_sg};
pub use desired::{
    TargetMemo, TargetRules, TgbOutcome, cluster_tgbs, collects_garbage, dedupe_identities,
    desired_target_rules, merge_outcomes, object_spec, target_rules_with, target_sg_changes,
    target_sg_rules, unowned_tgb_objects,
};
pub use endpoints::{EndpointEni, TargetEndpoints, resolve_endpoint_enis};
pub use gc::{
    NetworkingState, TargetSgChanges, description_is_managed, is_lbc_managed, reconcile_target_sg,
};
pub use node_index::NodesByLabel;
pub use permissions::{numeric_ports, permissions_for};
pub use select::select_target_sg;

/// Label key the LBC writes into the description of every target rule it owns.
pub const TGB_LABEL_KEY: &str = "elbv2.k8s.aws/targetGroupBinding";
/// Its value.
pub const TGB_LABEL_VALUE: &str = "shared";
/// The description of every rule the LBC puts on a target SG (§11.13), which is also the
/// selector of the rules it may revoke there (§8.5).
pub const SHARED_RULE_DESCRIPTION: &str = "elbv2.k8s.aws/targetGroupBinding=shared";
/// The label selector the LBC passes when reconciling target SGs (same text as the description).
pub const PERMISSION_SELECTOR: &str = SHARED_RULE_DESCRIPTION;

/// Why a binding's target rules could not be computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetError {
    /// The LBC itself fails with this message (exact text).
    Lbc(String),
    /// The World lacks what is needed to decide (a section or object not loaded).
    Unknown(String),
}

impl std::fmt::Display for TargetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TargetError::Lbc(m) => f.write_str(m),
            TargetError::Unknown(m) => write!(f, "cannot decide: {m}"),
        }
    }
}

/// The facts of one binding the networking side needs, from a generated model or from a
/// TargetGroupBinding object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TgbSpec {
    /// Unique display key (`ns/name` for objects, `<stack> <tg id>` for modelled bindings).
    pub key: String,
    /// The binding's namespace; its Service is looked up there.
    pub namespace: String,
    /// `instance` or `ip`; empty when unknown.
    pub target_type: String,
    pub service_name: String,
    pub service_port: IntOrString,
    /// Extra node labels a node must carry (instance targets).
    pub node_selector: BTreeMap<String, String>,
    /// `ipv4` / `ipv6`; `None` = ipv4.
    pub ip_address_type: Option<String>,
    /// `None` = no networking block: the LBC manages no rules for it.
    pub networking: Option<Vec<NetworkingRule>>,
}

impl TgbSpec {
    /// A TargetGroupBinding object as found in the cluster. A missing target type is left
    /// empty (the webhook fills it from the target group; [`cluster_tgbs`] does too).
    pub fn from_object(tgb: &TargetGroupBinding) -> Self {
        Self {
            key: tgb.meta.key().to_string(),
            namespace: tgb.meta.namespace.clone(),
            target_type: tgb.target_type.clone().unwrap_or_default(),
            service_name: tgb.service_name.clone(),
            service_port: tgb.service_port.clone(),
            node_selector: tgb.node_selector.clone(),
            ip_address_type: tgb.ip_address_type.clone(),
            networking: tgb.networking.clone(),
        }
    }

    /// A binding the model of a stack would generate. The TGB lives in the Service's namespace.
    pub fn from_model(
        key: impl Into<String>,
        tg: &TargetGroupModel,
        networking: Option<Vec<NetworkingRule>>,
    ) -> Self {
        Self {
            key: key.into(),
            namespace: tg.service.namespace.clone(),
            target_type: tg.target_type.clone(),
            service_name: tg.service.name.clone(),
            service_port: tg.service_port.clone(),
            node_selector: tg.node_selector.clone(),
            ip_address_type: Some(tg.ip_address_type.clone()).filter(|t| !t.is_empty()),
            networking,
        }
    }

    pub fn with_node_selector(mut self, selector: BTreeMap<String, String>) -> Self {
        self.node_selector = selector;
        self
    }

    /// Every binding of a stack model, keyed `<stack> <tg resource id>`.
    pub fn from_stack(stack: &StackId, model: &StackModel) -> Vec<Self> {
        model
            .target_groups
            .iter()
            .map(|(id, tg)| {
                let networking = model.tgb_networking.get(id).cloned().flatten();
                TgbSpec::from_model(format!("{stack} {id}"), tg, networking)
            })
            .collect()
    }
}

pub use super::model::StackId;

impl StackId {
    /// The labels the LBC puts on every Kubernetes object of this stack.
    pub fn labels(&self) -> BTreeMap<String, String> {
        let pair = |prefix: &str, k: &ObjKey| {
            BTreeMap::from([
                (format!("{prefix}/stack-namespace"), k.namespace.clone()),
                (format!("{prefix}/stack-name"), k.name.clone()),
            ])
        };
        match self {
            StackId::Service(k) => pair("service.k8s.aws", k),
            StackId::Ingress(GroupId::Implicit { namespace, name }) => {
                pair("ingress.k8s.aws", &ObjKey::new(namespace, name))
            }
            StackId::Ingress(GroupId::Explicit(g)) => {
                BTreeMap::from([("ingress.k8s.aws/stack".to_string(), g.clone())])
            }
        }
    }

    /// Whether an object with `labels` belongs to this stack.
    pub fn owns(&self, labels: &BTreeMap<String, String>) -> bool {
        self.labels().iter().all(|(k, v)| labels.get(k) == Some(v))
    }

    /// Every stack that [`StackId::owns`] an object with `labels` (at most one of each kind),
    /// read off the labels instead of testing each stack.
    pub fn owners(labels: &BTreeMap<String, String>) -> Vec<StackId> {
        let pair = |prefix: &str| {
            let ns = labels.get(&format!("{prefix}/stack-namespace"))?;
            let name = labels.get(&format!("{prefix}/stack-name"))?;
            Some((ns.clone(), name.clone()))
        };
        let mut out = Vec::new();
        if let Some((ns, name)) = pair("service.k8s.aws") {
            out.push(StackId::Service(ObjKey::new(ns, name)));
        }
        if let Some((namespace, name)) = pair("ingress.k8s.aws") {
            out.push(StackId::Ingress(GroupId::Implicit { namespace, name }));
        }
        if let Some(g) = labels.get("ingress.k8s.aws/stack") {
            out.push(StackId::Ingress(GroupId::Explicit(g.clone())));
        }
        out
    }
}
