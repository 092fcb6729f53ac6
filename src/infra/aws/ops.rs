//! Every AWS API operation lbsg calls, with its IAM action and the rate bucket it draws from.
//!
//! This list is the single source for the stats keys, the client-side budget and the IAM
//! policies in docs/iam.md (a test checks the document against it).

use std::fmt;

/// The client-side token bucket an operation draws from (see [`super::budget`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bucket {
    Ec2Describe,
    Ec2Mutate,
    ElbDescribe,
    ElbMutate,
}

impl Bucket {
    /// The account's bucket this one draws from, as AWS documents it
    /// (diagnostics-and-limits.md §4), for messages.
    pub const fn account_budget(self) -> &'static str {
        match self {
            Bucket::Ec2Describe => {
                "EC2 non-mutating request budget (100 requests burst, 20 per second)"
            }
            Bucket::Ec2Mutate => {
                "EC2 Authorize/Revoke request budget (50 requests burst, 5 per second)"
            }
            Bucket::ElbDescribe => {
                "ELBv2 Describe* request budget (40 requests burst, 10 per second)"
            }
            Bucket::ElbMutate => "ELBv2 mutating request budget",
        }
    }
}

macro_rules! ops {
    ($($variant:ident => $action:literal, $bucket:ident, $mutating:literal;)*) => {
        /// One AWS API operation.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Op { $($variant,)* }

        impl Op {
            /// Every operation, in declaration order.
            pub const ALL: &'static [Op] = &[$(Op::$variant,)*];

            /// The IAM action (`ec2:DescribeSecurityGroups`), also the stats key.
            pub const fn action(self) -> &'static str {
                match self { $(Op::$variant => $action,)* }
            }

            pub const fn bucket(self) -> Bucket {
                match self { $(Op::$variant => Bucket::$bucket,)* }
            }

            /// Whether the operation changes anything in the account.
            pub const fn is_mutating(self) -> bool {
                match self { $(Op::$variant => $mutating,)* }
            }
        }
    };
}

ops! {
    DescribeVpcs => "ec2:DescribeVpcs", Ec2Describe, false;
    DescribeSubnets => "ec2:DescribeSubnets", Ec2Describe, false;
    DescribeSecurityGroups => "ec2:DescribeSecurityGroups", Ec2Describe, false;
    DescribeSecurityGroupRules => "ec2:DescribeSecurityGroupRules", Ec2Describe, false;
    DescribeManagedPrefixLists => "ec2:DescribeManagedPrefixLists", Ec2Describe, false;
    GetManagedPrefixListEntries => "ec2:GetManagedPrefixListEntries", Ec2Describe, false;
    DescribeNetworkInterfaces => "ec2:DescribeNetworkInterfaces", Ec2Describe, false;
    DescribeInstances => "ec2:DescribeInstances", Ec2Describe, false;
    DescribeLoadBalancers => "elasticloadbalancing:DescribeLoadBalancers", ElbDescribe, false;
    DescribeLoadBalancerAttributes => "elasticloadbalancing:DescribeLoadBalancerAttributes", ElbDescribe, false;
    DescribeListeners => "elasticloadbalancing:DescribeListeners", ElbDescribe, false;
    DescribeTargetGroups => "elasticloadbalancing:DescribeTargetGroups", ElbDescribe, false;
    DescribeTargetHealth => "elasticloadbalancing:DescribeTargetHealth", ElbDescribe, false;
    DescribeTags => "elasticloadbalancing:DescribeTags", ElbDescribe, false;
    CreateSecurityGroup => "ec2:CreateSecurityGroup", Ec2Mutate, true;
    AuthorizeSecurityGroupIngress => "ec2:AuthorizeSecurityGroupIngress", Ec2Mutate, true;
    RevokeSecurityGroupIngress => "ec2:RevokeSecurityGroupIngress", Ec2Mutate, true;
    CreateTags => "ec2:CreateTags", Ec2Mutate, true;
    DeleteTags => "ec2:DeleteTags", Ec2Mutate, true;
    DeleteSecurityGroup => "ec2:DeleteSecurityGroup", Ec2Mutate, true;
    SetSecurityGroups => "elasticloadbalancing:SetSecurityGroups", ElbMutate, true;
}

/// What the sink calls besides the mutations: the re-describe that guards against a stale plan.
pub const SINK_READS: &[Op] = &[Op::DescribeSecurityGroups, Op::DescribeLoadBalancers];

