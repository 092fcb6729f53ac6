//! The shared backend SG (lbc-semantics §10): how the LBC finds or creates it, keeps its tags in
//! sync, and decides to delete it when no resource needs it any more.

use std::collections::BTreeMap;

use super::aws_error::AwsError;
use super::naming::{BACKEND_SG_DESCRIPTION, backend_sg_name};
use super::reconcile::{BACKEND_SG_DELETE, DeleteOutcome, run_sg_delete};
use super::tags::{TagDiff, backend_sg_create_tags, backend_sg_tag_diff};
use crate::world::{ObjKey, Tags};

/// Finalizer of an Ingress in an implicit group.
pub const INGRESS_FINALIZER: &str = "ingress.k8s.aws/resources";
/// Prefix of the finalizer of an Ingress in an explicit group.
pub const INGRESS_GROUP_FINALIZER_PREFIX: &str = "group.ingress.k8s.aws/";
pub const SERVICE_FINALIZER: &str = "service.k8s.aws/resources";
pub const GATEWAY_FINALIZERS: [&str; 2] = ["gateway.k8s.aws/alb", "gateway.k8s.aws/nlb"];

/// The SG found by the backend-SG tag lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingBackendSg {
    pub id: String,
    pub tags: Tags,
}

/// `CreateSecurityGroup` for the backend SG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateBackendSg {
    pub name: String,
    pub description: String,
    pub vpc_id: String,
    /// In the order the LBC sends them.
    pub tags: Vec<(String, String)>,
}

/// What getting the backend SG involves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendSgPlan {
    /// `--backend-security-group` is set: used as-is, no AWS call.
    Explicit(String),
    /// Found by tags; its tags are brought in line (`CreateTags` then `DeleteTags`, each only
    /// when non-empty).
    Existing { id: String, tags: TagDiff },
    /// Not found: create it.
    Create(CreateBackendSg),
}

/// Plan `Get` (§10): `lookup` is the answer to `DescribeSecurityGroups` filtered by VPC and the
/// backend-SG tags (first result wins; `InvalidGroup.NotFound` counts as none). Only called
/// when the flag is unset.
pub fn plan_backend_sg(
    explicit: &str,
    cluster: &str,
    vpc_id: &str,
    default_tags: &Tags,
    lookup: impl FnOnce() -> Result<Vec<ExistingBackendSg>, AwsError>,
) -> Result<BackendSgPlan, AwsError> {
    if !explicit.is_empty() {
        return Ok(BackendSgPlan::Explicit(explicit.to_string()));
    }
    let found = match lookup() {
        Ok(found) => found,
        Err(e) if e.has_code("InvalidGroup.NotFound") => Vec::new(),
        Err(e) => return Err(e),
    };
    Ok(match found.into_iter().next() {
        Some(sg) => BackendSgPlan::Existing {
            tags: backend_sg_tag_diff(cluster, default_tags, &sg.tags),
            id: sg.id,
        },
        None => BackendSgPlan::Create(CreateBackendSg {
            name: backend_sg_name(cluster),
            description: BACKEND_SG_DESCRIPTION.to_string(),
            vpc_id: vpc_id.to_string(),
            tags: backend_sg_create_tags(cluster, default_tags),
        }),
    })
}

/// One AWS call of carrying out a [`BackendSgPlan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendSgCall {
    CreateTags { id: String, tags: Tags },
    DeleteTags { id: String, tags: Tags },
    CreateSecurityGroup(CreateBackendSg),
}

impl BackendSgPlan {
    /// The calls the plan makes, in the LBC's order.
    pub fn calls(&self) -> Vec<BackendSgCall> {
        match self {
            BackendSgPlan::Explicit(_) => Vec::new(),
            BackendSgPlan::Existing { id, tags } => {
                let mut calls = Vec::new();
                if !tags.create.is_empty() {
                    calls.push(BackendSgCall::CreateTags {
                        id: id.clone(),
                        tags: tags.create.clone(),
                    });
                }
                if !tags.delete.is_empty() {
                    calls.push(BackendSgCall::DeleteTags {
                        id: id.clone(),
                        tags: tags.delete.clone(),
                    });
                }
                calls
            }
            BackendSgPlan::Create(req) => vec![BackendSgCall::CreateSecurityGroup(req.clone())],
        }
    }

    /// Carry the plan out: `call` answers each call (`CreateSecurityGroup` with the new id).
    /// The first failure stops and is the error. Returns the backend SG id.
    pub fn execute(
        &self,
        mut call: impl FnMut(&BackendSgCall) -> Result<Option<String>, AwsError>,
    ) -> Result<String, AwsError> {
        let mut id = match self {
            BackendSgPlan::Explicit(id) | BackendSgPlan::Existing { id, .. } => id.clone(),
            BackendSgPlan::Create(_) => String::new(),
        };
        for c in self.calls() {
            if let Some(created) = call(&c)? {
                id = created;
            }
        }
        Ok(id)
    }
}

