//! Applying rules to target SGs and collecting the garbage (lbc-semantics §8.5, §8.6).
//!
//! On a target SG the LBC owns only the rules whose description parses to the label
//! `elbv2.k8s.aws/targetGroupBinding=shared`; it revokes nothing until it has computed every
//! binding with networking, and then clears cluster-tagged SGs nobody references any more.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use regex::Regex;

use crate::world::{Rule, Source};

use super::aggregate::{PerTgb, aggregate};
use super::{TGB_LABEL_KEY, TGB_LABEL_VALUE};

/// The LBC's `key=value` pattern for rule descriptions (`buildIPPermissionLabelsForDescription`);
/// Go's `\s` is ASCII whitespace without `\v`, spelled out here.
static LABEL_PAIR: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"([^\t\n\f\r ,=]+)=([^\t\n\f\r ,=]+)(?:,|$)").ok());

/// The labels of a rule description: every `key=value` pair the LBC's pattern finds, a later
/// pair overriding an earlier one with the same key.
pub fn description_labels(description: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    if let Some(re) = LABEL_PAIR.as_ref() {
        for cap in re.captures_iter(description) {
            if let (Some(k), Some(v)) = (cap.get(1), cap.get(2)) {
                labels.insert(k.as_str().to_string(), v.as_str().to_string());
            }
        }
    }
    labels
}

/// Whether the LBC considers an existing rule on a target SG its own (and may revoke it).
/// A rule without a single source carries no labels at all.
pub fn is_lbc_managed(rule: &Rule) -> bool {
    !matches!(rule.source, Source::None) && description_is_managed(&rule.description)
}

/// Whether a description carries `elbv2.k8s.aws/targetGroupBinding=shared`.
pub fn description_is_managed(description: &str) -> bool {
    // The label can only parse out of a description that contains it verbatim; most rules'
    // descriptions do not, and the regex is the cost of garbage collection on big accounts.
    if !description.contains(super::SHARED_RULE_DESCRIPTION) {
        return false;
    }
    description_labels(description)
        .get(TGB_LABEL_KEY)
        .is_some_and(|v| v == TGB_LABEL_VALUE)
}

/// What the LBC does to one target SG.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetSgChanges {
    /// Desired rules missing from the SG, in identity order.
    pub authorize: Vec<Rule>,
    /// LBC-owned rules on the SG that are not desired, in identity order (empty when
    /// authorize-only).
    pub revoke: Vec<Rule>,
}

impl TargetSgChanges {
    pub fn is_empty(&self) -> bool {
        self.authorize.is_empty() && self.revoke.is_empty()
    }
}

/// Diff a target SG's inbound rules against the desired ones by identity. Only LBC-owned
/// rules are revoked, and none while `authorize_only` (not every binding computed yet).
pub fn reconcile_target_sg(
    desired: &[Rule],
    current: &[Rule],
    authorize_only: bool,
) -> TargetSgChanges {
    let index = |rules: &[Rule]| -> BTreeMap<String, Rule> {
        rules.iter().map(|r| (r.identity(), r.clone())).collect()
    };
    let (want, have) = (index(desired), index(current));
    let authorize = want
        .iter()
        .filter(|(id, _)| !have.contains_key(*id))
        .map(|(_, r)| r.clone())
        .collect();
    let revoke = if authorize_only {
        Vec::new()
    } else {
        have.iter()
            .filter(|(id, r)| !want.contains_key(*id) && is_lbc_managed(r))
            .map(|(_, r)| r.clone())
            .collect()
    };
    TargetSgChanges { authorize, revoke }
}

/// The networking manager's memory: each binding's last computed rules per target SG, and the
/// endpoint SGs it has written to since it started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkingState {
    pub permissions_by_tgb: PerTgb,
    pub tracked_sgs: BTreeSet<String>,
}

impl NetworkingState {
    /// Record one binding's computed rules (`None` = cleaned up) and track its SGs.
    pub fn record(&mut self, tgb: &str, per_sg: Option<BTreeMap<String, Vec<Rule>>>) {
        let per_sg = per_sg.unwrap_or_default();
        self.tracked_sgs.extend(per_sg.keys().cloned());
        self.permissions_by_tgb.insert(tgb.to_string(), per_sg);
    }

