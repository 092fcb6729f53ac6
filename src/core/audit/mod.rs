//! The audit: every diagnosis of `diagnostics-and-limits.md` (D01–D30) that a World can decide,
//! plus lbsg's own exposure checks (X01–X06), as [`Finding`]s with evidence in plain words and,
//! where the fix is an annotation or rule change, a [`Remedy`] carrying the [`Edit`] the planner
//! can plan (the TUI offers it on one key; `lbsg apply` runs it).
//!
//! One file per family of findings; each check is `fn(&Ctx) -> Vec<Finding>`. `docs/diagnoses.md`
//! lists every id with its data, severity and remedy, and the ones no World can decide.

pub mod backend;
pub mod catalogue;
pub mod cidrs;
pub mod ctx;
pub mod drift;
pub mod events;
pub mod exposure;
pub mod facts;
pub mod group;
pub mod internet;
pub mod lifecycle;
pub mod ownership;
pub mod quota;
pub mod resolution;
pub mod target_sg;
pub mod targets;

#[cfg(test)]
pub(crate) mod testworld;

use std::cmp::Reverse;
use std::collections::BTreeMap;

use rayon::prelude::*;

use serde::Serialize;

pub use ctx::Ctx;
pub use facts::{ExposureLine, TargetCounts};

use crate::core::plan::Edit;
use crate::world::{Rule, World};

/// How bad a finding is; ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The fix of a finding. `edit` is what the planner takes; `None` when the fix is not an
/// annotation or rule change (recreate an NLB, retag an SG, raise a quota).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Remedy {
    pub summary: String,
    pub edit: Option<Edit>,
}

impl Remedy {
    /// A fix lbsg can plan and apply.
    pub fn edit(summary: impl Into<String>, edit: Edit) -> Self {
        Self {
            summary: summary.into(),
            edit: Some(edit),
        }
    }

    /// A fix described in words only.
    pub fn manual(summary: impl Into<String>) -> Self {
        Self {
            summary: summary.into(),
            edit: None,
        }
    }

    /// The `lbsg apply …` command line that runs the edit, if there is one.
    pub fn command(&self) -> Option<String> {
        match self.edit.as_ref()? {
            Edit::Annotations {
                resource,
                set,
                unset,
            } => {
                let mut s = format!("lbsg apply {resource}");
                for (k, v) in set {
                    s.push_str(&format!(" --set {}", shell_word(&format!("{k}={v}"))));
                }
                for k in unset {
                    s.push_str(&format!(" --unset {}", shell_word(k)));
                }
                Some(s)
            }
            Edit::Rules { sg, add, remove } => {
                let mut s = format!("lbsg apply {sg}");
                for r in add {
                    s.push_str(&format!(" --add-rule {}", shell_word(&rule_token(r))));
                }
                for r in remove {
                    s.push_str(&format!(" --remove-rule {}", shell_word(&rule_token(r))));
                }
                Some(s)
            }
            Edit::ControllerFlag { .. } => None,
        }
    }
}

/// A rule as the command line takes it: `PROTO:PORTS:SOURCE[:DESCRIPTION]`.
pub fn rule_token(r: &Rule) -> String {
    let ports = match (r.protocol.as_str(), r.from_port, r.to_port) {
        ("-1", _, _) => "all".to_string(),
        ("icmp" | "icmpv6", Some(-1) | None, _) => "all".to_string(),
        ("icmp" | "icmpv6", Some(t), Some(c)) => format!("{t},{c}"),
        (_, Some(f), Some(t)) if f == t => f.to_string(),
        (_, Some(f), Some(t)) => format!("{f}-{t}"),
        _ => "all".to_string(),
    };
    let proto = if r.protocol == "-1" {
        "all"
    } else {
        &r.protocol
    };
    let mut s = format!("{proto}:{ports}:{}", r.source);
    if !r.description.is_empty() {
        s.push(':');
        s.push_str(&r.description);
    }
    s
}

/// Quote a word for a POSIX shell when it holds anything but safe characters.
fn shell_word(w: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./:=,@%+".contains(c);
    if !w.is_empty() && w.chars().all(safe) {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', r"'\''"))
    }
}

/// One diagnosis about one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// `D01`…`D30` or `X01`…
    pub id: String,
    pub severity: Severity,
    pub title: String,
    /// `service/NS/NAME`, `ingress/NS/NAME`, `ingress-group/NAME`, an SG id or an LB name.
    pub resource: String,
    /// Every AWS/Kubernetes object involved, by stable id.
    pub objects: Vec<String>,
    /// What was observed, in plain words.
    pub evidence: Vec<String>,
    pub remedy: Option<Remedy>,
}