/// The kinds of resource that can need the backend SG.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceKind {
    Ingress,
    Service,
    Gateway,
}

impl ResourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Ingress => "ingress",
            ResourceKind::Service => "service",
            ResourceKind::Gateway => "gateway",
        }
    }

    /// Whether an object of this kind with these finalizers is managed by the LBC.
    pub fn has_lbc_finalizer(self, finalizers: &[String]) -> bool {
        finalizers.iter().any(|f| match self {
            ResourceKind::Ingress => {
                f == INGRESS_FINALIZER || f.starts_with(INGRESS_GROUP_FINALIZER_PREFIX)
            }
            ResourceKind::Service => f == SERVICE_FINALIZER,
            ResourceKind::Gateway => GATEWAY_FINALIZERS.contains(&f.as_str()),
        })
    }

    fn list_error(self) -> &'static str {
        match self {
            ResourceKind::Ingress => "unable to list ingresses",
            ResourceKind::Service => "unable to list services",
            ResourceKind::Gateway => "unable to list gateways",
        }
    }
}

/// One object of the cluster listing: its key and finalizers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedObject {
    pub key: ObjKey,
    pub finalizers: Vec<String>,
}

/// The cluster listings the release check reads, per kind; `Err` = the list call failed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterListing {
    pub lists: BTreeMap<ResourceKind, Result<Vec<ListedObject>, String>>,
}

impl ClusterListing {
    fn get(&self, kind: ResourceKind) -> Result<&[ListedObject], String> {
        match self.lists.get(&kind) {
            Some(Ok(v)) => Ok(v),
            Some(Err(e)) => Err(format!("{}: {e}", kind.list_error())),
            None => Ok(&[]),
        }
    }
}

/// Why the backend SG is kept or deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReleaseDecision {
    /// Nothing to delete: the SG comes from the flag, or none was auto-created.
    NotOwned,
    /// A tracked resource still needs it.
    NeededBy(ResourceKind, ObjKey),
    /// An LBC-managed object the controller has not processed yet (it may need it).
    Unprocessed(ResourceKind, ObjKey),
    /// Delete this SG.
    Delete(String),
}

/// A release decision and whether reaching it read the cluster listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub decision: ReleaseDecision,
    pub listed_cluster: bool,
}

/// The provider's memory: the SG it auto-created and, per processed resource, whether it needs
/// the backend SG.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackendSgTracker {
    /// `--backend-security-group` (never released).
    pub explicit: String,
    /// The auto-created (or found) SG, once `Get` ran.
    pub auto_generated: Option<String>,
    pub tracked: BTreeMap<(ResourceKind, ObjKey), bool>,
    /// Gateway support on: Gateways with LBC finalizers count too.
    pub gateway_check: bool,
}

impl BackendSgTracker {
    /// Record resources that were reconciled and need the SG (the `Get` side).
    pub fn mark_active(&mut self, kind: ResourceKind, resources: &[ObjKey]) {
        for r in resources {
            self.tracked.insert((kind, r.clone()), true);
        }
    }

    /// `Release` (§10): record `inactive` as not needing the SG and decide. Listings are read
    /// only when no tracked resource needs the SG, in the order Ingresses, Services, Gateways;
    /// a failed list keeps the SG and is the error. Resources recorded here are forgotten again
    /// afterwards (they were only needed for this decision).
    pub fn release(
        &mut self,
        kind: ResourceKind,
        inactive: &[ObjKey],
        cluster: &ClusterListing,
    ) -> Result<Release, String> {
        if !self.explicit.is_empty() {
            return Ok(Release {
                decision: ReleaseDecision::NotOwned,
                listed_cluster: false,
            });
        }
        for r in inactive {
            self.tracked.insert((kind, r.clone()), false);
        }
        let listed_cluster = !self.tracked.values().any(|needed| *needed);
        let decision = self.decide(cluster);
        for r in inactive {
            if self.tracked.get(&(kind, r.clone())) == Some(&false) {
                self.tracked.remove(&(kind, r.clone()));
            }
        }
        Ok(Release {
            decision: decision?,
            listed_cluster,
        })
    }

