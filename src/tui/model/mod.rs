//! View models: plain data the views draw, derived once per world (off the UI task) from the
//! World and the core's answers. Every row is keyed by a stable id.

pub mod graph;
pub mod index;
pub mod lbs;
pub mod plan;
pub mod sgs;
pub mod targets;

use std::collections::BTreeMap;

use crate::core::plan::{Edit, Plan, ResourceRef};
use crate::world::World;

pub use graph::{EdgeStatus, Exposure, ExposureLevel, GraphModel, NodeStatus};
pub use lbs::LbRow;
pub use sgs::{RuleOwner, SgOwner, SgRow};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
    Info,
}

impl Severity {
    pub fn label(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
            Severity::Info => "info",
        }
    }

    pub fn parse(s: &str) -> Severity {
        match s.to_ascii_lowercase().as_str() {
            "critical" => Severity::Critical,
            "high" => Severity::High,
            "medium" | "warning" => Severity::Medium,
            "low" => Severity::Low,
            _ => Severity::Info,
        }
    }
}

/// A suggested fix: a summary and, when it is an edit lbsg can plan, the edit itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remedy {
    pub summary: String,
    pub edit: Option<Edit>,
}

/// One audit finding as the findings view shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub id: String,
    pub severity: Severity,
    pub title: String,
    /// `service/ns/name`, `ingress/ns/name` or an AWS id.
    pub resource: String,
    pub evidence: Vec<String>,
    pub remedy: Option<Remedy>,
}

impl Finding {
    /// Stable key: id plus resource.
    pub fn key(&self) -> String {
        format!("{} {}", self.id, self.resource)
    }

    pub fn resource_ref(&self) -> Option<ResourceRef> {
        ResourceRef::parse(&self.resource).ok()
    }
}

/// What the core says about a world, beyond the world itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Analysis {
    /// `None` when this build has no audit to run.
    pub findings: Option<Vec<Finding>>,
    pub drift: Plan,
    /// `render_text` of the drift plan, computed with the world at hand.
    pub drift_text: String,
    /// Who can reach what (`core::reach`): every LB, listener and target group.
    pub exposure: crate::core::reach::Exposure,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRow {
    pub id: ResourceRef,
    pub kind: &'static str,
    pub namespace: String,
    pub name: String,
    pub lb: String,
    pub lb_kind: String,
    pub scheme: String,
    pub listeners: String,
    pub exposure: Exposure,
    pub reach: graph::ReachCount,
    /// Finding ids by severity, worst first.
    pub findings: Vec<(Severity, String)>,
}

impl ResourceRow {
    pub fn worst(&self) -> Option<Severity> {
        self.findings.first().map(|f| f.0)
    }
}

/// Everything the views draw for one world.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ViewData {
    pub resources: Vec<ResourceRow>,
    pub graphs: BTreeMap<ResourceRef, GraphModel>,
    pub sgs: Vec<SgRow>,
    pub lbs: Vec<LbRow>,
    pub findings: Option<Vec<Finding>>,
    pub drift_text: String,
    pub drift_changes: usize,
    /// Finding counts by severity.
    pub counts: BTreeMap<Severity, usize>,
}

impl ViewData {
    pub fn sg(&self, id: &str) -> Option<&SgRow> {
        self.sgs
            .binary_search_by(|s| s.id.as_str().cmp(id))
            .ok()
            .map(|i| &self.sgs[i])
    }

    pub fn lb(&self, arn: &str) -> Option<&LbRow> {
        self.lbs.iter().find(|l| l.arn == arn)
    }

    pub fn resource(&self, id: &ResourceRef) -> Option<&ResourceRow> {
        self.resources
            .binary_search_by(|r| r.id.cmp(id))
            .ok()
            .map(|i| &self.resources[i])
    }

    pub fn finding(&self, key: &str) -> Option<&Finding> {
        self.findings.as_ref()?.iter().find(|f| f.key() == key)
    }
}

/// The Services (type LoadBalancer) and Ingresses the table lists, in id order.
pub fn listed_resources(world: &World) -> Vec<ResourceRef> {
    let mut out: Vec<ResourceRef> = world
        .kube
        .services
        .iter()
        .flat_map(|m| m.values())
        .filter(|s| s.spec.type_ == "LoadBalancer")
        .map(|s| ResourceRef::Service(s.meta.key()))
        .chain(
            world
                .kube
                .ingresses
                .iter()
                .flat_map(|m| m.values())
                .map(|i| ResourceRef::Ingress(i.meta.key())),
        )
        .collect();
    out.sort();
    out
}

/// Derive every view model of a world.
pub fn build(world: &World, analysis: &Analysis) -> ViewData {
    let idx = index::Index::new(world);
    let mut by_resource: BTreeMap<String, Vec<(Severity, String)>> = BTreeMap::new();
    let mut counts = BTreeMap::new();
    for f in analysis.findings.iter().flatten() {
        by_resource
            .entry(f.resource.clone())
            .or_default()
            .push((f.severity, f.id.clone()));
        *counts.entry(f.severity).or_insert(0) += 1;
    }
    let mut graphs = BTreeMap::new();
    let mut resources = Vec::new();
    for id in listed_resources(world) {
        let g = graph::build(&idx, &analysis.exposure, &id);
        let lbs: Vec<&crate::world::LoadBalancer> = g
            .lbs
            .iter()
            .filter_map(|a| world.aws.load_balancers.as_ref()?.get(a))
            .collect();
        let listeners: Vec<String> = world
            .aws
            .listeners
            .iter()
            .flat_map(|m| m.values())
            .filter(|l| g.lbs.contains(&l.load_balancer_arn))
            .map(|l| format!("{}/{}", l.protocol.to_ascii_lowercase(), l.port))
            .collect();
        let mut findings = by_resource.remove(&id.to_string()).unwrap_or_default();
        findings.sort();
        resources.push(ResourceRow {
            kind: match id {
                ResourceRef::Service(_) => "svc",
                ResourceRef::Ingress(_) => "ing",
            },
            namespace: id.key().namespace.clone(),
            name: id.key().name.clone(),
            lb: lbs
                .iter()
                .map(|l| l.name.as_str())
                .collect::<Vec<_>>()
                .join(","),
            lb_kind: lbs
                .first()
                .map(|l| match l.type_.as_str() {
                    "network" => "NLB",
                    "application" => "ALB",
                    _ => "LB",
                })
                .unwrap_or_default()
                .to_string(),
            scheme: lbs.first().map(|l| l.scheme.clone()).unwrap_or_default(),
            listeners: listeners.join(","),
            exposure: g.exposure.clone(),
            reach: g.reach.clone(),
            findings,
            id: id.clone(),
        });
        graphs.insert(id, g);
    }
    ViewData {
        resources,
        graphs,
        sgs: sgs::build(world),
        lbs: lbs::build(world),
        findings: analysis.findings.clone(),
        drift_text: analysis.drift_text.clone(),
        drift_changes: analysis.drift.changes.len(),
        counts,
    }
}
