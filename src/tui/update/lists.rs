//! Visible rows of each table view: filter and sort applied to the view models, as keys.
//! Recomputed in the reducer whenever data, filter or sort change.

use std::cmp::Ordering;

use crate::core::plan::ResourceRef;
use crate::tui::model::{ResourceRow, Severity, ViewData};
use crate::tui::state::KindFilter;

/// Sortable columns per view (the first is the default).
pub const RESOURCE_SORTS: &[&str] = &["name", "kind", "lb", "scheme", "exposure", "findings"];
pub const SG_SORTS: &[&str] = &["id", "name", "owner", "rules"];
pub const LB_SORTS: &[&str] = &["name", "type", "scheme", "health"];
pub const FINDING_SORTS: &[&str] = &["severity", "id", "resource"];

/// Substring match, case-insensitive; a leading `!` inverts.
pub fn matches(filter: &str, haystack: &str) -> bool {
    let (neg, needle) = match filter.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, filter),
    };
    if needle.is_empty() {
        return true;
    }
    haystack.to_lowercase().contains(&needle.to_lowercase()) != neg
}

fn finish<T, K>(
    mut rows: Vec<&T>,
    cmp: impl Fn(&T, &T) -> Ordering,
    reverse: bool,
    key: impl Fn(&T) -> K,
) -> Vec<K> {
    rows.sort_by(|a, b| cmp(a, b));
    if reverse {
        rows.reverse();
    }
    rows.into_iter().map(key).collect()
}

pub fn resource_text(r: &ResourceRow) -> String {
    let f: Vec<&str> = r.findings.iter().map(|f| f.1.as_str()).collect();
    format!(
        "{} {} {} {} {} {} {} {}",
        r.kind,
        r.id.key(),
        r.lb,
        r.scheme,
        r.listeners,
        r.exposure.text,
        f.join(" "),
        r.lb_kind
    )
}

pub fn resources(
    d: &ViewData,
    kind: KindFilter,
    filter: &str,
    sort: usize,
    reverse: bool,
) -> Vec<ResourceRef> {
    let rows: Vec<&ResourceRow> = d
        .resources
        .iter()
        .filter(|r| match kind {
            KindFilter::All => true,
            KindFilter::Services => r.kind == "svc",
            KindFilter::Ingresses => r.kind == "ing",
        })
        .filter(|r| matches(filter, &resource_text(r)))
        .collect();
    let worst = |r: &ResourceRow| r.worst().unwrap_or(Severity::Info);
    finish(
        rows,
        |a, b| {
            let primary = match sort {
                1 => a.kind.cmp(b.kind),
                2 => a.lb.cmp(&b.lb),
                3 => a.scheme.cmp(&b.scheme),
                4 => a.exposure.level.cmp(&b.exposure.level),
                5 => worst(a).cmp(&worst(b)),
                _ => Ordering::Equal,
            };
            primary.then_with(|| a.id.cmp(&b.id))
        },
        reverse,
        |r| r.id.clone(),
    )
}

pub fn sgs(d: &ViewData, filter: &str, sort: usize, reverse: bool) -> Vec<String> {
    let rows = d
        .sgs
        .iter()
        .filter(|s| {
            matches(
                filter,
                &format!(
                    "{} {} {} {}",
                    s.id,
                    s.name,
                    s.owner.label(),
                    s.used_by.join(" ")
                ),
            )
        })
        .collect();
    finish(
        rows,
        |a, b| {
            let p = match sort {
                1 => a.name.cmp(&b.name),
                2 => a.owner.label().cmp(b.owner.label()),
                3 => b.rules.len().cmp(&a.rules.len()),
                _ => Ordering::Equal,
            };
            p.then_with(|| a.id.cmp(&b.id))
        },
        reverse,
        |s| s.id.clone(),
    )
}

pub fn lbs(d: &ViewData, filter: &str, sort: usize, reverse: bool) -> Vec<String> {
    let rows = d
        .lbs
        .iter()
        .filter(|l| {
            matches(
                filter,
                &format!(
                    "{} {} {} {} {}",
                    l.name,
                    l.kind,
                    l.scheme,
                    l.owner,
                    l.security_groups.join(" ")
                ),
            )
        })
        .collect();
    finish(
        rows,
        |a, b| {
            let p = match sort {
                1 => a.kind.cmp(b.kind),
                2 => a.scheme.cmp(&b.scheme),
                3 => (a.healthy * b.total.max(1)).cmp(&(b.healthy * a.total.max(1))),
                _ => Ordering::Equal,
            };
            p.then_with(|| a.name.cmp(&b.name))
                .then_with(|| a.arn.cmp(&b.arn))
        },
        reverse,
        |l| l.arn.clone(),
    )
}

pub fn findings(d: &ViewData, filter: &str, sort: usize, reverse: bool) -> Vec<String> {
    let rows = d
        .findings
        .iter()
        .flatten()
        .filter(|f| {
            matches(
                filter,
                &format!("{} {} {} {}", f.id, f.severity.label(), f.resource, f.title),
            )
        })
        .collect();
    finish(
        rows,
        |a, b| {
            let p = match sort {
                1 => a.id.cmp(&b.id),
                2 => a.resource.cmp(&b.resource),
                _ => a.severity.cmp(&b.severity),
            };
            p.then_with(|| a.severity.cmp(&b.severity))
                .then_with(|| a.resource.cmp(&b.resource))
                .then_with(|| a.id.cmp(&b.id))
        },
        reverse,
        |f| f.key(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_semantics() {
        assert!(matches("", "anything"));
        assert!(matches("WEB", "svc default/web"));
        assert!(!matches("!web", "svc default/web"));
        assert!(matches("!web", "svc billing/invoices"));
    }
}
