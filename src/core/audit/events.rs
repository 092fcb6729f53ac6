//! Controller events as evidence. The LBC reports failures as Warning events
//! (`FailedBuildModel`, `FailedDeployModel`, `FailedNetworkReconcile`, …) whose messages carry the
//! error strings the catalogue quotes. An event adds evidence to the finding a check already made
//! for the same diagnosis and resource, or stands as a finding of its own when no check could
//! decide it from the world (a live cluster may fail in ways the snapshot does not show).

use super::{Ctx, Finding, Severity};
use crate::world::Event;

/// Error texts of the catalogue, most specific first, with the diagnosis they identify.
const PATTERNS: &[(&str, &str)] = &[
    ("RulesPerSecurityGroupLimitExceeded", "D11"),
    ("SecurityGroupsPerInterfaceLimitExceeded", "D13"),
    ("requested names [", "D14"),
    ("couldn't find all securityGroups", "D14"),
    ("requested ids [", "D15"),
    ("InvalidGroup.NotFound", "D15"),
    ("conflicting securityGroups", "D16"),
    ("conflicting inbound-cidrs", "D16"),
    ("The same permission must not appear multiple times", "D17"),
    ("unsupported v6 cidr", "D18"),
    ("unsupported IPv6 configuration", "D18"),
    (
        "backendSG feature is required to manage worker node SG rules",
        "D09",
    ),
    ("conflicting security groups configuration", "D29"),
    ("failed to delete securityGroup", "D27"),
    ("DependencyViolation", "D27"),
];

/// The diagnosis an event message identifies, if any.
pub fn classify(message: &str) -> Option<&'static str> {
    if let Some(rest) = message
        .split("expected exactly one securityGroup tagged with")
        .nth(1)
    {
        // `got: []` = none tagged (D05); otherwise several (D04; D06 is decided by the check,
        // which knows whether the ENI is a branch ENI).
        return Some(if rest.contains("got: []") {
            "D05"
        } else {
            "D04"
        });
    }
    PATTERNS
        .iter()
        .find(|(needle, _)| message.contains(needle))
        .map(|(_, id)| *id)
}

/// The resource an event is about: a Service, an Ingress (its group when it is in one), or a
/// TargetGroupBinding's stack.
fn event_resource(ctx: &Ctx<'_>, e: &Event) -> String {
    match e.involved_kind.as_str() {
        "Service" => format!("service/{}", e.involved),
        "Ingress" => ctx
            .desired
            .stacks
            .values()
            .find(|s| {
                s.resources
                    .iter()
                    .any(|r| r.kind() == "ingress" && r.key() == &e.involved)
            })
            .map(|s| s.id.to_string())
            .unwrap_or_else(|| format!("ingress/{}", e.involved)),
        "TargetGroupBinding" => ctx.tgb_resource(&e.involved.to_string()),
        other => format!("{}/{}", other.to_ascii_lowercase(), e.involved),
    }
}

/// One line of evidence for an event.
pub fn event_evidence(e: &Event) -> String {
    let count = if e.count > 1 {
        format!(", {} times", e.count)
    } else {
        String::new()
    };
    format!(
        "{} event {} on {} {}{count}: {}",
        e.type_, e.reason, e.involved_kind, e.involved, e.message
    )
}

/// Add every matching Warning event to the findings: as evidence when a finding with the same id
/// and resource exists (D04/D05/D06 share one error text), else as a finding of its own.
pub fn fold_events(ctx: &Ctx<'_>, findings: &mut Vec<Finding>) {
    for e in ctx.world.kube.events.iter().flatten() {
        if e.type_ != "Warning" {
            continue;
        }
        let Some(id) = classify(&e.message) else {
            continue;
        };
        let resource = event_resource(ctx, e);
        let evidence = event_evidence(e);
        let same = |f: &Finding| {
            f.resource == resource && (f.id == id || (id == "D04" || id == "D05") && f.id == "D06")
        };
        if let Some(f) = findings.iter_mut().find(|f| same(f)) {
            if !f.evidence.contains(&evidence) {
                f.evidence.push(evidence);
            }
            continue;
        }
        let severity = match id {
            "D27" => Severity::Medium,
            _ => Severity::High,
        };
        findings.push(
            Finding::new(id, severity, resource)
                .objects([e.involved.to_string()])
                .evidence(evidence)
                .evidence(
                    "lbsg could not check this from the loaded world (part of it is not loaded, or the event is stale)",
                ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::audit::testworld::*;
    use crate::world::{Event, ObjKey};

    #[test]
    fn messages_map_to_diagnoses() {
        assert_eq!(
            classify(
                "expected exactly one securityGroup tagged with kubernetes.io/cluster/demo for eni eni-1, got: [sg-a sg-b] (clusterName: demo)"
            ),
            Some("D04")
        );
        assert_eq!(
            classify(
                "expected exactly one securityGroup tagged with kubernetes.io/cluster/demo for eni eni-1, got: [] (clusterName: demo)"
            ),
            Some("D05")
        );
        assert_eq!(
            classify(
                "Failed build model due to couldn't find all security groups: requested names [x] but found []"
            ),
            Some("D14")
        );
        assert_eq!(
            classify(
                "Failed deploy model due to RulesPerSecurityGroupLimitExceeded: The maximum number of rules per security group has been reached"
            ),
            Some("D11")
        );
        assert_eq!(classify("Successfully reconciled"), None);
    }

    fn event(reason: &str, message: &str) -> Event {
        Event {
            involved_kind: "Service".into(),
            involved: ObjKey::new("default", "web"),
            reason: reason.into(),
            message: message.into(),
            type_: "Warning".into(),
            count: 3,
            ..Event::default()
        }
    }

    #[test]
    fn an_event_alone_is_a_finding_and_a_normal_event_is_not() {
        let mut w = world();
        w.kube.events = Some(vec![event(
            "FailedDeployModel",
            "Failed deploy model due to RulesPerSecurityGroupLimitExceeded: The maximum number of rules per security group has been reached",
        )]);
        let f = findings(&w, "D11");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].resource, "service/default/web");
        assert!(f[0].evidence[0].contains("FailedDeployModel"), "{f:?}");
        assert!(f[0].evidence[0].contains("3 times"), "{f:?}");

        let mut w = world();
        let mut e = event("FailedDeployModel", "RulesPerSecurityGroupLimitExceeded");
        e.type_ = "Normal".into();
        w.kube.events = Some(vec![e]);
        assert!(findings(&w, "D11").is_empty());
    }
}
