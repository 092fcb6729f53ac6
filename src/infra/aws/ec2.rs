//! EC2 SDK types → World types. Pure functions; no SDK type leaves this module.

use std::collections::BTreeMap;

use aws_sdk_ec2::types as sdk;

use crate::world::{
    CidrBlock, EniAttachment, Instance, InstanceEni, NetworkInterface, PrefixList, Rule,
    SecurityGroup, SgRule, Source, Subnet, Tags, Vpc,
};

pub fn tags(t: &[sdk::Tag]) -> Tags {
    t.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
        .collect()
}

fn s(v: Option<&str>) -> String {
    v.unwrap_or_default().to_string()
}

fn o(v: Option<&str>) -> Option<String> {
    v.map(str::to_string)
}

pub fn vpc(v: &sdk::Vpc) -> Vpc {
    Vpc {
        id: s(v.vpc_id()),
        cidr_blocks: v
            .cidr_block_association_set()
            .iter()
            .map(|a| CidrBlock {
                cidr: s(a.cidr_block()),
                state: a
                    .cidr_block_state()
                    .and_then(|st| st.state())
                    .map(|c| c.as_str().to_string()),
            })
            .collect(),
        ipv6_cidr_blocks: v
            .ipv6_cidr_block_association_set()
            .iter()
            .map(|a| CidrBlock {
                cidr: s(a.ipv6_cidr_block()),
                state: a
                    .ipv6_cidr_block_state()
                    .and_then(|st| st.state())
                    .map(|c| c.as_str().to_string()),
            })
            .collect(),
        tags: tags(v.tags()),
    }
}

pub fn subnet(v: &sdk::Subnet) -> Subnet {
    Subnet {
        id: s(v.subnet_id()),
        vpc_id: s(v.vpc_id()),
        cidr: s(v.cidr_block()),
        ipv6_cidrs: v
            .ipv6_cidr_block_association_set()
            .iter()
            .filter_map(|a| o(a.ipv6_cidr_block()))
            .collect(),
        availability_zone: o(v.availability_zone()),
        tags: tags(v.tags()),
    }
}

/// One rule per source, as the LBC expands EC2's grouped permissions.
pub fn expand_permission(p: &sdk::IpPermission) -> Vec<Rule> {
    let protocol = s(p.ip_protocol());
    let rule = |source: Source, description: Option<&str>| Rule {
        protocol: protocol.clone(),
        from_port: p.from_port(),
        to_port: p.to_port(),
        source,
        description: s(description),
    };
    let mut out = Vec::new();
    for r in p.ip_ranges() {
        out.push(rule(Source::Cidr(s(r.cidr_ip())), r.description()));
    }
    for r in p.ipv6_ranges() {
        out.push(rule(Source::CidrV6(s(r.cidr_ipv6())), r.description()));
    }
    for r in p.prefix_list_ids() {
        out.push(rule(
            Source::PrefixList(s(r.prefix_list_id())),
            r.description(),
        ));
    }
    for r in p.user_id_group_pairs() {
        out.push(rule(Source::Group(s(r.group_id())), r.description()));
    }
    out
}

fn rules_of(perms: &[sdk::IpPermission]) -> Vec<SgRule> {
    perms
        .iter()
        .flat_map(expand_permission)
        .map(|rule| SgRule {
            rule,
            id: None,
            tags: Tags::new(),
        })
        .collect()
}

/// A security group with its rules from `IpPermissions`; rule ids and tags come from
/// [`attach_rule_ids`].
pub fn security_group(g: &sdk::SecurityGroup) -> SecurityGroup {
    SecurityGroup {
        id: s(g.group_id()),
        name: s(g.group_name()),
        description: s(g.description()),
        vpc_id: o(g.vpc_id()),
        owner_id: o(g.owner_id()),
        tags: tags(g.tags()),
        ingress: rules_of(g.ip_permissions()),
        egress: rules_of(g.ip_permissions_egress()),
    }
}

/// One `DescribeSecurityGroupRules` entry as a World rule: (group, is_egress, rule, id, tags).
pub struct DescribedRule {
    pub group_id: String,
    pub is_egress: bool,
    pub rule: Rule,
    pub id: Option<String>,
    pub tags: Tags,
}

