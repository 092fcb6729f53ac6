//! The AWS side of the world: VPC networking, security groups, ENIs, instances and ELBv2.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Section;

pub type Tags = BTreeMap<String, String>;

/// Where an EC2 rule admits traffic from. One rule has exactly one source (EC2's grouped
/// permissions are expanded, as the LBC does).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Source {
    /// IPv4 CIDR, verbatim (not canonicalised: the LBC compares strings).
    Cidr(String),
    /// IPv6 CIDR, verbatim.
    CidrV6(String),
    PrefixList(String),
    /// A referenced security group (the group id; the account is not part of identity).
    Group(String),
    /// A permission with no source at all (only seen in LBC unit tests).
    None,
}

impl Source {
    /// Kind label used by the LBC identity string.
    pub fn kind(&self) -> &'static str {
        match self {
            Source::Cidr(_) => "IpRange",
            Source::CidrV6(_) => "Ipv6Range",
            Source::PrefixList(_) => "PrefixListId",
            Source::Group(_) => "UserIdGroupPair",
            Source::None => "",
        }
    }

    pub fn value(&self) -> &str {
        match self {
            Source::Cidr(v) | Source::CidrV6(v) | Source::PrefixList(v) | Source::Group(v) => v,
            Source::None => "",
        }
    }

    /// A CIDR string goes to `Ipv6Ranges` when it contains `:`, as the LBC decides.
    pub fn from_cidr(cidr: &str) -> Self {
        if cidr.contains(':') {
            Source::CidrV6(cidr.to_string())
        } else {
            Source::Cidr(cidr.to_string())
        }
    }

    /// Parse `sg-…`, `pl-…` or a CIDR.
    pub fn parse_token(token: &str) -> Self {
        if token.starts_with("sg-") {
            Source::Group(token.to_string())
        } else if token.starts_with("pl-") {
            Source::PrefixList(token.to_string())
        } else {
            Source::from_cidr(token)
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::None => f.write_str("(no source)"),
            other => f.write_str(other.value()),
        }
    }
}

/// One inbound (or outbound) rule with one source.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Rule {
    /// EC2 spelling: `tcp`, `udp`, `icmp`, `icmpv6`, `-1` (all), or a protocol number.
    pub protocol: String,
    /// From port, or ICMP type. `None` where EC2 omits it (protocol `-1`).
    pub from_port: Option<i32>,
    /// To port, or ICMP code.
    pub to_port: Option<i32>,
    pub source: Source,
    /// Display only: never part of identity.
    pub description: String,
}

impl Rule {
    pub fn new(protocol: &str, from: i32, to: i32, source: Source, description: &str) -> Self {
        Self {
            protocol: protocol.to_string(),
            from_port: Some(from),
            to_port: Some(to),
            source,
            description: description.to_string(),
        }
    }

    /// The LBC's identity string for a rule: protocol, ports and source; never the description.
    pub fn identity(&self) -> String {
        let mut s = format!(
            "IpProtocol: {}, FromPort: {}, ToPort: {}",
            self.protocol,
            self.from_port.unwrap_or(0),
            self.to_port.unwrap_or(0)
        );
        if !matches!(self.source, Source::None) {
            s.push_str(&format!(
                ", {}: {}",
                self.source.kind(),
                self.source.value()
            ));
        }
        s
    }

    /// Identity as a comparable key (same equivalence as [`Rule::identity`]).
    pub fn key(&self) -> RuleKey {
        RuleKey {
            protocol: self.protocol.clone(),
            from_port: self.from_port.unwrap_or(0),
            to_port: self.to_port.unwrap_or(0),
            source: self.source.clone(),
        }
    }

    /// True when the rule admits every protocol.
    pub fn is_all_traffic(&self) -> bool {
        self.protocol == "-1"
    }
}

/// A rule's identity: what the LBC compares (description excluded).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RuleKey {
    pub protocol: String,
    pub from_port: i32,
    pub to_port: i32,
    pub source: Source,
}

/// A rule as AWS holds it: the rule plus its id and tags when known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SgRule {
    pub rule: Rule,
    /// `sgr-…`, from DescribeSecurityGroupRules.
    pub id: Option<String>,
    pub tags: Tags,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityGroup {
    pub id: String,
    /// EC2 `GroupName` (not the `Name` tag).
    pub name: String,
    pub description: String,
    pub vpc_id: Option<String>,
    pub owner_id: Option<String>,
    pub tags: Tags,
    pub ingress: Vec<SgRule>,
    pub egress: Vec<SgRule>,
}