impl Op {
    /// The operations of the read-only policy: everything an inventory load calls.
    pub fn read_only() -> impl Iterator<Item = Op> {
        Op::ALL.iter().copied().filter(|o| !o.is_mutating())
    }

    /// The operations of the apply policy: what the sink calls.
    pub fn apply() -> impl Iterator<Item = Op> {
        SINK_READS
            .iter()
            .copied()
            .chain(Op::ALL.iter().copied().filter(|o| o.is_mutating()))
    }

    /// The operation name as the SDK reports it (`DescribeSecurityGroups`).
    pub fn name(self) -> &'static str {
        self.action()
            .split_once(':')
            .map(|(_, n)| n)
            .unwrap_or(self.action())
    }

    /// The operation for an IAM action string, if lbsg calls it.
    pub fn from_action(action: &str) -> Option<Op> {
        Op::ALL.iter().copied().find(|o| o.action() == action)
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.action())
    }
}

/// IAM prefix for the SDK's service name (`EC2`, `Elastic Load Balancing v2`).
pub fn iam_prefix(sdk_service: &str) -> String {
    match sdk_service {
        "EC2" => "ec2".to_string(),
        "Elastic Load Balancing v2" => "elasticloadbalancing".to_string(),
        other => other.to_lowercase().replace(' ', ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_unique_and_well_formed() {
        let mut seen = std::collections::BTreeSet::new();
        for op in Op::ALL {
            assert!(seen.insert(op.action()), "duplicate {op}");
            let (svc, name) = op.action().split_once(':').unwrap_or(("", ""));
            assert!(matches!(svc, "ec2" | "elasticloadbalancing"), "{op}");
            assert!(name.starts_with(char::is_uppercase), "{op}");
            assert_eq!(Op::from_action(op.action()), Some(*op));
            let elb = svc == "elasticloadbalancing";
            let want = match (elb, op.is_mutating()) {
                (false, false) => Bucket::Ec2Describe,
                (false, true) => Bucket::Ec2Mutate,
                (true, false) => Bucket::ElbDescribe,
                (true, true) => Bucket::ElbMutate,
            };
            assert_eq!(op.bucket(), want, "{op}");
        }
    }

    #[test]
    fn read_only_policy_has_no_mutation_and_apply_reads_little() {
        assert!(Op::read_only().all(|o| !o.is_mutating()));
        assert!(Op::apply().filter(|o| !o.is_mutating()).count() == SINK_READS.len());
        assert!(Op::apply().any(|o| o == Op::SetSecurityGroups));
        // Egress is never touched, so no egress action may appear anywhere.
        assert!(Op::ALL.iter().all(|o| !o.action().contains("Egress")));
    }

    /// The `Action` lists of the JSON policy that follows `heading` in docs/iam.md.
    fn policy_actions(doc: &str, heading: &str) -> std::collections::BTreeSet<String> {
        let start = doc
            .find(heading)
            .unwrap_or_else(|| panic!("{heading} missing"));
        let rest = &doc[start..];
        let json_start = rest.find("```json").expect("a json block") + "```json".len();
        let json_end = json_start + rest[json_start..].find("```").expect("closed block");
        let policy: serde_json::Value =
            serde_json::from_str(&rest[json_start..json_end]).expect("valid JSON policy");
        let mut actions = std::collections::BTreeSet::new();
        for st in policy["Statement"].as_array().expect("statements") {
            assert_eq!(st["Effect"], "Allow");
            for a in st["Action"].as_array().expect("action list") {
                let a = a.as_str().expect("string action").to_string();
                assert!(
                    actions.insert(a.clone()),
                    "{a} listed twice under {heading}"
                );
            }
        }
        actions
    }

    #[test]
    fn iam_doc_lists_exactly_the_operations_the_code_calls() {
        let doc = include_str!("../../../docs/iam.md");
        let read: std::collections::BTreeSet<String> =
            Op::read_only().map(|o| o.action().to_string()).collect();
        let apply: std::collections::BTreeSet<String> =
            Op::apply().map(|o| o.action().to_string()).collect();
        assert_eq!(policy_actions(doc, "## Read-only policy"), read);
        assert_eq!(policy_actions(doc, "## Apply policy"), apply);
    }

    #[test]
    fn sdk_service_names_map_to_iam_prefixes() {
        assert_eq!(iam_prefix("EC2"), "ec2");
        assert_eq!(
            iam_prefix("Elastic Load Balancing v2"),
            "elasticloadbalancing"
        );
        assert_eq!(Op::DescribeTags.name(), "DescribeTags");
    }
}