pub fn described_rule(r: &sdk::SecurityGroupRule) -> DescribedRule {
    let source = if let Some(c) = r.cidr_ipv4() {
        Source::Cidr(c.to_string())
    } else if let Some(c) = r.cidr_ipv6() {
        Source::CidrV6(c.to_string())
    } else if let Some(p) = r.prefix_list_id() {
        Source::PrefixList(p.to_string())
    } else if let Some(g) = r.referenced_group_info().and_then(|g| g.group_id()) {
        Source::Group(g.to_string())
    } else {
        Source::None
    };
    DescribedRule {
        group_id: s(r.group_id()),
        is_egress: r.is_egress().unwrap_or(false),
        rule: Rule {
            protocol: s(r.ip_protocol()),
            from_port: r.from_port(),
            to_port: r.to_port(),
            source,
            description: s(r.description()),
        },
        id: o(r.security_group_rule_id()),
        tags: tags(r.tags()),
    }
}

/// A rule's identity as EC2 compares it. DescribeSecurityGroups omits the ports of an
/// all-traffic rule where DescribeSecurityGroupRules says -1/-1: those are ignored.
pub fn match_key(r: &Rule) -> (String, Option<i32>, Option<i32>, Source) {
    if r.is_all_traffic() {
        (r.protocol.clone(), None, None, r.source.clone())
    } else {
        (r.protocol.clone(), r.from_port, r.to_port, r.source.clone())
    }
}

/// Put rule ids and rule tags on the rules of `groups`. A described rule with no counterpart
/// (the group changed between the two calls) is ignored: the group's own view wins.
pub fn attach_rule_ids(groups: &mut BTreeMap<String, SecurityGroup>, described: &[DescribedRule]) {
    for d in described {
        let Some(g) = groups.get_mut(&d.group_id) else {
            continue;
        };
        let list = if d.is_egress {
            &mut g.egress
        } else {
            &mut g.ingress
        };
        let key = match_key(&d.rule);
        if let Some(r) = list.iter_mut().find(|r| match_key(&r.rule) == key) {
            r.id = d.id.clone();
            r.tags = d.tags.clone();
        }
    }
}

pub fn prefix_list(p: &sdk::ManagedPrefixList, entries: Option<Vec<String>>) -> PrefixList {
    PrefixList {
        id: s(p.prefix_list_id()),
        name: s(p.prefix_list_name()),
        address_family: o(p.address_family()),
        max_entries: p.max_entries(),
        entries,
    }
}

pub fn prefix_list_entry(e: &sdk::PrefixListEntry) -> Option<String> {
    o(e.cidr())
}

pub fn network_interface(n: &sdk::NetworkInterface) -> NetworkInterface {
    NetworkInterface {
        id: s(n.network_interface_id()),
        subnet_id: o(n.subnet_id()),
        vpc_id: o(n.vpc_id()),
        description: s(n.description()),
        interface_type: n.interface_type().map(|t| t.as_str().to_string()),
        groups: n.groups().iter().filter_map(|g| o(g.group_id())).collect(),
        private_ips: n
            .private_ip_addresses()
            .iter()
            .filter_map(|a| o(a.private_ip_address()))
            .collect(),
        ipv6_addresses: n
            .ipv6_addresses()
            .iter()
            .filter_map(|a| o(a.ipv6_address()))
            .collect(),
        ipv4_prefixes: n
            .ipv4_prefixes()
            .iter()
            .filter_map(|p| o(p.ipv4_prefix()))
            .collect(),
        ipv6_prefixes: n
            .ipv6_prefixes()
            .iter()
            .filter_map(|p| o(p.ipv6_prefix()))
            .collect(),
        attachment: n.attachment().map(|a| EniAttachment {
            instance_id: o(a.instance_id()),
            device_index: a.device_index(),
        }),
        status: n.status().map(|st| st.as_str().to_string()),
        tags: tags(n.tag_set()),
    }
}