impl SecurityGroup {
    /// The `Name` tag, which the LBC uses to resolve SG names in annotations.
    pub fn name_tag(&self) -> Option<&str> {
        self.tags.get("Name").map(String::as_str)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CidrBlock {
    pub cidr: String,
    /// Association state (`associated`, `disassociated`, …); `None` when not given.
    pub state: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vpc {
    pub id: String,
    pub cidr_blocks: Vec<CidrBlock>,
    pub ipv6_cidr_blocks: Vec<CidrBlock>,
    pub tags: Tags,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subnet {
    pub id: String,
    pub vpc_id: String,
    pub cidr: String,
    pub ipv6_cidrs: Vec<String>,
    pub availability_zone: Option<String>,
    pub tags: Tags,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrefixList {
    pub id: String,
    pub name: String,
    pub address_family: Option<String>,
    /// Counts against the rule quota instead of the number of entries.
    pub max_entries: Option<i32>,
    /// Entries when loaded (`GetManagedPrefixListEntries`); `None` = unknown.
    pub entries: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EniAttachment {
    pub instance_id: Option<String>,
    pub device_index: Option<i32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkInterface {
    pub id: String,
    pub subnet_id: Option<String>,
    pub vpc_id: Option<String>,
    pub description: String,
    pub interface_type: Option<String>,
    pub groups: Vec<String>,
    pub private_ips: Vec<String>,
    pub ipv6_addresses: Vec<String>,
    /// Delegated IPv4 prefixes (prefix delegation) whose addresses belong to this ENI.
    pub ipv4_prefixes: Vec<String>,
    pub ipv6_prefixes: Vec<String>,
    pub attachment: Option<EniAttachment>,
    pub status: Option<String>,
    pub tags: Tags,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceEni {
    pub id: String,
    pub device_index: i32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    pub id: String,
    pub private_ip: Option<String>,
    pub private_dns_name: Option<String>,
    pub subnet_id: Option<String>,
    pub vpc_id: Option<String>,
    pub state: Option<String>,
    pub enis: Vec<InstanceEni>,
    pub security_groups: Vec<String>,
    pub tags: Tags,
}

impl Instance {
    /// The primary ENI (device index 0), the one the LBC modifies for instance targets.
    pub fn primary_eni(&self) -> Option<&str> {
        self.enis
            .iter()
            .find(|e| e.device_index == 0)
            .map(|e| e.id.as_str())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadBalancer {
    pub arn: String,
    pub name: String,
    pub dns_name: String,
    /// `application`, `network`, `gateway`.
    pub type_: String,
    /// `internet-facing` or `internal`.
    pub scheme: String,
    /// `ipv4`, `dualstack`, `dualstack-without-public-ipv4`.
    pub ip_address_type: String,
    pub vpc_id: Option<String>,
    /// Attached SGs; empty for an NLB created without SGs.
    pub security_groups: Vec<String>,
    pub subnets: Vec<String>,
    pub state: Option<String>,
    /// `EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic` (`on`/`off`), NLB only.
    pub enforce_private_link_sg: Option<String>,
    pub tags: Tags,
    /// DescribeLoadBalancerAttributes; `None` = not loaded.
    pub attributes: Option<BTreeMap<String, String>>,
}

impl LoadBalancer {
    pub fn is_nlb(&self) -> bool {
        self.type_ == "network"
    }
    pub fn is_alb(&self) -> bool {
        self.type_ == "application"
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listener {
    pub arn: String,
    pub load_balancer_arn: String,
    pub port: i32,
    /// `HTTP`, `HTTPS`, `TCP`, `TLS`, `UDP`, `TCP_UDP`, `QUIC`, `TCP_QUIC`.
    pub protocol: String,
    /// Target groups the default actions forward to.
    pub target_group_arns: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetGroup {
    pub arn: String,
    pub name: String,
    pub protocol: Option<String>,
    pub port: Option<i32>,
    /// `instance`, `ip`, `lambda`, `alb`.
    pub target_type: String,
    pub vpc_id: Option<String>,
    pub load_balancer_arns: Vec<String>,
    /// `traffic-port` or a number.
    pub health_check_port: Option<String>,
    pub health_check_protocol: Option<String>,
    pub ip_address_type: Option<String>,
    pub tags: Tags,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetHealth {
    /// Instance id or IP.
    pub id: String,
    pub port: Option<i32>,
    pub availability_zone: Option<String>,
    pub health_check_port: Option<String>,
    /// `healthy`, `unhealthy`, `initial`, `unused`, `draining`, `unavailable`.
    pub state: String,
    pub reason: Option<String>,
    pub description: Option<String>,
}

/// The AWS side. Maps are keyed by id/ARN; `None` = not loaded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AwsSide {
    pub vpcs: Section<Vec<Vpc>>,
    pub subnets: Section<BTreeMap<String, Subnet>>,
    pub security_groups: Section<BTreeMap<String, SecurityGroup>>,
    pub prefix_lists: Section<BTreeMap<String, PrefixList>>,
    pub enis: Section<BTreeMap<String, NetworkInterface>>,
    pub instances: Section<BTreeMap<String, Instance>>,
    pub load_balancers: Section<BTreeMap<String, LoadBalancer>>,
    pub listeners: Section<BTreeMap<String, Listener>>,
    pub target_groups: Section<BTreeMap<String, TargetGroup>>,
    /// Per target group ARN; a TG absent from the map has unknown health.
    pub target_health: Section<BTreeMap<String, Vec<TargetHealth>>>,
}

impl Rule {
    /// `tcp 443`, `tcp 30000-32767`, `icmp 3/4`, `all traffic`: the protocol and ports part.
    pub fn ports_text(&self) -> String {
        match (self.protocol.as_str(), self.from_port, self.to_port) {
            ("-1", _, _) => "all traffic".to_string(),
            ("icmp" | "icmpv6", Some(-1), _) | ("icmp" | "icmpv6", None, _) => {
                format!("{} all", self.protocol)
            }
            ("icmp" | "icmpv6", Some(t), Some(-1)) => format!("{} type {t}", self.protocol),
            ("icmp" | "icmpv6", Some(t), Some(c)) => format!("{} type {t} code {c}", self.protocol),
            (p, Some(f), Some(t)) if f == t => format!("{p} {f}"),
            (p, Some(0), Some(65535)) => format!("{p} all ports"),
            (p, Some(f), Some(t)) => format!("{p} {f}-{t}"),
            (p, _, _) => format!("{p} (no ports)"),
        }
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} from {}", self.ports_text(), self.source)?;
        if !self.description.is_empty() {
            write!(f, " ({:?})", self.description)?;
        }
        Ok(())
    }
}
