//! A plan as the preview dialog (and the drift view) shows it: the core's own text rendering,
//! each line tagged with a tone so the view can colour `+`, `-`, `~`, errors and warnings.

use crate::core::plan::{ChangeKind, Plan};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Heading,
    Added,
    Removed,
    Changed,
    Error,
    Warn,
    Plain,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanLine {
    pub text: String,
    pub tone: Tone,
}

/// Tag the lines of `core::plan::render::render_text` output.
pub fn classify(text: &str) -> Vec<PlanLine> {
    let mut section = Tone::Plain;
    text.lines()
        .map(|l| {
            let t = l.trim_start();
            let tone = if l.starts_with("Errors the LBC would hit") {
                section = Tone::Error;
                Tone::Heading
            } else if l.starts_with("Warnings:") {
                section = Tone::Warn;
                Tone::Heading
            } else if l.starts_with("Exposure:") {
                section = Tone::Plain;
                Tone::Heading
            } else if l.starts_with("Plan:") || l.starts_with("No changes") {
                Tone::Heading
            } else if section != Tone::Plain && !t.is_empty() {
                section
            } else if t.contains("! widens exposure") {
                Tone::Error
            } else if t.starts_with("-/+") || t.starts_with('~') {
                Tone::Changed
            } else if t.starts_with('+') {
                Tone::Added
            } else if t.starts_with('-') {
                Tone::Removed
            } else {
                Tone::Plain
            };
            PlanLine {
                text: l.to_string(),
                tone,
            }
        })
        .collect()
}

/// A computed plan, ready to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanPreview {
    pub plan: Plan,
    pub lines: Vec<PlanLine>,
    /// Why Apply is disabled, if it is.
    pub blocked: Option<String>,
}

impl PlanPreview {
    pub fn new(plan: Plan, text: &str) -> Self {
        let blocked = if plan.changes.is_empty() {
            Some("nothing to apply".to_string())
        } else if !plan.errors.is_empty() {
            Some("the LBC would fail on this plan; fix the errors first".to_string())
        } else if plan
            .changes
            .iter()
            .all(|c| matches!(c.kind, ChangeKind::RecreateRequired { .. }))
        {
            Some("only a recreate would do it; lbsg never recreates load balancers".to_string())
        } else {
            None
        };
        Self {
            lines: classify(text),
            plan,
            blocked,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tones_follow_the_text() {
        let text = "  ~ service/a/b  [by you]\n      + k = \"v\"\n      - old\n      + inbound tcp 443 from 0.0.0.0/0  ! widens exposure\n\nErrors the LBC would hit:\n  ✗ sg-1: quota\n\nWarnings:\n  ! gitops\n\nPlan: 1 annotation patch.\n";
        let tones: Vec<Tone> = classify(text).iter().map(|l| l.tone).collect();
        assert_eq!(
            tones,
            vec![
                Tone::Changed,
                Tone::Added,
                Tone::Removed,
                Tone::Error,
                Tone::Plain,
                Tone::Heading,
                Tone::Error,
                Tone::Plain,
                Tone::Heading,
                Tone::Warn,
                Tone::Plain,
                Tone::Heading,
            ]
        );
    }

    #[test]
    fn plans_the_lbc_would_fail_on_cannot_be_applied() {
        use crate::core::plan::{Change, ChangeKind, Owner, Plan, PlanError, Risk};
        let change = Change {
            kind: ChangeKind::AuthorizeIngress {
                sg: "sg-1".into(),
                rules: Vec::new(),
            },
            owner: Owner::Lbc,
            risk: Risk::Widened,
            stack: None,
            pending: false,
        };
        let ok = Plan {
            changes: vec![change.clone()],
            ..Plan::default()
        };
        assert_eq!(PlanPreview::new(ok, "").blocked, None);
        let quota = Plan {
            changes: vec![change],
            errors: vec![PlanError {
                resource: "sg-1".into(),
                message: "61 inbound rules exceed the quota of 60".into(),
            }],
            ..Plan::default()
        };
        assert!(
            PlanPreview::new(quota, "")
                .blocked
                .unwrap()
                .contains("fix the errors")
        );
        assert!(
            PlanPreview::new(Plan::default(), "").blocked.is_some(),
            "nothing to apply"
        );
    }
}
