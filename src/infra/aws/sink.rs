//! Applying a Plan's AWS changes.
//!
//! Order of business: refuse when read-only (before any call); check placeholders; re-describe
//! the security groups and load balancers the plan touches and abort, with nothing applied, if
//! they differ from the World the plan was computed on; then apply the changes in plan order,
//! authorize/revoke batched per SG, idempotently (a rule already there or already gone is
//! success). The first failure stops everything; the report says exactly what was applied.
//! Egress rules are never touched.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::ec2::match_key;
use super::errors::AwsError;
use crate::core::plan::{ApplyReport, ChangeKind, Plan};
use crate::world::{LoadBalancer, Rule, SecurityGroup, SgRule, Source, Tags, World};

/// The AWS calls the sink makes. Implemented for [`super::Aws`] in `mutate.rs`; the unit tests
/// below use a fake that can fail in the ways the emulator cannot.
pub(crate) trait SinkApi {
    async fn describe_groups(
        &self,
        ids: &[String],
    ) -> Result<BTreeMap<String, SecurityGroup>, AwsError>;
    async fn describe_load_balancers(
        &self,
        arns: &[String],
    ) -> Result<BTreeMap<String, LoadBalancer>, AwsError>;
    async fn create_security_group(
        &self,
        name: &str,
        description: &str,
        vpc_id: Option<&str>,
        tags: &Tags,
    ) -> Result<String, AwsError>;
    async fn authorize_ingress(&self, sg: &str, rules: &[Rule]) -> Result<(), AwsError>;
    async fn revoke_ingress(&self, sg: &str, rules: &[Rule]) -> Result<(), AwsError>;
    async fn set_security_groups(
        &self,
        lb: &str,
        sgs: &[String],
        private_link: Option<&str>,
    ) -> Result<(), AwsError>;
    async fn create_tags(&self, sg: &str, tags: &Tags) -> Result<(), AwsError>;
    async fn delete_tags(&self, sg: &str, keys: &[String]) -> Result<(), AwsError>;
    async fn delete_security_group(&self, sg: &str) -> Result<(), AwsError>;
}

/// Why nothing was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkError {
    /// `--readonly`: refused before any call.
    Readonly,
    /// The plan names a `$new:` group it never creates (or uses it before creating it).
    Invalid(String),
    /// AWS changed since the plan was computed; one line per difference.
    Stale(Vec<String>),
    /// The re-describe itself failed.
    Aws(AwsError),
}

impl fmt::Display for SinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SinkError::Readonly => {
                f.write_str("read-only mode: no change was sent to AWS (drop --readonly to apply)")
            }
            SinkError::Invalid(m) => write!(f, "invalid plan, nothing applied: {m}"),
            SinkError::Stale(d) => write!(
                f,
                "AWS changed since the plan was computed; nothing applied. Re-plan and review:\n  {}",
                d.join("\n  ")
            ),
            SinkError::Aws(e) => write!(f, "nothing applied: {e}"),
        }
    }
}

impl std::error::Error for SinkError {}

/// Error codes that mean the change is already in place.
const DUPLICATE: &[&str] = &["InvalidPermission.Duplicate"];
const RULE_GONE: &[&str] = &[
    "InvalidPermission.NotFound",
    "InvalidSecurityGroupRuleId.NotFound",
];
const GROUP_GONE: &[&str] = &["InvalidGroup.NotFound", "InvalidGroupId.NotFound"];

/// Apply the AWS changes of `plan`, computed on `world`. Only AWS changes are looked at: the
/// report's indices (into `plan.changes`) cover those, the Kubernetes ones are another sink's.
pub async fn apply_plan(
    aws: &super::Aws,
    world: &World,
    plan: &Plan,
    readonly: bool,
) -> Result<ApplyReport, SinkError> {
    apply_with(aws, world, plan, readonly).await
}