pub fn instance(i: &sdk::Instance) -> Instance {
    Instance {
        id: s(i.instance_id()),
        private_ip: o(i.private_ip_address()),
        private_dns_name: o(i.private_dns_name()).filter(|n| !n.is_empty()),
        subnet_id: o(i.subnet_id()),
        vpc_id: o(i.vpc_id()),
        state: i
            .state()
            .and_then(|st| st.name())
            .map(|n| n.as_str().to_string()),
        enis: i
            .network_interfaces()
            .iter()
            .filter_map(|n| {
                Some(InstanceEni {
                    id: n.network_interface_id()?.to_string(),
                    device_index: n.attachment().and_then(|a| a.device_index()).unwrap_or(0),
                })
            })
            .collect(),
        security_groups: i
            .security_groups()
            .iter()
            .filter_map(|g| o(g.group_id()))
            .collect(),
        tags: tags(i.tags()),
    }
}

/// A World rule as an EC2 permission (World → SDK, for the sink). The description goes only
/// into authorizations: EC2 matches revocations without it.
pub fn ip_permission(r: &Rule, with_description: bool) -> sdk::IpPermission {
    let description =
        (with_description && !r.description.is_empty()).then(|| r.description.clone());
    let mut p = sdk::IpPermission::builder().ip_protocol(&r.protocol);
    if !r.is_all_traffic() {
        p = p.set_from_port(r.from_port).set_to_port(r.to_port);
    }
    let p = match &r.source {
        Source::Cidr(c) => p.ip_ranges(
            sdk::IpRange::builder()
                .cidr_ip(c)
                .set_description(description)
                .build(),
        ),
        Source::CidrV6(c) => p.ipv6_ranges(
            sdk::Ipv6Range::builder()
                .cidr_ipv6(c)
                .set_description(description)
                .build(),
        ),
        Source::PrefixList(id) => p.prefix_list_ids(
            sdk::PrefixListId::builder()
                .prefix_list_id(id)
                .set_description(description)
                .build(),
        ),
        Source::Group(id) => p.user_id_group_pairs(
            sdk::UserIdGroupPair::builder()
                .group_id(id)
                .set_description(description)
                .build(),
        ),
        Source::None => p,
    };
    p.build()
}