    fn decide(&self, cluster: &ClusterListing) -> Result<ReleaseDecision, String> {
        if let Some(((k, key), _)) = self.tracked.iter().find(|(_, needed)| **needed) {
            return Ok(ReleaseDecision::NeededBy(*k, key.clone()));
        }
        let mut kinds = vec![ResourceKind::Ingress, ResourceKind::Service];
        if self.gateway_check {
            kinds.push(ResourceKind::Gateway);
        }
        for kind in kinds {
            let unprocessed = cluster.get(kind)?.iter().find(|o| {
                kind.has_lbc_finalizer(&o.finalizers)
                    && !self.tracked.contains_key(&(kind, o.key.clone()))
            });
            if let Some(o) = unprocessed {
                return Ok(ReleaseDecision::Unprocessed(kind, o.key.clone()));
            }
        }
        Ok(match &self.auto_generated {
            Some(sg) => ReleaseDecision::Delete(sg.clone()),
            None => ReleaseDecision::NotOwned,
        })
    }

    /// Delete the SG with the backend-SG retry policy; on success it is forgotten.
    pub fn delete(&mut self, attempt: impl FnMut() -> Result<(), AwsError>) -> DeleteOutcome {
        let out = run_sg_delete(BACKEND_SG_DELETE, attempt);
        if out.result.is_ok() {
            self.auto_generated = None;
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
mod tests {
    use super::*;

    fn listing(kind: ResourceKind, objs: &[(&str, &str)]) -> ClusterListing {
        let items = objs
            .iter()
            .map(|(k, f)| {
                let (ns, name) = k.split_once('/').unwrap_or(("", k));
                ListedObject {
                    key: ObjKey::new(ns, name),
                    finalizers: vec![f.to_string()],
                }
            })
            .collect();
        ClusterListing {
            lists: BTreeMap::from([(kind, Ok(items))]),
        }
    }

    fn tracker() -> BackendSgTracker {
        BackendSgTracker {
            auto_generated: Some("sg-auto".into()),
            ..BackendSgTracker::default()
        }
    }

    #[test]
    fn released_resources_are_forgotten_but_active_ones_stay() {
        let mut t = tracker();
        let a = ObjKey::new("ns", "a");
        t.mark_active(ResourceKind::Service, std::slice::from_ref(&a));
        let d = t
            .release(
                ResourceKind::Ingress,
                &[ObjKey::new("ns", "b")],
                &ClusterListing::default(),
            )
            .unwrap();
        assert_eq!(
            d.decision,
            ReleaseDecision::NeededBy(ResourceKind::Service, a.clone())
        );
        assert!(!d.listed_cluster);
        assert_eq!(t.tracked.len(), 1);
        let d = t
            .release(
                ResourceKind::Service,
                std::slice::from_ref(&a),
                &ClusterListing::default(),
            )
            .unwrap();
        assert_eq!(d.decision, ReleaseDecision::Delete("sg-auto".into()));
        assert!(d.listed_cluster);
        assert!(t.tracked.is_empty());
    }

    #[test]
    fn gateways_only_count_with_gateway_support() {
        let l = listing(ResourceKind::Gateway, &[("ns/gw", "gateway.k8s.aws/alb")]);
        let mut t = tracker();
        assert_eq!(
            t.release(ResourceKind::Ingress, &[], &l).unwrap().decision,
            ReleaseDecision::Delete("sg-auto".into())
        );
        t.gateway_check = true;
        assert!(matches!(
            t.release(ResourceKind::Ingress, &[], &l).unwrap().decision,
            ReleaseDecision::Unprocessed(ResourceKind::Gateway, _)
        ));
    }

    #[test]
    fn nothing_created_nothing_deleted() {
        let mut t = BackendSgTracker::default();
        assert_eq!(
            t.release(ResourceKind::Ingress, &[], &ClusterListing::default())
                .unwrap()
                .decision,
            ReleaseDecision::NotOwned
        );
    }

    #[test]
    fn plan_creates_with_name_and_ordered_tags() {
        let plan = plan_backend_sg("", "testCluster", "vpc-1", &Tags::new(), || {
            Err(AwsError::api("InvalidGroup.NotFound", ""))
        })
        .unwrap();
        let BackendSgPlan::Create(c) = &plan else {
            panic!("expected create")
        };
        assert_eq!(c.name, "k8s-traffic-testCluster-411a1bcdb1");
        assert_eq!(c.tags.len(), 2);
        assert_eq!(
            plan.execute(|_| Ok(Some("sg-new".into()))),
            Ok("sg-new".into())
        );
    }

    #[test]
    fn existing_sg_tag_sync_stops_at_the_first_failure() {
        let existing = ExistingBackendSg {
            id: "sg-1".into(),
            tags: Tags::from([("stale".to_string(), "x".to_string())]),
        };
        let plan = plan_backend_sg("", "c", "vpc", &Tags::new(), || Ok(vec![existing])).unwrap();
        assert_eq!(plan.calls().len(), 2);
        let mut seen = 0;
        let res = plan.execute(|_| {
            seen += 1;
            Err(AwsError::api("Boom", "no"))
        });
        assert_eq!(seen, 1);
        assert_eq!(res.unwrap_err().to_string(), "api error Boom: no");
    }
}
