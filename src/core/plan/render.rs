//! Plans as text, read like `terraform plan`: grouped by resource, `+`/`-`/`~`, owners, risk.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::{Change, ChangeKind, Owner, Plan, Risk};
use crate::world::World;

/// A human label for an SG or LB id: the id plus its name when the world knows it.
pub fn label(world: &World, id: &str) -> String {
    if let Some(sg) = world.aws.security_groups.as_ref().and_then(|m| m.get(id)) {
        let name = sg.name_tag().unwrap_or(&sg.name);
        if !name.is_empty() {
            return format!("{id} ({name})");
        }
    }
    if let Some(lb) = world.aws.load_balancers.as_ref().and_then(|m| m.get(id)) {
        return format!("load balancer {} ({})", lb.name, lb.type_);
    }
    if let Some(name) = id.strip_prefix("$new:") {
        return format!("new security group {name}");
    }
    id.to_string()
}

fn owner_text(o: Owner) -> &'static str {
    match o {
        Owner::Lbc => "by the LBC",
        Owner::User => "by you",
    }
}

fn risk_text(r: Risk) -> &'static str {
    match r {
        Risk::Widened => "  ! widens exposure",
        Risk::Narrowed => "  narrows exposure",
        Risk::Unchanged => "",
    }
}

/// Render a plan. `exposure` lines (if any) are appended under "Exposure:".
pub fn render_text(world: &World, plan: &Plan, exposure: &[String]) -> String {
    let mut out = String::new();
    let mut groups: BTreeMap<(u8, String), Vec<&Change>> = BTreeMap::new();
    for c in &plan.changes {
        // the patch first, then AWS objects in id order
        let rank = u8::from(!matches!(c.kind, ChangeKind::PatchAnnotations { .. }));
        groups.entry((rank, c.kind.subject())).or_default().push(c);
    }
    if plan.changes.is_empty() {
        out.push_str("No changes. The LBC would leave AWS as it is.\n");
    }
    for ((_, subject), changes) in &groups {
        let first = changes[0];
        let sym = match &first.kind {
            ChangeKind::CreateSecurityGroup { .. } => "+",
            ChangeKind::DeleteSecurityGroup { .. } => "-",
            ChangeKind::RecreateRequired { .. } => "-/+",
            _ => "~",
        };
        let _ = writeln!(
            out,
            "  {sym} {}  [{}]",
            label(world, subject),
            owner_text(first.owner)
        );
        for c in changes {
            if c.pending {
                out.push_str("      (already pending: the LBC would do this without the edit)\n");
            }
            render_change(world, c, &mut out);
        }
        out.push('\n');
    }
    if !plan.errors.is_empty() {
        out.push_str("Errors the LBC would hit:\n");
        for e in &plan.errors {
            let _ = writeln!(out, "  ✗ {}: {}", e.resource, e.message);
        }
        out.push('\n');
    }
    if !plan.warnings.is_empty() {
        out.push_str("Warnings:\n");
        for w in &plan.warnings {
            let _ = writeln!(out, "  ! {w}");
        }
        out.push('\n');
    }
    if !exposure.is_empty() {
        out.push_str("Exposure:\n");
        for e in exposure {
            let _ = writeln!(out, "  {e}");
        }
        out.push('\n');
    }
    let _ = writeln!(out, "{}", summary(plan));
    out
}

fn render_change(world: &World, c: &Change, out: &mut String) {
    let risk = risk_text(c.risk);
    match &c.kind {
        ChangeKind::PatchAnnotations {
            resource_version,
            set,
            unset,
            ..
        } => {
            let _ = writeln!(
                out,
                "      annotations (merge patch at resourceVersion {resource_version}):"
            );
            for (k, v) in set {
                let _ = writeln!(out, "      + {k} = {v:?}");
            }
            for k in unset {
                let _ = writeln!(out, "      - {k}");
            }
        }
        ChangeKind::CreateSecurityGroup {
            name,
            description,
            tags,
            ..
        } => {
            let _ = writeln!(out, "      + name {name:?}, description {description:?}");
            for (k, v) in tags {
                let _ = writeln!(out, "      + tag {k} = {v:?}");
            }
        }
        ChangeKind::DeleteSecurityGroup { .. } => {
            let _ = writeln!(out, "      - delete the security group{risk}");
        }
        ChangeKind::AuthorizeIngress { rules, .. } => {
            for r in rules {
                let src = label(world, r.source.value());
                let _ = writeln!(
                    out,
                    "      + inbound {} from {src}{}{risk}",
                    r.ports_text(),
                    desc(&r.description)
                );
            }
        }
        ChangeKind::RevokeIngress {
            rules, rule_ids, ..
        } => {
            for (i, r) in rules.iter().enumerate() {
                let id = rule_ids
                    .get(i)
                    .and_then(|x| x.as_deref())
                    .map(|x| format!(" [{x}]"))
                    .unwrap_or_default();
                let src = label(world, r.source.value());
                let _ = writeln!(
                    out,
                    "      - inbound {} from {src}{}{id}{risk}",
                    r.ports_text(),
                    desc(&r.description)
                );
            }
        }
        ChangeKind::SetSecurityGroups {
            load_balancer,
            security_groups,
            private_link,
        } => {
            let before = world
                .aws
                .load_balancers
                .as_ref()
                .and_then(|m| m.get(load_balancer))
                .map(|lb| lb.security_groups.join(", "))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "      ~ security groups: [{before}] → [{}]{risk}",
                security_groups.join(", ")
            );
            if let Some(p) = private_link {
                let _ = writeln!(
                    out,
                    "      ~ enforce SG inbound rules on PrivateLink traffic: {p}"
                );
            }
        }
        ChangeKind::CreateTags { tags, .. } => {
            for (k, v) in tags {
                let _ = writeln!(out, "      + tag {k} = {v:?}");
            }
        }
        ChangeKind::DeleteTags { keys, .. } => {
            for k in keys {
                let _ = writeln!(out, "      - tag {k}");
            }
        }
        ChangeKind::RecreateRequired { reason, .. } => {
            let _ = writeln!(out, "      recreate required: {reason}");
        }
    }
}

fn desc(d: &str) -> String {
    if d.is_empty() {
        String::new()
    } else {
        format!(" {d:?}")
    }
}

/// `Plan: 1 annotation patch, 3 AWS changes (3 by the LBC, 0 by you); 1 widens exposure.`
pub fn summary(plan: &Plan) -> String {
    let patches = plan
        .changes
        .iter()
        .filter(|c| matches!(c.kind, ChangeKind::PatchAnnotations { .. }))
        .count();
    let aws: Vec<&Change> = plan.changes.iter().filter(|c| c.kind.is_aws()).collect();
    let by_lbc = aws.iter().filter(|c| c.owner == Owner::Lbc).count();
    let widen = plan
        .changes
        .iter()
        .filter(|c| c.risk == Risk::Widened)
        .count();
    let mut s = format!(
        "Plan: {patches} annotation patch{}, {} AWS change{} ({by_lbc} by the LBC, {} by you)",
        if patches == 1 { "" } else { "es" },
        aws.len(),
        if aws.len() == 1 { "" } else { "s" },
        aws.len() - by_lbc
    );
    if widen > 0 {
        let _ = write!(
            s,
            "; {widen} widen{} exposure",
            if widen == 1 { "s" } else { "" }
        );
    }
    if !plan.errors.is_empty() {
        let _ = write!(
            s,
            "; {} error{}",
            plan.errors.len(),
            if plan.errors.len() == 1 { "" } else { "s" }
        );
    }
    s.push('.');
    s
}