impl Finding {
    /// A finding with the catalogue's title for `id`.
    pub fn new(id: &str, severity: Severity, resource: impl Into<String>) -> Self {
        Self {
            id: id.to_string(),
            severity,
            title: catalogue::title(id).to_string(),
            resource: resource.into(),
            objects: Vec::new(),
            evidence: Vec::new(),
            remedy: None,
        }
    }

    pub fn objects<I, S>(mut self, objects: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.objects.extend(objects.into_iter().map(Into::into));
        self
    }

    pub fn evidence(mut self, line: impl Into<String>) -> Self {
        self.evidence.push(line.into());
        self
    }

    pub fn remedy(mut self, remedy: Remedy) -> Self {
        self.remedy = Some(remedy);
        self
    }
}

/// The result of an audit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Audit {
    pub cluster: String,
    /// Most severe first, then by resource, then by id.
    pub findings: Vec<Finding>,
    /// One line per load balancer listener.
    pub exposure: Vec<ExposureLine>,
    /// What could not be decided for lack of data.
    pub notes: Vec<String>,
}

impl Audit {
    /// The most severe finding, if any.
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    /// Findings at or above `threshold`.
    pub fn count_at_least(&self, threshold: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity >= threshold)
            .count()
    }
}

type Check = fn(&Ctx<'_>) -> Vec<Finding>;

/// Every check, in catalogue order (order does not matter for the output, which is sorted).
const CHECKS: &[Check] = &[
    lifecycle::d01_legacy_nlb,
    ownership::d02_in_tree_provider,
    ownership::d03_misplaced_annotations,
    target_sg::d04_d05_d06_target_sg_selection,
    backend::d07_custom_frontend_unmanaged,
    backend::d08_backend_sg_inbound_rules,
    backend::d09_backend_sg_feature_off,
    backend::d10_health_check_port_blocked,
    quota::d11_frontend_rule_quota,
    quota::d12_target_sg_rule_quota,
    quota::d13_sgs_per_interface,
    resolution::d14_d15_unresolved_sgs,
    group::d16_group_conflicts,
    cidrs::d17_duplicate_cidrs,
    cidrs::d18_dualstack,
    exposure::d19_internal_open_managed,
    exposure::d20_internal_legacy_vpc_only,
    cidrs::d21_source_precedence,
    exposure::d22_shared_node_sg_leak,
    exposure::d23_legacy_health_subnets,
    exposure::d24_restricted_range,
    drift::d25_reverted_edits,
    drift::d26_no_ready_targets,
    lifecycle::d27_leftover_sgs,
    lifecycle::d29_feature_gate_flipped,
    quota::d30_lb_sg_count,
    internet::x01_high_risk_ports,
    internet::x02_beyond_web_ports,
    internet::x03_internal_custom_open,
    internet::x04_wide_ranges_to_targets,
    quota::x05_custom_frontend_quota,
    lifecycle::x06_unused_cluster_sgs,
];

/// Audit a world: run every check, fold in what controller events report, sort.
pub fn audit(world: &World) -> Audit {
    audit_with(world, &crate::core::reach::exposure(world))
}

/// [`audit`] with the world's exposure already computed (a front end that also draws the
/// graph needs it anyway: on a large world it is the most expensive part of an audit).
pub fn audit_with(world: &World, exposure: &crate::core::reach::Exposure) -> Audit {
    let ctx = Ctx::new(world);
    // The checks only read the context: run them on every core, collected in catalogue order.
    let per_check: Vec<Vec<Finding>> = CHECKS.par_iter().map(|check| check(&ctx)).collect();
    let mut findings: Vec<Finding> = per_check.into_iter().flatten().collect();
    events::fold_events(&ctx, &mut findings);
    let findings = finish(findings);
    let mut notes = ctx.desired.unknowns.clone();
    if !ctx.kube_known() {
        notes.push("the cluster side (Services, TargetGroupBindings) is not loaded: checks that need it were skipped".into());
    }
    if !ctx.aws_known() {
        notes.push("the AWS side (security groups, load balancers) is not loaded: checks that need it were skipped".into());
    }
    notes.extend(ctx.facts.notes.iter().cloned());
    notes.sort();
    notes.dedup();
    Audit {
        cluster: ctx.cluster.clone(),
        findings,
        exposure: facts::exposure_lines(exposure),
        notes,
    }
}

/// Merge findings with the same id and resource, sort objects and order the list.
fn finish(findings: Vec<Finding>) -> Vec<Finding> {
    let mut merged: BTreeMap<(String, String), Finding> = BTreeMap::new();
    for f in findings {
        match merged.get_mut(&(f.id.clone(), f.resource.clone())) {
            Some(existing) => {
                existing.severity = existing.severity.max(f.severity);
                existing.objects.extend(f.objects);
                for e in f.evidence {
                    if !existing.evidence.contains(&e) {
                        existing.evidence.push(e);
                    }
                }
                if existing.remedy.is_none() {
                    existing.remedy = f.remedy;
                }
            }
            None => {
                merged.insert((f.id.clone(), f.resource.clone()), f);
            }
        }
    }
    let mut out: Vec<Finding> = merged
        .into_values()
        .map(|mut f| {
            f.objects.sort();
            f.objects.dedup();
            f
        })
        .collect();
    out.sort_by(|a, b| {
        (Reverse(a.severity), &a.resource, &a.id).cmp(&(Reverse(b.severity), &b.resource, &b.id))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::plan::ResourceRef;
    use crate::world::{ObjKey, Source};

    #[test]
    fn findings_sort_by_severity_then_resource_then_id_and_merge() {
        let f = |id: &str, sev, res: &str| Finding::new(id, sev, res).evidence(id.to_string());
        let out = finish(vec![
            f("D24", Severity::Low, "sg-1"),
            f("D19", Severity::Medium, "service/a/b"),
            f("D07", Severity::High, "service/z/z"),
            f("D04", Severity::High, "service/a/a"),
            f("D14", Severity::High, "service/a/a"),
            f("D04", Severity::Medium, "service/a/a").objects(["eni-1"]),
        ]);
        let keys: Vec<(&str, &str)> = out
            .iter()
            .map(|f| (f.id.as_str(), f.resource.as_str()))
            .collect();
        assert_eq!(
            keys,
            vec![
                ("D04", "service/a/a"),
                ("D14", "service/a/a"),
                ("D07", "service/z/z"),
                ("D19", "service/a/b"),
                ("D24", "sg-1"),
            ]
        );
        assert_eq!(out[0].severity, Severity::High);
        assert_eq!(out[0].objects, vec!["eni-1".to_string()]);
        assert_eq!(out[0].evidence, vec!["D04".to_string()]);
    }

    /// A side that was not loaded is unknown, not empty: nothing is "gone" or "to revoke".
    #[test]
    fn unknown_sides_are_not_empty() {
        use super::testworld::*;
        let leftover = sg(
            "sg-gone",
            &[
                ("elbv2.k8s.aws/cluster", "c"),
                ("service.k8s.aws/resource", "ManagedLBSecurityGroup"),
                ("service.k8s.aws/stack", "retired/gone"),
            ],
            vec![],
        );
        let mut w = world();
        add_sg(&mut w, leftover.clone());
        assert_eq!(with_id(&audit(&w), "D27").len(), 1);
        w.kube = crate::world::KubeSide::default();
        let a = audit(&w);
        assert!(a.findings.is_empty(), "{:#?}", a.findings);
        assert!(
            a.notes.iter().any(|n| n.contains("cluster side")),
            "{:?}",
            a.notes
        );

        let mut w = world();
        w.aws = crate::world::AwsSide::default();
        let a = audit(&w);
        assert!(a.findings.is_empty(), "{:#?}", a.findings);
        assert!(
            a.notes.iter().any(|n| n.contains("AWS side")),
            "{:?}",
            a.notes
        );
    }

    #[test]
    fn remedy_commands_round_trip_through_the_cli_syntax() {
        let edit = Edit::Annotations {
            resource: ResourceRef::Service(ObjKey::new("default", "web")),
            set: BTreeMap::from([("a/b".to_string(), "x y".to_string())]),
            unset: vec!["c/d".into()],
        };
        assert_eq!(
            Remedy::edit("s", edit).command().as_deref(),
            Some("lbsg apply service/default/web --set 'a/b=x y' --unset c/d")
        );
        let rule = Rule::new("tcp", 8000, 8100, Source::Group("sg-1".into()), "");
        let v6 = Rule::new("tcp", 443, 443, Source::CidrV6("::/0".into()), "v6 web");
        let all = Rule {
            protocol: "-1".into(),
            from_port: None,
            to_port: None,
            source: Source::Cidr("10.0.0.0/8".into()),
            description: String::new(),
        };
        for r in [&rule, &v6, &all] {
            let parsed = crate::core::plan::edit::parse_rule(&rule_token(r)).unwrap();
            assert_eq!(parsed.key(), r.key(), "{}", rule_token(r));
            assert_eq!(parsed.description, r.description);
        }
        let edit = Edit::Rules {
            sg: "sg-0a".into(),
            add: vec![rule],
            remove: vec![v6],
        };
        assert_eq!(
            Remedy::edit("s", edit).command().as_deref(),
            Some(
                "lbsg apply sg-0a --add-rule tcp:8000-8100:sg-1 --remove-rule 'tcp:443:::/0:v6 web'"
            )
        );
        assert_eq!(Remedy::manual("by hand").command(), None);
    }
}