pub(crate) async fn apply_with<A: SinkApi>(
    api: &A,
    world: &World,
    plan: &Plan,
    readonly: bool,
) -> Result<ApplyReport, SinkError> {
    if readonly {
        return Err(SinkError::Readonly);
    }
    let steps = steps(plan);
    if steps.is_empty() {
        return Ok(ApplyReport::default());
    }
    check_placeholders(plan)?;

    let (sg_ids, lb_arns) = touched(plan);
    let live_sgs = api.describe_groups(&sg_ids).await.map_err(SinkError::Aws)?;
    let live_lbs = if lb_arns.is_empty() {
        BTreeMap::new()
    } else {
        api.describe_load_balancers(&lb_arns)
            .await
            .map_err(SinkError::Aws)?
    };
    let diffs = differences(world, &sg_ids, &live_sgs, &lb_arns, &live_lbs);
    if !diffs.is_empty() {
        return Err(SinkError::Stale(diffs));
    }

    let mut run = Run {
        api,
        live: live_sgs,
        ids: BTreeMap::new(),
    };
    let mut report = ApplyReport::default();
    for (n, step) in steps.iter().enumerate() {
        match run.step(plan, step).await {
            Ok(()) => report.applied.extend(&step.indices),
            Err(message) => {
                report.failed = Some((step.indices[0], message));
                report.not_attempted = step.indices[1..]
                    .iter()
                    .chain(steps[n + 1..].iter().flat_map(|s| &s.indices))
                    .copied()
                    .collect();
                break;
            }
        }
    }
    report.created = run.ids;
    Ok(report)
}

/// One API call's worth of changes: a single change, or consecutive authorizations (or
/// revocations) of the same SG merged into one batch.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Step {
    indices: Vec<usize>,
}

fn batch_key(kind: &ChangeKind) -> Option<(u8, &str)> {
    match kind {
        ChangeKind::AuthorizeIngress { sg, .. } => Some((0, sg)),
        ChangeKind::RevokeIngress { sg, .. } => Some((1, sg)),
        _ => None,
    }
}

fn steps(plan: &Plan) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::new();
    let mut last_key: Option<(u8, &str)> = None;
    for (i, c) in plan.changes.iter().enumerate() {
        if !c.kind.is_aws() {
            continue;
        }
        let key = batch_key(&c.kind);
        match out.last_mut() {
            Some(step) if key.is_some() && key == last_key => step.indices.push(i),
            _ => out.push(Step { indices: vec![i] }),
        }
        last_key = key;
    }
    out
}

fn is_placeholder(id: &str) -> bool {
    id.starts_with("$new:")
}

/// Every `$new:` id must be created by an earlier change of the plan.
fn check_placeholders(plan: &Plan) -> Result<(), SinkError> {
    let mut created = BTreeSet::new();
    let check = |id: &str, created: &BTreeSet<String>| {
        if is_placeholder(id) && !created.contains(id) {
            Err(SinkError::Invalid(format!(
                "{id} is used before any change creates it"
            )))
        } else {
            Ok(())
        }
    };
    for c in plan.changes.iter().filter(|c| c.kind.is_aws()) {
        match &c.kind {
            ChangeKind::CreateSecurityGroup { id, .. } => {
                created.insert(id.clone());
            }
            ChangeKind::AuthorizeIngress { sg, rules }
            | ChangeKind::RevokeIngress { sg, rules, .. } => {
                check(sg, &created)?;
                for r in rules {
                    if let Source::Group(g) = &r.source {
                        check(g, &created)?;
                    }
                }
            }
            ChangeKind::SetSecurityGroups {
                security_groups, ..
            } => {
                for g in security_groups {
                    check(g, &created)?;
                }
            }
            other => check(&other.subject(), &created)?,
        }
    }
    Ok(())
}

/// The existing SGs the changes act on and the LBs whose SGs they set.
fn touched(plan: &Plan) -> (Vec<String>, Vec<String>) {
    let mut sgs = BTreeSet::new();
    let mut lbs = BTreeSet::new();
    for c in plan.changes.iter().filter(|c| c.kind.is_aws()) {
        match &c.kind {
            ChangeKind::CreateSecurityGroup { .. } => {}
            ChangeKind::SetSecurityGroups { load_balancer, .. } => {
                lbs.insert(load_balancer.clone());
            }
            other => {
                let s = other.subject();
                if !is_placeholder(&s) {
                    sgs.insert(s);
                }
            }
        }
    }
    (sgs.into_iter().collect(), lbs.into_iter().collect())
}

type Key = (String, Option<i32>, Option<i32>, Source);

fn ingress_keys(g: &SecurityGroup) -> BTreeSet<Key> {
    g.ingress.iter().map(|r| match_key(&r.rule)).collect()
}

