//! Plans: everything an edit (or no edit: drift) makes the LBC and AWS do, in order, with owners
//! and risk. One entry point for every front end: [`plan`] and [`drift`].

pub mod apply;
pub mod drift;
pub mod edit;
pub mod incremental;
pub mod planner;
pub mod quotas;
pub mod render;
pub mod risk;
mod target_merge;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::world::{Rule, Tags};

pub use drift::drift;
pub use edit::{Edit, ResourceRef};
pub use incremental::Planner;
pub use planner::{InvalidEdit, plan, plan_simple};

/// Who makes a change happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Owner {
    /// The Load Balancer Controller, on its next reconcile.
    Lbc,
    /// lbsg on the user's behalf (annotation patch, user-owned rule).
    User,
}

/// What a change does to who can reach what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Risk {
    Widened,
    Narrowed,
    Unchanged,
}

/// One change. Security groups that do not exist yet are named by a placeholder id
/// (`$new:<name>`) until the sink creates them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ChangeKind {
    PatchAnnotations {
        resource: ResourceRef,
        /// The resourceVersion the plan was computed on; the patch carries it.
        resource_version: String,
        set: BTreeMap<String, String>,
        unset: Vec<String>,
    },
    CreateSecurityGroup {
        id: String,
        name: String,
        description: String,
        vpc_id: Option<String>,
        tags: Tags,
    },
    DeleteSecurityGroup {
        sg: String,
    },
    AuthorizeIngress {
        sg: String,
        rules: Vec<Rule>,
    },
    RevokeIngress {
        sg: String,
        rules: Vec<Rule>,
        /// `sgr-…` ids of the rules, when known (same order).
        rule_ids: Vec<Option<String>>,
    },
    SetSecurityGroups {
        load_balancer: String,
        security_groups: Vec<String>,
        private_link: Option<String>,
    },
    CreateTags {
        sg: String,
        tags: Tags,
    },
    DeleteTags {
        sg: String,
        keys: Vec<String>,
    },
    /// AWS cannot do it in place (e.g. SGs on an NLB created without them).
    RecreateRequired {
        load_balancer: String,
        reason: String,
    },
}

impl ChangeKind {
    /// The AWS or Kubernetes object the change acts on, for grouping.
    pub fn subject(&self) -> String {
        match self {
            ChangeKind::PatchAnnotations { resource, .. } => resource.to_string(),
            ChangeKind::CreateSecurityGroup { id, .. } => id.clone(),
            ChangeKind::DeleteSecurityGroup { sg }
            | ChangeKind::AuthorizeIngress { sg, .. }
            | ChangeKind::RevokeIngress { sg, .. }
            | ChangeKind::CreateTags { sg, .. }
            | ChangeKind::DeleteTags { sg, .. } => sg.clone(),
            ChangeKind::SetSecurityGroups { load_balancer, .. }
            | ChangeKind::RecreateRequired { load_balancer, .. } => load_balancer.clone(),
        }
    }

    /// Whether this change mutates AWS (as opposed to Kubernetes).
    pub fn is_aws(&self) -> bool {
        !matches!(
            self,
            ChangeKind::PatchAnnotations { .. } | ChangeKind::RecreateRequired { .. }
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    #[serde(flatten)]
    pub kind: ChangeKind,
    pub owner: Owner,
    pub risk: Risk,
    /// The Service/Ingress(-group) whose reconcile makes this change, if any.
    pub stack: Option<String>,
    /// The LBC would make this change even without the edit (drift already pending).
    pub pending: bool,
}

/// Something the LBC would fail on, or a quota the result would break.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PlanError {
    pub resource: String,
    pub message: String,
}

/// The result of planning an edit (or of drift, with no edit).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub edit: Option<Edit>,
    pub changes: Vec<Change>,
    /// Errors the LBC would hit after the edit (build-model failures, quotas exceeded).
    pub errors: Vec<PlanError>,
    /// Things worth knowing that do not stop the plan (Helm/Argo may revert, pre-existing drift…).
    pub warnings: Vec<String>,
    /// Who can reach what before and after the plan: sources and ports gained/lost per
    /// listener, targets newly reachable/blocked.
    pub exposure: crate::core::reach::ExposureDiff,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Whether any change widens exposure.
    pub fn widens(&self) -> bool {
        self.changes.iter().any(|c| c.risk == Risk::Widened)
    }
}

/// Placeholder id of a security group the plan creates.
pub fn new_sg_placeholder(name: &str) -> String {
    format!("$new:{name}")
}

/// What a sink did with a plan: which changes (by index into `plan.changes`) were applied,
/// which one failed and why, and which were never attempted. Nothing is ever half-reported.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ApplyReport {
    pub applied: Vec<usize>,
    pub failed: Option<(usize, String)>,
    pub not_attempted: Vec<usize>,
    /// Real ids of the security groups the plan created, by placeholder.
    pub created: BTreeMap<String, String>,
}

impl ApplyReport {
    pub fn is_complete(&self) -> bool {
        self.failed.is_none() && self.not_attempted.is_empty()
    }
}
