//! What the LBC builds for one Service or IngressGroup: the "model" layer, before any AWS call.
//! Shared by the Service (NLB) and Ingress (ALB) builders.

use std::collections::BTreeMap;

use serde::Serialize;

use super::naming::GroupId;
use crate::world::{NetworkingRule, ObjKey, Rule, Tags};

/// Placeholder for the managed SG's id before it exists (the vectors' `$managed_sg`).
pub const MANAGED_SG_TOKEN: &str = "$managed_sg";
/// Placeholder for the shared backend SG's id when it does not exist yet.
pub const BACKEND_SG_TOKEN: &str = "$backend_sg";

/// The frontend SG decision (lbc-semantics §4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Frontend {
    /// The LBC creates and owns one SG for this LB.
    Managed(ManagedSg),
    /// User-supplied SGs (resolved ids, resolver order).
    Custom(Vec<String>),
    /// No SGs at all: an NLB on the legacy path.
    None,
}

/// The desired managed frontend SG.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManagedSg {
    pub name: String,
    pub description: String,
    /// Model tags (default tags + annotation tags); tracking tags are added at deploy time.
    pub tags: Tags,
    /// Inbound rules in the LBC's generation order (may contain duplicates; identity collapses them).
    pub ingress_rules: Vec<Rule>,
}

/// One target group as modelled (only the fields that decide SG rules).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetGroupModel {
    /// `instance` or `ip`.
    pub target_type: String,
    /// NodePort (instance) or targetPort (ip; may be a named port).
    pub port: crate::world::IntOrString,
    /// `TCP`, `UDP`, `TCP_UDP`, `TLS`, `HTTP`, `HTTPS`, …
    pub protocol: String,
    pub ip_address_type: String,
    /// `traffic-port` or a number as text.
    pub health_check_port: String,
    /// The backing Service (`ns/name`) and its port as referenced.
    pub service: crate::world::ObjKey,
    pub service_port: crate::world::IntOrString,
    /// `target-node-labels` (instance targets only): the labels a node needs to be registered,
    /// the TargetGroupBinding's `nodeSelector`. Empty = every eligible node.
    pub node_selector: BTreeMap<String, String>,
}

/// The model of one stack (a Service's NLB or an IngressGroup's ALB).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StackModel {
    pub frontend: Frontend,
    /// SGs the LB gets, in order; [`MANAGED_SG_TOKEN`] stands for the managed SG.
    pub lb_security_groups: Vec<String>,
    /// Whether this stack needs the shared backend SG.
    pub backend_sg_allocated: bool,
    /// The source SG of target rules, if any.
    pub rule_source_sg: Option<String>,
    pub scheme: String,
    pub ip_address_type: String,
    /// `EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic` (`on`/`off`), when managed.
    pub private_link_enforcement: Option<String>,
    /// Listener protocol by listener port (`TCP`, `UDP`, `TCP_UDP`, `TLS`, `QUIC`, `HTTP`, `HTTPS`, …).
    pub listeners: BTreeMap<i32, String>,
    /// By LBC target-group resource id (`ns/svc:port`, `ns/ing-svc:port`).
    pub target_groups: BTreeMap<String, TargetGroupModel>,
    /// By the same id; `None` = the TGB gets no networking (the LBC manages no rules for it).
    pub tgb_networking: BTreeMap<String, Option<Vec<NetworkingRule>>>,
    /// SGs of the NLB the LBC puts in front of an ALB (`enable-frontend-nlb`); `None` = no such NLB.
    pub frontend_nlb_security_groups: Option<Vec<String>>,
}

/// One stack of the LBC: a Service's NLB or an IngressGroup's ALB. Tag methods are in
/// `tags.rs`, Kubernetes label methods in `target/mod.rs`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum StackId {
    Service(ObjKey),
    Ingress(GroupId),
}

impl std::fmt::Display for StackId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StackId::Service(k) => write!(f, "service/{k}"),
            StackId::Ingress(GroupId::Implicit { namespace, name }) => {
                write!(f, "ingress/{namespace}/{name}")
            }
            StackId::Ingress(GroupId::Explicit(g)) => write!(f, "ingress-group/{g}"),
        }
    }
}

/// The LB SG decision shared by NLBs and ALBs (lbc-semantics §4): the frontend, the SGs the LB
/// gets, and the source SG of target rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LbSgDecision {
    pub frontend: Frontend,
    /// In the LBC's order; [`MANAGED_SG_TOKEN`] stands for the managed SG. Empty = legacy NLB.
    pub lb_security_groups: Vec<String>,
    /// Source SG of target rules; `None` = the LBC writes no target rules.
    pub rule_source_sg: Option<String>,
    pub backend_sg_allocated: bool,
}

impl LbSgDecision {
    /// No SGs at all (legacy NLB).
    pub fn none() -> Self {
        LbSgDecision {
            frontend: Frontend::None,
            lb_security_groups: Vec::new(),
            rule_source_sg: None,
            backend_sg_allocated: false,
        }
    }

    /// A managed SG, plus the backend SG (the rule source) unless the backend SG is disabled,
    /// in which case the managed SG itself is the source.
    pub fn managed(sg: ManagedSg, backend_enabled: bool, backend_sg_id: &str) -> Self {
        let mut lb = vec![MANAGED_SG_TOKEN.to_string()];
        let source = if backend_enabled {
            lb.push(backend_sg_id.to_string());
            backend_sg_id.to_string()
        } else {
            MANAGED_SG_TOKEN.to_string()
        };
        LbSgDecision {
            frontend: Frontend::Managed(sg),
            lb_security_groups: lb,
            rule_source_sg: Some(source),
            backend_sg_allocated: backend_enabled,
        }
    }

    /// Custom SGs, plus the backend SG as rule source when backend rules are managed;
    /// `no_backend_error` is the kind-specific LBC message when the backend SG is disabled.
    pub fn custom(
        ids: Vec<String>,
        manage_rules: bool,
        backend_enabled: bool,
        backend_sg_id: &str,
        no_backend_error: &str,
    ) -> Result<Self, String> {
        let mut lb = ids.clone();
        let mut decision = LbSgDecision {
            frontend: Frontend::Custom(ids),
            lb_security_groups: Vec::new(),
            rule_source_sg: None,
            backend_sg_allocated: false,
        };
        if manage_rules {
            if !backend_enabled {
                return Err(no_backend_error.to_string());
            }
            lb.push(backend_sg_id.to_string());
            decision.rule_source_sg = Some(backend_sg_id.to_string());
            decision.backend_sg_allocated = true;
        }
        decision.lb_security_groups = lb;
        Ok(decision)
    }
}