/// World tags as EC2 tags (sorted, as the map is).
pub fn sdk_tags(tags: &Tags) -> Vec<sdk::Tag> {
    tags.iter()
        .map(|(k, v)| sdk::Tag::builder().key(k).value(v).build())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(k: &str, v: &str) -> sdk::Tag {
        sdk::Tag::builder().key(k).value(v).build()
    }

    #[test]
    fn permissions_expand_to_one_rule_per_source() {
        let p = sdk::IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(443)
            .to_port(443)
            .ip_ranges(
                sdk::IpRange::builder()
                    .cidr_ip("10.0.0.0/8")
                    .description("vpc")
                    .build(),
            )
            .ipv6_ranges(sdk::Ipv6Range::builder().cidr_ipv6("::/0").build())
            .prefix_list_ids(sdk::PrefixListId::builder().prefix_list_id("pl-1").build())
            .user_id_group_pairs(
                sdk::UserIdGroupPair::builder()
                    .group_id("sg-2")
                    .user_id("123456789012")
                    .description("elbv2.k8s.aws/targetGroupBinding=shared")
                    .build(),
            )
            .build();
        let rules = expand_permission(&p);
        let sources: Vec<_> = rules.iter().map(|r| r.source.clone()).collect();
        assert_eq!(
            sources,
            vec![
                Source::Cidr("10.0.0.0/8".into()),
                Source::CidrV6("::/0".into()),
                Source::PrefixList("pl-1".into()),
                Source::Group("sg-2".into()),
            ]
        );
        assert_eq!(rules[0].description, "vpc");
        assert_eq!(
            rules[3].description,
            "elbv2.k8s.aws/targetGroupBinding=shared"
        );
        assert!(
            rules
                .iter()
                .all(|r| r.from_port == Some(443) && r.to_port == Some(443))
        );
    }

    #[test]
    fn rule_ids_match_across_the_two_describes_including_all_traffic() {
        let g = sdk::SecurityGroup::builder()
            .group_id("sg-1")
            .group_name("n")
            .tags(tag("Name", "web"))
            .ip_permissions(
                sdk::IpPermission::builder()
                    .ip_protocol("-1")
                    .ip_ranges(sdk::IpRange::builder().cidr_ip("10.0.0.0/16").build())
                    .build(),
            )
            .ip_permissions(
                sdk::IpPermission::builder()
                    .ip_protocol("icmp")
                    .from_port(8)
                    .to_port(-1)
                    .ip_ranges(sdk::IpRange::builder().cidr_ip("0.0.0.0/0").build())
                    .build(),
            )
            .ip_permissions_egress(
                sdk::IpPermission::builder()
                    .ip_protocol("-1")
                    .ip_ranges(sdk::IpRange::builder().cidr_ip("0.0.0.0/0").build())
                    .build(),
            )
            .build();
        let mut groups = BTreeMap::from([("sg-1".to_string(), security_group(&g))]);
        assert_eq!(groups["sg-1"].name_tag(), Some("web"));
        let sgr = |id: &str, egress: bool, proto: &str, from: i32, to: i32, cidr: &str| {
            described_rule(
                &sdk::SecurityGroupRule::builder()
                    .security_group_rule_id(id)
                    .group_id("sg-1")
                    .is_egress(egress)
                    .ip_protocol(proto)
                    .from_port(from)
                    .to_port(to)
                    .cidr_ipv4(cidr)
                    .tags(tag("owner", id))
                    .build(),
            )
        };
        let described = vec![
            sgr("sgr-all", false, "-1", -1, -1, "10.0.0.0/16"),
            sgr("sgr-icmp", false, "icmp", 8, -1, "0.0.0.0/0"),
            sgr("sgr-out", true, "-1", -1, -1, "0.0.0.0/0"),
            sgr("sgr-gone", false, "tcp", 22, 22, "0.0.0.0/0"),
        ];
        attach_rule_ids(&mut groups, &described);
        let g = &groups["sg-1"];
        assert_eq!(g.ingress[0].id.as_deref(), Some("sgr-all"));
        assert_eq!(
            g.ingress[0].rule.from_port, None,
            "ports stay as DescribeSecurityGroups says"
        );
        assert_eq!(g.ingress[0].tags["owner"], "sgr-all");
        assert_eq!(g.ingress[1].id.as_deref(), Some("sgr-icmp"));
        assert_eq!(g.egress[0].id.as_deref(), Some("sgr-out"));
        assert_eq!(
            g.ingress.len(),
            2,
            "a described rule without counterpart adds nothing"
        );
    }

    #[test]
    fn permissions_round_trip_through_the_sdk_shape() {
        let rules = [
            Rule::new("tcp", 80, 80, Source::Cidr("10.0.0.0/8".into()), "web"),
            Rule::new("tcp", 443, 443, Source::CidrV6("::/0".into()), ""),
            Rule::new("udp", 53, 53, Source::PrefixList("pl-1".into()), ""),
            Rule::new("tcp", 0, 65535, Source::Group("sg-9".into()), "backend"),
            Rule::new("icmp", 3, 4, Source::Cidr("0.0.0.0/0".into()), ""),
            Rule {
                protocol: "-1".into(),
                from_port: None,
                to_port: None,
                source: Source::Cidr("10.1.0.0/16".into()),
                description: String::new(),
            },
        ];
        for r in &rules {
            let back = expand_permission(&ip_permission(r, true));
            assert_eq!(back, vec![r.clone()]);
            let bare = expand_permission(&ip_permission(r, false));
            assert_eq!(bare[0].description, "");
            assert_eq!(match_key(&bare[0]), match_key(r));
        }
    }

    #[test]
    fn instance_lists_enis_by_device_index() {
        let i = sdk::Instance::builder()
            .instance_id("i-1")
            .private_dns_name("")
            .network_interfaces(
                sdk::InstanceNetworkInterface::builder()
                    .network_interface_id("eni-b")
                    .attachment(
                        sdk::InstanceNetworkInterfaceAttachment::builder()
                            .device_index(1)
                            .build(),
                    )
                    .build(),
            )
            .network_interfaces(
                sdk::InstanceNetworkInterface::builder()
                    .network_interface_id("eni-a")
                    .attachment(
                        sdk::InstanceNetworkInterfaceAttachment::builder()
                            .device_index(0)
                            .build(),
                    )
                    .build(),
            )
            .security_groups(sdk::GroupIdentifier::builder().group_id("sg-1").build())
            .build();
        let w = instance(&i);
        assert_eq!(w.primary_eni(), Some("eni-a"));
        assert_eq!(w.private_dns_name, None);
        assert_eq!(w.security_groups, vec!["sg-1".to_string()]);
    }
}
