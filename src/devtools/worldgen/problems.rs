//! Planted problems: which ones, on what, and the ones added after the healthy part is settled.
//! Codes refer to the catalogue in `design/diagnostics-and-limits.md` §1.2.

use std::collections::{BTreeMap, BTreeSet};

use super::{Gen, Planted};
use crate::core::lbc::model::StackId;
use crate::core::lbc::naming::{MANAGED_SG_DESCRIPTION, service_sg_name};
use crate::core::lbc::tags::{MANAGED_SG_RESOURCE_ID, service_sg_tags};
use crate::world::{ObjKey, Rule, Source};

/// The kinds of problem the generator plants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProblemKind {
    /// D07: a custom frontend SG without `manage-backend-security-group-rules`: nothing admits
    /// the LB at its targets.
    CustomSgWithoutBackendRules,
    /// D04: an ENI carrying pods of an ip-target Service has two SGs tagged
    /// `kubernetes.io/cluster/<cluster>`; the LBC fails that binding and stops revoking.
    TwoClusterTaggedSgs,
    /// D14: `aws-load-balancer-security-groups` names an SG by a `Name` tag nobody has (the SG
    /// exists with that GroupName only); the model fails and there is no LB.
    UnresolvableSgName,
    /// D19: an internal NLB without source ranges, so its managed SG admits `0.0.0.0/0`.
    InternalOpenToWorld,
    /// D27: the managed SG of a Service that no longer exists.
    LeftoverManagedSg,
    /// D25: a rule added by hand to a managed SG; the LBC revokes it on its next reconcile.
    HandEditedManagedSg,
}

impl ProblemKind {
    pub const ALL: [ProblemKind; 6] = [
        ProblemKind::CustomSgWithoutBackendRules,
        ProblemKind::TwoClusterTaggedSgs,
        ProblemKind::UnresolvableSgName,
        ProblemKind::InternalOpenToWorld,
        ProblemKind::LeftoverManagedSg,
        ProblemKind::HandEditedManagedSg,
    ];

    /// The catalogue entry.
    pub fn code(self) -> &'static str {
        match self {
            ProblemKind::CustomSgWithoutBackendRules => "D07",
            ProblemKind::TwoClusterTaggedSgs => "D04",
            ProblemKind::UnresolvableSgName => "D14",
            ProblemKind::InternalOpenToWorld => "D19",
            ProblemKind::LeftoverManagedSg => "D27",
            ProblemKind::HandEditedManagedSg => "D25",
        }
    }

    /// Whether the LBC would act on it (it shows up in drift, as a change or an LBC error).
    pub fn shows_in_drift(self) -> bool {
        matches!(
            self,
            ProblemKind::TwoClusterTaggedSgs
                | ProblemKind::UnresolvableSgName
                | ProblemKind::HandEditedManagedSg
        )
    }

    /// Problems that shape how a Service is built (decided before the healthy part).
    fn on_service(self) -> bool {
        matches!(
            self,
            ProblemKind::CustomSgWithoutBackendRules
                | ProblemKind::UnresolvableSgName
                | ProblemKind::InternalOpenToWorld
        )
    }
}

impl std::fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match self {
            ProblemKind::CustomSgWithoutBackendRules => "custom SG without backend rules",
            ProblemKind::TwoClusterTaggedSgs => "two cluster-tagged SGs on an ENI",
            ProblemKind::UnresolvableSgName => "unresolvable SG name",
            ProblemKind::InternalOpenToWorld => "internal LB open to 0.0.0.0/0",
            ProblemKind::LeftoverManagedSg => "leftover managed SG",
            ProblemKind::HandEditedManagedSg => "hand-made rule on a managed SG",
        };
        write!(f, "{} {text}", self.code())
    }
}

/// Problems decided up front.
#[derive(Debug, Clone, Default)]
pub(super) struct PrePlan {
    /// By LB Service index.
    pub by_service: BTreeMap<usize, ProblemKind>,
    /// Planted once the healthy part is settled.
    pub after: Vec<ProblemKind>,
    /// ENIs holding pods of ip targets (candidates for D04) and the apps of those pods.
    pub pod_enis: BTreeMap<String, BTreeSet<String>>,
    /// Apps already behind a D04 ENI: a binding fails on its first bad ENI only, so each app
    /// gets at most one, and every planted ENI is named by an LBC error.
    pub d04_apps: BTreeSet<String>,
}

