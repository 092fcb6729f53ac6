//! The catalogue: one entry per diagnosis id, with the title every finding of that id carries
//! and a one-paragraph description (SARIF rule metadata, `docs/diagnoses.md`).

use super::Severity;

/// One diagnosis id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub id: &'static str,
    /// The usual severity (a finding may be rated higher or lower by what it finds).
    pub severity: Severity,
    /// A short name in PascalCase (SARIF `reportingDescriptor.name`).
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    /// Whether lbsg checks it from a World (D28 needs endpoint-service data no World holds).
    pub checked: bool,
}

const fn e(
    id: &'static str,
    severity: Severity,
    name: &'static str,
    title: &'static str,
    description: &'static str,
) -> Entry {
    Entry {
        id,
        severity,
        name,
        title,
        description,
        checked: true,
    }
}

pub const ENTRIES: &[Entry] = &[
    e(
        "D01",
        Severity::Low,
        "LegacyNlbWithoutSecurityGroups",
        "NLB has no security groups and can never get them",
        "An LBC NLB created without security groups (before v2.6, or with NLBSecurityGroup off or disable-nlb-sg) cannot gain any: AWS only sets NLB SGs at creation. Filtering happens on the targets' SGs. Migrating needs a new NLB (recreate the Service, plan the DNS cut-over).",
    ),
    e(
        "D02",
        Severity::Low,
        "ServiceNotReconciledByLbc",
        "Service is not reconciled by the LBC: its LBC annotations are ignored",
        "A type: LoadBalancer Service without spec.loadBalancerClass whose aws-load-balancer-type is absent or nlb is handled by the in-tree/cloud-controller-manager provider; the LBC never looks at it. Set loadBalancerClass service.k8s.aws/nlb or aws-load-balancer-type external at creation (changing it later recreates the LB).",
    ),
    e(
        "D03",
        Severity::Medium,
        "MisplacedAnnotationPrefix",
        "Annotation for the other object kind is ignored",
        "alb.ingress.kubernetes.io/* keys on a Service, or service.beta.kubernetes.io/* keys on an Ingress, have no effect. Use the key of the object's own kind.",
    ),
    e(
        "D04",
        Severity::High,
        "SeveralClusterTaggedSgsOnTargetEni",
        "Several cluster-tagged SGs on a target ENI: the LBC adds no target rule",
        "The LBC writes target rules to the one SG of an ENI tagged kubernetes.io/cluster/<cluster>; with two or more it fails the TargetGroupBinding and the targets stay unreachable. Leave the tag on exactly one SG, or run the LBC with --service-target-eni-security-group-tags and tag the intended SG.",
    ),
    e(
        "D05",
        Severity::High,
        "NoClusterTaggedSgOnTargetEni",
        "No cluster-tagged SG on a multi-SG target ENI (or wrong --cluster-name)",
        "A target ENI with several SGs needs exactly one tagged kubernetes.io/cluster/<cluster> for the controller's --cluster-name. Tag one, or fix --cluster-name.",
    ),
    e(
        "D06",
        Severity::High,
        "PodEniSgSelection",
        "Security groups for pods: the LBC cannot choose the pod ENI's SG",
        "An ip target on a branch ENI (security groups for pods) has several SGs and not exactly one cluster-tagged. Make exactly one pod SG cluster-tagged (or use the extra-tag flag), or add the backend SG rule to the pod SG by hand.",
    ),
    e(
        "D07",
        Severity::High,
        "CustomFrontendSgBackendRulesNotManaged",
        "Custom frontend SG, backend rules not managed: targets unreachable",
        "With security-groups set and manage-backend-security-group-rules absent or false, the LBC adds no rule to the targets' SGs. Unless someone added one by hand, traffic and health checks are blocked. Set manage-backend-security-group-rules to true (needs the backend SG feature), or add the rules by hand.",
    ),
    e(
        "D08",
        Severity::Medium,
        "BackendSgHasInboundRules",
        "Inbound rules on the shared backend SG open every load balancer",
        "The backend SG (elbv2.k8s.aws/resource=backend-sg) has no inbound rules by design; it is only a source in target rules. It is attached to every LBC load balancer, so an inbound rule on it admits those sources to all of them. Put frontend rules on the frontend SG.",
    ),
    e(
        "D09",
        Severity::High,
        "ManageBackendRulesWithoutBackendSg",
        "Backend rule management requested while the backend SG feature is off",
        "manage-backend-security-group-rules true with a custom frontend SG needs --enable-backend-security-group; the LBC fails with 'backendSG feature is required to manage worker node SG rules when frontendSG is manually specified'. Enable the flag or drop the annotation and manage rules by hand.",
    ),
    e(
        "D10",
        Severity::High,
        "HealthCheckPortBlocked",
        "Health checks blocked: the targets' SGs do not admit the health-check port",
        "The targets admit the load balancer on the traffic port but not on a different health-check port (custom port, or healthCheckNodePort with externalTrafficPolicy Local), so targets fail health checks. Allow the health-check port from the LB's SG or the backend SG (legacy NLB: from the LB subnets).",
    ),
    e(
        "D11",
        Severity::Medium,
        "FrontendSgRuleQuota",
        "Managed frontend SG at or near the inbound rule quota",
        "The managed SG holds one rule per listener port and source (prefix lists count at their max entries), per address family; the default quota is 60. Past it the LBC fails with RulesPerSecurityGroupLimitExceeded and may briefly revoke rules on retry. Consolidate CIDRs, use a prefix list, split across custom SGs, or raise the quota.",
    ),
    e(
        "D12",
        Severity::Medium,
        "TargetSgRuleQuota",
        "Target (node) SG at or near the inbound rule quota",
        "Legacy SG-less NLBs and per-service rules add CIDR×port rules to the same node SG. Near 60 rules new Services stay pending. Move to SG-mode NLBs (one backend-SG rule per protocol) or manage one broad rule yourself.",
    ),
    e(
        "D13",
        Severity::Low,
        "SgsPerInterfaceQuota",
        "Security groups per network interface at the quota",
        "An ENI or load balancer already carries 5 SGs (the default quota): adding one more (for example the backend SG when turning on rule management) fails with SecurityGroupsPerInterfaceLimitExceeded.",
    ),
    e(
        "D14",
        Severity::High,
        "SecurityGroupNameNotResolved",
        "SG name in the security-groups annotation does not resolve",
        "The LBC resolves names by the Name tag in the cluster's VPC, never by GroupName; the model build fails with 'couldn't find all security groups'. Use the sg- id, or tag the SG Name=<value>.",
    ),
    e(
        "D15",
        Severity::High,
        "SecurityGroupIdNotFound",
        "SG id in the security-groups annotation does not exist",
        "The annotation names an SG id that is deleted or in another account or Region; the model build fails with 'requested ids [...] but found [...]'. Correct the id.",
    ),
    e(
        "D16",
        Severity::High,
        "IngressGroupConflict",
        "Conflicting settings inside an IngressGroup",
        "Members of one IngressGroup set different security-groups, or different inbound-cidrs for the same port; the whole group fails to reconcile. Set the value on one member only, or make them identical.",
    ),
    e(
        "D17",
        Severity::Medium,
        "DuplicateSourceCidr",
        "Duplicate CIDR in the allow list",
        "The same network appears twice in loadBalancerSourceRanges / source-ranges / inbound-cidrs. Written differently (10.0.0.0/8 and 10.0.0.0/08), EC2 stores one rule while the LBC keeps asking for both: 'The same permission must not appear multiple times'. De-duplicate.",
    ),
    e(
        "D18",
        Severity::Medium,
        "DualstackIpv6Rules",
        "Dual-stack load balancer without IPv6 allow rules, or IPv6 configuration on an IPv4 LB",
        "A dualstack LB whose frontend SGs admit no IPv6 source on a listener port times out for IPv6 clients; an IPv6 CIDR on an IPv4-only LB fails the model build ('unsupported v6 cidr … when lb is not dualstack'). Add IPv6 sources, or make the LB dualstack first.",
    ),
    e(
        "D19",
        Severity::Medium,
        "InternalLbOpenToWorld",
        "Internal load balancer whose managed SG admits 0.0.0.0/0",
        "With no source ranges the managed SG admits 0.0.0.0/0 even on an internal LB, so anything routed into the VPC (peering, Transit Gateway, VPN, Direct Connect) can connect. Set spec.loadBalancerSourceRanges / inbound-cidrs to the intended CIDRs.",
    ),
    e(
        "D20",
        Severity::Low,
        "InternalLegacyNlbVpcOnly",
        "Internal legacy NLB preserving client IPs admits only the VPC's CIDRs",
        "An SG-less internal NLB with client IP preservation and no source ranges gets node rules from the VPC CIDRs only: clients from peered VPCs or on-premises are dropped. Set the source ranges to include them.",
    ),
    e(
        "D21",
        Severity::Low,
        "SourceRangeIgnored",
        "Source ranges set where the LBC does not read them",
        "spec.loadBalancerSourceRanges wins over the source-ranges annotation; custom security groups make the LBC ignore both (and prefix lists); IngressClassParams inboundCIDRs win over the inbound-cidrs annotation. Edit the setting that is in force.",
    ),
    e(
        "D22",
        Severity::High,
        "SourceRangesLeakThroughSharedNodeSg",
        "Legacy NLB admits more clients than its source ranges",
        "On an SG-less NLB the targets' SGs are the only filter, and SG rules are a union per ENI: another rule for the same port (another Service's wider range, a hand-made rule) admits clients this Service's source ranges exclude. Move to SG-mode NLBs or give every Service explicit ranges.",
    ),
    e(
        "D23",
        Severity::Low,
        "LegacyHealthRulesOpenSubnets",
        "Legacy health-check rules open the target port to whole subnets",
        "An SG-less NLB's health-check rules admit the NLB's subnet CIDRs, so every workload in those subnets reaches the target port. SG-mode NLBs reference the NLB's SG instead.",
    ),
    e(
        "D24",
        Severity::Low,
        "RestrictedRuleSpansRange",
        "One target rule spans a wide port range",
        "The LBC collapses all bindings with the same source SG and protocol into one rule from the lowest to the highest port; every port in between is open to every load balancer carrying that SG. Usually acceptable (the source is an SG); otherwise use custom backend SGs or manual rules.",
    ),
    e(
        "D25",
        Severity::Medium,
        "ControllerWillRevertRules",
        "Rules on controller-managed SGs differ from what the LBC reconciles",
        "The LBC fully reconciles managed frontend SGs and its labelled target rules: rules added by hand are revoked, rules removed by hand (or by a remediation bot) come back on its next sync — and until then traffic may be blocked. Express intent through annotations, or use a custom SG.",
    ),
    e(
        "D26",
        Severity::Low,
        "BindingWithoutReadyTargets",
        "Binding has no ready targets: the LBC revokes its rules",
        "When a TargetGroupBinding has no ready endpoints (or no eligible nodes), the LBC computes no rules for it and revokes its labelled rules; targets flip unhealthy until the rules are authorized again. Investigate readiness; expect Authorize/Revoke churn in CloudTrail.",
    ),
    e(
        "D27",
        Severity::Low,
        "LeftoverSecurityGroup",
        "Leftover or stuck LBC security group",
        "A managed SG whose Service/Ingress is gone, a backend SG left after disabling the feature, or an SG still referenced by rules while its owner is deleting (stuck finalizer, DependencyViolation). Remove the referencing rules, then delete the SG.",
    ),
    Entry {
        id: "D28",
        severity: Severity::Medium,
        name: "PrivateLinkTrafficBlocked",
        title: "NLB SG blocks PrivateLink / API Gateway VPC-link traffic",
        description: "With EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic on (the default), an NLB behind an endpoint service filters PrivateLink traffic by the consumers' private IPs. Not decidable from a World: it holds no endpoint-service configurations.",
        checked: false,
    },
    e(
        "D29",
        Severity::High,
        "NlbSecurityGroupSettingFlipped",
        "NLB security-group setting changed after creation",
        "The NLB has SGs but the controller now runs with NLBSecurityGroup=false or the Service gained disable-nlb-sg true: the LBC fails with 'conflicting security groups configuration'. Revert the setting or recreate the Service.",
    ),
    e(
        "D30",
        Severity::High,
        "TooManySgsOnLoadBalancer",
        "More security groups on the load balancer than the quota allows",
        "The security-groups annotation plus the backend SG (appended when backend rules are managed) exceed 5 SGs; SetSecurityGroups fails. Use at most 4 custom SGs when backend rules are managed.",
    ),
    e(
        "X01",
        Severity::Critical,
        "HighRiskPortOpenToInternet",
        "High-risk port open to the internet (Security Hub EC2.19)",
        "An SG attached to a load balancer or network interface admits 0.0.0.0/0 or ::/0 on a port of the EC2.19 list (20, 21, 22, 23, 25, 110, 135, 143, 445, 1433, 1434, 3000, 3306, 3389, 4333, 5000, 5432, 5500, 5601, 8080, 8088, 8888, 9200, 9300).",
    ),
    e(
        "X02",
        Severity::High,
        "InternetExposureBeyondWebPorts",
        "Internet exposure beyond 80/443 (Security Hub EC2.18)",
        "An SG in use admits 0.0.0.0/0 or ::/0 on ports other than 80 and 443 that no listener of its load balancers serves (the frontend SG of an internet-facing LB), or on any port other than 80/443 (an SG of a network interface).",
    ),
    e(
        "X03",
        Severity::Medium,
        "InternalLbCustomSgOpenToWorld",
        "Internal load balancer whose custom SG admits 0.0.0.0/0",
        "A user-managed frontend SG of an internal load balancer admits 0.0.0.0/0 or ::/0 on a listener port: anything routed into the VPC can connect. Narrow the rule to the intended CIDRs.",
    ),
    e(
        "X04",
        Severity::Low,
        "WidePortRangeToTargets",
        "Wide port range reaching targets",
        "A rule not managed by the LBC on an SG of a target ENI admits an address range or a load balancer's SG on 1,000 ports or more (or all traffic): far more than the load balancer needs.",
    ),
    e(
        "X05",
        Severity::Medium,
        "CustomFrontendSgRuleQuota",
        "Custom frontend SG at or near the inbound rule quota",
        "A user-managed frontend SG holds at least 90% of the 60 inbound rules allowed per address family: the next CIDR or port may fail with RulesPerSecurityGroupLimitExceeded.",
    ),
    e(
        "X06",
        Severity::Low,
        "UnusedClusterSecurityGroup",
        "Cluster-tagged security group not used by anything",
        "An SG tagged kubernetes.io/cluster/<cluster> is attached to no load balancer or loaded network interface and referenced by no rule. It may be a leftover; tagged, it can also confuse target SG selection if someone attaches it.",
    ),
];

/// The catalogue entry of an id.
pub fn entry(id: &str) -> Option<&'static Entry> {
    ENTRIES.iter().find(|e| e.id == id)
}

/// The title every finding of `id` carries.
pub fn title(id: &str) -> &'static str {
    entry(id).map_or("Unknown diagnosis", |e| e.title)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_id_once_and_in_order() {
        let ids: Vec<&str> = ENTRIES.iter().map(|e| e.id).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(ids, sorted);
        assert_eq!(ids.iter().filter(|i| i.starts_with('D')).count(), 30);
        assert!(
            ENTRIES
                .iter()
                .all(|e| e.name.chars().all(char::is_alphanumeric))
        );
    }
}