fn describe_keys(keys: &[&Key]) -> String {
    keys.iter()
        .map(|(p, f, t, s)| {
            Rule {
                protocol: p.clone(),
                from_port: *f,
                to_port: *t,
                source: s.clone(),
                description: String::new(),
            }
            .to_string()
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// What differs between the plan's World and AWS now, for the touched SGs and LBs.
fn differences(
    world: &World,
    sg_ids: &[String],
    live_sgs: &BTreeMap<String, SecurityGroup>,
    lb_arns: &[String],
    live_lbs: &BTreeMap<String, LoadBalancer>,
) -> Vec<String> {
    let mut out = Vec::new();
    let planned_sgs = world.aws.security_groups.as_ref();
    for id in sg_ids {
        match (planned_sgs.and_then(|m| m.get(id)), live_sgs.get(id)) {
            (None, None) => out.push(format!("{id}: does not exist")),
            (Some(_), None) => out.push(format!("{id}: no longer exists")),
            (None, Some(_)) => out.push(format!("{id}: not in the world the plan was computed on")),
            (Some(w), Some(l)) => {
                let (wk, lk) = (ingress_keys(w), ingress_keys(l));
                if wk != lk {
                    let added: Vec<&Key> = lk.difference(&wk).collect();
                    let removed: Vec<&Key> = wk.difference(&lk).collect();
                    let mut d = format!("{id}: inbound rules changed");
                    if !added.is_empty() {
                        d.push_str(&format!("; added: {}", describe_keys(&added)));
                    }
                    if !removed.is_empty() {
                        d.push_str(&format!("; removed: {}", describe_keys(&removed)));
                    }
                    out.push(d);
                }
                if w.tags != l.tags {
                    out.push(format!("{id}: tags changed"));
                }
            }
        }
    }
    let planned_lbs = world.aws.load_balancers.as_ref();
    for arn in lb_arns {
        match (planned_lbs.and_then(|m| m.get(arn)), live_lbs.get(arn)) {
            (None, None) => out.push(format!("{arn}: does not exist")),
            (Some(_), None) => out.push(format!("{arn}: no longer exists")),
            (None, Some(_)) => {
                out.push(format!("{arn}: not in the world the plan was computed on"))
            }
            (Some(w), Some(l)) => {
                let ws: BTreeSet<&String> = w.security_groups.iter().collect();
                let ls: BTreeSet<&String> = l.security_groups.iter().collect();
                if ws != ls {
                    out.push(format!(
                        "{arn}: security groups changed from [{}] to [{}]",
                        w.security_groups.join(", "),
                        l.security_groups.join(", ")
                    ));
                }
                if w.enforce_private_link_sg.is_some()
                    && l.enforce_private_link_sg.is_some()
                    && w.enforce_private_link_sg != l.enforce_private_link_sg
                {
                    out.push(format!("{arn}: PrivateLink SG enforcement changed"));
                }
            }
        }
    }
    out
}

/// The state of one apply: placeholder → real id, and the SGs' inbound rules as they are now.
struct Run<'a, A> {
    api: &'a A,
    live: BTreeMap<String, SecurityGroup>,
    ids: BTreeMap<String, String>,
}

impl<A: SinkApi> Run<'_, A> {
    fn real(&self, id: &str) -> Result<String, String> {
        if is_placeholder(id) {
            self.ids
                .get(id)
                .cloned()
                .ok_or_else(|| format!("{id} was not created"))
        } else {
            Ok(id.to_string())
        }
    }

    fn real_rule(&self, r: &Rule) -> Result<Rule, String> {
        let mut r = r.clone();
        if let Source::Group(g) = &r.source {
            r.source = Source::Group(self.real(g)?);
        }
        if matches!(r.source, Source::None) {
            return Err(format!("rule {r} has no source"));
        }
        Ok(r)
    }

    fn has_rule(&self, sg: &str, r: &Rule) -> bool {
        let k = match_key(r);
        self.live
            .get(sg)
            .is_some_and(|g| g.ingress.iter().any(|e| match_key(&e.rule) == k))
    }

    /// The SG and real rules of a batched authorize/revoke step.
    fn batch(&self, plan: &Plan, step: &Step) -> Result<(String, Vec<Rule>), String> {
        let mut sg = String::new();
        let mut rules = Vec::new();
        for &i in &step.indices {
            if let ChangeKind::AuthorizeIngress { sg: s, rules: rs }
            | ChangeKind::RevokeIngress {
                sg: s, rules: rs, ..
            } = &plan.changes[i].kind
            {
                sg = self.real(s)?;
                for r in rs {
                    let r = self.real_rule(r)?;
                    if !rules.iter().any(|e: &Rule| match_key(e) == match_key(&r)) {
                        rules.push(r);
                    }
                }
            }
        }
        Ok((sg, rules))
    }

    async fn step(&mut self, plan: &Plan, step: &Step) -> Result<(), String> {
        let first = &plan.changes[step.indices[0]].kind;
        match first {
            ChangeKind::CreateSecurityGroup {
                id,
                name,
                description,
                vpc_id,
                tags,
            } => {
                let real = self
                    .api
                    .create_security_group(name, description, vpc_id.as_deref(), tags)
                    .await
                    .map_err(|e| e.to_string())?;
                self.live.insert(
                    real.clone(),
                    SecurityGroup {
                        id: real.clone(),
                        name: name.clone(),
                        tags: tags.clone(),
                        ..Default::default()
                    },
                );
                self.ids.insert(id.clone(), real);
                Ok(())
            }
            ChangeKind::AuthorizeIngress { .. } => {
                let (sg, rules) = self.batch(plan, step)?;
                let missing: Vec<Rule> = rules
                    .into_iter()
                    .filter(|r| !self.has_rule(&sg, r))
                    .collect();
                if !missing.is_empty() {
                    match self.api.authorize_ingress(&sg, &missing).await {
                        Ok(()) => {}
                        // Someone added one of them meanwhile: add the others one by one.
                        Err(e) if e.has_code(DUPLICATE) => {
                            for r in &missing {
                                match self
                                    .api
                                    .authorize_ingress(&sg, std::slice::from_ref(r))
                                    .await
                                {
                                    Err(e) if !e.has_code(DUPLICATE) => return Err(e.to_string()),
                                    _ => {}
                                }
                            }
                        }
                        Err(e) => return Err(e.to_string()),
                    }
                }
                let g = self.live.entry(sg.clone()).or_default();
                for r in missing {
                    g.ingress.push(SgRule {
                        rule: r,
                        id: None,
                        tags: Tags::new(),
                    });
                }
                Ok(())
            }
            ChangeKind::RevokeIngress { .. } => {
                let (sg, rules) = self.batch(plan, step)?;
                let present: Vec<Rule> = rules
                    .into_iter()
                    .filter(|r| self.has_rule(&sg, r))
                    .collect();
                if !present.is_empty() {
                    match self.api.revoke_ingress(&sg, &present).await {
                        Ok(()) => {}
                        // One of them went away meanwhile: revoke the others one by one.
                        Err(e) if e.has_code(RULE_GONE) => {
                            for r in &present {
                                match self.api.revoke_ingress(&sg, std::slice::from_ref(r)).await {
                                    Err(e) if !e.has_code(RULE_GONE) => return Err(e.to_string()),
                                    _ => {}
                                }
                            }
                        }
                        Err(e) => return Err(e.to_string()),
                    }
                }
                if let Some(g) = self.live.get_mut(&sg) {
                    let gone: BTreeSet<Key> = present.iter().map(match_key).collect();
                    g.ingress.retain(|e| !gone.contains(&match_key(&e.rule)));
                }
                Ok(())
            }
            ChangeKind::SetSecurityGroups {
                load_balancer,
                security_groups,
                private_link,
            } => {
                let sgs = security_groups
                    .iter()
                    .map(|g| self.real(g))
                    .collect::<Result<Vec<_>, _>>()?;
                self.api
                    .set_security_groups(load_balancer, &sgs, private_link.as_deref())
                    .await
                    .map_err(|e| e.to_string())
            }
            ChangeKind::CreateTags { sg, tags } => {
                let sg = self.real(sg)?;
                self.api
                    .create_tags(&sg, tags)
                    .await
                    .map_err(|e| e.to_string())
            }
            ChangeKind::DeleteTags { sg, keys } => {
                let sg = self.real(sg)?;
                self.api
                    .delete_tags(&sg, keys)
                    .await
                    .map_err(|e| e.to_string())
            }
            ChangeKind::DeleteSecurityGroup { sg } => {
                let sg = self.real(sg)?;
                match self.api.delete_security_group(&sg).await {
                    Ok(()) => {}
                    Err(e) if e.has_code(GROUP_GONE) => {}
                    Err(e) if e.has_code(&["DependencyViolation"]) => {
                        return Err(format!(
                            "{sg} is still in use (by an ENI, a load balancer or another \
                             group's rule), so AWS refused to delete it: {e}"
                        ));
                    }
                    Err(e) => return Err(e.to_string()),
                }
                self.live.remove(&sg);
                Ok(())
            }
            ChangeKind::PatchAnnotations { .. } | ChangeKind::RecreateRequired { .. } => Ok(()),
        }
    }
}

#[cfg(test)]
#[path = "sink_tests.rs"]
mod tests;