impl Gen {
    /// `round(share × (Services + Ingresses))` problems, the kinds taken in turn.
    pub(super) fn plan_problems(&mut self) {
        let c = self.spec.counts;
        let total = (self.spec.problems * (c.lb_services + c.ingresses) as f64).round() as usize;
        let mut services: Vec<usize> = (0..c.lb_services).collect();
        for i in (1..services.len()).rev() {
            let j = self.rng.below(i + 1);
            services.swap(i, j);
        }
        let mut free = services.into_iter();
        for i in 0..total {
            let kind = ProblemKind::ALL[i % ProblemKind::ALL.len()];
            if kind.on_service() {
                if let Some(s) = free.next() {
                    self.pre.by_service.insert(s, kind);
                }
            } else {
                self.pre.after.push(kind);
            }
        }
    }

    pub(super) fn plant(&mut self, kind: ProblemKind, subject: impl Into<String>) {
        self.planted.push(Planted {
            kind,
            subject: subject.into(),
        });
    }

    /// Problems that appear after the LBC has reconciled everything.
    pub(super) fn plant_after_settle(&mut self) {
        let kinds = std::mem::take(&mut self.pre.after);
        let mut leftover = 0;
        for kind in kinds {
            match kind {
                ProblemKind::TwoClusterTaggedSgs => self.second_cluster_tagged_sg(),
                ProblemKind::LeftoverManagedSg => {
                    leftover += 1;
                    self.leftover_managed_sg(leftover);
                }
                ProblemKind::HandEditedManagedSg => self.hand_edited_managed_sg(),
                _ => {}
            }
        }
        self.planted.sort();
    }

    fn second_cluster_tagged_sg(&mut self) {
        let candidates: Vec<String> = self
            .pre
            .pod_enis
            .iter()
            .filter(|(_, apps)| apps.is_disjoint(&self.pre.d04_apps))
            .map(|(eni, _)| eni.clone())
            .collect();
        let Some(eni) = self.rng.pick(&candidates).cloned() else {
            return;
        };
        if let Some(apps) = self.pre.pod_enis.remove(&eni) {
            self.pre.d04_apps.extend(apps);
        }
        let name = format!("{}-legacy-nodes", self.cluster);
        let existing = self
            .w
            .aws
            .security_groups
            .iter()
            .flat_map(|m| m.values())
            .find(|g| g.name == name)
            .map(|g| g.id.clone());
        let sg = match existing {
            Some(id) => id,
            None => {
                let tags = [
                    (self.cluster_tag(), "shared".to_string()),
                    ("Name".to_string(), name.clone()),
                ]
                .into();
                self.add_sg(&name, "Nodes of the old cluster setup", tags, Vec::new())
            }
        };
        let Some(e) = self.w.aws.enis.as_mut().and_then(|m| m.get_mut(&eni)) else {
            return;
        };
        if !e.groups.contains(&sg) {
            e.groups.push(sg);
        }
        self.plant(ProblemKind::TwoClusterTaggedSgs, eni);
    }

    fn leftover_managed_sg(&mut self, k: usize) {
        let key = ObjKey::new(format!("retired-{k}"), "old-api");
        let uid = self.rng.uid();
        let name = service_sg_name(&self.cluster, &key.namespace, &key.name, &uid);
        let cfg = self.w.controller_or_default();
        let model_tags = service_sg_tags(&cfg, &BTreeMap::new()).unwrap_or_default();
        let tags = StackId::Service(key).managed_sg_tags(&self.cluster, &model_tags);
        let sg = self.add_sg(
            &name,
            MANAGED_SG_DESCRIPTION,
            tags,
            vec![Rule::new(
                "tcp",
                443,
                443,
                Source::Cidr("0.0.0.0/0".into()),
                "",
            )],
        );
        self.plant(ProblemKind::LeftoverManagedSg, sg);
    }

    fn hand_edited_managed_sg(&mut self) {
        let managed: Vec<String> = self
            .w
            .aws
            .security_groups
            .iter()
            .flat_map(|m| m.values())
            .filter(|g| {
                g.tags.get("service.k8s.aws/resource").map(String::as_str)
                    == Some(MANAGED_SG_RESOURCE_ID)
                    && !self.planted.iter().any(|p| p.subject == g.id)
            })
            .map(|g| g.id.clone())
            .collect();
        let Some(sg) = self.rng.pick(&managed).cloned() else {
            return;
        };
        self.add_rule(
            &sg,
            Rule::new("tcp", 22, 22, Source::Cidr("0.0.0.0/0".into()), "debug ssh"),
        );
        self.plant(ProblemKind::HandEditedManagedSg, sg);
    }
}