    /// Forget bindings that no longer have networking; true when every binding with networking
    /// has been computed (only then does the LBC revoke and collect garbage).
    pub fn consolidate(&mut self, tgbs_with_networking: &BTreeSet<String>) -> bool {
        self.permissions_by_tgb
            .retain(|k, _| tgbs_with_networking.contains(k));
        self.permissions_by_tgb.len() == tgbs_with_networking.len()
    }

    /// The cluster-wide rules per target SG.
    pub fn aggregated(&self, restricted: bool) -> BTreeMap<String, Vec<Rule>> {
        aggregate(&self.permissions_by_tgb, restricted)
    }

    /// `AttemptGarbageCollection`: `None` while some binding with networking is not computed;
    /// otherwise each endpoint SG to reconcile with the rules it should keep — none: the
    /// cluster-tagged SGs of the VPC (`discovered`) plus those this process wrote to, minus
    /// those still receiving rules, lose every LBC-owned rule.
    pub fn attempt_gc(
        &mut self,
        tgbs_with_networking: &BTreeSet<String>,
        discovered: &BTreeSet<String>,
        restricted: bool,
    ) -> Option<BTreeMap<String, Vec<Rule>>> {
        if !self.consolidate(tgbs_with_networking) {
            return None;
        }
        self.tracked_sgs.extend(discovered.iter().cloned());
        let used = self.aggregated(restricted);
        Some(
            self.tracked_sgs
                .iter()
                .filter(|sg| !used.contains_key(*sg))
                .map(|sg| (sg.clone(), Vec::new()))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(from: i32, desc: &str) -> Rule {
        Rule::new("tcp", from, from, Source::Group("sg-be".into()), desc)
    }

    #[test]
    fn label_pattern_needs_a_comma_or_the_end_after_the_value() {
        assert!(description_is_managed(
            "a=b,elbv2.k8s.aws/targetGroupBinding=shared"
        ));
        assert!(!description_is_managed(
            "elbv2.k8s.aws/targetGroupBinding=shared (manual)"
        ));
        assert!(!description_is_managed(
            "elbv2.k8s.aws/targetGroupBinding=sharedx"
        ));
        // a later pair with the same key wins
        assert!(!description_is_managed(
            "elbv2.k8s.aws/targetGroupBinding=shared,elbv2.k8s.aws/targetGroupBinding=no"
        ));
        assert_eq!(
            description_labels("x a=b=c,d=e"),
            BTreeMap::from([("b".into(), "c".into()), ("d".into(), "e".into())])
        );
    }

    #[test]
    fn revokes_only_owned_rules_and_ignores_descriptions_for_identity() {
        let shared = super::super::SHARED_RULE_DESCRIPTION;
        let desired = [rule(80, shared)];
        let current = [
            rule(80, "edited by hand"),
            rule(81, shared),
            rule(82, "ssh"),
        ];
        let got = reconcile_target_sg(&desired, &current, false);
        assert_eq!(got.authorize, vec![]);
        assert_eq!(got.revoke, vec![rule(81, shared)]);
        assert!(
            reconcile_target_sg(&desired, &current, true)
                .revoke
                .is_empty()
        );
    }

    #[test]
    fn gc_waits_for_every_binding_then_clears_unused_tracked_and_discovered_sgs() {
        let mut st = NetworkingState::default();
        let with_net: BTreeSet<String> = ["ns/a".to_string(), "ns/b".to_string()].into();
        let discovered: BTreeSet<String> = ["sg-1".to_string(), "sg-2".to_string()].into();
        st.record(
            "ns/a",
            Some(BTreeMap::from([("sg-1".into(), vec![rule(80, "")])])),
        );
        st.record("ns/gone", Some(BTreeMap::from([("sg-3".into(), vec![])])));
        assert_eq!(st.attempt_gc(&with_net, &discovered, true), None);
        st.record("ns/b", None);
        assert_eq!(
            st.attempt_gc(&with_net, &discovered, true),
            Some(BTreeMap::from([
                ("sg-2".to_string(), vec![]),
                ("sg-3".to_string(), vec![])
            ]))
        );
    }
}
